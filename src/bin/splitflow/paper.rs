//! `splitflow paper`: the seed paper's experiments, tables, CSV and plots.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use splitflow::{Error, Result};

use crate::io::{check_input_dir, check_output_dir, write};
use crate::{say, to_json};

/// Arguments of `splitflow paper`.
#[derive(Args)]
pub(crate) struct PaperArgs {
    /// Which experiment.
    #[arg(long, value_enum, default_value_t = ExperimentArg::All)]
    experiment: ExperimentArg,
    /// Smaller problems and grids (under two minutes on 2 cores).
    #[arg(long)]
    quick: bool,
    /// Directory for the CSV results (and SVG plots, each with its data as CSV).
    #[arg(short, long, value_name = "DIR", default_value = "paper-results")]
    out: PathBuf,
    /// Seed of data generation, permutations and initialisation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Directory with MNIST IDX files (adds the paper's MNIST 0/1 logistic
    /// run; only with --experiment logistic or all).
    #[arg(long, value_name = "DIR")]
    mnist: Option<PathBuf>,
    /// Directory with Fashion-MNIST IDX files (adds the paper's softmax run;
    /// only with --experiment softmax or all).
    #[arg(long, value_name = "DIR")]
    fashion_mnist: Option<PathBuf>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
}

/// The experiments (`--experiment`).
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExperimentArg {
    /// Random least squares.
    Lls,
    /// Fan-beam tomography with the Shepp–Logan phantom.
    Tomography,
    /// Logistic regression (digits01, wdbc; MNIST 0/1 with --mnist).
    Logistic,
    /// Softmax regression (digits; Fashion-MNIST with --fashion-mnist).
    Softmax,
    /// All of the above.
    All,
}

impl ExperimentArg {
    /// The library's experiment names this choice runs.
    fn names(self) -> Vec<&'static str> {
        match self {
            ExperimentArg::Lls => vec!["lls"],
            ExperimentArg::Tomography => vec!["tomography"],
            ExperimentArg::Logistic => vec!["logistic"],
            ExperimentArg::Softmax => vec!["softmax"],
            ExperimentArg::All => splitflow::paper::EXPERIMENTS.to_vec(),
        }
    }
}

/// The files an IDX data directory must hold (any of the accepted spellings).
const IDX_PREFIXES: [&str; 4] = ["train-images", "train-labels", "t10k-images", "t10k-labels"];

/// Checks an MNIST-style directory flag before any experiment runs: it must
/// apply to the chosen experiments (a usage error otherwise) and name a
/// readable directory with the four IDX files.
fn check_idx_dir(flag: &str, dir: Option<&Path>, used_by: &str, names: &[&str]) -> Result<()> {
    let Some(dir) = dir else { return Ok(()) };
    if !names.contains(&used_by) {
        return Err(Error::invalid(
            flag,
            format!("{:?}", dir.display().to_string()),
            &format!("applies only to --experiment {used_by} or all"),
        ));
    }
    check_input_dir(flag, dir, &IDX_PREFIXES)
}

/// Runs `splitflow paper`.
pub(crate) fn run(a: &PaperArgs) -> Result<()> {
    let names = a.experiment.names();
    check_idx_dir("--mnist", a.mnist.as_deref(), "logistic", &names)?;
    check_idx_dir(
        "--fashion-mnist",
        a.fashion_mnist.as_deref(),
        "softmax",
        &names,
    )?;
    check_output_dir("--out", &a.out)?;
    let opts = splitflow::paper::PaperOptions {
        quick: a.quick,
        seed: a.seed,
        mnist: a.mnist.clone(),
        fashion_mnist: a.fashion_mnist.clone(),
    };
    paper(&names, &opts, &a.out, a.json)
}

