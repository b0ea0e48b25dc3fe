//! Bad input and numerical failure give a structured `Err`, never a panic or
//! a silent NaN, and the message names the offending quantity.

use nalgebra::{DMatrix, dmatrix, dvector};
use splitflow::error::NonFiniteKind;
use splitflow::objective::Quadratic;
use splitflow::test_models::{ExactProblem, HarmonicOscillator, LinearDecay, LogisticGrowth};
use splitflow::{
    AdaptiveOptions, ConvergenceStudy, Error, ExplicitEuler, FnSystem, ImplicitEuler, LinearSystem,
    NewtonOptions, Rk4, Rk45, Solution, State, Stats, Stepper, Steps, integrate,
};

use crate::common::adaptive;

/// One instance of each stepper, named.
fn all_steppers() -> Vec<(&'static str, Box<dyn Stepper>)> {
    vec![
        ("explicit_euler", Box::new(ExplicitEuler::new())),
        ("implicit_euler", Box::new(ImplicitEuler::new())),
        ("rk4", Box::new(Rk4::new())),
        ("rk45", Box::new(Rk45::new())),
    ]
}

/// Every fixed-step stepper and adaptive Rk45 on the oscillator over [t0, t1].
fn run_all(t0: f64, t1: f64, y0: &State, fixed: Steps) -> Vec<(String, splitflow::Result<State>)> {
    let osc = HarmonicOscillator { omega: 1.0 };
    let mut out = Vec::new();
    for (name, mut s) in all_steppers() {
        let r = integrate(&osc, s.as_mut(), t0, t1, y0, &fixed).map(|sol| sol.y);
        out.push((format!("{name} fixed"), r));
    }
    let r = integrate(&osc, &mut Rk45::new(), t0, t1, y0, &adaptive(1e-8)).map(|sol| sol.y);
    out.push(("rk45 adaptive".to_string(), r));
    out
}

// ---------------------------------------------------------------------------
// Invalid arguments.
// ---------------------------------------------------------------------------

#[test]
fn wrong_length_y0_is_a_dimension_mismatch() {
    for len in [0, 1, 3] {
        let y0 = State::from_element(len, 1.0);
        for (what, r) in run_all(0.0, 1.0, &y0, Steps::Fixed(10)) {
            match r {
                Err(
                    ref e @ Error::DimensionMismatch {
                        expected, found, ..
                    },
                ) => {
                    assert_eq!((expected, found), (2, len), "{what}");
                    let msg = e.to_string();
                    assert!(msg.contains("y0") && msg.contains("expected 2"), "{msg}");
                }
                other => panic!("{what}, len {len}: {other:?}"),
            }
        }
    }
}

#[test]
fn non_finite_y0_is_rejected() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        for i in 0..2 {
            let mut y0 = State::from_vec(vec![1.0, 0.0]);
            y0[i] = bad;
            for (what, r) in run_all(0.25, 1.0, &y0, Steps::Fixed(10)) {
                match r {
                    Err(ref e @ Error::NonFinite { t, .. }) => {
                        assert_eq!(t, Some(0.25), "{what}: the time of y0 is t0");
                        let msg = e.to_string();
                        assert!(msg.contains("y0") && msg.contains("t = 0.25"), "{msg}");
                    }
                    other => panic!("{what}, y0 = {y0:?}: {other:?}"),
                }
            }
        }
    }
}

#[test]
fn empty_span_is_invalid() {
    let y0 = State::from_vec(vec![1.0, 0.0]);
    for t in [0.0, 1.5, -3.0] {
        for (what, r) in run_all(t, t, &y0, Steps::Fixed(10)) {
            assert!(
                matches!(&r, Err(Error::InvalidParameter { name, .. }) if name == "t1"),
                "{what}: {r:?}"
            );
        }
    }
}

