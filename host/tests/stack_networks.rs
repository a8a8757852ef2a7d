//! Compose `networks` on the real Docker engine: a front network and an
//! internal back one. db is on back only (answering to `db` and its alias
//! `primary`), api on both, web on front only. api starts serving only once
//! it reaches db by both names, web only once it reaches api — so a
//! completed deploy proves the names resolve; web then cannot reach db at
//! all, back is internal, and `stack down` removes both networks at once.
//! The Docker tier: `#[ignore]`d by a plain `cargo test`, run with
//! `-- --ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use support::containers::in_environment;
use support::engine::docker;
use support::guards::{EnvironmentContainers, Network};
use support::images::{BUSYBOX, build_busybox};
use support::plane::Plane;
use support::stacks::docker_registry as registry;

/// A busybox service serving its name on `port` once every URL answers.
fn service(name: &str, port: u16, needs: &[&str], networks: &str, depends: &str) -> String {
    let wait: String = needs.iter().map(|u| format!("until wget -q -O /dev/null {u}; do sleep 0.2; done; ")).collect();
    format!(
        "  {name}:\n    image: {BUSYBOX}\n    command: [\"sh\", \"-c\", \"{wait}mkdir -p /www && echo {name} > /www/index.html && exec httpd -f -p {port} -h /www\"]\n    networks: {networks}\n    healthcheck:\n      test: [\"CMD\", \"wget\", \"-q\", \"-O\", \"/dev/null\", \"http://localhost:{port}/\"]\n      interval: 200ms\n      timeout: 1s\n      retries: 3\n{depends}"
    )
}

fn compose() -> String {
    let db = service("db", 5432, &[], "\n      back:\n        aliases: [primary]", "");
    let api =
        service("api", 8080, &["http://db:5432/", "http://primary:5432/"], "[front, back]", "    depends_on: [db]\n");
    let web = service("web", 80, &["http://api:8080/"], "[front]", "    depends_on: [api]\n");
    format!("name: nets\nservices:\n{db}{api}{web}networks:\n  front: {{}}\n  back:\n    internal: true\n")
}

fn inspect(what: &str, name: &str) -> Option<Value> {
    let out = docker(&[what, "inspect", name]);
    out.status.success().then(|| serde_json::from_slice::<Value>(&out.stdout).unwrap()[0].clone())
}

#[test]
#[ignore = "Docker tier: needs a Docker engine; `cargo xtask test` runs it (see README, Tests)"]
fn services_reach_each_other_by_name_and_alias_only_on_the_networks_they_share() {
    build_busybox();
    let env = format!("n{}", std::process::id());
    let (front, back) = (format!("hoist-nets-{env}-front"), format!("hoist-nets-{env}-back"));
    let _networks = (Network(front.clone()), Network(back.clone()), Network(format!("hoist-nets-{env}")));
    let _containers = EnvironmentContainers(env.clone());
    let dir = tempfile::tempdir().unwrap();
    let plane = Plane::start(dir.path(), &registry(&env));
    let file = dir.path().join("docker-compose.yml");
    std::fs::write(&file, compose()).unwrap();
    let (ok, out) = plane.hoist(&["stack", "deploy", file.to_str().unwrap(), "--env", &env, "--wait"]);
    assert!(ok, "api reaches db by name and alias on back, web reaches api on front:\n{out}\n{}", plane.log());

    let back_net = inspect("network", &back).expect("the back network exists");
    assert_eq!(back_net["Internal"], true, "{back_net:#}");
    assert_eq!(back_net["Labels"]["hoist.network"], back.as_str());
    assert_eq!(inspect("network", &front).expect("the front network exists")["Internal"], false);
    let api = in_environment("api", &env);
    let joined = inspect("container", &api[0]).unwrap()["NetworkSettings"]["Networks"].clone();
    let mut names: Vec<&String> = joined.as_object().unwrap().keys().collect();
    names.sort();
    assert_eq!(names, [&back, &front], "api is on exactly its two networks");

    // web shares no network with db: neither name resolves there.
    let web = in_environment("web", &env);
    for name in ["db", "primary"] {
        // (busybox's `wget -T` crashes; a name that does not resolve fails at once.)
        let out = docker(&["exec", &web[0], "wget", "-q", "-O", "-", &format!("http://{name}:5432/")]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("bad address"), "web must not resolve {name}: {err}");
    }
    let out = docker(&["exec", &web[0], "wget", "-q", "-O", "-", "http://api:8080/"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "api", "{}", String::from_utf8_lossy(&out.stderr));

    let (ok, out) = plane.hoist(&["stack", "down", "nets", "--env", &env, "--wait"]);
    assert!(ok, "{out}");
    for n in [&front, &back] {
        assert!(inspect("network", n).is_none(), "network {n} is released with the stack's last container");
    }
}
