//! SSA1/SSA2 (THEORY §5) and the variance-reduced SVRG/SAG (THEORY §7):
//! each equals a textbook reference implementation written here (plain
//! `Vec<f64>` loops) to round-off on seeded random least-squares finite
//! sums with seeded random hyper-parameters; SVRG removes SGD's noise
//! floor; bad inputs give the documented errors.

use nalgebra::{DMatrix, DVector};
use rand::{RngExt, SeedableRng, rngs::StdRng};

use splitflow::objective::QuadraticSum;
use splitflow::optimizers::{
    BatchOracle, BetaSchedule, CFactor, FnOracle, GradientDescent, GradientOracle, Optimizer, Sag,
    Ssa1, Ssa2, Svrg,
};
use splitflow::problems::least_squares::random_least_squares;
use splitflow::{Error, Result, State};

// ---------------------------------------------------------------------------
// A seeded least-squares finite sum and its textbook gradients.
// ---------------------------------------------------------------------------

/// fᵢ(θ) = (1/(2b))‖Xᵢθ − yᵢ‖² over consecutive row batches of size b.
struct Problem {
    x: DMatrix<f64>,
    y: DVector<f64>,
    batch: usize,
    sum: QuadraticSum,
}

impl Problem {
    fn new(n: usize, p: usize, batch: usize, noise: f64, seed: u64) -> Problem {
        let (x, y, _) = random_least_squares(n, p, noise, seed).expect("problem");
        let sum = QuadraticSum::least_squares(&x, &y, batch).expect("sum");
        Problem { x, y, batch, sum }
    }

    fn p(&self) -> usize {
        self.x.ncols()
    }

    fn m(&self) -> usize {
        self.x.nrows() / self.batch
    }

    /// ∇fᵢ(θ) = (1/b) Xᵢᵀ(Xᵢθ − yᵢ), plain loops.
    fn batch_gradient(&self, i: usize, theta: &[f64]) -> Vec<f64> {
        let p = self.p();
        let mut g = vec![0.0; p];
        for r in i * self.batch..(i + 1) * self.batch {
            let mut res = -self.y[r];
            for (j, t) in theta.iter().enumerate() {
                res += self.x[(r, j)] * t;
            }
            for (j, gj) in g.iter_mut().enumerate() {
                *gj += self.x[(r, j)] * res;
            }
        }
        for gj in g.iter_mut() {
            *gj /= self.batch as f64;
        }
        g
    }

    /// ∇f(θ) = (1/m) Σᵢ ∇fᵢ(θ).
    fn full_gradient(&self, theta: &[f64]) -> Vec<f64> {
        let m = self.m();
        let mut g = vec![0.0; self.p()];
        for i in 0..m {
            for (gj, bj) in g.iter_mut().zip(self.batch_gradient(i, theta)) {
                *gj += bj;
            }
        }
        for gj in g.iter_mut() {
            *gj /= m as f64;
        }
        g
    }

    /// The least-squares solution θ* (normal equations).
    fn minimizer(&self) -> DVector<f64> {
        let a = self.x.transpose() * &self.x;
        let b = self.x.transpose() * &self.y;
        a.cholesky().expect("full rank").solve(&b)
    }
}

fn random_start(rng: &mut StdRng, p: usize) -> Vec<f64> {
    (0..p).map(|_| rng.random_range(-2.0..2.0)).collect()
}

