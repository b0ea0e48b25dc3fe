//! Optimization flows as ODE systems (THEORY §1, §3, §5, §6, §9): the
//! gradient flow's Jacobian and loss diagnostic, local flows adding up to the
//! gradient flow, adaptive-method flows, the Newton flow, heavy ball ↔
//! momentum (three discretizations, to round-off), and NAG → the 3/t ODE.

use nalgebra::{DMatrix, DVector, dmatrix, dvector};
use rand::{SeedableRng, rngs::StdRng};
use rand_distr::{Distribution, StandardNormal};

use splitflow::flows::{
    AdaGradFlow, AdamFlow, BiasCorrection, Friction, GradientFlow, HeavyBall, NewtonFlow,
    RmsPropFlow, first_loss_increase, local_flows,
};
use splitflow::objective::{
    FiniteSum, FnFiniteSum, FnObjective, Mean, Objective, Quadratic, QuadraticSum, Rosenbrock,
};
use splitflow::splitting::{
    ExactLinear, FlowMap, Integrated, Splitting, SplittingCoefficients, SplittingOptions,
};
use splitflow::{
    ConvergenceStudy, Error, ExplicitEuler, FnSystem, ImplicitEuler, Integrator, LinearSystem,
    OdeSystem, Record, Result, Rk4, State, Stepper, Steps, integrate, integrate_with,
};

use crate::common::{assert_order, gaussian_matrix, gaussian_vector, loglog_slope, rel};

// ---------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------

/// A random SPD quadratic `½θᵀAθ − bᵀθ`, `A = GᵀG/p + shift·I`.
fn random_quadratic(rng: &mut StdRng, p: usize, shift: f64) -> Quadratic {
    let g = gaussian_matrix(rng, p, p);
    let a = g.transpose() * &g / p as f64 + DMatrix::identity(p, p) * shift;
    let a = (&a + a.transpose()) * 0.5;
    Quadratic::new(a, gaussian_vector(rng, p)).expect("symmetric finite")
}

fn largest_eigenvalue(q: &Quadratic) -> f64 {
    q.hessian_matrix().clone().symmetric_eigenvalues().max()
}

fn minimiser(q: &Quadratic) -> State {
    q.hessian_matrix()
        .clone()
        .cholesky()
        .expect("SPD")
        .solve(q.linear_term())
}

