//! One explicit Runge–Kutta stepper for any [`ButcherTableau`]: fixed steps,
//! and embedded-pair adaptive steps with FSAL reuse and dense output.

use super::embedded::{AttemptFrame, embedded_error};
use super::tableau::{self, ButcherTableau, DenseCoefficients, MAX_STAGES};
use super::{
    DenseSegment, EmbeddedStepper, Entries, Stats, Stepper, Tolerance, begin_step, eval_rhs, fit,
    fit_all,
};
use crate::error::{Error, Result};
use crate::kernels::{lincomb, lincomb_checked};
use crate::{OdeSystem, Order, State};

/// Which weights fixed steps of an [`ExplicitRk`] propagate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagate {
    /// The main weights `b` (the default).
    #[default]
    Main,
    /// The embedded weights `b̂` (for measuring the estimator's order).
    Embedded,
}

/// The explicit Runge–Kutta method of a [`ButcherTableau`]:
///
/// $$ k_i = f\big(t + c_i h,\\; y + h \textstyle\sum_{j<i} a_{ij} k_j\big),\qquad
///    y_{n+1} = y_n + h \textstyle\sum_i b_i k_i. $$
///
/// * As a fixed-step [`Stepper`] it evaluates the stages up to the last one
///   with a non-zero weight (an FSAL tableau's last stage has weight 0, so
///   DOPRI5 costs 6 f-evaluations a step, as [`Rk45`](super::Rk45) does), and
///   propagates `b` or, with [`Propagate::Embedded`], `b̂`.
/// * When the tableau has an embedded pair it is an [`EmbeddedStepper`]: the
///   error is the RMS norm of `h Σ (bᵢ − b̂ᵢ) kᵢ` scaled by
///   `atol + rtol·max(|y|, |y_new|)`, of order `embedded_order`. Every trial
///   ends with `f(t + h, y_new)` — the last stage of an FSAL tableau, an
///   extra evaluation otherwise — which becomes the next step's first stage
///   on acceptance (an accepted step costs `s − 1` evaluations with FSAL and
///   `s` without).
/// * Dense output: the tableau's continuous extension when it has one
///   (DOPRI5, Tsit5; degree ≤ 4, written into the same [`DenseSegment`]
///   form), otherwise the cubic Hermite interpolant through `y`, `y_new`,
///   `f(t, y)` and `f(t + h, y_new)` (third order; BS3's own interpolant).
///
/// Linear combinations go through the fused kernels, term by term in stage
/// order and skipping zero coefficients. [`Rk4`](super::Rk4) and
/// [`Rk45`](super::Rk45) are this stepper on the RK4 and DOPRI5 tableaus
/// under their own names (Rk45 with its own dense output). Workspaces are
/// sized on the first step at a dimension; no allocation afterwards.
///
/// # Example
/// ```
/// use splitflow::{integrate, ExplicitRk, FnSystem, State, Steps, AdaptiveOptions};
/// let decay = FnSystem::new(1, |_t, y: &State, dy: &mut State| dy[0] = -y[0]);
/// let y0 = State::from_element(1, 1.0);
/// let exact = (-1.0f64).exp();
/// // Fixed steps of Ralston's third-order method…
/// let sol = integrate(&decay, &mut ExplicitRk::ralston3(), 0.0, 1.0, &y0, &Steps::Fixed(100))?;
/// assert!((sol.y[0] - exact).abs() < 1e-7);
/// // …or adaptive Tsitouras 5(4).
/// let opts = AdaptiveOptions { rtol: 1e-10, atol: 1e-12, ..Default::default() };
/// let sol = integrate(&decay, &mut ExplicitRk::tsit5(), 0.0, 1.0, &y0, &Steps::Adaptive(opts))?;
/// assert!((sol.y[0] - exact).abs() < 1e-9);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ExplicitRk {
    tableau: ButcherTableau,
    pub(super) propagate: Propagate,
    /// Stage derivatives `kᵢ`.
    k: Vec<State>,
    /// Stage argument `y + h Σ aᵢⱼ kⱼ`.
    stage: State,
    /// `f(t + h, y_new)` of the last trial (non-FSAL tableaus only).
    f_end: State,
    /// First-stage reuse and the kept error between adaptive attempts.
    frame: AttemptFrame,
    /// Who a resized `dy` names ([`eval_rhs`]), and what a non-finite step names.
    labels: (&'static str, &'static str),
}

impl ExplicitRk {
    /// The stepper of `tableau`, after checking its structure.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when [`ButcherTableau::validate`] fails.
    pub fn new(tableau: ButcherTableau) -> Result<Self> {
        tableau.validate()?;
        Ok(Self::from_valid(tableau))
    }

