//! Observed convergence order from refinement studies.
//!
//! A study runs a method family at a ladder of step counts `n₀ < n₁ < …`
//! over a span `T` (so `hₖ = T/nₖ`), measures the final-time 2-norm error
//! against a reference, and fits the line `log e ≈ p·log h + log C` by least
//! squares: the slope `p` is the fitted order, `C` the error constant of
//! `e ≈ C·hᵖ` (comparable between methods of the same order). Levels whose
//! error sits on the round-off floor, and coarse (or stagnating fine) levels
//! whose pairwise order disagrees with the rest, are excluded from the fit
//! and reported with the reason.

pub mod expr;
pub mod least_squares;
pub mod measure;
mod methods;
pub mod reference;
pub mod spec;
pub mod work_precision;

pub use methods::{Level, LevelRun};

use std::fmt;

use serde::Serialize;

use crate::error::{Error, Result, check_dim};
use crate::splitting::{FlowMap, integrate_flow};
use crate::{AdaptiveOptions, OdeSystem, Order, Record, Rk45, State, Steps, integrate};

/// Why a level was left out of the fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExclusionReason {
    /// The error is at or below the round-off floor (or zero / non-finite).
    RoundOff,
    /// A coarse level whose pairwise order disagrees with the finer levels.
    PreAsymptotic,
    /// A fine level whose error stagnates above the floor (round-off growth).
    Stagnation,
    /// A level whose run blew up (NaN or ∞ before the end of the span).
    Unstable,
}

impl ExclusionReason {
    /// A short description: `"round-off floor"`, `"pre-asymptotic"`, …
    pub fn describe(self) -> &'static str {
        match self {
            ExclusionReason::RoundOff => "round-off floor",
            ExclusionReason::PreAsymptotic => "pre-asymptotic",
            ExclusionReason::Stagnation => "stagnation",
            ExclusionReason::Unstable => "unstable",
        }
    }
}

/// One excluded level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Exclusion {
    /// Index of the level in the ladder.
    pub level: usize,
    /// Its step count.
    pub steps: usize,
    /// Why it was excluded.
    pub reason: ExclusionReason,
}

/// The outcome of a [`ConvergenceStudy`].
#[derive(Debug, Clone, Serialize)]
pub struct ConvergenceReport {
    /// Step counts of the levels.
    pub steps: Vec<usize>,
    /// Step sizes `T/n`.
    pub h: Vec<f64>,
    /// Final-time errors.
    pub errors: Vec<f64>,
    /// Pairwise orders `log(eₖ/eₖ₊₁)/log(hₖ/hₖ₊₁)` between consecutive levels.
    pub local_orders: Vec<f64>,
    /// Least-squares slope of `log e` on `log h` over the included levels.
    pub fitted_order: f64,
    /// The error constant `C` of `e ≈ C·hᵖ` (`p` the fitted order): `exp` of
    /// the intercept of the same least-squares line, `C = exp(mean(log e) −
    /// p·mean(log h))` over the fitted levels, with `h = |T|/n`.
    pub error_constant: f64,
    /// Indices of the levels used in the fit.
    pub fit_levels: Vec<usize>,
    /// Levels left out of the fit, with reasons.
    pub excluded: Vec<Exclusion>,
    /// The order the method can reach (min over its parts), when known.
    #[serde(serialize_with = "serialize_order")]
    pub effective_order: Option<Order>,
    /// Warnings (too few fitted levels, an expectation above the effective order).
    pub warnings: Vec<String>,
}

fn serialize_order<S: serde::Serializer>(
    o: &Option<Order>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match o {
        None => s.serialize_none(),
        Some(Order::Finite(p)) => s.serialize_u32(*p),
        Some(Order::Exact) => s.serialize_str("exact"),
    }
}

