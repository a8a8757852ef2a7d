//! Round trips and rules of the store's API, on in-memory and file stores.

// Helpers outside `#[test]` fns are test code too (clippy.toml only covers `#[test]`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hoist_store::*;
use serde_json::json;

fn rev(store: &Store, service: &str, version: &str, at: u64) -> Revision {
    store
        .create_revision(&NewRevision {
            service: service.into(),
            environment: "production".into(),
            version: version.into(),
            spec: json!({"image": format!("web:{version}"), "port": 8080, "replicas": 3, "env": {"A": "1"}}),
            created_at_ms: at,
            created_by: "alice".into(),
        })
        .unwrap()
}

fn new_rollout(stable: Option<&str>, candidate: &str, id: Option<&str>) -> NewRollout {
    NewRollout {
        id: id.map(Into::into),
        service: "web".into(),
        environment: "production".into(),
        stable: stable.map(Into::into),
        candidate: candidate.into(),
        strategy: "canary".into(),
        strategy_digest: "sha256:abc".into(),
        requested_by: "alice".into(),
        started_at_ms: 1_000,
        deadline_ms: Some(9_000),
    }
}

fn record(kind: &str, at: u64) -> DecisionRecord {
    DecisionRecord {
        seq: 0,
        rollout_id: None,
        step: None,
        service: "web".into(),
        environment: "production".into(),
        at_ms: at,
        kind: DecisionKind::parse(kind).unwrap(),
        plugin: Some("canary".into()),
        plugin_digest: Some("sha256:abc".into()),
        input: json!({"observed": {"r2": {"ready": 1}}}),
        output: json!({"actions": [{"scale": ["r2", 1]}]}),
        error: None,
        operator: None,
        reason: Some("because".into()),
        plugin_output: None,
    }
}

fn step_of(r: &Rollout, at: u64) -> Step {
    Step {
        rollout_id: r.id.clone(),
        seq: r.step,
        at_ms: at,
        actions: json!([{"weights": {"r1": 90, "r2": 10}}]),
        status: format!("step {}", r.step),
        observed: json!({"r2": {"replicas": 1, "ready": 1}, "verdict": "pass"}),
        commands: vec![],
    }
}

#[test]
fn revision_round_trip_ids_and_current() {
    let s = Store::in_memory().unwrap();
    let r1 = rev(&s, "web", "v1", 10);
    let r2 = rev(&s, "web", "v2", 20);
    let other = rev(&s, "api", "v1", 30);
    assert_eq!((r1.id.as_str(), r2.id.as_str(), other.id.as_str()), ("r1", "r2", "r1"));
    assert_eq!(s.revision("web", "production", "r2").unwrap(), Some(r2.clone()));
    assert_eq!(s.revision("web", "staging", "r2").unwrap(), None);
    assert_eq!(s.revisions("web", "production").unwrap(), vec![r2.clone(), r1.clone()]);
    assert_eq!(s.current("web", "production").unwrap(), None);
    s.set_current("web", "production", "r1").unwrap();
    assert_eq!(s.current("web", "production").unwrap(), Some(r1));
    let err = s.set_current("web", "production", "r9").unwrap_err();
    assert!(matches!(err, StoreError::NotFound { what: "revision", .. }), "{err}");
    assert!(err.to_string().contains("r9"), "{err}");
}

#[test]
fn pruning_keeps_newest_current_and_active_and_never_reuses_ids() {
    let s = Store::in_memory().unwrap();
    for i in 1..=6 {
        rev(&s, "web", &format!("v{i}"), i);
    }
    s.set_current("web", "production", "r1").unwrap();
    // An active rollout r2 -> r3 protects both.
    let active = s.create_rollout(&new_rollout(Some("r2"), "r3", None)).unwrap();
    // An ended rollout protects nothing.
    let mut ended = s.create_rollout(&new_rollout(Some("r2"), "r4", None)).unwrap();
    ended.phase = Phase::Aborted;
    s.save_rollout(&ended).unwrap();

    let gone = s.prune_revisions("web", "production", 2).unwrap();
    assert_eq!(gone, vec!["r4".to_string()]);
    let kept: Vec<_> = s.revisions("web", "production").unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(kept, ["r6", "r5", "r3", "r2", "r1"]);

    // Once the rollout ends, its revisions may go; the current one never.
    let mut active = active;
    active.phase = Phase::RolledBack;
    s.save_rollout(&active).unwrap();
    assert_eq!(s.prune_revisions("web", "production", 0).unwrap(), ["r2", "r3", "r5", "r6"]);
    let kept: Vec<_> = s.revisions("web", "production").unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(kept, ["r1"]);

    // Ids are never reused, even after deleting the newest ones.
    assert_eq!(rev(&s, "web", "v7", 7).id, "r7");
}

