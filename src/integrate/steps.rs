//! How a flow is advanced over a span: [`Steps`] (fixed count, maximum
//! size, or adaptive) and the adaptive controller's [`AdaptiveOptions`].

use crate::error::{Error, Result};
use crate::steppers::Tolerance;
use crate::{Order, Stepper};

/// Largest number of equal steps that [`Steps::MaxSize`] will take over one
/// span (10⁸). A smaller `h` is refused instead of running for hours; ask for
/// more with an explicit [`Steps::Fixed`] count.
pub const MAX_STEPS_FROM_SIZE: usize = 100_000_000;

/// Settings of adaptive integration (Hairer's DOPRI5 conventions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdaptiveOptions {
    /// Relative tolerance (≥ 100·ε).
    pub rtol: f64,
    /// Absolute tolerance (> 0).
    pub atol: f64,
    /// First step size; `None` chooses it by Hairer's algorithm (2 f-evaluations).
    pub h_init: Option<f64>,
    /// Smallest admissible |h|; a smaller one is a [`Error::StepSizeUnderflow`].
    /// (|h| ≤ 10·ε·|t| is always an underflow.)
    pub h_min: f64,
    /// Largest |h|; `None` means |t1 − t0|.
    pub h_max: Option<f64>,
    /// Budget of step attempts (accepted + rejected).
    pub max_steps: usize,
    /// Safety factor of the controller.
    pub safety: f64,
    /// Smallest step-size ratio h_new/h.
    pub factor_min: f64,
    /// Largest step-size ratio h_new/h.
    pub factor_max: f64,
    /// β of the PI controller (Hairer's default 0.04; 0 gives the classical I controller).
    pub beta: f64,
}

impl Default for AdaptiveOptions {
    /// `rtol = atol = 1e-6`, automatic first step, `h_min = 0`, `h_max = |t1 − t0|`,
    /// 100 000 attempts, safety 0.9, factors in [0.2, 10], β = 0.04.
    fn default() -> Self {
        AdaptiveOptions {
            rtol: 1e-6,
            atol: 1e-6,
            h_init: None,
            h_min: 0.0,
            h_max: None,
            max_steps: 100_000,
            safety: 0.9,
            factor_min: 0.2,
            factor_max: 10.0,
            beta: 0.04,
        }
    }
}

impl AdaptiveOptions {
    /// Options with `rtol = atol = tol` and the other settings at their defaults.
    pub fn with_tolerance(tol: f64) -> Self {
        AdaptiveOptions {
            rtol: tol,
            atol: tol,
            ..Default::default()
        }
    }

    /// The tolerances as a [`Tolerance`].
    pub fn tolerance(&self) -> Tolerance {
        Tolerance {
            rtol: self.rtol,
            atol: self.atol,
        }
    }

    /// Validates every setting (tolerances, step bounds, budget, controller).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the first invalid setting.
    pub fn validate(&self) -> Result<()> {
        self.tolerance().validate()?;
        if let Some(h) = self.h_init {
            crate::error::check_positive("h_init", h)?;
        }
        if let Some(h) = self.h_max {
            crate::error::check_positive("h_max", h)?;
        }
        crate::error::check_nonnegative("h_min", self.h_min)?;
        if self.max_steps == 0 {
            return Err(Error::invalid("max_steps", 0, "must be at least 1"));
        }
        if !(self.safety > 0.0 && self.safety <= 1.0) {
            return Err(Error::invalid("safety", self.safety, "must be in (0, 1]"));
        }
        if !(self.factor_min > 0.0 && self.factor_min < 1.0) {
            return Err(Error::invalid(
                "factor_min",
                self.factor_min,
                "must be in (0, 1)",
            ));
        }
        if !(self.factor_max > 1.0 && self.factor_max.is_finite()) {
            return Err(Error::invalid(
                "factor_max",
                self.factor_max,
                "must be finite and > 1",
            ));
        }
        if !(0.0..0.2).contains(&self.beta) {
            return Err(Error::invalid("beta", self.beta, "must be in [0, 0.2)"));
        }
        Ok(())
    }
}

