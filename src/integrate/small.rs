//! [`integrate_small`]: the driver of the small-system path ([`SmallRk`] on
//! a [`SmallSystem`]), with the same steps and controller as [`integrate`](super::integrate()).

use super::Steps;
use super::check_span;
use super::controller::{self, Trials, initial_step};
use crate::error::{Error, Result};
use crate::steppers::tableau::ButcherTableau;
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
    if matches!(steps, Steps::Adaptive(_)) && !stepper.is_embedded() {
        return Err(Error::invalid(
            "stepper",
            stepper.tableau().name,
            "has no embedded error estimate; use fixed steps or an embedded pair (rk45, bs3, tsit5, …)",
        ));
    }
    // The named tableaus run with their coefficients as constants (each arm
    // is its own monomorphised loop); any other tableau reads them at run time.
    let tab = *stepper.tableau();
    named::dispatch!(tab, |named| run(system, stepper, named, t0, t1, y0, steps));
    run(system, stepper, Runtime(tab), t0, t1, y0, steps)
}

/// Where the loop of [`integrate_small`] reads its tableau: a named tableau
/// as a type (its coefficients are then compile-time constants in a loop
/// monomorphised for it: zero terms vanish, loops unroll) or any tableau
/// at run time ([`Runtime`]).
trait TableauSource: Copy {
    /// The tableau.
    fn get(&self) -> &ButcherTableau;
}

/// A tableau read at run time.
#[derive(Clone, Copy)]
struct Runtime(ButcherTableau);

impl TableauSource for Runtime {
    #[inline(always)]
    fn get(&self) -> &ButcherTableau {
        &self.0
    }
}

/// The named tableaus as types, and the dispatch to them: the one list of
/// the tableaus that get a loop of their own.
mod named {
    use super::TableauSource;
    use crate::steppers::tableau::{self, ButcherTableau};

    macro_rules! named_tableaus {
        ($($name:ident),+) => {
            $(
                #[doc = concat!("[`tableau::", stringify!($name), "`] as a type.")]
                #[derive(Clone, Copy)]
                #[allow(clippy::upper_case_acronyms)]
                pub(super) struct $name;

                impl TableauSource for $name {
                    #[inline(always)]
                    fn get(&self) -> &ButcherTableau {
                        &tableau::$name
                    }
                }
            )+

            /// Returns `$run(named)` from the enclosing function when `$tab`
            /// is one of the named tableaus (`named` its type's value).
            macro_rules! dispatch {
                ($tab:expr, |$named:ident| $run:expr) => {$(
                    if $tab == crate::steppers::tableau::$name {
                        let $named = named::$name;
                        return $run;
                    }
                )+};
            }
            pub(super) use dispatch;
        };
    }

    named_tableaus!(DOPRI5, TSIT5, RK4, EULER);
}

/// The fixed or adaptive loop of [`integrate_small`] on the tableau of
/// `tab` (arguments validated).
#[inline(always)]
fn run<const N: usize, S: SmallSystem<N>, T: TableauSource>(
    system: &S,
    stepper: &mut SmallRk<N>,
    tab: T,
    t0: f64,
    t1: f64,
    y0: &[f64; N],
    steps: &Steps,
) -> Result<SmallSolution<N>> {
    let mut y = *y0;
    let mut stats = Stats::default();
    let span = t1 - t0;
    match steps.count(span)? {
        Some(n) => {
            let h = span / n as f64;
            for i in 0..n {
                stepper.step_with(tab.get(), system, t0 + i as f64 * h, h, &mut y, &mut stats)?;
            }
        }
        None => {
            let Steps::Adaptive(opts) = steps else {
                unreachable!("only adaptive steps have no count")
            };
            let mut trials = SmallTrials {
                system,
                stepper,
                tab,
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
struct SmallTrials<'a, const N: usize, S, T> {
    system: &'a S,
    stepper: &'a mut SmallRk<N>,
    tab: T,
    y: [f64; N],
    y_new: [f64; N],
}

impl<const N: usize, S: SmallSystem<N>, T: TableauSource> Trials for SmallTrials<'_, N, S, T> {
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
        self.stepper.attempt(
            self.tab.get(),
            self.system,
            t,
            h,
            &self.y,
            &mut self.y_new,
            tol,
            stats,
        )
    }

    fn take_error(&mut self) -> Option<Error> {
        None
    }

    #[inline(always)]
    fn accept(&mut self, _t: f64, _h: f64, _t_new: f64) {
        self.stepper.accept(self.tab.get());
        self.y = self.y_new;
    }
}
