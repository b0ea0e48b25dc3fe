//! [`Integrator`]: a stepper, how it covers a span, and its reused workspaces.

use std::fmt;

use super::{DriverWorkspace, Steps, advance_in_place};
use crate::error::Result;
use crate::{OdeSystem, Order, State, Stats, Stepper};

/// How a flow is advanced: a [`Stepper`] with its [`Steps`] (fixed count,
/// maximum size or adaptive with tolerances), owning the stepper's and the
/// driver's workspaces and the accumulated [`Stats`].
///
/// One advance over `[t0, t1]` is exactly [`integrate`](crate::integrate())
/// with the same stepper and steps (bitwise equal states and counters), run
/// in place: after the first advance at a dimension it does not allocate
/// (provided the system's `rhs` does not). Splitting pieces
/// ([`Integrated`](crate::splitting::Integrated)), the QR-reduced local flows
/// of [`reduction`](crate::reduction) and the specs all hold one.
///
/// Its [`order`](Self::order) is the stepper's for equal steps and
/// [`Order::Exact`] for adaptive steps (the error is then set by the
/// tolerance, not by the span).
///
/// # Example
/// ```
/// use splitflow::{AdaptiveOptions, FnSystem, Integrator, Order, Rk4, Rk45, State};
/// let decay = FnSystem::new(1, |_t, y: &State, dy: &mut State| dy[0] = -y[0]);
/// let mut rk4 = Integrator::fixed(Rk4::new(), 10)?;
/// assert_eq!(rk4.order(), Order::Finite(4));
/// let mut y = State::from_element(1, 1.0);
/// rk4.advance(&decay, 0.0, 1.0, &mut y)?;
/// assert!((y[0] - (-1.0f64).exp()).abs() < 1e-6);
/// assert_eq!(rk4.stats().f_evals, 40);
///
/// let mut dp = Integrator::adaptive(Rk45::new(), AdaptiveOptions::with_tolerance(1e-10))?;
/// assert_eq!(dp.order(), Order::Exact);
/// let mut y = State::from_element(1, 1.0);
/// dp.advance(&decay, 0.0, 1.0, &mut y)?;
/// assert!((y[0] - (-1.0f64).exp()).abs() < 1e-9);
/// # Ok::<(), splitflow::Error>(())
/// ```
pub struct Integrator {
    stepper: Box<dyn Stepper>,
    steps: Steps,
    work: DriverWorkspace,
    stats: Stats,
}

impl Integrator {
    /// `stepper` driven by `steps`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for invalid
    /// steps ([`Steps::validate`]) or adaptive steps asked of a stepper
    /// without an embedded error estimate.
    pub fn new(mut stepper: Box<dyn Stepper>, steps: Steps) -> Result<Self> {
        steps.validate_for(stepper.as_mut())?;
        Ok(Integrator {
            stepper,
            steps,
            work: DriverWorkspace::default(),
            stats: Stats::default(),
        })
    }

    /// `n` equal steps of `stepper` per advance.
    ///
    /// # Errors
    /// As [`new`](Self::new) (`n = 0`).
    pub fn fixed(stepper: impl Stepper + 'static, n: usize) -> Result<Self> {
        Self::new(Box::new(stepper), Steps::Fixed(n))
    }

    /// Adaptive steps of an embedded pair per advance.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn adaptive(
        stepper: impl Stepper + 'static,
        options: super::AdaptiveOptions,
    ) -> Result<Self> {
        Self::new(Box::new(stepper), Steps::Adaptive(options))
    }

    /// Advances `y` in place from `t` to `t + h` (see
    /// [`integrate_in_place`](super::integrate_in_place); equal steps have
    /// size exactly `h/n`); counters are added to [`stats`](Self::stats).
    ///
    /// # Errors
    /// As [`integrate`](crate::integrate()).
    pub fn advance(&mut self, system: &dyn OdeSystem, t: f64, h: f64, y: &mut State) -> Result<()> {
        advance_in_place(
            system,
            self.stepper.as_mut(),
            t,
            h,
            y,
            &self.steps,
            &mut self.work,
            &mut self.stats,
        )
    }

    /// The order of one advance as an approximation of the exact flow.
    pub fn order(&self) -> Order {
        self.steps.order_with(self.stepper.order())
    }

    /// How a span is covered.
    pub fn steps(&self) -> &Steps {
        &self.steps
    }

    /// The stepper's name.
    pub fn stepper_name(&self) -> &'static str {
        self.stepper.name()
    }

    /// Counters accumulated over every advance.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// A short description: `"rk4 x8"`, `"rk45 adaptive (rtol 1e-8)"`.
    pub fn label(&self) -> String {
        self.steps.label(self.stepper.name())
    }
}

impl fmt::Debug for Integrator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Integrator")
            .field("stepper", &self.stepper.name())
            .field("steps", &self.steps)
            .field("stats", &self.stats)
            .finish()
    }
}
