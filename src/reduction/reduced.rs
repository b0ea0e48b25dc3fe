//! Machinery shared by the reduced nonlinear local flows: the coordinates
//! and their lazily computed factors, the local integrator, projection,
//! integration and lift.

use nalgebra::{DMatrix, DMatrixView, DMatrixViewMut};

use super::FactorizationMethod;
use super::factorization::thin_qr_of_transpose;
use crate::error::{Error, Result};
use crate::kernels::gemm_acc;
use crate::splitting::FlowStats;
use crate::{AdaptiveOptions, Integrator, OdeSystem, Rk45, State, Stats};

impl FactorizationMethod {
    /// The default coordinates of a reduced nonlinear flow of batch `x`
    /// (b×p): Gram when `b ≤ p` (its b-dimensional ODE is then no larger
    /// than the k = min(b, p)-dimensional QR one, and each evaluation is one
    /// b×b product instead of two k×b ones), QR otherwise.
    pub(crate) fn default_for(x: &DMatrix<f64>) -> Self {
        if x.nrows() <= x.ncols() {
            FactorizationMethod::Gram
        } else {
            FactorizationMethod::Qr
        }
    }
}

/// The factors of a batch in its local coordinates, computed on first use:
/// the basis `B` with `Θ(h) = Θ₀ + B(Y(h) − Y(0))`, the small matrix of the
/// reduced field (`R`, k×b, or `G = XXᵀ`, b×b) and the projection `BᵀΘ₀`
/// of the current advance (k×c or b×c, column-major; c = 1 for a vector).
#[derive(Debug)]
pub(crate) struct LocalFactors {
    method: FactorizationMethod,
    ready: bool,
    basis: DMatrix<f64>,
    small: DMatrix<f64>,
    proj: State,
}

/// What a reduced field reads, by coordinates (`pub` for the sealed
/// [`Model`](super::reduced_flow::sealed::Model); the module is private).
pub enum FactorsView<'f> {
    /// `Y = H = QᵀΘ` and `R` (k×b) with `Xᵀ = QR`.
    Qr { r: &'f DMatrix<f64> },
    /// `Y = V`, `V(0) = 0`, `Θ = Θ₀ + XᵀV`: the Gram matrix `G = XXᵀ` (b×b)
    /// and the start logits `Z₀ = XΘ₀` (b×c, column-major).
    Gram { g: &'f DMatrix<f64>, z0: &'f [f64] },
}

impl LocalFactors {
    /// Factors in `method`'s coordinates, not yet computed.
    pub(crate) fn new(method: FactorizationMethod) -> Self {
        LocalFactors {
            method,
            ready: false,
            basis: DMatrix::zeros(0, 0),
            small: DMatrix::zeros(0, 0),
            proj: State::zeros(0),
        }
    }

    pub(crate) fn method(&self) -> FactorizationMethod {
        self.method
    }

    /// Computes the factors of `x` on first use: `Q` and `R` (QR) or `Xᵀ`
    /// and `XXᵀ` (Gram).
    pub(crate) fn ensure(&mut self, x: &DMatrix<f64>, classes: usize) {
        if self.ready {
            return;
        }
        let (basis, small) = match self.method {
            FactorizationMethod::Qr => thin_qr_of_transpose(x),
            FactorizationMethod::Gram => (x.transpose(), x * x.transpose()),
        };
        self.proj = State::zeros(basis.ncols() * classes);
        self.basis = basis;
        self.small = small;
        self.ready = true;
    }

    /// `BᵀΘ₀` for Θ (p×c, column-major in `theta`): `H₀ = QᵀΘ₀` or `Z₀ = XΘ₀`.
    pub(crate) fn project(&mut self, theta: &State, classes: usize) {
        let (p, k) = self.basis.shape();
        let t = DMatrixView::from_slice(theta.as_slice(), p, classes);
        let mut e = DMatrixViewMut::from_slice(self.proj.as_mut_slice(), k, classes);
        // Column by column (dot products): no allocation.
        e.gemm_tr(1.0, &self.basis, &t, 0.0);
    }

    /// The view a reduced field reads.
    pub(crate) fn view(&self) -> FactorsView<'_> {
        match self.method {
            FactorizationMethod::Qr => FactorsView::Qr { r: &self.small },
            FactorizationMethod::Gram => FactorsView::Gram {
                g: &self.small,
                z0: self.proj.as_slice(),
            },
        }
    }
}

/// The integrated state and its start value, the local integrator with its
/// reused workspaces, and the counters of a reduced local flow.
#[derive(Debug)]
pub(crate) struct ReducedCore {
    start: State,
    y: State,
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
            start: State::zeros(0),
            y: State::zeros(0),
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

    /// Integrates the reduced `system` over `[t, t + h]` from the start value
    /// (`H₀`, or 0 in Gram coordinates) and lifts the change back:
    /// `Θ ← Θ + B(Y(h) − Y(0))`. On error `Θ` is unchanged.
    ///
    /// # Errors
    /// Those of [`Integrator::advance`]; in Gram coordinates (whose state
    /// starts at 0) also [`Error::NonFinite`](crate::Error::NonFinite) for
    /// non-finite start logits `XΘ₀`, as the QR path's stepper reports a
    /// non-finite `QᵀΘ₀`.
    pub(crate) fn integrate_and_lift(
        &mut self,
        system: &dyn OdeSystem,
        factors: &LocalFactors,
        t: f64,
        h: f64,
        theta: &mut State,
    ) -> Result<()> {
        self.advances += 1;
        let d = factors.proj.len();
        if self.start.len() != d {
            self.start = State::zeros(d);
            self.y = State::zeros(d);
        }
        match factors.method {
            FactorizationMethod::Qr => self.start.copy_from(&factors.proj),
            FactorizationMethod::Gram => {
                if !factors.proj.iter().all(|v| v.is_finite()) {
                    return Err(Error::non_finite("reduced flow logits XΘ₀", t));
                }
                self.start.fill(0.0);
            }
        }
        self.y.copy_from(&self.start);
        self.integrator.advance(system, t, h, &mut self.y)?;
        self.y -= &self.start;
        gemm_acc(
            theta.as_mut_slice(),
            factors.basis.as_slice(),
            self.y.as_slice(),
            factors.basis.ncols(),
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
