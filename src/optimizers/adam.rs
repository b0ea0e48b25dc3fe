//! Adam and its relatives (AdaMax, AMSGrad, Nadam, AdamW): discretizations of
//! the Adam ODE `m' = a(∇f − m)`, `v' = b(∇f² − v)`,
//! `x' = −(m/c₁)/(√(v/c₂) + ε)` (THEORY §6) and what each adds to it.

use super::adaptive::EpsPlacement;
use super::{
    GradientOracle, Optimizer, check_eps, check_nonnegative, check_positive, check_unit, commit,
    ensure_len, gradient_at, prepare,
};
use crate::State;
use crate::error::Result;

/// Adam's hyper-parameters in textbook form.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamParameters {
    /// Learning rate α (= the Euler step δ).
    pub lr: f64,
    /// β₁ = 1 − aδ.
    pub beta1: f64,
    /// β₂ = 1 − bδ.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    /// Where ε enters (outside the root by default, as Kingma–Ba and PyTorch).
    pub placement: EpsPlacement,
}

/// PyTorch's Adam defaults, the one place of their values (read by
/// [`AdamParameters::default`] and by the registry's defaults).
const PYTORCH_ADAM: AdamParameters = AdamParameters {
    lr: 1e-3,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    placement: EpsPlacement::Outside,
};

impl Default for AdamParameters {
    /// PyTorch's defaults: lr = 1e-3, β = (0.9, 0.999), ε = 1e-8 outside the root.
    fn default() -> Self {
        PYTORCH_ADAM
    }
}

impl AdamParameters {
    /// The Adam ODE's rates `(a, b)` for these parameters: a = (1 − β₁)/δ, b = (1 − β₂)/δ.
    pub fn rates(&self) -> (f64, f64) {
        ((1.0 - self.beta1) / self.lr, (1.0 - self.beta2) / self.lr)
    }

    /// The textbook parameters of Euler steps δ on the Adam ODE with rates a, b.
    pub fn from_rates(a: f64, b: f64, eps: f64, placement: EpsPlacement, delta: f64) -> Self {
        AdamParameters {
            lr: delta,
            beta1: 1.0 - a * delta,
            beta2: 1.0 - b * delta,
            eps,
            placement,
        }
    }

    /// The textbook parameters of Euler steps δ on the Adam ODE with rates
    /// a, b, checked in the ODE's own terms (a, b, h > 0, ε ≥ 0, aδ ≤ 1, bδ ≤ 1
    /// so that β₁, β₂ ≥ 0), ε > 0.
    ///
    /// # Errors
    /// [`crate::Error::InvalidParameter`] naming `a`, `b`, `h` or `eps`.
    pub fn from_ode(a: f64, b: f64, eps: f64, placement: EpsPlacement, delta: f64) -> Result<Self> {
        check_positive("a", a)?;
        check_positive("b", b)?;
        check_positive("h", delta)?;
        check_eps("eps", eps)?;
        for (name, rate) in [("a", a), ("b", b)] {
            if rate * delta > 1.0 {
                return Err(crate::Error::invalid(
                    name,
                    rate,
                    &format!(
                        "{name}·h = {} must be at most 1 (beta = 1 − {name}·h ≥ 0)",
                        rate * delta
                    ),
                ));
            }
        }
        let p = Self::from_rates(a, b, eps, placement, delta);
        p.validate()?;
        Ok(p)
    }

    /// Checks ranges: lr > 0, β₁, β₂ ∈ [0, 1), ε > 0, and that the ODE map
    /// is representable: the rates a = (1 − β₁)/lr, b = (1 − β₂)/lr are
    /// finite (an lr of 1e-320 would give a = b = ∞).
    ///
    /// # Errors
    /// [`crate::Error::InvalidParameter`] naming the offending field.
    pub fn validate(&self) -> Result<()> {
        check_positive("lr", self.lr)?;
        check_unit("beta1", self.beta1)?;
        check_unit("beta2", self.beta2)?;
        check_eps("eps", self.eps)?;
        let (a, b) = self.rates();
        if !(a.is_finite() && b.is_finite()) {
            return Err(crate::Error::invalid(
                "lr",
                self.lr,
                "too small: the ODE rates a = (1 − beta1)/lr and b = (1 − beta2)/lr overflow",
            ));
        }
        Ok(())
    }

    fn list(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("lr", self.lr),
            ("beta1", self.beta1),
            ("beta2", self.beta2),
            ("eps", self.eps),
        ]
    }
}

