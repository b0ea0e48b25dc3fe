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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_models::VanDerPol;

    /// The textbook RK4 written out per coordinate, with the fused kernels'
    /// order of operations (`y + c₀k₀ + c₁k₁ + …`, left to right, `cⱼ = h·bⱼ`).
    fn textbook(system: &dyn OdeSystem, t: f64, h: f64, y: &State) -> State {
        let f = |t: f64, y: &State| {
            let mut dy = State::zeros(y.len());
            system.rhs(t, y, &mut dy);
            dy
        };
        let k1 = f(t, y);
        let k2 = f(t + 0.5 * h, &y.zip_map(&k1, |y, k| y + (h * 0.5) * k));
        let k3 = f(t + 0.5 * h, &y.zip_map(&k2, |y, k| y + (h * 0.5) * k));
        let k4 = f(t + h, &y.zip_map(&k3, |y, k| y + h * k));
        let b = [1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0];
        State::from_fn(y.len(), |i, _| {
            y[i] + (h * b[0]) * k1[i] + (h * b[1]) * k2[i] + (h * b[2]) * k3[i] + (h * b[3]) * k4[i]
        })
    }

    /// `Rk4` (the generic stepper on the RK4 tableau) is bitwise the textbook
    /// formula, step after step, with 4 f-evaluations a step.
    #[test]
    fn rk4_is_bitwise_the_textbook_formula() {
        let vdp = VanDerPol { mu: 2.0 };
        let mut rk4 = Rk4::new();
        let mut y = State::from_vec(vec![2.0, 0.0]);
        let mut stats = Stats::default();
        for i in 0..100 {
            let t = 0.05 * i as f64;
            let expected = textbook(&vdp, t, 0.05, &y);
            rk4.step(&vdp, t, 0.05, &mut y, &mut stats).unwrap();
            let bits = |v: &State| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&y), bits(&expected), "step {i}");
        }
        assert_eq!((stats.accepted, stats.f_evals), (100, 400));
        // Negative control: the state moved.
        assert!((y[0] - 2.0).abs() > 0.1);
    }
}
