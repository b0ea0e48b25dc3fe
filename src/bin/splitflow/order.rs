//! `splitflow order`: a convergence-order study from a TOML spec (or the
//! work-precision study of a spec with `[study] kind = "work_precision"`).

use std::path::{Path, PathBuf};

use clap::Args;
use splitflow::convergence::measure::ErrorMeasure;
use splitflow::convergence::spec::{OrderOutcome, OrderSpec, StudyKind};
use splitflow::optimizers::{Optimizer, OptimizerSpec, OrderObjective, order_study};
use splitflow::{Error, Result};

use crate::io::{say_written, study_input, write};
use crate::{say, to_json};

/// Arguments of `splitflow order`.
#[derive(Args)]
pub(crate) struct OrderArgs {
    /// The study spec (TOML).
    spec: PathBuf,
    /// Write a log-log convergence plot (SVG) to this file, and its data to
    /// the same name with extension .csv.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Write the study table as CSV (steps, h, error, local_order, excluded;
    /// a work-precision spec: method, steps, tol, error, f_evals, seconds).
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Optimizer specs: the test objective, quadratic (½Σλᵢxᵢ², x₀ = ones) or rosenbrock (x₀ = (−1.2, 1)).
    #[arg(long, default_value = "quadratic")]
    objective: String,
    /// Optimizer specs, quadratic objective: the eigenvalues λᵢ.
    #[arg(long, value_delimiter = ',', default_value = "1,10")]
    eigenvalues: Vec<f64>,
    /// Optimizer specs: the ODE time T = n·h.
    #[arg(long, default_value_t = 1.0)]
    t_end: f64,
    /// Optimizer specs: the step counts n.
    #[arg(long, value_delimiter = ',', default_value = "32,64,128,256")]
    steps: Vec<usize>,
}

impl OrderArgs {
    fn optimizer_study(&self) -> OptimizerStudy {
        OptimizerStudy {
            objective: self.objective.clone(),
            eigenvalues: self.eigenvalues.clone(),
            t_end: self.t_end,
            steps: self.steps.clone(),
        }
    }
}

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
        reference_error: None,
        error_measure: ErrorMeasure::final_time(s.t_end),
        richardson_orders: Vec::new(),
        report,
        unstable: Vec::new(),
        seeds: None,
    })
}

/// Runs the study, prints a table or JSON, and optionally plots it.
pub(crate) fn run(a: &OrderArgs) -> Result<()> {
    let (text, plot_csv) = study_input(&a.spec, a.plot.as_deref(), a.csv.as_deref())?;
    let outcome = match OptimizerSpec::parse(&text) {
        Ok(opt) => optimizer_outcome(&opt, &a.optimizer_study())?,
        Err(_) => {
            let spec = OrderSpec::from_toml(&text)?;
            if spec.kind() == StudyKind::WorkPrecision {
                return crate::work_precision::report(
                    &spec,
                    a.csv.as_deref(),
                    plot_csv.as_ref(),
                    a.json,
                );
            }
            if let splitflow::convergence::spec::Methods::Many(_) = &spec.method {
                return run_many(a, &spec, plot_csv.as_ref());
            }
            spec.run()?
        }
    };
    if let Some(path) = &a.csv {
        write(path, &outcome.report.to_csv())?;
    }
    if let Some((path, csv)) = &plot_csv {
        write(csv, &outcome.report.to_csv())?;
        #[cfg(feature = "plot")]
        splitflow::plot::convergence_plot(
            &outcome.report,
            &format!("{} — {}", outcome.method, outcome.problem),
            path,
        )?;
        #[cfg(not(feature = "plot"))]
        let _ = path;
    }
    if a.json {
        return say!("{}", to_json(&outcome)?);
    }
    say!("problem:   {}", outcome.problem)?;
    say!("method:    {}", outcome.method)?;
    say!("reference: {}", outcome.reference)?;
    say!("error:     {}", outcome.error_measure.describe())?;
    say!("{}", outcome.report)?;
    say_checks(&outcome)?;
    say_written(a.csv.as_deref(), plot_csv.as_ref())?;
    Ok(())
}

