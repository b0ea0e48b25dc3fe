//! Every optimizer of `splitflow::optimizers` equals its textbook update.
//!
//! Each identity runs the library optimizer (built from its ODE, scheme and
//! parameter map) next to a reference implementation written here on plain
//! `Vec<f64>` from the textbook formula (the library never calls it), on
//! seeded random problems with seeded random hyper-parameters, and compares
//! the whole trajectory. Gradients of the references are computed here too,
//! from the raw data (rows of X and y, or the entries of A and b), not through
//! the library's objectives.

use approx::{abs_diff_eq, assert_abs_diff_eq, assert_relative_eq, relative_eq};
use nalgebra::{DMatrix, DVector};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use splitflow::error::NonFiniteKind;
use splitflow::objective::{Objective, Quadratic, QuadraticSum};
use splitflow::optimizers::{
    AdaGrad, AdaMax, Adadelta, Adam, AdamParameters, AdamW, AmsGrad, BatchOracle, DecayScheme,
    EpsPlacement, FnOracle, GradientDescent, GradientOracle, GradientScheme, HeavyBallScheme,
    ImplicitOptions, Momentum, Nadam, Nag, NagFriction, ObjectiveOracle, Optimizer, RmsProp,
};
use splitflow::{Error, State};

use crate::common::{TrajectoryGap, compare_trajectories, gaussian_matrix, gaussian_vector};

/// Steps per trajectory comparison (at least 200 are required).
const STEPS: usize = 300;

/// Trajectory tolerance on max_k ‖θ_lib,k − θ_ref,k‖∞ / max(1, ‖θ_ref,k‖∞).
/// Library and reference evaluate the same formulas in different orders
/// (gemv on Aᵢ = XᵢᵀXᵢ/b against row sums Xᵢᵀ(Xᵢθ − yᵢ)/b; the ODE velocity
/// w = Δx/h against the Polyak difference Δx), so each step differs by a few
/// ulps, and the iterations are stable, so 300 steps accumulate well under
/// 1e-13 (observed values are printed); a wrong formula or parameter map
/// differs at O(lr·γh) ≳ 1e-4 (the negative controls below check this).
const TOL: f64 = 1e-12;

/// Smallest difference a *wrong* map must produce for a negative control to
/// count as detected: 1000 × `TOL`, so a wrong formula could never pass the
/// identity check. (Observed control differences are 1e-8…1e-1; the small
/// ones come from the adaptive tests' far-started quadratic, where every
/// difference is relative to ‖θ‖∞ ≈ 1e3.)
const CONTROL: f64 = 1e-9;

// ---------------------------------------------------------------------------
// Plain-vector helpers.

/// `n` independent N(0, 1) entries as a plain vector ([`gaussian_vector`]).
fn randn_vec(rng: &mut StdRng, n: usize) -> Vec<f64> {
    gaussian_vector(rng, n).as_slice().to_vec()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn mat_vec(a: &[Vec<f64>], x: &[f64]) -> Vec<f64> {
    a.iter().map(|row| dot(row, x)).collect()
}

/// ‖v‖₂ computed as ‖v‖∞·‖v/‖v‖∞‖₂: no underflow of the squares when
/// the entries are ~1e-170 (the Polyak test follows the error that far).
fn scaled_norm(v: &State) -> f64 {
    let m = v.amax();
    if m == 0.0 { 0.0 } else { m * (v / m).norm() }
}

fn to_vec(s: &State) -> Vec<f64> {
    s.as_slice().to_vec()
}

/// Compares two trajectories of at least 200 steps with [`compare_trajectories`]
/// at tolerance `tol` on ‖a_k − b_k‖∞ / max(1, ‖b_k‖∞).
fn gap(a: &[Vec<f64>], b: &[Vec<f64>], tol: f64) -> TrajectoryGap {
    assert!(a.len() >= 200, "only {} steps compared", a.len());
    compare_trajectories(a, b, tol, 1.0)
}

/// Asserts a trajectory identity and prints the observed difference.
fn assert_same(what: &str, lib: &[Vec<f64>], reference: &[Vec<f64>]) -> f64 {
    let g = gap(lib, reference, TOL);
    eprintln!("{what}: max relative difference {:.3e}", g.worst);
    assert!(
        g.agree,
        "{what}: max relative difference {:e} > {TOL:e} at step {}",
        g.worst, g.step
    );
    g.worst
}

/// Asserts that two trajectories that must differ (a wrong map) do.
fn assert_differ(what: &str, a: &[Vec<f64>], b: &[Vec<f64>]) {
    let g = gap(a, b, CONTROL);
    eprintln!(
        "{what} (negative control): max relative difference {:.3e}",
        g.worst
    );
    assert!(
        !g.agree,
        "{what}: a wrong map is indistinguishable ({:e} ≤ {CONTROL:e}), so the identity test has no power",
        g.worst
    );
}

fn hyper(opt: &dyn Optimizer, name: &str) -> f64 {
    opt.hyper_parameters()
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("{} has no hyper-parameter {name}", opt.name()))
        .1
}

// ---------------------------------------------------------------------------
// Test problems, known both to the library and (as raw data) to the references.

/// A test problem.
enum Problem {
    /// f(θ) = ½θᵀAθ − bᵀθ with A symmetric positive definite (deterministic).
    Quad {
        a: Vec<Vec<f64>>,
        b: Vec<f64>,
        lib: Quadratic,
    },
    /// The least-squares finite sum fᵢ(θ) = (1/(2·batch))‖Xᵢθ − yᵢ‖² over
    /// consecutive row batches; step k (0-based) uses batch k mod m.
    LeastSquares {
        x: Vec<Vec<f64>>,
        y: Vec<f64>,
        batch: usize,
        lib: QuadraticSum,
    },
}

impl Problem {
    /// A random SPD quadratic: A = MᵀM/p + 0.1·I, b ~ N(0, I).
    fn random_quadratic(rng: &mut StdRng, p: usize) -> Problem {
        let m = gaussian_matrix(rng, p, p);
        let a = m.transpose() * &m / p as f64 + DMatrix::identity(p, p) * 0.1;
        let a = (&a + a.transpose()) * 0.5;
        let b = randn_vec(rng, p);
        let rows = (0..p)
            .map(|i| (0..p).map(|j| a[(i, j)]).collect())
            .collect();
        let lib = Quadratic::new(a, DVector::from_vec(b.clone())).expect("valid quadratic");
        Problem::Quad { a: rows, b, lib }
    }

    /// A random least-squares finite sum with p unknowns, `batches` batches of
    /// `batch` rows each, X and y standard normal.
    fn random_least_squares(rng: &mut StdRng, p: usize, batch: usize, batches: usize) -> Problem {
        let n = batch * batches;
        let x: Vec<Vec<f64>> = (0..n).map(|_| randn_vec(rng, p)).collect();
        let y = randn_vec(rng, n);
        let xm = DMatrix::from_fn(n, p, |i, j| x[i][j]);
        let lib = QuadraticSum::least_squares(&xm, &DVector::from_vec(y.clone()), batch)
            .expect("valid least squares");
        Problem::LeastSquares { x, y, batch, lib }
    }

    fn dim(&self) -> usize {
        match self {
            Problem::Quad { b, .. } => b.len(),
            Problem::LeastSquares { x, .. } => x[0].len(),
        }
    }

    fn num_batches(&self) -> usize {
        match self {
            Problem::Quad { .. } => 1,
            Problem::LeastSquares { x, batch, .. } => x.len() / batch,
        }
    }

    /// Textbook gradient at step k (0-based): Aθ − b, or
    /// (1/batch)·Xᵢᵀ(Xᵢθ − yᵢ) with i = k mod m, from the raw rows.
    fn grad(&self, k: usize, theta: &[f64]) -> Vec<f64> {
        match self {
            Problem::Quad { a, b, .. } => mat_vec(a, theta)
                .iter()
                .zip(b)
                .map(|(ax, bi)| ax - bi)
                .collect(),
            Problem::LeastSquares { x, y, batch, .. } => {
                let i = k % self.num_batches();
                let mut g = vec![0.0; theta.len()];
                for r in i * batch..(i + 1) * batch {
                    let res = dot(&x[r], theta) - y[r];
                    for (gj, xj) in g.iter_mut().zip(&x[r]) {
                        *gj += res * xj / *batch as f64;
                    }
                }
                g
            }
        }
    }

    /// (Aᵢ, bᵢ) of the quadratic of step k's batch, built from the raw data
    /// (for least squares Aᵢ = XᵢᵀXᵢ/batch, bᵢ = Xᵢᵀyᵢ/batch).
    fn batch_quadratic(&self, k: usize) -> (DMatrix<f64>, DVector<f64>) {
        match self {
            Problem::Quad { a, b, .. } => (
                DMatrix::from_fn(b.len(), b.len(), |i, j| a[i][j]),
                DVector::from_vec(b.clone()),
            ),
            Problem::LeastSquares { x, y, batch, .. } => {
                let p = self.dim();
                let i = k % self.num_batches();
                let mut am = DMatrix::zeros(p, p);
                let mut bv = DVector::zeros(p);
                for r in i * batch..(i + 1) * batch {
                    for j in 0..p {
                        bv[j] += y[r] * x[r][j] / *batch as f64;
                        for l in 0..p {
                            am[(j, l)] += x[r][j] * x[r][l] / *batch as f64;
                        }
                    }
                }
                (am, bv)
            }
        }
    }

    /// L = max over batches of λ_max(Aᵢ) (the Lipschitz constant of the
    /// batch gradients), used to scale random learning rates.
    fn lipschitz(&self) -> f64 {
        (0..self.num_batches())
            .map(|k| {
                let (a, _) = self.batch_quadratic(k);
                a.symmetric_eigenvalues().max()
            })
            .fold(0.0, f64::max)
    }

    /// The library trajectory θ₁, …, θ_steps of `opt` from θ₀ (for least
    /// squares, a `BatchOracle` cycling the batches 0, 1, …, m − 1, 0, …).
    fn run(&self, opt: &mut dyn Optimizer, theta0: &[f64], steps: usize) -> Vec<Vec<f64>> {
        let mut theta = State::from_vec(theta0.to_vec());
        let mut traj = Vec::with_capacity(steps);
        match self {
            Problem::Quad { lib, .. } => {
                let mut oracle = ObjectiveOracle(lib);
                for _ in 0..steps {
                    opt.step(&mut theta, &mut oracle).expect("step succeeds");
                    traj.push(to_vec(&theta));
                }
            }
            Problem::LeastSquares { lib, .. } => {
                let mut oracle = BatchOracle::new(lib);
                let m = self.num_batches();
                for k in 0..steps {
                    oracle.set_batch(k % m).expect("valid batch");
                    opt.step(&mut theta, &mut oracle).expect("step succeeds");
                    traj.push(to_vec(&theta));
                }
            }
        }
        assert_eq!(opt.steps_taken(), steps);
        traj
    }

    /// The library objective of a [`Problem::Quad`].
    fn quadratic(&self) -> &Quadratic {
        let Problem::Quad { lib, .. } = self else {
            panic!("not a quadratic problem")
        };
        lib
    }

    fn label(&self) -> &'static str {
        match self {
            Problem::Quad { .. } => "quadratic",
            Problem::LeastSquares { .. } => "stochastic least squares",
        }
    }
}

/// A random problem pair for trial `t`: an SPD quadratic and a least-squares
/// finite sum with enough rows for full rank.
fn random_problems(rng: &mut StdRng) -> [Problem; 2] {
    let p = rng.random_range(4..=10);
    let q = Problem::random_quadratic(rng, p);
    let (ls, _, _) = random_batched_least_squares(rng, 2..=4);
    [q, ls]
}

/// A random least-squares finite sum with p ∈ [3, 8] unknowns, a batch size
/// drawn from `batch`, and 1–3 batches more than full rank needs; returns it
/// with p and the number of batches.
fn random_batched_least_squares(
    rng: &mut StdRng,
    batch: std::ops::RangeInclusive<usize>,
) -> (Problem, usize, usize) {
    let p: usize = rng.random_range(3..=8);
    let batch = rng.random_range(batch);
    let batches = p.div_ceil(batch) + rng.random_range(1..=3);
    (
        Problem::random_least_squares(rng, p, batch, batches),
        p,
        batches,
    )
}