    fn from_valid(tableau: ButcherTableau) -> Self {
        ExplicitRk {
            k: vec![State::zeros(0); tableau.stages()],
            tableau,
            propagate: Propagate::Main,
            stage: State::zeros(0),
            f_end: State::zeros(0),
            frame: AttemptFrame::default(),
            labels: (tableau.name, "explicit Runge–Kutta step"),
        }
    }

    /// The same stepper naming `rhs` when the right-hand side resizes `dy`
    /// and `step` when a step is not finite (the named steppers' labels).
    pub(super) fn labelled(mut self, rhs: &'static str, step: &'static str) -> Self {
        self.labels = (rhs, step);
        self
    }

    /// Chooses which weights fixed steps propagate.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for [`Propagate::Embedded`] on a tableau
    /// without an embedded pair.
    pub fn propagating(mut self, which: Propagate) -> Result<Self> {
        if which == Propagate::Embedded && self.tableau.b_embedded.is_none() {
            return Err(Error::invalid(
                "propagate",
                self.tableau.name,
                "the tableau has no embedded solution",
            ));
        }
        self.propagate = which;
        Ok(self)
    }

    /// The tableau.
    pub fn tableau(&self) -> &ButcherTableau {
        &self.tableau
    }

    /// Heun's method, order 2 ([`tableau::HEUN2`]).
    pub fn heun2() -> Self {
        Self::from_valid(tableau::HEUN2)
    }

    /// Ralston's method, order 3 ([`tableau::RALSTON3`]).
    pub fn ralston3() -> Self {
        Self::from_valid(tableau::RALSTON3)
    }

    /// Classical RK4 ([`tableau::RK4`]).
    pub fn rk4() -> Self {
        Self::from_valid(tableau::RK4)
    }

    /// Bogacki–Shampine 3(2) ([`tableau::BS3`]).
    pub fn bs3() -> Self {
        Self::from_valid(tableau::BS3)
    }

    /// Dormand–Prince 5(4) ([`tableau::DOPRI5`]).
    pub fn dopri5() -> Self {
        Self::from_valid(tableau::DOPRI5)
    }

    /// Tsitouras 5(4) ([`tableau::TSIT5`]).
    pub fn tsit5() -> Self {
        Self::from_valid(tableau::TSIT5)
    }

    /// Dormand–Prince 8(5) ([`tableau::DOP853`]).
    pub fn dop853() -> Self {
        Self::from_valid(tableau::DOP853)
    }

    fn weights(&self) -> &'static [f64] {
        match self.propagate {
            Propagate::Main => self.tableau.b,
            Propagate::Embedded => self.tableau.b_embedded.unwrap_or(self.tableau.b),
        }
    }

    /// The stage derivatives of the last step or trial (`k[0] = f(t, y)`
    /// until [`accept`](EmbeddedStepper::accept)).
    pub(super) fn stage_derivatives(&self) -> &[State] {
        &self.k
    }

    /// `f(t + h, y_new)` of the last trial: the last stage (FSAL) or `f_end`.
    fn end_derivative(&self) -> &State {
        if self.tableau.fsal {
            &self.k[self.k.len() - 1]
        } else {
            &self.f_end
        }
    }

    /// Stages `1..last` (`k[0]` must hold `f(t, y)`).
    fn stages(
        &mut self,
        system: &dyn OdeSystem,
        t: f64,
        h: f64,
        y: &[f64],
        last: usize,
    ) -> Result<()> {
        let tab = self.tableau;
        for i in 1..last {
            let (done, rest) = self.k.split_at_mut(i);
            stage_sum(self.stage.as_mut_slice(), Some(y), h, tab.a[i], done, false);
            eval_rhs(
                system,
                t + tab.c[i] * h,
                &self.stage,
                &mut rest[0],
                self.labels.0,
            )?;
        }
        Ok(())
    }

    /// One adaptive trial after the first stage: the other stages,
    /// `y_new = y + h Σ bᵢ kᵢ` and `f(t + h, y_new)` (the last stage with
    /// FSAL, `f_end` otherwise). Returns the non-finite probe of `y_new`.
    fn trial(
        &mut self,
        system: &dyn OdeSystem,
        t: f64,
        h: f64,
        y: &State,
        y_new: &mut State,
    ) -> Result<f64> {
        let tab = self.tableau;
        let s = tab.stages();
        self.stages(system, t, h, y.as_slice(), tab.trial_stages())?;
        let probe = stage_sum(
            y_new.as_mut_slice(),
            Some(y.as_slice()),
            h,
            tab.b,
            &self.k,
            true,
        );
        let end = if tab.fsal {
            &mut self.k[s - 1]
        } else {
            fit(&mut self.f_end, y.len());
            &mut self.f_end
        };
        eval_rhs(system, t + h, y_new, end, self.labels.0)?;
        Ok(probe)
    }
}

