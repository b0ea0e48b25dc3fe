//! Declarative optimizer specs (TOML or JSON): an ODE form and a textbook
//! form, both built through the ODE and its scheme, each explainable as the other.
//!
//! ```toml
//! # ODE form
//! [flow]
//! kind = "heavy_ball"        # gradient | heavy_ball | rmsprop | adam | adagrad
//! friction = 2.0             # heavy_ball: constant γ (or vanishing_r = 3.0 for r/t)
//! [discretization]
//! scheme = "exact_friction"
//! h = 0.1
//! ```
//!
//! ```toml
//! # textbook form
//! [textbook]
//! method = "momentum"
//! lr = 0.01
//! momentum = 0.9
//! ```
//!
//! | flow `kind` | flow keys | `scheme` (+ discretization keys) | textbook method |
//! |---|---|---|---|
//! | `gradient` | — | `explicit_euler`, `implicit_euler`, `rk4` | `sgd`, `implicit_sgd`, — |
//! | `heavy_ball` | `friction` γ | `semi_implicit_euler`, `exact_friction`, `forward_friction` (+ `gradient_at = "lookahead"`) | `momentum` (`nag`) |
//! | `heavy_ball` | `vanishing_r` r | `nesterov` | `nag` with `vanishing_r` |
//! | `rmsprop` | `b`, `eps`, `eps_placement` | `explicit_euler` | `rmsprop` |
//! | `adam` | `a`, `b`, `eps`, `eps_placement`, `weight_decay` | `explicit_euler` (+ `decay_scheme`) | `adam` (`adamw`) |
//! | `adagrad` | `eps` (ε̃), `eps_placement` | `explicit_euler` | `adagrad` |
//!
//! Textbook-only methods (no clean ODE derivation, stated as recursions):
//! `adadelta`, `adamax`, `amsgrad`, `nadam`, `sag`; splitting methods given
//! by their textbook keys: `ssa1` (`h`, `k`, `beta`, `c_factor`), `ssa2`
//! (`h`, `k`, `q`, `tau`, `beta`), `svrg` (`lr`, `snapshot_every`). Textbook keys: `lr`,
//! `momentum`, `vanishing_r` (nag), `rho`, `eps`, `eps_placement`
//! (`outside` default | `inside`), `beta1`, `beta2`, `bias_correction`
//! (amsgrad), `weight_decay`, `decay_scheme` (`decoupled` | `lie_exact`).
//! Defaults are PyTorch's where a method has them (adam family lr = 1e-3,
//! β = (0.9, 0.999), ε = 1e-8; rmsprop ρ = 0.99, ε = 1e-8; adagrad ε = 1e-10;
//! adadelta lr = 1, ρ = 0.9, ε = 1e-6); `lr` is required for sgd,
//! implicit_sgd, momentum and nag. The ODE forms default to the same ε:
//! rmsprop and adam ε = 1e-8, adagrad ε̃ = that of PyTorch's ε = 1e-10 at
//! lr = √h (√h·1e-10 outside the root, h·1e-10 inside). ε must be > 0
//! everywhere (ε = 0 gives 0/0 on a coordinate whose gradient vanishes).
//! Heavy ball: `friction = 0` is textbook `momentum = 1` and back.

use serde::{Deserialize, Serialize};

use super::{
    AdaGrad, Adam, AdamParameters, AdamW, DecayScheme, EpsPlacement, GradientDescent,
    GradientScheme, HeavyBallScheme, ImplicitOptions, Momentum, Nag, NagFriction, Optimizer,
    RmsProp,
};
use super::{Schedule, ScheduleSpec};
use crate::error::{Error, Result, toml_error};

/// The `[flow]` table: which ODE.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowSpec {
    /// `gradient`, `heavy_ball`, `rmsprop`, `adam`, `adagrad` or `newton`
    /// (generated only).
    pub kind: String,
    /// heavy_ball: constant friction γ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friction: Option<f64>,
    /// heavy_ball: vanishing friction r/t.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vanishing_r: Option<f64>,
    /// adam: first-moment rate a.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a: Option<f64>,
    /// rmsprop, adam: second-moment rate b.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b: Option<f64>,
    /// rmsprop, adam: ε; adagrad: ε̃.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eps: Option<f64>,
    /// `outside` (default) or `inside`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eps_placement: Option<String>,
    /// adam: the decoupled decay flow θ' = −λθ (makes AdamW); any flow of a
    /// generated optimizer: the extra piece `"decay"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<f64>,
    /// heavy_ball (generated): Hessian damping β in x' = v − β∇f(x).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hessian_damping: Option<f64>,
    /// adam (generated): bias factors `discrete` (1 − βⁿ, default),
    /// `continuous` (1 − e^{−at}) or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bias: Option<String>,
    /// newton (generated): λ ≥ 0 in θ' = −(∇²f + λI)⁻¹∇f (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regularization: Option<f64>,
}

/// The `[discretization]` table: which scheme and step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscretizationSpec {
    /// The scheme (see the module table), or any stepper name for a
    /// generated optimizer; empty when `splitting` is given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scheme: String,
    /// The step h (δ).
    pub h: f64,
    /// heavy_ball: `current` (default) or `lookahead` (NAG).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gradient_at: Option<String>,
    /// adam with weight decay: `decoupled` (default) or `lie_exact`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decay_scheme: Option<String>,
    /// Generated: a splitting of the flow's pieces (`lie`, `strang`,
    /// `yoshida4`, `suzuki4`, `mclachlan2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub splitting: Option<String>,
    /// Generated splitting: the pieces in the scheme's order (default: the flow's order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pieces: Option<Vec<String>>,
    /// Generated splitting: `exact` or a stepper name per piece (default explicit_euler).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_schemes: Option<Vec<String>>,
    /// Generated, adaptive `scheme` (rk45): relative tolerance (default 1e-6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtol: Option<f64>,
    /// Generated, adaptive `scheme` (rk45): absolute tolerance (default 1e-6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atol: Option<f64>,
    /// Generated: flow time of the first step (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t0: Option<f64>,
    /// Generated, `splitting = "custom"`: one list of fractions per listed
    /// piece; stage j applies piece 1 for `coefficients[0][j]·h`, then piece
    /// 2, … (Strang is `[[0.5, 0.5], [1.0, 0.0]]`), as in the order lab.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coefficients: Option<Vec<Vec<f64>>>,
    /// Generated, `splitting = "custom"`: the claimed order, checked
    /// against the order conditions on load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<u32>,
}