/// Runs `body(rng, trial, problem)` on `trials` random problem pairs drawn
/// from `StdRng::seed_from_u64(seed)`, each returning its worst observed
/// difference, and prints the worst of all under `name`.
fn on_random_problems(
    seed: u64,
    trials: usize,
    name: &str,
    mut body: impl FnMut(&mut StdRng, usize, &Problem) -> f64,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut worst: f64 = 0.0;
    for trial in 0..trials {
        for prob in random_problems(&mut rng) {
            worst = worst.max(body(&mut rng, trial, &prob));
        }
    }
    eprintln!("{name}: worst {worst:.3e}");
}

/// A random (lr, μ) for trial `trial` on `prob`: lr·L ∈ [0.05, 0.5] and
/// μ ∈ [0, 0.95), stable for every batch map; μ = 0 in trial 0.
fn random_lr_momentum(rng: &mut StdRng, trial: usize, prob: &Problem) -> (f64, f64) {
    let lr = rng.random_range(0.05..0.5) / prob.lipschitz();
    let mu = if trial == 0 {
        0.0
    } else {
        rng.random_range(0.0..0.95)
    };
    (lr, mu)
}

/// Asserts that every pair of the named trajectories `runs` is the same
/// ([`assert_same`], labelled "`what`: a vs b"); returns the worst difference.
fn assert_all_pairs(what: &str, runs: &[(&str, Vec<Vec<f64>>)]) -> f64 {
    let mut worst: f64 = 0.0;
    for i in 0..runs.len() {
        for j in i + 1..runs.len() {
            worst = worst.max(assert_same(
                &format!("{what}: {} vs {}", runs[i].0, runs[j].0),
                &runs[i].1,
                &runs[j].1,
            ));
        }
    }
    worst
}

/// Asserts that one step of `opt` with an oracle that reports dimension
/// p + 1 for θ ∈ ℝᵖ (θ = 1) is a dimension mismatch that leaves θ unchanged;
/// returns θ.
fn assert_wrong_dimension_refused(opt: &mut dyn Optimizer, p: usize) -> State {
    let name = opt.name();
    let mut oracle = FnOracle::new(p + 1, |theta: &State, g: &mut State| g.copy_from(theta));
    let mut theta = DVector::from_element(p, 1.0);
    let r = opt.step(&mut theta, &mut oracle);
    assert!(
        matches!(&r, Err(Error::DimensionMismatch { expected, found, .. }) if *expected == p && *found == p + 1),
        "{name}: {r:?}"
    );
    assert_eq!(theta, DVector::from_element(p, 1.0), "{name}: θ changed");
    theta
}

// ---------------------------------------------------------------------------
// Textbook reference implementations (plain Vec<f64>).

/// θ₁, …, θ_steps of a textbook method whose step k (0-based) updates θ in
/// place from the gradient at θ of step k's batch: `update(k, θ, g)`.
fn ref_run(
    prob: &Problem,
    theta0: &[f64],
    steps: usize,
    mut update: impl FnMut(usize, &mut [f64], Vec<f64>),
) -> Vec<Vec<f64>> {
    let mut theta = theta0.to_vec();
    (0..steps)
        .map(|k| {
            let g = prob.grad(k, &theta);
            update(k, &mut theta, g);
            theta.clone()
        })
        .collect()
}

/// SGD: θ ← θ − lr·∇f_{i_k}(θ).
fn ref_sgd(prob: &Problem, theta0: &[f64], lr: f64, steps: usize) -> Vec<Vec<f64>> {
    ref_run(prob, theta0, steps, |_, theta, g| {
        for (t, gi) in theta.iter_mut().zip(&g) {
            *t -= lr * gi;
        }
    })
}

/// Implicit SGD on a quadratic batch: the proximal step
/// θ₊ = argmin ½zᵀAᵢz − bᵢᵀz + ‖z − θ‖²/(2lr), i.e. (I + lr·Aᵢ)θ₊ = θ + lr·bᵢ,
/// solved by LU.
fn ref_implicit_sgd(prob: &Problem, theta0: &[f64], lr: f64, steps: usize) -> Vec<Vec<f64>> {
    let p = theta0.len();
    let mut theta = theta0.to_vec();
    (0..steps)
        .map(|k| {
            let (a, b) = prob.batch_quadratic(k);
            let m = DMatrix::identity(p, p) + a * lr;
            let rhs = DVector::from_fn(p, |j, _| theta[j] + lr * b[j]);
            let sol = m.lu().solve(&rhs).expect("I + lr·A is nonsingular");
            theta = sol.as_slice().to_vec();
            theta.clone()
        })
        .collect()
}

/// RK4 on θ' = −(Aθ − b): the error e = θ − θ* is multiplied by the RK4
/// stability polynomial, e₊ = (I − hA + h²A²/2 − h³A³/6 + h⁴A⁴/24)e.
fn ref_rk4_polynomial(prob: &Problem, theta0: &[f64], h: f64, steps: usize) -> Vec<Vec<f64>> {
    let Problem::Quad { a, b, .. } = prob else {
        panic!("RK4 reference needs a quadratic")
    };
    let p = b.len();
    let am = DMatrix::from_fn(p, p, |i, j| a[i][j]);
    let star = am
        .lu()
        .solve(&DVector::from_vec(b.clone()))
        .expect("A is SPD");
    let mut e: Vec<f64> = (0..p).map(|j| theta0[j] - star[j]).collect();
    let coef = [-h, h * h / 2.0, -h * h * h / 6.0, h * h * h * h / 24.0];
    (0..steps)
        .map(|_| {
            let mut next = e.clone();
            let mut power = e.clone();
            for c in coef {
                power = mat_vec(a, &power);
                for (n, pw) in next.iter_mut().zip(&power) {
                    *n += c * pw;
                }
            }
            e = next;
            (0..p).map(|j| star[j] + e[j]).collect()
        })
        .collect()
}

/// Polyak's heavy ball: x₊ = x − α∇f(x) + β(x − x₋), x₋ = x₀ at the start.
fn ref_polyak(prob: &Problem, x0: &[f64], alpha: f64, beta: f64, steps: usize) -> Vec<Vec<f64>> {
    let mut x = x0.to_vec();
    let mut prev = x0.to_vec();
    (0..steps)
        .map(|k| {
            let g = prob.grad(k, &x);
            let next: Vec<f64> = (0..x.len())
                .map(|j| x[j] - alpha * g[j] + beta * (x[j] - prev[j]))
                .collect();
            prev = std::mem::replace(&mut x, next);
            x.clone()
        })
        .collect()
}

/// PyTorch SGD with momentum (dampening 0): b ← μb + g, θ ← θ − lr·b, b₀ = 0.
fn ref_pytorch(prob: &Problem, theta0: &[f64], lr: f64, mu: f64, steps: usize) -> Vec<Vec<f64>> {
    let mut buf = vec![0.0; theta0.len()];
    ref_run(prob, theta0, steps, |_, theta, g| {
        for j in 0..theta.len() {
            buf[j] = mu * buf[j] + g[j];
            theta[j] -= lr * buf[j];
        }
    })
}

/// Sutskever's classical momentum: v ← μv − lr·∇f(θ), θ ← θ + v, v₀ = 0.
fn ref_sutskever(prob: &Problem, theta0: &[f64], lr: f64, mu: f64, steps: usize) -> Vec<Vec<f64>> {
    let mut v = vec![0.0; theta0.len()];
    ref_run(prob, theta0, steps, |_, theta, g| {
        sutskever_velocity_step(theta, &mut v, &g, lr, mu)
    })
}

/// Sutskever's velocity update with the gradient `g`: v ← μv − lr·g, θ ← θ + v.
fn sutskever_velocity_step(theta: &mut [f64], v: &mut [f64], g: &[f64], lr: f64, mu: f64) {
    for j in 0..theta.len() {
        v[j] = mu * v[j] - lr * g[j];
        theta[j] += v[j];
    }
}

/// Sutskever's NAG: v ← μv − lr·∇f(θ + μv), θ ← θ + v, v₀ = 0.
fn ref_nag_sutskever(
    prob: &Problem,
    theta0: &[f64],
    lr: f64,
    mu: f64,
    steps: usize,
) -> Vec<Vec<f64>> {
    let mut theta = theta0.to_vec();
    let mut v = vec![0.0; theta.len()];
    (0..steps)
        .map(|k| {
            let ahead: Vec<f64> = theta.iter().zip(&v).map(|(t, vj)| t + mu * vj).collect();
            let g = prob.grad(k, &ahead);
            sutskever_velocity_step(&mut theta, &mut v, &g, lr, mu);
            theta.clone()
        })
        .collect()
}

/// NAG in the look-ahead variable (Bengio, Boulanger-Lewandowski, Pascanu,
/// 2013), the form deep-learning libraries implement.
///
/// Derivation: put φ = θ + μv (the look-ahead point). Sutskever's step is
/// v₊ = μv − lr∇f(φ), θ₊ = θ + v₊, so
/// φ₊ = θ₊ + μv₊ = (φ − μv) + v₊ + μv₊ = φ + μv₊ + (v₊ − μv)
///    = φ + μv₊ − lr∇f(φ) = φ + μ²v − (1 + μ)·lr·∇f(φ).
/// The gradient is now taken at the iterate itself; θ = φ − μv maps back.
/// Returns the mapped θ₁, …, θ_steps.
fn ref_nag_lookahead(
    prob: &Problem,
    theta0: &[f64],
    lr: f64,
    mu: f64,
    steps: usize,
) -> Vec<Vec<f64>> {
    let mut phi = theta0.to_vec(); // φ₀ = θ₀ + μ·0
    let mut v = vec![0.0; phi.len()];
    (0..steps)
        .map(|k| {
            let g = prob.grad(k, &phi);
            for j in 0..phi.len() {
                let v_old = v[j];
                v[j] = mu * v_old - lr * g[j];
                phi[j] += mu * mu * v_old - (1.0 + mu) * lr * g[j];
            }
            phi.iter().zip(&v).map(|(f, vj)| f - mu * vj).collect()
        })
        .collect()
}

/// Nesterov's method with friction r/t: x_k = y_{k−1} − s∇f(y_{k−1}),
/// y_k = x_k + ((k−1)/(k+r−1))(x_k − x_{k−1}), y₀ = x₀ (k = 1, 2, …; r = 3
/// gives the classic (k−1)/(k+2)). Returns x₁, …, x_steps.
fn ref_nesterov(prob: &Problem, x0: &[f64], s: f64, r: f64, steps: usize) -> Vec<Vec<f64>> {
    let mut y = x0.to_vec();
    let mut x_prev = x0.to_vec();
    (1..=steps)
        .map(|k| {
            let g = prob.grad(k - 1, &y);
            let x: Vec<f64> = y.iter().zip(&g).map(|(yj, gj)| yj - s * gj).collect();
            let kf = k as f64;
            let c = (kf - 1.0) / (kf + r - 1.0);
            y = x
                .iter()
                .zip(&x_prev)
                .map(|(a, b)| a + c * (a - b))
                .collect();
            x_prev = x.clone();
            x
        })
        .collect()
}

/// THEORY §5's (α, β) for a scheme with friction γ and step h, written out
/// here independently of `HeavyBallScheme::factors`.
fn theory_map(scheme: HeavyBallScheme, gamma: f64, h: f64) -> (f64, f64) {
    match scheme {
        HeavyBallScheme::SemiImplicitEuler => (h * h, 1.0 - gamma * h),
        HeavyBallScheme::ExactFriction => (h * h, (-gamma * h).exp()),
        HeavyBallScheme::ForwardFriction => (h * h / (1.0 + gamma * h), 1.0 / (1.0 + gamma * h)),
    }
}

const SCHEMES: [HeavyBallScheme; 3] = [
    HeavyBallScheme::SemiImplicitEuler,
    HeavyBallScheme::ExactFriction,
    HeavyBallScheme::ForwardFriction,
];

// ---------------------------------------------------------------------------
// Gradient descent.