/// The moment equations of the Adam ODE advanced by explicit Euler at xₙ:
/// `m ← m + aδ(g − m)`, `v ← v + bδ(g² − v)`, i.e. `β₁m + (1 − β₁)g` and
/// `β₂v + (1 − β₂)g²`; plus the discrete bias factors `cᵢ = 1 − βᵢⁿ`.
///
/// A step is computed into the candidates `next` (θ), `m_next`, `v_next`
/// and committed only when finite ([`commit`]).
#[derive(Debug, Clone)]
struct Moments {
    p: AdamParameters,
    m: State,
    v: State,
    g: State,
    next: State,
    m_next: State,
    v_next: State,
    steps: usize,
}

/// `βⁿ` for any step count: `powi` while n fits an `i32` (the values every
/// existing trajectory uses, bitwise), `powf` beyond (where `n as i32` would
/// wrap: θ would stop moving after 2³¹ steps and divide by zero at 2³²).
pub(crate) fn beta_pow(beta: f64, n: usize) -> f64 {
    match i32::try_from(n) {
        Ok(n) => beta.powi(n),
        Err(_) => beta.powf(n as f64),
    }
}

impl Moments {
    fn new(p: AdamParameters) -> Result<Self> {
        p.validate()?;
        Ok(Moments {
            p,
            m: State::zeros(0),
            v: State::zeros(0),
            g: State::zeros(0),
            next: State::zeros(0),
            m_next: State::zeros(0),
            v_next: State::zeros(0),
            steps: 0,
        })
    }

    /// Checks θ, sizes the moments and workspaces, and evaluates the gradient
    /// at θ; returns the step number n.
    fn begin(&mut self, theta: &State, oracle: &mut dyn GradientOracle) -> Result<usize> {
        let n = self.steps + 1;
        prepare(
            theta,
            n,
            &mut [
                &mut self.m,
                &mut self.v,
                &mut self.next,
                &mut self.m_next,
                &mut self.v_next,
            ],
        )?;
        gradient_at(oracle, theta, &mut self.g, n)?;
        Ok(n)
    }

    /// Commits the candidates of step n (θ, m, v and the extra state pairs),
    /// or refuses them leaving everything as before.
    fn commit(
        &mut self,
        n: usize,
        theta: &mut State,
        extra: Option<(&mut State, &mut State)>,
    ) -> Result<()> {
        match extra {
            None => commit(
                n,
                theta,
                &mut self.next,
                &mut [
                    (&mut self.m, &mut self.m_next),
                    (&mut self.v, &mut self.v_next),
                ],
            )?,
            Some(pair) => commit(
                n,
                theta,
                &mut self.next,
                &mut [
                    (&mut self.m, &mut self.m_next),
                    (&mut self.v, &mut self.v_next),
                    pair,
                ],
            )?,
        }
        self.steps = n;
        Ok(())
    }

    /// Bias factors `(1 − β₁ⁿ, 1 − β₂ⁿ)` of step n.
    fn bias(&self, n: usize) -> (f64, f64) {
        (
            1.0 - beta_pow(self.p.beta1, n),
            1.0 - beta_pow(self.p.beta2, n),
        )
    }

    fn reset(&mut self) {
        self.m.fill(0.0);
        self.v.fill(0.0);
        self.steps = 0;
    }

    /// Writes the candidates of a step coordinate by coordinate:
    /// `(next, m_next, v_next)ᵢ = update(θᵢ, mᵢ, vᵢ, gᵢ)`. Plain slices
    /// (here and in AMSGrad's loop): nalgebra's strided iterators do not
    /// vectorise.
    #[inline(always)]
    fn sweep(&mut self, theta: &State, update: impl Fn(f64, f64, f64, f64) -> (f64, f64, f64)) {
        for (((((xn, mn), vn), x), (m, v)), g) in self
            .next
            .as_mut_slice()
            .iter_mut()
            .zip(self.m_next.as_mut_slice())
            .zip(self.v_next.as_mut_slice())
            .zip(theta.as_slice())
            .zip(self.m.as_slice().iter().zip(self.v.as_slice()))
            .zip(self.g.as_slice())
        {
            (*xn, *mn, *vn) = update(*x, *m, *v, *g);
        }
    }
}

