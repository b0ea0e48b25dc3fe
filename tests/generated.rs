//! Optimizers generated from (flow, scheme) equal the fused classic
//! optimizers; new (flow, scheme) pairs are optimizers with measured orders.
//!
//! Equality: each classic method with an ODE derivation is rebuilt as a
//! `GeneratedOptimizer` from its flow and scheme (the table in the docs of
//! `GeneratedOptimizer`) and run next to the fused fast path for 300 steps
//! on a seeded least-squares finite sum with cycled mini-batches. The
//! generated path evaluates the same formulas in a different association
//! (e.g. `x + h·(−g)` vs `x − h·g`, `m + h·a(g − m)` vs `m + (1 − β₁)(g − m)`),
//! so the trajectories agree to round-off, not bitwise: ≤ 1e-12 relative.
//! Each identity has a negative control (a different scheme or a perturbed
//! ingredient) that must differ by far more than that (≥ 1e-8).
//!
//! Forward-friction NAG is not among them: its update
//! `w ← (w − h∇f(u + hφw))/(1 + γh)` applies the friction factor both
//! before the look-ahead and after the kick, which no sequence of
//! sub-flows of (friction, drift, kick) reproduces.

use nalgebra::{DMatrix, DVector};
use rand::{SeedableRng, rngs::StdRng};
use rand_distr::{Distribution, StandardNormal};
use splitflow::flows::Friction;
use splitflow::objective::QuadraticSum;
use splitflow::optimizers::{
    AdaGrad, Adam, AdamBias, AdamParameters, AdamW, BatchOracle, DecayScheme, EpsPlacement,
    FlowKind, FnOracle, GeneratedFlow, GeneratedOptimizer, GradientDescent, GradientScheme,
    HeavyBallScheme, Momentum, Nag, NagFriction, Optimizer, OrderObjective, RmsProp, Scheme,
    SubScheme, order_study,
};
use splitflow::splitting::SplittingCoefficients;
use splitflow::{Error, State};

use crate::common::{ORDER_STUDY_KEYS, max_rel};
use crate::schemes::{euler, lie};

const P: usize = 6;
const BATCH: usize = 4;
const BATCHES: usize = 5;
const STEPS: usize = 300;

fn problem(seed: u64) -> (QuadraticSum, State) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut n = || -> f64 { StandardNormal.sample(&mut rng) };
    let rows = BATCH * BATCHES;
    let x = DMatrix::from_fn(rows, P, |_, _| n());
    let y = DVector::from_fn(rows, |_, _| n());
    let theta0 = State::from_fn(P, |_, _| n());
    (
        QuadraticSum::least_squares(&x, &y, BATCH).expect("valid least squares"),
        theta0,
    )
}

/// θ after every step, batches cycled 0, 1, …, m − 1, 0, …
fn trajectory(opt: &mut dyn Optimizer, seed: u64) -> Vec<State> {
    let (sum, mut theta) = problem(seed);
    let mut oracle = BatchOracle::new(&sum);
    (0..STEPS)
        .map(|k| {
            oracle.set_batch(k % BATCHES).unwrap();
            opt.step(&mut theta, &mut oracle).expect("step");
            theta.clone()
        })
        .collect()
}

fn gen_opt(flow: GeneratedFlow, scheme: Scheme, h: f64) -> GeneratedOptimizer {
    GeneratedOptimizer::new(Box::new(flow), scheme, h).expect("generated optimizer")
}

/// Fused vs generated ≤ 1e-12; fused vs control ≥ 1e-8.
fn check(
    what: &str,
    fused: &mut dyn Optimizer,
    generated: &mut dyn Optimizer,
    control: &mut dyn Optimizer,
) {
    for seed in [1, 2] {
        fused.reset();
        generated.reset();
        control.reset();
        let a = trajectory(fused, seed);
        let b = trajectory(generated, seed);
        let c = trajectory(control, seed);
        let same = max_rel(&b, &a);
        let other = max_rel(&c, &a);
        assert!(
            same <= 1e-12,
            "{what} (seed {seed}): generated differs by {same:e}"
        );
        assert!(
            other >= 1e-8,
            "{what} (seed {seed}): control differs by only {other:e}"
        );
    }
}

fn gradient() -> GeneratedFlow {
    GeneratedFlow::new(FlowKind::Gradient).unwrap()
}

fn heavy_ball(gamma: f64, damping: f64) -> GeneratedFlow {
    GeneratedFlow::new(FlowKind::HeavyBall {
        friction: Friction::Constant(gamma),
        hessian_damping: damping,
    })
    .unwrap()
}

