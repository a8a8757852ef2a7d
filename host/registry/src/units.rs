//! Sizes (`64MiB`) and durations (`100ms`) as written in the registry.

use std::time::Duration;

use crate::capability::PluginKind;

/// One wasm page: the smallest useful memory cap.
pub const MIN_MEMORY_BYTES: u64 = 64 * 1024;
/// Largest per-call memory cap a registry may grant (1 GiB).
pub const MAX_MEMORY_BYTES: u64 = 1024 * 1024 * 1024;
/// Default per-call memory cap (64 MiB).
pub const DEFAULT_MEMORY_BYTES: u64 = 64 * 1024 * 1024;
/// Largest per-call time limit a registry may grant.
pub const MAX_TIME: Duration = Duration::from_secs(60);

/// Per-call resource limits of a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Cap on the plugin's linear memory during one call, in bytes.
    pub memory_bytes: u64,
    /// Wall-clock limit of one call.
    pub time: Duration,
}

impl Limits {
    /// The limits a plugin of `kind` gets when the registry sets none:
    /// 64 MiB, and 100 ms per call (10 s for platform adapters, which do I/O).
    pub fn default_for(kind: PluginKind) -> Self {
        let time = match kind {
            // Both wait on the outside world.
            PluginKind::Platform | PluginKind::MetricsProvider => Duration::from_secs(10),
            _ => Duration::from_millis(100),
        };
        Self { memory_bytes: DEFAULT_MEMORY_BYTES, time }
    }

    /// `memory_bytes` as wasmtime counts memory (`usize`), saturating where
    /// it does not fit.
    pub fn memory_usize(&self) -> usize {
        usize::try_from(self.memory_bytes).unwrap_or(usize::MAX)
    }
}

const SIZE_UNITS: &[(&str, u64)] = &[("GiB", 1024 * 1024 * 1024), ("MiB", 1024 * 1024), ("KiB", 1024), ("B", 1)];

/// Parses a memory size such as `64MiB` (units `B`, `KiB`, `MiB`, `GiB`) and
/// checks it lies in 64KiB..=1GiB. The error is a complete sentence.
pub fn parse_memory(text: &str) -> Result<u64, String> {
    let hint = "write a size such as \"64MiB\" (units: B, KiB, MiB, GiB)";
    let (digits, unit) = split_number(text);
    let Some(&(_, factor)) = SIZE_UNITS.iter().find(|(u, _)| *u == unit) else {
        let units = "(units: B, KiB, MiB, GiB)";
        let binary = match unit.to_ascii_lowercase().as_str() {
            "k" | "kb" | "kib" => Some("KiB"),
            "m" | "mb" | "mib" => Some("MiB"),
            "g" | "gb" | "gib" => Some("GiB"),
            _ => None,
        };
        return Err(match binary {
            _ if unit.is_empty() => {
                format!("memory size {text:?} has no unit; write e.g. \"{text}MiB\" {units}")
            }
            Some(binary) => {
                format!("unknown memory unit {unit:?} in {text:?}; did you mean \"{digits}{binary}\"? {units}")
            }
            None => format!("unknown memory unit {unit:?} in {text:?}; {hint}"),
        });
    };
    let bytes = parse_u64(digits)
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("invalid memory size {text:?}; {hint}"))?;
    if bytes > MAX_MEMORY_BYTES {
        return Err(format!("memory limit {text} is over the maximum of 1GiB; lower it to at most \"1GiB\""));
    }
    if bytes < MIN_MEMORY_BYTES {
        return Err(format!("memory limit {text} is below one wasm page (64KiB); raise it to at least \"64KiB\""));
    }
    Ok(bytes)
}

