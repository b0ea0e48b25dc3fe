//! What an embedded Runge–Kutta pair's adaptive attempts need besides its
//! stages: the first-stage (FSAL) bookkeeping, the keeping of a right-hand
//! side's error for the driver, the weighted RMS norm of the error estimate,
//! and the dense-output segment. Used by [`ExplicitRk`](super::ExplicitRk)
//! (and through it [`Rk45`](super::Rk45)).

use super::tableau::MAX_STAGES;
use super::{Entries, Stats, Tolerance, eval_rhs, fit};
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

/// The weighted RMS norm of the error estimate `h Σⱼ (bⱼ − b̂ⱼ) kⱼ` of the
/// pair `(b, b̂)` with stages `k`:
///
/// $$ \lVert e \rVert = \sqrt{\frac{1}{n} \sum_i \left(\frac{\sum_j e_j k_{j,i}}{atol + rtol \cdot \max(|y_i|, |y^{new}_i|)}\right)^2} $$
///
/// over the non-zero coefficients `eⱼ = h(bⱼ − b̂ⱼ)`, summed in stage order
/// (left to right, from 0.0).
#[inline]
pub(crate) fn embedded_error(
    h: f64,
    b: &[f64],
    b_hat: &[f64],
    k: &[State],
    y: &State,
    y_new: &State,
    tol: Tolerance,
) -> f64 {
    let n = y.len();
    if n <= super::SMALL_SYSTEM {
        return small_embedded_error(h, b, b_hat, k, y.as_slice(), y_new.as_slice(), tol);
    }
    let mut e = [0.0; MAX_STAGES];
    let mut ks: [&[f64]; MAX_STAGES] = [&[]; MAX_STAGES];
    let mut m = 0;
    for ((b, bh), kj) in b.iter().zip(b_hat).zip(k) {
        let ej = h * (b - bh);
        if ej != 0.0 {
            e[m] = ej;
            ks[m] = kj.as_slice();
            m += 1;
        }
    }
    let (e, ks) = (&e[..m], &ks[..m]);
    let mut sum = 0.0;
    for i in 0..n {
        let mut err = 0.0;
        for (ej, kj) in e.iter().zip(ks) {
            err += ej * kj[i];
        }
        let sc = tol.atol + tol.rtol * y[i].abs().max(y_new[i].abs());
        let r = err / sc;
        sum += r * r;
    }
    (sum / n.max(1) as f64).sqrt()
}

/// The small-system form of [`embedded_error`] (also
/// [`SmallRk`](super::SmallRk)'s): the estimate stage by stage into a stack
/// array, each entry summed left to right from 0.0.
#[inline(always)]
pub(crate) fn small_embedded_error<K: Entries>(
    h: f64,
    b: &[f64],
    b_hat: &[f64],
    k: &[K],
    y: &[f64],
    y_new: &[f64],
    tol: Tolerance,
) -> f64 {
    let mut err = [0.0; super::SMALL_SYSTEM];
    for ((b, bh), kj) in b.iter().zip(b_hat).zip(k) {
        let ej = h * (b - bh);
        if ej != 0.0 {
            for (e, &x) in err.iter_mut().zip(kj.entries()) {
                *e += ej * x;
            }
        }
    }
    let mut sum = 0.0;
    for ((&e, &a), &b) in err.iter().zip(y).zip(y_new) {
        let r = e / (tol.atol + tol.rtol * a.abs().max(b.abs()));
        sum += r * r;
    }
    (sum / y.len().max(1) as f64).sqrt()
}

/// Dense output of one step from `t` of size `h`, with θ = (s − t)/h, in
/// the form of Hairer, Nørsett & Wanner's `CONTD5`:
///
/// $$ y(s) = r_1 + θ\,(r_2 + (1-θ)\,(r_3 + θ\,(r_4 + (1-θ)\,r_5))), $$
///
/// the Dormand–Prince fourth-order continuous extension for
/// [`Rk45`](super::Rk45); other tableaus write their own extension, or the
/// cubic Hermite interpolant, into the same form.
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

    /// Starts the segment of a step from `t` of size `h` in dimension `n`
    /// (sizes the coefficient vectors; allocates only when `n` changes).
    pub(crate) fn start(&mut self, t: f64, h: f64, n: usize) {
        for r in &mut self.r {
            fit(r, n);
        }
        self.t = t;
        self.h = h;
    }

    /// Writes the cubic Hermite part through `y`, `y_new` and the end slopes
    /// `f0 = f(t, y)`, `f1 = f(t + h, y_new)` into `r₁ … r₄`, and `r5(i)`
    /// into `r₅` (0 for the plain Hermite interpolant). Call
    /// [`start`](Self::start) first.
    #[inline]
    pub(crate) fn hermite(
        &mut self,
        h: f64,
        y: &State,
        y_new: &State,
        f0: &State,
        f1: &State,
        r5: impl Fn(usize) -> f64,
    ) {
        for i in 0..y.len() {
            let ydiff = y_new[i] - y[i];
            let bspl = h * f0[i] - ydiff;
            self.r[0][i] = y[i];
            self.r[1][i] = ydiff;
            self.r[2][i] = bspl;
            self.r[3][i] = ydiff - h * f1[i] - bspl;
            self.r[4][i] = r5(i);
        }
    }
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