/// Runs `opt` for `steps` steps with batches visited cyclically, calling
/// `reference(t, batch)` (which advances the reference θ and returns it)
/// after every step; returns the largest ‖θ − θ_ref‖∞ / max(1, ‖θ_ref‖∞).
fn compare(
    problem: &Problem,
    opt: &mut dyn Optimizer,
    start: &[f64],
    steps: usize,
    mut reference: impl FnMut(usize, usize) -> Vec<f64>,
) -> f64 {
    let m = problem.m();
    let mut oracle = BatchOracle::new(&problem.sum);
    let mut theta = DVector::from_column_slice(start);
    let mut worst: f64 = 0.0;
    let mut moved: f64 = 0.0;
    for t in 0..steps {
        let i = t % m;
        oracle.set_batch(i).expect("batch");
        opt.step(&mut theta, &mut oracle).expect("step");
        let r = reference(t, i);
        let scale = r.iter().fold(1.0f64, |a, v| a.max(v.abs()));
        assert!(scale.is_finite(), "reference diverged at step {t}");
        let diff = theta
            .iter()
            .zip(r.iter())
            .fold(0.0f64, |a, (u, v)| a.max((u - v).abs()));
        worst = worst.max(diff / scale);
        moved = theta
            .iter()
            .zip(start.iter())
            .fold(moved, |a, (u, s)| a.max((u - s).abs()));
    }
    assert_eq!(opt.steps_taken(), steps);
    // The comparison is not vacuous: the iterates travel.
    assert!(moved > 1e-2, "{}: θ moved only {moved:e}", opt.name());
    worst
}

const STEPS: usize = 240;
const TOL: f64 = 1e-12;

/// Prints and asserts a reference comparison's max relative difference
/// (≤ `TOL`); returns it.
fn assert_within_tol(what: &str, worst: f64) -> f64 {
    eprintln!("{what}: max rel diff {worst:.2e}");
    assert!(worst <= TOL, "{what}: {worst:e}");
    worst
}

fn beta_of(schedule: BetaSchedule, n: usize) -> f64 {
    match schedule {
        BetaSchedule::Vanishing => n as f64 / (n as f64 + 3.0),
        BetaSchedule::Constant(b) => b,
    }
}

fn random_schedule(rng: &mut StdRng, vanishing: bool) -> BetaSchedule {
    if vanishing {
        BetaSchedule::Vanishing
    } else {
        BetaSchedule::Constant(rng.random_range(0.3..0.9))
    }
}

// ---------------------------------------------------------------------------
// SSA1 / SSA2 against THEORY §5.
// ---------------------------------------------------------------------------

/// The state (u, v, n) shared by the SSA references.
struct SsaState {
    u: Vec<f64>,
    v: Vec<f64>,
    n: usize,
}

impl SsaState {
    /// At rest at `start`: u = start, v = 0, n = 0.
    fn at_rest(start: &[f64]) -> SsaState {
        SsaState {
            u: start.to_vec(),
            v: vec![0.0; start.len()],
            n: 0,
        }
    }

    /// One step of THEORY §5's common skeleton: β = β(n), y = u + hβv,
    /// g = ∇f(y), then per coordinate `(u, v) ← update(β, u, v, y, g)`;
    /// returns the new u.
    fn step(
        &mut self,
        h: f64,
        schedule: BetaSchedule,
        grad: impl Fn(&[f64]) -> Vec<f64>,
        update: impl Fn(f64, f64, f64, f64, f64) -> (f64, f64),
    ) -> Vec<f64> {
        let beta = beta_of(schedule, self.n);
        let y: Vec<f64> = (0..self.u.len())
            .map(|j| self.u[j] + h * beta * self.v[j])
            .collect();
        let g = grad(&y);
        for j in 0..self.u.len() {
            (self.u[j], self.v[j]) = update(beta, self.u[j], self.v[j], y[j], g[j]);
        }
        self.n += 1;
        self.u.clone()
    }
}

/// SSA1 as written in THEORY §5.
struct Ssa1Reference {
    h: f64,
    k: f64,
    institute: bool,
    schedule: BetaSchedule,
    state: SsaState,
}

impl Ssa1Reference {
    fn step(&mut self, grad: impl Fn(&[f64]) -> Vec<f64>) -> Vec<f64> {
        let (h, k, institute) = (self.h, self.k, self.institute);
        self.state.step(h, self.schedule, grad, |beta, u, v, y, g| {
            let c = if institute {
                2.0 * beta * beta - 2.0 * beta + 1.0
            } else {
                1.0
            };
            let v_new = beta.powf(k) * (c * (1.0 - h * beta) * v - h * g);
            (u + beta * (1.0 - h * beta) * (y - u) - h * h * g, v_new)
        })
    }
}

