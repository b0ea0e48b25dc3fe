//! Butcher tableaus as data: the coefficients of explicit Runge–Kutta
//! methods, their order conditions (checked through rooted trees), and the
//! named instances driven by [`ExplicitRk`](super::ExplicitRk).
//!
//! Long decimal literals are kept exactly as published (more digits than an
//! `f64` holds); the compiler rounds them correctly.
#![allow(clippy::excessive_precision)]

use num_traits::{Float, FromPrimitive};

use crate::Order;
use crate::error::{Error, Result};

/// The most stages a tableau may have (the stage workspaces of
/// [`ExplicitRk`](super::ExplicitRk) are indexed through fixed-size arrays).
pub const MAX_STAGES: usize = 16;

/// Highest order whose rooted-tree conditions [`ButcherTableau`] can check.
pub const MAX_CHECKED_ORDER: u32 = 8;

/// An explicit Runge–Kutta tableau with `s` stages:
///
/// $$ k_i = f\big(t + c_i h,\\; y + h \textstyle\sum_{j<i} a_{ij} k_j\big),\qquad
///    y_{n+1} = y_n + h \textstyle\sum_i b_i k_i. $$
///
/// `a` is stored by rows, row `i` holding its `i` entries left of the
/// diagonal (so it is strictly lower triangular by construction). An
/// embedded pair adds weights `b̂` of a lower order used for the error
/// estimate `h Σ (bᵢ − b̂ᵢ) kᵢ`; FSAL ("first same as last") means the last
/// row of `a` equals `b` and its node is 1, so the last stage of one step is
/// `f(t + h, y_{n+1})`, the first stage of the next.
///
/// # Example
/// ```
/// use splitflow::steppers::{tableau, ButcherTableau};
/// let t: &ButcherTableau = &tableau::BS3;
/// assert_eq!((t.stages(), t.order, t.embedded_order, t.fsal), (4, 3, 2, true));
/// t.check_order_conditions(1e-14)?;
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ButcherTableau {
    /// Short lower-case name, also the stepper's name (`"tsit5"`).
    pub name: &'static str,
    /// Strictly lower-triangular coefficients: row `i` has `i` entries `aᵢ₀ … aᵢ,ᵢ₋₁`.
    pub a: &'static [&'static [f64]],
    /// Weights of the propagated solution.
    pub b: &'static [f64],
    /// Nodes.
    pub c: &'static [f64],
    /// Weights `b̂` of the embedded solution, if any.
    pub b_embedded: Option<&'static [f64]>,
    /// Order of the embedded solution (0 when there is none).
    pub embedded_order: u32,
    /// Order of the propagated solution.
    pub order: u32,
    /// First same as last: the last stage is `f(t + h, y_{n+1})`.
    pub fsal: bool,
    /// Continuous extension (dense output), if any.
    pub dense: Option<DenseCoefficients>,
}

/// A continuous extension of degree ≤ 4: on a step of size `h`, at
/// `θ = (s − t)/h ∈ [0, 1]`,
///
/// $$ y(t + θh) ≈ y_n + h \textstyle\sum_i b_i(θ)\\, k_i,\qquad
///    b_i(θ) = \sum_{m=1}^{4} p_{im}\\, θ^m, $$
///
/// with `bᵢ(1) = bᵢ`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DenseCoefficients {
    /// Row `i`: the coefficients of `θ, θ², θ³, θ⁴` in `bᵢ(θ)`.
    pub p: &'static [[f64; 4]],
    /// Order of the interpolant (its local error is `O(h^{order+1})`).
    pub order: u32,
}

/// Whose weights an order-condition check uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Weights {
    /// The propagated solution `b`.
    Main,
    /// The embedded solution `b̂`.
    Embedded,
    /// The dense output `b(θ)` at the given `θ` (conditions `θ^ρ/γ`).
    Dense(f64),
}

impl ButcherTableau {
    /// Number of stages.
    pub fn stages(&self) -> usize {
        self.b.len()
    }

    /// The stages an adaptive trial evaluates before `y_new`: all of them,
    /// but the last with FSAL (its argument is `y_new` itself).
    pub(crate) fn trial_stages(&self) -> usize {
        self.stages() - usize::from(self.fsal)
    }

