//! The canary's two config forms and the plan both expand to.

use hoist_sdk::types::PluginError;
use serde::Deserialize;

/// The raw config document; see the crate documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    pub steps: Option<Vec<StepSpec>>,
    pub initial_weight: Option<u8>,
    pub step_weight: Option<u8>,
    pub max_weight: Option<u8>,
    pub step_duration_ms: Option<u64>,
    pub max_steps: Option<u32>,
    pub success_threshold: Option<u32>,
    pub failure_threshold: Option<u32>,
    #[serde(default = "ten_minutes")]
    pub progress_deadline_ms: u64,
}

/// One entry of `steps`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum StepSpec {
    SetWeight(u8),
    Pause(PauseSpec),
    Analysis(AnalysisSpec),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PauseSpec {
    pub duration_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AnalysisSpec {
    #[serde(default = "one_minute")]
    pub duration_ms: u64,
    #[serde(default = "one")]
    pub success_threshold: u32,
    #[serde(default = "one")]
    pub failure_threshold: u32,
}

fn ten_minutes() -> u64 {
    600_000
}

fn one_minute() -> u64 {
    60_000
}

fn one() -> u32 {
    1
}

/// A validated step of the rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanStep {
    SetWeight(u8),
    /// `None`: until an operator promotes.
    Pause(Option<u64>),
    Analysis {
        duration_ms: u64,
        success_threshold: u32,
        failure_threshold: u32,
    },
}

impl Config {
    /// The steps this config describes, validated.
    pub fn plan(&self) -> Result<Vec<PlanStep>, PluginError> {
        let compact = [
            ("initial-weight", self.initial_weight.is_some()),
            ("step-weight", self.step_weight.is_some()),
            ("max-weight", self.max_weight.is_some()),
            ("step-duration-ms", self.step_duration_ms.is_some()),
            ("max-steps", self.max_steps.is_some()),
            ("success-threshold", self.success_threshold.is_some()),
            ("failure-threshold", self.failure_threshold.is_some()),
        ];
        match &self.steps {
            Some(steps) => {
                if let Some((key, _)) = compact.iter().find(|(_, set)| *set) {
                    return Err(invalid(format!(
                        "`steps` and `{key}` cannot be combined: use either explicit `steps` or the compact keys"
                    )));
                }
                explicit(steps)
            }
            None => self.compact(),
        }
    }

    fn compact(&self) -> Result<Vec<PlanStep>, PluginError> {
        let initial = self.initial_weight.unwrap_or(10);
        let step = self.step_weight.unwrap_or(25);
        let max = self.max_weight.unwrap_or(100);
        let duration_ms = self.step_duration_ms.unwrap_or(60_000);
        let success_threshold = self.success_threshold.unwrap_or(1);
        let failure_threshold = self.failure_threshold.unwrap_or(1);
        in_range("initial-weight", initial)?;
        in_range("step-weight", step)?;
        in_range("max-weight", max)?;
        if initial > max {
            return Err(invalid(format!("`initial-weight` ({initial}) is above `max-weight` ({max})")));
        }
        positive("step-duration-ms", duration_ms)?;
        positive("success-threshold", u64::from(success_threshold))?;
        positive("failure-threshold", u64::from(failure_threshold))?;
        if let Some(cap) = self.max_steps {
            positive("max-steps", u64::from(cap))?;
        }
        let cap = self.max_steps.unwrap_or(u32::MAX);
        let analysis = PlanStep::Analysis { duration_ms, success_threshold, failure_threshold };
        let mut plan = Vec::new();
        let mut weight = initial;
        let mut weights = 0u32;
        loop {
            plan.extend([PlanStep::SetWeight(weight), analysis]);
            weights += 1;
            if weight >= max || weights >= cap {
                break;
            }
            weight = weight.saturating_add(step).min(max);
        }
        Ok(plan)
    }
}

fn explicit(steps: &[StepSpec]) -> Result<Vec<PlanStep>, PluginError> {
    let mut plan = Vec::with_capacity(steps.len());
    let mut last = 0u8;
    for (i, spec) in steps.iter().enumerate() {
        plan.push(match spec {
            StepSpec::SetWeight(w) => {
                if *w > 100 {
                    return Err(invalid(format!("`steps[{i}].set-weight`: {w} is above 100")));
                }
                if *w < last {
                    return Err(invalid(format!(
                        "`steps[{i}].set-weight`: {w} is below the previous weight {last}; weights only rise"
                    )));
                }
                last = *w;
                PlanStep::SetWeight(*w)
            }
            StepSpec::Pause(p) => PlanStep::Pause(p.duration_ms),
            StepSpec::Analysis(a) => {
                positive(&format!("steps[{i}].analysis.duration-ms"), a.duration_ms)?;
                positive(&format!("steps[{i}].analysis.success-threshold"), u64::from(a.success_threshold))?;
                positive(&format!("steps[{i}].analysis.failure-threshold"), u64::from(a.failure_threshold))?;
                PlanStep::Analysis {
                    duration_ms: a.duration_ms,
                    success_threshold: a.success_threshold,
                    failure_threshold: a.failure_threshold,
                }
            }
        });
    }
    Ok(plan)
}

fn in_range(key: &str, weight: u8) -> Result<(), PluginError> {
    if weight == 0 || weight > 100 {
        return Err(invalid(format!("`{key}`: {weight} is not within 1..=100")));
    }
    Ok(())
}

fn positive(key: &str, value: u64) -> Result<(), PluginError> {
    if value == 0 {
        return Err(invalid(format!("`{key}` must be above 0")));
    }
    Ok(())
}

fn invalid(message: String) -> PluginError {
    PluginError::InvalidConfig(message)
}
