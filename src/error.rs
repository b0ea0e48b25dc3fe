//! The crate's error type: one enum with structured, contextual variants.
//!
//! Every fallible public function returns [`Result<T>`]. Variants carry what
//! went wrong *and where*: the time `t`, the step size `h`, the step count,
//! the expected and found dimensions, or the parameter's name and value, so a
//! caller can both print a clear message and react programmatically.

use crate::State;

mod spec;

pub(crate) use spec::toml_error;

/// Result alias used throughout splitflow.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in splitflow.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A vector or matrix had the wrong size.
    #[error("dimension mismatch in {what}: expected {expected}, found {found}")]
    DimensionMismatch {
        /// Which argument or object was checked.
        what: String,
        /// The size that was required.
        expected: usize,
        /// The size that was given.
        found: usize,
    },
    /// A NaN or infinity appeared (in an input, or produced by a right-hand side).
    #[error("non-finite value in {what}{}", at_time(.t))]
    NonFinite {
        /// Where the value was found.
        what: String,
        /// Which kind of quantity it was (an input, a computed state, a
        /// gradient, parameters, an optimizer's state).
        kind: NonFiniteKind,
        /// The time at which it was found; `None` when no time applies (a
        /// matrix given by the caller, an optimizer's step, which is counted,
        /// not timed).
        t: Option<f64>,
    },
    /// A parameter is out of its valid range.
    #[error("invalid parameter `{name}` = {value}: {reason}")]
    InvalidParameter {
        /// The parameter's name.
        name: String,
        /// Its value, as text.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The adaptive step size fell below the minimum (or below round-off of `t`).
    #[error("step size underflow at t = {}: h = {h:e}", Float(*.t))]
    StepSizeUnderflow {
        /// Time reached.
        t: f64,
        /// The step size that was too small.
        h: f64,
    },
    /// The step budget ran out before the end time was reached.
    #[error("step budget exhausted at t = {} after {steps} steps", Float(*.t))]
    MaxStepsExceeded {
        /// Time reached.
        t: f64,
        /// Steps attempted.
        steps: usize,
    },
    /// Newton's iteration in an implicit method did not converge.
    #[error(
        "Newton iteration did not converge at t = {} after {iterations} iterations (last scaled correction {correction:e})",
        Float(*.t)
    )]
    NewtonFailed {
        /// Time of the step's end.
        t: f64,
        /// Iterations done.
        iterations: usize,
        /// Weighted RMS norm of the last Newton correction.
        correction: f64,
    },
    /// The fixed-point iteration `z ← θ − h∇f(z)` of an implicit optimizer
    /// step did not converge (or its iterate overflowed).
    #[error(
        "fixed-point iteration of the implicit step did not converge at step {step} after {iterations} iterations (last relative change {})",
        Float(*.change)
    )]
    FixedPointFailed {
        /// The 1-based number of the optimizer step.
        step: usize,
        /// Iterations done.
        iterations: usize,
        /// The last relative change ‖z₊ − z‖∞ / (1 + ‖z₊‖∞) (∞ when no
        /// iteration was done, not finite when the iterate overflowed).
        change: f64,
    },
    /// A linear solve met a singular matrix.
    #[error("singular matrix in {what}{}", at_time(.t))]
    SingularMatrix {
        /// Which solve failed.
        what: String,
        /// Time at which it failed; `None` when no time applies.
        t: Option<f64>,
    },
    /// A malformed specification file (TOML or JSON).
    #[error("{}", spec_message(.message, .line))]
    Spec {
        /// What is wrong, naming the field.
        message: String,
        /// 1-based line of the offending text, when known.
        line: Option<usize>,
    },
    /// Reading or writing a file failed.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A data file holds malformed content.
    #[error("{source_name}{}: {message}", at_line(.line))]
    Data {
        /// File or data-set name.
        source_name: String,
        /// 1-based line (or row) number; `None` for binary formats, which
        /// have no lines.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

/// A float for people to read: Rust's shortest round-trip text, in
/// scientific form when plain decimal would be long (|x| ≥ 10¹⁶ or < 10⁻⁵),
/// so no message shows a 309-digit number. Parsing the text gives `x` back
/// exactly. Width and alignment flags apply to the whole text.
///
/// ```
/// use splitflow::error::Float;
/// assert_eq!(Float(0.25).to_string(), "0.25");
/// assert_eq!(Float(1.25e11).to_string(), "125000000000");
/// assert_eq!(Float(1e300).to_string(), "1e300");
/// assert_eq!(Float(-3.5e-7).to_string(), "-3.5e-7");
/// assert_eq!(Float(f64::NAN).to_string(), "NaN");
/// let x = 0.1 + 0.2;
/// assert_eq!(Float(x).to_string().parse::<f64>().unwrap(), x);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Float(pub f64);

impl std::fmt::Display for Float {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let x = self.0;
        let plain = x == 0.0 || !x.is_finite() || (1e-5..1e16).contains(&x.abs());
        if plain {
            f.pad(&format!("{x}"))
        } else {
            f.pad(&format!("{x:e}"))
        }
    }
}

