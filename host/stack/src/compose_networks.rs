//! Compose `networks`: the top-level declarations (`internal` honoured,
//! the `bridge` driver; what Hoist cannot give — another driver, an
//! `external` network, a fixed `name` — refused) and each service's list or
//! mapping of the networks it joins, with `aliases`.

use std::collections::BTreeMap;

use serde_yaml::Value;

use crate::definition::{NetworkDef, ServiceNetwork};

/// The top-level `networks:`; the keys that are accepted but have no
/// effect are returned by name (`networks.back.labels`), to be warned.
pub fn declared(doc: &Value) -> Result<(BTreeMap<String, NetworkDef>, Vec<String>), String> {
    let mut out = BTreeMap::new();
    let mut ignored = Vec::new();
    for (name, body) in doc.get("networks").and_then(Value::as_mapping).into_iter().flatten() {
        let name = name.as_str().ok_or("a network name must be a string")?.to_string();
        let mut def = NetworkDef::default();
        for (k, v) in body.as_mapping().into_iter().flatten() {
            let k = k.as_str().unwrap_or_default();
            match (k, v) {
                ("internal", Value::Bool(b)) => def.internal = *b,
                ("driver", Value::String(d)) if d == "bridge" => {}
                ("driver", _) => {
                    return Err(format!(
                        "network `{name}`: driver `{}` cannot be honoured; Hoist creates bridge networks (remove `driver`)",
                        crate::compose::scalar(v).unwrap_or_default()
                    ));
                }
                ("external" | "name", _) => {
                    return Err(format!(
                        "network `{name}`: `{k}` cannot be honoured; Hoist creates and names a stack's networks itself (`hoist-STACK-ENV-{name}`); remove it"
                    ));
                }
                _ => ignored.push(format!("networks.{name}.{k}")),
            }
        }
        if name != "default" {
            out.insert(name, def);
        } else if def.internal {
            return Err("network `default`: an internal default network would cut every service off; declare a named internal network".into());
        }
    }
    Ok((out, ignored))
}

/// A service's `networks:`, as a list (`[front, back]`) or a mapping
/// (`back: { aliases: [primary] }`).
pub fn service(value: &Value) -> Result<BTreeMap<String, ServiceNetwork>, String> {
    let mut out = BTreeMap::new();
    match value {
        Value::Sequence(items) => {
            for i in items {
                out.insert(
                    i.as_str().ok_or("`networks` entries must be network names")?.to_string(),
                    Default::default(),
                );
            }
        }
        Value::Mapping(m) => {
            for (name, body) in m {
                let name = name.as_str().ok_or("a network name must be a string")?.to_string();
                let mut join = ServiceNetwork::default();
                for (k, v) in body.as_mapping().into_iter().flatten() {
                    match k.as_str().unwrap_or_default() {
                        "aliases" => {
                            join.aliases = v
                                .as_sequence()
                                .into_iter()
                                .flatten()
                                .map(|a| a.as_str().map(str::to_string).ok_or("aliases must be names"))
                                .collect::<Result<_, _>>()?;
                        }
                        other => {
                            return Err(format!(
                                "network `{name}`: `{other}` cannot be honoured (Hoist gives addresses itself); remove it"
                            ));
                        }
                    }
                }
                out.insert(name, join);
            }
        }
        _ => return Err("`networks` must be a list or a mapping of network names".into()),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    #[test]
    fn declarations_and_joins() {
        let (nets, ignored) =
            declared(&yaml("networks: { front: {}, back: { internal: true, driver: bridge, labels: { a: b } } }"))
                .unwrap();
        assert_eq!(nets["back"], NetworkDef { internal: true });
        assert_eq!(nets["front"], NetworkDef { internal: false });
        assert_eq!(ignored, ["networks.back.labels"]);
        let joins = service(&yaml("{ back: { aliases: [primary] }, front: null }")).unwrap();
        assert_eq!(joins["back"].aliases, ["primary"]);
        assert!(joins["front"].aliases.is_empty());
        assert_eq!(service(&yaml("[a, b]")).unwrap().len(), 2);
    }

    #[test]
    fn what_cannot_be_honoured_is_refused() {
        for bad in [
            "networks: { n: { driver: overlay } }",
            "networks: { n: { external: true } }",
            "networks: { default: { internal: true } }",
        ] {
            assert!(declared(&yaml(bad)).is_err(), "{bad}");
        }
        assert!(service(&yaml("{ back: { ipv4_address: 10.0.0.2 } }")).is_err());
    }
}
