//! One-step methods: the [`Stepper`] trait, its statistics, Butcher tableaus
//! as data, and the methods of the library.
//!
//! | stepper | name | order | notes |
//! |---|---|---|---|
//! | [`ExplicitEuler`] | `explicit_euler` | 1 | one f-evaluation per step |
//! | [`ImplicitEuler`] | `implicit_euler` | 1 | Newton with analytic or finite-difference Jacobian; one solve for affine systems |
//! | [`Rk4`] | `rk4` | 4 | classical Runge–Kutta: `ExplicitRk::rk4()` under its own name |
//! | [`Rk45`] | `rk45` | 5 (fixed step), 5(4) adaptive | Dormand–Prince with FSAL, PI control, dense output: `ExplicitRk::dopri5()` under its own name, with Hairer's `CONTD5` dense output |
//! | [`ExplicitRk`] on a [`ButcherTableau`]: | | | generic explicit Runge–Kutta, adaptive when the tableau has an embedded pair |
//! | [`tableau::HEUN2`] | `heun2` | 2 | 2 stages |
//! | [`tableau::RALSTON3`] | `ralston3` | 3 | 3 stages |
//! | [`tableau::BS3`] | `bs3` | 3(2) | Bogacki–Shampine, 4 stages, FSAL, Hermite dense output |
//! | [`tableau::RK4`] | (`rk4`) | 4 | 4 stages |
//! | [`tableau::DOPRI5`] | (`rk45`) | 5(4) | Dormand–Prince, 7 stages, FSAL, 4th-order dense output |
//! | [`tableau::TSIT5`] | `tsit5` | 5(4) | Tsitouras, 7 stages, FSAL, 4th-order dense output |
//! | [`tableau::DOP853`] | `dop853` | 8(5) | Hairer's DOP853 stages, 12 + FSAL; 5th-order estimate only; Hermite dense output |
//!
//! Names are resolved by [`stepper_by_name`] (the list is [`STEPPER_NAMES`]);
//! `rk4` and `rk45` map to [`Rk4`] and [`Rk45`].
//!
//! Steppers own their workspaces: after the first step at a given dimension
//! they do not allocate.

mod embedded;
mod euler;
mod explicit_rk;
mod implicit_euler;
pub(crate) mod lu;
mod registry;
mod rk4;
mod rk45;
mod small_rk;
pub mod tableau;

pub use embedded::DenseSegment;
pub use euler::ExplicitEuler;
pub use explicit_rk::{ExplicitRk, Propagate};
pub use implicit_euler::{ImplicitEuler, NewtonOptions};
pub use registry::{STEPPER_NAMES, explicit_tableau, stepper_by_name};
pub use rk4::Rk4;
pub use rk45::{Rk45, Rk45Solution};
pub use small_rk::SmallRk;
pub use tableau::{ButcherTableau, DenseCoefficients, Weights};

use crate::error::{Error, Result};
use crate::{OdeSystem, Order, State};

/// Work counters of an integration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Accepted steps.
    pub accepted: usize,
    /// Rejected steps (adaptive methods only).
    pub rejected: usize,
    /// Right-hand-side evaluations (including those of finite-difference Jacobians).
    pub f_evals: usize,
    /// Jacobian evaluations (analytic or finite-difference).
    pub jac_evals: usize,
    /// LU factorisations.
    pub factorizations: usize,
    /// Linear solves.
    pub linear_solves: usize,
    /// Newton iterations.
    pub newton_iterations: usize,
}

impl Stats {
    /// Adds another set of counters to this one.
    pub fn add(&mut self, other: &Stats) {
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.f_evals += other.f_evals;
        self.jac_evals += other.jac_evals;
        self.factorizations += other.factorizations;
        self.linear_solves += other.linear_solves;
        self.newton_iterations += other.newton_iterations;
    }
}

/// Error tolerances of an adaptive method: a step is accepted when the RMS
/// norm of `err_i / (atol + rtol·max(|y_i|, |y_new,i|))` is at most 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
}

impl Tolerance {
    /// Validates the tolerances.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `atol ≤ 0`, `rtol ≤ 0`, either is not
    /// finite, or `rtol < 100·ε` (below what double precision can deliver).
    pub fn validate(&self) -> Result<()> {
        crate::error::check_positive("atol", self.atol)?;
        crate::error::check_positive("rtol", self.rtol)?;
        if self.rtol < 100.0 * f64::EPSILON {
            return Err(Error::invalid(
                "rtol",
                self.rtol,
                "must be at least 100·ε ≈ 2.2e-14 (double precision cannot deliver less)",
            ));
        }
        Ok(())
    }
}

/// A one-step method `y ← Φ_h(t, y)`.
///
/// Object safe: solvers and flow maps hold `Box<dyn Stepper>`.
pub trait Stepper: Send {
    /// Short lower-case name (`"rk4"`).
    fn name(&self) -> &'static str;

    /// Global order of accuracy.
    fn order(&self) -> Order;

    /// Advances `y` in place from `t` to `t + h` (`h` may be negative).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a zero or non-finite `h`;
    /// [`Error::DimensionMismatch`] when `y` does not match the system or
    /// the right-hand side resized its output `dy`;
    /// [`Error::NonFinite`] naming `t + h` when the step produced NaN or ±∞
    /// (then `y` holds unspecified values); implicit methods also return
    /// [`Error::NewtonFailed`] and [`Error::SingularMatrix`].
    fn step(
        &mut self,
        system: &dyn OdeSystem,
        t: f64,
        h: f64,
        y: &mut State,
        stats: &mut Stats,
    ) -> Result<()>;

