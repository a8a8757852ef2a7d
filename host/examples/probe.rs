use std::sync::Arc;
use hoist::runtime::*;
use hoist::runtime::bindings::strategy::exports::hoist::plugin::strategy::*;
use hoist::runtime::bindings::base::hoist::plugin::types::*;
fn main() -> anyhow::Result<()> {
    let t = std::time::Instant::now();
    let rt = Runtime::new(CacheSetting::At("/tmp/hoist-cache".into()))?;
    println!("runtime {:?}", t.elapsed());
    let bytes: Arc<[u8]> = std::fs::read("plugins/target/wasm32-wasip2/release/rolling.wasm")?.into();
    let t = std::time::Instant::now();
    let p = rt.load(PluginSpec { name: "rolling".into(), kind: PluginKind::Strategy, source_label: "x".into(), bytes, sha256: None, capabilities: vec![], limits: Limits::default_for(PluginKind::Strategy), environment: None, registry: None }).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("load {:?} {:?} {:?}", t.elapsed(), p.cache, p.surface);
    let ctx = Context { rollout_id: "r1".into(), service: "web".into(), environment: "prod".into(), stable: Some(Revision{id:"r1".into(), version:"v1".into(), extensions: vec![]}), candidate: Revision{id:"r2".into(), version:"v2".into(), extensions: vec![]}, replicas: 10, config: "{\"max-surge\":\"25%\"}".into(), state: None, now_ms: 1000, started_at_ms: 0, observed: Observation { instances: (0..10).map(|i| Instance{ id: format!("i{i}"), revision: "r1".into(), address: Some(format!("127.0.0.1:{}", 8000+i)), state: InstanceState::Ready, ready_for_ms: Some(1000), extensions: vec![]}).collect(), weights: vec![], analysis: None, command: None, extensions: vec![] }, extensions: vec![] };
    let r = p.decide(&ctx).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{:?}", r.value);
    hoist::runtime::plugin::probe_timings(&p, 20000);
    let n = 20000;
    let t = std::time::Instant::now();
    for _ in 0..n { let _ = p.decide(&ctx); }
    println!("per call {:?}", t.elapsed() / n);
    Ok(())
}
