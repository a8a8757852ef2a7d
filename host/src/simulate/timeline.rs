//! The simulation's timeline, rebuilt from what the engine stored (steps and
//! the decision log) plus the script's own events, in time order.

use hoist_store::DecisionKind;
use hoist_store::{LogFilter, Store};
use serde::Serialize;
use serde_json::Value;

use super::run::Outcome;
use super::scenario::TrafficDecl;

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub at_ms: u64,
    /// `note`, `admit`, `decide`, `analysis`, `measure`, `operator`, `instance`, `rollback`, `end`, `error`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<u64>,
    /// Instances/ready per revision and weights when the decision was taken.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub observed: Value,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub actions: Value,
    pub text: String,
    #[serde(skip)]
    order: (u8, u64),
}

impl Entry {
    pub fn note(at_ms: u64, text: String) -> Self {
        Self {
            at_ms,
            kind: "note".into(),
            step: None,
            observed: Value::Null,
            actions: Value::Null,
            text,
            order: (0, 0),
        }
    }
}

pub(super) fn build(store: &Store, mut entries: Vec<Entry>) -> anyhow::Result<Vec<Entry>> {
    for (i, e) in entries.iter_mut().enumerate() {
        e.order = (0, i as u64);
    }
    let records = store.decision_log(&LogFilter::default())?;
    for r in &records {
        if let Some(printed) = &r.plugin_output {
            entries.push(Entry {
                at_ms: r.at_ms,
                kind: "output".into(),
                step: None,
                observed: Value::Null,
                actions: printed.clone(),
                text: printed_text(r.plugin.as_deref().unwrap_or("?"), printed),
                order: (3, r.seq),
            });
        }
        let (kind, text) = match r.kind {
            DecisionKind::Decide => continue,
            DecisionKind::Admit => {
                ("admit", format!("{}: {}", r.plugin.as_deref().unwrap_or("?"), variant_text(&r.output)))
            }
            // An analysis's combined verdict, over its health policies and metrics.
            DecisionKind::Evaluate if r.plugin.is_none() => ("analysis", r.reason.clone().unwrap_or_default()),
            DecisionKind::Measure => ("measure", r.reason.clone().unwrap_or_default()),
            DecisionKind::Evaluate => {
                let verdict = &r.output["verdict"];
                (
                    "analysis",
                    format!(
                        "{}: {} — {}",
                        r.plugin.as_deref().unwrap_or("?"),
                        variant_text(verdict),
                        r.output["details"].as_str().unwrap_or("")
                    ),
                )
            }
            DecisionKind::Operator => (
                "operator",
                format!(
                    "{} by {}{}",
                    r.input["verb"].as_str().unwrap_or("?"),
                    r.operator.as_deref().unwrap_or("?"),
                    r.reason.as_deref().map(|w| format!(" ({w})")).unwrap_or_default()
                ),
            ),
            DecisionKind::Instance => ("instance", r.reason.clone().unwrap_or_default()),
            DecisionKind::Rollback => {
                ("rollback", format!("traffic back on the stable revision: {}", r.reason.as_deref().unwrap_or("")))
            }
            DecisionKind::Apply | DecisionKind::Error => {
                ("error", format!("{} {}", r.input, r.error.as_deref().unwrap_or("")))
            }
            DecisionKind::Complete => {
                ("end", format!("completed: {} is stable", r.input["stable"].as_str().unwrap_or("?")))
            }
            other => ("end", format!("{other}: {}", r.reason.as_deref().unwrap_or(""))),
        };
        let mut e = Entry::note(r.at_ms, text);
        e.kind = kind.into();
        // What led to a decision comes before it; what followed, after.
        let rank = if matches!(kind, "admit" | "operator" | "analysis" | "measure" | "instance") { 1 } else { 3 };
        e.order = (rank, r.seq);
        if r.error.is_some() && kind != "error" {
            e.text.push_str(&format!(" [error: {}]", r.error.as_deref().unwrap_or("")));
        }
        entries.push(e);
    }
    let mut rollouts: Vec<String> = records.iter().filter_map(|r| r.rollout_id.clone()).collect();
    rollouts.sort();
    rollouts.dedup();
    for id in rollouts {
        let errors: Vec<_> = records
            .iter()
            .filter(|r| r.kind == DecisionKind::Decide && r.error.is_some() && r.rollout_id.as_deref() == Some(&id))
            .collect();
        for r in errors {
            let mut e = Entry::note(r.at_ms, format!("decision failed: {}", r.error.as_deref().unwrap_or("")));
            e.kind = "error".into();
            e.order = (3, r.seq);
            entries.push(e);
        }
        for s in store.steps(&id)? {
            entries.push(Entry {
                at_ms: s.at_ms,
                kind: "decide".into(),
                step: Some(s.seq),
                observed: s.observed.clone(),
                actions: s.actions.clone(),
                text: s.status.clone(),
                order: (2, s.seq),
            });
        }
    }
    entries.sort_by_key(|e| (e.at_ms, e.order));
    Ok(entries)
}

/// What a plugin printed, one `stream: line` per line under its name.
fn printed_text(plugin: &str, printed: &Value) -> String {
    let mut lines = vec![format!("`{plugin}` printed:")];
    for stream in ["stdout", "stderr"] {
        if let Some(text) = printed.get(stream).and_then(Value::as_str) {
            lines.extend(text.lines().map(|l| format!("{:>19}{stream}: {l}", "")));
        }
    }
    for line in printed.get("logs").and_then(Value::as_array).into_iter().flatten() {
        let level = line.get("level").and_then(Value::as_str).unwrap_or("info");
        let message = line.get("message").and_then(Value::as_str).unwrap_or("");
        lines.push(format!("{:>19}log {level}: {message}", ""));
    }
    lines.join("\n")
}

