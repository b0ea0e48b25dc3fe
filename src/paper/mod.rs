//! The seed paper's experiments (Merkulov & Oseledets, THEORY §4): SGD
//! versus the splitting optimizer over a log-spaced learning-rate grid,
//! counting batch steps ("iterations") to a target.
//!
//! | experiment | data | b | target (`text` protocol) |
//! |---|---|---|---|
//! | `lls` | random 10000×500, θ_true = 1, noise 0.01 | 20 | ‖Xθ − y‖/‖y‖ ≤ 1e-3 |
//! | `tomography` | fan-beam 12780×2500, y = A·phantom, rows permuted once | 60 | (1/n)‖Aθ − y‖² ≤ 3e-5 |
//! | `logistic` | `digits01` and `wdbc` (80/20 split) | 50 | test error ≤ 1e-3 (wdbc: ≤ 0.05) |
//! | `softmax` | `digits` (80/20 split) | 64 | test error ≤ 0.25 |
//!
//! θ₀ ~ U(−1/√p, 1/√p) (seeded), batches visited cyclically, SGD =
//! explicit-Euler local steps, splitting = exact (least squares) or
//! reduced RK45 (logistic, softmax, rtol = atol = 1e-8; Gram coordinates when b ≤ p, else QR) local flows.
//!
//! | file | holds |
//! |---|---|
//! | `mod.rs` | [`Run`], [`Experiment`], [`Report`], [`PaperOptions`], [`run_sweep`] |
//! | `protocol.rs` | [`Protocol`], [`Settings`], [`Stop`], [`Counting`]: every setting of every experiment |
//! | `jobs.rs` | the experiments: data per seed, one job per (method, α), run in parallel |
//! | `exact.rs` | exact iteration counts: the sparse stop-rule check and its replay |
//! | `summary.rs` | [`Summary`] over seeds, [`Shard`], [`merge`] |
//! | `timing.rs` | [`TimeToTarget`]: each method's best time to target and their ratio |
//!
//! # Seeds
//! Run k of `seeds` uses the seed `s = seed + 2k`: the data (the random
//! matrix and noise, the tomography row permutation, the train/test split)
//! come from `s`, θ₀ from `s + 1`, as the authors drew a new problem and a
//! new start for every run. `--seed s` alone reproduces any single run.

mod exact;
mod jobs;
mod protocol;
mod summary;
mod timing;

use rand_distr::{Distribution, Uniform};
use serde::{Deserialize, Serialize};

use crate::State;
use crate::error::{Error, Result};

pub use protocol::{Counting, Protocol, ProtocolName, Settings, Stop, authors_grid, parse_grid};
pub use summary::{Shard, ShardFile, Summary, merge, summarize};
pub use timing::{BestTime, TimeToTarget, time_to_target};

/// The experiments `paper` knows.
pub const EXPERIMENTS: &[&str] = &["lls", "tomography", "logistic", "softmax"];

/// One (method, α, seed) run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// `"sgd"` or `"splitting"`.
    pub method: String,
    /// Learning rate α (splitting step h = α·m).
    pub alpha: f64,
    /// The run's seed (data from it, θ₀ from seed + 1).
    pub seed: u64,
    /// Reached the target.
    pub converged: bool,
    /// Diverged (non-finite or above the divergence bound).
    pub diverged: bool,
    /// Iterations to the target, counted as the protocol's
    /// [`Counting`] says (`null` when not reached); exact (see `replayed_steps`).
    pub iterations: Option<usize>,
    /// Wall time of the run (steps + evaluations, the replay excluded).
    pub seconds: f64,
    /// Wall time in optimizer steps.
    pub step_seconds: f64,
    /// Wall time evaluating the stop rule.
    pub eval_seconds: f64,
    /// Iterations run.
    pub iterations_run: usize,
    /// Step time per iteration in microseconds.
    pub microseconds_per_iteration: f64,
    /// Steps replayed with a check after every step to make the count
    /// exact (0 when the sparse check was already exact).
    pub replayed_steps: usize,
    /// Stop-rule evaluations of the run (iteration 0 included, the replay's
    /// excluded): `eval_seconds / checks` is the cost of one check.
    #[serde(default)]
    pub checks: usize,
    /// Wall time of the replay (its steps and checks; not in `seconds`).
    #[serde(default)]
    pub replay_seconds: f64,
    /// Wall time in the steps counted to the target (`null` when not
    /// reached): exactly the `iterations` steps, the replayed ones timed in
    /// the replay.
    #[serde(default)]
    pub step_seconds_to_target: Option<f64>,
    /// Wall time evaluating the stop rule until the run found the target
    /// (the run's checks; `null` when not reached).
    #[serde(default)]
    pub eval_seconds_to_target: Option<f64>,
    /// Time to target: `step_seconds_to_target + eval_seconds_to_target`,
    /// at most `seconds + replay_seconds` (`null` when not reached).
    #[serde(default)]
    pub seconds_to_target: Option<f64>,
}