fn paper(
    names: &[&str],
    opts: &splitflow::paper::PaperOptions,
    out: &Path,
    json: bool,
) -> Result<()> {
    use splitflow::paper::run;
    let mut experiments = Vec::new();
    let bar = crate::progress::bar(None, json);
    for &name in names {
        let mut progress = |msg: &str| bar.set_message(format!("running {msg}"));
        for exp in run(name, opts, &mut progress)? {
            let stem = exp.name.replace('/', "-");
            write(&out.join(format!("{stem}.csv")), &exp.to_csv())?;
            #[cfg(feature = "plot")]
            plots(&exp, out, &stem)?;
            if !json {
                bar.suspend(|| print_experiment(&exp))?;
            }
            experiments.push(exp);
        }
    }
    if json {
        say!(
            "{}",
            to_json(&serde_json::json!({ "experiments": experiments }))?
        )?;
    } else {
        bar.finish_and_clear();
        say!(
            "CSV{} written to {}",
            if cfg!(feature = "plot") {
                " and SVG plots"
            } else {
                ""
            },
            out.display()
        )?;
    }
    Ok(())
}

/// Iterations-to-target versus α, and the metric histories, as SVG, each
/// with its data beside it as CSV (the runs table; the plotted points).
#[cfg(feature = "plot")]
fn plots(exp: &splitflow::paper::Experiment, out: &Path, stem: &str) -> Result<()> {
    write(&out.join(format!("{stem}-iterations.csv")), &exp.to_csv())?;
    splitflow::plot::iterations_vs_alpha(&sweep(exp), &out.join(format!("{stem}-iterations.svg")))?;
    // Diverging runs are drawn up to 100× the largest starting value, so
    // they do not stretch the axis over the converging ones.
    let start = exp
        .histories
        .iter()
        .filter_map(|(_, _, h)| h.first().map(|&(_, v)| v))
        .fold(0.0f64, f64::max);
    let cap = 100.0 * start;
    let series: Vec<(String, Vec<(f64, f64)>)> = exp
        .histories
        .iter()
        .map(|(method, alpha, h)| {
            (
                format!("{method} α={alpha:.2e}"),
                h.iter()
                    .take_while(|&&(_, v)| v.is_finite() && v <= cap)
                    .map(|&(k, v)| (k as f64, v))
                    .collect(),
            )
        })
        .collect();
    write(
        &out.join(format!("{stem}-curves.csv")),
        &crate::io::series_csv("iteration", &exp.metric, &series),
    )?;
    splitflow::plot::loss_curves(
        &series,
        "iteration (batch steps)",
        &exp.metric,
        true,
        &format!("{}: stop metric per run", exp.name),
        &out.join(format!("{stem}-curves.svg")),
    )
}

/// The experiment's runs as the plot module's learning-rate sweep.
#[cfg(feature = "plot")]
fn sweep(exp: &splitflow::paper::Experiment) -> splitflow::plot::Sweep {
    splitflow::plot::Sweep {
        name: exp.name.clone(),
        metric: exp.metric.clone(),
        target: exp.target,
        runs: exp
            .runs
            .iter()
            .map(|r| splitflow::plot::SweepRun {
                method: r.method.clone(),
                alpha: r.alpha,
                reached: r.converged.then_some(r.iterations).flatten(),
                diverged: r.diverged,
                iterations_run: r.iterations_run,
            })
            .collect(),
    }
}

pub(crate) fn print_experiment(exp: &splitflow::paper::Experiment) -> Result<()> {
    say!("\n== {}: {}", exp.name, exp.problem)?;
    say!(
        "   target: {} <= {:e}; factorization of all batches {:.3} s",
        exp.metric,
        exp.target,
        exp.factorization_seconds
    )?;
    say!(
        "   {:<10} {:>11} {:>10} {:>9} {:>10} {:>12}",
        "method",
        "alpha",
        "result",
        "iters",
        "seconds",
        "us/iter"
    )?;
    for r in &exp.runs {
        let result = if r.converged {
            "converged"
        } else if r.diverged {
            "diverged"
        } else {
            "not reached"
        };
        let iters = r
            .iterations
            .map(|k| k.to_string())
            .unwrap_or_else(|| "-".into());
        say!(
            "   {:<10} {:>11.3e} {:>10} {:>9} {:>10.3} {:>12.2}",
            r.method,
            r.alpha,
            result,
            iters,
            r.seconds,
            r.microseconds_per_iteration
        )?;
    }
    for method in ["sgd", "splitting"] {
        if let Some(b) = exp.best(method) {
            say!(
                "   best {method}: {} iterations at alpha = {:.3e} ({:.3} s)",
                b.iterations.unwrap_or(0),
                b.alpha,
                b.seconds
            )?;
        }
    }
    Ok(())
}
