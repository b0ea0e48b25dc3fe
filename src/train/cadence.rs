//! When the executor evaluates the loss or calls an observer, and how long it runs.

use crate::error::{Error, Result};

/// At which iterations something happens (iteration 0, before any step, is
/// always due; so is the last iteration of the run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// Every `k` steps (`Every(1)`: every step).
    Every(usize),
    /// At the end of every epoch (every `m` steps, `m` the number of batches).
    EveryEpoch,
    /// The paper's sparse cadence: every step up to `exact_until`, then at
    /// iterations `k` divisible by `max(⌊k/100⌋, 1)`. The first due
    /// iteration at or after any `k` is less than `k + k/100 + 1`, so an
    /// iteration count reported at a due point is exact up to `exact_until`
    /// and overstates the first crossing by less than 1 % after it.
    Sparse {
        /// The last iteration up to which every step is due.
        exact_until: usize,
    },
}

impl Cadence {
    /// The paper's cadence: exact up to iteration 1000, then about every 1 %.
    pub const PAPER: Cadence = Cadence::Sparse { exact_until: 1000 };

    /// Whether iteration `k` (steps taken) is due, for `m` steps per epoch.
    ///
    /// # Example
    /// ```
    /// use splitflow::train::Cadence;
    ///
    /// assert!(Cadence::Every(3).is_due(6, 10));
    /// assert!(!Cadence::EveryEpoch.is_due(6, 10));
    /// let sparse = Cadence::Sparse { exact_until: 10 };
    /// assert!(sparse.is_due(9, 4) && sparse.is_due(10, 4));
    /// assert!(sparse.is_due(1200, 4) && !sparse.is_due(1201, 4));
    /// ```
    pub fn is_due(&self, k: usize, m: usize) -> bool {
        match *self {
            Cadence::Every(n) => k.is_multiple_of(n.max(1)),
            Cadence::EveryEpoch => k.is_multiple_of(m.max(1)),
            Cadence::Sparse { exact_until } => {
                k <= exact_until || k.is_multiple_of((k / 100).max(1))
            }
        }
    }

    pub(crate) fn validate(&self, what: &str) -> Result<()> {
        match self {
            Cadence::Every(0) => Err(Error::invalid(what, "every 0 steps", "must be at least 1")),
            _ => Ok(()),
        }
    }
}

/// How long the executor runs at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// At most this many steps (batch updates).
    Iterations(usize),
    /// At most this many epochs (passes over all `m` batches).
    Epochs(usize),
}

impl Budget {
    /// The number of steps for `m` steps per epoch.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a zero budget or an overflowing step count.
    pub fn steps(&self, m: usize) -> Result<usize> {
        match *self {
            Budget::Iterations(0) => Err(Error::invalid("iterations", 0, "must be at least 1")),
            Budget::Epochs(0) => Err(Error::invalid("epochs", 0, "must be at least 1")),
            Budget::Iterations(n) => Ok(n),
            Budget::Epochs(e) => e.checked_mul(m).ok_or_else(|| {
                Error::invalid("epochs", e, &format!("{e} epochs of {m} steps overflow"))
            }),
        }
    }
}
