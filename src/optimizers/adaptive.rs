//! AdaGrad, RMSProp and Adadelta: per-coordinate accumulator methods and
//! the ODEs they discretize (THEORY §6).

use super::{
    GradientOracle, Optimizer, check_eps, check_positive, check_unit, commit, gradient_at, prepare,
};
use crate::State;
use crate::error::{Error, Result};

/// Where ε enters the adaptive denominator.
///
/// `Outside`: `g/(√v + ε)` — Kingma–Ba's Adam and PyTorch's Adam, RMSprop and
/// Adagrad (the default everywhere in splitflow). `Inside`: `g/√(v + ε)` —
/// the form of THEORY §6's RMSProp/AdaGrad rows and of several papers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EpsPlacement {
    /// `√v + ε` (default).
    #[default]
    Outside,
    /// `√(v + ε)`.
    Inside,
}

impl EpsPlacement {
    /// The spec name: `"outside"` or `"inside"`.
    pub fn as_str(self) -> &'static str {
        match self {
            EpsPlacement::Outside => "outside",
            EpsPlacement::Inside => "inside",
        }
    }

    /// Parses a spec name.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a name other than `outside` / `inside`.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "outside" => Ok(EpsPlacement::Outside),
            "inside" => Ok(EpsPlacement::Inside),
            _ => Err(Error::invalid(
                "eps_placement",
                name,
                "expected outside or inside",
            )),
        }
    }

    /// The denominator `√v + ε` or `√(v + ε)`.
    #[inline]
    pub(crate) fn denominator(self, v: f64, eps: f64) -> f64 {
        match self {
            EpsPlacement::Outside => v.sqrt() + eps,
            EpsPlacement::Inside => (v + eps).sqrt(),
        }
    }
}

/// The state and the checked step of a method with one accumulator of
/// squared gradients (AdaGrad, RMSProp):
///
/// $$ v_{k+1} = A(v_k, g_k), \qquad x_{k+1} = x_k - \delta\, g_k / D(v_{k+1}, \varepsilon) $$
///
/// with `g = ∇f(xₖ)`, the method's accumulation `A` and the denominator `D`
/// of its [`EpsPlacement`]; computed into candidates and committed only
/// when finite ([`prepare`], [`gradient_at`], [`commit`]).
#[derive(Debug, Clone)]
struct Accumulator {
    v: State,
    g: State,
    next: State,
    v_next: State,
    steps: usize,
}

impl Accumulator {
    fn new() -> Self {
        Accumulator {
            v: State::zeros(0),
            g: State::zeros(0),
            next: State::zeros(0),
            v_next: State::zeros(0),
            steps: 0,
        }
    }

    /// One step with accumulation `accumulate(v, g)`, step `d` and
    /// regulariser `e` at `place`.
    fn step(
        &mut self,
        theta: &mut State,
        oracle: &mut dyn GradientOracle,
        d: f64,
        e: f64,
        place: EpsPlacement,
        accumulate: impl Fn(f64, f64) -> f64,
    ) -> Result<()> {
        let k = self.steps + 1;
        prepare(
            theta,
            k,
            &mut [&mut self.v, &mut self.next, &mut self.v_next],
        )?;
        gradient_at(oracle, theta, &mut self.g, k)?;
        // Plain slices (here and in the other step loops of this file):
        // nalgebra's strided iterators do not vectorise.
        let (v, g) = (self.v.as_slice(), self.g.as_slice());
        for (((xn, vn), (x, v)), g) in self
            .next
            .as_mut_slice()
            .iter_mut()
            .zip(self.v_next.as_mut_slice())
            .zip(theta.as_slice().iter().zip(v))
            .zip(g)
        {
            *vn = accumulate(*v, *g);
            *xn = x - d * g / place.denominator(*vn, e);
        }
        commit(
            k,
            theta,
            &mut self.next,
            &mut [(&mut self.v, &mut self.v_next)],
        )?;
        self.steps = k;
        Ok(())
    }

    /// Forgets v and the step count.
    fn reset(&mut self) {
        self.v.fill(0.0);
        self.steps = 0;
    }
}

