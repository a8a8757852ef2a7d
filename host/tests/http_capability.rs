//! The `http` capability through a real plugin (`fixtures/http-fetch`,
//! written with the SDK) against a real HTTP server on loopback: an
//! allowed request with the registry's credential, a host outside
//! `allow-hosts`, a redirect within the list and one out of it, an oversize
//! response, a request past its timeout, and a call past its own limit;
//! and a strategy importing `http` refused at load, granted or not.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::HeaderMap;
use axum::response::Redirect;
use axum::routing::get;
use hoist::capabilities::http::HttpGrant;
use hoist::runtime::bindings::platform::exports::hoist::plugin::platform::PlatformError;
use hoist::runtime::{CacheSetting, Capability, Limits, Plugin, PluginKind, PluginSpec, Runtime};
use hoist_registry::{Credential, SecretSource};

fn fixture() -> Arc<[u8]> {
    wasm("fixture_http_fetch")
}

fn wasm(name: &str) -> Arc<[u8]> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../plugins/target/wasm32-wasip2/release/{name}.wasm"));
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{} is missing ({e}); `cargo build -p hoist` builds the fixtures", path.display()))
        .into()
}

/// A loopback server: `/ok`, `/auth` (echoes `authorization`), `/big`
/// (5 MiB), `/slow` (answers after 5 s), `/hop` (redirects to `/ok`) and
/// `/away` (redirects to `other`, a port not in the list).
async fn serve(other: u16) -> u16 {
    let app = Router::new()
        .route("/ok", get(|| async { "hello" }))
        .route(
            "/auth",
            get(|headers: HeaderMap| async move {
                headers.get("authorization").map(|v| v.to_str().unwrap_or("?").to_owned()).unwrap_or_default()
            }),
        )
        .route("/big", get(|| async { vec![b'x'; 5 << 20] }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route("/hop", get(|| async { Redirect::temporary("/ok") }))
        .route("/away", get(move || async move { Redirect::temporary(&format!("http://127.0.0.1:{other}/ok")) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

struct Fetcher {
    plugin: Plugin,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Fetcher {
    fn load(port: u16, time: Duration) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("token");
        std::fs::write(&secret, "s3cr3t\n").unwrap();
        let runtime = Runtime::new(CacheSetting::At(dir.path().join("cache"))).unwrap();
        let host = format!("127.0.0.1:{port}");
        let spec = PluginSpec {
            name: "fetch".into(),
            kind: PluginKind::Platform,
            source_label: "fixture_http_fetch.wasm".into(),
            bytes: fixture(),
            sha256: None,
            capabilities: vec![Capability::Http],
            http: HttpGrant {
                allow_hosts: vec![host.clone()],
                credentials: vec![Credential {
                    host,
                    header: "authorization".into(),
                    scheme: Some("Bearer".into()),
                    secret: SecretSource::File(secret),
                }],
            },
            limits: Limits { time, ..Limits::default_for(PluginKind::Platform) },
            environment: None,
            registry: None,
        };
        let plugin = runtime.load(spec).unwrap_or_else(|e| panic!("load: {e}"));
        Self { plugin, port, _dir: dir }
    }

    /// `Ok((status, body))` or the plugin's `capability(...)` message.
    async fn fetch(&self, url: &str, timeout_ms: u32) -> Result<(String, String), String> {
        let config = serde_json::json!({ "url": url, "timeout-ms": timeout_ms }).to_string();
        let called = self.plugin.instances("web", "test", &config, 0).await.unwrap_or_else(|f| panic!("{f:?}"));
        match called.value {
            Ok(list) => Ok((list[0].id.clone(), list[0].revision.clone())),
            Err(PlatformError::Capability(message)) => Err(message),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_denied_redirects_caps_and_timeouts() {
    let other = serve(0).await;
    let port = serve(other).await;
    let f = Fetcher::load(port, Duration::from_secs(10));

    assert_eq!(f.fetch(&f.url("/ok"), 0).await, Ok(("200".into(), "hello".into())));
    // The registry's credential, read from its file, reaches the listed host.
    assert_eq!(f.fetch(&f.url("/auth"), 0).await, Ok(("200".into(), "Bearer s3cr3t".into())));
    // A redirect within the list is followed.
    assert_eq!(f.fetch(&f.url("/hop"), 0).await, Ok(("200".into(), "hello".into())));

    let denied = f.fetch(&format!("http://127.0.0.1:{other}/ok"), 0).await.unwrap_err();
    assert!(denied.starts_with("denied: host `127.0.0.1:"), "{denied}");
    assert!(denied.contains(&format!("add \"127.0.0.1:{other}\" to `allow-hosts` of [plugins.fetch]")), "{denied}");
    // `localhost` is another name than the listed IP literal.
    let by_name = f.fetch(&format!("http://localhost:{port}/ok"), 0).await.unwrap_err();
    assert!(by_name.starts_with("denied: host `localhost:"), "{by_name}");

    let away = f.fetch(&f.url("/away"), 0).await.unwrap_err();
    assert!(away.starts_with("denied: "), "{away}");
    assert!(away.contains("redirects to host") && away.contains("not followed"), "{away}");

    let big = f.fetch(&f.url("/big"), 0).await.unwrap_err();
    assert!(big.starts_with("other: ") && big.contains("larger than the 4 MiB cap"), "{big}");

    let started = Instant::now();
    assert_eq!(f.fetch(&f.url("/slow"), 300).await, Err("timeout".into()));
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());

    let tls = f.fetch(&format!("https://127.0.0.1:{port}/ok"), 0).await.unwrap_err();
    assert!(tls.contains("plain http only"), "{tls}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_never_outlives_its_call() {
    let port = serve(0).await;
    // No timeout of its own: the request ends with the call's 1 s limit,
    // as a typed `timeout` the plugin still gets to report.
    let f = Fetcher::load(port, Duration::from_secs(1));
    let started = Instant::now();
    let outcome = f.plugin.instances("web", "test", &serde_json::json!({ "url": f.url("/slow") }).to_string(), 0).await;
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    match outcome {
        Ok(called) => assert_eq!(called.value, Err(PlatformError::Capability("timeout".into()))),
        Err(fault) => panic!("the call itself timed out before the request did: {fault:?}"),
    }
}

#[test]
fn a_strategy_importing_http_is_refused_at_load_granted_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(CacheSetting::At(dir.path().to_path_buf())).unwrap();
    for granted in [vec![], vec![Capability::Http]] {
        let spec = PluginSpec {
            name: "phones".into(),
            kind: PluginKind::Strategy,
            source_label: "fixture_http_strategy.wasm".into(),
            bytes: wasm("fixture_http_strategy"),
            sha256: None,
            capabilities: granted.clone(),
            http: HttpGrant { allow_hosts: vec!["127.0.0.1:9".into()], credentials: vec![] },
            limits: Limits::default_for(PluginKind::Strategy),
            environment: None,
            registry: None,
        };
        let err = runtime.load(spec).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.starts_with("plugin `phones` imports capability `http`, which a strategy plugin cannot be granted"),
            "granted {granted:?}: {err}"
        );
    }
}
