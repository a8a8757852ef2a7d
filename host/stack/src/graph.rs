//! The dependency graph of a stack.

use std::collections::{BTreeMap, BTreeSet};

/// When a dependency counts as met (Compose's `condition`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// Its instances were started.
    Started,
    /// Its instances pass their readiness checks.
    Healthy,
    /// It ran to completion with success (a migration, a seed job).
    CompletedSuccessfully,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("service `{service}` depends on `{missing}`, which the stack does not define")]
    Missing { service: String, missing: String },
    #[error("dependency cycle: {}; break it by removing one of these `depends_on` edges", .0.join(" → "))]
    Cycle(Vec<String>),
}

/// Services and their dependencies (`service → {dependency: condition}`).
#[derive(Debug, Clone, Default)]
pub struct Graph {
    deps: BTreeMap<String, BTreeMap<String, Condition>>,
}

/// How long a service takes to reach each condition after it starts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timing {
    pub started_ms: u64,
    pub healthy_ms: u64,
    pub completed_ms: u64,
}

impl Graph {
    /// Builds and checks the graph: every dependency exists and there is no
    /// cycle (the first one found is named).
    pub fn new(deps: BTreeMap<String, BTreeMap<String, Condition>>) -> Result<Self, GraphError> {
        for (service, ds) in &deps {
            for d in ds.keys() {
                if !deps.contains_key(d) {
                    return Err(GraphError::Missing { service: service.clone(), missing: d.clone() });
                }
            }
        }
        let graph = Self { deps };
        if let Some(cycle) = graph.find_cycle() {
            return Err(GraphError::Cycle(cycle));
        }
        Ok(graph)
    }

    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.deps.keys().map(String::as_str)
    }

    pub fn dependencies(&self, service: &str) -> impl Iterator<Item = (&str, Condition)> {
        self.deps.get(service).into_iter().flatten().map(|(d, c)| (d.as_str(), *c))
    }

    fn find_cycle(&self) -> Option<Vec<String>> {
        // 0 = unvisited, 1 = on the current path, 2 = done.
        let mut mark: BTreeMap<&str, u8> = BTreeMap::new();
        let mut path: Vec<&str> = Vec::new();
        fn visit<'a>(
            g: &'a Graph,
            s: &'a str,
            mark: &mut BTreeMap<&'a str, u8>,
            path: &mut Vec<&'a str>,
        ) -> Option<Vec<String>> {
            match mark.get(s) {
                Some(2) => return None,
                Some(1) => {
                    let start = path.iter().position(|p| *p == s).unwrap_or(0);
                    let mut cycle: Vec<String> = path[start..].iter().map(|p| p.to_string()).collect();
                    cycle.push(s.to_string());
                    return Some(cycle);
                }
                _ => {}
            }
            mark.insert(s, 1);
            path.push(s);
            for (d, _) in g.dependencies(s) {
                if let Some(c) = visit(g, d, mark, path) {
                    return Some(c);
                }
            }
            path.pop();
            mark.insert(s, 2);
            None
        }
        for s in self.deps.keys() {
            if let Some(c) = visit(self, s, &mut mark, &mut path) {
                return Some(c);
            }
        }
        None
    }

    /// Dependencies before dependents; ties by name.
    pub fn start_order(&self) -> Vec<String> {
        let mut done: BTreeSet<&str> = BTreeSet::new();
        let mut order = Vec::new();
        while done.len() < self.deps.len() {
            let wave: Vec<&str> = self
                .deps
                .keys()
                .map(String::as_str)
                .filter(|s| !done.contains(s) && self.dependencies(s).all(|(d, _)| done.contains(d)))
                .collect();
            if wave.is_empty() {
                break; // unreachable: cycles are refused in `new`
            }
            order.extend(wave.iter().map(|s| s.to_string()));
            done.extend(wave);
        }
        order
    }

    /// Dependents before their dependencies.
    pub fn teardown_order(&self) -> Vec<String> {
        let mut order = self.start_order();
        order.reverse();
        order
    }

    /// When each service starts if it starts as soon as ITS OWN dependencies
    /// meet their conditions (no lock-step waves), given how long each takes.
    pub fn earliest_starts(&self, timing: &BTreeMap<String, Timing>) -> BTreeMap<String, u64> {
        let mut start: BTreeMap<String, u64> = BTreeMap::new();
        for s in self.start_order() {
            let at = self
                .dependencies(&s)
                .map(|(d, cond)| {
                    let t = timing.get(d).copied().unwrap_or_default();
                    let base = start.get(d).copied().unwrap_or(0);
                    base + match cond {
                        Condition::Started => t.started_ms,
                        Condition::Healthy => t.healthy_ms,
                        Condition::CompletedSuccessfully => t.completed_ms,
                    }
                })
                .max()
                .unwrap_or(0);
            start.insert(s, at);
        }
        start
    }

    /// The length of the longest chain of conditions: the least time in
    /// which the whole stack can be healthy.
    pub fn critical_path(&self, timing: &BTreeMap<String, Timing>) -> u64 {
        let starts = self.earliest_starts(timing);
        starts.iter().map(|(s, at)| at + timing.get(s).map_or(0, |t| t.healthy_ms)).max().unwrap_or(0)
    }
}