#[test]
fn sgd_equals_textbook_update_on_cycled_least_squares_batches() {
    let mut rng = StdRng::seed_from_u64(0x0b7_0001);
    let mut worst: f64 = 0.0;
    for trial in 0..5 {
        let (prob, p, batches) = random_batched_least_squares(&mut rng, 1..=4);
        // lr·L ∈ [0.1, 1.5]: every batch map I − lr·Aᵢ is non-expansive.
        let lr = rng.random_range(0.1..1.5) / prob.lipschitz();
        let theta0 = randn_vec(&mut rng, p);
        let mut opt = GradientDescent::sgd(lr).unwrap();
        let lib = prob.run(&mut opt, &theta0, STEPS);
        let reference = ref_sgd(&prob, &theta0, lr, STEPS);
        worst = worst.max(assert_same(
            &format!("sgd trial {trial} (p = {p}, m = {batches}, lr = {lr:.4})"),
            &lib,
            &reference,
        ));
        // Control: the same update with the batch order shifted by one is a
        // different trajectory, so the identity checks the batch cycling.
        let shifted: Vec<Vec<f64>> = {
            let mut theta = theta0.clone();
            (0..STEPS)
                .map(|k| {
                    let g = prob.grad(k + 1, &theta);
                    for (t, gi) in theta.iter_mut().zip(&g) {
                        *t -= lr * gi;
                    }
                    theta.clone()
                })
                .collect()
        };
        assert_differ("sgd vs a shifted batch order", &lib, &shifted);
        assert_eq!(opt.name(), "sgd");
        assert_eq!(hyper(&opt, "lr"), lr);
    }
    eprintln!("sgd: worst {worst:.3e}");
}

#[test]
fn implicit_sgd_equals_closed_form_proximal_step() {
    let mut rng = StdRng::seed_from_u64(0x0b7_0002);
    let mut worst: f64 = 0.0;
    for trial in 0..5 {
        let (prob, p, _) = random_batched_least_squares(&mut rng, 1..=4);
        // lr·L ∈ [0.1, 0.9] < 1: the library's fixed-point iteration is a
        // contraction with factor ≤ 0.9, so its stopping rule (correction
        // ≤ 1e-15·(1 + ‖z‖∞)) leaves an error ≤ 0.9/0.1·1e-15 ≈ 1e-14 per step.
        let c = rng.random_range(0.1..0.9);
        let lr = c / prob.lipschitz();
        let theta0 = randn_vec(&mut rng, p);
        let mut opt = GradientDescent::implicit_sgd(lr).unwrap();
        let lib = prob.run(&mut opt, &theta0, STEPS);
        let reference = ref_implicit_sgd(&prob, &theta0, lr, STEPS);
        worst = worst.max(assert_same(
            &format!("implicit sgd trial {trial} (lr·L = {c:.3})"),
            &lib,
            &reference,
        ));
        // Control: explicit SGD with the same lr is a different trajectory.
        assert_differ(
            "implicit sgd vs explicit sgd",
            &lib,
            &ref_sgd(&prob, &theta0, lr, STEPS),
        );
        assert_eq!(opt.name(), "implicit_sgd");
    }
    eprintln!("implicit sgd: worst {worst:.3e}");
}

#[test]
fn rk4_on_the_gradient_flow_equals_the_rk4_polynomial() {
    let mut rng = StdRng::seed_from_u64(0x0b7_0003);
    let mut worst: f64 = 0.0;
    for trial in 0..5 {
        let p = rng.random_range(3..=10);
        let prob = Problem::random_quadratic(&mut rng, p);
        // h·L ∈ [0.2, 2.0], inside RK4's real stability interval (−2.785, 0].
        let c = rng.random_range(0.2..2.0);
        let h = c / prob.lipschitz();
        let theta0 = randn_vec(&mut rng, p);
        let mut opt = GradientDescent::from_ode(GradientScheme::Rk4, h).unwrap();
        let lib = prob.run(&mut opt, &theta0, STEPS);
        let reference = ref_rk4_polynomial(&prob, &theta0, h, STEPS);
        // TOL also covers θ* = A⁻¹b from LU (error ≲ κ(A)·1e-16 ≈ 1e-14 for
        // these A = MᵀM/p + 0.1·I).
        worst = worst.max(assert_same(
            &format!("rk4 trial {trial} (h·L = {c:.3})"),
            &lib,
            &reference,
        ));
        // Control: a third-order truncation of the polynomial differs (the
        // h⁴A⁴/24 term matters).
        let third: Vec<Vec<f64>> = {
            let Problem::Quad { a, b, .. } = &prob else {
                unreachable!()
            };
            let am = DMatrix::from_fn(p, p, |i, j| a[i][j]);
            let star = am.lu().solve(&DVector::from_vec(b.clone())).unwrap();
            let mut e: Vec<f64> = (0..p).map(|j| theta0[j] - star[j]).collect();
            (0..STEPS)
                .map(|_| {
                    let mut next = e.clone();
                    let mut power = e.clone();
                    for cc in [-h, h * h / 2.0, -h * h * h / 6.0] {
                        power = mat_vec(a, &power);
                        for (n, pw) in next.iter_mut().zip(&power) {
                            *n += cc * pw;
                        }
                    }
                    e = next;
                    (0..p).map(|j| star[j] + e[j]).collect()
                })
                .collect()
        };
        assert_differ("rk4 vs the RK3 polynomial", &lib, &third);
    }
    eprintln!("rk4: worst {worst:.3e}");
}

// ---------------------------------------------------------------------------
// Momentum.

#[test]
fn momentum_from_ode_equals_polyak_with_the_theory_map() {
    let mut rng = StdRng::seed_from_u64(0x0b7_0004);
    let mut worst = [0.0f64; 3];
    for trial in 0..4 {
        for prob in random_problems(&mut rng) {
            let l = prob.lipschitz();
            // h = c/√L with c ∈ [0.2, 1.2] (α·L ≤ 1.44 < 2(1 + β): stable);
            // γh ∈ [0.05, 0.95] so semi-implicit Euler has β ∈ [0.05, 0.95].
            let h = rng.random_range(0.2..1.2) / l.sqrt();
            let gamma = rng.random_range(0.05..0.95) / h;
            let theta0 = randn_vec(&mut rng, prob.dim());
            let mut libs = Vec::new();
            for (s, scheme) in SCHEMES.into_iter().enumerate() {
                let mut opt = Momentum::from_ode(gamma, scheme, h).unwrap();
                let lib = prob.run(&mut opt, &theta0, STEPS);
                let (alpha, beta) = theory_map(scheme, gamma, h);
                let reference = ref_polyak(&prob, &theta0, alpha, beta, STEPS);
                worst[s] = worst[s].max(assert_same(
                    &format!(
                        "momentum {} on {} trial {trial} (γh = {:.3}, α = {alpha:.4}, β = {beta:.4})",
                        scheme.as_str(),
                        prob.label(),
                        gamma * h
                    ),
                    &lib,
                    &reference,
                ));
                libs.push((scheme, lib));
            }
            // Controls: each scheme's trajectory differs from Polyak with
            // another scheme's map (the three maps are really different).
            for (scheme, lib) in &libs {
                for other in SCHEMES {
                    if other != *scheme {
                        let (alpha, beta) = theory_map(other, gamma, h);
                        assert_differ(
                            &format!(
                                "{} vs Polyak with the {} map",
                                scheme.as_str(),
                                other.as_str()
                            ),
                            lib,
                            &ref_polyak(&prob, &theta0, alpha, beta, STEPS),
                        );
                    }
                }
            }
        }
    }
    for (s, scheme) in SCHEMES.into_iter().enumerate() {
        eprintln!(
            "momentum from_ode {}: worst {:.3e}",
            scheme.as_str(),
            worst[s]
        );
    }
}

#[test]
fn momentum_textbook_equals_pytorch_sutskever_and_polyak() {
    on_random_problems(
        0x0b7_0005,
        4,
        "momentum textbook (all pairs)",
        |rng, trial, prob| {
            let (lr, mu) = random_lr_momentum(rng, trial, prob);
            let theta0 = randn_vec(rng, prob.dim());
            let mut opt = Momentum::textbook(lr, mu).unwrap();
            let lib = prob.run(&mut opt, &theta0, STEPS);
            let runs = [
                ("library", lib),
                ("PyTorch", ref_pytorch(prob, &theta0, lr, mu, STEPS)),
                ("Sutskever", ref_sutskever(prob, &theta0, lr, mu, STEPS)),
                ("Polyak", ref_polyak(prob, &theta0, lr, mu, STEPS)),
            ];
            let worst = assert_all_pairs(
                &format!(
                    "momentum textbook on {} trial {trial} (lr = {lr:.4}, μ = {mu:.4})",
                    prob.label()
                ),
                &runs,
            );
            if mu > 0.0 {
                // Control: plain SGD (μ = 0) is a different trajectory.
                assert_differ(
                    "momentum textbook vs sgd",
                    &runs[0].1,
                    &ref_sgd(prob, &theta0, lr, STEPS),
                );
            }
            assert_relative_eq!(hyper(&opt, "lr"), lr, epsilon = 0.0, max_relative = 1e-15);
            assert_abs_diff_eq!(hyper(&opt, "momentum"), mu, epsilon = 1e-15);
            worst
        },
    );
}

// ---------------------------------------------------------------------------
// Nesterov.

#[test]
fn nag_textbook_equals_sutskever_and_the_lookahead_form() {
    on_random_problems(
        0x0b7_0006,
        4,
        "nag textbook (all pairs)",
        |rng, trial, prob| {
            let (lr, mu) = random_lr_momentum(rng, trial, prob);
            let theta0 = randn_vec(rng, prob.dim());
            let mut opt = Nag::textbook(lr, mu).unwrap();
            let lib = prob.run(&mut opt, &theta0, STEPS);
            let runs = [
                ("library", lib),
                ("Sutskever", ref_nag_sutskever(prob, &theta0, lr, mu, STEPS)),
                (
                    "look-ahead (Bengio et al.)",
                    ref_nag_lookahead(prob, &theta0, lr, mu, STEPS),
                ),
            ];
            let worst = assert_all_pairs(
                &format!(
                    "nag textbook on {} trial {trial} (lr = {lr:.4}, μ = {mu:.4})",
                    prob.label()
                ),
                &runs,
            );
            if mu > 0.0 {
                // Control: heavy-ball momentum (gradient at θ, not θ + μv)
                // is a different trajectory.
                assert_differ(
                    "nag vs heavy ball",
                    &runs[0].1,
                    &ref_sutskever(prob, &theta0, lr, mu, STEPS),
                );
            }
            assert_eq!(opt.name(), "nag");
            assert_abs_diff_eq!(hyper(&opt, "momentum"), mu, epsilon = 1e-15);
            worst
        },
    );
}

#[test]
fn nag_from_ode_constant_friction_equals_sutskever_with_the_theory_map() {
    on_random_problems(
        0x0b7_0007,
        3,
        "nag from_ode constant friction",
        |rng, _, prob| {
            let mut worst: f64 = 0.0;
            let l = prob.lipschitz();
            let h = rng.random_range(0.2..0.7) / l.sqrt();
            let gamma = rng.random_range(0.05..0.95) / h;
            let theta0 = randn_vec(rng, prob.dim());
            for scheme in SCHEMES {
                let mut opt = Nag::from_ode(NagFriction::Constant { gamma, scheme }, h).unwrap();
                let lib = prob.run(&mut opt, &theta0, STEPS);
                let (alpha, beta) = theory_map(scheme, gamma, h);
                worst = worst.max(assert_same(
                    &format!("nag from_ode {} on {}", scheme.as_str(), prob.label()),
                    &lib,
                    &ref_nag_sutskever(prob, &theta0, alpha, beta, STEPS),
                ));
            }
            worst
        },
    );
}

#[test]
fn nesterov_equals_the_k_minus_1_over_k_plus_r_minus_1_recursion() {
    let mut rng = StdRng::seed_from_u64(0x0b7_0008);
    let mut worst = [0.0f64; 2];
    for trial in 0..4 {
        for prob in random_problems(&mut rng) {
            let l = prob.lipschitz();
            // s·L ∈ [0.2, 1]: the classic step s ≤ 1/L.
            let s = rng.random_range(0.2..1.0) / l;
            let theta0 = randn_vec(&mut rng, prob.dim());
            let mut libs = Vec::new();
            for (i, r) in [3.0, 5.0].into_iter().enumerate() {
                let mut opt = Nag::nesterov(s, r).unwrap();
                let lib = prob.run(&mut opt, &theta0, STEPS);
                worst[i] = worst[i].max(assert_same(
                    &format!(
                        "nesterov r = {r} on {} trial {trial} (s·L = {:.3})",
                        prob.label(),
                        s * l
                    ),
                    &lib,
                    &ref_nesterov(&prob, &theta0, s, r, STEPS),
                ));
                assert_relative_eq!(hyper(&opt, "lr"), s, epsilon = 0.0, max_relative = 1e-15);
                assert_eq!(hyper(&opt, "vanishing_r"), r);
                libs.push(lib);
            }
            // Control: r = 3 and r = 5 give different trajectories.
            assert_differ("nesterov r = 3 vs r = 5", &libs[0], &libs[1]);
        }
    }
    eprintln!(
        "nesterov: worst r = 3 {:.3e}, r = 5 {:.3e}",
        worst[0], worst[1]
    );
}

