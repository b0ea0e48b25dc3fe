//! The experiments as jobs: for every experiment and seed the data are
//! built once (a "group"), then its (method, α) runs execute in parallel,
//! each on its own problem instance and method built inside the job, so
//! only owned, immutable data cross threads (matrices, data sets and the
//! factorized least-squares flows, which each job clones).

use std::path::PathBuf;
use std::time::Instant;

use nalgebra::{DMatrix, DVector};

use super::exact::run_to_target;
use super::{Experiment, History, PaperOptions, Run, Settings, Stop, log_grid, uniform_init};
use crate::error::Result;
use crate::flows::{LocalFlow, local_flows};
use crate::objective::FiniteSum;
use crate::optimizers::SplittingOptimizer;
use crate::problems::data::Dataset;
use crate::problems::least_squares::{LeastSquares, random_least_squares};
use crate::problems::tomography::SparseMatrix;
use crate::reduction::{
    ExactLeastSquaresFlow, FactorizationMethod, LocalScheme, LogisticModel, ReducedFlow,
    ReducedModel, SoftmaxModel, factorize_all,
};
use crate::splitting::{FlowMap, Integrated, PieceOrder};
use crate::{ExplicitEuler, Integrator, State};

/// The two methods every experiment compares, in run order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Sgd,
    Splitting,
}

impl Method {
    const ALL: [Method; 2] = [Method::Sgd, Method::Splitting];
    fn name(self) -> &'static str {
        match self {
            Method::Sgd => "sgd",
            Method::Splitting => "splitting",
        }
    }
}

/// One (method, α) run of a group.
#[derive(Debug, Clone, Copy)]
struct Job {
    method: Method,
    alpha: f64,
}

/// One experiment of the sweep (`logistic` is two or three of them).
#[derive(Debug, Clone)]
enum Spec {
    Lls,
    Tomography,
    Logistic { data: &'static str, target: f64 },
    LogisticMnist(PathBuf),
    Softmax,
    SoftmaxFashion(PathBuf),
}

/// The specs of the selected experiments, in report order.
fn specs(selection: &[String], opts: &PaperOptions) -> Vec<Spec> {
    let mut out = Vec::new();
    for name in selection {
        match name.as_str() {
            "lls" => out.push(Spec::Lls),
            "tomography" => out.push(Spec::Tomography),
            "logistic" => {
                out.push(Spec::Logistic {
                    data: "digits01",
                    target: 1e-3,
                });
                out.push(Spec::Logistic {
                    data: "wdbc",
                    target: 0.05,
                });
                if let Some(dir) = &opts.mnist {
                    out.push(Spec::LogisticMnist(dir.clone()));
                }
            }
            _ => {
                out.push(Spec::Softmax);
                if let Some(dir) = &opts.fashion_mnist {
                    out.push(Spec::SoftmaxFashion(dir.clone()));
                }
            }
        }
    }
    out
}

/// The experiment names of a selection, in report order.
pub(crate) fn experiment_names(selection: &[String], opts: &PaperOptions) -> Vec<String> {
    specs(selection, opts).iter().map(Spec::name).collect()
}

impl Spec {
    fn name(&self) -> String {
        match self {
            Spec::Lls => "lls".into(),
            Spec::Tomography => "tomography".into(),
            Spec::Logistic { data, .. } => format!("logistic/{data}"),
            Spec::LogisticMnist(_) => "logistic/mnist01".into(),
            Spec::Softmax => "softmax".into(),
            Spec::SoftmaxFashion(_) => "softmax/fashion-mnist".into(),
        }
    }

    /// The settings for `m` batches.
    fn settings(&self, opts: &PaperOptions, m: usize) -> Settings {
        let (q, p) = (opts.quick, &opts.protocol);
        match self {
            Spec::Lls => p.lls(q, m),
            Spec::Tomography => p.tomography(q, m),
            Spec::Logistic { .. } | Spec::LogisticMnist(_) => p.classification(
                if q {
                    log_grid(1e-2, 1e7, 5)
                } else {
                    log_grid(1e-2, 1e7, 10)
                },
                100 * m,
            ),
            Spec::Softmax | Spec::SoftmaxFashion(_) => p.classification(
                if q {
                    log_grid(1e-2, 1e4, 4)
                } else {
                    log_grid(1e-2, 1e5, 8)
                },
                50 * m,
            ),
        }
    }

