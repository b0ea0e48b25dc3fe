//! Convergence studies described in TOML: the engine of `splitflow order`.
//!
//! ```toml
//! [problem]
//! kind = "linear"                 # y' = A·y (+ c), A = sum of pieces
//! pieces = [ [[-1.0, 2.0], [0.0, -3.0]] ]
//! c = [0.0, 0.0]                  # optional
//! y0 = [1.0, 0.5]
//! t_end = 1.0
//! # kind = "builtin", name = "lorenz" | "van_der_pol" | "kepler" | "harmonic"
//! #   | "logistic" | "decay", params = { sigma = 10.0 }, y0 = [...], t_end = 1.0
//!
//! [method]
//! stepper = "rk4"                 # any name of splitflow::steppers::STEPPER_NAMES
//! # or a splitting of the pieces:
//! # splitting = "lie" | "strang" | "yoshida4" | "suzuki4" | "mclachlan2"
//! # sub_stepper = "exact" | a stepper name
//! # sub_steps = 1
//!
//! [study]
//! steps = [8, 16, 32, 64, 128]
//! ```

use std::collections::BTreeMap;

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use super::{ConvergenceReport, ConvergenceStudy, fine_reference};
use crate::error::{Error, Result, toml_error};
use crate::steppers::stepper_by_name;
use crate::test_models::{
    HarmonicOscillator, Kepler, LinearDecay, LogisticGrowth, Lorenz, VanDerPol,
};
use crate::{LinearSystem, OdeSystem, Order, State, Steps, integrate};

/// The `[problem]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProblemSpec {
    /// `"linear"` or `"builtin"`.
    pub kind: String,
    /// Linear: the pieces whose sum is `A` (each a list of rows).
    pub pieces: Option<Vec<Vec<Vec<f64>>>>,
    /// Linear: the constant forcing (belongs to the last piece).
    pub c: Option<Vec<f64>>,
    /// Builtin: the system's name.
    pub name: Option<String>,
    /// Builtin: named parameters.
    pub params: Option<BTreeMap<String, f64>>,
    /// Initial state (required for linear problems).
    pub y0: Option<Vec<f64>>,
    /// End time (the study integrates over `[0, t_end]`).
    pub t_end: Option<f64>,
}

/// The `[method]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodSpec {
    /// Stepper applied to the whole system.
    pub stepper: Option<String>,
    /// Splitting scheme over the pieces.
    pub splitting: Option<String>,
    /// Stepper of each piece in a splitting (`"exact"` for linear pieces).
    pub sub_stepper: Option<String>,
    /// Sub-steps per piece per outer step.
    pub sub_steps: Option<usize>,
}

/// The `[study]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudySpec {
    /// Numbers of outer steps over `[0, t_end]`, strictly increasing.
    pub steps: Vec<usize>,
}

/// A whole study file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderSpec {
    /// What to integrate.
    pub problem: ProblemSpec,
    /// How.
    pub method: MethodSpec,
    /// At which step counts.
    pub study: StudySpec,
}

/// The output of [`OrderSpec::run`]: the report plus what was run.
#[derive(Debug, Clone, Serialize)]
pub struct OrderOutcome {
    /// Description of the problem.
    pub problem: String,
    /// Description of the method.
    pub method: String,
    /// How the reference was obtained.
    pub reference: String,
    /// The study's report (flattened into the JSON object).
    #[serde(flatten)]
    pub report: ConvergenceReport,
}

fn spec_err(message: impl Into<String>) -> Error {
    Error::Spec {
        message: message.into(),
        line: None,
    }
}

fn finite_vec(field: &str, v: &[f64]) -> Result<DVector<f64>> {
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(spec_err(format!("{field}[{i}] is not finite")));
    }
    Ok(DVector::from_column_slice(v))
}

/// A builtin problem: system, initial state, default end time, exact solution.
type Builtin = (
    Box<dyn OdeSystem>,
    State,
    f64,
    Option<Box<dyn Fn(f64) -> State>>,
);

/// A parsed problem: its pieces (as linear systems, when linear) or one system.
pub(crate) struct BuiltProblem {
    pub system: Box<dyn OdeSystem>,
    pub pieces: Vec<LinearSystem>,
    pub y0: State,
    pub t_end: f64,
    pub exact: Option<State>,
    pub description: String,
}