/// The `[textbook]` table: a method by its usual name and hyper-parameters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextbookSpec {
    /// `sgd`, `implicit_sgd`, `momentum`, `nag`, `adagrad`, `rmsprop`,
    /// `adadelta`, `adam`, `adamw`, `adamax`, `amsgrad`, `nadam`.
    pub method: String,
    /// Learning rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    /// momentum, nag: momentum in [0, 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub momentum: Option<f64>,
    /// nag: Nesterov's (k−1)/(k+r−1) momentum instead of a constant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vanishing_r: Option<f64>,
    /// rmsprop, adadelta: decay ρ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rho: Option<f64>,
    /// ε.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eps: Option<f64>,
    /// `outside` (default) or `inside`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eps_placement: Option<String>,
    /// adam family: β₁.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta1: Option<f64>,
    /// adam family: β₂.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta2: Option<f64>,
    /// amsgrad: PyTorch's bias correction (default false, as the paper).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bias_correction: Option<bool>,
    /// adamw: λ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<f64>,
    /// adamw: `decoupled` (default) or `lie_exact`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decay_scheme: Option<String>,
    /// ssa1, ssa2: the step h.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h: Option<f64>,
    /// ssa1, ssa2: velocity control k (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<f64>,
    /// ssa2: exponent q (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<f64>,
    /// ssa2: τ (avoids division by zero at n = 0; required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tau: Option<f64>,
    /// ssa1, ssa2: a constant β instead of βₙ = n/(n+3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    /// ssa1: `one` (default) or `institute` (c(β) = 2β² − 2β + 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c_factor: Option<String>,
    /// svrg: steps between snapshots (default: one epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_every: Option<usize>,
}

/// An optimizer spec: either `[flow]` + `[discretization]` or `[textbook]`.
///
/// # Example
/// ```
/// use splitflow::optimizers::OptimizerSpec;
///
/// let spec = OptimizerSpec::from_toml(r#"
/// [flow]
/// kind = "heavy_ball"
/// friction = 2.0
/// [discretization]
/// scheme = "exact_friction"
/// h = 0.1
/// "#)?;
/// let e = spec.explain()?;
/// assert_eq!(e.summary, "momentum: lr = 0.01, momentum = 0.8187");
/// // The textbook form explains back to the same ODE.
/// let back = OptimizerSpec { textbook: Some(e.textbook.clone()), ..Default::default() }.explain()?;
/// assert!((back.flow.unwrap().friction.unwrap() - 2.0).abs() < 1e-12);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerSpec {
    /// The ODE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<FlowSpec>,
    /// Its discretization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discretization: Option<DiscretizationSpec>,
    /// Or the textbook form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub textbook: Option<TextbookSpec>,
    /// An optional step-size schedule h_k (either form; the optimizer then
    /// runs on its generated path, see [`Schedule`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleSpec>,
}

/// What [`OptimizerSpec::explain`] returns: the same optimizer in both forms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The textbook form with every hyper-parameter. A generated optimizer
    /// with no textbook equivalent has method `"generated"` (and `h`), and
    /// is serialised as `null`.
    #[serde(serialize_with = "textbook_or_null")]
    pub textbook: TextbookSpec,
    /// The ODE (`None` for textbook-only methods).
    pub flow: Option<FlowSpec>,
    /// The scheme and step (`None` for textbook-only methods).
    pub discretization: Option<DiscretizationSpec>,
    /// One line, e.g. `momentum: lr = 0.01, momentum = 0.8187`.
    pub summary: String,
    /// `<scheme> on <ODE> with <map>`.
    pub derivation: String,
    /// Caveats (textbook-only methods, rounding of the inverse map, no
    /// textbook equivalent).
    pub note: Option<String>,
    /// The one-step update as text (the textbook formula, or the
    /// generated scheme's sequence of sub-flows).
    pub update: Option<String>,
    /// The schedule, as h_k and as the textbook lr_k (`None` without a
    /// `[schedule]`).
    pub schedule: Option<ScheduleExplanation>,
    /// The classic method a generated update is when splitflow has no
    /// `[textbook]` form for it, with its parameters (explicit Euler on the
    /// Newton flow: Newton's method); `None` otherwise.
    pub classic: Option<String>,
}

/// A schedule explained: the spec's table, h_k as a formula, what the
/// textbook method calls lr_k (and momentum_k, β_k, …) at h_k, and the first steps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleExplanation {
    /// The `[schedule]` table.
    #[serde(flatten)]
    pub spec: ScheduleSpec,
    /// `h_k = …`.
    pub h_k: String,
    /// The textbook hyper-parameters at step k (`lr_k = h_k², momentum_k = …`),
    /// or why the method has no per-step textbook form.
    pub lr_k: String,
    /// Steps k = 0 … 4.
    pub steps: Vec<ScheduledStep>,
}

/// One step of a schedule: h_k and the textbook values it implies.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScheduledStep {
    /// The step index k (0-based).
    pub k: usize,
    /// h_k.
    pub h: f64,
    /// The textbook lr_k, when the method has one.
    pub lr: Option<f64>,
    /// The textbook momentum_k (heavy-ball methods; from k = 1).
    pub momentum: Option<f64>,
}

