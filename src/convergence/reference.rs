//! References for studies without an exact solution, and a reference-free
//! check of the order.
//!
//! * [`independent_reference`]: the eighth-order Dormand–Prince pair
//!   (the `DOP853` tableau of [`ExplicitRk`]) with adaptive steps at a tight
//!   tolerance — another family than the methods usually studied (Euler,
//!   RK4, Dormand–Prince 5(4), splittings), so the reference does not share
//!   their error. It is run twice, at `tol` and `tol/10`; the finer run is
//!   the reference and the measured difference between the two runs is its
//!   stated error estimate (an upper estimate: the finer run is about ten
//!   times more accurate than the difference).
//! * [`richardson_orders`]: orders from the differences between
//!   consecutive levels, which need no reference at all. For a geometric
//!   ladder `hₖ₊₁ = hₖ/r` and `y_h = y + C hᵖ + …`,
//!
//! $$ \frac{\\| y_{h_k} - y_{h_{k+1}} \\|}{\\| y_{h_{k+1}} - y_{h_{k+2}} \\|}
//!    = r^p + O(h), $$
//!
//!   so `log(dₖ/dₖ₊₁)/log(hₖ/hₖ₊₁)` tends to `p` (Richardson's argument).

use super::measure::{ErrorMeasure, Norm};
use crate::error::Result;
use crate::{AdaptiveOptions, ExplicitRk, OdeSystem, State, Steps, integrate};

/// A reference solution at the output times, with its provenance.
#[derive(Debug, Clone)]
pub struct Reference {
    /// The reference states at the measure's output times.
    pub states: Vec<State>,
    /// How it was obtained.
    pub name: String,
    /// Its estimated error in the study's measure (`None` for an exact solution).
    pub estimated_error: Option<f64>,
}

/// The default tolerance of [`independent_reference`]'s coarser run.
pub const REFERENCE_TOL: f64 = 1e-12;

/// States at the output times from adaptive DOP853 runs over consecutive
/// segments `[tₖ₋₁, tₖ]` (`rtol = tol`, `atol = tol·max(1, ‖y₀‖∞)`).
fn dop853_at(system: &dyn OdeSystem, y0: &State, times: &[f64], tol: f64) -> Result<Vec<State>> {
    let opts = AdaptiveOptions {
        rtol: tol,
        atol: tol * y0.amax().max(1.0),
        max_steps: 10_000_000,
        ..Default::default()
    };
    let mut states = Vec::with_capacity(times.len());
    let (mut t, mut y) = (0.0, y0.clone());
    for &tk in times {
        y = integrate(
            system,
            &mut ExplicitRk::dop853(),
            t,
            tk,
            &y,
            &Steps::Adaptive(opts),
        )?
        .y;
        t = tk;
        states.push(y.clone());
    }
    Ok(states)
}

/// An independent reference at the measure's output times: adaptive DOP853
/// at `tol/10`, with the difference from the run at `tol` as its estimated
/// error.
///
/// # Example
/// ```
/// use splitflow::convergence::measure::ErrorMeasure;
/// use splitflow::convergence::reference::independent_reference;
/// use splitflow::{FnSystem, State};
/// let decay = FnSystem::new(1, |_t, y: &State, dy: &mut State| dy[0] = -y[0]);
/// let y0 = State::from_element(1, 1.0);
/// let r = independent_reference(&decay, &y0, &ErrorMeasure::final_time(1.0), 1e-12)?;
/// let true_error = (r.states[0][0] - (-1.0f64).exp()).abs();
/// assert!(true_error < 1e-12);
/// assert!(r.estimated_error.unwrap() < 1e-11);
/// # Ok::<(), splitflow::Error>(())
/// ```
///
/// # Errors
/// As [`integrate()`](crate::integrate()) (for `tol/10` below the
/// controller's limit `100·ε`, an invalid tolerance).
pub fn independent_reference(
    system: &dyn OdeSystem,
    y0: &State,
    measure: &ErrorMeasure,
    tol: f64,
) -> Result<Reference> {
    let fine = dop853_at(system, y0, &measure.times, tol / 10.0)?;
    let coarse = dop853_at(system, y0, &measure.times, tol)?;
    let estimate = measure.error(&coarse, &fine)?;
    Ok(Reference {
        states: fine,
        name: format!(
            "adaptive DOP853 (8th order), rtol = {:e}, atol = rtol·max(1, |y0|∞); \
             estimated error {estimate:.2e} (difference from the rtol = {tol:e} run)",
            tol / 10.0
        ),
        estimated_error: Some(estimate),
    })
}

/// Reference-free pairwise orders from the final states of consecutive
/// levels: entry `k` is `log(dₖ/dₖ₊₁)/log(hₖ/hₖ₊₁)` with
/// `dₖ = ‖y_{hₖ} − y_{hₖ₊₁}‖` (exact in the limit for geometric ladders;
/// NaN where a level is missing or a difference is zero).
///
/// # Example
/// ```
/// use splitflow::convergence::measure::Norm;
/// use splitflow::convergence::reference::richardson_orders;
/// use splitflow::State;
/// // y_h = 1 + h²: second order, whatever the limit.
/// let h = [0.4, 0.2, 0.1, 0.05];
/// let finals: Vec<Option<State>> =
///     h.iter().map(|h| Some(State::from_element(1, 1.0 + h * h))).collect();
/// let p = richardson_orders(&h, &finals, Norm::Two);
/// assert!(p.iter().all(|p| (p - 2.0).abs() < 1e-9));
/// ```
pub fn richardson_orders(h: &[f64], finals: &[Option<State>], norm: Norm) -> Vec<f64> {
    let diffs: Vec<f64> = finals
        .windows(2)
        .map(|w| match (&w[0], &w[1]) {
            (Some(a), Some(b)) if a.len() == b.len() => norm.of(&(a - b)),
            _ => f64::NAN,
        })
        .collect();
    diffs
        .windows(2)
        .enumerate()
        .map(|(k, d)| {
            if d[0] > 0.0 && d[1] > 0.0 {
                (d[0] / d[1]).ln() / (h[k] / h[k + 1]).ln()
            } else {
                f64::NAN
            }
        })
        .collect()
}
