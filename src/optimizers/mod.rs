//! Optimizers as discretizations of flows.
//!
//! Every optimizer here is *constructed from* an ODE, a numerical scheme and
//! a parameter map, and documented as `<scheme> on <ODE> with <map>`; the
//! textbook update is what the construction reduces to, and the tests
//! (tests/optimizers.rs) prove each equals its textbook form to round-off
//! with a reference implementation written in the test.
//!
//! | optimizer | ODE | scheme | textbook parameters |
//! |---|---|---|---|
//! | [`GradientDescent`] | θ' = −∇f(θ) | explicit Euler, step h | SGD, lr = h |
//! | [`GradientDescent`] (implicit) | θ' = −∇f(θ) | implicit Euler | implicit SGD / proximal point, lr = h |
//! | [`Momentum`] | ẍ + γẋ + ∇f(x) = 0 | semi-implicit Euler / exact friction / forward friction | lr = h² (or h²/(1 + γh)), momentum = 1 − γh, e^{−γh}, 1/(1 + γh) |
//! | [`Nag`] | same, or γ = r/t | the same schemes with the gradient at the look-ahead point | Sutskever NAG; Nesterov's (k−1)/(k+2) |
//! | [`AdaGrad`] | V' = ∇f², x' = −∇f/(√V + ε̃) | Euler, V first | δ = lr², ε̃ = lr·ε |
//! | [`RmsProp`] | v' = b(∇f² − v), x' = −∇f/(√v + ε) | Euler, v first | lr = δ, ρ = 1 − bδ |
//! | [`Adam`] | m' = a(∇f − m), v' = b(∇f² − v), x' = −(m/c₁)/(√(v/c₂) + ε) | Euler, (m, v) first, cᵢ = 1 − βᵢⁿ | lr = δ, βᵢ = 1 − aᵢδ |
//! | [`AdamW`] | Adam's flow + θ' = −λθ | Lie splitting: moments → decay → position (PyTorch) or with exact decay last | weight_decay = λ |
//! | [`Adadelta`], [`AdaMax`], [`AmsGrad`], [`Nadam`] | partly (the moment ODEs); the rest is stated as a recursion | | |
//!
//! The [`Optimizer`] trait is usable in a user's own training loop: it takes
//! the parameters and a [`GradientOracle`] that returns a (stochastic)
//! gradient at any point the method asks for. [`SplittingOptimizer`] is the
//! batch-local-flow optimizer of Merkulov & Oseledets (it owns its local flow
//! maps, so it steps on a batch index instead of an oracle; the training
//! [`Executor`](crate::train::Executor) drives both).

mod adam;
mod adaptive;
mod generated;
mod gradient;
mod momentum;
mod oracle;
mod registry;
mod schedule;
mod spec;
mod splitting;
mod ssa;
mod variance_reduced;

pub use adam::{AdaMax, Adam, AdamParameters, AdamW, AmsGrad, DecayScheme, Nadam};
pub use adaptive::{AdaGrad, Adadelta, EpsPlacement, RmsProp};
pub use generated::{
    AdamBias, FLOW_KINDS, FlowEntry, FlowKind, GeneratedFlow, GeneratedOptimizer, GradientSource,
    OracleFlow, OrderObjective, Scheme, SubScheme, flow_entry, order_study,
};
pub use gradient::{GradientDescent, GradientScheme, ImplicitOptions};
pub use momentum::{HeavyBallScheme, Momentum, Nag, NagFriction};
pub use oracle::{BatchOracle, FnOracle, GradientOracle, ObjectiveOracle};
pub use registry::{
    DefaultValue, METHODS, MethodEntry, TEXTBOOK_METHODS, method_entry, methods_markdown,
};
pub use schedule::{SCHEDULE_KINDS, Schedule, ScheduleFn, ScheduleSpec};
pub use spec::{
    DiscretizationSpec, Explanation, FlowSpec, OptimizerSpec, ScheduleExplanation, ScheduledStep,
    TextbookSpec,
};
pub use splitting::SplittingOptimizer;
pub use ssa::{BetaSchedule, CFactor, Ssa1, Ssa2};
pub use variance_reduced::{SAG_MAX_TABLE_ENTRIES, Sag, Svrg};

use crate::State;
use crate::error::{Error, NonFiniteKind, Result, check_nonnegative, check_positive};

