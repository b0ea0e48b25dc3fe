//! An ODE system integrated by a stepper, as a flow map.

use super::{FlowMap, FlowStats};
use crate::error::{Result, check_dim};
use crate::{AdaptiveOptions, OdeSystem, Order, State, Stats, Stepper, Steps, integrate};

/// How an [`Integrated`] flow map covers one advance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SubSteps {
    /// `n` equal steps of the stepper.
    Fixed(usize),
    /// Adaptive integration with the stepper's embedded estimate.
    Adaptive(AdaptiveOptions),
}

/// A system and a stepper as a flow map: `φ_h` = `n` steps of size `h/n`
/// (or an adaptive run over `[t, t + h]`).
///
/// Its [`order`](FlowMap::order) is the stepper's order for fixed sub-steps;
/// an adaptive sub-flow is reported as [`Order::Exact`] (its error is set by
/// the tolerance, not by h).
///
/// # Example
/// ```
/// use splitflow::splitting::{FlowMap, Integrated, SubSteps};
/// use splitflow::{FnSystem, Rk4, State};
/// let decay = FnSystem::new(1, |_t, y: &State, dy: &mut State| dy[0] = -y[0]);
/// let mut phi = Integrated::new(decay, Box::new(Rk4::new()), SubSteps::Fixed(4))?;
/// let mut y = State::from_element(1, 1.0);
/// phi.advance(0.0, 1.0, &mut y)?;
/// assert!((y[0] - (-1.0f64).exp()).abs() < 1e-4);
/// # Ok::<(), splitflow::Error>(())
/// ```
pub struct Integrated<S> {
    system: S,
    stepper: Box<dyn Stepper>,
    sub_steps: SubSteps,
    dissipative: bool,
    stats: Stats,
    advances: usize,
}

impl<S: OdeSystem> Integrated<S> {
    /// Integrates `system` with `stepper` in the given sub-step mode.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for zero
    /// sub-steps, or adaptive mode with a stepper that has no error estimate.
    pub fn new(system: S, mut stepper: Box<dyn Stepper>, sub_steps: SubSteps) -> Result<Self> {
        match sub_steps {
            SubSteps::Fixed(0) => {
                return Err(crate::Error::invalid(
                    "sub_steps",
                    0,
                    "need at least one sub-step",
                ));
            }
            SubSteps::Adaptive(_) if stepper.as_embedded().is_none() => {
                return Err(crate::Error::invalid(
                    "stepper",
                    stepper.name(),
                    "adaptive sub-steps need an embedded error estimate (rk45)",
                ));
            }
            _ => {}
        }
        Ok(Integrated {
            system,
            stepper,
            sub_steps,
            dissipative: false,
            stats: Stats::default(),
            advances: 0,
        })
    }

    /// Marks the system as dissipative (a gradient flow; see [`FlowMap::is_dissipative`]).
    pub fn dissipative(mut self, yes: bool) -> Self {
        self.dissipative = yes;
        self
    }

    /// The system.
    pub fn system(&self) -> &S {
        &self.system
    }

    /// The stepper's detailed counters.
    pub fn stepper_stats(&self) -> Stats {
        self.stats
    }
}

impl<S: OdeSystem> FlowMap for Integrated<S> {
    fn dim(&self) -> usize {
        self.system.dim()
    }

    fn advance(&mut self, t: f64, h: f64, y: &mut State) -> Result<()> {
        check_dim("state y", self.system.dim(), y.len())?;
        self.advances += 1;
        match self.sub_steps {
            SubSteps::Fixed(n) => {
                let dt = h / n as f64;
                for k in 0..n {
                    self.stepper
                        .step(&self.system, t + k as f64 * dt, dt, y, &mut self.stats)?;
                }
            }
            SubSteps::Adaptive(opts) => {
                let sol = integrate(
                    &self.system,
                    self.stepper.as_mut(),
                    t,
                    t + h,
                    y,
                    &Steps::Adaptive(opts),
                )?;
                self.stats.add(&sol.stats);
                y.copy_from(&sol.y);
            }
        }
        Ok(())
    }

    fn order(&self) -> Order {
        match self.sub_steps {
            SubSteps::Fixed(_) => self.stepper.order(),
            SubSteps::Adaptive(_) => Order::Exact,
        }
    }

    fn is_dissipative(&self) -> bool {
        self.dissipative
    }

    fn stats(&self) -> FlowStats {
        FlowStats {
            advances: self.advances,
            f_evals: self.stats.f_evals,
        }
    }

    fn name(&self) -> String {
        match self.sub_steps {
            SubSteps::Fixed(n) => format!("{} x{n}", self.stepper.name()),
            SubSteps::Adaptive(o) => {
                format!("{} adaptive (rtol {:e})", self.stepper.name(), o.rtol)
            }
        }
    }
}