fn sci(v: &[f64]) -> String {
    v.iter()
        .map(|e| format!("{e:.3e}"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------
// Gradient flow: Jacobian, loss diagnostic; local flows.
// ---------------------------------------------------------------------------

// Central differences of the field −∇f: Rosenbrock's gradient is a cubic
// polynomial, so the truncation error is ε²/6·|∂³(∇f)| ≤ ε²/6·24a ≈ 4e-8 at
// ε = 1e-5, a = 100; round-off adds ~ε_mach·|∇f|/ε ≲ 1e-8. The bound
// 1e-6·max|H| leaves a wide margin while catching any wrong entry.
#[test]
fn gradient_flow_jacobian_is_minus_hessian() {
    let f = Rosenbrock { n: 5, a: 100.0 };
    let flow = GradientFlow::new(f);
    let mut rng = StdRng::seed_from_u64(101);
    for _ in 0..3 {
        let y = gaussian_vector(&mut rng, 5);
        let mut jac = DMatrix::zeros(5, 5);
        assert!(flow.jacobian(0.0, &y, &mut jac));
        let mut hess = DMatrix::zeros(5, 5);
        assert!(f.hessian(&y, &mut hess));
        assert_eq!(jac, -&hess);

        let eps = 1e-5;
        let (mut fp, mut fm) = (State::zeros(5), State::zeros(5));
        let mut fd = DMatrix::zeros(5, 5);
        for j in 0..5 {
            let mut yp = y.clone();
            yp[j] += eps;
            let mut ym = y.clone();
            ym[j] -= eps;
            flow.rhs(0.0, &yp, &mut fp);
            flow.rhs(0.0, &ym, &mut fm);
            fd.set_column(j, &((&fp - &fm) / (2.0 * eps)));
        }
        let err = (&fd - &jac).amax();
        assert!(
            err <= 1e-6 * jac.amax(),
            "max |FD − J| = {err:e}, max |J| = {:e}",
            jac.amax()
        );
    }
}

// Explicit Euler on θ' = b − Aθ: θₖ − θ* = (I − hA)ᵏ(θ₀ − θ*), so in A's
// eigenbasis every component shrinks monotonically iff |1 − hλ| < 1 for all λ,
// i.e. h < 2/L: then the loss never increases.
#[test]
fn first_loss_increase_is_none_below_two_over_l() {
    let mut rng = StdRng::seed_from_u64(102);
    let q = random_quadratic(&mut rng, 6, 0.2);
    let l = largest_eigenvalue(&q);
    let flow = GradientFlow::new(q.clone());
    let theta0 = gaussian_vector(&mut rng, 6);
    let h = 1.9 / l;
    let n = 300;
    let traj = fixed_trajectory(&flow, &mut ExplicitEuler::new(), &theta0, n as f64 * h, n);
    assert_eq!(traj.len(), n + 1);
    assert_eq!(first_loss_increase(&q, &traj, 1e-12), None);
    assert!(q.value(&traj[n].1) < q.value(&theta0));
}

// Above 2/L the top mode grows by |1 − hL| > 1 per step while the others
// shrink. On A = diag(1, L) from θ* + (1, δ):
// f(θₖ) − f* = ½[(1 − h)^{2k} + Lδ²(1 − hL)^{2k}], so the first step whose
// loss exceeds its predecessor's follows in closed form.
#[test]
fn first_loss_increase_finds_the_first_violating_step_above_two_over_l() {
    let l = 10.0;
    let a = dmatrix![1.0, 0.0; 0.0, l];
    let theta_star = dvector![0.5, -2.0];
    let q = Quadratic::new(a.clone(), &a * &theta_star).unwrap();
    let flow = GradientFlow::new(q.clone());
    let delta = 1e-3;
    let theta0 = &theta_star + dvector![1.0, delta];
    let h = 2.2 / l;
    let excess =
        |k: i32| 0.5 * ((1.0 - h).powi(2 * k) + l * delta * delta * (1.0 - h * l).powi(2 * k));
    let predicted = (1..200).find(|&k| excess(k) > excess(k - 1)).unwrap() as usize;
    assert!(predicted > 5, "the design wants a late violation");
    // The increase there is far above the diagnostic's round-off allowance.
    let jump = excess(predicted as i32) - excess(predicted as i32 - 1);
    assert!(jump > 1e-9, "{jump:e}");

    let n = 200;
    let bad = first_loss_increase(
        &q,
        &fixed_trajectory(&flow, &mut ExplicitEuler::new(), &theta0, n as f64 * h, n),
        1e-12,
    )
    .unwrap();
    eprintln!("first loss increase: {bad:?} (predicted step {predicted})");
    assert_eq!(bad.step, predicted);
    assert!((bad.t - predicted as f64 * h).abs() < 1e-12);
    assert!(bad.after > bad.before);
    let f_star = q.value(&theta_star);
    assert!((bad.after - f_star - excess(predicted as i32)).abs() < 1e-9);
}

/// A logistic-loss finite sum over consecutive row batches (labels ±1):
/// fᵢ(θ) = mean_j log(1 + exp(−yⱼxⱼᵀθ)).
fn logistic_sum(
    x: DMatrix<f64>,
    y: DVector<f64>,
    b: usize,
) -> FnFiniteSum<impl Fn(usize, &State) -> f64, impl Fn(usize, &State, &mut State)> {
    let p = x.ncols();
    let m = x.nrows() / b;
    let (xv, yv) = (x.clone(), y.clone());
    FnFiniteSum::new(
        p,
        m,
        move |i, theta: &State| {
            (0..b)
                .map(|j| {
                    let r = i * b + j;
                    (1.0 + (-yv[r] * xv.row(r).dot(&theta.transpose())).exp()).ln()
                })
                .sum::<f64>()
                / b as f64
        },
        move |i, theta: &State, g: &mut State| {
            g.fill(0.0);
            for j in 0..b {
                let r = i * b + j;
                let z = y[r] * x.row(r).dot(&theta.transpose());
                let s = -y[r] / (1.0 + z.exp()) / b as f64;
                for c in 0..p {
                    g[c] += s * x[(r, c)];
                }
            }
        },
    )
}

// Σᵢ −(1/m)∇fᵢ = −∇((1/m)Σfᵢ): the two sides differ only in the order of
// rounding (~m·ε relative), hence 1e-13.
#[test]
fn local_flows_add_up_to_the_gradient_flow_of_the_mean() {
    let mut rng = StdRng::seed_from_u64(103);
    let x = gaussian_matrix(&mut rng, 30, 4);
    let y = gaussian_vector(&mut rng, 30);
    let ls = QuadraticSum::least_squares(&x, &y, 5).unwrap();
    let labels = y.map(|v| v.signum());
    let logistic = logistic_sum(x.clone(), labels, 6);

    fn check<F: FiniteSum>(sum: &F, theta: &State, with_jacobian: bool) {
        let locals = local_flows(sum);
        assert_eq!(locals.len(), sum.num_batches());
        let p = sum.dim();
        let (mut total, mut dy) = (State::zeros(p), State::zeros(p));
        let (mut jtotal, mut jac) = (DMatrix::zeros(p, p), DMatrix::zeros(p, p));
        for (i, lf) in locals.iter().enumerate() {
            assert_eq!(lf.batch(), i);
            assert_eq!(lf.dim(), p);
            lf.rhs(0.0, theta, &mut dy);
            total += &dy;
            if with_jacobian {
                assert!(lf.jacobian(0.0, theta, &mut jac));
                jtotal += &jac;
            }
        }
        let flow = GradientFlow::new(Mean(sum));
        let mut full = State::zeros(p);
        flow.rhs(0.0, theta, &mut full);
        assert!(rel(&total, &full) <= 1e-13, "{:e}", rel(&total, &full));
        if with_jacobian {
            let mut jfull = DMatrix::zeros(p, p);
            assert!(flow.jacobian(0.0, theta, &mut jfull));
            assert!((&jtotal - &jfull).norm() <= 1e-13 * jfull.norm());
        }
    }
    for _ in 0..3 {
        let theta = gaussian_vector(&mut rng, 4);
        check(&ls, &theta, true);
        check(&logistic, &theta, false);
    }
}

// ---------------------------------------------------------------------------
// Adaptive-method flows (THEORY §6).
// ---------------------------------------------------------------------------

/// `f` on the x-part of a stacked state of dimension `parts·p`.
fn on_x_part(
    q: &Quadratic,
    parts: usize,
) -> FnObjective<impl Fn(&State) -> f64, impl Fn(&State, &mut State)> {
    let p = q.dim();
    let (qv, qg) = (q.clone(), q.clone());
    FnObjective::new(
        parts * p,
        move |y: &State| qv.value(&y.rows(0, p).into_owned()),
        move |y: &State, g: &mut State| {
            g.fill(0.0);
            let mut gx = State::zeros(p);
            qg.gradient(&y.rows(0, p).into_owned(), &mut gx);
            g.rows_mut(0, p).copy_from(&gx);
        },
    )
}

fn rk4_trajectory(system: &dyn OdeSystem, y0: &State, t_end: f64, n: usize) -> Vec<(f64, State)> {
    fixed_trajectory(system, &mut Rk4::new(), y0, t_end, n)
}

/// The recorded trajectory (t, y) of `n` fixed steps of `stepper` on
/// `system` from `y0` over `[0, t_end]`.
fn fixed_trajectory(
    system: &dyn OdeSystem,
    stepper: &mut dyn Stepper,
    y0: &State,
    t_end: f64,
    n: usize,
) -> Vec<(f64, State)> {
    integrate_with(
        system,
        stepper,
        0.0,
        t_end,
        y0,
        &Steps::Fixed(n),
        Record::Steps,
    )
    .unwrap()
    .trajectory
    .unwrap()
}

// Along RMSProp's and AdaGrad's flows df/dt = −Σ gᵢ²/(√vᵢ + ε) ≤ 0 (resp.
// −Σ gᵢ²/√(Vᵢ + ε̃)): the loss never increases. RK4 at h = 0.01 perturbs
// each step by O(h⁵) relative to a decrease O(h), so the computed losses
// are monotone too (first_loss_increase allows 1e-12 relative round-off).
#[test]
fn rmsprop_and_adagrad_flows_decrease_the_loss() {
    let mut rng = StdRng::seed_from_u64(104);
    let q = random_quadratic(&mut rng, 4, 0.5);
    let p = 4;
    let x0 = gaussian_vector(&mut rng, p);
    let f_star = q.value(&minimiser(&q));
    let mut y0 = State::zeros(2 * p);
    y0.rows_mut(0, p).copy_from(&x0);

    let rms = RmsPropFlow::new(q.clone(), 1.0, 0.1).unwrap();
    assert_eq!(rms.dim(), 2 * p);
    let traj = rk4_trajectory(&rms, &y0, 20.0, 2000);
    assert_eq!(first_loss_increase(&on_x_part(&q, 2), &traj, 1e-12), None);
    let last = &traj.last().unwrap().1;
    assert!(q.value(&last.rows(0, p).into_owned()) - f_star < 1e-3 * (q.value(&x0) - f_star));

    let ada = AdaGradFlow::new(q.clone(), 0.1).unwrap();
    let traj = rk4_trajectory(&ada, &y0, 20.0, 2000);
    assert_eq!(first_loss_increase(&on_x_part(&q, 2), &traj, 1e-12), None);
    let last = &traj.last().unwrap().1;
    assert!(q.value(&last.rows(0, p).into_owned()) < q.value(&x0));
}

// Adam's flow is not a descent flow (m lags ∇f), but without bias correction
// V(x, m, v) = f(x) + (1/2a) Σ mᵢ²/(ε + √vᵢ) is a Lyapunov function when
// b ≤ 4a: dV/dt ≤ −(1 − b/4a) Σ mᵢ²/(ε + √vᵢ) (using v' ≥ −bv). With the
// continuous bias correction the loss still ends far below its start.
#[test]
fn adam_flow_decreases_its_lyapunov_function_and_the_loss() {
    let mut rng = StdRng::seed_from_u64(105);
    let q = random_quadratic(&mut rng, 4, 0.5);
    let p = 4;
    let x0 = gaussian_vector(&mut rng, p);
    let f_star = q.value(&minimiser(&q));
    let mut y0 = State::zeros(3 * p);
    y0.rows_mut(0, p).copy_from(&x0);
    let (a, b, eps) = (1.0, 0.5, 0.1);

    let adam = AdamFlow::new(q.clone(), a, b, eps, BiasCorrection::None).unwrap();
    assert_eq!(adam.dim(), 3 * p);
    let qv = q.clone();
    let lyapunov = FnObjective::new(
        3 * p,
        move |y: &State| {
            let x = y.rows(0, p).into_owned();
            qv.value(&x)
                + (0..p)
                    .map(|i| y[p + i].powi(2) / (eps + y[2 * p + i].max(0.0).sqrt()))
                    .sum::<f64>()
                    / (2.0 * a)
        },
        |_y: &State, _g: &mut State| unreachable!("only values are used"),
    );
    let traj = rk4_trajectory(&adam, &y0, 30.0, 3000);
    assert_eq!(first_loss_increase(&lyapunov, &traj, 1e-12), None);
    let fx = |y: &State| q.value(&y.rows(0, p).into_owned()) - f_star;
    assert!(fx(&traj.last().unwrap().1) < 1e-3 * fx(&y0));
    // The loss alone is not monotone here: momentum overshoots (which is why
    // the Lyapunov function carries the m-term).
    let loss_increase = first_loss_increase(&on_x_part(&q, 3), &traj, 1e-12);
    eprintln!("Adam (no bias correction): first loss increase {loss_increase:?}");

    let adam_c = AdamFlow::new(q.clone(), a, b, eps, BiasCorrection::Continuous).unwrap();
    let traj = rk4_trajectory(&adam_c, &y0, 30.0, 3000);
    assert!(traj.iter().all(|(_, y)| y.iter().all(|v| v.is_finite())));
    assert!(fx(&traj.last().unwrap().1) < 1e-3 * fx(&y0));
}

// With m(0) = v(0) = 0 and x frozen, m(τ) = g(1 − e^{−aτ}) and
// v(τ) = g²(1 − e^{−bτ}), so m/c₁ = g and v/c₂ = g² for every τ > 0: the
// field at t = 0 must be the limit −g/(|g| + ε) (per coordinate). At
// τ = 1e-9 the two fields differ by O(τ) (x moves by O(τ)), hence 1e-6.
#[test]
fn adam_flow_at_t_zero_is_its_right_limit() {
    let mut rng = StdRng::seed_from_u64(106);
    let q = random_quadratic(&mut rng, 3, 0.5);
    let p = 3;
    let (a, b, eps) = (0.9, 0.3, 1e-3);
    let flow = AdamFlow::new(q.clone(), a, b, eps, BiasCorrection::Continuous).unwrap();
    let x0 = gaussian_vector(&mut rng, p);
    let mut g = State::zeros(p);
    q.gradient(&x0, &mut g);
    let mut y0 = State::zeros(3 * p);
    y0.rows_mut(0, p).copy_from(&x0);
    let mut dy0 = State::zeros(3 * p);
    flow.rhs(0.0, &y0, &mut dy0);
    for i in 0..p {
        let expected = -g[i] / (g[i].abs() + eps);
        assert!((dy0[i] - expected).abs() <= 1e-15 * expected.abs().max(1.0));
        assert!((dy0[p + i] - a * g[i]).abs() <= 1e-15 * (a * g[i]).abs());
        assert!((dy0[2 * p + i] - b * g[i] * g[i]).abs() <= 1e-15 * (b * g[i] * g[i]).abs());
    }
    let tau = 1e-9;
    let mut y_tau = y0.clone();
    for i in 0..p {
        y_tau[i] = x0[i] + tau * dy0[i];
        y_tau[p + i] = -g[i] * (-a * tau).exp_m1();
        y_tau[2 * p + i] = -g[i] * g[i] * (-b * tau).exp_m1();
    }
    let mut dy_tau = State::zeros(3 * p);
    flow.rhs(tau, &y_tau, &mut dy_tau);
    let d = (dy_tau.rows(0, p) - dy0.rows(0, p)).norm() / dy0.rows(0, p).norm();
    assert!(d < 1e-6, "relative jump of the x-field at t = 0⁺: {d:e}");
}

// ---------------------------------------------------------------------------
// Newton flow: ∇f(θ(t)) = e^{−t}∇f(θ₀) (d/dt ∇f(θ) = H·θ' = −∇f).
// ---------------------------------------------------------------------------

#[test]
fn newton_flow_shrinks_the_gradient_exponentially() {
    let f = Rosenbrock { n: 4, a: 100.0 };
    // Near the curved valley θᵢ₊₁ = θᵢ², where the Hessian is positive definite
    // (checked below): a chain of squares from a random θ₀, slightly perturbed.
    let mut rng = StdRng::seed_from_u64(107);
    let mut theta0 = State::zeros(4);
    let z: f64 = StandardNormal.sample(&mut rng);
    theta0[0] = 1.0 + 0.1 * z;
    for i in 1..4 {
        theta0[i] = theta0[i - 1].powi(2);
    }
    theta0 += gaussian_vector(&mut rng, 4) * 1e-3;
    let positive_definite = |theta: &State| {
        let mut h = DMatrix::zeros(4, 4);
        assert!(f.hessian(theta, &mut h));
        h.cholesky().is_some()
    };
    assert!(positive_definite(&theta0));
    let flow = NewtonFlow::new(f);
    let mut g0 = State::zeros(4);
    f.gradient(&theta0, &mut g0);
    let t_end: f64 = 3.0;
    let reference = &g0 * (-t_end).exp();
    // RK4 is in its asymptotic range below h ≈ 0.1 here (Rosenbrock's
    // curvature, a = 100); the finest error (~1e-11) stays well above the
    // round-off of ∇f at θ(T) (‖H‖·ε·‖θ‖ ≈ 1e-13).
    let report = ConvergenceStudy::new(vec![40, 80, 160, 320, 640], t_end)
        .run(&reference, |n| {
            let theta = integrate(
                &flow,
                &mut Rk4::new(),
                0.0,
                t_end,
                &theta0,
                &Steps::Fixed(n),
            )?
            .y;
            assert!(positive_definite(&theta));
            let mut g = State::zeros(4);
            f.gradient(&theta, &mut g);
            Ok(g)
        })
        .unwrap();
    assert_order(&report, 4.0, "Newton flow, ∇f(θ(T)) against e^{−T}∇f(θ₀)");
    let finest = report.errors[report.errors.len() - 1];
    assert!(finest <= 1e-8 * g0.norm(), "{finest:e}");
}

// ---------------------------------------------------------------------------
// Heavy ball ↔ momentum (THEORY §5): three discretizations of
// u' = v, v' = −γv − ∇f(u) reproduce x_{k+1} = x_k − α∇f(x_k) + β(x_k − x_{k−1})
// from rest (x_{−1} = x₀ ⇔ v₀ = 0), with x = u and x_k − x_{k−1} = h·v_k.
//
// The schemes are built as Lie splittings of the heavy-ball field: the
// "kick" piece {u' = 0, v' = −γv − ∇f(u)} and the "drift" piece {u' = v,
// v' = 0} are the two halves of `HeavyBall::rhs` (their sum is the field),
// plus a linear friction piece {u' = 0, v' = −γv} where the friction is
// treated separately. Both sides differ only in rounding; the momentum
// recurrence has roots of modulus ≤ √β < 1, so rounding errors stay within
// ~ε/(1 − √β) of ‖x‖ (< 1e-13 here) over 200 steps: bound 1e-12.
// ---------------------------------------------------------------------------

fn kick<'a, O: Objective>(hb: &'a HeavyBall<O>) -> FnSystem<impl Fn(f64, &State, &mut State) + 'a> {
    let p = hb.dim() / 2;
    FnSystem::new(2 * p, move |t, y: &State, dy: &mut State| {
        hb.rhs(t, y, dy);
        dy.rows_mut(0, p).fill(0.0);
    })
}

fn drift<'a, O: Objective>(
    hb: &'a HeavyBall<O>,
) -> FnSystem<impl Fn(f64, &State, &mut State) + 'a> {
    let p = hb.dim() / 2;
    FnSystem::new(2 * p, move |t, y: &State, dy: &mut State| {
        hb.rhs(t, y, dy);
        dy.rows_mut(p, p).fill(0.0);
    })
}