/// AdaGrad, derived from the ODE `V' = ∇f²`, `x' = −∇f/(√V + ε̃)` (or
/// `√(V + ε̃)`).
///
/// *Explicit Euler on V first, then on x with the new V, step δ, on
/// `V' = ∇f², x' = −∇f/(√V ⊕ ε̃)`, with δ = α², V = α²G and ε̃ = αε (ε
/// outside the root) or ε̃ = α²ε (inside)* reproduces
///
/// $$ G \leftarrow G + g^2,\qquad \theta \leftarrow \theta - \alpha\,\frac{g}{\sqrt{G} + \varepsilon}. $$
///
/// The state kept is the ODE's V = α²G.
///
/// # Example
/// ```
/// use nalgebra::dvector;
/// use splitflow::optimizers::{AdaGrad, EpsPlacement, FnOracle, Optimizer};
///
/// let mut opt = AdaGrad::textbook(0.5, 1e-10, EpsPlacement::Outside)?;
/// let mut oracle = FnOracle::new(1, |_theta, g| g[0] = 2.0); // constant gradient
/// let mut x = dvector![0.0];
/// opt.step(&mut x, &mut oracle)?;
/// assert!((x[0] + 0.5).abs() < 1e-10); // first step: −α·g/(|g| + ε)
/// # Ok::<(), splitflow::Error>(())
/// ```
///
/// # Reference
/// J. Duchi, E. Hazan, Y. Singer, *Adaptive subgradient methods for online
/// learning and stochastic optimization*, JMLR 2011; A. B. da Silva,
/// M. Gazeau, arXiv:1810.13108 (the ODE).
#[derive(Debug, Clone)]
pub struct AdaGrad {
    delta: f64,
    eps_tilde: f64,
    placement: EpsPlacement,
    acc: Accumulator,
}

impl AdaGrad {
    /// Euler steps δ on the AdaGrad ODE with regulariser ε̃.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-positive δ or negative ε̃.
    pub fn from_ode(eps_tilde: f64, placement: EpsPlacement, delta: f64) -> Result<Self> {
        check_positive("h", delta)?;
        check_eps("eps", eps_tilde)?;
        Ok(AdaGrad {
            delta,
            eps_tilde,
            placement,
            acc: Accumulator::new(),
        })
    }

    /// Textbook AdaGrad with learning rate `lr` and `eps` (δ = lr², ε̃ =
    /// lr·ε outside or lr²·ε inside).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-positive `lr` or negative `eps`.
    pub fn textbook(lr: f64, eps: f64, placement: EpsPlacement) -> Result<Self> {
        check_positive("lr", lr)?;
        check_eps("eps", eps)?;
        let delta = lr * lr;
        if !delta.is_normal() {
            return Err(Error::invalid(
                "lr",
                lr,
                "the ODE step δ = lr² over- or underflows",
            ));
        }
        let eps_tilde = Self::eps_tilde(eps, placement, lr);
        if !eps_tilde.is_normal() {
            return Err(Error::invalid(
                "eps",
                eps,
                &format!(
                    "the ODE regulariser ε̃ = {} over- or underflows with lr = {lr:e}",
                    match placement {
                        EpsPlacement::Outside => "lr·eps",
                        EpsPlacement::Inside => "lr²·eps",
                    }
                ),
            ));
        }
        Self::from_ode(eps_tilde, placement, delta)
    }

    /// PyTorch's default ε of textbook AdaGrad, 1e-10; also the default of
    /// the ODE form, whose ε̃ defaults to [`eps_tilde`](Self::eps_tilde) of it.
    pub const DEFAULT_EPS: f64 = 1e-10;

    /// The ODE's regulariser ε̃ of textbook `eps` and learning rate `lr`
    /// (step δ = lr²): lr·ε (outside the root) or lr²·ε (inside).
    pub fn eps_tilde(eps: f64, placement: EpsPlacement, lr: f64) -> f64 {
        match placement {
            EpsPlacement::Outside => lr * eps,
            EpsPlacement::Inside => lr * lr * eps,
        }
    }

    /// Textbook (lr, eps) of this discretization.
    fn textbook_parameters(&self) -> (f64, f64) {
        let lr = self.delta.sqrt();
        let eps = match self.placement {
            EpsPlacement::Outside => self.eps_tilde / lr,
            EpsPlacement::Inside => self.eps_tilde / self.delta,
        };
        (lr, eps)
    }
}

