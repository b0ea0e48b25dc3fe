//! The spread over seeds, and sweeps split into shards and merged back.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Experiment, History, Report, Run};
use crate::error::{Error, Result};

/// Iterations to the target of one (method, α) over its seeds.
///
/// `mean` and `std` (population, as `numpy.std`) are over the converged
/// seeds only; `converged` of `runs` seeds reached the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The method.
    pub method: String,
    /// The learning rate.
    pub alpha: f64,
    /// Seeds run.
    pub runs: usize,
    /// Seeds that reached the target.
    pub converged: usize,
    /// Seeds that diverged.
    pub diverged: usize,
    /// Mean iterations over the converged seeds (NaN → `null` when none).
    pub mean: f64,
    /// Population standard deviation over the converged seeds.
    pub std: f64,
    /// Fewest iterations.
    pub min: Option<usize>,
    /// Most iterations.
    pub max: Option<usize>,
    /// Mean time to target (`seconds_to_target`) over the converged seeds.
    #[serde(default)]
    pub seconds_mean: f64,
    /// Population standard deviation of the time to target.
    #[serde(default)]
    pub seconds_std: f64,
    /// Mean step time to target over the converged seeds.
    #[serde(default)]
    pub step_seconds_mean: f64,
    /// Mean stop-rule time to target over the converged seeds.
    #[serde(default)]
    pub eval_seconds_mean: f64,
}

/// Mean and population standard deviation (NaN for no values).
fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let std = (v.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / n).sqrt();
    (mean, std)
}

/// The [`Summary`] of every (method, α) of `runs`, in order of first appearance.
///
/// # Example
/// ```
/// use splitflow::paper::{Run, summarize};
///
/// let run = |seed: u64, iterations: Option<usize>| Run {
///     method: "sgd".into(), alpha: 0.1, seed, converged: iterations.is_some(),
///     diverged: false, iterations, seconds: 0.0, step_seconds: 0.0, eval_seconds: 0.0,
///     iterations_run: 10, microseconds_per_iteration: 0.0, replayed_steps: 0,
///     checks: 11, replay_seconds: 0.0, step_seconds_to_target: None,
///     eval_seconds_to_target: None, seconds_to_target: None,
/// };
/// let s = summarize(&[run(0, Some(10)), run(2, Some(14)), run(4, None)]);
/// assert_eq!((s[0].runs, s[0].converged, s[0].min, s[0].max), (3, 2, Some(10), Some(14)));
/// assert_eq!((s[0].mean, s[0].std), (12.0, 2.0));
/// ```
pub fn summarize(runs: &[Run]) -> Vec<Summary> {
    let mut keys: Vec<(&str, f64)> = Vec::new();
    for r in runs {
        if !keys.iter().any(|&(m, a)| m == r.method && a == r.alpha) {
            keys.push((&r.method, r.alpha));
        }
    }
    keys.into_iter()
        .map(|(method, alpha)| {
            let mine: Vec<&Run> = runs
                .iter()
                .filter(|r| r.method == method && r.alpha == alpha)
                .collect();
            let counts: Vec<f64> = mine
                .iter()
                .filter(|r| r.converged)
                .filter_map(|r| r.iterations.map(|k| k as f64))
                .collect();
            let (mean, std) = mean_std(&counts);
            let timed = |f: fn(&Run) -> Option<f64>| -> Vec<f64> {
                mine.iter()
                    .filter(|r| r.converged)
                    .filter_map(|r| f(r))
                    .collect()
            };
            let (seconds_mean, seconds_std) = mean_std(&timed(|r| r.seconds_to_target));
            let (step_seconds_mean, _) = mean_std(&timed(|r| r.step_seconds_to_target));
            let (eval_seconds_mean, _) = mean_std(&timed(|r| r.eval_seconds_to_target));
            let its = || {
                mine.iter()
                    .filter(|r| r.converged)
                    .filter_map(|r| r.iterations)
            };
            Summary {
                method: method.to_string(),
                alpha,
                runs: mine.len(),
                converged: counts.len(),
                diverged: mine.iter().filter(|r| r.diverged).count(),
                mean,
                std,
                min: its().min(),
                max: its().max(),
                seconds_mean,
                seconds_std,
                step_seconds_mean,
                eval_seconds_mean,
            }
        })
        .collect()
}

/// A slice `k/n` of a sweep: job i (in report order) belongs to shard
/// `i mod n + 1`, so shards 1..=n partition the jobs.
///
/// # Example
/// ```
/// use splitflow::paper::Shard;
///
/// let s: Shard = "2/3".parse()?;
/// assert!(s.owns(1) && s.owns(4) && !s.owns(0));
/// assert!("3/2".parse::<Shard>().is_err() && "0/2".parse::<Shard>().is_err());
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, 1..=n.
    pub k: usize,
    /// Number of shards.
    pub n: usize,
}

impl Shard {
    /// Whether job `i` is in this shard.
    pub fn owns(&self, i: usize) -> bool {
        i % self.n + 1 == self.k
    }

