//! `splitflow order`: a convergence-order study from a TOML spec.

use std::path::Path;

use splitflow::convergence::spec::{OrderOutcome, OrderSpec};
use splitflow::optimizers::{Optimizer, OptimizerSpec, OrderObjective, order_study};
use splitflow::{Error, Result};

use crate::{read, say, to_json};

/// The flags of an order study of an optimizer spec.
pub(crate) struct OptimizerStudy {
    /// `quadratic` or `rosenbrock`.
    pub objective: String,
    /// Eigenvalues of the quadratic.
    pub eigenvalues: Vec<f64>,
    /// ODE time T.
    pub t_end: f64,
    /// Step counts.
    pub steps: Vec<usize>,
}

/// The order of an ODE-form optimizer spec as an integrator of its flow.
fn optimizer_outcome(spec: &OptimizerSpec, s: &OptimizerStudy) -> Result<OrderOutcome> {
    let objective = match s.objective.as_str() {
        "quadratic" => OrderObjective::quadratic(&s.eigenvalues)?,
        "rosenbrock" => OrderObjective::rosenbrock(),
        other => {
            return Err(Error::invalid(
                "--objective",
                other,
                "expected quadratic or rosenbrock",
            ));
        }
    };
    let first = spec.generated(None)?;
    let report = order_study(|h| spec.generated(Some(h)), &objective, s.t_end, &s.steps)?;
    Ok(OrderOutcome {
        problem: objective.label().to_string(),
        method: first.derivation(),
        reference: "the optimizer's flow by adaptive Dormand–Prince (rtol = atol = 1e-13)".into(),
        report,
    })
}

/// Runs the study, prints a table or JSON, and optionally plots it.
pub(crate) fn run(
    spec: &Path,
    plot: Option<&Path>,
    json: bool,
    study: &OptimizerStudy,
) -> Result<()> {
    let text = read(spec)?;
    let outcome = match OptimizerSpec::parse(&text) {
        Ok(opt) => optimizer_outcome(&opt, study)?,
        Err(_) => OrderSpec::from_toml(&text)?.run()?,
    };
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
