//! SSA1 and SSA2 (Alecsa, Boroş, Pinţa): splitting algorithms for the
//! damped second-order ODE ẍ + ẋ = −∇f(x) (THEORY §5).
//!
//! The ODE as a first-order system in (u, v) = (x, ẋ) is split into a
//! linear part {u' = 0, v' = −v} (friction) and a nonlinear part
//! {u' = v, v' = −∇f(u)} (conservative motion); each part is discretized by
//! Euler's method (forward Euler for SSA1; backward Euler for SSA2) and the
//! two maps are composed (Lie). The authors then replace the constant
//! coefficients by the momentum schedule βₙ, evaluate the gradient at an
//! extrapolated point yₙ and add hyper-parameters k (velocity control), q and
//! τ; the updates implemented here are their final formulas, which the tests
//! (tests/optimizers_ssa_vr.rs) check to round-off against a reference
//! implementation written in the test.

use super::{
    GradientOracle, Optimizer, check_nonnegative, check_positive, check_unit, commit, gradient_at,
    prepare,
};
use crate::State;
use crate::error::{Error, Result};

/// The momentum schedule βₙ of SSA1/SSA2, n = 0, 1, … counting steps.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum BetaSchedule {
    /// βₙ = n/(n + 3) (Nesterov's schedule; β₀ = 0). The default.
    #[default]
    Vanishing,
    /// βₙ = β for every n, β ∈ [0, 1) (the authors also report β = 0.7).
    Constant(f64),
}

impl BetaSchedule {
    /// βₙ at step `n` (0-based).
    pub fn beta(self, n: usize) -> f64 {
        match self {
            BetaSchedule::Vanishing => {
                let n = n as f64;
                n / (n + 3.0)
            }
            BetaSchedule::Constant(b) => b,
        }
    }

    /// Whether some βₙ is zero (the vanishing schedule at n = 0, or a constant 0).
    fn has_zero(self) -> bool {
        match self {
            BetaSchedule::Vanishing => true,
            BetaSchedule::Constant(b) => b == 0.0,
        }
    }

    /// The supremum of βₙ over n (1 for the vanishing schedule, not attained).
    fn sup(self) -> f64 {
        match self {
            BetaSchedule::Vanishing => 1.0,
            BetaSchedule::Constant(b) => b,
        }
    }

    fn check(self) -> Result<()> {
        match self {
            BetaSchedule::Vanishing => Ok(()),
            BetaSchedule::Constant(b) => check_unit("beta", b),
        }
    }

    fn describe(self) -> String {
        match self {
            BetaSchedule::Vanishing => "βₙ = n/(n+3)".to_string(),
            BetaSchedule::Constant(b) => format!("βₙ = {b}"),
        }
    }
}

/// The factor c(β) multiplying the damped velocity in SSA1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CFactor {
    /// c(β) = 1, as in the authors' presentation. The default.
    #[default]
    One,
    /// c(β) = 2β² − 2β + 1, as in the authors' institute's implementation
    /// (→ 1 as β → 1; equals 1 at β = 0 and β = 1, ½ at β = ½).
    Institute,
}

impl CFactor {
    /// c(β).
    pub fn value(self, beta: f64) -> f64 {
        match self {
            CFactor::One => 1.0,
            CFactor::Institute => 2.0 * beta * beta - 2.0 * beta + 1.0,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            CFactor::One => "c(β) = 1",
            CFactor::Institute => "c(β) = 2β² − 2β + 1",
        }
    }
}

/// The state shared by SSA1 and SSA2: velocity v, extrapolated point y,
/// gradient buffer, step count.
#[derive(Debug, Clone)]
struct SsaCore {
    v: State,
    y: State,
    g: State,
    next: State,
    v_next: State,
    steps: usize,
}

impl SsaCore {
    fn new() -> Self {
        SsaCore {
            v: State::zeros(0),
            y: State::zeros(0),
            g: State::zeros(0),
            next: State::zeros(0),
            v_next: State::zeros(0),
            steps: 0,
        }
    }

