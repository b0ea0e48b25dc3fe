//! The methods of a study spec: a `[method]` table turned into a runner that
//! integrates the problem at one level of a ladder (a number of equal steps,
//! or an adaptive tolerance) and returns the states at the output times and
//! the right-hand-side evaluations it spent.
//!
//! The effective order of a splitting is `min(q, r₁, …, r_N)` with `q` the
//! composition's order and `rᵢ` the order of piece `i`'s sub-integrator: a
//! sub-integrator of order `r` has local error `O(h^{r+1})` per sub-step, and
//! the composition adds these up to `O(h^r)` globally. A piece whose field is
//! constant along its own trajectories (`fᵢ′ fᵢ ≡ 0`, autonomous: the kinetic
//! part `q′ = p` of a Hamiltonian, the potential part `p′ = −∇V(q)`) has the
//! straight-line flow `y + t fᵢ(y)`, on which every explicit Runge–Kutta
//! method is exact (each stage sees `fᵢ(y + c h fᵢ(y)) = fᵢ(y)` and the
//! weights sum to 1): such a piece does not limit the order (`rᵢ = ∞`).

use super::measure::ErrorMeasure;
use super::spec::{BatchOrder, BuiltProblem, MAX_SEEDS, MethodSpec, refuse_keys, spec_err};
use crate::error::{Error, Result};
use crate::splitting::{ExactLinear, FlowMap, Integrated};
use crate::splitting::{PieceOrder, Splitting, SplittingCoefficients, SplittingOptions};
use crate::steppers::stepper_by_name;
use crate::{AdaptiveOptions, Integrator, LinearSystem, Order, State, Steps, integrate};

/// A level of a ladder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Level {
    /// `n` equal steps over the span.
    Steps(usize),
    /// Adaptive steps with `rtol = atol = tol`.
    Tol(f64),
}

/// One run at one level.
#[derive(Debug, Clone)]
pub struct LevelRun {
    /// The states at the measure's output times.
    pub states: Vec<State>,
    /// Right-hand-side evaluations spent.
    pub f_evals: usize,
}

/// `(level, replica) ↦ run`: replica `r < Method::replicas` of a shuffled
/// batch order runs from the seed `seed + r`; other methods ignore it.
pub(crate) type MethodRunner<'a> = Box<dyn FnMut(Level, u64) -> Result<LevelRun> + 'a>;

/// A method ready to run.
pub(crate) struct Method<'a> {
    pub description: String,
    pub order: Order,
    /// Runs per level whose errors are averaged (RMS): `method.seeds` for a
    /// shuffled batch order, else 1.
    pub replicas: usize,
    pub runner: MethodRunner<'a>,
}

/// The most step attempts of one adaptive level.
const MAX_ADAPTIVE_ATTEMPTS: usize = 10_000_000;

/// Builds the method of a `[method]` table for `problem`, measuring at the
/// output times of `measure`.
pub(crate) fn method<'a>(
    spec: &MethodSpec,
    problem: &'a BuiltProblem,
    measure: &'a ErrorMeasure,
) -> Result<Method<'a>> {
    match (&spec.stepper, &spec.splitting) {
        (Some(_), Some(_)) => Err(spec_err(
            "method: give either stepper or splitting, not both",
        )),
        (None, None) => Err(spec_err("method: give a stepper (or a splitting)")),
        (Some(name), None) => stepper_method(name, spec, problem, measure),
        (None, Some(_)) => splitting_method(spec, problem, measure),
    }
}