/// SSA2 as written in THEORY §5.
struct Ssa2Reference {
    h: f64,
    k: f64,
    q: f64,
    tau: f64,
    schedule: BetaSchedule,
    state: SsaState,
}

impl Ssa2Reference {
    fn step(&mut self, grad: impl Fn(&[f64]) -> Vec<f64>) -> Vec<f64> {
        let (h, k, q, tau) = (self.h, self.k, self.q, self.tau);
        self.state.step(h, self.schedule, grad, |beta, u, v, y, g| {
            let v_new = beta.powf(k) * ((1.0 - h * beta).powf(q) * v - h * g);
            (u + (1.0 - h * beta) / (beta + tau) * (y - u), v_new)
        })
    }
}

#[test]
fn ssa1_equals_the_theory_formulas_for_both_c_and_both_schedules() {
    let mut rng = StdRng::seed_from_u64(5101);
    let mut overall: f64 = 0.0;
    for (case, (institute, vanishing)) in
        [(false, true), (true, true), (false, false), (true, false)]
            .into_iter()
            .enumerate()
    {
        for trial in 0..4 {
            let problem = Problem::new(60, 5, 10, 0.5, 100 + 10 * case as u64 + trial);
            let h = rng.random_range(0.05..0.5);
            let k = rng.random_range(0.0..2.0);
            let schedule = random_schedule(&mut rng, vanishing);
            let c = if institute {
                CFactor::Institute
            } else {
                CFactor::One
            };
            let start = random_start(&mut rng, problem.p());
            let mut opt = Ssa1::from_splitting(h, k, c, schedule).expect("valid");
            let mut r = Ssa1Reference {
                h,
                k,
                institute,
                schedule,
                state: SsaState::at_rest(&start),
            };
            let worst = compare(&problem, &mut opt, &start, STEPS, |_, i| {
                r.step(|y| problem.batch_gradient(i, y))
            });
            overall = overall.max(assert_within_tol(
                &format!("ssa1 c={c:?} {schedule:?} h={h:.3} k={k:.3}"),
                worst,
            ));
        }
    }
    eprintln!("ssa1: max relative difference over all runs {overall:.2e}");
}

#[test]
fn ssa2_equals_the_theory_formulas_for_both_schedules() {
    let mut rng = StdRng::seed_from_u64(5102);
    let mut overall: f64 = 0.0;
    for (case, vanishing) in [true, false].into_iter().enumerate() {
        for trial in 0..6 {
            let problem = Problem::new(60, 5, 10, 0.5, 200 + 10 * case as u64 + trial);
            let h = rng.random_range(0.05..0.5);
            let k = rng.random_range(0.0..2.0);
            let q = rng.random_range(0.0..3.0);
            let tau = rng.random_range(0.05..1.0);
            let schedule = random_schedule(&mut rng, vanishing);
            let start = random_start(&mut rng, problem.p());
            let mut opt = Ssa2::from_splitting(h, k, q, tau, schedule).expect("valid");
            let mut r = Ssa2Reference {
                h,
                k,
                q,
                tau,
                schedule,
                state: SsaState::at_rest(&start),
            };
            let worst = compare(&problem, &mut opt, &start, STEPS, |_, i| {
                r.step(|y| problem.batch_gradient(i, y))
            });
            overall = overall.max(assert_within_tol(
                &format!("ssa2 {schedule:?} h={h:.3} k={k:.3} q={q:.3} tau={tau:.3}"),
                worst,
            ));
        }
    }
    eprintln!("ssa2: max relative difference over all runs {overall:.2e}");
}

