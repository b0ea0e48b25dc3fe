//! The integration driver: fixed step counts or adaptive control over
//! `[t0, t1]`, landing exactly on `t1`.

use crate::error::{Error, Result, check_dim, check_finite};
use crate::steppers::{DenseSegment, EmbeddedStepper, Stats, Stepper, Tolerance, fit};
use crate::{OdeSystem, State};

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
    /// The tolerances as a [`Tolerance`].
    pub fn tolerance(&self) -> Tolerance {
        Tolerance {
            rtol: self.rtol,
            atol: self.atol,
        }
    }

    /// Validates every setting (tolerances, step bounds, budget, controller).
    pub(crate) fn validate(&self) -> Result<()> {
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

/// How to step from `t0` to `t1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Steps {
    /// `n` equal steps of size `(t1 − t0)/n`.
    Fixed(usize),
    /// Equal steps of size at most `h` (the count is `⌈|t1 − t0|/h⌉`).
    MaxSize(f64),
    /// Adaptive steps (the stepper must have an embedded error estimate).
    Adaptive(AdaptiveOptions),
}

/// What an integration records besides the final state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Record {
    /// Only the final state.
    #[default]
    Final,
    /// Every accepted step `(t, y)`, starting with `(t0, y0)`.
    Steps,
    /// Every accepted step and the dense output (adaptive Dormand–Prince only).
    Dense,
}

/// Piecewise dense output of an adaptive run: evaluates the solution anywhere
/// in `[t0, t1]`.
#[derive(Debug, Clone, Default)]
pub struct DenseOutput {
    segments: Vec<DenseSegment>,
    /// The run's end time `t1` exactly (the last segment's `t + h` can miss it
    /// by an ulp).
    end: f64,
}

impl DenseOutput {
    /// Number of steps covered.
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    /// Whether no step is covered.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// The solution at `t`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `t` lies outside the integrated span.
    pub fn eval(&self, t: f64) -> Result<State> {
        let Some(first) = self.segments.first() else {
            return Err(Error::invalid("t", t, "dense output is empty"));
        };
        let (a, b) = (first.t, self.end);
        let (lo, hi) = (a.min(b), a.max(b));
        if !(t >= lo && t <= hi) {
            return Err(Error::invalid(
                "t",
                t,
                &format!("outside the integrated span [{lo}, {hi}]"),
            ));
        }
        let dir = (b - a).signum();
        let idx = self
            .segments
            .partition_point(|s| (s.t + s.h - t) * dir < 0.0);
        let seg = &self.segments[idx.min(self.segments.len() - 1)];
        let mut out = State::zeros(0);
        seg.eval_into(t, &mut out);
        Ok(out)
    }
}

/// Result of [`integrate`].
#[derive(Debug, Clone)]
pub struct Solution {
    /// Final time (exactly `t1`).
    pub t: f64,
    /// Final state.
    pub y: State,
    /// Work counters.
    pub stats: Stats,
    /// Accepted steps `(t, y)` when recorded (first entry `(t0, y0)`).
    pub trajectory: Option<Vec<(f64, State)>>,
    /// Dense output when requested from an adaptive run.
    pub dense: Option<DenseOutput>,
}

/// Integrates `y' = f(t, y)` from `(t0, y0)` to `t1` and returns the final state.
///
/// Fixed modes take equal steps so the last lands on `t1` exactly; adaptive
/// mode uses the stepper's embedded estimate with Hairer's PI controller
/// (safety 0.9, step ratio in [0.2, 10], no growth right after a rejection,
/// a trial with NaN or ∞ counts as a rejection) and shortens the last step to
/// hit `t1`. Backward integration (`t1 < t0`) is supported: steps are then
/// negative.
///
/// # Errors
/// * [`Error::DimensionMismatch`] — `y0` does not match the system;
/// * [`Error::NonFinite`] — `y0`, `t0` or `t1` not finite, or a fixed step
///   produced NaN/∞ (naming the time);
/// * [`Error::InvalidParameter`] — `t1 == t0`, zero steps, `h ≤ 0`, invalid
///   tolerances, or adaptive stepping asked of a stepper without an error estimate;
/// * [`Error::StepSizeUnderflow`] — the adaptive step shrank below `h_min` or
///   round-off (for example because the right-hand side keeps returning NaN);
/// * [`Error::MaxStepsExceeded`] — the adaptive step budget ran out;
/// * whatever the stepper returns (Newton failure, singular matrix).
///
/// # Example
/// ```
/// use splitflow::{integrate, FnSystem, Rk4, State, Steps};
/// let osc = FnSystem::new(2, |_t, y: &State, dy: &mut State| { dy[0] = y[1]; dy[1] = -y[0]; });
/// let y0 = State::from_vec(vec![1.0, 0.0]);
/// let sol = integrate(&osc, &mut Rk4::new(), 0.0, std::f64::consts::PI, &y0, &Steps::Fixed(200))?;
/// assert!((sol.y[0] + 1.0).abs() < 1e-8);
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn integrate(
    system: &dyn OdeSystem,
    stepper: &mut dyn Stepper,
    t0: f64,
    t1: f64,
    y0: &State,
    steps: &Steps,
) -> Result<Solution> {
    integrate_with(system, stepper, t0, t1, y0, steps, Record::Final)
}

