//! The Newton flow θ' = −H(θ)⁻¹∇f(θ).

use crate::workspace::Workspace;

use nalgebra::DMatrix;

use crate::objective::Objective;
use crate::{OdeSystem, State};

/// The Newton flow
///
/// $$ θ' = −∇²f(θ)^{-1} ∇f(θ); $$
///
/// Newton's method is its explicit Euler discretization with h = 1, damped
/// Newton with h < 1. Along it, `∇f(θ(t)) = e^{−t}∇f(θ₀)`. The objective must
/// provide a Hessian; where the Hessian is singular (or missing) the field is
/// NaN, which steppers report as a non-finite error.
#[derive(Debug)]
pub struct NewtonFlow<O> {
    objective: O,
    work: Workspace<DMatrix<f64>>,
}

impl<O: Objective> NewtonFlow<O> {
    /// The Newton flow of `objective`.
    pub fn new(objective: O) -> Self {
        let p = objective.dim();
        NewtonFlow {
            objective,
            work: Workspace::new(DMatrix::zeros(p, p)),
        }
    }
}

impl<O: Objective> OdeSystem for NewtonFlow<O> {
    fn dim(&self) -> usize {
        self.objective.dim()
    }
    fn rhs(&self, _t: f64, y: &State, dy: &mut State) {
        self.objective.gradient(y, dy);
        let mut h = self.work.lock();
        let solved = self.objective.hessian(y, &mut h) && h.clone().lu().solve_mut(dy);
        if solved {
            dy.neg_mut();
        } else {
            dy.fill(f64::NAN);
        }
    }
}
