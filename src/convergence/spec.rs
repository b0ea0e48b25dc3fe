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
//! # kind = "expr", vars = ["q", "p"], params = { mu = 1.0 },
//! #   rhs = ["p", "-sin(q)"] or pieces = [["p", "0"], ["0", "-sin(q)"]],
//! #   exact = ["..."] (optional, in t and params), y0 = [...], t_end = 1.0
//!
//! # kind = "least_squares": the gradient flow of a least-squares finite sum,
//! #   split into its mini-batch flows (see super::least_squares):
//! #   rows = 40, cols = 4, noise = 0.1, seed = 1 (random data) or
//! #   x = [[...], ...], targets = [...] (given data); batch_size = 10;
//! #   y0 = [...] (default zeros), t_end = 1.0
//!
//! [method]                        # or several [[method]] tables
//! stepper = "rk4"                 # any name of splitflow::steppers::STEPPER_NAMES
//! # or a splitting of the pieces:
//! # splitting = a name of splitflow::splitting::SCHEME_NAMES, or "custom" with
//! #   coefficients = [[0.5, 0.5], [1.0, 0.0]] and order = 2 (checked on load)
//! # sub_stepper = "exact" | a stepper name
//! # sub_steps = 1
//! # batch_order = "fixed"        # with splitting = "lie": fixed | reversed |
//! #                              #   palindromic (forward then backward, half
//! #                              #   steps) | shuffled (seeded, every step)
//! # seed = 0                     # batch_order = "shuffled" only
//! # seeds = 1                    # batch_order = "shuffled": each level's error
//! #                              #   is the RMS over seeds seed, …, seed+seeds−1
//! # label = "shown in reports"
//! # tols = [1e-4, 1e-6, 1e-8]    # work-precision only: an adaptive tolerance ladder
//!
//! [study]
//! kind = "order"                 # or "work_precision" (splitflow order then runs
//!                                 #   the work-precision study, as splitflow work-precision)
//! steps = [8, 16, 32, 64, 128]
//! error = "final"                 # final | max | rms over the output times
//! norm = "2"                      # "2" | "inf"
//! times = [0.5, 1.0]              # output times (default: t_end for final; for
//!                                 #   max and rms the coarsest level's grid)
//! reference_tol = 1e-12           # tolerance of the DOP853 reference (no exact solution)
//! ```

use std::collections::BTreeMap;

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use super::expr::{ExprSystem, TimeExprs};
use super::measure::{Aggregate, ErrorMeasure, Norm};
use super::methods::{Level, Method, method};
use super::reference::{REFERENCE_TOL, Reference, independent_reference, richardson_orders};
use super::{ConvergenceReport, ConvergenceStudy, Exclusion, ExclusionReason};
use crate::error::{Error, Result, toml_error};
use crate::test_models::{
    ExactProblem, HarmonicOscillator, Kepler, LinearDecay, LogisticGrowth, Lorenz, VanDerPol,
};
use crate::{LinearSystem, OdeSystem, Order, State};

/// The `[problem]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProblemSpec {
    /// `"linear"` or `"builtin"`.
    pub kind: String,
    /// The pieces whose sum is the field: matrices (each a list of rows)
    /// for linear problems, lists of expressions for expr problems.
    pub pieces: Option<PiecesSpec>,
    /// Linear: the constant forcing (belongs to the last piece).
    pub c: Option<Vec<f64>>,
    /// Builtin: the system's name.
    pub name: Option<String>,
    /// Builtin and expr: named parameters.
    pub params: Option<BTreeMap<String, f64>>,
    /// Expr: the state variables' names, in state order.
    pub vars: Option<Vec<String>>,
    /// Expr: the whole right-hand side, one expression per variable.
    pub rhs: Option<Vec<String>>,
    /// Expr: the exact solution, one expression in `t` (and parameters) per variable.
    pub exact: Option<Vec<String>>,
    /// Initial state (required for linear problems).
    pub y0: Option<Vec<f64>>,
    /// End time (the study integrates over `[0, t_end]`).
    pub t_end: Option<f64>,
    /// Least squares, random data: number of rows.
    pub rows: Option<usize>,
    /// Least squares, random data: number of columns (parameters).
    pub cols: Option<usize>,
    /// Least squares, random data: standard deviation of the target noise (default 0).
    pub noise: Option<f64>,
    /// Least squares, random data: the RNG seed (default 0).
    pub seed: Option<u64>,
    /// Least squares, given data: the matrix X as a list of rows.
    pub x: Option<Vec<Vec<f64>>>,
    /// Least squares, given data: the targets y, one per row of `x`.
    pub targets: Option<Vec<f64>>,
    /// Least squares: rows per batch (consecutive rows; a last partial batch is kept).
    pub batch_size: Option<usize>,
}

/// `problem.pieces`: matrices (linear) or expressions (expr).
#[derive(Debug, Clone, Deserialize)]
#[serde(
    untagged,
    expecting = "pieces as matrices (lists of rows of numbers) or as lists of expression strings"
)]
pub enum PiecesSpec {
    /// Linear pieces, each a list of rows.
    Matrices(Vec<Vec<Vec<f64>>>),
    /// Expression pieces, each one expression per variable.
    Exprs(Vec<Vec<String>>),
}

