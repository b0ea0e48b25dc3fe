//! `splitflow paper`: the seed paper's experiments, tables, CSV and plots;
//! `splitflow paper merge`: shards of a sweep combined into one report.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use splitflow::paper::{
    Experiment, PaperOptions, Protocol, ProtocolName, Report, Shard, ShardFile, Stop,
};
use splitflow::{Error, Result};

use crate::{say, to_json, write};

/// The protocol a sweep follows.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ProtocolArg {
    /// The paper's stated setup (noise 0.01, relative residual <= 1e-3).
    Text,
    /// The authors' script (noise 0.1, loss <= 0.1 before each step, their grid).
    Authors,
}

/// Arguments of `paper`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct PaperArgs {
    #[command(subcommand)]
    action: Option<PaperAction>,
    /// Which experiment: lls, tomography, logistic, softmax or all.
    #[arg(long, default_value = "all")]
    experiment: String,
    /// Smaller problems and grids (under two minutes on 2 cores).
    #[arg(long)]
    quick: bool,
    /// Directory for the CSV results (and SVG plots).
    #[arg(long, default_value = "paper-results")]
    out: PathBuf,
    /// Seed of the first run (run k uses seed + 2k: data from it, θ₀ from it + 1).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Runs (seeds) per method and α.
    #[arg(long, default_value_t = 1)]
    seeds: usize,
    /// The protocol: the paper's text or the authors' script.
    #[arg(long, value_enum, default_value = "text")]
    protocol: ProtocolArg,
    /// Noise of the random least-squares data (overrides the protocol's).
    #[arg(long)]
    noise: Option<f64>,
    /// Stop rule of the least-squares experiments: loss:T or relres:T.
    #[arg(long, value_parser = |s: &str| s.parse::<Stop>().map_err(|e| e.to_string()))]
    stop: Option<Stop>,
    /// α grid of every experiment: comma-separated positive values.
    #[arg(long, value_parser = |s: &str| splitflow::paper::parse_grid(s).map(Grid).map_err(|e| e.to_string()))]
    grid: Option<Grid>,
    /// Batch-step cap of every run (overrides the protocol's).
    #[arg(long)]
    max_iterations: Option<usize>,
    /// Worker threads (default: all cores); results do not depend on it.
    #[arg(long, default_value_t = 0)]
    jobs: usize,
    /// Run only slice k of n (1 <= k <= n) and write OUT/shard-k-of-n.json.
    #[arg(long, value_parser = |s: &str| s.parse::<Shard>().map_err(|e| e.to_string()))]
    shard: Option<Shard>,
    /// Directory with MNIST IDX files (adds the paper's MNIST 0/1 logistic run).
    #[arg(long)]
    mnist: Option<PathBuf>,
    /// Directory with Fashion-MNIST IDX files (adds the paper's softmax run).
    #[arg(long)]
    fashion_mnist: Option<PathBuf>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
}

/// A parsed `--grid` (a newtype: clap reads a bare `Vec` as repeated values).
#[derive(Debug, Clone)]
struct Grid(Vec<f64>);

#[derive(Debug, Subcommand)]
enum PaperAction {
    /// Combine the shard files of one sweep into its tables, CSV and plots.
    Merge {
        /// The shard files (OUT/shard-k-of-n.json).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Directory for the CSV results (and SVG plots).
        #[arg(long, default_value = "paper-results")]
        out: PathBuf,
        /// Print one JSON object instead of tables.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(args: PaperArgs) -> Result<()> {
    if let Some(PaperAction::Merge { files, out, json }) = args.action {
        return merge(&files, &out, json);
    }
    let opts = PaperOptions {
        quick: args.quick,
        seed: args.seed,
        seeds: args.seeds,
        protocol: Protocol {
            name: match args.protocol {
                ProtocolArg::Text => ProtocolName::Text,
                ProtocolArg::Authors => ProtocolName::Authors,
            },
            noise: args.noise,
            stop: args.stop,
            grid: args.grid.map(|g| g.0),
            max_iterations: args.max_iterations,
        },
        mnist: args.mnist,
        fashion_mnist: args.fashion_mnist,
        jobs: args.jobs,
        shard: args.shard,
    };
    let selection = splitflow::paper::selection(&args.experiment).map_err(|_| {
        Error::invalid(
            "--experiment",
            &args.experiment,
            "unknown experiment (expected lls, tomography, logistic, softmax or all)",
        )
    })?;
    opts.validate()?;
    create_dir(&args.out)?;
    let bar = crate::progress::bar(None, args.json);
    let report = splitflow::paper::run_sweep(&selection, &opts, &|msg: &str| {
        bar.set_message(format!("running {msg}"))
    })?;
    bar.finish_and_clear();
    if let Some(s) = opts.shard {
        let path = args.out.join(format!("shard-{}-of-{}.json", s.k, s.n));
        write(&path, &to_json(&ShardFile::new(&report))?)?;
    }
    output(&report, &args.out, args.json)
}

fn create_dir(out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|source| Error::Io {
        path: out.display().to_string(),
        source,
    })
}

/// `paper merge`: shard files into one report.
fn merge(files: &[PathBuf], out: &Path, json: bool) -> Result<()> {
    let mut shards = Vec::new();
    for f in files {
        let text = crate::read(f)?;
        let file: ShardFile = serde_json::from_str(&text).map_err(|e| Error::Spec {
            message: format!("{}: not a paper shard file: {e}", f.display()),
            line: Some(e.line()),
        })?;
        shards.push(file.into_report());
    }
    let report = splitflow::paper::merge(shards)?;
    create_dir(out)?;
    output(&report, out, json)
}

