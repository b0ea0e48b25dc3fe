//! The fast path of a generated optimizer — explicit-Euler (one step) and
//! exact sub-steps written directly on the blocks of `[θ; aux]` — equals
//! its generic path (the same scheme through the integrators on the
//! contiguous state) bitwise for explicit-Euler and exact sub-steps, for every piece of every built-in flow, with
//! the same oracle calls; a failed fast step leaves θ and the state as they
//! were.
//!
//! Implicit Euler on a piece that is affine along its own flow with a
//! diagonal Jacobian (moments, constant friction, decay, drift) takes one
//! linear solve in the stepper, `(1 + h·k)·δ = h·f`; the fast path's
//! quotient per entry is the same arithmetic up to the LU's rounding of the
//! division (≤ 1e-12 relative over the run).
//!
//! The generic path is forced by giving explicit Euler as `Steps::MaxSize`
//! with a bound far above h: one step of size h, the same arithmetic, but
//! not the `Fixed(1)` sub-scheme the fast path recognises (`is_fast` tells
//! the two apart, so the comparison is not of a path with itself).

use splitflow::flows::Friction;
use splitflow::optimizers::{
    AdamBias, EpsPlacement, FlowKind, FnOracle, GeneratedFlow, GeneratedOptimizer, Optimizer,
    Scheme, SubScheme,
};
use splitflow::splitting::SplittingCoefficients;
use splitflow::{Error, Integrator, State, Steps, stepper_by_name};

use crate::common::max_rel;

const P: usize = 7;
const STEPS: usize = 60;

/// A smooth nonlinear gradient, a pure function of x:
/// ∇f(x)ᵢ = dᵢxᵢ − cᵢ + 0.3·sin(xᵢ₊₁).
fn oracle() -> FnOracle<impl FnMut(&State, &mut State)> {
    FnOracle::new(P, |x: &State, g: &mut State| {
        for i in 0..P {
            let d = 0.5 + 0.25 * i as f64;
            let c = (i as f64 - 3.0) / 4.0;
            g[i] = d * x[i] - c + 0.3 * x[(i + 1) % P].sin();
        }
    })
}

fn theta0() -> State {
    State::from_fn(P, |i, _| 1.0 - 0.3 * i as f64)
}

#[derive(Clone, Copy)]
enum Path {
    Fast,
    Generic,
}

fn euler(path: Path) -> SubScheme {
    let steps = match path {
        Path::Fast => Steps::Fixed(1),
        Path::Generic => Steps::MaxSize(1e9),
    };
    SubScheme::Integrate(Box::new(
        Integrator::new(stepper_by_name("explicit_euler").unwrap(), steps).unwrap(),
    ))
}

fn implicit(path: Path) -> SubScheme {
    let steps = match path {
        Path::Fast => Steps::Fixed(1),
        Path::Generic => Steps::MaxSize(1e9),
    };
    SubScheme::Integrate(Box::new(
        Integrator::new(stepper_by_name("implicit_euler").unwrap(), steps).unwrap(),
    ))
}

/// A sub-scheme by name: "euler", "implicit" or "exact".
fn sub(name: &str, path: Path) -> SubScheme {
    match name {
        "exact" => SubScheme::Exact,
        "implicit" => implicit(path),
        _ => euler(path),
    }
}

