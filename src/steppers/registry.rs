//! The one map from stepper names (as written in specs and on the command
//! line) to steppers.

use super::{ExplicitEuler, ExplicitRk, ImplicitEuler, Rk4, Rk45, Stepper};
use crate::error::{Error, Result};

/// Every name [`stepper_by_name`] accepts, in order of increasing order.
pub const STEPPER_NAMES: [&str; 9] = [
    "explicit_euler",
    "implicit_euler",
    "heun2",
    "ralston3",
    "bs3",
    "rk4",
    "rk45",
    "tsit5",
    "dop853",
];

/// Builds a stepper from its name: `explicit_euler`, `implicit_euler`,
/// `rk4` ([`Rk4`]) and `rk45` ([`Rk45`]) are the hand-written steppers;
/// `heun2`, `ralston3`, `bs3`, `tsit5` and `dop853` are [`ExplicitRk`] on
/// the tableau of that name.
///
/// # Errors
/// [`Error::Spec`] for an unknown name, listing [`STEPPER_NAMES`].
///
/// # Example
/// ```
/// use splitflow::steppers::{stepper_by_name, STEPPER_NAMES};
/// for name in STEPPER_NAMES {
///     assert_eq!(stepper_by_name(name)?.name(), name);
/// }
/// assert!(stepper_by_name("rk5").is_err());
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn stepper_by_name(name: &str) -> Result<Box<dyn Stepper>> {
    Ok(match name {
        "explicit_euler" => Box::new(ExplicitEuler::new()),
        "implicit_euler" => Box::new(ImplicitEuler::new()),
        "rk4" => Box::new(Rk4::new()),
        "rk45" => Box::new(Rk45::new()),
        "heun2" => Box::new(ExplicitRk::heun2()),
        "ralston3" => Box::new(ExplicitRk::ralston3()),
        "bs3" => Box::new(ExplicitRk::bs3()),
        "tsit5" => Box::new(ExplicitRk::tsit5()),
        "dop853" => Box::new(ExplicitRk::dop853()),
        other => {
            return Err(Error::Spec {
                message: format!(
                    "unknown stepper `{other}` (expected one of {})",
                    STEPPER_NAMES.join(", ")
                ),
                line: None,
            });
        }
    })
}
