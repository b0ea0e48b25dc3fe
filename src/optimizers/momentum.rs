//! Momentum and Nesterov's method: discretizations of the heavy-ball ODE.

use super::{
    GradientOracle, Optimizer, check_nonnegative, check_positive, commit, gradient_at, prepare,
};
use crate::State;
use crate::error::{Error, Result};

/// How the heavy-ball ODE `u' = w, w' = −γw − ∇f(u)` is discretized with step h
/// (THEORY §5). Each is "friction factor φ, kick κ, drift h":
/// `w ← φ·w − κ·∇f(u)`, `u ← u + h·w`, which is Polyak momentum
/// `x₊ = x − α∇f(x) + β(x − x₋)` with `β = φ`, `α = κ·h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeavyBallScheme {
    /// Symplectic Euler: `w ← w − h(γw + ∇f(u))`, `u ← u + h·w`:
    /// β = 1 − γh, α = h².
    SemiImplicitEuler,
    /// Lie splitting: the exact friction flow `w ← e^{−γh}w`, then
    /// symplectic Euler of `{u' = w, w' = −∇f(u)}` (conformal symplectic
    /// Euler): β = e^{−γh}, α = h².
    ExactFriction,
    /// Central second difference with forward-difference friction,
    /// `(x₊ − 2x + x₋)/h² + γ(x₊ − x)/h + ∇f(x) = 0`:
    /// β = 1/(1 + γh), α = h²/(1 + γh).
    ForwardFriction,
}

impl HeavyBallScheme {
    /// The snake-case name used in specs (`semi_implicit_euler`, `exact_friction`, `forward_friction`).
    pub fn as_str(self) -> &'static str {
        match self {
            HeavyBallScheme::SemiImplicitEuler => "semi_implicit_euler",
            HeavyBallScheme::ExactFriction => "exact_friction",
            HeavyBallScheme::ForwardFriction => "forward_friction",
        }
    }

    /// Parses a spec name.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an unknown name.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "semi_implicit_euler" => Ok(HeavyBallScheme::SemiImplicitEuler),
            "exact_friction" => Ok(HeavyBallScheme::ExactFriction),
            "forward_friction" => Ok(HeavyBallScheme::ForwardFriction),
            _ => Err(Error::invalid(
                "scheme",
                name,
                "expected semi_implicit_euler, exact_friction or forward_friction",
            )),
        }
    }

    /// The parameter map: `(φ, κ)` = (friction factor, kick coefficient) for
    /// friction γ and step h; textbook `momentum = φ`, `lr = κ·h`.
    pub fn factors(self, gamma: f64, h: f64) -> (f64, f64) {
        match self {
            HeavyBallScheme::SemiImplicitEuler => (1.0 - gamma * h, h),
            HeavyBallScheme::ExactFriction => ((-gamma * h).exp(), h),
            HeavyBallScheme::ForwardFriction => (1.0 / (1.0 + gamma * h), h / (1.0 + gamma * h)),
        }
    }

    /// The ODE form splitflow reads a textbook `(lr, momentum)` as: exact
    /// friction with h = √lr, γ = −ln(momentum)/h, or semi-implicit Euler
    /// with γ = 1/h when momentum = 0 (which exact friction cannot give).
    /// Returns `(scheme, γ, h)`.
    ///
    /// Momentum 1 is the frictionless ODE (γ = 0, exact friction), so that
    /// `friction = 0` and `momentum = 1` describe the same method both ways.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-positive `lr` or `momentum`
    /// outside [0, 1].
    pub fn for_textbook(lr: f64, momentum: f64) -> Result<(Self, f64, f64)> {
        let scheme = if momentum > 0.0 {
            HeavyBallScheme::ExactFriction
        } else {
            HeavyBallScheme::SemiImplicitEuler
        };
        let (gamma, h) = scheme.invert(lr, momentum)?;
        Ok((scheme, gamma, h))
    }

    /// The inverse map: `(γ, h)` whose scheme gives textbook `(lr, momentum)`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when the scheme cannot produce `momentum`
    /// (exact friction needs momentum > 0).
    pub fn invert(self, lr: f64, momentum: f64) -> Result<(f64, f64)> {
        check_positive("lr", lr)?;
        check_momentum(momentum)?;
        Ok(match self {
            HeavyBallScheme::SemiImplicitEuler => {
                let h = lr.sqrt();
                ((1.0 - momentum) / h, h)
            }
            HeavyBallScheme::ExactFriction => {
                if momentum == 0.0 {
                    return Err(Error::invalid(
                        "momentum",
                        0,
                        "exact friction gives momentum e^{−γh} > 0; use semi_implicit_euler for 0",
                    ));
                }
                let h = lr.sqrt();
                // 0 − ln μ: momentum 1 gives γ = +0 (not −0).
                ((0.0 - momentum.ln()) / h, h)
            }
            HeavyBallScheme::ForwardFriction => {
                // β = 1/(1 + γh), α = h²β  ⇒  h = √(α/β), γ = (1/β − 1)/h.
                if momentum == 0.0 {
                    return Err(Error::invalid(
                        "momentum",
                        0,
                        "forward friction gives momentum 1/(1 + γh) > 0",
                    ));
                }
                let h = (lr / momentum).sqrt();
                ((1.0 / momentum - 1.0) / h, h)
            }
        })
    }
}