#[test]
fn revision_ids_survive_reopen_and_pruning_on_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        let s = Store::open(&path).unwrap();
        for i in 1..=3 {
            rev(&s, "web", "v", i);
        }
        assert_eq!(s.prune_revisions("web", "production", 0).unwrap(), ["r1", "r2", "r3"]);
    }
    let s = Store::open(&path).unwrap();
    assert_eq!(rev(&s, "web", "v", 4).id, "r4");
}

#[test]
fn rollout_round_trip_history_and_active() {
    let s = Store::in_memory().unwrap();
    rev(&s, "web", "v1", 1);
    rev(&s, "web", "v2", 2);
    let a = s.create_rollout(&new_rollout(Some("r1"), "r2", None)).unwrap();
    assert_eq!(a.id, "web.production.1");
    assert_eq!((a.phase, a.step, a.intent.clone()), (Phase::Admission, 0, serde_json::Value::Null));
    assert_eq!(s.rollout(&a.id).unwrap(), Some(a.clone()));

    let mut b = s.create_rollout(&new_rollout(Some("r1"), "r2", Some("web.production.2"))).unwrap();
    // A caller-chosen id that collides with the generator is skipped by it.
    let c = s.create_rollout(&new_rollout(None, "r2", None)).unwrap();
    assert_eq!(c.id, "web.production.3");
    let dup = s.create_rollout(&new_rollout(None, "r2", Some("web.production.1"))).unwrap_err();
    assert!(matches!(dup, StoreError::Conflict { .. }), "{dup}");
    let missing = s.create_rollout(&new_rollout(None, "r9", None)).unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { .. }), "{missing}");

    b.phase = Phase::Paused;
    b.plugin_state = Some(vec![0, 1, 2, 255]);
    b.status = "paused by bob".into();
    b.wait = json!({"approval": true});
    b.intent = json!({"replicas": {"r1": 3, "r2": 1}, "weights": {"r1": 90, "r2": 10}});
    b.reason = Some("looks odd".into());
    b.updated_at_ms = 5_000;
    b.deadline_ms = None;
    s.save_rollout(&b).unwrap();
    assert_eq!(s.rollout(&b.id).unwrap(), Some(b.clone()));

    let mut done = c.clone();
    done.phase = Phase::Completed;
    s.save_rollout(&done).unwrap();
    assert_eq!(s.current("web", "production").unwrap().unwrap().id, "r2", "completion makes the candidate current");
    // A terminal rollout is never written again.
    assert!(matches!(s.save_rollout(&done).unwrap_err(), StoreError::Conflict { .. }));

    let active: Vec<_> = s.active_rollouts().unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(active, ["web.production.1", "web.production.2"]);
    let history: Vec<_> = s.history("web", "production", 2).unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(history, ["web.production.3", "web.production.2"]);
    assert!(s.history("api", "production", 10).unwrap().is_empty());
}

#[test]
fn phases_round_trip_and_terminality() {
    for p in Phase::ALL {
        assert_eq!(Phase::parse(p.as_str()), Some(p));
        assert_eq!(serde_json::to_value(p).unwrap(), json!(p.as_str()));
    }
    let terminal: Vec<_> = Phase::ALL.into_iter().filter(|p| p.is_terminal()).collect();
    assert_eq!(terminal, [Phase::Completed, Phase::RolledBack, Phase::Aborted, Phase::Failed]);
}