    /// The α grid (independent of the data).
    fn grid(&self, opts: &PaperOptions) -> Vec<f64> {
        self.settings(opts, 1).grid
    }
}

/// Runs `f` on a pool of `threads` workers (0: all cores).
pub(crate) fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> Result<R> {
    #[cfg(feature = "rayon")]
    {
        if threads == 0 {
            return Ok(f());
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| crate::error::Error::invalid("--jobs", threads, &e.to_string()))?;
        Ok(pool.install(f))
    }
    #[cfg(not(feature = "rayon"))]
    {
        let _ = threads;
        Ok(f())
    }
}

/// `f` over `items`, in parallel with the `rayon` feature; the results in
/// the items' order.
fn par_map<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<R> + Sync + Send,
) -> Result<Vec<R>> {
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        items.par_iter().map(f).collect()
    }
    #[cfg(not(feature = "rayon"))]
    {
        items.iter().map(f).collect()
    }
}

/// What a group returns: the experiment's description and its runs.
struct Group {
    experiment: Experiment,
    runs: Vec<(Run, History)>,
}

/// Every experiment of the selection over `opts.seeds` seeds (only the jobs
/// of `opts.shard`: job i of the sweep, counted over experiments, seeds, α
/// and methods in report order, belongs to shard `i mod n + 1`).
pub(crate) fn run_all(
    selection: &[String],
    opts: &PaperOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Vec<Experiment>> {
    let mut out = Vec::new();
    let mut index = 0usize;
    for spec in specs(selection, opts) {
        let grid = spec.grid(opts);
        let mut experiment: Option<Experiment> = None;
        for k in 0..opts.seeds {
            let seed = opts.run_seed(k);
            let mut jobs = Vec::new();
            for &alpha in &grid {
                for method in Method::ALL {
                    if opts.shard.is_none_or(|s| s.owns(index)) {
                        jobs.push(Job { method, alpha });
                    }
                    index += 1;
                }
            }
            if jobs.is_empty() {
                continue;
            }
            progress(&format!("{} seed {seed}: {} runs", spec.name(), jobs.len()));
            let group = run_group(&spec, seed, opts, &jobs)?;
            let exp = experiment.get_or_insert_with(|| Experiment {
                runs: Vec::new(),
                histories: Vec::new(),
                factorization_seconds: 0.0,
                ..group.experiment.clone()
            });
            exp.factorization_seconds += group.experiment.factorization_seconds;
            for (run, history) in group.runs {
                exp.runs.push(run);
                exp.histories.push(history);
            }
        }
        if let Some(mut exp) = experiment {
            exp.summarize();
            out.push(exp);
        }
    }
    Ok(out)
}

fn run_group(spec: &Spec, seed: u64, opts: &PaperOptions, jobs: &[Job]) -> Result<Group> {
    let ctx = GroupContext {
        spec,
        seed,
        opts,
        jobs,
    };
    match spec {
        Spec::Lls | Spec::Tomography => least_squares_group(spec, seed, opts, jobs),
        Spec::Logistic { data, target } => {
            let (train, test) = train_test(data, seed)?;
            logistic_group(ctx, data, (&train, &test), *target)
        }
        Spec::LogisticMnist(dir) => {
            use crate::problems::data::load_mnist;
            let zero_one = |d: Dataset| -> Result<Dataset> {
                let rows: Vec<usize> = (0..d.n()).filter(|&i| d.labels[i] <= 1).collect();
                let s = d.subset(&rows)?;
                Dataset::new(s.x, s.labels, 2, "mnist01")
            };
            let train = zero_one(load_mnist(dir, true)?)?;
            let test = zero_one(load_mnist(dir, false)?)?;
            logistic_group(ctx, "mnist01", (&train, &test), 1e-3)
        }
        Spec::Softmax => {
            let (train, test) = train_test("digits", seed)?;
            softmax_group(ctx, "digits", (&train, &test))
        }
        Spec::SoftmaxFashion(dir) => {
            use crate::problems::data::load_mnist;
            let train = load_mnist(dir, true)?;
            let test = load_mnist(dir, false)?;
            softmax_group(ctx, "Fashion-MNIST", (&train, &test))
        }
    }
}

/// Seeded 80/20 train/test split of a named data set.
fn train_test(name: &str, seed: u64) -> Result<(Dataset, Dataset)> {
    use crate::problems::data::{named, permutation};
    let d = named(name)?;
    let d = d.permute_rows(&permutation(d.n(), seed))?;
    let n_train = d.n() * 4 / 5;
    d.split(n_train)
}

/// SGD pieces: explicit-Euler steps on each batch's local flow.
fn sgd_pieces<F: FiniteSum>(sum: &F) -> Result<Vec<Box<dyn FlowMap + '_>>> {
    local_flows(sum)
        .into_iter()
        .map(|f: LocalFlow<&F>| -> Result<Box<dyn FlowMap + '_>> {
            Ok(Box::new(Integrated::new(
                f,
                Integrator::fixed(ExplicitEuler::new(), 1)?,
            )))
        })
        .collect()
}