/// A value named in an error message: floats are written as [`Float`],
/// everything else by its `Display`.
pub trait ErrorValue {
    /// The value as it appears in the message.
    fn render(&self) -> String;
}

impl ErrorValue for f64 {
    fn render(&self) -> String {
        Float(*self).to_string()
    }
}

impl ErrorValue for f32 {
    fn render(&self) -> String {
        Float(f64::from(*self)).to_string()
    }
}

impl<T: ErrorValue + ?Sized> ErrorValue for &T {
    fn render(&self) -> String {
        (**self).render()
    }
}

/// `ErrorValue` by `Display` for types that are not floats.
macro_rules! error_value_by_display {
    ($($t:ty),* $(,)?) => {
        $(impl ErrorValue for $t {
            fn render(&self) -> String {
                self.to_string()
            }
        })*
    };
}

error_value_by_display!(
    Float, str, String, bool, char, u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize,
);

impl ErrorValue for std::fmt::Arguments<'_> {
    fn render(&self) -> String {
        self.to_string()
    }
}

/// What kind of quantity an [`Error::NonFinite`] found non-finite: the
/// [training executor](crate::train::Executor) reads it to report the right
/// [divergence](crate::train::Divergence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NonFiniteKind {
    /// A value given by the caller (an initial state, a time, a matrix).
    Input,
    /// A state computed by a step or a flow (a stepper's result, a Newton
    /// iterate, an exact flow's overflow, a splitting piece's output).
    State,
    /// A gradient returned by an oracle.
    Gradient,
    /// An optimizer's parameters θ (on entry to a step or produced by one).
    Parameters,
    /// An optimizer's state (velocities, moment estimates) produced by a step.
    OptimizerState,
}

/// `" at t = …"`, or nothing when no time applies.
fn at_time(t: &Option<f64>) -> String {
    t.map(|t| format!(" at t = {}", Float(t)))
        .unwrap_or_default()
}

/// `", line …"`, or nothing when the source has no lines.
fn at_line(line: &Option<usize>) -> String {
    line.map(|l| format!(", line {l}")).unwrap_or_default()
}

fn spec_message(message: &str, line: &Option<usize>) -> String {
    match line {
        Some(l) => format!("spec error at line {l}: {message}"),
        None => format!("spec error: {message}"),
    }
}

impl Error {
    /// Whether the error lies in what the caller gave (a usage error: a bad
    /// parameter, specification, data file or size) rather than in the work
    /// itself (I/O, a numerical failure).
    ///
    /// The `splitflow` binary exits with code 2 for usage errors and 1 for the
    /// others. Every variant is listed here, so a new one must be classified.
    ///
    /// ```
    /// use splitflow::Error;
    /// assert!(Error::invalid("h", -1.0, "must be > 0").is_usage_error());
    /// assert!(!Error::non_finite("y", 0.5).is_usage_error());
    /// ```
    pub fn is_usage_error(&self) -> bool {
        match self {
            Error::DimensionMismatch { .. }
            | Error::InvalidParameter { .. }
            | Error::Spec { .. }
            | Error::Data { .. } => true,
            Error::NonFinite { .. }
            | Error::StepSizeUnderflow { .. }
            | Error::MaxStepsExceeded { .. }
            | Error::NewtonFailed { .. }
            | Error::FixedPointFailed { .. }
            | Error::SingularMatrix { .. }
            | Error::Io { .. } => false,
        }
    }