impl ConvergenceReport {
    /// The report as CSV: `steps,h,error,local_order,excluded` (the local
    /// order on row k is between levels k and k+1).
    pub fn to_csv(&self) -> String {
        let mut s = String::from("steps,h,error,local_order,excluded\n");
        for k in 0..self.steps.len() {
            let lo = self
                .local_orders
                .get(k)
                .map(|p| format!("{p}"))
                .unwrap_or_default();
            let ex = self
                .excluded
                .iter()
                .find(|e| e.level == k)
                .map(|e| format!("{:?}", e.reason))
                .unwrap_or_default();
            s += &format!(
                "{},{:e},{:e},{},{}\n",
                self.steps[k], self.h[k], self.errors[k], lo, ex
            );
        }
        s
    }
}

impl fmt::Display for ConvergenceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>6} {:>12} {:>12} {:>8}  note",
            "steps", "h", "error", "order"
        )?;
        for k in 0..self.steps.len() {
            let lo = match k {
                0 => "".to_string(),
                _ => format!("{:.3}", self.local_orders[k - 1]),
            };
            let note = self
                .excluded
                .iter()
                .find(|e| e.level == k)
                .map(|e| format!("excluded: {}", e.reason.describe()))
                .unwrap_or_default();
            writeln!(
                f,
                "{:>6} {:>12.4e} {:>12.4e} {:>8}  {}",
                self.steps[k], self.h[k], self.errors[k], lo, note
            )?;
        }
        write!(
            f,
            "fitted order {:.3} over {} levels",
            self.fitted_order,
            self.fit_levels.len()
        )?;
        if let Some(o) = self.effective_order {
            write!(f, " (effective order {o})")?;
        }
        write!(
            f,
            "\nerror constant C = {:.4e} (error ≈ C·h^{:.3} over the fitted levels)",
            self.error_constant, self.fitted_order
        )?;
        for w in &self.warnings {
            write!(f, "\nwarning: {w}")?;
        }
        Ok(())
    }
}

/// A refinement study: a ladder of step counts over a span.
///
/// # Example
/// ```
/// use splitflow::{integrate, ConvergenceStudy, Rk4, FnSystem, State, Steps};
/// let decay = FnSystem::new(1, |_t, y: &State, dy: &mut State| dy[0] = -y[0]);
/// let y0 = State::from_element(1, 1.0);
/// let exact = State::from_element(1, (-2.0f64).exp());
/// let study = ConvergenceStudy::geometric(4, 2.0, 5, 2.0)?;
/// let report = study.run(&exact, |n| {
///     Ok(integrate(&decay, &mut Rk4::new(), 0.0, 2.0, &y0, &Steps::Fixed(n))?.y)
/// })?;
/// assert!((report.fitted_order - 4.0).abs() < 0.15);
/// println!("{report}");
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ConvergenceStudy {
    steps: Vec<usize>,
    span: f64,
    roundoff_floor: f64,
    order_tolerance: f64,
    effective_order: Option<Order>,
    expected_order: Option<f64>,
}

impl ConvergenceStudy {
    /// A study over the given step counts (strictly increasing) on a span of length `span`.
    pub fn new(steps: Vec<usize>, span: f64) -> Self {
        ConvergenceStudy {
            steps,
            span,
            roundoff_floor: 1e-12,
            order_tolerance: 0.3,
            effective_order: None,
            expected_order: None,
        }
    }

    /// `levels` step counts `n₀·ratioᵏ` (rounded), for any ratio > 1.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `n₀ = 0`, `ratio ≤ 1` or fewer than 2 levels.
    pub fn geometric(n0: usize, ratio: f64, levels: usize, span: f64) -> Result<Self> {
        if n0 == 0 {
            return Err(Error::invalid("n0", 0, "must be at least 1"));
        }
        if !(ratio > 1.0 && ratio.is_finite()) {
            return Err(Error::invalid("ratio", ratio, "must be finite and > 1"));
        }
        if levels < 2 {
            return Err(Error::invalid("levels", levels, "need at least 2"));
        }
        let steps = (0..levels)
            .map(|k| (n0 as f64 * ratio.powi(k as i32)).round() as usize)
            .collect();
        Ok(Self::new(steps, span))
    }

    /// Errors at or below `floor · ‖reference‖` count as round-off (default
    /// `1e-12`): relative to the solution's scale, so a problem scaled by
    /// 1e200 or 1e-20 gives the same orders (with a zero reference the floor
    /// is `floor` itself).
    pub fn roundoff_floor(mut self, floor: f64) -> Self {
        self.roundoff_floor = floor;
        self
    }

