//! Splitting integrators (THEORY §2–§4, §10): one SGD epoch is one Lie step
//! with explicit-Euler sub-steps; observed orders of the composition schemes
//! on non-commuting pieces; the Lie local error ½h²[B, A]; nesting;
//! Merkulov's t → ∞ limit; and the error contract of `Splitting`.

use nalgebra::{DMatrix, SymmetricEigen};
use rand::seq::SliceRandom;
use rand::{SeedableRng, rngs::StdRng};

use splitflow::convergence::fine_reference;
use splitflow::error::NonFiniteKind;
use splitflow::flows::local_flows;
use splitflow::objective::{FiniteSum, QuadraticSum};
use splitflow::splitting::{
    BackwardSteps, ExactLinear, FlowMap, FlowStats, Integrated, PieceOrder, Splitting,
    SplittingCoefficients, SplittingOptions, integrate_flow,
};
use splitflow::{
    ConvergenceReport, ConvergenceStudy, Error, ExplicitEuler, FnSystem, Integrator, LinearSystem,
    OdeSystem, Order, Record, Result, Rk4, State, Steps,
};

use crate::common::{assert_order, gaussian_matrix, gaussian_vector, rel};

// ---------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------

/// Largest singular value.
fn spectral_norm(m: &DMatrix<f64>) -> f64 {
    m.clone().svd(false, false).singular_values.max()
}

/// `G − (λmax(Gˢ) + ½)·I` for a random `G` with N(0, 1) entries, `Gˢ` its
/// symmetric part: then `⟨y, Ay⟩ ≤ −½‖y‖²`, so the flow is a contraction
/// (stable) without decaying so fast that the final state is tiny; and the
/// shift commutes with everything, so the commutators of two such pieces are
/// those of the random `G`s (non-zero with probability 1).
fn stable_random(rng: &mut StdRng, n: usize) -> DMatrix<f64> {
    let g = gaussian_matrix(rng, n, n);
    let sym = (&g + g.transpose()) * 0.5;
    let shift = sym.symmetric_eigenvalues().max() + 0.5;
    g - DMatrix::identity(n, n) * shift
}

fn exact_piece<'a>(a: &DMatrix<f64>, c: Option<State>) -> Box<dyn FlowMap + 'a> {
    Box::new(ExactLinear::new(
        LinearSystem::new(a.clone(), c).expect("square finite matrix"),
    ))
}

fn exact_pieces<'a>(mats: &[DMatrix<f64>]) -> Vec<Box<dyn FlowMap + 'a>> {
    mats.iter().map(|a| exact_piece(a, None)).collect()
}

fn splitting<'a>(
    pieces: Vec<Box<dyn FlowMap + 'a>>,
    coefficients: SplittingCoefficients,
) -> Splitting<'a> {
    Splitting::new(pieces, coefficients, SplittingOptions::default()).expect("valid splitting")
}

/// `n` steps of size `t_end/n` from `y0` at t = 0.
fn advance_n(map: &mut dyn FlowMap, t_end: f64, n: usize, y0: &State) -> Result<State> {
    integrate_flow(map, 0.0, t_end, y0, &Steps::Fixed(n), Record::Final).map(|sol| sol.y)
}

/// Refinement study of a splitting built afresh at every level.
fn splitting_study<'a>(
    steps: Vec<usize>,
    t_end: f64,
    y0: &State,
    reference: &State,
    mut make: impl FnMut() -> Splitting<'a>,
) -> ConvergenceReport {
    ConvergenceStudy::new(steps, t_end)
        .run(reference, |n| advance_n(&mut make(), t_end, n, y0))
        .expect("the study runs")
}

// ---------------------------------------------------------------------------
// 1. One SGD epoch = one Lie–Trotter step with explicit-Euler sub-steps of
//    size h = α·m over the local flows θ' = −(1/m)∇fᵢ(θ) (THEORY §3).
//
// The two computations differ only in rounding: the sub-step computes
// θ + h·(−(1/m)·g) where SGD computes θ − α·g, a few ulps per step; the SGD
// maps are contractions here (α·λmax(Aᵢ) < 1), so after E epochs of m
// steps the relative difference is ~E·m·ε ≲ 10⁻¹⁴, and 10⁻¹³ is the bound.
// ---------------------------------------------------------------------------

struct LeastSquares {
    sum: QuadraticSum,
    theta0: State,
}

fn least_squares(seed: u64, rows: usize, p: usize, batch: usize) -> LeastSquares {
    let mut rng = StdRng::seed_from_u64(seed);
    let x = gaussian_matrix(&mut rng, rows, p);
    let y = gaussian_vector(&mut rng, rows);
    let theta0 = gaussian_vector(&mut rng, p);
    LeastSquares {
        sum: QuadraticSum::least_squares(&x, &y, batch).expect("batch divides rows"),
        theta0,
    }
}

/// max over batches of λmax(∇²fᵢ).
fn largest_batch_curvature(sum: &QuadraticSum) -> f64 {
    sum.terms()
        .iter()
        .map(|q| q.hessian_matrix().clone().symmetric_eigenvalues().max())
        .fold(0.0, f64::max)
}

/// Textbook SGD over one epoch in the given batch order.
fn sgd_epoch(sum: &QuadraticSum, alpha: f64, order: &[usize], theta: &mut State) {
    let mut g = State::zeros(theta.len());
    for &i in order {
        sum.batch_gradient(i, theta, &mut g);
        *theta -= alpha * &g;
    }
}

