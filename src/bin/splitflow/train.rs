//! `splitflow train`: an optimizer spec on a classification data set
//! (logistic regression for 2 classes, softmax regression otherwise).

use std::path::{Path, PathBuf};

use clap::Args;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;
use splitflow::objective::FiniteSum;
use splitflow::optimizers::OptimizerSpec;
use splitflow::problems::data::{self, Dataset};
use splitflow::problems::{logistic, softmax};
use splitflow::splitting::PieceOrder;
use splitflow::train::{Budget, Cadence, Control, Executor, Outcome, Record, Termination};
use splitflow::{Error, Result, State};

use crate::{read, say, to_json, write};

/// Arguments of `splitflow train`.
#[derive(Args)]
pub(crate) struct TrainArgs {
    /// The optimizer spec (TOML or JSON).
    spec: PathBuf,
    /// Built-in data set (digits, digits01, wdbc) or a CSV file (features…, label).
    #[arg(long)]
    data: String,
    /// Rows per batch (consecutive rows; a last partial batch is kept).
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Passes over all batches.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Batch order: fixed (0, 1, …, m−1 every epoch) or shuffled (seeded, per epoch).
    #[arg(long, default_value = "shuffled")]
    order: String,
    /// Seed of the shuffling and of the uniform initialisation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Initial parameters: zeros, or uniform in [−1/√p, 1/√p) (seeded).
    #[arg(long, default_value = "zeros")]
    init: String,
    /// Evaluate the loss every this many steps (0: once per epoch).
    #[arg(long, default_value_t = 0)]
    eval_every: usize,
    /// Write the final parameters, one number per line (full precision).
    #[arg(long)]
    dump_params: Option<PathBuf>,
    /// Write the loss curve (SVG) to this file.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// The JSON report of a training run.
#[derive(Serialize)]
struct Report<'a> {
    optimizer: String,
    summary: String,
    derivation: String,
    data: &'a str,
    model: &'static str,
    n: usize,
    p: usize,
    classes: usize,
    parameters: usize,
    batch_size: usize,
    batches: usize,
    epochs: usize,
    order: &'a str,
    seed: u64,
    init: &'a str,
    iterations: usize,
    initial_loss: f64,
    final_loss: Option<f64>,
    train_error: f64,
    diverged: bool,
    termination: Termination,
    step_seconds: f64,
    eval_seconds: f64,
    history: HistoryReport<'a>,
}

/// The `"history"` object of the JSON report.
#[derive(Serialize)]
struct HistoryReport<'a> {
    records: &'a [Record],
    converged: bool,
    diverged: bool,
    iterations: usize,
    step_seconds: f64,
    eval_seconds: f64,
}

impl<'a> HistoryReport<'a> {
    fn new(out: &'a Outcome) -> Self {
        HistoryReport {
            records: &out.records,
            converged: out.converged(),
            diverged: out.diverged(),
            iterations: out.iterations,
            step_seconds: out.step_seconds,
            eval_seconds: out.eval_seconds,
        }
    }
}

fn load(name: &str) -> Result<Dataset> {
    if data::NAMES.contains(&name) {
        return data::named(name);
    }
    let path = Path::new(name);
    if !path.exists() {
        return Err(Error::invalid(
            "--data",
            format!("{name:?}"),
            &format!(
                "neither a built-in data set ({}) nor an existing file",
                data::NAMES.join(", ")
            ),
        ));
    }
    data::read_csv(path, &data::CsvOptions::default())
}

fn initial(init: &str, p: usize, seed: u64) -> Result<State> {
    match init {
        "zeros" => Ok(State::zeros(p)),
        "uniform" => {
            let mut rng = StdRng::seed_from_u64(seed);
            let r = 1.0 / (p as f64).sqrt();
            Ok(State::from_fn(p, |_, _| rng.random_range(-r..r)))
        }
        other => Err(Error::invalid(
            "--init",
            format!("{other:?}"),
            "expected zeros or uniform",
        )),
    }
}

/// A loaded problem: the finite sum and, for logistic regression, the 0/1
/// targets (the data set itself stays with the caller).
struct Problem {
    sum: Box<dyn FiniteSum>,
    model: &'static str,
    targets: Option<State>,
}

impl Problem {
    fn new(d: &Dataset, batch_size: usize) -> Result<Self> {
        if d.classes == 2 {
            let y = data::binary_targets(d)?;
            Ok(Problem {
                sum: Box::new(logistic::Logistic::new(&d.x, &y, batch_size)?),
                model: "logistic",
                targets: Some(y),
            })
        } else {
            Ok(Problem {
                sum: Box::new(softmax::Softmax::new(
                    &d.x, &d.labels, d.classes, batch_size,
                )?),
                model: "softmax",
                targets: None,
            })
        }
    }

