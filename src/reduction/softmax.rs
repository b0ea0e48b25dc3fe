//! The reduced local flow (Gram or QR coordinates) of a softmax-regression batch.

use crate::workspace::Workspace;

use nalgebra::DMatrix;

use super::reduced::FactorsView;
use super::reduced_flow::sealed::Model;
use super::reduced_flow::{ReducedFlow, ReducedModel};
use crate::kernels::gemm_acc;
use crate::problems::softmax::Softmax;
use crate::{OdeSystem, State};

/// Workspaces of the reduced softmax field: the logits, then residuals,
/// `Z` (b×c, column-major) and the row maxima and row sums of the softmax.
pub(super) struct SoftmaxWork {
    z: Vec<f64>,
    max: Vec<f64>,
    sum: Vec<f64>,
}

impl SoftmaxWork {
    fn new(b: usize, classes: usize) -> Self {
        SoftmaxWork {
            z: vec![0.0; b * classes],
            max: vec![0.0; b],
            sum: vec![0.0; b],
        }
    }
}

/// The reduced ODE `H' = −c R(s(RᵀH) − Y)` on H ∈ ℝ^{k×c}, flattened
/// column-major; `rt = Rᵀ` is stored so that both products run in the
/// allocation-free column kernel.
struct ReducedSoftmax<'r> {
    r: &'r DMatrix<f64>,
    rt: &'r DMatrix<f64>,
    y: &'r DMatrix<f64>,
    c: f64,
    work: &'r Workspace<SoftmaxWork>,
}

impl OdeSystem for ReducedSoftmax<'_> {
    fn dim(&self) -> usize {
        self.r.nrows() * self.y.ncols()
    }
    fn rhs(&self, _t: f64, eta: &State, d: &mut State) {
        let (k, b) = self.r.shape();
        d.fill(0.0);
        if b == 0 {
            return;
        }
        let mut work = self.work.lock();
        // Z = RᵀH, then Z ← s(Z) − Y.
        work.z.fill(0.0);
        gemm_acc(&mut work.z, self.rt.as_slice(), eta.as_slice(), k, 1.0);
        work.residual(self.y.as_slice(), b);
        // D = −c R Z.
        gemm_acc(d.as_mut_slice(), self.r.as_slice(), &work.z, b, -self.c);
    }
}

impl SoftmaxWork {
    /// `Z ← s(Z) − Y` for the b×c logits `Z` in `self.z`: the row-wise
    /// softmax computed column by column (contiguous passes), stabilised by
    /// the row maxima.
    fn residual(&mut self, y: &[f64], b: usize) {
        let SoftmaxWork { z, max, sum } = self;
        max.copy_from_slice(&z[..b]);
        for col in z.chunks_exact(b).skip(1) {
            for (m, &v) in max.iter_mut().zip(col) {
                *m = m.max(v);
            }
        }
        sum.fill(0.0);
        for col in z.chunks_exact_mut(b) {
            for ((v, &m), s) in col.iter_mut().zip(max.iter()).zip(sum.iter_mut()) {
                *v = (*v - m).exp();
                *s += *v;
            }
        }
        for (col, ycol) in z.chunks_exact_mut(b).zip(y.chunks_exact(b)) {
            for ((v, &s), &yv) in col.iter_mut().zip(sum.iter()).zip(ycol) {
                *v = *v / s - yv;
            }
        }
    }
}

/// The same ODE in Gram (dual) coordinates, `Θ = Θ₀ + XᵀV`:
/// `V' = −c(s(Z₀ + GV) − Y)`, `V(0) = 0`, with `G = XXᵀ` (b×b) and
/// `Z₀ = XΘ₀` (b×c): one b×b×c product per evaluation.
struct DualSoftmax<'r> {
    g: &'r DMatrix<f64>,
    z0: &'r [f64],
    y: &'r DMatrix<f64>,
    c: f64,
    work: &'r Workspace<SoftmaxWork>,
}

impl OdeSystem for DualSoftmax<'_> {
    fn dim(&self) -> usize {
        self.y.len()
    }
    fn rhs(&self, _t: f64, v: &State, d: &mut State) {
        let b = self.g.nrows();
        if b == 0 {
            return;
        }
        let mut work = self.work.lock();
        // Z = Z₀ + GV, then Z ← s(Z) − Y.
        work.z.copy_from_slice(self.z0);
        gemm_acc(&mut work.z, self.g.as_slice(), v.as_slice(), b, 1.0);
        work.residual(self.y.as_slice(), b);
        for (dk, zk) in d.iter_mut().zip(work.z.iter()) {
            *dk = -self.c * zk;
        }
    }
}

