//! What the executor drives: one step of a method on a batch it chooses.

use crate::State;
use crate::error::Result;
use crate::objective::FiniteSum;
use crate::optimizers::{BatchOracle, Optimizer, SplittingOptimizer};

/// One step of a training method on the batch the
/// [`Executor`](super::Executor) chose from its batch order.
///
/// Implemented by [`OptimizerOnSum`] (an [`Optimizer`] with the mini-batch
/// oracle of a [`FiniteSum`]) and by [`SplittingOptimizer`] (which owns its
/// local flows).
pub trait TrainMethod {
    /// Steps in one epoch: the number of batches m.
    fn batches(&self) -> usize;
    /// Dimension of θ.
    fn dim(&self) -> usize;
    /// Advances `theta` by one step on batch `batch` (`< batches()`).
    ///
    /// # Errors
    /// Whatever the method reports; [`Error::NonFinite`](crate::Error::NonFinite)
    /// counts as divergence in the executor, with the reason its `kind` says
    /// ([`Divergence::from_error`](super::Divergence::from_error)).
    fn step(&mut self, batch: usize, theta: &mut State) -> Result<()>;
}

/// An [`Optimizer`] over the mini-batch [`BatchOracle`] of a [`FiniteSum`]:
/// each step sets the oracle to the batch and calls [`Optimizer::step`].
pub struct OptimizerOnSum<'a, F: ?Sized> {
    optimizer: &'a mut dyn Optimizer,
    oracle: BatchOracle<'a, F>,
}

impl<'a, F: FiniteSum + ?Sized> OptimizerOnSum<'a, F> {
    /// `optimizer` on the batches of `sum`.
    pub fn new(optimizer: &'a mut dyn Optimizer, sum: &'a F) -> Self {
        OptimizerOnSum {
            optimizer,
            oracle: BatchOracle::new(sum),
        }
    }
}

impl<F: FiniteSum + ?Sized> TrainMethod for OptimizerOnSum<'_, F> {
    fn batches(&self) -> usize {
        self.oracle.sum().num_batches()
    }
    fn dim(&self) -> usize {
        self.oracle.sum().dim()
    }
    fn step(&mut self, batch: usize, theta: &mut State) -> Result<()> {
        self.oracle.set_batch(batch)?;
        self.optimizer.step(theta, &mut self.oracle)
    }
}

impl TrainMethod for SplittingOptimizer<'_> {
    fn batches(&self) -> usize {
        self.num_batches()
    }
    fn dim(&self) -> usize {
        SplittingOptimizer::dim(self)
    }
    fn step(&mut self, batch: usize, theta: &mut State) -> Result<()> {
        self.step_batch(batch, theta)
    }
}
