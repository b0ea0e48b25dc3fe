//! Algorithm 1: splitting optimization over batch local flows.

use crate::State;
use crate::error::{Error, Result};
use crate::splitting::{FlowMap, PieceOrder, PieceSchedule};
use crate::train::IterativeMethod;

/// Splitting optimization (Merkulov & Oseledets, Algorithm 1): for each
/// epoch, for each batch i in the epoch's order, `θ ← φⁱ_h(θ)` where `φⁱ` is
/// the local flow map of batch i (local problem `θ' = −(1/m)∇fᵢ(θ)`) and
/// `h = α·m`.
///
/// One epoch is one Lie–Trotter step of size h of the gradient flow. With
/// explicit-Euler local maps this is exactly SGD with learning rate α; with
/// [`ExactLeastSquaresFlow`](crate::reduction::ExactLeastSquaresFlow) or the
/// reduced logistic / softmax flows it is the paper's splitting optimizer.
/// Each [`step`](IterativeMethod::step) advances one batch ("iteration" in
/// the paper's counts). Batch order: [`PieceOrder`] (fixed = cyclic; shuffled
/// = a fresh seeded permutation each epoch; reversed; palindromic).
///
/// # Reference
/// D. Merkulov, I. Oseledets, *Stochastic gradient algorithms from ODE
/// splitting perspective*, ICLR 2020 DeepDiffEq workshop.
pub struct SplittingOptimizer<'a> {
    pieces: Vec<Box<dyn FlowMap + 'a>>,
    alpha: f64,
    schedule: PieceSchedule,
    perm: Vec<usize>,
    position: usize,
    epochs: usize,
    name: String,
}

impl<'a> SplittingOptimizer<'a> {
    /// The optimizer over the local flow maps `pieces` (one per batch) with
    /// learning rate α (so `h = α·m`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for no pieces or a non-positive /
    /// non-finite α; [`Error::DimensionMismatch`] for pieces of different dimensions.
    pub fn new(pieces: Vec<Box<dyn FlowMap + 'a>>, alpha: f64, order: PieceOrder) -> Result<Self> {
        crate::error::check_positive("learning rate alpha", alpha)?;
        let first = pieces
            .first()
            .ok_or_else(|| Error::invalid("pieces", "[]", "need at least one batch"))?;
        let n = first.dim();
        for (j, p) in pieces.iter().enumerate() {
            crate::error::check_dim(&format!("local flow {j}"), n, p.dim())?;
        }
        let name = format!("splitting ({})", first.name());
        let m = pieces.len();
        Ok(SplittingOptimizer {
            pieces,
            alpha,
            schedule: PieceSchedule::new(order, m),
            perm: (0..m).collect(),
            position: 0,
            epochs: 0,
            name,
        })
    }

    /// The splitting step `h = α·m`.
    pub fn h(&self) -> f64 {
        self.alpha * self.pieces.len() as f64
    }

    /// The learning rate α.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Completed epochs.
    pub fn epochs(&self) -> usize {
        self.epochs
    }

    /// Runs one whole epoch (m batch steps).
    ///
    /// # Errors
    /// As [`IterativeMethod::step`].
    pub fn epoch(&mut self, theta: &mut State) -> Result<()> {
        for _ in 0..self.pieces.len() {
            self.step(theta)?;
        }
        Ok(())
    }
}

impl IterativeMethod for SplittingOptimizer<'_> {
    fn step(&mut self, theta: &mut State) -> Result<()> {
        if self.position == 0 {
            let next = self.schedule.next_step();
            self.perm.copy_from_slice(next);
        }
        let i = self.perm[self.position];
        let h = self.h();
        let t = self.epochs as f64 * h;
        self.pieces[i].advance(t, h, theta)?;
        self.position += 1;
        if self.position == self.pieces.len() {
            self.position = 0;
            self.epochs += 1;
        }
        Ok(())
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}