    /// The stages a fixed step propagating `weights` needs: up to the last
    /// non-zero weight (an FSAL tableau's last stage has weight 0).
    pub(crate) fn stages_used(weights: &[f64]) -> usize {
        weights.iter().rposition(|&x| x != 0.0).map_or(1, |i| i + 1)
    }

    /// Order of the propagated solution as metadata.
    pub fn order(&self) -> Order {
        Order::Finite(self.order)
    }

    /// Checks the structure: `s ≤` [`MAX_STAGES`], row `i` of `a` has `i`
    /// entries, `b`, `c`, `b̂` and the dense rows have `s` entries, every
    /// coefficient is finite, `c₀ = 0`, an embedded pair has an order in
    /// `1..order`, and an FSAL claim holds exactly (last row of `a` equal to
    /// `b`, last weight and last node of the claim 0 and 1).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the tableau and what is wrong.
    pub fn validate(&self) -> Result<()> {
        let bad = |why: String| Err(Error::invalid("tableau", self.name, &why));
        let s = self.stages();
        if s == 0 || s > MAX_STAGES {
            return bad(format!("has {s} stages (1..={MAX_STAGES} supported)"));
        }
        if self.a.len() != s || self.c.len() != s {
            return bad(format!(
                "a has {} rows and c {} entries, b has {s}",
                self.a.len(),
                self.c.len()
            ));
        }
        if let Some(i) = (0..s).find(|&i| self.a[i].len() != i) {
            return bad(format!(
                "row {i} of a has {} entries, expected {i} (strictly lower triangular)",
                self.a[i].len()
            ));
        }
        if self.c[0] != 0.0 {
            return bad("c₀ must be 0 for an explicit method".into());
        }
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        if !(finite(self.b) && finite(self.c) && self.a.iter().all(|r| finite(r))) {
            return bad("has a non-finite coefficient".into());
        }
        if let Some(bh) = self.b_embedded {
            if bh.len() != s || !finite(bh) {
                return bad(format!("b̂ must have {s} finite entries"));
            }
            if self.embedded_order == 0 || self.embedded_order >= self.order {
                return bad(format!(
                    "embedded order {} must be in 1..{}",
                    self.embedded_order, self.order
                ));
            }
        }
        if let Some(d) = self.dense
            && (d.p.len() != s || !d.p.iter().all(|r| finite(r)))
        {
            return bad(format!("dense output must have {s} finite rows"));
        }
        if self.fsal
            && (self.a[s - 1] != &self.b[..s - 1] || self.b[s - 1] != 0.0 || self.c[s - 1] != 1.0)
        {
            return bad(
                "claims FSAL but its last row of a is not b (with b_s = 0, c_s = 1)".into(),
            );
        }
        Ok(())
    }

    /// Checks the row-sum condition `cᵢ = Σⱼ aᵢⱼ` and consistency `Σ bᵢ = 1`
    /// (and `Σ b̂ᵢ = 1`) to `tol`.
    pub fn is_consistent(&self, tol: f64) -> bool {
        let rows = self
            .a
            .iter()
            .zip(self.c)
            .all(|(r, &c)| (r.iter().sum::<f64>() - c).abs() <= tol);
        let b = (self.b.iter().sum::<f64>() - 1.0).abs() <= tol;
        let e = self
            .b_embedded
            .is_none_or(|e| (e.iter().sum::<f64>() - 1.0).abs() <= tol);
        rows && b && e
    }

    /// The largest relative defect of the order conditions of orders
    /// `1..=order` (at most [`MAX_CHECKED_ORDER`]) for the given weights `w`:
    /// over every rooted tree `τ` with `|τ| ≤ order`,
    ///
    /// $$ \frac{\big|\sum_i w_i\\, Φ_i(τ) - θ^{|τ|}/γ(τ)\big|}{\max(1, \sum_i |w_i Φ_i(τ)|)}, $$
    ///
    /// where `Φᵢ(•) = 1`, `Φᵢ([τ₁,…,τₘ]) = Πₖ (A Φ(τₖ))ᵢ`, `γ` is the tree's
    /// density and `θ = 1` except for [`Weights::Dense`]. Row sums are used as
    /// written in `a` (not `c`), so the row-sum condition is checked
    /// separately by [`is_consistent`](Self::is_consistent).
    ///
    /// Evaluated in `f64`: [`order_defect_in`](Self::order_defect_in)`::<f64>`.
    /// Returns `None` when the tableau has no such weights or the structure
    /// is invalid.
    pub fn order_defect(&self, weights: Weights, order: u32) -> Option<f64> {
        self.order_defect_in::<f64>(weights, order)
    }