    /// Largest deviation of an end pair's order from the median pairwise order
    /// before that end level is excluded (default 0.3).
    pub fn order_tolerance(mut self, tol: f64) -> Self {
        self.order_tolerance = tol;
        self
    }

    /// The order the method can reach (reported, and checked against
    /// [`expecting`](Self::expecting)).
    pub fn with_effective_order(mut self, order: Order) -> Self {
        self.effective_order = Some(order);
        self
    }

    /// The order the study is meant to verify; a warning is recorded when it
    /// exceeds the effective order.
    pub fn expecting(mut self, order: f64) -> Self {
        self.expected_order = Some(order);
        self
    }

    /// The step counts.
    pub fn steps(&self) -> &[usize] {
        &self.steps
    }

    fn validate(&self) -> Result<()> {
        crate::error::check_positive("span", self.span.abs())?;
        if self.steps.len() < 2 {
            return Err(Error::invalid(
                "steps",
                format!("{:?}", self.steps),
                "need at least 2 levels",
            ));
        }
        if self.steps[0] == 0 || self.steps.windows(2).any(|w| w[1] <= w[0]) {
            return Err(Error::invalid(
                "steps",
                format!("{:?}", self.steps),
                "must be positive and strictly increasing",
            ));
        }
        crate::error::check_positive("roundoff_floor", self.roundoff_floor)?;
        crate::error::check_positive("order_tolerance", self.order_tolerance)?;
        Ok(())
    }

    /// Runs `method(n)` (the final state after `n` steps) at every level and
    /// compares with `reference` in the 2-norm.
    ///
    /// # Errors
    /// Invalid ladders ([`Error::InvalidParameter`]), a method result of the
    /// wrong length, any error of `method`, or fewer than two usable levels.
    pub fn run(
        &self,
        reference: &State,
        mut method: impl FnMut(usize) -> Result<State>,
    ) -> Result<ConvergenceReport> {
        self.validate()?;
        let mut errors = Vec::with_capacity(self.steps.len());
        for &n in &self.steps {
            let y = method(n)?;
            check_dim("method result", reference.len(), y.len())?;
            errors.push(norm2(&(y - reference)));
        }
        self.analyze(errors, norm2(reference))
    }

    /// Runs a flow-map method at every level: `factory()` builds a fresh map
    /// (a splitting, a nested splitting, an integrated system, an exact
    /// flow), [`integrate_flow`] advances
    /// it from `(t0, y0)` over the study's span in `n` steps, and the final
    /// state is compared with `reference` in the 2-norm. The effective order
    /// is read from the map itself ([`FlowMap::order`]) unless one was set
    /// with [`with_effective_order`](Self::with_effective_order).
    ///
    /// # Example
    /// ```
    /// use splitflow::splitting::{ExactLinear, FlowMap, Splitting, SplittingCoefficients};
    /// use splitflow::{ConvergenceStudy, LinearSystem, Order, State};
    /// use nalgebra::dmatrix;
    /// let a = LinearSystem::new(dmatrix![-1.0, 2.0; 0.0, -3.0], None)?;
    /// let b = LinearSystem::new(dmatrix![-0.5, 0.0; 1.0, -0.2], None)?;
    /// let whole = LinearSystem::new(a.matrix() + b.matrix(), None)?;
    /// let y0 = State::from_vec(vec![1.0, 0.5]);
    /// let exact = whole.exact(1.0, &y0)?;
    /// let report = ConvergenceStudy::new(vec![8, 16, 32, 64], 1.0).run_flow(0.0, &y0, &exact, || {
    ///     let pieces: Vec<Box<dyn FlowMap>> =
    ///         vec![Box::new(ExactLinear::new(a.clone())), Box::new(ExactLinear::new(b.clone()))];
    ///     Splitting::new(pieces, SplittingCoefficients::strang(2)?, Default::default())
    /// })?;
    /// assert_eq!(report.effective_order, Some(Order::Finite(2)));
    /// assert!((report.fitted_order - 2.0).abs() < 0.1);
    /// # Ok::<(), splitflow::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`run`](Self::run), and those of the factory and the advances.
    pub fn run_flow<M: FlowMap>(
        &self,
        t0: f64,
        y0: &State,
        reference: &State,
        mut factory: impl FnMut() -> Result<M>,
    ) -> Result<ConvergenceReport> {
        self.validate()?;
        let mut order = self.effective_order;
        let mut errors = Vec::with_capacity(self.steps.len());
        for &n in &self.steps {
            let mut map = factory()?;
            order.get_or_insert(map.order());
            let y = integrate_flow(
                &mut map,
                t0,
                t0 + self.span,
                y0,
                &Steps::Fixed(n),
                Record::Final,
            )?
            .y;
            check_dim("method result", reference.len(), y.len())?;
            errors.push(norm2(&(y - reference)));
        }
        let mut study = self.clone();
        study.effective_order = order;
        study.analyze(errors, norm2(reference))
    }

