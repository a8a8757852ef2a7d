//! Size caps on what crosses the plugin boundary and sanity checks on what
//! comes back. `StoreLimits` bounds the guest's memory, not what the host
//! copies in and out, so these caps bound the host's side.

use super::bindings::admission::exports::hoist::plugin::admission::{AdmissionVerdict, DeployRequest};
use super::bindings::base::hoist::plugin::types::{Instance, Verdict};
use super::bindings::health::exports::hoist::plugin::health::{AnalysisInput, Evaluation};
use super::bindings::platform::exports::hoist::plugin::platform::RevisionSpec;
use super::bindings::strategy::exports::hoist::plugin::strategy::{Action, Context, Decision, WaitFor};
use super::error::CallError;
use super::plugin::Plugin;

pub const MAX_CONFIG: usize = 64 * 1024;
pub const MAX_STATE: usize = 64 * 1024;
pub const MAX_INSTANCES: usize = 10_000;
pub const MAX_ACTIONS: usize = 64;
pub const MAX_TEXT: usize = 4 * 1024;
pub const MAX_DETAILS: usize = 16 * 1024;
pub const MAX_REPLICAS: u32 = 10_000;
pub const MAX_ENV_BYTES: usize = 64 * 1024;
/// A wait longer than this is surely a bug in the strategy.
pub const MAX_WAIT_MS: u64 = 7 * 24 * 3600 * 1000;

fn input(p: &Plugin, what: &'static str, size: usize, limit: usize) -> Result<(), CallError> {
    if size > limit {
        return Err(CallError::InputTooLarge { plugin: p.name.to_string(), what, size, limit });
    }
    Ok(())
}

fn output(p: &Plugin, what: &'static str, size: usize, limit: usize) -> Result<(), CallError> {
    if size > limit {
        return Err(CallError::OutputTooLarge { plugin: p.name.to_string(), what, size, limit });
    }
    Ok(())
}

fn malformed(p: &Plugin, reason: String) -> CallError {
    CallError::MalformedOutput { plugin: p.name.to_string(), reason }
}

pub fn config(p: &Plugin, config: &str) -> Result<(), CallError> {
    input(p, "config", config.len(), MAX_CONFIG)
}

pub fn strategy_input(p: &Plugin, ctx: &Context) -> Result<(), CallError> {
    config(p, &ctx.config)?;
    input(p, "state", ctx.state.as_ref().map_or(0, Vec::len), MAX_STATE)?;
    input(p, "instance list", ctx.observed.instances.len(), MAX_INSTANCES)
}

pub fn decision(p: &Plugin, ctx: &Context, d: &Decision) -> Result<(), CallError> {
    output(p, "a state", d.state.len(), MAX_STATE)?;
    output(p, "a status", d.status.len(), MAX_TEXT)?;
    output(p, "an action list", d.actions.len(), MAX_ACTIONS)?;
    let known = |rev: &str| ctx.candidate.id == rev || ctx.stable.as_ref().is_some_and(|s| s.id == rev);
    for action in &d.actions {
        match action {
            Action::Scale(s) => {
                if !known(&s.revision) {
                    return Err(malformed(p, format!("scale names unknown revision `{}`", s.revision)));
                }
                if s.replicas > MAX_REPLICAS {
                    return Err(malformed(p, format!("scale to {} replicas (at most {MAX_REPLICAS})", s.replicas)));
                }
            }
            Action::SetWeights(weights) => {
                let mut total: u32 = 0;
                for (i, w) in weights.iter().enumerate() {
                    if !known(&w.revision) {
                        return Err(malformed(p, format!("weights name unknown revision `{}`", w.revision)));
                    }
                    if weights[..i].iter().any(|o| o.revision == w.revision) {
                        return Err(malformed(p, format!("weights name revision `{}` twice", w.revision)));
                    }
                    total += u32::from(w.percent);
                }
                if total != 100 {
                    return Err(malformed(p, format!("weights sum to {total}, not 100")));
                }
            }
            Action::RunAnalysis(a) => {
                output(p, "an analysis name", a.name.len(), 256)?;
                if a.duration > MAX_WAIT_MS {
                    return Err(malformed(p, format!("analysis of {} ms is too long", a.duration)));
                }
            }
            Action::Wait(WaitFor::Duration(ms)) if *ms > MAX_WAIT_MS => {
                return Err(malformed(p, format!("wait of {ms} ms is too long")));
            }
            Action::Wait(WaitFor::Ready(t)) if !known(&t.revision) => {
                return Err(malformed(p, format!("wait names unknown revision `{}`", t.revision)));
            }
            Action::Wait(WaitFor::Operator(reason)) | Action::Rollback(reason) => {
                output(p, "a reason", reason.len(), MAX_TEXT)?;
            }
            Action::Wait(_) | Action::Complete => {}
        }
    }
    Ok(())
}

pub fn analysis_input(p: &Plugin, i: &AnalysisInput) -> Result<(), CallError> {
    config(p, &i.config)?;
    input(p, "state", i.state.as_ref().map_or(0, Vec::len), MAX_STATE)
}

fn verdict(p: &Plugin, v: &Verdict) -> Result<(), CallError> {
    match v {
        Verdict::Pass => Ok(()),
        Verdict::Fail(r) | Verdict::Inconclusive(r) => output(p, "a verdict reason", r.len(), MAX_TEXT),
    }
}

pub fn evaluation(p: &Plugin, e: &Evaluation) -> Result<(), CallError> {
    output(p, "a state", e.state.len(), MAX_STATE)?;
    output(p, "details", e.details.len(), MAX_DETAILS)?;
    verdict(p, &e.verdict)
}

pub fn deploy_request(p: &Plugin, r: &DeployRequest) -> Result<(), CallError> {
    config(p, &r.config)
}

pub fn admission_verdict(p: &Plugin, v: &AdmissionVerdict) -> Result<(), CallError> {
    match v {
        AdmissionVerdict::Allow => Ok(()),
        AdmissionVerdict::Deny(r) | AdmissionVerdict::RequireApproval(r) => output(p, "a reason", r.len(), MAX_TEXT),
    }
}

pub fn revision_spec(p: &Plugin, s: &RevisionSpec) -> Result<(), CallError> {
    config(p, &s.config)?;
    let env: usize =
        s.env.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() + s.command.iter().map(String::len).sum::<usize>();
    input(p, "command and environment", env, MAX_ENV_BYTES)
}

pub fn instances(p: &Plugin, list: &[Instance]) -> Result<(), CallError> {
    output(p, "an instance list", list.len(), MAX_INSTANCES)?;
    for i in list {
        output(p, "an instance id", i.id.len(), 256)?;
        output(p, "an instance address", i.address.as_ref().map_or(0, String::len), 256)?;
    }
    Ok(())
}
