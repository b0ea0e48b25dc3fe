//! Machinery shared by the QR-reduced nonlinear local flows: the choice of
//! local integrator, the lazy factorization, projection, integration and lift.

use nalgebra::{DMatrix, DMatrixView, DMatrixViewMut};

use super::factorization::thin_qr_of_transpose;
use crate::error::Result;
use crate::kernels::gemm_acc;
use crate::splitting::FlowStats;
use crate::{AdaptiveOptions, Integrator, OdeSystem, Rk45, State, Stats};

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