/// The textbook momentum of a heavy-ball scheme: φ ∈ [0, 1], where φ = 1 is
/// the frictionless ODE (γ = 0), which every scheme maps to momentum 1.
fn check_momentum(momentum: f64) -> Result<()> {
    if momentum.is_finite() && (0.0..=1.0).contains(&momentum) {
        Ok(())
    } else {
        Err(Error::invalid(
            "momentum",
            momentum,
            "must lie in [0, 1] (1 = no friction)",
        ))
    }
}

/// The shared heavy-ball state and step: velocity `w` (the ODE's v), the
/// gradient buffer, and the look-ahead point.
#[derive(Debug, Clone)]
struct HeavyBallCore {
    h: f64,
    w: State,
    g: State,
    ahead: State,
    next: State,
    w_next: State,
    steps: usize,
}

impl HeavyBallCore {
    fn new(h: f64) -> Self {
        HeavyBallCore {
            h,
            w: State::zeros(0),
            g: State::zeros(0),
            ahead: State::zeros(0),
            next: State::zeros(0),
            w_next: State::zeros(0),
            steps: 0,
        }
    }

    /// `w ← φw − κ∇f(point)`, `u ← u + h·w`, the gradient taken at `u`
    /// or at the look-ahead point `u + h·φ·w`.
    fn step(
        &mut self,
        u: &mut State,
        oracle: &mut dyn GradientOracle,
        phi: f64,
        kappa: f64,
        lookahead: bool,
    ) -> Result<()> {
        let k = self.steps + 1;
        prepare(
            u,
            k,
            &mut [&mut self.w, &mut self.g, &mut self.next, &mut self.w_next],
        )?;
        if lookahead {
            prepare(u, k, &mut [&mut self.ahead])?;
            let c = self.h * phi;
            // Plain slices: nalgebra's strided iterators do not vectorise.
            let (ahead, u, w) = (self.ahead.as_mut_slice(), u.as_slice(), self.w.as_slice());
            for ((a, ui), wi) in ahead.iter_mut().zip(u).zip(w) {
                *a = ui + c * wi;
            }
            gradient_at(oracle, &self.ahead, &mut self.g, k)?;
        } else {
            gradient_at(oracle, u, &mut self.g, k)?;
        }
        let h = self.h;
        let (w, g) = (self.w.as_slice(), self.g.as_slice());
        for (((un, wn), (ui, wi)), gi) in self
            .next
            .as_mut_slice()
            .iter_mut()
            .zip(self.w_next.as_mut_slice())
            .zip(u.as_slice().iter().zip(w))
            .zip(g)
        {
            *wn = phi * wi - kappa * gi;
            *un = ui + h * *wn;
        }
        commit(k, u, &mut self.next, &mut [(&mut self.w, &mut self.w_next)])?;
        self.steps = k;
        Ok(())
    }

    fn reset(&mut self) {
        self.w.fill(0.0);
        self.steps = 0;
    }
}