    /// Starts step n: resizes the workspaces (first step only), forms
    /// yₙ = uₙ + hβₙvₙ and writes ∇f(yₙ) into `g` (`u` is not touched).
    /// Returns βₙ, the damping factor 1 − hβₙ and the velocity control βₙᵏ.
    fn begin(
        &mut self,
        u: &State,
        oracle: &mut dyn GradientOracle,
        h: f64,
        schedule: BetaSchedule,
        k: f64,
    ) -> Result<(f64, f64, f64)> {
        let beta = schedule.beta(self.steps);
        let n = u.len();
        if self.v.len() != n {
            // A new dimension: the state restarts from rest.
            self.v = State::zeros(n);
        }
        prepare(
            u,
            self.steps + 1,
            &mut [&mut self.y, &mut self.g, &mut self.next, &mut self.v_next],
        )?;
        let hb = h * beta;
        for ((yi, ui), vi) in self.y.iter_mut().zip(u.iter()).zip(self.v.iter()) {
            *yi = ui + hb * vi;
        }
        gradient_at(oracle, &self.y, &mut self.g, self.steps + 1)?;
        Ok((beta, 1.0 - h * beta, beta.powf(k)))
    }

    /// Finishes the step: the velocity `vₙ₊₁ = control·(fv·vₙ − h∇f(yₙ))` and
    /// the position `uₙ₊₁ = position(uₙ, yₙ, ∇f(yₙ))`, coordinate by
    /// coordinate, then commits them (or refuses them).
    #[inline(always)]
    fn finish(
        &mut self,
        u: &mut State,
        h: f64,
        control: f64,
        fv: f64,
        position: impl Fn(f64, f64, f64) -> f64,
    ) -> Result<()> {
        for ((((un, vn), (ui, vi)), yi), gi) in self
            .next
            .iter_mut()
            .zip(self.v_next.iter_mut())
            .zip(u.iter().zip(self.v.iter()))
            .zip(self.y.iter())
            .zip(self.g.iter())
        {
            *vn = control * (fv * *vi - h * gi);
            *un = position(*ui, *yi, *gi);
        }
        self.commit(u)
    }

    /// Commits the candidates `next`, `v_next` of the step, or refuses them.
    fn commit(&mut self, u: &mut State) -> Result<()> {
        let k = self.steps + 1;
        commit(k, u, &mut self.next, &mut [(&mut self.v, &mut self.v_next)])?;
        self.steps = k;
        Ok(())
    }

    fn reset(&mut self) {
        self.v.fill(0.0);
        self.steps = 0;
    }
}

fn check_h(h: f64) -> Result<()> {
    check_positive("h", h)
}

/// SSA1: Lie composition of forward Euler on the friction part
/// {u' = 0, v' = −v} and forward Euler on the conservative part
/// {u' = v, v' = −∇f(u)} of ẍ + ẋ = −∇f(x), step h, with the authors'
/// schedule βₙ, velocity control k and factor c(β).
///
/// $$
/// \begin{aligned}
/// y_n &= u_n + h\beta_n v_n, \\\\
/// v_{n+1} &= \beta_n^{k}\,\bigl(c(\beta_n)(1 - h\beta_n)\,v_n - h\,\nabla f(y_n)\bigr), \\\\
/// u_{n+1} &= u_n + \beta_n(1 - h\beta_n)(y_n - u_n) - h^2\,\nabla f(y_n),
/// \end{aligned}
/// $$
///
/// with v₀ = 0, n counting steps from 0, βₙ from [`BetaSchedule`]
/// (default n/(n+3)) and c from [`CFactor`] (default 1).
///
/// ## What comes from the splitting, and what does not
/// The splitting supplies the skeleton: the damping factor (1 − h·β) is one
/// forward Euler step of v' = −v (with the step scaled by β), then the
/// conservative part gives the kick −h∇f and the drift of u along the
/// velocity. With β ≡ 1, k = 0, c = 1 (not an admissible setting, β < 1; an
/// algebraic remark) the formulas reduce to `v ← (1 − h)v − h∇f(u + hv)`,
/// `u ← u + h·v` (the new v): the forward Euler friction step followed by a
/// semi-implicit Euler step of the conservative part whose gradient is taken
/// at the extrapolated point u + hv (not at u, as a plain forward Euler step
/// would). Everything else is the authors' addition, not a consequence of
/// the splitting: the schedule βₙ in place of the constant coefficients
/// (which also puts β²(1 − hβ) rather than 1 − hβ in front of v in the
/// u-update), the point yₙ, the velocity-control power βₙᵏ and the factor
/// c(β).
///
/// # Example
/// ```
/// use nalgebra::dvector;
/// use splitflow::optimizers::{FnOracle, Optimizer, Ssa1};
///
/// // f(θ) = ½‖θ‖², h = 0.5, k = 0, c = 1, βₙ = n/(n+3).
/// let mut ssa = Ssa1::new(0.5)?;
/// let mut oracle = FnOracle::new(2, |theta, g| g.copy_from(theta));
/// let mut theta = dvector![1.0, -2.0];
/// ssa.step(&mut theta, &mut oracle)?;
/// // β₀ = 0: y₀ = u₀ and u₁ = u₀ − h²∇f(u₀).
/// assert_eq!(theta, dvector![0.75, -1.5]);
/// for _ in 0..200 {
///     ssa.step(&mut theta, &mut oracle)?;
/// }
/// assert!(theta.norm() < 1e-6);
/// # Ok::<(), splitflow::Error>(())
/// ```
///
/// ## Reference
/// C.-D. Alecsa, T. Pinţa, I. Boroş, *New optimization algorithms for neural
/// network training using operator splitting techniques*, Neural Networks
/// 126 (2020) 178–190, arXiv:1904.12952; THEORY §5.
#[derive(Debug, Clone)]
pub struct Ssa1 {
    h: f64,
    k: f64,
    c: CFactor,
    schedule: BetaSchedule,
    core: SsaCore,
}

