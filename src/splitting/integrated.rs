//! An ODE system advanced by an [`Integrator`], as a flow map.

use super::{FlowMap, FlowStats};
use crate::error::{Result, check_dim};
use crate::{Integrator, OdeSystem, Order, State, Stats};

/// A system and an [`Integrator`] as a flow map: `φ_h` = the integrator's
/// run over `[t, t + h]` (`n` steps of size `h/n`, or an adaptive run).
///
/// Its [`order`](FlowMap::order) is the integrator's (the stepper's for
/// fixed steps, [`Order::Exact`] for adaptive ones); it is
/// [dissipative](FlowMap::is_dissipative) when the system declares itself
/// dissipative ([`OdeSystem::is_dissipative`], true for gradient flows), so
/// compositions with backward steps refuse it by default. Advances reuse the
/// integrator's workspaces (no allocation after the first).
///
/// # Example
/// ```
/// use splitflow::splitting::{FlowMap, Integrated};
/// use splitflow::{FnSystem, Integrator, Rk4, State};
/// let decay = FnSystem::new(1, |_t, y: &State, dy: &mut State| dy[0] = -y[0]);
/// let mut phi = Integrated::new(decay, Integrator::fixed(Rk4::new(), 4)?);
/// let mut y = State::from_element(1, 1.0);
/// phi.advance(0.0, 1.0, &mut y)?;
/// assert!((y[0] - (-1.0f64).exp()).abs() < 1e-4);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug)]
pub struct Integrated<S> {
    system: S,
    integrator: Integrator,
    dissipative: bool,
    advances: usize,
}

impl<S: OdeSystem> Integrated<S> {
    /// `system` advanced by `integrator`; dissipative when the system says so.
    pub fn new(system: S, integrator: Integrator) -> Self {
        let dissipative = system.is_dissipative();
        Integrated {
            system,
            integrator,
            dissipative,
            advances: 0,
        }
    }

    /// Overrides whether the map counts as dissipative (see
    /// [`FlowMap::is_dissipative`]); by default it is the system's
    /// [`OdeSystem::is_dissipative`].
    pub fn dissipative(mut self, yes: bool) -> Self {
        self.dissipative = yes;
        self
    }

    /// The system.
    pub fn system(&self) -> &S {
        &self.system
    }

    /// The integrator.
    pub fn integrator(&self) -> &Integrator {
        &self.integrator
    }

    /// The stepper's detailed counters.
    pub fn stepper_stats(&self) -> Stats {
        self.integrator.stats()
    }
}

impl<S: OdeSystem + Send> FlowMap for Integrated<S> {
    fn dim(&self) -> usize {
        self.system.dim()
    }

    fn advance(&mut self, t: f64, h: f64, y: &mut State) -> Result<()> {
        check_dim("state y", self.system.dim(), y.len())?;
        self.advances += 1;
        self.integrator.advance(&self.system, t, h, y)
    }

    fn order(&self) -> Order {
        self.integrator.order()
    }

    fn is_dissipative(&self) -> bool {
        self.dissipative
    }

    fn stats(&self) -> FlowStats {
        FlowStats {
            advances: self.advances,
            f_evals: self.integrator.stats().f_evals,
        }
    }

    fn name(&self) -> String {
        self.integrator.label()
    }
}