/// Polyak's heavy-ball momentum, derived from the heavy-ball ODE
/// `ẍ + γẋ + ∇f(x) = 0` (state `[u; w]`, `u' = w`, `w' = −γw − ∇f(u)`).
///
/// *[`HeavyBallScheme`] on ẍ + γẋ + ∇f(x) = 0 with step h*:
///
/// | scheme | momentum β | lr α |
/// |---|---|---|
/// | semi-implicit Euler | 1 − γh | h² |
/// | exact friction (Lie) | e^{−γh} | h² |
/// | forward friction | 1/(1 + γh) | h²/(1 + γh) |
///
/// $$ x_{k+1} = x_k - \alpha \nabla f(x_k) + \beta (x_k - x_{k-1}) $$
///
/// This is the same trajectory as PyTorch's buffer form `b ← βb + ∇f`,
/// `x ← x − αb`, and Sutskever's `v ← βv − α∇f`, `x ← x + v`, at constant
/// lr; the state kept here is the ODE velocity `w = (x_k − x_{k−1})/h`,
/// starting from rest.
///
/// # Example
/// ```
/// use splitflow::optimizers::{HeavyBallScheme, Momentum, Optimizer};
///
/// let m = Momentum::from_ode(2.0, HeavyBallScheme::ExactFriction, 0.1)?;
/// let hp = m.hyper_parameters();
/// assert!((hp[0].1 - 0.01).abs() < 1e-15);                 // lr = h²
/// assert!((hp[1].1 - (-0.2f64).exp()).abs() < 1e-15);      // momentum = e^{−γh}
/// # Ok::<(), splitflow::Error>(())
/// ```
///
/// # Reference
/// B. T. Polyak, *Some methods of speeding up the convergence of iteration
/// methods*, 1964; THEORY §5 for the three maps.
#[derive(Debug, Clone)]
pub struct Momentum {
    gamma: f64,
    scheme: HeavyBallScheme,
    phi: f64,
    kappa: f64,
    core: HeavyBallCore,
}

fn check_factors(phi: f64, kappa: f64) -> Result<()> {
    if !(0.0..1.0).contains(&phi) && phi != 1.0 {
        return Err(Error::invalid(
            "friction·h",
            phi,
            "the scheme's momentum factor must lie in [0, 1] (semi-implicit Euler needs γh ≤ 1)",
        ));
    }
    check_positive("lr", kappa)
}

impl Momentum {
    /// `scheme` on the heavy-ball ODE with constant friction `gamma` and step `h`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a negative or non-finite friction, a
    /// non-positive step, or γh > 1 with semi-implicit Euler (negative momentum).
    pub fn from_ode(gamma: f64, scheme: HeavyBallScheme, h: f64) -> Result<Self> {
        check_nonnegative("friction", gamma)?;
        check_positive("h", h)?;
        let (phi, kappa) = scheme.factors(gamma, h);
        check_factors(phi, kappa)?;
        Ok(Momentum {
            gamma,
            scheme,
            phi,
            kappa,
            core: HeavyBallCore::new(h),
        })
    }

    /// Textbook momentum `x₊ = x − lr·∇f(x) + momentum·(x − x₋)`, built
    /// through the ODE of [`HeavyBallScheme::for_textbook`].
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-positive or non-finite `lr` or
    /// `momentum` outside [0, 1] (momentum 1: friction γ = 0).
    pub fn textbook(lr: f64, momentum: f64) -> Result<Self> {
        let (scheme, gamma, h) = HeavyBallScheme::for_textbook(lr, momentum)?;
        Self::from_ode(gamma, scheme, h)
    }

    /// The friction γ.
    pub fn friction(&self) -> f64 {
        self.gamma
    }

    /// The step h.
    pub fn h(&self) -> f64 {
        self.core.h
    }

    /// The scheme.
    pub fn scheme(&self) -> HeavyBallScheme {
        self.scheme
    }

    /// The ODE velocity w (zero before the first step).
    pub fn velocity(&self) -> &State {
        &self.core.w
    }
}

impl Optimizer for Momentum {
    fn name(&self) -> &'static str {
        "momentum"
    }
    fn step(&mut self, theta: &mut State, oracle: &mut dyn GradientOracle) -> Result<()> {
        self.core.step(theta, oracle, self.phi, self.kappa, false)
    }
    fn reset(&mut self) {
        self.core.reset();
    }
    fn steps_taken(&self) -> usize {
        self.core.steps
    }
    fn hyper_parameters(&self) -> Vec<(&'static str, f64)> {
        vec![("lr", self.kappa * self.core.h), ("momentum", self.phi)]
    }
    fn derivation(&self) -> String {
        format!(
            "{} on ẍ + γẋ + ∇f(x) = 0 with γ = {}, h = {} (momentum = {}, lr = {})",
            self.scheme.as_str().replace('_', " "),
            self.gamma,
            self.core.h,
            self.phi,
            self.kappa * self.core.h
        )
    }
}

