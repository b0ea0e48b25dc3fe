//! Optimizers generated from a flow and a scheme: "optimizer = scheme on flow"
//! made executable.
//!
//! A [`GeneratedOptimizer`] owns a flow ([`GeneratedFlow`] or any
//! [`OracleFlow`]), a [`Scheme`] (one stepper on the whole flow, or a
//! splitting of the flow's named pieces with a sub-scheme per piece) and a
//! step h; one optimizer step is one step h of the scheme on the flow, with
//! every gradient taken from the oracle of that step. The classic
//! optimizers are particular cases (tests/generated.rs proves each equals
//! its fused fast path to 1e-12), and [`order_study`] measures any of them
//! as an integrator of its flow.

mod blocks;
mod fast;
mod flow;
pub(crate) mod from_spec;
mod order;
mod scheme;
mod source;

pub use flow::{AdamBias, FLOW_KINDS, FlowEntry, FlowKind, GeneratedFlow, OracleFlow, flow_entry};
pub use order::{OrderObjective, order_study};
pub use scheme::{Scheme, SubScheme};
pub use source::GradientSource;

use nalgebra::DMatrix;

use super::{GradientOracle, Optimizer, Schedule};
use crate::error::{Error, Result, check_positive};
use crate::splitting::PieceSchedule;
use crate::{Linearity, OdeSystem, Order, State};
use blocks::BlockState;
use fast::FastSub;
use source::SourceBuffers;

/// A piece (or the whole) of an [`OracleFlow`] as an [`OdeSystem`] whose
/// gradients come from the step's [`GradientSource`].
pub(crate) struct PieceSystem<'f, 's, 'o> {
    pub flow: &'f dyn OracleFlow,
    pub piece: Option<usize>,
    pub src: &'s GradientSource<'o>,
    pub dim: usize,
}

impl OdeSystem for PieceSystem<'_, '_, '_> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn rhs(&self, t: f64, y: &State, dy: &mut State) {
        self.flow.rhs(self.piece, t, y, self.src, dy)
    }
    fn jacobian(&self, t: f64, y: &State, jac: &mut DMatrix<f64>) -> bool {
        self.flow.jacobian(self.piece, t, y, jac)
    }
    fn linearity(&self) -> Linearity {
        self.flow.linearity(self.piece)
    }
    fn is_dissipative(&self) -> bool {
        self.flow.is_dissipative(self.piece)
    }
}

/// The scheme as built for a flow: piece names resolved to indices.
#[derive(Debug)]
enum Plan {
    Whole(crate::Integrator),
    Split {
        coefficients: crate::splitting::SplittingCoefficients,
        /// Flow piece index of each listed piece.
        index: Vec<usize>,
        subs: Vec<SubScheme>,
        schedule: Box<PieceSchedule>,
        clocks: Vec<f64>,
        label: String,
    },
}