/// The `[method]` table (or one entry of a `[[method]]` array).
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
    /// `splitting = "custom"`: one list of fractions per piece; stage j
    /// applies piece 1 for `coefficients[0][j]·h`, then piece 2, …
    pub coefficients: Option<Vec<Vec<f64>>>,
    /// `splitting = "custom"`: the claimed order, checked on load.
    pub order: Option<u32>,
    /// With `splitting = "lie"`: the order in which one step visits the
    /// pieces (batches): `fixed` (the default), `reversed`, `palindromic`
    /// (forward then backward, each at `h/2`) or `shuffled` (a fresh seeded
    /// permutation every step).
    pub batch_order: Option<BatchOrder>,
    /// `batch_order = "shuffled"`: the seed of the permutations (default 0);
    /// every level restarts from it.
    pub seed: Option<u64>,
    /// `batch_order = "shuffled"`: the number `N` of seeds `seed, seed + 1,
    /// …, seed + N − 1` run at every level (default 1, at most
    /// [`MAX_SEEDS`]); the level's error is their RMS,
    /// `(Σ_s e_s²/N)^{1/2}`, an estimate of the strong (mean-square) error
    /// of the random epoch order.
    pub seeds: Option<usize>,
    /// A name for the method in reports (defaults to its description).
    pub label: Option<String>,
    /// Work-precision studies: a ladder of adaptive tolerances
    /// (`rtol = atol = tol`) instead of the study's step ladder.
    pub tols: Option<Vec<f64>>,
}

/// `method.batch_order`: how one step of a Lie splitting visits the pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchOrder {
    /// Pieces `1, 2, …, m` every step (an SGD epoch over fixed batches).
    #[default]
    Fixed,
    /// Pieces `m, …, 1` every step.
    Reversed,
    /// Forward at `h/2`, then backward at `h/2`: with exact sub-flows this is
    /// Strang's symmetric composition (order 2).
    Palindromic,
    /// A fresh permutation every step, drawn from `method.seed`.
    Shuffled,
}

impl BatchOrder {
    /// The spec name: `"fixed"`, `"reversed"`, `"palindromic"` or `"shuffled"`.
    pub fn name(self) -> &'static str {
        match self {
            BatchOrder::Fixed => "fixed",
            BatchOrder::Reversed => "reversed",
            BatchOrder::Palindromic => "palindromic",
            BatchOrder::Shuffled => "shuffled",
        }
    }
}

/// `[method]` (one method) or `[[method]]` (several, on the same problem and ladder).
#[derive(Debug, Clone)]
pub enum Methods {
    /// A single `[method]` table.
    One(MethodSpec),
    /// A `[[method]]` array.
    Many(Vec<MethodSpec>),
}

/// Deserialises a table as [`Methods::One`] and an array as
/// [`Methods::Many`], keeping the inner errors (unknown keys, with their
/// line) that an untagged enum would hide.
impl<'de> Deserialize<'de> for Methods {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Methods;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a [method] table or a [[method]] array of tables")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Methods, A::Error> {
                MethodSpec::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Methods::One)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> std::result::Result<Methods, A::Error> {
                Vec::<MethodSpec>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(Methods::Many)
            }
        }
        d.deserialize_any(V)
    }
}

impl Methods {
    /// The methods, in spec order.
    pub fn as_slice(&self) -> &[MethodSpec] {
        match self {
            Methods::One(m) => std::slice::from_ref(m),
            Methods::Many(v) => v,
        }
    }
}

/// `study.kind`: which study a spec asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StudyKind {
    /// A convergence-order study ([`OrderSpec::run_all`]), the default.
    #[default]
    Order,
    /// A work–precision study ([`OrderSpec::work_precision`]): `splitflow
    /// order` runs it as `splitflow work-precision` does.
    WorkPrecision,
}

/// The `[study]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudySpec {
    /// `"order"` (the default) or `"work_precision"`.
    pub kind: Option<StudyKind>,
    /// Numbers of outer steps over `[0, t_end]`, strictly increasing.
    pub steps: Vec<usize>,
    /// How the errors at the output times are combined (default `final`).
    pub error: Option<Aggregate>,
    /// The vector norm of the errors (default `"2"`).
    pub norm: Option<Norm>,
    /// The output times (default: `t_end` for `final`; the grid of the
    /// coarsest level for `max` and `rms`).
    pub times: Option<Vec<f64>>,
    /// Tolerance of the independent reference when there is no exact
    /// solution (default [`REFERENCE_TOL`]).
    pub reference_tol: Option<f64>,
}

impl StudySpec {
    /// The error measure of the study over `[0, t_end]`.
    ///
    /// # Errors
    /// [`Error::Spec`] for invalid output times, or output times with the
    /// final-time error.
    pub fn measure(&self, t_end: f64) -> Result<ErrorMeasure> {
        let over = self.error.unwrap_or_default();
        let times = match (&self.times, over) {
            (Some(_), Aggregate::Final) => {
                return Err(spec_err(
                    "study.times needs error = \"max\" or \"rms\" (the final-time error is at t_end)",
                ));
            }
            (Some(t), _) => t.clone(),
            (None, Aggregate::Final) => vec![t_end],
            (None, _) => {
                let n0 = self.steps.first().copied().unwrap_or(1).max(1);
                (1..=n0)
                    .map(|j| {
                        if j == n0 {
                            t_end
                        } else {
                            t_end * j as f64 / n0 as f64
                        }
                    })
                    .collect()
            }
        };
        let measure = ErrorMeasure {
            over,
            norm: self.norm.unwrap_or_default(),
            times,
        };
        measure
            .validate(t_end)
            .map_err(|e| spec_err(e.to_string()))?;
        Ok(measure)
    }
}