/// The friction of the ODE behind [`Nag`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NagFriction {
    /// Constant friction γ with a [`HeavyBallScheme`]: Sutskever's NAG with
    /// momentum μ = φ(γh), lr = κh.
    Constant {
        /// γ
        gamma: f64,
        /// The scheme.
        scheme: HeavyBallScheme,
    },
    /// Vanishing friction r/t (r = 3: Nesterov's ODE, Su–Boyd–Candès): the
    /// step-n momentum is (n − 1)/(n + r − 1), h = √s.
    Vanishing {
        /// r
        r: f64,
    },
}

/// Nesterov's accelerated gradient: the heavy-ball discretization with the
/// gradient taken at the look-ahead point `u + h·φ·w`.
///
/// *Constant friction*: the [`HeavyBallScheme`] kick with a look-ahead
/// gradient on ẍ + γẋ + ∇f = 0, which is Sutskever's form
/// `v ← μv − ε∇f(θ + μv)`, `θ ← θ + v` with `μ = φ`, `ε = κh` (and `v = h·w`).
///
/// *Vanishing friction r/t*: at step n (n = 0, 1, …) the friction factor is
/// `φₙ = (n − 1)/(n + r − 1)` (0 at n = 0, where the velocity is zero), the
/// kick and drift use h = √s, which is Nesterov's method
/// `x_k = y_{k−1} − s∇f(y_{k−1})`, `y_k = x_k + ((k−1)/(k+r−1))(x_k − x_{k−1})`;
/// as s → 0 it tracks `Ẍ + (r/t)Ẋ + ∇f(X) = 0` at `x_k ≈ X(k√s)`
/// (tests/flows.rs measures the rate against the Bessel solution).
///
/// # Example
/// ```
/// use nalgebra::dvector;
/// use splitflow::optimizers::{FnOracle, Nag, Optimizer};
///
/// let mut nag = Nag::nesterov(0.1, 3.0)?; // s = 0.1, r = 3
/// let mut oracle = FnOracle::new(1, |theta, g| g.copy_from(theta));
/// let mut x = dvector![1.0];
/// nag.step(&mut x, &mut oracle)?;
/// assert!((x[0] - 0.9).abs() < 1e-15); // x₁ = x₀ − s∇f(x₀)
/// # Ok::<(), splitflow::Error>(())
/// ```
///
/// # Reference
/// Y. Nesterov, *A method for solving the convex programming problem with
/// convergence rate O(1/k²)*, 1983; I. Sutskever et al., *On the importance
/// of initialization and momentum in deep learning*, ICML 2013; W. Su,
/// S. Boyd, E. Candès, *A differential equation for modeling Nesterov's
/// accelerated gradient method*, JMLR 2016.
#[derive(Debug, Clone)]
pub struct Nag {
    friction: NagFriction,
    phi: f64,
    kappa: f64,
    core: HeavyBallCore,
}

impl Nag {
    /// NAG on the heavy-ball ODE with the given friction and step `h`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a negative friction, non-positive r
    /// or h, or a scheme momentum outside [0, 1].
    pub fn from_ode(friction: NagFriction, h: f64) -> Result<Self> {
        check_positive("h", h)?;
        let (phi, kappa) = match friction {
            NagFriction::Constant { gamma, scheme } => {
                check_nonnegative("friction", gamma)?;
                let (phi, kappa) = scheme.factors(gamma, h);
                check_factors(phi, kappa)?;
                (phi, kappa)
            }
            NagFriction::Vanishing { r } => {
                check_positive("vanishing_r", r)?;
                (0.0, h)
            }
        };
        Ok(Nag {
            friction,
            phi,
            kappa,
            core: HeavyBallCore::new(h),
        })
    }

    /// Sutskever's NAG with learning rate `lr` and momentum `momentum`,
    /// through the ODE of [`HeavyBallScheme::for_textbook`].
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a bad `lr` or `momentum` outside [0, 1].
    pub fn textbook(lr: f64, momentum: f64) -> Result<Self> {
        let (scheme, gamma, h) = HeavyBallScheme::for_textbook(lr, momentum)?;
        Self::from_ode(NagFriction::Constant { gamma, scheme }, h)
    }

