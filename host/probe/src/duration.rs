//! Durations in probe specs: `"1s"`, `"250ms"`, `"1.5s"`, `"2m"`, `"1h"`, or
//! a bare integer of milliseconds.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// Parse `"90s"`, `"250ms"`, `"1.5s"`, `"15m"`, `"1h"` or `"500"` (ms).
pub fn parse(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("`{text}` is not a duration like 1s, 250ms or 2m"))?;
    let millis_per_unit = match unit.trim() {
        "ms" | "" => 1.0,
        "s" => 1_000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        other => {
            return Err(format!("unknown unit `{other}` in `{text}`; use ms, s, m or h"));
        }
    };
    Duration::try_from_secs_f64(value * millis_per_unit / 1_000.0)
        .map_err(|_| format!("`{text}` is too long a duration"))
}

/// The form [`parse`] reads back: whole seconds as `"3s"`, else `"250ms"`.
pub fn format(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms.is_multiple_of(1_000) { format!("{}s", ms / 1_000) } else { format!("{ms}ms") }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    Millis(u64),
    Text(String),
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    match Raw::deserialize(d)? {
        Raw::Millis(ms) => Ok(Duration::from_millis(ms)),
        Raw::Text(text) => parse(&text).map_err(serde::de::Error::custom),
    }
}

pub fn serialize<S: Serializer>(duration: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*duration))
}

/// The same, for an optional field.
pub mod option {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        super::deserialize(d).map(Some)
    }

    pub fn serialize<S: Serializer>(duration: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match duration {
            Some(duration) => super::serialize(duration, s),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(parse("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1_500)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("500"), Ok(Duration::from_millis(500)));
        assert!(parse("3 fortnights").is_err());
        assert!(parse("s").is_err());
        assert!(parse("99999999999999999999999h").is_err());
        assert_eq!(format(Duration::from_secs(3)), "3s");
        assert_eq!(format(Duration::from_millis(250)), "250ms");
    }
}