    /// Checks 1 ≤ k ≤ n.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] otherwise.
    pub fn validate(&self) -> Result<()> {
        if self.n == 0 || self.k == 0 || self.k > self.n {
            return Err(Error::invalid(
                "--shard",
                self.to_string(),
                "expected k/n with 1 <= k <= n",
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl FromStr for Shard {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::invalid("--shard", s, "expected k/n with 1 <= k <= n");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let shard = Shard {
            k: k.trim().parse().map_err(|_| bad())?,
            n: n.trim().parse().map_err(|_| bad())?,
        };
        shard.validate()?;
        Ok(shard)
    }
}

/// A shard's file: its report and the metric histories of its runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardFile {
    /// The report (runs of this shard only).
    pub report: Report,
    /// Per experiment, the histories aligned with its runs.
    pub histories: Vec<Vec<History>>,
}

impl ShardFile {
    /// A report with its histories.
    pub fn new(report: &Report) -> Self {
        ShardFile {
            histories: report
                .experiments
                .iter()
                .map(|e| e.histories.clone())
                .collect(),
            report: report.clone(),
        }
    }

    /// The report with the histories put back.
    pub fn into_report(self) -> Report {
        let mut report = self.report;
        for (e, h) in report.experiments.iter_mut().zip(self.histories) {
            e.histories = h;
        }
        report
    }
}

/// Combines the shards of one sweep into the report of the whole sweep:
/// the same experiments, runs (in the unsharded order) and summaries.
///
/// # Errors
/// [`Error::InvalidParameter`] when the shards differ in protocol, sizes,
/// seeds, selection or shard count, repeat a shard, or miss one.
pub fn merge(shards: Vec<Report>) -> Result<Report> {
    let Some(first) = shards.first() else {
        return Err(Error::invalid("shards", 0, "nothing to merge"));
    };
    let mut options = first.options.clone();
    let selection = first.selection.clone();
    let Some(n) = options.shard.map(|s| s.n) else {
        return Err(Error::invalid(
            "shards",
            "unsharded",
            "not a shard (no --shard)",
        ));
    };
    check_shards(&shards, first, n)?;
    options.shard = None;
    let experiments = super::jobs::experiment_names(&selection, &options)
        .into_iter()
        .filter_map(|name| merge_experiment(&name, &shards))
        .collect();
    Ok(Report {
        selection,
        options,
        experiments,
    })
}

/// Every shard is of the sweep of `first` (`n` shards), and each shard
/// `1…n` is there once.
fn check_shards(shards: &[Report], first: &Report, n: usize) -> Result<()> {
    let mut seen = vec![false; n];
    for s in shards {
        if let Some(what) = sweep_difference(s, first, n) {
            return Err(Error::invalid(
                "shards",
                what,
                "the shards are of different sweeps",
            ));
        }
        let k = s.options.shard.expect("checked above").k;
        if std::mem::replace(&mut seen[k - 1], true) {
            return Err(Error::invalid("shards", format!("{k}/{n}"), "given twice"));
        }
    }
    if let Some(k) = seen.iter().position(|s| !s) {
        return Err(Error::invalid(
            "shards",
            format!("{}/{n}", k + 1),
            "missing",
        ));
    }
    Ok(())
}

/// What makes shard `s` part of another sweep than `first` (of `n`
/// shards), if anything.
fn sweep_difference(s: &Report, first: &Report, n: usize) -> Option<&'static str> {
    let (a, b) = (&s.options, &first.options);
    if a.protocol != b.protocol {
        Some("protocol")
    } else if a.quick != b.quick {
        Some("problem sizes (--quick)")
    } else if a.seed != b.seed || a.seeds != b.seeds {
        Some("seeds")
    } else if s.selection != first.selection
        || a.mnist != b.mnist
        || a.fashion_mnist != b.fashion_mnist
    {
        Some("experiments")
    } else if a.shard.map(|s| s.n) != Some(n) {
        Some("shard count")
    } else {
        None
    }
}

/// The experiment `name` over all shards: its runs (and histories) in the
/// unsharded order, factorization times added up, summarized again;
/// `None` when no shard has it.
fn merge_experiment(name: &str, shards: &[Report]) -> Option<Experiment> {
    let mut merged: Option<Experiment> = None;
    for s in shards {
        for e in s.experiments.iter().filter(|e| e.name == name) {
            let m = merged.get_or_insert_with(|| Experiment {
                runs: Vec::new(),
                histories: Vec::new(),
                factorization_seconds: 0.0,
                ..e.clone()
            });
            m.factorization_seconds += e.factorization_seconds;
            m.runs.extend(e.runs.iter().cloned());
            m.histories.extend(e.histories.iter().cloned());
        }
    }
    let mut e = merged?;
    let mut order: Vec<usize> = (0..e.runs.len()).collect();
    order.sort_by_key(|&i| sweep_position(&e, &e.runs[i]));
    e.runs = order.iter().map(|&i| e.runs[i].clone()).collect();
    if e.histories.len() == order.len() {
        e.histories = order.iter().map(|&i| e.histories[i].clone()).collect();
    }
    e.summarize();
    Some(e)
}

/// A run's place in the unsharded order: (seed, α, method) within an
/// experiment, as the sweep enumerates them.
fn sweep_position(e: &Experiment, r: &Run) -> (u64, usize, usize) {
    let a = e
        .protocol
        .grid
        .iter()
        .position(|&a| a == r.alpha)
        .unwrap_or(usize::MAX);
    let m = usize::from(r.method != "sgd");
    (r.seed, a, m)
}
