//! Deterministic randomness from the entropy the shell hands in at start.
//!
//! The engine owns no random source: `Input::Started` carries 128 bits (the
//! shell takes them from `crypto.getRandomValues`), and every local id and
//! jitter value is drawn from this generator. A simulator that passes a
//! seed therefore replays exactly.

/// SplitMix64 on two independent lanes (Steele, Lea and Flood, 2014): small,
/// fast, and well mixed — enough for unique ids and jitter, not for secrets.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    a: u64,
    b: u64,
}

impl Rng {
    pub(crate) fn new(entropy: u128) -> Self {
        Rng {
            a: entropy as u64,
            b: (entropy >> 64) as u64 ^ 0x6a09_e667_f3bc_c909,
        }
    }

    fn step(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        Self::step(&mut self.a)
    }

    /// 128 random bits (for a fresh `LocalId`).
    pub(crate) fn next_u128(&mut self) -> u128 {
        let hi = Self::step(&mut self.a);
        let lo = Self::step(&mut self.b);
        (u128::from(hi) << 64) | u128::from(lo)
    }

    /// A uniform value in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_entropy_gives_the_same_sequence_and_different_entropy_differs() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        let mut c = Rng::new(43);
        let xs: Vec<u128> = (0..4).map(|_| a.next_u128()).collect();
        let ys: Vec<u128> = (0..4).map(|_| b.next_u128()).collect();
        let zs: Vec<u128> = (0..4).map(|_| c.next_u128()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        let unit = a.unit();
        assert!((0.0..1.0).contains(&unit));
    }
}
