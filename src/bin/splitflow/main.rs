//! The `splitflow` command-line interface (see DESIGN.md's CLI contract).
//!
//! Every reporting command accepts `--json` and then prints exactly one JSON
//! object on stdout. User errors print one line `error: …` on stderr and exit
//! with code 2.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::io::Write;

use clap::{Parser, Subcommand};
use splitflow::convergence::spec::OrderSpec;
use splitflow::{Error, Result};

#[derive(Parser)]
#[command(
    name = "splitflow",
    version,
    about = "Optimization algorithms as discretized ODEs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a convergence-order study described by a TOML file.
    Order {
        /// The study spec (TOML).
        spec: PathBuf,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Build a tomography test matrix (AIR Tools II line model) and summarise it.
    Tomography {
        /// fanlinear (the paper's fan beam) or parallel.
        #[arg(long, default_value = "fanlinear")]
        geometry: String,
        /// Image size N (N×N pixels).
        #[arg(long, default_value_t = 50)]
        n: usize,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Replicate the seed paper's experiments (SGD vs splitting over an α grid).
    Paper {
        /// Which experiment: lls, tomography, logistic, softmax or all.
        #[arg(long, default_value = "all")]
        experiment: String,
        /// Smaller problems and grids (under two minutes on 2 cores).
        #[arg(long)]
        quick: bool,
        /// Directory for the CSV results.
        #[arg(long, default_value = "paper-results")]
        out: PathBuf,
        /// Seed of data generation, permutations and initialisation.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Directory with MNIST IDX files (adds the paper's MNIST 0/1 logistic run).
        #[arg(long)]
        mnist: Option<PathBuf>,
        /// Directory with Fashion-MNIST IDX files (adds the paper's softmax run).
        #[arg(long)]
        fashion_mnist: Option<PathBuf>,
        /// Print one JSON object instead of tables.
        #[arg(long)]
        json: bool,
    },
}

/// `println!` that ignores a closed stdout (e.g. piped into `head`).
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| Error::Spec {
        message: format!("cannot serialise the result: {e}"),
        line: None,
    })
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Order { spec, json } => {
            let text = read(&spec)?;
            let outcome = OrderSpec::from_toml(&text)?.run()?;
            if json {
                say!("{}", to_json(&outcome)?);
            } else {
                say!("problem:   {}", outcome.problem);
                say!("method:    {}", outcome.method);
                say!("reference: {}", outcome.reference);
                say!("{}", outcome.report);
            }
        }
        Command::Tomography { geometry, n, json } => {
            use splitflow::problems::tomography::{Geometry, TomographyProblem};
            let g = Geometry::from_name(&geometry)?;
            let summary = TomographyProblem::new(g, n)?.summary();
            if json {
                say!("{}", to_json(&summary)?);
            } else {
                say!(
                    "{g}({n}): {} x {}, {} nonzeros, {} zero rows",
                    summary.rows,
                    summary.cols,
                    summary.nnz,
                    summary.zero_rows
                );
                say!(
                    "sum of entries {:.6}, Frobenius norm {:.6}",
                    summary.sum,
                    summary.frobenius
                );
                say!(
                    "phantom: sum {:.6}, {} nonzeros; |A * phantom| = {:.6}",
                    summary.phantom_sum,
                    summary.phantom_nnz,
                    summary.rhs_norm
                );
            }
        }
        Command::Paper {
            experiment,
            quick,
            out,
            seed,
            mnist,
            fashion_mnist,
            json,
        } => {
            let opts = splitflow::paper::PaperOptions {
                quick,
                seed,
                mnist,
                fashion_mnist,
            };
            paper(&experiment, &opts, &out, json)?
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

fn paper(
    experiment: &str,
    opts: &splitflow::paper::PaperOptions,
    out: &Path,
    json: bool,
) -> Result<()> {
    use splitflow::paper::{EXPERIMENTS, run};
    let names: Vec<&str> = match experiment {
        "all" => EXPERIMENTS.to_vec(),
        name if EXPERIMENTS.contains(&name) => vec![name],
        other => {
            return Err(Error::invalid(
                "--experiment",
                other,
                "unknown experiment (expected lls, tomography, logistic, softmax or all)",
            ));
        }
    };
    std::fs::create_dir_all(out).map_err(|source| Error::Io {
        path: out.display().to_string(),
        source,
    })?;
    let mut experiments = Vec::new();
    for name in names {
        let mut progress = |msg: &str| {
            if !json {
                eprintln!("  running {msg}");
            }
        };
        for exp in run(name, opts, &mut progress)? {
            let file = out.join(format!("{}.csv", exp.name.replace('/', "-")));
            write(&file, &exp.to_csv())?;
            if !json {
                print_experiment(&exp);
            }
            experiments.push(exp);
        }
    }
    if json {
        say!(
            "{}",
            to_json(&serde_json::json!({ "experiments": experiments }))?
        );
    } else {
        say!("CSV written to {}", out.display());
    }
    Ok(())
}

fn print_experiment(exp: &splitflow::paper::Experiment) {
    say!("\n== {}: {}", exp.name, exp.problem);
    say!(
        "   target: {} <= {:e}; factorization of all batches {:.3} s",
        exp.metric,
        exp.target,
        exp.factorization_seconds
    );
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
    for method in ["sgd", "splitting"] {
        if let Some(b) = exp.best(method) {
            say!(
                "   best {method}: {} iterations at alpha = {:.3e} ({:.3} s)",
                b.iterations.unwrap_or(0),
                b.alpha,
                b.seconds
            );
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                print!("{e}");
                return ExitCode::SUCCESS;
            }
            // One line: clap's message up to its usage section, lines joined.
            let text = e.to_string();
            let message: Vec<&str> = text
                .lines()
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            let joined = message.join(" ");
            let joined = joined.strip_prefix("error: ").unwrap_or(&joined);
            eprintln!("error: {joined}");
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.to_string().replace('\n', " "));
            ExitCode::from(2)
        }
    }
}
