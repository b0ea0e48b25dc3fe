//! The splitting integrator: a composition of flow maps.

use rand::seq::SliceRandom;

use super::{FlowMap, FlowStats, SplittingCoefficients};
use crate::error::{Error, Result, check_dim};
use crate::{Order, State};

/// The order in which pieces are visited, step by step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PieceOrder {
    /// The given order every step.
    #[default]
    Fixed,
    /// The reversed order every step.
    Reversed,
    /// A fresh random permutation every step: the identity `0..N` shuffled by
    /// `rand::seq::SliceRandom::shuffle` with the library's [`SeededRng`](crate::random::SeededRng) seeded once from `seed`
    /// when the splitting is built (this is "reshuffle every epoch" for SGD).
    Shuffled {
        /// The RNG seed.
        seed: u64,
    },
    /// The given order on even steps, reversed on odd steps.
    Palindromic,
}

/// What to do with sub-flows that run backward in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackwardSteps {
    /// Refuse schemes with negative fractions when some piece is dissipative
    /// (a backward gradient flow is ill-posed). The default.
    #[default]
    RefuseForDissipative,
    /// Allow them anyway (the user accepts possible blow-up).
    Allow,
}

/// The piece permutation of successive steps under a [`PieceOrder`]
/// (slot → piece), shared by [`Splitting`] and the
/// [`SplittingOptimizer`](crate::optimizers::SplittingOptimizer).
#[derive(Debug)]
pub struct PieceSchedule {
    order: PieceOrder,
    rng: crate::random::SeededRng,
    perm: Vec<usize>,
    steps: usize,
}

impl PieceSchedule {
    /// The schedule of `pieces` pieces (the RNG is seeded once, here).
    pub fn new(order: PieceOrder, pieces: usize) -> Self {
        let seed = match order {
            PieceOrder::Shuffled { seed } => seed,
            _ => 0,
        };
        PieceSchedule {
            order,
            rng: crate::random::seeded_rng(seed),
            perm: (0..pieces).collect(),
            steps: 0,
        }
    }

    /// Steps scheduled so far.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The permutation of the next step.
    pub fn next_step(&mut self) -> &[usize] {
        let m = self.perm.len();
        let reversed = match self.order {
            PieceOrder::Fixed => false,
            PieceOrder::Reversed => true,
            PieceOrder::Palindromic => self.steps % 2 == 1,
            PieceOrder::Shuffled { .. } => {
                for (k, p) in self.perm.iter_mut().enumerate() {
                    *p = k;
                }
                self.perm.shuffle(&mut self.rng);
                self.steps += 1;
                return &self.perm;
            }
        };
        for (k, p) in self.perm.iter_mut().enumerate() {
            *p = if reversed { m - 1 - k } else { k };
        }
        self.steps += 1;
        &self.perm
    }
}

/// A splitting method: pieces (flow maps, each with its own integrator, possibly
/// borrowing data for the lifetime `'a`),
/// coefficients, and a piece-order policy. Itself a [`FlowMap`], so
/// splittings nest.
///
/// Its order is the [`effective_order`](Self::effective_order): the minimum of
/// the scheme's order and every piece's order (Strang with explicit-Euler
/// sub-steps is order 1).
///
/// # Example
/// ```
/// use nalgebra::dmatrix;
/// use splitflow::splitting::{ExactLinear, FlowMap, Splitting, SplittingCoefficients};
/// use splitflow::{LinearSystem, Order, State};
/// let a = ExactLinear::new(LinearSystem::new(dmatrix![-1.0, 1.0; 0.0, -1.0], None)?);
/// let b = ExactLinear::new(LinearSystem::new(dmatrix![0.0, 0.0; 1.0, -2.0], None)?);
/// let mut strang = Splitting::new(vec![Box::new(a), Box::new(b)],
///                                 SplittingCoefficients::strang(2)?, Default::default())?;
/// assert_eq!(strang.effective_order(), Order::Finite(2));
/// let mut y = State::from_vec(vec![1.0, 1.0]);
/// strang.advance(0.0, 0.1, &mut y)?;
/// # Ok::<(), splitflow::Error>(())
/// ```
pub struct Splitting<'a> {
    pieces: Vec<Box<dyn FlowMap + 'a>>,
    coefficients: SplittingCoefficients,
    schedule: PieceSchedule,
    clocks: Vec<f64>,
}

