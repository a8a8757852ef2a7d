//! Crash safety for real: a child process (this test binary, re-executed with
//! `HOIST_STORE_CRASH_CHILD` set) commits rollout steps in a loop into a file
//! store and is killed with SIGKILL at random moments, round after round. After
//! each kill the store must reopen, pass SQLite's integrity checks, hold every
//! step the child reported committed, and show no partial transaction:
//! `rollout.step` == its number of steps, each step with its three decision
//! records, its commands, and the rollout's fields written with it.
//!
//! `HOIST_STORE_CRASH_SEED` replays a run (the seed is printed);
//! `HOIST_STORE_CRASH_ROUNDS` sets the number of kills (default 12).

// Helpers outside `#[test]` fns are test code too (clippy.toml only covers `#[test]`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use hoist_store::*;
use serde_json::json;

const CHILD_ENV: &str = "HOIST_STORE_CRASH_CHILD";
const RECORDS_PER_STEP: usize = 3;
const STEPS_PER_ROLLOUT: u64 = 40;

/// The child's body; a no-op unless re-executed by the parent test.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    writer_loop(Path::new(&path));
}

fn writer_loop(path: &Path) -> ! {
    let store = Store::open(path).unwrap();
    let (service, env) = ("web", "production");
    let mut clock = store.decision_log(&LogFilter::default()).unwrap().last().map_or(0, |r| r.at_ms);
    loop {
        let mut rollout = match store.active_rollouts().unwrap().into_iter().next() {
            Some(r) => r,
            None => {
                clock += 1;
                let candidate = store
                    .create_revision(&NewRevision {
                        service: service.into(),
                        environment: env.into(),
                        version: format!("v{clock}"),
                        spec: json!({"image": "web", "replicas": 3}),
                        created_at_ms: clock,
                        created_by: "crash-test".into(),
                    })
                    .unwrap();
                store.prune_revisions(service, env, 3).unwrap();
                let stable = store.current(service, env).unwrap().map(|r| r.id);
                let r = store
                    .create_rollout(&NewRollout {
                        id: None,
                        service: service.into(),
                        environment: env.into(),
                        stable,
                        candidate: candidate.id,
                        strategy: "canary".into(),
                        strategy_digest: "sha256:00".into(),
                        requested_by: "crash-test".into(),
                        started_at_ms: clock,
                        deadline_ms: None,
                    })
                    .unwrap();
                store
                    .acquire_lock(&Lock {
                        service: service.into(),
                        environment: env.into(),
                        owner: r.id.clone(),
                        reason: "crash test".into(),
                        acquired_at_ms: clock,
                        expires_at_ms: clock + 60_000,
                    })
                    .unwrap();
                r
            }
        };
        clock += 1;
        let n = rollout.step + 1;
        if n % 7 == 0 {
            store
                .enqueue_command(&NewCommand {
                    rollout_id: rollout.id.clone(),
                    kind: CommandKind::Promote,
                    operator: "crash-test".into(),
                    reason: None,
                    at_ms: clock,
                })
                .unwrap();
        }
        let commands = store.pending_commands(&rollout.id).unwrap().into_iter().map(|c| c.seq).collect();
        rollout.step = n;
        rollout.phase = if n >= STEPS_PER_ROLLOUT { Phase::Completed } else { Phase::Running };
        rollout.status = format!("step {n}");
        rollout.intent = json!({"step": n, "weights": {"stable": 100 - n, "candidate": n}});
        rollout.plugin_state = Some(n.to_be_bytes().to_vec());
        rollout.updated_at_ms = clock;
        // Payloads of varying size so transactions span several pages.
        let padding = "x".repeat(200 + (n as usize * 97) % 3000);
        let step = Step {
            rollout_id: rollout.id.clone(),
            seq: n,
            at_ms: clock,
            actions: json!([{"set-weights": n}]),
            status: format!("step {n}"),
            observed: json!({"n": n, "padding": padding}),
            commands,
        };
        let records: Vec<_> = [DecisionKind::Decide, DecisionKind::Apply, DecisionKind::Evaluate]
            .iter()
            .map(|kind| DecisionRecord {
                seq: 0,
                rollout_id: None,
                step: None,
                service: service.into(),
                environment: env.into(),
                at_ms: clock,
                kind: *kind,
                plugin: Some("canary".into()),
                plugin_digest: Some("sha256:00".into()),
                input: json!({"n": n}),
                output: json!({"n": n, "padding": &padding[..100]}),
                error: None,
                operator: None,
                reason: None,
                plugin_output: None,
            })
            .collect();
        store.commit_step(&rollout, &step, &records).unwrap();
        // Reported only after the commit returned: the parent holds us to it.
        println!("COMMITTED {} {n}", rollout.id);
        if rollout.phase == Phase::Completed {
            store.release_lock(service, env, &rollout.id).unwrap();
        }
    }
}

