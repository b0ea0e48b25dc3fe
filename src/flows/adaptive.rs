//! ODE models of the adaptive methods (THEORY §6): RMSProp, Adam, AdaGrad.
//!
//! All operations are per coordinate. States are one vector viewed in parts
//! (`[x; v]`, `[x; m; v]`). The discrete methods are recovered by the
//! schemes and parameter maps of THEORY §6 (Euler on the moment equations
//! first, then on x with the new moments).

use std::sync::MutexGuard;

use crate::workspace::Workspace;

use crate::error::{Result, check_nonnegative, check_positive};
use crate::objective::Objective;
use crate::{OdeSystem, State};

/// An objective with the workspaces to evaluate its gradient at the x-part
/// (the first p entries) of a flow's state `[x; …]` behind `&self`.
#[derive(Debug)]
struct PartGradient<O> {
    objective: O,
    x: Workspace<State>,
    g: Workspace<State>,
}

impl<O: Objective> PartGradient<O> {
    fn new(objective: O) -> Self {
        let p = objective.dim();
        PartGradient {
            objective,
            x: Workspace::new(State::zeros(p)),
            g: Workspace::new(State::zeros(p)),
        }
    }

    /// The dimension p of x.
    fn dim(&self) -> usize {
        self.objective.dim()
    }

    /// ∇f at the x-part of `y`, in the locked gradient workspace.
    fn at(&self, y: &State) -> MutexGuard<'_, State> {
        let mut x = self.x.lock();
        x.copy_from(&y.rows(0, self.dim()));
        let mut g = self.g.lock();
        self.objective.gradient(&x, &mut g);
        g
    }

    /// The field of a flow on `[x; v]` whose coordinates move by
    /// `(x'ᵢ, v'ᵢ) = law(∇f(x)ᵢ, vᵢ)` (RMSProp, AdaGrad).
    fn two_part_rhs(&self, y: &State, dy: &mut State, law: impl Fn(f64, f64) -> (f64, f64)) {
        let p = self.dim();
        let g = self.at(y);
        for i in 0..p {
            (dy[i], dy[p + i]) = law(g[i], y[p + i]);
        }
    }
}

/// The RMSProp ODE on `[x; v]` (Da Silva & Gazeau):
///
/// $$ v' = b\,(∇f(x)^2 − v), \qquad x' = −\frac{∇f(x)}{\sqrt{v} + ε}. $$
///
/// Euler on v first, then on x with the new v, step δ, reproduces RMSProp
/// with ρ = 1 − bδ and learning rate δ (ε outside the root).
///
/// # Reference
/// A. B. da Silva, M. Gazeau, *A general system of differential equations to
/// model first order adaptive algorithms*, arXiv:1810.13108.
#[derive(Debug)]
pub struct RmsPropFlow<O> {
    gradient: PartGradient<O>,
    b: f64,
    eps: f64,
}

impl<O: Objective> RmsPropFlow<O> {
    /// The flow with rate `b > 0` and `ε ≥ 0`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for `b ≤ 0` or `ε < 0` (or non-finite).
    pub fn new(objective: O, b: f64, eps: f64) -> Result<Self> {
        check_positive("b", b)?;
        check_nonnegative("eps", eps)?;
        Ok(RmsPropFlow {
            gradient: PartGradient::new(objective),
            b,
            eps,
        })
    }
}

impl<O: Objective> OdeSystem for RmsPropFlow<O> {
    fn dim(&self) -> usize {
        2 * self.gradient.dim()
    }
    fn rhs(&self, _t: f64, y: &State, dy: &mut State) {
        self.gradient.two_part_rhs(y, dy, |g, v| {
            (-g / (v.max(0.0).sqrt() + self.eps), self.b * (g * g - v))
        });
    }
}

/// Bias correction of the Adam flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BiasCorrection {
    /// `c₁ = c₂ = 1`.
    None,
    /// `cᵢ(t) = 1 − e^{−aᵢt}` (the continuous counterpart of `1 − βᵢⁿ`).
    Continuous,
}

