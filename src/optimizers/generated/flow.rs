//! Flows a generated optimizer discretizes: the [`OracleFlow`] trait and the
//! built-in flows of the library ([`GeneratedFlow`]).

use nalgebra::DMatrix;

use super::source::GradientSource;
use crate::error::{Error, Result, check_nonnegative, check_positive};
use crate::flows::Friction;
use crate::optimizers::EpsPlacement;
use crate::{Linearity, State};

/// An ODE on the extended state `y = [θ; aux]` (θ ∈ ℝᵖ first, then
/// `aux_blocks()` blocks of length p: velocities, moments, …) whose field
/// reads ∇f(θ) from a [`GradientSource`], split into named pieces whose
/// fields add up to the whole field.
///
/// This is what a [`GeneratedOptimizer`](super::GeneratedOptimizer)
/// discretizes: the built-in flows are [`GeneratedFlow`]; a user's own flow
/// implements this trait (see the example of
/// [`GeneratedOptimizer`](super::GeneratedOptimizer)).
pub trait OracleFlow: Send {
    /// A one-line description with the parameters (`"heavy ball ẍ + 2ẋ + ∇f = 0"`).
    fn label(&self) -> String;
    /// Number of p-blocks after θ (heavy ball 1, Adam 2).
    fn aux_blocks(&self) -> usize;
    /// The names of the pieces, in the flow's own order (a single piece
    /// means the flow cannot be split).
    fn pieces(&self) -> Vec<String>;
    /// The field of piece `piece` as text (`"v' = −2v"`); defaults to its name.
    fn piece_field(&self, piece: usize) -> String {
        self.pieces().get(piece).cloned().unwrap_or_default()
    }
    /// Writes the field of piece `piece` (or of the whole flow for `None`)
    /// at `(t, y)` into `dy`.
    fn rhs(&self, piece: Option<usize>, t: f64, y: &State, grad: &GradientSource, dy: &mut State);
    /// Whether piece `piece` has an exact sub-flow ([`exact`](Self::exact)).
    fn has_exact(&self, _piece: usize) -> bool {
        false
    }
    /// Advances `y` by the exact flow of piece `piece` from `t` over `h`
    /// (only called when [`has_exact`](Self::has_exact) is true).
    fn exact(&self, _piece: usize, _t: f64, _h: f64, _y: &mut State, _grad: &GradientSource) {}
    /// The analytic Jacobian of a piece (or the whole flow), when known.
    fn jacobian(
        &self,
        _piece: Option<usize>,
        _t: f64,
        _y: &State,
        _jac: &mut DMatrix<f64>,
    ) -> bool {
        false
    }
    /// How the field of a piece depends on y.
    fn linearity(&self, _piece: Option<usize>) -> Linearity {
        Linearity::Nonlinear
    }
    /// Whether a piece is a gradient flow (backward sub-steps ill-posed).
    fn is_dissipative(&self, _piece: Option<usize>) -> bool {
        false
    }
    /// Rates rᵢ whose discrete products ∏_{j ≤ n}(1 − rᵢh_j) the scheme
    /// keeps for the flow (read with
    /// [`GradientSource::discrete_product`]): Adam's discrete bias factors.
    /// Default: none.
    fn discrete_rates(&self) -> Vec<f64> {
        Vec::new()
    }
    /// The built-in flow this is, if it is one (default `None`). A
    /// [`GeneratedOptimizer`](super::GeneratedOptimizer) then takes its fast
    /// path for explicit-Euler and exact sub-steps: each sub-step is one pass
    /// over the blocks of `[θ; aux]` that its piece changes, with the same
    /// arithmetic as the generic path (bitwise).
    fn builtin(&self) -> Option<&GeneratedFlow> {
        None
    }
}

/// A built-in flow kind as specs name it: its `[flow]` keys and its pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowEntry {
    /// The `kind` value.
    pub name: &'static str,
    /// The `[flow]` keys it accepts (`kind` included).
    pub keys: &'static [&'static str],
    /// Its pieces, in the flow's order (without the optional `"decay"`).
    pub pieces: &'static [&'static str],
}