#[test]
fn ssa_defaults_names_and_hyper_parameters() {
    let s1 = Ssa1::new(0.3).unwrap();
    assert_eq!(s1.name(), "ssa1");
    assert_eq!(s1.c_factor(), CFactor::One);
    assert_eq!(s1.schedule(), BetaSchedule::Vanishing);
    assert_eq!(s1.hyper_parameters(), vec![("h", 0.3), ("k", 0.0)]);
    let s1 =
        Ssa1::from_splitting(0.3, 1.0, CFactor::Institute, BetaSchedule::Constant(0.7)).unwrap();
    assert_eq!(
        s1.hyper_parameters(),
        vec![("h", 0.3), ("k", 1.0), ("beta", 0.7)]
    );
    assert!(s1.derivation().contains("ẍ + ẋ = −∇f(x)"));
    let s2 = Ssa2::from_splitting(0.2, 0.5, 2.0, 0.1, BetaSchedule::Vanishing).unwrap();
    assert_eq!(s2.name(), "ssa2");
    assert_eq!(
        s2.hyper_parameters(),
        vec![("h", 0.2), ("k", 0.5), ("q", 2.0), ("tau", 0.1)]
    );
    assert!(s2.derivation().contains("backward Euler"));
    assert_eq!(CFactor::Institute.value(0.5), 0.5);
    assert_eq!(BetaSchedule::Vanishing.beta(3), 0.5);
}

#[test]
fn ssa_reset_restarts_from_rest() {
    let problem = Problem::new(40, 4, 10, 0.5, 7);
    let mut oracle = BatchOracle::new(&problem.sum);
    let start = DVector::from_element(4, 0.5);
    let run = |opt: &mut dyn Optimizer, oracle: &mut BatchOracle<'_, QuadraticSum>| {
        let mut theta = start.clone();
        for t in 0..30 {
            oracle.set_batch(t % 4).unwrap();
            opt.step(&mut theta, oracle).unwrap();
        }
        theta
    };
    for opt in [
        &mut Ssa1::new(0.3).unwrap() as &mut dyn Optimizer,
        &mut Ssa2::new(0.3, 0.2).unwrap(),
        &mut Svrg::new(0.05).unwrap(),
        &mut Sag::new(0.05).unwrap(),
    ] {
        let first = run(opt, &mut oracle);
        opt.reset();
        assert_eq!(opt.steps_taken(), 0);
        let second = run(opt, &mut oracle);
        assert_eq!(first, second, "{} after reset", opt.name());
    }
}

// ---------------------------------------------------------------------------
// SVRG and SAG against their papers' forms.
// ---------------------------------------------------------------------------

#[test]
fn svrg_equals_johnson_zhang_option_one() {
    let mut rng = StdRng::seed_from_u64(5103);
    let mut overall: f64 = 0.0;
    for trial in 0..8 {
        let problem = Problem::new(60, 5, 10, 0.5, 300 + trial);
        let m = problem.m();
        let lr = rng.random_range(0.01..0.15);
        let every = if trial % 2 == 0 {
            None
        } else {
            Some(rng.random_range(1..=2 * m))
        };
        let period = every.unwrap_or(m);
        let start = random_start(&mut rng, problem.p());
        let mut opt = Svrg::from_splitting(lr, every).expect("valid");
        // Textbook: at the start of every outer iteration θ̃ = θ, μ = ∇f(θ̃);
        // inner steps θ ← θ − α(∇fᵢ(θ) − ∇fᵢ(θ̃) + μ).
        let mut theta = start.clone();
        let mut snap = start.clone();
        let mut mu = vec![0.0; start.len()];
        let worst = compare(&problem, &mut opt, &start, STEPS, |t, i| {
            if t % period == 0 {
                snap = theta.clone();
                mu = problem.full_gradient(&snap);
            }
            let gi = problem.batch_gradient(i, &theta);
            let gs = problem.batch_gradient(i, &snap);
            for j in 0..theta.len() {
                theta[j] -= lr * (gi[j] - gs[j] + mu[j]);
            }
            theta.clone()
        });
        overall = overall.max(assert_within_tol(
            &format!("svrg lr={lr:.3} snapshot every {period}"),
            worst,
        ));
    }
    eprintln!("svrg: max relative difference over all runs {overall:.2e}");
}

