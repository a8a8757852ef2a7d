//! The one naming rule for services, environments and stacks — 1–63
//! lowercase letters, digits and `-`, starting with a letter — checked at
//! every entry (API, CLI, engine) so a name is always safe as a path
//! segment, a file name, a label and a DNS name, and two names never
//! collide once a platform sanitises them.

/// Checks `name` as a `what` name ("service", "environment", "stack").
pub fn check(what: &str, name: &str) -> Result<(), String> {
    hoist_registry::validate_name(name).map_err(|e| format!("invalid {what} name {}: {}", shown(name), e.reason))
}

/// Checks a rollout id: `SERVICE.ENV.N` (stack rollouts: `STACK.ENV.N`).
pub fn check_rollout_id(id: &str) -> Result<(), String> {
    let parts: Vec<&str> = id.split('.').collect();
    let valid = parts.len() == 3
        && hoist_registry::validate_name(parts[0]).is_ok()
        && hoist_registry::validate_name(parts[1]).is_ok()
        && !parts[2].is_empty()
        && parts[2].len() <= 20
        && parts[2].bytes().all(|b| b.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid rollout id {}: rollout ids read SERVICE.ENVIRONMENT.NUMBER, e.g. `web.staging.4`",
            shown(id)
        ))
    }
}

/// A name as shown in a message: quoted, escaped, and cut short, so a
/// 10 KB name or a control character does not flood or garble a terminal.
fn shown(name: &str) -> String {
    let escaped: String = name.chars().flat_map(char::escape_debug).take(64).collect();
    if escaped.len() < name.len() && name.chars().count() > 60 {
        format!("`{escaped}…` ({} bytes)", name.len())
    } else {
        format!("`{escaped}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_plain_name() {
        for bad in ["../../../x", "/abs", "a b", "a_b", "A", "", "x\0y", "é", "🚀", "-a", "1a"] {
            assert!(check("service", bad).is_err(), "{bad:?}");
        }
        let long = "a".repeat(10_000);
        let err = check("service", &long).unwrap_err();
        assert!(err.len() < 300 && err.contains("10000 bytes"), "{err}");
        assert!(check("service", "x\0y").unwrap_err().contains("x\\0y"));
        assert!(check("service", "web-2").is_ok());
        assert!(check_rollout_id("web.staging.4").is_ok());
        for bad in ["web", "web.staging", "../x.y.1", "web.staging.x", "web.staging.4.5", "web..4"] {
            assert!(check_rollout_id(bad).is_err(), "{bad:?}");
        }
    }
}