    /// Analyses errors already measured at every level (`scale` sets the
    /// round-off floor `roundoff_floor · scale`, typically the reference's
    /// norm; a zero scale gives the floor `roundoff_floor`).
    ///
    /// The fit is the least-squares line through `(log hₖ, log eₖ)` over
    /// the kept levels,
    ///
    /// $$ p = \frac{\sum_k (x_k - \bar x)(y_k - \bar y)}{\sum_k (x_k - \bar x)^2},\qquad C = \exp(\bar y - p\bar x), $$
    ///
    /// with `xₖ = log hₖ`, `yₖ = log eₖ`: the fitted order `p` and the error
    /// constant `C` of `e ≈ C·hᵖ`.
    ///
    /// # Example
    /// ```
    /// use splitflow::ConvergenceStudy;
    /// // e = 0.5·h² on a span of 2 (h = 2/n).
    /// let steps = vec![4, 8, 16, 32];
    /// let errors = steps.iter().map(|&n| 0.5 * (2.0 / n as f64).powi(2)).collect();
    /// let report = ConvergenceStudy::new(steps, 2.0).analyze(errors, 1.0)?;
    /// assert!((report.fitted_order - 2.0).abs() < 1e-12);
    /// assert!((report.error_constant - 0.5).abs() < 1e-12);
    /// # Ok::<(), splitflow::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`run`](Self::run); [`Error::InvalidParameter`] naming `scale` when
    /// it is negative or not finite, and naming `errors` — with the cause —
    /// when fewer than two levels can be fitted: errors that overflowed (∞),
    /// NaN errors, all errors zero (the method is exact on the problem), or
    /// errors on the round-off floor; and when the fit itself is not finite.
    pub fn analyze(&self, errors: Vec<f64>, scale: f64) -> Result<ConvergenceReport> {
        self.validate()?;
        check_errors(self.steps.len(), &errors, scale)?;
        // |h|: a backward span (negative) has the same step sizes.
        let h: Vec<f64> = self
            .steps
            .iter()
            .map(|&n| self.span.abs() / n as f64)
            .collect();
        let local_orders: Vec<f64> = (0..errors.len() - 1)
            .map(|k| (errors[k] / errors[k + 1]).ln() / (h[k] / h[k + 1]).ln())
            .collect();
        let floor = if scale > 0.0 {
            self.roundoff_floor * scale
        } else {
            self.roundoff_floor
        };
        let (keep, mut excluded) = self.above_floor(&errors, floor);
        let keep = self.trim_to_asymptotic(keep, &mut excluded, &errors, &h);
        excluded.sort_by_key(|e| e.level);
        if keep.len() < 2 {
            return Err(Error::invalid(
                "errors",
                format!("{errors:?}"),
                &too_few_levels(&self.steps, &errors, floor),
            ));
        }
        let (fitted_order, intercept) = line_fit(
            &keep
                .iter()
                .map(|&k| (h[k].ln(), errors[k].ln()))
                .collect::<Vec<_>>(),
        );
        if !fitted_order.is_finite() {
            return Err(Error::invalid(
                "errors",
                format!("{errors:?}"),
                &format!("the fitted order is {fitted_order}: the ladder gives no usable slope"),
            ));
        }
        let warnings = self.fit_warnings(keep.len());
        Ok(ConvergenceReport {
            steps: self.steps.clone(),
            h,
            errors,
            local_orders,
            fitted_order,
            error_constant: intercept.exp(),
            fit_levels: keep,
            excluded,
            effective_order: self.effective_order,
            warnings,
        })
    }

