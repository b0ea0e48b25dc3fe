//! Learning-rate schedules as variable steps h_k of the same ODE.
//!
//! Each schedule is checked against a hand-written textbook loop with a
//! per-step learning rate (and momentum / β) computed from the stated
//! formula: the generated path evaluates the same arithmetic in a different
//! association, so the trajectories agree to round-off (≤ 1e-12 relative
//! over 200 steps), and a negative control (the constant step, or the
//! momentum without the h_k/h_{k−1} ratio) differs by ≥ 1e-8.

use nalgebra::{DMatrix, DVector};
use rand::{SeedableRng, rngs::StdRng};
use rand_distr::{Distribution, StandardNormal};
use splitflow::objective::QuadraticSum;
use splitflow::optimizers::{
    AdamBias, BatchOracle, EpsPlacement, FlowKind, FnOracle, GeneratedFlow, GeneratedOptimizer,
    GradientOracle, Optimizer, OptimizerSpec, Schedule, ScheduleSpec, Scheme, SubScheme,
};
use splitflow::splitting::SplittingCoefficients;
use splitflow::{Error, State};

use crate::common::max_rel;

const P: usize = 5;
const BATCH: usize = 4;
const BATCHES: usize = 3;
const STEPS: usize = 200;

fn problem() -> (QuadraticSum, State) {
    let mut rng = StdRng::seed_from_u64(11);
    let mut n = || -> f64 { StandardNormal.sample(&mut rng) };
    let x = DMatrix::from_fn(BATCH * BATCHES, P, |_, _| n());
    let y = DVector::from_fn(BATCH * BATCHES, |_, _| n());
    let theta0 = State::from_fn(P, |_, _| n());
    (QuadraticSum::least_squares(&x, &y, BATCH).unwrap(), theta0)
}

/// θ after every step of `opt`, batches cycled.
fn run(opt: &mut dyn Optimizer) -> Vec<State> {
    let (sum, mut theta) = problem();
    let mut oracle = BatchOracle::new(&sum);
    (0..STEPS)
        .map(|k| {
            oracle.set_batch(k % BATCHES).unwrap();
            opt.step(&mut theta, &mut oracle).unwrap();
            theta.clone()
        })
        .collect()
}

/// θ after every step of a hand loop `update(k, θ, g(θ))` (state in the closure).
fn hand(mut update: impl FnMut(usize, &mut State, &mut BatchOracle<QuadraticSum>)) -> Vec<State> {
    let (sum, mut theta) = problem();
    let mut oracle = BatchOracle::new(&sum);
    (0..STEPS)
        .map(|k| {
            oracle.set_batch(k % BATCHES).unwrap();
            update(k, &mut theta, &mut oracle);
            theta.clone()
        })
        .collect()
}

fn grad(oracle: &mut BatchOracle<QuadraticSum>, theta: &State) -> State {
    let mut g = State::zeros(theta.len());
    oracle.gradient(theta, &mut g).unwrap();
    g
}