impl Ssa1 {
    /// SSA1 with step `h`, velocity control `k`, factor `c` and schedule `beta`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-positive or non-finite `h`, a
    /// negative or non-finite `k`, or a constant β outside [0, 1).
    pub fn from_splitting(h: f64, k: f64, c: CFactor, beta: BetaSchedule) -> Result<Self> {
        check_h(h)?;
        check_nonnegative("k", k)?;
        beta.check()?;
        Ok(Ssa1 {
            h,
            k,
            c,
            schedule: beta,
            core: SsaCore::new(),
        })
    }

    /// SSA1 with step `h` and the defaults k = 0, c(β) = 1, βₙ = n/(n+3).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-positive or non-finite `h`.
    pub fn new(h: f64) -> Result<Self> {
        Self::from_splitting(h, 0.0, CFactor::One, BetaSchedule::Vanishing)
    }

    /// The step h.
    pub fn h(&self) -> f64 {
        self.h
    }

    /// The velocity-control exponent k.
    pub fn k(&self) -> f64 {
        self.k
    }

    /// The factor c(β).
    pub fn c_factor(&self) -> CFactor {
        self.c
    }

    /// The β schedule.
    pub fn schedule(&self) -> BetaSchedule {
        self.schedule
    }

    /// The velocity v (zero before the first step).
    pub fn velocity(&self) -> &State {
        &self.core.v
    }
}

impl Optimizer for Ssa1 {
    fn name(&self) -> &'static str {
        "ssa1"
    }

    fn step(&mut self, theta: &mut State, oracle: &mut dyn GradientOracle) -> Result<()> {
        let h = self.h;
        let (beta, damp, control) = self.core.begin(theta, oracle, h, self.schedule, self.k)?;
        let fv = self.c.value(beta) * damp;
        let fy = beta * damp;
        let h2 = h * h;
        self.core
            .finish(theta, h, control, fv, |u, y, g| u + fy * (y - u) - h2 * g)
    }

    fn reset(&mut self) {
        self.core.reset();
    }

    fn steps_taken(&self) -> usize {
        self.core.steps
    }

    fn hyper_parameters(&self) -> Vec<(&'static str, f64)> {
        let mut hp = vec![("h", self.h), ("k", self.k)];
        if let BetaSchedule::Constant(b) = self.schedule {
            hp.push(("beta", b));
        }
        hp
    }

    fn derivation(&self) -> String {
        format!(
            "Lie composition of forward Euler on {{u' = 0, v' = −v}} and forward Euler on \
             {{u' = v, v' = −∇f(u)}} on ẍ + ẋ = −∇f(x) with h = {}, {}, k = {}, {} \
             (SSA1 of Alecsa, Boroş, Pinţa; βₙ, k and c are the authors' additions)",
            self.h,
            self.schedule.describe(),
            self.k,
            self.c.describe()
        )
    }
}

