//! Golden tests for the errors users see: every `tests/golden/*.toml` must
//! fail to load with exactly the text in the `.err` file beside it.
//! `BLESS=1 cargo test -p hoist-registry --test golden` rewrites the `.err` files.

use std::fs;
use std::path::{Path, PathBuf};

use hoist_registry::Registry;

#[test]
fn golden_errors() {
    let bless = std::env::var_os("BLESS").is_some_and(|v| v == "1");
    // Relative to the crate, so the paths in messages are stable.
    let dir = Path::new("tests/golden");
    let mut cases: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no golden cases in {}", dir.display());

    let mut failures = Vec::new();
    for case in &cases {
        let actual = match Registry::load(case) {
            Ok(_) => {
                failures.push(format!("{}: loaded without errors", case.display()));
                continue;
            }
            Err(err) => format!("{err}\n"),
        };
        let expected_path = case.with_extension("err");
        if bless {
            fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "{}: output differs (run with BLESS=1 to accept)\n--- expected\n{expected}--- actual\n{actual}",
                case.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