/// The registry of built-in flows: the one list the spec parser, its error
/// messages, [`GeneratedFlow::pieces`](OracleFlow::pieces) and the docs read.
///
/// # Example
/// ```
/// use splitflow::optimizers::FLOW_KINDS;
/// let hb = FLOW_KINDS.iter().find(|f| f.name == "heavy_ball").unwrap();
/// assert_eq!(hb.pieces, ["friction", "kick", "drift"]);
/// ```
pub const FLOW_KINDS: [FlowEntry; 6] = [
    FlowEntry {
        name: "gradient",
        keys: &["kind", "weight_decay"],
        pieces: &["gradient"],
    },
    FlowEntry {
        name: "heavy_ball",
        keys: &[
            "kind",
            "friction",
            "vanishing_r",
            "hessian_damping",
            "weight_decay",
        ],
        pieces: &["friction", "kick", "drift"],
    },
    FlowEntry {
        name: "rmsprop",
        keys: &["kind", "b", "eps", "eps_placement", "weight_decay"],
        pieces: &["moments", "position"],
    },
    FlowEntry {
        name: "adam",
        keys: &[
            "kind",
            "a",
            "b",
            "eps",
            "eps_placement",
            "bias",
            "weight_decay",
        ],
        pieces: &["moments", "position"],
    },
    FlowEntry {
        name: "adagrad",
        keys: &["kind", "eps", "eps_placement", "weight_decay"],
        pieces: &["moments", "position"],
    },
    FlowEntry {
        name: "newton",
        keys: &["kind", "regularization", "weight_decay"],
        pieces: &["newton"],
    },
];

/// The registry entry of a flow kind.
///
/// # Errors
/// [`Error::InvalidParameter`] naming `kind` and listing [`FLOW_KINDS`].
pub fn flow_entry(kind: &str) -> Result<&'static FlowEntry> {
    FLOW_KINDS.iter().find(|f| f.name == kind).ok_or_else(|| {
        let names: Vec<&str> = FLOW_KINDS.iter().map(|f| f.name).collect();
        Error::invalid(
            "kind",
            format!("{kind:?}"),
            &format!("flow kinds: {}", names.join(", ")),
        )
    })
}

/// Adam's bias factors `c₁, c₂` in `x' = −(m/c₁)/(√(v/c₂) + ε)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdamBias {
    /// `c₁ = c₂ = 1`.
    None,
    /// `cᵢ(t) = 1 − e^{−aᵢt}` (with the limit m/c₁ → ∇f, v/c₂ → ∇f² at t = 0).
    Continuous,
    /// `cᵢ = 1 − (1 − aᵢh)ⁿ` at the scheme's step n of size h: Kingma–Ba's
    /// `1 − βᵢⁿ` (under a schedule, `1 − ∏_{j ≤ n}(1 − aᵢh_j)`, the total
    /// weight of the moment's exponential average). No ODE gives it — it is
    /// a discrete ingredient the scheme supplies through
    /// [`GradientSource::discrete_product`]; the exact flow (`step() =
    /// None`) falls back to [`AdamBias::Continuous`], which it approximates
    /// to O(h). The default.
    #[default]
    Discrete,
}

impl AdamBias {
    /// Spec name: `none`, `continuous`, `discrete`.
    pub fn as_str(self) -> &'static str {
        match self {
            AdamBias::None => "none",
            AdamBias::Continuous => "continuous",
            AdamBias::Discrete => "discrete",
        }
    }
}

