//! The fast path of the built-in flows: one explicit-Euler or exact
//! sub-step of one piece, written directly on the state's blocks.
//!
//! A piece of a [`GeneratedFlow`] changes one or two p-blocks of
//! `y = [θ; aux]`, and its field at a component reads only the gradient at
//! θ and the components of the same index. Its explicit-Euler sub-step
//! `y ← y + h·F_piece(t, y)` is therefore a single pass over the blocks it
//! writes — no zeroed field vector, no pass over untouched blocks, no copy
//! of the state — and each entry is computed with the same operations, in
//! the same order, as the field of [`OracleFlow::rhs`](super::OracleFlow::rhs)
//! followed by the explicit-Euler stepper (`dy = 0 ± term`, then `y + h·dy`),
//! so the fast and generic paths agree bitwise (tests/generated.rs checks
//! it for every piece of every built-in flow). The exact sub-flows
//! (friction, decay) are the same products as
//! [`OracleFlow::exact`](super::OracleFlow::exact).

use super::blocks::BlockState;
use super::flow::{FlowKind, GeneratedFlow, adam_bias_factors};
use super::source::GradientSource;
use crate::flows::Friction;

/// How a piece is advanced on the fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FastSub {
    /// One explicit-Euler step.
    Euler,
    /// The exact sub-flow.
    Exact,
    /// One implicit-Euler step of a piece whose field is affine along its
    /// own flow with a diagonal Jacobian (see
    /// [`GeneratedFlow::has_fast_implicit`]): `y + h·f(y)/(1 + h·k)`, the
    /// stepper's single linear solve entry by entry.
    ImplicitEuler,
}

/// The blocks: θ, and the first and second auxiliary blocks.
const X: usize = 0;
const A1: usize = 1;
const A2: usize = 2;

/// `out[i] = f(y[i])` (one pass, no bounds checks).
#[inline(always)]
fn map0(out: &mut [f64], y: &[f64], f: impl Fn(f64) -> f64) {
    for (o, &yi) in out.iter_mut().zip(y) {
        *o = f(yi);
    }
}

/// `out[i] = f(y[i], a[i])`.
#[inline(always)]
fn map1(out: &mut [f64], y: &[f64], a: &[f64], f: impl Fn(f64, f64) -> f64) {
    for ((o, &yi), &ai) in out.iter_mut().zip(y).zip(a) {
        *o = f(yi, ai);
    }
}

/// `out[i] = f(y[i], a[i], b[i])`.
#[inline(always)]
fn map2(out: &mut [f64], y: &[f64], a: &[f64], b: &[f64], f: impl Fn(f64, f64, f64) -> f64) {
    for (((o, &yi), &ai), &bi) in out.iter_mut().zip(y).zip(a).zip(b) {
        *o = f(yi, ai, bi);
    }
}

/// ∇f at the current θ block (memo keyed by θ's version in this step).
fn gradient<'s>(src: &'s GradientSource, st: &BlockState) -> std::cell::Ref<'s, crate::State> {
    src.gradient_at_version(st.get(X), st.version(X))
}

impl GeneratedFlow {
    /// Whether implicit Euler on piece `piece` has a fast path: the piece's
    /// field is affine along its own flow with a diagonal constant Jacobian
    /// −k (the moments of Adam, RMSProp and AdaGrad — θ, hence ∇f, is fixed
    /// along them — constant friction, decay), or constant along it (the
    /// drift, whose implicit step is the explicit one). The implicit-Euler
    /// stepper takes exactly one linear solve on such a piece,
    /// `(1 + h·k)·δ = h·f(y)`; the fast path computes the same quotient per
    /// entry instead of factorising a dense (1 + aux)p-square matrix.
    pub(crate) fn has_fast_implicit(&self, piece: usize) -> bool {
        if Some(piece) == self.decay_index() {
            return true;
        }
        match self.kind() {
            FlowKind::HeavyBall { friction, .. } => {
                piece == 2 || (piece == 0 && matches!(friction, Friction::Constant(_)))
            }
            FlowKind::Adam { .. } | FlowKind::RmsProp { .. } | FlowKind::AdaGrad { .. } => {
                piece == 0
            }
            _ => false,
        }
    }

