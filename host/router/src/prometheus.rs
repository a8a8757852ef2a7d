//! The snapshot in Prometheus text exposition format (served at
//! `/_hoist/metrics` on the router's own listener).

use std::fmt::Write;

use crate::metrics::{Snapshot, bucket_bounds_seconds};

/// Renders every revision's counters and latency histogram. The histogram
/// exports every fourth bucket bound (powers of two from 20 µs); the
/// cumulative counts at those bounds are exact.
pub fn render(snapshot: &Snapshot) -> String {
    let mut out = String::with_capacity(4096);
    let revs = &snapshot.revisions;
    counter(
        &mut out,
        "hoist_requests_total",
        "Completed requests per revision.",
        revs.iter().map(|(r, s)| (r, s.requests)),
    );
    counter(
        &mut out,
        "hoist_responses_5xx_total",
        "Responses with a 5xx status per revision.",
        revs.iter().map(|(r, s)| (r, s.errors_5xx)),
    );
    counter(
        &mut out,
        "hoist_connection_errors_total",
        "Failed connects to a revision's backends.",
        revs.iter().map(|(r, s)| (r, s.connection_errors)),
    );
    let _ = writeln!(out, "# HELP hoist_requests_in_flight Requests in flight per revision.");
    let _ = writeln!(out, "# TYPE hoist_requests_in_flight gauge");
    for (rev, s) in revs {
        let _ = writeln!(out, "hoist_requests_in_flight{{revision=\"{}\"}} {}", escape(rev), s.in_flight);
    }
    let _ = writeln!(out, "# HELP hoist_unroutable_total Requests answered 503 because no revision had a backend.");
    let _ = writeln!(out, "# TYPE hoist_unroutable_total counter");
    let _ = writeln!(out, "hoist_unroutable_total {}", snapshot.unroutable);

    let name = "hoist_request_duration_seconds";
    let _ = writeln!(out, "# HELP {name} Request duration through the router, per revision.");
    let _ = writeln!(out, "# TYPE {name} histogram");
    let bounds: Vec<f64> = bucket_bounds_seconds().collect();
    for (rev, s) in revs {
        let rev = escape(rev);
        let mut cumulative = 0u64;
        for (i, &n) in s.buckets.iter().enumerate() {
            cumulative += n;
            if let Some(le) = bounds.get(i)
                && i % 4 == 0
            {
                let _ = writeln!(out, "{name}_bucket{{revision=\"{rev}\",le=\"{le}\"}} {cumulative}");
            }
        }
        let _ = writeln!(out, "{name}_bucket{{revision=\"{rev}\",le=\"+Inf\"}} {cumulative}");
        let _ = writeln!(out, "{name}_sum{{revision=\"{rev}\"}} {}", s.duration_sum_ns as f64 / 1e9);
        let _ = writeln!(out, "{name}_count{{revision=\"{rev}\"}} {cumulative}");
    }
    out
}

fn counter<'a>(out: &mut String, name: &str, help: &str, values: impl Iterator<Item = (&'a String, u64)>) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
    for (rev, v) in values {
        let _ = writeln!(out, "{name}{{revision=\"{}\"}} {v}", escape(rev));
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// A strict line check of the text format, used by the tests: comments are
/// `# HELP name text` / `# TYPE name kind`; samples are
/// `name{label="value",...} number`.
pub fn check_text_format(text: &str) -> Result<usize, String> {
    let mut samples = 0;
    for (n, line) in text.lines().enumerate() {
        let bad = || format!("line {}: malformed: {line}", n + 1);
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kind, name) = (parts.next(), parts.next());
            let ok = match kind {
                Some("HELP") => name.is_some_and(valid_name),
                Some("TYPE") => {
                    name.is_some_and(valid_name)
                        && matches!(parts.next(), Some("counter" | "gauge" | "histogram" | "summary" | "untyped"))
                }
                _ => false,
            };
            if !ok {
                return Err(bad());
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').ok_or_else(bad)?;
        if value.parse::<f64>().is_err() {
            return Err(bad());
        }
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, Some(rest.strip_suffix('}').ok_or_else(bad)?)),
            None => (series, None),
        };
        if !valid_name(name) {
            return Err(bad());
        }
        if let Some(labels) = labels {
            for pair in labels.split("\",").filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once("=\"").ok_or_else(bad)?;
                if !valid_name(k) || v.trim_end_matches('"').contains('"') {
                    return Err(bad());
                }
            }
            if !labels.ends_with('"') {
                return Err(bad());
            }
        }
        samples += 1;
    }
    Ok(samples)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}
