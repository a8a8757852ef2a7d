//! Analysis templates under the engine, without wasm: the builtin canary
//! compiled natively, a metrics provider that answers what each test
//! scripts, the simulator's platform and traffic, in virtual time. Each
//! test names the rule it drives: a passing metric promotes, a failing one
//! rolls back at once, no data and NaN follow `no-data`, errors past
//! `consecutive-error-limit` pause the rollout until an operator resumes or
//! promotes, dry-run never fails, and a health policy's failure still counts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hoist::engine::ports::BoxFuture;
use hoist::engine::{
    Called, Clock as _, Configured, DeployRequest, Engine, EngineConfig, EnvPlugins, HealthPolicy, MetricTemplate,
    MetricsProvider, Named, ServiceSpec, Strategy, Tick,
};
use hoist::runtime::provider::{MetricError, MetricQuery, Sample, SampleValue, Series};
use hoist::simulate::scenario::TrafficDecl;
use hoist::simulate::world::{VirtualClock, World};
use hoist_registry::{AnalysisTemplate, Location, NoData, PluginName, Range};
use hoist_store::{CommandKind, DecisionKind, DecisionRecord, LogFilter, NewRevision, Phase, Rollout, Store};
use hoist_tests::native::Native;

type Answer = Result<Vec<Series>, MetricError>;

/// A provider answering each query with the next scripted answer (or
/// `unavailable` once the script is used up), keeping every query.
#[derive(Default)]
struct Scripted {
    answers: Mutex<VecDeque<Answer>>,
    seen: Mutex<Vec<MetricQuery>>,
}

impl Scripted {
    fn then(&self, answer: Answer) -> &Self {
        self.answers.lock().unwrap().push_back(answer);
        self
    }
    fn value(&self, v: f64) -> &Self {
        self.then(Ok(vec![series(SampleValue::Number(v))]))
    }
    fn seen(&self) -> Vec<MetricQuery> {
        self.seen.lock().unwrap().clone()
    }
}

fn series(value: SampleValue) -> Series {
    Series { labels: vec![("revision".into(), "r2".into())], samples: vec![Sample { timestamp_ms: 0, value }] }
}

impl Named for Scripted {
    fn name(&self) -> &str {
        "prometheus"
    }
    fn digest(&self) -> &str {
        "scripted"
    }
}

impl MetricsProvider for Scripted {
    fn query<'a>(&'a self, query: &'a MetricQuery) -> BoxFuture<'a, Called<Answer>> {
        self.seen.lock().unwrap().push(query.clone());
        let next = self.answers.lock().unwrap().pop_front();
        let answer = next.unwrap_or_else(|| Err(MetricError::Unavailable("the script is used up".into())));
        Box::pin(async move { Called { outcome: Ok(answer), printed: None, elapsed: None } })
    }
}

/// `error-rate`: at most 5 %, every 10 s, three times (the canary's
/// analysis lasts 30 s), no failure tolerated.
fn template() -> AnalysisTemplate {
    AnalysisTemplate {
        name: "error-rate".into(),
        provider: PluginName::new("prometheus").unwrap(),
        query: r#"errors{revision="{{revision}}"}[{{interval}}]"#.into(),
        success: Some(Range { min: None, max: Some(0.05) }),
        failure: None,
        interval: Duration::from_secs(10),
        count: Some(3),
        initial_delay: Duration::ZERO,
        failure_limit: 0,
        inconclusive_limit: 0,
        consecutive_error_limit: 1,
        no_data: NoData::Pause,
        dry_run: false,
        variables: BTreeMap::from([("job".to_string(), "api".to_string())]),
        location: Location { file: "registry.toml".into(), line: 1, column: 1 },
    }
}

const SVC: &str = "web";
const ENV: &str = "prod";
/// 50 % to the candidate, analysed for 30 s, then promoted.
const CANARY: &str = r#"{"steps": [{"set-weight": 50}, {"analysis": {"duration-ms": 30000}}]}"#;

struct Bench {
    clock: Arc<VirtualClock>,
    world: Arc<World>,
    engine: Engine,
}