/// A whole study file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderSpec {
    /// What to integrate.
    pub problem: ProblemSpec,
    /// How: one method or several.
    pub method: Methods,
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
    /// The reference's estimated error in the study's measure (`null` for
    /// an exact solution).
    pub reference_error: Option<f64>,
    /// How errors are measured (norm, output times, aggregate).
    pub error_measure: ErrorMeasure,
    /// Reference-free pairwise orders from differences of consecutive
    /// levels' final states ([`richardson_orders`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub richardson_orders: Vec<f64>,
    /// The study's report (flattened into the JSON object).
    #[serde(flatten)]
    pub report: ConvergenceReport,
    /// Levels whose run blew up (left out of the fit; their error is NaN).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unstable: Vec<UnstableLevel>,
    /// `method.seeds` when above 1: every level's error is the RMS over
    /// this many seeds (and `richardson_orders` is left out: a difference
    /// of two random runs does not measure the order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seeds: Option<usize>,
}

/// A level whose run produced non-finite values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct UnstableLevel {
    /// Index of the level in the ladder.
    pub level: usize,
    /// Its step count.
    pub steps: usize,
    /// The time at which the run failed (`t_end` when only the final state was non-finite).
    pub t: f64,
}

/// The most steps one level may take (outer steps × sub-steps per piece,
/// over all its seeds, see [`MethodSpec::seeds`]).
pub const MAX_STEPS_PER_LEVEL: usize = 100_000_000;

/// The most seeds one shuffled method may average over ([`MethodSpec::seeds`]).
pub const MAX_SEEDS: usize = 10_000;

/// A content error of a spec (no line yet: [`OrderSpec::from_toml`] locates it).
pub(crate) fn spec_err(message: impl Into<String>) -> Error {
    Error::Spec {
        message: message.into(),
        line: None,
    }
}

/// The first of `keys` that is set, as the error `message(key)`: a key
/// the rest of the table does not use.
pub(crate) fn refuse_keys(keys: &[(&str, bool)], message: impl Fn(&str) -> String) -> Result<()> {
    match keys.iter().find(|(_, set)| *set) {
        Some((key, _)) => Err(spec_err(message(key))),
        None => Ok(()),
    }
}

pub(crate) fn finite_vec(field: &str, v: &[f64]) -> Result<DVector<f64>> {
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(spec_err(format!("{field}[{i}] is not finite")));
    }
    Ok(DVector::from_column_slice(v))
}

/// The exact solution `t ↦ e^{tA} y0` (with forcing) of a linear problem.
pub(crate) fn linear_exact(whole: &LinearSystem, y0: &State) -> ExactFn {
    let (whole, y0) = (whole.clone(), y0.clone());
    Box::new(move |t| whole.exact(t, &y0))
}

/// A builtin problem: system, initial state, default end time, exact solution.
type Builtin = (
    Box<dyn OdeSystem>,
    State,
    f64,
    Option<Box<dyn Fn(f64) -> State>>,
);

/// An exact solution `t ↦ y(t)`.
pub(crate) type ExactFn = Box<dyn Fn(f64) -> Result<State>>;

/// A parsed problem: its pieces (as linear systems, when linear, or as
/// expression systems) or one system.
pub(crate) struct BuiltProblem {
    pub system: Box<dyn OdeSystem>,
    pub pieces: Vec<LinearSystem>,
    pub flows: Vec<ExprSystem>,
    pub y0: State,
    pub t_end: f64,
    pub exact: Option<ExactFn>,
    pub description: String,
}

impl ProblemSpec {
    pub(crate) fn build(&self) -> Result<BuiltProblem> {
        match self.kind.as_str() {
            "linear" => self.build_linear(),
            "builtin" => self.build_builtin(),
            "expr" => self.build_expr(),
            "least_squares" => self.build_least_squares(),
            other => Err(spec_err(format!(
                "problem.kind: unknown kind `{other}` (expected linear, builtin, expr or least_squares)"
            ))),
        }
    }

    /// `problem.t_end` (or `default`), finite and positive.
    pub(super) fn t_end(&self, default: Option<f64>) -> Result<f64> {
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

    /// `problem.y0`, required and finite.
    fn required_y0(&self) -> Result<State> {
        finite_vec(
            "problem.y0",
            self.y0
                .as_deref()
                .ok_or_else(|| spec_err("problem.y0 is required"))?,
        )
    }

    fn refuse_least_squares_keys(&self) -> Result<()> {
        refuse_keys(
            &[
                ("rows", self.rows.is_some()),
                ("cols", self.cols.is_some()),
                ("noise", self.noise.is_some()),
                ("seed", self.seed.is_some()),
                ("x", self.x.is_some()),
                ("targets", self.targets.is_some()),
                ("batch_size", self.batch_size.is_some()),
            ],
            |key| format!("problem.{key} is only for least_squares problems"),
        )
    }

    fn refuse_expr_keys(&self) -> Result<()> {
        self.refuse_least_squares_keys()?;
        refuse_keys(
            &[
                ("vars", self.vars.is_some()),
                ("rhs", self.rhs.is_some()),
                ("exact", self.exact.is_some()),
            ],
            |key| format!("problem.{key} is only for expr problems"),
        )
    }
}

/// Linear problems: `y' = (A₁ + … + A_N) y + c`.
impl ProblemSpec {
    fn build_linear(&self) -> Result<BuiltProblem> {
        self.refuse_expr_keys()?;
        refuse_keys(
            &[
                ("name", self.name.is_some()),
                ("params", self.params.is_some()),
            ],
            |key| format!("problem.{key} is not used by linear problems"),
        )?;
        let raw = self.linear_matrices()?;
        let y0 = self.required_y0()?;
        let n = y0.len();
        if n == 0 {
            return Err(spec_err("problem.y0 is empty"));
        }
        let c = self.linear_forcing(n)?;
        let pieces = raw
            .iter()
            .enumerate()
            .map(|(p, rows)| {
                let forcing = if p + 1 == raw.len() { c.clone() } else { None };
                LinearSystem::new(linear_matrix(p, rows, n)?, forcing)
            })
            .collect::<Result<Vec<_>>>()?;
        let t_end = self.t_end(None)?;
        let total = pieces
            .iter()
            .fold(DMatrix::zeros(n, n), |acc, p| acc + p.matrix());
        let whole = LinearSystem::new(total, c)?;
        let exact = linear_exact(&whole, &y0);
        Ok(BuiltProblem {
            system: Box::new(whole),
            pieces,
            flows: Vec::new(),
            y0,
            t_end,
            exact: Some(exact),
            description: format!("linear, n = {n}, {} piece(s)", raw.len()),
        })
    }

