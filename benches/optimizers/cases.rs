//! One optimizer step at p = 100 000, library vs a hand-written textbook
//! loop: the problem, the shared gradient, the library constructors and the
//! textbook loops. Shared by the criterion groups (`benches/optimizers/mod.rs`)
//! and `benches/ratios/optimizer_ratios.rs`, so both time exactly the same work.
//!
//! The objective is the diagonal quadratic f(θ) = Σᵢ (½dᵢθᵢ² − cᵢθᵢ) with
//! fixed pseudo-random dᵢ ∈ [0.5, 1.5], cᵢ ∈ [−1, 1]; its gradient
//! g = d∘θ − c is computed by one non-inlined slice function, [`gradient`],
//! which the library reaches through an [`FnOracle`] closure and the textbook
//! loops call directly. Each textbook loop owns plain `Vec<f64>` buffers,
//! hoists the per-step scalars (bias corrections, step sizes) and applies the
//! update in one pass over zipped slices; it does not check the gradient for
//! non-finite entries (the library does: every `Optimizer::step` rejects a
//! non-finite gradient and leaves θ unchanged).

#![allow(dead_code)] // each includer uses a subset

use splitflow::State;
use splitflow::optimizers::{
    AdaGrad, AdaMax, Adadelta, Adam, AdamParameters, AdamW, AmsGrad, DecayScheme, EpsPlacement,
    FnOracle, GradientDescent, GradientOracle, Momentum, Nadam, Nag, Optimizer, RmsProp,
};

/// Dimension of θ.
pub const P: usize = 100_000;

/// The diagonal quadratic f(θ) = Σ ½dᵢθᵢ² − cᵢθᵢ.
#[derive(Debug, Clone)]
pub struct Quadratic {
    pub d: Vec<f64>,
    pub c: Vec<f64>,
}

/// SplitMix64: a fixed, dependency-free stream of pseudo-random numbers.
struct SplitMix(u64);

impl SplitMix {
    fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Quadratic {
    /// The instance of dimension `p` (fixed seed).
    pub fn new(p: usize) -> Self {
        let mut r = SplitMix(20_240_601);
        let d = (0..p).map(|_| 0.5 + r.next_unit()).collect();
        let c = (0..p).map(|_| 2.0 * r.next_unit() - 1.0).collect();
        Quadratic { d, c }
    }

    /// The starting point (entries in [−1, 1], fixed seed).
    pub fn theta0(&self) -> Vec<f64> {
        let mut r = SplitMix(7);
        (0..self.d.len())
            .map(|_| 2.0 * r.next_unit() - 1.0)
            .collect()
    }

    /// The gradient oracle the library optimizers use: the closure calls
    /// [`gradient`] on θ's and g's slices.
    pub fn oracle(&self) -> FnOracle<impl FnMut(&State, &mut State) + '_> {
        FnOracle::new(self.d.len(), move |theta: &State, g: &mut State| {
            gradient(self, theta.as_slice(), g.as_mut_slice())
        })
    }
}

/// g = d∘θ − c: the gradient code both contenders run (not inlined, so both
/// execute the same machine code for it).
#[inline(never)]
pub fn gradient(q: &Quadratic, theta: &[f64], g: &mut [f64]) {
    let n = g.len();
    let (d, c, theta) = (&q.d[..n], &q.c[..n], &theta[..n]);
    for i in 0..n {
        g[i] = d[i] * theta[i] - c[i];
    }
}

/// One textbook step on plain slices: the gradient at θ (or at a look-ahead
/// point) with [`gradient`], then the textbook update of θ and the state.
pub trait TextbookLoop {
    fn step(&mut self, q: &Quadratic, theta: &mut [f64]);
}

/// An optimizer of the comparison: its library constructor and its textbook loop.
pub struct Case {
    /// Row name (the library's `Optimizer::name`, plus a variant where needed).
    pub name: &'static str,
    /// The textbook parameters, for the table.
    pub params: &'static str,
    pub library: fn() -> Box<dyn Optimizer>,
    pub textbook: fn(usize) -> Box<dyn TextbookLoop>,
}

