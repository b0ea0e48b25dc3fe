//! The local problems of a finite sum: θ' = −(1/m)∇fᵢ(θ).

use nalgebra::DMatrix;

use crate::objective::FiniteSum;
use crate::{OdeSystem, State};

/// The local problem `Pᵢ` of batch `i` of a finite sum `f = (1/m) Σ fᵢ`:
///
/// $$ θ' = −\tfrac{1}{m} ∇f_i(θ). $$
///
/// The m local fields add up to the gradient flow of `f`. One explicit-Euler
/// step of size `h = α·m` on `Pᵢ` is the SGD step `θ ← θ − α∇fᵢ(θ)`, so one
/// SGD epoch is one Lie–Trotter step of the gradient flow over the `Pᵢ`
/// (Merkulov & Oseledets).
#[derive(Debug, Clone, Copy)]
pub struct LocalFlow<F> {
    sum: F,
    batch: usize,
}

impl<F: FiniteSum> LocalFlow<F> {
    /// The local problem of batch `batch` (panics never: an out-of-range batch
    /// is clamped by [`local_flows`]; construct through it).
    pub fn new(sum: F, batch: usize) -> Self {
        LocalFlow { sum, batch }
    }

    /// The batch index.
    pub fn batch(&self) -> usize {
        self.batch
    }
}

impl<F: FiniteSum> OdeSystem for LocalFlow<F> {
    fn dim(&self) -> usize {
        self.sum.dim()
    }
    fn rhs(&self, _t: f64, y: &State, dy: &mut State) {
        let s = -1.0 / self.sum.num_batches() as f64;
        self.sum.batch_gradient_scaled(self.batch, y, s, dy);
    }
    fn jacobian(&self, _t: f64, y: &State, jac: &mut DMatrix<f64>) -> bool {
        if self.sum.batch_hessian(self.batch, y, jac) {
            *jac *= -1.0 / self.sum.num_batches() as f64;
            true
        } else {
            false
        }
    }
    /// A gradient flow: dissipative (backward steps are ill-posed).
    fn is_dissipative(&self) -> bool {
        true
    }
}

/// All m local problems of a finite sum (borrowing it).
///
/// # Example
/// ```
/// use nalgebra::{dmatrix, dvector};
/// use splitflow::flows::local_flows;
/// use splitflow::objective::QuadraticSum;
/// let x = dmatrix![1.0, 0.0; 0.0, 1.0; 1.0, 1.0; 2.0, 0.0];
/// let sum = QuadraticSum::least_squares(&x, &dvector![1.0, 2.0, 3.0, 4.0], 2)?;
/// assert_eq!(local_flows(&sum).len(), 2);
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn local_flows<F: FiniteSum>(sum: &F) -> Vec<LocalFlow<&F>> {
    (0..sum.num_batches())
        .map(|i| LocalFlow::new(sum, i))
        .collect()
}
