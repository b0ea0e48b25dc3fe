//! Helpers shared by the test modules: step ladders and adaptive settings,
//! refinement studies and the order acceptance criterion, log-log slopes,
//! trajectory comparison with `approx` ([`compare_trajectories`]),
//! distances, and seeded Gaussian matrices and vectors.

use std::path::PathBuf;
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};

use nalgebra::{DMatrix, DVector};
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};

use splitflow::test_models::ExactProblem;
use splitflow::{
    AdaptiveOptions, ConvergenceReport, ConvergenceStudy, State, Stepper, Steps, integrate,
};

/// The `splitflow` binary built for the tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_splitflow");

/// Runs the `splitflow` binary with `args`.
pub fn run_splitflow(args: &[&str]) -> Output {
    std::process::Command::new(BIN)
        .args(args)
        .output()
        .expect("run splitflow")
}

/// The path of the shipped example spec `examples/specs/{name}`.
pub fn example_spec(name: &str) -> String {
    format!("{}/examples/specs/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The bit patterns of `y`'s entries (for bitwise comparisons).
pub fn bits(y: &State) -> Vec<u64> {
    y.iter().map(|v| v.to_bits()).collect()
}

/// The keys of an order study's JSON report (`splitflow order --json`, the
/// generated optimizers' order reports), in the contract's order.
pub const ORDER_STUDY_KEYS: [&str; 6] = [
    "steps",
    "h",
    "errors",
    "local_orders",
    "fitted_order",
    "effective_order",
];

/// The keys of a tomography system's summary (`splitflow tomography --json`).
pub const TOMOGRAPHY_SUMMARY_KEYS: [&str; 9] = [
    "rows",
    "cols",
    "nnz",
    "zero_rows",
    "sum",
    "frobenius",
    "phantom_sum",
    "phantom_nnz",
    "rhs_norm",
];

/// The random least-squares order study of the SGD-epoch sample (40×4,
/// noise 0.5, seed 1, four batches of 10, `t_end = 1`) with the given
/// `[method]` / `[[method]]` tables and step ladder, as spec TOML.
pub fn least_squares_study(methods: &str, steps: &str) -> String {
    format!(
        r#"
[problem]
kind = "least_squares"
rows = 40
cols = 4
noise = 0.5
seed = 1
batch_size = 10
t_end = 1.0
{methods}
[study]
steps = {steps}
"#
    )
}

/// Adaptive stepping with `rtol = atol = tol` and default controller settings.
pub fn adaptive(tol: f64) -> Steps {
    Steps::Adaptive(AdaptiveOptions {
        rtol: tol,
        atol: tol,
        ..Default::default()
    })
}

/// `levels` step counts `n0·ratioᵏ` (rounded), strictly increasing.
pub fn ladder(n0: usize, ratio: f64, levels: usize) -> Vec<usize> {
    ConvergenceStudy::geometric(n0, ratio, levels, 1.0)
        .expect("valid ladder")
        .steps()
        .to_vec()
}

/// Refinement study of `stepper` on `problem` over `[0, t_end]` against the
/// exact solution, one fixed-step integration per level.
pub fn exact_study<P: ExactProblem>(
    problem: &P,
    stepper: &mut dyn Stepper,
    t_end: f64,
    steps: Vec<usize>,
) -> ConvergenceReport {
    let y0 = problem.initial();
    let exact = problem.exact(t_end);
    ConvergenceStudy::new(steps, t_end)
        .run(&exact, |n| {
            Ok(integrate(problem, stepper, 0.0, t_end, &y0, &Steps::Fixed(n))?.y)
        })
        .expect("the study runs")
}

/// Asserts the acceptance criterion for an observed order: at least four
/// levels inside the fit and a least-squares slope within ±0.15 of theory.
pub fn assert_order(report: &ConvergenceReport, expected: f64, what: &str) {
    assert_order_within(report, expected, 0.15, what);
}

/// [`assert_order`] with the band `expected ± tol` instead of ±0.15.
pub fn assert_order_within(report: &ConvergenceReport, expected: f64, tol: f64, what: &str) {
    eprintln!("{what}:\n{report}\n");
    assert!(
        report.fit_levels.len() >= 4,
        "{what}: only {} levels in the fit\n{report}",
        report.fit_levels.len()
    );
    assert!(
        approx::abs_diff_eq!(report.fitted_order, expected, epsilon = tol),
        "{what}: fitted order {:.3}, expected {expected} ± {tol}\n{report}",
        report.fitted_order
    );
}

/// Least-squares slope of `log y` against `log x`.
pub fn loglog_slope(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len());
    let n = x.len() as f64;
    let lx: Vec<f64> = x.iter().map(|v| v.ln()).collect();
    let ly: Vec<f64> = y.iter().map(|v| v.ln()).collect();
    let mx = lx.iter().sum::<f64>() / n;
    let my = ly.iter().sum::<f64>() / n;
    let sxy: f64 = lx.iter().zip(&ly).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = lx.iter().map(|a| (a - mx).powi(2)).sum();
    sxy / sxx
}

/// `‖a − b‖₂`.
pub fn dist(a: &State, b: &State) -> f64 {
    (a - b).norm()
}

/// The largest relative distance ‖aₖ − bₖ‖₂ / ‖bₖ‖₂ over two trajectories
/// (step by step).
pub fn max_rel(a: &[State], b: &[State]) -> f64 {
    assert_eq!(a.len(), b.len(), "trajectories of different lengths");
    a.iter().zip(b).map(|(x, y)| rel(x, y)).fold(0.0, f64::max)
}

/// `‖a − b‖₂ / ‖b‖₂`.
pub fn rel(a: &State, b: &State) -> f64 {
    (a - b).norm() / b.norm()
}

/// A trajectory compared with a reference by [`compare_trajectories`].
#[derive(Debug, Clone, Copy)]
pub struct TrajectoryGap {
    /// Every step passed `approx::abs_diff_eq!` at the given tolerance.
    pub agree: bool,
    /// The observed `max_k ‖aₖ − bₖ‖∞ / scaleₖ` (for the test's report).
    pub worst: f64,
    /// The step where `worst` occurs.
    pub step: usize,
}

/// Compares a trajectory `a` with a reference `b` step by step in the max
/// norm relative to each reference state: step k agrees when
/// `approx::abs_diff_eq!(aₖ, bₖ, epsilon = tol · scaleₖ)` with
/// `scaleₖ = max(floor, ‖bₖ‖∞)` (`floor = 0` for a purely relative
/// comparison, `1` to make it absolute for states below 1), that is when
/// `‖aₖ − bₖ‖∞ ≤ tol · scaleₖ`. Panics when the lengths differ.
pub fn compare_trajectories<S: AsRef<[f64]>>(
    a: &[S],
    b: &[S],
    tol: f64,
    floor: f64,
) -> TrajectoryGap {
    assert_eq!(a.len(), b.len(), "trajectories of different lengths");
    let mut gap = TrajectoryGap {
        agree: true,
        worst: 0.0,
        step: 0,
    };
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        let (x, y) = (x.as_ref(), y.as_ref());
        assert_eq!(x.len(), y.len(), "states of different lengths at step {k}");
        let scale = y.iter().fold(floor, |m, v| m.max(v.abs()));
        gap.agree &= approx::abs_diff_eq!(*x, *y, epsilon = tol * scale);
        let d = x
            .iter()
            .zip(y)
            .fold(0.0f64, |m, (p, q)| m.max((p - q).abs()))
            / scale;
        if d > gap.worst || d.is_nan() {
            (gap.worst, gap.step) = (d, k);
        }
    }
    gap
}