fn stepper_method<'a>(
    name: &str,
    spec: &MethodSpec,
    problem: &'a BuiltProblem,
    measure: &'a ErrorMeasure,
) -> Result<Method<'a>> {
    if spec.sub_stepper.is_some() || spec.sub_steps.is_some() {
        return Err(spec_err(
            "method.sub_stepper and method.sub_steps need a splitting",
        ));
    }
    if spec.coefficients.is_some() || spec.order.is_some() {
        return Err(spec_err(
            "method.coefficients and method.order need splitting = \"custom\"",
        ));
    }
    refuse_keys(
        &[
            ("batch_order", spec.batch_order.is_some()),
            ("seed", spec.seed.is_some()),
            ("seeds", spec.seeds.is_some()),
        ],
        |key| {
            format!(
                "method.{key} needs splitting = \"lie\" (a batch order visits the pieces), not a stepper"
            )
        },
    )?;
    let mut stepper = stepper_by_name(name)?;
    if spec.tols.is_some() && stepper.as_embedded().is_none() {
        return Err(spec_err(format!(
            "method.tols: `{name}` has no embedded error estimate; use fixed steps or an embedded pair (rk45, bs3, tsit5, dop853)"
        )));
    }
    let order = stepper.order();
    let t_end = problem.t_end;
    let runner = move |level: Level, _replica: u64| -> Result<LevelRun> {
        let segments = stepper_segments(level, measure, t_end)?;
        run_segments(problem, stepper.as_mut(), measure, &segments)
    };
    Ok(Method {
        description: name.to_string(),
        order,
        replicas: 1,
        runner: Box::new(runner),
    })
}

/// How each segment between consecutive output times is integrated: the
/// `n` equal steps of the level split at the measure's marks, or adaptive
/// steps at the level's tolerance.
fn stepper_segments(level: Level, measure: &ErrorMeasure, t_end: f64) -> Result<Vec<Steps>> {
    Ok(match level {
        Level::Steps(n) => {
            let marks = measure.marks(n, t_end)?;
            std::iter::once(0)
                .chain(marks.iter().copied())
                .collect::<Vec<_>>()
                .windows(2)
                .map(|w| Steps::Fixed(w[1] - w[0]))
                .collect()
        }
        Level::Tol(tol) => {
            let opts = AdaptiveOptions {
                max_steps: MAX_ADAPTIVE_ATTEMPTS,
                ..AdaptiveOptions::with_tolerance(tol)
            };
            vec![Steps::Adaptive(opts); measure.times.len()]
        }
    })
}

/// Integrates `problem` from 0 through the measure's output times, one
/// segment each; a fixed-step segment that ends non-finite is rerun to find
/// when it blew up.
fn run_segments(
    problem: &BuiltProblem,
    stepper: &mut dyn crate::Stepper,
    measure: &ErrorMeasure,
    segments: &[Steps],
) -> Result<LevelRun> {
    let system = problem.system.as_ref();
    let mut f_evals = 0;
    let mut states = Vec::with_capacity(segments.len());
    let (mut t, mut y) = (0.0, problem.y0.clone());
    for (&tk, steps) in measure.times.iter().zip(segments) {
        let sol = integrate(system, &mut *stepper, t, tk, &y, steps)?;
        f_evals += sol.stats.f_evals;
        if let (false, Steps::Fixed(k)) = (all_finite(&sol.y), steps) {
            let at = blow_up_time(system, &mut *stepper, t, tk, &y, *k)?;
            return Err(Error::non_finite("the method's state", at));
        }
        (t, y) = (tk, sol.y);
        states.push(y.clone());
    }
    Ok(LevelRun { states, f_evals })
}

fn all_finite(y: &State) -> bool {
    y.iter().all(|x| x.is_finite())
}

/// The end of the first of `k` equal steps over `[t0, t1]` from `y0` whose
/// result is not finite (rerun one step at a time, only after a segment
/// ended non-finite): the time an unstable level blew up.
fn blow_up_time(
    system: &dyn crate::OdeSystem,
    stepper: &mut dyn crate::Stepper,
    t0: f64,
    t1: f64,
    y0: &State,
    k: usize,
) -> Result<f64> {
    let h = (t1 - t0) / k as f64;
    let mut y = y0.clone();
    for j in 0..k {
        let (a, b) = (
            t0 + j as f64 * h,
            if j + 1 == k {
                t1
            } else {
                t0 + (j + 1) as f64 * h
            },
        );
        y = integrate(system, &mut *stepper, a, b, &y, &Steps::Fixed(1))?.y;
        if !all_finite(&y) {
            return Ok(b);
        }
    }
    Ok(t1)
}

