//! Compose's `deploy:` for one service: `replicas`, `resources` (see
//! `compose_runtime.rs`), `update_config` (the strategy: start-first is
//! `rolling`, stop-first `recreate`; with a `parallelism`, `delay` or
//! `monitor`, `rolling` in batches of `parallelism` — start-first as
//! `max-surge`, stop-first, Compose's default, as `max-unavailable` — each
//! batch held `delay` + `monitor` after it is ready, as `min-ready-ms`) and
//! `restart_policy.condition`.
//! The names of the keys Hoist does not honour are returned, to be warned
//! by line.

use serde_yaml::Value;

use crate::definition::Restart;
use crate::runtime::Runtime;

/// What `deploy:` asked for, beyond the runtime settings.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Deploy {
    pub replicas: Option<u32>,
    pub strategy: Option<String>,
    /// The strategy's settings for this service (`rolling`'s keys).
    pub strategy_config: Option<serde_json::Value>,
    pub restart: Option<Restart>,
    /// Keys not honoured (`deploy.update_config.parallelism`, …).
    pub ignored: Vec<String>,
}

pub fn read(rt: &mut Runtime, value: &Value) -> Result<Deploy, String> {
    let mut out = Deploy::default();
    for (k, v) in value.as_mapping().into_iter().flatten() {
        let k = k.as_str().unwrap_or_default();
        match k {
            "replicas" => {
                let n = crate::compose::scalar(v).and_then(|s| s.parse::<u32>().ok());
                out.replicas = Some(n.filter(|n| *n >= 1).ok_or("`deploy.replicas` must be a whole number ≥ 1")?);
            }
            "mode" if v.as_str() == Some("replicated") => {}
            "resources" => out.ignored.extend(crate::compose_runtime::resources(rt, v)?),
            "update_config" => update(&mut out, v)?,
            "restart_policy" => {
                for (rk, rv) in v.as_mapping().into_iter().flatten() {
                    let rk = rk.as_str().unwrap_or_default();
                    match (rk, rv.as_str()) {
                        ("condition", Some("any")) => out.restart = Some(Restart::Always),
                        ("condition", Some("on-failure")) => out.restart = Some(Restart::OnFailure),
                        ("condition", Some("none")) => out.restart = Some(Restart::No),
                        ("condition", _) => {
                            return Err("`deploy.restart_policy.condition` is any, on-failure or none".into());
                        }
                        _ => out.ignored.push(format!("deploy.restart_policy.{rk}")),
                    }
                }
            }
            other => out.ignored.push(format!("deploy.{other}")),
        }
    }
    Ok(out)
}

/// `deploy.update_config`.
fn update(out: &mut Deploy, v: &Value) -> Result<(), String> {
    let (mut start_first, mut batch, mut hold_ms) = (None, None, None::<u64>);
    let ms = |key: &str, v: &Value| {
        let s = crate::compose::scalar(v).unwrap_or_default();
        crate::compose::duration_ms(&s)
            .ok_or_else(|| format!("`deploy.update_config.{key}: {s}` is not a duration (10s)"))
    };
    for (uk, uv) in v.as_mapping().into_iter().flatten() {
        let uk = uk.as_str().unwrap_or_default();
        match (uk, uv.as_str()) {
            ("order", Some("start-first")) => start_first = Some(true),
            ("order", Some("stop-first")) => start_first = Some(false),
            ("order", _) => return Err("`deploy.update_config.order` is start-first or stop-first".into()),
            ("parallelism", _) => {
                let n = crate::compose::scalar(uv).and_then(|s| s.parse::<u32>().ok());
                batch = Some(n.ok_or("`deploy.update_config.parallelism` must be a whole number (0: all at once)")?);
            }
            ("delay" | "monitor", _) => hold_ms = Some(hold_ms.unwrap_or(0) + ms(uk, uv)?),
            // What every Hoist rollout does when its health fails.
            ("failure_action", Some("rollback")) => {}
            _ => out.ignored.push(format!("deploy.update_config.{uk}")),
        }
    }
    if batch.is_none() && hold_ms.is_none() {
        out.strategy = start_first.map(|first| if first { "rolling" } else { "recreate" }.to_string());
        return Ok(());
    }
    // Batches: `rolling`, with Compose's default order, stop-first.
    let size = match batch {
        Some(0) => serde_json::json!("100%"),
        n => serde_json::json!(n.unwrap_or(1)),
    };
    let (surge, unavailable) =
        if start_first == Some(true) { (size, serde_json::json!(0)) } else { (serde_json::json!(0), size) };
    let mut config = serde_json::json!({ "max-surge": surge, "max-unavailable": unavailable });
    if let Some(ms) = hold_ms {
        config["min-ready-ms"] = serde_json::json!(ms);
    }
    out.strategy = Some("rolling".into());
    out.strategy_config = Some(config);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_yaml(s: &str) -> (Runtime, Result<Deploy, String>) {
        let mut rt = Runtime::default();
        let v: Value = serde_yaml::from_str(s).unwrap();
        let d = read(&mut rt, &v);
        (rt, d)
    }

    #[test]
    fn replicas_order_restart_and_resources() {
        let (rt, d) = read_yaml(
            "replicas: 3\nupdate_config: { order: stop-first, failure_action: rollback, max_failure_ratio: 0.1 }\n\
             restart_policy: { condition: on-failure, max_attempts: 3 }\n\
             resources: { limits: { memory: 64m }, reservations: { memory: 32m, cpus: '0.25' } }\n",
        );
        let d = d.unwrap();
        assert_eq!(d.replicas, Some(3));
        assert_eq!(d.strategy.as_deref(), Some("recreate"));
        assert_eq!(d.restart, Some(Restart::OnFailure));
        assert_eq!(
            d.ignored,
            [
                "deploy.update_config.max_failure_ratio",
                "deploy.restart_policy.max_attempts",
                "deploy.resources.reservations.cpus"
            ]
        );
        assert_eq!((rt.memory, rt.memory_reservation), (Some(64 << 20), Some(32 << 20)));
    }

    #[test]
    fn batches_become_rolling_settings() {
        let (_, d) = read_yaml("update_config: { parallelism: 2, order: start-first, delay: 5s, monitor: 1s }");
        let d = d.unwrap();
        assert_eq!(d.strategy.as_deref(), Some("rolling"));
        assert_eq!(
            d.strategy_config,
            Some(serde_json::json!({ "max-surge": 2, "max-unavailable": 0, "min-ready-ms": 6000 }))
        );
        let (_, d) = read_yaml("update_config: { parallelism: 0 }");
        let d = d.unwrap();
        assert_eq!(d.strategy_config, Some(serde_json::json!({ "max-surge": 0, "max-unavailable": "100%" })));
        assert!(read_yaml("update_config: { delay: soon }").1.is_err());
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(read_yaml("replicas: 0").1.is_err());
        assert!(read_yaml("update_config: { order: sideways }").1.is_err());
        assert!(read_yaml("restart_policy: { condition: sometimes }").1.is_err());
        assert_eq!(read_yaml("mode: global").1.unwrap().ignored, ["deploy.mode"]);
    }
}
