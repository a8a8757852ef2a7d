//! End to end on real processes: `hoist demo` deploys Hoist's demo service
//! behind Hoist's router under generated load; the bad canary must be rolled
//! back by the health policy, the good one promoted, and no client request
//! may fail (500s answered by the bad build itself are the canary's exposure,
//! counted apart).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

#[test]
fn the_demo_rolls_back_the_bad_canary_and_promotes_the_good_one_without_failed_requests() {
    let cache = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args(["demo", "--cache-dir"])
        .arg(cache.path())
        .output()
        .expect("hoist demo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let line = |v: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("ok  {v}:")))
            .unwrap_or_else(|| panic!("no summary for {v}:\n{stdout}"))
            .to_string()
    };
    assert!(line("v2").contains("rolled-back"), "{stdout}");
    assert!(line("v3").contains("completed"), "{stdout}");
    for v in ["v2", "v3"] {
        assert!(line(v).ends_with(" 0 failed"), "client requests failed during {v}:\n{stdout}");
    }
    assert!(stdout.contains("error rate"), "the rollback reason names the metric:\n{stdout}");
    // The canary's exposure: some 500s from v2, none from v3.
    assert!(!line("v2").contains(" 0 500s"), "{stdout}");
    assert!(line("v3").contains(" 0 500s"), "{stdout}");
}
