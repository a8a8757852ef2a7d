//! Compose secrets, imported: file sources become mounts by path (the
//! value is never read), long syntax picks the target, and what Hoist
//! cannot mount is refused with its line.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hoist_stack::load;

#[test]
fn file_secrets_are_kept_as_paths_and_other_sources_are_refused_by_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw.txt"), "the-value").unwrap();
    let file = dir.path().join("docker-compose.yml");
    std::fs::write(
        &file,
        "services:\n  db:\n    image: x\n    secrets:\n      - pw\n      - source: pw\n        target: /etc/db/pw\nsecrets:\n  pw:\n    file: ./pw.txt\n",
    )
    .unwrap();
    let loaded = load(&file).unwrap();
    let secrets = &loaded.stack.services["db"].secrets;
    let path = dir.path().join("pw.txt").canonicalize().unwrap().display().to_string();
    assert_eq!(secrets.get("pw"), Some(&path));
    assert_eq!(secrets.get("/etc/db/pw"), Some(&path));
    let toml = hoist_stack::definition::to_toml(&loaded.stack).unwrap();
    assert!(!toml.contains("the-value") && toml.contains("pw.txt"), "{toml}");
    assert!(loaded.unsupported.is_empty(), "{:?}", loaded.unsupported);

    std::fs::write(&file, "services:\n  db:\n    image: x\nsecrets:\n  pw:\n    environment: PW\n").unwrap();
    let err = load(&file).unwrap_err().to_string();
    assert!(err.contains(":4: secret `pw` has an `environment` source"), "{err}");
    std::fs::write(&file, "services:\n  db:\n    image: x\n    secrets: [nope]\n").unwrap();
    let err = load(&file).unwrap_err().to_string();
    assert!(err.contains(":4: service `db`: secret `nope` is not declared"), "{err}");
}
