//! Machinery shared by the QR-reduced nonlinear local flows.

use nalgebra::{DMatrix, DMatrixView, DMatrixViewMut, DVector};

use super::factorization::thin_qr_of_transpose;
use crate::error::Result;
use crate::splitting::FlowStats;
use crate::{AdaptiveOptions, OdeSystem, Rk45, State, Stats, Steps, integrate};

/// The lazily computed `Q` of `Xᵀ = QR`, the reduced state `H = QᵀΘ`
/// (k×c, c = 1 for a parameter vector), one reused Dormand–Prince stepper
/// and the counters of a reduced local flow.
#[derive(Debug, Clone)]
pub(crate) struct ReducedCore {
    q: DMatrix<f64>,
    eta: DVector<f64>,
    rk45: Rk45,
    options: AdaptiveOptions,
    stats: Stats,
    advances: usize,
}

impl ReducedCore {
    pub(crate) fn new(options: AdaptiveOptions) -> Self {
        ReducedCore {
            q: DMatrix::zeros(0, 0),
            eta: DVector::zeros(0),
            rk45: Rk45::new(),
            options,
            stats: Stats::default(),
            advances: 0,
        }
    }

    /// Factorizes `x` on first use, returning `R` then (`None` afterwards).
    pub(crate) fn factorize(&mut self, x: &DMatrix<f64>, classes: usize) -> Option<DMatrix<f64>> {
        if self.q.nrows() != 0 {
            return None;
        }
        let (q, r) = thin_qr_of_transpose(x);
        self.eta = DVector::zeros(q.ncols() * classes);
        self.q = q;
        Some(r)
    }

    /// `H = QᵀΘ` for Θ (p×c, column-major in `theta`).
    pub(crate) fn project(&mut self, theta: &State, classes: usize) {
        let (p, k) = self.q.shape();
        let t = DMatrixView::from_slice(theta.as_slice(), p, classes);
        let mut e = DMatrixViewMut::from_slice(self.eta.as_mut_slice(), k, classes);
        e.gemm_tr(1.0, &self.q, &t, 0.0);
    }

    /// Integrates the reduced `system` over `[t, t + h]` from `H` and lifts
    /// the change back: `Θ ← Θ + Q(H(h) − H(0))`.
    pub(crate) fn integrate_and_lift(
        &mut self,
        system: &dyn OdeSystem,
        t: f64,
        h: f64,
        theta: &mut State,
        classes: usize,
    ) -> Result<()> {
        self.advances += 1;
        let sol = integrate(
            system,
            &mut self.rk45,
            t,
            t + h,
            &self.eta,
            &Steps::Adaptive(self.options),
        )?;
        self.stats.add(&sol.stats);
        self.eta -= &sol.y;
        let (p, k) = self.q.shape();
        let e = DMatrixView::from_slice(self.eta.as_slice(), k, classes);
        let mut th = DMatrixViewMut::from_slice(theta.as_mut_slice(), p, classes);
        th.gemm(-1.0, &self.q, &e, 1.0);
        Ok(())
    }

    pub(crate) fn solver_stats(&self) -> Stats {
        self.stats
    }

    pub(crate) fn flow_stats(&self) -> FlowStats {
        FlowStats {
            advances: self.advances,
            f_evals: self.stats.f_evals,
        }
    }
}
