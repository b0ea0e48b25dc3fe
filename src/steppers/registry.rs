//! The one map from stepper names (as written in specs and on the command
//! line) to steppers.

use super::tableau::{self, ButcherTableau};
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

/// The tableau of an explicit method by its name in [`STEPPER_NAMES`]
/// (`explicit_euler` is [`tableau::EULER`], `rk4` [`tableau::RK4`], `rk45`
/// [`tableau::DOPRI5`]); `None` for `implicit_euler` and unknown names.
///
/// # Example
/// ```
/// use splitflow::steppers::{explicit_tableau, tableau, STEPPER_NAMES};
/// assert_eq!(explicit_tableau("rk45"), Some(tableau::DOPRI5));
/// let explicit = STEPPER_NAMES.iter().filter(|n| explicit_tableau(n).is_some()).count();
/// assert_eq!(explicit, STEPPER_NAMES.len() - 1); // all but implicit_euler
/// ```
pub fn explicit_tableau(name: &str) -> Option<ButcherTableau> {
    Some(match name {
        "explicit_euler" => tableau::EULER,
        "heun2" => tableau::HEUN2,
        "ralston3" => tableau::RALSTON3,
        "bs3" => tableau::BS3,
        "rk4" => tableau::RK4,
        "rk45" => tableau::DOPRI5,
        "tsit5" => tableau::TSIT5,
        "dop853" => tableau::DOP853,
        _ => return None,
    })
}

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
    Ok(match (name, explicit_tableau(name)) {
        ("explicit_euler", _) => Box::new(ExplicitEuler::new()),
        ("implicit_euler", _) => Box::new(ImplicitEuler::new()),
        ("rk4", _) => Box::new(Rk4::new()),
        ("rk45", _) => Box::new(Rk45::new()),
        (_, Some(tableau)) => Box::new(ExplicitRk::new(tableau)?),
        (other, None) => {
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