/// The explanation of `schedule` for the method whose textbook form is `t`
/// and ODE form `(f, d)`.
fn schedule_explanation(
    spec: &ScheduleSpec,
    schedule: &Schedule,
    t: &TextbookSpec,
    f: Option<&FlowSpec>,
    d: Option<&DiscretizationSpec>,
) -> ScheduleExplanation {
    let base = d.map_or(f64::NAN, |d| d.h);
    let same: Values = Box::new(move |_| (None, None));
    let (lr_k, values): (String, Values) = match t.method.as_str() {
        "sgd" | "implicit_sgd" | "rk4_gradient_flow" => (
            "lr_k = h_k".into(),
            Box::new(|_| (Some(f64::NAN), None)),
        ),
        "momentum" => momentum_schedule(schedule, base, f, d),
        "adam" | "adamw" => {
            let (a, b) = f.map_or((f64::NAN, f64::NAN), |f| {
                (f.a.unwrap_or(f64::NAN), f.b.unwrap_or(f64::NAN))
            });
            (
                format!(
                    "lr_k = h_k, beta1_k = 1 − {a}·h_k, beta2_k = 1 − {b}·h_k (bias factors 1 − ∏_(j≤k)(1 − aᵢh_j)); a textbook Adam whose lr alone is scheduled keeps β fixed and is not this flow's discretization"
                ),
                Box::new(|_| (Some(f64::NAN), None)),
            )
        }
        "rmsprop" => {
            let b = f.and_then(|f| f.b).unwrap_or(f64::NAN);
            (
                format!("lr_k = h_k, rho_k = 1 − {b}·h_k"),
                Box::new(|_| (Some(f64::NAN), None)),
            )
        }
        "nag" => (
            "no per-step textbook form: the look-ahead is the Hessian damping β = h of the flow, fixed at the base step h while the scheme steps h_k".into(),
            same,
        ),
        "adagrad" => (
            "no per-step textbook form: the accumulator becomes Σ_j h_j·g_j² (lr = √h only at a constant step)".into(),
            same,
        ),
        _ => (
            "no textbook equivalent: the scheme's step is h_k".into(),
            same,
        ),
    };
    let steps = (0..5)
        .map(|k| {
            let (lr, momentum) = values(k);
            let h = schedule.h_at(base, k);
            ScheduledStep {
                k,
                h,
                // NaN marks "lr_k = h_k".
                lr: lr.map(|v| if v.is_nan() { h } else { v }),
                momentum,
            }
        })
        .collect();
    ScheduleExplanation {
        spec: spec.clone(),
        h_k: format!("{} with h = {base}", schedule.formula()),
        lr_k: tidy_numbers(&lr_k),
        steps,
    }
}

/// The textbook values of a scheduled step, `k ↦ (lr_k, momentum_k)`
/// (`lr_k` NaN: equal to `h_k`).
type Values = Box<dyn Fn(usize) -> (Option<f64>, Option<f64>)>;

/// Momentum under a schedule: `lr_k` and `momentum_k` of the heavy-ball
/// scheme at `h_k` (the velocity is `(x_k − x_(k−1))/h_(k−1)`).
fn momentum_schedule(
    schedule: &Schedule,
    base: f64,
    f: Option<&FlowSpec>,
    d: Option<&DiscretizationSpec>,
) -> (String, Values) {
    let gamma = f.and_then(|f| f.friction).unwrap_or(f64::NAN);
    let scheme = d
        .and_then(|d| HeavyBallScheme::from_name(&d.scheme).ok())
        .unwrap_or(HeavyBallScheme::ExactFriction);
    let text = match scheme {
        HeavyBallScheme::SemiImplicitEuler => {
            format!("lr_k = h_k², momentum_k = (1 − {gamma}·h_k)·h_k/h_(k−1)")
        }
        HeavyBallScheme::ExactFriction => {
            format!("lr_k = h_k², momentum_k = e^(−{gamma}·h_k)·h_k/h_(k−1)")
        }
        HeavyBallScheme::ForwardFriction => {
            format!("lr_k = h_k²/(1 + {gamma}·h_k), momentum_k = h_k/((1 + {gamma}·h_k)·h_(k−1))")
        }
    };
    let s = schedule.clone();
    (
        format!(
            "{text} (x_(k+1) = x_k − lr_k·∇f(x_k) + momentum_k·(x_k − x_(k−1)): the velocity is (x_k − x_(k−1))/h_(k−1))"
        ),
        Box::new(move |k| {
            let hk = s.h_at(base, k);
            let (phi, kappa) = scheme.factors(gamma, hk);
            let momentum = (k > 0).then(|| phi * hk / s.h_at(base, k - 1));
            (Some(kappa * hk), momentum)
        }),
    )
}

/// The caveat of an explanation: a generated optimizer (classic or with
/// no textbook equivalent), or a textbook-only method (`no_flow`).
fn explanation_note(no_flow: bool, method: &str, classic: bool) -> Option<String> {
    match (no_flow, method) {
        (false, "generated") if classic => Some(
            "a generated optimizer (scheme on flow) that is a classic method with no [textbook] form in splitflow (see `classic`)"
                .into(),
        ),
        (false, "generated") => Some(
            "no textbook equivalent: a generated optimizer (scheme on flow); the update is the scheme's one-step map"
                .into(),
        ),
        (false, _) => None,
        (true, "ssa1" | "ssa2" | "svrg") => Some(format!(
            "{method} is a splitting scheme (see the derivation); the ODE-form spec does not describe splittings, so only the textbook form is given"
        )),
        (true, _) => Some(format!(
            "{method} has no clean ODE derivation; it is implemented as the stated recursion"
        )),
    }
}

/// `null` for a generated optimizer's (non-)textbook form.
fn textbook_or_null<S: serde::Serializer>(
    t: &TextbookSpec,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    if t.method == "generated" {
        s.serialize_none()
    } else {
        t.serialize(s)
    }
}

/// The textbook update formula of a method, when it has a short one.
fn textbook_update(method: &str) -> Option<&'static str> {
    Some(match method {
        "sgd" => "θ ← θ − lr·∇f(θ)",
        "implicit_sgd" => "θ₊ = θ − lr·∇f(θ₊)",
        "rk4_gradient_flow" => "θ ← θ + (h/6)(k₁ + 2k₂ + 2k₃ + k₄), kᵢ = −∇f at the RK4 stages",
        "momentum" => "x₊ = x − lr·∇f(x) + momentum·(x − x₋)",
        "nag" => "v ← μv − lr·∇f(θ + μv), θ ← θ + v (μ = momentum, or (k−1)/(k+r−1))",
        "adagrad" => "G ← G + g², θ ← θ − lr·g/(√G + ε)",
        "rmsprop" => "v ← ρv + (1 − ρ)g², θ ← θ − lr·g/(√v + ε)",
        "adam" => {
            "m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², θ ← θ − lr·(m/(1 − β₁ⁿ))/(√(v/(1 − β₂ⁿ)) + ε)"
        }
        "adamw" => {
            "Adam's moments, θ ← θ − lr·(λθ + m̂/(√v̂ + ε)) (decoupled) or Adam then θ ← e^{−lr·λ}θ (lie_exact)"
        }
        _ => return None,
    })
}

