//! Learning-rate schedules as variable steps: a schedule is a step sequence
//! h_k of the same ODE, one h_k per optimizer step k = 0, 1, 2, …
//!
//! A schedule changes the step of the discretization, not the flow: step k
//! of a [`GeneratedOptimizer`](super::GeneratedOptimizer) with a schedule is
//! one step h_k of its scheme, starting at the flow time t₀ + h₀ + … + h_{k−1}.
//! What a textbook method calls lr_k follows from the parameter map of its
//! scheme at h_k ([`Explanation::schedule`](super::Explanation) states both):
//! SGD lr_k = h_k; momentum lr_k = h_k² with momentum_k = φ(h_k)·h_k/h_{k−1}
//! (the friction factor of the step times the ratio of consecutive steps,
//! because the velocity is (x_k − x_{k−1})/h_{k−1}); Adam lr_k = h_k with
//! β_{i,k} = 1 − aᵢh_k.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, check_positive};

/// A user's schedule: `(k, h) ↦ h_k`.
pub type ScheduleFn = Arc<dyn Fn(usize, f64) -> f64 + Send + Sync>;

/// A step-size schedule `h_k` (k = 0, 1, … the optimizer step; h the
/// discretization's step).
///
/// | kind | h_k |
/// |---|---|
/// | `constant` | h |
/// | `step` | h·factor^⌊k/every⌋ |
/// | `exponential` | h·factor^k |
/// | `power` | h/(k + 1)^power |
/// | `cosine` | final + (h − final)(1 + cos(π·min(k, total)/total))/2 |
/// | `warmup` | h·min(1, (k + 1)/warmup) |
/// | `warmup_cosine` | h·(k + 1)/warmup for k < warmup, then `cosine` over the remaining total − warmup steps |
/// | custom | a closure (k, h) ↦ h_k |
///
/// # Example
/// ```
/// use splitflow::optimizers::Schedule;
/// let s = Schedule::step(7, 0.5)?;
/// assert_eq!(s.h_at(0.1, 6), 0.1);
/// assert_eq!(s.h_at(0.1, 7), 0.05);
/// let c = Schedule::cosine(10, 0.01)?;
/// assert!((c.h_at(0.1, 5) - 0.055).abs() < 1e-15);
/// assert_eq!(c.h_at(0.1, 10), 0.01);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Clone, Default)]
pub enum Schedule {
    /// h_k = h.
    #[default]
    Constant,
    /// h_k = h·factor^⌊k/every⌋.
    Step {
        /// Steps between decays (≥ 1).
        every: usize,
        /// Decay factor (> 0).
        factor: f64,
    },
    /// h_k = h·factor^k.
    Exponential {
        /// Factor per step (> 0).
        factor: f64,
    },
    /// h_k = h/(k + 1)^power.
    Power {
        /// The exponent p ≥ 0.
        power: f64,
    },
    /// h_k = final + (h − final)(1 + cos(π·min(k, total)/total))/2.
    Cosine {
        /// Steps of the half cosine (≥ 1).
        total: usize,
        /// The step after `total` steps (> 0).
        final_h: f64,
    },
    /// h_k = h·min(1, (k + 1)/warmup): linear warm-up.
    Warmup {
        /// Warm-up steps (≥ 1).
        warmup: usize,
    },
    /// Linear warm-up for `warmup` steps, then a cosine from h to `final`
    /// over the remaining `total − warmup` steps.
    WarmupCosine {
        /// Warm-up steps (≥ 1).
        warmup: usize,
        /// All steps, warm-up included (> warmup).
        total: usize,
        /// The step at the end (> 0).
        final_h: f64,
    },
    /// A user's closure (k, h) ↦ h_k; a value ≤ 0 or non-finite is an error
    /// at the step that asks for it.
    Custom(ScheduleFn),
}

impl std::fmt::Debug for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.formula())
    }
}

fn check_count(name: &str, v: usize) -> Result<()> {
    if v == 0 {
        Err(Error::invalid(name, 0, "must be at least 1"))
    } else {
        Ok(())
    }
}

fn half_cosine(h: f64, final_h: f64, k: usize, total: usize) -> f64 {
    let x = k.min(total) as f64 / total as f64;
    final_h + (h - final_h) * (1.0 + (std::f64::consts::PI * x).cos()) / 2.0
}

