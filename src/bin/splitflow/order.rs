//! `splitflow order`: a convergence-order study from a TOML spec.

use std::path::Path;

use splitflow::Result;
use splitflow::convergence::spec::OrderSpec;

use crate::{read, say, to_json};

/// Runs the study, prints a table or JSON, and optionally plots it.
pub(crate) fn run(spec: &Path, plot: Option<&Path>, json: bool) -> Result<()> {
    let text = read(spec)?;
    let outcome = OrderSpec::from_toml(&text)?.run()?;
    if let Some(path) = plot {
        #[cfg(feature = "plot")]
        splitflow::plot::convergence_plot(
            &outcome.report,
            &format!("{} — {}", outcome.method, outcome.problem),
            path,
        )?;
        #[cfg(not(feature = "plot"))]
        {
            let _ = path;
            return Err(crate::no_plot_feature());
        }
    }
    if json {
        say!("{}", to_json(&outcome)?);
    } else {
        say!("problem:   {}", outcome.problem);
        say!("method:    {}", outcome.method);
        say!("reference: {}", outcome.reference);
        say!("{}", outcome.report);
        if let Some(path) = plot {
            say!("plot written to {}", path.display());
        }
    }
    Ok(())
}
