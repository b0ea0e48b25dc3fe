//! Observers: progress bars, logging, or early stops, called on their own cadence.

use crate::State;

use super::Record;

/// What an [`Observer`] sees.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// Steps taken so far.
    pub iteration: usize,
    /// Epochs completed (fractional between epoch ends).
    pub epoch: f64,
    /// The current parameters.
    pub theta: &'a State,
    /// The latest loss evaluation (at this iteration when the loss cadence
    /// is due here as well, earlier otherwise).
    pub latest: &'a Record,
}

/// An observer's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// End the run with [`Termination::StoppedByObserver`](super::Termination::StoppedByObserver).
    Stop,
}

/// Something called by the [`Executor`](super::Executor) at the iterations
/// of its cadence (including iteration 0 and the last one). Closures
/// `FnMut(&Observation) -> Control` are observers.
pub trait Observer {
    /// Sees the run; [`Control::Stop`] ends it.
    fn observe(&mut self, now: &Observation<'_>) -> Control;
}

impl<F: FnMut(&Observation<'_>) -> Control> Observer for F {
    fn observe(&mut self, now: &Observation<'_>) -> Control {
        self(now)
    }
}
