//! The reduced local flow (Gram or QR coordinates) of a logistic-regression batch.

use crate::workspace::Workspace;

use nalgebra::{DMatrix, DVector};

use super::FactorizationMethod;
use super::reduced::{FactorsView, LocalFactors, ReducedCore};
use crate::error::{Result, check_dim};
use crate::kernels::gemm_acc;
use crate::objective::FiniteSum;
use crate::problems::logistic::{Logistic, sigmoid};
use crate::splitting::{FlowMap, FlowStats};
use crate::{AdaptiveOptions, Integrator, OdeSystem, Order, State, Stats};

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
/// ([`FactorizationMethod::Gram`], see [`with_factorization`](Self::with_factorization)):
///
/// $$ v' = −c\,\big(σ(Xθ_0 + XX^\top v) − y\big),\quad v(0) = 0, \qquad θ(h) = θ_0 + X^\top v(h), $$
///
/// by adaptive Dormand–Prince (default `rtol = atol = 1e-8`, the paper used
/// ≈ 1.5e-8) or by a fixed number of sub-steps of any stepper
/// ([`with_integrator`](Self::with_integrator), [`Integrator`](crate::Integrator)). The
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
pub struct ReducedLogisticFlow<'a> {
    x: &'a DMatrix<f64>,
    y: &'a DVector<f64>,
    c: f64,
    factors: LocalFactors,
    s: Workspace<DVector<f64>>,
    core: ReducedCore,
}

impl<'a> ReducedLogisticFlow<'a> {
    /// The reduced flow of batch `(x, y)` with scale `c`, integrated by
    /// adaptive Dormand–Prince with `options`.
    ///
    /// # Errors
    /// Dimension mismatch of `y`, `c ≤ 0`, invalid adaptive options.
    pub fn new(
        x: &'a DMatrix<f64>,
        y: &'a DVector<f64>,
        c: f64,
        options: AdaptiveOptions,
    ) -> Result<Self> {
        check_dim("batch labels", x.nrows(), y.len())?;
        crate::error::check_positive("c", c)?;
        let core = ReducedCore::new(options)?;
        Ok(ReducedLogisticFlow {
            x,
            y,
            c,
            factors: LocalFactors::new(FactorizationMethod::default_for(x)),
            s: Workspace::new(DVector::zeros(y.len())),
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
    /// (the default when `b ≤ p`, `θ = θ₀ + Xᵀv`) or [`FactorizationMethod::Qr`]
    /// (`η = Qᵀθ`, the paper's reduction; the default when `b > p`, where
    /// its ODE is the smaller, and before the Gram coordinates).
    ///
    /// # Example
    /// ```
    /// use nalgebra::{DMatrix, DVector};
    /// use splitflow::reduction::{FactorizationMethod, ReducedLogisticFlow};
    /// use splitflow::splitting::FlowMap;
    /// use splitflow::State;
    /// let x = DMatrix::from_row_slice(2, 3, &[1.0, 0.0, 2.0, 0.0, 1.0, -1.0]);
    /// let y = DVector::from_vec(vec![1.0, 0.0]);
    /// let opts = ReducedLogisticFlow::default_options();
    /// let mut gram = ReducedLogisticFlow::new(&x, &y, 0.5, opts)?;
    /// let mut qr = ReducedLogisticFlow::new(&x, &y, 0.5, opts)?
    ///     .with_factorization(FactorizationMethod::Qr);
    /// assert_eq!(gram.factorization(), FactorizationMethod::Gram);
    /// let (mut a, mut b) = (State::zeros(3), State::zeros(3));
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

    /// The reduced flows of every batch (`c = 1/(m·bᵢ)`), default tolerance
    /// 1e-8, all in the default coordinates of the first (full) batch.
    pub fn for_batches(problem: &'a Logistic, options: AdaptiveOptions) -> Result<Vec<Self>> {
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

    /// The default tolerances of the reduced solves (`rtol = atol = 1e-8`).
    pub fn default_options() -> AdaptiveOptions {
        AdaptiveOptions {
            rtol: 1e-8,
            atol: 1e-8,
            ..Default::default()
        }
    }

    /// Solver counters accumulated over all advances.
    pub fn solver_stats(&self) -> Stats {
        self.core.solver_stats()
    }
}

impl FlowMap for ReducedLogisticFlow<'_> {
    fn dim(&self) -> usize {
        self.x.ncols()
    }

    fn advance(&mut self, t: f64, h: f64, theta: &mut State) -> Result<()> {
        check_dim("parameters θ", self.x.ncols(), theta.len())?;
        self.factors.ensure(self.x, 1);
        self.factors.project(theta, 1);
        let (qr, gram);
        let system: &dyn OdeSystem = match self.factors.view() {
            FactorsView::Qr { r } => {
                qr = ReducedLogistic {
                    r,
                    y: self.y,
                    c: self.c,
                    s: &self.s,
                };
                &qr
            }
            FactorsView::Gram { g, z0 } => {
                gram = DualLogistic {
                    g,
                    z0,
                    y: self.y,
                    c: self.c,
                    s: &self.s,
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
        format!("reduced logistic flow ({})", self.core.integrator().label())
    }
}
