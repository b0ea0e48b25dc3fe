//! The Gram (dual) coordinates of the reduced logistic and softmax flows
//! (the default) against the QR-reduced coordinates (the previous default):
//! the same local ODE, so fixed explicit sub-steps agree to round-off and
//! adaptive advances to the tolerance; on the `paper --quick` data the
//! splitting iterates agree to 1e-6 relative and the iteration counts to
//! the test-error targets are the same (docs/theory.md §4.5).

use nalgebra::DMatrix;
use splitflow::objective::FiniteSum;
use splitflow::paper::uniform_init;
use splitflow::problems::data::{Dataset, binary_targets, named, permutation};
use splitflow::problems::logistic::{self, Logistic};
use splitflow::problems::softmax::{self, Softmax};
use splitflow::reduction::{FactorizationMethod, ReducedLogisticFlow, ReducedSoftmaxFlow};
use splitflow::splitting::FlowMap;
use splitflow::{ExplicitEuler, Integrator, Rk4, State};

use crate::common::{gaussian_matrix, gaussian_vector, rel};

/// The seeded 80/20 split of a shipped data set, as `paper` makes it (seed 0).
fn paper_split(name: &str) -> (Dataset, Dataset) {
    let d = named(name).unwrap();
    let d = d.permute_rows(&permutation(d.n(), 0)).unwrap();
    let n_train = d.n() * 4 / 5;
    d.split(n_train).unwrap()
}

