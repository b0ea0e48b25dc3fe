//! The adaptive step-size controller (Hairer's DOPRI5 conventions) and the
//! driver's reusable workspace.

use super::AdaptiveOptions;
use crate::error::{Error, Result};
use crate::steppers::{EmbeddedStepper, Stats, fit};
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
/// estimates of ‖f‖ and ‖f'‖ in the tolerance-weighted norm.
#[allow(clippy::too_many_arguments)]
fn initial_step(
    system: &dyn OdeSystem,
    t0: f64,
    y0: &State,
    dir: f64,
    order: u32,
    opts: &AdaptiveOptions,
    h_max: f64,
    work: (&mut State, &mut State, &mut State),
    stats: &mut Stats,
) -> f64 {
    let (f0, y1, f1) = work;
    let n = y0.len();
    system.rhs(t0, y0, f0);
    if f0.len() != n {
        // A right-hand side that resizes dy: the stepper's first attempt
        // reports it (EmbeddedStepper::take_error); guess a small step.
        *f0 = State::zeros(n);
        return 1e-6_f64.min(h_max);
    }
    let sc = |i: usize| opts.atol + opts.rtol * y0[i].abs();
    let (mut dny, mut dnf) = (0.0, 0.0);
    for i in 0..y0.len() {
        dny += (y0[i] / sc(i)).powi(2);
        dnf += (f0[i] / sc(i)).powi(2);
    }
    let mut h = if dnf <= 1e-10 || dny <= 1e-10 || !dnf.is_finite() {
        1e-6
    } else {
        0.01 * (dny / dnf).sqrt()
    };
    h = h.min(h_max);
    y1.copy_from(y0);
    y1.axpy(dir * h, f0, 1.0);
    system.rhs(t0 + dir * h, y1, f1);
    if f1.len() != n {
        *f1 = State::zeros(n);
        return h;
    }
    stats.f_evals += 2;
    let mut der2 = 0.0;
    for i in 0..y0.len() {
        der2 += ((f1[i] - f0[i]) / sc(i)).powi(2);
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

/// The adaptive controller shared by every adaptive run
/// (arguments already validated). Calls
/// `on_accept(stepper, t, h, t_new, y, y_new)` for every accepted step,
/// before the stepper's `accept`. Returns the final time (exactly `t1`).
#[allow(clippy::too_many_arguments)]
pub(super) fn adaptive_core(
    system: &dyn OdeSystem,
    stepper: &mut dyn EmbeddedStepper,
    t0: f64,
    t1: f64,
    y: &mut State,
    opts: &AdaptiveOptions,
    work: &mut DriverWorkspace,
    stats: &mut Stats,
    mut on_accept: impl FnMut(&dyn EmbeddedStepper, f64, f64, f64, &State, &State),
) -> Result<f64> {
    let n = y.len();
    let dir = (t1 - t0).signum();
    let h_max = opts.h_max.unwrap_or((t1 - t0).abs()).min((t1 - t0).abs());
    let tol = opts.tolerance();
    fit(&mut work.y_new, n);
    let mut h = match opts.h_init {
        Some(h) => h.min(h_max),
        None => {
            for v in [&mut work.f0, &mut work.y1, &mut work.f1] {
                fit(v, n);
            }
            initial_step(
                system,
                t0,
                y,
                dir,
                stepper.error_order(),
                opts,
                h_max,
                (&mut work.f0, &mut work.y1, &mut work.f1),
                stats,
            )
        }
    };
    stepper.reset();
    let alpha = 1.0 / (stepper.error_order() as f64 + 1.0) - 0.75 * opts.beta;
    let mut err_old: f64 = 1e-4;
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
        let err = stepper.attempt(system, t, dir * h, y, &mut work.y_new, tol, stats);
        if err.is_finite() && err <= 1.0 {
            let t_new = if last { t1 } else { t + dir * h };
            on_accept(&*stepper, t, dir * h, t_new, y, &work.y_new);
            stepper.accept();
            stats.accepted += 1;
            std::mem::swap(y, &mut work.y_new);
            t = t_new;
            if last {
                break;
            }
            // PI controller (Hairer's DOPRI5): fac = err^α / err_old^β.
            let fac = err.powf(alpha) * err_old.powf(-opts.beta) / opts.safety;
            let fac = fac.clamp(1.0 / opts.factor_max, 1.0 / opts.factor_min);
            let mut h_new = (h / fac).min(h_max);
            if rejected_last {
                h_new = h_new.min(h);
            }
            err_old = err.max(1e-4);
            rejected_last = false;
            h = h_new;
        } else {
            if let Some(e) = stepper.take_error() {
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
