//! The raw TOML shape of a version-1 registry, as serde structs.
//!
//! Strings that need validation are kept as `Spanned<String>` so semantic
//! errors can point at them; `parse.rs` turns these into the `model` types.
//! Keys are checked against these structs' field lists before serde runs, so
//! every unknown key is reported, not only the first.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{self, Visitor};
use serde_spanned::Spanned;

/// The keys allowed at the top level of a registry.
pub(crate) const TOP_LEVEL_KEYS: &[&str] = &["version", "plugins", "environments"];

/// `[plugins.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct PluginToml {
    pub kind: Option<Spanned<String>>,
    pub source: Option<Spanned<String>>,
    pub sha256: Option<Spanned<String>>,
    pub capabilities: Option<Vec<Spanned<String>>>,
    pub allow_hosts: Option<Spanned<Vec<Spanned<String>>>>,
    pub credentials: Option<Vec<Spanned<CredentialToml>>>,
    pub limits: Option<LimitsToml>,
    pub config: Option<Spanned<toml::Table>>,
}

/// One entry of `credentials = [...]`: a secret the host adds to requests
/// to one allow-listed host, read from an env var or a file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct CredentialToml {
    pub host: Spanned<String>,
    pub header: Option<Spanned<String>>,
    pub scheme: Option<Spanned<String>>,
    pub env: Option<Spanned<String>>,
    pub file: Option<Spanned<String>>,
}

/// `[plugins.NAME.limits]` and `limits` of an environment override.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct LimitsToml {
    pub memory: Option<Spanned<String>>,
    pub time: Option<Spanned<String>>,
}

/// `[environments.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct EnvironmentToml {
    pub platform: Option<Spanned<String>>,
    pub strategy: Option<Spanned<String>>,
    pub health_policies: Option<Vec<Spanned<String>>>,
    pub admission_policies: Option<Vec<Spanned<String>>>,
    pub labels: Option<BTreeMap<String, String>>,
    pub router_addresses: Option<Vec<Spanned<String>>>,
    pub plugins: Option<BTreeMap<Spanned<String>, OverrideToml>>,
    /// Checked table by table (`parse/analysis.rs`) before the rest; here
    /// only so the key is known.
    #[expect(dead_code, reason = "read by parse/analysis.rs from the raw table")]
    pub analysis: Option<de::IgnoredAny>,
    /// Checked table by table (`parse/notify.rs`), like `analysis`.
    #[expect(dead_code, reason = "read by parse/notify.rs from the raw table")]
    pub notify: Option<de::IgnoredAny>,
}

/// `[environments.NAME.notify.SUBSCRIPTION]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct NotifyToml {
    pub url: Option<Spanned<String>>,
    pub url_from: Option<Spanned<SecretToml>>,
    pub events: Option<Spanned<Vec<Spanned<String>>>>,
    pub format: Option<Spanned<String>>,
}

/// `url-from = { env = "VAR" }` or `{ file = "path" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SecretToml {
    pub env: Option<Spanned<String>>,
    pub file: Option<Spanned<String>>,
}

/// `[environments.NAME.analysis.METRIC]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct AnalysisToml {
    pub provider: Option<Spanned<String>>,
    pub query: Option<Spanned<String>>,
    pub success: Option<Spanned<RangeToml>>,
    pub failure: Option<Spanned<RangeToml>>,
    pub interval: Option<Spanned<String>>,
    pub count: Option<Spanned<i64>>,
    pub initial_delay: Option<Spanned<String>>,
    pub failure_limit: Option<Spanned<i64>>,
    pub inconclusive_limit: Option<Spanned<i64>>,
    pub consecutive_error_limit: Option<Spanned<i64>>,
    pub no_data: Option<Spanned<String>>,
    pub dry_run: Option<bool>,
    pub variables: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
}

/// `success = { min = 0.99 }`, `failure = { max = 0.5 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RangeToml {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// `[environments.NAME.plugins.PLUGIN]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct OverrideToml {
    pub config: Option<Spanned<toml::Table>>,
    pub capabilities: Option<Spanned<Vec<Spanned<String>>>>,
    pub allow_hosts: Option<Spanned<Vec<Spanned<String>>>>,
    pub limits: Option<LimitsToml>,
}

/// The serialized field names of struct `T`, read from its `Deserialize`
/// impl so key checks cannot drift from the structs above.
pub(crate) fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldsProbe(&mut fields));
    fields
}

struct FieldsProbe<'a>(&'a mut &'static [&'static str]);

#[derive(Debug)]
struct ProbeDone;

impl std::fmt::Display for ProbeDone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field probe")
    }
}

impl std::error::Error for ProbeDone {}

impl de::Error for ProbeDone {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        ProbeDone
    }
}

impl<'de> de::Deserializer<'de> for FieldsProbe<'_> {
    type Error = ProbeDone;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ProbeDone> {
        Err(ProbeDone)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, ProbeDone> {
        *self.0 = fields;
        Err(ProbeDone)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_lists_are_kebab_case() {
        assert_eq!(
            fields_of::<PluginToml>(),
            ["kind", "source", "sha256", "capabilities", "allow-hosts", "credentials", "limits", "config"]
        );
        assert_eq!(fields_of::<LimitsToml>(), ["memory", "time"]);
        assert_eq!(fields_of::<NotifyToml>(), ["url", "url-from", "events", "format"]);
        assert_eq!(fields_of::<OverrideToml>(), ["config", "capabilities", "allow-hosts", "limits"]);
        assert_eq!(
            fields_of::<AnalysisToml>(),
            [
                "provider",
                "query",
                "success",
                "failure",
                "interval",
                "count",
                "initial-delay",
                "failure-limit",
                "inconclusive-limit",
                "consecutive-error-limit",
                "no-data",
                "dry-run",
                "variables"
            ]
        );
    }
}