/// The [`Optimizer`] methods of a member of the Adam family that only
/// forward to its [`Moments`] `core`: `steps_taken` always, and `reset`
/// (forget the moments) and `hyper_parameters` (Adam's four) when named.
macro_rules! moments_forwarding {
    ($($method:ident),*) => {
        fn steps_taken(&self) -> usize {
            self.core.steps
        }
        $(moments_forwarding!(@ $method);)*
    };
    (@ reset) => {
        fn reset(&mut self) {
            self.core.reset();
        }
    };
    (@ hyper_parameters) => {
        fn hyper_parameters(&self) -> Vec<(&'static str, f64)> {
            self.core.p.list()
        }
    };
}

/// Adam, derived from its ODE (Barakat & Bianchi; da Silva & Gazeau):
///
/// $$ m' = a(\nabla f - m),\quad v' = b(\nabla f^2 - v),\quad
///    x' = -\frac{m / c_1}{\sqrt{v / c_2} + \varepsilon}. $$
///
/// *Explicit Euler on (m, v) at xₙ first, then on x with the new (m, v),
/// step δ, with β₁ = 1 − aδ, β₂ = 1 − bδ, lr = δ and the discrete bias
/// factors cᵢ(tₙ) = 1 − βᵢⁿ* (the continuous 1 − e^{−aᵢt} of
/// [`AdamFlow`](crate::flows::AdamFlow) agrees to O(δ)) is Kingma–Ba's Adam:
///
/// $$ \theta \leftarrow \theta - \alpha\,\frac{m/(1-\beta_1^n)}{\sqrt{v/(1-\beta_2^n)} + \varepsilon}. $$
///
/// ε is outside the root by default (Kingma–Ba, PyTorch);
/// [`EpsPlacement::Inside`] gives `√(v̂ + ε)`.
///
/// # Example
/// ```
/// use nalgebra::dvector;
/// use splitflow::optimizers::{Adam, AdamParameters, FnOracle, Optimizer};
///
/// let mut adam = Adam::textbook(AdamParameters { lr: 0.1, ..Default::default() })?;
/// let mut oracle = FnOracle::new(1, |_x, g| g[0] = 3.0);
/// let mut x = dvector![0.0];
/// adam.step(&mut x, &mut oracle)?;
/// assert!((x[0] + 0.1).abs() < 1e-8); // first step ≈ −lr·sign(g)
/// # Ok::<(), splitflow::Error>(())
/// ```
///
/// # Reference
/// D. P. Kingma, J. Ba, *Adam: a method for stochastic optimization*, ICLR
/// 2015; A. Barakat, P. Bianchi, arXiv:1810.02263; A. B. da Silva,
/// M. Gazeau, arXiv:1810.13108.
#[derive(Debug, Clone)]
pub struct Adam {
    core: Moments,
}

impl Adam {
    /// Euler steps δ on the Adam ODE with rates `a`, `b` and ε.
    ///
    /// # Errors
    /// [`crate::Error::InvalidParameter`] when the map gives β outside [0, 1),
    /// a non-positive δ or a negative ε.
    pub fn from_ode(a: f64, b: f64, eps: f64, placement: EpsPlacement, delta: f64) -> Result<Self> {
        Self::textbook(AdamParameters::from_ode(a, b, eps, placement, delta)?)
    }

    /// Adam with textbook parameters (built through the ODE map above).
    ///
    /// # Errors
    /// [`crate::Error::InvalidParameter`] for out-of-range parameters.
    pub fn textbook(p: AdamParameters) -> Result<Self> {
        Ok(Adam {
            core: Moments::new(p)?,
        })
    }

    /// The textbook parameters.
    pub fn parameters(&self) -> AdamParameters {
        self.core.p
    }
}

/// Explicit Euler on the moment equations at one coordinate:
/// `m ← m + (1 − β₁)(g − m)`, `v ← v + (1 − β₂)(g² − v)` (`k1 = 1 − β₁`,
/// `k2 = 1 − β₂`).
/// Returns the new `(m, v)`.
#[inline(always)]
fn euler_moments(m: f64, v: f64, g: f64, k1: f64, k2: f64) -> (f64, f64) {
    (m + k1 * (g - m), v + k2 * (g * g - v))
}

/// The candidates of one Adam step from the prepared moments (shared by
/// Adam and AdamW): `m, v` Euler updates, then
/// `x ← decay·x − lr·(m/c₁)/(√(v/c₂) ⊕ ε)`, written to `core.next`,
/// `core.m_next`, `core.v_next`.
fn adam_update(core: &mut Moments, theta: &State, n: usize, decay: f64) {
    let (c1, c2) = core.bias(n);
    let p = core.p;
    let (k1, k2) = (1.0 - p.beta1, 1.0 - p.beta2);
    let (inv1, inv2) = (1.0 / c1, 1.0 / c2);
    core.sweep(theta, |x, m, v, g| {
        let (m, v) = euler_moments(m, v, g, k1, k2);
        let x = decay * x - p.lr * (m * inv1) / p.placement.denominator(v * inv2, p.eps);
        (x, m, v)
    });
}

