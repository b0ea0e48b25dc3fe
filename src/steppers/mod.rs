//! One-step methods: the [`Stepper`] trait, its statistics, Butcher tableaus
//! as data, and the methods of the library.
//!
//! | stepper | name | order | notes |
//! |---|---|---|---|
//! | [`ExplicitEuler`] | `explicit_euler` | 1 | one f-evaluation per step |
//! | [`ImplicitEuler`] | `implicit_euler` | 1 | Newton with analytic or finite-difference Jacobian; one solve for affine systems |
//! | [`Rk4`] | `rk4` | 4 | classical Runge–Kutta, hand-written (bitwise equal to `ExplicitRk::rk4()`) |
//! | [`Rk45`] | `rk45` | 5 (fixed step), 5(4) adaptive | Dormand–Prince with FSAL, PI control, dense output; hand-written (bitwise equal to `ExplicitRk::dopri5()`) |
//! | [`ExplicitRk`] on a [`ButcherTableau`]: | | | generic explicit Runge–Kutta, adaptive when the tableau has an embedded pair |
//! | [`tableau::HEUN2`] | `heun2` | 2 | 2 stages |
//! | [`tableau::RALSTON3`] | `ralston3` | 3 | 3 stages |
//! | [`tableau::BS3`] | `bs3` | 3(2) | Bogacki–Shampine, 4 stages, FSAL, Hermite dense output |
//! | [`tableau::RK4`] | (`rk4`) | 4 | 4 stages |
//! | [`tableau::DOPRI5`] | (`rk45`) | 5(4) | Dormand–Prince, 7 stages, FSAL, 4th-order dense output |
//! | [`tableau::TSIT5`] | `tsit5` | 5(4) | Tsitouras, 7 stages, FSAL, 4th-order dense output |
//! | [`tableau::DOP853`] | `dop853` | 8(5) | Hairer's DOP853 stages, 12 + FSAL; 5th-order estimate only; Hermite dense output |
//!
//! Names are resolved by [`stepper_by_name`] (the list is [`STEPPER_NAMES`]);
//! `rk4` and `rk45` map to the hand-written steppers.
//!
//! Steppers own their workspaces: after the first step at a given dimension
//! they do not allocate.

mod euler;
mod explicit_rk;
mod implicit_euler;
mod registry;
mod rk4;
mod rk45;
pub mod tableau;

pub use euler::ExplicitEuler;
pub use explicit_rk::{ExplicitRk, Propagate};
pub use implicit_euler::{ImplicitEuler, NewtonOptions};
pub use registry::{STEPPER_NAMES, stepper_by_name};
pub use rk4::Rk4;
pub use rk45::{DenseSegment, Rk45, Rk45Solution};
pub use tableau::{ButcherTableau, DenseCoefficients, Weights};

use crate::error::{Error, Result};
use crate::{OdeSystem, Order, State};

/// Work counters of an integration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Accepted steps.
    pub accepted: usize,
    /// Rejected steps (adaptive methods only).
    pub rejected: usize,
    /// Right-hand-side evaluations (including those of finite-difference Jacobians).
    pub f_evals: usize,
    /// Jacobian evaluations (analytic or finite-difference).
    pub jac_evals: usize,
    /// LU factorisations.
    pub factorizations: usize,
    /// Linear solves.
    pub linear_solves: usize,
    /// Newton iterations.
    pub newton_iterations: usize,
}

impl Stats {
    /// Adds another set of counters to this one.
    pub fn add(&mut self, other: &Stats) {
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.f_evals += other.f_evals;
        self.jac_evals += other.jac_evals;
        self.factorizations += other.factorizations;
        self.linear_solves += other.linear_solves;
        self.newton_iterations += other.newton_iterations;
    }
}

/// Error tolerances of an adaptive method: a step is accepted when the RMS
/// norm of `err_i / (atol + rtol·max(|y_i|, |y_new,i|))` is at most 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
}

