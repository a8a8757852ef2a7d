//! Ordering properties over generated dependency graphs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use hoist_stack::{Condition, Graph, GraphError, Timing};

/// xorshift, so a failing case is reproduced by its seed.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn generated(rng: &mut Rng, n: usize) -> (BTreeMap<String, BTreeMap<String, Condition>>, BTreeMap<String, Timing>) {
    let name = |i: usize| format!("s{i:02}");
    let mut deps = BTreeMap::new();
    let mut timing = BTreeMap::new();
    for i in 0..n {
        let mut d = BTreeMap::new();
        // Only edges to lower indices: a DAG by construction.
        for j in 0..i {
            if rng.below(5) == 0 {
                let c = match rng.below(3) {
                    0 => Condition::Started,
                    1 => Condition::Healthy,
                    _ => Condition::CompletedSuccessfully,
                };
                d.insert(name(j), c);
            }
        }
        deps.insert(name(i), d);
        let started = rng.below(500) + 1;
        let healthy = started + rng.below(3000);
        timing.insert(
            name(i),
            Timing { started_ms: started, healthy_ms: healthy, completed_ms: healthy + rng.below(2000) },
        );
    }
    (deps, timing)
}

#[test]
fn no_service_starts_before_its_dependencies_meet_their_conditions() {
    let mut rng = Rng(0x5eed);
    for _ in 0..200 {
        let n = 1 + rng.below(30) as usize;
        let (deps, timing) = generated(&mut rng, n);
        let graph = Graph::new(deps.clone()).unwrap();
        let starts = graph.earliest_starts(&timing);
        for (s, ds) in &deps {
            let mut latest = 0;
            for (d, c) in ds {
                let t = timing[d];
                let met = starts[d]
                    + match c {
                        Condition::Started => t.started_ms,
                        Condition::Healthy => t.healthy_ms,
                        Condition::CompletedSuccessfully => t.completed_ms,
                    };
                assert!(starts[s] >= met, "{s} starts at {} before {d} is {c:?} at {met}", starts[s]);
                latest = latest.max(met);
            }
            // Maximal parallelism: no later than its own dependencies allow.
            assert_eq!(starts[s], latest, "{s} waits longer than its dependencies require");
        }
    }
}

#[test]
fn independent_services_start_together() {
    let deps: BTreeMap<_, _> = (0..5).map(|i| (format!("data{i}"), BTreeMap::new())).collect();
    let timing =
        deps.keys().map(|k| (k.clone(), Timing { started_ms: 10, healthy_ms: 100, completed_ms: 0 })).collect();
    let starts = Graph::new(deps).unwrap().earliest_starts(&timing);
    assert!(starts.values().all(|t| *t == 0), "{starts:?}");
}

#[test]
fn teardown_reverses_start_order() {
    let mut rng = Rng(42);
    let (deps, _) = generated(&mut rng, 20);
    let graph = Graph::new(deps.clone()).unwrap();
    let down = graph.teardown_order();
    let pos = |s: &str| down.iter().position(|x| x == s).unwrap();
    for (s, ds) in &deps {
        for d in ds.keys() {
            assert!(pos(s) < pos(d), "{s} must stop before {d}");
        }
    }
}

#[test]
fn missing_dependencies_and_cycles_are_errors() {
    let mut deps = BTreeMap::new();
    deps.insert("api".to_string(), BTreeMap::from([("db".to_string(), Condition::Healthy)]));
    assert_eq!(Graph::new(deps).unwrap_err(), GraphError::Missing { service: "api".into(), missing: "db".into() });
    let mut deps = BTreeMap::new();
    deps.insert("a".to_string(), BTreeMap::from([("b".to_string(), Condition::Started)]));
    deps.insert("b".to_string(), BTreeMap::from([("a".to_string(), Condition::Started)]));
    let err = Graph::new(deps).unwrap_err();
    assert_eq!(err, GraphError::Cycle(vec!["a".into(), "b".into(), "a".into()]));
    assert!(err.to_string().contains("a → b → a"));
}