/// The metric history of one run: `(method, alpha, [(iteration, metric)])`.
pub type History = (String, f64, Vec<(usize, f64)>);

/// One experiment: its problem, protocol settings, target and runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// Experiment name (`lls`, `tomography`, `logistic/digits01`, …).
    pub name: String,
    /// Description of the problem.
    pub problem: String,
    /// The protocol's settings for this experiment.
    pub protocol: Settings,
    /// The stop rule's quantity.
    pub metric: String,
    /// The target value of the metric.
    pub target: f64,
    /// Seconds spent factorizing all batches (splitting only, once per seed).
    pub factorization_seconds: f64,
    /// One run per seed, α and method (seed-major, then α, then method).
    pub runs: Vec<Run>,
    /// Mean, spread and extremes of the iterations over seeds, per (method, α)
    /// (recomputed from the runs when read back).
    #[serde(skip_deserializing)]
    pub summary: Vec<Summary>,
    /// Each method's best time to target and their ratio (recomputed from
    /// the summary when read back).
    #[serde(skip_deserializing)]
    pub time_to_target: TimeToTarget,
    /// Metric histories of every run (aligned with `runs`), for plots and CSV.
    #[serde(skip)]
    pub histories: Vec<History>,
}

impl Experiment {
    /// An experiment's header with no runs yet (the sweep fills in the
    /// runs, then [`summarize`](Self::summarize) derives the rest).
    pub(crate) fn header(
        name: String,
        problem: String,
        protocol: Settings,
        metric: &str,
        target: f64,
        factorization_seconds: f64,
    ) -> Self {
        Experiment {
            name,
            problem,
            protocol,
            metric: metric.into(),
            target,
            factorization_seconds,
            runs: Vec::new(),
            summary: Vec::new(),
            time_to_target: Default::default(),
            histories: Vec::new(),
        }
    }

    /// Recomputes the [`summary`](Self::summary) and the
    /// [`time_to_target`](Self::time_to_target) from the runs.
    pub fn summarize(&mut self) {
        self.summary = summarize(&self.runs);
        self.time_to_target = time_to_target(&self.summary);
    }

    /// The runs as CSV, one row per seed.
    pub fn to_csv(&self) -> String {
        let seeds = self.seeds() > 1;
        let mut s = String::from(if seeds { "seed," } else { "" });
        s += "method,alpha,converged,diverged,iterations,seconds,step_seconds,eval_seconds,iterations_run,";
        s += "checks,replay_seconds,step_seconds_to_target,eval_seconds_to_target,seconds_to_target\n";
        for r in &self.runs {
            if seeds {
                s += &format!("{},", r.seed);
            }
            let opt = |v: Option<f64>| v.map(|t| format!("{t:.6}")).unwrap_or_default();
            s += &format!(
                "{},{:e},{},{},{},{:.6},{:.6},{:.6},{},{},{:.6},{},{},{}\n",
                r.method,
                r.alpha,
                r.converged,
                r.diverged,
                r.iterations.map(|k| k.to_string()).unwrap_or_default(),
                r.seconds,
                r.step_seconds,
                r.eval_seconds,
                r.iterations_run,
                r.checks,
                r.replay_seconds,
                opt(r.step_seconds_to_target),
                opt(r.eval_seconds_to_target),
                opt(r.seconds_to_target)
            );
        }
        s
    }