fn euler_piece<'a, S: OdeSystem + Send + 'a>(system: S) -> Box<dyn FlowMap + 'a> {
    Box::new(Integrated::new(
        system,
        Integrator::new(Box::new(ExplicitEuler::new()), Steps::Fixed(1)).unwrap(),
    ))
}

/// The linear friction field {u' = 0, v' = −γv} on [u; v].
fn friction_system(p: usize, gamma: f64) -> LinearSystem {
    let mut d = DVector::zeros(2 * p);
    d.rows_mut(p, p).fill(-gamma);
    LinearSystem::new(DMatrix::from_diagonal(&d), None).unwrap()
}

/// Textbook heavy ball from rest: x₀, x₁, …, x_steps.
fn momentum(q: &Quadratic, x0: &State, alpha: f64, beta: f64, steps: usize) -> Vec<State> {
    let mut xs = vec![x0.clone()];
    let (mut prev, mut x) = (x0.clone(), x0.clone());
    let mut g = State::zeros(x0.len());
    for _ in 0..steps {
        q.gradient(&x, &mut g);
        let next = &x - alpha * &g + beta * (&x - &prev);
        prev = std::mem::replace(&mut x, next);
        xs.push(x.clone());
    }
    xs
}

/// x-iterates of a splitting on [u; v] from (x₀, 0).
fn split_iterates(split: &mut Splitting, x0: &State, h: f64, steps: usize) -> Vec<State> {
    let p = x0.len();
    let mut y = State::zeros(2 * p);
    y.rows_mut(0, p).copy_from(x0);
    let mut xs = vec![x0.clone()];
    for k in 0..steps {
        split.advance(k as f64 * h, h, &mut y).unwrap();
        xs.push(y.rows(0, p).into_owned());
    }
    xs
}