    /// Training error of θ on `d` (the data set the problem was built from).
    fn error_rate(&self, d: &Dataset, theta: &State) -> f64 {
        match &self.targets {
            Some(y) => logistic::error_rate(theta, &d.x, y),
            None => softmax::error_rate(theta, &d.x, &d.labels, d.classes),
        }
    }
}

/// Runs `splitflow train`.
pub(crate) fn run(a: &TrainArgs) -> Result<()> {
    let spec = OptimizerSpec::parse(&read(&a.spec)?)?;
    let explanation = spec.explain()?;
    let mut optimizer = spec.build()?;
    let order = match a.order.as_str() {
        "fixed" => PieceOrder::Fixed,
        "shuffled" => PieceOrder::Shuffled { seed: a.seed },
        other => {
            return Err(Error::invalid(
                "--order",
                format!("{other:?}"),
                "expected fixed or shuffled",
            ));
        }
    };
    if a.epochs == 0 {
        return Err(Error::invalid("--epochs", 0, "must be at least 1"));
    }
    let d = load(&a.data)?;
    let problem = Problem::new(&d, a.batch_size)?;
    let sum = problem.sum.as_ref();
    let mut theta = initial(&a.init, sum.dim(), a.seed)?;
    let cadence = match a.eval_every {
        0 => Cadence::EveryEpoch,
        k => Cadence::Every(k),
    };
    let steps = (a.epochs * sum.num_batches()) as u64;
    let bar = crate::progress::bar(Some(steps), a.json);
    let mut progress = |now: &splitflow::train::Observation<'_>| {
        bar.set_position(now.iteration as u64);
        bar.set_message(format!("loss {:.4e}", now.latest.loss));
        Control::Continue
    };
    let history = Executor::new(Budget::Epochs(a.epochs))
        .order(order)
        .evaluate(cadence)
        .observe(cadence, &mut progress)
        .run_on_sum(optimizer.as_mut(), sum, &mut theta)?;
    bar.finish_and_clear();
    if let Some(path) = &a.dump_params {
        let text: String = theta.iter().map(|v| format!("{v:e}\n")).collect();
        write(path, &text)?;
    }
    if let Some(path) = &a.plot {
        #[cfg(feature = "plot")]
        {
            let curve: Vec<(f64, f64)> =
                history.records.iter().map(|r| (r.epoch, r.loss)).collect();
            splitflow::plot::loss_curves(
                &[(explanation.summary.clone(), curve)],
                "epoch",
                "training loss",
                true,
                &format!("{} on {} ({})", optimizer.name(), d.name, problem.model),
                path,
            )?;
        }
        #[cfg(not(feature = "plot"))]
        {
            let _ = path;
            return Err(crate::no_plot_feature());
        }
    }
    let train_error = problem.error_rate(&d, &theta);
    if a.json {
        let report = Report {
            optimizer: optimizer.name().to_string(),
            summary: explanation.summary.clone(),
            derivation: explanation.derivation.clone(),
            data: &d.name,
            model: problem.model,
            n: d.n(),
            p: d.p(),
            classes: d.classes,
            parameters: sum.dim(),
            batch_size: a.batch_size,
            batches: sum.num_batches(),
            epochs: a.epochs,
            order: &a.order,
            seed: a.seed,
            init: &a.init,
            iterations: history.iterations,
            initial_loss: history.initial_loss,
            final_loss: Some(history.final_loss),
            train_error,
            diverged: history.diverged(),
            termination: history.termination,
            step_seconds: history.step_seconds,
            eval_seconds: history.eval_seconds,
            history: HistoryReport::new(&history),
        };
        say!("{}", to_json(&report)?);
        return Ok(());
    }
    say!("{}", explanation.summary);
    say!("  = {}", explanation.derivation);
    say!(
        "{} regression on {} ({} rows, {} features, {} classes), {} batches of {} rows, order {}",
        problem.model,
        d.name,
        d.n(),
        d.p(),
        d.classes,
        sum.num_batches(),
        a.batch_size,
        a.order
    );
    say!(
        "{:>8} {:>10} {:>14} {:>10}",
        "epoch",
        "iteration",
        "loss",
        "seconds"
    );
    for r in &history.records {
        say!(
            "{:>8.2} {:>10} {:>14.6e} {:>10.4}",
            r.epoch,
            r.iteration,
            r.loss,
            r.seconds
        );
    }
    if let Termination::Diverged(reason) = history.termination {
        say!(
            "diverged after {} iterations ({reason})",
            history.iterations
        );
    }
    say!(
        "training error {:.2} %; {:.3} s in steps, {:.3} s in loss evaluations",
        100.0 * train_error,
        history.step_seconds,
        history.eval_seconds
    );
    if let Some(path) = &a.dump_params {
        say!("parameters written to {}", path.display());
    }
    if let Some(path) = &a.plot {
        say!("loss curve written to {}", path.display());
    }
    Ok(())
}
