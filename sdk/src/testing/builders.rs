//! Builders for the inputs a plugin receives, with test-friendly defaults.

use crate::admission::DeployRequest;
use crate::health::{AnalysisInput, RevisionMetrics};
use crate::strategy::{AnalysisResult, Context, Observation, OperatorCommand};
use crate::types::{Instance, InstanceState, Revision, TimestampMs, Verdict, Weight};

/// A revision with `id` as its id and version.
pub fn revision(id: &str) -> Revision {
    Revision { id: id.to_owned(), version: id.to_owned(), extensions: Vec::new() }
}

/// An instance of `revision` in `state`, with no address.
pub fn instance(id: &str, revision: &str, state: InstanceState) -> Instance {
    Instance {
        id: id.to_owned(),
        revision: revision.to_owned(),
        address: None,
        state,
        ready_for_ms: None,
        extensions: Vec::new(),
    }
}

/// An instance of `revision` ready for `ready_for_ms`.
pub fn ready_instance(id: &str, revision: &str, ready_for_ms: u64) -> Instance {
    Instance { ready_for_ms: Some(ready_for_ms), ..instance(id, revision, InstanceState::Ready) }
}

/// Weights from `(revision, percent)` pairs.
pub fn weights(pairs: &[(&str, u8)]) -> Vec<Weight> {
    pairs.iter().map(|(r, p)| Weight { revision: (*r).to_owned(), percent: *p }).collect()
}

/// Builds an [`Observation`]; starts empty.
#[derive(Debug, Clone)]
pub struct ObservationBuilder {
    observation: Observation,
}

impl Default for ObservationBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ObservationBuilder {
    /// No instances, weights, analysis or command.
    pub fn new() -> Self {
        Self {
            observation: Observation {
                instances: Vec::new(),
                weights: Vec::new(),
                analysis: None,
                command: None,
                extensions: Vec::new(),
            },
        }
    }

    /// Add `count` instances of `revision` ready for `ready_for_ms`.
    pub fn ready(self, revision: &str, count: u32, ready_for_ms: u64) -> Self {
        self.add(revision, count, |id| ready_instance(&id, revision, ready_for_ms))
    }

    /// Add `count` instances of `revision` in `state`.
    pub fn with_state(self, revision: &str, count: u32, state: InstanceState) -> Self {
        self.add(revision, count, |id| instance(&id, revision, state.clone()))
    }

    /// Add `count` starting instances of `revision`.
    pub fn starting(self, revision: &str, count: u32) -> Self {
        self.with_state(revision, count, InstanceState::Starting)
    }

    fn add(mut self, revision: &str, count: u32, make: impl Fn(String) -> Instance) -> Self {
        for _ in 0..count {
            let n = self.observation.instances.len();
            self.observation.instances.push(make(format!("{revision}-{n}")));
        }
        self
    }

    /// Add one instance as given.
    pub fn instance(mut self, instance: Instance) -> Self {
        self.observation.instances.push(instance);
        self
    }

    /// The current traffic split.
    pub fn weights(mut self, pairs: &[(&str, u8)]) -> Self {
        self.observation.weights = weights(pairs);
        self
    }

    /// The latest analysis result.
    pub fn analysis(mut self, name: &str, verdict: Verdict, at_ms: TimestampMs) -> Self {
        self.observation.analysis = Some(AnalysisResult { name: name.to_owned(), verdict, at_ms });
        self
    }

    /// An operator command waiting to be handled.
    pub fn command(mut self, command: OperatorCommand) -> Self {
        self.observation.command = Some(command);
        self
    }

    /// The observation.
    pub fn build(self) -> Observation {
        self.observation
    }
}

/// Builds a strategy [`Context`]: service `web` in `test`, stable `r1`,
/// candidate `r2`, 1 replica, empty config and state, time 0.
#[derive(Debug, Clone)]
pub struct ContextBuilder {
    ctx: Context,
}

impl Default for ContextBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ContextBuilder {
    /// The defaults above.
    pub fn new() -> Self {
        Self {
            ctx: Context {
                rollout_id: "rollout-1".to_owned(),
                service: "web".to_owned(),
                environment: "test".to_owned(),
                stable: Some(revision("r1")),
                candidate: revision("r2"),
                replicas: 1,
                config: String::new(),
                state: None,
                now_ms: 0,
                started_at_ms: 0,
                observed: ObservationBuilder::new().build(),
                extensions: Vec::new(),
            },
        }
    }

    /// The stable revision's id.
    pub fn stable(mut self, id: &str) -> Self {
        self.ctx.stable = Some(revision(id));
        self
    }

    /// No stable revision: a first deployment.
    pub fn first_deployment(mut self) -> Self {
        self.ctx.stable = None;
        self
    }

    /// The candidate revision's id.
    pub fn candidate(mut self, id: &str) -> Self {
        self.ctx.candidate = revision(id);
        self
    }

    /// Desired replicas.
    pub fn replicas(mut self, replicas: u32) -> Self {
        self.ctx.replicas = replicas;
        self
    }

    /// The config JSON.
    pub fn config(mut self, json: &str) -> Self {
        self.ctx.config = json.to_owned();
        self
    }

    /// The state returned last time.
    pub fn state(mut self, state: Option<Vec<u8>>) -> Self {
        self.ctx.state = state;
        self
    }