fn bench(metrics: Vec<(AnalysisTemplate, Arc<Scripted>)>, health: Vec<Configured<dyn HealthPolicy>>) -> Bench {
    let clock = Arc::new(VirtualClock::default());
    let world = Arc::new(World::new(clock.clone(), 1_000, TrafficDecl::default()));
    let strategy: Arc<dyn Strategy> = Arc::new(Native::<canary::Canary>::new("canary"));
    let analysis = metrics
        .into_iter()
        .map(|(template, provider)| {
            let provider: Arc<dyn MetricsProvider> = provider;
            MetricTemplate { template, provider: Configured { plugin: provider, config: "{}".into() } }
        })
        .collect();
    let plugins = EnvPlugins {
        strategy: Configured { plugin: strategy, config: CANARY.into() },
        strategies: BTreeMap::new(),
        health,
        admission: vec![],
        analysis,
        labels: BTreeMap::new(),
        router_addresses: vec![],
    };
    let engine = Engine {
        store: Arc::new(Store::in_memory().unwrap()),
        clock: clock.clone(),
        platform: world.clone(),
        traffic: world.clone(),
        metrics: world.clone(),
        envs: BTreeMap::from([(ENV.to_string(), plugins)]),
        config: EngineConfig::default(),
        stats: Default::default(),
        healing: Default::default(),
    };
    Bench { clock, world, engine }
}

impl Bench {
    /// A stable `v1` of 4 ready instances, then a deployment of `v2`.
    fn deploy(&self) -> Rollout {
        let spec = ServiceSpec { replicas: 4, ..ServiceSpec::default() };
        let stable = self
            .engine
            .store
            .create_revision(&NewRevision {
                service: SVC.into(),
                environment: ENV.into(),
                version: "v1".into(),
                spec: serde_json::to_value(&spec).unwrap(),
                created_at_ms: 0,
                created_by: "test".into(),
            })
            .unwrap();
        self.engine.store.set_current(SVC, ENV, &stable.id).unwrap();
        self.world.seed(SVC, ENV, &stable.id, 4);
        self.engine
            .deploy(&DeployRequest {
                service: SVC.into(),
                environment: ENV.into(),
                version: "v2".into(),
                spec,
                strategy: None,
                requested_by: "alice".into(),
                reason: "test".into(),
            })
            .unwrap()
    }

    /// Steps `id` when it asks until it ends, waits for an operator, or
    /// `until` passes; how it stands then.
    async fn run(&self, id: &str, until: u64) -> Phase {
        let mut now = self.clock.now_ms();
        while now <= until {
            self.clock.set(now);
            match self.engine.tick(id).await.unwrap() {
                Tick::Done(phase) => return phase,
                Tick::At(at) => now = at.max(now + 1),
                Tick::Operator => break,
            }
        }
        self.rollout(id).phase
    }

    fn rollout(&self, id: &str) -> Rollout {
        self.engine.store.rollout(id).unwrap().unwrap()
    }

    fn records(&self, id: &str, kind: DecisionKind) -> Vec<DecisionRecord> {
        let filter = LogFilter { rollout_id: Some(id.into()), ..Default::default() };
        self.engine.store.decision_log(&filter).unwrap().into_iter().filter(|r| r.kind == kind).collect()
    }

    /// When the analysis started: the decision that asked for it.
    fn analysis_started(&self, id: &str) -> u64 {
        let decided = self.records(id, DecisionKind::Decide);
        decided
            .iter()
            .find(|d| d.output["actions"].to_string().contains("RunAnalysis"))
            .map(|d| d.at_ms)
            .expect("an analysis was asked for")
    }
}

fn rt<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

fn reason(b: &Bench, id: &str) -> String {
    b.rollout(id).reason.unwrap_or_default()
}

#[test]
fn metrics_within_their_success_range_promote_the_canary_and_each_measurement_is_recorded() {
    rt(async {
        let p = Arc::new(Scripted::default());
        p.value(0.01).value(0.02).value(0.0);
        let b = bench(vec![(template(), p.clone())], vec![]);
        let r = b.deploy();
        assert_eq!(b.run(&r.id, 600_000).await, Phase::Completed);
        let start = b.analysis_started(&r.id);
        let seen = p.seen();
        assert_eq!(seen.iter().map(|q| q.end_ms - start).collect::<Vec<_>>(), [10_000, 20_000, 30_000]);
        let q = &seen[0];
        assert_eq!((q.metric.as_str(), q.revision.as_str(), q.window_ms), ("error-rate", r.candidate.as_str(), 10_000));
        assert_eq!(q.stable.as_ref().map(|s| s.version.as_str()), Some("v1"));
        assert_eq!(q.variables, [("job".to_string(), "api".to_string())]);
        let measured = b.records(&r.id, DecisionKind::Measure);
        assert_eq!(measured.len(), 3);
        let m = &measured[1];
        assert_eq!(m.plugin.as_deref(), Some("prometheus"));
        assert_eq!((m.input["metric"].as_str(), m.input["measurement"].as_u64()), (Some("error-rate"), Some(2)));
        assert_eq!((m.output["verdict"].as_str(), m.output["value"].as_f64()), (Some("successful"), Some(0.02)));
        assert_eq!(
            m.reason.as_deref(),
            Some("metric `error-rate` 2/3: 0.02 in success range ≤ 0.05 → successful"),
            "{m:?}"
        );
        assert!(m.input.get("config").is_none(), "the provider's config is never recorded");
        let summary = b.records(&r.id, DecisionKind::Evaluate);
        let last = summary.last().unwrap().reason.clone().unwrap();
        assert!(last.contains("passed: all health policies and metrics passed"), "{last}");
    });
}