    /// The levels whose error is finite and above the round-off `floor`
    /// (kept), and the others (excluded as round-off).
    fn above_floor(&self, errors: &[f64], floor: f64) -> (Vec<usize>, Vec<Exclusion>) {
        let mut excluded = Vec::new();
        let mut keep: Vec<usize> = Vec::new();
        for (k, &e) in errors.iter().enumerate() {
            if !(e.is_finite() && e > floor) {
                excluded.push(Exclusion {
                    level: k,
                    steps: self.steps[k],
                    reason: ExclusionReason::RoundOff,
                });
            } else {
                keep.push(k);
            }
        }
        (keep, excluded)
    }

    /// Drops end levels of `keep` while more than three remain and an end
    /// pair's order is further than `order_tolerance` from the median pair
    /// order: the coarse end as pre-asymptotic, the fine end as stagnation
    /// (the end further from the median goes first). Returns the levels
    /// left.
    fn trim_to_asymptotic(
        &self,
        mut keep: Vec<usize>,
        excluded: &mut Vec<Exclusion>,
        errors: &[f64],
        h: &[f64],
    ) -> Vec<usize> {
        let pair_order = |a: usize, b: usize| (errors[a] / errors[b]).ln() / (h[a] / h[b]).ln();
        while keep.len() > 3 {
            let orders: Vec<f64> = keep.windows(2).map(|w| pair_order(w[0], w[1])).collect();
            let mut sorted = orders.clone();
            sorted.sort_by(f64::total_cmp);
            let median = sorted[sorted.len() / 2];
            let first = (orders[0] - median).abs();
            let last = (orders[orders.len() - 1] - median).abs();
            if first.max(last) <= self.order_tolerance {
                break;
            }
            if first >= last {
                let k = keep.remove(0);
                excluded.push(Exclusion {
                    level: k,
                    steps: self.steps[k],
                    reason: ExclusionReason::PreAsymptotic,
                });
            } else {
                let k = keep.pop().expect("more than 3 levels");
                excluded.push(Exclusion {
                    level: k,
                    steps: self.steps[k],
                    reason: ExclusionReason::Stagnation,
                });
            }
        }
        keep
    }

    /// Warnings on a fit over `fitted` levels: too few levels, or an
    /// expected order above the method's effective order.
    fn fit_warnings(&self, fitted: usize) -> Vec<String> {
        let mut warnings = Vec::new();
        if fitted < 4 {
            warnings.push(format!(
                "the fit uses only {fitted} levels (4 or more recommended)"
            ));
        }
        if let (Some(expected), Some(Order::Finite(p))) =
            (self.expected_order, self.effective_order)
            && expected > p as f64
        {
            warnings.push(format!(
                "expected order {expected} exceeds the method's effective order {p}"
            ));
        }
        warnings
    }
}

/// Checks measured errors: one per level (`levels`), each ≥ 0, and a
/// finite, non-negative `scale`.
fn check_errors(levels: usize, errors: &[f64], scale: f64) -> Result<()> {
    check_dim("errors", levels, errors.len())?;
    if !(scale.is_finite() && scale >= 0.0) {
        return Err(Error::invalid(
            "scale",
            scale,
            "the solution's scale (the reference's norm) must be finite and ≥ 0",
        ));
    }
    if let Some(e) = errors.iter().find(|e| **e < 0.0) {
        return Err(Error::invalid(
            "errors",
            e,
            "errors are norms and must be ≥ 0",
        ));
    }
    Ok(())
}

