//! Labels and names that tie Swarm services to revisions.

pub use hoist_sdk::platform::labels::{REVISION, get, selector};

/// The container port the service listens on, kept on the service so
/// `instances` (which is not given the spec) can form addresses.
pub const PORT: &str = "hoist.port";

/// Swarm service names allow letters, digits and `-`, up to 63 characters.
const MAX_NAME: usize = 63;

/// `hoist-<service>-<env>-<rev>`, with other characters replaced by `-`;
/// a longer name is cut and ends with a hash of the whole, so two
/// revisions never share one.
pub fn service_name(service: &str, environment: &str, revision: &str) -> String {
    let raw = format!("hoist-{service}-{environment}-{revision}");
    let clean: String = raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
    if clean.len() <= MAX_NAME {
        return clean;
    }
    let hash = raw.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let mut short: String = clean.chars().take(MAX_NAME - 9).collect();
    short.push('-');
    short.push_str(&format!("{:08x}", hash & 0xffff_ffff));
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_swarm_names() {
        assert_eq!(service_name("web", "prod", "r3"), "hoist-web-prod-r3");
        assert_eq!(service_name("my.api", "dev_1", "r1"), "hoist-my-api-dev-1-r1");
        let long = "a".repeat(80);
        let (a, b) = (service_name(&long, "e", "r1"), service_name(&long, "e", "r2"));
        assert_eq!(a.len(), 63);
        assert_ne!(a, b);
    }
}