// ---------------------------------------------------------------------------
// Polyak's accelerated rate.

#[test]
fn polyak_optimal_constants_converge_at_the_accelerated_rate() {
    let mut rng = StdRng::seed_from_u64(0x0b7_0009);
    let p = 50;
    let (mu, l) = (1.0f64, 100.0f64); // κ = 100
    // Spectrum: both ends exactly (they carry the slowest modes), the rest
    // uniform in (μ, L); random orthogonal eigenvectors.
    let mut eig: Vec<f64> = (0..p).map(|_| rng.random_range(mu..l)).collect();
    eig[0] = mu;
    eig[1] = l;
    let g = gaussian_matrix(&mut rng, p, p);
    let q = g.qr().q();
    let a = &q * DMatrix::from_diagonal(&DVector::from_vec(eig)) * q.transpose();
    let a = (&a + a.transpose()) * 0.5;
    // b = 0, so θ* = 0 and e_k = θ_k: the iteration is homogeneous, the error
    // has no round-off floor and can be followed for thousands of steps.
    let mut oracle = FnOracle::new(p, |theta: &State, grad: &mut State| {
        grad.gemv(1.0, &a, theta, 0.0)
    });
    let (sl, sm) = (l.sqrt(), mu.sqrt());
    let alpha = 4.0 / (sl + sm).powi(2);
    let beta = ((sl - sm) / (sl + sm)).powi(2);
    let kappa = l / mu;
    let rho = (kappa.sqrt() - 1.0) / (kappa.sqrt() + 1.0); // 9/11
    let mut opt = Momentum::textbook(alpha, beta).unwrap();
    let mut theta = gaussian_vector(&mut rng, p);
    let (k0, k1) = (500usize, 2000usize);
    let mut norms = vec![scaled_norm(&theta)];
    for _ in 0..k1 {
        opt.step(&mut theta, &mut oracle).unwrap();
        norms.push(scaled_norm(&theta));
    }
    assert!(
        norms[k1] > 0.0 && norms[k1].is_finite(),
        "‖e_K‖ = {}",
        norms[k1]
    );
    let measured = (norms[k1] / norms[k0]).powf(1.0 / (k1 - k0) as f64);
    // At the optimal constants every mode's two characteristic roots have
    // modulus exactly √β = ρ, and the extreme eigenvalues μ and L give double
    // roots ±ρ (Jordan blocks), so ‖e_k‖ ≈ (c₀ + c₁k)ρᵏ: over [k₀, K] the
    // measured factor is ρ·(K/k₀)^{1/(K−k₀)}·(1 + O(1/k₀)) = ρ·(1 + 9e-4).
    // The 5 % tolerance is the acceptance criterion (it absorbs the 0.09 %
    // Jordan factor) and still separates the accelerated rate 0.818 from
    // gradient descent's (κ−1)/(κ+1) = 0.980 (checked below). The Jordan
    // prediction itself is checked to 0.1 %: the neglected factors are
    // ((c₀ + c₁K)/(c₀ + c₁k₀)·k₀/K)^{1/1500} and the interior modes' share
    // ~1/k₀, both far below 1e-3 after the 1/1500-th root.
    let jordan = rho * (k1 as f64 / k0 as f64).powf(1.0 / (k1 - k0) as f64);
    eprintln!(
        "Polyak rate: measured {measured:.6} over k = {k0}..{k1}, theory ρ = {rho:.6} \
         (relative {:+.3e}), Jordan-corrected {jordan:.6} (relative {:+.3e}); ‖e_K‖/‖e_0‖ = {:.3e}",
        measured / rho - 1.0,
        measured / jordan - 1.0,
        norms[k1] / norms[0]
    );
    assert!(
        abs_diff_eq!(measured / rho, 1.0, epsilon = 0.05),
        "measured rate {measured} vs (√κ − 1)/(√κ + 1) = {rho}"
    );
    assert!(
        abs_diff_eq!(measured / jordan, 1.0, epsilon = 1e-3),
        "measured rate {measured} vs Jordan-corrected {jordan}"
    );
    // The same window for gradient descent at its optimal step 2/(L + μ)
    // contracts at (κ − 1)/(κ + 1): the test distinguishes acceleration.
    let mut gd = GradientDescent::sgd(2.0 / (l + mu)).unwrap();
    let mut theta = gaussian_vector(&mut rng, p);
    let mut gd_norms = vec![scaled_norm(&theta)];
    for _ in 0..k1 {
        gd.step(&mut theta, &mut oracle).unwrap();
        gd_norms.push(scaled_norm(&theta));
    }
    let gd_rate = (gd_norms[k1] / gd_norms[k0]).powf(1.0 / (k1 - k0) as f64);
    eprintln!(
        "gradient descent on the same problem: {gd_rate:.6} (theory {:.6})",
        (kappa - 1.0) / (kappa + 1.0)
    );
    assert!(
        gd_rate > 1.05 * rho,
        "gradient descent rate {gd_rate} is not slower than ρ = {rho}"
    );
}

// ---------------------------------------------------------------------------
// Hyper-parameters and the inverse map.

#[test]
fn exact_friction_hyper_parameters_are_h_squared_and_exp_minus_gamma_h() {
    let m = Momentum::from_ode(2.0, HeavyBallScheme::ExactFriction, 0.1).unwrap();
    let lr = hyper(&m, "lr");
    let mom = hyper(&m, "momentum");
    // 0.1·0.1 in floating point is 0.010000000000000002: a few ulps of 0.01.
    assert!(abs_diff_eq!(lr, 0.01, epsilon = 1e-15), "lr = {lr}");
    assert!(
        abs_diff_eq!(mom, (-0.2f64).exp(), epsilon = 1e-15),
        "momentum = {mom}"
    );
    // The documented value e^{−0.2} ≈ 0.8187 (printed to 4 digits).
    assert!(
        abs_diff_eq!(mom, 0.8187, epsilon = 5e-5),
        "momentum = {mom}"
    );
    assert_eq!(m.name(), "momentum");
    assert_eq!(m.hyper_parameters().len(), 2);
    eprintln!("exact friction γ = 2, h = 0.1: lr = {lr:e}, momentum = {mom}");
}

#[test]
fn invert_then_factors_round_trips_for_all_three_schemes() {
    let mut rng = StdRng::seed_from_u64(0x0b7_000a);
    let mut worst_lr: f64 = 0.0;
    let mut worst_mu: f64 = 0.0;
    for _ in 0..200 {
        let lr = 10f64.powf(rng.random_range(-4.0..0.0));
        let mu = rng.random_range(0.01..0.99);
        for scheme in SCHEMES {
            let (gamma, h) = scheme.invert(lr, mu).unwrap();
            // Directly through the factors …
            let (phi, kappa) = scheme.factors(gamma, h);
            // … and through the optimizers built from the ODE.
            let m = Momentum::from_ode(gamma, scheme, h).unwrap();
            let n = Nag::from_ode(NagFriction::Constant { gamma, scheme }, h).unwrap();
            for (what, got_lr, got_mu) in [
                ("factors", kappa * h, phi),
                ("Momentum::from_ode", hyper(&m, "lr"), hyper(&m, "momentum")),
                ("Nag::from_ode", hyper(&n, "lr"), hyper(&n, "momentum")),
            ] {
                // 1e-15: the maps are a handful of correctly rounded
                // operations (√, ln/exp, 1/(1 + x)); momentum < 1, so its
                // error is absolute; lr's is relative (lr spans 1e-4…1).
                let e_lr = (got_lr - lr).abs() / lr;
                let e_mu = (got_mu - mu).abs();
                worst_lr = worst_lr.max(e_lr);
                worst_mu = worst_mu.max(e_mu);
                assert!(
                    relative_eq!(got_lr, lr, epsilon = 0.0, max_relative = 1e-15)
                        && abs_diff_eq!(got_mu, mu, epsilon = 1e-15),
                    "{} {what}: lr {lr} → {got_lr} (rel {e_lr:e}), momentum {mu} → {got_mu} ({e_mu:e})",
                    scheme.as_str()
                );
            }
            // γ ≥ 0 and h > 0 are what the ODE needs.
            assert!(
                gamma > 0.0 && h > 0.0,
                "{}: γ = {gamma}, h = {h}",
                scheme.as_str()
            );
        }
        // Textbook constructors reproduce their arguments too.
        let t = Momentum::textbook(lr, mu).unwrap();
        assert_relative_eq!(hyper(&t, "lr"), lr, epsilon = 0.0, max_relative = 1e-15);
        assert_abs_diff_eq!(hyper(&t, "momentum"), mu, epsilon = 1e-15);
    }
    eprintln!(
        "invert→factors round trip: worst relative lr {worst_lr:.3e}, absolute momentum {worst_mu:.3e}"
    );
    // Exact friction and forward friction cannot produce momentum 0.
    assert!(HeavyBallScheme::ExactFriction.invert(0.1, 0.0).is_err());
    assert!(HeavyBallScheme::ForwardFriction.invert(0.1, 0.0).is_err());
    assert!(HeavyBallScheme::SemiImplicitEuler.invert(0.1, 0.0).is_ok());
}

// ---------------------------------------------------------------------------
// Bad input.

fn is_invalid<T: std::fmt::Debug>(r: &splitflow::Result<T>) -> bool {
    matches!(r, Err(Error::InvalidParameter { .. }))
}

#[test]
fn invalid_learning_rates_are_rejected() {
    for lr in [
        -0.1,
        -1e-300,
        0.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ] {
        assert!(is_invalid(&GradientDescent::sgd(lr)), "sgd lr = {lr}");
        assert!(
            is_invalid(&GradientDescent::implicit_sgd(lr)),
            "implicit lr = {lr}"
        );
        assert!(
            is_invalid(&GradientDescent::from_ode(GradientScheme::Rk4, lr)),
            "rk4 h = {lr}"
        );
        assert!(
            is_invalid(&Momentum::textbook(lr, 0.5)),
            "momentum lr = {lr}"
        );
        assert!(is_invalid(&Nag::textbook(lr, 0.5)), "nag lr = {lr}");
        assert!(is_invalid(&Nag::nesterov(lr, 3.0)), "nesterov s = {lr}");
        for scheme in SCHEMES {
            assert!(is_invalid(&Momentum::from_ode(1.0, scheme, lr)), "h = {lr}");
            assert!(is_invalid(&scheme.invert(lr, 0.5)), "invert lr = {lr}");
        }
    }
    // Controls: the same constructors accept a valid rate.
    assert!(GradientDescent::sgd(0.1).is_ok());
    assert!(GradientDescent::implicit_sgd(0.1).is_ok());
    assert!(Momentum::textbook(0.1, 0.5).is_ok());
    assert!(Nag::textbook(0.1, 0.5).is_ok());
    assert!(Nag::nesterov(0.1, 3.0).is_ok());
}

#[test]
fn momentum_outside_the_unit_interval_is_rejected() {
    // Momentum 1 is the frictionless ODE (γ = 0) and accepted.
    for scheme in SCHEMES {
        assert_eq!(scheme.invert(0.1, 1.0).unwrap().0, 0.0, "{scheme:?}");
    }
    for mu in [1.0 + f64::EPSILON, -0.1, f64::NAN, 1.5, f64::INFINITY] {
        assert!(is_invalid(&Momentum::textbook(0.1, mu)), "momentum = {mu}");
        assert!(is_invalid(&Nag::textbook(0.1, mu)), "nag momentum = {mu}");
        for scheme in SCHEMES {
            assert!(
                is_invalid(&scheme.invert(0.1, mu)),
                "{} invert μ = {mu}",
                scheme.as_str()
            );
        }
    }
    // Negative or non-finite friction, non-positive r.
    for gamma in [-1.0, f64::NAN, f64::INFINITY] {
        for scheme in SCHEMES {
            assert!(
                is_invalid(&Momentum::from_ode(gamma, scheme, 0.1)),
                "γ = {gamma}"
            );
        }
    }
    assert!(is_invalid(&Nag::nesterov(0.1, 0.0)));
    assert!(is_invalid(&Nag::nesterov(0.1, -3.0)));
    // Controls: the ends of the valid range are accepted.
    assert!(Momentum::textbook(0.1, 0.0).is_ok());
    assert!(Momentum::textbook(0.1, 0.999).is_ok());
    assert!(Nag::textbook(0.1, 0.0).is_ok());
}