/// [`integrate`] with a choice of what to [`Record`].
///
/// # Errors
/// As [`integrate`]; also [`Error::InvalidParameter`] when dense output is asked of a fixed-step run.
pub fn integrate_with(
    system: &dyn OdeSystem,
    stepper: &mut dyn Stepper,
    t0: f64,
    t1: f64,
    y0: &State,
    steps: &Steps,
    record: Record,
) -> Result<Solution> {
    if !t0.is_finite() {
        return Err(Error::non_finite("start time t0", t0));
    }
    if !t1.is_finite() {
        return Err(Error::non_finite("end time t1", t1));
    }
    if t1 == t0 {
        return Err(Error::invalid("t1", t1, "end time equals start time t0"));
    }
    check_dim("initial state y0", system.dim(), y0.len())?;
    check_finite("initial state y0", y0, t0)?;
    match *steps {
        Steps::Fixed(n) => fixed(system, stepper, t0, t1, y0, n, record),
        Steps::MaxSize(h) => {
            crate::error::check_positive("h", h)?;
            let n = ((t1 - t0).abs() / h).ceil().max(1.0);
            if n > usize::MAX as f64 / 2.0 {
                return Err(Error::invalid("h", h, "too small for the span"));
            }
            fixed(system, stepper, t0, t1, y0, n as usize, record)
        }
        Steps::Adaptive(opts) => {
            opts.validate()?;
            let name = stepper.name();
            let embedded = stepper.as_embedded().ok_or_else(|| {
                Error::invalid(
                    "stepper",
                    name,
                    "has no embedded error estimate; use fixed steps or rk45",
                )
            })?;
            adaptive(system, embedded, t0, t1, y0, &opts, record)
        }
    }
}