// Hyper-parameters of the comparison.
const SGD_LR: f64 = 0.1;
const MOM_LR: f64 = 0.01;
const MOM_MU: f64 = 0.9;
const ADAGRAD_LR: f64 = 0.1;
const EPS: f64 = 1e-8;
const RMS_LR: f64 = 0.01;
const RMS_RHO: f64 = 0.99;
const ADADELTA_LR: f64 = 1.0;
const ADADELTA_RHO: f64 = 0.9;
const ADADELTA_EPS: f64 = 1e-6;
const ADAM_LR: f64 = 0.01;
const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const ADAMW_DECAY: f64 = 0.01;
const ADAMAX_LR: f64 = 0.002;

fn adam_parameters(lr: f64) -> AdamParameters {
    AdamParameters {
        lr,
        beta1: BETA1,
        beta2: BETA2,
        eps: EPS,
        placement: EpsPlacement::Outside,
    }
}

/// Every optimizer of `splitflow::optimizers` with a per-step textbook form,
/// built with its textbook constructor.
pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "sgd",
            params: "lr 0.1",
            library: || Box::new(GradientDescent::sgd(SGD_LR).unwrap()),
            textbook: |p| Box::new(Sgd::new(p)),
        },
        Case {
            name: "momentum",
            params: "lr 0.01, μ 0.9",
            library: || Box::new(Momentum::textbook(MOM_LR, MOM_MU).unwrap()),
            textbook: |p| Box::new(Sutskever::new(p)),
        },
        Case {
            name: "nag",
            params: "lr 0.01, μ 0.9",
            library: || Box::new(Nag::textbook(MOM_LR, MOM_MU).unwrap()),
            textbook: |p| Box::new(SutskeverNag::new(p)),
        },
        Case {
            name: "adagrad",
            params: "lr 0.1, ε 1e-8",
            library: || {
                Box::new(AdaGrad::textbook(ADAGRAD_LR, EPS, EpsPlacement::Outside).unwrap())
            },
            textbook: |p| Box::new(AdaGradLoop::new(p)),
        },
        Case {
            name: "rmsprop",
            params: "lr 0.01, ρ 0.99, ε 1e-8",
            library: || {
                Box::new(RmsProp::textbook(RMS_LR, RMS_RHO, EPS, EpsPlacement::Outside).unwrap())
            },
            textbook: |p| Box::new(RmsPropLoop::new(p)),
        },
        Case {
            name: "adadelta",
            params: "lr 1, ρ 0.9, ε 1e-6",
            library: || Box::new(Adadelta::new(ADADELTA_LR, ADADELTA_RHO, ADADELTA_EPS).unwrap()),
            textbook: |p| Box::new(AdadeltaLoop::new(p)),
        },
        Case {
            name: "adam",
            params: "lr 0.01, β (0.9, 0.999), ε 1e-8",
            library: || Box::new(Adam::textbook(adam_parameters(ADAM_LR)).unwrap()),
            textbook: |p| Box::new(AdamLoop::new(p, 0.0)),
        },
        Case {
            name: "adamw",
            params: "as adam, weight decay 0.01 (decoupled)",
            library: || {
                Box::new(
                    AdamW::new(
                        adam_parameters(ADAM_LR),
                        ADAMW_DECAY,
                        DecayScheme::Decoupled,
                    )
                    .unwrap(),
                )
            },
            textbook: |p| Box::new(AdamLoop::new(p, ADAMW_DECAY)),
        },
        Case {
            name: "adamax",
            params: "lr 0.002, β (0.9, 0.999), ε 1e-8",
            library: || Box::new(AdaMax::new(adam_parameters(ADAMAX_LR)).unwrap()),
            textbook: |p| Box::new(AdaMaxLoop::new(p)),
        },
        Case {
            name: "amsgrad",
            params: "as adam, no bias correction",
            library: || Box::new(AmsGrad::new(adam_parameters(ADAM_LR), false).unwrap()),
            textbook: |p| Box::new(AmsGradLoop::new(p)),
        },
        Case {
            name: "nadam",
            params: "as adam (Dozat)",
            library: || Box::new(Nadam::new(adam_parameters(ADAM_LR)).unwrap()),
            textbook: |p| Box::new(NadamLoop::new(p)),
        },
    ]
}

