//! Optimization flows as ODE systems.
//!
//! | flow | ODE | state |
//! |---|---|---|
//! | [`GradientFlow`] | θ' = −∇f(θ) | θ |
//! | [`LocalFlow`] | θ' = −(1/m)∇fᵢ(θ) | θ |
//! | [`HeavyBall`] | ẍ + γ(t)ẋ + ∇f(x) = 0 | [x; v] |
//! | [`RmsPropFlow`], [`AdamFlow`], [`AdaGradFlow`] | THEORY §6 | [x; m; v] parts |
//! | [`NewtonFlow`] | θ' = −H(θ)⁻¹∇f(θ) | θ |

mod adaptive;
mod gradient_flow;
mod heavy_ball;
mod local;
mod newton;

pub use adaptive::{AdaGradFlow, AdamFlow, BiasCorrection, RmsPropFlow};
pub use gradient_flow::{GradientFlow, LossIncrease, first_loss_increase};
pub use heavy_ball::{Friction, HeavyBall};
pub use local::{LocalFlow, local_flows};
pub use newton::NewtonFlow;
