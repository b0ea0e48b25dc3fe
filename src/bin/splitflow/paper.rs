//! `splitflow paper`: the seed paper's experiments, tables, CSV and plots;
//! `splitflow paper merge`: shards of a sweep combined into one report.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use splitflow::paper::{
    Experiment, PaperOptions, Protocol, ProtocolName, Report, Shard, ShardFile, Stop,
};
use splitflow::{Error, Result};

use crate::io::{check_input_dir, check_output_dir, read_input, write};
use crate::{say, to_json};

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
    /// Which experiment.
    #[arg(long, value_enum, default_value_t = ExperimentArg::All)]
    experiment: ExperimentArg,
    /// Smaller problems and grids (under two minutes on 2 cores).
    #[arg(long)]
    quick: bool,
    /// Directory for the CSV results (and SVG plots, each with its data as CSV).
    #[arg(short, long, value_name = "DIR", default_value = "paper-results")]
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

/// A parsed `--grid` (a newtype: clap reads a bare `Vec` as repeated values).
#[derive(Debug, Clone)]
struct Grid(Vec<f64>);

/// The experiments (`--experiment`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
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

#[derive(Debug, Subcommand)]
enum PaperAction {
    /// Combine the shard files of one sweep into its tables, CSV and plots.
    Merge {
        /// The shard files (OUT/shard-k-of-n.json).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Directory for the CSV results (and SVG plots, each with its data as CSV).
        #[arg(short, long, value_name = "DIR", default_value = "paper-results")]
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
    let names = args.experiment.names();
    check_idx_dir("--mnist", opts.mnist.as_deref(), "logistic", &names)?;
    check_idx_dir(
        "--fashion-mnist",
        opts.fashion_mnist.as_deref(),
        "softmax",
        &names,
    )?;
    opts.validate()?;
    check_output_dir("--out", &args.out)?;
    let selection: Vec<String> = names.iter().map(|n| n.to_string()).collect();
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

/// `paper merge`: shard files into one report.
fn merge(files: &[PathBuf], out: &Path, json: bool) -> Result<()> {
    check_output_dir("--out", out)?;
    let mut shards = Vec::new();
    for f in files {
        let text = read_input("FILES", f)?;
        let file: ShardFile = serde_json::from_str(&text).map_err(|e| Error::Spec {
            message: format!("{}: not a paper shard file: {e}", f.display()),
            line: Some(e.line()),
        })?;
        shards.push(file.into_report());
    }
    let report = splitflow::paper::merge(shards)?;
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
            print_experiment(exp)?;
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
        )?;
    } else {
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

/// Iterations-to-target and time-to-target versus α, and the metric
/// histories (of the first seed), as SVG, each with its data beside it as
/// CSV (the runs table; the time summary; the plotted points).
#[cfg(feature = "plot")]
fn plots(exp: &Experiment, out: &Path, stem: &str) -> Result<()> {
    use splitflow::plot::{Quantity, sweep_vs_alpha};
    write(&out.join(format!("{stem}-iterations.csv")), &exp.to_csv())?;
    let sweep = sweep(exp);
    sweep_vs_alpha(
        &sweep,
        Quantity::Iterations,
        &out.join(format!("{stem}-iterations.svg")),
    )?;
    write(&out.join(format!("{stem}-time.csv")), &exp.time_csv())?;
    sweep_vs_alpha(
        &sweep,
        Quantity::Seconds,
        &out.join(format!("{stem}-time.svg")),
    )?;
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

/// The experiment's runs as the plot module's learning-rate sweep: one
/// point per (method, α), with the mean ± std band over seeds when there
/// are several, for the iterations and for the time to target.
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
                    seconds: (s.converged > 0 && s.seconds_mean.is_finite()).then_some(
                        splitflow::plot::Spread {
                            mean: s.seconds_mean,
                            std: s.seconds_std,
                        },
                    ),
                }
            })
            .collect(),
    }
}

/// Prints an experiment: its protocol, a table of its runs (or of the
/// per-(method, α) summaries over several seeds), each method's best α and
/// the time to target.
pub(crate) fn print_experiment(exp: &Experiment) -> Result<()> {
    print_protocol(exp)?;
    if exp.seeds() > 1 {
        print_summaries(exp)?;
    } else {
        print_runs(exp)?;
    }
    for method in ["sgd", "splitting"] {
        if let Some(b) = exp.best(method) {
            say!(
                "   best {method}: {:.1} iterations at alpha = {:.3e}",
                b.mean,
                b.alpha
            )?;
        }
    }
    print_time_to_target(exp)
}

/// The experiment's heading: problem, protocol and target.
fn print_protocol(exp: &Experiment) -> Result<()> {
    let p = &exp.protocol;
    say!("\n== {}: {}", exp.name, exp.problem)?;
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
    )?;
    say!(
        "   target: {} <= {:e}; factorization of all batches {:.3} s; {} seed(s); exact counts cost {} replayed steps",
        exp.metric,
        exp.target,
        exp.factorization_seconds,
        exp.seeds(),
        exp.replayed_steps()
    )
}

/// Several seeds: per (method, α), how many runs reached the target and
/// their iterations (mean ± std, min, max).
fn print_summaries(exp: &Experiment) -> Result<()> {
    say!(
        "   {:<10} {:>11} {:>9} {:>16} {:>7} {:>7}",
        "method",
        "alpha",
        "reached",
        "iters mean±std",
        "min",
        "max"
    )?;
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
        )?;
    }
    Ok(())
}

/// One seed: every run with its result, iterations and time.
fn print_runs(exp: &Experiment) -> Result<()> {
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
    Ok(())
}

/// Each method's best time to target, its step and stop-rule parts, and
/// the SGD/splitting ratios.
fn print_time_to_target(exp: &Experiment) -> Result<()> {
    let t = &exp.time_to_target;
    if t.best.is_empty() {
        return Ok(());
    }
    // The cost of one stop-rule check, over every run.
    let (eval, checks) = exp
        .runs
        .iter()
        .fold((0.0, 0), |(s, n), r| (s + r.eval_seconds, n + r.checks));
    say!(
        "   time to target (mean over converged seeds; stop rule {} checks at {:.1} us each):",
        checks,
        if checks > 0 {
            1e6 * eval / checks as f64
        } else {
            0.0
        }
    )?;
    // Four significant digits, from seconds down to microseconds.
    let secs = |t: f64| {
        if t >= 1e-2 {
            format!("{t:.4} s")
        } else {
            format!("{t:.3e} s")
        }
    };
    for b in &t.best {
        say!(
            "   best {:<9} {} at alpha = {:.3e} (steps {} + stop rule {}); steps alone {} at alpha = {:.3e}",
            format!("{}:", b.method),
            secs(b.seconds),
            b.alpha,
            secs(b.step_seconds),
            secs(b.eval_seconds),
            secs(b.best_step_seconds),
            b.step_alpha
        )?;
    }
    if let (Some(r), Some(q)) = (t.sgd_over_splitting, t.step_sgd_over_splitting) {
        say!("   time ratio sgd / splitting: {r:.3} (steps alone {q:.3})")?;
    }
    Ok(())
}