/// Options of a [`Splitting`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SplittingOptions {
    /// Piece-order policy.
    pub piece_order: PieceOrder,
    /// Backward-step policy.
    pub backward: BackwardSteps,
}

impl<'a> Splitting<'a> {
    /// Builds a splitting.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for no pieces, a coefficient table for a
    /// different number of pieces, or backward sub-steps on a dissipative
    /// piece under [`BackwardSteps::RefuseForDissipative`];
    /// [`Error::DimensionMismatch`] naming the first piece whose dimension
    /// differs from piece 0's.
    pub fn new(
        pieces: Vec<Box<dyn FlowMap + 'a>>,
        coefficients: SplittingCoefficients,
        options: SplittingOptions,
    ) -> Result<Self> {
        let first = pieces.first().ok_or_else(|| {
            Error::invalid("pieces", "[]", "a splitting needs at least one piece")
        })?;
        let n = first.dim();
        for (j, p) in pieces.iter().enumerate().skip(1) {
            check_dim(&format!("piece {j} ({})", p.name()), n, p.dim())?;
        }
        if coefficients.pieces() != pieces.len() {
            return Err(Error::invalid(
                "coefficients",
                coefficients.name(),
                &format!(
                    "are for {} pieces, but {} were given",
                    coefficients.pieces(),
                    pieces.len()
                ),
            ));
        }
        if options.backward == BackwardSteps::RefuseForDissipative
            && coefficients.has_backward_steps()
            && let Some(j) = pieces.iter().position(|p| p.is_dissipative())
        {
            return Err(Error::invalid(
                "coefficients",
                coefficients.name(),
                &format!(
                    "have backward sub-steps, and piece {j} is dissipative (a backward gradient flow is ill-posed); \
                         use BackwardSteps::Allow to run anyway"
                ),
            ));
        }
        let m = pieces.len();
        Ok(Splitting {
            pieces,
            coefficients,
            schedule: PieceSchedule::new(options.piece_order, m),
            clocks: vec![0.0; m],
        })
    }

    /// min(scheme order, every piece's order).
    pub fn effective_order(&self) -> Order {
        self.pieces
            .iter()
            .map(|p| p.order())
            .fold(Order::Finite(self.coefficients.order()), Order::min)
    }

    /// The coefficients.
    pub fn coefficients(&self) -> &SplittingCoefficients {
        &self.coefficients
    }

    /// Work counters of every piece.
    pub fn piece_stats(&self) -> Vec<FlowStats> {
        self.pieces.iter().map(|p| p.stats()).collect()
    }

    /// The pieces.
    pub fn pieces(&self) -> &[Box<dyn FlowMap + 'a>] {
        &self.pieces
    }
}

impl FlowMap for Splitting<'_> {
    fn dim(&self) -> usize {
        self.pieces[0].dim()
    }

    fn advance(&mut self, t: f64, h: f64, y: &mut State) -> Result<()> {
        check_dim("state y", self.dim(), y.len())?;
        let perm = self.schedule.next_step();
        self.clocks.fill(t);
        for &(slot, a) in self.coefficients.sequence() {
            let j = perm[slot];
            let tau = a * h;
            if let Err(e) = self.pieces[j].advance(self.clocks[j], tau, y) {
                return Err(match e {
                    Error::NonFinite { what, kind, t } => Error::NonFinite {
                        what: format!("piece {j} ({}): {what}", self.pieces[j].name()),
                        kind,
                        t,
                    },
                    other => other,
                });
            }
            if !crate::kernels::all_finite(y.as_slice()) {
                return Err(Error::non_finite(
                    &format!("piece {j} ({}) output", self.pieces[j].name()),
                    self.clocks[j] + tau,
                ));
            }
            self.clocks[j] += tau;
        }
        Ok(())
    }

    fn order(&self) -> Order {
        self.effective_order()
    }

    fn is_dissipative(&self) -> bool {
        self.pieces.iter().any(|p| p.is_dissipative())
    }

    fn stats(&self) -> FlowStats {
        self.pieces.iter().fold(
            FlowStats {
                advances: self.schedule.steps(),
                f_evals: 0,
            },
            |acc, p| FlowStats {
                advances: acc.advances,
                f_evals: acc.f_evals + p.stats().f_evals,
            },
        )
    }

    fn name(&self) -> String {
        format!(
            "{} splitting of {} pieces",
            self.coefficients.name(),
            self.pieces.len()
        )
    }
}
