//! Traffic weights proportional to ready instances.

use hoist_sdk::types::Weight;

/// Percentages proportional to `ready` per revision, summing to 100
/// (largest remainder; ties go to the earlier revision). `None` when no
/// revision has a ready instance.
pub fn proportional(ready: &[(String, u32)]) -> Option<Vec<Weight>> {
    let total: u64 = ready.iter().map(|(_, n)| u64::from(*n)).sum();
    if total == 0 {
        return None;
    }
    let mut shares: Vec<(usize, u64, u64)> = ready
        .iter()
        .enumerate()
        .map(|(i, (_, n))| {
            let exact = u64::from(*n) * 100;
            (i, exact / total, exact % total)
        })
        .collect();
    let assigned: u64 = shares.iter().map(|(_, floor, _)| floor).sum();
    let mut left = 100u64.saturating_sub(assigned);
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|a, b| shares[*b].2.cmp(&shares[*a].2).then(a.cmp(b)));
    for i in order {
        if left == 0 {
            break;
        }
        if shares[i].2 > 0 {
            shares[i].1 += 1;
            left -= 1;
        }
    }
    Some(
        shares
            .into_iter()
            .filter(|(_, pct, _)| *pct > 0)
            .map(|(i, pct, _)| Weight { revision: ready[i].0.clone(), percent: u8::try_from(pct).unwrap_or(100) })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(pairs: &[(&str, u32)]) -> Vec<(String, u8)> {
        let ready: Vec<(String, u32)> = pairs.iter().map(|(r, n)| ((*r).to_owned(), *n)).collect();
        proportional(&ready).unwrap_or_default().into_iter().map(|w| (w.revision, w.percent)).collect()
    }

    #[test]
    fn sums_to_100() {
        assert_eq!(w(&[("r2", 1), ("r1", 2)]), vec![("r2".into(), 33), ("r1".into(), 67)]);
        assert_eq!(w(&[("r2", 1), ("r1", 1), ("r0", 1)]).iter().map(|(_, p)| u32::from(*p)).sum::<u32>(), 100);
        assert_eq!(w(&[("r2", 3), ("r1", 0)]), vec![("r2".into(), 100)]);
    }

    #[test]
    fn none_without_ready_instances() {
        assert_eq!(proportional(&[("r2".into(), 0)]), None);
    }
}
