//! The reduced local flow (Gram or QR coordinates) of a softmax-regression batch.

use crate::workspace::Workspace;

use nalgebra::DMatrix;

use super::FactorizationMethod;
use super::reduced::{FactorsView, LocalFactors, ReducedCore};
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
/// ([`FactorizationMethod::Gram`], see [`with_factorization`](Self::with_factorization)):
///
/// $$ V' = −c\,\big(s(XΘ_0 + XX^\top V) − Y\big),\quad V(0) = 0, \qquad Θ(h) = Θ_0 + X^\top V(h), $$
///
/// by adaptive Dormand–Prince (default `rtol = atol = 1e-8`) or by a fixed
/// number of sub-steps of any stepper
/// ([`with_integrator`](Self::with_integrator), [`Integrator`](crate::Integrator)). Θ is
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
pub struct ReducedSoftmaxFlow<'a> {
    x: &'a DMatrix<f64>,
    y: &'a DMatrix<f64>,
    c: f64,
    factors: LocalFactors,
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
            factors: LocalFactors::new(FactorizationMethod::default_for(x)),
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

    /// The same flow in other coordinates: [`FactorizationMethod::Gram`]
    /// (the default when `b ≤ p`, `Θ = Θ₀ + XᵀV`) or [`FactorizationMethod::Qr`]
    /// (`H = QᵀΘ`, the paper's reduction; the default when `b > p`, where
    /// its ODE is the smaller, and before the Gram coordinates).
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
    pub fn with_factorization(mut self, method: FactorizationMethod) -> Self {
        self.factors = LocalFactors::new(method);
        self
    }

    /// The coordinates of the reduced ODE.
    pub fn factorization(&self) -> FactorizationMethod {
        self.factors.method()
    }

    /// The reduced flows of every batch (`c = 1/(m·bᵢ)`), all in the default
    /// coordinates of the first (full) batch.
    pub fn for_batches(problem: &'a Softmax, options: AdaptiveOptions) -> Result<Vec<Self>> {
        let m = problem.num_batches();
        // One choice for all batches, by the full batch size (the first
        // batch's), so that a short last batch does not switch coordinates.
        let method = (m > 0).then(|| FactorizationMethod::default_for(problem.batch(0).0));
        (0..m)
            .map(|i| {
                let (x, y) = problem.batch(i);
                let flow = Self::new(x, y, 1.0 / (m * x.nrows()) as f64, options)?;
                Ok(match method {
                    Some(method) => flow.with_factorization(method),
                    None => flow,
                })
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
        self.factors.ensure(self.x, classes);
        self.factors.project(theta, classes);
        let (qr, gram);
        let system: &dyn OdeSystem = match self.factors.view() {
            FactorsView::Qr { r } => {
                if self.rt.shape() != (r.ncols(), r.nrows()) {
                    self.rt = r.transpose();
                }
                qr = ReducedSoftmax {
                    r,
                    rt: &self.rt,
                    y: self.y,
                    c: self.c,
                    work: &self.work,
                };
                &qr
            }
            FactorsView::Gram { g, z0 } => {
                gram = DualSoftmax {
                    g,
                    z0,
                    y: self.y,
                    c: self.c,
                    work: &self.work,
                };
                &gram
            }
        };
        self.core
            .integrate_and_lift(system, &self.factors, t, h, theta)
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
