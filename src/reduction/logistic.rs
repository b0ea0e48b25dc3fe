//! The reduced local flow (Gram or QR coordinates) of a logistic-regression batch.

use crate::workspace::Workspace;

use nalgebra::{DMatrix, DVector};

use super::reduced::FactorsView;
use super::reduced_flow::sealed::Model;
use super::reduced_flow::{ReducedFlow, ReducedModel};
use crate::kernels::gemm_acc;
use crate::problems::logistic::{Logistic, sigmoid};
use crate::{OdeSystem, State};

/// The reduced ODE `η' = −c R(σ(Rᵀη) − y)` (k-dimensional); `s` is the
/// flow's b-vector workspace.
struct ReducedLogistic<'r> {
    r: &'r DMatrix<f64>,
    y: &'r DVector<f64>,
    c: f64,
    s: &'r Workspace<DVector<f64>>,
}

impl OdeSystem for ReducedLogistic<'_> {
    fn dim(&self) -> usize {
        self.r.nrows()
    }
    fn rhs(&self, _t: f64, eta: &State, d: &mut State) {
        let mut s = self.s.lock();
        s.gemv_tr(1.0, self.r, eta, 0.0);
        for (sk, yk) in s.iter_mut().zip(self.y.iter()) {
            *sk = sigmoid(*sk) - yk;
        }
        d.gemv(-self.c, self.r, &s, 0.0);
    }
}

/// The same ODE in Gram (dual) coordinates, `θ = θ₀ + Xᵀv`:
/// `v' = −c(σ(z₀ + Gv) − y)`, `v(0) = 0`, with `G = XXᵀ` and `z₀ = Xθ₀`
/// (b-dimensional, one b×b product per evaluation); `s` is the b-vector
/// workspace.
struct DualLogistic<'r> {
    g: &'r DMatrix<f64>,
    z0: &'r [f64],
    y: &'r DVector<f64>,
    c: f64,
    s: &'r Workspace<DVector<f64>>,
}

impl OdeSystem for DualLogistic<'_> {
    fn dim(&self) -> usize {
        self.g.nrows()
    }
    fn rhs(&self, _t: f64, v: &State, d: &mut State) {
        let mut s = self.s.lock();
        s.as_mut_slice().copy_from_slice(self.z0);
        gemm_acc(
            s.as_mut_slice(),
            self.g.as_slice(),
            v.as_slice(),
            v.len(),
            1.0,
        );
        for ((dk, sk), yk) in d.iter_mut().zip(s.iter()).zip(self.y.iter()) {
            *dk = -self.c * (sigmoid(*sk) - yk);
        }
    }
}

/// The local problem of a logistic-regression batch,
/// `θ' = −c Xᵀ(σ(Xθ) − y)` with `c = 1/(m·b)`, integrated in the reduced
/// coordinates `η = Qᵀθ` (`Xᵀ = QR`):
///
/// $$ η' = −c\,R\,(σ(R^\top η) − y), \qquad θ(h) = θ_0 + Q(η(h) − η(0)), $$
///
/// or, by default when `b ≤ p`, in the Gram (dual) coordinates `θ = θ₀ + Xᵀv`
/// ([`FactorizationMethod::Gram`](super::FactorizationMethod::Gram), see [`with_factorization`](ReducedFlow::with_factorization)):
///
/// $$ v' = −c\,\big(σ(Xθ_0 + XX^\top v) − y\big),\quad v(0) = 0, \qquad θ(h) = θ_0 + X^\top v(h), $$
///
/// by adaptive Dormand–Prince (default `rtol = atol = 1e-8`, the paper used
/// ≈ 1.5e-8) or by a fixed number of sub-steps of any stepper
/// ([`with_integrator`](ReducedFlow::with_integrator), [`Integrator`](crate::Integrator)). The
/// ODE is k-dimensional (k = min(b, p)) instead of p-dimensional. With
/// `ExplicitEuler`, one sub-step and `h = α·m` an advance is exactly the SGD
/// step `θ ← θ − (α/b) Xᵀ(σ(Xθ) − y)` (THEORY §3).
///
/// Both are exact rewritings of the local ODE (the field lies in
/// `range(Xᵀ)`); they differ only in the variables the adaptive controller
/// measures, so adaptive advances agree to the tolerance, and fixed
/// sub-steps of an explicit Runge–Kutta method agree to round-off. The Gram
/// field costs one b×b product per evaluation instead of two k×b ones, and
/// needs no QR (docs/theory.md §4.5).
///
/// The factors (`Q` and `R`, or `Xᵀ` and `XXᵀ`) are computed on the first
/// advance; later advances reuse them and every workspace (no allocation,
/// see [`Integrator`](crate::Integrator)).
pub type ReducedLogisticFlow<'a> = ReducedFlow<'a, LogisticModel>;

/// Binary logistic regression as the model of a [`ReducedFlow`]: labels
/// `y ∈ {0, 1}ᵇ`, link σ.
#[derive(Debug, Clone, Copy)]
pub struct LogisticModel;

impl ReducedModel for LogisticModel {}

/// The logistic field's workspace: the b-vector of residuals.
pub struct LogisticFieldWork(Workspace<DVector<f64>>);

impl Model for LogisticModel {
    type Labels = DVector<f64>;
    type Problem = Logistic;
    type Work = LogisticFieldWork;
    const NAME: &'static str = "logistic";
    const PARAMETERS: &'static str = "parameters θ";

    fn label_rows(y: &DVector<f64>) -> usize {
        y.len()
    }

    fn classes(_y: &DVector<f64>) -> usize {
        1
    }

    fn work(y: &DVector<f64>) -> Self::Work {
        LogisticFieldWork(Workspace::new(DVector::zeros(y.len())))
    }

    fn batch(problem: &Logistic, i: usize) -> (&DMatrix<f64>, &DVector<f64>) {
        problem.batch(i)
    }

    fn with_field<R>(
        s: &mut Self::Work,
        view: FactorsView<'_>,
        y: &DVector<f64>,
        c: f64,
        run: impl FnOnce(&dyn OdeSystem) -> R,
    ) -> R {
        match view {
            FactorsView::Qr { r } => run(&ReducedLogistic { r, y, c, s: &s.0 }),
            FactorsView::Gram { g, z0 } => run(&DualLogistic {
                g,
                z0,
                y,
                c,
                s: &s.0,
            }),
        }
    }
}