impl ProblemSpec {
    pub(crate) fn build(&self) -> Result<BuiltProblem> {
        match self.kind.as_str() {
            "linear" => self.build_linear(),
            "builtin" => self.build_builtin(),
            other => Err(spec_err(format!(
                "problem.kind: unknown kind `{other}` (expected linear or builtin)"
            ))),
        }
    }

    fn t_end(&self, default: Option<f64>) -> Result<f64> {
        let t = self
            .t_end
            .or(default)
            .ok_or_else(|| spec_err("problem.t_end is required"))?;
        if !(t.is_finite() && t > 0.0) {
            return Err(spec_err(format!(
                "problem.t_end = {t} must be finite and > 0"
            )));
        }
        Ok(t)
    }

    fn build_linear(&self) -> Result<BuiltProblem> {
        for key in [
            ("name", self.name.is_some()),
            ("params", self.params.is_some()),
        ] {
            if key.1 {
                return Err(spec_err(format!(
                    "problem.{} is not used by linear problems",
                    key.0
                )));
            }
        }
        let raw = self
            .pieces
            .as_ref()
            .ok_or_else(|| spec_err("problem.pieces is required"))?;
        if raw.is_empty() {
            return Err(spec_err("problem.pieces is empty"));
        }
        let y0 = finite_vec(
            "problem.y0",
            self.y0
                .as_deref()
                .ok_or_else(|| spec_err("problem.y0 is required"))?,
        )?;
        let n = y0.len();
        if n == 0 {
            return Err(spec_err("problem.y0 is empty"));
        }
        let c = match &self.c {
            Some(c) => {
                if c.len() != n {
                    return Err(spec_err(format!(
                        "problem.c has length {}, expected {n} (the length of y0)",
                        c.len()
                    )));
                }
                Some(finite_vec("problem.c", c)?)
            }
            None => None,
        };
        let mut pieces = Vec::new();
        for (p, rows) in raw.iter().enumerate() {
            if rows.len() != n {
                return Err(spec_err(format!(
                    "problem.pieces[{p}] has {} rows, expected {n} (the length of y0)",
                    rows.len()
                )));
            }
            let mut m = DMatrix::zeros(n, n);
            for (i, row) in rows.iter().enumerate() {
                if row.len() != n {
                    return Err(spec_err(format!(
                        "problem.pieces[{p}][{i}] has {} entries, expected {n}",
                        row.len()
                    )));
                }
                for (j, &x) in row.iter().enumerate() {
                    if !x.is_finite() {
                        return Err(spec_err(format!(
                            "problem.pieces[{p}][{i}][{j}] is not finite"
                        )));
                    }
                    m[(i, j)] = x;
                }
            }
            let forcing = if p + 1 == raw.len() { c.clone() } else { None };
            pieces.push(LinearSystem::new(m, forcing)?);
        }
        let t_end = self.t_end(None)?;
        let total = pieces
            .iter()
            .fold(DMatrix::zeros(n, n), |acc, p| acc + p.matrix());
        let whole = LinearSystem::new(total, c)?;
        let exact = whole.exact(t_end, &y0)?;
        Ok(BuiltProblem {
            system: Box::new(whole),
            pieces,
            y0,
            t_end,
            exact: Some(exact),
            description: format!("linear, n = {n}, {} piece(s)", raw.len()),
        })
    }