/// A `[[method]]` spec: one table per method, `{"methods": [...]}` in JSON,
/// one CSV with a leading `method` column, and the plot of every method
/// overlaid.
fn run_many(a: &OrderArgs, spec: &OrderSpec, plot_csv: Option<&(&Path, PathBuf)>) -> Result<()> {
    let outcomes = spec.run_all()?;
    let csv = || {
        let mut s = String::new();
        for (i, o) in outcomes.iter().enumerate() {
            for (k, line) in o.report.to_csv().lines().enumerate() {
                match (i, k) {
                    (0, 0) => s += &format!("method,{line}\n"),
                    (_, 0) => {}
                    _ => s += &format!("\"{}\",{line}\n", o.method.replace('"', "\"\"")),
                }
            }
        }
        s
    };
    if let Some(path) = &a.csv {
        write(path, &csv())?;
    }
    if let Some((path, data)) = plot_csv {
        write(data, &csv())?;
        #[cfg(feature = "plot")]
        {
            let reports: Vec<(&str, &splitflow::ConvergenceReport)> = outcomes
                .iter()
                .map(|o| (o.method.as_str(), &o.report))
                .collect();
            splitflow::plot::convergence_overlay_plot(&reports, &outcomes[0].problem, path)?;
        }
        #[cfg(not(feature = "plot"))]
        let _ = path;
    }
    if a.json {
        return say!("{}", to_json(&serde_json::json!({ "methods": outcomes }))?);
    }
    say!("problem:   {}", outcomes[0].problem)?;
    say!("reference: {}", outcomes[0].reference)?;
    say!("error:     {}", outcomes[0].error_measure.describe())?;
    for o in &outcomes {
        say!("\nmethod:    {}", o.method)?;
        say!("{}", o.report)?;
        say_checks(o)?;
    }
    say_summary(&outcomes)?;
    say_written(a.csv.as_deref(), plot_csv)?;
    Ok(())
}

/// The methods side by side: fitted order and error constant `C` of
/// `error ≈ C·h^p` (the constants compare methods of the same order).
fn say_summary(outcomes: &[OrderOutcome]) -> Result<()> {
    let width = outcomes
        .iter()
        .map(|o| o.method.chars().count())
        .max()
        .unwrap_or(0)
        .max("method".len());
    say!("\nsummary (error ≈ C·h^p over the fitted levels):")?;
    say!(
        "{:<width$}  {:>8}  {:>12}",
        "method",
        "order p",
        "constant C"
    )?;
    for o in outcomes {
        say!(
            "{:<width$}  {:>8.3}  {:>12.4e}",
            o.method,
            o.report.fitted_order,
            o.report.error_constant
        )?;
    }
    Ok(())
}

/// The lines after a report: the seed averaging, unstable levels, and the reference-free
/// (Richardson) orders as a check on the reference.
fn say_checks(o: &OrderOutcome) -> Result<()> {
    if let Some(n) = o.seeds {
        say!("seeds:     every level's error is the RMS over {n} seeds")?;
    }
    for u in &o.unstable {
        say_unstable(u)?;
    }
    if !o.richardson_orders.is_empty() {
        let orders: Vec<String> = o
            .richardson_orders
            .iter()
            .map(|p| format!("{p:.3}"))
            .collect();
        say!("reference-free (Richardson) orders: {}", orders.join(", "))?;
    }
    Ok(())
}

/// One line for a level that blew up (left out of the fit).
fn say_unstable(u: &splitflow::convergence::spec::UnstableLevel) -> Result<()> {
    say!(
        "unstable:  level {} ({} steps) blew up at t = {}",
        u.level,
        u.steps,
        u.t
    )
}