#[test]
fn semi_implicit_euler_with_gamma_h_above_one_is_rejected() {
    // γh = 1.5 would give momentum 1 − γh = −0.5.
    let (gamma, h) = (15.0, 0.1);
    assert!(is_invalid(&Momentum::from_ode(
        gamma,
        HeavyBallScheme::SemiImplicitEuler,
        h
    )));
    assert!(is_invalid(&Nag::from_ode(
        NagFriction::Constant {
            gamma,
            scheme: HeavyBallScheme::SemiImplicitEuler
        },
        h
    )));
    // Controls: γh = 0.5 is fine, and the other two schemes have no such limit.
    assert!(Momentum::from_ode(5.0, HeavyBallScheme::SemiImplicitEuler, h).is_ok());
    assert!(Momentum::from_ode(gamma, HeavyBallScheme::ExactFriction, h).is_ok());
    assert!(Momentum::from_ode(gamma, HeavyBallScheme::ForwardFriction, h).is_ok());
}

/// ∇f = Aθ − b of a quadratic that writes NaN (into one coordinate) from the
/// `poison_call`-th gradient call of step `poison_step` on.
struct PoisonOracle<'a> {
    q: &'a Quadratic,
    step: usize,
    calls: usize,
    poison_step: usize,
    poison_call: usize,
}

impl<'a> PoisonOracle<'a> {
    /// The gradient of `q`, with a NaN from gradient call `poison_call` of
    /// step 5 on.
    fn at_step_5(q: &'a Quadratic, poison_call: usize) -> PoisonOracle<'a> {
        PoisonOracle {
            q,
            step: 0,
            calls: 0,
            poison_step: 5,
            poison_call,
        }
    }
}

impl GradientOracle for PoisonOracle<'_> {
    fn dim(&self) -> usize {
        self.q.dim()
    }
    fn gradient(&mut self, theta: &State, g: &mut State) -> splitflow::Result<()> {
        self.calls += 1;
        self.q.gradient(theta, g);
        if self.step == self.poison_step && self.calls >= self.poison_call {
            let mid = g.len() / 2;
            g[mid] = f64::NAN;
        }
        Ok(())
    }
}

/// One of each optimizer, with the gradient calls per step at which to poison.
fn one_of_each(l: f64) -> Vec<(Box<dyn Optimizer>, Vec<usize>)> {
    let lr = 0.3 / l;
    vec![
        (Box::new(GradientDescent::sgd(lr).unwrap()), vec![1]),
        (
            Box::new(GradientDescent::implicit_sgd(lr).unwrap()),
            vec![1, 3],
        ),
        (
            Box::new(GradientDescent::from_ode(GradientScheme::Rk4, lr).unwrap()),
            vec![1, 3],
        ),
        (Box::new(Momentum::textbook(lr, 0.9).unwrap()), vec![1]),
        (
            Box::new(Momentum::from_ode(1.0, HeavyBallScheme::ForwardFriction, lr.sqrt()).unwrap()),
            vec![1],
        ),
        (Box::new(Nag::textbook(lr, 0.9).unwrap()), vec![1]),
        (Box::new(Nag::nesterov(lr, 3.0).unwrap()), vec![1]),
    ]
}

#[test]
fn a_nan_gradient_at_step_5_is_reported_and_leaves_theta_unchanged() {
    let mut rng = StdRng::seed_from_u64(0x0b7_000b);
    let prob = Problem::random_quadratic(&mut rng, 6);
    let q = prob.quadratic();
    let theta0 = DVector::from_vec(randn_vec(&mut rng, 6));
    for poison_call_index in 0..2 {
        for (mut opt, calls) in one_of_each(prob.lipschitz()) {
            let Some(&poison_call) = calls.get(poison_call_index) else {
                continue;
            };
            let what = format!(
                "{} (NaN from gradient call {poison_call} of step 5)",
                opt.name()
            );
            let mut oracle = PoisonOracle::at_step_5(q, poison_call);
            let mut theta = theta0.clone();
            for k in 1..=4 {
                oracle.step = k;
                oracle.calls = 0;
                opt.step(&mut theta, &mut oracle)
                    .expect("steps 1–4 succeed");
            }
            let after4 = theta.clone();
            assert_ne!(after4, theta0, "{what}: the first four steps moved θ");
            oracle.step = 5;
            oracle.calls = 0;
            let r = opt.step(&mut theta, &mut oracle);
            assert!(
                oracle.calls >= poison_call,
                "{what}: step 5 made only {} gradient calls",
                oracle.calls
            );
            match &r {
                Err(e @ Error::NonFinite { what: w, kind, t }) => {
                    let msg = e.to_string();
                    assert!(
                        msg.contains("step 5"),
                        "{what}: message does not name step 5: {msg}"
                    );
                    assert!(
                        !msg.contains("step 4"),
                        "{what}: message names step 4: {msg}"
                    );
                    assert!(w.contains("step 5"), "{what}: {w}");
                    assert_eq!(*t, None, "{what}: an optimizer step has no time");
                    assert!(!msg.contains("t = "), "{what}: {msg}");
                    assert_eq!(*kind, NonFiniteKind::Gradient, "{what}");
                    eprintln!("{what}: {msg}");
                }
                other => panic!("{what}: expected Error::NonFinite, got {other:?}"),
            }
            // Bitwise: θ is exactly the iterate after step 4.
            assert_eq!(
                theta.as_slice(),
                after4.as_slice(),
                "{what}: θ changed by the failed step"
            );
            assert_eq!(opt.steps_taken(), 4, "{what}: the failed step was counted");
        }
    }
}

#[test]
fn a_failed_momentum_step_keeps_the_velocity() {
    let mut rng = StdRng::seed_from_u64(0x0b7_000c);
    let prob = Problem::random_quadratic(&mut rng, 5);
    let q = prob.quadratic();
    let mut opt = Momentum::textbook(0.1 / prob.lipschitz(), 0.8).unwrap();
    let mut oracle = PoisonOracle::at_step_5(q, 1);
    let theta0 = DVector::from_vec(randn_vec(&mut rng, 5));
    let mut theta = theta0.clone();
    for k in 1..=4 {
        oracle.step = k;
        opt.step(&mut theta, &mut oracle).unwrap();
    }
    let w4 = opt.velocity().clone();
    assert!(w4.norm() > 0.0);
    oracle.step = 5;
    assert!(opt.step(&mut theta, &mut oracle).is_err());
    assert_eq!(opt.velocity().as_slice(), w4.as_slice(), "velocity changed");
    // Once the oracle recovers, the method continues from step 4's state:
    // its next iterate is bitwise an unpoisoned run's fifth.
    oracle.step = 6;
    opt.step(&mut theta, &mut oracle).unwrap();
    assert_eq!(opt.steps_taken(), 5);
    let mut clean = Momentum::textbook(0.1 / prob.lipschitz(), 0.8).unwrap();
    let mut theta_clean = theta0.clone();
    for _ in 0..5 {
        clean
            .step(&mut theta_clean, &mut ObjectiveOracle(q))
            .unwrap();
    }
    assert_eq!(theta.as_slice(), theta_clean.as_slice());
}

#[test]
fn an_oracle_of_the_wrong_dimension_is_a_dimension_mismatch() {
    let p = 4;
    for (mut opt, _) in one_of_each(1.0) {
        let name = opt.name();
        // The oracle says its dimension is p + 1.
        let mut theta = assert_wrong_dimension_refused(opt.as_mut(), p);
        // The oracle claims dimension p but returns a gradient of length p + 1.
        let mut liar = FnOracle::new(p, |_: &State, g: &mut State| *g = State::zeros(p + 1));
        let r = opt.step(&mut theta, &mut liar);
        assert!(
            matches!(&r, Err(Error::DimensionMismatch { expected, found, .. }) if *expected == p && *found == p + 1),
            "{name}: {r:?}"
        );
        assert_eq!(theta, DVector::from_element(p, 1.0), "{name}: θ changed");
        assert_eq!(opt.steps_taken(), 0, "{name}");
        // Control: a correct oracle steps.
        let mut good = FnOracle::new(p, |theta: &State, g: &mut State| g.copy_from(theta));
        opt.step(&mut theta, &mut good).unwrap();
        assert_ne!(
            theta,
            DVector::from_element(p, 1.0),
            "{name}: θ did not move"
        );
    }
}

/// One implicit-SGD step with lr·L = `c` on a random SPD quadratic: asserts
/// an error (never non-finite or changed parameters), and returns it.
fn assert_implicit_sgd_fails_cleanly(c: f64) -> Error {
    let mut rng = StdRng::seed_from_u64(0x0b7_000d);
    let prob = Problem::random_quadratic(&mut rng, 6);
    let q = prob.quadratic();
    let l = prob.lipschitz();
    let theta0 = DVector::from_vec(randn_vec(&mut rng, 6));
    let mut opt = GradientDescent::implicit_sgd(c / l).unwrap();
    let mut theta = theta0.clone();
    let r = opt.step(&mut theta, &mut ObjectiveOracle(q));
    eprintln!(
        "implicit sgd with lr·L = {c}: {r:?}, θ = {:?}",
        theta.as_slice()
    );
    assert!(
        theta.iter().all(|x| x.is_finite()),
        "lr·L = {c}: non-finite θ = {:?} (result {r:?})",
        theta.as_slice()
    );
    assert!(
        matches!(
            r,
            Err(Error::FixedPointFailed { .. } | Error::NonFinite { .. })
        ),
        "lr·L = {c}: {r:?}"
    );
    assert_eq!(theta, theta0, "lr·L = {c}: θ changed by the failed step");
    assert_eq!(opt.steps_taken(), 0);
    r.unwrap_err()
}

#[test]
fn implicit_sgd_that_cannot_converge_errors_instead_of_returning_nan() {
    // lr·L = 3: the fixed-point map z ↦ θ − lr∇f(z) expands by ~3 per
    // iteration, which stays finite over the 500-iteration budget
    // (→ FixedPointFailed, not a Newton failure: there is no Newton
    // iteration); lr·L = 30: the iterate overflows inside the gradient
    // (→ NonFinite from the oracle check).
    match assert_implicit_sgd_fails_cleanly(3.0) {
        ref e @ Error::FixedPointFailed {
            step,
            iterations,
            change,
        } => {
            assert_eq!(step, 1);
            assert_eq!(iterations, ImplicitOptions::default().max_iterations);
            assert!(
                change.is_finite() && change > ImplicitOptions::default().tol,
                "{change}"
            );
            let msg = e.to_string();
            assert!(
                msg.contains("fixed-point") && msg.contains("step 1") && !msg.contains("Newton"),
                "{msg}"
            );
            assert!(
                !msg.contains("t = "),
                "an optimizer step has no time: {msg}"
            );
        }
        other => panic!("lr·L = 3: expected FixedPointFailed, got {other:?}"),
    }
    assert!(matches!(
        assert_implicit_sgd_fails_cleanly(30.0),
        Error::NonFinite {
            kind: NonFiniteKind::Gradient,
            t: None,
            ..
        }
    ));
}

/// Far beyond the contraction limit (lr·L = 10 … 1e6) the fixed-point iterate
/// z ← θ − lr∇f(z) overflows in lr·∇f(z) while ∇f(z) is still finite; the
/// step must report failure, not accept an infinite iterate (it once did:
/// inf ≤ inf passed the stopping test).
#[test]
fn implicit_sgd_far_beyond_the_contraction_limit_errors() {
    for c in [10.0, 100.0, 300.0, 1e3, 1e4, 1e6] {
        assert_implicit_sgd_fails_cleanly(c);
    }
}

// ---------------------------------------------------------------------------
// Adaptive methods (src/optimizers/adaptive.rs, adam.rs): the PyTorch /
// paper formulas, per coordinate, written out on plain Vec<f64>.
//
// Same trajectory tolerance TOL as above: the library advances the moments
// as Euler steps (m += (1 − β₁)(g − m)) and the references as convex
// combinations (m ← β₁m + (1 − β₁)g), and divides by precomputed reciprocals
// of the bias factors, so each step differs by a few ulps; the steps are
// scale-free (m̂/√v̂), so those ulps stay relative to the step, ≤ lr·1e-15.

/// Where ε enters, for the references (`true`: √(v + ε)).
const PLACEMENTS: [(EpsPlacement, bool); 2] =
    [(EpsPlacement::Outside, false), (EpsPlacement::Inside, true)];

/// `g/(√v + ε)` or `g/√(v + ε)`.
fn ref_scale(g: f64, v: f64, eps: f64, inside: bool) -> f64 {
    if inside {
        g / (v + eps).sqrt()
    } else {
        g / (v.sqrt() + eps)
    }
}