    /// [`order_defect`](Self::order_defect) with the coefficients converted
    /// to the scalar type `T` (through [`FromPrimitive::from_f64`]) and every
    /// operation done in `T` ([`num_traits::Float`]).
    ///
    /// This tells whether a tableau keeps its order once its coefficients
    /// are rounded to `T`: in `f32` the defects of every named tableau are
    /// round-off of `f32` (≈ 1e-7), so the tableaus may drive an `f32`
    /// integrator; with a wider type implementing `Float` (double-double
    /// crates do) it separates a coefficient's own `f64` rounding from the
    /// rounding of the check. Returns `None` as `order_defect` does, or when
    /// a coefficient does not convert.
    ///
    /// # Example
    /// ```
    /// use splitflow::steppers::tableau::{DOP853, Weights};
    /// // DOP853 rounded to f32 is still an 8th-order method to f32 precision …
    /// let d32: f32 = DOP853.order_defect_in(Weights::Main, 8).unwrap();
    /// assert!(d32 < 1e-5);
    /// // … and the check really runs in f32: far above the f64 defect.
    /// let d64 = DOP853.order_defect(Weights::Main, 8).unwrap();
    /// assert!(d64 < 1e-14 && f64::from(d32) > 100.0 * d64);
    /// ```
    pub fn order_defect_in<T: Float + FromPrimitive>(
        &self,
        weights: Weights,
        order: u32,
    ) -> Option<T> {
        self.validate().ok()?;
        let s = self.stages();
        let cast = |v: &[f64]| {
            v.iter()
                .map(|&x| T::from_f64(x))
                .collect::<Option<Vec<T>>>()
        };
        let sum = |it: &mut dyn Iterator<Item = T>| it.fold(T::zero(), |acc, x| acc + x);
        let a: Vec<Vec<T>> = self.a.iter().map(|r| cast(r)).collect::<Option<_>>()?;
        let (w, theta): (Vec<T>, T) = match weights {
            Weights::Main => (cast(self.b)?, T::one()),
            Weights::Embedded => (cast(self.b_embedded?)?, T::one()),
            Weights::Dense(th) => {
                let d = self.dense?;
                let th = T::from_f64(th)?;
                let mut w = Vec::with_capacity(s);
                for r in d.p {
                    w.push(
                        cast(r)?
                            .iter()
                            .rev()
                            .fold(T::zero(), |acc, &p| (acc + p) * th),
                    );
                }
                (w, th)
            }
        };
        let mut worst = T::zero();
        let trees = rooted_trees(order.min(MAX_CHECKED_ORDER));
        // Φ(τ) for every tree, in generation order (children come first).
        let mut phi: Vec<Vec<T>> = Vec::with_capacity(trees.len());
        for tree in &trees {
            let mut g = vec![T::one(); s];
            for &child in &tree.children {
                let a_phi: Vec<T> = (0..s)
                    .map(|i| sum(&mut a[i].iter().zip(&phi[child]).map(|(&a, &p)| a * p)))
                    .collect();
                for (gi, v) in g.iter_mut().zip(a_phi) {
                    *gi = *gi * v;
                }
            }
            let total = sum(&mut w.iter().zip(&g).map(|(&wi, &gi)| wi * gi));
            let scale = sum(&mut w.iter().zip(&g).map(|(&wi, &gi)| (wi * gi).abs()));
            let rhs = theta.powi(tree.order as i32) / T::from_f64(tree.gamma)?;
            worst = worst.max((total - rhs).abs() / scale.max(T::one()));
            phi.push(g);
        }
        Some(worst)
    }