/// Runs `steps` library steps on `theta` (panics on an optimizer error,
/// which this problem never produces).
pub fn library_steps(
    opt: &mut dyn Optimizer,
    oracle: &mut dyn GradientOracle,
    theta: &mut State,
    steps: usize,
) {
    for _ in 0..steps {
        opt.step(theta, oracle).expect("finite optimizer step");
    }
}

/// Runs `steps` textbook steps on `theta`.
pub fn textbook_steps(tb: &mut dyn TextbookLoop, q: &Quadratic, theta: &mut [f64], steps: usize) {
    for _ in 0..steps {
        tb.step(q, theta);
    }
}

/// ‖a − b‖∞ / max(‖b‖∞, 1e-300).
pub fn max_rel_diff(a: &[f64], b: &[f64]) -> f64 {
    let num = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    let den = b.iter().map(|y| y.abs()).fold(0.0, f64::max).max(1e-300);
    num / den
}

// ---------------------------------------------------------------------------
// Textbook loops.

/// θ ← θ − lr·g.
pub struct Sgd {
    g: Vec<f64>,
}

impl Sgd {
    pub fn new(p: usize) -> Self {
        Sgd { g: vec![0.0; p] }
    }
}

impl TextbookLoop for Sgd {
    fn step(&mut self, q: &Quadratic, theta: &mut [f64]) {
        gradient(q, theta, &mut self.g);
        for (x, g) in theta.iter_mut().zip(&self.g) {
            *x -= SGD_LR * g;
        }
    }
}

/// Sutskever's momentum: v ← μv − lr·g, θ ← θ + v.
pub struct Sutskever {
    g: Vec<f64>,
    v: Vec<f64>,
}

impl Sutskever {
    pub fn new(p: usize) -> Self {
        Sutskever {
            g: vec![0.0; p],
            v: vec![0.0; p],
        }
    }
}

impl TextbookLoop for Sutskever {
    fn step(&mut self, q: &Quadratic, theta: &mut [f64]) {
        gradient(q, theta, &mut self.g);
        for ((x, v), g) in theta.iter_mut().zip(&mut self.v).zip(&self.g) {
            *v = MOM_MU * *v - MOM_LR * g;
            *x += *v;
        }
    }
}

/// Sutskever's NAG: g at θ + μv, v ← μv − lr·g, θ ← θ + v.
pub struct SutskeverNag {
    g: Vec<f64>,
    v: Vec<f64>,
    ahead: Vec<f64>,
}

impl SutskeverNag {
    pub fn new(p: usize) -> Self {
        SutskeverNag {
            g: vec![0.0; p],
            v: vec![0.0; p],
            ahead: vec![0.0; p],
        }
    }
}

impl TextbookLoop for SutskeverNag {
    fn step(&mut self, q: &Quadratic, theta: &mut [f64]) {
        for ((a, x), v) in self.ahead.iter_mut().zip(theta.iter()).zip(&self.v) {
            *a = x + MOM_MU * v;
        }
        gradient(q, &self.ahead, &mut self.g);
        for ((x, v), g) in theta.iter_mut().zip(&mut self.v).zip(&self.g) {
            *v = MOM_MU * *v - MOM_LR * g;
            *x += *v;
        }
    }
}

/// AdaGrad: G ← G + g², θ ← θ − lr·g/(√G + ε).
pub struct AdaGradLoop {
    g: Vec<f64>,
    acc: Vec<f64>,
}

impl AdaGradLoop {
    pub fn new(p: usize) -> Self {
        AdaGradLoop {
            g: vec![0.0; p],
            acc: vec![0.0; p],
        }
    }
}

impl TextbookLoop for AdaGradLoop {
    fn step(&mut self, q: &Quadratic, theta: &mut [f64]) {
        gradient(q, theta, &mut self.g);
        for ((x, s), g) in theta.iter_mut().zip(&mut self.acc).zip(&self.g) {
            *s += g * g;
            *x -= ADAGRAD_LR * g / (s.sqrt() + EPS);
        }
    }
}