/// `Pass`, `{"Fail": "why"}` → "pass", "fail: why".
fn variant_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_lowercase(),
        Value::Object(m) => m
            .iter()
            .next()
            .map(|(k, v)| {
                format!("{}: {}", k.to_lowercase(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
            })
            .unwrap_or_default(),
        other => other.to_string(),
    }
}

pub(super) fn describe_traffic(t: &TrafficDecl) -> String {
    let mut parts = Vec::new();
    if let Some(e) = t.error_rate {
        parts.push(format!("error rate {:.1} %", e * 100.0));
    }
    for (name, v) in [("p50", t.p50_ms), ("p95", t.p95_ms), ("p99", t.p99_ms)] {
        if let Some(v) = v {
            parts.push(format!("{name} {v} ms"));
        }
    }
    parts.join(", ")
}

fn clock(ms: u64) -> String {
    format!("{:>2}:{:02}.{}", ms / 60_000, (ms / 1000) % 60, (ms % 1000) / 100)
}

fn replicas(observed: &Value) -> String {
    observed["revisions"]
        .as_object()
        .map(|m| {
            m.iter().map(|(rev, v)| format!("{rev} {}/{}", v["ready"], v["instances"])).collect::<Vec<_>>().join(" ")
        })
        .unwrap_or_default()
}

fn weights(observed: &Value) -> String {
    observed["weights"]
        .as_object()
        .filter(|m| !m.is_empty())
        .map(|m| m.iter().map(|(rev, w)| format!("{rev}:{w}")).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "-".into())
}

/// One action as a short phrase: `scale r2→3`, `weights r1:90 r2:10`, …
fn action(a: &Value) -> String {
    let Some((kind, body)) = a.as_object().and_then(|m| m.iter().next()) else {
        return a.as_str().unwrap_or("?").to_lowercase();
    };
    match kind.as_str() {
        "Scale" => format!("scale {}→{}", body["revision"].as_str().unwrap_or("?"), body["replicas"]),
        "SetWeights" => format!(
            "weights {}",
            body.as_array()
                .map(|ws| ws
                    .iter()
                    .map(|w| format!("{}:{}", w["revision"].as_str().unwrap_or("?"), w["percent"]))
                    .collect::<Vec<_>>()
                    .join(" "))
                .unwrap_or_default()
        ),
        "RunAnalysis" => format!(
            "analyse `{}` {}s",
            body["name"].as_str().unwrap_or("?"),
            body["duration"].as_u64().unwrap_or(0) / 1000
        ),
        "Wait" => match body.as_object().and_then(|m| m.iter().next()) {
            Some((k, v)) if k == "Duration" => format!("wait {}s", v.as_u64().unwrap_or(0) as f64 / 1000.0),
            Some((k, v)) if k == "Ready" => {
                format!("wait until {} has {} ready", v["revision"].as_str().unwrap_or("?"), v["count"])
            }
            Some((k, v)) if k == "Operator" => format!("wait for operator ({})", v.as_str().unwrap_or("")),
            _ => "wait".into(),
        },
        "Rollback" => format!("rollback ({})", body.as_str().unwrap_or("")),
        other => other.to_lowercase(),
    }
}

pub fn render_text(outcome: &Outcome) -> String {
    let mut out = format!("hoist simulate — {}\n\n", outcome.scenario);
    out.push_str(&format!("{:>7}  {:<9} {}\n", "time", "event", "details"));
    let mut i = 0;
    let entries = &outcome.timeline;
    while i < entries.len() {
        let e = &entries[i];
        let t = clock(e.at_ms);
        match e.kind.as_str() {
            "decide" => {
                let actions = e
                    .actions
                    .as_array()
                    .map(|a| a.iter().map(action).collect::<Vec<_>>().join("; "))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "{t}  decide #{:<2} [{}] weights {}\n{:>19}→ {actions}\n{:>19}“{}”\n",
                    e.step.unwrap_or(0),
                    replicas(&e.observed),
                    weights(&e.observed),
                    "",
                    "",
                    e.text
                ));
                // Identical re-decisions (a strategy re-asked while it waits)
                // are folded into one line.
                let same = entries[i + 1..]
                    .iter()
                    .take_while(|n| {
                        n.kind == "decide" && n.actions == e.actions && n.text == e.text && n.observed == e.observed
                    })
                    .count();
                if same > 0 {
                    let last = &entries[i + same];
                    out.push_str(&format!(
                        "{:>19}(the same decision {same} more times, until {})\n",
                        "",
                        clock(last.at_ms).trim()
                    ));
                    i += same;
                }
            }
            kind => out.push_str(&format!("{t}  {kind:<9} {}\n", e.text)),
        }
        i += 1;
    }
    let ended = if outcome.phase == "running" || outcome.phase == "paused" {
        format!("was still {}", outcome.phase)
    } else {
        format!("ended {}", outcome.phase)
    };
    out.push_str(&format!(
        "\nrollout {} {ended} at {} after {} decisions{}\n",
        outcome.rollout,
        clock(outcome.ended_at_ms).trim(),
        outcome.decisions,
        outcome.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
    ));
    out
}

pub fn render_json(outcome: &Outcome) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(outcome)?)
}