impl Schedule {
    /// `step`: h·factor^⌊k/every⌋.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `every` (0) or `factor` (≤ 0 or non-finite).
    pub fn step(every: usize, factor: f64) -> Result<Self> {
        check_count("every", every)?;
        check_positive("factor", factor)?;
        Ok(Schedule::Step { every, factor })
    }

    /// `exponential`: h·factor^k.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `factor` (≤ 0 or non-finite).
    pub fn exponential(factor: f64) -> Result<Self> {
        check_positive("factor", factor)?;
        Ok(Schedule::Exponential { factor })
    }

    /// `power`: h/(k + 1)^p.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `power` (< 0 or non-finite).
    pub fn power(power: f64) -> Result<Self> {
        crate::error::check_nonnegative("power", power)?;
        Ok(Schedule::Power { power })
    }

    /// `cosine` from h to `final_h` over `total` steps, then `final_h`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `total` (0) or `final` (≤ 0: the
    /// schedule would produce h ≤ 0).
    pub fn cosine(total: usize, final_h: f64) -> Result<Self> {
        check_count("total", total)?;
        check_positive("final", final_h)?;
        Ok(Schedule::Cosine { total, final_h })
    }

    /// `warmup`: h·min(1, (k + 1)/warmup).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `warmup` (0).
    pub fn warmup(warmup: usize) -> Result<Self> {
        check_count("warmup", warmup)?;
        Ok(Schedule::Warmup { warmup })
    }

    /// `warmup_cosine`: linear warm-up, then a cosine to `final_h`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `warmup` (0), `total` (≤ warmup)
    /// or `final` (≤ 0).
    pub fn warmup_cosine(warmup: usize, total: usize, final_h: f64) -> Result<Self> {
        check_count("warmup", warmup)?;
        if total <= warmup {
            return Err(Error::invalid(
                "total",
                total,
                &format!("must exceed warmup = {warmup} (total counts the warm-up steps)"),
            ));
        }
        check_positive("final", final_h)?;
        Ok(Schedule::WarmupCosine {
            warmup,
            total,
            final_h,
        })
    }

    /// A user's closure (k, h) ↦ h_k.
    pub fn custom(f: impl Fn(usize, f64) -> f64 + Send + Sync + 'static) -> Self {
        Schedule::Custom(Arc::new(f))
    }

    /// Whether h_k = h for every k.
    pub fn is_constant(&self) -> bool {
        matches!(self, Schedule::Constant)
    }

    /// The step h_k of optimizer step k (0-based) for base step h.
    pub fn h_at(&self, h: f64, k: usize) -> f64 {
        match self {
            Schedule::Constant => h,
            Schedule::Step { every, factor } => {
                h * factor.powi(i32::try_from(k / every).unwrap_or(i32::MAX))
            }
            Schedule::Exponential { factor } => {
                h * factor.powi(i32::try_from(k).unwrap_or(i32::MAX))
            }
            Schedule::Power { power } => h / ((k + 1) as f64).powf(*power),
            Schedule::Cosine { total, final_h } => half_cosine(h, *final_h, k, *total),
            Schedule::Warmup { warmup } => h * (((k + 1) as f64) / *warmup as f64).min(1.0),
            Schedule::WarmupCosine {
                warmup,
                total,
                final_h,
            } => {
                if k < *warmup {
                    h * (k + 1) as f64 / *warmup as f64
                } else {
                    half_cosine(h, *final_h, k - warmup, total - warmup)
                }
            }
            Schedule::Custom(f) => f(k, h),
        }
    }

    /// The schedule as a formula in k and h (`"h_k = h·0.5^⌊k/7⌋"`).
    pub fn formula(&self) -> String {
        match self {
            Schedule::Constant => "h_k = h".into(),
            Schedule::Step { every, factor } => format!("h_k = h·{factor}^⌊k/{every}⌋"),
            Schedule::Exponential { factor } => format!("h_k = h·{factor}^k"),
            Schedule::Power { power } => format!("h_k = h/(k + 1)^{power}"),
            Schedule::Cosine { total, final_h } => {
                format!("h_k = {final_h} + (h − {final_h})(1 + cos(π·min(k, {total})/{total}))/2")
            }
            Schedule::Warmup { warmup } => format!("h_k = h·min(1, (k + 1)/{warmup})"),
            Schedule::WarmupCosine {
                warmup,
                total,
                final_h,
            } => format!(
                "h_k = h·(k + 1)/{warmup} for k < {warmup}, then {final_h} + (h − {final_h})(1 + cos(π·min(k − {warmup}, {n})/{n}))/2",
                n = total - warmup
            ),
            Schedule::Custom(_) => "h_k = a user's closure (k, h) ↦ h_k".into(),
        }
    }