    /// `problem.pieces` as matrices: required, not empty.
    fn linear_matrices(&self) -> Result<&Vec<Vec<Vec<f64>>>> {
        let raw = match self.pieces.as_ref() {
            None => return Err(spec_err("problem.pieces is required")),
            Some(PiecesSpec::Matrices(m)) => m,
            Some(PiecesSpec::Exprs(_)) => {
                return Err(spec_err(
                    "problem.pieces of a linear problem are matrices (lists of rows of numbers)",
                ));
            }
        };
        if raw.is_empty() {
            return Err(spec_err("problem.pieces is empty"));
        }
        Ok(raw)
    }

    /// `problem.c` (of length `n`, finite), if given.
    fn linear_forcing(&self, n: usize) -> Result<Option<State>> {
        let Some(c) = &self.c else {
            return Ok(None);
        };
        if c.len() != n {
            return Err(spec_err(format!(
                "problem.c has length {}, expected {n} (the length of y0)",
                c.len()
            )));
        }
        Ok(Some(finite_vec("problem.c", c)?))
    }
}

/// Piece `p`'s matrix from its rows: `n × n`, finite.
fn linear_matrix(p: usize, rows: &[Vec<f64>], n: usize) -> Result<DMatrix<f64>> {
    if rows.len() != n {
        return Err(spec_err(format!(
            "problem.pieces[{p}] has {} rows, expected {n} (the length of y0)",
            rows.len()
        )));
    }
    matrix_from_rows(&format!("problem.pieces[{p}]"), rows, n, "")
}

/// `field` (a list of rows) as a matrix with `cols` columns: every row
/// `field[i]` has `cols` entries (else the error says so, then `why`), and
/// every entry `field[i][j]` is finite.
pub(crate) fn matrix_from_rows(
    field: &str,
    rows: &[Vec<f64>],
    cols: usize,
    why: &str,
) -> Result<DMatrix<f64>> {
    let mut m = DMatrix::zeros(rows.len(), cols);
    for (i, row) in rows.iter().enumerate() {
        if row.len() != cols {
            return Err(spec_err(format!(
                "{field}[{i}] has {} entries, expected {cols}{why}",
                row.len()
            )));
        }
        for (j, &x) in row.iter().enumerate() {
            if !x.is_finite() {
                return Err(spec_err(format!("{field}[{i}][{j}] is not finite")));
            }
            m[(i, j)] = x;
        }
    }
    Ok(m)
}

/// The `problem.params` of a builtin problem, read one at a time with its
/// default; the keys read are remembered so that an unknown one is refused.
struct BuiltinParams {
    given: BTreeMap<String, f64>,
    used: Vec<&'static str>,
}

impl BuiltinParams {
    /// `problem.params.<key>` (or `default`), finite.
    fn get(&mut self, key: &'static str, default: f64) -> Result<f64> {
        self.used.push(key);
        let v = self.given.get(key).copied().unwrap_or(default);
        if !v.is_finite() {
            return Err(spec_err(format!(
                "problem.params.{key} = {v} is not finite"
            )));
        }
        Ok(v)
    }

    /// Refuses a given parameter that `name` did not read.
    fn all_used(&self, name: &str) -> Result<()> {
        match self.given.keys().find(|k| !self.used.contains(&k.as_str())) {
            Some(unknown) => Err(spec_err(format!(
                "problem.params.{unknown} is not a parameter of `{name}`"
            ))),
            None => Ok(()),
        }
    }
}

/// A builtin problem with a closed-form solution, from `y0` over `[0, 1]`.
fn exact_builtin<P: ExactProblem + Copy + 'static>(problem: P, y0: State) -> Builtin {
    (
        Box::new(problem),
        y0,
        1.0,
        Some(Box::new(move |t| problem.exact(t))),
    )
}

/// The builtin system `name` with its parameters, default initial state
/// and end time, and exact solution when it has one.
fn builtin_system(name: &str, params: &mut BuiltinParams) -> Result<Builtin> {
    Ok(match name {
        "lorenz" => {
            let l = Lorenz {
                sigma: params.get("sigma", 10.0)?,
                rho: params.get("rho", 28.0)?,
                beta: params.get("beta", 8.0 / 3.0)?,
            };
            (Box::new(l), State::from_vec(vec![1.0, 1.0, 1.0]), 1.0, None)
        }
        "van_der_pol" => (
            Box::new(VanDerPol {
                mu: params.get("mu", 1.0)?,
            }),
            State::from_vec(vec![2.0, 0.0]),
            1.0,
            None,
        ),
        "kepler" => (
            Box::new(Kepler),
            Kepler::initial(params.get("e", 0.5)?),
            2.0,
            None,
        ),
        "harmonic" => exact_builtin(
            HarmonicOscillator {
                omega: params.get("omega", 1.0)?,
            },
            State::from_vec(vec![1.0, 0.0]),
        ),
        "decay" => exact_builtin(
            LinearDecay {
                lambda: params.get("lambda", -1.0)?,
            },
            State::from_element(1, 1.0),
        ),
        "logistic" => {
            let g = LogisticGrowth {
                r: params.get("r", 1.0)?,
                k: params.get("k", 10.0)?,
                y0: params.get("y0", 0.5)?,
            };
            exact_builtin(g, State::from_element(1, g.y0))
        }
        other => {
            return Err(spec_err(format!(
                "problem.name: unknown builtin `{other}` (expected lorenz, van_der_pol, kepler, harmonic, decay or logistic)"
            )));
        }
    })
}