/// `out = base + Σⱼ (h·wⱼ)·kⱼ` over the non-zero weights, in stage order
/// (`out += …` when `base` is `None`), and with `probe` the non-finite
/// probe of the result (NaN when an entry is not finite, else 0). Small
/// systems sum entry by entry, larger ones go through the fused kernels
/// ([`lincomb`], [`lincomb_checked`]); the arithmetic per entry is the same
/// left-to-right sum, so the two are bitwise equal.
#[inline]
fn stage_sum(
    out: &mut [f64],
    base: Option<&[f64]>,
    h: f64,
    w: &[f64],
    k: &[State],
    probe: bool,
) -> f64 {
    if out.len() <= super::SMALL_SYSTEM {
        return small_stage_sum(out, base, h, w, k, probe);
    }
    let (terms, m) = weighted_terms(h, w, k);
    if probe {
        lincomb_checked(out, base, &terms[..m])
    } else {
        lincomb(out, base, &terms[..m]);
        0.0
    }
}

/// The small-system form of [`stage_sum`] (also [`SmallRk`](super::SmallRk)'s
/// arithmetic): `out = base`, then stage by stage `out += (h·wⱼ)·kⱼ` over
/// the non-zero weights, so each entry accumulates left to right.
#[inline(always)]
pub(super) fn small_stage_sum<K: Entries>(
    out: &mut [f64],
    base: Option<&[f64]>,
    h: f64,
    w: &[f64],
    k: &[K],
    probe: bool,
) -> f64 {
    if let Some(b) = base {
        out.copy_from_slice(b);
    }
    for (&wj, kj) in w.iter().zip(k) {
        if wj != 0.0 {
            let c = h * wj;
            for (o, &x) in out.iter_mut().zip(kj.entries()) {
                *o += c * x;
            }
        }
    }
    if probe {
        out.iter().fold(0.0, |p, &x| p + x * 0.0)
    } else {
        0.0
    }
}