/// RMSProp: v ← ρv + (1 − ρ)g², θ ← θ − lr·g/(√v + ε).
pub struct RmsPropLoop {
    g: Vec<f64>,
    v: Vec<f64>,
}

impl RmsPropLoop {
    pub fn new(p: usize) -> Self {
        RmsPropLoop {
            g: vec![0.0; p],
            v: vec![0.0; p],
        }
    }
}

impl TextbookLoop for RmsPropLoop {
    fn step(&mut self, q: &Quadratic, theta: &mut [f64]) {
        gradient(q, theta, &mut self.g);
        let k = 1.0 - RMS_RHO;
        for ((x, v), g) in theta.iter_mut().zip(&mut self.v).zip(&self.g) {
            *v = RMS_RHO * *v + k * g * g;
            *x -= RMS_LR * g / (v.sqrt() + EPS);
        }
    }
}

/// Adadelta (Zeiler; PyTorch's form with lr): G ← ρG + (1 − ρ)g²,
/// s = √(Δ + ε)/√(G + ε)·g, Δ ← ρΔ + (1 − ρ)s², θ ← θ − lr·s.
pub struct AdadeltaLoop {
    g: Vec<f64>,
    acc_g: Vec<f64>,
    acc_d: Vec<f64>,
}

impl AdadeltaLoop {
    pub fn new(p: usize) -> Self {
        AdadeltaLoop {
            g: vec![0.0; p],
            acc_g: vec![0.0; p],
            acc_d: vec![0.0; p],
        }
    }
}

impl TextbookLoop for AdadeltaLoop {
    fn step(&mut self, q: &Quadratic, theta: &mut [f64]) {
        gradient(q, theta, &mut self.g);
        let (rho, k, eps) = (ADADELTA_RHO, 1.0 - ADADELTA_RHO, ADADELTA_EPS);
        for (((x, ag), ad), g) in theta
            .iter_mut()
            .zip(&mut self.acc_g)
            .zip(&mut self.acc_d)
            .zip(&self.g)
        {
            *ag = rho * *ag + k * g * g;
            let s = (*ad + eps).sqrt() / (*ag + eps).sqrt() * g;
            *ad = rho * *ad + k * s * s;
            *x -= ADADELTA_LR * s;
        }
    }
}

/// Adam (Kingma–Ba), and AdamW (Loshchilov–Hutter, PyTorch) when
/// `decay > 0`: m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g²,
/// θ ← (1 − lr·λ)θ − (lr/(1 − β₁ᵗ))·m/(√(v/(1 − β₂ᵗ)) + ε).
pub struct AdamLoop {
    g: Vec<f64>,
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
    decay: f64,
}

impl AdamLoop {
    pub fn new(p: usize, weight_decay: f64) -> Self {
        AdamLoop {
            g: vec![0.0; p],
            m: vec![0.0; p],
            v: vec![0.0; p],
            t: 0,
            decay: weight_decay,
        }
    }
}

impl TextbookLoop for AdamLoop {
    fn step(&mut self, q: &Quadratic, theta: &mut [f64]) {
        gradient(q, theta, &mut self.g);
        self.t += 1;
        let step = ADAM_LR / (1.0 - BETA1.powi(self.t));
        let inv_bc2 = 1.0 / (1.0 - BETA2.powi(self.t));
        let shrink = 1.0 - ADAM_LR * self.decay;
        let (k1, k2) = (1.0 - BETA1, 1.0 - BETA2);
        for (((x, m), v), g) in theta
            .iter_mut()
            .zip(&mut self.m)
            .zip(&mut self.v)
            .zip(&self.g)
        {
            *m = BETA1 * *m + k1 * g;
            *v = BETA2 * *v + k2 * g * g;
            *x = shrink * *x - step * *m / ((*v * inv_bc2).sqrt() + EPS);
        }
    }
}