/// The built-in flows (all with an optional extra L2-decay piece `θ' = −λθ`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FlowKind {
    /// θ' = −∇f(θ); one piece `"gradient"`.
    Gradient,
    /// The heavy ball on `[x; v]`, with optional Hessian damping β ≥ 0:
    /// `x' = v − β∇f(x)`, `v' = −γ(t)v − ∇f(x)`, i.e.
    /// `ẍ + γẋ + β∇²f(x)ẋ + (1 + βγ)∇f(x) = 0` for constant γ. Pieces
    /// `"friction"` (v' = −γv, exact sub-flow), `"kick"` (v' = −∇f(x),
    /// x' = −β∇f(x)), `"drift"` (x' = v).
    HeavyBall {
        /// γ constant or r/t.
        friction: Friction,
        /// β (0: the plain heavy ball).
        hessian_damping: f64,
    },
    /// RMSProp's ODE on `[x; v]`: pieces `"moments"` (v' = b(∇f² − v)) and
    /// `"position"` (x' = −∇f/(√v ⊕ ε)).
    RmsProp {
        /// b
        b: f64,
        /// ε
        eps: f64,
        /// ε inside or outside the root.
        placement: EpsPlacement,
    },
    /// Adam's ODE on `[x; m; v]`: pieces `"moments"` (m' = a(∇f − m),
    /// v' = b(∇f² − v)) and `"position"` (x' = −(m/c₁)/(√(v/c₂) ⊕ ε)).
    Adam {
        /// a
        a: f64,
        /// b
        b: f64,
        /// ε
        eps: f64,
        /// ε inside or outside the root.
        placement: EpsPlacement,
        /// Bias factors.
        bias: AdamBias,
    },
    /// AdaGrad's ODE on `[x; V]`: pieces `"moments"` (V' = ∇f²) and
    /// `"position"` (x' = −∇f/(√V ⊕ ε̃)).
    AdaGrad {
        /// ε̃
        eps: f64,
        /// ε inside or outside the root.
        placement: EpsPlacement,
    },
    /// The (regularized) Newton flow θ' = −(∇²f(θ) + λI)⁻¹∇f(θ); one piece
    /// `"newton"`. Explicit Euler with h = 1 is Newton's method (damped
    /// Newton for h < 1, Levenberg–Marquardt-style for λ > 0). The oracle
    /// must provide a Hessian ([`GradientOracle::hessian`](crate::optimizers::GradientOracle::hessian)).
    Newton {
        /// λ ≥ 0 added to the Hessian's diagonal.
        regularization: f64,
    },
}

/// A built-in flow: a [`FlowKind`] plus an optional decoupled L2-decay piece
/// `"decay"`, θ' = −λθ (exact sub-flow θ ← e^{−λh}θ).
///
/// # Example
/// ```
/// use splitflow::flows::Friction;
/// use splitflow::optimizers::{FlowKind, GeneratedFlow, OracleFlow};
/// let hb = GeneratedFlow::new(FlowKind::HeavyBall { friction: Friction::Constant(2.0), hessian_damping: 0.0 })?;
/// assert_eq!(hb.pieces(), ["friction", "kick", "drift"]);
/// assert_eq!(hb.with_decay(0.1)?.pieces(), ["friction", "kick", "drift", "decay"]);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeneratedFlow {
    kind: FlowKind,
    decay: Option<f64>,
}

impl GeneratedFlow {
    /// The flow `kind`, checked.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming a non-finite or out-of-range
    /// parameter (γ < 0, r ≤ 0, β < 0, a, b ≤ 0, ε < 0).
    pub fn new(kind: FlowKind) -> Result<Self> {
        match kind {
            FlowKind::Gradient => {}
            FlowKind::HeavyBall {
                friction,
                hessian_damping,
            } => {
                match friction {
                    Friction::Constant(g) => check_nonnegative("friction", g)?,
                    Friction::Vanishing { r } => check_positive("vanishing_r", r)?,
                }
                check_nonnegative("hessian_damping", hessian_damping)?;
            }
            FlowKind::RmsProp { b, eps, .. } => {
                check_positive("b", b)?;
                check_nonnegative("eps", eps)?;
            }
            FlowKind::Adam { a, b, eps, .. } => {
                check_positive("a", a)?;
                check_positive("b", b)?;
                check_nonnegative("eps", eps)?;
            }
            FlowKind::AdaGrad { eps, .. } => check_nonnegative("eps", eps)?,
            FlowKind::Newton { regularization } => {
                check_nonnegative("regularization", regularization)?
            }
        }
        Ok(GeneratedFlow { kind, decay: None })
    }

    /// Adds the piece `"decay"`, θ' = −λθ.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a negative or non-finite λ.
    pub fn with_decay(mut self, lambda: f64) -> Result<Self> {
        check_nonnegative("weight_decay", lambda)?;
        self.decay = Some(lambda);
        Ok(self)
    }

    /// The kind.
    pub fn kind(&self) -> FlowKind {
        self.kind
    }

    /// The decay rate λ, if the flow has a decay piece.
    pub fn decay(&self) -> Option<f64> {
        self.decay
    }