    fn build_builtin(&self) -> Result<BuiltProblem> {
        if self.pieces.is_some() || self.c.is_some() {
            return Err(spec_err(
                "problem.pieces and problem.c are only for linear problems",
            ));
        }
        let name = self
            .name
            .as_deref()
            .ok_or_else(|| spec_err("problem.name is required for builtin problems"))?;
        let params = self.params.clone().unwrap_or_default();
        let mut used = Vec::new();
        let mut param = |key: &'static str, default: f64| -> Result<f64> {
            used.push(key);
            let v = params.get(key).copied().unwrap_or(default);
            if !v.is_finite() {
                return Err(spec_err(format!(
                    "problem.params.{key} = {v} is not finite"
                )));
            }
            Ok(v)
        };
        let (system, y0, t_end, exact): Builtin = match name {
            "lorenz" => {
                let l = Lorenz {
                    sigma: param("sigma", 10.0)?,
                    rho: param("rho", 28.0)?,
                    beta: param("beta", 8.0 / 3.0)?,
                };
                (Box::new(l), State::from_vec(vec![1.0, 1.0, 1.0]), 1.0, None)
            }
            "van_der_pol" => (
                Box::new(VanDerPol {
                    mu: param("mu", 1.0)?,
                }),
                State::from_vec(vec![2.0, 0.0]),
                1.0,
                None,
            ),
            "kepler" => (
                Box::new(Kepler),
                Kepler::initial(param("e", 0.5)?),
                2.0,
                None,
            ),
            "harmonic" => {
                let h = HarmonicOscillator {
                    omega: param("omega", 1.0)?,
                };
                (
                    Box::new(h),
                    State::from_vec(vec![1.0, 0.0]),
                    1.0,
                    Some(Box::new(move |t| {
                        crate::test_models::ExactProblem::exact(&h, t)
                    })),
                )
            }
            "decay" => {
                let d = LinearDecay {
                    lambda: param("lambda", -1.0)?,
                };
                (
                    Box::new(d),
                    State::from_element(1, 1.0),
                    1.0,
                    Some(Box::new(move |t| {
                        crate::test_models::ExactProblem::exact(&d, t)
                    })),
                )
            }
            "logistic" => {
                let g = LogisticGrowth {
                    r: param("r", 1.0)?,
                    k: param("k", 10.0)?,
                    y0: param("y0", 0.5)?,
                };
                (
                    Box::new(g),
                    State::from_element(1, g.y0),
                    1.0,
                    Some(Box::new(move |t| {
                        crate::test_models::ExactProblem::exact(&g, t)
                    })),
                )
            }
            other => {
                return Err(spec_err(format!(
                    "problem.name: unknown builtin `{other}` (expected lorenz, van_der_pol, kepler, harmonic, decay or logistic)"
                )));
            }
        };
        if let Some(unknown) = params.keys().find(|k| !used.contains(&k.as_str())) {
            return Err(spec_err(format!(
                "problem.params.{unknown} is not a parameter of `{name}`"
            )));
        }
        let y0 = match &self.y0 {
            Some(v) => {
                if v.len() != y0.len() {
                    return Err(spec_err(format!(
                        "problem.y0 has length {}, expected {} for `{name}`",
                        v.len(),
                        y0.len()
                    )));
                }
                if exact.is_some() {
                    return Err(spec_err(format!(
                        "problem.y0 cannot be set for `{name}` (its exact solution fixes it)"
                    )));
                }
                finite_vec("problem.y0", v)?
            }
            None => y0,
        };
        let t_end = self.t_end(Some(t_end))?;
        let exact = exact.map(|f| f(t_end));
        Ok(BuiltProblem {
            system,
            pieces: Vec::new(),
            y0,
            t_end,
            exact,
            description: format!("builtin {name}"),
        })
    }
}

impl OrderSpec {
    /// Parses a TOML study file.
    ///
    /// # Errors
    /// [`Error::Spec`] with the line of malformed TOML, an unknown key or a wrong type.
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| toml_error(text, &e))
    }

    /// Runs the study.
    ///
    /// # Errors
    /// [`Error::Spec`] for inconsistent content (wrong-length vectors, unknown
    /// names, NaN values, zero steps), and any integration error.
    pub fn run(&self) -> Result<OrderOutcome> {
        let problem = self.problem.build()?;
        if self.study.steps.contains(&0) {
            return Err(spec_err("study.steps must be positive (found 0)"));
        }
        let (method, order, runner) = crate::convergence::spec::method(&self.method, &problem)?;
        let (reference, reference_name) = match &problem.exact {
            Some(e) => (e.clone(), "exact solution".to_string()),
            None => (
                fine_reference(
                    problem.system.as_ref(),
                    0.0,
                    problem.t_end,
                    &problem.y0,
                    1e-13,
                )?,
                "fine adaptive rk45 run, rtol = atol = 1e-13".to_string(),
            ),
        };
        let study = ConvergenceStudy::new(self.study.steps.clone(), problem.t_end)
            .with_effective_order(order);
        let report = study.run(&reference, runner).map_err(|e| match e {
            Error::InvalidParameter {
                name,
                value,
                reason,
            } if name == "steps" => spec_err(format!("study.steps = {value}: {reason}")),
            other => other,
        })?;
        Ok(OrderOutcome {
            problem: problem.description.clone(),
            method,
            reference: reference_name,
            report,
        })
    }
}