impl Tolerance {
    /// Validates the tolerances.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `atol ≤ 0`, `rtol ≤ 0`, either is not
    /// finite, or `rtol < 100·ε` (below what double precision can deliver).
    pub fn validate(&self) -> Result<()> {
        crate::error::check_positive("atol", self.atol)?;
        crate::error::check_positive("rtol", self.rtol)?;
        if self.rtol < 100.0 * f64::EPSILON {
            return Err(Error::invalid(
                "rtol",
                self.rtol,
                "must be at least 100·ε ≈ 2.2e-14 (double precision cannot deliver less)",
            ));
        }
        Ok(())
    }
}

/// A one-step method `y ← Φ_h(t, y)`.
///
/// Object safe: solvers and flow maps hold `Box<dyn Stepper>`.
pub trait Stepper {
    /// Short lower-case name (`"rk4"`).
    fn name(&self) -> &'static str;

    /// Global order of accuracy.
    fn order(&self) -> Order;

    /// Advances `y` in place from `t` to `t + h` (`h` may be negative).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a zero or non-finite `h`;
    /// [`Error::DimensionMismatch`] when `y` does not match the system;
    /// [`Error::NonFinite`] naming `t + h` when the step produced NaN or ±∞
    /// (then `y` holds unspecified values); implicit methods also return
    /// [`Error::NewtonFailed`] and [`Error::SingularMatrix`].
    fn step(
        &mut self,
        system: &dyn OdeSystem,
        t: f64,
        h: f64,
        y: &mut State,
        stats: &mut Stats,
    ) -> Result<()>;

    /// The embedded-error interface, for methods that have one (adaptive driving).
    fn as_embedded(&mut self) -> Option<&mut dyn EmbeddedStepper> {
        None
    }
}

/// A Runge–Kutta pair with an embedded error estimate, driven by
/// [`integrate`](crate::integrate::integrate) in adaptive mode.
pub trait EmbeddedStepper {
    /// Order `q` of the error estimate (the controller uses the exponent 1/(q+1)).
    fn error_order(&self) -> u32;

    /// Forgets any first-same-as-last stage (call before a new integration).
    fn reset(&mut self);

    /// Tries a step of size `h` from `(t, y)`, writing the propagated solution
    /// into `y_new` and returning the weighted RMS error norm (NaN or ∞ if the
    /// trial produced non-finite values: the driver treats that as a rejection).
    #[allow(clippy::too_many_arguments)]
    fn attempt(
        &mut self,
        system: &dyn OdeSystem,
        t: f64,
        h: f64,
        y: &State,
        y_new: &mut State,
        tol: Tolerance,
        stats: &mut Stats,
    ) -> f64;

    /// Marks the last attempt accepted (first-same-as-last reuse).
    fn accept(&mut self);

    /// Writes the dense-output segment of the last attempt (from `t`, size `h`,
    /// `y` → `y_new`) into `seg`.
    fn dense_segment(&self, t: f64, h: f64, y: &State, y_new: &State, seg: &mut DenseSegment);
}

/// Validates the step arguments shared by every stepper.
pub(crate) fn check_step(system: &dyn OdeSystem, h: f64, y: &State) -> Result<()> {
    if !h.is_finite() || h == 0.0 {
        return Err(Error::invalid(
            "h",
            h,
            "step size must be finite and non-zero",
        ));
    }
    crate::error::check_dim("state y", system.dim(), y.len())
}

/// Resizes a workspace vector to `n` (allocates only when the size changes).
pub(crate) fn fit(v: &mut State, n: usize) {
    if v.len() != n {
        *v = State::zeros(n);
    }
}

/// `out = base + Σ cⱼ·kⱼ` (or `out += Σ cⱼ·kⱼ` when `base` is `None`), fused
/// four terms at a time (one pass over memory per four terms).
pub(crate) fn lincomb(out: &mut [f64], base: Option<&[f64]>, terms: &[(f64, &[f64])]) {
    combine::<false>(out, base, terms);
}

/// [`lincomb`] that also returns `0.0` when every output entry is finite and
/// NaN otherwise. The probe accumulates `x·0` (NaN exactly for NaN or ±∞
/// entries) in independent lanes so that it vectorises; the combination
/// itself is computed exactly as by [`lincomb`].
pub(crate) fn lincomb_checked(
    out: &mut [f64],
    base: Option<&[f64]>,
    terms: &[(f64, &[f64])],
) -> f64 {
    combine::<true>(out, base, terms)
}

