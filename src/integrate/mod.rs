//! The integration driver: fixed step counts or adaptive control over
//! `[t0, t1]`, landing exactly on `t1`.
//!
//! One description of how a span is covered ([`Steps`]), one driver core
//! ([`integrate_in_place`], allocation-free with a reused
//! [`DriverWorkspace`]) and one owner of a stepper with its step mode and
//! workspaces ([`Integrator`], used by splitting pieces and reduced flows).
//! [`integrate`] and [`integrate_with`] are the allocating conveniences that
//! return a [`Solution`].

mod controller;
mod integrator;
mod small;
mod steps;

pub use controller::DriverWorkspace;
pub use integrator::Integrator;
pub use small::{SmallSolution, integrate_small};
pub use steps::{AdaptiveOptions, MAX_STEPS_FROM_SIZE, Steps};

use crate::error::{Error, Result, check_dim, check_finite};
use crate::steppers::{DenseSegment, EmbeddedStepper, Stats, Stepper};
use crate::{OdeSystem, State};

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
    if record == Record::Dense && !matches!(steps, Steps::Adaptive(_)) {
        return Err(Error::invalid(
            "record",
            "dense",
            "dense output needs adaptive steps",
        ));
    }
    let mut y = y0.clone();
    let mut stats = Stats::default();
    let mut trajectory = (record != Record::Final).then(|| vec![(t0, y0.clone())]);
    let mut dense = (record == Record::Dense).then(DenseOutput::default);
    let t = drive(
        system,
        stepper,
        t0,
        t1,
        t1 - t0,
        &mut y,
        steps,
        &mut DriverWorkspace::default(),
        &mut stats,
        Some(&mut |stepper: Option<&dyn EmbeddedStepper>,
                   t,
                   h,
                   t_new,
                   y: &State,
                   y_new: &State| {
            if let (Some(d), Some(stepper)) = (dense.as_mut(), stepper) {
                let mut seg = DenseSegment::default();
                stepper.dense_segment(t, h, y, y_new, &mut seg);
                d.segments.push(seg);
            }
            if let Some(tr) = trajectory.as_mut() {
                tr.push((t_new, y_new.clone()));
            }
        }),
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

/// Integrates `y` in place from `t0` to `t1`: the driver core behind
/// [`integrate`], [`Integrator::advance`] and the reduced flows. Same steps,
/// controller and counters as [`integrate`] (bitwise equal final states), but
/// into a caller-owned state and workspace: once `work` has the dimension of
/// `y`, the call does not allocate (provided the system's `rhs` and the
/// stepper do not). Counters are added to `stats`.
///
/// `y` may come back holding a different heap buffer of the same length (an
/// accepted adaptive trial is swapped in, not copied).
///
/// # Errors
/// As [`integrate`]; on error `y` holds the last accepted state (fixed steps:
/// unspecified values if the failing step produced NaN).
///
/// # Example
/// ```
/// use splitflow::{integrate_in_place, DriverWorkspace, FnSystem, Rk4, State, Stats, Steps};
/// let decay = FnSystem::new(1, |_t, y: &State, dy: &mut State| dy[0] = -y[0]);
/// let (mut work, mut stats) = (DriverWorkspace::default(), Stats::default());
/// let mut y = State::from_element(1, 1.0);
/// integrate_in_place(&decay, &mut Rk4::new(), 0.0, 1.0, &mut y, &Steps::Fixed(20),
///                    &mut work, &mut stats)?;
/// assert!((y[0] - (-1.0f64).exp()).abs() < 1e-7);
/// assert_eq!(stats.f_evals, 80);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn integrate_in_place(
    system: &dyn OdeSystem,
    stepper: &mut dyn Stepper,
    t0: f64,
    t1: f64,
    y: &mut State,
    steps: &Steps,
    work: &mut DriverWorkspace,
    stats: &mut Stats,
) -> Result<()> {
    drive(
        system,
        stepper,
        t0,
        t1,
        t1 - t0,
        y,
        steps,
        work,
        stats,
        None,
    )?;
    Ok(())
}