fn assert_same_trajectory(a: &[State], b: &[State], what: &str) {
    assert_eq!(a.len(), b.len());
    let worst = a.iter().zip(b).map(|(x, y)| rel(x, y)).fold(0.0, f64::max);
    eprintln!(
        "{what}: max relative difference {worst:.2e} over {} iterates",
        a.len()
    );
    assert!(worst <= 1e-12, "{what}: {worst:e}");
}

struct HeavyBallSetup {
    q: Quadratic,
    x0: State,
    h: f64,
    gamma: f64,
    steps: usize,
}

fn heavy_ball_setup() -> HeavyBallSetup {
    let mut rng = StdRng::seed_from_u64(108);
    let q = random_quadratic(&mut rng, 6, 0.3);
    let x0 = gaussian_vector(&mut rng, 6) * 3.0;
    HeavyBallSetup {
        q,
        x0,
        h: 0.1,
        gamma: 1.0,
        steps: 200,
    }
}

#[test]
fn heavy_ball_semi_implicit_euler_is_momentum() {
    // v ← v − h(γv + ∇f(u)), u ← u + h·v_new  ⇒  β = 1 − γh, α = h².
    let s = heavy_ball_setup();
    let hb = HeavyBall::new(s.q.clone(), Friction::Constant(s.gamma)).unwrap();
    let mut split = Splitting::new(
        vec![euler_piece(kick(&hb)), euler_piece(drift(&hb))],
        SplittingCoefficients::lie(2).unwrap(),
        SplittingOptions::default(),
    )
    .unwrap();
    let ode = split_iterates(&mut split, &s.x0, s.h, s.steps);
    let textbook = momentum(&s.q, &s.x0, s.h * s.h, 1.0 - s.gamma * s.h, s.steps);
    assert_same_trajectory(
        &ode,
        &textbook,
        "semi-implicit Euler vs momentum β = 1 − γh",
    );
    // Not a trivial agreement: the iterates travel towards the minimiser.
    let x_star = minimiser(&s.q);
    assert!(rel(&ode[s.steps], &x_star) < 0.1 * rel(&s.x0, &x_star));
}

