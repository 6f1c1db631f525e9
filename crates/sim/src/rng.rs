//! Seeded, splittable randomness.
//!
//! Every random stream is derived from the run's seed and a few integers (a domain tag, the
//! customer index, the day) with the SplitMix64 finaliser. A customer's draws on a day therefore do
//! not depend on the order in which customers are processed nor on what other customers did, and two
//! runs with the same seed but different policies see the same uniforms (common random numbers):
//! they differ only where the policy changed a customer's behaviour.

use rand::{Error, RngCore};

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// Domain tags keep the streams of different purposes apart.
pub(crate) mod domain {
    pub const TRAITS: u64 = 1;
    pub const DAY: u64 = 2;
    pub const CATALOGUE: u64 = 3;
    pub const RING_DAY: u64 = 4;
    pub const FRAUD: u64 = 5;
    pub const IDS: u64 = 6;
    pub const POLICY: u64 = 7;
}

pub use discount_core::hash::mix64;

/// A SplitMix64 generator: tiny state, fast, good enough for simulation, and cheap to create
/// (one per customer-day).
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The generator's state: a generator made with [`SplitMix64::new`] from it continues the
    /// same stream (what a saved run keeps of a random policy).
    pub fn state(&self) -> u64 {
        self.state
    }

    /// The stream for `(seed, parts...)`.
    #[inline]
    pub fn stream(seed: u64, parts: &[u64]) -> Self {
        let mut s = mix64(seed.wrapping_add(GOLDEN));
        for &p in parts {
            s = mix64(s ^ p.wrapping_add(GOLDEN).wrapping_mul(GOLDEN));
        }
        Self { state: s }
    }

    /// A uniform draw in [0, 1) with 53 bits of precision.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform integer in `[0, n)`; `n` must be positive.
    #[inline]
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// A uniform integer in `[lo, hi]`.
    #[inline]
    pub fn between(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below((hi - lo) as usize + 1) as u32
    }

    /// A Poisson draw by inversion (fast for the small means the simulator uses).
    pub fn poisson(&mut self, mean: f64) -> u32 {
        if mean <= 0.0 {
            return 0;
        }
        if mean > 30.0 {
            // Normal approximation; only reached by unusual configurations.
            let z = self.standard_normal();
            return (mean + z * mean.sqrt()).round().max(0.0) as u32;
        }
        let u = self.uniform();
        let mut k = 0u32;
        let mut p = (-mean).exp();
        let mut cdf = p;
        while u > cdf && k < 1000 {
            k += 1;
            p *= mean / k as f64;
            cdf += p;
        }
        k
    }

    /// A standard normal draw (Box-Muller).
    pub fn standard_normal(&mut self) -> f64 {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

impl RngCore for SplitMix64 {
    #[inline]
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix64(self.state)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4)
            .map(|_| SplitMix64::stream(7, &[2, 10, 3]).next_u64())
            .collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let b = SplitMix64::stream(7, &[2, 10, 4]).next_u64();
        let c = SplitMix64::stream(8, &[2, 10, 3]).next_u64();
        assert_ne!(a[0], b);
        assert_ne!(a[0], c);
    }

    #[test]
    fn draws_have_the_right_moments() {
        let mut r = SplitMix64::new(1);
        let n = 200_000;
        let mean_u: f64 = (0..n).map(|_| r.uniform()).sum::<f64>() / n as f64;
        assert!((mean_u - 0.5).abs() < 0.01);
        let mean_p: f64 = (0..n).map(|_| r.poisson(1.7) as f64).sum::<f64>() / n as f64;
        assert!((mean_p - 1.7).abs() < 0.02, "{mean_p}");
        let below: Vec<usize> = (0..1000).map(|_| r.below(3)).collect();
        assert!(below.iter().all(|&x| x < 3));
    }
}
