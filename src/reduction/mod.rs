//! QR reduction of a batch's local ODE (Merkulov & Oseledets).
//!
//! For a generalized linear loss `fᵢ(θ) = φᵢ(Xᵢθ)` with `Xᵢ ∈ ℝ^{b×p}`, the
//! local field `−c Xᵢᵀ φᵢ'(Xᵢθ)` lies in `range(Xᵢᵀ)`. With the thin QR
//! `Xᵢᵀ = QᵢRᵢ` and `η = Qᵢᵀθ ∈ ℝᵏ` (k = min(b, p)), the component of θ
//! orthogonal to `range(Qᵢ)` does not move and
//!
//! $$ θ(h) = θ_0 + Q_i\,(η(h) − η(0)), $$
//!
//! where η solves a k-dimensional ODE: closed form for least squares
//! ([`ExactLeastSquaresFlow`]), an adaptive Runge–Kutta run or fixed
//! sub-steps of any stepper (an [`Integrator`](crate::Integrator), see below) for logistic and softmax
//! regression ([`ReducedLogisticFlow`], [`ReducedSoftmaxFlow`]).
//! Factorizations are computed once per batch, lazily on first use (or all at
//! once with [`factorize_all`]), and reused every epoch.
//!
//! When `b ≤ p` the nonlinear flows integrate, by default, the same local ODE in the Gram
//! (dual) coordinates `θ = θ₀ + Xᵢᵀv`, `v' = −c(σ(Xᵢθ₀ + XᵢXᵢᵀv) − y)`,
//! `v(0) = 0` ([`FactorizationMethod::Gram`]): one b×b product per
//! evaluation instead of two k×b ones and no QR. `with_factorization(FactorizationMethod::Qr)`
//! selects the `η = Qᵢᵀθ` coordinates above; adaptive advances of the two
//! agree to the tolerance, fixed explicit sub-steps to round-off
//! (docs/theory.md §4.5.1).
//!
//! ## Local integration
//!
//! How a reduced flow ([`ReducedLogisticFlow`],
//! [`ReducedSoftmaxFlow`]) integrates its reduced
//! ODE `η' = g(η)` over one advance `[t, t + h]`, from `η₀ = Qᵀθ₀` to
//! `η(h)`, with its [`Integrator`](crate::Integrator); the flow then lifts
//! `θ = θ₀ + Q(η(h) − η₀)` (in Gram coordinates: `v` from 0, `θ = θ₀ + Xᵀv(h)`).
//!
//! * Adaptive steps (the default: Dormand–Prince 5(4), `rtol = atol = 1e-8`):
//!   the same controller and step sequence as [`integrate`](crate::integrate())
//!   in [`Steps::Adaptive`](crate::Steps::Adaptive) mode. The flow reports
//!   [`Order::Exact`](crate::Order::Exact) (its error is set by the
//!   tolerance, not by h).
//! * `n` fixed sub-steps of any [`Stepper`](crate::Stepper) `Φ`: the flow
//!   reports the stepper's order, and
//!
//! $$ η_{j+1} = Φ_{h/n}(t + j h/n,\ η_j),\quad j = 0,…,n−1,\qquad
//!    θ = θ_0 + Q(η_n − η_0). $$
//!
//! Every explicit Runge–Kutta method is affine-covariant and the full local
//! field is `f(θ) = Q g(Qᵀθ)` with `QᵀQ = I` (in Gram coordinates the
//! linear map `v ↦ θ₀ + Xᵀv` carries the v-field to it), so these iterates are the
//! stepper's iterates on the full p-dimensional local ODE up to round-off
//! (implicit Euler's up to its Newton tolerance): with `ExplicitEuler`, one
//! sub-step and `h = α·m` the advance is one SGD step on the batch.
//!
//! Errors of an advance are those of [`Integrator::advance`](crate::Integrator::advance); θ is left
//! unchanged on error. After the first advance of a flow, advances allocate
//! nothing: the reduced state, the stage vectors and the controller's
//! workspace are reused.
//!
//! # Example
//! ```
//! use nalgebra::{DMatrix, DVector};
//! use splitflow::reduction::ReducedLogisticFlow;
//! use splitflow::splitting::FlowMap;
//! use splitflow::{Integrator, Order, Rk4, State};
//! let x = DMatrix::from_row_slice(2, 3, &[1.0, 0.0, 2.0, 0.0, 1.0, -1.0]);
//! let y = DVector::from_vec(vec![1.0, 0.0]);
//! let opts = ReducedLogisticFlow::default_options();
//! let mut flow = ReducedLogisticFlow::new(&x, &y, 0.5, opts)?
//!     .with_integrator(Integrator::fixed(Rk4::new(), 8)?);
//! assert_eq!(flow.order(), Order::Finite(4));
//! let mut theta = State::zeros(3);
//! flow.advance(0.0, 1.0, &mut theta)?;
//! assert_eq!(flow.solver_stats().f_evals, 32);
//! # Ok::<(), splitflow::Error>(())
//! ```

mod factorization;
mod least_squares;
mod logistic;
mod reduced;
mod reduced_flow;
mod softmax;

pub use factorization::{BatchFactorization, FactorizationMethod};
pub use least_squares::{ExactLeastSquaresFlow, LocalScheme, factorize_all};
pub use logistic::{LogisticModel, ReducedLogisticFlow};
pub use reduced_flow::{ReducedFlow, ReducedModel};
pub use softmax::{ReducedSoftmaxFlow, SoftmaxModel};