/// The local problem of a softmax-regression batch,
/// `Θ' = −c Xᵀ(s(XΘ) − Y)` with `c = 1/(m·b)`, integrated in the reduced
/// coordinates `H = QᵀΘ ∈ ℝ^{k×c}` (`Xᵀ = QR`):
///
/// $$ H' = −c\,R\,(s(R^\top H) − Y), \qquad Θ(h) = Θ_0 + Q(H(h) − H(0)), $$
///
/// or, by default when `b ≤ p`, in the Gram (dual) coordinates `Θ = Θ₀ + XᵀV`
/// ([`FactorizationMethod::Gram`](super::FactorizationMethod::Gram), see [`with_factorization`](ReducedFlow::with_factorization)):
///
/// $$ V' = −c\,\big(s(XΘ_0 + XX^\top V) − Y\big),\quad V(0) = 0, \qquad Θ(h) = Θ_0 + X^\top V(h), $$
///
/// by adaptive Dormand–Prince (default `rtol = atol = 1e-8`) or by a fixed
/// number of sub-steps of any stepper
/// ([`with_integrator`](ReducedFlow::with_integrator), [`Integrator`](crate::Integrator)). Θ is
/// flattened column-major (p×c). With `ExplicitEuler`, one sub-step and
/// `h = α·m` an advance is the SGD step `Θ ← Θ − (α/b) Xᵀ(s(XΘ) − Y)`.
///
/// As for [`ReducedLogisticFlow`](super::ReducedLogisticFlow), both are exact
/// rewritings of the local ODE: adaptive advances agree to the tolerance,
/// fixed explicit Runge–Kutta sub-steps to round-off; the Gram field costs
/// one b×b×c product per evaluation instead of two k×b×c ones.
///
/// The factors are computed on the first advance; later advances reuse them
/// and every workspace (no allocation, see [`Integrator`](crate::Integrator)).
///
/// # Example
/// ```
/// use nalgebra::DMatrix;
/// use splitflow::reduction::{FactorizationMethod, ReducedSoftmaxFlow};
/// use splitflow::splitting::FlowMap;
/// use splitflow::State;
/// let x = DMatrix::from_row_slice(2, 3, &[1.0, 0.0, 2.0, 0.0, 1.0, -1.0]);
/// let y = DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 0.0, 1.0]);
/// let opts = splitflow::reduction::ReducedLogisticFlow::default_options();
/// let mut gram = ReducedSoftmaxFlow::new(&x, &y, 0.5, opts)?;
/// let mut qr = ReducedSoftmaxFlow::new(&x, &y, 0.5, opts)?
///     .with_factorization(FactorizationMethod::Qr);
/// assert_eq!(gram.factorization(), FactorizationMethod::Gram);
/// let (mut a, mut b) = (State::zeros(6), State::zeros(6));
/// gram.advance(0.0, 10.0, &mut a)?;
/// qr.advance(0.0, 10.0, &mut b)?;
/// assert!((&a - &b).amax() <= 1e-7 * a.amax());
/// # Ok::<(), splitflow::Error>(())
/// ```
pub type ReducedSoftmaxFlow<'a> = ReducedFlow<'a, SoftmaxModel>;

/// Softmax regression as the model of a [`ReducedFlow`]: one-hot labels
/// `Y` (b×c), the row-wise softmax link `s`, Θ flattened column-major (p×c).
#[derive(Debug, Clone, Copy)]
pub struct SoftmaxModel;

impl ReducedModel for SoftmaxModel {}

/// The softmax field's workspaces: `Rᵀ` (QR coordinates, stored on first
/// use so that both products run in the column kernel) and the logits.
pub struct SoftmaxFieldWork {
    rt: DMatrix<f64>,
    work: Workspace<SoftmaxWork>,
}

impl Model for SoftmaxModel {
    type Labels = DMatrix<f64>;
    type Problem = Softmax;
    type Work = SoftmaxFieldWork;
    const NAME: &'static str = "softmax";
    const PARAMETERS: &'static str = "parameters Θ";

    fn label_rows(y: &DMatrix<f64>) -> usize {
        y.nrows()
    }

    fn classes(y: &DMatrix<f64>) -> usize {
        y.ncols()
    }

    fn work(y: &DMatrix<f64>) -> Self::Work {
        SoftmaxFieldWork {
            rt: DMatrix::zeros(0, 0),
            work: Workspace::new(SoftmaxWork::new(y.nrows(), y.ncols())),
        }
    }

    fn batch(problem: &Softmax, i: usize) -> (&DMatrix<f64>, &DMatrix<f64>) {
        problem.batch(i)
    }

    fn with_field<R>(
        w: &mut Self::Work,
        view: FactorsView<'_>,
        y: &DMatrix<f64>,
        c: f64,
        run: impl FnOnce(&dyn OdeSystem) -> R,
    ) -> R {
        match view {
            FactorsView::Qr { r } => {
                if w.rt.shape() != (r.ncols(), r.nrows()) {
                    w.rt = r.transpose();
                }
                run(&ReducedSoftmax {
                    r,
                    rt: &w.rt,
                    y,
                    c,
                    work: &w.work,
                })
            }
            FactorsView::Gram { g, z0 } => run(&DualSoftmax {
                g,
                z0,
                y,
                c,
                work: &w.work,
            }),
        }
    }
}
