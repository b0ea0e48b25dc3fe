//! The classical fourth-order Runge–Kutta method.

use super::tableau::RK4;
use super::{Stats, Stepper, check_step, eval_rhs, fit};
use crate::error::{Error, Result};
use crate::kernels::{lincomb, lincomb_checked};
use crate::{OdeSystem, Order, State};

/// Classical Runge–Kutta, order 4 (tableau [`RK4`](super::ButcherTableau)):
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
#[derive(Debug, Clone, Default)]
pub struct Rk4 {
    k: [State; 4],
    stage: State,
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
        RK4.order()
    }

    fn step(
        &mut self,
        system: &dyn OdeSystem,
        t: f64,
        h: f64,
        y: &mut State,
        stats: &mut Stats,
    ) -> Result<()> {
        check_step(system, h, y)?;
        let n = y.len();
        for k in &mut self.k {
            fit(k, n);
        }
        fit(&mut self.stage, n);
        eval_rhs(system, t, y, &mut self.k[0], "RK4")?;
        for i in 1..4 {
            // Only the sub-diagonal entry of RK4's tableau is non-zero.
            let (done, rest) = self.k.split_at_mut(i);
            lincomb(
                self.stage.as_mut_slice(),
                Some(y.as_slice()),
                &[(h * RK4.a[i][i - 1], done[i - 1].as_slice())],
            );
            eval_rhs(system, t + RK4.c[i] * h, &self.stage, &mut rest[0], "RK4")?;
        }
        stats.f_evals += 4;
        stats.accepted += 1;
        let b = RK4.b;
        let probe = lincomb_checked(
            y.as_mut_slice(),
            None,
            &[
                (h * b[0], self.k[0].as_slice()),
                (h * b[1], self.k[1].as_slice()),
                (h * b[2], self.k[2].as_slice()),
                (h * b[3], self.k[3].as_slice()),
            ],
        );
        if probe.is_nan() {
            return Err(Error::non_finite("RK4 step", t + h));
        }
        Ok(())
    }
}