/// Why fewer than two levels could be fitted, one message per cause.
fn too_few_levels(steps: &[usize], errors: &[f64], floor: f64) -> String {
    let at = |pick: &dyn Fn(f64) -> bool| -> Vec<usize> {
        steps
            .iter()
            .zip(errors)
            .filter(|(_, e)| pick(**e))
            .map(|(n, _)| *n)
            .collect()
    };
    let nan = at(&|e| e.is_nan());
    let inf = at(&|e| e.is_infinite());
    if !nan.is_empty() {
        format!(
            "fewer than two usable levels: the error is NaN at steps {nan:?} (the method produced NaN; check the problem and the step sizes)"
        )
    } else if !inf.is_empty() {
        format!(
            "fewer than two usable levels: the error overflowed (∞) at steps {inf:?} (the method diverges at these step sizes: refine the ladder)"
        )
    } else if errors.iter().all(|&e| e == 0.0) {
        "every error is zero: the method is exact on this problem, there is no order to measure"
            .to_string()
    } else {
        format!(
            "fewer than two levels above the round-off floor {floor:e} (roundoff_floor × the reference's norm): coarsen the ladder"
        )
    }
}

/// The 2-norm without overflow or underflow: nalgebra's `norm` where it is
/// safe (bitwise the same value), rescaled by the largest entry where the
/// squares would overflow or underflow (a solution scaled by 1e200 or 1e-170).
fn norm2(v: &State) -> f64 {
    let plain = v.norm();
    if plain.is_nan() || (plain.is_finite() && plain > 1e-150) {
        return plain;
    }
    let m = v.amax();
    if m == 0.0 || !m.is_finite() {
        return m;
    }
    m * v.map(|x| x / m).norm()
}

/// The least-squares line `y ≈ slope·x + intercept` through `points`:
/// `slope = Σ(x − x̄)(y − ȳ)/Σ(x − x̄)²`, `intercept = ȳ − slope·x̄`.
fn line_fit(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let slope = sxy / sxx;
    (slope, my - slope * mx)
}

/// A reference solution from a fine adaptive Dormand–Prince run
/// (`rtol = atol = tol`, typically `1e-13`).
///
/// # Errors
/// As [`integrate()`](crate::integrate::integrate).
pub fn fine_reference(
    system: &dyn OdeSystem,
    t0: f64,
    t1: f64,
    y0: &State,
    tol: f64,
) -> Result<State> {
    let opts = AdaptiveOptions {
        rtol: tol,
        atol: tol,
        max_steps: 10_000_000,
        ..Default::default()
    };
    Ok(integrate(system, &mut Rk45::new(), t0, t1, y0, &Steps::Adaptive(opts))?.y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyze_excludes_roundoff_and_preasymptotic_levels() {
        // Synthetic second-order errors with a coarse outlier and a round-off tail.
        let steps = vec![2, 4, 8, 16, 32, 64, 128];
        let mut errors: Vec<f64> = steps.iter().map(|&n| 3.0 / (n as f64).powi(2)).collect();
        errors[0] = 5.0; // pre-asymptotic
        errors[6] = 1e-15; // on the floor
        let r = ConvergenceStudy::new(steps, 1.0)
            .analyze(errors, 1.0)
            .unwrap();
        assert!((r.fitted_order - 2.0).abs() < 1e-12);
        // e = 3·h² exactly on the fitted levels (h = 1/n): C = 3 up to the
        // rounding of the logarithms.
        assert!((r.error_constant - 3.0).abs() < 1e-12 * 3.0);
        assert_eq!(r.excluded.len(), 2);
        assert_eq!(r.excluded[0].reason, ExclusionReason::PreAsymptotic);
        assert_eq!(r.excluded[1].reason, ExclusionReason::RoundOff);
        assert_eq!(r.fit_levels, vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn bad_ladders_are_errors() {
        assert!(
            ConvergenceStudy::new(vec![4], 1.0)
                .analyze(vec![1.0], 1.0)
                .is_err()
        );
        assert!(
            ConvergenceStudy::new(vec![4, 4, 8], 1.0)
                .analyze(vec![1.0; 3], 1.0)
                .is_err()
        );
        assert!(ConvergenceStudy::geometric(4, 1.0, 4, 1.0).is_err());
    }
}
