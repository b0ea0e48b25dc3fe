//! Explicit Runge–Kutta methods on a state of compile-time size: the
//! small-system path (Lorenz, pendulums, Kepler) without `&dyn` calls or
//! heap state.

use super::embedded::small_embedded_error;
use super::explicit_rk::small_stage_sum;
use super::tableau::{self, ButcherTableau, MAX_STAGES};
use super::{STEPPER_NAMES, Stats, Tolerance, check_step_size, explicit_tableau};
use crate::error::{Error, Result};
use crate::{Order, SmallSystem};

/// The explicit Runge–Kutta method of a [`ButcherTableau`] on a state
/// `[f64; N]` with `N` known at compile time,
///
/// $$ k_i = f\big(t + c_i h,\\; y + h \textstyle\sum_{j<i} a_{ij} k_j\big),\qquad
///    y_{n+1} = y_n + h \textstyle\sum_i b_i k_i, $$
///
/// for a [`SmallSystem`], driven by [`integrate_small`](crate::integrate_small)
/// with the same [`Steps`](crate::Steps) and the same adaptive controller as
/// [`integrate`](crate::integrate()). The stages live on the stack and the
/// right-hand side is called directly, so that with `N` ≤ 16 the per-step
/// overhead of the dynamic path (calls through `&dyn OdeSystem`, bounds-checked
/// `DVector` entries, workspace checks) is gone.
///
/// It performs exactly the dynamic [`ExplicitRk`](super::ExplicitRk)'s
/// arithmetic in the same order (stage sums entry by entry, left to right;
/// the same embedded error norm), so its states and counters are bitwise
/// those of [`Rk45`](super::Rk45), [`Rk4`](super::Rk4),
/// [`ExplicitEuler`](super::ExplicitEuler) and `ExplicitRk` on the same
/// tableau (tested). No dense output (use the dynamic stepper for that).
///
/// # Example
/// ```
/// use splitflow::{integrate_small, AdaptiveOptions, SmallRk, Steps};
/// let osc = |_t: f64, y: &[f64; 2], dy: &mut [f64; 2]| *dy = [y[1], -y[0]];
/// let opts = AdaptiveOptions::with_tolerance(1e-10);
/// let sol = integrate_small(&osc, &mut SmallRk::rk45(), 0.0, std::f64::consts::PI,
///                           &[1.0, 0.0], &Steps::Adaptive(opts))?;
/// assert!((sol.y[0] + 1.0).abs() < 1e-8);
/// // Fixed steps of RK4 by name:
/// let sol = integrate_small(&osc, &mut SmallRk::by_name("rk4")?, 0.0, 1.0,
///                           &[1.0, 0.0], &Steps::Fixed(100))?;
/// assert!((sol.y[0] - 1f64.cos()).abs() < 1e-9);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SmallRk<const N: usize> {
    tableau: ButcherTableau,
    /// Stage derivatives `kᵢ`.
    k: [[f64; N]; MAX_STAGES],
    /// `f(t + h, y_new)` of the last trial (non-FSAL tableaus only).
    f_end: [f64; N],
    /// Whether `k[0]` holds `f(t, y)` for the current `(t, y)`.
    first_valid: bool,
}

impl<const N: usize> SmallRk<N> {
    /// The stepper of `tableau`, after checking its structure.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when [`ButcherTableau::validate`] fails.
    pub fn new(tableau: ButcherTableau) -> Result<Self> {
        tableau.validate()?;
        Ok(Self::from_valid(tableau))
    }

    fn from_valid(tableau: ButcherTableau) -> Self {
        SmallRk {
            tableau,
            k: [[0.0; N]; MAX_STAGES],
            f_end: [0.0; N],
            first_valid: false,
        }
    }

    /// The stepper of an explicit method by its name in
    /// [`STEPPER_NAMES`]: `explicit_euler`, `heun2`, `ralston3`, `bs3`,
    /// `rk4`, `rk45` (Dormand–Prince), `tsit5`, `dop853`.
    ///
    /// # Errors
    /// [`Error::Spec`] for `implicit_euler` (not explicit) and unknown names.
    pub fn by_name(name: &str) -> Result<Self> {
        let Some(tableau) = explicit_tableau(name) else {
            let explicit: Vec<&str> = STEPPER_NAMES
                .into_iter()
                .filter(|n| explicit_tableau(n).is_some())
                .collect();
            return Err(Error::Spec {
                message: format!(
                    "`{name}` is not an explicit Runge–Kutta stepper of the small-system path \
                     (expected one of {})",
                    explicit.join(", ")
                ),
                line: None,
            });
        };
        Ok(Self::from_valid(tableau))
    }

    /// Explicit Euler ([`tableau::EULER`]).
    pub fn explicit_euler() -> Self {
        Self::from_valid(tableau::EULER)
    }

    /// Classical RK4 ([`tableau::RK4`]).
    pub fn rk4() -> Self {
        Self::from_valid(tableau::RK4)
    }

