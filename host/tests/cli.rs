//! The `hoist` binary as a user runs it: registry check, plugins list and
//! inspect, their exit codes and their messages.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn hoist(cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args(args)
        .arg("--cache-dir")
        .arg(cache)
        .env_remove("HOIST_REGISTRY")
        .output()
        .expect("hoist runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn example() -> String {
    root().join("examples/registry.toml").display().to_string()
}

fn fixture(name: &str) -> PathBuf {
    root().join("plugins/target/wasm32-wasip2/release").join(format!("{name}.wasm"))
}

fn sha256(path: &Path) -> String {
    hoist_registry::Digest::of_file(path).expect("fixture readable").to_hex()
}

#[test]
fn the_example_registry_checks_clean() {
    let cache = tempfile::tempdir().unwrap();
    let out = hoist(cache.path(), &["registry", "check", &example()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("ok (3 plugins, 3 environments)"), "{}", text(&out.stdout));
}

#[test]
fn an_unknown_key_is_reported_with_its_line_and_column() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("registry.toml");
    std::fs::write(
        &file,
        "version = 1\n\n[plugins.rolling]\nkind = \"strategy\"\nsource = \"builtin:rolling\"\n  max_surge = 2\n",
    )
    .unwrap();
    let out = hoist(cache.path(), &["registry", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("registry.toml:6:3"), "{err}");
    assert!(err.contains("max_surge"), "{err}");
}

#[test]
fn plugins_list_reports_the_cache_and_json_output() {
    let cache = tempfile::tempdir().unwrap();
    let first = hoist(cache.path(), &["plugins", "list", "--registry", &example(), "--output", "json"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let list: serde_json::Value = serde_json::from_slice(&first.stdout).expect("json");
    let list = list.as_array().expect("array");
    assert_eq!(list.len(), 3);
    assert!(list.iter().all(|p| p["cache"] == "compiled"), "{list:?}");

    let second = hoist(cache.path(), &["plugins", "list", "--registry", &example()]);
    assert!(second.status.success());
    let table = text(&second.stdout);
    assert!(table.starts_with("NAME"), "{table}");
    assert_eq!(table.matches("cached").count(), 3, "{table}");
}

#[test]
fn plugins_list_for_an_environment_shows_its_overrides() {
    let cache = tempfile::tempdir().unwrap();
    let out = hoist(
        cache.path(),
        &["plugins", "inspect", "rolling", "--env", "production", "--registry", &example(), "--output", "json"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["environment"], "production");
    assert_eq!(v["config"]["max-surge"], 1);
    assert_eq!(v["world"], "hoist:plugin/strategy-plugin");
    assert_eq!(v["contract_version"], "0.1.0");
    assert_eq!(v["imported_capabilities"], serde_json::json!(["log"]));
}

#[test]
fn inspect_shows_world_capabilities_digest_and_cache() {
    let cache = tempfile::tempdir().unwrap();
    let out = hoist(cache.path(), &["plugins", "inspect", "local-process", "--registry", &example()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    for needle in ["platform-plugin@0.1.0", "imports clock, process", "sha256", "compiled now, stored at"] {
        assert!(s.contains(needle), "missing {needle}:\n{s}");
    }
}

#[test]
fn inspecting_an_unknown_plugin_names_the_declared_ones() {
    let cache = tempfile::tempdir().unwrap();
    let out = hoist(cache.path(), &["plugins", "inspect", "canery", "--registry", &example()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("no plugin `canery`") && err.contains("local-process, rolling, threshold"), "{err}");
}

#[test]
fn a_missing_registry_says_which_file() {
    let cache = tempfile::tempdir().unwrap();
    let out = hoist(cache.path(), &["plugins", "list", "--registry", "/nonexistent/registry.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("/nonexistent/registry.toml"), "{}", text(&out.stderr));
}

/// A registry with a third-party platform plugin that imports `docker`.
fn docker_registry(dir: &Path, sha: &str) -> PathBuf {
    let file = dir.join("registry.toml");
    let plugin = fixture("fixture_docker");
    std::fs::write(
        &file,
        format!(
            r#"version = 1

[plugins.rolling]
kind = "strategy"
source = "builtin:rolling"

[plugins.sneaky]
kind = "platform"
source = "{}"
sha256 = "{sha}"
capabilities = ["process"]

[environments.staging]
platform = "sneaky"
strategy = "rolling"
"#,
            plugin.display()
        ),
    )
    .unwrap();
    file
}

#[test]
fn registry_check_refuses_an_ungranted_import_naming_the_environment() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = docker_registry(dir.path(), &sha256(&fixture("fixture_docker")));
    let out = hoist(cache.path(), &["registry", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("`sneaky`") && err.contains("`docker`") && err.contains("`staging`"), "{err}");
    assert!(err.contains("add \"docker\""), "{err}");
}

#[test]
fn registry_check_refuses_a_digest_mismatch() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = docker_registry(dir.path(), &"ab".repeat(32));
    let out = hoist(cache.path(), &["registry", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("sha256") && err.contains(&"ab".repeat(32)), "{err}");
}

#[test]
fn stack_import_reads_compose_with_nothing_left_out() {
    let cache = tempfile::tempdir().unwrap();
    let file = root().join("examples/compose/docker-compose.yml");
    let out = hoist(cache.path(), &["stack", "import", file.to_str().unwrap(), "--output", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let order: Vec<&str> = v["start_order"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    let pos = |s: &str| order.iter().position(|x| *x == s).unwrap();
    assert!(pos("postgres") < pos("migrate") && pos("migrate") < pos("api") && pos("api") < pos("monitoring"));
    // Volumes, `deploy.replicas` and `restart: unless-stopped` are all
    // imported: nothing of this file is left out.
    assert_eq!(v["unsupported"], serde_json::json!([]), "{v}");
    assert_eq!(v["stack"]["services"]["worker"]["replicas"], 3, "{v}");
    assert_eq!(v["stack"]["services"]["postgres"]["volumes"][0], "pgdata:/var/lib/postgresql/data");
}

#[test]
fn registry_check_reports_misspelled_plugin_config_keys_at_their_line() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("registry.toml");
    std::fs::write(
        &file,
        r#"version = 1

[plugins.deploy]
kind = "platform"
source = "builtin:local-process"
capabilities = ["process"]
config = { stop-grace-mss = 2000 }

[plugins.rolling]
kind = "strategy"
source = "builtin:rolling"

[plugins.canary]
kind = "strategy"
source = "builtin:canary"
[[plugins.canary.config.steps]]
set-weight = 20
[[plugins.canary.config.steps]]
set-wieght = 50

[environments.dev]
platform = "deploy"
strategy = "rolling"

[environments.dev.plugins.rolling]
config = { max-unavailabel = 1 }
"#,
    )
    .unwrap();
    let out = hoist(cache.path(), &["registry", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("registry.toml:7:12: plugin `deploy` in environment `dev` refuses its config: `stop-grace-mss`: unknown field `stop-grace-mss`, expected `stop-grace-ms`"),
        "{err}"
    );
    assert!(err.contains("registry.toml:26:12: plugin `rolling` in environment `dev` refuses its config: `max-unavailabel`: unknown field"), "{err}");
    // A plugin no environment uses is checked against its own config.
    assert!(err.contains("registry.toml:19:1: plugin `canary` refuses its config: `steps.1.set-wieght`"), "{err}");
    assert!(err.contains("3 problem(s)"), "{err}");
}

#[test]
fn registry_check_refuses_a_component_built_against_another_record_shape() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("registry.toml");
    let wasm = fixture("fixture_shape_mismatch");
    std::fs::write(
        &file,
        format!(
            "version = 1\n\n[plugins.odd]\nkind = \"strategy\"\nsource = {:?}\nsha256 = \"{}\"\n",
            wasm.display().to_string(),
            sha256(&wasm)
        ),
    )
    .unwrap();
    let out = hoist(cache.path(), &["registry", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("`odd`") && err.contains("type mismatch") && err.contains("rebuild it against this hoist's WIT"),
        "{err}"
    );
}

#[test]
fn inspecting_a_refused_plugin_shows_what_it_really_exports() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("registry.toml");
    // A health policy declared as a strategy: the wrong world.
    std::fs::write(&file, "version = 1\n\n[plugins.judge]\nkind = \"strategy\"\nsource = \"builtin:threshold\"\n")
        .unwrap();
    let out =
        hoist(cache.path(), &["plugins", "inspect", "judge", "--registry", file.to_str().unwrap(), "--output", "json"]);
    let s = text(&out.stdout);
    let view: serde_json::Value = serde_json::from_str(&s).unwrap_or_else(|e| panic!("{e}: {s}{}", text(&out.stderr)));
    let view = if view.is_array() { view[0].clone() } else { view };
    let error = view["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("hoist:plugin/strategy") && error.contains("hoist:plugin/health@0.1.0"),
        "the refusal names what it exports: {error}"
    );
    let exports: Vec<&str> = view["exports"].as_array().unwrap().iter().filter_map(|e| e.as_str()).collect();
    assert!(exports.contains(&"hoist:plugin/health@0.1.0"), "{exports:?}");
    assert!(exports.contains(&"hoist:plugin/config@0.1.0"), "builtins check their config: {exports:?}");
    let imports: Vec<&str> = view["imports"].as_array().unwrap().iter().filter_map(|e| e.as_str()).collect();
    assert!(!imports.is_empty(), "its imports are shown too");
}