/// An optimizer generated from a flow and a scheme: one step is one step h
/// of the scheme on the flow, the flow's gradients taken from the oracle of
/// the step.
///
/// The state is the flow's extended state `y = [θ; aux]` (velocities,
/// moments), aux starting at zero; θ is read from and written back to the
/// caller's vector each step. The flow's time is `t₀ + (n − 1)h` at step n
/// (`t₀ = 0` unless set with [`with_start_time`](Self::with_start_time)).
///
/// | classic method | flow | scheme | h |
/// |---|---|---|---|
/// | SGD / implicit SGD / RK4-GD | gradient | explicit Euler / implicit Euler / RK4 | lr |
/// | momentum, semi-implicit Euler | heavy ball γ | Lie [friction: Euler, kick: Euler, drift: Euler] | √lr |
/// | momentum, exact friction | heavy ball γ | Lie [friction: exact, kick: Euler, drift: Euler] | √lr |
/// | momentum, forward friction | heavy ball γ | Lie [kick: Euler, friction: implicit Euler, drift: Euler] | h |
/// | NAG (Sutskever) | heavy ball γ, Hessian damping β = h | Lie [friction: exact, drift: Euler, kick: Euler] | √lr |
/// | Nesterov (k−1)/(k+r−1) | heavy ball r/t, β = h, t₀ = (r − 1)h | Lie [friction: Euler, drift: Euler, kick: Euler] | √s |
/// | RMSProp, AdaGrad, Adam | their ODEs | Lie [moments: Euler, position: Euler] | δ |
/// | AdamW (PyTorch) | Adam ODE + decay | Lie [moments, decay, position], all Euler | δ |
///
/// **Adam's bias factors** 1 − βᵢⁿ are not given by any ODE: with
/// [`AdamBias::Discrete`] the position piece reads them from the scheme's
/// step counter n and step h (cᵢ = 1 − (1 − aᵢh)ⁿ) — a discrete ingredient
/// of the scheme, stated as such; the exact flow uses 1 − e^{−aᵢt}.
///
/// **NAG** is a Lie splitting of the *Hessian-damped* heavy ball
/// `x' = v − β∇f(x)`, `v' = −γv − ∇f(x)` with β = h (Shi, Du, Jordan and
/// Su's high-resolution ODE): the drift moves x to the look-ahead point and
/// the kick (with its −β∇f term) takes the gradient there.
///
/// A non-finite gradient, an oracle error or a non-finite result of the step
/// is an error naming the step; θ and the optimizer's state are then left
/// as they were.
///
/// # Example
/// ```
/// use nalgebra::dvector;
/// use splitflow::flows::Friction;
/// use splitflow::optimizers::{FlowKind, FnOracle, GeneratedFlow, GeneratedOptimizer, Optimizer, Scheme};
/// // Heavy ball with RK4: an optimizer nobody has named.
/// let flow = GeneratedFlow::new(FlowKind::HeavyBall { friction: Friction::Constant(2.0), hessian_damping: 0.0 })?;
/// let mut opt = GeneratedOptimizer::new(Box::new(flow), Scheme::stepper("rk4")?, 0.1)?;
/// let mut oracle = FnOracle::new(2, |x, g| g.copy_from(x)); // f = ½‖x‖²
/// let mut x = dvector![1.0, -1.0];
/// for _ in 0..200 {
///     opt.step(&mut x, &mut oracle)?;
/// }
/// assert!(x.norm() < 1e-6);
/// # Ok::<(), splitflow::Error>(())
/// ```
pub struct GeneratedOptimizer {
    flow: Box<dyn OracleFlow>,
    plan: Plan,
    h: f64,
    t0: f64,
    steps: usize,
    /// How each listed piece (the whole flow for a stepper scheme) is
    /// advanced on the fast path, when every sub-scheme has one.
    fast: Option<Vec<FastSub>>,
    /// The committed state `[θ; aux]` as blocks.
    state: BlockState,
    /// The contiguous state of the generic path.
    work: State,
    buffers: SourceBuffers,
    evaluations: usize,
    schedule: Schedule,
    /// Flow time elapsed over the steps taken (used under a schedule).
    elapsed: f64,
    /// The flow's discrete rates rᵢ and their products ∏(1 − rᵢh_j) so far.
    rates: Vec<f64>,
    products: Vec<f64>,
    next_products: Vec<f64>,
}

impl std::fmt::Debug for GeneratedOptimizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedOptimizer")
            .field("flow", &self.flow.label())
            .field("plan", &self.plan)
            .field("h", &self.h)
            .field("schedule", &self.schedule)
            .field("steps", &self.steps)
            .finish()
    }
}

