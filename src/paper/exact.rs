//! Exact iteration counts at any size: the stop rule is checked on the
//! sparse [`Cadence::PAPER`] (every step up to 1000, then about every 1 %),
//! and when a check finds the target crossed the run is replayed from the
//! parameters of the previous check with a check after every step.
//!
//! The replay is exact for methods whose step depends on θ and the batch
//! only (SGD's explicit-Euler step and the exact least-squares flows: their
//! local maps ignore the time argument), so it reproduces the original
//! trajectory bitwise and finds the first step at or below the target.

use crate::State;
use crate::error::Result;
use crate::train::{
    Budget, Cadence, Control, DivergenceBound, Executor, Observation, Observer, Outcome, Record,
    TrainMethod,
};

/// The outcome of a run with an exact count.
pub(crate) struct Counted {
    /// The sparse run.
    pub outcome: Outcome,
    /// Steps to the first metric at or below the target (exact when replayed).
    pub steps_to_target: Option<usize>,
    /// Steps replayed.
    pub replayed: usize,
    /// Wall time of the replay (its steps and per-step checks).
    pub replay_seconds: f64,
    /// Wall time in the steps counted to the target (`None` when not
    /// reached): the sparse run's step time up to the check before the
    /// crossing plus the replay's step time to the exact first step, or the
    /// sparse run's whole step time when it was not replayed.
    pub step_seconds_to_target: Option<f64>,
    /// The metric history: the sparse checks, with the replay's per-step
    /// checks in place of the sparse ones after the replay's start.
    pub records: Vec<Record>,
}

/// Keeps θ at the last two checks.
struct Snapshots {
    previous: (usize, State),
    latest: (usize, State),
}

impl Observer for Snapshots {
    fn observe(&mut self, now: &Observation<'_>) -> Control {
        std::mem::swap(&mut self.previous, &mut self.latest);
        self.latest.0 = now.iteration;
        self.latest.1.copy_from(now.theta);
        Control::Continue
    }
}

/// A method whose batch `j` is the inner method's batch `(j + offset) mod m`:
/// continues a cyclic (fixed-order) run from step `offset`.
struct Shifted<'a> {
    inner: &'a mut dyn TrainMethod,
    offset: usize,
}

impl TrainMethod for Shifted<'_> {
    fn batches(&self) -> usize {
        self.inner.batches()
    }
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn step(&mut self, batch: usize, theta: &mut State) -> Result<()> {
        let m = self.inner.batches();
        self.inner.step((batch + self.offset) % m, theta)
    }
}

/// The paper's stop rule: `metric ≤ target` within `max_iterations` batch
/// steps in the fixed cyclic order, diverged above 10¹⁰ (an absolute bound:
/// the metrics are residuals and error rates). With `replayable`, a target
/// found by a sparse check is replayed to its exact first step.
pub(crate) fn run_to_target(
    method: &mut dyn TrainMethod,
    theta0: &State,
    metric: &mut dyn FnMut(&State) -> f64,
    target: f64,
    max_iterations: usize,
    replayable: bool,
) -> Result<Counted> {
    fn executor<'o>(budget: usize, cadence: Cadence, target: f64) -> Executor<'o> {
        Executor::new(Budget::Iterations(budget))
            .evaluate(cadence)
            .target(target)
            .divergence(DivergenceBound::absolute(1e10))
    }
    let mut theta = theta0.clone();
    let mut snaps = Snapshots {
        previous: (0, theta0.clone()),
        latest: (0, theta0.clone()),
    };
    let outcome = executor(max_iterations, Cadence::PAPER, target)
        .observe(Cadence::PAPER, &mut snaps)
        .run(method, &mut theta, metric)?;
    let mut counted = Counted {
        steps_to_target: outcome.iterations_to_target,
        replayed: 0,
        replay_seconds: 0.0,
        step_seconds_to_target: outcome.iterations_to_target.map(|_| outcome.step_seconds),
        records: outcome.records.clone(),
        outcome,
    };
    let (from, theta_from) = snaps.previous;
    let Some(hit) = counted.steps_to_target else {
        return Ok(counted);
    };
    if !replayable || snaps.latest.0 != hit || hit <= from + 1 {
        return Ok(counted);
    }
    let mut theta = theta_from;
    let mut shifted = Shifted {
        offset: from % method.batches(),
        inner: method,
    };
    let replay =
        executor(hit - from, Cadence::Every(1), target).run(&mut shifted, &mut theta, metric)?;
    counted.replay_seconds = replay.step_seconds + replay.eval_seconds;
    if let Some(j) = replay.iterations_to_target {
        // Step time at the check the replay started from (a record of the
        // sparse run: observers and evaluations share its cadence).
        let before = counted
            .records
            .iter()
            .find(|r| r.iteration == from)
            .map_or(0.0, |r| r.seconds);
        counted.steps_to_target = Some(from + j);
        counted.step_seconds_to_target = Some(before + replay.step_seconds);
        counted.replayed = replay.iterations;
        counted.records.retain(|r| r.iteration <= from);
        counted
            .records
            .extend(replay.records.iter().skip(1).map(|r| Record {
                iteration: from + r.iteration,
                ..*r
            }));
    }
    Ok(counted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objective::FiniteSum;
    use crate::problems::least_squares::{LeastSquares, random_least_squares};
    use crate::train::OptimizerOnSum;

    /// SGD on a small random least-squares problem whose target is crossed
    /// beyond step 1000: the replayed count equals the count of a run
    /// checked after every step, and differs from the sparse one (the
    /// negative control).
    #[test]
    fn replay_gives_the_every_step_count() {
        let (x, y, _) = random_least_squares(400, 40, 0.0, 3).unwrap();
        let ls = LeastSquares::new(&x, &y, 4).unwrap();
        let theta0 = State::zeros(ls.dim());
        let target = 1e-6;
        let mut metric = |t: &State| ls.relative_residual(t).unwrap();
        let mut sgd = crate::optimizers::GradientDescent::sgd(0.004).unwrap();
        let mut method = OptimizerOnSum::new(&mut sgd, &ls);
        let c = run_to_target(&mut method, &theta0, &mut metric, target, 200_000, true).unwrap();
        let sparse = c.outcome.iterations_to_target.unwrap();
        let exact = c.steps_to_target.unwrap();
        assert!(
            sparse > 1000,
            "the test needs a crossing past 1000: {sparse}"
        );

        let mut sgd = crate::optimizers::GradientDescent::sgd(0.004).unwrap();
        let mut method = OptimizerOnSum::new(&mut sgd, &ls);
        let mut theta = theta0.clone();
        let every = Executor::new(Budget::Iterations(200_000))
            .evaluate(Cadence::Every(1))
            .target(target)
            .divergence(DivergenceBound::absolute(1e10))
            .run(&mut method, &mut theta, &mut metric)
            .unwrap();
        assert_eq!(Some(exact), every.iterations_to_target);
        assert!(exact <= sparse && sparse < exact + exact / 100 + 1);
        assert!(c.replayed >= 1 && c.replayed <= sparse / 100 + 1);
        // The steps to the target are timed within the sparse run's steps
        // before the replay's start plus the replay's own steps.
        let to_target = c.step_seconds_to_target.unwrap();
        assert!(to_target > 0.0 && to_target <= c.outcome.step_seconds + c.replay_seconds);
        // The history ends at the exact count, every step after the replay's start.
        assert_eq!(c.records.last().unwrap().iteration, exact);
        assert!(
            c.records
                .windows(2)
                .all(|w| w[0].iteration < w[1].iteration)
        );
    }
}