/// SSA2: Lie composition of backward Euler steps of the friction part
/// {u' = 0, v' = −v} and of the conservative part {u' = v, v' = −∇f(u)} of
/// ẍ + ẋ = −∇f(x), step h, with the authors' schedule βₙ, velocity control
/// k, exponent q and shift τ.
///
/// $$
/// \begin{aligned}
/// y_n &= u_n + h\beta_n v_n, \\\\
/// v_{n+1} &= \beta_n^{k}\,\bigl((1 - h\beta_n)^{q}\,v_n - h\,\nabla f(y_n)\bigr), \\\\
/// u_{n+1} &= u_n + \frac{1 - h\beta_n}{\beta_n + \tau}\,(y_n - u_n),
/// \end{aligned}
/// $$
///
/// with v₀ = 0, n counting steps from 0 and βₙ from [`BetaSchedule`]
/// (default n/(n+3)).
///
/// ## What comes from the splitting, and what does not
/// The authors derive SSA2 from backward Euler steps of the two parts; what
/// is implemented (and tested) here is their final update, not a composition
/// of Euler maps computed by this crate. From the splitting: a velocity
/// update "damped velocity minus h times the gradient" and a position update
/// along the velocity. Added by the authors
/// and not a consequence of the splitting: the schedule βₙ, the point yₙ,
/// the power βₙᵏ (velocity control), the exponent q on the damping factor and
/// the shift τ, which only serves to avoid the division by zero at n = 0
/// where β₀ = 0 (so τ > 0 is required with the vanishing schedule). Note
/// that yₙ − uₙ = hβₙvₙ, so the position moves by
/// h(1 − hβₙ)·βₙ/(βₙ + τ) times the *old* velocity, and the gradient enters
/// u only through later velocities.
///
/// # Example
/// ```
/// use nalgebra::dvector;
/// use splitflow::optimizers::{FnOracle, Optimizer, Ssa2};
///
/// // f(θ) = ½‖θ‖², h = 0.5, τ = 0.1, k = 0, q = 1, βₙ = n/(n+3).
/// let mut ssa = Ssa2::new(0.5, 0.1)?;
/// let mut oracle = FnOracle::new(1, |theta, g| g.copy_from(theta));
/// let mut theta = dvector![1.0];
/// ssa.step(&mut theta, &mut oracle)?;
/// assert_eq!(theta[0], 1.0);               // β₀ = 0: u does not move,
/// assert_eq!(ssa.velocity()[0], -0.5);     // v₁ = −h∇f(u₀)
/// for _ in 0..400 {
///     ssa.step(&mut theta, &mut oracle)?;
/// }
/// assert!(theta.norm() < 1e-6);
/// # Ok::<(), splitflow::Error>(())
/// ```
///
/// ## Reference
/// C.-D. Alecsa, T. Pinţa, I. Boroş, *New optimization algorithms for neural
/// network training using operator splitting techniques*, Neural Networks
/// 126 (2020) 178–190, arXiv:1904.12952; THEORY §5.
#[derive(Debug, Clone)]
pub struct Ssa2 {
    h: f64,
    k: f64,
    q: f64,
    tau: f64,
    schedule: BetaSchedule,
    core: SsaCore,
}

impl Ssa2 {
    /// SSA2 with step `h`, velocity control `k`, exponent `q`, shift `tau`
    /// and schedule `beta`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-positive or non-finite `h`; a
    /// negative or non-finite `k`, `q` or `tau`; `tau` = 0 when some βₙ is 0
    /// (the vanishing schedule, or a constant β = 0); a constant β outside
    /// [0, 1); and, for a non-integer `q`, h·βₙ > 1 for some n (h > 1 with the
    /// vanishing schedule), where (1 − hβₙ)^q is not real.
    pub fn from_splitting(h: f64, k: f64, q: f64, tau: f64, beta: BetaSchedule) -> Result<Self> {
        check_h(h)?;
        check_nonnegative("k", k)?;
        check_nonnegative("q", q)?;
        check_nonnegative("tau", tau)?;
        beta.check()?;
        if tau == 0.0 && beta.has_zero() {
            return Err(Error::invalid(
                "tau",
                tau,
                "must be positive when β = 0 occurs (the vanishing schedule has β₀ = 0): \
                 the u-update divides by β + τ",
            ));
        }
        if q.fract() != 0.0 && h * beta.sup() > 1.0 {
            return Err(Error::invalid(
                "h",
                h,
                "with a non-integer q, h·β must not exceed 1 ((1 − hβ)^q is not real)",
            ));
        }
        Ok(Ssa2 {
            h,
            k,
            q,
            tau,
            schedule: beta,
            core: SsaCore::new(),
        })
    }

    /// SSA2 with step `h`, shift `tau` and the defaults k = 0, q = 1,
    /// βₙ = n/(n+3).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-positive or non-finite `h` or
    /// `tau`.
    pub fn new(h: f64, tau: f64) -> Result<Self> {
        Self::from_splitting(h, 0.0, 1.0, tau, BetaSchedule::Vanishing)
    }

