//! Property-based invariants (proptest): parameter maps that must invert,
//! batch partitions, piece schedules and composition coefficients.

use proptest::prelude::*;
use splitflow::optimizers::HeavyBallScheme;
use splitflow::problems::batches::batch_ranges;
use splitflow::splitting::{PieceOrder, PieceSchedule, SplittingCoefficients};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// `invert` then `factors` gives back (lr, momentum): the textbook ⇄ ODE
    /// map of each heavy-ball scheme is a bijection on its domain. A few ulps
    /// of rounding in √, ln and exp bound the error (1e-13 relative).
    #[test]
    fn heavy_ball_maps_invert(lr in 1e-8f64..10.0, momentum in 1e-6f64..0.999_999) {
        for scheme in [
            HeavyBallScheme::SemiImplicitEuler,
            HeavyBallScheme::ExactFriction,
            HeavyBallScheme::ForwardFriction,
        ] {
            let (gamma, h) = scheme.invert(lr, momentum).unwrap();
            prop_assert!(gamma >= 0.0 && h > 0.0);
            let (phi, kappa) = scheme.factors(gamma, h);
            prop_assert!((phi - momentum).abs() <= 1e-13 * momentum.max(1.0), "{scheme:?}: {phi} vs {momentum}");
            prop_assert!((kappa * h - lr).abs() <= 1e-13 * lr, "{scheme:?}: {} vs {lr}", kappa * h);
        }
    }

    /// Batches are consecutive, disjoint, cover 0..n, all full but possibly the last.
    #[test]
    fn batches_partition_the_rows(n in 1usize..5000, b in 1usize..300) {
        prop_assume!(b <= n);
        let r = batch_ranges(n, b).unwrap();
        prop_assert_eq!(r.len(), n.div_ceil(b));
        let mut next = 0;
        for (k, range) in r.iter().enumerate() {
            prop_assert_eq!(range.start, next);
            prop_assert!(range.len() == b || (k + 1 == r.len() && range.len() < b && !range.is_empty()));
            next = range.end;
        }
        prop_assert_eq!(next, n);
    }

    /// Every step of every piece order visits each piece exactly once.
    #[test]
    fn piece_schedules_are_permutations(m in 1usize..60, seed in any::<u64>(), steps in 1usize..6) {
        for order in [PieceOrder::Fixed, PieceOrder::Reversed, PieceOrder::Palindromic, PieceOrder::Shuffled { seed }] {
            let mut s = PieceSchedule::new(order, m);
            for _ in 0..steps {
                let mut p = s.next_step().to_vec();
                p.sort_unstable();
                prop_assert_eq!(p, (0..m).collect::<Vec<_>>());
            }
        }
    }

    /// Consistency of every built-in composition: each piece's fractions sum
    /// to 1 (order ≥ 1), for any number of pieces.
    #[test]
    fn composition_fractions_sum_to_one(pieces in 1usize..12) {
        for name in ["lie", "strang", "yoshida4", "suzuki4", "mclachlan2"] {
            let c = SplittingCoefficients::by_name(name, pieces).unwrap();
            let mut sums = vec![0.0; pieces];
            for &(piece, fraction) in c.sequence() {
                sums[piece] += fraction;
            }
            for (j, s) in sums.iter().enumerate() {
                prop_assert!((s - 1.0).abs() < 1e-14, "{name}, piece {j}: {s}");
            }
        }
    }
}
