//! What the engine does when the platform fails to make a revision's
//! instances true. The platform's typed error decides, never its wording:
//! a permanent fault (a missing image, a bad command) rolls the rollout back
//! at once; an unreachable platform is retried until the progress deadline,
//! because a rollback would need the same platform; any other fault is
//! retried, and a streak of them lasting a while rolls the rollout back, so
//! a platform that cannot make progress does not hold a rollout for its
//! whole deadline.

use super::EngineConfig;
use super::memory::{FailureStreak, Memory};
use super::ports::PlatformFault;

/// The outcome of the platform calls of one reconciliation.
#[derive(Debug, PartialEq)]
pub(super) enum Judgement {
    /// Nothing failed.
    Fine,
    /// Failed, retried at the next poll; the rollout's status says why.
    Retry(String),
    /// Give up: roll back with this reason.
    GiveUp(String),
}

/// Updates the failure streak in `mem` with the faults of one
/// reconciliation (revision, fault) and judges it.
pub(super) fn judge(
    mem: &mut Memory,
    faults: &[(String, PlatformFault)],
    now: u64,
    config: &EngineConfig,
) -> Judgement {
    if let Some((revision, PlatformFault::Permanent(msg))) =
        faults.iter().find(|(_, f)| matches!(f, PlatformFault::Permanent(_)))
    {
        mem.platform_failures = None;
        return Judgement::GiveUp(format!("cannot run {revision}: {msg}"));
    }
    let Some((revision, last)) = faults.last() else {
        mem.platform_failures = None;
        return Judgement::Fine;
    };
    let counted = faults.iter().filter(|(_, f)| matches!(f, PlatformFault::Failed(_))).count() as u32;
    let streak = mem.platform_failures.get_or_insert(FailureStreak { count: 0, since_ms: now, last: String::new() });
    streak.count += counted;
    streak.last = last.to_string();
    let lasted_s = now.saturating_sub(streak.since_ms) / 1000;
    if let PlatformFault::Unreachable(msg) = last {
        return Judgement::Retry(format!(
            "cannot reach the platform for {revision} (for {lasted_s} s; retrying until the progress deadline): {msg}"
        ));
    }
    if streak.count >= config.max_platform_failures
        && now.saturating_sub(streak.since_ms) >= config.platform_failure_window_ms
    {
        let reason = format!(
            "the platform failed {} times in a row over {lasted_s} s for {revision}; last: {}",
            streak.count, streak.last
        );
        mem.platform_failures = None;
        return Judgement::GiveUp(reason);
    }
    Judgement::Retry(format!(
        "the platform failed for {revision} ({} in a row over {lasted_s} s; rolled back after {} over {} s): {}",
        streak.count,
        config.max_platform_failures,
        config.platform_failure_window_ms / 1000,
        streak.last
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(msg: &str) -> Vec<(String, PlatformFault)> {
        vec![("r2".into(), PlatformFault::Failed(msg.into()))]
    }

    #[test]
    fn a_permanent_fault_gives_up_at_once_with_the_platforms_reason() {
        let mut mem = Memory::default();
        let faults = vec![("r2".into(), PlatformFault::Permanent("image `x` is not present".into()))];
        assert_eq!(
            judge(&mut mem, &faults, 0, &EngineConfig::default()),
            Judgement::GiveUp("cannot run r2: image `x` is not present".into())
        );
    }

    #[test]
    fn a_streak_gives_up_only_after_enough_failures_over_the_window() {
        let config = EngineConfig::default();
        let mut mem = Memory::default();
        // Five failures within a second are not enough...
        for t in 0..5 {
            assert!(matches!(judge(&mut mem, &failed("boom"), t * 200, &config), Judgement::Retry(_)));
        }
        // ... but still failing a minute later is.
        let Judgement::GiveUp(reason) = judge(&mut mem, &failed("boom 6"), 60_000, &config) else { panic!() };
        assert_eq!(reason, "the platform failed 6 times in a row over 60 s for r2; last: boom 6");
        assert_eq!(mem.platform_failures, None);
    }

    #[test]
    fn a_success_resets_the_streak() {
        let config = EngineConfig::default();
        let mut mem = Memory::default();
        for t in 0..4 {
            judge(&mut mem, &failed("boom"), t * 20_000, &config);
        }
        assert_eq!(judge(&mut mem, &[], 80_000, &config), Judgement::Fine);
        assert!(matches!(judge(&mut mem, &failed("boom"), 90_000, &config), Judgement::Retry(_)));
        assert_eq!(mem.platform_failures.as_ref().map(|s| (s.count, s.since_ms)), Some((1, 90_000)));
    }

    #[test]
    fn an_unreachable_platform_is_retried_however_long_it_lasts() {
        let config = EngineConfig::default();
        let mut mem = Memory::default();
        let faults = vec![("r2".into(), PlatformFault::Unreachable("engine unreachable at unix:///x".into()))];
        for t in 0..100 {
            let Judgement::Retry(status) = judge(&mut mem, &faults, t * 10_000, &config) else { panic!() };
            assert!(status.contains("engine unreachable at unix:///x"), "{status}");
        }
    }
}
