//! The gradient flow θ' = −∇f(θ) and its loss-monotonicity diagnostic.

use nalgebra::DMatrix;

use crate::objective::Objective;
use crate::{OdeSystem, State};

/// The gradient flow of an objective:
///
/// $$ θ'(t) = −∇f(θ(t)), $$
///
/// with Jacobian `−∇²f` when the objective provides a Hessian. Explicit Euler
/// with step h on it is gradient descent with learning rate h; implicit Euler
/// is the proximal-point method. Along the exact flow the loss never increases:
/// `d f(θ(t))/dt = −‖∇f‖²`.
///
/// # Example
/// ```
/// use nalgebra::{dmatrix, dvector};
/// use splitflow::flows::GradientFlow;
/// use splitflow::objective::Quadratic;
/// use splitflow::{integrate, ExplicitEuler, Steps};
/// let q = Quadratic::new(dmatrix![1.0, 0.0; 0.0, 2.0], dvector![0.0, 0.0])?;
/// let flow = GradientFlow::new(q);
/// // 10 gradient-descent steps of learning rate 0.1 = explicit Euler over [0, 1].
/// let sol = integrate(&flow, &mut ExplicitEuler::new(), 0.0, 1.0, &dvector![1.0, 1.0], &Steps::Fixed(10))?;
/// assert!((sol.y[0] - 0.9f64.powi(10)).abs() < 1e-15);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct GradientFlow<O> {
    objective: O,
}

impl<O: Objective> GradientFlow<O> {
    /// The gradient flow of `objective`.
    pub fn new(objective: O) -> Self {
        GradientFlow { objective }
    }

    /// The objective.
    pub fn objective(&self) -> &O {
        &self.objective
    }
}

impl<O: Objective> OdeSystem for GradientFlow<O> {
    fn dim(&self) -> usize {
        self.objective.dim()
    }
    fn rhs(&self, _t: f64, y: &State, dy: &mut State) {
        self.objective.gradient(y, dy);
        dy.neg_mut();
    }
    fn jacobian(&self, _t: f64, y: &State, jac: &mut DMatrix<f64>) -> bool {
        if self.objective.hessian(y, jac) {
            jac.neg_mut();
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

/// The first step of a trajectory along which the loss increased.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossIncrease {
    /// Index of the step's end point in the trajectory.
    pub step: usize,
    /// Time of the step's end.
    pub t: f64,
    /// Loss before the step.
    pub before: f64,
    /// Loss after the step.
    pub after: f64,
}

/// Checks that the loss does not increase along a computed gradient-flow
/// trajectory (as recorded by [`integrate_with`](crate::integrate_with) with
/// [`Record::Steps`](crate::Record::Steps)); returns the first violation, if
/// any. Increases within `rel_tol·max(1, |f|)` (round-off) are ignored.
///
/// A violation means the step size left the region where the discretization
/// inherits the flow's Lyapunov property (for explicit Euler, h > 2/L).
///
/// # Example
/// ```
/// use nalgebra::{dmatrix, dvector};
/// use splitflow::flows::{GradientFlow, first_loss_increase};
/// use splitflow::objective::Quadratic;
/// use splitflow::{integrate_with, ExplicitEuler, Record, Steps};
/// let q = Quadratic::new(dmatrix![10.0], dvector![0.0])?;
/// let flow = GradientFlow::new(q.clone());
/// // h = 0.25 > 2/L = 0.2: explicit Euler oscillates with growing loss.
/// let sol = integrate_with(&flow, &mut ExplicitEuler::new(), 0.0, 1.0, &dvector![1.0],
///                          &Steps::Fixed(4), Record::Steps)?;
/// let bad = first_loss_increase(&q, sol.trajectory.as_deref().unwrap(), 1e-12).unwrap();
/// assert_eq!(bad.step, 1);
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn first_loss_increase<O: Objective + ?Sized>(
    objective: &O,
    trajectory: &[(f64, State)],
    rel_tol: f64,
) -> Option<LossIncrease> {
    let mut before = objective.value(&trajectory.first()?.1);
    for (step, (t, y)) in trajectory.iter().enumerate().skip(1) {
        let after = objective.value(y);
        let allowed = before + rel_tol * before.abs().max(1.0);
        if after.is_nan() || after > allowed {
            return Some(LossIncrease {
                step,
                t: *t,
                before,
                after,
            });
        }
        before = after;
    }
    None
}
