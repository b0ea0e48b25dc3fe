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
//! sub-steps of any stepper ([`ReducedIntegrator`]) for logistic and softmax
//! regression ([`ReducedLogisticFlow`], [`ReducedSoftmaxFlow`]).
//! Factorizations are computed once per batch, lazily on first use (or all at
//! once with [`factorize_all`]), and reused every epoch.

mod factorization;
mod least_squares;
mod logistic;
mod reduced;
mod softmax;

pub use factorization::{BatchFactorization, FactorizationMethod};
pub use least_squares::{ExactLeastSquaresFlow, LocalScheme, factorize_all};
pub use logistic::ReducedLogisticFlow;
pub use reduced::ReducedIntegrator;
pub use softmax::ReducedSoftmaxFlow;