/// A `rows × cols` matrix of independent N(0, 1) entries drawn from `rng`
/// (column by column).
pub fn gaussian_matrix(rng: &mut StdRng, rows: usize, cols: usize) -> DMatrix<f64> {
    DMatrix::from_fn(rows, cols, |_, _| StandardNormal.sample(&mut *rng))
}

/// A vector of `n` independent N(0, 1) entries drawn from `rng`.
pub fn gaussian_vector(rng: &mut StdRng, n: usize) -> State {
    DVector::from_fn(n, |_, _| StandardNormal.sample(&mut *rng))
}

/// The CLI's user-error contract: exit code 2 and one `error:` line
/// mentioning `needle` (see [`assert_one_error_line`]).
pub fn assert_user_error(tag: &str, out: &Output, needle: &str) {
    assert_one_error_line(tag, out, 2, needle);
}

/// The runtime-failure contract: exit code 1 and one `error:` line
/// mentioning `needle` (see [`assert_one_error_line`]).
pub fn assert_runtime_error(tag: &str, out: &Output, needle: &str) {
    assert_one_error_line(tag, out, 1, needle);
}

/// The CLI's error contract: exit code `code`, nothing on stdout, exactly
/// one line `error: …` on stderr, no panic and no backtrace hint; the line
/// mentions `needle`.
fn assert_one_error_line(tag: &str, out: &Output, code: i32, needle: &str) {
    let stderr = String::from_utf8(out.stderr.clone()).expect("UTF-8 stderr");
    assert_eq!(
        out.status.code(),
        Some(code),
        "{tag}: status {:?}, stderr {stderr}",
        out.status
    );
    assert!(
        out.stdout.is_empty(),
        "{tag}: stdout {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!stderr.contains("panicked"), "{tag}: {stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "{tag}: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{tag}: stderr is not one line:\n{stderr}");
    assert!(stderr.ends_with('\n'), "{tag}: {stderr:?}");
    assert!(lines[0].starts_with("error: "), "{tag}: {stderr}");
    assert!(
        lines[0].contains(needle),
        "{tag}: the message should mention `{needle}`: {stderr}"
    );
    eprintln!("{tag}: {}", lines[0]);
}

/// The numbers of a JSON array (panics on anything else).
pub fn json_numbers(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

/// A path in the temp directory, unique per process and call (file or
/// directory), removed on drop.
pub struct TempPath(pub PathBuf);

impl TempPath {
    /// A fresh path ending in `tag` (nothing is created).
    pub fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        TempPath(
            std::env::temp_dir().join(format!("splitflow-test-{}-{n}-{tag}", std::process::id())),
        )
    }

    /// A file holding `contents`.
    pub fn file(tag: &str, contents: &(impl AsRef<[u8]> + ?Sized)) -> Self {
        let t = Self::new(tag);
        std::fs::write(&t.0, contents.as_ref()).expect("write a temp file");
        t
    }

    /// The path as a command-line argument.
    pub fn arg(&self) -> &str {
        self.0.to_str().expect("UTF-8 temp path")
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if self.0.is_dir() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}