fn spec(text: &str) -> OptimizerSpec {
    OptimizerSpec::from_toml(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[test]
fn sgd_with_a_power_schedule_is_the_textbook_loop_with_lr_k() {
    let h = 0.08;
    let schedule = Schedule::power(0.5).unwrap();
    let flow = GeneratedFlow::new(FlowKind::Gradient).unwrap();
    let mut opt = GeneratedOptimizer::new(
        Box::new(flow),
        Scheme::stepper("explicit_euler").unwrap(),
        h,
    )
    .unwrap()
    .with_schedule(schedule);
    let got = run(&mut opt);
    let want = hand(|k, theta, oracle| {
        let g = grad(oracle, theta);
        let lr = h / ((k + 1) as f64).powf(0.5);
        *theta -= lr * g;
    });
    assert!(max_rel(&got, &want) <= 1e-12, "{}", max_rel(&got, &want));
    // Negative control: the constant step.
    let mut constant = GeneratedOptimizer::new(
        Box::new(GeneratedFlow::new(FlowKind::Gradient).unwrap()),
        Scheme::stepper("explicit_euler").unwrap(),
        h,
    )
    .unwrap();
    assert!(max_rel(&run(&mut constant), &want) >= 1e-8);
}

#[test]
fn scheduled_momentum_has_lr_h_squared_and_momentum_with_the_step_ratio() {
    // A classic ODE-form spec with a [schedule]: exact friction over h_k.
    let (gamma, h) = (1.5, 0.2);
    let text = format!(
        "[flow]\nkind = \"heavy_ball\"\nfriction = {gamma}\n[discretization]\nscheme = \"exact_friction\"\nh = {h}\n[schedule]\nkind = \"step\"\nevery = 7\nfactor = 0.5\n"
    );
    let s = spec(&text);
    let got = run(s.build().unwrap().as_mut());
    let hk = |k: usize| h * 0.5f64.powi((k / 7) as i32);
    let textbook = |ratio: bool| {
        let mut prev: Option<State> = None;
        hand(move |k, theta, oracle| {
            let g = grad(oracle, theta);
            let lr = hk(k) * hk(k);
            let mut next = &*theta - lr * g;
            if let Some(x_prev) = &prev {
                let r = if ratio { hk(k) / hk(k - 1) } else { 1.0 };
                let momentum = (-gamma * hk(k)).exp() * r;
                next += momentum * (&*theta - x_prev);
            }
            prev = Some(theta.clone());
            *theta = next;
        })
    };
    let want = textbook(true);
    assert!(max_rel(&got, &want) <= 1e-12, "{}", max_rel(&got, &want));
    // Negative control: momentum_k = e^{−γh_k} without the ratio h_k/h_{k−1}.
    assert!(max_rel(&got, &textbook(false)) >= 1e-8);
    // `explain` states the same lr_k and momentum_k.
    let e = s.explain().unwrap();
    let sched = e.schedule.expect("explained schedule");
    assert!(
        sched
            .lr_k
            .starts_with("lr_k = h_k², momentum_k = e^(−1.5·h_k)·h_k/h_(k−1)")
    );
    for step in &sched.steps {
        assert_eq!(step.h, hk(step.k));
        assert!((step.lr.unwrap() - hk(step.k).powi(2)).abs() <= 1e-15);
    }
    // The textbook form with the same schedule is the same optimizer.
    let tb = spec(&format!(
        "[textbook]\nmethod = \"momentum\"\nlr = {}\nmomentum = {}\n[schedule]\nkind = \"step\"\nevery = 7\nfactor = 0.5\n",
        h * h,
        (-gamma * h).exp()
    ));
    assert!(max_rel(&run(tb.build().unwrap().as_mut()), &want) <= 1e-12);
}

#[test]
fn scheduled_adam_steps_lr_and_betas_with_h_k_and_bias_from_the_products() {
    let (a, b, eps, h) = (10.0, 0.5, 1e-8, 0.01);
    let schedule = Schedule::cosine(150, 0.002).unwrap();
    let flow = GeneratedFlow::new(FlowKind::Adam {
        a,
        b,
        eps,
        placement: EpsPlacement::Outside,
        bias: AdamBias::Discrete,
    })
    .unwrap();
    let euler = || SubScheme::named("explicit_euler").unwrap();
    let scheme = Scheme::splitting(
        SplittingCoefficients::lie(2).unwrap(),
        &["moments", "position"],
        vec![euler(), euler()],
    )
    .unwrap();
    let mut opt = GeneratedOptimizer::new(Box::new(flow), scheme, h)
        .unwrap()
        .with_schedule(schedule.clone());
    let got = run(&mut opt);
    let adam = |schedule: Schedule| {
        let (mut m, mut v) = (State::zeros(P), State::zeros(P));
        let (mut p1, mut p2) = (1.0, 1.0);
        hand(move |k, theta, oracle| {
            let g = grad(oracle, theta);
            let hk = schedule.h_at(h, k);
            let (beta1, beta2) = (1.0 - a * hk, 1.0 - b * hk);
            m = beta1 * &m + (1.0 - beta1) * &g;
            v = beta2 * &v + (1.0 - beta2) * g.component_mul(&g);
            p1 *= beta1;
            p2 *= beta2;
            for i in 0..P {
                theta[i] -= hk * (m[i] / (1.0 - p1)) / ((v[i] / (1.0 - p2)).sqrt() + eps);
            }
        })
    };
    let want = adam(schedule);
    assert!(max_rel(&got, &want) <= 1e-12, "{}", max_rel(&got, &want));
    assert!(max_rel(&got, &adam(Schedule::Constant)) >= 1e-8);
}

#[test]
fn a_constant_schedule_changes_nothing_bitwise() {
    for text in [
        "[flow]\nkind = \"adam\"\na = 10.0\nb = 0.1\n[discretization]\nscheme = \"rk4\"\nh = 0.01\n",
        "[flow]\nkind = \"heavy_ball\"\nvanishing_r = 3.0\n[discretization]\nscheme = \"rk4\"\nh = 0.1\n",
    ] {
        let plain = run(spec(text).build().unwrap().as_mut());
        let constant = run(spec(&format!("{text}[schedule]\nkind = \"constant\"\n"))
            .build()
            .unwrap()
            .as_mut());
        assert_eq!(plain, constant, "{text}");
    }
}

#[test]
fn every_schedule_kind_follows_its_formula() {
    let h = 0.1;
    type Case = (&'static str, Schedule, fn(usize) -> f64);
    let cases: [Case; 6] = [
        ("step", Schedule::step(3, 0.5).unwrap(), |k| {
            0.1 * 0.5f64.powi((k / 3) as i32)
        }),
        ("exponential", Schedule::exponential(0.9).unwrap(), |k| {
            0.1 * 0.9f64.powi(k as i32)
        }),
        ("power", Schedule::power(1.0).unwrap(), |k| {
            0.1 / (k + 1) as f64
        }),
        ("cosine", Schedule::cosine(4, 0.02).unwrap(), |k| {
            let x = k.min(4) as f64 / 4.0;
            0.02 + 0.08 * (1.0 + (std::f64::consts::PI * x).cos()) / 2.0
        }),
        ("warmup", Schedule::warmup(4).unwrap(), |k| {
            0.1 * ((k + 1) as f64 / 4.0).min(1.0)
        }),
        (
            "warmup_cosine",
            Schedule::warmup_cosine(2, 6, 0.02).unwrap(),
            |k| {
                if k < 2 {
                    0.1 * (k + 1) as f64 / 2.0
                } else {
                    let x = (k - 2).min(4) as f64 / 4.0;
                    0.02 + 0.08 * (1.0 + (std::f64::consts::PI * x).cos()) / 2.0
                }
            },
        ),
    ];
    for (kind, s, want) in cases {
        assert_eq!(s.kind(), kind);
        for k in 0..12 {
            let got = s.h_at(h, k);
            assert!((got - want(k)).abs() <= 1e-15, "{kind} k = {k}: {got}");
        }
    }
    // The cosine reaches `final` at `total` and stays there.
    assert_eq!(Schedule::cosine(4, 0.02).unwrap().h_at(h, 4), 0.02);
    assert_eq!(Schedule::cosine(4, 0.02).unwrap().h_at(h, 40), 0.02);
}

#[test]
fn bad_schedule_tables_are_errors_naming_the_key_and_line() {
    let head = "[flow]\nkind = \"gradient\"\n[discretization]\nscheme = \"explicit_euler\"\nh = 0.1\n[schedule]\n";
    let bad = [
        ("kind = \"linear\"\n", "schedule.kind", 7),
        // A missing key: the line of the table's header.
        ("kind = \"step\"\nfactor = 0.5\n", "schedule.every", 6),
        (
            "kind = \"step\"\nevery = 0\nfactor = 0.5\n",
            "schedule.every",
            8,
        ),
        (
            "kind = \"step\"\nevery = 2\nfactor = -0.5\n",
            "schedule.factor",
            9,
        ),
        (
            "kind = \"cosine\"\ntotal = 10\nfinal = 0.0\n",
            "schedule.final",
            9,
        ),
        (
            "kind = \"power\"\npower = 1.0\nfactor = 0.5\n",
            "schedule.factor",
            9,
        ),
        (
            "kind = \"warmup_cosine\"\nwarmup = 5\ntotal = 5\nfinal = 0.01\n",
            "schedule.total",
            9,
        ),
        ("kind = \"step\"\nevery = 2\nfactr = 0.5\n", "factr", 9),
        ("kind = \"step\"\nevery = 2.5\nfactor = 0.5\n", "every", 8),
    ];
    for (tail, needle, line) in bad {
        match OptimizerSpec::from_toml(&format!("{head}{tail}")) {
            Err(Error::Spec { message, line: got }) => {
                assert!(message.contains(needle), "{needle}: {message}");
                assert_eq!(got, Some(line), "{needle}: {message}");
            }
            other => panic!("{needle}: expected a spec error, got {other:?}"),
        }
    }
    // A textbook-only method has no ODE, so no step sequence to schedule.
    match OptimizerSpec::from_toml(
        "[textbook]\nmethod = \"adadelta\"\n[schedule]\nkind = \"warmup\"\nwarmup = 3\n",
    ) {
        Err(Error::Spec { message, line }) => {
            assert!(message.contains("adadelta has no ODE form"), "{message}");
            assert_eq!(line, Some(3));
        }
        other => panic!("expected a spec error, got {other:?}"),
    }
    // The library type refuses the same values, naming the key.
    let name = |e: Error| match e {
        Error::InvalidParameter { name, .. } => name,
        other => panic!("{other:?}"),
    };
    assert_eq!(name(Schedule::step(0, 0.5).unwrap_err()), "every");
    assert_eq!(name(Schedule::cosine(3, -1.0).unwrap_err()), "final");
    let table = ScheduleSpec {
        kind: "exponential".into(),
        ..Default::default()
    };
    assert_eq!(name(table.schedule().unwrap_err()), "factor");
}

#[test]
fn a_user_schedule_producing_h_le_0_is_an_error_with_theta_unchanged() {
    let flow = GeneratedFlow::new(FlowKind::Gradient).unwrap();
    let mut opt = GeneratedOptimizer::new(
        Box::new(flow),
        Scheme::stepper("explicit_euler").unwrap(),
        0.1,
    )
    .unwrap()
    .with_schedule(Schedule::custom(|k, h| h * (2.0 - k as f64)));
    let mut oracle = FnOracle::new(2, |x, g| g.copy_from(x));
    let mut x = State::from_vec(vec![1.0, -2.0]);
    opt.step(&mut x, &mut oracle).unwrap();
    opt.step(&mut x, &mut oracle).unwrap();
    let before = x.clone();
    match opt.step(&mut x, &mut oracle) {
        Err(Error::InvalidParameter { name, reason, .. }) => {
            assert_eq!(name, "schedule");
            assert!(reason.contains("step 3"), "{reason}");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    assert_eq!(x, before);
    assert_eq!(opt.steps_taken(), 2);
}