fn sub_is_exact(spec: &MethodSpec) -> bool {
    spec.sub_stepper.as_deref() == Some("exact")
}

/// Whether the linear field `A y + c` is constant along its own flow:
/// `f′f = A(Ay + c) ≡ 0`, i.e. `A² = 0` and `A c = 0`.
fn linear_is_straight_line(piece: &LinearSystem) -> bool {
    let a = piece.matrix();
    (a * a).iter().all(|x| *x == 0.0)
        && piece
            .forcing()
            .is_none_or(|c| (a * c).iter().all(|x| *x == 0.0))
}

/// The order a sub-integrator gives a piece: `Exact` when the piece's flow
/// is a straight line and the sub-stepper is explicit (see the module docs).
fn piece_order_of(sub_order: Order, sub: &str, straight_line: bool) -> Order {
    if straight_line && sub != "implicit_euler" {
        Order::Exact
    } else {
        sub_order
    }
}

/// The piece order of a `[method]`'s `batch_order` (with `seed`), and whether
/// one step is two half steps (palindromic: forward, then backward).
fn batch_order(spec: &MethodSpec, scheme: &str) -> Result<(PieceOrder, bool)> {
    let Some(b) = spec.batch_order else {
        refuse_keys(
            &[
                ("seed", spec.seed.is_some()),
                ("seeds", spec.seeds.is_some()),
            ],
            |key| format!("method.{key} needs batch_order = \"shuffled\""),
        )?;
        return Ok((PieceOrder::Fixed, false));
    };
    if scheme != "lie" {
        return Err(spec_err(format!(
            "method.batch_order needs splitting = \"lie\" (one visit of each batch per step), not `{scheme}`"
        )));
    }
    let unshuffled = b != BatchOrder::Shuffled;
    refuse_keys(
        &[
            ("seed", spec.seed.is_some() && unshuffled),
            ("seeds", spec.seeds.is_some() && unshuffled),
        ],
        |key| {
            format!(
                "method.{key} needs batch_order = \"shuffled\", not `{}`",
                b.name()
            )
        },
    )?;
    Ok(match b {
        BatchOrder::Fixed => (PieceOrder::Fixed, false),
        BatchOrder::Reversed => (PieceOrder::Reversed, false),
        // Two advances per step: the schedule's even advance runs forward,
        // the odd one backward.
        BatchOrder::Palindromic => (PieceOrder::Palindromic, true),
        BatchOrder::Shuffled => (
            PieceOrder::Shuffled {
                seed: spec.seed.unwrap_or(0),
            },
            false,
        ),
    })
}

/// A `[method]` with a splitting: checks the table in the order its keys
/// are read (pieces, sub-integrator, coefficients, batch order, seeds) and
/// returns the method whose runner builds a fresh splitting per level.
fn splitting_method<'a>(
    spec: &MethodSpec,
    problem: &'a BuiltProblem,
    measure: &'a ErrorMeasure,
) -> Result<Method<'a>> {
    let scheme = spec.splitting.as_deref().unwrap_or_default();
    let n_pieces = problem.pieces.len().max(problem.flows.len());
    if n_pieces == 0 {
        return Err(spec_err(
            "method.splitting needs a problem with pieces (linear, or expr with problem.pieces)",
        ));
    }
    if spec.tols.is_some() {
        return Err(spec_err(
            "method.tols (an adaptive tolerance ladder) needs a stepper with an error estimate, not a splitting",
        ));
    }
    let (sub, sub_steps) = sub_integrator(spec, problem)?;
    let coefficients = splitting_coefficients(spec, scheme, n_pieces)?;
    let (piece_order, half_steps) = batch_order(spec, scheme)?;
    let pieces = PieceSet {
        problem,
        sub: sub.to_string(),
        sub_steps,
        // Forward at h/2 then backward at h/2: the adjoint of Lie after
        // Lie, a symmetric composition (Strang), order 2.
        composition_order: if half_steps { 2 } else { coefficients.order() },
    };
    let options = SplittingOptions {
        piece_order,
        ..SplittingOptions::default()
    };
    // Checked once here (dimensions, coefficients); each level builds its
    // own splitting, so a shuffled order restarts from its seed.
    let (first, order) = pieces.build()?;
    Splitting::new(first, coefficients.clone(), options)?;
    let replicas = seeds(spec)?;
    let description = splitting_description(spec, scheme, &pieces, piece_order, replicas);
    let run = SplittingRun {
        pieces,
        coefficients,
        options,
        half_steps,
        measure,
        t_end: problem.t_end,
        y0: problem.y0.clone(),
    };
    Ok(Method {
        description,
        order,
        replicas,
        runner: Box::new(move |level, replica| run.run(level, replica)),
    })
}