impl Optimizer for AdaGrad {
    fn name(&self) -> &'static str {
        "adagrad"
    }
    fn step(&mut self, theta: &mut State, oracle: &mut dyn GradientOracle) -> Result<()> {
        let d = self.delta;
        self.acc
            .step(theta, oracle, d, self.eps_tilde, self.placement, |v, g| {
                v + d * g * g
            })
    }
    fn reset(&mut self) {
        self.acc.reset();
    }
    fn steps_taken(&self) -> usize {
        self.acc.steps
    }
    fn hyper_parameters(&self) -> Vec<(&'static str, f64)> {
        let (lr, eps) = self.textbook_parameters();
        vec![("lr", lr), ("eps", eps)]
    }
    fn derivation(&self) -> String {
        let (lr, eps) = self.textbook_parameters();
        format!(
            "explicit Euler (V first) on V' = ∇f², x' = −∇f/(√V + ε̃) (ε {}) with δ = {}, ε̃ = {} (lr = √δ = {lr}, eps = {eps})",
            self.placement.as_str(),
            self.delta,
            self.eps_tilde
        )
    }
}

/// RMSProp, derived from the ODE `v' = b(∇f² − v)`, `x' = −∇f/(√v + ε)`.
///
/// *Explicit Euler on v first (at xₙ), then on x with the new v, step δ,
/// with ρ = 1 − bδ and lr = δ*:
///
/// $$ v \leftarrow \rho v + (1-\rho) g^2,\qquad \theta \leftarrow \theta - \delta\,\frac{g}{\sqrt{v} + \varepsilon}. $$
///
/// (ε outside the root by default, as PyTorch's RMSprop; [`EpsPlacement::Inside`]
/// for `√(v + ε)`.)
///
/// # Example
/// ```
/// use splitflow::optimizers::{EpsPlacement, Optimizer, RmsProp};
///
/// let opt = RmsProp::from_ode(10.0, 1e-8, EpsPlacement::Outside, 0.01)?;
/// assert!((opt.hyper_parameters()[1].1 - 0.9).abs() < 1e-15); // ρ = 1 − bδ
/// # Ok::<(), splitflow::Error>(())
/// ```
///
/// # Reference
/// T. Tieleman, G. Hinton, *Lecture 6.5 — RMSProp*, COURSERA 2012;
/// A. B. da Silva, M. Gazeau, arXiv:1810.13108 (the ODE).
#[derive(Debug, Clone)]
pub struct RmsProp {
    b: f64,
    /// ρ = 1 − bδ, stored so that the ODE form and the textbook form built
    /// from it run bit-identical updates (v ← ρv + (1 − ρ)g²).
    rho: f64,
    eps: f64,
    placement: EpsPlacement,
    delta: f64,
    acc: Accumulator,
}

impl RmsProp {
    /// Euler steps δ on the RMSProp ODE with rate `b` and `eps`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for non-positive `b` or δ, negative ε, or
    /// bδ ≥ 1 (which would give ρ ≤ 0).
    pub fn from_ode(b: f64, eps: f64, placement: EpsPlacement, delta: f64) -> Result<Self> {
        check_positive("b", b)?;
        check_positive("h", delta)?;
        check_eps("eps", eps)?;
        let rho = 1.0 - b * delta;
        if !(0.0..1.0).contains(&rho) {
            return Err(Error::invalid(
                "b",
                b,
                &format!("b·h = {} must lie in (0, 1] (rho = 1 − b·h ≥ 0)", b * delta),
            ));
        }
        Self::build(b, rho, eps, placement, delta)
    }

    fn build(b: f64, rho: f64, eps: f64, placement: EpsPlacement, delta: f64) -> Result<Self> {
        Ok(RmsProp {
            b,
            rho,
            eps,
            placement,
            delta,
            acc: Accumulator::new(),
        })
    }

    /// Textbook RMSProp (lr, ρ, ε): b = (1 − ρ)/lr, δ = lr.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-positive `lr`, ρ outside (0, 1), negative ε.
    pub fn textbook(lr: f64, rho: f64, eps: f64, placement: EpsPlacement) -> Result<Self> {
        check_positive("lr", lr)?;
        check_unit("rho", rho)?;
        if rho == 0.0 {
            return Err(Error::invalid("rho", 0, "must lie in (0, 1)"));
        }
        check_eps("eps", eps)?;
        let b = (1.0 - rho) / lr;
        if !b.is_finite() {
            return Err(Error::invalid(
                "lr",
                lr,
                "too small: the ODE rate b = (1 − rho)/lr overflows",
            ));
        }
        Self::build(b, rho, eps, placement, lr)
    }
}