impl GeneratedOptimizer {
    /// `scheme` on `flow` with step `h`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the key: `h` ≤ 0 or non-finite;
    /// `pieces` when a splitting is asked of a flow with one piece, names a
    /// piece the flow does not have, or does not list each of the flow's
    /// pieces exactly once; `sub_schemes` when `exact` is asked of a piece
    /// without an exact sub-flow; `splitting` when backward sub-steps meet a
    /// dissipative (gradient-flow) piece.
    pub fn new(flow: Box<dyn OracleFlow>, scheme: Scheme, h: f64) -> Result<Self> {
        check_positive("h", h)?;
        let plan = match scheme {
            Scheme::Whole(i) => Plan::Whole(i),
            Scheme::Split {
                coefficients,
                pieces,
                subs,
                order,
            } => {
                let own = flow.pieces();
                if own.len() < 2 {
                    return Err(Error::invalid(
                        "pieces",
                        own.join(", "),
                        "this flow has a single piece: it cannot be split (use `scheme` instead of `splitting`)",
                    ));
                }
                let mut index = Vec::with_capacity(pieces.len());
                for name in &pieces {
                    let j = flow::piece_index(&own, name)?;
                    if index.contains(&j) {
                        return Err(Error::invalid("pieces", name, "is listed twice"));
                    }
                    index.push(j);
                }
                if let Some(missing) = own.iter().enumerate().find(|(j, _)| !index.contains(j)) {
                    return Err(Error::invalid(
                        "pieces",
                        missing.1,
                        "is a piece of the flow but is not listed (the pieces must add up to the flow)",
                    ));
                }
                for (k, s) in subs.iter().enumerate() {
                    if matches!(s, SubScheme::Exact) && !flow.has_exact(index[k]) {
                        return Err(Error::invalid(
                            "sub_schemes",
                            "exact",
                            &format!("piece `{}` has no exact sub-flow", pieces[k]),
                        ));
                    }
                }
                if coefficients.has_backward_steps()
                    && let Some(k) = index.iter().position(|&j| flow.is_dissipative(Some(j)))
                {
                    return Err(Error::invalid(
                        "splitting",
                        coefficients.name(),
                        &format!(
                            "has backward sub-steps, and piece `{}` is a gradient flow (ill-posed backward)",
                            pieces[k]
                        ),
                    ));
                }
                let n = index.len();
                let label = label_with_subs(coefficients.name(), &pieces, &subs);
                Plan::Split {
                    coefficients,
                    index,
                    schedule: Box::new(PieceSchedule::new(order, n)),
                    clocks: vec![0.0; n],
                    label,
                    subs,
                }
            }
        };
        let rates = flow.discrete_rates();
        let n = rates.len();
        let fast = fast_subs(flow.as_ref(), &plan);
        Ok(GeneratedOptimizer {
            flow,
            plan,
            h,
            t0: 0.0,
            steps: 0,
            fast,
            state: BlockState::default(),
            work: State::zeros(0),
            buffers: SourceBuffers::default(),
            evaluations: 0,
            schedule: Schedule::Constant,
            elapsed: 0.0,
            rates,
            products: vec![1.0; n],
            next_products: vec![1.0; n],
        })
    }

    /// Sets a step-size schedule: step k (0-based) is one step
    /// h_k = `schedule.h_at(h, k)` of the scheme, from flow time
    /// t₀ + h₀ + … + h_{k−1}. A [`Schedule::Constant`] schedule changes nothing.
    ///
    /// # Example
    /// ```
    /// use nalgebra::dvector;
    /// use splitflow::optimizers::{FlowKind, FnOracle, GeneratedFlow, GeneratedOptimizer, Optimizer, Schedule, Scheme};
    /// // SGD with h_k = 0.5/(k + 1) on f = ½‖x‖²: x_{k+1} = (1 − h_k)x_k.
    /// let flow = GeneratedFlow::new(FlowKind::Gradient)?;
    /// let mut opt = GeneratedOptimizer::new(Box::new(flow), Scheme::stepper("explicit_euler")?, 0.5)?
    ///     .with_schedule(Schedule::power(1.0)?);
    /// let mut oracle = FnOracle::new(1, |x, g| g.copy_from(x));
    /// let mut x = dvector![1.0];
    /// opt.step(&mut x, &mut oracle)?;
    /// opt.step(&mut x, &mut oracle)?;
    /// assert_eq!(x[0], (1.0 - 0.5) * (1.0 - 0.25));
    /// # Ok::<(), splitflow::Error>(())
    /// ```
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// The schedule (constant unless set).
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// Sets the flow time of the first step (default 0): step n starts at
    /// `t₀ + (n − 1)h`. Nesterov's (k−1)/(k+r−1) momentum is explicit Euler
    /// on the r/t friction with t₀ = (r − 1)h.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-finite `t0`.
    pub fn with_start_time(mut self, t0: f64) -> Result<Self> {
        if !t0.is_finite() {
            return Err(Error::invalid("t0", t0, "must be finite"));
        }
        self.t0 = t0;
        Ok(self)
    }

    /// The step h.
    pub fn h(&self) -> f64 {
        self.h
    }

    /// The flow.
    pub fn flow(&self) -> &dyn OracleFlow {
        self.flow.as_ref()
    }

