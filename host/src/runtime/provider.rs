//! Calling a metric provider: the plain Rust API the engine's analysis
//! calls, [`Plugin::query_metrics`]. Like a platform call it runs on an
//! async store under the plugin's wall-clock limit; what goes in and comes
//! back is size-capped here, and an empty answer is made `no-data`, so
//! no caller indexes into an empty list.

pub use super::bindings::metrics::exports::hoist::plugin::metrics::{
    MetricError, MetricQuery, Sample, SampleValue, Series,
};
use super::call::Called;
use super::error::{CallError, CallFault};
use super::plugin::{Plugin, Pre};

/// The query, variables and config a provider is given.
pub const MAX_QUERY: usize = 16 * 1024;
pub const MAX_VARIABLES: usize = 64;
pub const MAX_CONFIG: usize = super::validate::MAX_CONFIG;
/// What a provider may answer: series, samples in all, labels per series.
pub const MAX_SERIES: usize = 1_000;
pub const MAX_SAMPLES: usize = 100_000;
pub const MAX_LABELS: usize = 64;
pub const MAX_LABEL_TEXT: usize = 4 * 1024;
pub const MAX_ERROR_TEXT: usize = 16 * 1024;

impl Plugin {
    /// Asks a metric provider for one measurement. `Ok(Ok(series))` has at
    /// least one series, each with at least one sample; no match is
    /// `Ok(Err(MetricError::NoData(..)))`.
    pub async fn query_metrics(
        &self,
        query: &MetricQuery,
    ) -> Result<Called<Result<Vec<Series>, MetricError>>, CallFault> {
        let Pre::Metrics(pre) = &self.callee.pre else { return Err(self.callee.wrong_kind("query").into()) };
        self.check_query(query)?;
        let mut called = self
            .callee
            .call_async(query.end_ms, async |store| {
                let bindings = pre.instantiate_async(&mut *store).await?;
                bindings.hoist_plugin_metrics().call_query(&mut *store, query).await
            })
            .await?;
        let checked = match &called.value {
            Ok(series) => check_series(&self.name, series),
            Err(error) => check_error(&self.name, error),
        };
        checked.map_err(|error| CallFault { error, output: called.output.clone() })?;
        called.value = settle(query, called.value);
        Ok(called)
    }

    fn check_query(&self, q: &MetricQuery) -> Result<(), CallError> {
        let too_large =
            |what, size, limit| CallError::InputTooLarge { plugin: self.name.to_string(), what, size, limit };
        if q.query.len() > MAX_QUERY {
            return Err(too_large("query", q.query.len(), MAX_QUERY));
        }
        if q.variables.len() > MAX_VARIABLES {
            return Err(too_large("variable list", q.variables.len(), MAX_VARIABLES));
        }
        let vars: usize = q.variables.iter().map(|(k, v)| k.len() + v.len()).sum();
        if vars > MAX_QUERY {
            return Err(too_large("variables", vars, MAX_QUERY));
        }
        if q.config.len() > MAX_CONFIG {
            return Err(too_large("config", q.config.len(), MAX_CONFIG));
        }
        Ok(())
    }
}

/// Empty series dropped; no series left is `no-data`.
fn settle(query: &MetricQuery, answer: Result<Vec<Series>, MetricError>) -> Result<Vec<Series>, MetricError> {
    let mut series = answer?;
    series.retain(|s| !s.samples.is_empty());
    if series.is_empty() {
        return Err(MetricError::NoData(format!(
            "metric `{}`: the query matched no samples ({})",
            query.metric, query.query
        )));
    }
    Ok(series)
}

fn check_error(plugin: &str, error: &MetricError) -> Result<(), CallError> {
    let text = match error {
        MetricError::NoData(t)
        | MetricError::InvalidQuery(t)
        | MetricError::Unavailable(t)
        | MetricError::InvalidConfig(t)
        | MetricError::Other(t) => t,
    };
    if text.len() > MAX_ERROR_TEXT {
        return Err(CallError::OutputTooLarge {
            plugin: plugin.to_string(),
            what: "an error message",
            size: text.len(),
            limit: MAX_ERROR_TEXT,
        });
    }
    Ok(())
}

fn check_series(plugin: &str, series: &[Series]) -> Result<(), CallError> {
    let too_large = |what, size, limit| CallError::OutputTooLarge { plugin: plugin.to_string(), what, size, limit };
    if series.len() > MAX_SERIES {
        return Err(too_large("a series list", series.len(), MAX_SERIES));
    }
    let samples: usize = series.iter().map(|s| s.samples.len()).sum();
    if samples > MAX_SAMPLES {
        return Err(too_large("samples", samples, MAX_SAMPLES));
    }
    for s in series {
        if s.labels.len() > MAX_LABELS {
            return Err(too_large("a label set", s.labels.len(), MAX_LABELS));
        }
        let text: usize = s.labels.iter().map(|(k, v)| k.len() + v.len()).sum();
        if text > MAX_LABEL_TEXT {
            return Err(too_large("labels", text, MAX_LABEL_TEXT));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::bindings::base::hoist::plugin::types::Revision;

    fn query() -> MetricQuery {
        let revision = Revision { id: "r2".into(), version: "v2".into(), extensions: vec![] };
        MetricQuery {
            metric: "errors".into(),
            service: "web".into(),
            environment: "prod".into(),
            stable: None,
            candidate: revision,
            revision: "r2".into(),
            query: "up".into(),
            end_ms: 0,
            window_ms: 60_000,
            step_ms: None,
            variables: vec![],
            config: String::new(),
            extensions: vec![],
        }
    }

    fn series(samples: usize) -> Series {
        let sample = Sample { timestamp_ms: 1, value: SampleValue::Number(1.0) };
        Series { labels: vec![], samples: vec![sample; samples] }
    }

    #[test]
    fn an_empty_answer_is_no_data_never_an_empty_list() {
        assert!(matches!(settle(&query(), Ok(vec![])), Err(MetricError::NoData(m)) if m.contains("`errors`")));
        assert!(matches!(settle(&query(), Ok(vec![series(0)])), Err(MetricError::NoData(_))));
        assert_eq!(settle(&query(), Ok(vec![series(0), series(2)])).map(|s| s.len()), Ok(1));
        let down = Err(MetricError::Unavailable("down".into()));
        assert_eq!(settle(&query(), down.clone()), down);
    }

    #[test]
    fn oversized_answers_are_refused() {
        assert!(check_series("p", &[series(1), series(1)]).is_ok());
        let many = vec![series(1); MAX_SERIES + 1];
        assert!(matches!(check_series("p", &many), Err(CallError::OutputTooLarge { what: "a series list", .. })));
        let long = Series { labels: vec![("k".into(), "v".repeat(MAX_LABEL_TEXT))], samples: vec![] };
        assert!(matches!(check_series("p", &[long]), Err(CallError::OutputTooLarge { what: "labels", .. })));
    }
}