#[test]
fn heavy_ball_exact_friction_splitting_is_momentum() {
    // v ← e^{−γh}v (exact), then symplectic Euler of {u' = v, v' = −∇f}
    // ⇒ β = e^{−γh}, α = h².
    let s = heavy_ball_setup();
    let p = s.x0.len();
    let conservative = HeavyBall::new(s.q.clone(), Friction::Constant(0.0)).unwrap();
    let mut split = Splitting::new(
        vec![
            Box::new(ExactLinear::new(friction_system(p, s.gamma))) as Box<dyn FlowMap>,
            euler_piece(kick(&conservative)),
            euler_piece(drift(&conservative)),
        ],
        SplittingCoefficients::lie(3).unwrap(),
        SplittingOptions::default(),
    )
    .unwrap();
    let ode = split_iterates(&mut split, &s.x0, s.h, s.steps);
    let textbook = momentum(&s.q, &s.x0, s.h * s.h, (-s.gamma * s.h).exp(), s.steps);
    assert_same_trajectory(
        &ode,
        &textbook,
        "exact-friction splitting vs momentum β = e^{−γh}",
    );
}

#[test]
fn heavy_ball_forward_difference_friction_is_momentum() {
    // (x_{k+1} − 2x_k + x_{k−1})/h² + γ(x_{k+1} − x_k)/h + ∇f(x_k) = 0
    // ⇒ β = 1/(1 + γh), α = h²/(1 + γh).
    let s = heavy_ball_setup();
    let (h, gamma) = (s.h, s.gamma);
    let beta = 1.0 / (1.0 + gamma * h);
    let alpha = h * h / (1.0 + gamma * h);
    let textbook = momentum(&s.q, &s.x0, alpha, beta, s.steps);

    // The difference equation solved for x_{k+1}, as written.
    let mut scheme = vec![s.x0.clone()];
    let (mut prev, mut x) = (s.x0.clone(), s.x0.clone());
    let mut g = State::zeros(s.x0.len());
    for _ in 0..s.steps {
        s.q.gradient(&x, &mut g);
        let rhs = (2.0 * &x - &prev) / (h * h) + gamma / h * &x - &g;
        let next = rhs / (1.0 / (h * h) + gamma / h);
        prev = std::mem::replace(&mut x, next);
        scheme.push(x.clone());
    }
    assert_same_trajectory(
        &scheme,
        &textbook,
        "forward-difference friction vs momentum",
    );

    // The same scheme as a Lie splitting: kick v ← v − h∇f(u), implicit
    // Euler on the friction v ← v/(1 + γh), drift u ← u + h·v.
    let p = s.x0.len();
    let conservative = HeavyBall::new(s.q.clone(), Friction::Constant(0.0)).unwrap();
    let mut split = Splitting::new(
        vec![
            euler_piece(kick(&conservative)),
            Box::new(Integrated::new(
                friction_system(p, gamma),
                Integrator::new(Box::new(ImplicitEuler::new()), Steps::Fixed(1)).unwrap(),
            )) as Box<dyn FlowMap>,
            euler_piece(drift(&conservative)),
        ],
        SplittingCoefficients::lie(3).unwrap(),
        SplittingOptions::default(),
    )
    .unwrap();
    let ode = split_iterates(&mut split, &s.x0, h, s.steps);
    assert_same_trajectory(
        &ode,
        &textbook,
        "kick / implicit friction / drift vs momentum",
    );
}