    /// The order of one step as an approximation of the flow (the stepper's,
    /// or min(splitting order, sub-scheme orders)).
    pub fn order(&self) -> Order {
        match &self.plan {
            Plan::Whole(i) => i.order(),
            Plan::Split {
                coefficients, subs, ..
            } => subs
                .iter()
                .map(SubScheme::order)
                .fold(Order::Finite(coefficients.order()), Order::min),
        }
    }

    /// The auxiliary block `b ≥ 1` of the flow's state `[θ; aux]` after the
    /// last step (heavy ball: 1 = velocity; Adam: 1 = m, 2 = v); `None`
    /// before the first step or beyond the flow's blocks.
    pub fn auxiliary(&self, b: usize) -> Option<&State> {
        self.state.committed(b)
    }

    /// Whether steps take the fast path: every sub-step is explicit Euler
    /// (one step), exact, or implicit Euler (one step) on a piece that is
    /// affine along its own flow with a diagonal Jacobian (moments,
    /// constant friction, decay, drift), on a built-in flow
    /// ([`OracleFlow::builtin`]).
    /// Each sub-step is then one pass over the blocks of `[θ; aux]` its
    /// piece changes, with no copy of the state; results are bitwise those
    /// of the generic path.
    pub fn is_fast(&self) -> bool {
        self.fast.is_some()
    }

    /// Oracle calls made so far (the memo merges calls at the same point within a step).
    pub fn gradient_evaluations(&self) -> usize {
        self.evaluations
    }

