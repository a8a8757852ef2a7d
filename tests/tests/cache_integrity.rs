//! Compiled code in the cache is native code run as is: an entry changed on
//! disk — machine code zeroed under the same name, or a valid compiled
//! component from elsewhere — is discarded and recompiled, never executed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use hoist::runtime::bindings::strategy::exports::hoist::plugin::strategy::Action;
use hoist::runtime::{CacheState, Plugin, PluginKind, Runtime};
use hoist_tests::{load, rolling_context, runtime, spec};

fn rolling(rt: &Runtime) -> Plugin {
    load(rt, spec("rolling", "rolling", PluginKind::Strategy, &[])).expect("rolling loads")
}

fn entry(rt: &Runtime, plugin: &Plugin) -> PathBuf {
    rt.cache().path_for(&plugin.digest).expect("caching is on")
}

fn assert_decides(plugin: &Plugin) {
    let decision = plugin.decide(&rolling_context(1_000)).expect("answers").value.expect("decides");
    assert!(decision.actions.iter().any(|a| matches!(a, Action::Scale(s) if s.revision == "r8")), "{decision:?}");
}

#[test]
fn zeroed_machine_code_is_recompiled_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let first = rolling(&runtime(&dir));
    assert_eq!(first.cache, CacheState::Compiled);
    let rt = runtime(&dir);
    let path = entry(&rt, &first);
    assert_eq!(rolling(&rt).cache, CacheState::Hit, "an intact entry is used");

    // Zero the middle half of the file, where the code section lies; the
    // name, size and ELF header stay as they were.
    let mut bytes = std::fs::read(&path).unwrap();
    let (from, to) = (bytes.len() / 4, bytes.len() * 3 / 4);
    bytes[from..to].fill(0);
    std::fs::write(&path, &bytes).unwrap();

    let rt = runtime(&dir);
    let reloaded = rolling(&rt);
    assert_eq!(reloaded.cache, CacheState::Compiled, "the tampered entry was not loaded");
    assert_decides(&reloaded);
    assert_ne!(std::fs::read(&path).unwrap(), bytes, "the entry was rewritten");
    assert_eq!(rolling(&runtime(&dir)).cache, CacheState::Hit, "the rewritten entry verifies");
}

#[test]
fn a_foreign_compiled_component_under_the_right_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let good = rolling(&rt);
    let path = entry(&rt, &good);
    // What wasmtime itself would write for another component (no seal): a
    // cache directory writable by someone else must not run their code.
    let other = load(&rt, spec("panicky", "fixture_panic", PluginKind::Strategy, &[])).unwrap();
    let foreign = std::fs::read(entry(&rt, &other)).unwrap();
    std::fs::write(&path, &foreign[40..]).unwrap();
    let reloaded = rolling(&runtime(&dir));
    assert_eq!(reloaded.cache, CacheState::Compiled);
    assert_decides(&reloaded);
    // Nor does another entry this installation sealed, renamed: the seal
    // covers the digest.
    std::fs::copy(entry(&rt, &other), &path).unwrap();
    let reloaded = rolling(&runtime(&dir));
    assert_eq!(reloaded.cache, CacheState::Compiled, "a swapped entry is recompiled");
    assert_decides(&reloaded);
    let meta = std::fs::metadata(&path).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "cache entries are private");
}

#[test]
fn the_installation_key_is_private_and_a_bad_one_turns_caching_off() {
    let dir = tempfile::tempdir().unwrap();
    let _ = rolling(&runtime(&dir));
    let key = dir.path().join("key");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    std::fs::write(&key, b"short").unwrap();
    let rt = runtime(&dir);
    assert!(rt.cache().path_for("x").is_none(), "a cache without a usable key is off");
    let plugin = rolling(&rt);
    assert_eq!(plugin.cache, CacheState::Uncached);
    assert_decides(&plugin);
}
