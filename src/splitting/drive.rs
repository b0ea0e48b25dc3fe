//! The driver of any flow map over a span: `n` advances of size
//! `(t1 − t0)/n` (or of size at most `h`), with the same statistics and
//! recording options as [`integrate`](crate::integrate()).

use super::FlowMap;
use crate::error::{Error, Result, check_dim, check_finite};
use crate::{Record, Solution, State, Stats, Steps};

/// Advances `map` from `(t0, y0)` to `t1` in equal steps and returns the
/// final state: `yₖ₊₁ = φ_h(t0 + k h, yₖ)` with `h = (t1 − t0)/n`, the last
/// step landing on `t1` exactly. This is the loop that tests, the order
/// engine ([`ConvergenceStudy::run_flow`](crate::ConvergenceStudy::run_flow))
/// and users would otherwise write by hand, for any [`FlowMap`]: an
/// integrated system, an exact flow, a splitting, a nested splitting.
///
/// `steps` is [`Steps::Fixed`] or [`Steps::MaxSize`] (a flow map has no
/// error estimate, so [`Steps::Adaptive`] is refused); `record` is
/// [`Record::Final`] or [`Record::Steps`]. The returned
/// [`Stats`](crate::Stats) count the steps as `accepted` and the
/// right-hand-side evaluations the map reports as `f_evals`.
///
/// # Errors
/// [`Error::InvalidParameter`] for `t1 == t0`, zero steps, adaptive steps or
/// dense output; [`Error::NonFinite`] for non-finite times or `y0`;
/// [`Error::DimensionMismatch`] when `y0` does not match the map; whatever
/// the map's advance reports.
///
/// # Example
/// ```
/// use splitflow::splitting::{integrate_flow, ExactLinear, Splitting, SplittingCoefficients, FlowMap};
/// use splitflow::{LinearSystem, Record, State, Steps};
/// use nalgebra::dmatrix;
/// // y' = (A + B) y split into its two pieces, Strang with exact sub-flows.
/// let a = LinearSystem::new(dmatrix![-1.0, 2.0; 0.0, -3.0], None)?;
/// let b = LinearSystem::new(dmatrix![-0.5, 0.0; 1.0, -0.2], None)?;
/// let pieces: Vec<Box<dyn FlowMap>> =
///     vec![Box::new(ExactLinear::new(a)), Box::new(ExactLinear::new(b))];
/// let mut strang = Splitting::new(pieces, SplittingCoefficients::strang(2)?, Default::default())?;
/// let y0 = State::from_vec(vec![1.0, 0.5]);
/// let sol = integrate_flow(&mut strang, 0.0, 1.0, &y0, &Steps::Fixed(64), Record::Steps)?;
/// assert_eq!(sol.stats.accepted, 64);
/// assert_eq!(sol.trajectory.unwrap().len(), 65);
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn integrate_flow(
    map: &mut dyn FlowMap,
    t0: f64,
    t1: f64,
    y0: &State,
    steps: &Steps,
    record: Record,
) -> Result<Solution> {
    crate::integrate::check_span(t0, t1)?;
    if record == Record::Dense {
        return Err(Error::invalid(
            "record",
            "dense",
            "flow maps have no dense output",
        ));
    }
    check_dim("initial state y0", map.dim(), y0.len())?;
    check_finite("initial state y0", y0, Some(t0))?;
    steps.validate()?;
    let Some(n) = steps.count(t1 - t0)? else {
        return Err(Error::invalid(
            "steps",
            "adaptive",
            "a flow map has no error estimate: use a fixed step count or size",
        ));
    };
    let h = (t1 - t0) / n as f64;
    let f_evals0 = map.stats().f_evals;
    let mut y = y0.clone();
    let mut trajectory = (record == Record::Steps).then(|| vec![(t0, y0.clone())]);
    for i in 0..n {
        map.advance(t0 + i as f64 * h, h, &mut y)?;
        if let Some(tr) = trajectory.as_mut() {
            let tn = if i + 1 == n {
                t1
            } else {
                t0 + (i + 1) as f64 * h
            };
            tr.push((tn, y.clone()));
        }
    }
    let stats = Stats {
        accepted: n,
        f_evals: map.stats().f_evals - f_evals0,
        ..Stats::default()
    };
    Ok(Solution {
        t: t1,
        y,
        stats,
        trajectory,
        dense: None,
    })
}