/// Builtin problems: a named test model.
impl ProblemSpec {
    fn build_builtin(&self) -> Result<BuiltProblem> {
        self.refuse_expr_keys()?;
        if self.pieces.is_some() || self.c.is_some() {
            return Err(spec_err(
                "problem.pieces and problem.c are only for linear problems",
            ));
        }
        let name = self
            .name
            .as_deref()
            .ok_or_else(|| spec_err("problem.name is required for builtin problems"))?;
        let mut params = BuiltinParams {
            given: self.params.clone().unwrap_or_default(),
            used: Vec::new(),
        };
        let (system, y0, t_end, exact) = builtin_system(name, &mut params)?;
        params.all_used(name)?;
        let y0 = self.builtin_y0(name, y0, exact.is_some())?;
        let t_end = self.t_end(Some(t_end))?;
        let exact = exact.map(|f| -> ExactFn { Box::new(move |t| Ok(f(t))) });
        Ok(BuiltProblem {
            system,
            pieces: Vec::new(),
            flows: Vec::new(),
            y0,
            t_end,
            exact,
            description: format!("builtin {name}"),
        })
    }

    /// `problem.y0` of builtin `name` (the model's `default` when absent):
    /// of the model's length, and not set when an exact solution fixes it.
    fn builtin_y0(&self, name: &str, default: State, has_exact: bool) -> Result<State> {
        let Some(v) = &self.y0 else {
            return Ok(default);
        };
        if v.len() != default.len() {
            return Err(spec_err(format!(
                "problem.y0 has length {}, expected {} for `{name}`",
                v.len(),
                default.len()
            )));
        }
        if has_exact {
            return Err(spec_err(format!(
                "problem.y0 cannot be set for `{name}` (its exact solution fixes it)"
            )));
        }
        finite_vec("problem.y0", v)
    }
}

/// Prefixes `problem.` to an expression error that names only its field.
fn prefixed(e: Error) -> Error {
    match e {
        Error::Spec { message, line } if !message.starts_with("problem.") => Error::Spec {
            message: format!("problem.{message}"),
            line,
        },
        other => other,
    }
}

/// An expression problem's variables and named parameters.
struct ExprScope<'a> {
    vars: &'a [String],
    params: Vec<(String, f64)>,
}

/// Expression problems: `rhs` or `pieces` as expressions in `vars`.
impl ProblemSpec {
    fn build_expr(&self) -> Result<BuiltProblem> {
        self.refuse_least_squares_keys()?;
        if self.name.is_some() || self.c.is_some() {
            return Err(spec_err(
                "problem.name and problem.c are not used by expr problems",
            ));
        }
        let vars = self
            .vars
            .as_ref()
            .ok_or_else(|| spec_err("problem.vars is required for expr problems"))?;
        if vars.is_empty() {
            return Err(spec_err("problem.vars is empty"));
        }
        let n = vars.len();
        let scope = ExprScope {
            vars,
            params: self
                .params
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
        };
        let y0 = self.required_y0()?;
        if y0.len() != n {
            return Err(spec_err(format!(
                "problem.y0 has length {}, expected {n} (the length of vars)",
                y0.len()
            )));
        }
        let t_end = self.t_end(None)?;
        let (system, flows, what) = self.expr_systems(&scope)?;
        let exact = match &self.exact {
            None => None,
            Some(e) => Some(expr_exact(&scope, e, &y0, t_end)?),
        };
        Ok(BuiltProblem {
            system: Box::new(system),
            pieces: Vec::new(),
            flows,
            y0,
            t_end,
            exact,
            description: format!("expr, n = {n}, {what}"),
        })
    }

    /// The whole field, the pieces' fields (none for `rhs`) and a
    /// description: from `problem.rhs` or `problem.pieces` (their sum).
    fn expr_systems(&self, scope: &ExprScope) -> Result<(ExprSystem, Vec<ExprSystem>, String)> {
        let (vars, params) = (scope.vars, scope.params.as_slice());
        match (&self.rhs, &self.pieces) {
            (Some(_), Some(_)) => Err(spec_err("problem: give either rhs or pieces, not both")),
            (None, None) => Err(spec_err(
                "problem.rhs (or problem.pieces) is required for expr problems",
            )),
            (Some(rhs), None) => Ok((
                ExprSystem::new("problem.rhs", vars, params, rhs).map_err(prefixed)?,
                Vec::new(),
                "whole".to_string(),
            )),
            (None, Some(PiecesSpec::Matrices(m))) if !m.is_empty() => Err(spec_err(
                "problem.pieces of an expr problem are lists of expressions (strings)",
            )),
            (None, Some(PiecesSpec::Matrices(_))) => Err(spec_err("problem.pieces is empty")),
            (None, Some(PiecesSpec::Exprs(pieces))) => {
                if pieces.is_empty() {
                    return Err(spec_err("problem.pieces is empty"));
                }
                let flows = pieces
                    .iter()
                    .enumerate()
                    .map(|(p, piece)| {
                        ExprSystem::new(&format!("problem.pieces[{p}]"), vars, params, piece)
                            .map_err(prefixed)
                    })
                    .collect::<Result<Vec<_>>>()?;
                let sum: Vec<String> = (0..vars.len())
                    .map(|i| {
                        pieces
                            .iter()
                            .map(|piece| format!("({})", piece[i]))
                            .collect::<Vec<_>>()
                            .join(" + ")
                    })
                    .collect();
                let whole = ExprSystem::new("problem.pieces (sum)", vars, params, &sum)
                    .map_err(prefixed)?;
                Ok((whole, flows, format!("{} piece(s)", pieces.len())))
            }
        }
    }
}