// ---------------------------------------------------------------------------
// NAG and the Nesterov ODE Ẍ + (3/t)Ẋ + λX = 0 on f = λx²/2, X(0) = x₀,
// Ẋ(0) = 0: X(t) = x₀·2J₁(√λ t)/(√λ t).
// ---------------------------------------------------------------------------

/// 2J₁(z)/z = Σₖ (−1)ᵏ (z/2)^{2k} / (k!(k+1)!), summed term by term (the
/// largest term at z ≤ 9 is < 200, so cancellation costs ≲ 1e-13).
fn two_j1_over_z(z: f64) -> f64 {
    let w = -(z / 2.0).powi(2);
    let (mut term, mut sum) = (1.0, 1.0);
    for k in 1..200 {
        term *= w / (k as f64 * (k + 1) as f64);
        sum += term;
        if term.abs() < 1e-18 * sum.abs().max(1e-300) && k as f64 > z {
            break;
        }
    }
    sum
}

/// Jₙ(z) by its power series (for the sanity check of the sum).
fn bessel_j(n: i32, z: f64) -> f64 {
    let mut term = (z / 2.0).powi(n) / (1..=n).map(f64::from).product::<f64>();
    let mut sum = term;
    for k in 1..200 {
        term *= -(z / 2.0).powi(2) / (k as f64 * (k + n) as f64);
        sum += term;
    }
    sum
}