fn spec_error(message: String) -> Error {
    Error::Spec {
        message,
        line: None,
    }
}

/// 4 significant digits, trailing zeros trimmed (for summaries).
fn short(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !(1e-3..1e6).contains(&v.abs()) {
        let s = format!("{v:.3e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        return format!("{mantissa}e{exp}");
    }
    let digits = (3 - v.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') && !s.contains('e') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Rounds every decimal number in `text` to 10 significant digits, printed
/// in shortest form (`0.010000000000000002` → `0.01`), for readable derivations.
fn tidy_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit()
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'));
        if !starts {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.') {
            j += 1;
        }
        if j + 1 < chars.len()
            && chars[j] == 'e'
            && (chars[j + 1].is_ascii_digit() || chars[j + 1] == '-')
        {
            j += 2;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
        }
        let token: String = chars[i..j].iter().collect();
        match token.trim_end_matches('.').parse::<f64>() {
            Ok(v) if token.len() > 11 => {
                let rounded: f64 = format!("{v:.9e}").parse().unwrap_or(v);
                out += &rounded.to_string();
                if token.ends_with('.') {
                    out.push('.');
                }
            }
            _ => out += &token,
        }
        i = j;
    }
    out
}

/// Which section a parameter name belongs to in a form.
fn section_of(name: &str, ode: bool) -> &'static str {
    match (ode, name) {
        (
            true,
            "h" | "scheme" | "gradient_at" | "decay_scheme" | "splitting" | "pieces"
            | "sub_schemes" | "rtol" | "atol" | "t0" | "coefficients" | "order",
        ) => "discretization",
        (true, _) => "flow",
        (false, _) => "textbook",
    }
}

/// The 1-based line of the `[section]` header of a TOML text, or of
/// `"section"` in a JSON text.
fn header_line(text: &str, section: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let t = l.trim();
            t.trim_start_matches('[').trim_end_matches(']').trim() == section && t.starts_with('[')
                || t.starts_with(&format!("\"{section}\""))
        })
        .map(|i| i + 1)
}

/// Finds the 1-based line of `key = …` inside `[section]` of a TOML text,
/// or of `"key"` in a JSON text.
fn line_of(text: &str, section: &str, key: &str) -> Option<usize> {
    let json = text.trim_start().starts_with('{');
    let mut in_section = json;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if json {
            if t.contains(&format!("\"{section}\"")) {
                in_section = true;
            }
            if in_section && t.contains(&format!("\"{key}\"")) {
                return Some(i + 1);
            }
        } else if t.starts_with('[') {
            in_section = t.trim_start_matches('[').trim_end_matches(']').trim() == section;
        } else if in_section {
            let k = t.split('=').next().unwrap_or("").trim().trim_matches('"');
            if k == key && t.contains('=') {
                return Some(i + 1);
            }
        }
    }
    None
}

pub(crate) fn placement(field: &str, v: &Option<String>) -> Result<EpsPlacement> {
    match v {
        None => Ok(EpsPlacement::Outside),
        Some(s) => EpsPlacement::from_name(s).map_err(|_| {
            Error::invalid(
                field,
                format!("{s:?}"),
                "expected \"outside\" or \"inside\"",
            )
        }),
    }
}

pub(crate) fn decay(field: &str, v: &Option<String>) -> Result<DecayScheme> {
    match v.as_deref() {
        None | Some("decoupled") => Ok(DecayScheme::Decoupled),
        Some("lie_exact") => Ok(DecayScheme::LieExact),
        Some(s) => Err(Error::invalid(
            field,
            format!("{s:?}"),
            "expected \"decoupled\" or \"lie_exact\"",
        )),
    }
}

/// `field`, which `method` needs.
pub(crate) fn required(field: &str, v: Option<f64>, method: &str) -> Result<f64> {
    v.ok_or_else(|| Error::invalid(field, "missing", &format!("{method} needs `{field}`")))
}

/// Rejects keys a method does not use (present = serialised non-null).
pub(crate) fn only_keys<T: Serialize>(value: &T, allowed: &[&str], what: &str) -> Result<()> {
    let v = serde_json::to_value(value).map_err(|e| spec_error(e.to_string()))?;
    if let Some(map) = v.as_object() {
        for k in map.keys() {
            if !allowed.contains(&k.as_str()) {
                return Err(Error::invalid(
                    k,
                    "given",
                    &format!("not used by {what} (its keys: {})", allowed.join(", ")),
                ));
            }
        }
    }
    Ok(())
}

impl OptimizerSpec {
    /// Parses and validates a TOML spec.
    ///
    /// # Errors
    /// [`Error::Spec`] with the line for malformed TOML, unknown keys, wrong
    /// types, a missing or mixed form, keys a method does not use, unknown
    /// names and out-of-range or non-finite values (the message names the field).
    pub fn from_toml(text: &str) -> Result<Self> {
        crate::limits::check_spec_size(text)?;
        let spec: OptimizerSpec = toml::from_str(text)
            .map_err(|e| order_spec_hint(text).unwrap_or_else(|| toml_error(text, &e)))?;
        spec.validated(text)
    }

    /// Parses and validates a JSON spec (same structure as the TOML one).
    ///
    /// # Errors
    /// As [`from_toml`](Self::from_toml).
    pub fn from_json(text: &str) -> Result<Self> {
        crate::limits::check_spec_size(text)?;
        let spec: OptimizerSpec = serde_json::from_str(text).map_err(|e| Error::Spec {
            message: e.to_string(),
            line: Some(e.line()),
        })?;
        spec.validated(text)
    }

