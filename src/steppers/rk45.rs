//! Dormand–Prince 5(4): fixed-step order 5, or adaptive with an embedded
//! order-4 estimate, FSAL and dense output.

use super::embedded::{AttemptFrame, error_norm};
use super::tableau::DOPRI5;
use super::{EmbeddedStepper, Stats, Stepper, Tolerance, check_step, eval_rhs, fit};
use crate::error::{Error, Result};
use crate::kernels::{lincomb, lincomb_checked};
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

/// Dense-output coefficients of Dormand–Prince (Hairer, Nørsett & Wanner,
/// `CONTD5`): on a step from `t` of size `h`, with θ = (s − t)/h,
///
/// $$ y(s) = r_1 + θ\,(r_2 + (1-θ)\,(r_3 + θ\,(r_4 + (1-θ)\,r_5))), $$
///
/// a fourth-order continuous extension.
#[derive(Debug, Clone, Default)]
pub struct DenseSegment {
    /// Start of the step.
    pub t: f64,
    /// Step size.
    pub h: f64,
    /// The five coefficient vectors.
    pub r: [State; 5],
}

impl DenseSegment {
    /// Writes the interpolant at time `s` (inside the step) into `out`.
    pub fn eval_into(&self, s: f64, out: &mut State) {
        let th = (s - self.t) / self.h;
        let th1 = 1.0 - th;
        fit(out, self.r[0].len());
        for i in 0..out.len() {
            let r = |k: usize| self.r[k][i];
            out[i] = r(0) + th * (r(1) + th1 * (r(2) + th * (r(3) + th1 * r(4))));
        }
    }
}

use super::tableau::DOPRI5_D as D;

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
#[derive(Debug, Clone, Default)]
pub struct Rk45 {
    k: [State; 7],
    stage: State,
    solution: Rk45Solution,
    /// First-stage reuse and the kept error between adaptive attempts.
    frame: AttemptFrame,
}

impl Rk45 {
    /// A new stepper propagating the fifth-order solution.
    pub fn new() -> Self {
        Self::default()
    }

    /// Chooses which solution fixed steps propagate.
    pub fn with_solution(mut self, solution: Rk45Solution) -> Self {
        self.solution = solution;
        self
    }

    fn fit(&mut self, n: usize) {
        for k in &mut self.k {
            fit(k, n);
        }
        fit(&mut self.stage, n);
    }

    /// Stages 2..=6 (k[0] must hold f(t, y)); writes the fifth-order solution
    /// into `y_new` and returns the non-finite probe.
    fn stages(
        &mut self,
        system: &dyn OdeSystem,
        t: f64,
        h: f64,
        y: &[f64],
        y_new: &mut [f64],
    ) -> Result<f64> {
        for i in 1..6 {
            let (done, rest) = self.k.split_at_mut(i);
            let mut terms: [(f64, &[f64]); 6] = [(0.0, &[]); 6];
            for (j, kj) in done.iter().enumerate() {
                terms[j] = (h * DOPRI5.a[i][j], kj.as_slice());
            }
            lincomb(self.stage.as_mut_slice(), Some(y), &terms[..i]);
            eval_rhs(
                system,
                t + DOPRI5.c[i] * h,
                &self.stage,
                &mut rest[0],
                "RK45",
            )?;
        }
        let a = DOPRI5.a[6];
        let k = &self.k;
        Ok(lincomb_checked(
            y_new,
            Some(y),
            &[
                (h * a[0], k[0].as_slice()),
                (h * a[2], k[2].as_slice()),
                (h * a[3], k[3].as_slice()),
                (h * a[4], k[4].as_slice()),
                (h * a[5], k[5].as_slice()),
            ],
        ))
    }
}