    /// Verifies the tableau against everything it claims, to `tol`: the
    /// structure ([`validate`](Self::validate)), the row sums and
    /// consistency ([`is_consistent`](Self::is_consistent)), the order
    /// conditions of `b` up to `order`, of `b̂` up to `embedded_order`, and
    /// for a dense output `bᵢ(1) = bᵢ` and its order conditions (in `θ`) at
    /// `θ = 1/2` and `θ = 0.8`. Orders above [`MAX_CHECKED_ORDER`] are
    /// checked up to it.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the first failed condition.
    pub fn check_order_conditions(&self, tol: f64) -> Result<()> {
        self.validate()?;
        let fail = |why: String| Err(Error::invalid("tableau", self.name, &why));
        if !self.is_consistent(tol) {
            return fail(format!("row sums or consistency fail at tol = {tol:e}"));
        }
        let mut checks = vec![(Weights::Main, self.order, "b")];
        if self.b_embedded.is_some() {
            checks.push((Weights::Embedded, self.embedded_order, "b̂"));
        }
        if let Some(d) = self.dense {
            for (row, &b) in d.p.iter().zip(self.b) {
                if (row.iter().sum::<f64>() - b).abs() > tol {
                    return fail("dense output: bᵢ(1) ≠ bᵢ".into());
                }
            }
            checks.push((Weights::Dense(0.5), d.order, "b(θ = 0.5)"));
            checks.push((Weights::Dense(0.8), d.order, "b(θ = 0.8)"));
        }
        for (w, order, what) in checks {
            let defect = self.order_defect(w, order).unwrap_or(f64::INFINITY);
            if defect > tol {
                return fail(format!(
                    "order conditions of {what} up to order {order} fail: defect {defect:e} > {tol:e}"
                ));
            }
        }
        Ok(())
    }
}

/// A rooted tree: its order, density `γ`, and children (indices into the
/// list returned by [`rooted_trees`], each earlier than the tree itself).
#[derive(Debug, Clone)]
struct Tree {
    order: u32,
    gamma: f64,
    children: Vec<usize>,
}

/// Every rooted tree with at most `max` vertices (1, 1, 2, 4, 9, 20, 48, 115
/// of orders 1…8), ordered by order. A tree of order `n` is a multiset of
/// subtrees with total order `n − 1`, enumerated once as a non-increasing
/// sequence of indices.
fn rooted_trees(max: u32) -> Vec<Tree> {
    fn extend(
        trees: &[Tree],
        remaining: u32,
        max_idx: usize,
        current: &mut Vec<usize>,
        out: &mut Vec<Vec<usize>>,
    ) {
        if remaining == 0 {
            out.push(current.clone());
            return;
        }
        for idx in 0..=max_idx {
            if trees[idx].order <= remaining {
                current.push(idx);
                extend(trees, remaining - trees[idx].order, idx, current, out);
                current.pop();
            }
        }
    }
    let mut trees = Vec::new();
    if max == 0 {
        return trees;
    }
    trees.push(Tree {
        order: 1,
        gamma: 1.0,
        children: Vec::new(),
    });
    for n in 2..=max {
        let mut sets = Vec::new();
        extend(&trees, n - 1, trees.len() - 1, &mut Vec::new(), &mut sets);
        for children in sets {
            let gamma = n as f64 * children.iter().map(|&c| trees[c].gamma).product::<f64>();
            trees.push(Tree {
                order: n,
                gamma,
                children,
            });
        }
    }
    trees
}

// ---------------------------------------------------------------------------
// Named tableaus.
// ---------------------------------------------------------------------------

/// Explicit Euler as a one-stage tableau, order 1 (the
/// [`ExplicitEuler`](super::ExplicitEuler) stepper's method; used by
/// [`SmallRk::explicit_euler`](super::SmallRk::explicit_euler)).
pub const EULER: ButcherTableau = ButcherTableau {
    name: "explicit_euler",
    a: &[&[]],
    b: &[1.0],
    c: &[0.0],
    b_embedded: None,
    embedded_order: 0,
    order: 1,
    fsal: false,
    dense: None,
};

/// Heun's method (explicit trapezoidal rule), order 2.
pub const HEUN2: ButcherTableau = ButcherTableau {
    name: "heun2",
    a: &[&[], &[1.0]],
    b: &[0.5, 0.5],
    c: &[0.0, 1.0],
    b_embedded: None,
    embedded_order: 0,
    order: 2,
    fsal: false,
    dense: None,
};