/// A method family: description, effective order, and `n ↦ y(t_end)`.
pub(crate) type MethodRunner<'a> = Box<dyn FnMut(usize) -> Result<State> + 'a>;

pub(crate) fn method<'a>(
    spec: &MethodSpec,
    problem: &'a BuiltProblem,
) -> Result<(String, Order, MethodRunner<'a>)> {
    match (&spec.stepper, &spec.splitting) {
        (Some(_), Some(_)) => Err(spec_err(
            "method: give either stepper or splitting, not both",
        )),
        (None, None) => Err(spec_err("method: give a stepper (or a splitting)")),
        (Some(name), None) => {
            if spec.sub_stepper.is_some() || spec.sub_steps.is_some() {
                return Err(spec_err(
                    "method.sub_stepper and method.sub_steps need a splitting",
                ));
            }
            let mut stepper = stepper_by_name(name)?;
            let order = stepper.order();
            let t_end = problem.t_end;
            let runner = move |n: usize| -> Result<State> {
                Ok(integrate(
                    problem.system.as_ref(),
                    stepper.as_mut(),
                    0.0,
                    t_end,
                    &problem.y0,
                    &Steps::Fixed(n),
                )?
                .y)
            };
            Ok((name.clone(), order, Box::new(runner)))
        }
        (None, Some(_)) => crate::convergence::spec::splitting_method(spec, problem),
    }
}

pub(crate) fn splitting_method<'a>(
    spec: &MethodSpec,
    problem: &'a BuiltProblem,
) -> Result<(String, Order, MethodRunner<'a>)> {
    use crate::splitting::{ExactLinear, FlowMap, Integrated};
    use crate::splitting::{Splitting, SplittingCoefficients, SplittingOptions};
    use crate::{Integrator, Steps};
    let scheme = spec.splitting.as_deref().unwrap_or_default();
    if problem.pieces.is_empty() {
        return Err(spec_err(
            "method.splitting needs a linear problem with pieces",
        ));
    }
    let sub = spec.sub_stepper.as_deref().ok_or_else(|| {
        spec_err(format!(
            "method.sub_stepper is required with a splitting (exact or one of {})",
            crate::steppers::STEPPER_NAMES.join(", ")
        ))
    })?;
    let sub_steps = spec.sub_steps.unwrap_or(1);
    if sub_steps == 0 {
        return Err(spec_err("method.sub_steps must be at least 1"));
    }
    if sub == "exact" && spec.sub_steps.is_some() {
        return Err(spec_err(
            "method.sub_steps does not apply to exact sub-flows",
        ));
    }
    let coefficients = SplittingCoefficients::by_name(scheme, problem.pieces.len())
        .map_err(|e| spec_err(format!("method.splitting: {e}")))?;
    let mut pieces: Vec<Box<dyn FlowMap>> = Vec::new();
    for piece in &problem.pieces {
        pieces.push(if sub == "exact" {
            Box::new(ExactLinear::new(piece.clone()))
        } else {
            Box::new(Integrated::new(
                piece.clone(),
                Integrator::new(stepper_by_name(sub)?, Steps::Fixed(sub_steps))?,
            ))
        });
    }
    let mut splitting = Splitting::new(pieces, coefficients, SplittingOptions::default())?;
    let order = splitting.effective_order();
    let t_end = problem.t_end;
    let y0 = problem.y0.clone();
    let description = if sub == "exact" {
        format!("{scheme} splitting, exact sub-flows")
    } else {
        format!("{scheme} splitting, {sub} sub-flows x{sub_steps}")
    };
    let runner = move |n: usize| -> Result<State> {
        let h = t_end / n as f64;
        let mut y = y0.clone();
        for k in 0..n {
            splitting.advance(k as f64 * h, h, &mut y)?;
        }
        Ok(y)
    };
    Ok((description, order, Box::new(runner)))
}
