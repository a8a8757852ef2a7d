//! Admission: the environment's admission policies decide whether a
//! rollout may start (allow, deny, or hold for an operator's approval), then
//! the rollout takes the service's deploy lock.

use hoist_store::{DecisionKind, DecisionRecord, Lock, LockOutcome, Phase, Rollout};
use serde_json::Value;

use super::{CallFailure, Engine, EngineError};
use crate::runtime::bindings::admission::exports::hoist::plugin::admission::{AdmissionVerdict, DeployRequest};
use crate::runtime::bindings::base::hoist::plugin::types::Revision;

enum Outcome {
    Allow,
    Deny(String),
    Approval(String),
}

impl Engine {
    pub(super) fn admit(&self, mut rollout: Rollout, reason: &str) -> Result<Rollout, EngineError> {
        let now = self.clock.now_ms();
        let env = self.env(&rollout.environment)?;
        let mut records = Vec::new();
        let mut outcome = Outcome::Allow;
        let revision = |id: &str| -> Result<Revision, EngineError> {
            let rev = self.store.revision(&rollout.service, &rollout.environment, id)?;
            Ok(Revision { id: id.to_string(), version: rev.map(|r| r.version).unwrap_or_default(), extensions: vec![] })
        };
        let candidate = revision(&rollout.candidate)?;
        let stable = match &rollout.stable {
            Some(id) => Some(revision(id)?),
            None => None,
        };
        for policy in &env.admission {
            let request = DeployRequest {
                service: rollout.service.clone(),
                environment: rollout.environment.clone(),
                candidate: candidate.clone(),
                stable: stable.clone(),
                requested_by: rollout.requested_by.clone(),
                reason: reason.to_string(),
                now_ms: now,
                labels: env.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                config: policy.config.clone(),
                extensions: vec![],
            };
            let name = policy.plugin.name().to_string();
            let called = policy.plugin.admit(&request);
            let printed = called.printed;
            let (output, error, verdict) = match called.outcome {
                Ok(v) => (serde_json::to_value(&v).unwrap_or(Value::Null), None, Some(v)),
                Err(CallFailure::Refused(e) | CallFailure::Fault(e)) => (Value::Null, Some(e), None),
            };
            records.push(DecisionRecord {
                rollout_id: Some(rollout.id.clone()),
                plugin: Some(name.clone()),
                plugin_digest: Some(policy.plugin.digest().to_string()),
                input: serde_json::to_value(&request).unwrap_or(Value::Null),
                output,
                error: error.clone(),
                reason: Some(reason.to_string()),
                plugin_output: printed,
                ..DecisionRecord::new(&rollout.service, &rollout.environment, now, DecisionKind::Admit)
            });
            // A failing admission policy fails closed: production stays as it is.
            let this = match (verdict, error) {
                (Some(AdmissionVerdict::Allow), _) => Outcome::Allow,
                (Some(AdmissionVerdict::Deny(why)), _) => Outcome::Deny(format!("denied by `{name}`: {why}")),
                (Some(AdmissionVerdict::RequireApproval(why)), _) => {
                    Outcome::Approval(format!("approval required by `{name}`: {why}"))
                }
                (None, Some(err)) => Outcome::Deny(format!("admission policy `{name}` failed: {err}")),
                (None, None) => Outcome::Deny(format!("admission policy `{name}` gave no answer")),
            };
            outcome = match (outcome, this) {
                (Outcome::Deny(r), _) | (_, Outcome::Deny(r)) => Outcome::Deny(r),
                (Outcome::Approval(r), _) | (_, Outcome::Approval(r)) => Outcome::Approval(r),
                _ => Outcome::Allow,
            };
        }
        for record in &records {
            self.store.append_record(record)?;
        }

        rollout.updated_at_ms = now;
        match outcome {
            Outcome::Deny(why) => {
                rollout.phase = Phase::Aborted;
                rollout.status = why.clone();
                rollout.reason = Some(why);
            }
            Outcome::Approval(why) => {
                rollout.phase = Phase::AwaitingApproval;
                rollout.status = format!("{why}; `hoist approve {}` to start", rollout.id);
                rollout.reason = Some(why);
            }
            Outcome::Allow => self.start(&mut rollout, now)?,
        }
        self.store.save_rollout(&rollout)?;
        Ok(rollout)
    }

    /// Takes the deploy lock and moves the rollout to running.
    pub(super) fn start(&self, rollout: &mut Rollout, now: u64) -> Result<(), EngineError> {
        let reason = format!("rollout {} of {}", rollout.id, rollout.candidate);
        // Every later write of the rollout renews the lock by this much.
        self.store.set_lock_ttl_ms(self.config.lock_ttl_ms);
        match self.store.acquire_lock(&Lock {
            service: rollout.service.clone(),
            environment: rollout.environment.clone(),
            owner: rollout.id.clone(),
            reason,
            acquired_at_ms: now,
            expires_at_ms: now + self.config.lock_ttl_ms,
        })? {
            LockOutcome::Acquired(_) | LockOutcome::Renewed(_) => {
                rollout.phase = Phase::Running;
                rollout.status = "admitted".into();
                rollout.reason = None;
            }
            LockOutcome::Held(lock) => {
                let why = format!("service is locked by rollout `{}` ({})", lock.owner, lock.reason);
                rollout.phase = Phase::Aborted;
                rollout.status = why.clone();
                rollout.reason = Some(why);
            }
        }
        Ok(())
    }
}