/// The Adam ODE on `[x; m; v]` (Barakat & Bianchi; da Silva & Gazeau):
///
/// $$ m' = a(∇f − m),\quad v' = b(∇f^2 − v),\quad
///    x' = −\frac{m/c_1(t)}{\sqrt{v/c_2(t)} + ε}. $$
///
/// With [`BiasCorrection::Continuous`], `m/c₁ → ∇f(x₀)` and `v/c₂ → ∇f(x₀)²`
/// as t → 0 from m(0) = v(0) = 0; that limit is used at t = 0.
///
/// # Reference
/// A. Barakat, P. Bianchi, *Convergence and dynamical behavior of the ADAM
/// algorithm for non-convex stochastic optimization*, arXiv:1810.02263.
#[derive(Debug)]
pub struct AdamFlow<O> {
    gradient: PartGradient<O>,
    a: f64,
    b: f64,
    eps: f64,
    bias: BiasCorrection,
}

impl<O: Objective> AdamFlow<O> {
    /// The flow with rates `a, b > 0`, `ε ≥ 0` and a bias-correction law.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for non-positive rates or negative ε.
    pub fn new(objective: O, a: f64, b: f64, eps: f64, bias: BiasCorrection) -> Result<Self> {
        check_positive("a", a)?;
        check_positive("b", b)?;
        check_nonnegative("eps", eps)?;
        Ok(AdamFlow {
            gradient: PartGradient::new(objective),
            a,
            b,
            eps,
            bias,
        })
    }
}

impl<O: Objective> OdeSystem for AdamFlow<O> {
    fn dim(&self) -> usize {
        3 * self.gradient.dim()
    }
    fn rhs(&self, t: f64, y: &State, dy: &mut State) {
        let p = self.gradient.dim();
        let g = self.gradient.at(y);
        let (c1, c2) = match self.bias {
            BiasCorrection::None => (1.0, 1.0),
            BiasCorrection::Continuous => (-(-self.a * t).exp_m1(), -(-self.b * t).exp_m1()),
        };
        for i in 0..p {
            let (m, v) = (y[p + i], y[2 * p + i]);
            let (mh, vh) = if c1 == 0.0 || c2 == 0.0 {
                (g[i], g[i] * g[i])
            } else {
                (m / c1, v / c2)
            };
            dy[i] = -mh / (vh.max(0.0).sqrt() + self.eps);
            dy[p + i] = self.a * (g[i] - m);
            dy[2 * p + i] = self.b * (g[i] * g[i] - v);
        }
    }
}

/// The AdaGrad ODE on `[x; V]` (ε inside the root):
///
/// $$ V' = ∇f(x)^2, \qquad x' = −\frac{∇f(x)}{\sqrt{V + \tilde ε}}. $$
///
/// Euler on V first, then x with the new V, step δ = α², with V = α²G and
/// ε̃ = α²ε, reproduces AdaGrad `θ ← θ − α g/√(G + ε)`.
#[derive(Debug)]
pub struct AdaGradFlow<O> {
    gradient: PartGradient<O>,
    eps: f64,
}

impl<O: Objective> AdaGradFlow<O> {
    /// The flow with `ε̃ ≥ 0`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for negative or non-finite ε̃.
    pub fn new(objective: O, eps: f64) -> Result<Self> {
        check_nonnegative("eps", eps)?;
        Ok(AdaGradFlow {
            gradient: PartGradient::new(objective),
            eps,
        })
    }
}

impl<O: Objective> OdeSystem for AdaGradFlow<O> {
    fn dim(&self) -> usize {
        2 * self.gradient.dim()
    }
    fn rhs(&self, _t: f64, y: &State, dy: &mut State) {
        self.gradient
            .two_part_rhs(y, dy, |g, v| (-g / (v + self.eps).max(0.0).sqrt(), g * g));
    }
}
