//! Explicit (forward) Euler.

use super::{Stats, Stepper, begin_step, eval_rhs};
use crate::error::{Error, Result};
use crate::kernels::lincomb_checked;
use crate::{OdeSystem, Order, State};

/// Explicit Euler, order 1:
///
/// $$ y_{n+1} = y_n + h\, f(t_n, y_n). $$
///
/// On the gradient flow θ' = −∇f(θ) this is gradient descent with learning
/// rate h.
///
/// # Example
/// ```
/// use splitflow::{ExplicitEuler, FnSystem, State, Stats, Stepper};
/// let decay = FnSystem::new(1, |_t, y: &State, dy: &mut State| dy[0] = -y[0]);
/// let mut y = State::from_element(1, 1.0);
/// ExplicitEuler::new().step(&decay, 0.0, 0.1, &mut y, &mut Stats::default())?;
/// assert_eq!(y[0], 0.9);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ExplicitEuler {
    k: State,
}

impl ExplicitEuler {
    /// A new stepper (workspace allocated on first use).
    pub fn new() -> Self {
        Self::default()
    }
}

impl Stepper for ExplicitEuler {
    fn name(&self) -> &'static str {
        "explicit_euler"
    }

    fn order(&self) -> Order {
        Order::Finite(1)
    }

    fn step(
        &mut self,
        system: &dyn OdeSystem,
        t: f64,
        h: f64,
        y: &mut State,
        stats: &mut Stats,
    ) -> Result<()> {
        begin_step(system, h, y, [&mut self.k])?;
        eval_rhs(system, t, y, &mut self.k, "explicit Euler")?;
        stats.f_evals += 1;
        stats.accepted += 1;
        let probe = lincomb_checked(y.as_mut_slice(), None, &[(h, self.k.as_slice())]);
        if probe.is_nan() {
            return Err(Error::non_finite("explicit Euler step", t + h));
        }
        Ok(())
    }
}