fn log_uniform(rng: &mut StdRng, lo: f64, hi: f64) -> f64 {
    (rng.random_range(lo.ln()..hi.ln())).exp()
}

/// The start of an adaptive-method comparison. Quadratic: θ₀ = 1000·N(0, I),
/// far from θ* = A⁻¹b (|θ*| ≲ 30), so no gradient coordinate reaches zero
/// within 300 steps of size ≲ lr·(a few). Near a zero of a coordinate the
/// textbook recursions are ill-conditioned (a coordinate with √v ≲ ε turns
/// the method into gradient descent with step lr/ε, and a sign-like step
/// g/√v amplifies a relative error of g), so the *reference itself* changes
/// by 1e-6 when θ₀ moves by one ulp there, and no implementation could be
/// compared to 1e-12. Stochastic least squares: θ₀ = N(0, I), near the
/// solution, where the batch gradients' noise keeps every √v away from 0.
/// `check_adaptive` measures that conditioning on every run.
fn adaptive_start(prob: &Problem, rng: &mut StdRng) -> Vec<f64> {
    let scale = match prob {
        Problem::Quad { .. } => 1000.0,
        Problem::LeastSquares { .. } => 1.0,
    };
    randn_vec(rng, prob.dim())
        .into_iter()
        .map(|x| scale * x)
        .collect()
}

/// Runs `opt` on `prob` from θ₀ and compares it with `reference(θ₀)`, after
/// checking that the reference is well conditioned on this run: started from
/// θ₀ perturbed by one ulp per coordinate, it moves by ≤ TOL/10 (otherwise the
/// comparison could not resolve 1e-12 and the test setup, not the library,
/// is at fault). Returns the observed difference.
fn check_adaptive(
    what: &str,
    prob: &Problem,
    opt: &mut dyn Optimizer,
    theta0: &[f64],
    reference: impl Fn(&[f64]) -> Vec<Vec<f64>>,
) -> (f64, Vec<Vec<f64>>) {
    let lib = prob.run(opt, theta0, STEPS);
    let r = reference(theta0);
    let nudged: Vec<f64> = theta0.iter().map(|x| x * (1.0 + f64::EPSILON)).collect();
    let sensitivity = gap(&r, &reference(&nudged), TOL / 10.0);
    assert!(
        sensitivity.agree,
        "{what}: the reference moves by {:e} under a one-ulp change of θ₀: ill-conditioned test setup",
        sensitivity.worst
    );
    let g = gap(&lib, &r, TOL);
    eprintln!(
        "{what}: max relative difference {:.3e} (reference's one-ulp sensitivity {:.1e})",
        g.worst, sensitivity.worst
    );
    assert!(
        g.agree,
        "{what}: max relative difference {:e} > {TOL:e} at step {}",
        g.worst, g.step
    );
    (g.worst, lib)
}

/// Negative control of the ε placement where ε is comparable to √v (on
/// stochastic least squares near its solution, not the far-started quadratic
/// with |g| ~ 1e3): `libs[0]` (ε outside) and `libs[1]` (ε inside) differ.
fn assert_placements_differ(name: &str, eps: f64, prob: &Problem, libs: &[Vec<Vec<f64>>]) {
    if eps > 1e-4 && matches!(prob, Problem::LeastSquares { .. }) {
        assert_differ(&format!("{name} ε outside vs inside"), &libs[0], &libs[1]);
    }
}

/// AdaGrad (PyTorch `Adagrad`, lr_decay = 0, initial accumulator 0; THEORY §6
/// with ε inside): G ← G + g², θ ← θ − lr·g/(√G + ε) or lr·g/√(G + ε).
fn ref_adagrad(
    prob: &Problem,
    theta0: &[f64],
    lr: f64,
    eps: f64,
    inside: bool,
    steps: usize,
) -> Vec<Vec<f64>> {
    let mut acc = vec![0.0; theta0.len()];
    ref_run(prob, theta0, steps, |_, theta, g| {
        for j in 0..theta.len() {
            acc[j] += g[j] * g[j];
            theta[j] -= lr * ref_scale(g[j], acc[j], eps, inside);
        }
    })
}

/// RMSProp (PyTorch `RMSprop`, centered = false, momentum = 0; Tieleman–
/// Hinton): v ← ρv + (1 − ρ)g², θ ← θ − lr·g/(√v + ε) or lr·g/√(v + ε).
fn ref_rmsprop(
    prob: &Problem,
    theta0: &[f64],
    lr: f64,
    rho: f64,
    eps: f64,
    inside: bool,
    steps: usize,
) -> Vec<Vec<f64>> {
    let mut v = vec![0.0; theta0.len()];
    ref_run(prob, theta0, steps, |_, theta, g| {
        for j in 0..theta.len() {
            v[j] = rho * v[j] + (1.0 - rho) * g[j] * g[j];
            theta[j] -= lr * ref_scale(g[j], v[j], eps, inside);
        }
    })
}

/// Adadelta (PyTorch `Adadelta`; Zeiler with lr = 1): G ← ρG + (1 − ρ)g²,
/// s = √(Δ + ε)/√(G + ε)·g, Δ ← ρΔ + (1 − ρ)s², θ ← θ − lr·s.
fn ref_adadelta(
    prob: &Problem,
    theta0: &[f64],
    lr: f64,
    rho: f64,
    eps: f64,
    steps: usize,
) -> Vec<Vec<f64>> {
    let mut acc_g = vec![0.0; theta0.len()];
    let mut acc_d = vec![0.0; theta0.len()];
    ref_run(prob, theta0, steps, |_, theta, g| {
        for j in 0..theta.len() {
            acc_g[j] = rho * acc_g[j] + (1.0 - rho) * g[j] * g[j];
            let s = (acc_d[j] + eps).sqrt() / (acc_g[j] + eps).sqrt() * g[j];
            acc_d[j] = rho * acc_d[j] + (1.0 - rho) * s * s;
            theta[j] -= lr * s;
        }
    })
}

/// Adam's parameters for the references.
#[derive(Clone, Copy, Debug)]
struct AdamRef {
    lr: f64,
    b1: f64,
    b2: f64,
    eps: f64,
    inside: bool,
}

impl AdamRef {
    fn random(rng: &mut StdRng, inside: bool) -> AdamRef {
        AdamRef {
            lr: log_uniform(rng, 1e-3, 5e-2),
            b1: rng.random_range(0.5..0.95),
            b2: rng.random_range(0.9..0.9999),
            // Large enough to matter against √v̂ ~ |g| (so the placement is
            // tested), small enough not to dominate.
            eps: log_uniform(rng, 1e-8, 1e-2),
            inside,
        }
    }

    /// The bias-correction divisors (1 − β₁ᵗ, 1 − β₂ᵗ) of step t, or (1, 1)
    /// without bias correction.
    fn bias_factors(&self, bias: bool, t: i32) -> (f64, f64) {
        if bias {
            (1.0 - self.b1.powi(t), 1.0 - self.b2.powi(t))
        } else {
            (1.0, 1.0)
        }
    }

    /// The moment updates m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g².
    fn moments(&self, m: &mut f64, v: &mut f64, g: f64) {
        *m = self.b1 * *m + (1.0 - self.b1) * g;
        *v = self.b2 * *v + (1.0 - self.b2) * g * g;
    }

    fn library(&self) -> AdamParameters {
        AdamParameters {
            lr: self.lr,
            beta1: self.b1,
            beta2: self.b2,
            eps: self.eps,
            placement: if self.inside {
                EpsPlacement::Inside
            } else {
                EpsPlacement::Outside
            },
        }
    }
}

/// How the reference applies weight decay.
#[derive(Clone, Copy, PartialEq)]
enum RefDecay {
    /// Plain Adam.
    None,
    /// PyTorch `AdamW`: θ ← θ − lr·λ·θ, then the Adam step, gradient at the
    /// old θ: θ₊ = θ − lr·λ·θ − lr·m̂/(√v̂ + ε). (Loshchilov–Hutter's
    /// Algorithm 2 writes θ − η(α·m̂/(√v̂ + ε) + λθ) with a schedule factor η,
    /// i.e. their λ is PyTorch's lr·λ when η = 1.)
    Decoupled(f64),
    /// The Adam step, then θ ← e^{−λ·lr}θ (Lie splitting with the exact
    /// decay flow).
    LieExact(f64),
    /// L2 regularisation folded into the gradient (PyTorch `Adam`'s
    /// weight_decay): g ← g + λθ — the coupled form AdamW is *not*.
    Coupled(f64),
}

/// PyTorch `Adam` / `AdamW` (amsgrad = false), written as PyTorch computes
/// it: m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², step_size = lr/(1 − β₁ᵗ),
/// denom = √v/√(1 − β₂ᵗ) + ε (ε outside), θ ← θ − step_size·m/denom; with
/// ε inside, θ ← θ − lr·m̂/√(v̂ + ε). `bias = false` drops the bias
/// correction (a negative control).
fn ref_adam(
    prob: &Problem,
    theta0: &[f64],
    p: AdamRef,
    decay: RefDecay,
    bias: bool,
    steps: usize,
) -> Vec<Vec<f64>> {
    let mut m = vec![0.0; theta0.len()];
    let mut v = vec![0.0; theta0.len()];
    ref_run(prob, theta0, steps, |k, theta, mut g| {
        let t = (k + 1) as i32;
        match decay {
            RefDecay::Decoupled(lambda) => {
                for x in theta.iter_mut() {
                    *x *= 1.0 - p.lr * lambda;
                }
            }
            RefDecay::Coupled(lambda) => {
                for (gj, x) in g.iter_mut().zip(theta.iter()) {
                    *gj += lambda * x;
                }
            }
            RefDecay::None | RefDecay::LieExact(_) => {}
        }
        let (c1, c2) = p.bias_factors(bias, t);
        for j in 0..theta.len() {
            p.moments(&mut m[j], &mut v[j], g[j]);
            if p.inside {
                theta[j] -= p.lr * (m[j] / c1) / (v[j] / c2 + p.eps).sqrt();
            } else {
                let denom = v[j].sqrt() / c2.sqrt() + p.eps;
                theta[j] -= (p.lr / c1) * m[j] / denom;
            }
        }
        if let RefDecay::LieExact(lambda) = decay {
            let f = (-lambda * p.lr).exp();
            for x in theta.iter_mut() {
                *x *= f;
            }
        }
    })
}

/// AdaMax (Kingma–Ba Algorithm 2 for ε = 0; PyTorch `Adamax` for ε > 0):
/// m ← β₁m + (1 − β₁)g, u ← max(β₂u, |g| + ε), θ ← θ − (lr/(1 − β₁ᵗ))·m/u.
fn ref_adamax(prob: &Problem, theta0: &[f64], p: AdamRef, steps: usize) -> Vec<Vec<f64>> {
    let mut m = vec![0.0; theta0.len()];
    let mut u = vec![0.0; theta0.len()];
    ref_run(prob, theta0, steps, |k, theta, g| {
        let clr = p.lr / (1.0 - p.b1.powi((k + 1) as i32));
        for j in 0..theta.len() {
            m[j] = p.b1 * m[j] + (1.0 - p.b1) * g[j];
            u[j] = (p.b2 * u[j]).max(g[j].abs() + p.eps);
            theta[j] -= clr * m[j] / u[j];
        }
    })
}

/// AMSGrad. `bias = false`: Reddi–Kale–Kumar (and THEORY §6),
/// v̂ ← max(v̂, v), θ ← θ − lr·m/(√v̂ ⊕ ε). `bias = true`: PyTorch
/// `Adam(amsgrad=True)` as its code computes it: the max of the raw v, then
/// step_size = lr/(1 − β₁ᵗ), denom = √v̂/√(1 − β₂ᵗ) + ε (PyTorch's docs'
/// pseudo-code takes the max after the bias correction instead;
/// pytorch/pytorch#142323).
fn ref_amsgrad(
    prob: &Problem,
    theta0: &[f64],
    p: AdamRef,
    bias: bool,
    steps: usize,
) -> Vec<Vec<f64>> {
    let mut m = vec![0.0; theta0.len()];
    let mut v = vec![0.0; theta0.len()];
    let mut vmax = vec![0.0f64; theta0.len()];
    ref_run(prob, theta0, steps, |k, theta, g| {
        let (c1, c2) = p.bias_factors(bias, (k + 1) as i32);
        for j in 0..theta.len() {
            p.moments(&mut m[j], &mut v[j], g[j]);
            vmax[j] = vmax[j].max(v[j]);
            if p.inside {
                theta[j] -= (p.lr / c1) * m[j] / (vmax[j] / c2 + p.eps).sqrt();
            } else {
                theta[j] -= (p.lr / c1) * m[j] / (vmax[j].sqrt() / c2.sqrt() + p.eps);
            }
        }
    })
}

