//! `splitflow train`: an optimizer spec on a classification data set
//! (logistic regression for 2 classes, softmax regression otherwise).

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use rand::RngExt;
use serde::Serialize;
use splitflow::objective::FiniteSum;
use splitflow::optimizers::{Explanation, Optimizer, OptimizerSpec};
use splitflow::problems::data::{self, Dataset};
use splitflow::problems::{logistic, softmax};
use splitflow::splitting::PieceOrder;
use splitflow::train::{Budget, Cadence, Control, Executor, Outcome, Record, Termination};
use splitflow::{Error, Result, State};

use crate::io::{check_output_file, check_plot_output, read_input, write};
use crate::{say, to_json};

/// Arguments of `splitflow train`.
#[derive(Args)]
pub(crate) struct TrainArgs {
    /// The optimizer spec (TOML or JSON).
    spec: PathBuf,
    /// Built-in data set (digits, digits01, wdbc) or a CSV file (features…, label).
    #[arg(short, long, value_name = "NAME|FILE")]
    data: String,
    /// The CSV file's first line is a header (skipped).
    #[arg(long)]
    header: bool,
    /// The CSV file's field delimiter (one ASCII character, e.g. ';' or '\t').
    #[arg(long, default_value_t = ',')]
    delimiter: char,
    /// Rows per batch (consecutive rows; a last partial batch is kept).
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Passes over all batches.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Batch order.
    #[arg(long, value_enum, default_value_t = OrderArg::Shuffled)]
    order: OrderArg,
    /// Seed of the shuffling and of the uniform initialisation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Initial parameters.
    #[arg(long, value_enum, default_value_t = InitArg::Zeros)]
    init: InitArg,
    /// Evaluate the loss every this many steps (0: once per epoch).
    #[arg(long, default_value_t = 0)]
    eval_every: usize,
    /// Write the final parameters, one number per line (full precision).
    #[arg(long, value_name = "FILE")]
    dump_params: Option<PathBuf>,
    /// Write the loss curve (SVG) to this file, and its data to the same
    /// name with extension .csv.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// The batch orders (`--order`).
#[derive(Clone, Copy, ValueEnum)]
enum OrderArg {
    /// Batches 0, 1, …, m−1 in that order every epoch.
    Fixed,
    /// A seeded permutation of the batches per epoch.
    Shuffled,
}

impl OrderArg {
    fn name(self) -> &'static str {
        match self {
            OrderArg::Fixed => "fixed",
            OrderArg::Shuffled => "shuffled",
        }
    }
}

/// The initialisations (`--init`).
#[derive(Clone, Copy, ValueEnum)]
enum InitArg {
    /// θ = 0.
    Zeros,
    /// Uniform in [−1/√p, 1/√p), seeded by `--seed`.
    Uniform,
}

impl InitArg {
    fn name(self) -> &'static str {
        match self {
            InitArg::Zeros => "zeros",
            InitArg::Uniform => "uniform",
        }
    }
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
    order: &'static str,
    seed: u64,
    init: &'static str,
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

fn load(name: &str, csv: &data::CsvOptions) -> Result<Dataset> {
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
    data::read_csv(path, csv)
}

