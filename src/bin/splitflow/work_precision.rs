//! `splitflow work-precision`: error against cost for several methods, from
//! a study spec (also run by `splitflow order` for a spec with `[study]
//! kind = "work_precision"`).

use std::path::{Path, PathBuf};

use clap::Args;
use splitflow::Result;
use splitflow::convergence::spec::OrderSpec;

use crate::io::{say_written, study_input, write};
use crate::{say, to_json};

/// Arguments of `splitflow work-precision`.
#[derive(Args)]
pub(crate) struct WorkPrecisionArgs {
    /// The study spec (TOML, as for `order`; methods may carry `tols`).
    spec: PathBuf,
    /// Write the table as CSV (method, steps, tol, error, f_evals, seconds).
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Write the work-precision diagram (SVG: right-hand-side evaluations
    /// against error) to this file, and its data to FILE.csv beside it.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs the study and prints a table or JSON; writes the CSV and the diagram.
pub(crate) fn run(a: &WorkPrecisionArgs) -> Result<()> {
    let (text, plot_csv) = study_input(&a.spec, a.plot.as_deref(), a.csv.as_deref())?;
    let spec = OrderSpec::from_toml(&text)?;
    report(&spec, a.csv.as_deref(), plot_csv.as_ref(), a.json)
}

/// Runs the work-precision study of `spec` and reports it: the table or
/// JSON on stdout, the CSV to `csv`, the diagram and its data to
/// `plot_csv` (output paths already checked). Also the route of `splitflow
/// order` for a spec with `[study] kind = "work_precision"`.
pub(crate) fn report(
    spec: &OrderSpec,
    csv_path: Option<&Path>,
    plot_csv: Option<&(&Path, PathBuf)>,
    json: bool,
) -> Result<()> {
    let report = spec.work_precision()?;
    let csv = report.to_csv();
    if let Some(path) = csv_path {
        write(path, &csv)?;
    }
    if let Some((path, data)) = plot_csv {
        write(data, &csv)?;
        #[cfg(feature = "plot")]
        splitflow::plot::work_precision_plot(
            &report.error_vs_evals(),
            "right-hand-side evaluations",
            &format!("Work-precision — {}", report.problem),
            path,
        )?;
        #[cfg(not(feature = "plot"))]
        let _ = path;
    }
    if json {
        return say!("{}", to_json(&report)?);
    }
    say!("{report}")?;
    say_written(csv_path, plot_csv)?;
    Ok(())
}