    /// Parses TOML or JSON, whichever `text` is (JSON starts with `{`).
    ///
    /// # Errors
    /// As [`from_toml`](Self::from_toml).
    pub fn parse(text: &str) -> Result<Self> {
        if text.trim_start().starts_with('{') {
            Self::from_json(text)
        } else {
            Self::from_toml(text)
        }
    }

    fn validated(self, text: &str) -> Result<Self> {
        let ode = self.textbook.is_none();
        if let Some(schedule) = &self.schedule {
            self.scheduled(schedule).map_err(|e| match e {
                Error::InvalidParameter {
                    name,
                    value,
                    reason,
                } => Error::Spec {
                    message: format!("schedule.{name} = {value}: {reason}"),
                    line: line_of(text, "schedule", &name).or(header_line(text, "schedule")),
                },
                Error::Spec { message, .. } => Error::Spec {
                    message: format!("[schedule]: {message}"),
                    line: header_line(text, "schedule"),
                },
                other => other,
            })?;
        }
        if self.textbook.is_some() && (self.flow.is_some() || self.discretization.is_some()) {
            return Err(Error::Spec {
                message:
                    "give either the ODE form ([flow] + [discretization]) or [textbook], not both"
                        .into(),
                line: header_line(text, "textbook"),
            });
        }
        match self.build() {
            Ok(_) => Ok(self),
            Err(Error::InvalidParameter {
                name,
                value,
                reason,
            }) => {
                let section = section_of(&name, ode);
                Err(Error::Spec {
                    message: format!("{section}.{name} = {value}: {reason}"),
                    line: line_of(text, section, &name),
                })
            }
            Err(e @ Error::Spec { .. }) => Err(e),
            Err(e) => Err(spec_error(e.to_string())),
        }
    }

    /// Builds the optimizer through its ODE and scheme.
    ///
    /// # Errors
    /// [`Error::Spec`] for a missing or mixed form; [`Error::InvalidParameter`]
    /// (naming the field) for unknown names, unused keys and out-of-range values.
    pub fn build(&self) -> Result<Box<dyn Optimizer>> {
        if let Some(schedule) = &self.schedule {
            return Ok(Box::new(self.scheduled(schedule)?));
        }
        match (&self.flow, &self.discretization, &self.textbook) {
            (Some(f), Some(d), None) => build_ode(f, d),
            (None, None, Some(t)) => build_textbook(t),
            (None, None, None) => Err(spec_error(
                "empty spec: give [flow] and [discretization], or [textbook]".into(),
            )),
            (Some(_), None, None) => Err(spec_error("[flow] needs a [discretization]".into())),
            (None, Some(_), None) => Err(spec_error("[discretization] needs a [flow]".into())),
            _ => Err(spec_error(
                "give either the ODE form ([flow] + [discretization]) or [textbook], not both"
                    .into(),
            )),
        }
    }

    /// The optimizer with a schedule: its generated form (the spec's own
    /// flow and scheme, or the textbook method's ODE form) stepped by h_k.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming a key of the `[schedule]` table;
    /// [`Error::Spec`] for a textbook-only method (no ODE, so no step
    /// sequence of one); the errors of building the spec.
    fn scheduled(&self, schedule: &ScheduleSpec) -> Result<super::GeneratedOptimizer> {
        let s = schedule.schedule()?;
        let base = OptimizerSpec {
            schedule: None,
            ..self.clone()
        };
        let opt = base.build()?;
        let (f, d) = match (&self.flow, &self.discretization, &self.textbook) {
            (Some(f), Some(d), None) => (f.clone(), d.clone()),
            _ => match ode_form(&base.textbook_form(opt.as_ref())?)? {
                Some(form) => form,
                None => {
                    return Err(spec_error(format!(
                        "{} has no ODE form, so no step sequence h_k to schedule",
                        opt.name()
                    )));
                }
            },
        };
        Ok(super::generated::from_spec::generated(&f, &d, d.h)?.with_schedule(s))
    }

    /// The optimizer in both forms: textbook hyper-parameters, ODE and
    /// scheme (when the method has one), a one-line summary and the
    /// derivation; with a `[schedule]`, also h_k and the textbook lr_k.
    ///
    /// # Errors
    /// As [`build`](Self::build).
    pub fn explain(&self) -> Result<Explanation> {
        if let Some(schedule) = &self.schedule {
            return self.explain_scheduled(schedule);
        }
        let opt = self.build()?;
        let textbook = self.textbook_form(opt.as_ref())?;
        let (flow, discretization) = match (&self.flow, &self.discretization) {
            (Some(f), Some(d)) => (Some(f.clone()), Some(d.clone())),
            _ => match ode_form(&textbook)? {
                Some((f, d)) => (Some(f), Some(d)),
                None => (None, None),
            },
        };
        let params: Vec<String> = opt
            .hyper_parameters()
            .iter()
            .map(|(k, v)| format!("{k} = {}", short(*v)))
            .collect();
        let generated = match (&self.flow, &self.discretization) {
            (Some(f), Some(d)) if super::generated::from_spec::is_generated(f, d) => {
                Some(super::generated::from_spec::build(f, d)?)
            }
            _ => None,
        };
        let update = match &generated {
            Some(g) => Some(g.update_text()),
            None => textbook_update(&textbook.method).map(String::from),
        };
        let classic = match (&self.flow, &self.discretization) {
            (Some(f), Some(d)) if generated.is_some() => classic_method(f, d),
            _ => None,
        };
        let note = explanation_note(flow.is_none(), &textbook.method, classic.is_some());
        Ok(Explanation {
            summary: format!("{}: {}", textbook.method, params.join(", ")),
            derivation: tidy_numbers(&opt.derivation()),
            textbook,
            flow,
            discretization,
            note,
            update,
            schedule: None,
            classic,
        })
    }