/// How a stepper covers a span `[t0, t1]`: the one description used by
/// [`integrate`](crate::integrate()), by the [`Integrator`](crate::Integrator)
/// of splitting pieces ([`Integrated`](crate::splitting::Integrated)) and of
/// the reduced local flows, by the flow-map driver
/// [`integrate_flow`](crate::splitting::integrate_flow) and by the specs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Steps {
    /// `n` equal steps of size `(t1 − t0)/n`.
    Fixed(usize),
    /// Equal steps of size at most `h` (the count is `⌈|t1 − t0|/h⌉`, at most
    /// [`MAX_STEPS_FROM_SIZE`]).
    MaxSize(f64),
    /// Adaptive steps (the stepper must have an embedded error estimate).
    Adaptive(AdaptiveOptions),
}

impl Steps {
    /// Checks the settings that do not depend on the span.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for zero steps, a non-positive or
    /// non-finite maximum size, or invalid adaptive options.
    pub fn validate(&self) -> Result<()> {
        match self {
            Steps::Fixed(0) => Err(Error::invalid("steps", 0, "need at least one step")),
            Steps::Fixed(_) => Ok(()),
            Steps::MaxSize(h) => crate::error::check_positive("h", *h),
            Steps::Adaptive(opts) => opts.validate(),
        }
    }

    /// Checks that `stepper` can be driven this way (adaptive steps need an
    /// embedded error estimate) and that the settings are valid.
    ///
    /// # Errors
    /// As [`validate`](Self::validate); [`Error::InvalidParameter`] naming the
    /// stepper when adaptive steps are asked of a method without an error estimate.
    pub fn validate_for(&self, stepper: &mut dyn Stepper) -> Result<()> {
        self.validate()?;
        if matches!(self, Steps::Adaptive(_)) && stepper.as_embedded().is_none() {
            return Err(Error::invalid(
                "stepper",
                stepper.name(),
                "has no embedded error estimate; use fixed steps or an embedded pair (rk45, bs3, tsit5, …)",
            ));
        }
        Ok(())
    }

    /// The number of equal steps over a span of length `span` (`None` for
    /// adaptive steps).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when [`Steps::MaxSize`] would need more
    /// than [`MAX_STEPS_FROM_SIZE`] steps.
    pub fn count(&self, span: f64) -> Result<Option<usize>> {
        match *self {
            Steps::Fixed(n) => Ok(Some(n)),
            Steps::MaxSize(h) => {
                let n = (span.abs() / h).ceil().max(1.0);
                if n.is_nan() || n > MAX_STEPS_FROM_SIZE as f64 {
                    return Err(Error::invalid(
                        "h",
                        h,
                        &format!(
                            "needs {n:e} steps over a span of {span:e}, above the cap of \
                             {MAX_STEPS_FROM_SIZE} (ask for a larger h, or an explicit step count)"
                        ),
                    ));
                }
                Ok(Some(n as usize))
            }
            Steps::Adaptive(_) => Ok(None),
        }
    }

    /// The order of a map integrated this way by a stepper of order
    /// `stepper_order`: the stepper's for equal steps, [`Order::Exact`] for
    /// adaptive steps (the error is set by the tolerance, not by the span).
    pub fn order_with(&self, stepper_order: Order) -> Order {
        match self {
            Steps::Adaptive(_) => Order::Exact,
            _ => stepper_order,
        }
    }

    /// A short description with the stepper's name: `"rk4 x8"`,
    /// `"rk4 h≤0.01"`, `"rk45 adaptive (rtol 1e-8)"`.
    pub fn label(&self, stepper: &str) -> String {
        match self {
            Steps::Fixed(n) => format!("{stepper} x{n}"),
            Steps::MaxSize(h) => format!("{stepper} h≤{h:e}"),
            Steps::Adaptive(o) => format!("{stepper} adaptive (rtol {:e})", o.rtol),
        }
    }
}
