//! Compose profiles: the services of profiles that are not active are left
//! out of the stack.

use crate::definition::StackDef;

/// Leaves out the services of profiles that are not active (`--profile`
/// and `COMPOSE_PROFILES`; `*` activates all), noting each; a service kept
/// that depends on one left out is an error naming both.
pub(crate) fn select_profiles(stack: &mut StackDef, profiles: &[String]) -> Result<Vec<String>, String> {
    let from_env = std::env::var("COMPOSE_PROFILES").unwrap_or_default();
    let active: Vec<&str> = profiles
        .iter()
        .map(String::as_str)
        .chain(from_env.split(',').map(str::trim))
        .filter(|p| !p.is_empty())
        .collect();
    let all = active.contains(&"*");
    let left_out: Vec<String> = stack
        .services
        .iter()
        .filter(|(_, s)| !all && !s.profiles.is_empty() && !s.profiles.iter().any(|p| active.contains(&p.as_str())))
        .map(|(n, _)| n.clone())
        .collect();
    let mut notes = Vec::new();
    for name in &left_out {
        if let Some(s) = stack.services.remove(name) {
            notes.push(format!(
                "service `{name}`: left out: its profiles ({}) are not active (`--profile NAME`)",
                s.profiles.join(", ")
            ));
        }
    }
    for (name, s) in &stack.services {
        if let Some(dep) = s.depends_on.keys().find(|d| left_out.contains(d)) {
            return Err(format!(
                "service `{name}` depends on `{dep}`, whose profile is not active; activate it with `--profile`"
            ));
        }
    }
    Ok(notes)
}