fn nesterov_exact(x0: f64, lambda: f64, t: f64) -> f64 {
    x0 * two_j1_over_z(lambda.sqrt() * t)
}

#[test]
fn bessel_series_is_consistent() {
    // J₀ + J₂ = (2/z)J₁, and the closed form's series agrees with Jₙ's.
    for z in [0.3, 1.0, 2.5, 4.0, 6.0, 8.5] {
        let (j0, j1, j2) = (bessel_j(0, z), bessel_j(1, z), bessel_j(2, z));
        assert!((j0 + j2 - 2.0 * j1 / z).abs() < 1e-13, "z = {z}");
        assert!((two_j1_over_z(z) - 2.0 * j1 / z).abs() < 1e-13, "z = {z}");
    }
    // The first zero of J₁ lies between 3.83 and 3.84 (sign change).
    assert!(bessel_j(1, 3.83) > 0.0 && bessel_j(1, 3.84) < 0.0);
}

// RK4 from t = 0 on HeavyBall with r/t friction: at t = 0 the system uses the
// limit v'(0) = −∇f(x₀)/(1 + r) = −λx₀/4, which is X''(0). A wrong limit
// (e.g. dropping the friction term) would leave an O(h) error in every stage
// at t = 0 and cap the accuracy far above 1e-8.
#[test]
fn vanishing_friction_heavy_ball_matches_the_bessel_solution() {
    let (lambda, x0, t_end) = (2.0, 1.5, 6.0); // √λ·T ≈ 8.5
    let q = Quadratic::new(dmatrix![lambda], dvector![0.0]).unwrap();
    let hb = HeavyBall::new(q, Friction::Vanishing { r: 3.0 }).unwrap();
    let y0 = dvector![x0, 0.0];
    let mut dy = State::zeros(2);
    hb.rhs(0.0, &y0, &mut dy);
    assert_eq!(dy[0], 0.0);
    assert!((dy[1] + lambda * x0 / 4.0).abs() < 1e-15);

    let max_err = |n: usize| {
        let traj = rk4_trajectory(&hb, &y0, t_end, n);
        traj.iter()
            .map(|(t, y)| (y[0] - nesterov_exact(x0, lambda, *t)).abs())
            .fold(0.0, f64::max)
    };
    let ns = [100, 200, 400, 800];
    let errs: Vec<f64> = ns.iter().map(|&n| max_err(n)).collect();
    let hs: Vec<f64> = ns.iter().map(|&n| t_end / n as f64).collect();
    let slope = loglog_slope(&hs, &errs);
    eprintln!(
        "RK4 on the Nesterov ODE: max errors {}, observed order {slope:.3}",
        sci(&errs)
    );
    assert!(errs[3] < 1e-8 * x0, "{errs:?}");
    assert!((slope - 4.0).abs() < 0.3, "observed order {slope}");
}