impl Optimizer for Adam {
    fn name(&self) -> &'static str {
        "adam"
    }
    fn step(&mut self, theta: &mut State, oracle: &mut dyn GradientOracle) -> Result<()> {
        let n = self.core.begin(theta, oracle)?;
        adam_update(&mut self.core, theta, n, 1.0);
        self.core.commit(n, theta, None)
    }
    moments_forwarding!(reset, hyper_parameters);
    fn derivation(&self) -> String {
        let (a, b) = self.core.p.rates();
        format!(
            "explicit Euler ((m, v) first) on the Adam ODE with a = {a}, b = {b}, ε = {} ({}), discrete bias factors 1 − βⁿ, step δ = {} (beta1 = 1 − aδ = {}, beta2 = 1 − bδ = {})",
            self.core.p.eps,
            self.core.p.placement.as_str(),
            self.core.p.lr,
            self.core.p.beta1,
            self.core.p.beta2
        )
    }
}

/// How AdamW applies the decoupled weight-decay flow θ' = −λθ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecayScheme {
    /// PyTorch's `AdamW`: `θ ← (1 − lr·λ)θ − lr·(Adam direction)` with the
    /// gradient at the old θ. This is exactly the Lie splitting of three
    /// pieces — the moment equations (Euler, gradient at θₙ), the decay flow
    /// θ' = −λθ (Euler), the position equation x' = −m̂/(√v̂ + ε) (Euler,
    /// whose field does not depend on x) — see docs/theory.md §6.5. Default.
    #[default]
    Decoupled,
    /// Lie splitting: an Adam step, then the exact decay flow `θ ← e^{−λδ}θ`.
    LieExact,
}

/// AdamW: Adam's flow plus the decoupled weight-decay flow θ' = −λθ.
///
/// *[`DecayScheme`] composition of the Adam step (see [`Adam`]) and the
/// decay flow θ' = −λθ with step δ = lr.* The default
/// [`DecayScheme::Decoupled`] is PyTorch's `AdamW` update (Loshchilov–Hutter's
/// Algorithm 2 with schedule multiplier 1, whose λ is lr·λ here)
///
/// $$ \theta \leftarrow \theta - \alpha\Big(\lambda\theta + \frac{\hat m}{\sqrt{\hat v} + \varepsilon}\Big), $$
///
/// with the gradient taken at the old θ: the Lie composition moments → decay
/// → position with Euler sub-steps. [`DecayScheme::LieExact`] composes
/// moments → position → exact decay e^{−λδ} and differs by O(δ²) per step.
///
/// # Example
/// ```
/// use splitflow::optimizers::{AdamParameters, AdamW, DecayScheme, Optimizer};
/// let opt = AdamW::new(AdamParameters::default(), 0.01, DecayScheme::Decoupled)?;
/// assert_eq!(opt.hyper_parameters().last().unwrap(), &("weight_decay", 0.01));
/// # Ok::<(), splitflow::Error>(())
/// ```
///
/// # Reference
/// I. Loshchilov, F. Hutter, *Decoupled weight decay regularization*, ICLR 2019.
#[derive(Debug, Clone)]
pub struct AdamW {
    core: Moments,
    lambda: f64,
    scheme: DecayScheme,
}

impl AdamW {
    /// AdamW with Adam parameters `p`, weight decay λ and a decay scheme.
    ///
    /// # Errors
    /// [`crate::Error::InvalidParameter`] for out-of-range parameters or a negative λ.
    pub fn new(p: AdamParameters, weight_decay: f64, scheme: DecayScheme) -> Result<Self> {
        check_nonnegative("weight_decay", weight_decay)?;
        Ok(AdamW {
            core: Moments::new(p)?,
            lambda: weight_decay,
            scheme,
        })
    }
}