#[test]
fn a_failing_metric_rolls_the_canary_back_at_once() {
    rt(async {
        let p = Arc::new(Scripted::default());
        p.value(0.31);
        let b = bench(vec![(template(), p.clone())], vec![]);
        let r = b.deploy();
        assert_eq!(b.run(&r.id, 600_000).await, Phase::RolledBack);
        let start = b.analysis_started(&r.id);
        assert_eq!(p.seen().len(), 1, "one failure past failure-limit 0 ends the analysis");
        let rolled = &b.records(&r.id, DecisionKind::Rollback)[0];
        assert_eq!(rolled.at_ms - start, 10_000, "not waiting for the 30 s window");
        let why = reason(&b, &r.id);
        assert!(why.contains("metric error-rate: 1 of 1 measurements failed (failure-limit 0)"), "{why}");
        assert!(why.contains("0.31 outside success range ≤ 0.05"), "{why}");
    });
}

#[test]
fn no_data_pauses_fails_or_passes_as_the_template_says() {
    rt(async {
        for (rule, ends) in
            [(NoData::Pause, Phase::Paused), (NoData::Fail, Phase::RolledBack), (NoData::Pass, Phase::Completed)]
        {
            let p = Arc::new(Scripted::default());
            for _ in 0..3 {
                p.then(Err(MetricError::NoData("matched no series".into())));
            }
            let b = bench(vec![(AnalysisTemplate { no_data: rule, ..template() }, p)], vec![]);
            let r = b.deploy();
            assert_eq!(b.run(&r.id, 600_000).await, ends, "no-data = {}", rule.as_str());
            let first = &b.records(&r.id, DecisionKind::Measure)[0];
            assert!(first.reason.as_deref().unwrap().contains("no data (matched no series)"), "{first:?}");
            if ends == Phase::Paused {
                let status = b.rollout(&r.id).status;
                assert!(status.starts_with("paused: analysis `step-2-run-1` inconclusive: metric error-rate: 1 of 1 measurements inconclusive"), "{status}");
            }
        }
    });
}

#[test]
fn nan_is_no_data_never_a_number() {
    rt(async {
        for (rule, ends) in [(NoData::Fail, Phase::RolledBack), (NoData::Pause, Phase::Paused)] {
            let p = Arc::new(Scripted::default());
            p.then(Ok(vec![series(SampleValue::Nan)]));
            let b = bench(vec![(AnalysisTemplate { no_data: rule, ..template() }, p)], vec![]);
            let r = b.deploy();
            assert_eq!(b.run(&r.id, 600_000).await, ends);
            let m = &b.records(&r.id, DecisionKind::Measure)[0];
            assert_eq!(m.output["value"].as_str(), Some("NaN"), "{m:?}");
            assert!(m.reason.as_deref().unwrap().contains("NaN"), "{m:?}");
            // The stored intent holds the NaN reading and reads back.
            assert!(b.rollout(&r.id).intent.to_string().contains("\"NaN\""));
        }
    });
}

#[test]
fn provider_errors_past_the_limit_pause_the_rollout_and_resume_measures_again() {
    rt(async {
        let p = Arc::new(Scripted::default());
        p.then(Err(MetricError::Unavailable("connection refused".into())));
        p.then(Err(MetricError::Unavailable("connection refused".into())));
        let b = bench(vec![(template(), p.clone())], vec![]);
        let r = b.deploy();
        assert_eq!(b.run(&r.id, 600_000).await, Phase::Paused);
        let status = b.rollout(&r.id).status;
        assert!(
            status.contains("2 errors in a row (consecutive-error-limit 1), last: unavailable: connection refused"),
            "{status}"
        );
        assert!(status.contains("`hoist resume` measures again"), "{status}");
        let errors = b.records(&r.id, DecisionKind::Measure);
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].error.as_deref(), Some("unavailable: connection refused"));
        // Paused: nothing is measured, and only an operator wakes it.
        let now = b.clock.now_ms();
        assert_eq!(b.run(&r.id, now + 120_000).await, Phase::Paused);
        assert_eq!(p.seen().len(), 2);

        // The metrics system is back: resume measures the analysis afresh.
        p.value(0.01).value(0.01).value(0.01);
        b.engine.command(&r.id, CommandKind::Resume, "bob", "prometheus is back").unwrap();
        let resumed = b.clock.now_ms() + 1_000;
        b.clock.set(resumed);
        assert_eq!(b.run(&r.id, resumed + 600_000).await, Phase::Completed);
        let seen = p.seen();
        assert_eq!(seen.len(), 5);
        assert_eq!(seen[2].end_ms - resumed, 10_000, "a fresh run, from the resume");
    });
}