/// One step of an optimization method, driven by a gradient oracle.
///
/// # Example
/// ```
/// use nalgebra::dvector;
/// use splitflow::optimizers::{FnOracle, Momentum, Optimizer};
///
/// // f(θ) = ½‖θ‖²: Polyak momentum with lr = 0.1, momentum = 0.5.
/// let mut opt = Momentum::textbook(0.1, 0.5)?;
/// let mut oracle = FnOracle::new(2, |theta, g| g.copy_from(theta));
/// let mut theta = dvector![1.0, -1.0];
/// for _ in 0..100 {
///     opt.step(&mut theta, &mut oracle)?;
/// }
/// assert!(theta.norm() < 1e-6);
/// assert_eq!(opt.steps_taken(), 100);
/// # Ok::<(), splitflow::Error>(())
/// ```
///
/// `Send`: an optimizer (boxed or not) can be moved to a worker thread;
/// runs on different threads may share one problem by reference.
pub trait Optimizer: Send {
    /// The textbook name (`"sgd"`, `"momentum"`, `"adam"`, …).
    fn name(&self) -> &'static str;
    /// Advances `theta` by one step, asking `oracle` for gradients.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when the oracle's dimension is not θ's;
    /// [`Error::NonFinite`] (naming the step) when θ holds a NaN or infinity
    /// on entry, when the oracle returns a non-finite gradient, or when the
    /// step would produce non-finite parameters or state; errors of the
    /// oracle itself. On every error `theta` and the method's state
    /// (velocities, moments, step count) are left as they were before the
    /// call: `step` never returns `Ok` with non-finite parameters.
    fn step(&mut self, theta: &mut State, oracle: &mut dyn GradientOracle) -> Result<()>;
    /// Forgets the method's state (velocities, moment estimates, step count).
    fn reset(&mut self);
    /// Number of steps taken since construction or the last reset.
    fn steps_taken(&self) -> usize;
    /// The textbook hyper-parameters and their values (`lr`, `momentum`, …).
    fn hyper_parameters(&self) -> Vec<(&'static str, f64)>;
    /// How the method is derived: `<scheme> on <ODE> with <parameter map>`.
    fn derivation(&self) -> String;
}

/// Which oracle call [`checked_call`] makes.
#[derive(Clone, Copy)]
pub(crate) enum Call {
    /// [`GradientOracle::gradient`].
    Stochastic,
    /// [`GradientOracle::full_gradient`].
    Full,
}

/// Gradient evaluation with the checks every optimizer needs: the oracle's
/// dimension equals θ's, and the returned gradient is finite (`step` is the
/// 1-based number of the step being taken, reported in errors).
pub(crate) fn gradient_at(
    oracle: &mut dyn GradientOracle,
    point: &State,
    g: &mut State,
    step: usize,
) -> Result<()> {
    checked_call(oracle, point, g, step, Call::Stochastic)
}

/// [`gradient_at`] for either oracle call.
pub(crate) fn checked_call(
    oracle: &mut dyn GradientOracle,
    point: &State,
    g: &mut State,
    step: usize,
    call: Call,
) -> Result<()> {
    let what = match call {
        Call::Stochastic => "gradient",
        Call::Full => "full gradient",
    };
    if oracle.dim() != point.len() {
        return Err(Error::dimension(
            &format!("gradient oracle at step {step}"),
            point.len(),
            oracle.dim(),
        ));
    }
    ensure_len(g, point.len());
    match call {
        Call::Stochastic => oracle.gradient(point, g)?,
        Call::Full => oracle.full_gradient(point, g)?,
    }
    if g.len() != point.len() {
        return Err(Error::dimension(
            &format!("{what} returned by the oracle at step {step}"),
            point.len(),
            g.len(),
        ));
    }
    if !crate::kernels::all_finite(g.as_slice()) {
        return Err(Error::non_finite_of(
            NonFiniteKind::Gradient,
            &format!("{what} returned by the oracle at step {step}"),
            None,
        ));
    }
    Ok(())
}

/// The entry of every [`Optimizer::step`]: refuses parameters that already
/// hold a NaN or infinity (`step` is the 1-based number of the step being
/// taken) and sizes the step's workspaces to θ's length (a no-op after the
/// first step).
pub(crate) fn prepare(theta: &State, step: usize, workspaces: &mut [&mut State]) -> Result<()> {
    if !crate::kernels::all_finite(theta.as_slice()) {
        return Err(Error::non_finite_of(
            NonFiniteKind::Parameters,
            &format!("parameters θ on entry to step {step}"),
            None,
        ));
    }
    for w in workspaces.iter_mut() {
        ensure_len(w, theta.len());
    }
    Ok(())
}

/// Commits a step computed into workspaces, or refuses it.
///
/// Every optimizer computes its new parameters into `next` and its new
/// state vectors into the second element of each pair of `state` (the
/// first is the current state), without touching θ or the current state.
/// `commit` checks that the candidates are finite (one vectorised pass
/// each); if so it swaps them in (O(1): the buffers trade places, so the
/// old ones become the next step's workspaces and nothing is allocated),
/// otherwise it returns [`Error::NonFinite`] naming step `step` and leaves
/// θ and the state as they were.
pub(crate) fn commit(
    step: usize,
    theta: &mut State,
    next: &mut State,
    state: &mut [(&mut State, &mut State)],
) -> Result<()> {
    if !crate::kernels::all_finite(next.as_slice()) {
        return Err(Error::non_finite_of(
            NonFiniteKind::Parameters,
            &format!(
                "parameters θ produced by step {step} (the step was refused; θ and the optimizer's state are unchanged)"
            ),
            None,
        ));
    }
    for (_, candidate) in state.iter() {
        if !crate::kernels::all_finite(candidate.as_slice()) {
            return Err(Error::non_finite_of(
                NonFiniteKind::OptimizerState,
                &format!(
                    "optimizer state produced by step {step} (the step was refused; θ and the optimizer's state are unchanged)"
                ),
                None,
            ));
        }
    }
    std::mem::swap(theta, next);
    for (current, candidate) in state.iter_mut() {
        std::mem::swap(*current, *candidate);
    }
    Ok(())
}

/// Resizes a workspace to `n` zeros when its length differs (first step only).
pub(crate) fn ensure_len(v: &mut State, n: usize) {
    if v.len() != n {
        *v = State::zeros(n);
    }
}

/// The regulariser ε of an adaptive denominator: finite and > 0 (with ε = 0
/// a coordinate whose gradient is zero, such as an all-zero pixel column,
/// gives 0/0).
pub(crate) fn check_eps(name: &str, eps: f64) -> Result<()> {
    if eps.is_finite() && eps > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(
            name,
            eps,
            "must be finite and > 0 (ε = 0 gives 0/0 where a gradient coordinate and its accumulator vanish)",
        ))
    }
}

/// A decay or momentum factor in [0, 1).
pub(crate) fn check_unit(name: &str, v: f64) -> Result<()> {
    if v.is_finite() && (0.0..1.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::invalid(name, v, "must lie in [0, 1)"))
    }
}