    /// The registry name of the kind.
    fn kind_name(&self) -> &'static str {
        match self.kind {
            FlowKind::Gradient => "gradient",
            FlowKind::HeavyBall { .. } => "heavy_ball",
            FlowKind::RmsProp { .. } => "rmsprop",
            FlowKind::Adam { .. } => "adam",
            FlowKind::AdaGrad { .. } => "adagrad",
            FlowKind::Newton { .. } => "newton",
        }
    }

    fn own_pieces(&self) -> &'static [&'static str] {
        flow_entry(self.kind_name()).map_or(&[], |e| e.pieces)
    }

    /// Index of the decay piece, if any.
    pub(super) fn decay_index(&self) -> Option<usize> {
        self.decay.map(|_| self.own_pieces().len())
    }

    /// Adds piece `j`'s field to `dy` (zeroed by the caller). `whole` is
    /// true when the whole field is being evaluated.
    fn add_piece(
        &self,
        j: usize,
        t: f64,
        y: &State,
        src: &GradientSource,
        dy: &mut State,
        whole: bool,
    ) {
        let p = src.dim();
        let at = FieldAt { t, y, src, whole };
        if Some(j) == self.decay_index() {
            let lambda = self.decay.unwrap_or(0.0);
            for i in 0..p {
                dy[i] -= lambda * y[i];
            }
            return;
        }
        match self.kind {
            FlowKind::Gradient => subtract(dy, &src.gradient(y), p),
            FlowKind::Newton { regularization } => {
                subtract(dy, &src.newton_direction(y, regularization), p)
            }
            FlowKind::HeavyBall { .. } => self.add_heavy_ball_piece(j, &at, dy),
            FlowKind::RmsProp { b, eps, placement } => {
                let g = src.gradient(y);
                if j == 0 {
                    for i in 0..p {
                        dy[p + i] += b * (g[i] * g[i] - y[p + i]);
                    }
                } else {
                    add_preconditioned_descent(p, &g, y, placement, eps, dy);
                }
            }
            FlowKind::AdaGrad { eps, placement } => {
                let g = src.gradient(y);
                if j == 0 {
                    for i in 0..p {
                        dy[p + i] += g[i] * g[i];
                    }
                } else {
                    add_preconditioned_descent(p, &g, y, placement, eps, dy);
                }
            }
            FlowKind::Adam { .. } => self.add_adam_piece(j, &at, dy),
        }
    }

    /// The heavy ball's pieces: friction (piece 0), the kick `v' = −∇f(x)`
    /// with the Hessian damping `x' = −β∇f(x)` (piece 1), the drift `x' = v`.
    fn add_heavy_ball_piece(&self, j: usize, at: &FieldAt, dy: &mut State) {
        let FlowKind::HeavyBall {
            friction,
            hessian_damping,
        } = self.kind
        else {
            return;
        };
        let (y, src) = (at.y, at.src);
        let p = src.dim();
        match j {
            0 => add_friction(friction, at, dy),
            1 => {
                let g = src.gradient(y);
                for i in 0..p {
                    dy[p + i] -= g[i];
                }
                if hessian_damping != 0.0 {
                    for i in 0..p {
                        dy[i] -= hessian_damping * g[i];
                    }
                }
            }
            _ => {
                for i in 0..p {
                    dy[i] += y[p + i];
                }
            }
        }
    }

    /// Adam's pieces: the moments `m' = a(g − m)`, `v' = b(g² − v)` (piece
    /// 0), or the bias-corrected position `θ' = −(m/c₁)/den(v/c₂)`.
    fn add_adam_piece(&self, j: usize, at: &FieldAt, dy: &mut State) {
        let FlowKind::Adam {
            a,
            b,
            eps,
            placement,
            bias,
        } = self.kind
        else {
            return;
        };
        let FieldAt { t, y, src, .. } = *at;
        let p = src.dim();
        if j == 0 {
            let g = src.gradient(y);
            for i in 0..p {
                dy[p + i] += a * (g[i] - y[p + i]);
                dy[2 * p + i] += b * (g[i] * g[i] - y[2 * p + i]);
            }
            return;
        }
        let (c1, c2) = adam_bias_factors(bias, a, b, t, src);
        if c1 == 0.0 || c2 == 0.0 {
            // t = 0 from m = v = 0: the limits m/c₁ → ∇f, v/c₂ → ∇f².
            let g = src.gradient(y);
            for i in 0..p {
                dy[i] -= g[i] / placement.denominator(g[i] * g[i], eps);
            }
        } else {
            let (inv1, inv2) = (1.0 / c1, 1.0 / c2);
            for i in 0..p {
                let (m, v) = (y[p + i], y[2 * p + i]);
                dy[i] -= (m * inv1) / placement.denominator((v * inv2).max(0.0), eps);
            }
        }
    }
}

