//! How a training run ends, and the divergence rule on the loss.

use serde::Serialize;

use crate::error::{Error, NonFiniteKind, Result};

/// Why the [`Executor`](super::Executor) stopped.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Termination {
    /// The loss reached the target at an evaluation point.
    TargetReached,
    /// The iteration budget ([`Budget::Iterations`](super::Budget::Iterations)) is exhausted.
    IterationBudget,
    /// The epoch budget ([`Budget::Epochs`](super::Budget::Epochs)) is exhausted.
    EpochBudget,
    /// The run diverged (reported, not an error).
    Diverged(Divergence),
    /// An [`Observer`](super::Observer) asked to stop.
    StoppedByObserver,
}

impl Termination {
    /// The target was reached.
    pub fn converged(&self) -> bool {
        matches!(self, Termination::TargetReached)
    }

    /// The run diverged.
    pub fn diverged(&self) -> bool {
        matches!(self, Termination::Diverged(_))
    }
}

impl std::fmt::Display for Termination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Termination::TargetReached => write!(f, "target reached"),
            Termination::IterationBudget => write!(f, "iteration budget exhausted"),
            Termination::EpochBudget => write!(f, "epoch budget exhausted"),
            Termination::Diverged(d) => write!(f, "diverged: {d}"),
            Termination::StoppedByObserver => write!(f, "stopped by an observer"),
        }
    }
}

/// Why a run diverged; `step` is the 1-based number of the step at which it
/// was detected.
///
/// ```
/// use splitflow::Error;
/// use splitflow::error::NonFiniteKind;
/// use splitflow::train::Divergence;
///
/// let e = Error::non_finite_of(NonFiniteKind::Gradient, "gradient", None);
/// assert_eq!(Divergence::from_error(&e, 3), Some(Divergence::NonFiniteGradient { step: 3 }));
/// let e = Error::invalid("lr", -1.0, "must be > 0");
/// assert_eq!(Divergence::from_error(&e, 3), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Divergence {
    /// The oracle returned a non-finite gradient ([`Error::NonFinite`](crate::Error::NonFinite)
    /// of kind [`NonFiniteKind::Gradient`](crate::error::NonFiniteKind::Gradient)).
    NonFiniteGradient {
        /// The failing step.
        step: usize,
    },
    /// The step returned or would have produced non-finite parameters: θ
    /// itself, or, for a method with local flows, the state of a local flow
    /// (every [`NonFiniteKind`](crate::error::NonFiniteKind) other than a
    /// gradient or an optimizer's state).
    NonFiniteParameters {
        /// The failing step.
        step: usize,
    },
    /// The step would have produced a non-finite optimizer state
    /// (velocities, moment estimates) with finite parameters
    /// ([`NonFiniteKind::OptimizerState`](crate::error::NonFiniteKind::OptimizerState)).
    NonFiniteState {
        /// The failing step.
        step: usize,
    },
    /// The loss evaluated after the step is NaN or infinite (finite θ).
    NonFiniteLoss {
        /// The step after which the loss was evaluated.
        step: usize,
    },
    /// The loss exceeds the [`DivergenceBound`].
    LossAboveBound {
        /// The step after which the loss was evaluated.
        step: usize,
        /// The loss.
        loss: f64,
        /// The bound it exceeds.
        bound: f64,
    },
}

impl Divergence {
    /// The divergence a step's error means: an [`Error::NonFinite`](crate::Error::NonFinite)
    /// at step `step`, labelled by its [`NonFiniteKind`](crate::error::NonFiniteKind);
    /// `None` for any other error.
    pub fn from_error(error: &Error, step: usize) -> Option<Divergence> {
        match error {
            Error::NonFinite { kind, .. } => Some(match kind {
                NonFiniteKind::Gradient => Divergence::NonFiniteGradient { step },
                NonFiniteKind::OptimizerState => Divergence::NonFiniteState { step },
                _ => Divergence::NonFiniteParameters { step },
            }),
            _ => None,
        }
    }
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Divergence::NonFiniteGradient { step } => {
                write!(f, "non-finite gradient at step {step}")
            }
            Divergence::NonFiniteParameters { step } => {
                write!(f, "non-finite parameters after step {step}")
            }
            Divergence::NonFiniteState { step } => {
                write!(f, "non-finite optimizer state after step {step}")
            }
            Divergence::NonFiniteLoss { step } => write!(f, "non-finite loss after step {step}"),
            Divergence::LossAboveBound { step, loss, bound } => {
                write!(
                    f,
                    "loss {loss:e} above the bound {bound:e} after step {step}"
                )
            }
        }
    }
}

/// The divergence rule on the loss: a run diverges when an evaluated loss
/// `L` exceeds
///
/// $$ B = \min\left(\text{absolute},\ \text{relative} \cdot L_0\right) $$
///
/// where `L₀` is the loss at the initial parameters; a part set to `None` is
/// left out, and the relative part is left out when `L₀ ≤ 0` (a loss that
/// starts at zero has no scale). Both `None`: no bound (non-finite values
/// still end the run).
///
/// The default, `relative = 1e2` and `absolute = 1e10`, reports SGD with
/// `lr = 1e6` on `digits01`, which takes the logistic loss from ln 2 ≈ 0.69
/// to 10²–10⁴ within the first epoch, as diverged (that the loss later
/// falls to 0 on these separable data, with parameters of size 10⁶, does
/// not make it a converging run), and leaves a loss that stays within two
/// orders of magnitude of its start alone.
///
/// # Example
/// ```
/// use splitflow::train::DivergenceBound;
///
/// let rule = DivergenceBound::default();
/// assert_eq!(rule.bound(0.5), 50.0);
/// assert_eq!(rule.bound(1e9), 1e10);
/// assert_eq!(rule.bound(0.0), 1e10); // no scale: the absolute part only
/// assert_eq!(DivergenceBound::absolute(5.0).bound(1.0), 5.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DivergenceBound {
    /// Diverged above `relative · L₀`.
    pub relative: Option<f64>,
    /// Diverged above this value.
    pub absolute: Option<f64>,
}

impl Default for DivergenceBound {
    /// `relative = 1e2`, `absolute = 1e10`.
    fn default() -> Self {
        DivergenceBound {
            relative: Some(1e2),
            absolute: Some(1e10),
        }
    }
}

impl DivergenceBound {
    /// Only the absolute bound.
    pub fn absolute(bound: f64) -> Self {
        DivergenceBound {
            relative: None,
            absolute: Some(bound),
        }
    }

    /// No bound on the loss (non-finite values still end the run).
    pub fn none() -> Self {
        DivergenceBound {
            relative: None,
            absolute: None,
        }
    }

    /// The bound `B` for an initial loss `initial` (`+∞` when no part applies).
    pub fn bound(&self, initial: f64) -> f64 {
        let relative = match self.relative {
            Some(r) if initial > 0.0 => r * initial,
            _ => f64::INFINITY,
        };
        relative.min(self.absolute.unwrap_or(f64::INFINITY))
    }

    /// Checks that each part given is finite and positive (a NaN bound would
    /// silently disable the rule; leave a part out with `None` instead).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) naming the part.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("relative divergence bound", self.relative),
            ("absolute divergence bound", self.absolute),
        ] {
            if let Some(v) = v {
                crate::error::check_positive(name, v)?;
            }
        }
        Ok(())
    }
}
