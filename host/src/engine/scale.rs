//! `hoist scale`: a service at rest gets another replica count on its
//! current revision — no new revision, no rollout — applied through the
//! platform at once and recorded with who and why. The at-rest healer then
//! holds the new count.

use hoist_store::DecisionKind;
use hoist_store::DecisionRecord;
use serde_json::json;

use super::{Engine, EngineError, check_replicas, stored_spec};

/// How long instances leaving on a scale-down stay up after leaving the
/// router, for requests already sent to them.
const SCALE_DOWN_GRACE: std::time::Duration = std::time::Duration::from_millis(1_500);

impl Engine {
    pub async fn scale_at_rest(
        &self,
        service: &str,
        environment: &str,
        replicas: u32,
        operator: &str,
        reason: &str,
    ) -> Result<DecisionRecord, EngineError> {
        crate::names::check("service", service).map_err(EngineError::Invalid)?;
        crate::names::check("environment", environment).map_err(EngineError::Invalid)?;
        check_replicas(service, replicas)?;
        if let Some(active) =
            self.store.active_rollouts()?.into_iter().find(|r| r.service == service && r.environment == environment)
        {
            return Err(EngineError::Locked {
                service: service.into(),
                environment: environment.into(),
                owner: active.id,
            });
        }
        let current = self.store.current(service, environment)?.ok_or_else(|| {
            EngineError::Invalid(format!(
                "`{service}` has nothing deployed in `{environment}` to scale; deploy it first"
            ))
        })?;
        let mut spec = stored_spec(&current)?;
        let from = spec.replicas;
        spec.replicas = replicas;
        let value = serde_json::to_value(&spec).map_err(|e| EngineError::Invalid(e.to_string()))?;
        self.store.set_revision_spec(service, environment, &current.id, &value)?;
        if replicas < from {
            // Out of the router first, then stopped: a request never meets
            // an instance on its way out.
            if let Ok(instances) = self.platform.instances(service, environment).await {
                let routed = super::at_rest::routable(&instances, &current.id, replicas);
                self.traffic.observe(service, environment, &routed, self.clock.now_ms());
            }
            tokio::time::sleep(SCALE_DOWN_GRACE).await;
        }
        let (revision_spec, _) = self.spec_of(service, environment, &current.id)?;
        let applied = self.platform.ensure(&revision_spec, replicas).await.map_err(|e| e.to_string());
        let record = DecisionRecord {
            input: json!({ "revision": current.id, "from": from, "to": replicas }),
            error: applied.err(),
            operator: Some(operator.into()),
            reason: Some(reason.into()),
            ..DecisionRecord::new(service, environment, self.clock.now_ms(), DecisionKind::Scale)
        };
        let seq = self.store.append_record(&record)?;
        Ok(DecisionRecord { seq, ..record })
    }
}
