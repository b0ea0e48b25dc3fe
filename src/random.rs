//! Seeded randomness through one named, portable generator.
//!
//! Every random draw in splitflow (random problems, batch shuffles, data
//! splits, initial parameters) comes from [`seeded_rng`]: ChaCha with 12
//! rounds from the `rand_chacha` crate, seeded through `rand_core`'s
//! `seed_from_u64`. A named algorithm, unlike `rand::rngs::StdRng` (whose
//! algorithm may change in a future `rand`), keeps seeded results the same
//! across upgrades. (With rand 0.10 `StdRng` is the same ChaCha12 stream, so
//! results did not change when the library switched; a test pins that.)

use rand::SeedableRng;

/// The generator behind every seeded draw.
pub type SeededRng = rand_chacha::ChaCha12Rng;

/// A [`SeededRng`] from a 64-bit seed.
///
/// # Example
/// ```
/// use rand::RngExt;
/// let mut a = splitflow::random::seeded_rng(7);
/// let mut b = splitflow::random::seeded_rng(7);
/// assert_eq!(a.random::<u64>(), b.random::<u64>());
/// ```
pub fn seeded_rng(seed: u64) -> SeededRng {
    SeededRng::seed_from_u64(seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    /// The named generator is the stream `StdRng` gave before the switch
    /// (so seeded results did not change), and different seeds differ.
    #[test]
    fn seeded_rng_is_the_former_std_rng_stream() {
        for seed in [0, 1, 42, u64::MAX] {
            let mut named = seeded_rng(seed);
            let mut std = <rand::rngs::StdRng as SeedableRng>::seed_from_u64(seed);
            for _ in 0..100 {
                assert_eq!(named.random::<u64>(), std.random::<u64>());
            }
        }
        assert_ne!(seeded_rng(1).random::<u64>(), seeded_rng(2).random::<u64>());
    }
}