    /// The explanation of the spec without its schedule, with the
    /// scheduled derivation and the schedule explained.
    fn explain_scheduled(&self, schedule: &ScheduleSpec) -> Result<Explanation> {
        let scheduled = self.scheduled(schedule)?;
        let mut e = OptimizerSpec {
            schedule: None,
            ..self.clone()
        }
        .explain()?;
        e.derivation = tidy_numbers(&scheduled.derivation());
        e.schedule = Some(schedule_explanation(
            schedule,
            scheduled.schedule(),
            &e.textbook,
            e.flow.as_ref(),
            e.discretization.as_ref(),
        ));
        Ok(e)
    }

    /// The spec as a [`GeneratedOptimizer`](super::GeneratedOptimizer) with
    /// step `h` (the spec's own h when `None`): the ODE form's (flow,
    /// scheme), or for a classic ODE-form spec the flow and scheme equal to
    /// its fused optimizer (SGD = explicit Euler on the gradient flow,
    /// momentum = a Lie splitting of the heavy ball, …). Used by
    /// [`order_study`](super::order_study) to measure any ODE-form spec.
    ///
    /// # Example
    /// ```
    /// use splitflow::optimizers::{OptimizerSpec, OrderObjective, order_study};
    /// let spec = OptimizerSpec::from_toml(
    ///     "[flow]\nkind = \"heavy_ball\"\nfriction = 2.0\n[discretization]\nscheme = \"exact_friction\"\nh = 0.1\n")?;
    /// let report = order_study(|h| spec.generated(Some(h)), &OrderObjective::quadratic(&[1.0, 10.0])?, 1.0, &[32, 64, 128, 256])?;
    /// assert!((report.fitted_order - 1.0).abs() < 0.15); // momentum is first order
    /// # Ok::<(), splitflow::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Spec`] for a textbook-form spec; the errors of building.
    pub fn generated(&self, h: Option<f64>) -> Result<super::GeneratedOptimizer> {
        match (&self.flow, &self.discretization) {
            (Some(f), Some(d)) => super::generated::from_spec::generated(f, d, h.unwrap_or(d.h)),
            _ => Err(spec_error(
                "only an ODE-form spec ([flow] + [discretization]) is an integrator of a flow"
                    .into(),
            )),
        }
    }

    /// The textbook spec of a built optimizer (full precision).
    fn textbook_form(&self, opt: &dyn Optimizer) -> Result<TextbookSpec> {
        let mut t = TextbookSpec {
            method: opt.name().to_string(),
            ..Default::default()
        };
        for (k, v) in opt.hyper_parameters() {
            let v = Some(v);
            match k {
                "lr" => t.lr = v,
                "momentum" => t.momentum = v,
                "vanishing_r" => t.vanishing_r = v,
                "rho" => t.rho = v,
                "eps" => t.eps = v,
                "beta1" => t.beta1 = v,
                "beta2" => t.beta2 = v,
                "weight_decay" => t.weight_decay = v,
                "h" => t.h = v,
                "k" => t.k = v,
                "q" => t.q = v,
                "tau" => t.tau = v,
                "beta" => t.beta = v,
                _ => {}
            }
        }
        // Carry over the non-numeric choices.
        if let Some(src) = &self.textbook {
            t.eps_placement.clone_from(&src.eps_placement);
            t.bias_correction = src.bias_correction;
            t.decay_scheme.clone_from(&src.decay_scheme);
            t.c_factor.clone_from(&src.c_factor);
            t.snapshot_every = src.snapshot_every;
        } else if let (Some(f), Some(d)) = (&self.flow, &self.discretization) {
            t.eps_placement.clone_from(&f.eps_placement);
            t.decay_scheme.clone_from(&d.decay_scheme);
        }
        Ok(t)
    }
}

/// A builder of the fused optimizer of one flow kind from its ODE form.
type OdeBuilder = fn(&FlowSpec, &DiscretizationSpec) -> Result<Box<dyn Optimizer>>;

/// The flow kinds with a fused (classic) optimizer, and its builder.
const ODE_BUILDERS: [(&str, OdeBuilder); 5] = [
    ("gradient", build_gradient),
    ("heavy_ball", build_heavy_ball),
    ("rmsprop", build_rmsprop),
    ("adam", build_adam),
    ("adagrad", build_adagrad),
];

fn build_ode(f: &FlowSpec, d: &DiscretizationSpec) -> Result<Box<dyn Optimizer>> {
    if super::generated::from_spec::is_generated(f, d) {
        return Ok(Box::new(super::generated::from_spec::build(f, d)?));
    }
    match ODE_BUILDERS.iter().find(|(kind, _)| *kind == f.kind) {
        Some((_, build)) => build(f, d),
        None => Err(unbuilt_flow_kind(&f.kind)),
    }
}

/// The error for a flow kind that has no builder: unknown (the registry's
/// error), or registered but not built.
pub(crate) fn unbuilt_flow_kind(kind: &str) -> Error {
    super::generated::flow_entry(kind).err().unwrap_or_else(|| {
        Error::invalid(
            "kind",
            format!("{kind:?}"),
            "registered in FLOW_KINDS but not built here",
        )
    })
}

/// The error of a heavy ball with neither or both frictions.
pub(crate) fn friction_missing() -> Error {
    Error::invalid(
        "friction",
        "missing",
        "heavy_ball needs exactly one of `friction` (γ) or `vanishing_r` (r/t)",
    )
}

/// The discretization of a fused flow uses only `allowed` keys.
fn no_extra(f: &FlowSpec, d: &DiscretizationSpec, allowed: &[&str]) -> Result<()> {
    only_keys(d, allowed, &format!("the {} flow's discretization", f.kind))
}

/// The moment flows (rmsprop, adam, adagrad) have one fused scheme.
fn explicit_only(d: &DiscretizationSpec, kind: &str) -> Result<()> {
    let scheme = d.scheme.as_str();
    if scheme == "explicit_euler" {
        Ok(())
    } else {
        Err(Error::invalid(
            "scheme",
            format!("{scheme:?}"),
            &format!("the {kind} flow is discretized by explicit_euler (moments first)"),
        ))
    }
}