impl Optimizer for AdamW {
    fn name(&self) -> &'static str {
        "adamw"
    }
    fn step(&mut self, theta: &mut State, oracle: &mut dyn GradientOracle) -> Result<()> {
        let n = self.core.begin(theta, oracle)?;
        let lr = self.core.p.lr;
        match self.scheme {
            DecayScheme::Decoupled => adam_update(&mut self.core, theta, n, 1.0 - lr * self.lambda),
            DecayScheme::LieExact => {
                adam_update(&mut self.core, theta, n, 1.0);
                self.core.next *= (-self.lambda * lr).exp();
            }
        }
        self.core.commit(n, theta, None)
    }
    moments_forwarding!(reset);
    fn hyper_parameters(&self) -> Vec<(&'static str, f64)> {
        let mut v = self.core.p.list();
        v.push(("weight_decay", self.lambda));
        v
    }
    fn derivation(&self) -> String {
        let how = match self.scheme {
            DecayScheme::Decoupled => {
                "Lie splitting with Euler sub-steps: Adam's moment equations, then the decay flow θ' = −λθ, then the position equation (decoupled weight decay)"
            }
            DecayScheme::LieExact => {
                "Lie splitting: the Adam step, then the exact decay flow θ ← e^{−λδ}θ"
            }
        };
        format!(
            "{how} with λ = {}, δ = lr = {}",
            self.lambda, self.core.p.lr
        )
    }
}

/// AdaMax (Kingma–Ba §7.1): Adam's first-moment flow with the second moment
/// replaced by the running max `u ← max(β₂u, |g| + ε)`;
/// `θ ← θ − (lr/(1 − β₁ⁿ))·m/u` (ε inside the max, as PyTorch; ε = 0 gives
/// the paper's form).
///
/// *Partly an ODE discretization*: m is explicit Euler on `m' = a(∇f − m)`;
/// the max recursion is not the Euler step of a vector field (it is the
/// β₂ → 1 limit of an ℓ^p moment), so no ODE is claimed for u.
///
/// # Example
/// ```
/// use splitflow::optimizers::{AdaMax, AdamParameters, Optimizer};
/// let opt = AdaMax::new(AdamParameters { lr: 2e-3, ..Default::default() })?;
/// assert_eq!(opt.name(), "adamax");
/// # Ok::<(), splitflow::Error>(())
/// ```
///
/// # Reference
/// D. P. Kingma, J. Ba, *Adam*, ICLR 2015, Algorithm 2.
#[derive(Debug, Clone)]
pub struct AdaMax {
    core: Moments,
}

impl AdaMax {
    /// AdaMax with Adam's parameters (`placement` is ignored: ε sits in the max).
    ///
    /// # Errors
    /// [`crate::Error::InvalidParameter`] for out-of-range parameters.
    pub fn new(p: AdamParameters) -> Result<Self> {
        Ok(AdaMax {
            core: Moments::new(p)?,
        })
    }
}

impl Optimizer for AdaMax {
    fn name(&self) -> &'static str {
        "adamax"
    }
    fn step(&mut self, theta: &mut State, oracle: &mut dyn GradientOracle) -> Result<()> {
        let n = self.core.begin(theta, oracle)?;
        let (c1, _) = self.core.bias(n);
        let p = self.core.p;
        let (k1, step) = (1.0 - p.beta1, p.lr / c1);
        let core = &mut self.core;
        core.sweep(theta, |x, m, u, g| {
            let m = m + k1 * (g - m);
            let u = (p.beta2 * u).max(g.abs() + p.eps);
            (x - step * m / u, m, u)
        });
        core.commit(n, theta, None)
    }
    moments_forwarding!(reset, hyper_parameters);
    fn derivation(&self) -> String {
        format!(
            "explicit Euler on m' = a(∇f − m) (beta1 = {}) with the running max u ← max(beta2·u, |g| + ε) in place of a second-moment ODE (no ODE for u), lr = {}",
            self.core.p.beta1, self.core.p.lr
        )
    }
}

/// AMSGrad (Reddi, Kale, Kumar): Adam's moments with the running maximum
/// `v̂ ← max(v̂, v)` in the denominator.
///
/// Default (`bias_correction = false`, THEORY §6 and the paper):
/// `θ ← θ − lr·m/(√v̂ ⊕ ε)`. With `bias_correction = true` (PyTorch's
/// `amsgrad=True`): `θ ← θ − (lr/(1 − β₁ⁿ))·m/(√(v̂/(1 − β₂ⁿ)) ⊕ ε)`.
/// Both ε placements are supported ([`EpsPlacement`], outside by default).
///
/// *Partly an ODE discretization*: (m, v) are Euler steps of Adam's moment
/// ODEs; the max is a projection, not a vector field, so no ODE is claimed
/// for v̂.
///
/// # Example
/// ```
/// use splitflow::optimizers::{AdamParameters, AmsGrad, Optimizer};
/// let opt = AmsGrad::new(AdamParameters::default(), false)?;
/// assert_eq!(opt.name(), "amsgrad");
/// # Ok::<(), splitflow::Error>(())
/// ```
///
/// # Reference
/// S. J. Reddi, S. Kale, S. Kumar, *On the convergence of Adam and beyond*, ICLR 2018.
#[derive(Debug, Clone)]
pub struct AmsGrad {
    core: Moments,
    vmax: State,
    vmax_next: State,
    bias_correction: bool,
}