/// `problem.exact`, one expression per variable: equal to `y0` at `t = 0`
/// and finite at `t_end`; later non-finite values are errors when read.
fn expr_exact(scope: &ExprScope, e: &[String], y0: &State, t_end: f64) -> Result<ExactFn> {
    let n = scope.vars.len();
    if e.len() != n {
        return Err(spec_err(format!(
            "problem.exact has {} expression(s), expected {n} (one per variable in vars)",
            e.len()
        )));
    }
    let exact = TimeExprs::new("problem.exact", scope.vars, &scope.params, e).map_err(prefixed)?;
    let at0 = exact.at(0.0);
    if let Some(i) = (0..n)
        .find(|&i| (at0[i] - y0[i]).abs() > 1e-10 * y0[i].abs().max(1.0) || !at0[i].is_finite())
    {
        return Err(spec_err(format!(
            "problem.exact[{i}] at t = 0 is {}, but problem.y0[{i}] = {}",
            at0[i], y0[i]
        )));
    }
    let value = exact.at(t_end);
    if let Some(i) = value.iter().position(|x| !x.is_finite()) {
        return Err(spec_err(format!(
            "problem.exact[{i}] is not finite at t_end = {t_end}"
        )));
    }
    Ok(Box::new(move |t| {
        let y = exact.at(t);
        match y.iter().position(|x| !x.is_finite()) {
            Some(i) => Err(spec_err(format!(
                "problem.exact[{i}] is not finite at t = {t}"
            ))),
            None => Ok(y),
        }
    }))
}

