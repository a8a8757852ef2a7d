//! Sample collection and percentiles.

use std::time::Duration;

pub struct Samples(Vec<Duration>);

impl Samples {
    pub fn collect(n: usize, mut f: impl FnMut() -> anyhow::Result<Duration>) -> anyhow::Result<Self> {
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(f()?);
        }
        Ok(Self::from(v))
    }

    fn percentile_us(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let idx = ((self.0.len() - 1) as f64 * p).round() as usize;
        self.0[idx.min(self.0.len() - 1)].as_secs_f64() * 1e6
    }

    pub fn median_us(&self) -> f64 {
        self.percentile_us(0.5)
    }

    pub fn p99_us(&self) -> f64 {
        self.percentile_us(0.99)
    }
}

impl From<Vec<Duration>> for Samples {
    fn from(mut v: Vec<Duration>) -> Self {
        v.sort();
        Self(v)
    }
}