    /// Dormand–Prince 5(4) ([`tableau::DOPRI5`]), [`Rk45`](super::Rk45)'s method.
    pub fn rk45() -> Self {
        Self::from_valid(tableau::DOPRI5)
    }

    /// Tsitouras 5(4) ([`tableau::TSIT5`]).
    pub fn tsit5() -> Self {
        Self::from_valid(tableau::TSIT5)
    }

    /// The tableau.
    pub fn tableau(&self) -> &ButcherTableau {
        &self.tableau
    }

    /// Global order of the propagated solution.
    pub fn order(&self) -> Order {
        Order::Finite(self.tableau.order)
    }

    /// Whether the tableau has an embedded pair (adaptive steps).
    pub fn is_embedded(&self) -> bool {
        self.tableau.b_embedded.is_some()
    }

    /// Order `q` of the embedded error estimate (0 without a pair).
    pub(crate) fn error_order(&self) -> u32 {
        self.tableau.embedded_order
    }

    /// Stages `1..last` of `tab` (`k[0]` must hold `f(t, y)`).
    #[inline(always)]
    fn stages<S: SmallSystem<N>>(
        &mut self,
        tab: &ButcherTableau,
        system: &S,
        t: f64,
        h: f64,
        y: &[f64; N],
        last: usize,
    ) {
        let mut arg = [0.0; N];
        for i in 1..last {
            let (done, rest) = self.k.split_at_mut(i);
            small_stage_sum(&mut arg, Some(y), h, tab.a[i], done, false);
            system.rhs(t + tab.c[i] * h, &arg, &mut rest[0]);
        }
    }

    /// One fixed step `y ← y + h Σ bᵢ kᵢ` from `t` (the stages up to the
    /// last non-zero weight).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a zero or non-finite `h`;
    /// [`Error::NonFinite`] naming `t + h` when the step produced NaN or ±∞
    /// (then `y` holds unspecified values).
    #[inline]
    pub fn step<S: SmallSystem<N>>(
        &mut self,
        system: &S,
        t: f64,
        h: f64,
        y: &mut [f64; N],
        stats: &mut Stats,
    ) -> Result<()> {
        let tab = self.tableau;
        self.step_with(&tab, system, t, h, y, stats)
    }

    /// [`step`](Self::step) with the stepper's tableau passed in: called
    /// with a named tableau constant, every coefficient is a compile-time
    /// constant once inlined (zero terms vanish, loops unroll).
    #[inline(always)]
    pub(crate) fn step_with<S: SmallSystem<N>>(
        &mut self,
        tab: &ButcherTableau,
        system: &S,
        t: f64,
        h: f64,
        y: &mut [f64; N],
        stats: &mut Stats,
    ) -> Result<()> {
        check_step_size(h)?;
        self.first_valid = false;
        let b = tab.b;
        let used = ButcherTableau::stages_used(b);
        system.rhs(t, y, &mut self.k[0]);
        self.stages(tab, system, t, h, y, used);
        stats.f_evals += used;
        stats.accepted += 1;
        if small_stage_sum(y, None, h, b, &self.k[..used], true).is_nan() {
            return Err(Error::non_finite("explicit Runge–Kutta step", t + h));
        }
        Ok(())
    }

    /// Forgets the first stage (a new integration).
    pub(crate) fn reset(&mut self) {
        self.first_valid = false;
    }

    /// One adaptive trial of `tab` (the stepper's tableau, see
    /// [`step_with`](Self::step_with)) of size `h` from `(t, y)` into
    /// `y_new`; the weighted RMS error norm (NaN for a non-finite trial).
    /// The tableau must have an embedded pair.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn attempt<S: SmallSystem<N>>(
        &mut self,
        tab: &ButcherTableau,
        system: &S,
        t: f64,
        h: f64,
        y: &[f64; N],
        y_new: &mut [f64; N],
        tol: Tolerance,
        stats: &mut Stats,
    ) -> f64 {
        let Some(bh) = tab.b_embedded else {
            return f64::NAN;
        };
        if !self.first_valid {
            system.rhs(t, y, &mut self.k[0]);
            stats.f_evals += 1;
            self.first_valid = true;
        }
        let s = tab.stages();
        self.stages(tab, system, t, h, y, tab.trial_stages());
        let probe = small_stage_sum(y_new, Some(y), h, tab.b, &self.k[..s], true);
        let end = if tab.fsal {
            &mut self.k[s - 1]
        } else {
            &mut self.f_end
        };
        system.rhs(t + h, y_new, end);
        stats.f_evals += tab.trial_stages();
        if probe.is_nan() {
            return f64::NAN;
        }
        small_embedded_error(h, tab.b, bh, &self.k[..s], y, y_new, tol)
    }

    /// Marks the last attempt of `tab` accepted: `f(t + h, y_new)` becomes
    /// the next first stage.
    #[inline(always)]
    pub(crate) fn accept(&mut self, tab: &ButcherTableau) {
        let s = tab.stages();
        self.k[0] = if tab.fsal { self.k[s - 1] } else { self.f_end };
        self.first_valid = true;
    }
}