    /// Shorthand for [`Error::InvalidParameter`]; a float value is written
    /// as [`Float`] (shortest round trip, scientific when very large or
    /// small), never in 309-digit full decimal.
    ///
    /// ```
    /// use splitflow::Error;
    /// let e = Error::invalid("flow.b", 1e308, "must be at most 1");
    /// assert_eq!(e.to_string(), "invalid parameter `flow.b` = 1e308: must be at most 1");
    /// ```
    pub fn invalid(name: &str, value: impl ErrorValue, reason: &str) -> Self {
        Error::InvalidParameter {
            name: name.to_string(),
            value: value.render(),
            reason: reason.to_string(),
        }
    }

    /// Shorthand for [`Error::DimensionMismatch`].
    pub fn dimension(what: &str, expected: usize, found: usize) -> Self {
        Error::DimensionMismatch {
            what: what.to_string(),
            expected,
            found,
        }
    }

    /// Shorthand for [`Error::NonFinite`] of a computed state
    /// ([`NonFiniteKind::State`]) at time `t`.
    ///
    /// ```
    /// use splitflow::Error;
    /// let e = Error::non_finite("RK4 step", 0.5);
    /// assert_eq!(e.to_string(), "non-finite value in RK4 step at t = 0.5");
    /// ```
    pub fn non_finite(what: &str, t: f64) -> Self {
        Self::non_finite_of(NonFiniteKind::State, what, Some(t))
    }

    /// Shorthand for [`Error::NonFinite`] of a value given by the caller
    /// ([`NonFiniteKind::Input`]), at time `t` when one applies.
    ///
    /// ```
    /// use splitflow::Error;
    /// let e = Error::non_finite_input("matrix A", None);
    /// assert_eq!(e.to_string(), "non-finite value in matrix A");
    /// ```
    pub fn non_finite_input(what: &str, t: Option<f64>) -> Self {
        Self::non_finite_of(NonFiniteKind::Input, what, t)
    }

    /// [`Error::NonFinite`] of any kind.
    pub fn non_finite_of(kind: NonFiniteKind, what: &str, t: Option<f64>) -> Self {
        Error::NonFinite {
            what: what.to_string(),
            kind,
            t,
        }
    }
}

/// Checks that `v` has length `expected`.
///
/// # Errors
/// [`Error::DimensionMismatch`] naming `what`.
pub fn check_dim(what: &str, expected: usize, found: usize) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::dimension(what, expected, found))
    }
}

/// Checks that every entry of the input `v` is finite.
///
/// # Errors
/// [`Error::NonFinite`] of kind [`NonFiniteKind::Input`] naming `what`, and
/// the time `t` of `v` when one applies.
pub fn check_finite(what: &str, v: &State, t: Option<f64>) -> Result<()> {
    if crate::kernels::all_finite(v.as_slice()) {
        Ok(())
    } else {
        Err(Error::non_finite_input(what, t))
    }
}

/// Checks that `value` is finite and strictly positive.
///
/// # Errors
/// [`Error::InvalidParameter`] naming `name`.
pub fn check_positive(name: &str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(name, Float(value), "must be finite and > 0"))
    }
}

/// Checks that `value` is finite and non-negative (ε, weight decay, friction,
/// noise levels, minimum step sizes).
///
/// # Errors
/// [`Error::InvalidParameter`] naming `name`.
pub fn check_nonnegative(name: &str, value: f64) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(name, Float(value), "must be finite and ≥ 0"))
    }
}
