//! The `splitflow` command-line interface (see DESIGN.md's CLI contract).
//!
//! Every reporting command accepts `--json` and then prints exactly one JSON
//! object on stdout. User errors print one line `error: …` on stderr and exit
//! with code 2. Long runs (`paper`, `train`) show a progress bar on stderr
//! when stderr is a terminal and `--json` is not given.

mod explain;
mod order;
mod paper;
mod progress;
mod train;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
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
        /// Write a log-log convergence plot (SVG) to this file.
        #[arg(long)]
        plot: Option<PathBuf>,
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
    /// Show an optimizer spec in both forms: textbook update and ODE + scheme.
    Explain {
        /// The optimizer spec (TOML or JSON).
        spec: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Train a logistic (2 classes) or softmax model with an optimizer spec.
    Train(train::TrainArgs),
    /// Replicate the seed paper's experiments (SGD vs splitting over an α grid).
    Paper(paper::PaperArgs),
}

/// `println!` that ignores a closed stdout (e.g. piped into `head`).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Reads a text file, mapping failures to [`Error::Io`].
pub(crate) fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Writes a text file, mapping failures to [`Error::Io`].
pub(crate) fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Pretty JSON of a serialisable value.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| Error::Spec {
        message: format!("cannot serialise the result: {e}"),
        line: None,
    })
}

/// A plot request without the `plot` feature is a user error.
#[cfg(not(feature = "plot"))]
pub(crate) fn no_plot_feature() -> Error {
    Error::invalid(
        "--plot",
        "given",
        "this binary was built without the `plot` feature",
    )
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Order { spec, plot, json } => order::run(&spec, plot.as_deref(), json),
        Command::Tomography { geometry, n, json } => tomography(&geometry, n, json),
        Command::Explain { spec, json } => explain::run(&spec, json),
        Command::Train(args) => train::run(&args),
        Command::Paper(args) => paper::run(args),
    }
}

fn tomography(geometry: &str, n: usize, json: bool) -> Result<()> {
    use splitflow::problems::tomography::{Geometry, TomographyProblem};
    let g = Geometry::from_name(geometry)?;
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
    Ok(())
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