fn lie_euler_splitting<'a>(sum: &'a QuadraticSum, order: PieceOrder) -> Splitting<'a> {
    let pieces: Vec<Box<dyn FlowMap + 'a>> = local_flows(sum)
        .into_iter()
        .map(|lf| {
            Box::new(Integrated::new(
                lf,
                Integrator::new(Box::new(ExplicitEuler::new()), Steps::Fixed(1))
                    .expect("one sub-step"),
            )) as Box<dyn FlowMap + 'a>
        })
        .collect();
    Splitting::new(
        pieces,
        SplittingCoefficients::lie(sum.num_batches()).expect("m ≥ 1"),
        SplittingOptions {
            piece_order: order,
            ..Default::default()
        },
    )
    .expect("valid splitting")
}

#[test]
fn sgd_epoch_equals_lie_step_with_euler_substeps_fixed_order() {
    let ls = least_squares(11, 40, 6, 8);
    let m = ls.sum.num_batches();
    assert_eq!(m, 5);
    let alpha = 0.5 / largest_batch_curvature(&ls.sum);
    let h = alpha * m as f64;
    let order: Vec<usize> = (0..m).collect();

    let mut split = lie_euler_splitting(&ls.sum, PieceOrder::Fixed);
    let mut theta_split = ls.theta0.clone();
    let mut theta_sgd = ls.theta0.clone();
    for epoch in 0..8 {
        split
            .advance(epoch as f64 * h, h, &mut theta_split)
            .expect("finite");
        sgd_epoch(&ls.sum, alpha, &order, &mut theta_sgd);
        let r = rel(&theta_split, &theta_sgd);
        assert!(r <= 1e-13, "epoch {epoch}: relative difference {r:e}");
    }
    // The comparison can tell batch orders apart: the reversed epoch lands
    // elsewhere (the Aᵢ do not commute).
    let mut theta_rev = ls.theta0.clone();
    let reversed: Vec<usize> = (0..m).rev().collect();
    for _ in 0..8 {
        sgd_epoch(&ls.sum, alpha, &reversed, &mut theta_rev);
    }
    assert!(rel(&theta_rev, &theta_sgd) > 1e-6);
    // One sub-flow advance per batch and epoch, one gradient each.
    let stats = split.stats();
    assert_eq!(stats.advances, 8);
    assert_eq!(stats.f_evals, 8 * m);
}

#[test]
fn sgd_epoch_equals_lie_step_with_euler_substeps_shuffled_order() {
    let ls = least_squares(12, 40, 6, 8);
    let m = ls.sum.num_batches();
    let alpha = 0.5 / largest_batch_curvature(&ls.sum);
    let h = alpha * m as f64;
    for seed in [0_u64, 7, 2024] {
        let mut split = lie_euler_splitting(&ls.sum, PieceOrder::Shuffled { seed });
        // The documented policy: the identity 0..m shuffled every step by
        // SliceRandom::shuffle with one StdRng seeded once from `seed`.
        let mut rng = StdRng::seed_from_u64(seed);
        let mut theta_split = ls.theta0.clone();
        let mut theta_sgd = ls.theta0.clone();
        let mut orders = Vec::new();
        for epoch in 0..10 {
            let mut order: Vec<usize> = (0..m).collect();
            order.shuffle(&mut rng);
            split
                .advance(epoch as f64 * h, h, &mut theta_split)
                .expect("finite");
            sgd_epoch(&ls.sum, alpha, &order, &mut theta_sgd);
            let r = rel(&theta_split, &theta_sgd);
            assert!(r <= 1e-13, "seed {seed}, epoch {epoch}: {r:e}");
            orders.push(order);
        }
        // The shuffle really permutes: several distinct orders were visited.
        orders.sort();
        orders.dedup();
        assert!(orders.len() >= 3, "seed {seed}: orders {orders:?}");
        // And the result differs from fixed-order SGD by far more than round-off.
        let mut theta_fixed = ls.theta0.clone();
        for _ in 0..10 {
            sgd_epoch(
                &ls.sum,
                alpha,
                &(0..m).collect::<Vec<_>>(),
                &mut theta_fixed,
            );
        }
        assert!(rel(&theta_fixed, &theta_sgd) > 1e-8);
    }
}

// ---------------------------------------------------------------------------
// 2. Observed orders on non-commuting pieces (THEORY §2, §8, §10.4).
//
// Linear pieces (n = 4) with exact sub-flows against the exact flow of the
// sum, T = 1. The ladders start inside the asymptotic range (pairwise orders
// within 0.05 of theory from the first pair for Lie at h = 1/16, Strang and
// McLachlan at 1/8, within 0.2 for the fourth-order schemes at 1/4) and stop
// while the finest error is still ≥ 20× the study's round-off floor
// 10⁻¹²·max(1, ‖y(T)‖); the runs' own round-off is ~10⁻¹⁵.
// ---------------------------------------------------------------------------

struct LinearPieces {
    mats: Vec<DMatrix<f64>>,
    y0: State,
    reference: State,
    t_end: f64,
}

fn linear_pieces(seed: u64, n: usize, count: usize, t_end: f64) -> LinearPieces {
    let mut rng = StdRng::seed_from_u64(seed);
    let mats: Vec<DMatrix<f64>> = (0..count).map(|_| stable_random(&mut rng, n)).collect();
    let y0 = gaussian_vector(&mut rng, n);
    let sum = mats.iter().fold(DMatrix::zeros(n, n), |acc, a| acc + a);
    let reference = LinearSystem::new(sum, None)
        .unwrap()
        .exact(t_end, &y0)
        .unwrap();
    // Non-commuting pieces (otherwise every splitting is exact).
    for i in 0..count {
        for j in i + 1..count {
            let c = &mats[i] * &mats[j] - &mats[j] * &mats[i];
            assert!(c.norm() > 0.1 * mats[i].norm().min(mats[j].norm()) / n as f64);
        }
    }
    LinearPieces {
        mats,
        y0,
        reference,
        t_end,
    }
}