#[test]
fn sag_equals_the_gradient_table_form() {
    let mut rng = StdRng::seed_from_u64(5104);
    let mut overall: f64 = 0.0;
    for trial in 0..8 {
        let problem = Problem::new(60, 5, 10, 0.5, 400 + trial);
        let m = problem.m();
        let lr = rng.random_range(0.01..0.15);
        let start = random_start(&mut rng, problem.p());
        let mut opt = Sag::new(lr).expect("valid");
        // Schmidt, Le Roux, Bach: yᵢ = last gradient of fᵢ (zeros at first),
        // d = Σᵢ yᵢ, θ ← θ − (α/m)d.
        let mut theta = start.clone();
        let mut table = vec![vec![0.0; start.len()]; m];
        let mut d = vec![0.0; start.len()];
        let worst = compare(&problem, &mut opt, &start, STEPS, |_, i| {
            let g = problem.batch_gradient(i, &theta);
            for j in 0..theta.len() {
                d[j] = d[j] - table[i][j] + g[j];
                table[i][j] = g[j];
            }
            for j in 0..theta.len() {
                theta[j] -= lr / m as f64 * d[j];
            }
            theta.clone()
        });
        overall = overall.max(assert_within_tol(&format!("sag lr={lr:.3}"), worst));
    }
    eprintln!("sag: max relative difference over all runs {overall:.2e}");
}

#[test]
fn svrg_converges_linearly_where_sgd_stalls_at_its_noise_floor() {
    // Strongly convex, inconsistent least squares (noise 1): SGD with a
    // constant lr has a noise floor, SVRG with the same lr converges to θ*.
    let problem = Problem::new(200, 10, 10, 1.0, 6001);
    let m = problem.m();
    let theta_star = problem.minimizer();
    let lr = 0.02;
    let epochs = 100;
    let mut oracle = BatchOracle::new(&problem.sum);
    let mut run = |opt: &mut dyn Optimizer| -> Vec<f64> {
        let mut theta = DVector::zeros(problem.p());
        let mut errors = Vec::new();
        for _ in 0..epochs {
            for i in 0..m {
                oracle.set_batch(i).unwrap();
                opt.step(&mut theta, &mut oracle).unwrap();
            }
            errors.push((&theta - &theta_star).norm());
        }
        errors
    };
    let sgd = run(&mut GradientDescent::sgd(lr).unwrap());
    let svrg = run(&mut Svrg::new(lr).unwrap());
    let (e_sgd, e_svrg) = (sgd[epochs - 1], svrg[epochs - 1]);
    eprintln!(
        "after {epochs} epochs (lr {lr}): SGD error {e_sgd:.3e} (epoch 50: {:.3e}), SVRG error {e_svrg:.3e} (epochs 10, 20, 30: {:.3e}, {:.3e}, {:.3e})",
        sgd[49], svrg[9], svrg[19], svrg[29]
    );
    assert!(e_svrg < 1e-3 * e_sgd, "SVRG {e_svrg:e} vs SGD {e_sgd:e}");
    // SGD stalls: no progress from epoch 50 to 100 beyond a factor 2.
    assert!(
        e_sgd > 0.5 * sgd[49],
        "SGD kept converging: {e_sgd:e} vs {:e}",
        sgd[49]
    );
    // SVRG converges linearly: the error falls by a similar factor every 10 epochs.
    let r1 = svrg[19] / svrg[9];
    let r2 = svrg[29] / svrg[19];
    assert!(r1 < 0.1 && r2 < 0.1, "per-10-epoch factors {r1:e}, {r2:e}");
}

// ---------------------------------------------------------------------------
// Bad input.
// ---------------------------------------------------------------------------

fn is_invalid(r: Result<impl Sized>) -> bool {
    matches!(r, Err(Error::InvalidParameter { .. }))
}