/// AdaMax (Kingma–Ba Alg. 2, ε in the max as PyTorch): m ← β₁m + (1 − β₁)g,
/// u ← max(β₂u, |g| + ε), θ ← θ − (lr/(1 − β₁ᵗ))·m/u.
pub struct AdaMaxLoop {
    g: Vec<f64>,
    m: Vec<f64>,
    u: Vec<f64>,
    t: i32,
}

impl AdaMaxLoop {
    pub fn new(p: usize) -> Self {
        AdaMaxLoop {
            g: vec![0.0; p],
            m: vec![0.0; p],
            u: vec![0.0; p],
            t: 0,
        }
    }
}

impl TextbookLoop for AdaMaxLoop {
    fn step(&mut self, q: &Quadratic, theta: &mut [f64]) {
        gradient(q, theta, &mut self.g);
        self.t += 1;
        let step = ADAMAX_LR / (1.0 - BETA1.powi(self.t));
        let k1 = 1.0 - BETA1;
        for (((x, m), u), g) in theta
            .iter_mut()
            .zip(&mut self.m)
            .zip(&mut self.u)
            .zip(&self.g)
        {
            *m = BETA1 * *m + k1 * g;
            *u = (BETA2 * *u).max(g.abs() + EPS);
            *x -= step * *m / *u;
        }
    }
}

/// AMSGrad (Reddi–Kale–Kumar, no bias correction): m, v as Adam,
/// v̂ ← max(v̂, v), θ ← θ − lr·m/(√v̂ + ε).
pub struct AmsGradLoop {
    g: Vec<f64>,
    m: Vec<f64>,
    v: Vec<f64>,
    vmax: Vec<f64>,
}

impl AmsGradLoop {
    pub fn new(p: usize) -> Self {
        AmsGradLoop {
            g: vec![0.0; p],
            m: vec![0.0; p],
            v: vec![0.0; p],
            vmax: vec![0.0; p],
        }
    }
}

impl TextbookLoop for AmsGradLoop {
    fn step(&mut self, q: &Quadratic, theta: &mut [f64]) {
        gradient(q, theta, &mut self.g);
        let (k1, k2) = (1.0 - BETA1, 1.0 - BETA2);
        for ((((x, m), v), vm), g) in theta
            .iter_mut()
            .zip(&mut self.m)
            .zip(&mut self.v)
            .zip(&mut self.vmax)
            .zip(&self.g)
        {
            *m = BETA1 * *m + k1 * g;
            *v = BETA2 * *v + k2 * g * g;
            *vm = vm.max(*v);
            *x -= ADAM_LR * *m / (vm.sqrt() + EPS);
        }
    }
}

/// Nadam (Dozat): m, v as Adam, m̂ = β₁m/(1 − β₁ᵗ⁺¹) + (1 − β₁)g/(1 − β₁ᵗ),
/// θ ← θ − lr·m̂/(√(v/(1 − β₂ᵗ)) + ε).
pub struct NadamLoop {
    g: Vec<f64>,
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl NadamLoop {
    pub fn new(p: usize) -> Self {
        NadamLoop {
            g: vec![0.0; p],
            m: vec![0.0; p],
            v: vec![0.0; p],
            t: 0,
        }
    }
}

impl TextbookLoop for NadamLoop {
    fn step(&mut self, q: &Quadratic, theta: &mut [f64]) {
        gradient(q, theta, &mut self.g);
        self.t += 1;
        let (k1, k2) = (1.0 - BETA1, 1.0 - BETA2);
        let a = BETA1 / (1.0 - BETA1.powi(self.t + 1));
        let b = k1 / (1.0 - BETA1.powi(self.t));
        let inv_bc2 = 1.0 / (1.0 - BETA2.powi(self.t));
        for (((x, m), v), g) in theta
            .iter_mut()
            .zip(&mut self.m)
            .zip(&mut self.v)
            .zip(&self.g)
        {
            *m = BETA1 * *m + k1 * g;
            *v = BETA2 * *v + k2 * g * g;
            let m_hat = a * *m + b * g;
            *x -= ADAM_LR * m_hat / ((*v * inv_bc2).sqrt() + EPS);
        }
    }
}