/// Where a piece's field is evaluated: time, state, the gradient oracle,
/// and whether the whole field (all pieces) is being evaluated.
#[derive(Clone, Copy)]
struct FieldAt<'a, 's> {
    t: f64,
    y: &'a State,
    src: &'a GradientSource<'s>,
    whole: bool,
}

/// `dy[..p] −= d[..p]`.
fn subtract(dy: &mut State, d: &State, p: usize) {
    for i in 0..p {
        dy[i] -= d[i];
    }
}

/// The friction piece of the heavy ball, `v' = −γv` or `v' = −(r/t)v`.
fn add_friction(friction: Friction, at: &FieldAt, dy: &mut State) {
    let FieldAt { t, y, src, whole } = *at;
    let p = src.dim();
    match friction {
        Friction::Constant(gamma) => {
            for i in 0..p {
                dy[p + i] -= gamma * y[p + i];
            }
        }
        Friction::Vanishing { r } if t == 0.0 => {
            // Start at rest: (r/t)v → r·v'(0) = −r∇f/(1 + r)
            // for the whole field (so v'(0) = −∇f/(1 + r), as
            // flows::HeavyBall); the piece alone sees v = 0.
            if whole {
                let g = src.gradient(y);
                for i in 0..p {
                    dy[p + i] += r * g[i] / (1.0 + r);
                }
            }
        }
        Friction::Vanishing { r } => {
            let c = r / t;
            for i in 0..p {
                dy[p + i] -= c * y[p + i];
            }
        }
    }
}

/// The position piece of RMSProp and AdaGrad, `θ' = −g/den(v)` with the
/// accumulator `v = y[p..2p]` (clamped at 0).
fn add_preconditioned_descent(
    p: usize,
    g: &State,
    y: &State,
    placement: EpsPlacement,
    eps: f64,
    dy: &mut State,
) {
    for i in 0..p {
        dy[i] -= g[i] / placement.denominator(y[p + i].max(0.0), eps);
    }
}

/// Zeroes `jac` and sets the diagonal of each `p × p` block `(row block,
/// column block)` to its value: the constant Jacobians of the linear pieces.
fn diagonal_blocks(jac: &mut DMatrix<f64>, p: usize, blocks: &[(usize, usize, f64)]) -> bool {
    jac.fill(0.0);
    for &(r, c, value) in blocks {
        for i in 0..p {
            jac[(r * p + i, c * p + i)] = value;
        }
    }
    true
}

impl OracleFlow for GeneratedFlow {
    fn label(&self) -> String {
        let base = match self.kind {
            FlowKind::Gradient => "gradient flow θ' = −∇f(θ)".to_string(),
            FlowKind::HeavyBall {
                friction,
                hessian_damping,
            } => {
                let fr = match friction {
                    Friction::Constant(g) => format!("{g}"),
                    Friction::Vanishing { r } => format!("({r}/t)"),
                };
                if hessian_damping == 0.0 {
                    format!("heavy ball x' = v, v' = −{fr}·v − ∇f(x)")
                } else {
                    format!(
                        "Hessian-damped heavy ball x' = v − {hessian_damping}·∇f(x), v' = −{fr}·v − ∇f(x)"
                    )
                }
            }
            FlowKind::RmsProp { b, eps, placement } => format!(
                "RMSProp ODE v' = {b}(∇f² − v), x' = −∇f/(√v + ε) (ε = {eps} {})",
                placement.as_str()
            ),
            FlowKind::Adam {
                a,
                b,
                eps,
                placement,
                bias,
            } => format!(
                "Adam ODE m' = {a}(∇f − m), v' = {b}(∇f² − v), x' = −(m/c₁)/(√(v/c₂) + ε) (ε = {eps} {}, bias {})",
                placement.as_str(),
                bias.as_str()
            ),
            FlowKind::AdaGrad { eps, placement } => format!(
                "AdaGrad ODE V' = ∇f², x' = −∇f/(√V + ε̃) (ε̃ = {eps} {})",
                placement.as_str()
            ),
            FlowKind::Newton { regularization } => newton_field(regularization),
        };
        match self.decay {
            Some(l) => format!("{base} + decay θ' = −{l}θ"),
            None => base,
        }
    }