#[test]
fn non_finite_times_are_rejected() {
    let y0 = State::from_vec(vec![1.0, 0.0]);
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        for (t0, t1, which) in [(bad, 1.0, "t0"), (0.0, bad, "t1")] {
            for (what, r) in run_all(t0, t1, &y0, Steps::Fixed(10)) {
                match r {
                    Err(ref e @ Error::NonFinite { .. }) => {
                        assert!(e.to_string().contains(which), "{what}: {e}");
                    }
                    other => panic!("{what}, t0 = {t0}, t1 = {t1}: {other:?}"),
                }
            }
        }
    }
}

#[test]
fn zero_steps_and_bad_step_sizes_are_invalid() {
    let y0 = State::from_vec(vec![1.0, 0.0]);
    let cases = [
        (Steps::Fixed(0), "steps"),
        (Steps::MaxSize(0.0), "h"),
        (Steps::MaxSize(-0.1), "h"),
        (Steps::MaxSize(f64::NAN), "h"),
        (Steps::MaxSize(f64::INFINITY), "h"),
        (Steps::MaxSize(-0.0), "h"),
    ];
    for (steps, param) in cases {
        for (name, mut s) in all_steppers() {
            let osc = HarmonicOscillator { omega: 1.0 };
            let r = integrate(&osc, s.as_mut(), 0.0, 1.0, &y0, &steps);
            match r {
                Err(ref e @ Error::InvalidParameter { ref name, .. }) => {
                    assert_eq!(name, param);
                    assert!(e.to_string().contains(&format!("`{param}`")), "{e}");
                }
                other => panic!("{name} with {steps:?}: {other:?}"),
            }
        }
    }
}

#[test]
fn bad_tolerances_and_controller_settings_are_invalid() {
    let osc = HarmonicOscillator { omega: 1.0 };
    let base = AdaptiveOptions::default();
    let cases: Vec<(AdaptiveOptions, &str)> = vec![
        (AdaptiveOptions { rtol: 0.0, ..base }, "rtol"),
        (
            AdaptiveOptions {
                rtol: -1e-6,
                ..base
            },
            "rtol",
        ),
        (
            AdaptiveOptions {
                rtol: f64::NAN,
                ..base
            },
            "rtol",
        ),
        (
            AdaptiveOptions {
                rtol: f64::INFINITY,
                ..base
            },
            "rtol",
        ),
        // Below 100·ε ≈ 2.2e-14: double precision cannot deliver it.
        (
            AdaptiveOptions {
                rtol: 1e-15,
                ..base
            },
            "rtol",
        ),
        (
            AdaptiveOptions {
                rtol: 2e-14,
                ..base
            },
            "rtol",
        ),
        (AdaptiveOptions { atol: 0.0, ..base }, "atol"),
        (AdaptiveOptions { atol: -1.0, ..base }, "atol"),
        (
            AdaptiveOptions {
                atol: f64::NAN,
                ..base
            },
            "atol",
        ),
        (
            AdaptiveOptions {
                h_init: Some(0.0),
                ..base
            },
            "h_init",
        ),
        (
            AdaptiveOptions {
                h_init: Some(-0.1),
                ..base
            },
            "h_init",
        ),
        (
            AdaptiveOptions {
                h_max: Some(0.0),
                ..base
            },
            "h_max",
        ),
        (
            AdaptiveOptions {
                h_min: -1e-3,
                ..base
            },
            "h_min",
        ),
        (
            AdaptiveOptions {
                h_min: f64::NAN,
                ..base
            },
            "h_min",
        ),
        (
            AdaptiveOptions {
                max_steps: 0,
                ..base
            },
            "max_steps",
        ),
        (
            AdaptiveOptions {
                safety: 0.0,
                ..base
            },
            "safety",
        ),
        (
            AdaptiveOptions {
                safety: 1.5,
                ..base
            },
            "safety",
        ),
        (
            AdaptiveOptions {
                factor_min: 1.0,
                ..base
            },
            "factor_min",
        ),
        (
            AdaptiveOptions {
                factor_max: 1.0,
                ..base
            },
            "factor_max",
        ),
        (AdaptiveOptions { beta: -0.1, ..base }, "beta"),
    ];
    for (opts, param) in cases {
        let r = integrate(
            &osc,
            &mut Rk45::new(),
            0.0,
            1.0,
            &osc.initial(),
            &Steps::Adaptive(opts),
        );
        match r {
            Err(ref e @ Error::InvalidParameter { ref name, .. }) => {
                assert_eq!(name, param, "{opts:?}");
                assert!(e.to_string().contains(param), "{e}");
            }
            other => panic!("{opts:?}: {other:?}"),
        }
    }
    // The smallest admissible rtol is accepted.
    let ok = AdaptiveOptions {
        rtol: 100.0 * f64::EPSILON,
        atol: 1e-14,
        ..base
    };
    assert!(
        integrate(
            &osc,
            &mut Rk45::new(),
            0.0,
            1.0,
            &osc.initial(),
            &Steps::Adaptive(ok)
        )
        .is_ok()
    );
}

