//! Time to target: per method, the learning rate with the least mean wall
//! time to the target, split into step time and stop-rule time, and the
//! ratio of the two methods' best times (the paper's second figure).

use serde::{Deserialize, Serialize};

use super::Summary;

/// A method's best time to target over the α grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestTime {
    /// The method.
    pub method: String,
    /// The α with the least mean time to target (steps + stop rule).
    pub alpha: f64,
    /// That mean time to target, in seconds.
    pub seconds: f64,
    /// Its step part (mean over the converged seeds).
    pub step_seconds: f64,
    /// Its stop-rule part (mean over the converged seeds).
    pub eval_seconds: f64,
    /// The α with the least mean step time to target (stop rule excluded).
    pub step_alpha: f64,
    /// That least mean step time, in seconds.
    pub best_step_seconds: f64,
}

/// The best time to target of every method and the SGD/splitting ratios.
///
/// $$ r = \frac{\min_\alpha \bar t_{\text{sgd}}(\alpha)}{\min_\alpha \bar t_{\text{splitting}}(\alpha)} $$
///
/// with $\bar t$ the mean over converged seeds, once for the whole time to
/// target (`sgd_over_splitting`) and once for its step part alone
/// (`step_sgd_over_splitting`, each minimised over α separately).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimeToTarget {
    /// One entry per method that reached the target at some α, in order of
    /// first appearance.
    pub best: Vec<BestTime>,
    /// Best SGD time over best splitting time (`null` unless both reached
    /// the target).
    pub sgd_over_splitting: Option<f64>,
    /// The same ratio of the best step times.
    pub step_sgd_over_splitting: Option<f64>,
}

impl TimeToTarget {
    /// The best time of `method`, if it reached the target.
    pub fn of(&self, method: &str) -> Option<&BestTime> {
        self.best.iter().find(|b| b.method == method)
    }
}

/// The [`TimeToTarget`] of a sweep's summaries (only (method, α) with at
/// least one converged seed count).
///
/// # Example
/// ```
/// use splitflow::paper::{Summary, time_to_target};
///
/// let s = |method: &str, alpha: f64, step: f64, eval: f64| Summary {
///     method: method.into(), alpha, runs: 1, converged: 1, diverged: 0,
///     mean: 10.0, std: 0.0, min: Some(10), max: Some(10),
///     seconds_mean: step + eval, seconds_std: 0.0,
///     step_seconds_mean: step, eval_seconds_mean: eval,
/// };
/// let t = time_to_target(&[
///     s("sgd", 0.1, 0.4, 0.4), s("sgd", 1.0, 0.3, 0.6),
///     s("splitting", 1.0, 0.2, 0.2),
/// ]);
/// let sgd = t.of("sgd").unwrap();
/// assert_eq!((sgd.alpha, sgd.step_alpha), (0.1, 1.0));
/// assert!((t.sgd_over_splitting.unwrap() - 2.0).abs() < 1e-12);
/// assert!((t.step_sgd_over_splitting.unwrap() - 1.5).abs() < 1e-12);
/// ```
pub fn time_to_target(summary: &[Summary]) -> TimeToTarget {
    let mut methods: Vec<&str> = Vec::new();
    for s in summary {
        if !methods.contains(&s.method.as_str()) {
            methods.push(&s.method);
        }
    }
    let best: Vec<BestTime> = methods
        .into_iter()
        .filter_map(|method| {
            let mine = || {
                summary
                    .iter()
                    .filter(move |s| s.method == method && s.converged > 0)
                    .filter(|s| s.seconds_mean.is_finite())
            };
            let total = mine().min_by(|a, b| a.seconds_mean.total_cmp(&b.seconds_mean))?;
            let step = mine().min_by(|a, b| a.step_seconds_mean.total_cmp(&b.step_seconds_mean))?;
            Some(BestTime {
                method: method.to_string(),
                alpha: total.alpha,
                seconds: total.seconds_mean,
                step_seconds: total.step_seconds_mean,
                eval_seconds: total.eval_seconds_mean,
                step_alpha: step.alpha,
                best_step_seconds: step.step_seconds_mean,
            })
        })
        .collect();
    let ratio = |f: fn(&BestTime) -> f64| {
        let sgd = best.iter().find(|b| b.method == "sgd")?;
        let split = best.iter().find(|b| b.method == "splitting")?;
        (f(split) > 0.0).then(|| f(sgd) / f(split))
    };
    TimeToTarget {
        sgd_over_splitting: ratio(|b| b.seconds),
        step_sgd_over_splitting: ratio(|b| b.best_step_seconds),
        best,
    }
}
