//! Compose's `deploy:` for one service: `replicas`, `resources` (see
//! `compose_runtime.rs`), `update_config.order` (the strategy: start-first
//! is `rolling`, stop-first `recreate`) and `restart_policy.condition`.
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
            "update_config" => {
                for (uk, uv) in v.as_mapping().into_iter().flatten() {
                    let uk = uk.as_str().unwrap_or_default();
                    match (uk, uv.as_str()) {
                        ("order", Some("start-first")) => out.strategy = Some("rolling".into()),
                        ("order", Some("stop-first")) => out.strategy = Some("recreate".into()),
                        ("order", _) => return Err("`deploy.update_config.order` is start-first or stop-first".into()),
                        // What every Hoist rollout does when its health fails.
                        ("failure_action", Some("rollback")) => {}
                        _ => out.ignored.push(format!("deploy.update_config.{uk}")),
                    }
                }
            }
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
            "replicas: 3\nupdate_config: { order: stop-first, parallelism: 2, failure_action: rollback }\n\
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
                "deploy.update_config.parallelism",
                "deploy.restart_policy.max_attempts",
                "deploy.resources.reservations.cpus"
            ]
        );
        assert_eq!((rt.memory, rt.memory_reservation), (Some(64 << 20), Some(32 << 20)));
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(read_yaml("replicas: 0").1.is_err());
        assert!(read_yaml("update_config: { order: sideways }").1.is_err());
        assert!(read_yaml("restart_policy: { condition: sometimes }").1.is_err());
        assert_eq!(read_yaml("mode: global").1.unwrap().ignored, ["deploy.mode"]);
    }
}