/// Ralston's third-order method (minimal error bound among 3-stage order-3
/// methods; A. Ralston, *Math. Comp.* 16, 1962).
pub const RALSTON3: ButcherTableau = ButcherTableau {
    name: "ralston3",
    a: &[&[], &[0.5], &[0.0, 0.75]],
    b: &[2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0],
    c: &[0.0, 0.5, 0.75],
    b_embedded: None,
    embedded_order: 0,
    order: 3,
    fsal: false,
    dense: None,
};

/// The classical fourth-order Runge–Kutta method.
pub const RK4: ButcherTableau = ButcherTableau {
    name: "rk4",
    a: &[&[], &[0.5], &[0.0, 0.5], &[0.0, 0.0, 1.0]],
    b: &[1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0],
    c: &[0.0, 0.5, 0.5, 1.0],
    b_embedded: None,
    embedded_order: 0,
    order: 4,
    fsal: false,
    dense: None,
};

/// Bogacki–Shampine 3(2) (P. Bogacki, L. F. Shampine, *Appl. Math. Lett.*
/// 2, 1989): 4 stages with FSAL, so 3 f-evaluations per accepted step. Its
/// natural interpolant is the cubic Hermite one, which
/// [`ExplicitRk`](super::ExplicitRk) uses when a tableau has no dense
/// coefficients.
pub const BS3: ButcherTableau = ButcherTableau {
    name: "bs3",
    a: &[
        &[],
        &[0.5],
        &[0.0, 0.75],
        &[2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0],
    ],
    b: &[2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0, 0.0],
    c: &[0.0, 0.5, 0.75, 1.0],
    b_embedded: Some(&[7.0 / 24.0, 0.25, 1.0 / 3.0, 0.125]),
    embedded_order: 2,
    order: 3,
    fsal: true,
    dense: None,
};

const DOPRI5_B: [f64; 7] = [
    35.0 / 384.0,
    0.0,
    500.0 / 1113.0,
    125.0 / 192.0,
    -2187.0 / 6784.0,
    11.0 / 84.0,
    0.0,
];

/// Shampine's dense-output coefficients `dᵢ` of Dormand–Prince (Hairer,
/// Nørsett & Wanner's `CONTD5`): the `θ²(1 − θ)²` term of the interpolant.
pub(crate) const DOPRI5_D: [f64; 7] = [
    -12715105075.0 / 11282082432.0,
    0.0,
    87487479700.0 / 32700410799.0,
    -10690763975.0 / 1880347072.0,
    701980252875.0 / 199316789632.0,
    -1453857185.0 / 822651844.0,
    69997945.0 / 29380423.0,
];

/// Dormand–Prince's interpolant `y₀ + θΔ + θ(1−θ)(hk₁ − Δ) + θ²(1−θ)(2Δ −
/// hk₁ − hk₇) + θ²(1−θ)² h Σ dᵢkᵢ` (with `Δ = h Σ bᵢkᵢ`) expanded in powers
/// of θ: `bᵢ(θ) = δᵢ₁θ + (3bᵢ − 2δᵢ₁ − δᵢ₇ + dᵢ)θ² + (−2bᵢ + δᵢ₁ + δᵢ₇ − 2dᵢ)θ³ + dᵢθ⁴`.
const DOPRI5_DENSE: [[f64; 4]; 7] = {
    let mut p = [[0.0; 4]; 7];
    let mut i = 0;
    while i < 7 {
        let first = if i == 0 { 1.0 } else { 0.0 };
        let last = if i == 6 { 1.0 } else { 0.0 };
        let (b, d) = (DOPRI5_B[i], DOPRI5_D[i]);
        p[i] = [
            first,
            3.0 * b - 2.0 * first - last + d,
            -2.0 * b + first + last - 2.0 * d,
            d,
        ];
        i += 1;
    }
    p
};