    fn piece_field(&self, piece: usize) -> String {
        if Some(piece) == self.decay_index() {
            return format!("θ' = −{}θ", self.decay.unwrap_or(0.0));
        }
        match (self.kind, piece) {
            (FlowKind::Gradient, _) => "θ' = −∇f(θ)".into(),
            (FlowKind::Newton { regularization }, _) => newton_field(regularization),
            (FlowKind::HeavyBall { friction, .. }, 0) => match friction {
                Friction::Constant(g) => format!("v' = −{g}v"),
                Friction::Vanishing { r } => format!("v' = −({r}/t)v"),
            },
            (
                FlowKind::HeavyBall {
                    hessian_damping, ..
                },
                1,
            ) => {
                if hessian_damping == 0.0 {
                    "v' = −∇f(x)".into()
                } else {
                    format!("v' = −∇f(x), x' = −{hessian_damping}∇f(x)")
                }
            }
            (FlowKind::HeavyBall { .. }, _) => "x' = v".into(),
            (FlowKind::RmsProp { b, .. }, 0) => format!("v' = {b}(∇f(x)² − v)"),
            (FlowKind::RmsProp { eps, .. }, _) => format!("x' = −∇f(x)/(√v + {eps})"),
            (FlowKind::AdaGrad { .. }, 0) => "V' = ∇f(x)²".into(),
            (FlowKind::AdaGrad { eps, .. }, _) => format!("x' = −∇f(x)/(√V + {eps})"),
            (FlowKind::Adam { a, b, .. }, 0) => {
                format!("m' = {a}(∇f(x) − m), v' = {b}(∇f(x)² − v)")
            }
            (FlowKind::Adam { eps, bias, .. }, _) => format!(
                "x' = −(m/c₁)/(√(v/c₂) + {eps}) (c = {})",
                match bias {
                    AdamBias::None => "1",
                    AdamBias::Continuous => "1 − e^{−a t}",
                    AdamBias::Discrete => "1 − (1 − a h)ⁿ",
                }
            ),
        }
    }

    fn aux_blocks(&self) -> usize {
        match self.kind {
            FlowKind::Gradient | FlowKind::Newton { .. } => 0,
            FlowKind::Adam { .. } => 2,
            _ => 1,
        }
    }

    fn pieces(&self) -> Vec<String> {
        let mut v: Vec<String> = self.own_pieces().iter().map(|s| s.to_string()).collect();
        if self.decay.is_some() {
            v.push("decay".into());
        }
        v
    }

    fn rhs(&self, piece: Option<usize>, t: f64, y: &State, grad: &GradientSource, dy: &mut State) {
        dy.fill(0.0);
        match piece {
            Some(j) => self.add_piece(j, t, y, grad, dy, false),
            None => {
                let n = self.own_pieces().len() + usize::from(self.decay.is_some());
                for j in 0..n {
                    self.add_piece(j, t, y, grad, dy, true);
                }
            }
        }
    }

    fn has_exact(&self, piece: usize) -> bool {
        Some(piece) == self.decay_index()
            || (matches!(self.kind, FlowKind::HeavyBall { .. }) && piece == 0)
    }

    fn exact(&self, piece: usize, t: f64, h: f64, y: &mut State, grad: &GradientSource) {
        let p = grad.dim();
        if Some(piece) == self.decay_index() {
            let f = (-self.decay.unwrap_or(0.0) * h).exp();
            for x in &mut y.as_mut_slice()[..p] {
                *x *= f;
            }
            return;
        }
        if let FlowKind::HeavyBall { friction, .. } = self.kind {
            let f = match friction {
                Friction::Constant(gamma) => (-gamma * h).exp(),
                // v(t + h) = (t/(t + h))^r v(t); from t = 0 the velocity is 0.
                Friction::Vanishing { r } => (t / (t + h)).powf(r),
            };
            for v in &mut y.as_mut_slice()[p..2 * p] {
                *v *= f;
            }
        }
    }