/// The 1-based line of the spec text that a content error points at: the
/// line holding the quoted expression it names, else the line assigning the
/// key it names.
fn locate(text: &str, message: &str) -> Option<usize> {
    let quoted = message
        .split_once("= \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(expr, _)| format!("\"{expr}\""));
    if let Some(q) = quoted
        && let Some(i) = text.lines().position(|l| l.contains(&q))
    {
        return Some(i + 1);
    }
    let key = message.split([':', ' ', '[']).next()?;
    let last = key.rsplit('.').next()?;
    text.lines()
        .position(|l| {
            l.trim_start()
                .strip_prefix(last)
                .is_some_and(|r| r.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}

impl OrderSpec {
    /// Parses a TOML study file; expression and least-squares problems are
    /// built here, so their errors carry the line of the offending
    /// expression or key.
    ///
    /// # Errors
    /// [`Error::Spec`] with the line of malformed TOML, an unknown key or a
    /// wrong type, or a bad expression (unknown symbol, syntax, arity).
    pub fn from_toml(text: &str) -> Result<Self> {
        crate::limits::check_spec_size(text)?;
        let spec: Self = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        if matches!(spec.problem.kind.as_str(), "expr" | "least_squares")
            && let Err(Error::Spec {
                message,
                line: None,
            }) = spec.problem.build()
        {
            let line = locate(text, &message);
            return Err(Error::Spec { message, line });
        }
        Ok(spec)
    }

    /// The study the spec asks for (`study.kind`, default [`StudyKind::Order`]).
    ///
    /// # Example
    /// ```
    /// use splitflow::convergence::spec::{OrderSpec, StudyKind};
    /// let spec = OrderSpec::from_toml(r#"
    /// [problem]
    /// kind = "builtin"
    /// name = "harmonic"
    /// [method]
    /// stepper = "rk4"
    /// [study]
    /// kind = "work_precision"
    /// steps = [8, 16, 32]
    /// "#)?;
    /// assert_eq!(spec.kind(), StudyKind::WorkPrecision);
    /// assert!(spec.run_all().is_err());
    /// assert_eq!(spec.work_precision()?.methods[0].levels.len(), 3);
    /// # Ok::<(), splitflow::Error>(())
    /// ```
    pub fn kind(&self) -> StudyKind {
        self.study.kind.unwrap_or_default()
    }

    /// Runs the study of a spec with one method.
    ///
    /// # Errors
    /// [`Error::Spec`] for inconsistent content (wrong-length vectors, unknown
    /// names, NaN values, zero steps, a `[[method]]` array: use
    /// [`run_all`](Self::run_all)), and any integration error other than a
    /// blow-up (recorded in [`OrderOutcome::unstable`]).
    pub fn run(&self) -> Result<OrderOutcome> {
        match &self.method {
            Methods::One(_) => Ok(self.run_all()?.remove(0)),
            Methods::Many(_) => Err(spec_err(
                "method: a [[method]] array gives several outcomes (use run_all)",
            )),
        }
    }

    /// Runs every method of the spec on the same problem, reference and
    /// ladder; each outcome's `method` is the method's `label` (or its
    /// description).
    ///
    /// # Errors
    /// As [`run`](Self::run); an empty `[[method]]` array is an error, and
    /// so are a method with a tolerance ladder (`tols`, for work-precision)
    /// and `study.kind = "work_precision"`.
    pub fn run_all(&self) -> Result<Vec<OrderOutcome>> {
        if self.kind() == StudyKind::WorkPrecision {
            return Err(spec_err(
                "study.kind = \"work_precision\": this spec asks for a work-precision study (OrderSpec::work_precision, splitflow work-precision or splitflow order)",
            ));
        }
        let study = self.prepare()?;
        if self.method.as_slice().iter().any(|m| m.tols.is_some()) {
            return Err(spec_err(
                "method.tols (a tolerance ladder) is for work-precision studies (splitflow work-precision); an order study runs the step ladder",
            ));
        }
        let steps = &self.study.steps;
        self.method
            .as_slice()
            .iter()
            .map(|spec| {
                let mut m = method(spec, &study.problem, &study.measure)?;
                let order = m.order;
                let replicas = m.replicas;
                let (report, unstable, finals) = run_levels(steps, &study, order, |n| {
                    run_level(&study, &mut m, Level::Steps(n)).map(|r| r.outcome)
                })?;
                let richardson_orders = if replicas > 1 {
                    Vec::new()
                } else {
                    richardson_orders(&report.h, &finals, study.measure.norm)
                };
                Ok(OrderOutcome {
                    problem: study.problem.description.clone(),
                    method: spec.label.clone().unwrap_or(m.description),
                    reference: study.reference.name.clone(),
                    reference_error: study.reference.estimated_error,
                    error_measure: study.measure.clone(),
                    richardson_orders,
                    report,
                    unstable,
                    seeds: (replicas > 1).then_some(replicas),
                })
            })
            .collect()
    }

    /// Builds and checks everything a study needs before its first run: the
    /// problem, the step ladder (against [`MAX_STEPS_PER_LEVEL`]), the error
    /// measure, every method, and the reference at the output times.
    pub(crate) fn prepare(&self) -> Result<Prepared> {
        let problem = self.problem.build()?;
        let steps = &self.study.steps;
        check_steps(steps)?;
        check_start(&problem)?;
        let measure = self.study.measure(problem.t_end)?;
        for &n in steps {
            measure
                .marks(n, problem.t_end)
                .map_err(|e| spec_err(e.to_string()))?;
        }
        let methods = self.method.as_slice();
        if methods.is_empty() {
            return Err(spec_err("method: the [[method]] array is empty"));
        }
        // Check every method before the first (possibly long) run.
        for spec in methods {
            check_method(spec, &problem, &measure, steps)?;
        }
        let tol = self.study.reference_tol.unwrap_or(REFERENCE_TOL);
        if !(tol.is_finite() && (1e-13..=1e-6).contains(&tol)) {
            return Err(spec_err(format!(
                "study.reference_tol = {tol} must lie in [1e-13, 1e-6] (the reference runs at tol/10)"
            )));
        }
        let reference = match &problem.exact {
            Some(exact) => Reference {
                states: measure
                    .times
                    .iter()
                    .map(|&t| exact(t))
                    .collect::<Result<_>>()?,
                name: "exact solution".to_string(),
                estimated_error: None,
            },
            None => independent_reference(problem.system.as_ref(), &problem.y0, &measure, tol)?,
        };
        Ok(Prepared {
            problem,
            measure,
            reference,
        })
    }
}

/// `study.steps`: positive, within [`MAX_STEPS_PER_LEVEL`], at least two
/// levels, strictly increasing.
fn check_steps(steps: &[usize]) -> Result<()> {
    if steps.contains(&0) {
        return Err(spec_err("study.steps must be positive (found 0)"));
    }
    if let Some(&n) = steps.iter().find(|&&n| n > MAX_STEPS_PER_LEVEL) {
        return Err(spec_err(format!(
            "study.steps = {n} exceeds the cap of {MAX_STEPS_PER_LEVEL} steps per level"
        )));
    }
    if steps.len() < 2 || steps.windows(2).any(|w| w[1] <= w[0]) {
        return Err(spec_err(format!(
            "study.steps = {steps:?}: need at least 2 levels, strictly increasing"
        )));
    }
    Ok(())
}

/// The right-hand side is finite at `(0, y0)`, where every run starts.
fn check_start(problem: &BuiltProblem) -> Result<()> {
    let mut dy = State::zeros(problem.y0.len());
    problem.system.rhs(0.0, &problem.y0, &mut dy);
    if let Some(i) = dy.iter().position(|x| !x.is_finite()) {
        return Err(spec_err(format!(
            "problem: the right-hand side is not finite at t = 0, y = y0 (component {i} is {}): no method or reference can start",
            dy[i]
        )));
    }
    Ok(())
}

/// A `[method]` builds on `problem`, its tolerance ladder is a refinement,
/// and its finest level (× seeds × sub-steps) is within
/// [`MAX_STEPS_PER_LEVEL`].
fn check_method(
    spec: &MethodSpec,
    problem: &BuiltProblem,
    measure: &ErrorMeasure,
    steps: &[usize],
) -> Result<()> {
    if let Some(tols) = &spec.tols {
        if tols.len() < 2 || tols.iter().any(|t| !(t.is_finite() && *t > 0.0)) {
            return Err(spec_err(format!(
                "method.tols = {tols:?}: need at least 2 finite positive tolerances"
            )));
        }
        if tols.windows(2).any(|w| w[1] >= w[0]) {
            return Err(spec_err(format!(
                "method.tols = {tols:?}: must be strictly decreasing (a refinement ladder)"
            )));
        }
    }
    let m = method(spec, problem, measure)?;
    let finest = steps.last().copied().unwrap_or(0);
    if finest.saturating_mul(m.replicas) > MAX_STEPS_PER_LEVEL {
        return Err(spec_err(format!(
            "method.seeds = {}: {} seeds × {finest} steps exceeds the cap of {MAX_STEPS_PER_LEVEL} steps per level",
            m.replicas, m.replicas
        )));
    }
    let sub = spec.sub_steps.unwrap_or(1);
    if finest.saturating_mul(m.replicas).saturating_mul(sub) > MAX_STEPS_PER_LEVEL {
        return Err(spec_err(format!(
            "method.sub_steps = {sub}: {sub} sub-steps × {finest} steps{} exceeds the cap of {MAX_STEPS_PER_LEVEL} steps per level",
            if m.replicas > 1 {
                format!(" × {} seeds", m.replicas)
            } else {
                String::new()
            }
        )));
    }
    Ok(())
}

/// A study ready to run: problem, error measure and reference.
pub(crate) struct Prepared {
    pub problem: BuiltProblem,
    pub measure: ErrorMeasure,
    pub reference: Reference,
}

/// The error of one level's run against the reference: NaN-free and
/// finite, or the time the run blew up (an unstable level).
pub(crate) fn level_error(
    study: &Prepared,
    run: Result<Vec<State>>,
) -> Result<std::result::Result<(f64, State), f64>> {
    let t_end = study.problem.t_end;
    match run {
        Ok(states) if states.iter().all(|y| y.iter().all(|x| x.is_finite())) => {
            let e = study.measure.error(&states, &study.reference.states)?;
            let last = states.last().cloned().unwrap_or_else(|| State::zeros(0));
            Ok(Ok((e, last)))
        }
        Ok(states) => {
            // The first output time with a non-finite state.
            let k = states
                .iter()
                .position(|y| y.iter().any(|x| !x.is_finite()))
                .unwrap_or(0);
            Ok(Err(study.measure.times.get(k).copied().unwrap_or(t_end)))
        }
        Err(Error::NonFinite { t: Some(t), .. }) => Ok(Err(t)),
        Err(e) => Err(e),
    }
}

/// One level of a method, run once per replica (seed).
pub(crate) struct LevelResult {
    /// The error (the RMS over the replicas, or the one run's error as it
    /// is) with the first replica's final state, or the time the first
    /// unstable replica blew up.
    pub outcome: std::result::Result<(f64, State), f64>,
    /// Right-hand-side evaluations of one run (the mean over the replicas;
    /// `None` when a run failed midway).
    pub f_evals: Option<usize>,
}

/// Runs `m` at `level` once per replica (`m.replicas`; the seeds of a
/// shuffled batch order) and measures each run against the reference. With
/// `N > 1` replicas the error is the RMS `(Σ_r e_r²/N)^{1/2}`; with one, the
/// run's error itself (bitwise). Any unstable replica makes the level
/// unstable.
pub(crate) fn run_level(study: &Prepared, m: &mut Method, level: Level) -> Result<LevelResult> {
    if m.replicas == 1 {
        let run = (m.runner)(level, 0);
        let f_evals = run.as_ref().ok().map(|r| r.f_evals);
        let outcome = level_error(study, run.map(|r| r.states))?;
        return Ok(LevelResult { outcome, f_evals });
    }
    let (mut sum_sq, mut evals, mut first) = (0.0, 0usize, None);
    for r in 0..m.replicas {
        let run = (m.runner)(level, r as u64);
        let f = run.as_ref().ok().map(|r| r.f_evals);
        match level_error(study, run.map(|r| r.states))? {
            Ok((e, last)) => {
                sum_sq += e * e;
                evals += f.unwrap_or(0);
                first.get_or_insert(last);
            }
            Err(t) => {
                return Ok(LevelResult {
                    outcome: Err(t),
                    f_evals: f,
                });
            }
        }
    }
    let n = m.replicas as f64;
    Ok(LevelResult {
        outcome: Ok(((sum_sq / n).sqrt(), first.expect("at least one replica"))),
        f_evals: Some(evals / m.replicas),
    })
}

/// Runs `runner` at every level; a level that fails with a non-finite value
/// (or ends non-finite) is recorded as unstable with error NaN, left out of
/// the fit with the reason [`ExclusionReason::Unstable`], and the study
/// continues. Also returns each level's final state (`None` when unstable).
fn run_levels(
    steps: &[usize],
    study: &Prepared,
    order: Order,
    mut runner: impl FnMut(usize) -> Result<std::result::Result<(f64, State), f64>>,
) -> Result<(ConvergenceReport, Vec<UnstableLevel>, Vec<Option<State>>)> {
    let analysis =
        ConvergenceStudy::new(steps.to_vec(), study.problem.t_end).with_effective_order(order);
    let mut errors = Vec::with_capacity(steps.len());
    let mut finals = Vec::with_capacity(steps.len());
    let mut unstable = Vec::new();
    for (level, &n) in steps.iter().enumerate() {
        match runner(n)? {
            Ok((e, last)) => {
                errors.push(e);
                finals.push(Some(last));
            }
            Err(t) => {
                unstable.push(UnstableLevel { level, steps: n, t });
                errors.push(f64::NAN);
                finals.push(None);
            }
        }
    }
    let mut report = analysis
        .analyze(errors, study.measure.scale(&study.reference.states))
        .map_err(|e| match e {
            Error::InvalidParameter {
                name,
                value,
                reason,
            } if name == "errors" => {
                let note = if unstable.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({} unstable level(s): steps {:?})",
                        unstable.len(),
                        unstable.iter().map(|u| u.steps).collect::<Vec<_>>()
                    )
                };
                Error::InvalidParameter {
                    name,
                    value,
                    reason: format!("{reason}{note}"),
                }
            }
            other => other,
        })?;
    mark_unstable(&mut report.excluded, &unstable);
    Ok((report, unstable, finals))
}

/// Gives the excluded levels that blew up the reason `unstable`.
fn mark_unstable(excluded: &mut [Exclusion], unstable: &[UnstableLevel]) {
    for e in excluded {
        if unstable.iter().any(|u| u.level == e.level) {
            e.reason = ExclusionReason::Unstable;
        }
    }
}