impl Optimizer for RmsProp {
    fn name(&self) -> &'static str {
        "rmsprop"
    }
    fn step(&mut self, theta: &mut State, oracle: &mut dyn GradientOracle) -> Result<()> {
        // Euler on v' = b(g² − v): v + bδ(g² − v) = (1 − bδ)v + bδ·g².
        let rho = self.rho;
        let c = 1.0 - rho;
        self.acc.step(
            theta,
            oracle,
            self.delta,
            self.eps,
            self.placement,
            |v, g| rho * v + c * g * g,
        )
    }
    fn reset(&mut self) {
        self.acc.reset();
    }
    fn steps_taken(&self) -> usize {
        self.acc.steps
    }
    fn hyper_parameters(&self) -> Vec<(&'static str, f64)> {
        vec![("lr", self.delta), ("rho", self.rho), ("eps", self.eps)]
    }
    fn derivation(&self) -> String {
        format!(
            "explicit Euler (v first) on v' = b(∇f² − v), x' = −∇f/(√v + ε) (ε {}) with b = {}, δ = {} (lr = δ, rho = 1 − bδ = {})",
            self.placement.as_str(),
            self.b,
            self.delta,
            self.rho
        )
    }
}

/// Adadelta (Zeiler): `G ← ρG + (1 − ρ)g²`, `s = √(Δ + ε)/√(G + ε)·g`,
/// `Δ ← ρΔ + (1 − ρ)s²`, `θ ← θ − lr·s` (PyTorch's form; lr = 1 in the paper).
///
/// *No clean ODE derivation.* Formally it is explicit Euler with unit step on
/// `G' = (1 − ρ)(g² − G)`, `Δ' = (1 − ρ)(s² − Δ)`, `θ' = −lr·s`, but the step
/// is fixed at 1 and the rates are tied to it, so there is no small-step
/// limit in which the recursion converges to that ODE; splitflow implements
/// the recursion as stated and says so.
///
/// # Example
/// ```
/// use splitflow::optimizers::{Adadelta, Optimizer};
/// let opt = Adadelta::new(1.0, 0.9, 1e-6)?;
/// assert_eq!(opt.name(), "adadelta");
/// # Ok::<(), splitflow::Error>(())
/// ```
///
/// # Reference
/// M. D. Zeiler, *ADADELTA: an adaptive learning rate method*, arXiv:1212.5701.
#[derive(Debug, Clone)]
pub struct Adadelta {
    lr: f64,
    rho: f64,
    eps: f64,
    acc_g: State,
    acc_delta: State,
    g: State,
    next: State,
    acc_g_next: State,
    acc_delta_next: State,
    steps: usize,
}

impl Adadelta {
    /// Adadelta with multiplier `lr`, decay ρ and ε.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-positive `lr`, ρ outside [0, 1), negative ε.
    pub fn new(lr: f64, rho: f64, eps: f64) -> Result<Self> {
        check_positive("lr", lr)?;
        check_unit("rho", rho)?;
        check_eps("eps", eps)?;
        Ok(Adadelta {
            lr,
            rho,
            eps,
            acc_g: State::zeros(0),
            acc_delta: State::zeros(0),
            g: State::zeros(0),
            next: State::zeros(0),
            acc_g_next: State::zeros(0),
            acc_delta_next: State::zeros(0),
            steps: 0,
        })
    }
}

