//! Machinery shared by the QR-reduced nonlinear local flows: the choice of
//! local integrator, the lazy factorization, projection, integration and lift.

use nalgebra::{DMatrix, DMatrixView, DMatrixViewMut};

use super::factorization::thin_qr_of_transpose;
use crate::error::Result;
use crate::splitting::FlowStats;
use crate::{AdaptiveOptions, Integrator, OdeSystem, Rk45, State, Stats};

/// `out ← out + alpha·A·B` for column-major `A` (`m×k`, in `a`), `B`
/// (`k×n`, in `b`) and `out` (`m×n`): two output columns at a time,
/// each updated with four columns of `A` per pass over the rows.
///
/// Allocation-free replacement for nalgebra's `gemm`, which allocates packing
/// buffers on every call for n > 1. (faer's `matmul` does not allocate but
/// returns with the upper halves of the AVX registers dirty, which made the
/// `exp` calls that follow it in the softmax field ~20x slower here.)
pub(super) fn gemm_acc(out: &mut [f64], a: &[f64], b: &[f64], k: usize, alpha: f64) {
    if k == 0 || a.is_empty() {
        return;
    }
    let m = a.len() / k;
    let n = b.len() / k;
    debug_assert_eq!(out.len(), m * n);
    // Two output columns × four columns of A: 8 coefficients, 4 inputs and
    // 2 accumulators fit the 16 SSE registers of baseline x86-64.
    let mut j0 = 0;
    while j0 < n {
        if n - j0 == 1 {
            column_block::<1>(out, a, b, m, k, j0, alpha);
        } else {
            column_block::<2>(out, a, b, m, k, j0, alpha);
        }
        j0 += 2;
    }
}

/// Output columns `j0 .. j0 + NR` of [`gemm_acc`].
#[inline(always)]
fn column_block<const NR: usize>(
    out: &mut [f64],
    a: &[f64],
    b: &[f64],
    m: usize,
    k: usize,
    j0: usize,
    alpha: f64,
) {
    let mut cols = out[j0 * m..(j0 + NR) * m].chunks_exact_mut(m);
    let mut o: [&mut [f64]; NR] = std::array::from_fn(|_| cols.next().expect("NR columns"));
    let bc: [&[f64]; NR] = std::array::from_fn(|j| &b[(j0 + j) * k..(j0 + j + 1) * k]);
    let mut l = 0;
    while l < k {
        match k - l {
            1 => panel::<NR, 1>(&mut o, a, &bc, m, l, alpha),
            2 => panel::<NR, 2>(&mut o, a, &bc, m, l, alpha),
            3 => panel::<NR, 3>(&mut o, a, &bc, m, l, alpha),
            _ => panel::<NR, 4>(&mut o, a, &bc, m, l, alpha),
        }
        l += 4;
    }
}

/// `o[j] += Σ_q alpha·b[j][l + q]·A[:, l + q]` for `q < KB`, `j < NR`,
/// in that order of operations, one pass over the rows.
#[inline(always)]
fn panel<const NR: usize, const KB: usize>(
    o: &mut [&mut [f64]; NR],
    a: &[f64],
    bc: &[&[f64]; NR],
    m: usize,
    l: usize,
    alpha: f64,
) {
    let ac: [&[f64]; KB] = std::array::from_fn(|q| &a[(l + q) * m..(l + q + 1) * m]);
    let c: [[f64; KB]; NR] = std::array::from_fn(|j| std::array::from_fn(|q| alpha * bc[j][l + q]));
    for oj in o.iter_mut() {
        assert!(oj.len() == m);
    }
    for i in 0..m {
        let x: [f64; KB] = std::array::from_fn(|q| ac[q][i]);
        for j in 0..NR {
            let mut v = o[j][i];
            for q in 0..KB {
                v += c[j][q] * x[q];
            }
            o[j][i] = v;
        }
    }
}

/// The lazily computed `Q` of `Xᵀ = QR`, the reduced state `H = QᵀΘ`
/// (k×c, c = 1 for a parameter vector) and its start value, the local
/// integrator with its reused workspaces, and the counters of a reduced
/// local flow.
#[derive(Debug)]
pub(crate) struct ReducedCore {
    q: DMatrix<f64>,
    eta0: State,
    eta: State,
    integrator: Integrator,
    advances: usize,
}

impl ReducedCore {
    /// A core integrating adaptively with Dormand–Prince and `options`.
    ///
    /// # Errors
    /// Those of [`AdaptiveOptions::validate`].
    pub(crate) fn new(options: AdaptiveOptions) -> Result<Self> {
        Ok(ReducedCore {
            q: DMatrix::zeros(0, 0),
            eta0: State::zeros(0),
            eta: State::zeros(0),
            integrator: Integrator::adaptive(Rk45::new(), options)?,
            advances: 0,
        })
    }

    /// Replaces the integrator (its counters start from its own).
    pub(crate) fn set_integrator(&mut self, integrator: Integrator) {
        self.integrator = integrator;
    }

    pub(crate) fn integrator(&self) -> &Integrator {
        &self.integrator
    }

    /// Factorizes `x` on first use, returning `R` then (`None` afterwards).
    pub(crate) fn factorize(&mut self, x: &DMatrix<f64>, classes: usize) -> Option<DMatrix<f64>> {
        if self.q.nrows() != 0 {
            return None;
        }
        let (q, r) = thin_qr_of_transpose(x);
        self.eta0 = State::zeros(q.ncols() * classes);
        self.eta = State::zeros(q.ncols() * classes);
        self.q = q;
        Some(r)
    }

    /// `H₀ = QᵀΘ` for Θ (p×c, column-major in `theta`).
    pub(crate) fn project(&mut self, theta: &State, classes: usize) {
        let (p, k) = self.q.shape();
        let t = DMatrixView::from_slice(theta.as_slice(), p, classes);
        let mut e = DMatrixViewMut::from_slice(self.eta0.as_mut_slice(), k, classes);
        // Column by column (dot products): no allocation.
        e.gemm_tr(1.0, &self.q, &t, 0.0);
    }

    /// Integrates the reduced `system` over `[t, t + h]` from `H₀` and lifts
    /// the change back: `Θ ← Θ + Q(H(h) − H₀)`. On error `Θ` is unchanged.
    pub(crate) fn integrate_and_lift(
        &mut self,
        system: &dyn OdeSystem,
        t: f64,
        h: f64,
        theta: &mut State,
    ) -> Result<()> {
        self.advances += 1;
        self.eta.copy_from(&self.eta0);
        self.integrator.advance(system, t, h, &mut self.eta)?;
        self.eta -= &self.eta0;
        let k = self.q.ncols();
        gemm_acc(
            theta.as_mut_slice(),
            self.q.as_slice(),
            self.eta.as_slice(),
            k,
            1.0,
        );
        Ok(())
    }

    pub(crate) fn solver_stats(&self) -> Stats {
        self.integrator.stats()
    }

    pub(crate) fn flow_stats(&self) -> FlowStats {
        FlowStats {
            advances: self.advances,
            f_evals: self.integrator.stats().f_evals,
        }
    }
}