fn verify(path: &Path, reported: &HashMap<String, u64>) -> u64 {
    let store = Store::open(path).expect("the store reopens after kill -9");
    store.check_integrity().expect("integrity");
    let rollouts = store.history("web", "production", usize::MAX).unwrap();
    assert!(store.active_rollouts().unwrap().len() <= 1);
    let mut total = 0;
    for r in &rollouts {
        let steps = store.steps(&r.id).unwrap();
        assert_eq!(steps.len() as u64, r.step, "rollout {} step count", r.id);
        total += r.step;
        for (i, s) in steps.iter().enumerate() {
            assert_eq!(s.seq, i as u64 + 1, "rollout {} steps are contiguous", r.id);
            assert_eq!(s.observed["n"], json!(s.seq));
        }
        let log = store.decision_log(&LogFilter { rollout_id: Some(r.id.clone()), ..Default::default() }).unwrap();
        assert_eq!(log.len(), steps.len() * RECORDS_PER_STEP, "rollout {} records", r.id);
        for (i, rec) in log.iter().enumerate() {
            let seq = (i / RECORDS_PER_STEP) as u64 + 1;
            assert_eq!((rec.step, &rec.input), (Some(seq), &json!({"n": seq})), "rollout {} record {i}", r.id);
        }
        if let Some(last) = steps.last() {
            // The rollout row was written in the same transaction as its last step.
            assert_eq!(r.status, last.status);
            assert_eq!(r.intent["step"], json!(r.step));
            assert_eq!(r.plugin_state, Some(r.step.to_be_bytes().to_vec()));
            assert_eq!(r.updated_at_ms, last.at_ms);
        }
        assert_eq!(r.phase == Phase::Completed, r.step == STEPS_PER_ROLLOUT, "rollout {}", r.id);
        for s in &steps {
            for &c in &s.commands {
                assert!(store.pending_commands(&r.id).unwrap().iter().all(|p| p.seq != c));
            }
        }
        if let Some(&n) = reported.get(&r.id) {
            assert!(r.step >= n, "rollout {}: step {n} was reported committed, store has {}", r.id, r.step);
        }
    }
    for id in reported.keys() {
        assert!(rollouts.iter().any(|r| &r.id == id), "reported rollout {id} is missing");
    }
    if let Some(done) = rollouts.iter().find(|r| r.phase == Phase::Completed) {
        assert_eq!(store.current("web", "production").unwrap().map(|r| r.id), Some(done.candidate.clone()));
    }
    total
}

struct Rng(u64);
impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

#[test]
fn survives_kill_9_at_random_moments() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let seed = std::env::var("HOIST_STORE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1);
    let rounds: u32 = std::env::var("HOIST_STORE_CRASH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(12);
    eprintln!("crash test: seed {seed} (HOIST_STORE_CRASH_SEED to replay), {rounds} rounds");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let exe = std::env::current_exe().unwrap();
    let mut reported: HashMap<String, u64> = HashMap::new();
    let mut last_total = 0;
    for round in 0..rounds {
        let mut child = Process::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("COMMITTED ") {
                    let _ = tx.send(rest.to_owned());
                }
            }
        });
        let first = rx.recv_timeout(Duration::from_secs(60)).expect("the child commits a step");
        let delay = rng.next(250);
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        let mut commits = 0;
        for line in std::iter::once(first).chain(rx.try_iter()) {
            let (id, n) = line.rsplit_once(' ').unwrap();
            let n: u64 = n.parse().unwrap();
            let e = reported.entry(id.to_owned()).or_default();
            *e = (*e).max(n);
            commits += 1;
        }
        let total = verify(&path, &reported);
        eprintln!("round {round}: killed after {delay} ms, {commits} commits reported, {total} steps stored");
        assert!(total >= last_total, "steps never disappear");
        last_total = total;
    }
    assert!(reported.len() > 1, "the child went through more than one rollout");
}