/// Dormand–Prince 5(4) (J. R. Dormand, P. J. Prince, *J. Comput. Appl.
/// Math.* 6, 1980), 7 stages with FSAL, with Shampine's fourth-order dense
/// output.
pub const DOPRI5: ButcherTableau = ButcherTableau {
    name: "dopri5",
    a: &[
        &[],
        &[1.0 / 5.0],
        &[3.0 / 40.0, 9.0 / 40.0],
        &[44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0],
        &[
            19372.0 / 6561.0,
            -25360.0 / 2187.0,
            64448.0 / 6561.0,
            -212.0 / 729.0,
        ],
        &[
            9017.0 / 3168.0,
            -355.0 / 33.0,
            46732.0 / 5247.0,
            49.0 / 176.0,
            -5103.0 / 18656.0,
        ],
        &[
            35.0 / 384.0,
            0.0,
            500.0 / 1113.0,
            125.0 / 192.0,
            -2187.0 / 6784.0,
            11.0 / 84.0,
        ],
    ],
    b: &DOPRI5_B,
    c: &[0.0, 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0, 1.0, 1.0],
    b_embedded: Some(&[
        5179.0 / 57600.0,
        0.0,
        7571.0 / 16695.0,
        393.0 / 640.0,
        -92097.0 / 339200.0,
        187.0 / 2100.0,
        1.0 / 40.0,
    ]),
    embedded_order: 4,
    order: 5,
    fsal: true,
    dense: Some(DenseCoefficients {
        p: &DOPRI5_DENSE,
        order: 4,
    }),
};

const TSIT5_B: [f64; 7] = [
    0.09646076681806522951816731316512876333711995238157997181903319145764851595234062815396,
    0.01,
    0.4798896504144995747752495322905965199130404621990332488332634944254542060153074523509,
    1.379008574103741893192274821856872770756462643091360525934940067397245698027561293331,
    -3.290069515436080679901047585711363850115683290894936158531296799594813811049925401677,
    2.324710524099773982415355918398765796109060233222962411944060046314465391054716027841,
    0.0,
];

/// Tsitouras 5(4) (Ch. Tsitouras, *Runge–Kutta pairs of order 5(4)
/// satisfying only the first column simplifying assumption*, Comput. Math.
/// Appl. 62, 2011), 7 stages with FSAL and its fourth-order interpolant.
/// Coefficients as in OrdinaryDiffEq.jl's `Tsit5` (their high-precision
/// values, rounded by the compiler).
pub const TSIT5: ButcherTableau = ButcherTableau {
    name: "tsit5",
    a: &[
        &[],
        &[0.161],
        &[
            -0.8480655492356988544426874250230774675121177393430391537369234245294192976164141156943e-2,
            0.3354806554923569885444268742502307746751211773934303915373692342452941929761641411569,
        ],
        &[
            2.897153057105493432130432594192938764924887287701866490314866693455023795137503079289,
            -6.359448489975074843148159912383825625952700647415626703305928850207288721235210244366,
            4.362295432869581411017727318190886861027813359713760212991062156752264926097707165077,
        ],
        &[
            5.325864828439256604428877920840511317836476253097040101202360397727981648835607691791,
            -11.74888356406282787774717033978577296188744178259862899288666928009020615663593781589,
            7.495539342889836208304604784564358155658679161518186721010132816213648793440552049753,
            -0.9249506636175524925650207933207191611349983406029535244034750452930469056411389539635e-1,
        ],
        &[
            5.861455442946420028659251486982647890394337666164814434818157239052507339770711679748,
            -12.92096931784710929170611868178335939541780751955743459166312250439928519268343184452,
            8.159367898576158643180400794539253485181918321135053305748355423955009222648673734986,
            -0.7158497328140099722453054252582973869127213147363544882721139659546372402303777878835e-1,
            -0.2826905039406838290900305721271224146717633626879770007617876201276764571291579142206e-1,
        ],
        &[
            TSIT5_B[0], TSIT5_B[1], TSIT5_B[2], TSIT5_B[3], TSIT5_B[4], TSIT5_B[5],
        ],
    ],
    b: &TSIT5_B,
    c: &[
        0.0,
        0.161,
        0.327,
        0.9,
        0.9800255409045096857298102862870245954942137979563024768854764293221195950761080302604,
        1.0,
        1.0,
    ],
    b_embedded: Some(&[
        0.09468075576583945807478876255758922856117527357724631226139574065785592789071067303271,
        0.009183565540343253096776363936645313759813746240984095238905939532922955247253608687270,
        0.4877705284247615707855642599631228241516691959761363774365216240304071651579571959813,
        1.234297566930478985655109673884237654035539930748192848315425833500484878378061439761,
        -2.707712349983525454881109975059321670689605166938197378763992255714444407154902012702,
        1.866628418170587035753719399566211498666255505244122593996591602841258328965767580089,
        1.0 / 66.0,
    ]),
    embedded_order: 4,
    order: 5,
    fsal: true,
    dense: Some(DenseCoefficients {
        p: &[
            [
                0.999999999999999974283372471559910888475488471328,
                -2.763706197274825911336735930481400260916070804192,
                2.91325546182191274375068099306808,
                -1.0530884977290216,
            ],
            [
                0.0,
                0.13169999999999999727,
                -0.22339999999999999818,
                0.1017,
            ],
            [
                0.0,
                3.93029623689475152850687446709813398,
                -5.94103387213150473470249202589458001,
                2.490627285651252793,
            ],
            [
                0.0,
                -12.411077166933676983734381540685453484102414134010752,
                30.3381886302823215981729903691836576,
                -16.54810288924490272,
            ],
            [
                0.0,
                37.50931341651103919496903965334519631242339792120440212,
                -88.1789048947664011014276693541209817,
                47.37952196281928122,
            ],
            [
                0.0,
                -27.896526289197287805948263144598643896,
                65.09189467479367152629021928716553658,
                -34.87065786149660974,
            ],
            [0.0, 1.5, -4.0, 2.5],
        ],
        order: 4,
    }),
};

