//! The `splitflow` command-line interface (see DESIGN.md's CLI contract).
//!
//! Every reporting command accepts `--json` and then prints exactly one JSON
//! object on stdout. User errors print one line `error: …` on stderr and exit
//! with code 2.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
                println!("{}", to_json(&outcome)?);
            } else {
                println!("problem:   {}", outcome.problem);
                println!("method:    {}", outcome.method);
                println!("reference: {}", outcome.reference);
                println!("{}", outcome.report);
            }
        }
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
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("error: {first}");
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
