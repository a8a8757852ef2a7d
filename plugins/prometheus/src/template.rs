//! `{{name}}` placeholders of a query: the rollout's facts and the
//! template's variables. An unknown name is an error naming it, never an
//! empty string in a PromQL selector.

use hoist_sdk::metrics::{MetricError, MetricQuery};

/// The query with every placeholder replaced.
pub fn render(query: &MetricQuery) -> Result<String, MetricError> {
    let mut out = String::with_capacity(query.query.len());
    let mut rest = query.query.as_str();
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(MetricError::InvalidQuery(format!(
                "metric `{}`: `{{{{` without a closing `}}}}` in {:?}",
                query.metric, query.query
            )));
        };
        let name = after[..close].trim();
        out.push_str(&value_of(query, name)?);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn value_of(query: &MetricQuery, name: &str) -> Result<String, MetricError> {
    // The template's own variables may not shadow the rollout's facts.
    let fact = match name {
        "service" => Some(query.service.clone()),
        "environment" => Some(query.environment.clone()),
        "revision" => Some(query.revision.clone()),
        "candidate" => Some(query.candidate.id.clone()),
        "stable" => match &query.stable {
            Some(stable) => Some(stable.id.clone()),
            None => {
                return Err(MetricError::InvalidQuery(format!(
                    "metric `{}`: `{{{{stable}}}}` is used but this rollout has no stable revision",
                    query.metric
                )));
            }
        },
        "interval" => Some(duration(query.window_ms)),
        _ => None,
    };
    if let Some(value) = fact {
        return Ok(value);
    }
    match query.variables.iter().find(|(k, _)| k == name) {
        Some((_, value)) => Ok(value.clone()),
        None => {
            let mut known: Vec<&str> = vec!["service", "environment", "revision", "candidate", "stable", "interval"];
            known.extend(query.variables.iter().map(|(k, _)| k.as_str()));
            Err(MetricError::InvalidQuery(format!(
                "metric `{}`: unknown placeholder `{{{{{name}}}}}`; known: {}",
                query.metric,
                known.join(", ")
            )))
        }
    }
}

/// A PromQL duration: `60s`, `1500ms`.
pub fn duration(ms: u64) -> String {
    if ms > 0 && ms.is_multiple_of(1000) { format!("{}s", ms / 1000) } else { format!("{ms}ms") }
}

/// A query for the crate's tests.
#[cfg(test)]
pub fn tests_query() -> MetricQuery {
    tests::query("up")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_sdk::prelude::Revision;

    pub(crate) fn query(text: &str) -> MetricQuery {
        MetricQuery {
            metric: "error-rate".into(),
            service: "web".into(),
            environment: "prod".into(),
            stable: Some(Revision { id: "r1".into(), version: "v1".into(), extensions: vec![] }),
            candidate: Revision { id: "r2".into(), version: "v2".into(), extensions: vec![] },
            revision: "r2".into(),
            query: text.into(),
            end_ms: 1_700_000_000_123,
            window_ms: 60_000,
            step_ms: None,
            variables: vec![("code".into(), "5..".into())],
            config: String::new(),
            extensions: vec![],
        }
    }

    #[test]
    fn renders_facts_and_variables() {
        let q = query(
            r#"rate(http_requests_total{service="{{service}}",env="{{ environment }}",rev="{{revision}}",code=~"{{code}}"}[{{interval}}]) / {{stable}}"#,
        );
        assert_eq!(
            render(&q).unwrap(),
            r#"rate(http_requests_total{service="web",env="prod",rev="r2",code=~"5.."}[60s]) / r1"#
        );
    }

    #[test]
    fn unknown_and_unclosed_placeholders_are_errors() {
        let err = render(&query("up{job=\"{{job}}\"}")).unwrap_err();
        assert!(
            matches!(&err, MetricError::InvalidQuery(m) if m.contains("`{{job}}`") && m.contains("code")),
            "{err:?}"
        );
        assert!(matches!(render(&query("up{{")), Err(MetricError::InvalidQuery(_))));
        let mut first = query("{{stable}}");
        first.stable = None;
        assert!(matches!(render(&first), Err(MetricError::InvalidQuery(m)) if m.contains("no stable revision")));
        assert_eq!(duration(1500), "1500ms");
    }
}