    /// One implicit-Euler sub-step of a piece with
    /// [`has_fast_implicit`](Self::has_fast_implicit).
    fn implicit_sub_step(&self, piece: usize, h: f64, st: &mut BlockState, src: &GradientSource) {
        // y + (h·f)/(1 + h·k): the stepper's δ = h·f(y) divided by the pivot
        // of the diagonal Newton matrix I − hJ.
        let step = move |y: f64, f: f64, k: f64| y + (h * f) / (1.0 + h * k);
        if Some(piece) == self.decay_index() {
            let lambda = self.decay().unwrap_or(0.0);
            let (out, y) = st.write(X);
            map0(out, y[X], |x| step(x, 0.0 - lambda * x, lambda));
            return;
        }
        match self.kind() {
            FlowKind::HeavyBall { friction, .. } if piece == 0 => {
                let gamma = match friction {
                    Friction::Constant(gamma) => gamma,
                    Friction::Vanishing { .. } => return,
                };
                let (out, y) = st.write(A1);
                map0(out, y[A1], |v| step(v, 0.0 - gamma * v, gamma));
            }
            FlowKind::HeavyBall { .. } => {
                let (out, y) = st.write(X);
                map1(out, y[X], y[A1], |x, v| step(x, 0.0 + v, 0.0));
            }
            FlowKind::RmsProp { b, .. } => {
                let g = gradient(src, st);
                let (out, y) = st.write(A1);
                map1(out, y[A1], g.as_slice(), |v, g| {
                    step(v, 0.0 + b * (g * g - v), b)
                });
            }
            FlowKind::AdaGrad { .. } => {
                let g = gradient(src, st);
                let (out, y) = st.write(A1);
                map1(out, y[A1], g.as_slice(), |v, g| step(v, 0.0 + g * g, 0.0));
            }
            FlowKind::Adam { a, b, .. } => {
                let g = gradient(src, st);
                let (m_out, v_out, y) = st.write2(A1, A2);
                map1(m_out, y[A1], g.as_slice(), |m, g| {
                    step(m, 0.0 + a * (g - m), a)
                });
                map1(v_out, y[A2], g.as_slice(), |v, g| {
                    step(v, 0.0 + b * (g * g - v), b)
                });
            }
            _ => {}
        }
    }

    /// Advances the blocks by one sub-step `how` of piece `piece` from `t`
    /// over `h` (the whole flow when it has one piece), gradients from `src`.
    /// Each entry is `y + h·(0 ∓ term)`, the generic path's arithmetic.
    pub(crate) fn fast_sub_step(
        &self,
        piece: usize,
        how: FastSub,
        t: f64,
        h: f64,
        st: &mut BlockState,
        src: &GradientSource,
    ) {
        if how == FastSub::ImplicitEuler {
            return self.implicit_sub_step(piece, h, st, src);
        }
        if Some(piece) == self.decay_index() {
            let lambda = self.decay().unwrap_or(0.0);
            let (out, y) = st.write(X);
            match how {
                FastSub::Exact => {
                    let f = (-lambda * h).exp();
                    map0(out, y[X], |x| x * f)
                }
                _ => map0(out, y[X], |x| x + h * (0.0 - lambda * x)),
            }
            return;
        }
        match self.kind() {
            FlowKind::Gradient => {
                let g = gradient(src, st);
                let (out, y) = st.write(X);
                map1(out, y[X], g.as_slice(), |x, g| x + h * (0.0 - g));
            }
            FlowKind::Newton { regularization } => {
                let d = src.newton_direction(st.get(X), regularization);
                let (out, y) = st.write(X);
                map1(out, y[X], d.as_slice(), |x, d| x + h * (0.0 - d));
            }
            FlowKind::HeavyBall {
                friction,
                hessian_damping,
            } => match piece {
                0 => heavy_ball_friction(friction, how, t, h, st),
                1 => heavy_ball_kick(hessian_damping, h, st, src),
                _ => {
                    let (out, y) = st.write(X);
                    map1(out, y[X], y[A1], |x, v| x + h * (0.0 + v));
                }
            },
            FlowKind::RmsProp { b, eps, placement } => {
                let g = gradient(src, st);
                if piece == 0 {
                    let (out, y) = st.write(A1);
                    map1(out, y[A1], g.as_slice(), |v, g| {
                        v + h * (0.0 + b * (g * g - v))
                    });
                } else {
                    scaled_descent(h, g.as_slice(), st, eps, placement);
                }
            }
            FlowKind::AdaGrad { eps, placement } => {
                let g = gradient(src, st);
                if piece == 0 {
                    let (out, y) = st.write(A1);
                    map1(out, y[A1], g.as_slice(), |v, g| v + h * (0.0 + g * g));
                } else {
                    scaled_descent(h, g.as_slice(), st, eps, placement);
                }
            }
            FlowKind::Adam {
                a,
                b,
                eps,
                placement,
                bias,
            } => {
                if piece == 0 {
                    adam_moments(a, b, h, st, src);
                } else {
                    adam_position(a, b, eps, placement, bias, t, h, st, src);
                }
            }
        }
    }
}