    /// The embedded-error interface, for methods that have one (adaptive driving).
    fn as_embedded(&mut self) -> Option<&mut dyn EmbeddedStepper> {
        None
    }
}

/// A Runge–Kutta pair with an embedded error estimate, driven by
/// [`integrate`](crate::integrate::integrate) in adaptive mode.
pub trait EmbeddedStepper {
    /// Order `q` of the error estimate (the controller uses the exponent 1/(q+1)).
    fn error_order(&self) -> u32;

    /// Forgets any first-same-as-last stage (call before a new integration).
    fn reset(&mut self);

    /// Tries a step of size `h` from `(t, y)`, writing the propagated solution
    /// into `y_new` and returning the weighted RMS error norm (NaN or ∞ if the
    /// trial produced non-finite values: the driver treats that as a rejection).
    #[allow(clippy::too_many_arguments)]
    fn attempt(
        &mut self,
        system: &dyn OdeSystem,
        t: f64,
        h: f64,
        y: &State,
        y_new: &mut State,
        tol: Tolerance,
        stats: &mut Stats,
    ) -> f64;

    /// The error behind the last non-finite [`attempt`](Self::attempt), if it
    /// was not a numerical one (a right-hand side that resized `dy`): the
    /// adaptive driver returns it instead of shrinking the step. Taking it
    /// clears it. The default has none.
    fn take_error(&mut self) -> Option<Error> {
        None
    }

    /// Marks the last attempt accepted (first-same-as-last reuse).
    fn accept(&mut self);

    /// Writes the dense-output segment of the last attempt (from `t`, size `h`,
    /// `y` → `y_new`) into `seg`.
    fn dense_segment(&self, t: f64, h: f64, y: &State, y_new: &State, seg: &mut DenseSegment);
}

/// Checks a step size: finite and non-zero.
///
/// # Errors
/// [`Error::InvalidParameter`] naming `h`.
pub(crate) fn check_step_size(h: f64) -> Result<()> {
    if !h.is_finite() || h == 0.0 {
        return Err(Error::invalid(
            "h",
            h,
            "step size must be finite and non-zero",
        ));
    }
    Ok(())
}

/// The prologue of every [`Stepper::step`]: validates the step arguments
/// (a finite non-zero `h`, `y` of the system's dimension) and sizes the
/// stepper's `workspaces` to `y` ([`fit_all`]).
///
/// # Errors
/// [`Error::InvalidParameter`] naming `h`; [`Error::DimensionMismatch`] naming `y`.
pub(crate) fn begin_step<'a>(
    system: &dyn OdeSystem,
    h: f64,
    y: &State,
    workspaces: impl IntoIterator<Item = &'a mut State>,
) -> Result<()> {
    check_step_size(h)?;
    crate::error::check_dim("state y", system.dim(), y.len())?;
    fit_all(y.len(), workspaces);
    Ok(())
}

/// Evaluates `f(t, y)` into `dy` and checks that the right-hand side left
/// `dy` at its length (a user's `rhs` may resize it; every stepper would then
/// index out of bounds). On a mismatch `dy` is restored to its length
/// (allocating, on this error path only) so the stepper stays usable.
///
/// # Errors
/// [`Error::DimensionMismatch`] naming the stepper and `t`.
pub(crate) fn eval_rhs(
    system: &dyn OdeSystem,
    t: f64,
    y: &State,
    dy: &mut State,
    stepper: &str,
) -> Result<()> {
    let n = dy.len();
    system.rhs(t, y, dy);
    if dy.len() == n {
        return Ok(());
    }
    let found = dy.len();
    *dy = State::zeros(n);
    Err(Error::dimension(
        &format!("dy written by the right-hand side ({stepper} at t = {t})"),
        n,
        found,
    ))
}

/// Resizes a workspace vector to `n` (allocates only when the size changes).
pub(crate) fn fit(v: &mut State, n: usize) {
    if v.len() != n {
        *v = State::zeros(n);
    }
}

/// A state vector the steppers' small-system arithmetic and the adaptive
/// driver work on: the dynamic [`State`] or a fixed-size array
/// ([`SmallRk`], [`integrate_small`](crate::integrate_small)).
pub(crate) trait Entries {
    /// The entries.
    fn entries(&self) -> &[f64];
    /// The entries, mutably.
    fn entries_mut(&mut self) -> &mut [f64];
}

impl Entries for State {
    #[inline(always)]
    fn entries(&self) -> &[f64] {
        self.as_slice()
    }
    #[inline(always)]
    fn entries_mut(&mut self) -> &mut [f64] {
        self.as_mut_slice()
    }
}

impl<const N: usize> Entries for [f64; N] {
    #[inline(always)]
    fn entries(&self) -> &[f64] {
        self
    }
    #[inline(always)]
    fn entries_mut(&mut self) -> &mut [f64] {
        self
    }
}

/// [`fit`] for several workspaces.
/// Systems at most this long take the steppers' stage-by-stage loops for
/// stage sums and error norms: for them, setting up the fused kernels' term
/// arrays (`MAX_STAGES` slices, filled and copied per stage) costs more than
/// the sums (on Lorenz, n = 3, it doubled the time of an Rk45 run). The
/// arithmetic per entry is the same left-to-right sum either way (bitwise).
pub(crate) const SMALL_SYSTEM: usize = 16;

pub(crate) fn fit_all<'a>(n: usize, workspaces: impl IntoIterator<Item = &'a mut State>) {
    for v in workspaces {
        fit(v, n);
    }
}