    /// Time to target per (method, α) as CSV: converged seeds, mean ± std of
    /// the time to target and the means of its step and stop-rule parts
    /// (the data of the time-vs-α plot).
    pub fn time_csv(&self) -> String {
        let mut s = String::from(
            "method,alpha,runs,converged,seconds_mean,seconds_std,step_seconds_mean,eval_seconds_mean\n",
        );
        for m in &self.summary {
            let v = |t: f64| {
                if m.converged > 0 && t.is_finite() {
                    format!("{t:.6}")
                } else {
                    String::new()
                }
            };
            s += &format!(
                "{},{:e},{},{},{},{},{},{}\n",
                m.method,
                m.alpha,
                m.runs,
                m.converged,
                v(m.seconds_mean),
                v(m.seconds_std),
                v(m.step_seconds_mean),
                v(m.eval_seconds_mean)
            );
        }
        s
    }

    /// Number of distinct seeds among the runs.
    pub fn seeds(&self) -> usize {
        let mut s: Vec<u64> = self.runs.iter().map(|r| r.seed).collect();
        s.sort_unstable();
        s.dedup();
        s.len()
    }

    /// The best (fewest mean iterations over converged seeds) (method, α)
    /// summary of a method.
    pub fn best(&self, method: &str) -> Option<&Summary> {
        self.summary
            .iter()
            .filter(|s| s.method == method && s.converged > 0)
            .min_by(|a, b| a.mean.total_cmp(&b.mean))
    }

    /// Steps replayed to make the counts exact, over all runs.
    pub fn replayed_steps(&self) -> usize {
        self.runs.iter().map(|r| r.replayed_steps).sum()
    }
}

/// `n` log-spaced values from `lo` to `hi` (both included):
///
/// $$ x_k = \exp\left(\ln lo + (\ln hi - \ln lo)\frac{k}{n - 1}\right), \quad k = 0, …, n − 1 $$
///
/// # Errors
/// [`Error::InvalidParameter`] for `n < 2` (a grid needs both ends) or
/// bounds that are not finite with `0 < lo < hi`.
///
/// # Example
/// ```
/// let g = splitflow::paper::logspace(1e-2, 1e2, 5)?;
/// assert_eq!(g.len(), 5);
/// assert!((g[2] - 1.0).abs() < 1e-15 && (g[0] / 1e-2 - 1.0).abs() < 1e-14);
/// assert!(splitflow::paper::logspace(0.0, 1.0, 5).is_err());
/// assert!(splitflow::paper::logspace(1.0, 2.0, 1).is_err());
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn logspace(lo: f64, hi: f64, n: usize) -> Result<Vec<f64>> {
    if n < 2 {
        return Err(Error::invalid(
            "n",
            n,
            "a log-spaced grid needs at least 2 points",
        ));
    }
    crate::error::check_positive("lo", lo)?;
    crate::error::check_positive("hi", hi)?;
    if lo >= hi {
        return Err(Error::invalid(
            "hi",
            crate::error::Float(hi),
            "must be above lo",
        ));
    }
    Ok(log_grid(lo, hi, n))
}

/// [`logspace`] without the checks, for the paper's fixed grids
/// (`n ≥ 2`, `0 < lo < hi`).
pub(crate) fn log_grid(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|k| (lo.ln() + (hi.ln() - lo.ln()) * k as f64 / (n - 1) as f64).exp())
        .collect()
}

/// θ₀ ~ U(−1/√p, 1/√p), seeded.
///
/// # Errors
/// [`Error::InvalidParameter`] for `p = 0` (no parameters: the range
/// ±1/√p is infinite).
///
/// # Example
/// ```
/// let theta = splitflow::paper::uniform_init(4, 7)?;
/// assert!(theta.iter().all(|x| x.abs() <= 0.5));
/// assert!(splitflow::paper::uniform_init(0, 7).is_err());
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn uniform_init(p: usize, seed: u64) -> Result<State> {
    if p == 0 {
        return Err(Error::invalid("p", p, "needs at least one parameter"));
    }
    let a = 1.0 / (p as f64).sqrt();
    let mut rng = crate::random::seeded_rng(seed);
    let u = Uniform::new_inclusive(-a, a)
        .map_err(|e| Error::invalid("p", p, &format!("no uniform range ±1/√p: {e}")))?;
    Ok(State::from_fn(p, |_, _| u.sample(&mut rng)))
}