/// Trains `pieces` at the job's α from θ₀ to the target and records the run.
#[allow(clippy::too_many_arguments)]
fn one_run(
    job: &Job,
    seed: u64,
    settings: &Settings,
    pieces: Vec<Box<dyn FlowMap + '_>>,
    theta0: &State,
    metric: &mut dyn FnMut(&State) -> f64,
    target: f64,
    replayable: bool,
) -> Result<(Run, History)> {
    let mut optimizer = SplittingOptimizer::new(pieces, job.alpha, PieceOrder::Fixed)?;
    let c = run_to_target(
        &mut optimizer,
        theta0,
        metric,
        target,
        settings.max_iterations,
        replayable,
    )?;
    let out = &c.outcome;
    let per = if out.iterations > 0 {
        1e6 * out.step_seconds / out.iterations as f64
    } else {
        0.0
    };
    let method = job.method.name().to_string();
    let run = Run {
        method: method.clone(),
        alpha: job.alpha,
        seed,
        converged: out.converged(),
        diverged: out.diverged(),
        iterations: c.steps_to_target.map(|k| settings.counting.count(k)),
        seconds: out.step_seconds + out.eval_seconds,
        step_seconds: out.step_seconds,
        eval_seconds: out.eval_seconds,
        iterations_run: out.iterations,
        microseconds_per_iteration: per,
        replayed_steps: c.replayed,
        checks: out.records.len(),
        replay_seconds: c.replay_seconds,
        step_seconds_to_target: c.step_seconds_to_target,
        eval_seconds_to_target: c.step_seconds_to_target.map(|_| out.eval_seconds),
        seconds_to_target: c.step_seconds_to_target.map(|s| s + out.eval_seconds),
    };
    let history = c.records.iter().map(|r| (r.iteration, r.loss)).collect();
    Ok((run, (method, job.alpha, history)))
}

/// The data of a least-squares group for one seed: the dense matrix and
/// targets, the sparse tomography matrix (`None` for `lls`), the settings
/// and the problem's description.
struct LeastSquaresData {
    x: DMatrix<f64>,
    y: DVector<f64>,
    sparse: Option<SparseMatrix>,
    settings: Settings,
    problem: String,
}

impl LeastSquaresData {
    /// Random least squares (`lls`) or fan-beam tomography (rows permuted by
    /// the seed) with batches of `b` rows.
    fn new(spec: &Spec, seed: u64, opts: &PaperOptions, b: usize) -> Result<Self> {
        if let Spec::Lls = spec {
            let (n, p): (usize, usize) = if opts.quick {
                (4000, 400)
            } else {
                (10000, 500)
            };
            let m = n.div_ceil(b);
            let settings = spec.settings(opts, m);
            let noise = settings.noise.unwrap_or(0.0);
            let (x, y, _) = random_least_squares(n, p, noise, seed)?;
            let problem = format!(
                "random least squares {n}x{p}, theta_true = 1, noise {noise}, b = {b}, m = {m}"
            );
            return Ok(LeastSquaresData {
                x,
                y,
                sparse: None,
                settings,
                problem,
            });
        }
        use crate::problems::data::permutation;
        use crate::problems::tomography::{fanlinear, shepp_logan};
        let grid = if opts.quick { 20 } else { 50 };
        let a = fanlinear(grid)?;
        let a = a.permute_rows(&permutation(a.nrows(), seed))?;
        let y = a.mul_vec(&shepp_logan(grid)?)?;
        let (n, m) = (a.nrows(), a.nrows().div_ceil(b));
        let problem = format!(
            "fan-beam tomography fanlinear({grid}): {n}x{}, y = A * Shepp-Logan phantom, rows permuted, b = {b}, m = {m}",
            a.ncols()
        );
        Ok(LeastSquaresData {
            x: a.to_dense(),
            y,
            sparse: Some(a),
            settings: spec.settings(opts, m),
            problem,
        })
    }