#[test]
fn commit_step_is_atomic_and_fenced() {
    let s = Store::in_memory().unwrap();
    rev(&s, "web", "v1", 1);
    rev(&s, "web", "v2", 2);
    let mut r = s.create_rollout(&new_rollout(Some("r1"), "r2", None)).unwrap();
    r.phase = Phase::Running;
    r.step = 1;
    r.intent = json!({"replicas": {"r2": 1}});
    let step1 = step_of(&r, 100);
    let seqs = s.commit_step(&r, &step1, &[record("decide", 100), record("apply", 101)]).unwrap();
    assert_eq!(seqs.len(), 2);
    assert!(seqs[0] < seqs[1]);
    assert_eq!(s.rollout(&r.id).unwrap(), Some(r.clone()));
    assert_eq!(s.steps(&r.id).unwrap(), vec![step1.clone()]);

    let log = s.decision_log(&LogFilter { rollout_id: Some(r.id.clone()), ..Default::default() }).unwrap();
    assert_eq!(log.len(), 2);
    let mut expect = record("decide", 100);
    expect.seq = seqs[0];
    expect.rollout_id = Some(r.id.clone());
    expect.step = Some(1);
    assert_eq!(log[0], expect);

    // Replaying the same step (stale copy) is refused and writes nothing.
    let err = s.commit_step(&r, &step1, &[record("decide", 100)]).unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    assert!(err.to_string().contains(&r.id), "{err}");
    // A step whose seq does not match the rollout is refused.
    let mut bad = r.clone();
    bad.step = 2;
    let mut wrong = step_of(&bad, 200);
    wrong.seq = 3;
    assert!(matches!(s.commit_step(&bad, &wrong, &[]).unwrap_err(), StoreError::Invalid { .. }));
    // A failure inside the transaction (a record for another rollout) rolls it all back.
    let mut foreign = record("decide", 200);
    foreign.rollout_id = Some("api.production.1".into());
    let step2 = step_of(&bad, 200);
    assert!(s.commit_step(&bad, &step2, &[record("decide", 200), foreign]).is_err());
    assert_eq!(s.rollout(&r.id).unwrap().unwrap().step, 1);
    assert_eq!(s.steps(&r.id).unwrap().len(), 1);
    assert_eq!(s.decision_log(&LogFilter::default()).unwrap().len(), 2);
    // And the proper step 2 goes in.
    s.commit_step(&bad, &step2, &[record("decide", 200)]).unwrap();
    assert_eq!(s.steps(&r.id).unwrap().len(), 2);
}

#[test]
fn decision_log_filters() {
    let s = Store::in_memory().unwrap();
    let mut admit = record("admit", 1);
    admit.plugin = None;
    admit.plugin_digest = None;
    admit.operator = Some("alice".into());
    admit.error = Some("denied".into());
    let a = s.append_record(&admit).unwrap();
    let b = s.append_record(&record("decide", 2)).unwrap();
    let mut other = record("decide", 3);
    other.service = "api".into();
    let c = s.append_record(&other).unwrap();
    assert!(a < b && b < c);

    let all = s.decision_log(&LogFilter::default()).unwrap();
    assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), [a, b, c]);
    assert_eq!(all[0].error.as_deref(), Some("denied"));
    assert_eq!(all[0].operator.as_deref(), Some("alice"));
    let f = |filter: LogFilter| s.decision_log(&filter).unwrap().into_iter().map(|r| r.seq).collect::<Vec<_>>();
    assert_eq!(f(LogFilter { kind: Some(DecisionKind::Decide), ..Default::default() }), [b, c]);
    assert_eq!(
        f(LogFilter { service: Some("web".into()), environment: Some("production".into()), ..Default::default() }),
        [a, b]
    );
    assert_eq!(f(LogFilter { after_seq: Some(a), limit: Some(1), ..Default::default() }), [b]);
    assert_eq!(f(LogFilter { rollout_id: Some("nope".into()), ..Default::default() }), Vec::<u64>::new());
}