#[test]
fn sgd_is_explicit_euler_on_the_gradient_flow() {
    let h = 0.03;
    check(
        "sgd",
        &mut GradientDescent::sgd(h).unwrap(),
        &mut gen_opt(gradient(), Scheme::stepper("explicit_euler").unwrap(), h),
        &mut gen_opt(
            gradient(),
            Scheme::stepper("explicit_euler").unwrap(),
            h * (1.0 + 1e-6),
        ),
    );
}

#[test]
fn implicit_sgd_is_implicit_euler_on_the_gradient_flow() {
    // Both solve the same implicit equation (fixed-point iteration to 1e-15
    // vs Newton with a finite-difference Jacobian to 1e-12 scaled
    // corrections, whose next correction is ~1e-8 smaller).
    let h = 0.05;
    check(
        "implicit sgd",
        &mut GradientDescent::implicit_sgd(h).unwrap(),
        &mut gen_opt(gradient(), Scheme::stepper("implicit_euler").unwrap(), h),
        &mut gen_opt(gradient(), Scheme::stepper("explicit_euler").unwrap(), h),
    );
}

/// `GradientDescent` with `GradientScheme::Rk4` now runs the RK4 stepper
/// through a generated optimizer (the steppers are the one place a scheme
/// lives), so this checks the wrapper forwards faithfully; the independent
/// pin is tests/optimizers.rs `rk4_on_the_gradient_flow_equals_the_rk4_polynomial`.
#[test]
fn rk4_gradient_descent_is_rk4_on_the_gradient_flow() {
    let h = 0.05;
    check(
        "rk4 gd",
        &mut GradientDescent::from_ode(GradientScheme::Rk4, h).unwrap(),
        &mut gen_opt(gradient(), Scheme::stepper("rk4").unwrap(), h),
        &mut gen_opt(gradient(), Scheme::stepper("explicit_euler").unwrap(), h),
    );
}

#[test]
fn momentum_is_a_lie_splitting_of_the_heavy_ball_under_all_three_maps() {
    let (gamma, h) = (1.5, 0.15);
    let fhb = ["friction", "kick", "drift"];
    let kfd = ["kick", "friction", "drift"];
    // Semi-implicit Euler: β = 1 − γh, all Euler.
    check(
        "momentum semi-implicit",
        &mut Momentum::from_ode(gamma, HeavyBallScheme::SemiImplicitEuler, h).unwrap(),
        &mut gen_opt(
            heavy_ball(gamma, 0.0),
            lie(&fhb, vec![euler(), euler(), euler()]),
            h,
        ),
        &mut gen_opt(
            heavy_ball(gamma, 0.0),
            lie(&fhb, vec![SubScheme::Exact, euler(), euler()]),
            h,
        ),
    );
    // Exact friction: β = e^{−γh}.
    check(
        "momentum exact friction",
        &mut Momentum::from_ode(gamma, HeavyBallScheme::ExactFriction, h).unwrap(),
        &mut gen_opt(
            heavy_ball(gamma, 0.0),
            lie(&fhb, vec![SubScheme::Exact, euler(), euler()]),
            h,
        ),
        &mut gen_opt(
            heavy_ball(gamma, 0.0),
            lie(&fhb, vec![euler(), euler(), euler()]),
            h,
        ),
    );
    // Forward friction: kick, then implicit-Euler friction, then drift.
    let implicit = || SubScheme::named("implicit_euler").unwrap();
    check(
        "momentum forward friction",
        &mut Momentum::from_ode(gamma, HeavyBallScheme::ForwardFriction, h).unwrap(),
        &mut gen_opt(
            heavy_ball(gamma, 0.0),
            lie(&kfd, vec![euler(), implicit(), euler()]),
            h,
        ),
        &mut gen_opt(
            heavy_ball(gamma, 0.0),
            lie(&kfd, vec![euler(), SubScheme::Exact, euler()]),
            h,
        ),
    );
}