    /// The stop rule's metric name and target: with the sparse matrix the
    /// mean squared residual (`relres:t` as the equivalent
    /// `(1/n)‖Aθ − y‖² ≤ t²‖y‖²/n`), else the rule's own metric.
    fn target(&self, stop: Stop) -> (&'static str, f64) {
        let n = self.x.nrows();
        match (&self.sparse, stop) {
            (Some(_), Stop::Loss(t)) => ("(1/n) |A theta - y|^2", t),
            (Some(_), Stop::RelRes(t)) => (
                "(1/n) |A theta - y|^2",
                t * t * self.y.norm_squared() / n as f64,
            ),
            (None, Stop::Loss(t)) => ("(1/n) |X theta - y|^2", t),
            (None, Stop::RelRes(t)) => ("relative residual |X theta - y| / |y|", t),
        }
    }

    /// The stop rule's metric at θ: the sparse mean squared residual, or
    /// the job's own problem's (`own`) MSE or relative residual; NaN
    /// (read as divergence) when it cannot be evaluated.
    fn metric(&self, own: Option<&LeastSquares>, stop: Stop, t: &State) -> f64 {
        match (&self.sparse, own, stop) {
            (Some(a), _, _) => match a.mul_vec(t) {
                Ok(r) => (r - &self.y).norm_squared() / self.x.nrows() as f64,
                Err(_) => f64::NAN,
            },
            // θ has p entries by construction; a mismatch would read as NaN
            // (divergence), like a failed sparse product above.
            (None, Some(ls), Stop::Loss(_)) => ls.mse(t).unwrap_or(f64::NAN),
            (None, Some(ls), Stop::RelRes(_)) => ls.relative_residual(t).unwrap_or(f64::NAN),
            (None, None, _) => f64::NAN,
        }
    }
}

/// Random least squares (`lls`) or tomography: the data of one seed, the
/// splitting flows factorized once, then the jobs in parallel. The
/// tomography stop rule is evaluated with the sparse matrix (`relres:t`
/// as the equivalent `(1/n)‖Aθ − y‖² ≤ t²‖y‖²/n`).
fn least_squares_group(spec: &Spec, seed: u64, opts: &PaperOptions, jobs: &[Job]) -> Result<Group> {
    let b = if matches!(spec, Spec::Lls) { 20 } else { 60 };
    let data = LeastSquaresData::new(spec, seed, opts, b)?;
    let (x, y) = (&data.x, &data.y);
    let stop = data.settings.stop.unwrap_or(Stop::RelRes(1e-3));
    let (metric_name, target) = data.target(stop);
    let ls = LeastSquares::new(x, y, b)?;
    let t = Instant::now();
    let mut flows =
        ExactLeastSquaresFlow::for_batches(&ls, FactorizationMethod::Qr, LocalScheme::Exact);
    if jobs.iter().any(|j| j.method == Method::Splitting) {
        factorize_all(&mut flows)?;
    }
    let factorization_seconds = t.elapsed().as_secs_f64();
    let theta0 = uniform_init(x.ncols(), seed + 1)?;
    let flows = &flows;
    let runs = par_map(jobs, |job| {
        // The job's own problem: its gradient workspace is not shared.
        let own = match (job.method, &data.sparse) {
            (Method::Splitting, Some(_)) => None,
            _ => Some(LeastSquares::new(x, y, b)?),
        };
        let mut metric = |t: &State| data.metric(own.as_ref(), stop, t);
        let pieces = match (job.method, &own) {
            (Method::Sgd, Some(ls)) => sgd_pieces(ls)?,
            _ => flows
                .iter()
                .map(|f| Box::new(f.clone()) as Box<dyn FlowMap + '_>)
                .collect(),
        };
        one_run(
            job,
            seed,
            &data.settings,
            pieces,
            &theta0,
            &mut metric,
            target,
            true,
        )
    })?;
    Ok(Group {
        experiment: Experiment::header(
            spec.name(),
            data.problem,
            data.settings,
            metric_name,
            target,
            factorization_seconds,
        ),
        runs,
    })
}

/// The splitting pieces of a classification problem: the reduced local
/// flows of its batches (adaptive Dormand–Prince, the reduced flows'
/// default tolerances), boxed.
fn reduced_pieces<M: ReducedModel>(problem: &M::Problem) -> Result<Vec<Box<dyn FlowMap + '_>>> {
    Ok(
        ReducedFlow::<M>::for_batches(problem, ReducedFlow::<M>::default_options())?
            .into_iter()
            .map(|f| Box::new(f) as Box<dyn FlowMap + '_>)
            .collect(),
    )
}

/// What every group of one experiment and seed is given: the experiment,
/// the seed, the options and the group's jobs.
#[derive(Clone, Copy)]
struct GroupContext<'g> {
    spec: &'g Spec,
    seed: u64,
    opts: &'g PaperOptions,
    jobs: &'g [Job],
}