/// Nadam, Dozat (2016) Algorithm 2 with a constant μ = β₁ and ν = β₂:
/// ĝ = g/(1 − β₁ᵗ), m ← β₁m + (1 − β₁)g, m̂ = m/(1 − β₁^{t+1}),
/// n ← β₂n + (1 − β₂)g², n̂ = n/(1 − β₂ᵗ), m̄ = (1 − β₁)ĝ + β₁m̂,
/// θ ← θ − lr·m̄/(√n̂ ⊕ ε).
fn ref_nadam(prob: &Problem, theta0: &[f64], p: AdamRef, steps: usize) -> Vec<Vec<f64>> {
    let mut m = vec![0.0; theta0.len()];
    let mut n = vec![0.0; theta0.len()];
    ref_run(prob, theta0, steps, |k, theta, g| {
        let t = (k + 1) as i32;
        for j in 0..theta.len() {
            let g_hat = g[j] / (1.0 - p.b1.powi(t));
            p.moments(&mut m[j], &mut n[j], g[j]);
            let m_hat = m[j] / (1.0 - p.b1.powi(t + 1));
            let n_hat = n[j] / (1.0 - p.b2.powi(t));
            let m_bar = (1.0 - p.b1) * g_hat + p.b1 * m_hat;
            theta[j] -= p.lr * ref_scale(m_bar, n_hat, p.eps, p.inside);
        }
    })
}

#[test]
fn adagrad_equals_textbook_with_both_eps_placements() {
    on_random_problems(0x0b7_0101, 3, "adagrad", |rng, trial, prob| {
        let mut worst: f64 = 0.0;
        let lr = rng.random_range(0.05..0.5);
        let eps = log_uniform(rng, 1e-10, 1e-1);
        let theta0 = adaptive_start(prob, rng);
        let mut libs = Vec::new();
        for (placement, inside) in PLACEMENTS {
            let what = format!(
                "adagrad ε {} on {} trial {trial} (lr = {lr:.3}, ε = {eps:.2e})",
                placement.as_str(),
                prob.label()
            );
            let reference = |t0: &[f64]| ref_adagrad(prob, t0, lr, eps, inside, STEPS);
            let mut opt = AdaGrad::textbook(lr, eps, placement).unwrap();
            let (d, lib) = check_adaptive(&what, prob, &mut opt, &theta0, reference);
            worst = worst.max(d);
            // From the ODE: δ = lr², ε̃ = lr·ε (outside) or lr²·ε (inside).
            let eps_tilde = if inside { lr * lr * eps } else { lr * eps };
            let mut ode = AdaGrad::from_ode(eps_tilde, placement, lr * lr).unwrap();
            let what = format!("{what} from_ode(ε̃ = {eps_tilde:.2e}, δ = {:.3e})", lr * lr);
            worst = worst.max(check_adaptive(&what, prob, &mut ode, &theta0, reference).0);
            // 1e-15 relative: √(lr²) and (lr·ε)/lr are correctly rounded
            // up to an ulp or two.
            assert_relative_eq!(hyper(&opt, "lr"), lr, epsilon = 0.0, max_relative = 1e-15);
            assert_relative_eq!(hyper(&opt, "eps"), eps, epsilon = 0.0, max_relative = 1e-15);
            libs.push(lib);
        }
        assert_placements_differ("adagrad", eps, prob, &libs);
        worst
    });
}

#[test]
fn rmsprop_equals_textbook_with_both_eps_placements() {
    on_random_problems(0x0b7_0102, 3, "rmsprop", |rng, trial, prob| {
        let mut worst: f64 = 0.0;
        let lr = log_uniform(rng, 1e-3, 2e-2);
        let rho = rng.random_range(0.8..0.999);
        let eps = log_uniform(rng, 1e-8, 1e-2);
        let theta0 = adaptive_start(prob, rng);
        let mut libs = Vec::new();
        for (placement, inside) in PLACEMENTS {
            let what = format!(
                "rmsprop ε {} on {} trial {trial} (lr = {lr:.2e}, ρ = {rho:.4}, ε = {eps:.2e})",
                placement.as_str(),
                prob.label()
            );
            let mut opt = RmsProp::textbook(lr, rho, eps, placement).unwrap();
            let (d, lib) = check_adaptive(&what, prob, &mut opt, &theta0, |t0: &[f64]| {
                ref_rmsprop(prob, t0, lr, rho, eps, inside, STEPS)
            });
            worst = worst.max(d);
            // From the ODE v' = b(∇f² − v): ρ = 1 − bδ, lr = δ.
            let b = rng.random_range(0.05..0.95) / lr;
            let mut ode = RmsProp::from_ode(b, eps, placement, lr).unwrap();
            let what = format!(
                "rmsprop from_ode ε {} b = {b:.3}, δ = {lr:.2e}",
                placement.as_str()
            );
            worst = worst.max(
                check_adaptive(&what, prob, &mut ode, &theta0, |t0: &[f64]| {
                    ref_rmsprop(prob, t0, lr, 1.0 - b * lr, eps, inside, STEPS)
                })
                .0,
            );
            // ρ round trip: 1 − ((1 − ρ)/lr)·lr, a few ulps of 1.
            assert_abs_diff_eq!(hyper(&opt, "rho"), rho, epsilon = 1e-15);
            assert_eq!(hyper(&opt, "lr"), lr);
            assert_eq!(hyper(&opt, "eps"), eps);
            libs.push(lib);
        }
        assert_placements_differ("rmsprop", eps, prob, &libs);
        worst
    });
}

#[test]
fn adadelta_equals_textbook() {
    on_random_problems(0x0b7_0103, 3, "adadelta", |rng, trial, prob| {
        let mut worst: f64 = 0.0;
        let lr = rng.random_range(0.5..1.0);
        let rho = rng.random_range(0.8..0.99);
        let eps = log_uniform(rng, 1e-7, 1e-3);
        let theta0 = adaptive_start(prob, rng);
        let what = format!(
            "adadelta on {} trial {trial} (lr = {lr:.3}, ρ = {rho:.3}, ε = {eps:.2e})",
            prob.label()
        );
        let mut opt = Adadelta::new(lr, rho, eps).unwrap();
        let (d, lib) = check_adaptive(&what, prob, &mut opt, &theta0, |t0: &[f64]| {
            ref_adadelta(prob, t0, lr, rho, eps, STEPS)
        });
        worst = worst.max(d);
        // Control: the same scaling without the Δ accumulator (RMSProp
        // with lr·√ε, ε inside) differs.
        assert_differ(
            "adadelta vs rmsprop with lr·√ε",
            &lib,
            &ref_rmsprop(prob, &theta0, lr * eps.sqrt(), rho, eps, true, STEPS),
        );
        assert_eq!(
            opt.hyper_parameters(),
            vec![("lr", lr), ("rho", rho), ("eps", eps)]
        );
        worst
    });
}

#[test]
fn adam_equals_pytorch_with_both_eps_placements_and_the_ode_map() {
    on_random_problems(0x0b7_0104, 3, "adam", |rng, trial, prob| {
        let mut worst: f64 = 0.0;
        let theta0 = adaptive_start(prob, rng);
        let mut libs = Vec::new();
        let base = AdamRef::random(rng, false);
        for (placement, inside) in PLACEMENTS {
            let p = AdamRef { inside, ..base };
            let what = format!(
                "adam ε {} on {} trial {trial} ({p:?})",
                placement.as_str(),
                prob.label()
            );
            let mut opt = Adam::textbook(p.library()).unwrap();
            let (d, lib) = check_adaptive(&what, prob, &mut opt, &theta0, |t0: &[f64]| {
                ref_adam(prob, t0, p, RefDecay::None, true, STEPS)
            });
            worst = worst.max(d);
            // From the ODE: β₁ = 1 − aδ, β₂ = 1 − bδ, lr = δ.
            let (a, b) = ((1.0 - p.b1) / p.lr, (1.0 - p.b2) / p.lr);
            let mut ode = Adam::from_ode(a, b, p.eps, placement, p.lr).unwrap();
            let mapped = AdamRef {
                b1: 1.0 - a * p.lr,
                b2: 1.0 - b * p.lr,
                ..p
            };
            let what = format!(
                "adam from_ode ε {} (a = {a:.3}, b = {b:.3})",
                placement.as_str()
            );
            worst = worst.max(
                check_adaptive(&what, prob, &mut ode, &theta0, |t0: &[f64]| {
                    ref_adam(prob, t0, mapped, RefDecay::None, true, STEPS)
                })
                .0,
            );
            // Control: without the bias correction the trajectory differs.
            assert_differ(
                "adam vs adam without bias correction",
                &lib,
                &ref_adam(prob, &theta0, p, RefDecay::None, false, STEPS),
            );
            assert_eq!(
                opt.hyper_parameters(),
                vec![
                    ("lr", p.lr),
                    ("beta1", p.b1),
                    ("beta2", p.b2),
                    ("eps", p.eps)
                ]
            );
            libs.push(lib);
        }
        assert_placements_differ("adam", base.eps, prob, &libs);
        worst
    });
}

#[test]
fn adamw_equals_pytorch_decoupled_decay_with_the_gradient_at_the_old_theta() {
    on_random_problems(0x0b7_0105, 3, "adamw", |rng, trial, prob| {
        let mut worst: f64 = 0.0;
        let theta0 = adaptive_start(prob, rng);
        for (placement, inside) in PLACEMENTS {
            let p = AdamRef::random(rng, inside);
            // lr·λ·STEPS ∈ [0.05, 0.5]: the decay shrinks θ by 5–40 %
            // over the run, far above TOL, without driving a coordinate
            // of the far-started quadratic's gradient through zero.
            let lambda = rng.random_range(0.05..0.5) / (p.lr * STEPS as f64);
            let what = format!(
                "adamw decoupled ε {} on {} trial {trial} (λ = {lambda:.3}, {p:?})",
                placement.as_str(),
                prob.label()
            );
            let mut opt = AdamW::new(p.library(), lambda, DecayScheme::Decoupled).unwrap();
            let (d, lib) = check_adaptive(&what, prob, &mut opt, &theta0, |t0: &[f64]| {
                ref_adam(prob, t0, p, RefDecay::Decoupled(lambda), true, STEPS)
            });
            worst = worst.max(d);
            let mut lie = AdamW::new(p.library(), lambda, DecayScheme::LieExact).unwrap();
            let what = format!(
                "adamw Lie exact ε {} on {}",
                placement.as_str(),
                prob.label()
            );
            let (d, lie_traj) = check_adaptive(&what, prob, &mut lie, &theta0, |t0: &[f64]| {
                ref_adam(prob, t0, p, RefDecay::LieExact(lambda), true, STEPS)
            });
            worst = worst.max(d);
            // Controls: coupled L2 (Adam with weight_decay), plain Adam and
            // the Lie variant are all different trajectories.
            assert_differ(
                "adamw vs coupled L2",
                &lib,
                &ref_adam(prob, &theta0, p, RefDecay::Coupled(lambda), true, STEPS),
            );
            assert_differ(
                "adamw vs adam",
                &lib,
                &ref_adam(prob, &theta0, p, RefDecay::None, true, STEPS),
            );
            assert_differ("adamw decoupled vs Lie exact", &lib, &lie_traj);
            assert_eq!(hyper(&opt, "weight_decay"), lambda);
        }
        worst
    });
}

#[test]
fn adamax_equals_kingma_ba_and_pytorch() {
    on_random_problems(0x0b7_0106, 3, "adamax", |rng, trial, prob| {
        let mut worst: f64 = 0.0;
        let theta0 = adaptive_start(prob, rng);
        let p = AdamRef::random(rng, false);
        // ε ≈ 0 (ε = 0 is refused: 0/0 on a zero gradient): the paper's
        // Algorithm 2; ε > 0: PyTorch's max(β₂u, |g| + ε).
        for eps in [f64::MIN_POSITIVE, p.eps] {
            let p = AdamRef { eps, ..p };
            let what = format!("adamax on {} trial {trial} ({p:?})", prob.label());
            let mut opt = AdaMax::new(p.library()).unwrap();
            let (d, lib) = check_adaptive(&what, prob, &mut opt, &theta0, |t0: &[f64]| {
                ref_adamax(prob, t0, p, STEPS)
            });
            worst = worst.max(d);
            // Control: Adam with the same constants differs.
            assert_differ(
                "adamax vs adam",
                &lib,
                &ref_adam(prob, &theta0, p, RefDecay::None, true, STEPS),
            );
        }
        worst
    });
}