/// Gradient descent: explicit or implicit Euler or RK4 on θ' = −∇f(θ).
fn build_gradient(f: &FlowSpec, d: &DiscretizationSpec) -> Result<Box<dyn Optimizer>> {
    only_keys(f, &["kind"], "the gradient flow")?;
    no_extra(f, d, &["scheme", "h"])?;
    let scheme = d.scheme.as_str();
    let s = match scheme {
        "explicit_euler" => GradientScheme::ExplicitEuler,
        "implicit_euler" => GradientScheme::ImplicitEuler(ImplicitOptions::default()),
        "rk4" => GradientScheme::Rk4,
        _ => {
            return Err(Error::invalid(
                "scheme",
                format!("{scheme:?}"),
                "gradient flow schemes: explicit_euler, implicit_euler, rk4",
            ));
        }
    };
    Ok(Box::new(GradientDescent::from_ode(s, d.h)?))
}

/// Momentum or NAG: the heavy ball with constant friction γ (gradient at
/// the current point or looked ahead), or Nesterov's vanishing friction r/t.
fn build_heavy_ball(f: &FlowSpec, d: &DiscretizationSpec) -> Result<Box<dyn Optimizer>> {
    only_keys(
        f,
        &["kind", "friction", "vanishing_r"],
        "the heavy_ball flow",
    )?;
    no_extra(f, d, &["scheme", "h", "gradient_at"])?;
    let (scheme, h) = (d.scheme.as_str(), d.h);
    let lookahead = match d.gradient_at.as_deref() {
        None | Some("current") => false,
        Some("lookahead") => true,
        Some(s) => {
            return Err(Error::invalid(
                "gradient_at",
                format!("{s:?}"),
                "expected \"current\" or \"lookahead\"",
            ));
        }
    };
    match (f.friction, f.vanishing_r) {
        (Some(gamma), None) => {
            let s = HeavyBallScheme::from_name(scheme)?;
            if lookahead {
                Ok(Box::new(Nag::from_ode(
                    NagFriction::Constant { gamma, scheme: s },
                    h,
                )?))
            } else {
                Ok(Box::new(Momentum::from_ode(gamma, s, h)?))
            }
        }
        (None, Some(r)) => {
            if scheme != "nesterov" {
                return Err(Error::invalid(
                    "scheme",
                    format!("{scheme:?}"),
                    "vanishing friction r/t is discretized by \"nesterov\" (look-ahead symplectic Euler)",
                ));
            }
            Ok(Box::new(Nag::from_ode(NagFriction::Vanishing { r }, h)?))
        }
        _ => Err(friction_missing()),
    }
}

/// RMSProp: explicit Euler, moments first, on the rmsprop flow.
fn build_rmsprop(f: &FlowSpec, d: &DiscretizationSpec) -> Result<Box<dyn Optimizer>> {
    only_keys(
        f,
        &["kind", "b", "eps", "eps_placement"],
        "the rmsprop flow",
    )?;
    no_extra(f, d, &["scheme", "h"])?;
    explicit_only(d, "rmsprop")?;
    let b = required("b", f.b, "the rmsprop flow")?;
    Ok(Box::new(RmsProp::from_ode(
        b,
        f.eps.unwrap_or(1e-8),
        placement("eps_placement", &f.eps_placement)?,
        d.h,
    )?))
}

/// Adam, or AdamW with the decay flow θ' = −λθ.
fn build_adam(f: &FlowSpec, d: &DiscretizationSpec) -> Result<Box<dyn Optimizer>> {
    only_keys(
        f,
        &["kind", "a", "b", "eps", "eps_placement", "weight_decay"],
        "the adam flow",
    )?;
    no_extra(f, d, &["scheme", "h", "decay_scheme"])?;
    explicit_only(d, "adam")?;
    let a = required("a", f.a, "the adam flow")?;
    let b = required("b", f.b, "the adam flow")?;
    let p = AdamParameters::from_ode(
        a,
        b,
        f.eps.unwrap_or(1e-8),
        placement("eps_placement", &f.eps_placement)?,
        d.h,
    )?;
    match f.weight_decay {
        Some(l) => Ok(Box::new(AdamW::new(
            p,
            l,
            decay("decay_scheme", &d.decay_scheme)?,
        )?)),
        None if d.decay_scheme.is_some() => Err(Error::invalid(
            "decay_scheme",
            "given",
            "only used with flow.weight_decay",
        )),
        None => Ok(Box::new(Adam::textbook(p)?)),
    }
}

/// AdaGrad: explicit Euler, accumulator first, on the adagrad flow.
fn build_adagrad(f: &FlowSpec, d: &DiscretizationSpec) -> Result<Box<dyn Optimizer>> {
    only_keys(f, &["kind", "eps", "eps_placement"], "the adagrad flow")?;
    no_extra(f, d, &["scheme", "h"])?;
    explicit_only(d, "adagrad")?;
    let h = d.h;
    // Default ε̃: that of PyTorch's textbook ε = 1e-10 at lr = √h
    // (ε̃ = 0 would divide 0 by 0 where a gradient coordinate vanishes).
    let place = placement("eps_placement", &f.eps_placement)?;
    let eps = f
        .eps
        .unwrap_or_else(|| AdaGrad::eps_tilde(AdaGrad::DEFAULT_EPS, place, h.sqrt()));
    Ok(Box::new(AdaGrad::from_ode(eps, place, h)?))
}

/// When `text` is an order-lab spec (a `[problem]`, `[study]` or
/// `[[method]]` table) rather than an optimizer spec: the error saying so,
/// at the line of that table.
fn order_spec_hint(text: &str) -> Option<Error> {
    let (index, line) = text.lines().enumerate().find(|(_, l)| {
        let l = l.trim();
        l == "[problem]" || l == "[study]" || l == "[[method]]"
    })?;
    Some(Error::Spec {
        message: format!(
            "`{}` makes this an order-lab spec, not an optimizer spec: run it with `splitflow order` \
             (or `work-precision`); optimizer specs have [flow] + [discretization] or [textbook]",
            line.trim()
        ),
        line: Some(index + 1),
    })
}

