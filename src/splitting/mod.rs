//! Flow maps and their compositions.
//!
//! A [`FlowMap`] advances a state by a step `h`: an ODE integrated by a
//! stepper ([`Integrated`]), an exact flow ([`ExactLinear`]), or a
//! [`Splitting`] of other flow maps. Splittings are flow maps too, so they nest.

mod coefficients;
mod composition;
mod drive;
mod exact_linear;
mod integrated;

pub use coefficients::{SCHEME_NAMES, SplittingCoefficients};
pub use composition::{BackwardSteps, PieceOrder, PieceSchedule, Splitting, SplittingOptions};
pub use drive::integrate_flow;
pub use exact_linear::ExactLinear;
pub use integrated::Integrated;

use crate::error::Result;
use crate::{Order, State};

/// Work counters of a flow map.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FlowStats {
    /// Calls of [`FlowMap::advance`].
    pub advances: usize,
    /// Right-hand-side evaluations spent.
    pub f_evals: usize,
}

/// An (approximate) flow `φ_h`: advances `y` from time `t` to `t + h`.
///
/// `Send`, so that boxed maps, splittings and the optimizers built on them
/// can be moved to another thread (an [`Integrated`] map needs a `Send`
/// system).
pub trait FlowMap: Send {
    /// Dimension of the state.
    fn dim(&self) -> usize;

    /// Advances `y` in place by `h` (negative `h` runs backward).
    ///
    /// # Errors
    /// Whatever the underlying integration reports ([`Error::NonFinite`](crate::Error::NonFinite),
    /// Newton failures, …), and [`Error::DimensionMismatch`](crate::Error::DimensionMismatch)
    /// for a wrong-length `y`.
    fn advance(&mut self, t: f64, h: f64, y: &mut State) -> Result<()>;

    /// Global order of the map as an approximation of the exact flow.
    fn order(&self) -> Order;

    /// Whether the flow is dissipative (a gradient flow): then running it
    /// backward in time is ill-posed and compositions with negative
    /// coefficients are refused by default.
    fn is_dissipative(&self) -> bool {
        false
    }

    /// Work counters.
    fn stats(&self) -> FlowStats;

    /// A short description.
    fn name(&self) -> String;
}

/// Implements [`FlowMap`] for pointers to flow maps (`Box<F>`, `&mut F`)
/// by forwarding every method to the pointee.
macro_rules! forward_flow_map {
    ($($pointer:ty),+) => {$(
        impl<F: FlowMap + ?Sized> FlowMap for $pointer {
            fn dim(&self) -> usize {
                (**self).dim()
            }
            fn advance(&mut self, t: f64, h: f64, y: &mut State) -> Result<()> {
                (**self).advance(t, h, y)
            }
            fn order(&self) -> Order {
                (**self).order()
            }
            fn is_dissipative(&self) -> bool {
                (**self).is_dissipative()
            }
            fn stats(&self) -> FlowStats {
                (**self).stats()
            }
            fn name(&self) -> String {
                (**self).name()
            }
        }
    )+};
}

forward_flow_map!(Box<F>, &mut F);