#[test]
fn amsgrad_equals_reddi_et_al_and_pytorch_amsgrad() {
    on_random_problems(0x0b7_0107, 3, "amsgrad", |rng, trial, prob| {
        let mut worst: f64 = 0.0;
        let theta0 = adaptive_start(prob, rng);
        for (placement, inside) in PLACEMENTS {
            let p = AdamRef::random(rng, inside);
            for bias in [false, true] {
                let what = format!(
                    "amsgrad ε {} bias correction {bias} on {} trial {trial} ({p:?})",
                    placement.as_str(),
                    prob.label()
                );
                let mut opt = AmsGrad::new(p.library(), bias).unwrap();
                let (d, lib) = check_adaptive(&what, prob, &mut opt, &theta0, |t0: &[f64]| {
                    ref_amsgrad(prob, t0, p, bias, STEPS)
                });
                worst = worst.max(d);
                // Control: the other bias convention differs.
                assert_differ(
                    "amsgrad vs the other bias convention",
                    &lib,
                    &ref_amsgrad(prob, &theta0, p, !bias, STEPS),
                );
            }
        }
        worst
    });
}

#[test]
fn nadam_equals_dozat_algorithm_2() {
    on_random_problems(0x0b7_0108, 3, "nadam", |rng, trial, prob| {
        let mut worst: f64 = 0.0;
        let theta0 = adaptive_start(prob, rng);
        for (placement, inside) in PLACEMENTS {
            let p = AdamRef::random(rng, inside);
            let what = format!(
                "nadam ε {} on {} trial {trial} ({p:?})",
                placement.as_str(),
                prob.label()
            );
            let mut opt = Nadam::new(p.library()).unwrap();
            let (d, lib) = check_adaptive(&what, prob, &mut opt, &theta0, |t0: &[f64]| {
                ref_nadam(prob, t0, p, STEPS)
            });
            worst = worst.max(d);
            assert_differ(
                "nadam vs adam",
                &lib,
                &ref_adam(prob, &theta0, p, RefDecay::None, true, STEPS),
            );
        }
        worst
    });
}

#[test]
fn adaptive_hyper_parameters_follow_the_ode_maps() {
    // RMSProp: ρ = 1 − bδ = 1 − 10·0.01 = 0.9 (a few ulps).
    let r = RmsProp::from_ode(10.0, 1e-8, EpsPlacement::Outside, 0.01).unwrap();
    assert_abs_diff_eq!(hyper(&r, "rho"), 0.9, epsilon = 1e-15);
    assert_eq!(hyper(&r, "lr"), 0.01);
    // Adam: β₁ = 1 − aδ, β₂ = 1 − bδ with a = 100, b = 0.1, δ = 1e-3.
    let a = Adam::from_ode(100.0, 0.1, 1e-8, EpsPlacement::Outside, 1e-3).unwrap();
    assert_abs_diff_eq!(hyper(&a, "beta1"), 0.9, epsilon = 1e-15);
    assert_abs_diff_eq!(hyper(&a, "beta2"), 0.9999, epsilon = 1e-15);
    assert_eq!(hyper(&a, "lr"), 1e-3);
    // AdaGrad: lr = √δ, ε = ε̃/lr (outside) or ε̃/δ (inside). Tolerances
    // 1e-15 relative: one √ and one division, each correctly rounded.
    let g = AdaGrad::from_ode(1e-3, EpsPlacement::Outside, 0.04).unwrap();
    assert_relative_eq!(hyper(&g, "lr"), 0.2, epsilon = 0.0, max_relative = 1e-15);
    assert_relative_eq!(hyper(&g, "eps"), 5e-3, epsilon = 0.0, max_relative = 1e-15);
    let g = AdaGrad::from_ode(1e-3, EpsPlacement::Inside, 0.04).unwrap();
    assert_relative_eq!(hyper(&g, "eps"), 0.025, epsilon = 0.0, max_relative = 1e-15);
    // AdamParameters::rates inverts from_rates.
    let p = AdamParameters::default();
    let (ra, rb) = p.rates();
    let q = AdamParameters::from_rates(ra, rb, p.eps, p.placement, p.lr);
    assert_abs_diff_eq!(q.beta1, p.beta1, epsilon = 1e-15);
    assert_abs_diff_eq!(q.beta2, p.beta2, epsilon = 1e-15);
}

#[test]
fn adaptive_methods_reject_bad_input() {
    let ok = AdamParameters::default();
    let bad_params = [
        AdamParameters { lr: -1e-3, ..ok },
        AdamParameters { lr: 0.0, ..ok },
        AdamParameters { lr: f64::NAN, ..ok },
        AdamParameters {
            lr: f64::INFINITY,
            ..ok
        },
        AdamParameters { beta1: 1.0, ..ok },
        AdamParameters { beta1: -0.1, ..ok },
        AdamParameters {
            beta1: f64::NAN,
            ..ok
        },
        AdamParameters { beta2: 1.0, ..ok },
        AdamParameters { beta2: -0.1, ..ok },
        AdamParameters {
            beta2: f64::NAN,
            ..ok
        },
        AdamParameters { eps: -1e-8, ..ok },
        AdamParameters {
            eps: f64::NAN,
            ..ok
        },
    ];
    for p in bad_params {
        assert!(is_invalid(&Adam::textbook(p)), "adam {p:?}");
        assert!(
            is_invalid(&AdamW::new(p, 0.01, DecayScheme::Decoupled)),
            "adamw {p:?}"
        );
        assert!(is_invalid(&AdaMax::new(p)), "adamax {p:?}");
        assert!(is_invalid(&AmsGrad::new(p, true)), "amsgrad {p:?}");
        assert!(is_invalid(&Nadam::new(p)), "nadam {p:?}");
    }
    for lambda in [-0.1, f64::NAN, f64::INFINITY] {
        assert!(
            is_invalid(&AdamW::new(ok, lambda, DecayScheme::Decoupled)),
            "λ = {lambda}"
        );
    }
    for lr in [-0.1, 0.0, f64::NAN, f64::INFINITY] {
        assert!(is_invalid(&AdaGrad::textbook(
            lr,
            1e-8,
            EpsPlacement::Outside
        )));
        assert!(is_invalid(&RmsProp::textbook(
            lr,
            0.9,
            1e-8,
            EpsPlacement::Outside
        )));
        assert!(is_invalid(&Adadelta::new(lr, 0.9, 1e-6)));
    }
    for rho in [1.0, -0.1, f64::NAN] {
        assert!(is_invalid(&RmsProp::textbook(
            0.01,
            rho,
            1e-8,
            EpsPlacement::Outside
        )));
        assert!(is_invalid(&Adadelta::new(1.0, rho, 1e-6)));
    }
    // RMSProp's ODE map needs bδ < 1 (ρ = 1 − bδ > 0) and ρ > 0.
    assert!(is_invalid(&RmsProp::from_ode(
        200.0,
        1e-8,
        EpsPlacement::Outside,
        0.01
    )));
    assert!(is_invalid(&RmsProp::textbook(
        0.01,
        0.0,
        1e-8,
        EpsPlacement::Outside
    )));
    // Adam's ODE map needs aδ, bδ ∈ (0, 1].
    assert!(is_invalid(&Adam::from_ode(
        2000.0,
        1.0,
        1e-8,
        EpsPlacement::Outside,
        1e-3
    )));
    for eps in [-1e-8, f64::NAN, 0.0] {
        assert!(is_invalid(&AdaGrad::textbook(
            0.1,
            eps,
            EpsPlacement::Outside
        )));
        assert!(is_invalid(&RmsProp::textbook(
            0.01,
            0.9,
            eps,
            EpsPlacement::Inside
        )));
        assert!(is_invalid(&Adadelta::new(1.0, 0.9, eps)));
    }
    assert!(is_invalid(&EpsPlacement::from_name("around")));
    // Controls: valid values are accepted.
    assert!(Adam::textbook(ok).is_ok());
    assert!(AdamW::new(ok, 0.0, DecayScheme::LieExact).is_ok());
    assert!(RmsProp::textbook(0.01, 0.9, 1e-300, EpsPlacement::Inside).is_ok());
    assert!(Adadelta::new(1.0, 0.0, 1e-300).is_ok());
    assert_eq!(
        EpsPlacement::from_name("inside").unwrap(),
        EpsPlacement::Inside
    );
}

/// Every optimizer, including the adaptive ones, with its gradient calls per
/// step to poison.
fn every_optimizer(l: f64) -> Vec<(Box<dyn Optimizer>, Vec<usize>)> {
    let mut all = one_of_each(l);
    let p = AdamParameters {
        lr: 1e-2,
        ..Default::default()
    };
    all.push((
        Box::new(AdaGrad::textbook(0.1, 1e-8, EpsPlacement::Outside).unwrap()),
        vec![1],
    ));
    all.push((
        Box::new(RmsProp::textbook(1e-2, 0.9, 1e-8, EpsPlacement::Inside).unwrap()),
        vec![1],
    ));
    all.push((Box::new(Adadelta::new(1.0, 0.9, 1e-6).unwrap()), vec![1]));
    all.push((Box::new(Adam::textbook(p).unwrap()), vec![1]));
    all.push((
        Box::new(AdamW::new(p, 0.1, DecayScheme::Decoupled).unwrap()),
        vec![1],
    ));
    all.push((
        Box::new(AdamW::new(p, 0.1, DecayScheme::LieExact).unwrap()),
        vec![1],
    ));
    all.push((Box::new(AdaMax::new(p).unwrap()), vec![1]));
    all.push((Box::new(AmsGrad::new(p, true).unwrap()), vec![1]));
    all.push((Box::new(Nadam::new(p).unwrap()), vec![1]));
    all
}

#[test]
fn every_optimizer_survives_a_nan_at_step_5_with_its_state_intact() {
    // A NaN gradient at step 5 is Error::NonFinite naming step 5, θ and the
    // step count stay those after step 4, and once the oracle recovers the
    // next iterate is bitwise an unpoisoned run's 5th: the failed step did
    // not touch the method's state (velocities, moments, maxima).
    let mut rng = StdRng::seed_from_u64(0x0b7_0109);
    let prob = Problem::random_quadratic(&mut rng, 6);
    let q = prob.quadratic();
    let theta0 = DVector::from_vec(randn_vec(&mut rng, 6));
    let l = prob.lipschitz();
    let clean: Vec<State> = every_optimizer(l)
        .into_iter()
        .map(|(mut opt, _)| {
            let mut theta = theta0.clone();
            for _ in 0..5 {
                opt.step(&mut theta, &mut ObjectiveOracle(q)).unwrap();
            }
            theta
        })
        .collect();
    for ((mut opt, calls), clean5) in every_optimizer(l).into_iter().zip(&clean) {
        let what = opt.name();
        let mut oracle = PoisonOracle::at_step_5(q, calls[calls.len() - 1]);
        let mut theta = theta0.clone();
        for k in 1..=4 {
            oracle.step = k;
            oracle.calls = 0;
            opt.step(&mut theta, &mut oracle).unwrap();
        }
        let after4 = theta.clone();
        oracle.step = 5;
        oracle.calls = 0;
        match opt.step(&mut theta, &mut oracle) {
            Err(e @ Error::NonFinite { .. }) => {
                assert!(e.to_string().contains("step 5"), "{what}: {e}");
            }
            other => panic!("{what}: expected NonFinite, got {other:?}"),
        }
        assert_eq!(theta.as_slice(), after4.as_slice(), "{what}: θ changed");
        assert_eq!(opt.steps_taken(), 4, "{what}");
        oracle.step = 6;
        opt.step(&mut theta, &mut oracle).unwrap();
        assert_eq!(opt.steps_taken(), 5, "{what}");
        assert_eq!(
            theta.as_slice(),
            clean5.as_slice(),
            "{what}: the state was corrupted by the failed step"
        );
        assert_ne!(
            theta.as_slice(),
            after4.as_slice(),
            "{what}: step 6 did not move"
        );
    }
}

#[test]
fn adaptive_methods_report_a_wrong_dimension_oracle() {
    let p = 4;
    for (mut opt, _) in every_optimizer(1.0)
        .into_iter()
        .skip(one_of_each(1.0).len())
    {
        assert_wrong_dimension_refused(opt.as_mut(), p);
        assert_eq!(opt.steps_taken(), 0, "{}", opt.name());
    }
}
