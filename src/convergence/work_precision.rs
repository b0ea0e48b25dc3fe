//! Work–precision studies: for each method of a study spec, the error
//! against the cost (right-hand-side evaluations and wall time) over its
//! ladder — the study's step counts, or a method's own tolerance ladder
//! (`tols`) for adaptive steppers. The error is the study's measure against
//! the same reference as an order study.

use std::fmt;
use std::time::Instant;

use serde::Serialize;

use super::measure::ErrorMeasure;
use super::methods::{Level, method};
use super::spec::{LevelResult, OrderSpec, run_level};
use crate::error::Result;

/// One level of a work–precision ladder.
#[derive(Debug, Clone, Serialize)]
pub struct WorkLevel {
    /// The number of equal steps (fixed-step methods).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<usize>,
    /// The tolerance `rtol = atol` (adaptive methods).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tol: Option<f64>,
    /// The error in the study's measure (NaN, `null` in JSON, when unstable).
    pub error: f64,
    /// Right-hand-side evaluations (`None` when the run failed midway).
    pub f_evals: Option<usize>,
    /// Wall time of the run, in seconds.
    pub seconds: f64,
    /// The time at which an unstable run blew up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unstable_at: Option<f64>,
}

/// One method's ladder.
#[derive(Debug, Clone, Serialize)]
pub struct MethodWork {
    /// The method's label (or description).
    pub method: String,
    /// `method.seeds` when above 1: each level's error is the RMS over this
    /// many seeds, its `f_evals` and `seconds` those of one run (the mean).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seeds: Option<usize>,
    /// Its levels, coarse to fine.
    pub levels: Vec<WorkLevel>,
}

/// The outcome of [`OrderSpec::work_precision`].
#[derive(Debug, Clone, Serialize)]
pub struct WorkPrecisionReport {
    /// Description of the problem.
    pub problem: String,
    /// How the reference was obtained.
    pub reference: String,
    /// The reference's estimated error (`null` for an exact solution).
    pub reference_error: Option<f64>,
    /// How errors are measured.
    pub error_measure: ErrorMeasure,
    /// One entry per method, in spec order.
    pub methods: Vec<MethodWork>,
}

impl OrderSpec {
    /// Runs every method over its ladder (the study's steps, or the
    /// method's `tols`) and records error, evaluations and wall time.
    ///
    /// # Example
    /// ```
    /// use splitflow::convergence::spec::OrderSpec;
    /// let spec = OrderSpec::from_toml(r#"
    /// [problem]
    /// kind = "builtin"
    /// name = "harmonic"
    /// [[method]]
    /// stepper = "rk4"
    /// [[method]]
    /// stepper = "rk45"
    /// tols = [1e-4, 1e-6, 1e-8]
    /// [study]
    /// steps = [8, 16, 32]
    /// "#)?;
    /// let wp = spec.work_precision()?;
    /// assert_eq!(wp.methods[0].levels[1].f_evals, Some(64));
    /// assert_eq!(wp.methods[1].levels.len(), 3);
    /// # Ok::<(), splitflow::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`run_all`](Self::run_all) (a method with `tols` is allowed here).
    pub fn work_precision(&self) -> Result<WorkPrecisionReport> {
        let study = self.prepare()?;
        let mut methods = Vec::new();
        for spec in self.method.as_slice() {
            let mut m = method(spec, &study.problem, &study.measure)?;
            let ladder: Vec<Level> = match &spec.tols {
                Some(tols) => tols.iter().map(|&t| Level::Tol(t)).collect(),
                None => self.study.steps.iter().map(|&n| Level::Steps(n)).collect(),
            };
            let mut levels = Vec::with_capacity(ladder.len());
            for level in ladder {
                let start = Instant::now();
                let LevelResult { outcome, f_evals } = run_level(&study, &mut m, level)?;
                // Per run: a level of N seeds runs N times.
                let seconds = start.elapsed().as_secs_f64() / m.replicas as f64;
                let (error, unstable_at) = match outcome {
                    Ok((e, _)) => (e, None),
                    Err(t) => (f64::NAN, Some(t)),
                };
                let (steps, tol) = match level {
                    Level::Steps(n) => (Some(n), None),
                    Level::Tol(t) => (None, Some(t)),
                };
                levels.push(WorkLevel {
                    steps,
                    tol,
                    error,
                    f_evals,
                    seconds,
                    unstable_at,
                });
            }
            methods.push(MethodWork {
                method: spec.label.clone().unwrap_or(m.description),
                seeds: (m.replicas > 1).then_some(m.replicas),
                levels,
            });
        }
        Ok(WorkPrecisionReport {
            problem: study.problem.description.clone(),
            reference: study.reference.name.clone(),
            reference_error: study.reference.estimated_error,
            error_measure: study.measure.clone(),
            methods,
        })
    }
}

impl WorkPrecisionReport {
    /// The report as CSV: `method,steps,tol,error,f_evals,seconds` (empty
    /// cells where a value does not apply).
    pub fn to_csv(&self) -> String {
        let mut s = String::from("method,steps,tol,error,f_evals,seconds\n");
        for m in &self.methods {
            let label = if m.method.contains([',', '"', '\n']) {
                format!("\"{}\"", m.method.replace('"', "\"\""))
            } else {
                m.method.clone()
            };
            for l in &m.levels {
                s += &format!(
                    "{label},{},{},{:e},{},{:e}\n",
                    l.steps.map(|n| n.to_string()).unwrap_or_default(),
                    l.tol.map(|t| format!("{t:e}")).unwrap_or_default(),
                    l.error,
                    l.f_evals.map(|n| n.to_string()).unwrap_or_default(),
                    l.seconds
                );
            }
        }
        s
    }

    /// Per method, the points `(error, f_evals)` of its stable levels (for
    /// a diagram).
    pub fn error_vs_evals(&self) -> Vec<(String, Vec<(f64, f64)>)> {
        self.methods
            .iter()
            .map(|m| {
                let points = m
                    .levels
                    .iter()
                    .filter_map(|l| Some((l.error, l.f_evals? as f64)))
                    .filter(|(e, _)| e.is_finite() && *e > 0.0)
                    .collect();
                (m.method.clone(), points)
            })
            .collect()
    }
}

impl fmt::Display for WorkPrecisionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "problem:   {}", self.problem)?;
        writeln!(f, "reference: {}", self.reference)?;
        write!(f, "error:     {}", self.error_measure.describe())?;
        for m in &self.methods {
            writeln!(f, "\n\nmethod:    {}", m.method)?;
            if let Some(n) = m.seeds {
                writeln!(
                    f,
                    "seeds:     error = RMS over {n} seeds; f_evals and seconds per run"
                )?;
            }
            write!(
                f,
                "{:>10} {:>12} {:>12} {:>12}",
                "steps/tol", "error", "f_evals", "seconds"
            )?;
            for l in &m.levels {
                let level = match (l.steps, l.tol) {
                    (Some(n), _) => n.to_string(),
                    (_, Some(t)) => format!("{t:.0e}"),
                    _ => String::new(),
                };
                let evals = l.f_evals.map(|n| n.to_string()).unwrap_or("-".into());
                write!(
                    f,
                    "\n{level:>10} {:>12.4e} {evals:>12} {:>12.4e}",
                    l.error, l.seconds
                )?;
                if let Some(t) = l.unstable_at {
                    write!(f, "  unstable (blew up at t = {t})")?;
                }
            }
        }
        Ok(())
    }
}