#[test]
fn adaptive_stepping_needs_an_embedded_estimate() {
    let osc = HarmonicOscillator { omega: 1.0 };
    for (name, mut s) in all_steppers() {
        let r = integrate(&osc, s.as_mut(), 0.0, 1.0, &osc.initial(), &adaptive(1e-6));
        if name == "rk45" {
            assert!(r.is_ok(), "{r:?}");
            continue;
        }
        match r {
            Err(
                ref e @ Error::InvalidParameter {
                    name: ref param,
                    ref value,
                    ..
                },
            ) => {
                assert_eq!(param, "stepper");
                assert_eq!(value, name);
                assert!(e.to_string().contains(name), "{e}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

/// A non-finite input without a time: kind `Input`, no `t`, and a message
/// that names `what` and shows no stand-in time ("at t = NaN").
fn assert_untimed_input(r: splitflow::Result<()>, what: &str) {
    match r {
        Err(ref e @ Error::NonFinite { t, kind, .. }) => {
            assert_eq!((t, kind), (None, NonFiniteKind::Input), "{e}");
            assert_eq!(e.to_string(), format!("non-finite value in {what}"));
        }
        other => panic!("{what}: {other:?}"),
    }
}

#[test]
fn untimed_non_finite_inputs_carry_no_stand_in_time() {
    let r = Quadratic::new(dmatrix![1.0, 0.0; 0.0, f64::INFINITY], dvector![1.0, 1.0]);
    assert_untimed_input(r.map(|_| ()), "quadratic A or b");
    let r = Quadratic::new(dmatrix![1.0, 0.0; 0.0, 1.0], dvector![f64::NAN, 1.0]);
    assert_untimed_input(r.map(|_| ()), "quadratic A or b");
    // Non-finite times: the message names the time, not "at t = NaN".
    let y0 = State::from_vec(vec![1.0, 0.0]);
    for (t0, t1, which) in [
        (f64::NAN, 1.0, "start time t0"),
        (0.0, f64::INFINITY, "end time t1"),
    ] {
        for (what, r) in run_all(t0, t1, &y0, Steps::Fixed(10)) {
            let r = r.map(|_| ());
            assert!(
                matches!(r, Err(Error::NonFinite { t: None, .. })),
                "{what}: {r:?}"
            );
            assert_untimed_input(r, which);
        }
    }
    // Negative control: a timed failure keeps its time in field and message.
    let e = Error::non_finite("RK4 step", 0.5);
    assert!(matches!(
        e,
        Error::NonFinite {
            t: Some(0.5),
            kind: NonFiniteKind::State,
            ..
        }
    ));
    assert!(e.to_string().ends_with("at t = 0.5"), "{e}");
}

#[test]
fn linear_system_rejects_bad_matrices() {
    let r = LinearSystem::new(DMatrix::from_element(2, 3, 1.0), None);
    match r {
        Err(
            ref e @ Error::DimensionMismatch {
                expected, found, ..
            },
        ) => {
            assert_eq!((expected, found), (2, 3));
            assert!(e.to_string().contains("expected 2, found 3"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    let r = LinearSystem::new(dmatrix![1.0, 0.0; 0.0, 1.0], Some(dvector![1.0, 2.0, 3.0]));
    assert!(
        matches!(
            r,
            Err(Error::DimensionMismatch {
                expected: 2,
                found: 3,
                ..
            })
        ),
        "{r:?}"
    );
    let r = LinearSystem::new(dmatrix![1.0, f64::NAN; 0.0, 1.0], None);
    assert_untimed_input(r.map(|_| ()), "matrix A");
    let r = LinearSystem::new(
        dmatrix![1.0, 0.0; 0.0, 1.0],
        Some(dvector![f64::INFINITY, 0.0]),
    );
    assert_untimed_input(r.map(|_| ()), "forcing c");
    let sys = LinearSystem::new(dmatrix![-1.0, 0.0; 0.0, -2.0], None).unwrap();
    let r = sys.exact(1.0, &dvector![1.0]);
    assert!(
        matches!(
            r,
            Err(Error::DimensionMismatch {
                expected: 2,
                found: 1,
                ..
            })
        ),
        "{r:?}"
    );
}

#[test]
fn single_steps_validate_their_arguments() {
    let osc = HarmonicOscillator { omega: 1.0 };
    for (name, mut s) in all_steppers() {
        let mut stats = Stats::default();
        for h in [0.0, -0.0, f64::NAN, f64::INFINITY] {
            let mut y = osc.initial();
            let r = s.step(&osc, 0.0, h, &mut y, &mut stats);
            assert!(
                matches!(&r, Err(Error::InvalidParameter { name, .. }) if name == "h"),
                "{name}, h = {h}: {r:?}"
            );
        }
        let mut y = State::zeros(3);
        let r = s.step(&osc, 0.0, 0.1, &mut y, &mut stats);
        assert!(
            matches!(
                r,
                Err(Error::DimensionMismatch {
                    expected: 2,
                    found: 3,
                    ..
                })
            ),
            "{name}: {r:?}"
        );
        assert_eq!(stats, Stats::default(), "{name}: a refused step did work");
    }
}

#[test]
fn newton_options_are_validated() {
    let bad = [
        NewtonOptions {
            max_iterations: 0,
            ..Default::default()
        },
        NewtonOptions {
            rtol: 0.0,
            ..Default::default()
        },
        NewtonOptions {
            atol: -1.0,
            ..Default::default()
        },
        NewtonOptions {
            rtol: f64::NAN,
            ..Default::default()
        },
    ];
    for o in bad {
        let r = ImplicitEuler::with_newton(o);
        assert!(matches!(r, Err(Error::InvalidParameter { .. })), "{o:?}");
    }
}

#[test]
fn convergence_studies_reject_bad_ladders() {
    let r = State::from_element(1, 1.0);
    let method = |_n: usize| -> splitflow::Result<State> { Ok(State::from_element(1, 1.1)) };
    for steps in [vec![4], vec![0, 4, 8], vec![8, 8, 16], vec![16, 8, 4]] {
        let e = ConvergenceStudy::new(steps.clone(), 1.0).run(&r, method);
        assert!(
            matches!(e, Err(Error::InvalidParameter { .. })),
            "{steps:?}: {e:?}"
        );
    }
    assert!(ConvergenceStudy::geometric(0, 2.0, 4, 1.0).is_err());
    assert!(ConvergenceStudy::geometric(4, 1.0, 4, 1.0).is_err());
    assert!(ConvergenceStudy::geometric(4, 2.0, 1, 1.0).is_err());
    // A method answering with the wrong length.
    let e = ConvergenceStudy::new(vec![4, 8], 1.0).run(&r, |_| Ok(State::zeros(2)));
    assert!(matches!(e, Err(Error::DimensionMismatch { .. })), "{e:?}");
}

// ---------------------------------------------------------------------------
// Numerical failure.
// ---------------------------------------------------------------------------

/// y' = −y, but the right-hand side returns NaN once t passes `onset`.
fn nan_after(onset: f64) -> FnSystem<impl Fn(f64, &State, &mut State)> {
    FnSystem::new(1, move |t, y: &State, dy: &mut State| {
        dy[0] = if t > onset { f64::NAN } else { -y[0] }
    })
}

/// Adaptive stepping treats a NaN trial as a rejection and shrinks the step;
/// accepted steps never evaluate beyond the onset, so the step collapses to
/// round-off (0.1·|h| ≤ ε·|t|) right at the onset.
#[test]
fn nan_rhs_in_adaptive_mode_is_an_underflow_at_the_nan_onset() {
    let y0 = State::from_element(1, 1.0);
    let onset = 0.5;
    let r = integrate(
        &nan_after(onset),
        &mut Rk45::new(),
        0.0,
        1.0,
        &y0,
        &adaptive(1e-8),
    );
    match r {
        Err(ref e @ Error::StepSizeUnderflow { t, h }) => {
            assert!(t <= onset && onset - t < 1e-12, "t = {t}");
            assert!(h.abs() <= 100.0 * f64::EPSILON, "h = {h}");
            let msg = e.to_string();
            assert!(
                msg.contains("t = 0.4999") || msg.contains("t = 0.5"),
                "{msg}"
            );
        }
        other => panic!("{other:?}"),
    }

    // Backward: NaN for t < 0.5 when integrating from 1 down to 0.
    let sys = FnSystem::new(1, |t, y: &State, dy: &mut State| {
        dy[0] = if t < 0.5 { f64::NAN } else { -y[0] }
    });
    match integrate(&sys, &mut Rk45::new(), 1.0, 0.0, &y0, &adaptive(1e-8)) {
        Err(Error::StepSizeUnderflow { t, h }) => {
            assert!(t >= 0.5 && t - 0.5 < 1e-12, "t = {t}");
            assert!(h < 0.0, "backward steps are negative: {h}");
        }
        other => panic!("{other:?}"),
    }
}

/// A fixed step that meets NaN fails with the time at the end of that step.
/// With 10 steps over [0, 1] and NaN for t > 0.52: explicit Euler evaluates only
/// at the step's start, so [0.6, 0.7] fails; implicit Euler evaluates at the
/// end and RK4/RK45 inside the step, so [0.5, 0.6] fails.
#[test]
fn nan_rhs_with_fixed_steps_names_the_end_of_the_failing_step() {
    let y0 = State::from_element(1, 1.0);
    let expected = [
        ("explicit_euler", 0.7),
        ("implicit_euler", 0.6),
        ("rk4", 0.6),
        ("rk45", 0.6),
    ];
    for ((name, mut s), (name2, t_fail)) in all_steppers().into_iter().zip(expected) {
        assert_eq!(name, name2);
        let r = integrate(
            &nan_after(0.52),
            s.as_mut(),
            0.0,
            1.0,
            &y0,
            &Steps::Fixed(10),
        );
        match r {
            Err(ref e @ Error::NonFinite { t: Some(t), .. }) => {
                assert!(
                    (t - t_fail).abs() < 1e-12,
                    "{name}: t = {t}, expected {t_fail}"
                );
                assert!(e.to_string().contains("t = 0.6") || e.to_string().contains("t = 0.7"));
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

/// y' = y² from y(0) = 1 blows up at t = 1 (y = 1/(1 − t)): fixed steps over
/// [0, 3] overflow to ±∞ or NaN (explicit Euler, which lags the singularity,
/// squares ~10¹⁰⁴ at t = 2), which must surface as an error, not as a
/// non-finite "solution" (implicit Euler's Newton iteration diverges once
/// 1 − 4hyₙ < 0 leaves z = yₙ + h z² no real root); adaptive steps shrink at the singularity.
#[test]
fn finite_time_blow_up_is_an_error() {
    let sys = FnSystem::new(1, |_t, y: &State, dy: &mut State| dy[0] = y[0] * y[0]);
    let y0 = State::from_element(1, 1.0);
    for (name, mut s) in all_steppers() {
        if name == "implicit_euler" {
            continue; // its Newton iteration has no real root past the blow-up
        }
        let r = integrate(&sys, s.as_mut(), 0.0, 3.0, &y0, &Steps::Fixed(30));
        assert!(matches!(r, Err(Error::NonFinite { .. })), "{name}: {r:?}");
    }
    let r = integrate(
        &sys,
        &mut ImplicitEuler::new(),
        0.0,
        3.0,
        &y0,
        &Steps::Fixed(30),
    );
    assert!(
        matches!(r, Err(Error::NewtonFailed { .. } | Error::NonFinite { .. })),
        "implicit Euler past the blow-up: {r:?}"
    );
    match integrate(&sys, &mut Rk45::new(), 0.0, 2.0, &y0, &adaptive(1e-8)) {
        Err(Error::StepSizeUnderflow { t, .. }) | Err(Error::MaxStepsExceeded { t, .. }) => {
            // Near the pole the error weights atol + rtol·max(|y|, |y_new|) are
            // huge, so a step may straddle t = 1 onto the branch y = 1/(1 − t) < 0
            // before the step size collapses: the stop is near 1 on either side.
            assert!((t - 1.0).abs() < 1e-6, "stopped at t = {t}");
        }
        other => panic!("{other:?}"),
    }
}

/// Rk45 with `opts` on the unit harmonic oscillator over `[0, t_end]`.
fn rk45_on_the_oscillator(opts: AdaptiveOptions, t_end: f64) -> splitflow::Result<Solution> {
    let osc = HarmonicOscillator { omega: 1.0 };
    integrate(
        &osc,
        &mut Rk45::new(),
        0.0,
        t_end,
        &osc.initial(),
        &Steps::Adaptive(opts),
    )
}

#[test]
fn minimum_step_size_is_enforced() {
    let opts = AdaptiveOptions {
        rtol: 1e-10,
        atol: 1e-10,
        h_min: 0.1,
        ..Default::default()
    };
    match rk45_on_the_oscillator(opts, 10.0) {
        Err(ref e @ Error::StepSizeUnderflow { t, h }) => {
            assert!(h.abs() < 0.1, "h = {h}");
            assert!((0.0..10.0).contains(&t));
            let msg = e.to_string();
            assert!(msg.contains("t = ") && msg.contains("h = "), "{msg}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn step_budget_is_enforced() {
    let opts = AdaptiveOptions {
        rtol: 1e-8,
        atol: 1e-8,
        max_steps: 10,
        ..Default::default()
    };
    match rk45_on_the_oscillator(opts, 20.0) {
        Err(ref e @ Error::MaxStepsExceeded { t, steps }) => {
            assert_eq!(steps, 10);
            assert!(t > 0.0 && t < 20.0, "t = {t}");
            let msg = e.to_string();
            assert!(msg.contains("10 steps") && msg.contains("t = "), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    // The same run with an ample budget succeeds (needs ~200 steps).
    let ample = AdaptiveOptions {
        max_steps: 1000,
        ..opts
    };
    assert!(rk45_on_the_oscillator(ample, 20.0).is_ok());
}

/// One Newton iteration cannot meet the 1e-12 Newton tolerance on a
/// nonlinear problem (its first correction is O(h²)), while the default cap of
/// 20 iterations converges on the same steps.
#[test]
fn newton_failure_is_reported_with_the_step_time() {
    let logistic = LogisticGrowth::default();
    let mut one = ImplicitEuler::with_newton(NewtonOptions {
        max_iterations: 1,
        ..Default::default()
    })
    .unwrap();
    let r = integrate(
        &logistic,
        &mut one,
        0.0,
        1.0,
        &logistic.initial(),
        &Steps::Fixed(10),
    );
    match r {
        Err(
            ref e @ Error::NewtonFailed {
                t,
                iterations,
                correction,
            },
        ) => {
            assert!(
                (t - 0.1).abs() < 1e-15,
                "fails on the first step, ending at 0.1: {t}"
            );
            assert_eq!(iterations, 1);
            assert!(correction > 1.0);
            let msg = e.to_string();
            assert!(
                msg.contains("t = 0.1") && msg.contains("1 iterations"),
                "{msg}"
            );
        }
        other => panic!("{other:?}"),
    }
    let r = integrate(
        &logistic,
        &mut ImplicitEuler::new(),
        0.0,
        1.0,
        &logistic.initial(),
        &Steps::Fixed(10),
    );
    assert!(r.is_ok(), "{r:?}");
}

/// y' = 10·y with h = 0.1: the Newton matrix I − hJ = 1 − 0.1·10 is exactly 0.
#[test]
fn singular_newton_matrix_is_reported() {
    let grow = LinearDecay { lambda: 10.0 };
    let r = integrate(
        &grow,
        &mut ImplicitEuler::new(),
        0.0,
        1.0,
        &grow.initial(),
        &Steps::Fixed(10),
    );
    match r {
        Err(ref e @ Error::SingularMatrix { t: Some(t), .. }) => {
            assert!((t - 0.1).abs() < 1e-15, "t = {t}");
            assert!(e.to_string().contains("t = 0.1"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // h = 0.05 is fine: 1 − hλ = 0.5, y = 2^{−n} exactly.
    let sol = integrate(
        &grow,
        &mut ImplicitEuler::new(),
        0.0,
        1.0,
        &grow.initial(),
        &Steps::Fixed(20),
    )
    .unwrap();
    assert_eq!(sol.y[0], 2f64.powi(20));
}

/// Public helpers that used to panic (or return NaN) on sizes and bounds
/// given by a caller return errors; valid calls keep their values.
#[test]
fn paper_grids_and_initial_points_reject_bad_sizes() {
    use splitflow::paper::{logspace, uniform_init};
    for n in [0, 1] {
        assert!(
            matches!(logspace(1.0, 10.0, n), Err(Error::InvalidParameter { ref name, .. }) if name == "n"),
            "n = {n}"
        );
    }
    for (lo, hi) in [
        (0.0, 1.0),
        (-1.0, 1.0),
        (1.0, f64::INFINITY),
        (f64::NAN, 1.0),
        (2.0, 1.0),
        (1.0, 1.0),
    ] {
        let r = logspace(lo, hi, 5);
        assert!(
            matches!(r, Err(Error::InvalidParameter { .. })),
            "[{lo}, {hi}]: {r:?}"
        );
    }
    // Valid grids: both ends, and a constant ratio 10 between neighbours.
    let g = logspace(1e-3, 1e8, 12).unwrap();
    assert_eq!(g.len(), 12);
    // exp(ln x) is exact to |ln x|·ε ≈ 18.4·2.2e-16 ≈ 4e-15 relative (plus rounding).
    assert!((g[0] / 1e-3 - 1.0).abs() < 1e-14 && (g[11] / 1e8 - 1.0).abs() < 1e-14);
    for w in g.windows(2) {
        assert!((w[1] / w[0] - 10.0).abs() < 1e-12, "{w:?}");
    }
    assert!(matches!(
        uniform_init(0, 1),
        Err(Error::InvalidParameter { ref name, .. }) if name == "p"
    ));
    let theta = uniform_init(16, 1).unwrap();
    assert_eq!(theta.len(), 16);
    assert!(theta.iter().all(|x| x.abs() <= 0.25));
    assert_eq!(theta, uniform_init(16, 1).unwrap(), "seeded");
}
