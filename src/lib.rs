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
//! Dependencies run one way, core ← applications (docs/architecture.md,
//! "Layers"; checked by `.ci/layering.sh`). The data flow is
//! objective → ODE system → stepper / [`Integrator`] → flow map →
//! splitting → optimizer → training executor.
//!
//! Core:
//!
//! * [`error`] — the one structured [`Error`] enum and [`Result`]; argument
//!   checks and the TOML-error conversion shared by the spec readers.
//! * [`order`] — [`Order`]: `Finite(p)` or `Exact`, carried as metadata by
//!   every stepper, integrator and flow map.
//! * [`system`] — [`OdeSystem`], a vector field `f(t, y)` written in place
//!   (optional Jacobian, [`Linearity`], dissipativity); [`FnSystem`],
//!   [`LinearSystem`] (with its exact flow) and the [`OdeSolversAdapter`].
//! * `kernels` (crate-private) — the hand-written slice loops: fused linear
//!   combinations and the non-finite probe, the row-major least-squares
//!   residual and gradient, the reduced `gemm`.
//! * [`steppers`] — the [`Stepper`] and [`EmbeddedStepper`] traits, [`Stats`],
//!   Butcher tableaus as data, [`ExplicitEuler`], [`ImplicitEuler`] (Newton,
//!   in-place LU), [`Rk4`], [`Rk45`], and [`ExplicitRk`] on any
//!   [`ButcherTableau`] (Heun 2, Ralston 3, Bogacki–Shampine 3(2), Tsitouras
//!   5(4), DOP853, …); [`stepper_by_name`] maps every stepper name to one.
//! * [`integrate`](mod@integrate) — how a span is covered ([`Steps`]: fixed count, maximum
//!   size or adaptive with [`AdaptiveOptions`]), the driver ([`integrate()`],
//!   [`integrate_with`] with a [`Record`], the allocation-free
//!   [`integrate_in_place`]), [`Solution`], [`DenseOutput`], and the
//!   [`Integrator`] (a stepper, its steps and reused workspaces).
//! * [`objective`] — objectives and finite sums `f = (1/m) Σᵢ fᵢ`.
//! * [`flows`] — gradient, local, heavy-ball, adaptive-method (RMSProp,
//!   Adam, AdaGrad) and Newton flows as ODE systems.
//! * [`splitting`] — flow maps and their compositions (Lie, Strang, Yoshida,
//!   Suzuki, McLachlan, custom), nesting, piece-order policies, and
//!   `integrate_flow`, the driver of any flow map over a span.
//! * [`reduction`] — the QR reduction of a batch's local ODE: the exact
//!   least-squares flow and the reduced logistic and softmax flows.
//! * [`problems`] — finite sums over fixed batches (`batches`,
//!   `least_squares`, `logistic`, `softmax`); its `data` and `tomography`
//!   modules are applications.
//! * [`optimizers`] — the `Optimizer` trait and gradient oracles; textbook
//!   optimizers built from an ODE, a scheme and a parameter map; the
//!   splitting optimizer; `OptimizerSpec` (textbook or ODE form, `explain`).
//! * [`train`] — the training `Executor`: the method says one step, the
//!   executor owns the loop, batch order, cadences, observers, budget and
//!   the `Termination`.
//! * [`convergence`] — observed order from refinement studies
//!   ([`ConvergenceStudy`], [`ConvergenceReport`]) and the TOML study specs
//!   behind `splitflow order`.
//! * [`test_models`] — problems with exact solutions (and Lorenz, van der
//!   Pol, Kepler) shared by tests, studies and benchmarks.
//!
//! Applications:
//!
//! * [`paper`] — the seed paper's experiments behind `splitflow paper`.
//!
//! Also core: [`random`] — the one named seeded generator ([`random::seeded_rng`]).
//! * `plot` (feature `plot`) — SVG convergence plots, loss curves and
//!   learning-rate sweeps.
//! * `problems::data` (data sets and loaders) and `problems::tomography`
//!   (tomography matrices and the Shepp–Logan phantom).
//! * the `splitflow` binary (feature `cli`, `src/bin/splitflow/`).
//!
//! Re-exported at the root: [`State`]; [`Error`], [`Result`]; [`Order`];
//! the system types ([`OdeSystem`], [`FnSystem`], [`LinearSystem`],
//! [`Linearity`], [`OdeSolversAdapter`]); the steppers ([`Stepper`],
//! [`EmbeddedStepper`], [`Stats`], [`Tolerance`], [`NewtonOptions`],
//! [`ExplicitEuler`], [`ImplicitEuler`], [`Rk4`], [`Rk45`], [`ExplicitRk`],
//! [`ButcherTableau`], [`stepper_by_name`], [`STEPPER_NAMES`]); the driver
//! ([`integrate()`], [`integrate_with`], [`integrate_in_place`], [`Steps`],
//! [`AdaptiveOptions`], [`Record`], [`Solution`], [`DenseOutput`],
//! [`DriverWorkspace`], [`Integrator`]); and [`ConvergenceStudy`],
//! [`ConvergenceReport`].
//!
//! The Rust examples of `README.md` and `docs/getting-started.md` run as
//! doc-tests too.
#![warn(missing_docs)]

pub mod convergence;
pub mod error;
pub mod flows;
pub mod integrate;
mod kernels;
pub mod limits;
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
mod workspace;

/// The state of every system: a dense column vector of `f64`.
pub type State = nalgebra::DVector<f64>;

pub use convergence::{ConvergenceReport, ConvergenceStudy};
pub use error::{Error, Result};
pub use integrate::{
    AdaptiveOptions, DenseOutput, DriverWorkspace, Integrator, Record, SmallSolution, Solution,
    Steps, integrate, integrate_in_place, integrate_small, integrate_with,
};
pub use order::Order;
pub use steppers::{
    ButcherTableau, EmbeddedStepper, ExplicitEuler, ExplicitRk, ImplicitEuler, NewtonOptions, Rk4,
    Rk45, STEPPER_NAMES, SmallRk, Stats, Stepper, Tolerance, stepper_by_name,
};
pub use system::{FnSystem, LinearSystem, Linearity, OdeSolversAdapter, OdeSystem, SmallSystem};

/// The Rust examples of `README.md`, compiled and run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The Rust examples of `docs/getting-started.md`, compiled and run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/getting-started.md")]
pub struct GettingStartedDoctests;
