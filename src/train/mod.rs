//! The training executor (argmin's split): the method says one step, the
//! [`Executor`] owns the loop, the batch order, the loss cadence, observers
//! with their own cadence, the budget, the target and the termination.
//!
//! | file | holds |
//! |---|---|
//! | `mod.rs` | [`Executor`]: the loop and the roll-back |
//! | `method.rs` | [`TrainMethod`] (one step on a batch), [`OptimizerOnSum`], the [`SplittingOptimizer`](crate::optimizers::SplittingOptimizer) impl |
//! | `cadence.rs` | [`Cadence`] (every k steps, every epoch, the paper's sparse cadence), [`Budget`] |
//! | `termination.rs` | [`Termination`], [`Divergence`], [`DivergenceBound`] |
//! | `observer.rs` | [`Observer`], [`Observation`], [`Control`] |
//! | `outcome.rs` | [`Outcome`], [`Record`] |
//!
//! # Which parameters a run returns
//!
//! * Target reached, budget exhausted, stopped by an observer: θ after the
//!   last completed step.
//! * [`Divergence::NonFiniteGradient`], [`Divergence::NonFiniteParameters`]
//!   or [`Divergence::NonFiniteState`] at step k: θ after step k − 1, restored bitwise from a copy taken
//!   before every step (one vector allocated per run, copied in place: O(p)
//!   per step against the O(b·p) of a batch gradient). The same restore
//!   happens before any other error of a step is returned.
//! * [`Divergence::LossAboveBound`] or [`Divergence::NonFiniteLoss`] after
//!   step k: θ after step k (finite parameters; its loss is the reported one).
//!
//! [`Outcome::final_loss`] is always the loss of the returned θ.

mod cadence;
mod method;
mod observer;
mod outcome;
mod termination;

use std::time::Instant;

pub use cadence::{Budget, Cadence};
pub use method::{OptimizerOnSum, TrainMethod};
pub use observer::{Control, Observation, Observer};
pub use outcome::{Outcome, Record};
pub use termination::{Divergence, DivergenceBound, Termination};

use crate::State;
use crate::error::{Error, NonFiniteKind, Result};
use crate::objective::{FiniteSum, Mean, Objective};
use crate::optimizers::Optimizer;
use crate::splitting::{PieceOrder, PieceSchedule};

/// The training driver: runs a [`TrainMethod`] from θ₀ until the target,
/// the budget, divergence or an observer ends it.
///
/// Each epoch visits the `m` batches in the order of a [`PieceSchedule`]
/// ([`PieceOrder::Fixed`]: 0, 1, …, m − 1 every epoch;
/// [`PieceOrder::Shuffled`]: a fresh permutation per epoch from a generator
/// seeded once per run). After step k (k = 0 before any step) the loss is
/// evaluated when the evaluation [`Cadence`] is due or k is the last step of
/// the [`Budget`]; at an evaluation the run diverges when the loss is not
/// finite or above the [`DivergenceBound`], and reaches the target when
/// `loss ≤ target`. Parameters are checked for finiteness after every
/// step. See the [module docs](self) for which θ a run returns.
///
/// Defaults: fixed order, loss once per epoch, no target, the default
/// divergence bound, no observers.
///
/// # Example
/// ```
/// use nalgebra::{dmatrix, dvector};
/// use splitflow::objective::QuadraticSum;
/// use splitflow::optimizers::GradientDescent;
/// use splitflow::train::{Budget, Executor, Termination};
///
/// let x = dmatrix![1.0, 0.0; 0.0, 1.0; 1.0, 1.0; 1.0, -1.0];
/// let sum = QuadraticSum::least_squares(&x, &dvector![1.0, 2.0, 3.0, -1.0], 2)?;
/// let mut sgd = GradientDescent::sgd(0.2)?;
/// let mut theta = dvector![0.0, 0.0];
/// let out = Executor::new(Budget::Epochs(200)).run_on_sum(&mut sgd, &sum, &mut theta)?;
/// assert_eq!(out.termination, Termination::EpochBudget);
/// assert_eq!(out.iterations, 400);
/// assert!(out.final_loss < out.initial_loss);
/// # Ok::<(), splitflow::Error>(())
/// ```
pub struct Executor<'o> {
    budget: Budget,
    order: PieceOrder,
    evaluate: Cadence,
    target: Option<f64>,
    divergence: DivergenceBound,
    observers: Vec<(Cadence, &'o mut dyn Observer)>,
}

