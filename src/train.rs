//! The training loop: the method says one step, the driver owns iterations,
//! evaluation cadence, stop rules and timing.

use std::time::Instant;

use serde::Serialize;

use crate::State;
use crate::error::{Error, Result};
use crate::objective::{FiniteSum, Mean, Objective};
use crate::optimizers::{BatchOracle, Optimizer};
use crate::splitting::{PieceOrder, PieceSchedule};

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

/// Options of [`train_epochs`], the epoch loop for an [`Optimizer`] over a
/// [`FiniteSum`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochOptions {
    /// Number of epochs (passes over all batches).
    pub epochs: usize,
    /// Batch order each epoch ([`PieceOrder::Fixed`]: 0, 1, …, m − 1 every
    /// epoch; [`PieceOrder::Shuffled`]: a fresh seeded permutation per epoch).
    pub order: PieceOrder,
    /// Evaluate the loss every this many steps (0: once per epoch).
    pub eval_every: usize,
    /// Stop (converged) once the loss is at most this value.
    pub target_loss: Option<f64>,
    /// Declare divergence when the loss exceeds this bound or is not finite.
    pub divergence_bound: f64,
}

impl Default for EpochOptions {
    /// 10 epochs, fixed order, loss once per epoch, no target, divergence above 1e10.
    fn default() -> Self {
        EpochOptions {
            epochs: 10,
            order: PieceOrder::Fixed,
            eval_every: 0,
            target_loss: None,
            divergence_bound: 1e10,
        }
    }
}

/// One loss evaluation of a training run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HistoryRecord {
    /// Steps (batch updates) taken so far.
    pub iteration: usize,
    /// Epochs completed (fractional between epoch ends).
    pub epoch: f64,
    /// The full objective `(1/m) Σᵢ fᵢ(θ)`.
    pub loss: f64,
    /// Wall time in optimizer steps so far (evaluation excluded).
    pub seconds: f64,
}

/// What [`train_epochs`] returns: the loss history and how the run ended.
#[derive(Debug, Clone, Default, Serialize)]
pub struct History {
    /// Every evaluation, starting with iteration 0.
    pub records: Vec<HistoryRecord>,
    /// The target loss was reached.
    pub converged: bool,
    /// The loss or the parameters became non-finite or exceeded the bound,
    /// or the oracle returned a non-finite gradient.
    pub diverged: bool,
    /// Steps taken.
    pub iterations: usize,
    /// Wall time in optimizer steps.
    pub step_seconds: f64,
    /// Wall time in loss evaluations.
    pub eval_seconds: f64,
}

impl History {
    /// The history as CSV `iteration,epoch,loss,seconds` (full precision).
    pub fn to_csv(&self) -> String {
        let mut s = String::from("iteration,epoch,loss,seconds\n");
        for r in &self.records {
            s += &format!("{},{},{:e},{:e}\n", r.iteration, r.epoch, r.loss, r.seconds);
        }
        s
    }

    /// The last evaluated loss.
    pub fn final_loss(&self) -> Option<f64> {
        self.records.last().map(|r| r.loss)
    }
}

/// Trains `theta` with `optimizer` over the batches of `sum`: each step sets
/// the [`BatchOracle`] to the next batch of the epoch's order and calls
/// [`Optimizer::step`]; the loss is evaluated on the configured cadence and
/// passed to `observer` (for progress bars or logging).
///
/// A non-finite gradient from the oracle, a non-finite loss or parameters,
/// or a loss above the bound end the run as *diverged* (reported, not an
/// error); parameters are then those of the last finite step.
///
/// # Example
/// ```
/// use nalgebra::{dmatrix, dvector};
/// use splitflow::objective::QuadraticSum;
/// use splitflow::optimizers::GradientDescent;
/// use splitflow::train::{train_epochs, EpochOptions};
///
/// let x = dmatrix![1.0, 0.0; 0.0, 1.0; 1.0, 1.0; 1.0, -1.0];
/// let sum = QuadraticSum::least_squares(&x, &dvector![1.0, 2.0, 3.0, -1.0], 2)?;
/// let mut sgd = GradientDescent::sgd(0.2)?;
/// let mut theta = dvector![0.0, 0.0];
/// let opts = EpochOptions { epochs: 200, ..Default::default() };
/// let h = train_epochs(&mut sgd, &sum, &mut theta, &opts, &mut |_| {})?;
/// assert_eq!(h.iterations, 400);
/// assert!(h.final_loss().unwrap() < h.records[0].loss);
/// # Ok::<(), splitflow::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for zero epochs; [`Error::DimensionMismatch`]
/// when θ's length is not the problem's; optimizer errors other than
/// [`Error::NonFinite`].
pub fn train_epochs<F: FiniteSum + ?Sized>(
    optimizer: &mut dyn Optimizer,
    sum: &F,
    theta: &mut State,
    opts: &EpochOptions,
    observer: &mut dyn FnMut(&HistoryRecord),
) -> Result<History> {
    if opts.epochs == 0 {
        return Err(Error::invalid("epochs", 0, "must be at least 1"));
    }
    crate::error::check_dim("initial parameters", sum.dim(), theta.len())?;
    let m = sum.num_batches();
    let mut oracle = BatchOracle::new(sum);
    let mut schedule = PieceSchedule::new(opts.order, m);
    let mut out = History::default();
    let mut evaluate = |out: &mut History, theta: &State, k: usize| -> bool {
        let t = Instant::now();
        let loss = Mean(sum).value(theta);
        out.eval_seconds += t.elapsed().as_secs_f64();
        let r = HistoryRecord {
            iteration: k,
            epoch: k as f64 / m as f64,
            loss,
            seconds: out.step_seconds,
        };
        out.records.push(r);
        observer(&r);
        if !loss.is_finite()
            || loss > opts.divergence_bound
            || !crate::kernels::all_finite(theta.as_slice())
        {
            out.diverged = true;
            return true;
        }
        if opts.target_loss.is_some_and(|t| loss <= t) {
            out.converged = true;
            return true;
        }
        false
    };
    if evaluate(&mut out, theta, 0) {
        return Ok(out);
    }
    let mut k = 0;
    for _ in 0..opts.epochs {
        for (slot, &i) in schedule.next_step().iter().enumerate() {
            oracle.set_batch(i)?;
            let t = Instant::now();
            let r = optimizer.step(theta, &mut oracle);
            out.step_seconds += t.elapsed().as_secs_f64();
            match r {
                Ok(()) => {}
                Err(Error::NonFinite { .. }) => {
                    out.diverged = true;
                    out.iterations = k;
                    return Ok(out);
                }
                Err(e) => return Err(e),
            }
            k += 1;
            out.iterations = k;
            let epoch_end = slot + 1 == m;
            let due = if opts.eval_every == 0 {
                epoch_end
            } else {
                k.is_multiple_of(opts.eval_every)
            };
            if due && evaluate(&mut out, theta, k) {
                return Ok(out);
            }
        }
    }
    if out.records.last().is_some_and(|r| r.iteration != k) {
        evaluate(&mut out, theta, k);
    }
    Ok(out)
}
