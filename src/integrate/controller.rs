//! The adaptive step-size controller (Hairer's DOPRI5 conventions) and the
//! driver's reusable workspace.

use super::AdaptiveOptions;
use crate::error::{Error, Result};
use crate::steppers::{EmbeddedStepper, Entries, Stats, Tolerance, fit};
use crate::{OdeSystem, State};

/// Reusable workspace of the driver ([`integrate_in_place`](super::integrate_in_place),
/// [`Integrator`](super::Integrator)): the adaptive trial state and the three
/// vectors of Hairer's initial-step probe. Sized on first use; no allocation
/// afterwards while the dimension stays the same.
#[derive(Debug, Clone, Default)]
pub struct DriverWorkspace {
    pub(super) y_new: State,
    f0: State,
    y1: State,
    f1: State,
}

/// Hairer's starting step (HNW I, §II.4): an explicit Euler probe gives
/// estimates of ‖f‖ and ‖f'‖ in the tolerance-weighted norm. `rhs(t, y, dy)`
/// evaluates the field and returns `false` when it resized `dy`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn initial_step<V: Entries>(
    mut rhs: impl FnMut(f64, &V, &mut V) -> bool,
    t0: f64,
    y0: &V,
    dir: f64,
    order: u32,
    opts: &AdaptiveOptions,
    h_max: f64,
    work: (&mut V, &mut V, &mut V),
    stats: &mut Stats,
) -> f64 {
    let (f0, y1, f1) = work;
    if !rhs(t0, y0, f0) {
        // A right-hand side that resizes dy: the stepper's first attempt
        // reports it (EmbeddedStepper::take_error); guess a small step.
        return 1e-6_f64.min(h_max);
    }
    let (y0s, f0s) = (y0.entries(), f0.entries());
    let sc = |i: usize| opts.atol + opts.rtol * y0s[i].abs();
    let (mut dny, mut dnf) = (0.0, 0.0);
    for i in 0..y0s.len() {
        dny += (y0s[i] / sc(i)).powi(2);
        dnf += (f0s[i] / sc(i)).powi(2);
    }
    let mut h = if dnf <= 1e-10 || dny <= 1e-10 || !dnf.is_finite() {
        1e-6
    } else {
        0.01 * (dny / dnf).sqrt()
    };
    h = h.min(h_max);
    // y1 = y0 + (dir·h)·f0 (bitwise nalgebra's axpy(dir·h, f0, 1)).
    for ((y1, &y0), &f0) in y1.entries_mut().iter_mut().zip(y0s).zip(f0s) {
        *y1 = dir * h * f0 + y0;
    }
    if !rhs(t0 + dir * h, y1, f1) {
        return h;
    }
    stats.f_evals += 2;
    let (f0s, f1s) = (f0.entries(), f1.entries());
    let mut der2 = 0.0;
    for i in 0..y0s.len() {
        der2 += ((f1s[i] - f0s[i]) / sc(i)).powi(2);
    }
    let der2 = der2.sqrt() / h;
    let der12 = der2.abs().max(dnf.sqrt());
    let h1 = if der12 <= 1e-15 || !der12.is_finite() {
        1e-6_f64.max(h * 1e-3)
    } else {
        (0.01 / der12).powf(1.0 / (order as f64 + 1.0))
    };
    (100.0 * h).min(h1).min(h_max)
}

/// What the adaptive controller drives: trials of an embedded pair from the
/// current `(t, y)`, which the trials own.
pub(crate) trait Trials {
    /// Order `q` of the error estimate (the controller's exponent is 1/(q+1)).
    fn error_order(&self) -> u32;
    /// Hairer's starting step from the current state ([`initial_step`]).
    fn initial_step(
        &mut self,
        t0: f64,
        dir: f64,
        opts: &AdaptiveOptions,
        h_max: f64,
        stats: &mut Stats,
    ) -> f64;
    /// Forgets any first-same-as-last stage (a new integration).
    fn reset(&mut self);
    /// Tries a step of size `h` from `(t, y)`; the weighted RMS error norm
    /// (NaN or ∞ for a non-finite trial).
    fn attempt(&mut self, t: f64, h: f64, tol: Tolerance, stats: &mut Stats) -> f64;
    /// The non-numerical error behind the last non-finite attempt, if any.
    fn take_error(&mut self) -> Option<Error>;
    /// Accepts the last attempt (from `t`, size `h`, landing at `t_new`):
    /// its state becomes the current one.
    fn accept(&mut self, t: f64, h: f64, t_new: f64);
}

