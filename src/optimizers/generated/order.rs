//! The order of an optimizer as an integrator of its flow.

use super::source::{GradientSource, SourceBuffers};
use super::{GeneratedOptimizer, PieceSystem};
use crate::error::{Error, Result, check_positive};
use crate::objective::{Objective, Quadratic, Rosenbrock};
use crate::optimizers::{ObjectiveOracle, Optimizer};
use crate::{AdaptiveOptions, ConvergenceReport, ConvergenceStudy, Rk45, State, Steps};

/// A full-batch test objective with its starting point.
pub struct OrderObjective {
    objective: Box<dyn Objective + Send>,
    x0: State,
    label: String,
}

impl OrderObjective {
    /// `f(x) = ½ Σ λᵢ xᵢ²` from `x₀ = (1, …, 1)`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for no eigenvalues or a non-finite one.
    pub fn quadratic(eigenvalues: &[f64]) -> Result<Self> {
        if eigenvalues.is_empty() {
            return Err(Error::invalid("eigenvalues", "[]", "need at least one"));
        }
        if let Some(l) = eigenvalues.iter().find(|l| !l.is_finite()) {
            return Err(Error::invalid("eigenvalues", l, "must be finite"));
        }
        let n = eigenvalues.len();
        let a = nalgebra::DMatrix::from_diagonal(&State::from_column_slice(eigenvalues));
        Ok(OrderObjective {
            objective: Box::new(Quadratic::new(a, State::zeros(n))?),
            x0: State::from_element(n, 1.0),
            label: format!("quadratic with eigenvalues {eigenvalues:?}"),
        })
    }

    /// The Rosenbrock function (a = 100) from `x₀ = (−1.2, 1)`.
    pub fn rosenbrock() -> Self {
        OrderObjective {
            objective: Box::new(Rosenbrock { n: 2, a: 100.0 }),
            x0: State::from_vec(vec![-1.2, 1.0]),
            label: "rosenbrock (a = 100)".into(),
        }
    }

    /// Any objective from `x0`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `x0` does not fit the objective.
    pub fn custom(objective: Box<dyn Objective + Send>, x0: State, label: &str) -> Result<Self> {
        crate::error::check_dim("x0", objective.dim(), x0.len())?;
        Ok(OrderObjective {
            objective,
            x0,
            label: label.into(),
        })
    }

    /// A description.
    pub fn label(&self) -> &str {
        &self.label
    }
}

/// Measures an optimizer as an integrator of its flow: for each n in
/// `steps`, a fresh optimizer from `factory(h)` with h = T/n takes n
/// full-batch steps on `objective` from x₀ (velocities and moments zero);
/// its θ is compared with the flow's x at time T, computed by adaptive
/// Dormand–Prince (rtol = atol = 1e-13) on the optimizer's own flow, and the
/// order is fitted ([`ConvergenceStudy`]; the effective order is the
/// scheme's).
///
/// # Example
/// ```
/// use splitflow::optimizers::{FlowKind, GeneratedFlow, GeneratedOptimizer, OrderObjective, Scheme, order_study};
/// let obj = OrderObjective::quadratic(&[1.0, 4.0])?;
/// let report = order_study(|h| {
///     GeneratedOptimizer::new(Box::new(GeneratedFlow::new(FlowKind::Gradient)?), Scheme::stepper("rk4")?, h)
/// }, &obj, 1.0, &[32, 64, 128, 256])?;
/// assert!((report.fitted_order - 4.0).abs() < 0.15);
/// # Ok::<(), splitflow::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for a non-positive `t_end` or fewer than two
/// levels; errors of the factory, the optimizer steps and the reference run.
pub fn order_study(
    mut factory: impl FnMut(f64) -> Result<GeneratedOptimizer>,
    objective: &OrderObjective,
    t_end: f64,
    steps: &[usize],
) -> Result<ConvergenceReport> {
    check_positive("t_end", t_end)?;
    let first = factory(t_end / steps.first().copied().unwrap_or(1).max(1) as f64)?;
    let reference = flow_reference(&first, objective, t_end)?;
    let study = ConvergenceStudy::new(steps.to_vec(), t_end).with_effective_order(first.order());
    study.run(&reference, |n| {
        let mut opt = factory(t_end / n as f64)?;
        let mut oracle = ObjectiveOracle(objective.objective.as_ref());
        let mut x = objective.x0.clone();
        for _ in 0..n {
            opt.step(&mut x, &mut oracle)?;
        }
        Ok(x)
    })
}

/// θ at time t₀ + T along the optimizer's flow (adaptive RK45, tight tolerance).
fn flow_reference(
    opt: &GeneratedOptimizer,
    objective: &OrderObjective,
    t_end: f64,
) -> Result<State> {
    let p = objective.x0.len();
    let n = (1 + opt.flow.aux_blocks()) * p;
    let mut y0 = State::zeros(n);
    y0.rows_mut(0, p).copy_from(&objective.x0);
    let mut buffers = SourceBuffers::default();
    let mut oracle = ObjectiveOracle(objective.objective.as_ref());
    let src = GradientSource::new(&mut oracle, &mut buffers, p, None, 0.0, &[]);
    let sys = PieceSystem {
        flow: opt.flow.as_ref(),
        piece: None,
        src: &src,
        dim: n,
    };
    let sol = crate::integrate(
        &sys,
        &mut Rk45::new(),
        opt.t0,
        opt.t0 + t_end,
        &y0,
        &Steps::Adaptive(AdaptiveOptions::with_tolerance(1e-13)),
    )?;
    if let Some(e) = src.take_error() {
        return Err(e);
    }
    Ok(sol.y.rows(0, p).into_owned())
}