impl AmsGrad {
    /// AMSGrad with Adam's parameters, with or without bias correction.
    ///
    /// # Errors
    /// [`crate::Error::InvalidParameter`] for out-of-range parameters.
    pub fn new(p: AdamParameters, bias_correction: bool) -> Result<Self> {
        Ok(AmsGrad {
            core: Moments::new(p)?,
            vmax: State::zeros(0),
            vmax_next: State::zeros(0),
            bias_correction,
        })
    }
}

impl Optimizer for AmsGrad {
    fn name(&self) -> &'static str {
        "amsgrad"
    }
    fn step(&mut self, theta: &mut State, oracle: &mut dyn GradientOracle) -> Result<()> {
        let n = self.core.begin(theta, oracle)?;
        ensure_len(&mut self.vmax, theta.len());
        ensure_len(&mut self.vmax_next, theta.len());
        let (c1, c2) = if self.bias_correction {
            self.core.bias(n)
        } else {
            (1.0, 1.0)
        };
        let p = self.core.p;
        let (k1, k2, step, inv2) = (1.0 - p.beta1, 1.0 - p.beta2, p.lr / c1, 1.0 / c2);
        let core = &mut self.core;
        for ((((((xn, mn), vn), vmn), x), (m, v)), (vm, g)) in core
            .next
            .as_mut_slice()
            .iter_mut()
            .zip(core.m_next.as_mut_slice())
            .zip(core.v_next.as_mut_slice())
            .zip(self.vmax_next.as_mut_slice())
            .zip(theta.as_slice())
            .zip(core.m.as_slice().iter().zip(core.v.as_slice()))
            .zip(self.vmax.as_slice().iter().zip(core.g.as_slice()))
        {
            (*mn, *vn) = euler_moments(*m, *v, *g, k1, k2);
            *vmn = vm.max(*vn);
            *xn = x - step * *mn / p.placement.denominator(*vmn * inv2, p.eps);
        }
        core.commit(n, theta, Some((&mut self.vmax, &mut self.vmax_next)))
    }
    fn reset(&mut self) {
        self.core.reset();
        self.vmax.fill(0.0);
    }
    moments_forwarding!(hyper_parameters);
    fn derivation(&self) -> String {
        format!(
            "explicit Euler on Adam's moment ODEs (beta1 = {}, beta2 = {}) with the running max v̂ ← max(v̂, v) (no ODE for the max), bias correction {}, lr = {}",
            self.core.p.beta1,
            self.core.p.beta2,
            if self.bias_correction { "on" } else { "off" },
            self.core.p.lr
        )
    }
}

/// Nadam (Dozat): Adam with a Nesterov look-ahead on the first moment,
///
/// $$ \hat m = \frac{\beta_1 m_n}{1 - \beta_1^{n+1}} + \frac{(1-\beta_1) g_n}{1 - \beta_1^{n}},\qquad
///    \theta \leftarrow \theta - \alpha\,\frac{\hat m}{\sqrt{v_n/(1-\beta_2^n)} \oplus \varepsilon}. $$
///
/// This is Dozat's form without the momentum schedule (PyTorch's `NAdam`
/// additionally decays β₁ with `momentum_decay`; that variant is not this one).
///
/// *Partly an ODE discretization*: (m, v) are Euler steps of Adam's moment
/// ODEs; the look-ahead combination is an extrapolation of m by one more
/// Euler step, not the Euler step of an ODE for x, and no ODE is claimed.
///
/// # Example
/// ```
/// use splitflow::optimizers::{AdamParameters, Nadam, Optimizer};
/// let opt = Nadam::new(AdamParameters::default())?;
/// assert_eq!(opt.name(), "nadam");
/// # Ok::<(), splitflow::Error>(())
/// ```
///
/// # Reference
/// T. Dozat, *Incorporating Nesterov momentum into Adam*, ICLR 2016 workshop.
#[derive(Debug, Clone)]
pub struct Nadam {
    core: Moments,
}

