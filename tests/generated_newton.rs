//! The Newton flow θ' = −(∇²f + λI)⁻¹∇f as a generated optimizer: explicit
//! Euler with h = 1 is Newton's method.
//!
//! Each generated step is compared with a textbook Newton step computed
//! independently (nalgebra's LU on the objective's own Hessian and
//! gradient). The two solve the same p×p system with different LU codes,
//! so they agree to round-off times the condition number (≤ 1e-12 relative
//! for the well-conditioned systems here), not bitwise. Negative controls:
//! a damped step h = 0.9 must differ by far more (≥ 1e-3), and on a
//! quadratic the one Newton step lands on the minimiser while a gradient
//! step does not.

use nalgebra::{DMatrix, DVector, dmatrix, dvector};
use splitflow::objective::{FiniteSum, Objective, Quadratic};
use splitflow::optimizers::{
    BatchOracle, FlowKind, FnOracle, GeneratedFlow, GeneratedOptimizer, ObjectiveOracle, Optimizer,
    OptimizerSpec, Scheme,
};
use splitflow::problems::logistic::Logistic;
use splitflow::{Error, State};

use crate::common::rel;

fn newton(lambda: f64, h: f64) -> GeneratedOptimizer {
    let flow = GeneratedFlow::new(FlowKind::Newton {
        regularization: lambda,
    })
    .unwrap();
    GeneratedOptimizer::new(
        Box::new(flow),
        Scheme::stepper("explicit_euler").unwrap(),
        h,
    )
    .unwrap()
}

/// θ − (H + λI)⁻¹g, solved by nalgebra's LU.
fn textbook_step(theta: &State, g: &State, hess: &DMatrix<f64>, lambda: f64) -> State {
    let m = hess + DMatrix::identity(theta.len(), theta.len()) * lambda;
    theta - m.lu().solve(g).expect("non-singular")
}

#[test]
fn newton_euler_h1_is_newtons_method_on_a_quadratic() {
    // f = ½θᵀAθ − bᵀθ, A SPD: one Newton step reaches θ* = A⁻¹b.
    let a = dmatrix![4.0, 1.0, 0.5; 1.0, 3.0, 0.2; 0.5, 0.2, 2.0];
    let b = dvector![1.0, -2.0, 0.5];
    let q = Quadratic::new(a.clone(), b.clone()).unwrap();
    let theta0 = dvector![3.0, -1.0, 2.0];
    let star = a.clone().lu().solve(&b).unwrap();

    let mut opt = newton(0.0, 1.0);
    let mut theta = theta0.clone();
    opt.step(&mut theta, &mut ObjectiveOracle(&q)).unwrap();
    let mut g = State::zeros(3);
    q.gradient(&theta0, &mut g);
    assert!(rel(&theta, &textbook_step(&theta0, &g, &a, 0.0)) <= 1e-12);
    assert!(rel(&theta, &star) <= 1e-12, "one step: {theta} vs {star}");

    // Negative controls: a damped step (h = 0.9) and a gradient step miss θ*.
    let mut damped = newton(0.0, 0.9);
    let mut t = theta0.clone();
    damped.step(&mut t, &mut ObjectiveOracle(&q)).unwrap();
    assert!(rel(&t, &star) >= 1e-3);
    let gd = theta0.clone() - &g;
    assert!(rel(&gd, &star) >= 1e-3);

    // Regularized: θ − (A + λI)⁻¹∇f.
    let mut reg = newton(0.5, 1.0);
    let mut t = theta0.clone();
    reg.step(&mut t, &mut ObjectiveOracle(&q)).unwrap();
    assert!(rel(&t, &textbook_step(&theta0, &g, &a, 0.5)) <= 1e-12);
    assert!(rel(&t, &star) >= 1e-3);
}

/// A small logistic-regression problem (one batch) with overlapping classes.
fn logistic() -> Logistic {
    let n = 40;
    let x = DMatrix::from_fn(n, 3, |i, j| {
        let s = ((i * 7 + j * 13) % 17) as f64 / 17.0 - 0.5;
        if j == 2 {
            1.0
        } else {
            s + 0.1 * (i as f64).sin()
        }
    });
    let y = DVector::from_fn(n, |i, _| f64::from(((i * 5) % 7) < 3 || x[(i, 0)] > 0.3));
    Logistic::new(&x, &y, n).unwrap()
}

#[test]
fn newton_euler_h1_equals_textbook_newton_steps_on_logistic_regression() {
    let sum = logistic();
    assert_eq!(sum.num_batches(), 1);
    let mut opt = newton(0.0, 1.0);
    let mut damped = newton(0.0, 0.9);
    let mut theta = State::zeros(3);
    let mut other = State::zeros(3);
    let (mut g, mut hess) = (State::zeros(3), DMatrix::zeros(3, 3));
    for step in 0..5 {
        sum.batch_gradient(0, &theta, &mut g);
        assert!(sum.batch_hessian(0, &theta, &mut hess));
        let want = textbook_step(&theta, &g, &hess, 0.0);
        opt.step(&mut theta, &mut BatchOracle::new(&sum)).unwrap();
        let d = rel(&theta, &want);
        assert!(d <= 1e-12, "step {step}: {d:e}");
        if step == 0 {
            // Negative control: the damped first step is not Newton's.
            damped
                .step(&mut other, &mut BatchOracle::new(&sum))
                .unwrap();
            assert!(rel(&other, &theta) >= 1e-3);
        }
    }
    // Quadratic convergence: the gradient is tiny after five Newton steps.
    sum.batch_gradient(0, &theta, &mut g);
    assert!(g.norm() <= 1e-10, "‖∇f‖ = {:e}", g.norm());
}