impl<'o> Executor<'o> {
    /// An executor with the given budget and the defaults.
    pub fn new(budget: Budget) -> Self {
        Executor {
            budget,
            order: PieceOrder::Fixed,
            evaluate: Cadence::EveryEpoch,
            target: None,
            divergence: DivergenceBound::default(),
            observers: Vec::new(),
        }
    }

    /// The batch order of every epoch.
    pub fn order(mut self, order: PieceOrder) -> Self {
        self.order = order;
        self
    }

    /// When the loss is evaluated (besides iteration 0 and the last step).
    pub fn evaluate(mut self, cadence: Cadence) -> Self {
        self.evaluate = cadence;
        self
    }

    /// Stop (converged) once an evaluated loss is at most `target`.
    pub fn target(mut self, target: f64) -> Self {
        self.target = Some(target);
        self
    }

    /// The divergence rule on the loss.
    pub fn divergence(mut self, bound: DivergenceBound) -> Self {
        self.divergence = bound;
        self
    }

    /// Calls `observer` at the iterations of `cadence` (and at iteration 0
    /// and the last iteration of the run).
    pub fn observe(mut self, cadence: Cadence, observer: &'o mut dyn Observer) -> Self {
        self.observers.push((cadence, observer));
        self
    }

    /// Trains `optimizer` over the batches of `sum`, monitoring the mean
    /// training loss `(1/m) Σᵢ fᵢ(θ)`.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub fn run_on_sum<F: FiniteSum + ?Sized>(
        &mut self,
        optimizer: &mut dyn Optimizer,
        sum: &F,
        theta: &mut State,
    ) -> Result<Outcome> {
        let mut method = OptimizerOnSum::new(optimizer, sum);
        let mean = Mean(sum);
        self.run(&mut method, theta, &mut |t: &State| mean.value(t))
    }

    /// Runs `method` from `theta`, monitoring `loss` (any metric: the
    /// target and the divergence rule apply to it).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a zero budget, a method without
    /// batches, `Cadence::Every(0)`, a NaN target or a non-positive
    /// divergence bound; [`Error::DimensionMismatch`] when θ's length is not
    /// the method's; [`Error::NonFinite`] when θ₀ is not finite; errors of
    /// the method other than [`Error::NonFinite`] (θ is restored to before
    /// the failing step first).
    pub fn run(
        &mut self,
        method: &mut dyn TrainMethod,
        theta: &mut State,
        loss: &mut dyn FnMut(&State) -> f64,
    ) -> Result<Outcome> {
        let m = method.batches();
        if m == 0 {
            return Err(Error::invalid("batches", 0, "the method has no batches"));
        }
        let n = self.budget.steps(m)?;
        self.evaluate.validate("loss cadence")?;
        for (c, _) in &self.observers {
            c.validate("observer cadence")?;
        }
        if let Some(t) = self.target
            && t.is_nan()
        {
            return Err(Error::invalid("target", t, "must be a number"));
        }
        self.divergence.validate()?;
        crate::error::check_dim("initial parameters", method.dim(), theta.len())?;
        if !crate::kernels::all_finite(theta.as_slice()) {
            return Err(Error::non_finite_of(
                NonFiniteKind::Parameters,
                "initial parameters",
                None,
            ));
        }

        let mut run = Run {
            loss,
            m,
            records: Vec::new(),
            step_seconds: 0.0,
            eval_seconds: 0.0,
        };
        let initial_loss = run.evaluate(theta, 0);
        let bound = self.divergence.bound(initial_loss);
        let mut schedule = PieceSchedule::new(self.order, m);
        // The roll-back copy: allocated once, refreshed in place before every step.
        let mut last_finite = theta.clone();
        let mut k = 0;
        let termination = 'run: {
            if let Some(t) = self.checkpoint(&mut run, theta, 0, n, bound) {
                break 'run t;
            }
            loop {
                for &batch in schedule.next_step() {
                    last_finite.copy_from(theta);
                    let start = Instant::now();
                    let r = method.step(batch, theta);
                    run.step_seconds += start.elapsed().as_secs_f64();
                    let failure = match r {
                        Ok(()) if crate::kernels::all_finite(theta.as_slice()) => None,
                        Ok(()) => Some(Divergence::NonFiniteParameters { step: k + 1 }),
                        Err(e) => match Divergence::from_error(&e, k + 1) {
                            Some(d) => Some(d),
                            None => {
                                theta.copy_from(&last_finite);
                                return Err(e);
                            }
                        },
                    };
                    if let Some(d) = failure {
                        theta.copy_from(&last_finite);
                        break 'run Termination::Diverged(d);
                    }
                    k += 1;
                    if let Some(t) = self.checkpoint(&mut run, theta, k, n, bound) {
                        break 'run t;
                    }
                }
            }
        };
        let final_loss = match (termination, run.records.last()) {
            (Termination::Diverged(Divergence::LossAboveBound { loss, .. }), _) => loss,
            (_, Some(r)) if r.iteration == k => r.loss,
            _ => {
                let start = Instant::now();
                let l = (run.loss)(theta);
                run.eval_seconds += start.elapsed().as_secs_f64();
                l
            }
        };
        Ok(Outcome {
            termination,
            iterations: k,
            iterations_to_target: termination.converged().then_some(k),
            records: run.records,
            initial_loss,
            final_loss,
            step_seconds: run.step_seconds,
            eval_seconds: run.eval_seconds,
        })
    }

    /// After step k (of n): the evaluation and its checks, the observers,
    /// and the budget, in that order; `Some` ends the run.
    fn checkpoint(
        &mut self,
        run: &mut Run<'_>,
        theta: &State,
        k: usize,
        n: usize,
        bound: f64,
    ) -> Option<Termination> {
        let last = k == n;
        let mut end = None;
        if k == 0 || last || self.evaluate.is_due(k, run.m) {
            let loss = if k == 0 {
                run.records[0].loss
            } else {
                run.evaluate(theta, k)
            };
            if !loss.is_finite() {
                end = Some(Termination::Diverged(Divergence::NonFiniteLoss { step: k }));
            } else if loss > bound {
                end = Some(Termination::Diverged(Divergence::LossAboveBound {
                    step: k,
                    loss,
                    bound,
                }));
            } else if self.target.is_some_and(|t| loss <= t) {
                end = Some(Termination::TargetReached);
            }
        }
        let latest = *run.records.last().expect("iteration 0 is recorded");
        let now = Observation {
            iteration: k,
            epoch: k as f64 / run.m as f64,
            theta,
            latest: &latest,
        };
        for (cadence, observer) in &mut self.observers {
            if (k == 0 || last || cadence.is_due(k, run.m))
                && observer.observe(&now) == Control::Stop
                && end.is_none()
            {
                end = Some(Termination::StoppedByObserver);
            }
        }
        if end.is_none() && last {
            end = Some(match self.budget {
                Budget::Iterations(_) => Termination::IterationBudget,
                Budget::Epochs(_) => Termination::EpochBudget,
            });
        }
        end
    }
}

/// The state of one run that the checkpoints update.
struct Run<'l> {
    loss: &'l mut dyn FnMut(&State) -> f64,
    m: usize,
    records: Vec<Record>,
    step_seconds: f64,
    eval_seconds: f64,
}

impl Run<'_> {
    /// Evaluates and records the loss after step `k`.
    fn evaluate(&mut self, theta: &State, k: usize) -> f64 {
        let start = Instant::now();
        let loss = (self.loss)(theta);
        self.eval_seconds += start.elapsed().as_secs_f64();
        self.records.push(Record {
            iteration: k,
            epoch: k as f64 / self.m as f64,
            loss,
            seconds: self.step_seconds,
        });
        loss
    }
}