impl Stepper for Rk45 {
    fn name(&self) -> &'static str {
        "rk45"
    }

    fn order(&self) -> Order {
        match self.solution {
            Rk45Solution::Fifth => Order::Finite(5),
            Rk45Solution::EmbeddedFourth => Order::Finite(4),
        }
    }

    fn step(
        &mut self,
        system: &dyn OdeSystem,
        t: f64,
        h: f64,
        y: &mut State,
        stats: &mut Stats,
    ) -> Result<()> {
        check_step(system, h, y)?;
        let n = y.len();
        self.fit(n);
        self.frame.invalidate();
        eval_rhs(system, t, y, &mut self.k[0], "RK45")?;
        let mut y_new = std::mem::take(&mut self.k[6]);
        let probe = self.stages(system, t, h, y.as_slice(), y_new.as_mut_slice());
        let mut probe = match probe {
            Ok(p) => p,
            Err(e) => {
                self.k[6] = y_new;
                return Err(e);
            }
        };
        stats.f_evals += 6;
        if self.solution == Rk45Solution::EmbeddedFourth {
            let mut k7 = std::mem::take(&mut self.stage);
            if let Err(e) = eval_rhs(system, t + h, &y_new, &mut k7, "RK45") {
                (self.stage, self.k[6]) = (k7, y_new);
                return Err(e);
            }
            stats.f_evals += 1;
            let bh = DOPRI5.b_embedded.expect("DOPRI5 has an embedded solution");
            let k = &self.k;
            probe = lincomb_checked(
                y_new.as_mut_slice(),
                Some(y.as_slice()),
                &[
                    (h * bh[0], k[0].as_slice()),
                    (h * bh[2], k[2].as_slice()),
                    (h * bh[3], k[3].as_slice()),
                    (h * bh[4], k[4].as_slice()),
                    (h * bh[5], k[5].as_slice()),
                    (h * bh[6], k7.as_slice()),
                ],
            );
            self.stage = k7;
        }
        std::mem::swap(y, &mut y_new);
        self.k[6] = y_new;
        stats.accepted += 1;
        if probe.is_nan() {
            return Err(Error::non_finite("RK45 step", t + h));
        }
        Ok(())
    }

    fn as_embedded(&mut self) -> Option<&mut dyn EmbeddedStepper> {
        Some(self)
    }
}

impl EmbeddedStepper for Rk45 {
    fn error_order(&self) -> u32 {
        4
    }

    fn reset(&mut self) {
        self.frame.reset();
    }

    fn take_error(&mut self) -> Option<Error> {
        self.frame.take_error()
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
        let n = y.len();
        self.fit(n);
        fit(y_new, n);
        if !self
            .frame
            .first_stage(system, t, y, &mut self.k[0], "RK45", stats)
        {
            return f64::NAN;
        }
        let probe = self
            .stages(system, t, h, y.as_slice(), y_new.as_mut_slice())
            .and_then(|p| eval_rhs(system, t + h, y_new, &mut self.k[6], "RK45").map(|()| p));
        let probe = match probe {
            Ok(p) => p,
            Err(e) => return self.frame.fail(e),
        };
        stats.f_evals += 6;
        if probe.is_nan() {
            return f64::NAN;
        }
        let b = DOPRI5.b;
        let bh = DOPRI5.b_embedded.expect("DOPRI5 has an embedded solution");
        // b₂ = b̂₂ = 0: the five other stages and f(t + h, y_new).
        let e = [0, 2, 3, 4, 5, 6].map(|j| h * (b[j] - bh[j]));
        let k = &self.k;
        let ks = [0, 2, 3, 4, 5, 6].map(|j| k[j].as_slice());
        error_norm(&e, &ks, y, y_new, tol)
    }

    fn accept(&mut self) {
        self.k.swap(0, 6);
        self.frame.accepted();
    }

    fn dense_segment(&self, t: f64, h: f64, y: &State, y_new: &State, seg: &mut DenseSegment) {
        // Called before `accept`: k[0] = f(t, y), k[6] = f(t + h, y_new).
        let n = y.len();
        for r in &mut seg.r {
            fit(r, n);
        }
        seg.t = t;
        seg.h = h;
        let k = &self.k;
        for i in 0..n {
            let ydiff = y_new[i] - y[i];
            let bspl = h * k[0][i] - ydiff;
            seg.r[0][i] = y[i];
            seg.r[1][i] = ydiff;
            seg.r[2][i] = bspl;
            seg.r[3][i] = ydiff - h * k[6][i] - bspl;
            seg.r[4][i] = h
                * (D[0] * k[0][i]
                    + D[2] * k[2][i]
                    + D[3] * k[3][i]
                    + D[4] * k[4][i]
                    + D[5] * k[5][i]
                    + D[6] * k[6][i]);
        }
    }
}