    /// The spec name of the kind (`"custom"` for a closure).
    pub fn kind(&self) -> &'static str {
        match self {
            Schedule::Constant => "constant",
            Schedule::Step { .. } => "step",
            Schedule::Exponential { .. } => "exponential",
            Schedule::Power { .. } => "power",
            Schedule::Cosine { .. } => "cosine",
            Schedule::Warmup { .. } => "warmup",
            Schedule::WarmupCosine { .. } => "warmup_cosine",
            Schedule::Custom(_) => "custom",
        }
    }
}

/// The schedule kinds a spec's `[schedule]` table accepts, with their keys.
pub const SCHEDULE_KINDS: [(&str, &[&str]); 7] = [
    ("constant", &[]),
    ("step", &["every", "factor"]),
    ("exponential", &["factor"]),
    ("power", &["power"]),
    ("cosine", &["total", "final"]),
    ("warmup", &["warmup"]),
    ("warmup_cosine", &["warmup", "total", "final"]),
];

/// The `[schedule]` table of an optimizer spec (see [`Schedule`] for the formulas).
///
/// ```toml
/// [schedule]
/// kind = "step"      # constant | step | exponential | power | cosine | warmup | warmup_cosine
/// every = 7
/// factor = 0.5
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// The kind (see [`SCHEDULE_KINDS`]).
    pub kind: String,
    /// step: steps between decays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<usize>,
    /// step, exponential: the factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// power: the exponent p in h/(k + 1)^p.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<f64>,
    /// cosine, warmup_cosine: steps of the schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<usize>,
    /// cosine, warmup_cosine: the final step.
    #[serde(default, rename = "final", skip_serializing_if = "Option::is_none")]
    pub final_h: Option<f64>,
    /// warmup, warmup_cosine: warm-up steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<usize>,
}

impl ScheduleSpec {
    /// The schedule of the table.
    ///
    /// # Example
    /// ```
    /// use splitflow::optimizers::ScheduleSpec;
    /// let s = ScheduleSpec { kind: "power".into(), power: Some(0.5), ..Default::default() }.schedule()?;
    /// assert_eq!(s.h_at(0.1, 3), 0.05);
    /// # Ok::<(), splitflow::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the key: an unknown `kind`, a key
    /// the kind does not use, a missing key, or a value out of range.
    pub fn schedule(&self) -> Result<Schedule> {
        let Some((_, keys)) = SCHEDULE_KINDS.iter().find(|(k, _)| *k == self.kind) else {
            let names: Vec<&str> = SCHEDULE_KINDS.iter().map(|(k, _)| *k).collect();
            return Err(Error::invalid(
                "kind",
                format!("{:?}", self.kind),
                &format!("schedule kinds: {}", names.join(", ")),
            ));
        };
        let mut allowed = vec!["kind"];
        allowed.extend_from_slice(keys);
        super::spec::only_keys(self, &allowed, &format!("a {} schedule", self.kind))?;
        let kind = self.kind.as_str();
        let need = |key: &str, v: Option<f64>| -> Result<f64> {
            v.ok_or_else(|| {
                Error::invalid(key, "missing", &format!("a {kind} schedule needs `{key}`"))
            })
        };
        let count = |key: &str, v: Option<usize>| -> Result<usize> {
            v.ok_or_else(|| {
                Error::invalid(key, "missing", &format!("a {kind} schedule needs `{key}`"))
            })
        };
        match kind {
            "constant" => Ok(Schedule::Constant),
            "step" => Schedule::step(count("every", self.every)?, need("factor", self.factor)?),
            "exponential" => Schedule::exponential(need("factor", self.factor)?),
            "power" => Schedule::power(need("power", self.power)?),
            "cosine" => Schedule::cosine(count("total", self.total)?, need("final", self.final_h)?),
            "warmup" => Schedule::warmup(count("warmup", self.warmup)?),
            _ => Schedule::warmup_cosine(
                count("warmup", self.warmup)?,
                count("total", self.total)?,
                need("final", self.final_h)?,
            ),
        }
    }
}
