//! What every embedded Runge–Kutta pair's adaptive attempt shares: the
//! first-stage (FSAL) bookkeeping, the keeping of a right-hand side's error
//! for the driver, and the weighted RMS norm of the error estimate. Used by
//! the hand-written [`Rk45`](super::Rk45) and the tableau-driven
//! [`ExplicitRk`](super::ExplicitRk), so the two stay bitwise equal on the
//! Dormand–Prince tableau.

use super::{Stats, Tolerance, eval_rhs};
use crate::error::Error;
use crate::{OdeSystem, State};

/// The state an embedded stepper carries between adaptive attempts.
#[derive(Debug, Clone, Default)]
pub(crate) struct AttemptFrame {
    /// Whether `k[0]` holds `f(t, y)` for the current `(t, y)`.
    fsal_valid: bool,
    /// A right-hand side that resized `dy` during the last attempt.
    rhs_error: PendingRhsError,
}

impl AttemptFrame {
    /// Forgets the first stage and any kept error (a new integration).
    pub(crate) fn reset(&mut self) {
        self.fsal_valid = false;
        self.rhs_error = PendingRhsError::default();
    }

    /// Forgets the first stage (a fixed step overwrote it).
    pub(crate) fn invalidate(&mut self) {
        self.fsal_valid = false;
    }

    /// The attempt was accepted: `k[0]` now holds `f(t + h, y_new)`.
    pub(crate) fn accepted(&mut self) {
        self.fsal_valid = true;
    }

    /// The kept error of the last attempt, cleared.
    pub(crate) fn take_error(&mut self) -> Option<Error> {
        self.rhs_error.take()
    }

    /// Evaluates `k0 = f(t, y)` unless it is still valid (after an accepted
    /// step, or for a retry after a rejection: the driver only moves
    /// `(t, y)` through `accept`). `false` when the right-hand side failed
    /// (its error is kept: return [`fail`](Self::fail)'s NaN).
    pub(crate) fn first_stage(
        &mut self,
        system: &dyn OdeSystem,
        t: f64,
        y: &State,
        k0: &mut State,
        stepper: &str,
        stats: &mut Stats,
    ) -> bool {
        if self.fsal_valid {
            return true;
        }
        if let Err(e) = eval_rhs(system, t, y, k0, stepper) {
            self.rhs_error.set(e);
            return false;
        }
        stats.f_evals += 1;
        self.fsal_valid = true;
        true
    }

    /// Keeps `e` for the driver and returns the NaN that rejects the attempt.
    pub(crate) fn fail(&mut self, e: Error) -> f64 {
        self.rhs_error.set(e);
        f64::NAN
    }
}

/// The weighted RMS norm of the error estimate `h Σⱼ (bⱼ − b̂ⱼ) kⱼ`:
///
/// $$ \lVert e \rVert = \sqrt{\frac{1}{n} \sum_i \left(\frac{\sum_j e_j k_{j,i}}{atol + rtol \cdot \max(|y_i|, |y^{new}_i|)}\right)^2} $$
///
/// `e` holds the non-zero coefficients `eⱼ = h(bⱼ − b̂ⱼ)` and `k` their stages,
/// summed in the order given (left to right, from 0.0).
#[inline]
pub(crate) fn error_norm(e: &[f64], k: &[&[f64]], y: &State, y_new: &State, tol: Tolerance) -> f64 {
    let n = y.len();
    let mut sum = 0.0;
    for i in 0..n {
        let mut err = 0.0;
        for (ej, kj) in e.iter().zip(k) {
            err += ej * kj[i];
        }
        let sc = tol.atol + tol.rtol * y[i].abs().max(y_new[i].abs());
        let r = err / sc;
        sum += r * r;
    }
    (sum / n.max(1) as f64).sqrt()
}

/// The error of a right-hand side that resized `dy` during an adaptive
/// attempt (which returns a number, not a `Result`), kept by an embedded
/// stepper until the driver asks for it ([`EmbeddedStepper::take_error`](super::EmbeddedStepper::take_error)).
/// It holds the parts of the [`Error::DimensionMismatch`] because `Error` is
/// not `Clone` and the steppers are.
#[derive(Debug, Clone, Default)]
struct PendingRhsError(Option<(String, usize, usize)>);

impl PendingRhsError {
    /// Keeps `e` (an error of [`eval_rhs`]).
    fn set(&mut self, e: Error) {
        self.0 = Some(match e {
            Error::DimensionMismatch {
                what,
                expected,
                found,
            } => (what, expected, found),
            other => (other.to_string(), 0, 0),
        });
    }

    /// The kept error, cleared.
    fn take(&mut self) -> Option<Error> {
        self.0
            .take()
            .map(|(what, expected, found)| Error::DimensionMismatch {
                what,
                expected,
                found,
            })
    }
}