/// The sub-integrator of a splitting's pieces: `method.sub_stepper` (a
/// stepper name, or `exact` for linear pieces) and `method.sub_steps`.
fn sub_integrator<'s>(spec: &'s MethodSpec, problem: &BuiltProblem) -> Result<(&'s str, usize)> {
    if sub_is_exact(spec) && !problem.flows.is_empty() {
        return Err(spec_err(
            "method.sub_stepper = \"exact\" needs linear pieces; expression pieces need a stepper name",
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
    Ok((sub, sub_steps))
}

/// The coefficients of `method.splitting` over `n_pieces` pieces: a named
/// scheme, or `custom` with `method.coefficients` and the claimed
/// `method.order` (checked against the order conditions).
fn splitting_coefficients(
    spec: &MethodSpec,
    scheme: &str,
    n_pieces: usize,
) -> Result<SplittingCoefficients> {
    match (scheme, &spec.coefficients) {
        ("custom", Some(table)) => {
            let order = spec.order.ok_or_else(|| {
                spec_err("method.order (the claimed order) is required with splitting = \"custom\"")
            })?;
            SplittingCoefficients::from_table(table, n_pieces, order)
                .map_err(|e| spec_err(format!("method.coefficients: {e}")))
        }
        ("custom", None) => Err(spec_err(
            "method.coefficients (one list per piece) is required with splitting = \"custom\"",
        )),
        _ if spec.coefficients.is_some() || spec.order.is_some() => Err(spec_err(
            "method.coefficients and method.order need splitting = \"custom\"",
        )),
        _ => SplittingCoefficients::by_name(scheme, n_pieces)
            .map_err(|e| spec_err(format!("method.splitting: {e}"))),
    }
}

/// The pieces of a splitting method: the problem's expression flows and
/// linear pieces, each advanced by the sub-integrator.
struct PieceSet<'a> {
    problem: &'a BuiltProblem,
    /// `exact` or a stepper name.
    sub: String,
    sub_steps: usize,
    /// The order `q` of the composition.
    composition_order: u32,
}

impl PieceSet<'_> {
    /// Fresh pieces (expression flows first, then linear pieces) and the
    /// effective order `min(q, r₁, …, r_N)` (module docs).
    fn build(&self) -> Result<(Vec<Box<dyn FlowMap>>, Order)> {
        let sub = self.sub.as_str();
        let integrator = || Integrator::new(stepper_by_name(sub)?, Steps::Fixed(self.sub_steps));
        let mut order = Order::Finite(self.composition_order);
        let mut pieces: Vec<Box<dyn FlowMap>> = Vec::new();
        for flow in &self.problem.flows {
            let piece = Integrated::new(flow.clone(), integrator()?);
            order = order.min(piece_order_of(
                piece.order(),
                sub,
                flow.is_straight_line_flow(),
            ));
            pieces.push(Box::new(piece));
        }
        for piece in &self.problem.pieces {
            let map: Box<dyn FlowMap> = if sub == "exact" {
                Box::new(ExactLinear::new(piece.clone()))
            } else {
                Box::new(Integrated::new(piece.clone(), integrator()?))
            };
            order = order.min(piece_order_of(
                map.order(),
                sub,
                linear_is_straight_line(piece),
            ));
            pieces.push(map);
        }
        Ok((pieces, order))
    }
}

/// `<scheme> splitting, <sub> sub-flows xN`, with the batch order and its
/// seeds when the method has one.
fn splitting_description(
    spec: &MethodSpec,
    scheme: &str,
    pieces: &PieceSet,
    piece_order: PieceOrder,
    replicas: usize,
) -> String {
    let mut description = if pieces.sub == "exact" {
        format!("{scheme} splitting, exact sub-flows")
    } else {
        format!(
            "{scheme} splitting, {} sub-flows x{}",
            pieces.sub, pieces.sub_steps
        )
    };
    if let Some(b) = spec.batch_order {
        description.push_str(&format!(", {} batch order", b.name()));
        if let PieceOrder::Shuffled { seed } = piece_order {
            if replicas > 1 {
                let last = seed.wrapping_add(replicas as u64 - 1);
                description.push_str(&format!(
                    " (seeds {seed}..={last}, RMS error over {replicas} seeds)"
                ));
            } else {
                description.push_str(&format!(" (seed {seed})"));
            }
        }
    }
    description
}

/// What one level of a splitting method runs: a fresh splitting of fresh
/// pieces over `[0, t_end]` in `n` equal steps.
struct SplittingRun<'a> {
    pieces: PieceSet<'a>,
    coefficients: SplittingCoefficients,
    options: SplittingOptions,
    /// One step is two half steps (a palindromic batch order).
    half_steps: bool,
    measure: &'a ErrorMeasure,
    t_end: f64,
    y0: State,
}