#[test]
fn nag_is_a_lie_splitting_of_the_hessian_damped_heavy_ball() {
    let (gamma, h) = (1.5, 0.15);
    let fdk = ["friction", "drift", "kick"];
    for (scheme, friction) in [
        (HeavyBallScheme::ExactFriction, SubScheme::Exact),
        (HeavyBallScheme::SemiImplicitEuler, euler()),
    ] {
        let control_friction = match friction {
            SubScheme::Exact => SubScheme::Exact,
            _ => euler(),
        };
        check(
            &format!("nag {}", scheme.as_str()),
            &mut Nag::from_ode(NagFriction::Constant { gamma, scheme }, h).unwrap(),
            &mut gen_opt(
                heavy_ball(gamma, h),
                lie(&fdk, vec![friction, euler(), euler()]),
                h,
            ),
            // Control: no Hessian damping (the gradient correction at the
            // look-ahead point is what makes it NAG).
            &mut gen_opt(
                heavy_ball(gamma, 0.0),
                lie(&fdk, vec![control_friction, euler(), euler()]),
                h,
            ),
        );
    }
}

#[test]
fn nesterov_is_explicit_euler_friction_on_the_r_over_t_flow_with_shifted_clock() {
    let (s, r) = (0.01_f64, 3.0);
    let h = s.sqrt();
    let flow = |damping| {
        GeneratedFlow::new(FlowKind::HeavyBall {
            friction: Friction::Vanishing { r },
            hessian_damping: damping,
        })
        .unwrap()
    };
    let fdk = ["friction", "drift", "kick"];
    let build = |t0: f64| {
        gen_opt(flow(h), lie(&fdk, vec![euler(), euler(), euler()]), h)
            .with_start_time(t0)
            .unwrap()
    };
    check(
        "nesterov r/t",
        &mut Nag::from_ode(NagFriction::Vanishing { r }, h).unwrap(),
        &mut build((r - 1.0) * h),
        &mut build(r * h),
    );
}

fn moments_position(flow: GeneratedFlow, h: f64) -> GeneratedOptimizer {
    gen_opt(
        flow,
        lie(&["moments", "position"], vec![euler(), euler()]),
        h,
    )
}

#[test]
fn adagrad_and_rmsprop_are_lie_splittings_of_their_odes() {
    let delta = 0.01;
    for placement in [EpsPlacement::Outside, EpsPlacement::Inside] {
        let ada = |eps| GeneratedFlow::new(FlowKind::AdaGrad { eps, placement }).unwrap();
        check(
            &format!("adagrad {}", placement.as_str()),
            &mut AdaGrad::from_ode(1e-6, placement, delta).unwrap(),
            &mut moments_position(ada(1e-6), delta),
            &mut moments_position(ada(1e-6), delta * (1.0 + 1e-6)),
        );
        let rms = |b| {
            GeneratedFlow::new(FlowKind::RmsProp {
                b,
                eps: 1e-8,
                placement,
            })
            .unwrap()
        };
        let mut generated = moments_position(rms(10.0), delta);
        check(
            &format!("rmsprop {}", placement.as_str()),
            &mut RmsProp::from_ode(10.0, 1e-8, placement, delta).unwrap(),
            &mut generated,
            &mut moments_position(rms(10.0 * (1.0 + 1e-5)), delta),
        );
        // The memo: "position" reuses the gradient "moments" took at the same θ.
        assert_eq!(generated.gradient_evaluations(), 2 * STEPS);
    }
}

fn adam_flow(bias: AdamBias) -> GeneratedFlow {
    GeneratedFlow::new(FlowKind::Adam {
        a: 10.0,
        b: 0.1,
        eps: 1e-8,
        placement: EpsPlacement::Outside,
        bias,
    })
    .unwrap()
}

#[test]
fn adam_is_a_lie_splitting_of_its_ode_with_discrete_bias_factors() {
    let delta = 0.01;
    let mut generated = moments_position(adam_flow(AdamBias::Discrete), delta);
    check(
        "adam",
        &mut Adam::from_ode(10.0, 0.1, 1e-8, EpsPlacement::Outside, delta).unwrap(),
        &mut generated,
        &mut moments_position(adam_flow(AdamBias::Continuous), delta),
    );
    assert_eq!(generated.gradient_evaluations(), 2 * STEPS);
}

#[test]
fn adamw_both_decay_schemes_are_lie_splittings_with_a_decay_piece() {
    let (delta, lambda) = (0.01, 0.5);
    let p = AdamParameters::from_ode(10.0, 0.1, 1e-8, EpsPlacement::Outside, delta).unwrap();
    let flow = || adam_flow(AdamBias::Discrete).with_decay(lambda).unwrap();
    let mdp = ["moments", "decay", "position"];
    let mpd = ["moments", "position", "decay"];
    check(
        "adamw decoupled",
        &mut AdamW::new(p, lambda, DecayScheme::Decoupled).unwrap(),
        &mut gen_opt(flow(), lie(&mdp, vec![euler(), euler(), euler()]), delta),
        &mut gen_opt(
            flow(),
            lie(&mdp, vec![euler(), SubScheme::Exact, euler()]),
            delta,
        ),
    );
    check(
        "adamw lie exact",
        &mut AdamW::new(p, lambda, DecayScheme::LieExact).unwrap(),
        &mut gen_opt(
            flow(),
            lie(&mpd, vec![euler(), euler(), SubScheme::Exact]),
            delta,
        ),
        &mut gen_opt(flow(), lie(&mpd, vec![euler(), euler(), euler()]), delta),
    );
}