#[test]
fn the_latest_record_of_a_kind_per_service() {
    let s = Store::in_memory().unwrap();
    let at = |service: &str, environment: &str, kind: &str, t: u64| {
        let mut r = record(kind, t);
        r.service = service.into();
        r.environment = environment.into();
        s.append_record(&r).unwrap()
    };
    at("web", "production", "heal", 1);
    let web = at("web", "production", "heal", 2);
    at("web", "production", "scale", 3);
    let api = at("api", "production", "heal", 4);
    let staged = at("web", "staging", "heal", 5);
    let latest: Vec<u64> = s.latest_records(DecisionKind::Heal).unwrap().into_iter().map(|r| r.seq).collect();
    assert_eq!(latest, [web, api, staged]);
    assert!(s.latest_records(DecisionKind::Stack).unwrap().is_empty());
}

#[test]
fn commands_are_consumed_once() {
    let s = Store::in_memory().unwrap();
    rev(&s, "web", "v1", 1);
    rev(&s, "web", "v2", 2);
    let r = s.create_rollout(&new_rollout(Some("r1"), "r2", None)).unwrap();
    let kinds = [
        CommandKind::Promote,
        CommandKind::PromoteFull,
        CommandKind::SkipStep,
        CommandKind::Abort,
        CommandKind::Pause,
        CommandKind::Resume,
        CommandKind::Approve,
        CommandKind::RollbackTo("r1".into()),
    ];
    for (i, kind) in kinds.iter().enumerate() {
        assert_eq!(CommandKind::parse(&kind.to_string()), Some(kind.clone()));
        let c = s
            .enqueue_command(&NewCommand {
                rollout_id: r.id.clone(),
                kind: kind.clone(),
                operator: "bob".into(),
                reason: Some(format!("reason {i}")),
                at_ms: 10 + i as u64,
            })
            .unwrap();
        assert_eq!((c.kind, c.taken_at_ms), (kind.clone(), None));
    }
    assert_eq!(serde_json::to_value(&kinds[7]).unwrap(), json!("rollback-to:r1"));
    assert_eq!(CommandKind::parse("rollback-to:"), None);
    assert_eq!(CommandKind::parse("promote:x"), None);

    assert_eq!(s.pending_commands(&r.id).unwrap().len(), 8);
    let taken = s.take_commands(&r.id, 99).unwrap();
    assert_eq!(taken.iter().map(|c| c.kind.clone()).collect::<Vec<_>>(), kinds);
    assert!(taken.iter().all(|c| c.taken_at_ms == Some(99)));
    assert!(s.take_commands(&r.id, 100).unwrap().is_empty());
    assert!(s.pending_commands(&r.id).unwrap().is_empty());

    let missing = NewCommand {
        rollout_id: "nope".into(),
        kind: CommandKind::Abort,
        operator: "bob".into(),
        reason: None,
        at_ms: 1,
    };
    assert!(matches!(s.enqueue_command(&missing).unwrap_err(), StoreError::NotFound { .. }));
}