/// The adaptive controller shared by every adaptive run (arguments already
/// validated): Hairer's PI controller over `[t0, t1]`, landing exactly on
/// `t1`. Returns the final time (exactly `t1`).
#[inline]
pub(crate) fn adaptive_core(
    trials: &mut impl Trials,
    t0: f64,
    t1: f64,
    opts: &AdaptiveOptions,
    stats: &mut Stats,
) -> Result<f64> {
    let dir = (t1 - t0).signum();
    let h_max = opts.h_max.unwrap_or((t1 - t0).abs()).min((t1 - t0).abs());
    let tol = opts.tolerance();
    let mut h = match opts.h_init {
        Some(h) => h.min(h_max),
        None => trials.initial_step(t0, dir, opts, h_max, stats),
    };
    trials.reset();
    let alpha = 1.0 / (trials.error_order() as f64 + 1.0) - 0.75 * opts.beta;
    // ln err_old, with err_old floored at 1e-4 (Hairer's `facold`).
    let ln_err_floor = 1e-4_f64.ln();
    let mut ln_err_old = ln_err_floor;
    let mut rejected_last = false;
    let mut attempts = 0usize;
    let mut t = t0;
    let t_scale = t0.abs().max(t1.abs());
    loop {
        if attempts >= opts.max_steps {
            return Err(Error::MaxStepsExceeded { t, steps: attempts });
        }
        if h < opts.h_min || 0.1 * h <= f64::EPSILON * t_scale {
            return Err(Error::StepSizeUnderflow { t, h: dir * h });
        }
        let last = (t + dir * 1.01 * h - t1) * dir >= 0.0;
        if last {
            h = (t1 - t).abs();
        }
        attempts += 1;
        let err = trials.attempt(t, dir * h, tol, stats);
        if err.is_finite() && err <= 1.0 {
            let t_new = if last { t1 } else { t + dir * h };
            trials.accept(t, dir * h, t_new);
            stats.accepted += 1;
            t = t_new;
            if last {
                break;
            }
            // PI controller (Hairer's DOPRI5): fac = err^α / err_old^β,
            // as exp(α ln err − β ln err_old): one logarithm and one
            // exponential per step instead of two `powf` (`powf` took 21 %
            // of a Lorenz run of the small-system path under perf); the
            // factor agrees with the powers to a few ulps.
            let ln_err = err.ln();
            let fac = (alpha * ln_err - opts.beta * ln_err_old).exp() / opts.safety;
            let fac = fac.clamp(1.0 / opts.factor_max, 1.0 / opts.factor_min);
            let mut h_new = (h / fac).min(h_max);
            if rejected_last {
                h_new = h_new.min(h);
            }
            ln_err_old = ln_err.max(ln_err_floor);
            rejected_last = false;
            h = h_new;
        } else {
            if let Some(e) = trials.take_error() {
                return Err(e);
            }
            stats.rejected += 1;
            rejected_last = true;
            let shrink = if err.is_finite() {
                (err.powf(alpha) / opts.safety).min(1.0 / opts.factor_min)
            } else {
                1.0 / opts.factor_min
            };
            h /= shrink;
        }
    }
    Ok(t)
}

/// The trials of a dynamic [`EmbeddedStepper`] on a `&dyn` [`OdeSystem`],
/// with the driver's workspace; `on_accept(stepper, t, h, t_new, y, y_new)`
/// runs for every accepted step, before the stepper's `accept`.
pub(super) struct DynTrials<'a, F> {
    pub(super) system: &'a dyn OdeSystem,
    pub(super) stepper: &'a mut dyn EmbeddedStepper,
    pub(super) y: &'a mut State,
    pub(super) work: &'a mut DriverWorkspace,
    pub(super) on_accept: F,
}

impl<'a, F> DynTrials<'a, F>
where
    F: FnMut(&dyn EmbeddedStepper, f64, f64, f64, &State, &State),
{
    /// Sizes the trial state to `y`.
    pub(super) fn new(
        system: &'a dyn OdeSystem,
        stepper: &'a mut dyn EmbeddedStepper,
        y: &'a mut State,
        work: &'a mut DriverWorkspace,
        on_accept: F,
    ) -> Self {
        fit(&mut work.y_new, y.len());
        DynTrials {
            system,
            stepper,
            y,
            work,
            on_accept,
        }
    }
}

impl<F> Trials for DynTrials<'_, F>
where
    F: FnMut(&dyn EmbeddedStepper, f64, f64, f64, &State, &State),
{
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
        let n = self.y.len();
        let w = &mut *self.work;
        for v in [&mut w.f0, &mut w.y1, &mut w.f1] {
            fit(v, n);
        }
        let system = self.system;
        initial_step(
            |t, y: &State, dy: &mut State| {
                system.rhs(t, y, dy);
                if dy.len() == n {
                    true
                } else {
                    *dy = State::zeros(n);
                    false
                }
            },
            t0,
            self.y,
            dir,
            self.stepper.error_order(),
            opts,
            h_max,
            (&mut w.f0, &mut w.y1, &mut w.f1),
            stats,
        )
    }

    fn reset(&mut self) {
        self.stepper.reset();
    }

    fn attempt(&mut self, t: f64, h: f64, tol: Tolerance, stats: &mut Stats) -> f64 {
        self.stepper
            .attempt(self.system, t, h, self.y, &mut self.work.y_new, tol, stats)
    }

    fn take_error(&mut self) -> Option<Error> {
        self.stepper.take_error()
    }

    fn accept(&mut self, t: f64, h: f64, t_new: f64) {
        (self.on_accept)(&*self.stepper, t, h, t_new, self.y, &self.work.y_new);
        self.stepper.accept();
        std::mem::swap(self.y, &mut self.work.y_new);
    }
}
