//! The token a durable process table gives every child in its environment
//! (`HOIST_PROCESS_TOKEN`), so a child spawned just before the host was killed —
//! after `fork` but before the table was saved — is found in `/proc` and
//! adopted by the next host instead of being duplicated or orphaned.

use std::io::Read as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The variable each child carries.
pub const VAR: &str = "HOIST_PROCESS_TOKEN";

/// What a child's token says about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// Which table spawned it: a digest of the state directory.
    pub table: String,
    pub labels: Vec<(String, String)>,
    pub port: Option<u16>,
    pub started_at_ms: u64,
}

/// The identity of the table kept in `state`.
pub fn table_id(state: &std::path::Path) -> String {
    let path = std::fs::canonicalize(state).unwrap_or_else(|_| state.to_path_buf());
    hex::encode(&Sha256::digest(path.as_os_str().as_encoded_bytes())[..12])
}

/// Group leaders (as spawned: each child leads its own process group)
/// carrying a token of `table`, with their pids.
pub fn scan(table: &str) -> Vec<(u32, Token)> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if pgrp(pid) != Some(pid) {
            continue;
        }
        if let Some(token) = token_of(pid).filter(|t| t.table == table) {
            found.push((pid, token));
        }
    }
    found
}

fn token_of(pid: u32) -> Option<Token> {
    let mut environ = Vec::new();
    // `/proc` files are generated on read; a cap keeps a huge environment
    // from costing more than this scan is worth.
    std::fs::File::open(format!("/proc/{pid}/environ")).ok()?.take(1 << 20).read_to_end(&mut environ).ok()?;
    let prefix = format!("{VAR}=");
    let value = environ.split(|b| *b == 0).find_map(|kv| kv.strip_prefix(prefix.as_bytes()))?;
    serde_json::from_slice(value).ok()
}

fn pgrp(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')').next()?.split_whitespace().nth(2)?.parse().ok()
}

/// Fault injection for the crash tests: with `HOIST_FAULT_ABORT_AFTER_SPAWN=N`
/// the host aborts right after its Nth spawn, before saving the table — the
/// exact window the token covers.
pub fn crash_point() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SPAWNS: AtomicU64 = AtomicU64::new(0);
    let Some(at) = std::env::var("HOIST_FAULT_ABORT_AFTER_SPAWN").ok().and_then(|v| v.parse::<u64>().ok()) else {
        return;
    };
    if SPAWNS.fetch_add(1, Ordering::SeqCst) + 1 == at {
        eprintln!("hoist: fault injection: aborting after spawn {at}, before the process table is saved");
        std::process::abort();
    }
}
