//! The `splitflow` command-line interface (see DESIGN.md's CLI contract).
//!
//! Every reporting command accepts `--json` and then prints exactly one JSON
//! object on stdout. Errors print one line `error: …` on stderr and exit with
//! code 2 for usage errors (flags, specs, data; [`Error::is_usage_error`]) or
//! 1 for runtime failures (I/O, numerical failure). Long runs (`paper`,
//! `train`) show a progress bar on stderr when stderr is a terminal and
//! `--json` is not given.

mod explain;
mod io;
mod order;
mod paper;
mod progress;
mod train;
mod work_precision;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use splitflow::{Error, Result};

#[derive(Parser)]
#[command(
    name = "splitflow",
    version,
    about = "Optimization algorithms as discretized ODEs",
    arg_required_else_help = false
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a convergence-order study described by a TOML file (a work-precision
    /// study when its [study] has kind = "work_precision").
    Order(order::OrderArgs),
    /// Error against cost (f-evaluations, wall time) for several methods of a study spec.
    WorkPrecision(work_precision::WorkPrecisionArgs),
    /// Build a tomography test matrix (AIR Tools II line model) and summarise it.
    Tomography {
        /// The scanning geometry: the paper's fan beam, or parallel beams.
        #[arg(long, value_enum, default_value_t = GeometryArg::Fanlinear)]
        geometry: GeometryArg,
        /// Image size N (N×N pixels).
        #[arg(short, long, default_value_t = 50)]
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
    /// Print a shell completion script on stdout
    /// (e.g. `splitflow completions bash > ~/.local/share/bash-completion/completions/splitflow`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// The tomography geometries (`--geometry`).
#[derive(Clone, Copy, ValueEnum)]
enum GeometryArg {
    /// Fan beam with a linear detector (the paper's).
    Fanlinear,
    /// Parallel beams.
    Parallel,
}

/// Pretty JSON of a serialisable value.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| Error::Spec {
        message: format!("cannot serialise the result: {e}"),
        line: None,
    })
}

/// A plot request without the `plot` feature is a user error.
pub(crate) fn no_plot_feature() -> Error {
    Error::invalid(
        "--plot",
        "given",
        "this binary was built without the `plot` feature",
    )
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Order(args) => order::run(&args),
        Command::WorkPrecision(args) => work_precision::run(&args),
        Command::Tomography { geometry, n, json } => tomography(geometry, n, json),
        Command::Explain { spec, json } => explain::run(&spec, json),
        Command::Train(args) => train::run(&args),
        Command::Paper(args) => paper::run(args),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "splitflow", &mut script);
            io::bytes(&script)
        }
    }
}

fn tomography(geometry: GeometryArg, n: usize, json: bool) -> Result<()> {
    use splitflow::problems::tomography::{Geometry, TomographyProblem};
    let g = match geometry {
        GeometryArg::Fanlinear => Geometry::from_name("fanlinear")?,
        GeometryArg::Parallel => Geometry::from_name("parallel")?,
    };
    let summary = TomographyProblem::new(g, n)?.summary();
    if json {
        return say!("{}", to_json(&summary)?);
    }
    say!(
        "{g}({n}): {} x {}, {} nonzeros, {} zero rows",
        summary.rows,
        summary.cols,
        summary.nnz,
        summary.zero_rows
    )?;
    say!(
        "sum of entries {:.6}, Frobenius norm {:.6}",
        summary.sum,
        summary.frobenius
    )?;
    say!(
        "phantom: sum {:.6}, {} nonzeros; |A * phantom| = {:.6}",
        summary.phantom_sum,
        summary.phantom_nnz,
        summary.rhs_norm
    )
}

/// Prints a command-line parsing error: one `error: …` line on stderr, then
/// clap's usage when something is missing (a command or an argument).
/// Returns the exit code (0 for `--help` and `--version`, else 2).
fn parse_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        print!("{e}");
        return ExitCode::SUCCESS;
    }
    let text = e.to_string();
    let (message, usage): (Vec<&str>, Vec<&str>) = {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let message = lines
            .by_ref()
            .take_while(|l| !l.starts_with("Usage:"))
            .filter(|l| !l.starts_with("For more information"))
            .collect();
        let usage = text
            .lines()
            .map(str::trim)
            .skip_while(|l| !l.starts_with("Usage:"))
            .filter(|l| !l.is_empty())
            .collect();
        (message, usage)
    };
    let joined = message.join(" ");
    let joined = joined.strip_prefix("error: ").unwrap_or(&joined);
    eprintln!("error: {joined}");
    let missing = matches!(
        e.kind(),
        ErrorKind::MissingRequiredArgument
            | ErrorKind::MissingSubcommand
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    if missing {
        for l in usage {
            eprintln!("{l}");
        }
    }
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return parse_error(&e),
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if io::is_closed_stdout(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.to_string().replace('\n', " "));
            ExitCode::from(if e.is_usage_error() { 2 } else { 1 })
        }
    }
}