/// Parses a duration such as `100ms` or `10s` and checks it lies in
/// 1ms..=60s. The error is a complete sentence.
pub fn parse_time(text: &str) -> Result<Duration, String> {
    let hint = "write a duration such as \"100ms\" or \"10s\" (units: ms, s)";
    let (digits, unit) = split_number(text);
    let to_duration: fn(u64) -> Duration = match unit {
        "ms" => Duration::from_millis,
        "s" => Duration::from_secs,
        "" => return Err(format!("time limit {text:?} has no unit; {hint}")),
        "m" | "min" => {
            let seconds = parse_u64(digits).and_then(|n| n.checked_mul(60)).unwrap_or(60);
            return Err(format!(
                "unknown time unit {unit:?} in {text:?}; the largest unit is s, so write \"{seconds}s\" (units: ms, s)"
            ));
        }
        _ => return Err(format!("unknown time unit {unit:?} in {text:?}; {hint}")),
    };
    let time = parse_u64(digits).map(to_duration).ok_or_else(|| format!("invalid time limit {text:?}; {hint}"))?;
    if time > MAX_TIME {
        return Err(format!("time limit {text} is over the maximum of 60s; lower it to at most \"60s\""));
    }
    if time.is_zero() {
        return Err(format!("time limit {text} is zero; {hint}"));
    }
    Ok(time)
}

/// Parses an analysis duration such as `10s`, `500ms`, `5m` or `1h`
/// (zero allowed: the caller says whether it may be), at most 24h. The
/// error is a complete sentence.
pub fn parse_span(text: &str) -> Result<Duration, String> {
    let hint = "write a duration such as \"30s\", \"500ms\", \"5m\" or \"1h\" (units: ms, s, m, h)";
    let (digits, unit) = split_number(text);
    let factor_ms: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "" => return Err(format!("duration {text:?} has no unit; {hint}")),
        _ => return Err(format!("unknown duration unit {unit:?} in {text:?}; {hint}")),
    };
    let ms = parse_u64(digits)
        .and_then(|n| n.checked_mul(factor_ms))
        .ok_or_else(|| format!("invalid duration {text:?}; {hint}"))?;
    let span = Duration::from_millis(ms);
    if span > crate::analysis::MAX_SPAN {
        return Err(format!("duration {text} is over the maximum of 24h; lower it to at most \"24h\""));
    }
    Ok(span)
}

/// Splits `"64MiB"` into `("64", "MiB")`.
fn split_number(text: &str) -> (&str, &str) {
    let end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    text.split_at(end)
}

fn parse_u64(digits: &str) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("64MiB"), Ok(64 * 1024 * 1024));
        assert_eq!(parse_memory("1GiB"), Ok(MAX_MEMORY_BYTES));
        assert_eq!(parse_memory("64KiB"), Ok(65536));
        assert_eq!(parse_memory("131072B"), Ok(131072));
    }

    #[test]
    fn memory_errors() {
        assert!(parse_memory("64MB").unwrap_err().contains("did you mean \"64MiB\""));
        assert!(parse_memory("64").unwrap_err().contains("no unit"));
        assert!(parse_memory("2GiB").unwrap_err().contains("over the maximum"));
        assert!(parse_memory("1KiB").unwrap_err().contains("below one wasm page"));
        assert!(parse_memory("MiB").is_err());
        assert!(parse_memory("-1MiB").is_err());
        assert!(parse_memory("1.5MiB").is_err());
        assert!(parse_memory("64 MiB").is_err());
        assert!(parse_memory("99999999999999999999GiB").is_err());
    }

    #[test]
    fn time_units() {
        assert_eq!(parse_time("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_time("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_time("60s"), Ok(MAX_TIME));
        assert_eq!(parse_time("60000ms"), Ok(MAX_TIME));
    }

    #[test]
    fn analysis_spans() {
        assert_eq!(parse_span("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_span("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_span("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_span("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_span("0s"), Ok(Duration::ZERO));
        assert!(parse_span("25h").unwrap_err().contains("over the maximum"));
        assert!(parse_span("10").unwrap_err().contains("no unit"));
        assert!(parse_span("1d").unwrap_err().contains("unknown duration unit"));
        assert!(parse_span("1.5s").is_err());
    }

    #[test]
    fn time_errors() {
        assert!(parse_time("61s").unwrap_err().contains("over the maximum"));
        assert!(parse_time("0ms").unwrap_err().contains("zero"));
        assert!(parse_time("2m").unwrap_err().contains("write \"120s\""));
        assert!(parse_time("100").unwrap_err().contains("no unit"));
        assert!(parse_time("1h").is_err());
        assert!(parse_time("").is_err());
    }

    #[test]
    fn defaults_depend_on_kind() {
        assert_eq!(Limits::default_for(PluginKind::Strategy).time, Duration::from_millis(100));
        assert_eq!(Limits::default_for(PluginKind::Platform).time, Duration::from_secs(10));
    }
}