#[test]
fn a_step_consumes_its_commands_in_the_same_transaction() {
    let s = Store::in_memory().unwrap();
    rev(&s, "web", "v1", 1);
    let mut r = s.create_rollout(&new_rollout(None, "r1", None)).unwrap();
    let queue = |kind| {
        s.enqueue_command(&NewCommand {
            rollout_id: r.id.clone(),
            kind,
            operator: "bob".into(),
            reason: None,
            at_ms: 5,
        })
        .unwrap()
    };
    let promote = queue(CommandKind::Promote);
    let pause = queue(CommandKind::Pause);
    r.step = 1;
    let mut step = step_of(&r, 50);
    step.commands = vec![promote.seq];
    s.commit_step(&r, &step, &[]).unwrap();
    assert_eq!(s.steps(&r.id).unwrap()[0].commands, [promote.seq]);
    let pending = s.pending_commands(&r.id).unwrap();
    assert_eq!(pending.iter().map(|c| c.seq).collect::<Vec<_>>(), [pause.seq]);

    // Consuming an already-taken command fails the whole step.
    r.step = 2;
    let mut again = step_of(&r, 60);
    again.commands = vec![pause.seq, promote.seq];
    assert!(matches!(s.commit_step(&r, &again, &[]).unwrap_err(), StoreError::Conflict { .. }));
    assert_eq!(s.pending_commands(&r.id).unwrap().len(), 1, "pause is still pending");
    assert_eq!(s.steps(&r.id).unwrap().len(), 1);

    // Commands of an ended rollout cannot be queued.
    r.step = 1;
    r.phase = Phase::Aborted;
    s.save_rollout(&r).unwrap();
    let err = s
        .enqueue_command(&NewCommand {
            rollout_id: r.id.clone(),
            kind: CommandKind::Resume,
            operator: "x".into(),
            reason: None,
            at_ms: 7,
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
}

#[test]
fn lock_semantics() {
    let s = Store::in_memory().unwrap();
    let want = |owner: &str, now: u64, ttl: u64| Lock {
        service: "web".into(),
        environment: "production".into(),
        owner: owner.into(),
        reason: format!("rollout {owner}"),
        acquired_at_ms: now,
        expires_at_ms: now + ttl,
    };
    assert_eq!(s.lock("web", "production").unwrap(), None);
    let LockOutcome::Acquired(a) = s.acquire_lock(&want("a", 100, 50)).unwrap() else { panic!("free lock") };
    assert_eq!(s.lock("web", "production").unwrap(), Some(a.clone()));

    // Another owner is refused while it is live, and told who holds it.
    assert_eq!(s.acquire_lock(&want("b", 120, 50)).unwrap(), LockOutcome::Held(a.clone()));
    // The holder renews: expiry moves, acquired_at stays.
    let LockOutcome::Renewed(renewed) = s.acquire_lock(&want("a", 140, 50)).unwrap() else { panic!("renew") };
    assert_eq!((renewed.acquired_at_ms, renewed.expires_at_ms), (100, 190));
    assert!(matches!(s.acquire_lock(&want("b", 189, 50)).unwrap(), LockOutcome::Held(_)));
    // Expired: the other owner takes it.
    let taken = s.acquire_lock(&want("b", 190, 50)).unwrap();
    assert!(taken.is_held_by_caller());
    assert!(matches!(taken, LockOutcome::Acquired(ref l) if l.owner == "b" && l.acquired_at_ms == 190));

    // Only the holder releases.
    assert!(!s.release_lock("web", "production", "a").unwrap());
    assert!(s.release_lock("web", "production", "b").unwrap());
    assert_eq!(s.lock("web", "production").unwrap(), None);
    assert!(s.acquire_lock(&want("a", 300, 10)).unwrap().is_held_by_caller());
    // Locks are per service+environment.
    let mut api = want("c", 300, 10);
    api.service = "api".into();
    assert!(s.acquire_lock(&api).unwrap().is_held_by_caller());
}

#[test]
fn file_store_uses_wal_and_reports_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let s = Store::open(&path).unwrap();
    assert_eq!(s.path(), path.display().to_string());
    rev(&s, "web", "v1", 1);
    assert!(dir.path().join("state.db-wal").exists(), "WAL mode");

    let bad = dir.path().join("no/such/dir/state.db");
    let err = Store::open(&bad).unwrap_err().to_string();
    assert!(err.starts_with(&format!("cannot open state store {}", bad.display())), "{err}");
    assert!(err.contains("check permissions or pass --state"), "{err}");
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    drop(Store::open(&path).unwrap());
    // Closing the last connection checkpoints the WAL into the file, so the
    // header is current: set `user_version` (bytes 60..64, big-endian) as a
    // newer Hoist would.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[60..64].copy_from_slice(&((SCHEMA_VERSION + 1) as u32).to_be_bytes());
    std::fs::write(&path, bytes).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::TooNew { found, .. } if found == SCHEMA_VERSION + 1), "{err}");
    assert!(err.to_string().contains("upgrade hoist"), "{err}");
}

#[test]
fn store_is_shared_across_threads() {
    let s = std::sync::Arc::new(Store::in_memory().unwrap());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let mut rec = record("decide", i);
                    rec.service = format!("t{t}");
                    s.append_record(&rec).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(s.decision_log(&LogFilter::default()).unwrap().len(), 100);
}
