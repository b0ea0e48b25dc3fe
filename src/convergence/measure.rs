//! How an error is measured: which vector norm, at which output times, and
//! how the errors at those times are combined into one number per level.
//!
//! With output times `t₁ < … < t_m` and the error vectors
//! `eₖ = y_h(tₖ) − y(tₖ)`:
//!
//! $$ E_{\mathrm{final}} = \\| e_m \\|, \qquad
//!    E_{\max} = \max_k \\| e_k \\|, \qquad
//!    E_{\mathrm{rms}} = \Big( \tfrac{1}{m} \textstyle\sum_k \\| e_k \\|^2 \Big)^{1/2}, $$
//!
//! in the 2-norm or the ∞-norm. A method of order `p` has `‖eₖ‖ = O(hᵖ)` at
//! every fixed time, so each measure shows the same order; they differ in
//! their constants (`E_final ≤ E_max`, `E_rms ≤ E_max`, and
//! `‖·‖∞ ≤ ‖·‖₂ ≤ √n ‖·‖∞`).

use serde::{Deserialize, Serialize};

use crate::State;
use crate::error::{Error, Result};

/// How the errors at the output times are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// The error at the last output time (the end of the span).
    #[default]
    Final,
    /// The largest error over the output times.
    Max,
    /// The root mean square of the errors over the output times.
    Rms,
}

/// The vector norm of an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Norm {
    /// The Euclidean norm (computed without overflow or underflow).
    #[default]
    #[serde(rename = "2")]
    Two,
    /// The largest absolute entry.
    #[serde(rename = "inf")]
    Inf,
}

impl Norm {
    /// The norm of `v`.
    ///
    /// # Example
    /// ```
    /// use splitflow::convergence::measure::Norm;
    /// use splitflow::State;
    /// let v = State::from_vec(vec![3.0, -4.0]);
    /// assert_eq!(Norm::Two.of(&v), 5.0);
    /// assert_eq!(Norm::Inf.of(&v), 4.0);
    /// ```
    pub fn of(self, v: &State) -> f64 {
        match self {
            Norm::Two => super::norm2(v),
            Norm::Inf => {
                if v.iter().any(|x| x.is_nan()) {
                    f64::NAN
                } else {
                    v.amax()
                }
            }
        }
    }
}

/// An error measure: the [`Norm`], the output times and the [`Aggregate`].
///
/// # Example
/// ```
/// use splitflow::convergence::measure::{Aggregate, ErrorMeasure, Norm};
/// use splitflow::State;
/// let m = ErrorMeasure { over: Aggregate::Rms, norm: Norm::Inf, times: vec![0.5, 1.0] };
/// let y = [State::from_vec(vec![1.0, 0.0]), State::from_vec(vec![0.0, 2.0])];
/// let r = [State::from_vec(vec![0.0, 0.0]), State::from_vec(vec![0.0, 0.0])];
/// assert!((m.error(&y, &r)? - (2.5f64).sqrt()).abs() < 1e-15);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorMeasure {
    /// How the errors at the output times are combined.
    pub over: Aggregate,
    /// The vector norm.
    pub norm: Norm,
    /// The output times, increasing, the last one the end of the span.
    pub times: Vec<f64>,
}

impl ErrorMeasure {
    /// The final-time 2-norm error at `t_end` (the default measure).
    pub fn final_time(t_end: f64) -> Self {
        ErrorMeasure {
            over: Aggregate::Final,
            norm: Norm::Two,
            times: vec![t_end],
        }
    }

    /// The measure of the errors `states[k] − references[k]` at the output times.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when the lists or the states differ in length.
    pub fn error(&self, states: &[State], references: &[State]) -> Result<f64> {
        crate::error::check_dim("states at the output times", self.times.len(), states.len())?;
        crate::error::check_dim(
            "references at the output times",
            self.times.len(),
            references.len(),
        )?;
        let mut errors = Vec::with_capacity(states.len());
        for (y, r) in states.iter().zip(references) {
            crate::error::check_dim("method result", r.len(), y.len())?;
            errors.push(self.norm.of(&(y - r)));
        }
        Ok(self.combine(&errors))
    }

