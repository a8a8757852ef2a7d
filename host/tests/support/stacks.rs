//! The registry the Docker stack tests deploy with: `builtin:docker`, the
//! rolling default, and `recreate` for the services that own a volume
//! (updated stop-first).

pub fn docker_registry(env: &str) -> String {
    format!(
        r#"version = 1
[plugins.rolling]
kind = "strategy"
source = "builtin:rolling"
config = {{ max-surge = 1, max-unavailable = 0, progress-deadline-ms = 30000 }}

[plugins.recreate]
kind = "strategy"
source = "builtin:recreate"

[plugins.docker]
kind = "platform"
source = "builtin:docker"
capabilities = ["docker"]
config = {{ stop-timeout-secs = 1 }}

[environments.{env}]
platform = "docker"
strategy = "rolling"
"#
    )
}