fn fixed(
    system: &dyn OdeSystem,
    stepper: &mut dyn Stepper,
    t0: f64,
    t1: f64,
    y0: &State,
    n: usize,
    record: Record,
) -> Result<Solution> {
    if n == 0 {
        return Err(Error::invalid("steps", 0, "need at least one step"));
    }
    if record == Record::Dense {
        return Err(Error::invalid(
            "record",
            "dense",
            "dense output needs adaptive steps",
        ));
    }
    let h = (t1 - t0) / n as f64;
    let mut y = y0.clone();
    let mut stats = Stats::default();
    let mut trajectory = (record == Record::Steps).then(|| vec![(t0, y0.clone())]);
    for i in 0..n {
        let t = t0 + i as f64 * h;
        stepper.step(system, t, h, &mut y, &mut stats)?;
        if let Some(tr) = trajectory.as_mut() {
            let tn = if i + 1 == n {
                t1
            } else {
                t0 + (i + 1) as f64 * h
            };
            tr.push((tn, y.clone()));
        }
    }
    Ok(Solution {
        t: t1,
        y,
        stats,
        trajectory,
        dense: None,
    })
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
    system.rhs(t0, y0, f0);
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

fn adaptive(
    system: &dyn OdeSystem,
    stepper: &mut dyn EmbeddedStepper,
    t0: f64,
    t1: f64,
    y0: &State,
    opts: &AdaptiveOptions,
    record: Record,
) -> Result<Solution> {
    let mut stats = Stats::default();
    let mut y = y0.clone();
    let mut work = AdaptiveWork::default();
    let mut trajectory = (record != Record::Final).then(|| vec![(t0, y0.clone())]);
    let mut dense = (record == Record::Dense).then(DenseOutput::default);
    let t = adaptive_core(
        system,
        stepper,
        t0,
        t1,
        &mut y,
        opts,
        &mut work,
        &mut stats,
        |stepper, t, h, t_new, y, y_new| {
            if let Some(d) = dense.as_mut() {
                let mut seg = DenseSegment::default();
                stepper.dense_segment(t, h, y, y_new, &mut seg);
                d.segments.push(seg);
            }
            if let Some(tr) = trajectory.as_mut() {
                tr.push((t_new, y_new.clone()));
            }
        },
    )?;
    if let Some(d) = dense.as_mut() {
        d.end = t;
    }
    Ok(Solution {
        t,
        y,
        stats,
        trajectory,
        dense,
    })
}

/// Reusable workspace of [`integrate_adaptive_in_place`]: the trial state and
/// the three vectors of Hairer's initial-step probe. Sized on first use; no
/// allocation afterwards while the dimension stays the same.
#[derive(Debug, Clone, Default)]
pub(crate) struct AdaptiveWork {
    y_new: State,
    f0: State,
    y1: State,
    f1: State,
}

/// Adaptive integration of `y` in place from `t0` to `t1` with the same
/// controller as [`integrate`] in [`Steps::Adaptive`] mode (identical step
/// sequence and counters), but into a caller-owned state and workspace: once
/// `work` has the dimension of `y`, the call does not allocate (provided the
/// system's `rhs` and the stepper do not). Counters are added to `stats`.
///
/// `y` may come back holding a different heap buffer of the same length (the
/// accepted trial is swapped in, not copied).
///
/// # Errors
/// As [`integrate`] for adaptive steps; on error `y` holds the last accepted
/// state.
#[allow(clippy::too_many_arguments)]
pub(crate) fn integrate_adaptive_in_place(
    system: &dyn OdeSystem,
    stepper: &mut dyn EmbeddedStepper,
    t0: f64,
    t1: f64,
    y: &mut State,
    opts: &AdaptiveOptions,
    work: &mut AdaptiveWork,
    stats: &mut Stats,
) -> Result<()> {
    if !t0.is_finite() {
        return Err(Error::non_finite("start time t0", t0));
    }
    if !t1.is_finite() {
        return Err(Error::non_finite("end time t1", t1));
    }
    if t1 == t0 {
        return Err(Error::invalid("t1", t1, "end time equals start time t0"));
    }
    check_dim("initial state y0", system.dim(), y.len())?;
    check_finite("initial state y0", y, t0)?;
    opts.validate()?;
    adaptive_core(
        system,
        stepper,
        t0,
        t1,
        y,
        opts,
        work,
        stats,
        |_, _, _, _, _, _| {},
    )?;
    Ok(())
}

/// The adaptive controller shared by [`integrate`] and
/// [`integrate_adaptive_in_place`] (arguments already validated). Calls
/// `on_accept(stepper, t, h, t_new, y, y_new)` for every accepted step,
/// before the stepper's `accept`. Returns the final time (exactly `t1`).
#[allow(clippy::too_many_arguments)]
fn adaptive_core(
    system: &dyn OdeSystem,
    stepper: &mut dyn EmbeddedStepper,
    t0: f64,
    t1: f64,
    y: &mut State,
    opts: &AdaptiveOptions,
    work: &mut AdaptiveWork,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rk45;
    use crate::test_models::{Lorenz, VanDerPol};

    /// The in-place driver is the same controller as `integrate`: bitwise
    /// equal final states and equal counters, with a reused workspace, for
    /// automatic and given first steps, forward and backward.
    #[test]
    fn in_place_adaptive_matches_integrate_bitwise() {
        let systems: [(&dyn OdeSystem, State); 2] = [
            (&Lorenz::default(), State::from_vec(vec![1.0, 1.0, 1.0])),
            (&VanDerPol { mu: 5.0 }, State::from_vec(vec![2.0, 0.0])),
        ];
        for (system, y0) in systems {
            let mut work = AdaptiveWork::default();
            for (t1, h_init) in [(10.0, None), (3.0, Some(1e-3)), (-0.3, None)] {
                let opts = AdaptiveOptions {
                    rtol: 1e-9,
                    atol: 1e-9,
                    h_init,
                    ..Default::default()
                };
                let sol = integrate(
                    system,
                    &mut Rk45::new(),
                    0.0,
                    t1,
                    &y0,
                    &Steps::Adaptive(opts),
                )
                .unwrap();
                let mut y = y0.clone();
                let mut stats = Stats::default();
                integrate_adaptive_in_place(
                    system,
                    &mut Rk45::new(),
                    0.0,
                    t1,
                    &mut y,
                    &opts,
                    &mut work,
                    &mut stats,
                )
                .unwrap();
                assert_eq!(stats, sol.stats);
                assert!(
                    y.iter()
                        .zip(sol.y.iter())
                        .all(|(a, b)| a.to_bits() == b.to_bits())
                );
            }
        }
        let mut y = State::from_vec(vec![f64::NAN, 0.0]);
        let r = integrate_adaptive_in_place(
            &VanDerPol { mu: 1.0 },
            &mut Rk45::new(),
            0.0,
            1.0,
            &mut y,
            &AdaptiveOptions::default(),
            &mut AdaptiveWork::default(),
            &mut Stats::default(),
        );
        assert!(matches!(r, Err(Error::NonFinite { .. })));
    }
}