fn linear_study(
    lp: &LinearPieces,
    coefficients: &SplittingCoefficients,
    steps: Vec<usize>,
) -> ConvergenceReport {
    splitting_study(steps, lp.t_end, &lp.y0, &lp.reference, || {
        splitting(exact_pieces(&lp.mats), coefficients.clone())
    })
}

/// The schemes of the linear-pieces order tests: name, order and step ladder.
const SCHEME_CASES: [(&str, f64, &[usize]); 5] = [
    ("lie", 1.0, &[16, 32, 64, 128, 256, 512]),
    ("strang", 2.0, &[8, 16, 32, 64, 128, 256]),
    ("mclachlan2", 2.0, &[8, 16, 32, 64, 128, 256]),
    ("yoshida4", 4.0, &[4, 8, 16, 32, 64]),
    ("suzuki4", 4.0, &[4, 8, 16, 32, 64]),
];

#[test]
fn orders_of_schemes_on_two_linear_pieces() {
    let lp = linear_pieces(21, 4, 2, 1.0);
    for (name, order, steps) in SCHEME_CASES {
        let c = SplittingCoefficients::by_name(name, 2).unwrap();
        assert_eq!(c.order() as f64, order);
        let r = linear_study(&lp, &c, steps.to_vec());
        assert_eq!(
            splitting(exact_pieces(&lp.mats), c).effective_order(),
            Order::Finite(order as u32)
        );
        assert_order(&r, order, &format!("{name}, two exact linear pieces"));
    }
}

#[test]
fn orders_of_schemes_on_three_linear_pieces() {
    let lp = linear_pieces(22, 4, 3, 1.0);
    for (name, order, steps) in SCHEME_CASES {
        let c = SplittingCoefficients::by_name(name, 3).unwrap();
        let r = linear_study(&lp, &c, steps.to_vec());
        assert_order(&r, order, &format!("{name}, three exact linear pieces"));
    }
}

fn rk4_local_pieces<'a>(sum: &'a QuadraticSum, sub_steps: usize) -> Vec<Box<dyn FlowMap + 'a>> {
    local_flows(sum)
        .into_iter()
        .map(|lf| {
            Box::new(Integrated::new(
                lf,
                Integrator::new(Box::new(Rk4::new()), Steps::Fixed(sub_steps)).unwrap(),
            )) as Box<dyn FlowMap + 'a>
        })
        .collect()
}

// Two-batch least squares (m = 2, b = 10 ≥ p = 5): the local flows
// θ' = −(1/m)(Aᵢθ − bᵢ) are affine, so the gradient flow of the mean is
// θ' = −Āθ + b̄ with Ā = (A₁ + A₂)/m, b̄ = (b₁ + b₂)/m, exact by the matrix
// exponential. Rk4 sub-flows (order 4) do not limit Lie, Strang or Yoshida.
// For Yoshida with one RK4 step per sub-flow, the RK4 and splitting h⁴ terms
// nearly cancel on this problem, which leaves a long pre-asymptotic range
// (pairwise orders 3.67, 3.84, 3.92, 3.96 from h = 1/16 on); two RK4 steps per
// sub-flow make the RK4 part 16× smaller and the fit clean.
#[test]
fn orders_on_the_two_batch_least_squares_gradient_flow() {
    let ls = least_squares(31, 20, 5, 10);
    let m = ls.sum.num_batches() as f64;
    assert_eq!(m, 2.0);
    let t_end = 2.0;
    let terms = ls.sum.terms();
    let a_bar = -(terms[0].hessian_matrix() + terms[1].hessian_matrix()) / m;
    let b_bar = (terms[0].linear_term() + terms[1].linear_term()) / m;
    let reference = LinearSystem::new(a_bar, Some(b_bar))
        .unwrap()
        .exact(t_end, &ls.theta0)
        .unwrap();

    let cases: [(&str, f64, usize, Vec<usize>); 3] = [
        ("lie", 1.0, 1, vec![32, 64, 128, 256, 512]),
        ("strang", 2.0, 1, vec![8, 16, 32, 64, 128, 256]),
        ("yoshida4", 4.0, 2, vec![4, 8, 16, 32, 64, 128]),
    ];
    // Local gradient flows are dissipative: Yoshida's backward sub-step is
    // refused by default (a backward gradient flow is ill-posed) ...
    let refused = Splitting::new(
        rk4_local_pieces(&ls.sum, 2),
        SplittingCoefficients::by_name("yoshida4", 2).unwrap(),
        SplittingOptions::default(),
    );
    assert!(matches!(refused, Err(Error::InvalidParameter { .. })));
    // ... and allowed on request (over this short span the quadratic's
    // backward flow stays bounded).
    let allow = SplittingOptions {
        backward: BackwardSteps::Allow,
        ..Default::default()
    };
    for (name, order, sub, steps) in cases {
        let c = SplittingCoefficients::by_name(name, 2).unwrap();
        let r = splitting_study(steps, t_end, &ls.theta0, &reference, || {
            Splitting::new(rk4_local_pieces(&ls.sum, sub), c.clone(), allow).unwrap()
        });
        assert_order(
            &r,
            order,
            &format!("{name}, least-squares local flows, rk4 x{sub}"),
        );
    }

    // The same pieces as exact affine flows y' = −(Aᵢ/m)y + bᵢ/m.
    let exact_affine = || -> Vec<Box<dyn FlowMap>> {
        terms
            .iter()
            .map(|q| exact_piece(&(-q.hessian_matrix() / m), Some(q.linear_term() / m)))
            .collect()
    };
    let cases: [(&str, f64, Vec<usize>); 3] = [
        ("strang", 2.0, vec![8, 16, 32, 64, 128, 256]),
        ("yoshida4", 4.0, vec![4, 8, 16, 32, 64]),
        ("suzuki4", 4.0, vec![4, 8, 16, 32, 64]),
    ];
    for (name, order, steps) in cases {
        let c = SplittingCoefficients::by_name(name, 2).unwrap();
        let r = splitting_study(steps, t_end, &ls.theta0, &reference, || {
            splitting(exact_affine(), c.clone())
        });
        assert_order(
            &r,
            order,
            &format!("{name}, least-squares exact affine pieces"),
        );
    }
}