/// Options of a `paper` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaperOptions {
    /// Smaller problems and grids (under two minutes on 2 cores).
    pub quick: bool,
    /// Seed of the first run (run k uses `seed + 2k`, see the module docs).
    pub seed: u64,
    /// Runs (seeds) per (method, α); at least 1.
    pub seeds: usize,
    /// The protocol and its overrides.
    pub protocol: Protocol,
    /// Directory with the MNIST IDX files: adds the paper's original
    /// logistic experiment (digits 0/1, pixels/255, b = 50, test error ≤ 1e-3).
    pub mnist: Option<std::path::PathBuf>,
    /// Directory with the Fashion-MNIST IDX files: adds the paper's original
    /// softmax experiment (10 classes, b = 64, test error ≤ 0.25).
    pub fashion_mnist: Option<std::path::PathBuf>,
    /// Worker threads (0: all cores). Results do not depend on it.
    #[serde(skip)]
    pub jobs: usize,
    /// Run only this slice of the sweep.
    pub shard: Option<Shard>,
}

impl Default for PaperOptions {
    fn default() -> Self {
        PaperOptions {
            quick: false,
            seed: 0,
            seeds: 1,
            protocol: Protocol::default(),
            mnist: None,
            fashion_mnist: None,
            jobs: 0,
            shard: None,
        }
    }
}

impl PaperOptions {
    /// Checks the options (before any work).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for zero seeds, a seed range that
    /// overflows, a bad shard or bad protocol overrides.
    pub fn validate(&self) -> Result<()> {
        if self.seeds == 0 {
            return Err(Error::invalid("--seeds", 0, "must be at least 1"));
        }
        if self.seed.checked_add(2 * self.seeds as u64).is_none() {
            return Err(Error::invalid(
                "--seed",
                self.seed,
                "the seed range overflows",
            ));
        }
        if let Some(s) = self.shard {
            s.validate()?;
        }
        self.protocol.validate()
    }

    /// The seed of run `k`.
    pub fn run_seed(&self, k: usize) -> u64 {
        self.seed + 2 * k as u64
    }
}

/// The result of `paper`: the options it ran with and its experiments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The experiments asked for (`lls`, …; `all` expanded).
    pub selection: Vec<String>,
    /// The options (protocol, seeds, shard, sizes).
    pub options: PaperOptions,
    /// The experiments, with the runs of this shard (all runs unsharded).
    pub experiments: Vec<Experiment>,
}

/// Expands `all` and checks experiment names.
///
/// # Errors
/// [`Error::InvalidParameter`] for an unknown name.
pub fn selection(experiment: &str) -> Result<Vec<String>> {
    match experiment {
        "all" => Ok(EXPERIMENTS.iter().map(|s| s.to_string()).collect()),
        name if EXPERIMENTS.contains(&name) => Ok(vec![name.to_string()]),
        other => Err(Error::invalid(
            "experiment",
            other,
            "unknown experiment (expected lls, tomography, logistic, softmax or all)",
        )),
    }
}

/// Runs the selected experiments (`lls`, `tomography`, `logistic` = digits01
/// and wdbc, `softmax`) over seeds, in parallel on `opts.jobs` threads, or
/// only the slice `opts.shard` of them. The runs and their order do not
/// depend on the number of threads (only the timings do).
///
/// # Errors
/// [`Error::InvalidParameter`] for an unknown name or bad options; numerical
/// errors of the runs.
pub fn run_sweep(
    selection: &[String],
    opts: &PaperOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Report> {
    opts.validate()?;
    for name in selection {
        self::selection(name)?;
    }
    let experiments = jobs::in_pool(opts.jobs, || jobs::run_all(selection, opts, progress))??;
    Ok(Report {
        selection: selection.to_vec(),
        options: opts.clone(),
        experiments,
    })
}

/// Runs one named experiment with `opts` (`logistic` returns two
/// experiments, digits01 and wdbc).
///
/// # Errors
/// As [`run_sweep`].
pub fn run(name: &str, opts: &PaperOptions) -> Result<Vec<Experiment>> {
    Ok(run_sweep(&selection(name)?, opts, &|_| {})?.experiments)
}