// NAG with step s: x_k = y_{k−1} − s∇f(y_{k−1}), y_k = x_k + (k−1)/(k+2)·(x_k − x_{k−1}),
// tends to X(k√s) as s → 0 (Su, Boyd & Candès).
#[test]
fn nag_tracks_the_nesterov_ode() {
    let (lambda, x0, t_end) = (2.0, 1.5, 6.0);
    let nag_max_error = |s: f64| {
        let sq = s.sqrt();
        let steps = (t_end / sq).floor() as usize;
        let (mut x_prev, mut y) = (x0, x0);
        let mut worst: f64 = 0.0;
        for k in 1..=steps {
            let x = y - s * lambda * y;
            y = x + (k as f64 - 1.0) / (k as f64 + 2.0) * (x - x_prev);
            x_prev = x;
            worst = worst.max((x - nesterov_exact(x0, lambda, k as f64 * sq)).abs());
        }
        worst
    };
    let ss = [1e-2, 1e-3, 1e-4, 1e-5];
    let errs: Vec<f64> = ss.iter().map(|&s| nag_max_error(s)).collect();
    let roots: Vec<f64> = ss.iter().map(|s| s.sqrt()).collect();
    let rate = loglog_slope(&roots, &errs);
    eprintln!(
        "NAG vs the Nesterov ODE: max errors {} at s = {ss:?}; rate in √s: {rate:.3}",
        sci(&errs)
    );
    for w in errs.windows(2) {
        assert!(w[1] < w[0], "{errs:?}");
    }
    assert!((0.7..=1.3).contains(&rate), "rate {rate}");
}

// ---------------------------------------------------------------------------
// Bad parameters.
// ---------------------------------------------------------------------------

fn invalid_name<T>(r: Result<T>) -> String {
    match r {
        Err(Error::InvalidParameter { name, .. }) => name,
        Err(e) => panic!("expected InvalidParameter, got {e:?}"),
        Ok(_) => panic!("expected InvalidParameter, got Ok"),
    }
}

#[test]
fn flow_parameters_are_validated() {
    let q = Quadratic::new(dmatrix![1.0], dvector![0.0]).unwrap();
    for bad in [-0.5, f64::NAN, f64::INFINITY] {
        assert_eq!(
            invalid_name(HeavyBall::new(q.clone(), Friction::Constant(bad))),
            "friction"
        );
    }
    assert!(HeavyBall::new(q.clone(), Friction::Constant(0.0)).is_ok());
    for bad in [0.0, -3.0, f64::NAN] {
        assert_eq!(
            invalid_name(HeavyBall::new(q.clone(), Friction::Vanishing { r: bad })),
            "r"
        );
    }
    assert_eq!(invalid_name(RmsPropFlow::new(q.clone(), 0.0, 1e-8)), "b");
    assert_eq!(invalid_name(RmsPropFlow::new(q.clone(), 1.0, -1e-8)), "eps");
    assert_eq!(
        invalid_name(AdamFlow::new(
            q.clone(),
            -1.0,
            1.0,
            1e-8,
            BiasCorrection::None
        )),
        "a"
    );
    assert_eq!(
        invalid_name(AdamFlow::new(
            q.clone(),
            1.0,
            f64::NAN,
            1e-8,
            BiasCorrection::None
        )),
        "b"
    );
    assert_eq!(invalid_name(AdaGradFlow::new(q.clone(), f64::NAN)), "eps");
    // Quadratics must be symmetric and of matching dimensions.
    assert_eq!(
        invalid_name(Quadratic::new(
            dmatrix![1.0, 2.0; 0.0, 1.0],
            dvector![0.0, 0.0]
        )),
        "A"
    );
    assert!(matches!(
        Quadratic::new(dmatrix![1.0, 0.0; 0.0, 1.0], dvector![0.0]),
        Err(Error::DimensionMismatch {
            expected: 2,
            found: 1,
            ..
        })
    ));
}