#[test]
fn bad_hyper_parameters_are_rejected() {
    assert!(is_invalid(Svrg::new(-0.1)));
    assert!(is_invalid(Svrg::new(f64::NAN)));
    assert!(is_invalid(Svrg::from_splitting(0.1, Some(0))));
    assert!(is_invalid(Sag::new(-0.1)));
    assert!(is_invalid(Sag::new(0.0)));
    assert!(is_invalid(Ssa1::new(-0.1)));
    assert!(is_invalid(Ssa1::new(f64::INFINITY)));
    assert!(is_invalid(Ssa1::from_splitting(
        0.1,
        -1.0,
        CFactor::One,
        BetaSchedule::Vanishing
    )));
    assert!(is_invalid(Ssa1::from_splitting(
        0.1,
        0.0,
        CFactor::One,
        BetaSchedule::Constant(1.0)
    )));
    assert!(is_invalid(Ssa1::from_splitting(
        0.1,
        0.0,
        CFactor::One,
        BetaSchedule::Constant(-0.1)
    )));
    // τ = 0 divides by β₀ = 0 with the vanishing schedule (and with β = 0).
    assert!(is_invalid(Ssa2::new(0.1, 0.0)));
    assert!(is_invalid(Ssa2::from_splitting(
        0.1,
        0.0,
        1.0,
        0.0,
        BetaSchedule::Constant(0.0)
    )));
    assert!(Ssa2::from_splitting(0.1, 0.0, 1.0, 0.0, BetaSchedule::Constant(0.7)).is_ok());
    assert!(is_invalid(Ssa2::new(-0.1, 0.1)));
    assert!(is_invalid(Ssa2::new(0.1, -0.1)));
    assert!(is_invalid(Ssa2::from_splitting(
        0.1,
        0.0,
        -1.0,
        0.1,
        BetaSchedule::Vanishing
    )));
    // Non-integer q with hβ > 1: (1 − hβ)^q is not real.
    assert!(is_invalid(Ssa2::from_splitting(
        1.5,
        0.0,
        0.5,
        0.1,
        BetaSchedule::Vanishing
    )));
    assert!(Ssa2::from_splitting(1.5, 0.0, 2.0, 0.1, BetaSchedule::Vanishing).is_ok());
}

#[test]
fn sag_needs_an_oracle_with_a_batch_index() {
    let mut sag = Sag::new(0.1).unwrap();
    let mut oracle = FnOracle::new(2, |theta: &State, g: &mut State| g.copy_from(theta));
    let mut theta = DVector::from_vec(vec![1.0, 2.0]);
    let err = sag.step(&mut theta, &mut oracle).unwrap_err();
    assert!(matches!(err, Error::InvalidParameter { .. }), "{err}");
    assert!(err.to_string().contains("batch"), "{err}");
    assert_eq!(theta, DVector::from_vec(vec![1.0, 2.0]));
    assert_eq!(sag.steps_taken(), 0);
}

#[test]
fn svrg_needs_an_oracle_with_a_full_gradient() {
    struct NoFull;
    impl GradientOracle for NoFull {
        fn dim(&self) -> usize {
            1
        }
        fn gradient(&mut self, theta: &State, g: &mut State) -> Result<()> {
            g.copy_from(theta);
            Ok(())
        }
    }
    let mut svrg = Svrg::new(0.1).unwrap();
    let mut theta = DVector::from_vec(vec![1.0]);
    let err = svrg.step(&mut theta, &mut NoFull).unwrap_err();
    assert!(matches!(err, Error::InvalidParameter { .. }), "{err}");
    assert_eq!(theta[0], 1.0);
}

/// ∇f = θ on batch 0 of 2, NaN from call `nan_from` on (full gradients
/// count as calls).
struct FailingOracle {
    dim: usize,
    calls: usize,
    nan_from: usize,
}

impl FailingOracle {
    fn fill(&mut self, theta: &State, g: &mut State) {
        self.calls += 1;
        if self.calls >= self.nan_from {
            g.fill(f64::NAN);
        } else {
            g.copy_from(theta);
        }
    }
}