impl Nadam {
    /// Nadam with Adam's parameters.
    ///
    /// # Errors
    /// [`crate::Error::InvalidParameter`] for out-of-range parameters.
    pub fn new(p: AdamParameters) -> Result<Self> {
        Ok(Nadam {
            core: Moments::new(p)?,
        })
    }
}

impl Optimizer for Nadam {
    fn name(&self) -> &'static str {
        "nadam"
    }
    fn step(&mut self, theta: &mut State, oracle: &mut dyn GradientOracle) -> Result<()> {
        let n = self.core.begin(theta, oracle)?;
        let p = self.core.p;
        let (c1, c2) = self.core.bias(n);
        let c1_next = 1.0 - beta_pow(p.beta1, n + 1);
        let (k1, k2) = (1.0 - p.beta1, 1.0 - p.beta2);
        let (a, b, inv2) = (p.beta1 / c1_next, k1 / c1, 1.0 / c2);
        let core = &mut self.core;
        core.sweep(theta, |x, m, v, g| {
            let (m, v) = euler_moments(m, v, g, k1, k2);
            let m_hat = a * m + b * g;
            (
                x - p.lr * m_hat / p.placement.denominator(v * inv2, p.eps),
                m,
                v,
            )
        });
        core.commit(n, theta, None)
    }
    moments_forwarding!(reset, hyper_parameters);
    fn derivation(&self) -> String {
        format!(
            "explicit Euler on Adam's moment ODEs (beta1 = {}, beta2 = {}) with Dozat's look-ahead m̂ (no ODE for x), lr = {}",
            self.core.p.beta1, self.core.p.beta2, self.core.p.lr
        )
    }
}

use super::registry::{DefaultValue, MethodEntry};
use super::spec::{TextbookSpec, decay, placement};

/// The `[textbook]` keys of a member of the Adam family: Adam's
/// (`method`, `lr`, `beta1`, `beta2`, `eps`), then the member's own.
macro_rules! adam_keys {
    ($($extra:literal),*) => {
        &["method", "lr", "beta1", "beta2", "eps", $($extra),*]
    };
}

/// The registry defaults of a member of the Adam family: `lr`, then
/// PyTorch's β₁, β₂, ε (those of [`AdamParameters::default`]), then the
/// member's own `(key, default)` pairs.
macro_rules! adam_defaults {
    (lr = $lr:expr $(, $extra:expr)*) => {
        &[
            ("lr", DefaultValue::Number($lr)),
            ("beta1", DefaultValue::Number(PYTORCH_ADAM.beta1)),
            ("beta2", DefaultValue::Number(PYTORCH_ADAM.beta2)),
            ("eps", DefaultValue::Number(PYTORCH_ADAM.eps)),
            $($extra),*
        ]
    };
}

/// The default ε placement, as registry data.
const OUTSIDE: (&str, DefaultValue) = ("eps_placement", DefaultValue::Text("outside"));

/// The keys of Adam and Nadam.
const ADAM_KEYS: &[&str] = adam_keys!("eps_placement");

/// PyTorch's Adam defaults as registry data (those of [`AdamParameters::default`]).
const ADAM_DEFAULTS: &[(&str, DefaultValue)] = adam_defaults!(lr = PYTORCH_ADAM.lr, OUTSIDE);

/// The Adam parameters of a spec, defaults from the method's entry.
fn adam_parameters(t: &TextbookSpec, e: &MethodEntry) -> Result<AdamParameters> {
    Ok(AdamParameters {
        lr: e.number(t.lr, "lr")?,
        beta1: e.number(t.beta1, "beta1")?,
        beta2: e.number(t.beta2, "beta2")?,
        eps: e.number(t.eps, "eps")?,
        placement: placement("eps_placement", &t.eps_placement)?,
    })
}

/// Registry entry of `adam`.
pub(crate) const ADAM: MethodEntry = MethodEntry {
    name: "adam",
    keys: ADAM_KEYS,
    defaults: ADAM_DEFAULTS,
    ode: "Lie splitting [moments, position] of the Adam ODE, explicit Euler, δ = lr, a = (1 − β₁)/δ, b = (1 − β₂)/δ, discrete bias factors 1 − βⁿ",
    build: |t, e| Ok(Box::new(Adam::textbook(adam_parameters(t, e)?)?)),
};