/// [`integrate_in_place`] over `[t, t + h]` with equal steps of size exactly
/// `h/n` (the flow-map convention).
#[allow(clippy::too_many_arguments)]
pub(crate) fn advance_in_place(
    system: &dyn OdeSystem,
    stepper: &mut dyn Stepper,
    t: f64,
    h: f64,
    y: &mut State,
    steps: &Steps,
    work: &mut DriverWorkspace,
    stats: &mut Stats,
) -> Result<()> {
    drive(system, stepper, t, t + h, h, y, steps, work, stats, None)?;
    Ok(())
}

/// Checks the span of an integration: finite `t0` and `t1`, `t1 ≠ t0`.
///
/// # Errors
/// [`Error::NonFinite`] naming the start or end time; [`Error::InvalidParameter`]
/// naming `t1` when it equals `t0`.
pub(crate) fn check_span(t0: f64, t1: f64) -> Result<()> {
    if !t0.is_finite() {
        return Err(Error::non_finite_input("start time t0", None));
    }
    if !t1.is_finite() {
        return Err(Error::non_finite_input("end time t1", None));
    }
    if t1 == t0 {
        return Err(Error::invalid("t1", t1, "end time equals start time t0"));
    }
    Ok(())
}

/// Called for every accepted step with `(embedded stepper if adaptive, t, h,
/// t_new, y, y_new)`.
type OnAccept<'a> = dyn FnMut(Option<&dyn EmbeddedStepper>, f64, f64, f64, &State, &State) + 'a;

/// Validates the arguments and runs the fixed or adaptive loop, calling
/// `on_accept` (if any) after every accepted step; returns the final time
/// (exactly `t1`). Equal steps have size `span/n`: `span` is
/// `t1 − t0` for [`integrate`], and the caller's `h` for
/// [`Integrator::advance`] (where `(t + h) − t` may differ from `h` by an ulp).
#[allow(clippy::too_many_arguments)]
fn drive(
    system: &dyn OdeSystem,
    stepper: &mut dyn Stepper,
    t0: f64,
    t1: f64,
    span: f64,
    y: &mut State,
    steps: &Steps,
    work: &mut DriverWorkspace,
    stats: &mut Stats,
    mut on_accept: Option<&mut OnAccept<'_>>,
) -> Result<f64> {
    check_span(t0, t1)?;
    check_dim("initial state y0", system.dim(), y.len())?;
    check_finite("initial state y0", y, Some(t0))?;
    steps.validate_for(stepper)?;
    match steps.count(span)? {
        Some(n) => {
            let h = span / n as f64;
            for i in 0..n {
                let t = t0 + i as f64 * h;
                stepper.step(system, t, h, y, stats)?;
                let tn = if i + 1 == n {
                    t1
                } else {
                    t0 + (i + 1) as f64 * h
                };
                if let Some(f) = on_accept.as_mut() {
                    f(None, t, h, tn, y, y);
                }
            }
            Ok(t1)
        }
        None => {
            let Steps::Adaptive(opts) = steps else {
                unreachable!("only adaptive steps have no count")
            };
            let embedded = stepper
                .as_embedded()
                .expect("validate_for checked the error estimate");
            let mut trials = controller::DynTrials::new(
                system,
                embedded,
                y,
                work,
                |stepper: &dyn EmbeddedStepper, t, h, t_new, y: &State, y_new: &State| {
                    if let Some(f) = on_accept.as_mut() {
                        f(Some(stepper), t, h, t_new, y, y_new);
                    }
                },
            );
            controller::adaptive_core(&mut trials, t0, t1, opts, stats)
        }
    }
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
            let mut work = DriverWorkspace::default();
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
                integrate_in_place(
                    system,
                    &mut Rk45::new(),
                    0.0,
                    t1,
                    &mut y,
                    &Steps::Adaptive(opts),
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
        let r = integrate_in_place(
            &VanDerPol { mu: 1.0 },
            &mut Rk45::new(),
            0.0,
            1.0,
            &mut y,
            &Steps::Adaptive(AdaptiveOptions::default()),
            &mut DriverWorkspace::default(),
            &mut Stats::default(),
        );
        assert!(matches!(r, Err(Error::NonFinite { .. })));
    }
}