impl SplittingRun<'_> {
    /// The run of replica `replica` (a shuffled order's seed offset) at
    /// `level`, with the states at the measure's marks.
    fn run(&self, level: Level, replica: u64) -> Result<LevelRun> {
        let Level::Steps(n) = level else {
            return Err(spec_err(
                "a splitting runs with fixed steps (no tolerance ladder)",
            ));
        };
        let marks = self.measure.marks(n, self.t_end)?;
        let options = match self.options.piece_order {
            PieceOrder::Shuffled { seed } => SplittingOptions {
                piece_order: PieceOrder::Shuffled {
                    seed: seed.wrapping_add(replica),
                },
                ..self.options
            },
            _ => self.options,
        };
        let mut splitting =
            Splitting::new(self.pieces.build()?.0, self.coefficients.clone(), options)?;
        let h = self.t_end / n as f64;
        let mut y = self.y0.clone();
        let mut states = Vec::with_capacity(marks.len());
        let mut next = marks.iter().peekable();
        for k in 0..n {
            let t = k as f64 * h;
            if self.half_steps {
                splitting.advance(t, 0.5 * h, &mut y)?;
                splitting.advance(t + 0.5 * h, 0.5 * h, &mut y)?;
            } else {
                splitting.advance(t, h, &mut y)?;
            }
            if !all_finite(&y) {
                return Err(Error::non_finite("the splitting's state", t + h));
            }
            if next.next_if(|&&m| m == k + 1).is_some() {
                states.push(y.clone());
            }
        }
        Ok(LevelRun {
            states,
            f_evals: splitting.stats().f_evals,
        })
    }
}

/// `method.seeds` (default 1), checked: at least 1, at most [`MAX_SEEDS`]
/// (its pairing with `batch_order = "shuffled"` is checked by
/// [`batch_order`]).
fn seeds(spec: &MethodSpec) -> Result<usize> {
    match spec.seeds {
        None => Ok(1),
        Some(0) => Err(spec_err("method.seeds must be at least 1")),
        Some(n) if n > MAX_SEEDS => Err(spec_err(format!(
            "method.seeds = {n} exceeds the cap of {MAX_SEEDS}"
        ))),
        Some(n) => Ok(n),
    }
}