const DOP853_B: [f64; 13] = [
    5.42937341165687622380535766363E-2,
    0.0,
    0.0,
    0.0,
    0.0,
    4.45031289275240888144113950566E0,
    1.89151789931450038304281599044E0,
    -5.8012039600105847814672114227E0,
    3.1116436695781989440891606237E-1,
    -1.52160949662516078556178806805E-1,
    2.01365400804030348374776537501E-1,
    4.47106157277725905176885569043E-2,
    0.0,
];

/// DOP853's error coefficients `bᵢ − b̂ᵢ` of its fifth-order embedded solution.
const DOP853_ER: [f64; 13] = [
    0.1312004499419488073250102996E-01,
    0.0,
    0.0,
    0.0,
    0.0,
    -0.1225156446376204440720569753E+01,
    -0.4957589496572501915214079952E+00,
    0.1664377182454986536961530415E+01,
    -0.3503288487499736816886487290E+00,
    0.3341791187130174790297318841E+00,
    0.8192320648511571246570742613E-01,
    -0.2235530786388629525884427845E-01,
    0.0,
];

const DOP853_B_EMBEDDED: [f64; 13] = {
    let mut e = [0.0; 13];
    let mut i = 0;
    while i < 13 {
        e[i] = DOP853_B[i] - DOP853_ER[i];
        i += 1;
    }
    e
};