    /// The one-step map as text: the sequence of sub-flows with their
    /// fractions of h, sub-schemes and fields (or the whole-flow stepper).
    ///
    /// # Example
    /// ```
    /// use splitflow::flows::Friction;
    /// use splitflow::optimizers::{FlowKind, GeneratedFlow, GeneratedOptimizer, Scheme, SubScheme};
    /// use splitflow::splitting::SplittingCoefficients;
    /// let flow = GeneratedFlow::new(FlowKind::HeavyBall { friction: Friction::Constant(2.0), hessian_damping: 0.0 })?;
    /// let scheme = Scheme::splitting(SplittingCoefficients::lie(3)?, &["friction", "kick", "drift"],
    ///     vec![SubScheme::Exact, SubScheme::named("explicit_euler")?, SubScheme::named("explicit_euler")?])?;
    /// let opt = GeneratedOptimizer::new(Box::new(flow), scheme, 0.1)?;
    /// assert!(opt.update_text().starts_with("1. friction over 1·h: exact flow of v' = −2v"));
    /// # Ok::<(), splitflow::Error>(())
    /// ```
    pub fn update_text(&self) -> String {
        match &self.plan {
            Plan::Whole(i) => format!(
                "y = [θ; aux] ← one {} step of size h = {} on y' = F(y), F = {}",
                i.label(),
                self.h,
                self.flow.label()
            ),
            Plan::Split {
                coefficients,
                index,
                subs,
                ..
            } => {
                let names = self.flow.pieces();
                coefficients
                    .sequence()
                    .iter()
                    .enumerate()
                    .map(|(k, &(slot, a))| {
                        let j = index[slot];
                        let how = match &subs[slot] {
                            SubScheme::Exact => "exact flow".to_string(),
                            SubScheme::Integrate(i) => i.label(),
                        };
                        format!(
                            "{}. {} over {a}·h: {how} of {}",
                            k + 1,
                            names[j],
                            self.flow.piece_field(j)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
                    + &format!(" (h = {})", self.h)
            }
        }
    }

    /// The scheme's description.
    pub fn scheme_label(&self) -> String {
        match &self.plan {
            Plan::Whole(i) => i.label(),
            Plan::Split { label, .. } => label.clone(),
        }
    }
}

impl GeneratedOptimizer {
    /// The flow time and step of the next step: `t₀ + n·h` and h, or under
    /// a schedule the elapsed time and h_n (which must be finite and > 0).
    fn time_and_step(&self) -> Result<(f64, f64)> {
        if self.schedule.is_constant() {
            return Ok((self.t0 + self.steps as f64 * self.h, self.h));
        }
        let h = self.schedule.h_at(self.h, self.steps);
        if !(h.is_finite() && h > 0.0) {
            return Err(Error::invalid(
                "schedule",
                h,
                &format!(
                    "h_k of step {} must be finite and > 0 ({}); θ is unchanged",
                    self.steps + 1,
                    self.schedule.formula()
                ),
            ));
        }
        Ok((self.t0 + self.elapsed, h))
    }

    /// The flow's discrete products ∏(1 − rᵢh_j) including the next step
    /// (committed with it): (1 − rᵢh)ⁿ at a constant step.
    fn update_discrete_products(&mut self, h: f64) {
        let k = self.steps + 1;
        let constant = self.schedule.is_constant();
        for ((next, &r), &prev) in self
            .next_products
            .iter_mut()
            .zip(&self.rates)
            .zip(&self.products)
        {
            *next = if constant {
                (1.0 - r * h).powi(k as i32)
            } else {
                prev * (1.0 - r * h)
            };
        }
    }
}

/// An error of step `k`'s scheme, with the step named.
fn with_step(e: Error, k: usize) -> Error {
    match e {
        Error::NonFinite { what, kind, t } => Error::NonFinite {
            what: format!("generated optimizer step {k}: {what}"),
            kind,
            t,
        },
        Error::FixedPointFailed {
            iterations, change, ..
        } => Error::FixedPointFailed {
            step: k,
            iterations,
            change,
        },
        other => other,
    }
}

/// The refusal of step `k` whose result has a non-finite block (0: θ).
fn refused(block: usize, k: usize, t: f64) -> Error {
    let (kind, what) = if block == 0 {
        (crate::error::NonFiniteKind::Parameters, "parameters θ")
    } else {
        (
            crate::error::NonFiniteKind::OptimizerState,
            "optimizer state",
        )
    };
    Error::non_finite_of(
        kind,
        &format!(
            "{what} produced by generated optimizer step {k} (the step was refused; θ and the optimizer's state are unchanged)"
        ),
        Some(t),
    )
}

fn label_with_subs(name: &str, pieces: &[String], subs: &[SubScheme]) -> String {
    let parts: Vec<String> = pieces
        .iter()
        .zip(subs)
        .map(|(p, s)| format!("{p}: {}", s.label()))
        .collect();
    format!("{name} splitting [{}]", parts.join(", "))
}

/// The fast-path sub-step of each listed piece (the whole flow for a
/// stepper scheme), when every one has one: explicit Euler with one step,
/// or exact, on a built-in flow.
fn fast_subs(flow: &dyn OracleFlow, plan: &Plan) -> Option<Vec<FastSub>> {
    let builtin = flow.builtin()?;
    let one_step = |i: &crate::Integrator, name: &str| {
        i.stepper_name() == name && *i.steps() == crate::Steps::Fixed(1)
    };
    match plan {
        Plan::Whole(i) => (one_step(i, "explicit_euler") && flow.pieces().len() == 1)
            .then(|| vec![FastSub::Euler]),
        Plan::Split { subs, index, .. } => subs
            .iter()
            .zip(index)
            .map(|(s, &piece)| match s {
                SubScheme::Exact => Some(FastSub::Exact),
                SubScheme::Integrate(i) if one_step(i, "explicit_euler") => Some(FastSub::Euler),
                SubScheme::Integrate(i)
                    if one_step(i, "implicit_euler") && builtin.has_fast_implicit(piece) =>
                {
                    Some(FastSub::ImplicitEuler)
                }
                SubScheme::Integrate(_) => None,
            })
            .collect(),
    }
}

/// Where a step works: the blocks of the fast path, or a contiguous
/// `[θ; aux]` advanced by the scheme's integrators.
enum Storage<'a> {
    Blocks {
        flow: &'a GeneratedFlow,
        subs: &'a [FastSub],
        state: &'a mut BlockState,
    },
    Contiguous(&'a mut State),
}

/// Advances the state by one step of the plan (gradients from `src`).
fn advance(
    plan: &mut Plan,
    flow: &dyn OracleFlow,
    src: &GradientSource,
    t: f64,
    h: f64,
    storage: Storage,
) -> Result<()> {
    match (plan, storage) {
        (Plan::Whole(_), Storage::Blocks { flow, state, .. }) => {
            flow.fast_sub_step(0, FastSub::Euler, t, h, state, src);
            Ok(())
        }
        (Plan::Whole(integrator), Storage::Contiguous(y)) => {
            let sys = PieceSystem {
                flow,
                piece: None,
                src,
                dim: y.len(),
            };
            integrator.advance(&sys, t, h, y)
        }
        (
            Plan::Split {
                coefficients,
                index,
                subs,
                schedule,
                clocks,
                ..
            },
            mut storage,
        ) => {
            let perm = schedule.next_step();
            clocks.fill(t);
            for &(slot, a) in coefficients.sequence() {
                let k = perm[slot];
                let tau = a * h;
                match (&mut storage, &mut subs[k]) {
                    (Storage::Blocks { flow, subs, state }, _) => {
                        flow.fast_sub_step(index[k], subs[k], clocks[k], tau, state, src)
                    }
                    (Storage::Contiguous(y), SubScheme::Exact) => {
                        flow.exact(index[k], clocks[k], tau, y, src)
                    }
                    (Storage::Contiguous(y), SubScheme::Integrate(integrator)) => {
                        let sys = PieceSystem {
                            flow,
                            piece: Some(index[k]),
                            src,
                            dim: y.len(),
                        };
                        integrator.advance(&sys, clocks[k], tau, y)?;
                    }
                }
                clocks[k] += tau;
            }
            Ok(())
        }
    }
}

impl Optimizer for GeneratedOptimizer {
    fn name(&self) -> &'static str {
        "generated"
    }

    fn step(&mut self, theta: &mut State, oracle: &mut dyn GradientOracle) -> Result<()> {
        let p = theta.len();
        self.state
            .fit(1 + self.flow.aux_blocks(), p, self.fast.is_some());
        let k = self.steps + 1;
        let (t, h) = self.time_and_step()?;
        self.update_discrete_products(h);
        let src = GradientSource::new(
            oracle,
            &mut self.buffers,
            p,
            Some(k),
            h,
            &self.next_products,
        );
        let fast = match (&self.fast, self.flow.builtin()) {
            (Some(subs), Some(flow)) if self.state.has_scratch() => Some((subs, flow)),
            _ => None,
        };
        // Both paths leave θ and the state as they were unless the step
        // succeeds with finite results.
        let (result, error, non_finite) = if let Some((subs, flow)) = fast {
            self.state.begin(theta);
            let storage = Storage::Blocks {
                flow,
                subs,
                state: &mut self.state,
            };
            let result = advance(&mut self.plan, self.flow.as_ref(), &src, t, h, storage);
            let error = src.take_error();
            let bad = self.state.first_non_finite();
            self.state
                .end(theta, result.is_ok() && error.is_none() && bad.is_none());
            (result, error, bad)
        } else {
            self.state.gather(theta, &mut self.work);
            let storage = Storage::Contiguous(&mut self.work);
            let result = advance(&mut self.plan, self.flow.as_ref(), &src, t, h, storage);
            let error = src.take_error();
            let bad = self
                .work
                .as_slice()
                .chunks(p.max(1))
                .position(|block| !crate::kernels::all_finite(block));
            if result.is_ok() && error.is_none() && bad.is_none() {
                self.state.scatter(&self.work, theta);
            }
            (result, error, bad)
        };
        self.evaluations += src.evaluations();
        if let Some(e) = error {
            return Err(e);
        }
        result.map_err(|e| with_step(e, k))?;
        if let Some(block) = non_finite {
            return Err(refused(block, k, t + h));
        }
        std::mem::swap(&mut self.products, &mut self.next_products);
        self.steps = k;
        self.elapsed += h;
        Ok(())
    }

    fn reset(&mut self) {
        self.state.reset();
        self.steps = 0;
        self.elapsed = 0.0;
        self.products.fill(1.0);
    }

    fn steps_taken(&self) -> usize {
        self.steps
    }

    fn hyper_parameters(&self) -> Vec<(&'static str, f64)> {
        vec![("h", self.h)]
    }

    fn derivation(&self) -> String {
        let step = if self.schedule.is_constant() {
            format!("step h = {}", self.h)
        } else {
            format!("steps {} (h = {})", self.schedule.formula(), self.h)
        };
        format!(
            "{} on the {} with {step}",
            self.scheme_label(),
            self.flow.label()
        )
    }
}
