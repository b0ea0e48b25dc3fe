//! The heavy-ball ODE ẍ + γ(t)ẋ + ∇f(x) = 0.

use crate::workspace::Workspace;

use crate::error::{Error, Result};
use crate::objective::Objective;
use crate::{OdeSystem, State};

/// Friction of the heavy ball.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Friction {
    /// Constant γ ≥ 0 (Polyak's heavy ball).
    Constant(f64),
    /// Vanishing friction r/t (r = 3: the Nesterov ODE of Su, Boyd & Candès).
    Vanishing {
        /// The constant r > 0.
        r: f64,
    },
}

/// The heavy ball with friction as a first-order system on `[x; v]`:
///
/// $$ x' = v, \qquad v' = −γ(t)\,v − ∇f(x). $$
///
/// For `Friction::Vanishing { r }`, γ(t) = r/t is singular at t = 0. The
/// system then evaluates its limit: for a start at rest (v(0) = 0, the
/// Nesterov ODE's initial condition) v(t) ≈ v'(0)·t, so (r/t)v → r·v'(0) and
/// `v'(0) = −∇f(x₀)/(1 + r)`; that value is used whenever t = 0. (Starting at
/// t = 0 with v ≠ 0 is not a solution of the ODE.)
///
/// # Reference
/// B. T. Polyak, *Some methods of speeding up the convergence of iteration
/// methods* (1964); W. Su, S. Boyd, E. Candès, *A differential equation for
/// modeling Nesterov's accelerated gradient method* (JMLR 2016).
#[derive(Debug)]
pub struct HeavyBall<O> {
    objective: O,
    friction: Friction,
    x: Workspace<State>,
    g: Workspace<State>,
}

impl<O: Objective> HeavyBall<O> {
    /// The heavy ball on `objective` with the given friction.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a negative or non-finite γ, or r ≤ 0.
    pub fn new(objective: O, friction: Friction) -> Result<Self> {
        match friction {
            Friction::Constant(g) if !(g.is_finite() && g >= 0.0) => {
                return Err(Error::invalid("friction", g, "γ must be finite and ≥ 0"));
            }
            Friction::Vanishing { r } if !(r.is_finite() && r > 0.0) => {
                return Err(Error::invalid("r", r, "must be finite and > 0"));
            }
            _ => {}
        }
        let p = objective.dim();
        Ok(HeavyBall {
            objective,
            friction,
            x: Workspace::new(State::zeros(p)),
            g: Workspace::new(State::zeros(p)),
        })
    }

    /// The friction law.
    pub fn friction(&self) -> Friction {
        self.friction
    }

    /// The objective.
    pub fn objective(&self) -> &O {
        &self.objective
    }
}

impl<O: Objective> OdeSystem for HeavyBall<O> {
    fn dim(&self) -> usize {
        2 * self.objective.dim()
    }
    fn rhs(&self, t: f64, y: &State, dy: &mut State) {
        let p = self.objective.dim();
        let mut x = self.x.lock();
        let mut g = self.g.lock();
        x.copy_from(&y.rows(0, p));
        self.objective.gradient(&x, &mut g);
        for i in 0..p {
            let v = y[p + i];
            dy[i] = v;
            dy[p + i] = match self.friction {
                Friction::Constant(gamma) => -gamma * v - g[i],
                Friction::Vanishing { r } if t == 0.0 => -g[i] / (1.0 + r),
                Friction::Vanishing { r } => -(r / t) * v - g[i],
            };
        }
    }
}