#[test]
fn promote_accepts_an_inconclusive_analysis_and_the_canary_goes_on() {
    rt(async {
        let p = Arc::new(Scripted::default());
        p.then(Err(MetricError::InvalidQuery("parse error: unexpected end of input".into())));
        let b = bench(vec![(template(), p.clone())], vec![]);
        let r = b.deploy();
        assert_eq!(b.run(&r.id, 600_000).await, Phase::Paused, "a query that cannot run is not retried");
        assert!(b.rollout(&r.id).status.contains("cannot be measured: invalid query"), "{}", b.rollout(&r.id).status);
        b.engine.command(&r.id, CommandKind::Promote, "bob", "checked by hand").unwrap();
        assert_eq!(b.run(&r.id, b.clock.now_ms() + 600_000).await, Phase::Completed);
        assert_eq!(p.seen().len(), 1, "accepted, not measured again");
    });
}

#[test]
fn a_dry_run_metric_is_measured_and_recorded_but_never_fails_the_rollout() {
    rt(async {
        let dry = Arc::new(Scripted::default());
        dry.value(0.9).value(0.9).value(0.9);
        let good = Arc::new(Scripted::default());
        good.value(0.0).value(0.0).value(0.0);
        let shadow = AnalysisTemplate { name: "latency".into(), dry_run: true, ..template() };
        let b = bench(vec![(template(), good), (shadow, dry.clone())], vec![]);
        let r = b.deploy();
        assert_eq!(b.run(&r.id, 600_000).await, Phase::Completed);
        assert_eq!(dry.seen().len(), 1, "measured while the analysis ran; its failure ended nothing");
        let dry_runs: Vec<_> =
            b.records(&r.id, DecisionKind::Measure).into_iter().filter(|m| m.input["dry-run"] == true).collect();
        assert_eq!(dry_runs.len(), 1);
        assert_eq!(dry_runs[0].output["verdict"].as_str(), Some("failed"));
        assert!(dry_runs[0].reason.as_deref().unwrap().starts_with("metric `latency` (dry-run) 1/3"), "{dry_runs:?}");
    });
}

#[test]
fn a_failing_health_policy_fails_the_analysis_whatever_the_metrics_say() {
    rt(async {
        let p = Arc::new(Scripted::default());
        p.value(0.0).value(0.0).value(0.0);
        let threshold: Arc<dyn HealthPolicy> = Arc::new(Native::<threshold::Threshold>::new("threshold"));
        let health =
            vec![Configured { plugin: threshold, config: r#"{"max-error-rate": 0.05, "min-requests": 20}"#.into() }];
        let b = bench(vec![(template(), p)], health);
        let r = b.deploy();
        b.world.set_traffic(
            &r.candidate,
            &TrafficDecl { rps: Some(100.0), error_rate: Some(0.5), ..TrafficDecl::default() },
        );
        assert_eq!(b.run(&r.id, 600_000).await, Phase::RolledBack);
        let why = reason(&b, &r.id);
        assert!(why.contains("threshold: error rate 50.0% > 5.0%"), "{why}");
        assert!(!why.contains("metric error-rate"), "the metric passed: {why}");
    });
}

#[test]
fn metrics_that_outlast_the_window_extend_the_analysis_and_the_strategy_waits_for_its_verdict() {
    rt(async {
        let p = Arc::new(Scripted::default());
        for _ in 0..5 {
            p.value(0.01);
        }
        let b = bench(vec![(AnalysisTemplate { count: Some(5), ..template() }, p.clone())], vec![]);
        let r = b.deploy();
        assert_eq!(b.run(&r.id, 600_000).await, Phase::Completed);
        let start = b.analysis_started(&r.id);
        assert_eq!(p.seen().last().map(|q| q.end_ms - start), Some(50_000), "five intervals, past the 30 s window");
        let decided: Vec<u64> = b.records(&r.id, DecisionKind::Decide).iter().map(|d| d.at_ms).collect();
        let during = decided.iter().filter(|t| **t > start && **t < start + 50_000).count();
        assert_eq!(during, 0, "the canary's 30 s timer waits for the verdict, not re-asked each second: {decided:?}");
        let verdict = b.records(&r.id, DecisionKind::Evaluate).last().map(|e| e.at_ms);
        assert_eq!(verdict, Some(start + 50_000));
    });
}
