//! The QR-reduced local flow of a softmax-regression batch.

use crate::workspace::Workspace;

use nalgebra::DMatrix;

use super::reduced::ReducedCore;
use crate::error::{Result, check_dim};
use crate::kernels::gemm_acc;
use crate::objective::FiniteSum;
use crate::problems::softmax::Softmax;
use crate::splitting::{FlowMap, FlowStats};
use crate::{AdaptiveOptions, Integrator, OdeSystem, Order, State, Stats};

/// Workspaces of the reduced softmax field: the logits, then residuals,
/// `Z` (b×c, column-major) and the row maxima and row sums of the softmax.
struct SoftmaxWork {
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
        let SoftmaxWork { z, max, sum } = &mut *work;
        // Z = RᵀH.
        z.fill(0.0);
        gemm_acc(z, self.rt.as_slice(), eta.as_slice(), k, 1.0);
        // Z ← s(Z) − Y, the row-wise softmax computed column by column
        // (contiguous passes), stabilised by the row maxima.
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
        for (col, ycol) in z.chunks_exact_mut(b).zip(self.y.as_slice().chunks_exact(b)) {
            for ((v, &s), &yv) in col.iter_mut().zip(sum.iter()).zip(ycol) {
                *v = *v / s - yv;
            }
        }
        // D = −c R Z.
        gemm_acc(d.as_mut_slice(), self.r.as_slice(), z, b, -self.c);
    }
}

/// The local problem of a softmax-regression batch,
/// `Θ' = −c Xᵀ(s(XΘ) − Y)` with `c = 1/(m·b)`, integrated in the reduced
/// coordinates `H = QᵀΘ ∈ ℝ^{k×c}` (`Xᵀ = QR`):
///
/// $$ H' = −c\,R\,(s(R^\top H) − Y), \qquad Θ(h) = Θ_0 + Q(H(h) − H(0)), $$
///
/// by adaptive Dormand–Prince (default `rtol = atol = 1e-8`) or by a fixed
/// number of sub-steps of any stepper
/// ([`with_integrator`](Self::with_integrator), [`Integrator`](crate::Integrator)). Θ is
/// flattened column-major (p×c). With `ExplicitEuler`, one sub-step and
/// `h = α·m` an advance is the SGD step `Θ ← Θ − (α/b) Xᵀ(s(XΘ) − Y)`.
///
/// `Q` and `R` are computed on the first advance; later advances reuse them
/// and every workspace (no allocation, see [`Integrator`](crate::Integrator)).
pub struct ReducedSoftmaxFlow<'a> {
    x: &'a DMatrix<f64>,
    y: &'a DMatrix<f64>,
    c: f64,
    r: DMatrix<f64>,
    rt: DMatrix<f64>,
    work: Workspace<SoftmaxWork>,
    core: ReducedCore,
}

impl<'a> ReducedSoftmaxFlow<'a> {
    /// The reduced flow of batch `(x, y one-hot)` with scale `c`, integrated
    /// by adaptive Dormand–Prince with `options`.
    ///
    /// # Errors
    /// Dimension mismatch of `y`, `c ≤ 0`, invalid adaptive options.
    pub fn new(
        x: &'a DMatrix<f64>,
        y: &'a DMatrix<f64>,
        c: f64,
        options: AdaptiveOptions,
    ) -> Result<Self> {
        check_dim("batch labels", x.nrows(), y.nrows())?;
        crate::error::check_positive("c", c)?;
        let core = ReducedCore::new(options)?;
        Ok(ReducedSoftmaxFlow {
            x,
            y,
            c,
            r: DMatrix::zeros(0, 0),
            rt: DMatrix::zeros(0, 0),
            work: Workspace::new(SoftmaxWork::new(y.nrows(), y.ncols())),
            core,
        })
    }

    /// The same flow integrated by `integrator` instead (for example
    /// `Integrator::fixed(Rk4::new(), 4)?`: four RK4 sub-steps per advance).
    pub fn with_integrator(mut self, integrator: Integrator) -> Self {
        self.core.set_integrator(integrator);
        self
    }

    /// How the reduced ODE is integrated.
    pub fn integrator(&self) -> &Integrator {
        self.core.integrator()
    }

    /// The reduced flows of every batch (`c = 1/(m·bᵢ)`).
    pub fn for_batches(problem: &'a Softmax, options: AdaptiveOptions) -> Result<Vec<Self>> {
        let m = problem.num_batches();
        (0..m)
            .map(|i| {
                let (x, y) = problem.batch(i);
                Self::new(x, y, 1.0 / (m * x.nrows()) as f64, options)
            })
            .collect()
    }

    /// Solver counters accumulated over all advances.
    pub fn solver_stats(&self) -> Stats {
        self.core.solver_stats()
    }
}

impl FlowMap for ReducedSoftmaxFlow<'_> {
    fn dim(&self) -> usize {
        self.x.ncols() * self.y.ncols()
    }

    fn advance(&mut self, t: f64, h: f64, theta: &mut State) -> Result<()> {
        check_dim("parameters Θ", self.dim(), theta.len())?;
        let classes = self.y.ncols();
        if let Some(r) = self.core.factorize(self.x, classes) {
            self.rt = r.transpose();
            self.r = r;
        }
        self.core.project(theta, classes);
        let system = ReducedSoftmax {
            r: &self.r,
            rt: &self.rt,
            y: self.y,
            c: self.c,
            work: &self.work,
        };
        self.core.integrate_and_lift(&system, t, h, theta)
    }

    fn order(&self) -> Order {
        self.core.integrator().order()
    }

    fn is_dissipative(&self) -> bool {
        true
    }

    fn stats(&self) -> FlowStats {
        self.core.flow_stats()
    }

    fn name(&self) -> String {
        format!("reduced softmax flow ({})", self.core.integrator().label())
    }
}
