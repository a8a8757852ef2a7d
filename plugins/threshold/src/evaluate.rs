//! One evaluation of the threshold policy.

use hoist_sdk::health::{AnalysisInput, Evaluation, RevisionMetrics};
use hoist_sdk::types::{PluginError, Verdict};
use serde::{Deserialize, Serialize};

use crate::config::{Config, NoData};

/// Failing evaluations in a row so far.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct State {
    failures: u32,
}

enum Judgement {
    Pass,
    Breach(String),
    NoData(String),
}

pub fn evaluate(input: &AnalysisInput) -> Result<Evaluation, PluginError> {
    let config = Config::parse(&input.config)?;
    let mut state: State = hoist_sdk::state::decode(input.state.as_deref())?.unwrap_or_default();
    let m = &input.candidate;
    let details = details(m);

    let judgement = match judge(&config, m) {
        Judgement::NoData(why) => match config.no_data {
            NoData::Inconclusive => Judgement::NoData(why),
            NoData::Fail => Judgement::Breach(why),
            NoData::Pass => Judgement::Pass,
        },
        other => other,
    };
    let verdict = match judgement {
        Judgement::Pass => {
            state.failures = 0;
            Verdict::Pass
        }
        Judgement::NoData(why) => Verdict::Inconclusive(why),
        Judgement::Breach(why) => {
            state.failures = state.failures.saturating_add(1);
            let (n, k) = (state.failures, config.consecutive_failures);
            if n >= k {
                if k > 1 { Verdict::Fail(format!("{why} ({n} consecutive)")) } else { Verdict::Fail(why) }
            } else {
                Verdict::Inconclusive(format!("{why} ({n}/{k} consecutive failures)"))
            }
        }
    };
    Ok(Evaluation { verdict, state: hoist_sdk::state::encode(&state)?, details })
}

/// The first breached threshold, availability first (it needs no traffic).
fn judge(config: &Config, m: &RevisionMetrics) -> Judgement {
    if let Some(min) = config.min_availability
        && m.desired_instances > 0
    {
        let availability = f64::from(m.ready_instances) / f64::from(m.desired_instances);
        if availability < min {
            return Judgement::Breach(format!(
                "availability {} < {} ({}/{} ready)",
                pct(availability),
                pct(min),
                m.ready_instances,
                m.desired_instances
            ));
        }
    }
    if m.requests < config.min_requests {
        return Judgement::NoData(format!("{} requests < min-requests {}", m.requests, config.min_requests));
    }
    if let Some(max) = config.max_error_rate {
        let rate = error_rate(m);
        if rate > max {
            return Judgement::Breach(format!("error rate {} > {}", pct(rate), pct(max)));
        }
    }
    for (name, value, max) in
        [("p95 latency", m.latency_p95_ms, config.max_p95_ms), ("p99 latency", m.latency_p99_ms, config.max_p99_ms)]
    {
        match (value, max) {
            (Some(v), Some(max)) if v > max => {
                return Judgement::Breach(format!("{name} {v:.0}ms > {max:.0}ms"));
            }
            (None, Some(_)) => return Judgement::NoData(format!("{name} not measured")),
            _ => {}
        }
    }
    Judgement::Pass
}

fn error_rate(m: &RevisionMetrics) -> f64 {
    if m.requests == 0 {
        return 0.0;
    }
    (m.errors.saturating_add(m.connection_errors)) as f64 / m.requests as f64
}

fn pct(fraction: f64) -> String {
    format!("{:.1}%", fraction * 100.0)
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.0}ms"))
}

fn details(m: &RevisionMetrics) -> String {
    format!(
        "{}: requests={} errors={} connection-errors={} error-rate={} p50={} p95={} p99={} ready={}/{}",
        m.revision,
        m.requests,
        m.errors,
        m.connection_errors,
        pct(error_rate(m)),
        ms(m.latency_p50_ms),
        ms(m.latency_p95_ms),
        ms(m.latency_p99_ms),
        m.ready_instances,
        m.desired_instances
    )
}
