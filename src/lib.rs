//! # splitflow
//!
//! Optimization algorithms as discretized ODEs. Gradient descent is explicit
//! Euler on the gradient flow θ' = −∇f(θ); one SGD epoch is a Lie splitting
//! of that flow over mini-batches with explicit-Euler sub-steps. splitflow
//! makes this view executable: ODE systems, steppers with their order as
//! metadata, an integration driver, and measured convergence order.
//!
//! ## A first integration
//!
//! ```
//! use splitflow::{integrate, FnSystem, Rk4, State, Steps};
//!
//! // y' = −y, y(0) = 1, integrated to t = 1 with 50 RK4 steps.
//! let decay = FnSystem::new(1, |_t, y: &State, dy: &mut State| dy[0] = -y[0]);
//! let sol = integrate(&decay, &mut Rk4::new(), 0.0, 1.0, &State::from_element(1, 1.0),
//!                     &Steps::Fixed(50))?;
//! assert!((sol.y[0] - (-1.0f64).exp()).abs() < 1e-9);
//! # Ok::<(), splitflow::Error>(())
//! ```
//!
//! ## Measuring the order of a method
//!
//! ```
//! use splitflow::{integrate, ConvergenceStudy, ExplicitEuler, FnSystem, State, Steps};
//!
//! let decay = FnSystem::new(1, |_t, y: &State, dy: &mut State| dy[0] = -y[0]);
//! let y0 = State::from_element(1, 1.0);
//! let exact = State::from_element(1, (-1.0f64).exp());
//! let report = ConvergenceStudy::new(vec![20, 40, 80, 160, 320], 1.0)
//!     .run(&exact, |n| Ok(integrate(&decay, &mut ExplicitEuler::new(), 0.0, 1.0, &y0,
//!                                     &Steps::Fixed(n))?.y))?;
//! assert!((report.fitted_order - 1.0).abs() < 0.05);
//! # Ok::<(), splitflow::Error>(())
//! ```
//!
//! ## Map of the crate
//!
//! * [`OdeSystem`] — a vector field `f(t, y)` written in place; [`FnSystem`],
//!   [`LinearSystem`] (with its exact flow) and the [`OdeSolversAdapter`].
//! * [`steppers`] — [`ExplicitEuler`], [`ImplicitEuler`], [`Rk4`], [`Rk45`],
//!   and [`ExplicitRk`] on any [`ButcherTableau`] (Heun, Ralston, BS3, Tsit5,
//!   DOP853, …), each with its [`Order`]; [`stepper_by_name`] maps names to them.
//! * [`integrate()`] — fixed or adaptive driving over `[t0, t1]`.
//! * [`convergence`] — observed order from refinement studies, and the
//!   TOML study specs behind `splitflow order`.
//! * [`objective`] — objectives and finite sums; [`flows`] — gradient,
//!   local, heavy-ball, adaptive-method and Newton flows as ODE systems.
//! * [`splitting`] — flow maps and their compositions (Lie, Strang, Yoshida,
//!   Suzuki, McLachlan, custom), nesting, piece-order policies.
//! * [`test_models`] — problems with exact solutions shared by tests,
//!   studies and benchmarks.
#![warn(missing_docs)]

pub mod convergence;
pub mod error;
pub mod flows;
pub mod integrate;
mod kernels;
pub mod objective;
pub mod optimizers;
pub mod order;
pub mod paper;
#[cfg(feature = "plot")]
pub mod plot;
pub mod problems;
pub mod random;
pub mod reduction;
pub mod splitting;
pub mod steppers;
pub mod system;
pub mod test_models;
pub mod train;

/// The state of every system: a dense column vector of `f64`.
pub type State = nalgebra::DVector<f64>;

pub use convergence::{ConvergenceReport, ConvergenceStudy};
pub use error::{Error, Result};
pub use integrate::{
    AdaptiveOptions, DenseOutput, DriverWorkspace, Integrator, Record, Solution, Steps, integrate,
    integrate_in_place, integrate_with,
};
pub use order::Order;
pub use steppers::{
    ButcherTableau, EmbeddedStepper, ExplicitEuler, ExplicitRk, ImplicitEuler, NewtonOptions, Rk4,
    Rk45, STEPPER_NAMES, Stats, Stepper, Tolerance, stepper_by_name,
};
pub use system::{FnSystem, LinearSystem, Linearity, OdeSolversAdapter, OdeSystem};