    /// The aggregate of per-time errors (NaN when one is NaN).
    pub fn combine(&self, errors: &[f64]) -> f64 {
        if errors.iter().any(|e| e.is_nan()) {
            return f64::NAN;
        }
        match self.over {
            Aggregate::Final => errors.last().copied().unwrap_or(f64::NAN),
            Aggregate::Max => errors.iter().copied().fold(0.0, f64::max),
            Aggregate::Rms => {
                // Scaled by the largest error so the squares cannot overflow.
                let m = errors.iter().copied().fold(0.0, f64::max);
                if m == 0.0 || !m.is_finite() {
                    return m;
                }
                let mean =
                    errors.iter().map(|e| (e / m).powi(2)).sum::<f64>() / errors.len() as f64;
                m * mean.sqrt()
            }
        }
    }

    /// The solution's scale for the round-off floor: the largest norm of
    /// the references.
    pub fn scale(&self, references: &[State]) -> f64 {
        references
            .iter()
            .map(|r| self.norm.of(r))
            .fold(0.0, f64::max)
    }

    /// A short description: `"final-time 2-norm"`, `"max over 8 output times, ∞-norm"`.
    pub fn describe(&self) -> String {
        let norm = match self.norm {
            Norm::Two => "2-norm",
            Norm::Inf => "∞-norm",
        };
        match self.over {
            Aggregate::Final => format!("final-time {norm}"),
            Aggregate::Max => format!("max over {} output times, {norm}", self.times.len()),
            Aggregate::Rms => format!("rms over {} output times, {norm}", self.times.len()),
        }
    }

    /// The step indices `(1..=n)` of the output times on a grid of `n` equal
    /// steps over `[0, span]`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `study.times` when a time is not a
    /// grid point (to `1e-9` relative).
    pub fn marks(&self, n: usize, span: f64) -> Result<Vec<usize>> {
        self.times
            .iter()
            .map(|&t| {
                let x = t / span * n as f64;
                let k = x.round();
                if (x - k).abs() > 1e-9 * x.max(1.0) || k < 1.0 {
                    return Err(Error::invalid(
                        "study.times",
                        t,
                        &format!(
                            "is not on the grid of the level with {n} steps (h = {:e}); \
                             output times must be multiples of every level's step size",
                            span / n as f64
                        ),
                    ));
                }
                Ok(k as usize)
            })
            .collect()
    }

    /// Checks the times: finite, strictly increasing, in `(0, span]`, the
    /// last one equal to `span`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `study.times`.
    pub fn validate(&self, span: f64) -> Result<()> {
        let bad = |why: &str| {
            Err(Error::invalid(
                "study.times",
                format!("{:?}", self.times),
                why,
            ))
        };
        if self.times.is_empty() {
            return bad("need at least one output time");
        }
        if self
            .times
            .iter()
            .any(|t| !(t.is_finite() && *t > 0.0 && *t <= span))
        {
            return bad(&format!(
                "every output time must lie in (0, t_end = {span}]"
            ));
        }
        if self.times.windows(2).any(|w| w[1] <= w[0]) {
            return bad("must be strictly increasing");
        }
        if *self.times.last().expect("not empty") != span {
            return bad(&format!("the last output time must be t_end = {span}"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_and_norms() {
        let m = |over, norm| ErrorMeasure {
            over,
            norm,
            times: vec![1.0, 2.0],
        };
        let e = [3.0, 4.0];
        assert_eq!(m(Aggregate::Final, Norm::Two).combine(&e), 4.0);
        assert_eq!(m(Aggregate::Max, Norm::Two).combine(&e), 4.0);
        let rms = m(Aggregate::Rms, Norm::Two).combine(&e);
        assert!((rms - 12.5f64.sqrt()).abs() < 1e-15);
        assert!(
            m(Aggregate::Max, Norm::Two)
                .combine(&[1.0, f64::NAN])
                .is_nan()
        );
        // Huge errors do not overflow the squares.
        assert!((m(Aggregate::Rms, Norm::Two).combine(&[1e300, 1e300]) - 1e300).abs() < 1e286);
    }

    #[test]
    fn marks_need_grid_points() {
        let m = ErrorMeasure {
            over: Aggregate::Max,
            norm: Norm::Inf,
            times: vec![0.5, 1.0],
        };
        assert_eq!(m.marks(8, 1.0).unwrap(), vec![4, 8]);
        assert!(m.marks(3, 1.0).is_err());
        assert!(m.validate(1.0).is_ok());
        assert!(m.validate(2.0).is_err());
    }
}
