//! What every API request passes before any handler or body extractor
//! runs: the token (so an unauthenticated caller gets 401, never a parse
//! error about a body it may not send), then the names in its path, checked
//! once here for all routes.

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::server::{ApiError, Shared};
use crate::names;

/// Whether the caller showed the token; without it (only with
/// `--public-reads`) answers are redacted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Full,
    Public,
}

pub async fn guard(State(s): State<Shared>, mut req: Request, next: Next) -> Response {
    let authorized = has_token(&s, req.headers());
    let mutating = req.method() != Method::GET && req.method() != Method::HEAD;
    if !authorized && (mutating || s.auth_reads) {
        return unauthorized().into_response();
    }
    if let Err(message) = check_path(req.uri().path()) {
        return ApiError(StatusCode::BAD_REQUEST, message).into_response();
    }
    req.extensions_mut().insert(if authorized { Access::Full } else { Access::Public });
    next.run(req).await
}

fn has_token(s: &Shared, headers: &axum::http::HeaderMap) -> bool {
    let given = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    given.is_some_and(|t| constant_time_eq(t.as_bytes(), s.token.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn unauthorized() -> ApiError {
    ApiError(
        StatusCode::UNAUTHORIZED,
        "missing or wrong token: pass the token `hoist serve` wrote to its state directory (or HOIST_TOKEN)".into(),
    )
}

/// The names a route's path carries, by position.
fn check_path(path: &str) -> Result<(), String> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["v1", "services", service, env, ..] => {
            names::check("service", service)?;
            names::check("environment", env)
        }
        ["v1", "stacks", "deploy"] => Ok(()),
        ["v1", "stacks", stack, env, ..] => {
            names::check("stack", stack)?;
            names::check("environment", env)
        }
        ["v1", "rollouts", id, ..] | ["v1", "stack-rollouts", id, ..] => names::check_rollout_id(id),
        _ => Ok(()),
    }
}

/// Replaces every environment value in `value` — a service spec's `env`
/// pairs or map, wherever it is nested — by a marker.
pub fn redact(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "env" {
                    redact_env(child);
                } else {
                    redact(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

const REDACTED: &str = "(redacted: read with the token)";

fn redact_env(env: &mut serde_json::Value) {
    use serde_json::Value;
    match env {
        Value::Array(pairs) => {
            for pair in pairs {
                match pair {
                    Value::Array(kv) if kv.len() == 2 => kv[1] = Value::from(REDACTED),
                    Value::Object(o) => {
                        if let Some(v) = o.get_mut("value") {
                            *v = Value::from(REDACTED);
                        }
                    }
                    other => *other = Value::from(REDACTED),
                }
            }
        }
        Value::Object(map) => map.values_mut().for_each(|v| *v = Value::from(REDACTED)),
        Value::Null => {}
        other => *other = Value::from(REDACTED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_redaction() {
        assert!(check_path("/v1/services/web/prod").is_ok());
        assert!(check_path("/v1/services/..%2F..%2Fx/prod").is_err());
        assert!(check_path("/v1/services/a%20b/prod/history").is_err());
        assert!(check_path("/v1/rollouts/web.prod.3/log").is_ok());
        assert!(check_path("/v1/rollouts/%00/log").is_err());
        assert!(check_path("/v1/stacks/deploy").is_ok());
        let mut v = serde_json::json!([{ "spec": { "env": [["DB_PASSWORD", "hunter2"]], "command": ["x"] } }]);
        redact(&mut v);
        assert!(!v.to_string().contains("hunter2"), "{v}");
        assert!(v.to_string().contains("DB_PASSWORD"), "keys stay: {v}");
    }
}