impl Optimizer for Adadelta {
    fn name(&self) -> &'static str {
        "adadelta"
    }
    fn step(&mut self, theta: &mut State, oracle: &mut dyn GradientOracle) -> Result<()> {
        let k = self.steps + 1;
        prepare(
            theta,
            k,
            &mut [
                &mut self.acc_g,
                &mut self.acc_delta,
                &mut self.next,
                &mut self.acc_g_next,
                &mut self.acc_delta_next,
            ],
        )?;
        gradient_at(oracle, theta, &mut self.g, k)?;
        let (lr, rho, eps) = (self.lr, self.rho, self.eps);
        for (((((xn, ggn), ddn), x), (gg, dd)), g) in self
            .next
            .as_mut_slice()
            .iter_mut()
            .zip(self.acc_g_next.as_mut_slice())
            .zip(self.acc_delta_next.as_mut_slice())
            .zip(theta.as_slice())
            .zip(self.acc_g.as_slice().iter().zip(self.acc_delta.as_slice()))
            .zip(self.g.as_slice())
        {
            *ggn = rho * gg + (1.0 - rho) * g * g;
            let s = (dd + eps).sqrt() / (*ggn + eps).sqrt() * g;
            *ddn = rho * dd + (1.0 - rho) * s * s;
            *xn = x - lr * s;
        }
        commit(
            k,
            theta,
            &mut self.next,
            &mut [
                (&mut self.acc_g, &mut self.acc_g_next),
                (&mut self.acc_delta, &mut self.acc_delta_next),
            ],
        )?;
        self.steps = k;
        Ok(())
    }
    fn reset(&mut self) {
        self.acc_g.fill(0.0);
        self.acc_delta.fill(0.0);
        self.steps = 0;
    }
    fn steps_taken(&self) -> usize {
        self.steps
    }
    fn hyper_parameters(&self) -> Vec<(&'static str, f64)> {
        vec![("lr", self.lr), ("rho", self.rho), ("eps", self.eps)]
    }
    fn derivation(&self) -> String {
        format!(
            "no clean ODE derivation: the Adadelta recursion (formally unit-step Euler on G' = (1−ρ)(g² − G), Δ' = (1−ρ)(s² − Δ), θ' = −lr·s) with lr = {}, rho = {}, eps = {}",
            self.lr, self.rho, self.eps
        )
    }
}

use super::registry::{DefaultValue, MethodEntry};
use super::spec::placement;

/// Registry entry of `adagrad` (PyTorch's defaults).
pub(crate) const ADAGRAD: MethodEntry = MethodEntry {
    name: "adagrad",
    keys: &["method", "lr", "eps", "eps_placement"],
    defaults: &[
        ("lr", DefaultValue::Number(1e-2)),
        ("eps", DefaultValue::Number(AdaGrad::DEFAULT_EPS)),
        ("eps_placement", DefaultValue::Text("outside")),
    ],
    ode: "Lie splitting [moments, position] of the AdaGrad ODE V' = ∇f², x' = −∇f/(√V + ε̃), explicit Euler",
    build: |t, e| {
        Ok(Box::new(AdaGrad::textbook(
            e.number(t.lr, "lr")?,
            e.number(t.eps, "eps")?,
            placement("eps_placement", &t.eps_placement)?,
        )?))
    },
};

/// Registry entry of `rmsprop` (PyTorch's defaults).
pub(crate) const RMSPROP: MethodEntry = MethodEntry {
    name: "rmsprop",
    keys: &["method", "lr", "rho", "eps", "eps_placement"],
    defaults: &[
        ("lr", DefaultValue::Number(1e-2)),
        ("rho", DefaultValue::Number(0.99)),
        ("eps", DefaultValue::Number(1e-8)),
        ("eps_placement", DefaultValue::Text("outside")),
    ],
    ode: "Lie splitting [moments, position] of the RMSProp ODE v' = b(∇f² − v), x' = −∇f/(√v + ε), explicit Euler",
    build: |t, e| {
        Ok(Box::new(RmsProp::textbook(
            e.number(t.lr, "lr")?,
            e.number(t.rho, "rho")?,
            e.number(t.eps, "eps")?,
            placement("eps_placement", &t.eps_placement)?,
        )?))
    },
};

/// Registry entry of `adadelta` (PyTorch's defaults).
pub(crate) const ADADELTA: MethodEntry = MethodEntry {
    name: "adadelta",
    keys: &["method", "lr", "rho", "eps"],
    defaults: &[
        ("lr", DefaultValue::Number(1.0)),
        ("rho", DefaultValue::Number(0.9)),
        ("eps", DefaultValue::Number(1e-6)),
    ],
    ode: "none: the stated recursion",
    build: |t, e| {
        Ok(Box::new(Adadelta::new(
            e.number(t.lr, "lr")?,
            e.number(t.rho, "rho")?,
            e.number(t.eps, "eps")?,
        )?))
    },
};