impl GroupContext<'_> {
    /// The runs of a classification group with `m` batches and `dim`
    /// parameters: every job builds its own problem with `problem` (its
    /// gradient workspace is not shared), trains SGD or the reduced
    /// splitting from the seed's uniform θ₀ until the test error `metric`
    /// reaches `target`; the group is described by `description`.
    fn classification<M: ReducedModel>(
        self,
        (m, dim, target): (usize, usize, f64),
        description: String,
        problem: impl Fn() -> Result<M::Problem> + Sync + Send,
        metric: impl Fn(&State) -> f64 + Sync + Send,
    ) -> Result<Group> {
        let settings = self.spec.settings(self.opts, m);
        let theta0 = uniform_init(dim, self.seed + 1)?;
        let runs = par_map(self.jobs, |job| {
            let problem = problem()?;
            let mut metric = |t: &State| metric(t);
            let pieces = match job.method {
                Method::Sgd => sgd_pieces(&problem)?,
                Method::Splitting => reduced_pieces::<M>(&problem)?,
            };
            one_run(
                job,
                self.seed,
                &settings,
                pieces,
                &theta0,
                &mut metric,
                target,
                false,
            )
        })?;
        Ok(Group {
            experiment: Experiment::header(
                self.spec.name(),
                description,
                settings,
                "test error",
                target,
                0.0,
            ),
            runs,
        })
    }
}

/// Logistic regression on a train/test pair: SGD vs reduced-RK45 splitting.
fn logistic_group(
    ctx: GroupContext<'_>,
    name: &str,
    (train, test): (&Dataset, &Dataset),
    target: f64,
) -> Result<Group> {
    use crate::problems::data::binary_targets;
    use crate::problems::logistic::{Logistic, error_rate};
    let b = 50;
    let y = binary_targets(train)?;
    let y_test = binary_targets(test)?;
    let (m, p) = (train.n().div_ceil(b), train.p());
    ctx.classification::<LogisticModel>(
        (m, p, target),
        format!(
            "binary logistic regression on {name}: {} train / {} test rows, p = {p}, b = {b}, m = {m}",
            train.n(),
            test.n()
        ),
        || Logistic::new(&train.x, &y, b),
        |t| error_rate(t, &test.x, &y_test),
    )
}

/// Softmax regression on a train/test pair (b = 64, target test error ≤ 0.25).
fn softmax_group(
    ctx: GroupContext<'_>,
    data_name: &str,
    (train, test): (&Dataset, &Dataset),
) -> Result<Group> {
    use crate::problems::softmax::{Softmax, error_rate};
    let (b, classes) = (64, train.classes);
    let (m, p) = (train.n().div_ceil(b), train.p());
    let labels = (&train.labels, &test.labels);
    ctx.classification::<SoftmaxModel>(
        (m, p * classes, 0.25),
        format!(
            "softmax regression on {data_name}: {} train / {} test rows, p = {p}, {classes} classes, b = {b}, m = {m}",
            train.n(),
            test.n()
        ),
        || Softmax::new(&train.x, labels.0, classes, b),
        |t| error_rate(t, &test.x, labels.1, classes),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_jobs() {
        let opts = PaperOptions {
            seeds: 3,
            ..Default::default()
        };
        let names = experiment_names(&["lls".into(), "logistic".into()], &opts);
        assert_eq!(names, ["lls", "logistic/digits01", "logistic/wdbc"]);
        let total: usize = specs(&["lls".into()], &opts)
            .iter()
            .map(|s| 2 * s.grid(&opts).len() * opts.seeds)
            .sum();
        assert_eq!(total, 2 * 12 * 3);
        let shards: Vec<super::super::Shard> =
            (1..=4).map(|k| format!("{k}/4").parse().unwrap()).collect();
        for i in 0..total {
            assert_eq!(shards.iter().filter(|s| s.owns(i)).count(), 1, "job {i}");
        }
    }
}