/// The classic method a generated (flow, scheme) is when splitflow has no
/// `[textbook]` form for it: explicit Euler on the (regularized) Newton flow
/// θ' = −(∇²f + λI)⁻¹∇f is Newton's method θ ← θ − h(∇²f(θ) + λI)⁻¹∇f(θ)
/// (h = 1: the full Newton step; h < 1: damped Newton; λ > 0: the
/// Levenberg–Marquardt regularization).
fn classic_method(f: &FlowSpec, d: &DiscretizationSpec) -> Option<String> {
    if f.kind != "newton"
        || d.scheme != "explicit_euler"
        || f.weight_decay.is_some_and(|w| w != 0.0)
    {
        return None;
    }
    let lambda = f.regularization.unwrap_or(0.0);
    let name = match (d.h == 1.0, lambda == 0.0) {
        (true, true) => "Newton's method",
        (true, false) => "regularized (Levenberg–Marquardt) Newton's method",
        (false, true) => "damped Newton's method",
        (false, false) => "damped regularized (Levenberg–Marquardt) Newton's method",
    };
    Some(format!(
        "{name}: θ ← θ − {}·(∇²f(θ) + {}·I)⁻¹∇f(θ) (step h = {}, regularization λ = {})",
        short(d.h),
        short(lambda),
        short(d.h),
        short(lambda)
    ))
}

fn build_textbook(t: &TextbookSpec) -> Result<Box<dyn Optimizer>> {
    super::registry::method_entry(&t.method)?.build(t)
}

/// The ODE form of a (complete) textbook spec, or `None` for textbook-only methods.
fn ode_form(t: &TextbookSpec) -> Result<Option<(FlowSpec, DiscretizationSpec)>> {
    let lr = t.lr.unwrap_or(f64::NAN);
    let flow = |kind: &str| FlowSpec {
        kind: kind.into(),
        ..Default::default()
    };
    let disc = |scheme: &str, h: f64| DiscretizationSpec {
        scheme: scheme.into(),
        h,
        ..Default::default()
    };
    Ok(Some(match t.method.as_str() {
        "sgd" => (flow("gradient"), disc("explicit_euler", lr)),
        "implicit_sgd" => (flow("gradient"), disc("implicit_euler", lr)),
        "momentum" | "nag" => heavy_ball_form(t, lr)?,
        "rmsprop" => {
            let rho = t.rho.unwrap_or(f64::NAN);
            let f = FlowSpec {
                b: Some((1.0 - rho) / lr),
                eps: t.eps,
                eps_placement: t.eps_placement.clone(),
                ..flow("rmsprop")
            };
            (f, disc("explicit_euler", lr))
        }
        "adam" | "adamw" => {
            let (b1, b2) = (t.beta1.unwrap_or(f64::NAN), t.beta2.unwrap_or(f64::NAN));
            let f = FlowSpec {
                a: Some((1.0 - b1) / lr),
                b: Some((1.0 - b2) / lr),
                eps: t.eps,
                eps_placement: t.eps_placement.clone(),
                weight_decay: t.weight_decay,
                ..flow("adam")
            };
            let mut d = disc("explicit_euler", lr);
            d.decay_scheme.clone_from(&t.decay_scheme);
            (f, d)
        }
        "adagrad" => {
            let placement = placement("eps_placement", &t.eps_placement)?;
            let eps = t.eps.unwrap_or(AdaGrad::DEFAULT_EPS);
            let f = FlowSpec {
                eps: Some(AdaGrad::eps_tilde(eps, placement, lr)),
                eps_placement: t.eps_placement.clone(),
                ..flow("adagrad")
            };
            (f, disc("explicit_euler", lr * lr))
        }
        _ => return Ok(None),
    }))
}

/// The ODE form of momentum or NAG with learning rate `lr`: the heavy
/// ball with vanishing friction (Nesterov's r/t), or with the friction and
/// scheme whose step reproduces (lr, momentum); NAG looks ahead.
fn heavy_ball_form(t: &TextbookSpec, lr: f64) -> Result<(FlowSpec, DiscretizationSpec)> {
    let flow = FlowSpec {
        kind: "heavy_ball".into(),
        ..Default::default()
    };
    if let Some(r) = t.vanishing_r {
        let f = FlowSpec {
            vanishing_r: Some(r),
            ..flow
        };
        let d = DiscretizationSpec {
            scheme: "nesterov".into(),
            h: lr.sqrt(),
            ..Default::default()
        };
        return Ok((f, d));
    }
    let mu = t.momentum.unwrap_or(0.0);
    let (scheme, gamma, h) = HeavyBallScheme::for_textbook(lr, mu)?;
    let f = FlowSpec {
        friction: Some(gamma),
        ..flow
    };
    let mut d = DiscretizationSpec {
        scheme: scheme.as_str().into(),
        h,
        ..Default::default()
    };
    if t.method == "nag" {
        d.gradient_at = Some("lookahead".into());
    }
    Ok((f, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_of_finds_keys_in_their_section() {
        let text = "[flow]\nkind = \"heavy_ball\"\nfriction = 2.0\n[discretization]\nscheme = \"x\"\nh = 0.1\n";
        assert_eq!(line_of(text, "discretization", "h"), Some(6));
        assert_eq!(line_of(text, "flow", "friction"), Some(3));
        assert_eq!(line_of(text, "flow", "h"), None);
    }

    #[test]
    fn tidy_numbers_rounds_long_decimals_only() {
        assert_eq!(
            tidy_numbers(
                "γ = 2, h = 0.1 (momentum = 0.8187307530779818, lr = 0.010000000000000002)"
            ),
            "γ = 2, h = 0.1 (momentum = 0.8187307531, lr = 0.01)"
        );
        assert_eq!(
            tidy_numbers("a = 9.999999999999998, x2 = 3"),
            "a = 10, x2 = 3"
        );
        assert_eq!(tidy_numbers("eps = 1e-8."), "eps = 1e-8.");
    }

    #[test]
    fn short_formats_four_significant_digits() {
        assert_eq!(short((-0.2f64).exp()), "0.8187");
        assert_eq!(short(0.01), "0.01");
        assert_eq!(short(1e-8), "1e-8");
        assert_eq!(short(2.5e-4), "2.5e-4");
    }
}
