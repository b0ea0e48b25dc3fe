//! Helpers shared by the test modules: step ladders and adaptive settings,
//! refinement studies and the order acceptance criterion, log-log slopes,
//! distances, and seeded Gaussian matrices and vectors.

use nalgebra::{DMatrix, DVector};
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};

use splitflow::test_models::ExactProblem;
use splitflow::{
    AdaptiveOptions, ConvergenceReport, ConvergenceStudy, State, Stepper, Steps, integrate,
};

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
    eprintln!("{what}:\n{report}\n");
    assert!(
        report.fit_levels.len() >= 4,
        "{what}: only {} levels in the fit\n{report}",
        report.fit_levels.len()
    );
    assert!(
        (report.fitted_order - expected).abs() <= 0.15,
        "{what}: fitted order {:.3}, expected {expected} ± 0.15\n{report}",
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

/// `‖a − b‖₂ / ‖b‖₂`.
pub fn rel(a: &State, b: &State) -> f64 {
    (a - b).norm() / b.norm()
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