/// A pendulum x' = v, v' = −sin x plus a nonlinear, x-dependent damping
/// x' = 0, v' = −½(1 + x²)v − ⅕v³: non-commuting nonlinear pieces.
fn pendulum_piece() -> FnSystem<impl Fn(f64, &State, &mut State)> {
    FnSystem::new(2, |_t, y: &State, dy: &mut State| {
        dy[0] = y[1];
        dy[1] = -y[0].sin();
    })
}

fn damping_piece() -> FnSystem<impl Fn(f64, &State, &mut State)> {
    FnSystem::new(2, |_t, y: &State, dy: &mut State| {
        dy[0] = 0.0;
        dy[1] = -0.5 * (1.0 + y[0] * y[0]) * y[1] - 0.2 * y[1].powi(3);
    })
}

fn nonlinear_rk4_pieces() -> Vec<Box<dyn FlowMap>> {
    vec![
        Box::new(Integrated::new(
            pendulum_piece(),
            Integrator::new(Box::new(Rk4::new()), Steps::Fixed(1)).unwrap(),
        )),
        Box::new(Integrated::new(
            damping_piece(),
            Integrator::new(Box::new(Rk4::new()), Steps::Fixed(1)).unwrap(),
        )),
    ]
}

// Reference: adaptive Dormand–Prince on the summed field at tol 10⁻¹³, whose
// error (≲ 10⁻¹²) is below the finest splitting error by a factor ≥ 100.
#[test]
fn orders_on_a_nonlinear_two_piece_problem_with_rk4_subflows() {
    let (p, d) = (pendulum_piece(), damping_piece());
    let sum = FnSystem::new(2, move |t, y: &State, dy: &mut State| {
        let mut e = State::zeros(2);
        p.rhs(t, y, dy);
        d.rhs(t, y, &mut e);
        *dy += e;
    });
    let t_end = 3.0;
    let y0 = State::from_vec(vec![1.5, 0.5]);
    let reference = fine_reference(&sum, 0.0, t_end, &y0, 1e-13).unwrap();
    let cases: [(&str, f64, Vec<usize>); 3] = [
        ("lie", 1.0, vec![32, 64, 128, 256, 512]),
        ("strang", 2.0, vec![16, 32, 64, 128, 256]),
        ("yoshida4", 4.0, vec![8, 16, 32, 64, 128]),
    ];
    for (name, order, steps) in cases {
        let c = SplittingCoefficients::by_name(name, 2).unwrap();
        let r = splitting_study(steps, t_end, &y0, &reference, || {
            splitting(nonlinear_rk4_pieces(), c.clone())
        });
        assert_order(
            &r,
            order,
            &format!("{name}, nonlinear pieces with rk4 sub-flows"),
        );
    }
}

// Strang with one explicit-Euler step per sub-flow is first order: the
// sub-flow error O(h) dominates (THEORY §2). The splitting reports the
// effective order min(2, 1) = 1, and a study expecting 2 records a warning.
#[test]
fn strang_with_euler_substeps_is_first_order_and_studies_warn() {
    let lp = linear_pieces(23, 4, 2, 1.0);
    let make = || {
        let pieces = lp
            .mats
            .iter()
            .map(|a| {
                Box::new(Integrated::new(
                    LinearSystem::new(a.clone(), None).unwrap(),
                    Integrator::new(Box::new(ExplicitEuler::new()), Steps::Fixed(1)).unwrap(),
                )) as Box<dyn FlowMap>
            })
            .collect();
        splitting(pieces, SplittingCoefficients::strang(2).unwrap())
    };
    let effective = make().effective_order();
    assert_eq!(effective, Order::Finite(1));
    assert_eq!(make().order(), Order::Finite(1));
    let steps = vec![64, 128, 256, 512, 1024];
    let study = ConvergenceStudy::new(steps, lp.t_end).with_effective_order(effective);
    let run = |s: ConvergenceStudy| {
        s.run(&lp.reference, |n| {
            advance_n(&mut make(), lp.t_end, n, &lp.y0)
        })
        .unwrap()
    };
    let warned = run(study.clone().expecting(2.0));
    assert_order(&warned, 1.0, "strang with explicit-Euler sub-steps");
    assert_eq!(warned.effective_order, Some(Order::Finite(1)));
    assert!(
        warned
            .warnings
            .iter()
            .any(|w| w.contains("exceeds the method's effective order 1")),
        "{:?}",
        warned.warnings
    );
    let fine = run(study.expecting(1.0));
    assert!(fine.warnings.is_empty(), "{:?}", fine.warnings);
}

