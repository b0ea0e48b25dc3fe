//! Machinery shared by the QR-reduced nonlinear local flows: the choice of
//! local integrator, the lazy factorization, projection, integration and lift.

use std::fmt;

use nalgebra::{DMatrix, DMatrixView, DMatrixViewMut};

use super::factorization::thin_qr_of_transpose;
use crate::error::{Error, Result};
use crate::integrate::{AdaptiveWork, integrate_adaptive_in_place};
use crate::kernels::gemm_acc;
use crate::splitting::FlowStats;
use crate::{AdaptiveOptions, OdeSystem, Order, Rk45, State, Stats, Stepper};

/// How a reduced flow ([`ReducedLogisticFlow`](super::ReducedLogisticFlow),
/// [`ReducedSoftmaxFlow`](super::ReducedSoftmaxFlow)) integrates its
/// reduced ODE `η' = g(η)` over one advance `[t, t + h]`, from
/// `η₀ = Qᵀθ₀` to `η(h)`; the flow then lifts `θ = θ₀ + Q(η(h) − η₀)`.
///
/// * [`Adaptive`](Self::Adaptive): Dormand–Prince 5(4) with Hairer's PI
///   controller, the same controller and step sequence as
///   [`integrate`](crate::integrate()) in [`Steps::Adaptive`](crate::Steps::Adaptive)
///   mode. The flow reports [`Order::Exact`] (its error is set by the
///   tolerance, not by h).
/// * [`Fixed`](Self::Fixed): `n` equal sub-steps of any [`Stepper`] (see
///   the formula below); the flow reports the stepper's order.
///
/// With `n` fixed sub-steps of a one-step map `Φ`:
///
/// $$ η_{j+1} = Φ_{h/n}(t + j\,h/n,\ η_j),\quad j = 0,…,n−1,\qquad
///    θ = θ_0 + Q(η_n − η_0). $$
///
/// Every explicit Runge–Kutta method is affine-covariant and the full local
/// field is `f(θ) = Q g(Qᵀθ)` with `QᵀQ = I`, so these iterates are the
/// stepper's iterates on the full p-dimensional local ODE up to round-off
/// (implicit Euler's up to its Newton tolerance): with `ExplicitEuler`, one
/// sub-step and `h = α·m` the advance is one SGD step on the batch.
///
/// Errors of an advance: those of [`integrate`](crate::integrate()) for
/// adaptive runs ([`Error::StepSizeUnderflow`](crate::Error::StepSizeUnderflow),
/// [`Error::MaxStepsExceeded`](crate::Error::MaxStepsExceeded),
/// [`Error::NonFinite`](crate::Error::NonFinite), …), those of
/// [`Stepper::step`] for fixed sub-steps; θ is left unchanged on error.
///
/// After the first advance of a flow, advances allocate nothing with
/// [`Adaptive`](Self::Adaptive) and with fixed sub-steps of
/// [`ExplicitEuler`](crate::ExplicitEuler), [`Rk4`](crate::Rk4) or
/// [`Rk45`]: the reduced state, the stage vectors and the
/// controller's workspace are reused. ([`ImplicitEuler`](crate::ImplicitEuler)
/// allocates a fresh k×k Newton matrix per Newton iteration inside the
/// stepper.)
///
/// # Example
/// ```
/// use nalgebra::{DMatrix, DVector};
/// use splitflow::reduction::{ReducedIntegrator, ReducedLogisticFlow};
/// use splitflow::splitting::FlowMap;
/// use splitflow::{Order, Rk4, State};
/// let x = DMatrix::from_row_slice(2, 3, &[1.0, 0.0, 2.0, 0.0, 1.0, -1.0]);
/// let y = DVector::from_vec(vec![1.0, 0.0]);
/// let opts = ReducedLogisticFlow::default_options();
/// let mut flow = ReducedLogisticFlow::new(&x, &y, 0.5, opts)?
///     .with_integrator(ReducedIntegrator::fixed(Rk4::new(), 8))?;
/// assert_eq!(flow.order(), Order::Finite(4));
/// let mut theta = State::zeros(3);
/// flow.advance(0.0, 1.0, &mut theta)?;
/// assert_eq!(flow.solver_stats().f_evals, 32);
/// # Ok::<(), splitflow::Error>(())
/// ```
pub enum ReducedIntegrator {
    /// Adaptive Dormand–Prince ([`Rk45`]) over `[t, t + h]` with these settings.
    Adaptive(AdaptiveOptions),
    /// `steps` equal sub-steps of size `h/steps` of `stepper`.
    Fixed {
        /// The one-step method (its workspaces are reused across advances).
        stepper: Box<dyn Stepper>,
        /// Number of sub-steps per advance (≥ 1).
        steps: usize,
    },
}

