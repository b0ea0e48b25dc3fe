//! Algorithm 1: splitting optimization over batch local flows.

use crate::State;
use crate::error::{Error, Result};
use crate::splitting::{FlowMap, PieceOrder, PieceSchedule};

/// Splitting optimization (Merkulov & Oseledets, Algorithm 1): for each
/// epoch, for each batch i in the epoch's order, `θ ← φⁱ_h(θ)` where `φⁱ` is
/// the local flow map of batch i (local problem `θ' = −(1/m)∇fᵢ(θ)`) and
/// `h = α·m`.
///
/// One epoch is one Lie–Trotter step of size h of the gradient flow. With
/// explicit-Euler local maps this is exactly SGD with learning rate α; with
/// [`ExactLeastSquaresFlow`](crate::reduction::ExactLeastSquaresFlow) or the
/// reduced logistic / softmax flows it is the paper's splitting optimizer.
/// Each [`step`](Self::step) advances one batch ("iteration" in
/// the paper's counts). Batch order: [`PieceOrder`] (fixed = cyclic; shuffled
/// = a fresh seeded permutation each epoch; reversed; palindromic).
/// [`step_batch`](Self::step_batch) advances a batch chosen by the caller:
/// the training [`Executor`](crate::train::Executor) uses it, so under the
/// executor its batch order applies and the order given here does not.
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
    /// As [`step`](Self::step).
    pub fn epoch(&mut self, theta: &mut State) -> Result<()> {
        for _ in 0..self.pieces.len() {
            self.step(theta)?;
        }
        Ok(())
    }

    /// One iteration: the next batch of this optimizer's own order.
    ///
    /// # Errors
    /// Whatever the local flow map reports.
    pub fn step(&mut self, theta: &mut State) -> Result<()> {
        if self.position == 0 {
            let next = self.schedule.next_step();
            self.perm.copy_from_slice(next);
        }
        let i = self.perm[self.position];
        self.step_batch(i, theta)
    }

    /// One iteration on batch `i`: `θ ← φⁱ_h(θ)` at time `t = e·h`, with `e`
    /// the epochs completed (every `m` calls, whatever the batches).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `i` is not a batch index; whatever
    /// the local flow map reports.
    pub fn step_batch(&mut self, i: usize, theta: &mut State) -> Result<()> {
        let m = self.pieces.len();
        if i >= m {
            return Err(Error::invalid(
                "batch",
                i,
                &format!("the optimizer has {m} local flows"),
            ));
        }
        let h = self.h();
        let t = self.epochs as f64 * h;
        self.pieces[i].advance(t, h, theta)?;
        self.position += 1;
        if self.position == m {
            self.position = 0;
            self.epochs += 1;
        }
        Ok(())
    }

    /// Number of batches (local flow maps) m.
    pub fn num_batches(&self) -> usize {
        self.pieces.len()
    }

    /// Dimension of θ.
    pub fn dim(&self) -> usize {
        self.pieces[0].dim()
    }

    /// A short description (`splitting (<first piece's name>)`).
    pub fn name(&self) -> &str {
        &self.name
    }
}