// ---------------------------------------------------------------------------
// 3. Lie local error (BCH): with A first, one step is e^{hB}e^{hA}, and
//    e^{hB}e^{hA}y − e^{h(A+B)}y = ½h²[B, A]y + O(h³).
// ---------------------------------------------------------------------------

#[test]
fn lie_local_error_is_half_h_squared_commutator() {
    let lp = linear_pieces(41, 4, 2, 1.0);
    let (a, b) = (&lp.mats[0], &lp.mats[1]);
    let y = &lp.y0;
    let full = LinearSystem::new(a + b, None).unwrap();
    let commutator_y = (b * a - a * b) * y; // [B, A]y
    let hs = [1e-1, 1e-2, 1e-3, 1e-4];
    for (order, sign) in [(PieceOrder::Fixed, 1.0), (PieceOrder::Reversed, -1.0)] {
        // Reversed visits B first: e^{hA}e^{hB}, whose error is ½h²[A, B]y.
        let mut ratios = Vec::new();
        let mut deviations = Vec::new();
        for &h in &hs {
            let mut lie = Splitting::new(
                exact_pieces(&lp.mats),
                SplittingCoefficients::lie(2).unwrap(),
                SplittingOptions {
                    piece_order: order,
                    ..Default::default()
                },
            )
            .unwrap();
            let mut y1 = y.clone();
            lie.advance(0.0, h, &mut y1).unwrap();
            let err = &y1 - full.exact(h, y).unwrap();
            let lead = &commutator_y * (0.5 * h * h * sign);
            ratios.push(err.dot(&lead) / lead.norm_squared());
            deviations.push((&err - &lead).norm() / lead.norm());
        }
        eprintln!("{order:?}: h {hs:?}, ratios {ratios:?}, relative deviations {deviations:?}");
        // The remainder is O(h³), so the relative deviation from the leading
        // term is O(h): tenfold smaller per decade of h once h‖A‖, h‖B‖ ≪ 1
        // (h ≤ 1e-2 here; at h = 0.1 it is merely smaller).
        assert!(deviations[1] < deviations[0], "{deviations:?}");
        for w in deviations[1..].windows(2) {
            let slope = (w[0] / w[1]).log10();
            assert!((slope - 1.0).abs() < 0.15, "{order:?}: {deviations:?}");
        }
        // The projection on the leading term tends to 1 at the same rate.
        let last = hs.len() - 1;
        assert!(deviations[last] < 1e-3, "{deviations:?}");
        assert!((ratios[last] - 1.0).abs() < 1e-3, "{ratios:?}");
    }
}

// ---------------------------------------------------------------------------
// 4. Nesting: a splitting is a flow map, so it can be a piece. The sequence of
//    Strang(A, Strang(B, C)) is A/2, B/2, C, B/2, A/2 — that of Strang over
//    (A, B, C) — with the same sub-step sizes in floating point (0.5·h and
//    1.0·h), so the two agree to round-off. Lie pieces inside Strang break
//    the symmetry: Strang(Lie(A, B), C) is first order.
// ---------------------------------------------------------------------------

#[test]
fn strang_of_strang_equals_three_piece_strang_and_is_second_order() {
    let lp = linear_pieces(51, 4, 3, 1.0);
    let nested = || {
        let inner = splitting(
            exact_pieces(&lp.mats[1..]),
            SplittingCoefficients::strang(2).unwrap(),
        );
        splitting(
            vec![
                exact_piece(&lp.mats[0], None),
                Box::new(inner) as Box<dyn FlowMap>,
            ],
            SplittingCoefficients::strang(2).unwrap(),
        )
    };
    let flat = || {
        splitting(
            exact_pieces(&lp.mats),
            SplittingCoefficients::strang(3).unwrap(),
        )
    };
    assert_eq!(nested().effective_order(), Order::Finite(2));
    for n in [1, 3, 10, 40] {
        let a = advance_n(&mut nested(), lp.t_end, n, &lp.y0).unwrap();
        let b = advance_n(&mut flat(), lp.t_end, n, &lp.y0).unwrap();
        let r = rel(&a, &b);
        assert!(r <= 1e-14, "n = {n}: relative difference {r:e}");
    }
    let r = splitting_study(
        vec![8, 16, 32, 64, 128, 256],
        lp.t_end,
        &lp.y0,
        &lp.reference,
        nested,
    );
    assert_order(&r, 2.0, "strang(A, strang(B, C))");

    let lie_inside = || {
        let inner = splitting(
            exact_pieces(&lp.mats[..2]),
            SplittingCoefficients::lie(2).unwrap(),
        );
        splitting(
            vec![
                Box::new(inner) as Box<dyn FlowMap>,
                exact_piece(&lp.mats[2], None),
            ],
            SplittingCoefficients::strang(2).unwrap(),
        )
    };
    assert_eq!(lie_inside().effective_order(), Order::Finite(1));
    let r = splitting_study(
        vec![32, 64, 128, 256, 512],
        lp.t_end,
        &lp.y0,
        &lp.reference,
        lie_inside,
    );
    assert_order(&r, 1.0, "strang(lie(A, B), C)");
}