fn combine<const PROBE: bool>(
    out: &mut [f64],
    base: Option<&[f64]>,
    terms: &[(f64, &[f64])],
) -> f64 {
    let mut probe = 0.0;
    let mut base = base;
    let mut rest = terms;
    loop {
        let (chunk, tail) = rest.split_at(rest.len().min(4));
        rest = tail;
        // Only the last pass writes final values: probe it alone.
        let last = rest.is_empty();
        probe += match (chunk.len(), PROBE && last) {
            (0, p) => {
                if let Some(b) = base {
                    out.copy_from_slice(b);
                }
                if p { probe_lanes(out) } else { 0.0 }
            }
            (1, false) => fused::<1, false>(out, base, chunk),
            (1, true) => fused::<1, true>(out, base, chunk),
            (2, false) => fused::<2, false>(out, base, chunk),
            (2, true) => fused::<2, true>(out, base, chunk),
            (3, false) => fused::<3, false>(out, base, chunk),
            (3, true) => fused::<3, true>(out, base, chunk),
            (_, false) => fused::<4, false>(out, base, chunk),
            (_, true) => fused::<4, true>(out, base, chunk),
        };
        base = None;
        if last {
            return probe;
        }
    }
}

/// Whether every entry of `v` is finite: the non-finite probe of
/// [`lincomb_checked`] on its own (vectorises, unlike a short-circuiting
/// `iter().all(is_finite)`).
pub(crate) fn all_finite(v: &[f64]) -> bool {
    !probe_lanes(v).is_nan()
}

/// Independent accumulators of the non-finite probe (a single running sum is
/// a serial dependency chain that neither vectorises nor pipelines).
/// Sixteen lanes keep enough additions in flight that the probe runs at
/// memory speed (4 lanes cost SGD's step at p = 1e5 about 25 µs; see
/// docs/benchmarks.md).
const LANES: usize = 16;

fn probe_lanes(out: &[f64]) -> f64 {
    let mut acc = [0.0; LANES];
    let mut chunks = out.chunks_exact(LANES);
    for c in chunks.by_ref() {
        for l in 0..LANES {
            acc[l] += c[l] * 0.0;
        }
    }
    for &v in chunks.remainder() {
        acc[0] += v * 0.0;
    }
    acc.iter().sum()
}

#[inline(always)]
fn fused<const K: usize, const PROBE: bool>(
    out: &mut [f64],
    base: Option<&[f64]>,
    terms: &[(f64, &[f64])],
) -> f64 {
    let n = out.len();
    let c: [f64; K] = std::array::from_fn(|j| terms[j].0);
    let k: [&[f64]; K] = std::array::from_fn(|j| &terms[j].1[..n]);
    match base {
        Some(b) => kernel::<K, PROBE, true>(out, &b[..n], c, k),
        None => kernel::<K, PROBE, false>(out, &[], c, k),
    }
}