/// Runs two sequences of pieces side by side (one batch step = one
/// iteration, batches in fixed order, step `h = α·m`) for at most `cap`
/// iterations, or until both reach `metric ≤ target` and at least one
/// epoch (every batch once) has run. Returns the largest
/// relative distance of the iterates and the first iteration (1-based) at
/// which each reached the target.
fn side_by_side(
    a: &mut [Box<dyn FlowMap + '_>],
    b: &mut [Box<dyn FlowMap + '_>],
    alpha: f64,
    theta0: &State,
    cap: usize,
    metric: &dyn Fn(&State) -> f64,
    target: f64,
) -> (f64, Option<usize>, Option<usize>) {
    let m = a.len();
    let h = alpha * m as f64;
    let (mut ta, mut tb) = (theta0.clone(), theta0.clone());
    let (mut worst, mut hit_a, mut hit_b): (f64, Option<usize>, Option<usize>) = (0.0, None, None);
    for k in 0..cap {
        if hit_a.is_some() && hit_b.is_some() && k >= m {
            break;
        }
        a[k % m].advance(0.0, h, &mut ta).unwrap();
        b[k % m].advance(0.0, h, &mut tb).unwrap();
        worst = worst.max(rel(&ta, &tb));
        if hit_a.is_none() && metric(&ta) <= target {
            hit_a = Some(k + 1);
        }
        if hit_b.is_none() && metric(&tb) <= target {
            hit_b = Some(k + 1);
        }
    }
    (worst, hit_a, hit_b)
}

fn boxed<'a, F: FlowMap + 'a>(flows: Vec<F>) -> Vec<Box<dyn FlowMap + 'a>> {
    flows
        .into_iter()
        .map(|f| Box::new(f) as Box<dyn FlowMap + 'a>)
        .collect()
}

/// Runs the Gram and the QR flows side by side ([`side_by_side`], at most
/// `cap` iterations, `target = (metric, level)`) and asserts that their
/// iterates agree to 1e-6 relative (both solves are at rtol = atol = 1e-8;
/// their difference is the sum of two global errors, observed ≲ 1e-7) and
/// that both reach the target at the same iteration. Returns the gap.
fn assert_gram_equals_qr<'a, G: FlowMap + 'a, Q: FlowMap + 'a>(
    what: &str,
    gram: Vec<G>,
    qr: Vec<Q>,
    alpha: f64,
    theta0: &State,
    cap: usize,
    (metric, level): (&dyn Fn(&State) -> f64, f64),
) -> f64 {
    let (mut g, mut q) = (boxed(gram), boxed(qr));
    let (worst, hit_g, hit_q) = side_by_side(&mut g, &mut q, alpha, theta0, cap, metric, level);
    eprintln!(
        "{what} α = {alpha:.3e}: iterates rel {worst:.2e}, iterations gram {hit_g:?} qr {hit_q:?}"
    );
    assert!(worst <= 1e-6, "{what} α = {alpha}: {worst:e}");
    assert!(
        hit_q.is_some(),
        "{what} α = {alpha}: the QR path missed the target"
    );
    assert_eq!(hit_g, hit_q, "{what} α = {alpha}");
    worst
}

/// `flow` advanced once from `theta0` over `[0, h]`.
fn advanced(mut flow: impl FlowMap, h: f64, theta0: &State) -> State {
    let mut theta = theta0.clone();
    flow.advance(0.0, h, &mut theta).unwrap();
    theta
}

/// `paper --quick`, logistic on digits01 (b = 50, target test error ≤ 1e-3,
/// θ₀ from seed 1, the quick α grid): Gram and QR iterates agree to 1e-6
/// relative and reach the target at the same iteration. Negative control:
/// SGD's iterates (one explicit-Euler sub-step) are far from both.
#[test]
fn gram_logistic_iterates_and_counts_equal_the_qr_ones_on_paper_quick() {
    let (train, test) = paper_split("digits01");
    let y = binary_targets(&train).unwrap();
    let y_test = binary_targets(&test).unwrap();
    let problem = Logistic::new(&train.x, &y, 50).unwrap();
    let m = problem.num_batches();
    let theta0 = uniform_init(train.p(), 1).unwrap();
    let metric = |t: &State| logistic::error_rate(t, &test.x, &y_test);
    let opts = ReducedLogisticFlow::default_options();
    let mut largest_gap: f64 = 0.0;
    for alpha in [1e-2, 1.778, 316.2, 5.623e4, 1e7] {
        let gram = ReducedLogisticFlow::for_batches(&problem, opts).unwrap();
        assert!(
            gram.iter()
                .all(|f| f.factorization() == FactorizationMethod::Gram)
        );
        let qr: Vec<_> = ReducedLogisticFlow::for_batches(&problem, opts)
            .unwrap()
            .into_iter()
            .map(|f| f.with_factorization(FactorizationMethod::Qr))
            .collect();
        let cap = if alpha < 0.1 { 100 * m } else { 2 * m };
        let target = (&metric as &dyn Fn(&State) -> f64, 1e-3);
        let worst =
            assert_gram_equals_qr("logistic digits01", gram, qr, alpha, &theta0, cap, target);
        largest_gap = largest_gap.max(worst);
        // Negative control: one explicit-Euler sub-step (SGD) is not within the bound.
        if alpha > 1.0 {
            let sgd: Vec<_> = ReducedLogisticFlow::for_batches(&problem, opts)
                .unwrap()
                .into_iter()
                .map(|f| f.with_integrator(Integrator::fixed(ExplicitEuler::new(), 1).unwrap()))
                .collect();
            let mut g = boxed(ReducedLogisticFlow::for_batches(&problem, opts).unwrap());
            let mut s = boxed(sgd);
            let (far, _, _) = side_by_side(&mut g, &mut s, alpha, &theta0, 1, &|_| 1.0, 0.0);
            assert!(far > 1e-2, "α = {alpha}: SGD within {far:e} of the flow");
        }
    }
    // The two paths are different computations (else the check is vacuous).
    assert!(largest_gap > 0.0);
}

/// `paper --quick`, softmax on digits (b = 64, target test error ≤ 0.25):
/// as for logistic.
#[test]
fn gram_softmax_iterates_and_counts_equal_the_qr_ones_on_paper_quick() {
    let (train, test) = paper_split("digits");
    let classes = train.classes;
    let problem = Softmax::new(&train.x, &train.labels, classes, 64).unwrap();
    let m = problem.num_batches();
    let theta0 = uniform_init(train.p() * classes, 1).unwrap();
    let metric = |t: &State| softmax::error_rate(t, &test.x, &test.labels, classes);
    let opts = ReducedLogisticFlow::default_options();
    let mut largest_gap: f64 = 0.0;
    for alpha in [1e-2, 1.0, 1e2, 1e4] {
        let gram = ReducedSoftmaxFlow::for_batches(&problem, opts).unwrap();
        let qr: Vec<_> = ReducedSoftmaxFlow::for_batches(&problem, opts)
            .unwrap()
            .into_iter()
            .map(|f| f.with_factorization(FactorizationMethod::Qr))
            .collect();
        let cap = if alpha < 0.1 { 50 * m } else { 8 };
        let target = (&metric as &dyn Fn(&State) -> f64, 0.25);
        let worst = assert_gram_equals_qr("softmax digits", gram, qr, alpha, &theta0, cap, target);
        largest_gap = largest_gap.max(worst);
    }
    assert!(largest_gap > 0.0);
}

/// Fixed explicit sub-steps are affine-covariant: in either coordinates the
/// iterates are the full p-dimensional RK4 iterates, so Gram and QR agree to
/// round-off (1e-12 relative) on a seeded problem with b < p and with b > p.
#[test]
fn gram_and_qr_rk4_sub_steps_agree_to_round_off() {
    use rand::{RngExt, SeedableRng, rngs::StdRng};
    let mut rng = StdRng::seed_from_u64(0x5eed_f457);
    for (n, p, b) in [(40, 30, 8), (60, 6, 20)] {
        let x = gaussian_matrix(&mut rng, n, p);
        let labels: Vec<usize> = (0..n).map(|_| rng.random_range(0..3)).collect();
        let y01 = State::from_fn(n, |i, _| (labels[i] % 2) as f64);
        let lr = Logistic::new(&x, &y01, b).unwrap();
        let sm = Softmax::new(&x, &labels, 3, b).unwrap();
        let theta0 = gaussian_vector(&mut rng, p) / (p as f64).sqrt();
        let phi0 = gaussian_vector(&mut rng, 3 * p) / (p as f64).sqrt();
        let opts = ReducedLogisticFlow::default_options();
        // The default: Gram when b ≤ p, QR when b > p.
        let (x0, y0) = lr.batch(0);
        let want = if b <= p {
            FactorizationMethod::Gram
        } else {
            FactorizationMethod::Qr
        };
        let default = ReducedLogisticFlow::new(x0, y0, 0.1, opts).unwrap();
        assert_eq!(default.factorization(), want);
        let (xs0, ys0) = sm.batch(0);
        let default = ReducedSoftmaxFlow::new(xs0, ys0, 0.1, opts).unwrap();
        assert_eq!(default.factorization(), want);
        let rk4 = || Integrator::fixed(Rk4::new(), 8).unwrap();
        for i in 0..lr.num_batches() {
            let (xb, yb) = lr.batch(i);
            let c = 1.0 / (lr.num_batches() * b) as f64;
            let h = 20.0 / (c * xb.norm_squared());
            let run = |method| {
                let f = ReducedLogisticFlow::new(xb, yb, c, opts).unwrap();
                advanced(
                    f.with_integrator(rk4()).with_factorization(method),
                    h,
                    &theta0,
                )
            };
            let (g, q) = (run(FactorizationMethod::Gram), run(FactorizationMethod::Qr));
            assert!(
                rel(&g, &q) <= 1e-12,
                "logistic n={n} p={p} batch {i}: {:e}",
                rel(&g, &q)
            );
            assert!(rel(&g, &theta0) > 1e-3, "the advance moved θ");
            let (xs, ys): (&DMatrix<f64>, &DMatrix<f64>) = sm.batch(i);
            let run = |method| {
                let f = ReducedSoftmaxFlow::new(xs, ys, c, opts).unwrap();
                advanced(
                    f.with_integrator(rk4()).with_factorization(method),
                    h,
                    &phi0,
                )
            };
            let (g, q) = (run(FactorizationMethod::Gram), run(FactorizationMethod::Qr));
            assert!(
                rel(&g, &q) <= 1e-12,
                "softmax n={n} p={p} batch {i}: {:e}",
                rel(&g, &q)
            );
        }
    }
}