impl ReducedIntegrator {
    /// `steps` fixed sub-steps of `stepper` per advance.
    pub fn fixed(stepper: impl Stepper + 'static, steps: usize) -> Self {
        ReducedIntegrator::Fixed {
            stepper: Box::new(stepper),
            steps,
        }
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for zero sub-steps or invalid adaptive
    /// options (tolerances, step bounds, step budget, controller factors).
    pub fn validate(&self) -> Result<()> {
        match self {
            ReducedIntegrator::Adaptive(opts) => opts.validate(),
            ReducedIntegrator::Fixed { steps: 0, .. } => {
                Err(Error::invalid("steps", 0, "need at least one sub-step"))
            }
            ReducedIntegrator::Fixed { .. } => Ok(()),
        }
    }

    /// The order a flow integrated this way reports: [`Order::Exact`] for
    /// adaptive runs, the stepper's order for fixed sub-steps.
    pub fn order(&self) -> Order {
        match self {
            ReducedIntegrator::Adaptive(_) => Order::Exact,
            ReducedIntegrator::Fixed { stepper, .. } => stepper.order(),
        }
    }

    /// Short description: `"rk45"` (adaptive) or `"<stepper> x<steps>"`.
    pub fn label(&self) -> String {
        match self {
            ReducedIntegrator::Adaptive(_) => "rk45".into(),
            ReducedIntegrator::Fixed { stepper, steps } => {
                format!("{} x{steps}", stepper.name())
            }
        }
    }
}

impl Default for ReducedIntegrator {
    /// Adaptive Dormand–Prince with `rtol = atol = 1e-8` (the paper used ≈ 1.5e-8).
    fn default() -> Self {
        ReducedIntegrator::Adaptive(AdaptiveOptions {
            rtol: 1e-8,
            atol: 1e-8,
            ..Default::default()
        })
    }
}

impl From<AdaptiveOptions> for ReducedIntegrator {
    fn from(options: AdaptiveOptions) -> Self {
        ReducedIntegrator::Adaptive(options)
    }
}

impl fmt::Debug for ReducedIntegrator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReducedIntegrator::Adaptive(opts) => f.debug_tuple("Adaptive").field(opts).finish(),
            ReducedIntegrator::Fixed { stepper, steps } => f
                .debug_struct("Fixed")
                .field("stepper", &stepper.name())
                .field("steps", steps)
                .finish(),
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
    integrator: ReducedIntegrator,
    rk45: Rk45,
    work: AdaptiveWork,
    stats: Stats,
    advances: usize,
}

impl ReducedCore {
    /// A core integrating with `integrator`.
    ///
    /// # Errors
    /// Those of [`ReducedIntegrator::validate`].
    pub(crate) fn new(integrator: ReducedIntegrator) -> Result<Self> {
        integrator.validate()?;
        Ok(ReducedCore {
            q: DMatrix::zeros(0, 0),
            eta0: State::zeros(0),
            eta: State::zeros(0),
            integrator,
            rk45: Rk45::new(),
            work: AdaptiveWork::default(),
            stats: Stats::default(),
            advances: 0,
        })
    }

    /// Replaces the integrator.
    ///
    /// # Errors
    /// Those of [`ReducedIntegrator::validate`].
    pub(crate) fn set_integrator(&mut self, integrator: ReducedIntegrator) -> Result<()> {
        integrator.validate()?;
        self.integrator = integrator;
        Ok(())
    }

    pub(crate) fn integrator(&self) -> &ReducedIntegrator {
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
        match &mut self.integrator {
            ReducedIntegrator::Adaptive(opts) => integrate_adaptive_in_place(
                system,
                &mut self.rk45,
                t,
                t + h,
                &mut self.eta,
                opts,
                &mut self.work,
                &mut self.stats,
            )?,
            ReducedIntegrator::Fixed { stepper, steps } => {
                let dt = h / *steps as f64;
                for j in 0..*steps {
                    stepper.step(
                        system,
                        t + j as f64 * dt,
                        dt,
                        &mut self.eta,
                        &mut self.stats,
                    )?;
                }
            }
        }
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
        self.stats
    }

    pub(crate) fn flow_stats(&self) -> FlowStats {
        FlowStats {
            advances: self.advances,
            f_evals: self.stats.f_evals,
        }
    }
}
