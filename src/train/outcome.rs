//! What a training run returns: its loss history and how it ended.

use serde::Serialize;

use super::Termination;

/// One loss evaluation of a training run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Record {
    /// Steps (batch updates) taken so far.
    pub iteration: usize,
    /// Epochs completed (fractional between epoch ends).
    pub epoch: f64,
    /// The monitored loss: the mean training loss `(1/m) Σᵢ fᵢ(θ)` with
    /// [`Executor::run_on_sum`](super::Executor::run_on_sum), or the
    /// caller's metric with [`Executor::run`](super::Executor::run).
    pub loss: f64,
    /// Wall time in method steps so far (evaluations excluded).
    pub seconds: f64,
}

/// How a run of the [`Executor`](super::Executor) ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// Why it stopped.
    pub termination: Termination,
    /// Steps completed (a failing step is not counted).
    pub iterations: usize,
    /// The iteration at which the loss was first seen at or below the
    /// target (`None` unless [`Termination::TargetReached`]).
    pub iterations_to_target: Option<usize>,
    /// Every loss evaluation of the cadence, starting with iteration 0.
    pub records: Vec<Record>,
    /// The loss at the initial parameters.
    pub initial_loss: f64,
    /// The loss of the parameters the run returns (after a roll-back: of the
    /// restored parameters, evaluated again when no record holds it).
    pub final_loss: f64,
    /// Wall time in method steps.
    pub step_seconds: f64,
    /// Wall time in loss evaluations.
    pub eval_seconds: f64,
}

impl Outcome {
    /// The target was reached.
    pub fn converged(&self) -> bool {
        self.termination.converged()
    }

    /// The run diverged.
    pub fn diverged(&self) -> bool {
        self.termination.diverged()
    }

    /// The records as CSV `iteration,epoch,loss,seconds` (full precision).
    pub fn to_csv(&self) -> String {
        let mut s = String::from("iteration,epoch,loss,seconds\n");
        for r in &self.records {
            s += &format!("{},{},{:e},{:e}\n", r.iteration, r.epoch, r.loss, r.seconds);
        }
        s
    }
}