/// Tables (or JSON), CSV and plots of a report.
fn output(report: &Report, out: &Path, json: bool) -> Result<()> {
    for exp in &report.experiments {
        let stem = exp.name.replace('/', "-");
        write(&out.join(format!("{stem}.csv")), &exp.to_csv())?;
        #[cfg(feature = "plot")]
        plots(exp, out, &stem)?;
        if !json {
            print_experiment(exp);
        }
    }
    if json {
        let o = &report.options;
        say!(
            "{}",
            to_json(&serde_json::json!({
                "protocol": o.protocol,
                "seed": o.seed,
                "seeds": o.seeds,
                "quick": o.quick,
                "shard": o.shard.map(|s| s.to_string()),
                "experiments": report.experiments,
            }))?
        );
    } else {
        say!(
            "CSV{} written to {}",
            if cfg!(feature = "plot") {
                " and SVG plots"
            } else {
                ""
            },
            out.display()
        );
    }
    Ok(())
}

/// Iterations-to-target versus α, and the metric histories (of the first
/// seed), as SVG.
#[cfg(feature = "plot")]
fn plots(exp: &Experiment, out: &Path, stem: &str) -> Result<()> {
    splitflow::plot::iterations_vs_alpha(&sweep(exp), &out.join(format!("{stem}-iterations.svg")))?;
    let first_seed = exp.runs.first().map(|r| r.seed);
    let histories: Vec<_> = exp
        .histories
        .iter()
        .zip(&exp.runs)
        .filter(|(_, r)| Some(r.seed) == first_seed)
        .map(|(h, _)| h)
        .collect();
    // Diverging runs are drawn up to 100× the largest starting value, so
    // they do not stretch the axis over the converging ones.
    let start = histories
        .iter()
        .filter_map(|(_, _, h)| h.first().map(|&(_, v)| v))
        .fold(0.0f64, f64::max);
    let cap = 100.0 * start;
    let series: Vec<(String, Vec<(f64, f64)>)> = histories
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
    splitflow::plot::loss_curves(
        &series,
        "iteration (batch steps)",
        &exp.metric,
        true,
        &format!("{}: stop metric per run", exp.name),
        &out.join(format!("{stem}-curves.svg")),
    )
}

/// The experiment's runs as the plot module's learning-rate sweep: one
/// point per (method, α), with the mean ± std band over seeds when there
/// are several.
#[cfg(feature = "plot")]
fn sweep(exp: &Experiment) -> splitflow::plot::Sweep {
    let several = exp.seeds() > 1;
    splitflow::plot::Sweep {
        name: exp.name.clone(),
        metric: exp.metric.clone(),
        target: exp.target,
        runs: exp
            .summary
            .iter()
            .map(|s| {
                let mine = || {
                    exp.runs
                        .iter()
                        .filter(|r| r.method == s.method && r.alpha == s.alpha)
                };
                let reached = (s.converged > 0).then(|| s.mean.round() as usize);
                splitflow::plot::SweepRun {
                    method: s.method.clone(),
                    alpha: s.alpha,
                    reached,
                    diverged: s.converged == 0 && s.diverged > 0,
                    iterations_run: mine().map(|r| r.iterations_run).max().unwrap_or(0),
                    spread: (several && s.converged > 0).then_some(splitflow::plot::Spread {
                        mean: s.mean,
                        std: s.std,
                    }),
                }
            })
            .collect(),
    }
}

pub(crate) fn print_experiment(exp: &Experiment) {
    let p = &exp.protocol;
    say!("\n== {}: {}", exp.name, exp.problem);
    say!(
        "   protocol {}: noise {}, stop {}, grid {} points [{}], max {} iterations, counting {:?}, init {}",
        p.name,
        p.noise.map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
        p.stop
            .map(|s| s.to_string())
            .unwrap_or_else(|| "test error".into()),
        p.grid.len(),
        p.grid
            .iter()
            .map(|a| format!("{a:.3e}"))
            .collect::<Vec<_>>()
            .join(", "),
        p.max_iterations,
        p.counting,
        p.init
    );
    say!(
        "   target: {} <= {:e}; factorization of all batches {:.3} s; {} seed(s); exact counts cost {} replayed steps",
        exp.metric,
        exp.target,
        exp.factorization_seconds,
        exp.seeds(),
        exp.replayed_steps()
    );
    if exp.seeds() > 1 {
        say!(
            "   {:<10} {:>11} {:>9} {:>16} {:>7} {:>7}",
            "method",
            "alpha",
            "reached",
            "iters mean±std",
            "min",
            "max"
        );
        for s in &exp.summary {
            let opt = |v: Option<usize>| v.map(|k| k.to_string()).unwrap_or_else(|| "-".into());
            let ms = if s.converged > 0 {
                format!("{:.1} ± {:.1}", s.mean, s.std)
            } else if s.diverged > 0 {
                "diverged".into()
            } else {
                "-".into()
            };
            say!(
                "   {:<10} {:>11.3e} {:>9} {:>16} {:>7} {:>7}",
                s.method,
                s.alpha,
                format!("{}/{}", s.converged, s.runs),
                ms,
                opt(s.min),
                opt(s.max)
            );
        }
    } else {
        say!(
            "   {:<10} {:>11} {:>10} {:>9} {:>10} {:>12}",
            "method",
            "alpha",
            "result",
            "iters",
            "seconds",
            "us/iter"
        );
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
            );
        }
    }
    for method in ["sgd", "splitting"] {
        if let Some(b) = exp.best(method) {
            say!(
                "   best {method}: {:.1} iterations at alpha = {:.3e}",
                b.mean,
                b.alpha
            );
        }
    }
}