// ---- bad input -------------------------------------------------------

fn invalid_name(e: Error) -> String {
    match e {
        Error::InvalidParameter { name, .. } => name,
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
}

#[test]
fn impossible_flow_scheme_combinations_are_errors_naming_the_key() {
    let strang2 = || SplittingCoefficients::strang(2).unwrap();
    // A splitting of a one-piece flow.
    let s = Scheme::splitting(
        SplittingCoefficients::lie(1).unwrap(),
        &["gradient"],
        vec![euler()],
    )
    .unwrap();
    let e = GeneratedOptimizer::new(Box::new(gradient()), s, 0.1).unwrap_err();
    assert_eq!(invalid_name(e), "pieces");
    // An exact sub-flow for a piece without one.
    let s = lie(
        &["friction", "kick", "drift"],
        vec![euler(), SubScheme::Exact, euler()],
    );
    let e = GeneratedOptimizer::new(Box::new(heavy_ball(1.0, 0.0)), s, 0.1).unwrap_err();
    assert_eq!(invalid_name(e), "sub_schemes");
    // h ≤ 0 and non-finite h.
    for h in [0.0, -0.1, f64::NAN] {
        let e = GeneratedOptimizer::new(Box::new(gradient()), Scheme::stepper("rk4").unwrap(), h)
            .unwrap_err();
        assert_eq!(invalid_name(e), "h");
    }
    // A piece the flow does not have, and a piece left out.
    let s = Scheme::splitting(strang2(), &["moments", "drift"], vec![euler(), euler()]).unwrap();
    let e = GeneratedOptimizer::new(Box::new(adam_flow(AdamBias::None)), s, 0.1).unwrap_err();
    assert_eq!(invalid_name(e), "pieces");
    let s = Scheme::splitting(strang2(), &["friction", "kick"], vec![euler(), euler()]).unwrap();
    let e = GeneratedOptimizer::new(Box::new(heavy_ball(1.0, 0.0)), s, 0.1).unwrap_err();
    assert_eq!(invalid_name(e), "pieces");
    // Sub-schemes that do not match the pieces; unknown stepper.
    assert_eq!(
        invalid_name(
            Scheme::splitting(strang2(), &["moments", "position"], vec![euler()]).unwrap_err()
        ),
        "sub_schemes"
    );
    assert!(matches!(SubScheme::named("rk7"), Err(Error::Spec { .. })));
    assert_eq!(
        invalid_name(Scheme::stepper("exact").unwrap_err()),
        "scheme"
    );
}

#[test]
fn a_generated_optimizer_never_returns_ok_with_non_finite_theta() {
    // A NaN gradient at step 3: error naming the step, θ unchanged.
    let mut calls = 0;
    let mut oracle = FnOracle::new(2, move |x: &State, g: &mut State| {
        calls += 1;
        g.copy_from(x);
        if calls == 3 {
            g[1] = f64::NAN;
        }
    });
    let mut opt = gen_opt(gradient(), Scheme::stepper("explicit_euler").unwrap(), 0.1);
    let mut x = State::from_vec(vec![1.0, 2.0]);
    opt.step(&mut x, &mut oracle).unwrap();
    opt.step(&mut x, &mut oracle).unwrap();
    let before = x.clone();
    let e = opt.step(&mut x, &mut oracle).unwrap_err();
    assert!(e.to_string().contains("step 3"), "{e}");
    assert_eq!(x, before);
    assert_eq!(opt.steps_taken(), 2);
    // A finite gradient whose step overflows: error naming the step, θ unchanged.
    let mut oracle = FnOracle::new(1, |x: &State, g: &mut State| g[0] = 1e300 * x[0]);
    let mut opt = gen_opt(heavy_ball(1.0, 0.0), Scheme::stepper("rk4").unwrap(), 1e10);
    let mut x = State::from_vec(vec![1.0]);
    let e = opt.step(&mut x, &mut oracle).unwrap_err();
    assert!(matches!(e, Error::NonFinite { .. }), "{e:?}");
    assert!(e.to_string().contains("step 1"), "{e}");
    assert_eq!(x[0], 1.0);
}

// ---- orders ------------------------------------------------------------

fn strang_heavy_ball(gamma: f64, h: f64) -> splitflow::Result<GeneratedOptimizer> {
    GeneratedOptimizer::new(
        Box::new(heavy_ball(gamma, 0.0)),
        Scheme::splitting(
            SplittingCoefficients::strang(3)?,
            &["friction", "kick", "drift"],
            vec![SubScheme::Exact, euler(), euler()],
        )?,
        h,
    )
}

#[test]
fn orders_of_optimizers_as_integrators_of_their_flows() {
    let quad = OrderObjective::quadratic(&[1.0, 10.0]).unwrap();
    let levels = [32, 64, 128, 256];
    let order = |factory: &dyn Fn(f64) -> splitflow::Result<GeneratedOptimizer>,
                 obj: &OrderObjective| {
        order_study(factory, obj, 1.0, &levels)
            .unwrap()
            .fitted_order
    };
    let gd =
        |h| GeneratedOptimizer::new(Box::new(gradient()), Scheme::stepper("explicit_euler")?, h);
    let rk4 = |h| GeneratedOptimizer::new(Box::new(gradient()), Scheme::stepper("rk4")?, h);
    let momentum = |h| {
        GeneratedOptimizer::new(
            Box::new(heavy_ball(2.0, 0.0)),
            lie(
                &["friction", "kick", "drift"],
                vec![SubScheme::Exact, euler(), euler()],
            ),
            h,
        )
    };
    let strang = |h| strang_heavy_ball(2.0, h);
    let adam = |h| moments_position_checked(adam_flow(AdamBias::Discrete), h);
    for (what, got, want) in [
        ("gd", order(&gd, &quad), 1.0),
        ("rk4 gd", order(&rk4, &quad), 4.0),
        ("momentum", order(&momentum, &quad), 1.0),
        ("strang heavy ball", order(&strang, &quad), 2.0),
        ("adam", order(&adam, &quad), 1.0),
        (
            "strang heavy ball, rosenbrock",
            order(&strang, &OrderObjective::rosenbrock()),
            2.0,
        ),
    ] {
        eprintln!("{what}: {got}");
        assert!(
            (got - want).abs() <= 0.15,
            "{what}: fitted order {got}, expected {want}"
        );
    }
}

fn moments_position_checked(flow: GeneratedFlow, h: f64) -> splitflow::Result<GeneratedOptimizer> {
    GeneratedOptimizer::new(
        Box::new(flow),
        Scheme::splitting(
            SplittingCoefficients::lie(2)?,
            &["moments", "position"],
            vec![euler(), euler()],
        )?,
        h,
    )
}

// ---- optimizers nobody has named ---------------------------------------

#[test]
fn heavy_ball_rk4_and_strang_heavy_ball_train_a_least_squares_problem() {
    let (sum, theta0) = problem(7);
    let loss = |theta: &State| {
        use splitflow::objective::FiniteSum;
        (0..BATCHES).map(|i| sum.batch_value(i, theta)).sum::<f64>() / BATCHES as f64
    };
    let hb_rk4 = gen_opt(heavy_ball(2.0, 0.0), Scheme::stepper("rk4").unwrap(), 0.1);
    let strang = strang_heavy_ball(2.0, 0.1).unwrap();
    let rk45 = gen_opt(
        gradient(),
        Scheme::Whole(
            splitflow::Integrator::adaptive(
                splitflow::Rk45::new(),
                splitflow::AdaptiveOptions::with_tolerance(1e-6),
            )
            .unwrap(),
        ),
        0.5,
    );
    for mut opt in [hb_rk4, strang, rk45] {
        let mut theta = theta0.clone();
        let mut oracle = BatchOracle::new(&sum);
        let start = loss(&theta);
        for k in 0..20 * BATCHES {
            oracle.set_batch(k % BATCHES).unwrap();
            opt.step(&mut theta, &mut oracle).unwrap();
        }
        assert!(
            loss(&theta) < 0.5 * start,
            "{}: {} → {}",
            opt.derivation(),
            start,
            loss(&theta)
        );
    }
}

#[test]
fn adaptive_rk45_optimizer_follows_the_exact_gradient_flow() {
    // f = ½(x₁² + 10x₂²): x(t) = (e^{−t}, e^{−10t}); 8 optimizer steps of 0.25.
    let quad = OrderObjective::quadratic(&[1.0, 10.0]).unwrap();
    let _ = quad.label();
    let mut opt = gen_opt(
        gradient(),
        Scheme::Whole(
            splitflow::Integrator::adaptive(
                splitflow::Rk45::new(),
                splitflow::AdaptiveOptions::with_tolerance(1e-10),
            )
            .unwrap(),
        ),
        0.25,
    );
    let mut oracle = FnOracle::new(2, |x: &State, g: &mut State| {
        g[0] = x[0];
        g[1] = 10.0 * x[1];
    });
    let mut x = State::from_vec(vec![1.0, 1.0]);
    for _ in 0..8 {
        opt.step(&mut x, &mut oracle).unwrap();
    }
    let exact = [(-2.0f64).exp(), (-20.0f64).exp()];
    assert!(
        (x[0] - exact[0]).abs() < 1e-8 && (x[1] - exact[1]).abs() < 1e-8,
        "{x:?}"
    );
    // Error control chose several sub-steps per optimizer step.
    assert!(opt.gradient_evaluations() > 8 * 6);
}

// ---- specs -------------------------------------------------------------

use splitflow::optimizers::OptimizerSpec;

fn spec(text: &str) -> OptimizerSpec {
    OptimizerSpec::from_toml(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[test]
fn classic_ode_specs_generate_optimizers_equal_to_their_fused_paths() {
    let hb = |friction: &str, scheme: &str, h: f64, extra: &str| {
        format!(
            "[flow]\nkind = \"heavy_ball\"\n{friction}\n[discretization]\nscheme = \"{scheme}\"\nh = {h}\n{extra}"
        )
    };
    let cases = [
        "[flow]\nkind = \"gradient\"\n[discretization]\nscheme = \"explicit_euler\"\nh = 0.03\n".to_string(),
        "[flow]\nkind = \"gradient\"\n[discretization]\nscheme = \"rk4\"\nh = 0.05\n".to_string(),
        hb("friction = 1.5", "semi_implicit_euler", 0.15, ""),
        hb("friction = 1.5", "exact_friction", 0.15, ""),
        hb("friction = 1.5", "forward_friction", 0.15, ""),
        hb("friction = 1.5", "exact_friction", 0.15, "gradient_at = \"lookahead\"\n"),
        hb("friction = 1.5", "semi_implicit_euler", 0.15, "gradient_at = \"lookahead\"\n"),
        hb("vanishing_r = 3.0", "nesterov", 0.1, ""),
        "[flow]\nkind = \"rmsprop\"\nb = 2.0\neps = 1e-6\neps_placement = \"inside\"\n[discretization]\nscheme = \"explicit_euler\"\nh = 0.01\n".to_string(),
        "[flow]\nkind = \"adagrad\"\neps = 1e-4\n[discretization]\nscheme = \"explicit_euler\"\nh = 0.04\n".to_string(),
        "[flow]\nkind = \"adam\"\na = 10.0\nb = 0.1\neps = 1e-8\n[discretization]\nscheme = \"explicit_euler\"\nh = 0.01\n".to_string(),
        "[flow]\nkind = \"adam\"\na = 10.0\nb = 0.1\nweight_decay = 0.1\n[discretization]\nscheme = \"explicit_euler\"\nh = 0.01\ndecay_scheme = \"lie_exact\"\n".to_string(),
        "[flow]\nkind = \"adam\"\na = 10.0\nb = 0.1\nweight_decay = 0.1\n[discretization]\nscheme = \"explicit_euler\"\nh = 0.01\n".to_string(),
    ];
    for text in &cases {
        let s = spec(text);
        let h = s.discretization.as_ref().unwrap().h;
        check(
            text,
            s.build().unwrap().as_mut(),
            &mut s.generated(None).unwrap(),
            &mut s.generated(Some(h * (1.0 + 1e-5))).unwrap(),
        );
    }
    // Forward-friction NAG has no splitting form: an error naming the scheme.
    let s = spec(&hb(
        "friction = 1.5",
        "forward_friction",
        0.15,
        "gradient_at = \"lookahead\"\n",
    ));
    assert_eq!(invalid_name(s.generated(None).unwrap_err()), "scheme");
}

const NEW_SPECS: [&str; 5] = [
    "heavy_ball_rk4.toml",
    "strang_heavy_ball.toml",
    "gradient_rk45.toml",
    "adam_implicit_moments.toml",
    "hessian_damped_heavy_ball.toml",
];

fn example(name: &str) -> OptimizerSpec {
    let path = format!("{}/examples/specs/{name}", env!("CARGO_MANIFEST_DIR"));
    spec(&std::fs::read_to_string(path).unwrap())
}

#[test]
fn new_example_specs_explain_as_generated_with_no_textbook_equivalent() {
    for name in NEW_SPECS {
        let e = example(name).explain().unwrap();
        let json = serde_json::to_value(&e).unwrap();
        assert!(json["textbook"].is_null(), "{name}: {json}");
        assert!(
            json["flow"].is_object() && json["discretization"].is_object(),
            "{name}"
        );
        let update = json["update"].as_str().unwrap();
        assert!(update.contains("h = "), "{name}: {update}");
        assert!(e.note.unwrap().contains("no textbook equivalent"), "{name}");
    }
    // A classic spec keeps its textbook form and gains its update formula.
    let e = example("adam_ode_digits.toml").explain().unwrap();
    assert_eq!(e.textbook.method, "adam");
    assert!(e.update.unwrap().contains("1 − β₁ⁿ"));
}

#[test]
fn new_example_specs_train_and_have_their_orders() {
    let (sum, theta0) = problem(11);
    let loss = |theta: &State| {
        use splitflow::objective::FiniteSum;
        (0..BATCHES).map(|i| sum.batch_value(i, theta)).sum::<f64>() / BATCHES as f64
    };
    for name in NEW_SPECS {
        let mut opt = example(name).build().unwrap();
        let mut theta = theta0.clone();
        let mut oracle = BatchOracle::new(&sum);
        let start = loss(&theta);
        for k in 0..40 * BATCHES {
            oracle.set_batch(k % BATCHES).unwrap();
            opt.step(&mut theta, &mut oracle).unwrap();
        }
        assert!(
            loss(&theta) < 0.7 * start,
            "{name}: {start} → {}",
            loss(&theta)
        );
    }
    let quad = OrderObjective::quadratic(&[1.0, 10.0]).unwrap();
    // Adam with implicit-Euler moments is pre-asymptotic longer (its
    // moments contract by 1/(1 + ah), its bias factors by 1 − ah): finer levels.
    for (name, want, levels) in [
        ("heavy_ball_rk4.toml", 4.0, [32, 64, 128, 256]),
        ("strang_heavy_ball.toml", 2.0, [32, 64, 128, 256]),
        ("hessian_damped_heavy_ball.toml", 1.0, [32, 64, 128, 256]),
        ("adam_implicit_moments.toml", 1.0, [128, 256, 512, 1024]),
        ("heavy_ball_wdbc.toml", 1.0, [32, 64, 128, 256]),
    ] {
        let s = example(name);
        let got = order_study(|h| s.generated(Some(h)), &quad, 1.0, &levels)
            .unwrap()
            .fitted_order;
        eprintln!("{name}: {got}");
        assert!(
            (got - want).abs() <= 0.15,
            "{name}: order {got}, expected {want}"
        );
    }
}

#[test]
fn generated_spec_errors_name_the_key_and_line() {
    let bad = [
        (
            "[flow]\nkind = \"gradient\"\n[discretization]\nsplitting = \"strang\"\nh = 0.1\n",
            "discretization.splitting",
            4,
        ),
        (
            "[flow]\nkind = \"heavy_ball\"\nfriction = 1.0\n[discretization]\nsplitting = \"lie\"\nsub_schemes = [\"exact\", \"exact\", \"explicit_euler\"]\nh = 0.1\n",
            "discretization.sub_schemes",
            6,
        ),
        (
            "[flow]\nkind = \"heavy_ball\"\nfriction = 1.0\n[discretization]\nscheme = \"rk4\"\nh = -0.1\n",
            "discretization.h",
            6,
        ),
        (
            "[flow]\nkind = \"heavy_ball\"\nfriction = 1.0\n[discretization]\nsplitting = \"lie\"\npieces = [\"friction\", \"kick\"]\nsub_schemes = [\"exact\", \"rk4\"]\nh = 0.1\n",
            "discretization.pieces",
            6,
        ),
        (
            "[flow]\nkind = \"heavy_ball\"\nfriction = 1.0\n[discretization]\nsplitting = \"lie\"\nsub_schemes = [\"exact\", \"rk7\", \"rk4\"]\nh = 0.1\n",
            "discretization.sub_schemes",
            6,
        ),
        (
            "[flow]\nkind = \"adam\"\na = 1.0\nb = 1.0\nbias = \"sometimes\"\n[discretization]\nscheme = \"rk4\"\nh = 0.1\n",
            "flow.bias",
            5,
        ),
    ];
    for (text, needle, line) in bad {
        match OptimizerSpec::from_toml(text) {
            Err(Error::Spec { message, line: got }) => {
                assert!(message.contains(needle), "{needle}: {message}");
                assert_eq!(got, Some(line), "{needle}: {message}");
            }
            other => panic!("{needle}: expected a spec error, got {other:?}"),
        }
    }
}

#[test]
fn cli_order_measures_an_optimizer_spec_with_the_order_json_keys() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_splitflow"))
        .args([
            "order",
            &format!(
                "{}/examples/specs/strang_heavy_ball.toml",
                env!("CARGO_MANIFEST_DIR")
            ),
        ])
        .args([
            "--objective",
            "quadratic",
            "--eigenvalues",
            "1,10",
            "--t-end",
            "1",
            "--steps",
            "32,64,128,256",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["problem", "method", "reference"]
        .iter()
        .chain(&ORDER_STUDY_KEYS)
    {
        assert!(j.get(key).is_some(), "missing {key}: {j}");
    }
    assert!(
        (j["fitted_order"].as_f64().unwrap() - 2.0).abs() <= 0.15,
        "{j}"
    );
}

#[test]
fn custom_splitting_coefficients_in_a_spec_equal_the_named_scheme() {
    // Strang as a custom table gives the same optimizer as `strang`, bitwise.
    let base = "[flow]\nkind = \"heavy_ball\"\nfriction = 1.5\n[discretization]\npieces = [\"friction\", \"kick\", \"drift\"]\nsub_schemes = [\"exact\", \"explicit_euler\", \"explicit_euler\"]\nh = 0.1\n";
    let named = spec(&format!("{base}splitting = \"strang\"\n"));
    let custom = spec(&format!(
        "{base}splitting = \"custom\"\ncoefficients = [[0.5, 0.0, 0.5], [0.5, 0.5, 0.0], [1.0, 0.0, 0.0]]\norder = 2\n"
    ));
    let a = trajectory(named.build().unwrap().as_mut(), 3);
    let b = trajectory(custom.build().unwrap().as_mut(), 3);
    assert_eq!(a, b);
    // Negative control: Lie differs.
    let lie = spec(&format!("{base}splitting = \"lie\"\n"));
    assert!(max_rel(&trajectory(lie.build().unwrap().as_mut(), 3), &b) >= 1e-8);
    // A claimed order the table does not have, a missing order, coefficients without custom.
    let bad = [
        (
            format!(
                "{base}splitting = \"custom\"\ncoefficients = [[1.0], [1.0], [1.0]]\norder = 2\n"
            ),
            "discretization.order",
            10,
        ),
        (
            format!("{base}splitting = \"custom\"\ncoefficients = [[1.0], [1.0], [1.0]]\n"),
            "discretization.order",
            0, // a missing key has no line
        ),
        (
            format!("{base}splitting = \"lie\"\norder = 1\n"),
            "discretization.order",
            9,
        ),
    ];
    for (text, needle, line) in bad {
        match OptimizerSpec::from_toml(&text) {
            Err(Error::Spec { message, line: got }) => {
                assert!(message.contains(needle), "{needle}: {message}");
                assert_eq!(
                    got,
                    (line > 0).then_some(line),
                    "{needle}: {message}\n{text}"
                );
            }
            other => panic!("{needle}: expected a spec error, got {other:?}"),
        }
    }
}

#[test]
fn the_flow_registry_is_what_specs_accept() {
    use splitflow::optimizers::FLOW_KINDS;
    for entry in FLOW_KINDS {
        let extra = match entry.name {
            "heavy_ball" => "friction = 1.0\n",
            "rmsprop" => "b = 1.0\n",
            "adam" => "a = 1.0\nb = 1.0\n",
            _ => "",
        };
        let s = spec(&format!(
            "[flow]\nkind = \"{}\"\n{extra}weight_decay = 0.1\n[discretization]\nscheme = \"rk4\"\nh = 0.1\n",
            entry.name
        ));
        let g = s.generated(None).unwrap();
        let mut pieces: Vec<&str> = entry.pieces.to_vec();
        pieces.push("decay");
        assert_eq!(g.flow().pieces(), pieces, "{}", entry.name);
    }
    let e = OptimizerSpec::from_toml(
        "[flow]\nkind = \"newtonish\"\n[discretization]\nscheme = \"rk4\"\nh = 0.1\n",
    )
    .unwrap_err()
    .to_string();
    for entry in FLOW_KINDS {
        assert!(e.contains(entry.name), "{e}");
    }
}