/// The heavy ball's kick v' = −∇f(x) (and x' = −β∇f(x) with Hessian damping β).
fn heavy_ball_kick(hessian_damping: f64, h: f64, st: &mut BlockState, src: &GradientSource) {
    let g = gradient(src, st);
    if hessian_damping == 0.0 {
        let (out, y) = st.write(A1);
        map1(out, y[A1], g.as_slice(), |v, g| v + h * (0.0 - g));
    } else {
        let (v_out, x_out, y) = st.write2(A1, X);
        map1(v_out, y[A1], g.as_slice(), |v, g| v + h * (0.0 - g));
        map1(x_out, y[X], g.as_slice(), |x, g| {
            x + h * (0.0 - hessian_damping * g)
        });
    }
}

/// RMSProp's and AdaGrad's position x' = −∇f/(√v ⊕ ε).
fn scaled_descent(
    h: f64,
    g: &[f64],
    st: &mut BlockState,
    eps: f64,
    placement: crate::optimizers::EpsPlacement,
) {
    let (out, y) = st.write(X);
    map2(out, y[X], g, y[A1], |x, g, v| {
        x + h * (0.0 - g / placement.denominator(v.max(0.0), eps))
    });
}

/// Adam's moments m' = a(∇f − m), v' = b(∇f² − v), in one pass.
fn adam_moments(a: f64, b: f64, h: f64, st: &mut BlockState, src: &GradientSource) {
    let g = gradient(src, st);
    let (m_out, v_out, y) = st.write2(A1, A2);
    // Equal-length slices and an index loop: vectorises (a zip of four
    // iterators does not).
    let n = m_out.len();
    let (v_out, m, v, g) = (
        &mut v_out[..n],
        &y[A1][..n],
        &y[A2][..n],
        &g.as_slice()[..n],
    );
    for i in 0..n {
        m_out[i] = m[i] + h * (0.0 + a * (g[i] - m[i]));
        v_out[i] = v[i] + h * (0.0 + b * (g[i] * g[i] - v[i]));
    }
}

/// Adam's position x' = −(m/c₁)/(√(v/c₂) ⊕ ε), with the t = 0 limit
/// m/c₁ → ∇f, v/c₂ → ∇f² when a bias factor vanishes.
#[allow(clippy::too_many_arguments)]
fn adam_position(
    a: f64,
    b: f64,
    eps: f64,
    placement: crate::optimizers::EpsPlacement,
    bias: super::flow::AdamBias,
    t: f64,
    h: f64,
    st: &mut BlockState,
    src: &GradientSource,
) {
    let (c1, c2) = adam_bias_factors(bias, a, b, t, src);
    if c1 == 0.0 || c2 == 0.0 {
        let g = gradient(src, st);
        let (out, y) = st.write(X);
        map1(out, y[X], g.as_slice(), |x, g| {
            x + h * (0.0 - g / placement.denominator(g * g, eps))
        });
    } else {
        let (inv1, inv2) = (1.0 / c1, 1.0 / c2);
        let (out, y) = st.write(X);
        map2(out, y[X], y[A1], y[A2], |x, m, v| {
            x + h * (0.0 - (m * inv1) / placement.denominator((v * inv2).max(0.0), eps))
        });
    }
}

/// The heavy ball's friction piece v' = −γ(t)v: explicit Euler or exact.
fn heavy_ball_friction(friction: Friction, how: FastSub, t: f64, h: f64, st: &mut BlockState) {
    let (out, y) = st.write(A1);
    match (how, friction) {
        (FastSub::Exact, Friction::Constant(gamma)) => {
            let f = (-gamma * h).exp();
            map0(out, y[A1], |v| v * f)
        }
        (FastSub::Exact, Friction::Vanishing { r }) => {
            // v(t + h) = (t/(t + h))^r v(t); from t = 0 the velocity is 0.
            let f = (t / (t + h)).powf(r);
            map0(out, y[A1], |v| v * f)
        }
        // From t = 0 the piece alone sees v = 0 (see `OracleFlow::rhs`):
        // its field is zero.
        (_, Friction::Vanishing { .. }) if t == 0.0 => map0(out, y[A1], |v| v + h * 0.0),
        (_, Friction::Constant(gamma)) => map0(out, y[A1], |v| v + h * (0.0 - gamma * v)),
        (_, Friction::Vanishing { r }) => {
            let c = r / t;
            map0(out, y[A1], |v| v + h * (0.0 - c * v))
        }
    }
}