// Piece-order policies: Lie with the palindromic policy visits A, B then
// B, A, so two steps of size h are e^{hA}e^{2hB}e^{hA} (e^{hB}e^{hB} = e^{2hB}
// for exact flows) = one Strang step of size 2h, to round-off; and the pair
// makes the scheme second order over even step counts.
#[test]
fn palindromic_lie_pairs_are_strang_steps() {
    let lp = linear_pieces(52, 4, 2, 1.0);
    let lie = || {
        Splitting::new(
            exact_pieces(&lp.mats),
            SplittingCoefficients::lie(2).unwrap(),
            SplittingOptions {
                piece_order: PieceOrder::Palindromic,
                ..Default::default()
            },
        )
        .unwrap()
    };
    let strang = || {
        splitting(
            exact_pieces(&lp.mats),
            SplittingCoefficients::strang(2).unwrap(),
        )
    };
    for n in [1, 5, 20] {
        let a = advance_n(&mut lie(), lp.t_end, 2 * n, &lp.y0).unwrap();
        let b = advance_n(&mut strang(), lp.t_end, n, &lp.y0).unwrap();
        let r = rel(&a, &b);
        assert!(r <= 1e-13, "n = {n}: {r:e}");
    }
    let r = splitting_study(
        vec![16, 32, 64, 128, 256, 512],
        lp.t_end,
        &lp.y0,
        &lp.reference,
        lie,
    );
    assert_order(
        &r,
        2.0,
        "lie with palindromic piece order (even step counts)",
    );
}

// ---------------------------------------------------------------------------
// 6. Merkulov's limit (THEORY §4, §10.5): for Aᵢ = −XᵢᵀXᵢ,
//    e^{tAᵢ} = Πᵢ + Qᵢe^{tBᵢ}Qᵢᵀ → Πᵢ = I − QᵢQᵢᵀ, so
//    ‖e^{A₂t}e^{A₁t} − e^{At}‖₂ → ‖Π₂Π₁‖₂ as t → ∞.
//
// Quantitatively (‖e^{Aᵢt}‖, ‖Πᵢ‖ ≤ 1): the gap between the two norms is at
// most ‖e^{A₂t} − Π₂‖ + ‖e^{A₁t} − Π₁‖ + ‖e^{At}‖ = e^{−μ₂t} + e^{−μ₁t} +
// e^{−λt}, μᵢ the smallest non-zero eigenvalue of XᵢᵀXᵢ and λ that of XᵀX.
// For a square Gaussian X, λ = σmin(X)² is O(1/n) (here ≈ 8e-3), so e^{At}
// needs t ≫ 1/λ ≈ 120 to vanish: the ladder runs to t = 10⁴. The null
// eigenvalues of Aᵢ come out of the eigensolver as ±O(ε‖Aᵢ‖), so e^{wt} is 1
// only to ~ε‖A‖t: that round-off allowance is added to the bound.
// ---------------------------------------------------------------------------

/// `e^{tM}` for symmetric `M = V diag(w) Vᵀ`.
fn sym_exp(eig: &SymmetricEigen<f64, nalgebra::Dyn>, t: f64) -> DMatrix<f64> {
    let d = eig.eigenvalues.map(|w| (w * t).exp());
    &eig.eigenvectors * DMatrix::from_diagonal(&d) * eig.eigenvectors.transpose()
}

#[test]
fn merkulov_limit_two_batches_of_a_random_100_by_100_system() {
    let n = 100;
    let mut rng = StdRng::seed_from_u64(61);
    let x = gaussian_matrix(&mut rng, n, n);
    let (x1, x2) = (x.rows(0, 50).into_owned(), x.rows(50, 50).into_owned());
    let a1 = -(x1.transpose() * &x1);
    let a2 = -(x2.transpose() * &x2);
    let a = &a1 + &a2;
    let (e1, e2, e) = (
        SymmetricEigen::new(a1.clone()),
        SymmetricEigen::new(a2.clone()),
        SymmetricEigen::new(a.clone()),
    );
    // The eigen-decomposition exponential agrees with nalgebra's Padé `exp`.
    let t_small = 1e-2;
    let pade = (&a1 * t_small).exp();
    assert!((sym_exp(&e1, t_small) - &pade).norm() <= 1e-12 * pade.norm());

    let projector = |xi: &DMatrix<f64>| {
        let q = xi.transpose().qr().q(); // thin: 100×50
        assert_eq!(q.shape(), (n, 50));
        DMatrix::identity(n, n) - &q * q.transpose()
    };
    let (pi1, pi2) = (projector(&x1), projector(&x2));
    let limit = spectral_norm(&(&pi2 * &pi1));

    // Decay rates of the three exponentials towards their limits.
    let smallest_nonzero = |eig: &SymmetricEigen<f64, nalgebra::Dyn>| {
        let mut w: Vec<f64> = eig.eigenvalues.iter().map(|v| -v).collect();
        w.sort_by(f64::total_cmp);
        w[50] // 50 zero eigenvalues (rank 50), then the non-zero ones
    };
    let (mu1, mu2) = (smallest_nonzero(&e1), smallest_nonzero(&e2));
    let lambda = -e.eigenvalues.max();
    eprintln!("‖Π₂Π₁‖ = {limit:.15}, μ₁ = {mu1:.4}, μ₂ = {mu2:.4}, λmin(XᵀX) = {lambda:.4e}");

    let ts = [1.0, 10.0, 100.0, 1e3, 1e4];
    let a_norm = spectral_norm(&a);
    let mut gaps = Vec::new();
    for &t in &ts {
        let product = sym_exp(&e2, t) * sym_exp(&e1, t);
        let norm = spectral_norm(&(product - sym_exp(&e, t)));
        let gap = (norm - limit).abs();
        let bound = (-mu1 * t).exp() + (-mu2 * t).exp() + (-lambda * t).exp();
        eprintln!(
            "t = {t:e}: ‖e^(A₂t)e^(A₁t) − e^(At)‖ = {norm:.15}, gap {gap:.3e}, bound {bound:.3e}"
        );
        let roundoff = 100.0 * f64::EPSILON * a_norm * t.max(1.0);
        assert!(
            gap <= bound + roundoff,
            "t = {t}: gap {gap:e} above the bound {bound:e} + {roundoff:e}"
        );
        gaps.push(gap);
    }
    for w in gaps.windows(2) {
        assert!(w[1] < w[0], "gaps {gaps:?}");
    }
    let last = gaps[gaps.len() - 1];
    assert!(last <= 1e-6 * limit, "gaps {gaps:?}");
}