/// A case: flow, scheme (None = whole-flow explicit Euler, else splitting
/// name with pieces and sub-scheme names), h, t₀.
struct Case {
    what: &'static str,
    flow: GeneratedFlow,
    split: Option<(&'static str, Vec<&'static str>, Vec<&'static str>)>,
    h: f64,
    t0: f64,
}

fn build(case: &Case, path: Path, h: f64) -> GeneratedOptimizer {
    let scheme = match &case.split {
        None => match euler(path) {
            SubScheme::Integrate(i) => Scheme::Whole(*i),
            SubScheme::Exact => unreachable!(),
        },
        Some((name, pieces, subs)) => {
            let coefficients = match *name {
                "lie" => SplittingCoefficients::lie(pieces.len()),
                _ => SplittingCoefficients::strang(pieces.len()),
            }
            .unwrap();
            Scheme::splitting(
                coefficients,
                pieces,
                subs.iter().map(|s| sub(s, path)).collect(),
            )
            .unwrap()
        }
    };
    GeneratedOptimizer::new(Box::new(case.flow), scheme, h)
        .unwrap()
        .with_start_time(case.t0)
        .unwrap()
}

fn run(opt: &mut GeneratedOptimizer) -> (Vec<State>, Vec<State>) {
    let mut oracle = oracle();
    let mut theta = theta0();
    let mut thetas = Vec::new();
    let mut aux = Vec::new();
    for _ in 0..STEPS {
        opt.step(&mut theta, &mut oracle).unwrap();
        thetas.push(theta.clone());
        let mut b = 1;
        while let Some(a) = opt.auxiliary(b) {
            aux.push(a.clone());
            b += 1;
        }
    }
    (thetas, aux)
}

fn flow(kind: FlowKind) -> GeneratedFlow {
    GeneratedFlow::new(kind).unwrap()
}

fn cases() -> Vec<Case> {
    let hb = |friction, hessian_damping| {
        flow(FlowKind::HeavyBall {
            friction,
            hessian_damping,
        })
    };
    let adam = |bias| {
        flow(FlowKind::Adam {
            a: 10.0,
            b: 0.1,
            eps: 1e-8,
            placement: EpsPlacement::Outside,
            bias,
        })
    };
    let fkd = || vec!["friction", "kick", "drift"];
    let mp = || vec!["moments", "position"];
    vec![
        Case {
            what: "gradient, whole",
            flow: flow(FlowKind::Gradient),
            split: None,
            h: 0.1,
            t0: 0.0,
        },
        Case {
            what: "gradient + decay, Strang, exact decay",
            flow: flow(FlowKind::Gradient).with_decay(0.3).unwrap(),
            split: Some(("strang", vec!["decay", "gradient"], vec!["exact", "euler"])),
            h: 0.1,
            t0: 0.0,
        },
        Case {
            what: "gradient + decay, Lie, Euler decay",
            flow: flow(FlowKind::Gradient).with_decay(0.3).unwrap(),
            split: Some(("lie", vec!["gradient", "decay"], vec!["euler", "euler"])),
            h: 0.1,
            t0: 0.0,
        },
        Case {
            what: "heavy ball, Lie, Euler friction",
            flow: hb(Friction::Constant(2.0), 0.0),
            split: Some(("lie", fkd(), vec!["euler", "euler", "euler"])),
            h: 0.1,
            t0: 0.0,
        },
        Case {
            what: "Hessian-damped heavy ball, Strang, exact friction",
            flow: hb(Friction::Constant(1.5), 0.1),
            split: Some((
                "strang",
                vec!["friction", "drift", "kick"],
                vec!["exact", "euler", "euler"],
            )),
            h: 0.1,
            t0: 0.0,
        },
        Case {
            what: "r/t heavy ball from t = 0, Euler friction",
            flow: hb(Friction::Vanishing { r: 3.0 }, 0.0),
            split: Some(("lie", fkd(), vec!["euler", "euler", "euler"])),
            h: 0.1,
            t0: 0.0,
        },
        Case {
            what: "r/t heavy ball, exact friction, shifted clock",
            flow: hb(Friction::Vanishing { r: 3.0 }, 0.1),
            split: Some(("lie", fkd(), vec!["exact", "euler", "euler"])),
            h: 0.1,
            t0: 0.2,
        },
        Case {
            what: "RMSProp, Strang",
            flow: flow(FlowKind::RmsProp {
                b: 1.0,
                eps: 1e-8,
                placement: EpsPlacement::Inside,
            }),
            split: Some(("strang", mp(), vec!["euler", "euler"])),
            h: 0.01,
            t0: 0.0,
        },
        Case {
            what: "AdaGrad, Lie",
            flow: flow(FlowKind::AdaGrad {
                eps: 1e-10,
                placement: EpsPlacement::Outside,
            }),
            split: Some(("lie", mp(), vec!["euler", "euler"])),
            h: 0.1,
            t0: 0.0,
        },
        Case {
            what: "Adam, discrete bias, Lie",
            flow: adam(AdamBias::Discrete),
            split: Some(("lie", mp(), vec!["euler", "euler"])),
            h: 0.01,
            t0: 0.0,
        },
        Case {
            what: "Adam, continuous bias (t = 0 limit), Lie",
            flow: adam(AdamBias::Continuous),
            split: Some(("lie", vec!["position", "moments"], vec!["euler", "euler"])),
            h: 0.01,
            t0: 0.0,
        },
        Case {
            what: "heavy ball, implicit friction and drift",
            flow: hb(Friction::Constant(2.0), 0.0),
            split: Some(("lie", fkd(), vec!["implicit", "euler", "implicit"])),
            h: 0.1,
            t0: 0.0,
        },
        Case {
            what: "RMSProp, implicit moments",
            flow: flow(FlowKind::RmsProp {
                b: 1.0,
                eps: 1e-8,
                placement: EpsPlacement::Outside,
            }),
            split: Some(("lie", mp(), vec!["implicit", "euler"])),
            h: 0.1,
            t0: 0.0,
        },
        Case {
            what: "AdaGrad, implicit moments",
            flow: flow(FlowKind::AdaGrad {
                eps: 1e-10,
                placement: EpsPlacement::Inside,
            }),
            split: Some(("strang", mp(), vec!["implicit", "euler"])),
            h: 0.1,
            t0: 0.0,
        },
        Case {
            what: "Adam, implicit moments, implicit decay",
            flow: adam(AdamBias::Discrete).with_decay(0.1).unwrap(),
            split: Some((
                "lie",
                vec!["moments", "decay", "position"],
                vec!["implicit", "implicit", "euler"],
            )),
            h: 0.05,
            t0: 0.0,
        },
        Case {
            what: "Adam without bias + decay, Strang",
            flow: adam(AdamBias::None).with_decay(0.01).unwrap(),
            split: Some((
                "strang",
                vec!["moments", "decay", "position"],
                vec!["euler", "exact", "euler"],
            )),
            h: 0.01,
            t0: 0.0,
        },
    ]
}

#[test]
fn the_fast_path_equals_the_generic_path_bitwise_for_every_piece_of_every_flow() {
    for case in cases() {
        let mut fast = build(&case, Path::Fast, case.h);
        let mut generic = build(&case, Path::Generic, case.h);
        assert!(fast.is_fast(), "{}: the fast path is not taken", case.what);
        assert!(
            !generic.is_fast(),
            "{}: the generic path is fast",
            case.what
        );
        let (a, a_aux) = run(&mut fast);
        let (b, b_aux) = run(&mut generic);
        // Explicit Euler and exact sub-steps: bitwise. Implicit Euler: the
        // stepper's LU (faer) divides by the pivot through its own kernels,
        // which may round the quotient differently by an ulp: ≤ 1e-12
        // relative over the run (the oscillating RMSProp case amplifies
        // ulps to ~1e-14).
        let implicit = case
            .split
            .as_ref()
            .is_some_and(|s| s.2.contains(&"implicit"));
        let tolerance = if implicit { 1e-12 } else { 0.0 };
        let (d, d_aux) = (max_rel(&a, &b), max_rel(&a_aux, &b_aux));
        assert!(d <= tolerance, "{}: θ differs by {d:e}", case.what);
        assert!(
            d_aux <= tolerance,
            "{}: the auxiliary state differs by {d_aux:e}",
            case.what
        );
        if !implicit {
            assert!(a == b && a_aux == b_aux, "{}: not bitwise", case.what);
        }
        assert_eq!(
            fast.gradient_evaluations(),
            generic.gradient_evaluations(),
            "{}: oracle calls differ",
            case.what
        );
        // Negative control: the trajectory depends on h (so equality above
        // is not that of two runs that do nothing).
        let mut other = build(&case, Path::Fast, case.h * (1.0 + 1e-6));
        let (c, _) = run(&mut other);
        let diff = a
            .iter()
            .zip(&c)
            .map(|(x, y)| (x - y).amax())
            .fold(0.0, f64::max);
        assert!(diff > 1e-12, "{}: h does not matter ({diff:e})", case.what);
    }
}

#[test]
fn a_failed_fast_step_leaves_theta_and_the_state_as_they_were() {
    // Momentum as a Lie splitting on the fast path; the gradient turns NaN
    // at the third call, after the friction sub-step has moved v.
    let flow = flow(FlowKind::HeavyBall {
        friction: Friction::Constant(2.0),
        hessian_damping: 0.0,
    });
    let scheme = Scheme::splitting(
        SplittingCoefficients::lie(3).unwrap(),
        &["friction", "kick", "drift"],
        vec![SubScheme::Exact, euler(Path::Fast), euler(Path::Fast)],
    )
    .unwrap();
    let mut opt = GeneratedOptimizer::new(Box::new(flow), scheme, 0.1).unwrap();
    assert!(opt.is_fast());
    let mut calls = 0;
    let mut failing = FnOracle::new(2, move |x: &State, g: &mut State| {
        calls += 1;
        g.copy_from(x);
        if calls == 3 {
            g[0] = f64::NAN;
        }
    });
    let mut x = State::from_vec(vec![1.0, -2.0]);
    opt.step(&mut x, &mut failing).unwrap();
    opt.step(&mut x, &mut failing).unwrap();
    let (theta, v) = (x.clone(), opt.auxiliary(1).unwrap().clone());
    let e = opt.step(&mut x, &mut failing).unwrap_err();
    assert!(matches!(e, Error::NonFinite { .. }), "{e:?}");
    assert!(e.to_string().contains("step 3"), "{e}");
    assert_eq!(x, theta);
    assert_eq!(opt.auxiliary(1).unwrap(), &v);
    assert_eq!(opt.steps_taken(), 2);
    // The next step continues from the committed state: as a run whose
    // third call never happened.
    opt.step(&mut x, &mut failing).unwrap();
    let mut reference = GeneratedOptimizer::new(
        Box::new(flow),
        Scheme::splitting(
            SplittingCoefficients::lie(3).unwrap(),
            &["friction", "kick", "drift"],
            vec![SubScheme::Exact, euler(Path::Fast), euler(Path::Fast)],
        )
        .unwrap(),
        0.1,
    )
    .unwrap();
    let mut plain = FnOracle::new(2, |x: &State, g: &mut State| g.copy_from(x));
    let mut y = State::from_vec(vec![1.0, -2.0]);
    for _ in 0..3 {
        reference.step(&mut y, &mut plain).unwrap();
    }
    assert_eq!(x, y);
    // A finite gradient whose result overflows: refused, θ unchanged.
    let mut huge = FnOracle::new(1, |x: &State, g: &mut State| g[0] = 1e300 * x[0]);
    let mut sgd = GeneratedOptimizer::new(
        Box::new(GeneratedFlow::new(FlowKind::Gradient).unwrap()),
        Scheme::stepper("explicit_euler").unwrap(),
        1e10,
    )
    .unwrap();
    assert!(sgd.is_fast());
    let mut x = State::from_vec(vec![1.0]);
    let e = sgd.step(&mut x, &mut huge).unwrap_err();
    assert!(e.to_string().contains("step 1"), "{e}");
    assert_eq!(x[0], 1.0);
}