    /// Nesterov's method with step `s` and friction r/t (r = 3 is the classic
    /// (k−1)/(k+2) momentum): h = √s.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for non-positive `s` or `r`.
    pub fn nesterov(s: f64, r: f64) -> Result<Self> {
        check_positive("lr", s)?;
        Self::from_ode(NagFriction::Vanishing { r }, s.sqrt())
    }

    /// The friction of the underlying ODE.
    pub fn friction(&self) -> NagFriction {
        self.friction
    }

    /// The step h.
    pub fn h(&self) -> f64 {
        self.core.h
    }
}

impl Optimizer for Nag {
    fn name(&self) -> &'static str {
        "nag"
    }
    fn step(&mut self, theta: &mut State, oracle: &mut dyn GradientOracle) -> Result<()> {
        if let NagFriction::Vanishing { r } = self.friction {
            let n = self.core.steps as f64;
            self.phi = if n == 0.0 {
                0.0
            } else {
                (n - 1.0) / (n + r - 1.0)
            };
        }
        self.core.step(theta, oracle, self.phi, self.kappa, true)
    }
    fn reset(&mut self) {
        self.core.reset();
    }
    fn steps_taken(&self) -> usize {
        self.core.steps
    }
    fn hyper_parameters(&self) -> Vec<(&'static str, f64)> {
        let lr = self.kappa * self.core.h;
        match self.friction {
            NagFriction::Constant { .. } => vec![("lr", lr), ("momentum", self.phi)],
            NagFriction::Vanishing { r } => vec![("lr", lr), ("vanishing_r", r)],
        }
    }
    fn derivation(&self) -> String {
        match self.friction {
            NagFriction::Constant { gamma, scheme } => format!(
                "{} with the gradient at the look-ahead point on ẍ + γẋ + ∇f(x) = 0 with γ = {gamma}, h = {} (momentum = {}, lr = {})",
                scheme.as_str().replace('_', " "),
                self.core.h,
                self.phi,
                self.kappa * self.core.h
            ),
            NagFriction::Vanishing { r } => format!(
                "symplectic Euler with friction factor (n−1)/(n+{r}−1) and look-ahead gradient on ẍ + ({r}/t)ẋ + ∇f(x) = 0 with h = {} (lr = h² = {})",
                self.core.h,
                self.core.h * self.core.h
            ),
        }
    }
}

use super::registry::{DefaultValue, MethodEntry};

/// Registry entry of `momentum` (PyTorch's `SGD(momentum=μ)`, Sutskever's form).
pub(crate) const MOMENTUM: MethodEntry = MethodEntry {
    name: "momentum",
    keys: &["method", "lr", "momentum"],
    defaults: &[],
    ode: "Lie splitting [friction exact, kick, drift] of the heavy ball ẍ + γẋ + ∇f = 0, h = √lr, γ = −ln(momentum)/h (momentum = 0: semi-implicit Euler, γ = 1/h)",
    build: |t, e| {
        Ok(Box::new(Momentum::textbook(
            e.number(t.lr, "lr")?,
            e.number(t.momentum, "momentum")?,
        )?))
    },
};

/// Registry entry of `nag`.
pub(crate) const NAG: MethodEntry = MethodEntry {
    name: "nag",
    keys: &["method", "lr", "momentum", "vanishing_r"],
    defaults: &[
        (
            "momentum",
            DefaultValue::Text("none: give it or `vanishing_r`"),
        ),
        (
            "vanishing_r",
            DefaultValue::Text("none: give it or `momentum`"),
        ),
    ],
    ode: "Lie splitting [friction exact, drift, kick] of the Hessian-damped heavy ball (β = h), h = √lr; with `vanishing_r`: r/t friction, Euler, t₀ = (r − 1)h",
    build: |t, e| {
        let lr = e.number(t.lr, "lr")?;
        match (t.momentum, t.vanishing_r) {
            (Some(mu), None) => Ok(Box::new(Nag::textbook(lr, mu)?)),
            (None, Some(r)) => Ok(Box::new(Nag::nesterov(lr, r)?)),
            _ => Err(Error::invalid(
                "momentum",
                "missing",
                "nag needs exactly one of `momentum` (constant) or `vanishing_r` ((k−1)/(k+r−1))",
            )),
        }
    },
};
