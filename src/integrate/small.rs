//! [`integrate_small`]: the driver of the small-system path ([`SmallRk`] on
//! a [`SmallSystem`]), with the same steps and controller as [`integrate`](super::integrate()).

use super::Steps;
use super::check_span;
use super::controller::{self, Trials, initial_step};
use crate::error::{Error, Result};
use crate::steppers::{SmallRk, Stats, Tolerance};
use crate::{AdaptiveOptions, SmallSystem};

/// Result of [`integrate_small`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SmallSolution<const N: usize> {
    /// Final time (exactly `t1`).
    pub t: f64,
    /// Final state.
    pub y: [f64; N],
    /// Work counters.
    pub stats: Stats,
}

/// Integrates the small system `y' = f(t, y)`, `y ∈ ℝᴺ` with `N` known at
/// compile time, from `(t0, y0)` to `t1` with an explicit Runge–Kutta
/// [`SmallRk`]: fixed steps or adaptive steps under the same controller as
/// [`integrate`](super::integrate()) (Hairer's PI controller and starting
/// step, landing exactly on `t1`).
///
/// The states and counters are bitwise those of [`integrate`](super::integrate())
/// with the dynamic stepper of the same tableau ([`Rk45`](crate::Rk45),
/// [`Rk4`](crate::Rk4), [`ExplicitEuler`](crate::ExplicitEuler),
/// [`ExplicitRk`](crate::ExplicitRk)) on the same system; only the per-step
/// overhead differs (no allocation, no `&dyn` calls: see docs/benchmarks.md
/// for the Lorenz timings against ode_solvers' static `Vector3` state).
///
/// # Errors
/// * [`Error::NonFinite`] — `y0`, `t0` or `t1` not finite, or a fixed step
///   produced NaN/∞ (naming the time);
/// * [`Error::InvalidParameter`] — `t1 == t0`, invalid [`Steps`], or
///   adaptive steps asked of a tableau without an embedded pair;
/// * [`Error::StepSizeUnderflow`], [`Error::MaxStepsExceeded`] — as
///   [`integrate`](super::integrate()).
///
/// # Example
/// ```
/// use splitflow::test_models::Lorenz;
/// use splitflow::{integrate, integrate_small, AdaptiveOptions, Rk45, SmallRk, State, Steps};
/// let steps = Steps::Adaptive(AdaptiveOptions::with_tolerance(1e-8));
/// let small = integrate_small(&Lorenz::default(), &mut SmallRk::rk45(), 0.0, 2.0,
///                             &[1.0, 1.0, 1.0], &steps)?;
/// let dynamic = integrate(&Lorenz::default(), &mut Rk45::new(), 0.0, 2.0,
///                         &State::from_element(3, 1.0), &steps)?;
/// assert_eq!(small.y.as_slice(), dynamic.y.as_slice()); // bitwise
/// assert_eq!(small.stats, dynamic.stats);
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn integrate_small<const N: usize, S: SmallSystem<N>>(
    system: &S,
    stepper: &mut SmallRk<N>,
    t0: f64,
    t1: f64,
    y0: &[f64; N],
    steps: &Steps,
) -> Result<SmallSolution<N>> {
    check_span(t0, t1)?;
    if !crate::kernels::all_finite(y0) {
        return Err(Error::non_finite_input("initial state y0", Some(t0)));
    }
    steps.validate()?;
    let mut y = *y0;
    let mut stats = Stats::default();
    let span = t1 - t0;
    match steps.count(span)? {
        Some(n) => {
            let h = span / n as f64;
            for i in 0..n {
                stepper.step(system, t0 + i as f64 * h, h, &mut y, &mut stats)?;
            }
        }
        None => {
            let Steps::Adaptive(opts) = steps else {
                unreachable!("only adaptive steps have no count")
            };
            if !stepper.is_embedded() {
                return Err(Error::invalid(
                    "stepper",
                    stepper.tableau().name,
                    "has no embedded error estimate; use fixed steps or an embedded pair (rk45, bs3, tsit5, …)",
                ));
            }
            let mut trials = SmallTrials {
                system,
                stepper,
                y,
                y_new: [0.0; N],
            };
            controller::adaptive_core(&mut trials, t0, t1, opts, &mut stats)?;
            y = trials.y;
        }
    }
    Ok(SmallSolution { t: t1, y, stats })
}

/// The adaptive trials of a [`SmallRk`] on its stack state.
struct SmallTrials<'a, const N: usize, S> {
    system: &'a S,
    stepper: &'a mut SmallRk<N>,
    y: [f64; N],
    y_new: [f64; N],
}

impl<const N: usize, S: SmallSystem<N>> Trials for SmallTrials<'_, N, S> {
    fn error_order(&self) -> u32 {
        self.stepper.error_order()
    }

    fn initial_step(
        &mut self,
        t0: f64,
        dir: f64,
        opts: &AdaptiveOptions,
        h_max: f64,
        stats: &mut Stats,
    ) -> f64 {
        let system = self.system;
        let mut work = ([0.0; N], [0.0; N], [0.0; N]);
        initial_step(
            |t, y: &[f64; N], dy: &mut [f64; N]| {
                system.rhs(t, y, dy);
                true
            },
            t0,
            &self.y,
            dir,
            self.error_order(),
            opts,
            h_max,
            (&mut work.0, &mut work.1, &mut work.2),
            stats,
        )
    }

    fn reset(&mut self) {
        self.stepper.reset();
    }

    #[inline(always)]
    fn attempt(&mut self, t: f64, h: f64, tol: Tolerance, stats: &mut Stats) -> f64 {
        self.stepper
            .attempt(self.system, t, h, &self.y, &mut self.y_new, tol, stats)
    }

    fn take_error(&mut self) -> Option<Error> {
        None
    }

    #[inline(always)]
    fn accept(&mut self, _t: f64, _h: f64, _t_new: f64) {
        self.stepper.accept();
        self.y = self.y_new;
    }
}
