//! The training loop: the method says one step, the driver owns iterations,
//! evaluation cadence, stop rules and timing.

use std::time::Instant;

use serde::Serialize;

use crate::State;
use crate::error::{Error, Result};

/// A method that advances parameters one iteration at a time.
pub trait IterativeMethod {
    /// One iteration (for batch methods, one batch step).
    ///
    /// # Errors
    /// Whatever the method's numerics report.
    fn step(&mut self, theta: &mut State) -> Result<()>;
    /// A short description.
    fn name(&self) -> String;
}

/// When to stop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StopRules {
    /// Stop successfully once the monitored metric is at most this value.
    pub target: f64,
    /// Give up after this many iterations.
    pub max_iterations: usize,
    /// Declare divergence when the metric exceeds this bound (or is not finite).
    pub divergence_bound: f64,
    /// Evaluate the metric at every iteration up to this one, then on a
    /// geometric cadence (about every 1 % of the iteration count), so the
    /// reported iteration is exact early on and within 1 % later.
    pub exact_until: usize,
}

impl StopRules {
    /// Rules with the given target and iteration cap; divergence above 1e10,
    /// exact iteration counts up to 1000.
    pub fn new(target: f64, max_iterations: usize) -> Self {
        StopRules {
            target,
            max_iterations,
            divergence_bound: 1e10,
            exact_until: 1000,
        }
    }

    fn due(&self, k: usize) -> bool {
        k <= self.exact_until || k.is_multiple_of((k / 100).max(1)) || k == self.max_iterations
    }
}

/// How a training run ended.
#[derive(Debug, Clone, Serialize)]
pub struct TrainOutcome {
    /// The target was reached.
    pub converged: bool,
    /// The metric or the parameters became non-finite or exceeded the divergence bound.
    pub diverged: bool,
    /// Iterations to reach the target (`None` when it was not reached).
    pub iterations: Option<usize>,
    /// Iterations run.
    pub iterations_run: usize,
    /// Wall time spent in method steps.
    pub step_seconds: f64,
    /// Wall time spent evaluating the metric.
    pub eval_seconds: f64,
    /// `(iteration, metric)` at every evaluation.
    pub history: Vec<(usize, f64)>,
}

impl TrainOutcome {
    /// The history as CSV `iteration,metric`.
    pub fn history_csv(&self) -> String {
        let mut s = String::from("iteration,metric\n");
        for (k, v) in &self.history {
            s += &format!("{k},{v:e}\n");
        }
        s
    }
}

/// Runs `method` from `theta` until the metric reaches the target, diverges,
/// or the iteration cap is hit.
///
/// A non-finite-value error from the method counts as divergence (reported,
/// not returned); other errors are returned.
///
/// # Errors
/// [`Error::InvalidParameter`] for a zero iteration cap; method errors other
/// than [`Error::NonFinite`].
pub fn train(
    method: &mut dyn IterativeMethod,
    theta: &mut State,
    metric: &mut dyn FnMut(&State) -> f64,
    rules: &StopRules,
) -> Result<TrainOutcome> {
    if rules.max_iterations == 0 {
        return Err(Error::invalid("max_iterations", 0, "must be at least 1"));
    }
    let mut out = TrainOutcome {
        converged: false,
        diverged: false,
        iterations: None,
        iterations_run: 0,
        step_seconds: 0.0,
        eval_seconds: 0.0,
        history: Vec::new(),
    };
    let t = Instant::now();
    let m0 = metric(theta);
    out.eval_seconds += t.elapsed().as_secs_f64();
    out.history.push((0, m0));
    if m0 <= rules.target {
        out.converged = true;
        out.iterations = Some(0);
        return Ok(out);
    }
    for k in 1..=rules.max_iterations {
        let t = Instant::now();
        let r = method.step(theta);
        out.step_seconds += t.elapsed().as_secs_f64();
        out.iterations_run = k;
        match r {
            Ok(()) => {}
            Err(Error::NonFinite { .. }) => {
                out.diverged = true;
                return Ok(out);
            }
            Err(e) => return Err(e),
        }
        if rules.due(k) {
            let t = Instant::now();
            let m = metric(theta);
            out.eval_seconds += t.elapsed().as_secs_f64();
            out.history.push((k, m));
            if !m.is_finite() || m > rules.divergence_bound || !theta.iter().all(|v| v.is_finite())
            {
                out.diverged = true;
                return Ok(out);
            }
            if m <= rules.target {
                out.converged = true;
                out.iterations = Some(k);
                return Ok(out);
            }
        }
    }
    Ok(out)
}