    fn jacobian(&self, piece: Option<usize>, _t: f64, y: &State, jac: &mut DMatrix<f64>) -> bool {
        let p = y.len() / (1 + self.aux_blocks());
        let Some(j) = piece else { return false };
        if Some(j) == self.decay_index() {
            let lambda = self.decay.unwrap_or(0.0);
            return diagonal_blocks(jac, p, &[(0, 0, -lambda)]);
        }
        match self.kind {
            FlowKind::HeavyBall {
                friction: Friction::Constant(gamma),
                ..
            } if j == 0 => diagonal_blocks(jac, p, &[(1, 1, -gamma)]),
            FlowKind::HeavyBall { .. } if j == 2 => diagonal_blocks(jac, p, &[(0, 1, 1.0)]),
            // The moment pieces leave x fixed (x' = 0), so along them ∇f(x)
            // is a constant and the field is affine in the moments; the
            // x-columns of the Jacobian never enter a Newton correction
            // (δx = 0), so they are set to zero.
            FlowKind::Adam { a, b, .. } if j == 0 => {
                diagonal_blocks(jac, p, &[(1, 1, -a), (2, 2, -b)])
            }
            FlowKind::RmsProp { b, .. } if j == 0 => diagonal_blocks(jac, p, &[(1, 1, -b)]),
            FlowKind::AdaGrad { .. } if j == 0 => diagonal_blocks(jac, p, &[]),
            _ => false,
        }
    }

    fn linearity(&self, piece: Option<usize>) -> Linearity {
        let Some(j) = piece else {
            return Linearity::Nonlinear;
        };
        if Some(j) == self.decay_index() {
            return Linearity::AffineConstantJacobian;
        }
        match self.kind {
            FlowKind::HeavyBall {
                friction: Friction::Constant(_),
                ..
            } if j == 0 => Linearity::AffineConstantJacobian,
            FlowKind::HeavyBall { .. } if j == 2 => Linearity::AffineConstantJacobian,
            // x is fixed along the moment pieces (see `jacobian`).
            FlowKind::Adam { .. } | FlowKind::RmsProp { .. } | FlowKind::AdaGrad { .. }
                if j == 0 =>
            {
                Linearity::AffineConstantJacobian
            }
            _ => Linearity::Nonlinear,
        }
    }

    fn is_dissipative(&self, piece: Option<usize>) -> bool {
        matches!(self.kind, FlowKind::Gradient | FlowKind::Newton { .. })
            && piece != self.decay_index()
    }

    fn builtin(&self) -> Option<&GeneratedFlow> {
        Some(self)
    }

    fn discrete_rates(&self) -> Vec<f64> {
        match self.kind {
            FlowKind::Adam {
                a,
                b,
                bias: AdamBias::Discrete,
                ..
            } => vec![a, b],
            _ => Vec::new(),
        }
    }
}

/// Adam's bias factors (c₁, c₂) at time t (see [`AdamBias`]): the discrete
/// products of the scheme when it supplies them, else 1 − e^{−aᵢt}.
pub(super) fn adam_bias_factors(
    bias: AdamBias,
    a: f64,
    b: f64,
    t: f64,
    src: &GradientSource,
) -> (f64, f64) {
    let discrete = (src.discrete_product(0), src.discrete_product(1));
    match (bias, discrete) {
        (AdamBias::None, _) => (1.0, 1.0),
        (AdamBias::Discrete, (Some(p1), Some(p2))) => (1.0 - p1, 1.0 - p2),
        _ => (-(-a * t).exp_m1(), -(-b * t).exp_m1()),
    }
}

/// The Newton flow's field as text.
fn newton_field(lambda: f64) -> String {
    if lambda == 0.0 {
        "Newton flow θ' = −∇²f(θ)⁻¹∇f(θ)".into()
    } else {
        format!("regularized Newton flow θ' = −(∇²f(θ) + {lambda}·I)⁻¹∇f(θ)")
    }
}

/// Checks that a flow's piece name exists; returns its index.
pub(crate) fn piece_index(pieces: &[String], name: &str) -> Result<usize> {
    pieces.iter().position(|p| p == name).ok_or_else(|| {
        Error::invalid(
            "pieces",
            name,
            &format!("the flow's pieces are {}", pieces.join(", ")),
        )
    })
}