    /// "Now".
    pub fn now_ms(mut self, now: TimestampMs) -> Self {
        self.ctx.now_ms = now;
        self
    }

    /// When the rollout started.
    pub fn started_at_ms(mut self, at: TimestampMs) -> Self {
        self.ctx.started_at_ms = at;
        self
    }

    /// What the host observed.
    pub fn observed(mut self, observation: Observation) -> Self {
        self.ctx.observed = observation;
        self
    }

    /// The context.
    pub fn build(self) -> Context {
        self.ctx
    }
}

/// Builds [`RevisionMetrics`]: no requests, no latencies, 1/1 ready.
#[derive(Debug, Clone)]
pub struct MetricsBuilder {
    metrics: RevisionMetrics,
}

impl MetricsBuilder {
    /// Metrics of `revision`.
    pub fn new(revision: &str) -> Self {
        Self {
            metrics: RevisionMetrics {
                revision: revision.to_owned(),
                requests: 0,
                errors: 0,
                connection_errors: 0,
                latency_p50_ms: None,
                latency_p95_ms: None,
                latency_p99_ms: None,
                ready_instances: 1,
                desired_instances: 1,
                probe_failures: 0,
                custom: Vec::new(),
                extensions: Vec::new(),
            },
        }
    }

    /// Requests, 5xx errors and connection errors.
    pub fn requests(mut self, requests: u64, errors: u64, connection_errors: u64) -> Self {
        self.metrics.requests = requests;
        self.metrics.errors = errors;
        self.metrics.connection_errors = connection_errors;
        self
    }

    /// Latency percentiles.
    pub fn latency(mut self, p50: f64, p95: f64, p99: f64) -> Self {
        self.metrics.latency_p50_ms = Some(p50);
        self.metrics.latency_p95_ms = Some(p95);
        self.metrics.latency_p99_ms = Some(p99);
        self
    }

    /// Ready and desired instances.
    pub fn instances(mut self, ready: u32, desired: u32) -> Self {
        self.metrics.ready_instances = ready;
        self.metrics.desired_instances = desired;
        self
    }

    /// A named custom metric.
    pub fn custom(mut self, name: &str, value: f64) -> Self {
        self.metrics.custom.push((name.to_owned(), value));
        self
    }

    /// The metrics.
    pub fn build(self) -> RevisionMetrics {
        self.metrics
    }
}

/// Builds a health [`AnalysisInput`] for `web` in `test`.
#[derive(Debug, Clone)]
pub struct AnalysisInputBuilder {
    input: AnalysisInput,
}

impl AnalysisInputBuilder {
    /// Input judging `candidate`, with no baseline, config or state.
    pub fn new(candidate: RevisionMetrics) -> Self {
        Self {
            input: AnalysisInput {
                rollout_id: "rollout-1".to_owned(),
                service: "web".to_owned(),
                environment: "test".to_owned(),
                candidate,
                baseline: None,
                elapsed_ms: 0,
                config: String::new(),
                state: None,
                extensions: Vec::new(),
            },
        }
    }

    /// The baseline's metrics.
    pub fn baseline(mut self, baseline: RevisionMetrics) -> Self {
        self.input.baseline = Some(baseline);
        self
    }

    /// The config JSON.
    pub fn config(mut self, json: &str) -> Self {
        self.input.config = json.to_owned();
        self
    }

    /// The state returned last time.
    pub fn state(mut self, state: Option<Vec<u8>>) -> Self {
        self.input.state = state;
        self
    }

    /// Time since the analysis started.
    pub fn elapsed_ms(mut self, elapsed: u64) -> Self {
        self.input.elapsed_ms = elapsed;
        self
    }

    /// The input.
    pub fn build(self) -> AnalysisInput {
        self.input
    }
}

/// Builds an admission [`DeployRequest`]: `web` to `test`, candidate `r2`
/// over stable `r1`, requested by `ci`, time 0, no labels or config.
#[derive(Debug, Clone)]
pub struct DeployRequestBuilder {
    request: DeployRequest,
}

impl Default for DeployRequestBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl DeployRequestBuilder {
    /// The defaults above.
    pub fn new() -> Self {
        Self {
            request: DeployRequest {
                service: "web".to_owned(),
                environment: "test".to_owned(),
                candidate: revision("r2"),
                stable: Some(revision("r1")),
                requested_by: "ci".to_owned(),
                reason: String::new(),
                now_ms: 0,
                labels: Vec::new(),
                config: String::new(),
                extensions: Vec::new(),
            },
        }
    }

    /// Who asked.
    pub fn requested_by(mut self, who: &str) -> Self {
        self.request.requested_by = who.to_owned();
        self
    }

    /// Add a label.
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.request.labels.push((key.to_owned(), value.to_owned()));
        self
    }

    /// "Now".
    pub fn now_ms(mut self, now: TimestampMs) -> Self {
        self.request.now_ms = now;
        self
    }

    /// The config JSON.
    pub fn config(mut self, json: &str) -> Self {
        self.request.config = json.to_owned();
        self
    }

    /// The environment.
    pub fn environment(mut self, environment: &str) -> Self {
        self.request.environment = environment.to_owned();
        self
    }

    /// The request.
    pub fn build(self) -> DeployRequest {
        self.request
    }
}