/// The terms `(h·wⱼ, kⱼ)` of the non-zero weights `wⱼ`, in stage order, for
/// the fused kernels ([`lincomb`], [`lincomb_checked`]), and their count.
#[inline]
fn weighted_terms<'a>(
    h: f64,
    w: &[f64],
    k: &'a [State],
) -> ([(f64, &'a [f64]); MAX_STAGES], usize) {
    let mut terms: [(f64, &[f64]); MAX_STAGES] = [(0.0, &[]); MAX_STAGES];
    let mut m = 0;
    for (&wj, kj) in w.iter().zip(k) {
        if wj != 0.0 {
            terms[m] = (h * wj, kj.as_slice());
            m += 1;
        }
    }
    (terms, m)
}

/// The dense segment of a tableau's continuous extension `y₀ + Σₘ qₘθᵐ`
/// with `qₘ = h Σᵢ pᵢₘ kᵢ`, in the segment's basis 1, θ, θ(1−θ), θ²(1−θ),
/// θ²(1−θ)²; `r₁ = y_new − y₀` (= q₁+…+q₄, as bᵢ(1) = bᵢ) so that the
/// segment ends exactly at `y_new`. `seg` must be sized
/// ([`DenseSegment::start`]).
fn continuous_extension(
    d: DenseCoefficients,
    h: f64,
    k: &[State],
    y: &State,
    y_new: &State,
    seg: &mut DenseSegment,
) {
    for i in 0..y.len() {
        let mut q = [0.0; 4];
        for (p, kj) in d.p.iter().zip(k) {
            for m in 0..4 {
                q[m] += p[m] * kj[i];
            }
        }
        let q = q.map(|v| h * v);
        seg.r[0][i] = y[i];
        seg.r[1][i] = y_new[i] - y[i];
        seg.r[2][i] = -(q[1] + q[2] + q[3]);
        seg.r[3][i] = -q[2] - 2.0 * q[3];
        seg.r[4][i] = q[3];
    }
}

impl Stepper for ExplicitRk {
    fn name(&self) -> &'static str {
        self.tableau.name
    }

    fn order(&self) -> Order {
        match self.propagate {
            Propagate::Main => Order::Finite(self.tableau.order),
            Propagate::Embedded => Order::Finite(self.tableau.embedded_order),
        }
    }

    fn step(
        &mut self,
        system: &dyn OdeSystem,
        t: f64,
        h: f64,
        y: &mut State,
        stats: &mut Stats,
    ) -> Result<()> {
        begin_step(system, h, y, self.k.iter_mut().chain([&mut self.stage]))?;
        self.frame.invalidate();
        let w = self.weights();
        let used = ButcherTableau::stages_used(w);
        eval_rhs(system, t, y, &mut self.k[0], self.labels.0)?;
        self.stages(system, t, h, y.as_slice(), used)?;
        stats.f_evals += used;
        stats.accepted += 1;
        if stage_sum(y.as_mut_slice(), None, h, w, &self.k, true).is_nan() {
            return Err(Error::non_finite(self.labels.1, t + h));
        }
        Ok(())
    }

    fn as_embedded(&mut self) -> Option<&mut dyn EmbeddedStepper> {
        if self.tableau.b_embedded.is_some() {
            Some(self)
        } else {
            None
        }
    }
}

impl EmbeddedStepper for ExplicitRk {
    fn error_order(&self) -> u32 {
        self.tableau.embedded_order
    }

    fn reset(&mut self) {
        self.frame.reset();
    }

    fn take_error(&mut self) -> Option<Error> {
        self.frame.take_error()
    }

    fn attempt(
        &mut self,
        system: &dyn OdeSystem,
        t: f64,
        h: f64,
        y: &State,
        y_new: &mut State,
        tol: Tolerance,
        stats: &mut Stats,
    ) -> f64 {
        let tab = self.tableau;
        let Some(bh) = tab.b_embedded else {
            return f64::NAN;
        };
        fit_all(y.len(), self.k.iter_mut().chain([&mut self.stage, y_new]));
        if !self
            .frame
            .first_stage(system, t, y, &mut self.k[0], self.labels.0, stats)
        {
            return f64::NAN;
        }
        let probe = match self.trial(system, t, h, y, y_new) {
            Ok(p) => p,
            Err(e) => return self.frame.fail(e),
        };
        stats.f_evals += tab.trial_stages();
        if probe.is_nan() {
            return f64::NAN;
        }
        embedded_error(h, tab.b, bh, &self.k, y, y_new, tol)
    }

    fn accept(&mut self) {
        let s = self.k.len();
        if self.tableau.fsal {
            self.k.swap(0, s - 1);
        } else {
            std::mem::swap(&mut self.k[0], &mut self.f_end);
        }
        self.frame.accepted();
    }

    fn dense_segment(&self, t: f64, h: f64, y: &State, y_new: &State, seg: &mut DenseSegment) {
        // Called before `accept`: k[0] = f(t, y), and f(t + h, y_new) is the
        // last stage (FSAL) or `f_end`.
        seg.start(t, h, y.len());
        match self.tableau.dense {
            Some(d) => continuous_extension(d, h, &self.k, y, y_new, seg),
            None => seg.hermite(h, y, y_new, &self.k[0], self.end_derivative(), |_| 0.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The small-system loop of [`stage_sum`] and the fused kernels give
    /// bitwise the same sums and probes (DOPRI5's weights, zeros included).
    #[test]
    fn small_system_stage_sums_are_bitwise_the_fused_ones() {
        let tab = tableau::DOPRI5;
        let n = super::super::SMALL_SYSTEM;
        let k: Vec<State> = (0..tab.stages())
            .map(|j| {
                State::from_fn(n, |i, _| {
                    ((i * 7 + j * 3) as f64).sin() * 10f64.powi(j as i32 - 3)
                })
            })
            .collect();
        let y: Vec<f64> = (0..n).map(|i| (i as f64).cos()).collect();
        let h = 0.037;
        for w in [tab.b, tab.a[5], tab.b_embedded.unwrap()] {
            let mut small = vec![0.0; n];
            let p_small = stage_sum(&mut small, Some(&y), h, w, &k, true);
            let (terms, m) = weighted_terms(h, w, &k);
            let mut fused = vec![0.0; n];
            let p_fused = lincomb_checked(&mut fused, Some(&y), &terms[..m]);
            assert_eq!(small, fused);
            assert_eq!(p_small.to_bits(), p_fused.to_bits());
            // `out +=` form.
            let mut a = y.clone();
            stage_sum(&mut a, None, h, w, &k, false);
            let mut b = y.clone();
            lincomb(&mut b, None, &terms[..m]);
            assert_eq!(a, b);
        }
        // A non-finite stage entry (weight b₀ ≠ 0) is probed as NaN.
        let mut bad = k.clone();
        bad[0][2] = f64::NAN;
        let mut out = vec![0.0; n];
        assert!(stage_sum(&mut out, Some(&y), h, tab.b, &bad, true).is_nan());
    }
}
