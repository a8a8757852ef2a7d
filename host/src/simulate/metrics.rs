//! The simulator's metrics provider: each analysis template's query is
//! answered with what the scenario scripts for its metric (`[metrics]`,
//! then `metrics = { … }` at a time), never by the provider plugin, so a
//! replay is the same on any machine.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::scenario::{MetricAnswer, MetricWord};
use crate::engine::ports::BoxFuture;
use crate::engine::{Called, Configured, EnvPlugins, MetricsProvider, Named};
use crate::runtime::provider::{MetricError, MetricQuery, Sample, SampleValue, Series};

/// The scripted answers, by metric name, shared by every template.
#[derive(Debug, Default)]
pub struct ScriptedMetrics {
    answers: Mutex<BTreeMap<String, MetricAnswer>>,
}

impl ScriptedMetrics {
    pub fn set(&self, metric: &str, answer: MetricAnswer) {
        if let Ok(mut answers) = self.answers.lock() {
            answers.insert(metric.to_string(), answer);
        }
    }

    fn answer(&self, q: &MetricQuery) -> Result<Vec<Series>, MetricError> {
        let answer = self.answers.lock().ok().and_then(|a| a.get(&q.metric).cloned());
        let value = match answer {
            None => {
                return Err(MetricError::NoData(format!(
                    "the scenario scripts no answer for metric `{}`; add it under [metrics]",
                    q.metric
                )));
            }
            Some(MetricAnswer::Value(v)) => SampleValue::Number(v),
            Some(MetricAnswer::Word(MetricWord::Nan)) => SampleValue::Nan,
            Some(MetricAnswer::Word(MetricWord::PositiveInfinity)) => SampleValue::PositiveInfinity,
            Some(MetricAnswer::Word(MetricWord::NoData)) => {
                return Err(MetricError::NoData(format!("metric `{}`: the query matched no series", q.metric)));
            }
            Some(MetricAnswer::Word(MetricWord::Unavailable)) => {
                return Err(MetricError::Unavailable(format!("metric `{}`: the metrics system is down", q.metric)));
            }
            Some(MetricAnswer::Word(MetricWord::InvalidQuery)) => {
                return Err(MetricError::InvalidQuery(format!("metric `{}`: the query does not parse", q.metric)));
            }
        };
        let labels = vec![("revision".to_string(), q.revision.clone())];
        Ok(vec![Series { labels, samples: vec![Sample { timestamp_ms: q.end_ms, value }] }])
    }
}

/// One template's provider in simulation: the plugin's name, the script's answers.
struct Simulated {
    name: String,
    script: Arc<ScriptedMetrics>,
}

impl Named for Simulated {
    fn name(&self) -> &str {
        &self.name
    }
    fn digest(&self) -> &str {
        "simulated"
    }
}

impl MetricsProvider for Simulated {
    fn query<'a>(&'a self, query: &'a MetricQuery) -> BoxFuture<'a, Called<Result<Vec<Series>, MetricError>>> {
        let outcome = Ok(self.script.answer(query));
        Box::pin(async move { Called { outcome, printed: None, elapsed: None } })
    }
}

/// Puts the script in place of every template's provider of `plugins`.
pub fn script_providers(plugins: &mut EnvPlugins, script: &Arc<ScriptedMetrics>) {
    for t in &mut plugins.analysis {
        let provider: Arc<dyn MetricsProvider> =
            Arc::new(Simulated { name: t.provider.plugin.name().to_string(), script: script.clone() });
        t.provider = Configured { plugin: provider, config: t.provider.config.clone() };
    }
}

/// The scripted metrics no template of the environment measures.
pub fn unknown_metrics<'a>(plugins: &EnvPlugins, names: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    names.into_iter().filter(|n| !plugins.analysis.iter().any(|t| &t.template.name == *n)).cloned().collect()
}