/// Registry entry of `adamw`.
pub(crate) const ADAMW: MethodEntry = MethodEntry {
    name: "adamw",
    keys: adam_keys!("eps_placement", "weight_decay", "decay_scheme"),
    defaults: adam_defaults!(
        lr = PYTORCH_ADAM.lr,
        OUTSIDE,
        ("weight_decay", DefaultValue::Number(1e-2)),
        ("decay_scheme", DefaultValue::Text("decoupled"))
    ),
    ode: "Lie splitting [moments, decay, position] of the Adam ODE + decay θ' = −λθ, explicit Euler (`lie_exact`: exact decay after the Adam step)",
    build: |t, e| {
        Ok(Box::new(AdamW::new(
            adam_parameters(t, e)?,
            e.number(t.weight_decay, "weight_decay")?,
            decay("decay_scheme", &t.decay_scheme)?,
        )?))
    },
};

/// Registry entry of `adamax`.
pub(crate) const ADAMAX: MethodEntry = MethodEntry {
    name: "adamax",
    keys: adam_keys!(),
    defaults: adam_defaults!(lr = 2e-3),
    ode: "none: the stated recursion",
    build: |t, e| Ok(Box::new(AdaMax::new(adam_parameters(t, e)?)?)),
};

/// Registry entry of `amsgrad`.
pub(crate) const AMSGRAD: MethodEntry = MethodEntry {
    name: "amsgrad",
    keys: adam_keys!("eps_placement", "bias_correction"),
    defaults: adam_defaults!(
        lr = PYTORCH_ADAM.lr,
        OUTSIDE,
        ("bias_correction", DefaultValue::Text("false"))
    ),
    ode: "none: the stated recursion",
    build: |t, e| {
        Ok(Box::new(AmsGrad::new(
            adam_parameters(t, e)?,
            t.bias_correction.unwrap_or(false),
        )?))
    },
};

/// Registry entry of `nadam`.
pub(crate) const NADAM: MethodEntry = MethodEntry {
    name: "nadam",
    keys: ADAM_KEYS,
    defaults: ADAM_DEFAULTS,
    ode: "none: the stated recursion",
    build: |t, e| Ok(Box::new(Nadam::new(adam_parameters(t, e)?)?)),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimizers::FnOracle;

    /// Puts `core` at the steady state of a constant gradient g = 1 after
    /// `n − 1` steps (m = g, v = g²).
    fn steady(core: &mut Moments, n: usize) {
        core.m = State::from_element(1, 1.0);
        core.v = State::from_element(1, 1.0);
        core.steps = n - 1;
    }

    /// After 2³¹ and 2³² steps the bias factors stay 1 − βⁿ ≈ 1: with
    /// `n as i32` they wrapped (θ stopped moving at 2³¹, where β^{−2³¹} = ∞,
    /// and 1 − β⁰ = 0 divided by zero at 2³²).
    #[test]
    fn bias_factors_survive_two_to_the_31_steps() {
        let p = AdamParameters::default();
        for n in [1usize << 31, (1usize << 31) + 1, 1usize << 32] {
            let (c1, c2) = Moments::new(p).unwrap().bias(n);
            assert!(c1 == 1.0 && c2 == 1.0, "n = {n}: {c1}, {c2}");
            let mut oracle = FnOracle::new(1, |_x: &State, g: &mut State| g[0] = 1.0);
            // The step is lr·g/(|g| + ε) ≈ lr, as after a few thousand steps.
            let mut adam = Adam::textbook(p).unwrap();
            steady(&mut adam.core, n);
            let mut nadam = Nadam::new(p).unwrap();
            steady(&mut nadam.core, n);
            for (opt, name) in [
                (&mut adam as &mut dyn Optimizer, "adam"),
                (&mut nadam, "nadam"),
            ] {
                let mut x = State::from_element(1, 0.0);
                opt.step(&mut x, &mut oracle).unwrap();
                assert!(
                    (x[0] + p.lr).abs() <= 1e-7 * p.lr,
                    "{name}, n = {n}: {}",
                    x[0]
                );
                assert_eq!(opt.steps_taken(), n);
            }
        }
        // βⁿ is bitwise powi below 2³¹ (every existing trajectory).
        for n in [0usize, 1, 7, 1000, i32::MAX as usize] {
            assert_eq!(
                beta_pow(0.999, n).to_bits(),
                0.999f64.powi(n as i32).to_bits()
            );
        }
    }
}
