//! Throughput of `commit_step` (one step + 3 decision records per transaction)
//! on a file store (WAL, synchronous=NORMAL) and in memory. Prints figures;
//! asserts nothing.
//!
//! ```text
//! cargo run --release -p hoist-store --example bench [-- STEPS]
//! ```

use std::time::Instant;

use hoist_store::*;
use serde_json::json;

fn run(store: &Store, steps: u64) -> Result<f64, StoreError> {
    let candidate = store.create_revision(&NewRevision {
        service: "web".into(),
        environment: "production".into(),
        version: "v1".into(),
        spec: json!({"image": "web:v1", "replicas": 3}),
        created_at_ms: 0,
        created_by: "bench".into(),
    })?;
    let mut rollout = store.create_rollout(&NewRollout {
        id: None,
        service: "web".into(),
        environment: "production".into(),
        stable: None,
        candidate: candidate.id,
        strategy: "canary".into(),
        strategy_digest: "sha256:00".into(),
        requested_by: "bench".into(),
        started_at_ms: 0,
        deadline_ms: None,
    })?;
    rollout.phase = Phase::Running;
    let start = Instant::now();
    for n in 1..=steps {
        rollout.step = n;
        rollout.status = format!("step {n}");
        rollout.intent = json!({"replicas": {"r1": 3}, "weights": {"r1": n % 100}});
        rollout.plugin_state = Some(vec![0; 64]);
        rollout.updated_at_ms = n;
        let step = Step {
            rollout_id: rollout.id.clone(),
            seq: n,
            at_ms: n,
            actions: json!([{"set-weights": {"r1": n % 100}}]),
            status: rollout.status.clone(),
            observed: json!({"r1": {"replicas": 3, "ready": 3}, "verdict": "pass"}),
            commands: vec![],
        };
        let records: Vec<_> = [DecisionKind::Decide, DecisionKind::Apply, DecisionKind::Evaluate]
            .iter()
            .map(|kind| DecisionRecord {
                seq: 0,
                rollout_id: None,
                step: None,
                service: "web".into(),
                environment: "production".into(),
                at_ms: n,
                kind: *kind,
                plugin: Some("canary".into()),
                plugin_digest: Some("sha256:00".into()),
                input: json!({"step": n, "observed": {"r1": {"ready": 3}}}),
                output: json!({"actions": [{"set-weights": {"r1": n % 100}}]}),
                error: None,
                operator: None,
                reason: None,
                plugin_output: None,
            })
            .collect();
        store.commit_step(&rollout, &step, &records)?;
    }
    Ok(steps as f64 / start.elapsed().as_secs_f64())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let steps: u64 = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(20_000);
    let dir = std::env::temp_dir().join(format!("hoist-store-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = run(&Store::open(dir.join("state.db"))?, steps)?;
    let size = std::fs::metadata(dir.join("state.db"))?.len()
        + std::fs::metadata(dir.join("state.db-wal")).map_or(0, |m| m.len());
    std::fs::remove_dir_all(&dir)?;
    let memory = run(&Store::in_memory()?, steps)?;
    println!("commit_step, {steps} steps, 3 records each");
    println!(
        "  file (WAL, synchronous=NORMAL): {file:>9.0} steps/s  ({:.1} KiB/step on disk)",
        size as f64 / 1024.0 / steps as f64
    );
    println!("  in memory:                      {memory:>9.0} steps/s");
    Ok(())
}
