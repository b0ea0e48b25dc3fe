//! `splitflow paper`: the seed paper's experiments, tables, CSV and plots.

use std::path::Path;

use splitflow::{Error, Result};

use crate::{say, to_json, write};

pub(crate) fn paper(
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
    let bar = crate::progress::bar(None, json);
    for name in names {
        let mut progress = |msg: &str| bar.set_message(format!("running {msg}"));
        for exp in run(name, opts, &mut progress)? {
            let stem = exp.name.replace('/', "-");
            write(&out.join(format!("{stem}.csv")), &exp.to_csv())?;
            #[cfg(feature = "plot")]
            plots(&exp, out, &stem)?;
            if !json {
                bar.suspend(|| print_experiment(&exp));
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
        bar.finish_and_clear();
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

/// Iterations-to-target versus α, and the metric histories, as SVG.
#[cfg(feature = "plot")]
fn plots(exp: &splitflow::paper::Experiment, out: &Path, stem: &str) -> Result<()> {
    splitflow::plot::iterations_vs_alpha(&sweep(exp), &out.join(format!("{stem}-iterations.svg")))?;
    // Diverging runs are drawn up to 100× the largest starting value, so
    // they do not stretch the axis over the converging ones.
    let start = exp
        .histories
        .iter()
        .filter_map(|(_, _, h)| h.first().map(|&(_, v)| v))
        .fold(0.0f64, f64::max);
    let cap = 100.0 * start;
    let series: Vec<(String, Vec<(f64, f64)>)> = exp
        .histories
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

/// The experiment's runs as the plot module's learning-rate sweep.
#[cfg(feature = "plot")]
fn sweep(exp: &splitflow::paper::Experiment) -> splitflow::plot::Sweep {
    splitflow::plot::Sweep {
        name: exp.name.clone(),
        metric: exp.metric.clone(),
        target: exp.target,
        runs: exp
            .runs
            .iter()
            .map(|r| splitflow::plot::SweepRun {
                method: r.method.clone(),
                alpha: r.alpha,
                reached: r.converged.then_some(r.iterations).flatten(),
                diverged: r.diverged,
                iterations_run: r.iterations_run,
            })
            .collect(),
    }
}

pub(crate) fn print_experiment(exp: &splitflow::paper::Experiment) {
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