// ---------------------------------------------------------------------------
// 8. Bad input gives clear, structured errors.
// ---------------------------------------------------------------------------

fn invalid_name<T>(r: Result<T>) -> (String, String) {
    match r {
        Err(Error::InvalidParameter { name, reason, .. }) => (name, reason),
        Err(e) => panic!("expected InvalidParameter, got {e:?}"),
        Ok(_) => panic!("expected InvalidParameter, got Ok"),
    }
}

#[test]
fn splitting_construction_errors_name_the_culprit() {
    let two = DMatrix::<f64>::identity(2, 2) * -1.0;
    let three = DMatrix::<f64>::identity(3, 3) * -1.0;

    // Pieces of different dimensions: the mismatch names the piece.
    let r = Splitting::new(
        vec![
            exact_piece(&two, None),
            exact_piece(&two, None),
            exact_piece(&three, None),
        ],
        SplittingCoefficients::lie(3).unwrap(),
        SplittingOptions::default(),
    );
    match r {
        Err(Error::DimensionMismatch {
            what,
            expected,
            found,
        }) => {
            assert!(what.contains("piece 2"), "{what}");
            assert_eq!((expected, found), (2, 3));
        }
        other => panic!("{:?}", other.err()),
    }

    // No pieces.
    let (name, _) = invalid_name(Splitting::new(
        Vec::new(),
        SplittingCoefficients::lie(1).unwrap(),
        SplittingOptions::default(),
    ));
    assert_eq!(name, "pieces");
    let (name, _) = invalid_name(SplittingCoefficients::strang(0));
    assert_eq!(name, "pieces");

    // Coefficients for a different number of pieces.
    let (name, reason) = invalid_name(Splitting::new(
        exact_pieces(&[two.clone(), two.clone()]),
        SplittingCoefficients::strang(3).unwrap(),
        SplittingOptions::default(),
    ));
    assert_eq!(name, "coefficients");
    assert!(
        reason.contains("3 pieces") && reason.contains("2 were given"),
        "{reason}"
    );

    // A wrong-length state.
    let mut s = splitting(
        exact_pieces(&[two.clone(), two.clone()]),
        SplittingCoefficients::lie(2).unwrap(),
    );
    match s.advance(0.0, 0.1, &mut State::zeros(3)) {
        Err(Error::DimensionMismatch {
            expected: 2,
            found: 3,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn custom_coefficients_are_validated() {
    // Fractions of a piece not summing to 1 (inconsistent scheme).
    let (name, reason) = invalid_name(SplittingCoefficients::custom(
        "bad",
        2,
        1,
        vec![(0, 0.5), (1, 1.0)],
    ));
    assert_eq!(name, "fractions of piece 0");
    assert!(reason.contains("sum to 1"), "{reason}");
    // A piece left out sums to 0.
    let (name, _) = invalid_name(SplittingCoefficients::custom("bad", 2, 1, vec![(0, 1.0)]));
    assert_eq!(name, "fractions of piece 1");
    // Piece index out of range.
    let (name, reason) = invalid_name(SplittingCoefficients::custom(
        "bad",
        2,
        1,
        vec![(0, 1.0), (2, 1.0)],
    ));
    assert_eq!(name, "sequence[1].piece");
    assert!(reason.contains("below the number of pieces 2"), "{reason}");
    // NaN and infinite fractions.
    for bad in [f64::NAN, f64::INFINITY] {
        let (name, _) = invalid_name(SplittingCoefficients::custom(
            "bad",
            2,
            1,
            vec![(0, 1.0), (1, bad)],
        ));
        assert_eq!(name, "sequence[1].fraction");
    }
    // Empty sequence, order 0.
    let (name, _) = invalid_name(SplittingCoefficients::custom("bad", 1, 1, vec![]));
    assert_eq!(name, "sequence");
    let (name, _) = invalid_name(SplittingCoefficients::custom("bad", 1, 0, vec![(0, 1.0)]));
    assert_eq!(name, "order");
    // A valid custom scheme merges adjacent sub-flows of the same piece.
    let ok =
        SplittingCoefficients::custom("ok", 2, 1, vec![(0, 0.25), (0, 0.75), (1, 1.0)]).unwrap();
    assert_eq!(ok.sequence(), &[(0, 1.0), (1, 1.0)]);
}

#[test]
fn backward_substeps_on_dissipative_pieces_need_consent() {
    let lp = linear_pieces(71, 3, 2, 1.0);
    let pieces = |dissipative: bool| -> Vec<Box<dyn FlowMap>> {
        lp.mats
            .iter()
            .enumerate()
            .map(|(j, a)| {
                Box::new(
                    Integrated::new(
                        LinearSystem::new(a.clone(), None).unwrap(),
                        Integrator::new(Box::new(Rk4::new()), Steps::Fixed(1)).unwrap(),
                    )
                    .dissipative(dissipative && j == 1),
                ) as Box<dyn FlowMap>
            })
            .collect()
    };
    for scheme in ["yoshida4", "suzuki4"] {
        let c = SplittingCoefficients::by_name(scheme, 2).unwrap();
        assert!(c.has_backward_steps());
        let (name, reason) = invalid_name(Splitting::new(
            pieces(true),
            c.clone(),
            SplittingOptions::default(),
        ));
        assert_eq!(name, "coefficients");
        assert!(reason.contains("piece 1 is dissipative"), "{reason}");
        // Consent, or no dissipative piece: accepted.
        let allowed = SplittingOptions {
            backward: BackwardSteps::Allow,
            ..Default::default()
        };
        assert!(
            Splitting::new(pieces(true), c.clone(), allowed)
                .unwrap()
                .is_dissipative()
        );
        assert!(Splitting::new(pieces(false), c, SplittingOptions::default()).is_ok());
    }
    // Forward-only schemes are fine on dissipative pieces.
    for scheme in ["lie", "strang", "mclachlan2"] {
        let c = SplittingCoefficients::by_name(scheme, 2).unwrap();
        assert!(!c.has_backward_steps());
        assert!(Splitting::new(pieces(true), c, SplittingOptions::default()).is_ok());
    }
}

/// A flow map that silently writes NaN (no stepper check of its own).
struct Poison;

impl FlowMap for Poison {
    fn dim(&self) -> usize {
        2
    }
    fn advance(&mut self, _t: f64, _h: f64, y: &mut State) -> Result<()> {
        y[1] = f64::NAN;
        Ok(())
    }
    fn order(&self) -> Order {
        Order::Exact
    }
    fn stats(&self) -> FlowStats {
        FlowStats::default()
    }
    fn name(&self) -> String {
        "poison".into()
    }
}

#[test]
fn a_piece_producing_nan_is_named_in_the_error() {
    let decay = DMatrix::<f64>::identity(2, 2) * -1.0;
    // A stepper-integrated piece whose field is NaN: the stepper reports it,
    // and the splitting adds the piece index.
    let nan_field = FnSystem::new(2, |t, _y: &State, dy: &mut State| {
        dy.fill(if t > 0.25 { f64::NAN } else { 0.0 })
    });
    let mut s = splitting(
        vec![
            exact_piece(&decay, None),
            Box::new(Integrated::new(
                nan_field,
                Integrator::new(Box::new(Rk4::new()), Steps::Fixed(1)).unwrap(),
            )),
        ],
        SplittingCoefficients::strang(2).unwrap(),
    );
    let mut y = State::from_vec(vec![1.0, 1.0]);
    let h = 0.2;
    let mut failed = None;
    for k in 0..5 {
        if let Err(e) = s.advance(k as f64 * h, h, &mut y) {
            failed = Some((k, e));
            break;
        }
    }
    match failed {
        Some((
            k,
            Error::NonFinite {
                what, t: Some(t), ..
            },
        )) => {
            assert!(what.starts_with("piece 1 (rk4"), "{what}");
            // The first step whose rk4 stages reach t > 0.25 is the second.
            assert_eq!(k, 1);
            assert!(t > 0.25 && t <= 0.4 + 1e-15, "t = {t}");
        }
        other => panic!("{other:?}"),
    }

    // A flow map that writes NaN without complaint is caught at its output.
    let mut s = splitting(
        vec![
            exact_piece(&decay, None),
            Box::new(Poison) as Box<dyn FlowMap>,
        ],
        SplittingCoefficients::lie(2).unwrap(),
    );
    let mut y = State::from_vec(vec![1.0, 1.0]);
    match s.advance(0.0, 0.1, &mut y) {
        Err(Error::NonFinite {
            what,
            t: Some(t),
            kind,
        }) => {
            assert_eq!(kind, NonFiniteKind::State);
            assert_eq!(what, "piece 1 (poison) output");
            assert!((t - 0.1).abs() < 1e-15);
        }
        other => panic!("{other:?}"),
    }

    // Nested: the outer error names both levels.
    let inner = splitting(
        vec![
            exact_piece(&decay, None),
            Box::new(Poison) as Box<dyn FlowMap>,
        ],
        SplittingCoefficients::lie(2).unwrap(),
    );
    let mut outer = splitting(
        vec![
            exact_piece(&decay, None),
            Box::new(inner) as Box<dyn FlowMap>,
        ],
        SplittingCoefficients::strang(2).unwrap(),
    );
    let mut y = State::from_vec(vec![1.0, 1.0]);
    match outer.advance(0.0, 0.1, &mut y) {
        Err(Error::NonFinite { what, .. }) => {
            assert!(
                what.starts_with("piece 1 (lie splitting of 2 pieces): piece 1 (poison)"),
                "{what}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn integrated_needs_at_least_one_substep() {
    let decay = LinearSystem::new(DMatrix::identity(2, 2) * -1.0, None).unwrap();
    let (name, _) = invalid_name(
        Integrator::new(Box::new(Rk4::new()), Steps::Fixed(0))
            .map(|i| Integrated::new(decay.clone(), i)),
    );
    assert_eq!(name, "steps");
    // Adaptive sub-steps need an embedded error estimate.
    let (name, _) = invalid_name(
        Integrator::new(Box::new(Rk4::new()), Steps::Adaptive(Default::default()))
            .map(|i| Integrated::new(decay, i)),
    );
    assert_eq!(name, "stepper");
}