    /// The step h.
    pub fn h(&self) -> f64 {
        self.h
    }

    /// The velocity-control exponent k.
    pub fn k(&self) -> f64 {
        self.k
    }

    /// The exponent q of the damping factor.
    pub fn q(&self) -> f64 {
        self.q
    }

    /// The shift τ.
    pub fn tau(&self) -> f64 {
        self.tau
    }

    /// The β schedule.
    pub fn schedule(&self) -> BetaSchedule {
        self.schedule
    }

    /// The velocity v (zero before the first step).
    pub fn velocity(&self) -> &State {
        &self.core.v
    }
}

impl Optimizer for Ssa2 {
    fn name(&self) -> &'static str {
        "ssa2"
    }

    fn step(&mut self, theta: &mut State, oracle: &mut dyn GradientOracle) -> Result<()> {
        let h = self.h;
        let (beta, damp, control) = self.core.begin(theta, oracle, h, self.schedule, self.k)?;
        let fv = damp.powf(self.q);
        let fy = damp / (beta + self.tau);
        self.core
            .finish(theta, h, control, fv, |u, y, _| u + fy * (y - u))
    }

    fn reset(&mut self) {
        self.core.reset();
    }

    fn steps_taken(&self) -> usize {
        self.core.steps
    }

    fn hyper_parameters(&self) -> Vec<(&'static str, f64)> {
        let mut hp = vec![
            ("h", self.h),
            ("k", self.k),
            ("q", self.q),
            ("tau", self.tau),
        ];
        if let BetaSchedule::Constant(b) = self.schedule {
            hp.push(("beta", b));
        }
        hp
    }

    fn derivation(&self) -> String {
        format!(
            "Lie composition of backward Euler on {{u' = 0, v' = −v}} and on \
             {{u' = v, v' = −∇f(u)}} on ẍ + ẋ = −∇f(x) with h = {}, {}, k = {}, q = {}, τ = {} \
             (SSA2 of Alecsa, Boroş, Pinţa; βₙ, k, q and τ are the authors' additions)",
            self.h,
            self.schedule.describe(),
            self.k,
            self.q,
            self.tau
        )
    }
}

use super::registry::{DefaultValue, MethodEntry};
use super::spec::TextbookSpec;

/// β of a spec: constant when given, else vanishing.
fn beta_schedule(t: &TextbookSpec) -> BetaSchedule {
    match t.beta {
        None => BetaSchedule::Vanishing,
        Some(b) => BetaSchedule::Constant(b),
    }
}

/// Registry entry of `ssa1`.
pub(crate) const SSA1: MethodEntry = MethodEntry {
    name: "ssa1",
    keys: &["method", "h", "k", "beta", "c_factor"],
    defaults: &[
        ("k", DefaultValue::Number(0.0)),
        ("beta", DefaultValue::Text("vanishing")),
        ("c_factor", DefaultValue::Text("one")),
    ],
    ode: "a splitting scheme of the SSA flow (see `explain`); no ODE-form spec",
    build: |t, e| {
        let c = match t.c_factor.as_deref() {
            None | Some("one") => CFactor::One,
            Some("institute") => CFactor::Institute,
            Some(s) => {
                return Err(Error::invalid(
                    "c_factor",
                    format!("{s:?}"),
                    "expected \"one\" or \"institute\"",
                ));
            }
        };
        Ok(Box::new(Ssa1::from_splitting(
            e.number(t.h, "h")?,
            e.number(t.k, "k")?,
            c,
            beta_schedule(t),
        )?))
    },
};

/// Registry entry of `ssa2`.
pub(crate) const SSA2: MethodEntry = MethodEntry {
    name: "ssa2",
    keys: &["method", "h", "k", "q", "tau", "beta"],
    defaults: &[
        ("k", DefaultValue::Number(0.0)),
        ("q", DefaultValue::Number(1.0)),
        ("beta", DefaultValue::Text("vanishing")),
    ],
    ode: "a splitting scheme of the SSA flow (see `explain`); no ODE-form spec",
    build: |t, e| {
        Ok(Box::new(Ssa2::from_splitting(
            e.number(t.h, "h")?,
            e.number(t.k, "k")?,
            e.number(t.q, "q")?,
            e.number(t.tau, "tau")?,
            beta_schedule(t),
        )?))
    },
};
