//! The reduced nonlinear local flow of a batch, generic over its model
//! (logistic or softmax regression): construction, coordinates, integrator,
//! the flows of every batch and the [`FlowMap`] advance, written once.

use nalgebra::DMatrix;

use super::FactorizationMethod;
use super::reduced::{FactorsView, LocalFactors, ReducedCore};
use crate::error::{Result, check_dim};
use crate::objective::FiniteSum;
use crate::splitting::{FlowMap, FlowStats};
use crate::{AdaptiveOptions, Integrator, OdeSystem, Order, State, Stats};

/// The model half of a reduced flow, sealed: the crate implements it for
/// [`LogisticModel`](super::LogisticModel) and
/// [`SoftmaxModel`](super::SoftmaxModel) only.
pub(crate) mod sealed {
    use super::*;

    /// What a model adds to the shared machinery of [`ReducedFlow`].
    pub trait Model: 'static {
        /// The batch labels (a vector, or one-hot rows of a matrix).
        type Labels: Sync + 'static;
        /// The finite sum whose batches the flows of
        /// [`ReducedFlow::for_batches`] integrate.
        type Problem: FiniteSum;
        /// The field's workspaces.
        type Work: Send + 'static;
        /// The model's name in [`FlowMap::name`].
        const NAME: &'static str;
        /// The parameters' name in dimension errors.
        const PARAMETERS: &'static str;
        /// The number of label rows (the batch size).
        fn label_rows(y: &Self::Labels) -> usize;
        /// The number of columns of Θ (1 for a vector θ).
        fn classes(y: &Self::Labels) -> usize;
        /// The field's workspaces for labels `y`.
        fn work(y: &Self::Labels) -> Self::Work;
        /// Batch `i` of a problem.
        fn batch(problem: &Self::Problem, i: usize) -> (&DMatrix<f64>, &Self::Labels);
        /// Runs `run` on the reduced field of labels `y` and scale `c` in
        /// the coordinates of `view`.
        fn with_field<R>(
            work: &mut Self::Work,
            view: FactorsView<'_>,
            y: &Self::Labels,
            c: f64,
            run: impl FnOnce(&dyn OdeSystem) -> R,
        ) -> R;
    }
}

/// The model of a [`ReducedFlow`]: the generalized linear loss whose local
/// ODE it integrates ([`LogisticModel`](super::LogisticModel),
/// [`SoftmaxModel`](super::SoftmaxModel); sealed).
pub trait ReducedModel: sealed::Model {}

/// The local problem of a batch `(X, Y)` of a generalized linear model,
/// `Θ' = −c Xᵀ(s(XΘ) − Y)` with `c = 1/(m·b)` and the model's link `s`,
/// integrated in reduced coordinates: `H = QᵀΘ` (`Xᵀ = QR`),
///
/// $$ H' = −c\\,R\\,(s(R^\top H) − Y), \qquad Θ(h) = Θ_0 + Q(H(h) − H(0)), $$
///
/// or, by default when `b ≤ p`, the Gram (dual) coordinates `Θ = Θ₀ + XᵀV`
/// ([`FactorizationMethod::Gram`], see [`with_factorization`](Self::with_factorization)):
///
/// $$ V' = −c\\,\big(s(XΘ_0 + XX^\top V) − Y\big),\quad V(0) = 0, \qquad Θ(h) = Θ_0 + X^\top V(h), $$
///
/// by adaptive Dormand–Prince (default `rtol = atol = 1e-8`) or by a fixed
/// number of sub-steps of any stepper
/// ([`with_integrator`](Self::with_integrator), [`Integrator`]). The models
/// are logistic regression ([`ReducedLogisticFlow`](super::ReducedLogisticFlow))
/// and softmax regression ([`ReducedSoftmaxFlow`](super::ReducedSoftmaxFlow)).
///
/// The factors (`Q` and `R`, or `Xᵀ` and `XXᵀ`) are computed on the first
/// advance; later advances reuse them and every workspace (no allocation,
/// see [`Integrator`]).
pub struct ReducedFlow<'a, M: ReducedModel> {
    x: &'a DMatrix<f64>,
    y: &'a M::Labels,
    c: f64,
    factors: LocalFactors,
    work: M::Work,
    core: ReducedCore,
}

impl<'a, M: ReducedModel> ReducedFlow<'a, M> {
    /// The reduced flow of batch `(x, y)` with scale `c`, integrated by
    /// adaptive Dormand–Prince with `options`.
    ///
    /// # Errors
    /// Dimension mismatch of `y`, `c ≤ 0`, invalid adaptive options.
    pub fn new(
        x: &'a DMatrix<f64>,
        y: &'a M::Labels,
        c: f64,
        options: AdaptiveOptions,
    ) -> Result<Self> {
        check_dim("batch labels", x.nrows(), M::label_rows(y))?;
        crate::error::check_positive("c", c)?;
        let core = ReducedCore::new(options)?;
        Ok(ReducedFlow {
            x,
            y,
            c,
            factors: LocalFactors::new(FactorizationMethod::default_for(x)),
            work: M::work(y),
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

    /// The reduced flows of every batch (`c = 1/(m·bᵢ)`), all in the default
    /// coordinates of the first (full) batch.
    ///
    /// # Errors
    /// Those of [`new`](Self::new).
    pub fn for_batches(problem: &'a M::Problem, options: AdaptiveOptions) -> Result<Vec<Self>> {
        let m = problem.num_batches();
        // One choice for all batches, by the full batch size (the first
        // batch's), so that a short last batch does not switch coordinates.
        let method = (m > 0).then(|| FactorizationMethod::default_for(M::batch(problem, 0).0));
        (0..m)
            .map(|i| {
                let (x, y) = M::batch(problem, i);
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

impl<M: ReducedModel> FlowMap for ReducedFlow<'_, M> {
    fn dim(&self) -> usize {
        self.x.ncols() * M::classes(self.y)
    }

    fn advance(&mut self, t: f64, h: f64, theta: &mut State) -> Result<()> {
        check_dim(M::PARAMETERS, self.dim(), theta.len())?;
        let classes = M::classes(self.y);
        self.factors.ensure(self.x, classes);
        self.factors.project(theta, classes);
        let ReducedFlow {
            y,
            c,
            factors,
            work,
            core,
            ..
        } = self;
        M::with_field(work, factors.view(), y, *c, |system| {
            core.integrate_and_lift(system, factors, t, h, theta)
        })
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
        format!(
            "reduced {} flow ({})",
            M::NAME,
            self.core.integrator().label()
        )
    }
}