impl GradientOracle for FailingOracle {
    fn dim(&self) -> usize {
        self.dim
    }
    fn gradient(&mut self, theta: &State, g: &mut State) -> Result<()> {
        self.fill(theta, g);
        Ok(())
    }
    fn full_gradient(&mut self, theta: &State, g: &mut State) -> Result<()> {
        self.fill(theta, g);
        Ok(())
    }
    fn batch(&self) -> Option<usize> {
        Some(0)
    }
    fn num_batches(&self) -> usize {
        2
    }
}

fn all_four() -> Vec<Box<dyn Optimizer>> {
    vec![
        Box::new(
            Ssa1::from_splitting(0.3, 1.0, CFactor::Institute, BetaSchedule::Vanishing).unwrap(),
        ),
        Box::new(Ssa2::new(0.3, 0.1).unwrap()),
        Box::new(Svrg::new(0.1).unwrap()),
        Box::new(Sag::new(0.1).unwrap()),
    ]
}

#[test]
fn a_non_finite_gradient_names_the_step_and_leaves_theta_unchanged() {
    for mut opt in all_four() {
        // Two good steps, then every gradient is NaN.
        let mut oracle = FailingOracle {
            dim: 2,
            calls: 0,
            nan_from: usize::MAX,
        };
        let mut theta = DVector::from_vec(vec![1.0, -0.5]);
        for _ in 0..2 {
            opt.step(&mut theta, &mut oracle).unwrap();
        }
        oracle.nan_from = oracle.calls + 1;
        let before = theta.clone();
        let err = opt.step(&mut theta, &mut oracle).unwrap_err();
        match &err {
            Error::NonFinite { what, .. } => {
                assert!(what.contains("step 3"), "{}: {err}", opt.name())
            }
            other => panic!("{}: expected NonFinite, got {other}", opt.name()),
        }
        assert_eq!(theta, before, "{}: θ changed on error", opt.name());
        assert_eq!(opt.steps_taken(), 2, "{}", opt.name());
    }
    // SVRG at a snapshot step (step 1) and between snapshots (step 2, batch
    // gradient at the snapshot failing).
    let mut svrg = Svrg::from_splitting(0.1, Some(5)).unwrap();
    let mut oracle = FailingOracle {
        dim: 1,
        calls: 0,
        nan_from: 1,
    };
    let mut theta = DVector::from_vec(vec![1.0]);
    assert!(matches!(
        svrg.step(&mut theta, &mut oracle),
        Err(Error::NonFinite { .. })
    ));
    assert_eq!(theta[0], 1.0);
    oracle.nan_from = usize::MAX;
    svrg.step(&mut theta, &mut oracle).unwrap();
    let snapshot = svrg.snapshot().clone();
    oracle.nan_from = oracle.calls + 2; // ∇fᵢ(θ) fine, ∇fᵢ(θ̃) NaN
    let before = theta.clone();
    let err = svrg.step(&mut theta, &mut oracle).unwrap_err();
    assert!(
        matches!(&err, Error::NonFinite { what, .. } if what.contains("step 2")),
        "{err}"
    );
    assert_eq!(theta, before);
    assert_eq!(svrg.snapshot(), &snapshot);
}

#[test]
fn an_oracle_of_the_wrong_dimension_is_a_dimension_mismatch() {
    for mut opt in all_four() {
        let mut oracle = FailingOracle {
            dim: 3,
            calls: 0,
            nan_from: usize::MAX,
        };
        let mut theta = DVector::from_vec(vec![1.0, -0.5]);
        let err = opt.step(&mut theta, &mut oracle).unwrap_err();
        assert!(
            matches!(
                err,
                Error::DimensionMismatch {
                    expected: 2,
                    found: 3,
                    ..
                }
            ),
            "{}: {err}",
            opt.name()
        );
        assert_eq!(theta, DVector::from_vec(vec![1.0, -0.5]));
        assert_eq!(opt.steps_taken(), 0);
    }
}