/// `out[i] = (BASE ? base[i] : out[i]) + c₀k₀[i] + c₁k₁[i] + …`, in that
/// order of operations; with the probe, in blocks of [`LANES`] entries (one
/// probe accumulator per lane) so that the loop still vectorises.
#[inline(always)]
fn kernel<const K: usize, const PROBE: bool, const BASE: bool>(
    out: &mut [f64],
    base: &[f64],
    c: [f64; K],
    k: [&[f64]; K],
) -> f64 {
    if !PROBE {
        // Without the probe a plain indexed loop vectorises best.
        let base = if BASE { &base[..out.len()] } else { &[] };
        for i in 0..out.len() {
            let mut v = if BASE { base[i] } else { out[i] };
            for j in 0..K {
                v += c[j] * k[j][i];
            }
            out[i] = v;
        }
        return 0.0;
    }
    let (blocks, tail) = out.as_chunks_mut::<LANES>();
    let nb = blocks.len();
    let kb: [&[[f64; LANES]]; K] = std::array::from_fn(|j| &k[j].as_chunks::<LANES>().0[..nb]);
    let bb = if BASE {
        &base.as_chunks::<LANES>().0[..nb]
    } else {
        &[]
    };
    let mut acc = [0.0; LANES];
    for (i, o) in blocks.iter_mut().enumerate() {
        let mut v = if BASE { bb[i] } else { *o };
        for j in 0..K {
            for l in 0..LANES {
                v[l] += c[j] * kb[j][i][l];
            }
        }
        *o = v;
        if PROBE {
            for l in 0..LANES {
                acc[l] += v[l] * 0.0;
            }
        }
    }
    let off = nb * LANES;
    for (i, o) in tail.iter_mut().enumerate() {
        let idx = off + i;
        let mut v = if BASE { base[idx] } else { *o };
        for j in 0..K {
            v += c[j] * k[j][idx];
        }
        *o = v;
        if PROBE {
            acc[0] += v * 0.0;
        }
    }
    acc.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lincomb_matches_direct_sum_and_flags_nan() {
        let y = [1.0, 2.0, 3.0];
        let ks: Vec<[f64; 3]> = (0..6).map(|j| [j as f64, 1.0, -(j as f64)]).collect();
        let terms: Vec<(f64, &[f64])> = ks
            .iter()
            .enumerate()
            .map(|(j, k)| (0.5 + j as f64, &k[..]))
            .collect();
        let mut out = [0.0; 3];
        assert_eq!(lincomb_checked(&mut out, Some(&y), &terms), 0.0);
        for i in 0..3 {
            let direct: f64 = y[i] + terms.iter().map(|(c, k)| c * k[i]).sum::<f64>();
            assert!((out[i] - direct).abs() < 1e-13);
        }
        let bad = [f64::NAN, 0.0, 0.0];
        assert!(lincomb_checked(&mut out, Some(&y), &[(1.0, &bad[..])]).is_nan());
        let mut acc = [1.0, 1.0, 1.0];
        lincomb(&mut acc, None, &[(2.0, &y[..])]);
        assert_eq!(acc, [3.0, 5.0, 7.0]);
    }

    #[test]
    fn all_finite_flags_nan_and_infinities_in_every_lane() {
        for n in 0..=40 {
            let v: Vec<f64> = (0..n).map(|i| i as f64 - 3.5).collect();
            assert!(all_finite(&v));
            for k in 0..n {
                for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                    let mut w = v.clone();
                    w[k] = bad;
                    assert!(!all_finite(&w), "n={n} k={k} {bad}");
                }
            }
        }
    }

    /// The blocked kernel keeps the sequential order of operations (bitwise
    /// equal to `base + c₀k₀ + c₁k₁ + …` evaluated left to right) and its
    /// lane-wise probe catches a non-finite entry anywhere, tail included.
    #[test]
    fn lincomb_is_bitwise_sequential_and_probe_covers_every_lane() {
        for n in 0..=11 {
            let y: Vec<f64> = (0..n).map(|i| 0.1 * i as f64 - 0.37).collect();
            let ks: Vec<Vec<f64>> = (0..7)
                .map(|j| (0..n).map(|i| ((i * 7 + j * 3) % 5) as f64 / 3.0).collect())
                .collect();
            for m in 0..=7 {
                let terms: Vec<(f64, &[f64])> = ks[..m]
                    .iter()
                    .enumerate()
                    .map(|(j, k)| (0.3 / (j + 1) as f64, &k[..]))
                    .collect();
                let mut out = vec![0.0; n];
                assert_eq!(lincomb_checked(&mut out, Some(&y), &terms), 0.0);
                for i in 0..n {
                    let mut v = y[i];
                    for (c, k) in &terms {
                        v += c * k[i];
                    }
                    assert_eq!(out[i].to_bits(), v.to_bits(), "n={n} m={m} i={i}");
                }
                for bad_at in 0..n {
                    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                        let mut k0 = ks[0].clone();
                        k0[bad_at] = bad;
                        let mut t = terms.clone();
                        t.insert(0, (1.0, &k0[..]));
                        assert!(lincomb_checked(&mut out, Some(&y), &t).is_nan());
                        let mut acc = y.clone();
                        assert!(lincomb_checked(&mut acc, None, &t).is_nan());
                    }
                }
            }
        }
    }
}