fn initial(init: InitArg, p: usize, seed: u64) -> State {
    match init {
        InitArg::Zeros => State::zeros(p),
        InitArg::Uniform => {
            let mut rng = splitflow::random::seeded_rng(seed);
            let r = 1.0 / (p as f64).sqrt();
            State::from_fn(p, |_, _| rng.random_range(-r..r))
        }
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
    let spec = OptimizerSpec::parse(&read_input("SPEC", &a.spec)?)?;
    let explanation = spec.explain()?;
    let mut optimizer = spec.build()?;
    check_run_args(a)?;
    let plot_csv = check_plot_output(a.plot.as_deref())?;
    let d = load_data(a)?;
    let problem = Problem::new(&d, a.batch_size)?;
    let sum = problem.sum.as_ref();
    let mut theta = initial(a.init, sum.dim(), a.seed);
    let history = train(a, optimizer.as_mut(), sum, &mut theta)?;
    if let Some(path) = &a.dump_params {
        let text: String = theta.iter().map(|v| format!("{v:e}\n")).collect();
        write(path, &text)?;
    }
    let trained = Trained {
        args: a,
        optimizer: optimizer.name(),
        explanation: &explanation,
        data: &d,
        problem: &problem,
        history: &history,
        train_error: problem.error_rate(&d, &theta),
    };
    if let Some((path, csv)) = &plot_csv {
        write_loss_plot(&trained, path, csv)?;
    }
    if a.json {
        return say!("{}", to_json(&trained.report())?);
    }
    print_table(&trained)?;
    if let Some(path) = &a.dump_params {
        say!("parameters written to {}", path.display())?;
    }
    if let Some((path, csv)) = &plot_csv {
        say!(
            "loss curve written to {} (data in {})",
            path.display(),
            csv.display()
        )?;
    }
    Ok(())
}

/// Checks the arguments that need no file: at least one epoch, and a
/// writable `--dump-params` file.
fn check_run_args(a: &TrainArgs) -> Result<()> {
    if a.epochs == 0 {
        return Err(Error::invalid("--epochs", 0, "must be at least 1"));
    }
    if let Some(path) = &a.dump_params {
        check_output_file("--dump-params", path)?;
    }
    Ok(())
}

/// Loads `--data` (the CSV options apply only to a CSV file).
fn load_data(a: &TrainArgs) -> Result<Dataset> {
    let csv = data::CsvOptions {
        header: a.header,
        delimiter: a.delimiter,
    };
    if data::NAMES.contains(&a.data.as_str()) && csv != data::CsvOptions::default() {
        return Err(Error::invalid(
            "--header/--delimiter",
            &a.data,
            "apply only to a CSV file, not to a built-in data set",
        ));
    }
    load(&a.data, &csv)
}

/// Trains θ for `--epochs` epochs in the batch order of `--order`,
/// evaluating the loss at the cadence of `--eval-every`, with a progress
/// bar (hidden with `--json`).
fn train(
    a: &TrainArgs,
    optimizer: &mut dyn Optimizer,
    sum: &dyn FiniteSum,
    theta: &mut State,
) -> Result<Outcome> {
    let order = match a.order {
        OrderArg::Fixed => PieceOrder::Fixed,
        OrderArg::Shuffled => PieceOrder::Shuffled { seed: a.seed },
    };
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
        .run_on_sum(optimizer, sum, theta)?;
    bar.finish_and_clear();
    Ok(history)
}

/// What a training run produced, for its reports.
struct Trained<'a> {
    args: &'a TrainArgs,
    optimizer: &'a str,
    explanation: &'a Explanation,
    data: &'a Dataset,
    problem: &'a Problem,
    history: &'a Outcome,
    /// Training error of the final θ.
    train_error: f64,
}

/// Writes the loss history as CSV to `csv` and its plot to `path`.
fn write_loss_plot(t: &Trained<'_>, path: &Path, csv: &Path) -> Result<()> {
    write(csv, &t.history.to_csv())?;
    #[cfg(feature = "plot")]
    splitflow::plot::loss_curves(
        &[(
            t.explanation.summary.clone(),
            t.history
                .records
                .iter()
                .map(|r| (r.epoch, r.loss))
                .collect(),
        )],
        "epoch",
        "training loss",
        true,
        &format!("{} on {} ({})", t.optimizer, t.data.name, t.problem.model),
        path,
    )?;
    #[cfg(not(feature = "plot"))]
    let _ = path;
    Ok(())
}

impl<'a> Trained<'a> {
    /// The JSON report.
    fn report(&self) -> Report<'a> {
        let (a, d, history) = (self.args, self.data, self.history);
        let sum = self.problem.sum.as_ref();
        Report {
            optimizer: self.optimizer.to_string(),
            summary: self.explanation.summary.clone(),
            derivation: self.explanation.derivation.clone(),
            data: &d.name,
            model: self.problem.model,
            n: d.n(),
            p: d.p(),
            classes: d.classes,
            parameters: sum.dim(),
            batch_size: a.batch_size,
            batches: sum.num_batches(),
            epochs: a.epochs,
            order: a.order.name(),
            seed: a.seed,
            init: a.init.name(),
            iterations: history.iterations,
            initial_loss: history.initial_loss,
            final_loss: Some(history.final_loss),
            train_error: self.train_error,
            diverged: history.diverged(),
            termination: history.termination,
            step_seconds: history.step_seconds,
            eval_seconds: history.eval_seconds,
            history: HistoryReport::new(history),
        }
    }
}

/// Prints the run as a table: the method, the problem, one row per loss
/// evaluation, the divergence if any, and the training error and timings.
fn print_table(t: &Trained<'_>) -> Result<()> {
    let (a, d, history) = (t.args, t.data, t.history);
    say!("{}", t.explanation.summary)?;
    say!("  = {}", t.explanation.derivation)?;
    say!(
        "{} regression on {} ({} rows, {} features, {} classes), {} batches of {} rows, order {}",
        t.problem.model,
        d.name,
        d.n(),
        d.p(),
        d.classes,
        t.problem.sum.num_batches(),
        a.batch_size,
        a.order.name()
    )?;
    say!(
        "{:>8} {:>10} {:>14} {:>10}",
        "epoch",
        "iteration",
        "loss",
        "seconds"
    )?;
    for r in &history.records {
        say!(
            "{:>8.2} {:>10} {:>14.6e} {:>10.4}",
            r.epoch,
            r.iteration,
            r.loss,
            r.seconds
        )?;
    }
    if let Termination::Diverged(reason) = history.termination {
        say!(
            "diverged after {} iterations ({reason})",
            history.iterations
        )?;
    }
    say!(
        "training error {:.2} %; {:.3} s in steps, {:.3} s in loss evaluations",
        100.0 * t.train_error,
        history.step_seconds,
        history.eval_seconds
    )
}
