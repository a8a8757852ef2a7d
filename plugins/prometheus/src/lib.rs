//! Builtin metric provider `prometheus`: runs an analysis template's PromQL
//! against a Prometheus server through the `http` capability — an instant
//! query (`/api/v1/query` at the window's end) or, when the query has a
//! step, a range query (`/api/v1/query_range` over the window).
//!
//! Config (kebab-case, unknown keys refused):
//! - `address` (required): the server, `http://HOST:PORT` (a path prefix
//!   such as `/prometheus` is kept). Grant `http` and list `HOST:PORT` in
//!   `allow-hosts`.
//! - `timeout-ms` (default 0: the call's own limit): per request.
//!
//! Placeholders in queries: `{{service}}`, `{{environment}}`,
//! `{{revision}}`, `{{stable}}`, `{{candidate}}`, `{{interval}}` and the
//! template's variables. An empty result is `no-data`; NaN and ±Inf are
//! typed sample values; every matched series is returned with its labels.

mod answer;
mod template;

use hoist_sdk::http::{self, HttpError, Request};
use hoist_sdk::metrics::{MetricError, MetricQuery, MetricsProvider, Series};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct Config {
    address: String,
    #[serde(default)]
    timeout_ms: u32,
}

pub struct Prometheus;

impl MetricsProvider for Prometheus {
    fn query(query: MetricQuery) -> Result<Vec<Series>, MetricError> {
        let config = config(&query.config)?;
        let promql = template::render(&query)?;
        let url = url(&config.address, &query, &promql);
        let request = Request {
            method: "GET".into(),
            url,
            headers: vec![("accept".into(), "application/json".into())],
            body: Vec::new(),
            timeout_ms: config.timeout_ms,
        };
        let response = http::send(&request).map_err(|e| unreachable(&query.metric, &config.address, e))?;
        answer::parse(&query.metric, &promql, response.status, &response.body)
    }

    fn validate_config(config: &str) -> Vec<hoist_sdk::config::ConfigProblem> {
        let mut problems = hoist_sdk::config::problems::<Config>(config);
        if problems.is_empty()
            && let Err(MetricError::InvalidConfig(message)) = self::config(config)
        {
            problems.push(hoist_sdk::config::ConfigProblem {
                path: vec!["address".into()],
                message,
                extensions: Vec::new(),
            });
        }
        problems
    }
}

fn config(text: &str) -> Result<Config, MetricError> {
    let config: Config = hoist_sdk::config::parse(text).map_err(|e| MetricError::InvalidConfig(format!("{e:?}")))?;
    if !config.address.starts_with("http://") {
        return Err(MetricError::InvalidConfig(format!(
            "`address` {:?} must be an http:// URL such as \"http://prometheus.internal:9090\"",
            config.address
        )));
    }
    Ok(config)
}

fn url(address: &str, query: &MetricQuery, promql: &str) -> String {
    let base = address.trim_end_matches('/');
    let end = seconds(query.end_ms);
    match query.step_ms {
        None => format!("{base}/api/v1/query?query={}&time={end}", encode(promql)),
        Some(step) => format!(
            "{base}/api/v1/query_range?query={}&start={}&end={end}&step={}",
            encode(promql),
            seconds(query.end_ms.saturating_sub(query.window_ms)),
            seconds(step.max(1))
        ),
    }
}

/// Milliseconds as Prometheus's decimal seconds.
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// Percent-encodes a query-string value (RFC 3986 unreserved kept).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn unreachable(metric: &str, address: &str, error: HttpError) -> MetricError {
    match error {
        // The host's message names the host and the registry line to add.
        HttpError::Denied(why) => MetricError::InvalidConfig(format!("metric `{metric}`: {why}")),
        HttpError::Timeout => {
            MetricError::Unavailable(format!("metric `{metric}`: Prometheus at {address} did not answer in time"))
        }
        HttpError::Connect(why) => {
            MetricError::Unavailable(format!("metric `{metric}`: Prometheus at {address}: {why}"))
        }
        HttpError::Other(why) => MetricError::Other(format!("metric `{metric}`: {why}")),
    }
}

hoist_sdk::export_metrics_provider!(Prometheus);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instant_and_range_urls() {
        let mut q = template::tests_query();
        let promql = "sum(rate(x{a=\"b\"}[1m]))";
        assert_eq!(
            url("http://p:9090/", &q, promql),
            "http://p:9090/api/v1/query?query=sum%28rate%28x%7Ba%3D%22b%22%7D%5B1m%5D%29%29&time=1700000000.123"
        );
        q.step_ms = Some(15_000);
        assert_eq!(
            url("http://p:9090", &q, "up"),
            "http://p:9090/api/v1/query_range?query=up&start=1699999940.123&end=1700000000.123&step=15.000"
        );
    }

    #[test]
    fn config_needs_an_http_address() {
        assert!(matches!(config(r#"{"address":"https://p"}"#), Err(MetricError::InvalidConfig(_))));
        assert!(
            matches!(config(r#"{"adress":"http://p"}"#), Err(MetricError::InvalidConfig(m)) if m.contains("adress"))
        );
        assert!(config(r#"{"address":"http://p:9090"}"#).is_ok());
    }
}