/// Dormand–Prince 8(5) as in Hairer's `DOP853` (E. Hairer, S. P. Nørsett,
/// G. Wanner, *Solving ODEs I*, §II.10; coefficients as in Hairer's code and
/// the `ode_solvers` crate): 12 stages for the eighth-order solution plus the
/// FSAL stage `f(t + h, y₁)`.
///
/// Error estimate: Hairer combines a fifth- and a third-order estimate
/// (`err₅²/√(err₅² + 0.01·err₃²)`, behaving like an `O(h⁸)` quantity); here
/// the embedded solution is the fifth-order one alone (`b̂ = b − er`), so the
/// controller works with error order 5. The seventh-order dense output of
/// `DOP853` needs three extra stages and is not provided: dense output is
/// the cubic Hermite interpolant.
pub const DOP853: ButcherTableau = ButcherTableau {
    name: "dop853",
    a: &[
        &[],
        &[5.26001519587677318785587544488E-2],
        &[
            1.97250569845378994544595329183E-2,
            5.91751709536136983633785987549E-2,
        ],
        &[
            2.95875854768068491816892993775E-2,
            0.0,
            8.87627564304205475450678981324E-2,
        ],
        &[
            2.41365134159266685502369798665E-1,
            0.0,
            -8.84549479328286085344864962717E-1,
            9.24834003261792003115737966543E-1,
        ],
        &[
            3.7037037037037037037037037037E-2,
            0.0,
            0.0,
            1.70828608729473871279604482173E-1,
            1.25467687566822425016691814123E-1,
        ],
        &[
            3.7109375E-2,
            0.0,
            0.0,
            1.70252211019544039314978060272E-1,
            6.02165389804559606850219397283E-2,
            -1.7578125E-2,
        ],
        &[
            3.70920001185047927108779319836E-2,
            0.0,
            0.0,
            1.70383925712239993810214054705E-1,
            1.07262030446373284651809199168E-1,
            -1.53194377486244017527936158236E-2,
            8.27378916381402288758473766002E-3,
        ],
        &[
            6.24110958716075717114429577812E-1,
            0.0,
            0.0,
            -3.36089262944694129406857109825E0,
            -8.68219346841726006818189891453E-1,
            2.75920996994467083049415600797E1,
            2.01540675504778934086186788979E1,
            -4.34898841810699588477366255144E1,
        ],
        &[
            4.77662536438264365890433908527E-1,
            0.0,
            0.0,
            -2.48811461997166764192642586468E0,
            -5.90290826836842996371446475743E-1,
            2.12300514481811942347288949897E1,
            1.52792336328824235832596922938E1,
            -3.32882109689848629194453265587E1,
            -2.03312017085086261358222928593E-2,
        ],
        &[
            -9.3714243008598732571704021658E-1,
            0.0,
            0.0,
            5.18637242884406370830023853209E0,
            1.09143734899672957818500254654E0,
            -8.14978701074692612513997267357E0,
            -1.85200656599969598641566180701E1,
            2.27394870993505042818970056734E1,
            2.49360555267965238987089396762E0,
            -3.0467644718982195003823669022E0,
        ],
        &[
            2.27331014751653820792359768449E0,
            0.0,
            0.0,
            -1.05344954667372501984066689879E1,
            -2.00087205822486249909675718444E0,
            -1.79589318631187989172765950534E1,
            2.79488845294199600508499808837E1,
            -2.85899827713502369474065508674E0,
            -8.87285693353062954433549289258E0,
            1.23605671757943030647266201528E1,
            6.43392746015763530355970484046E-1,
        ],
        &[
            DOP853_B[0],
            DOP853_B[1],
            DOP853_B[2],
            DOP853_B[3],
            DOP853_B[4],
            DOP853_B[5],
            DOP853_B[6],
            DOP853_B[7],
            DOP853_B[8],
            DOP853_B[9],
            DOP853_B[10],
            DOP853_B[11],
        ],
    ],
    b: &DOP853_B,
    c: &[
        0.0,
        0.526001519587677318785587544488E-01,
        0.789002279381515978178381316732E-01,
        0.118350341907227396726757197510E+00,
        0.281649658092772603273242802490E+00,
        0.333333333333333333333333333333E+00,
        0.25E+00,
        0.307692307692307692307692307692E+00,
        0.651282051282051282051282051282E+00,
        0.6E+00,
        0.857142857142857142857142857142E+00,
        1.0,
        1.0,
    ],
    b_embedded: Some(&DOP853_B_EMBEDDED),
    embedded_order: 5,
    order: 8,
    fsal: true,
    dense: None,
};

/// Every named tableau, in order of increasing order.
pub const ALL: [&ButcherTableau; 7] = [&HEUN2, &RALSTON3, &BS3, &RK4, &DOPRI5, &TSIT5, &DOP853];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooted_tree_counts_match_oeis_a000081() {
        let trees = rooted_trees(8);
        let counts: Vec<usize> = (1..=8)
            .map(|n| trees.iter().filter(|t| t.order == n).count())
            .collect();
        assert_eq!(counts, [1, 1, 2, 4, 9, 20, 48, 115]);
        // γ of the tall tree of order 4 is 4·3·2·1 and of the bushy one 4.
        let g4: Vec<f64> = trees
            .iter()
            .filter(|t| t.order == 4)
            .map(|t| t.gamma)
            .collect();
        assert!(g4.contains(&24.0) && g4.contains(&4.0));
    }

    #[test]
    fn tableaus_are_consistent() {
        for t in ALL {
            assert!(t.is_consistent(1e-14), "{}", t.name);
            t.validate().unwrap();
        }
    }
}
