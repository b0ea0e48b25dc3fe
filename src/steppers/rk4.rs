//! The classical fourth-order Runge–Kutta method.

use super::{ExplicitRk, Stats, Stepper};
use crate::error::Result;
use crate::{OdeSystem, Order, State};

/// Classical Runge–Kutta, order 4: [`ExplicitRk`] on the tableau
/// [`RK4`](super::tableau::RK4) under the name `rk4`,
///
/// $$ y_{n+1} = y_n + \tfrac{h}{6}(k_1 + 2k_2 + 2k_3 + k_4). $$
///
/// # Example
/// ```
/// use splitflow::{FnSystem, Rk4, State, Stats, Stepper};
/// let decay = FnSystem::new(1, |_t, y: &State, dy: &mut State| dy[0] = -y[0]);
/// let mut y = State::from_element(1, 1.0);
/// let mut rk4 = Rk4::new();
/// for i in 0..10 {
///     rk4.step(&decay, 0.1 * i as f64, 0.1, &mut y, &mut Stats::default())?;
/// }
/// assert!((y[0] - (-1.0f64).exp()).abs() < 1e-6);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Rk4 {
    /// The generic stepper on the RK4 tableau.
    rk: ExplicitRk,
}

impl Default for Rk4 {
    fn default() -> Self {
        Rk4 {
            rk: ExplicitRk::rk4().labelled("RK4", "RK4 step"),
        }
    }
}

impl Rk4 {
    /// A new stepper (workspaces allocated on first use).
    pub fn new() -> Self {
        Self::default()
    }
}

impl Stepper for Rk4 {
    fn name(&self) -> &'static str {
        "rk4"
    }

    fn order(&self) -> Order {
        self.rk.order()
    }

    fn step(
        &mut self,
        system: &dyn OdeSystem,
        t: f64,
        h: f64,
        y: &mut State,
        stats: &mut Stats,
    ) -> Result<()> {
        self.rk.step(system, t, h, y, stats)
    }
}
