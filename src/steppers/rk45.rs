//! Dormand–Prince 5(4): fixed-step order 5, or adaptive with an embedded
//! order-4 estimate, FSAL and dense output — [`ExplicitRk`] on the DOPRI5
//! tableau under its own name, with Hairer's `CONTD5` dense output.

use super::tableau::DOPRI5_D as D;
use super::{DenseSegment, EmbeddedStepper, ExplicitRk, Propagate, Stats, Stepper, Tolerance};
use crate::error::{Error, Result};
use crate::{OdeSystem, Order, State};

/// Which solution a fixed-step [`Rk45`] propagates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rk45Solution {
    /// The fifth-order solution (local extrapolation; the default). 6 f-evaluations a step.
    #[default]
    Fifth,
    /// The embedded fourth-order solution (for verifying the error estimator's
    /// order). 7 f-evaluations a step.
    EmbeddedFourth,
}

/// Dormand–Prince 5(4) (`DOPRI5`).
///
/// * As a fixed-step [`Stepper`] it propagates the fifth-order solution
///   (order 5, 6 f-evaluations a step; the last stage is not needed) or, on
///   request, the embedded fourth-order one.
/// * As an [`EmbeddedStepper`] it returns the RMS error norm of
///   `h Σ (bᵢ − b̂ᵢ) kᵢ` scaled by `atol + rtol·max(|y|, |y_new|)`, reuses the
///   last stage as the next first one (FSAL), and provides dense output;
///   [`integrate`](crate::integrate::integrate) wraps it in Hairer's PI controller.
///
/// # Reference
/// J. R. Dormand, P. J. Prince, *A family of embedded Runge–Kutta formulae*,
/// J. Comput. Appl. Math. 6 (1980). E. Hairer, S. P. Nørsett, G. Wanner,
/// *Solving Ordinary Differential Equations I*, §II.4–II.6.
///
/// # Example
/// ```
/// use splitflow::{integrate, FnSystem, Rk45, State, Steps, AdaptiveOptions};
/// let decay = FnSystem::new(1, |_t, y: &State, dy: &mut State| dy[0] = -y[0]);
/// let opts = AdaptiveOptions { rtol: 1e-10, atol: 1e-12, ..Default::default() };
/// let sol = integrate(&decay, &mut Rk45::new(), 0.0, 1.0, &State::from_element(1, 1.0),
///                     &Steps::Adaptive(opts))?;
/// assert!((sol.y[0] - (-1.0f64).exp()).abs() < 1e-10);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Rk45 {
    /// The generic stepper on DOPRI5 (stages, FSAL, error estimate).
    rk: ExplicitRk,
}

impl Default for Rk45 {
    fn default() -> Self {
        Rk45 {
            rk: ExplicitRk::dopri5().labelled("RK45", "RK45 step"),
        }
    }
}

impl Rk45 {
    /// A new stepper propagating the fifth-order solution.
    pub fn new() -> Self {
        Self::default()
    }

    /// Chooses which solution fixed steps propagate.
    pub fn with_solution(mut self, solution: Rk45Solution) -> Self {
        self.rk.propagate = match solution {
            Rk45Solution::Fifth => Propagate::Main,
            Rk45Solution::EmbeddedFourth => Propagate::Embedded,
        };
        self
    }
}

impl Stepper for Rk45 {
    fn name(&self) -> &'static str {
        "rk45"
    }

    fn order(&self) -> Order {
        self.rk.order()
    }

    fn step(
        &mut self,
        system: &dyn OdeSystem,
        t: f64,
        h: f64,
        y: &mut State,
        stats: &mut Stats,
    ) -> Result<()> {
        self.rk.step(system, t, h, y, stats)
    }

    fn as_embedded(&mut self) -> Option<&mut dyn EmbeddedStepper> {
        Some(self)
    }
}

impl EmbeddedStepper for Rk45 {
    fn error_order(&self) -> u32 {
        self.rk.error_order()
    }

    fn reset(&mut self) {
        self.rk.reset();
    }

    fn take_error(&mut self) -> Option<Error> {
        self.rk.take_error()
    }

    fn attempt(
        &mut self,
        system: &dyn OdeSystem,
        t: f64,
        h: f64,
        y: &State,
        y_new: &mut State,
        tol: Tolerance,
        stats: &mut Stats,
    ) -> f64 {
        self.rk.attempt(system, t, h, y, y_new, tol, stats)
    }

    fn accept(&mut self) {
        self.rk.accept();
    }

    fn dense_segment(&self, t: f64, h: f64, y: &State, y_new: &State, seg: &mut DenseSegment) {
        // Called before `accept`: k[0] = f(t, y), k[6] = f(t + h, y_new).
        let k = self.rk.stage_derivatives();
        seg.start(t, h, y.len());
        seg.hermite(h, y, y_new, &k[0], &k[6], |i| {
            h * (D[0] * k[0][i]
                + D[2] * k[2][i]
                + D[3] * k[3][i]
                + D[4] * k[4][i]
                + D[5] * k[5][i]
                + D[6] * k[6][i])
        });
    }
}