#[test]
fn newton_flow_without_a_hessian_is_an_error_naming_the_flow() {
    let mut oracle = FnOracle::new(2, |x: &State, g: &mut State| g.copy_from(x));
    let mut opt = newton(0.0, 1.0);
    let mut x = dvector![1.0, 2.0];
    let e = opt.step(&mut x, &mut oracle).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("newton") && msg.contains("Hessian"), "{msg}");
    assert_eq!(x, dvector![1.0, 2.0]);
    assert_eq!(opt.steps_taken(), 0);
    // A singular Hessian (λ = 0): SingularMatrix, θ unchanged; λ > 0 fixes it.
    let q = Quadratic::new(dmatrix![1.0, 0.0; 0.0, 0.0], dvector![1.0, 0.0]).unwrap();
    let e = opt.step(&mut x, &mut ObjectiveOracle(&q)).unwrap_err();
    assert!(matches!(e, Error::SingularMatrix { .. }), "{e:?}");
    assert_eq!(x, dvector![1.0, 2.0]);
    newton(1.0, 1.0)
        .step(&mut x, &mut ObjectiveOracle(&q))
        .unwrap();
    assert!(x.iter().all(|v| v.is_finite()));
}

fn example() -> OptimizerSpec {
    let path = format!(
        "{}/examples/specs/newton_euler.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    OptimizerSpec::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn newton_euler_spec_explains_and_trains() {
    let e = example().explain().unwrap();
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["flow"]["kind"], "newton");
    let update = json["update"].as_str().unwrap();
    assert!(update.contains("Newton"), "{update}");
    // Trains the logistic problem (one batch): with λ > 0 each step is
    // θ − (H + λI)⁻¹∇f, a descent direction of the convex loss, so the
    // loss decreases at every step; λ moves the step, not the fixed point
    // ∇f = 0, which the iterates approach at the linear rate λ/(λ + μ).
    let sum = logistic();
    let mut opt = example().build().unwrap();
    let mut theta = State::zeros(3);
    let mut g = State::zeros(3);
    sum.batch_gradient(0, &theta, &mut g);
    let (f0, g0) = (sum.batch_value(0, &theta), g.norm());
    let mut last = f0;
    for k in 0..100 {
        opt.step(&mut theta, &mut BatchOracle::new(&sum)).unwrap();
        let f = sum.batch_value(0, &theta);
        assert!(f < last, "step {k}: {last} → {f}");
        last = f;
    }
    sum.batch_gradient(0, &theta, &mut g);
    // (μ is small here, so the rate is slow: only a clear decrease is asked.)
    assert!(g.norm() <= 0.5 * g0, "‖∇f‖ {g0:e} → {:e}", g.norm());
    // The `regularization` key is the flow's; a negative value names it.
    let bad = std::fs::read_to_string(format!(
        "{}/examples/specs/newton_euler.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .replace("regularization = 1.0", "regularization = -1.0");
    let e = OptimizerSpec::from_toml(&bad)
        .and_then(|s| s.build().map(|_| ()))
        .unwrap_err();
    assert!(e.to_string().contains("regularization"), "{e}");
}

#[test]
fn explain_names_newtons_method_and_only_for_explicit_euler_on_the_newton_flow() {
    let e = example().explain().unwrap();
    let classic = e.classic.as_deref().unwrap_or_default();
    assert!(
        classic.starts_with("regularized (Levenberg–Marquardt) Newton's method"),
        "{classic}"
    );
    assert!(classic.contains("λ = 1"), "{classic}");
    // Plain Newton (λ = 0, h = 1) and damped Newton (h < 1).
    let plain = |h: &str, lambda: &str| {
        OptimizerSpec::from_toml(&format!(
            "[flow]\nkind = \"newton\"\nregularization = {lambda}\n[discretization]\nscheme = \"explicit_euler\"\nh = {h}\n"
        ))
        .unwrap()
        .explain()
        .unwrap()
        .classic
    };
    assert!(plain("1.0", "0.0").unwrap().starts_with("Newton's method"));
    assert!(
        plain("0.5", "0.0")
            .unwrap()
            .starts_with("damped Newton's method")
    );
    // Negative controls: RK4 on the Newton flow, and explicit Euler on the
    // gradient flow (SGD, which has a [textbook] form), name no classic method.
    let rk4 = OptimizerSpec::from_toml(
        "[flow]\nkind = \"newton\"\n[discretization]\nscheme = \"rk4\"\nh = 1.0\n",
    )
    .unwrap()
    .explain()
    .unwrap();
    assert_eq!(rk4.classic, None);
    let sgd = OptimizerSpec::from_toml(
        "[flow]\nkind = \"gradient\"\n[discretization]\nscheme = \"explicit_euler\"\nh = 0.1\n",
    )
    .unwrap()
    .explain()
    .unwrap();
    assert_eq!(sgd.classic, None);
    assert_eq!(sgd.textbook.method, "sgd");
}

#[test]
fn newton_euler_is_first_order_as_an_integrator_of_the_newton_flow() {
    use splitflow::optimizers::{OrderObjective, order_study};
    let spec = example();
    for objective in [
        OrderObjective::quadratic(&[1.0, 10.0]).unwrap(),
        OrderObjective::rosenbrock(),
    ] {
        let report = order_study(
            |h| spec.generated(Some(h)),
            &objective,
            1.0,
            &[32, 64, 128, 256],
        )
        .unwrap();
        assert!(
            (report.fitted_order - 1.0).abs() <= 0.15,
            "fitted order {}",
            report.fitted_order
        );
    }
}
