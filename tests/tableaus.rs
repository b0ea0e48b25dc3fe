//! The generic explicit Runge–Kutta stepper on its tableaus: the named
//! steppers `Rk4` and `Rk45` as faithful wrappers of it, observed orders of every named
//! tableau (main and embedded), adaptive accuracy, order conditions (with
//! negative controls) and the name registry.

use splitflow::steppers::tableau::{self, ALL};
use splitflow::steppers::{Propagate, Rk45Solution, Weights};
use splitflow::test_models::{ExactProblem, HarmonicOscillator, LogisticGrowth, Lorenz, VanDerPol};
use splitflow::{
    ButcherTableau, ConvergenceReport, ConvergenceStudy, Error, ExplicitRk, OdeSystem, Record, Rk4,
    Rk45, STEPPER_NAMES, State, Stats, Stepper, Steps, integrate, integrate_with, stepper_by_name,
};

use crate::common::{adaptive, assert_order_within, bits, dist, exact_study, ladder};

// ---------------------------------------------------------------------------
// (a) The named steppers are the generic one on their tableaus. `Rk4` and
// `Rk45` run `ExplicitRk`'s code (one stepper engine), so these tests check
// the wrappers — names, labels, solution choice, counters, Rk45's own
// CONTD5 dense output — forward faithfully (bitwise), not two independent
// implementations; the independent pins are `Rk4` against the textbook
// formula (unit test in src/steppers/rk4.rs) and `Rk45` against ode_solvers'
// Dopri5 step statistics (tests/rk45_oracle.rs).
// ---------------------------------------------------------------------------

#[test]
fn generic_rk4_is_bitwise_rk4_over_100_steps_of_van_der_pol() {
    let vdp = VanDerPol { mu: 2.0 };
    let (mut fast, mut generic) = (Rk4::new(), ExplicitRk::rk4());
    let mut ya = State::from_vec(vec![2.0, 0.0]);
    let mut yb = ya.clone();
    let (mut sa, mut sb) = (Stats::default(), Stats::default());
    for i in 0..100 {
        let t = 0.05 * i as f64;
        fast.step(&vdp, t, 0.05, &mut ya, &mut sa).unwrap();
        generic.step(&vdp, t, 0.05, &mut yb, &mut sb).unwrap();
        assert_eq!(bits(&ya), bits(&yb), "step {i}");
    }
    assert_eq!(sa, sb);
    // Negative control: the state moved (the equality is not of two no-ops).
    assert!(dist(&ya, &State::from_vec(vec![2.0, 0.0])) > 0.1);
}

#[test]
fn generic_dopri5_is_bitwise_rk45_fixed_and_adaptive_on_lorenz() {
    let lorenz = Lorenz::default();
    let y0 = State::from_element(3, 1.0);
    // Fixed steps, both solutions.
    for (fast, generic) in [
        (Rk45::new(), ExplicitRk::dopri5()),
        (
            Rk45::new().with_solution(Rk45Solution::EmbeddedFourth),
            ExplicitRk::dopri5()
                .propagating(Propagate::Embedded)
                .unwrap(),
        ),
    ] {
        let (mut fast, mut generic) = (fast, generic);
        let a = integrate(&lorenz, &mut fast, 0.0, 2.0, &y0, &Steps::Fixed(400)).unwrap();
        let b = integrate(&lorenz, &mut generic, 0.0, 2.0, &y0, &Steps::Fixed(400)).unwrap();
        assert_eq!(bits(&a.y), bits(&b.y));
        assert_eq!(a.stats, b.stats);
        assert_eq!(fast.order(), generic.order());
    }
    // Adaptive: same step sequence, counters and final state.
    let mut rejected = 0;
    for tol in [1e-4, 1e-6, 1e-9] {
        let a = integrate(&lorenz, &mut Rk45::new(), 0.0, 20.0, &y0, &adaptive(tol)).unwrap();
        let b = integrate(
            &lorenz,
            &mut ExplicitRk::dopri5(),
            0.0,
            20.0,
            &y0,
            &adaptive(tol),
        )
        .unwrap();
        assert_eq!(a.stats, b.stats, "tol {tol:e}");
        rejected += a.stats.rejected;
        assert_eq!(bits(&a.y), bits(&b.y), "tol {tol:e}");
    }
    assert!(rejected > 0, "the runs exercise rejections");
}

/// The generic dense output on DOPRI5 is Shampine's interpolant expanded in
/// powers of θ: equal to Rk45's Hermite-form evaluation up to the rounding of
/// the expansion (coefficients up to ~10 times the state, ε ≈ 2e-16).
#[test]
fn generic_dopri5_dense_output_matches_rk45() {
    let lorenz = Lorenz::default();
    let y0 = State::from_element(3, 1.0);
    let run = |s: &mut dyn Stepper| {
        integrate_with(&lorenz, s, 0.0, 2.0, &y0, &adaptive(1e-8), Record::Dense).unwrap()
    };
    let a = run(&mut Rk45::new());
    let b = run(&mut ExplicitRk::dopri5());
    let (da, db) = (a.dense.unwrap(), b.dense.unwrap());
    for i in 1..500 {
        let t = 2.0 * i as f64 / 500.0;
        let (ya, yb) = (da.eval(t).unwrap(), db.eval(t).unwrap());
        assert!(dist(&ya, &yb) <= 1e-12 * ya.norm(), "t = {t}");
    }
}

// ---------------------------------------------------------------------------
// (b), (c) Observed orders of every tableau and of its embedded solution, on
// the harmonic oscillator over [0, 10] (the error does not decay, and the
// terms of order p+1 are orthogonal to the leading ones for z = ±ih, see
// tests/steppers.rs) and on logistic growth (nonlinear). Ladders keep the
// finest error above 10⁻¹² and the coarsest |hλ| ≤ 1 where the leading
// term dominates.
// ---------------------------------------------------------------------------

/// `y' = cos(t)·y`, `y(t) = exp(sin t)`: non-autonomous, so a wrong stage
/// time `t + cᵢh` shows up.
fn cos_growth() -> splitflow::FnSystem<impl Fn(f64, &State, &mut State)> {
    splitflow::FnSystem::new(1, |t, y: &State, dy: &mut State| dy[0] = t.cos() * y[0])
}

fn cos_growth_study(stepper: &mut dyn Stepper, t_end: f64, steps: Vec<usize>) -> ConvergenceReport {
    let sys = cos_growth();
    let y0 = State::from_element(1, 1.0);
    ConvergenceStudy::new(steps, t_end)
        .run(&State::from_element(1, t_end.sin().exp()), |n| {
            Ok(integrate(&sys, stepper, 0.0, t_end, &y0, &Steps::Fixed(n))?.y)
        })
        .expect("the study runs")
}

/// Oscillator ladders per order: doublings from |hλ| ≤ 0.5 over [0, 10]
/// while the finest error stays above the 10⁻¹² floor; eighth order needs a
/// short ladder (ratio 1.25 from h = 1) so that six levels fit between the
/// pre-asymptotic regime and round-off.
fn oscillator_ladder(name: &str, order: u32) -> Vec<usize> {
    match order {
        // Tsit5's z⁷ error term is not orthogonal to its z⁶ term as
        // Dormand–Prince's is: the pairwise order approaches 5 from above
        // (5.4 at h = 1/8), so its ladder starts finer, with ratio √2.
        5 if name == "tsit5" => ladder(80, 2f64.sqrt(), 6),
        2 => ladder(80, 2.0, 6),
        3 => ladder(40, 2.0, 6),
        4 => ladder(20, 2.0, 6),
        5 => ladder(20, 2.0, 5),
        _ => ladder(10, 1.25, 6),
    }
}

/// The oscillator for every order; `y' = cos(t)·y` (non-autonomous) over
/// [0, 1.5] for orders ≤ 4 and, as for Rk45 in tests/steppers.rs, over
/// [0, 3] with ratio-√2 levels for order 5 (over longer spans the steps'
/// error contributions cancel at the end time and the pairwise orders
/// scatter).
fn study_both(stepper: &mut dyn Stepper, expected: u32, embedded: bool) {
    let name = stepper.name();
    let osc = HarmonicOscillator { omega: 1.0 };
    let r = exact_study(&osc, stepper, 10.0, oscillator_ladder(name, expected));
    assert_order_within(&r, expected as f64, 0.2, &format!("{name}, oscillator"));
    let cos = match expected {
        // Embedded solutions: as Rk45's in tests/steppers.rs, their leading
        // coefficient on this problem is so small that the error behaves
        // like the main order's down to the round-off floor.
        _ if embedded => None,
        2 | 3 => Some((1.5, ladder(20, 2.0, 6))),
        4 => Some((1.5, ladder(4, 2.0, 6))),
        5 => Some((3.0, ladder(16, 2f64.sqrt(), 6))),
        _ => None,
    };
    if let Some((t_end, steps)) = cos {
        let r = cos_growth_study(stepper, t_end, steps);
        assert_order_within(&r, expected as f64, 0.2, &format!("{name}, y' = cos(t) y"));
    }
}

#[test]
fn every_tableau_has_its_order() {
    for t in ALL {
        let mut s = ExplicitRk::new(*t).unwrap();
        assert_eq!(s.order(), t.order());
        study_both(&mut s, t.order, false);
    }
    // Nonlinear: logistic growth for the orders ≤ 4 (its error decays with
    // the solution, which hides the asymptotic regime of higher orders
    // below round-off; their nonlinear order conditions are checked
    // algebraically in `order_conditions_hold_and_are_sharp`).
    let logistic = LogisticGrowth::default();
    for (mut s, steps) in [
        (ExplicitRk::heun2(), ladder(40, 2.0, 6)),
        (ExplicitRk::ralston3(), ladder(20, 2.0, 6)),
        (ExplicitRk::bs3(), ladder(20, 2.0, 6)),
        (ExplicitRk::rk4(), ladder(10, 2.0, 6)),
    ] {
        let r = exact_study(&logistic, &mut s, 5.0, steps);
        let order = s.tableau().order as f64;
        assert_order_within(&r, order, 0.2, &format!("{}, logistic", s.name()));
    }
}

#[test]
fn every_embedded_solution_has_its_order() {
    for t in ALL.iter().filter(|t| t.b_embedded.is_some()) {
        let mut s = ExplicitRk::new(**t)
            .unwrap()
            .propagating(Propagate::Embedded)
            .unwrap();
        assert_eq!(s.order(), splitflow::Order::Finite(t.embedded_order));
        study_both(&mut s, t.embedded_order, true);
    }
    // Negative control: a tableau without an embedded pair refuses.
    assert!(ExplicitRk::rk4().propagating(Propagate::Embedded).is_err());
}

// ---------------------------------------------------------------------------
// (d) Adaptive runs reach their tolerance on problems with exact solutions.
// ---------------------------------------------------------------------------

/// The controller holds the embedded estimate at tol per step; with local
/// extrapolation the propagated solution's local errors are smaller, and the
/// global error is a sum over the steps, growing with the span (BS3 on the
/// oscillator: ≈ 2.7·tol per unit time, measured over [0, 10]). Over the
/// spans used here — the oscillator over [0, 2], logistic growth over
/// [0, 5] — every pair ends within 10·tol (relative to max(1, |y|)) at both
/// tolerances. The dense output is held to the same bound where the tableau
/// has interpolation coefficients (Tsit5) or its interpolant is the cubic
/// Hermite one of its own order (BS3); DOP853's cubic Hermite segments on
/// its long eighth-order steps are only third order (errors of 10²–10³·tol
/// here) and are checked only for passing through the mesh.
#[test]
fn adaptive_pairs_reach_their_tolerance() {
    fn check<P: ExactProblem>(name: &str, p: &P, t_end: f64, s: &mut ExplicitRk, tol: f64) {
        let sol = integrate_with(
            p,
            s,
            0.0,
            t_end,
            &p.initial(),
            &adaptive(tol),
            Record::Dense,
        )
        .unwrap();
        let exact = p.exact(t_end);
        let err = dist(&sol.y, &exact) / (tol * exact.norm().max(1.0));
        let dense = sol.dense.unwrap();
        let mut dense_err: f64 = 0.0;
        for i in 1..397 {
            let t = t_end * i as f64 / 397.0;
            let e = p.exact(t);
            let d = dist(&dense.eval(t).unwrap(), &e) / (tol * e.norm().max(1.0));
            dense_err = dense_err.max(d);
        }
        eprintln!(
            "{} on {name}, tol {tol:e}: final {err:.3} tol, dense {dense_err:.3} tol, {:?}",
            s.name(),
            sol.stats
        );
        assert!(err <= 10.0, "{} on {name}: error {err} tol", s.name());
        if s.name() != "dop853" {
            assert!(
                dense_err <= 10.0,
                "{} on {name}: dense error {dense_err} tol",
                s.name()
            );
        }
        // The segments pass through the accepted states.
        for (t, y) in sol.trajectory.unwrap().iter().skip(1) {
            let d = dense.eval(*t).unwrap();
            assert!(
                dist(&d, y) <= 1e-13 * y.norm().max(1.0),
                "{} at t = {t}",
                s.name()
            );
        }
    }
    for tol in [1e-5, 1e-8] {
        for mut s in [ExplicitRk::bs3(), ExplicitRk::tsit5(), ExplicitRk::dop853()] {
            check(
                "oscillator",
                &HarmonicOscillator { omega: 1.0 },
                2.0,
                &mut s,
                tol,
            );
            check("logistic", &LogisticGrowth::default(), 5.0, &mut s, tol);
        }
    }
}

#[test]
fn fixed_only_tableaus_refuse_adaptive_steps() {
    let osc = HarmonicOscillator { omega: 1.0 };
    let e = integrate(
        &osc,
        &mut ExplicitRk::heun2(),
        0.0,
        1.0,
        &osc.initial(),
        &adaptive(1e-6),
    );
    assert!(matches!(e, Err(Error::InvalidParameter { .. })));
}

// ---------------------------------------------------------------------------
// (e) Order conditions, with negative controls.
// ---------------------------------------------------------------------------

/// Every tableau satisfies its claimed conditions to round-off (the
/// published decimals of Tsit5 and DOP853 carry 16–30 digits), and none
/// satisfies the next order's conditions (the claim is sharp).
#[test]
fn order_conditions_hold_and_are_sharp() {
    for t in ALL {
        t.check_order_conditions(1e-13)
            .unwrap_or_else(|e| panic!("{}: {e}", t.name));
        if t.order < tableau::MAX_CHECKED_ORDER {
            let d = t.order_defect(Weights::Main, t.order + 1).unwrap();
            assert!(
                d > 1e-6,
                "{} meets order {} conditions ({d:e})",
                t.name,
                t.order + 1
            );
        }
        if t.b_embedded.is_some() {
            let d = t
                .order_defect(Weights::Embedded, t.embedded_order + 1)
                .unwrap();
            assert!(d > 1e-6, "{}: embedded order is not sharp ({d:e})", t.name);
        }
    }
}

/// The order conditions evaluated in `f32` (`order_defect_in`, generic over
/// `num_traits::Float`): every tableau rounded to `f32` keeps its claimed
/// conditions (main, embedded, dense) to `f32` round-off — a defect below
/// `64·ε₃₂ ≈ 7.6e-6` of the scale, for sums of at most 13 products of up
/// to 8 rounded factors — and stays sharp (the next order fails by far
/// more). The control that the check really runs in `f32`: each defect is
/// at or above the `f64` one, and the largest one (over all tableaus) is
/// above `ε₃₂/4`, far above the `f64` defects (≤ 1e-13).
#[test]
fn order_conditions_hold_in_f32() {
    let tol = 64.0 * f32::EPSILON;
    let mut largest = 0.0f32;
    for t in ALL {
        let mut checks = vec![(Weights::Main, t.order)];
        if t.b_embedded.is_some() {
            checks.push((Weights::Embedded, t.embedded_order));
        }
        if let Some(d) = t.dense {
            checks.push((Weights::Dense(0.5), d.order));
        }
        for (w, order) in checks {
            let d32: f32 = t.order_defect_in(w, order).unwrap();
            let d64 = t.order_defect(w, order).unwrap();
            eprintln!(
                "{} {w:?} order {order}: f32 defect {d32:.2e}, f64 {d64:.2e}",
                t.name
            );
            assert!(d32 <= tol, "{} {w:?}: f32 defect {d32:e} > {tol:e}", t.name);
            assert!(d64 <= 1e-13, "{} {w:?}: f64 defect {d64:e}", t.name);
            largest = largest.max(d32);
        }
        if t.order < tableau::MAX_CHECKED_ORDER {
            let d: f32 = t.order_defect_in(Weights::Main, t.order + 1).unwrap();
            assert!(
                d > 10.0 * tol,
                "{}: order {} in f32 ({d:e})",
                t.name,
                t.order + 1
            );
        }
    }
    assert!(
        largest > f32::EPSILON / 4.0,
        "the f32 defects ({largest:e}) look like f64 arithmetic"
    );
}

#[test]
fn a_perturbed_tableau_fails_its_order_conditions() {
    // RK4 with b₂ and b₃ moved by ±1e-6: still consistent (Σb = 1), but the
    // order-2 condition Σ bᵢcᵢ = 1/2 still holds (c₂ = c₃) while the order-3
    // condition Σ bᵢ aᵢⱼ cⱼ = 1/6 fails.
    const B: [f64; 4] = [1.0 / 6.0, 1.0 / 3.0 + 1e-6, 1.0 / 3.0 - 1e-6, 1.0 / 6.0];
    const BAD: ButcherTableau = ButcherTableau {
        name: "rk4_perturbed",
        b: &B,
        ..tableau::RK4
    };
    assert!(BAD.is_consistent(1e-14));
    assert!(BAD.order_defect(Weights::Main, 2).unwrap() < 1e-15);
    assert!(BAD.order_defect(Weights::Main, 3).unwrap() > 1e-7);
    assert!(BAD.check_order_conditions(1e-13).is_err());
    // A 1e-9 error in one DOP853 coefficient (a₅₄) is caught at order ≤ 8,
    // though it keeps the row sums within 1e-8.
    let mut row = tableau::DOP853.a[5].to_vec();
    row[4] += 1e-9;
    let mut rows: Vec<&'static [f64]> = tableau::DOP853.a.to_vec();
    rows[5] = Box::leak(row.into_boxed_slice());
    let bad = ButcherTableau {
        a: Box::leak(rows.into_boxed_slice()),
        ..tableau::DOP853
    };
    assert!(tableau::DOP853.check_order_conditions(1e-13).is_ok());
    assert!(bad.check_order_conditions(1e-13).is_err());
    // Structural errors are errors, not panics.
    let ragged = ButcherTableau {
        a: &[&[], &[0.5, 0.5]],
        b: &[0.5, 0.5],
        c: &[0.0, 1.0],
        ..tableau::HEUN2
    };
    assert!(matches!(
        ExplicitRk::new(ragged),
        Err(Error::InvalidParameter { .. })
    ));
    let false_fsal = ButcherTableau {
        fsal: true,
        ..tableau::RK4
    };
    assert!(ExplicitRk::new(false_fsal).is_err());
}

// ---------------------------------------------------------------------------
// (f) The registry.
// ---------------------------------------------------------------------------

#[test]
fn names_round_trip_through_the_registry() {
    for name in STEPPER_NAMES {
        let s = stepper_by_name(name).unwrap();
        assert_eq!(s.name(), name);
    }
    for t in ALL.iter().filter(|t| t.name != "rk4" && t.name != "dopri5") {
        assert!(STEPPER_NAMES.contains(&t.name), "{} not registered", t.name);
        assert_eq!(stepper_by_name(t.name).unwrap().order(), t.order());
    }
    match stepper_by_name("rk5") {
        Err(Error::Spec { message, .. }) => {
            for name in STEPPER_NAMES {
                assert!(message.contains(name), "{message}");
            }
        }
        Err(e) => panic!("wrong error {e}"),
        Ok(_) => panic!("rk5 resolved"),
    }
}

/// Work per step: the FSAL stage is skipped in fixed steps, and an accepted
/// adaptive step costs s − 1 evaluations for FSAL pairs.
#[test]
fn f_evaluations_per_step_follow_the_tableau() {
    let osc = HarmonicOscillator { omega: 1.0 };
    let y0 = osc.initial();
    for (mut s, per_step) in [
        (ExplicitRk::heun2(), 2),
        (ExplicitRk::ralston3(), 3),
        (ExplicitRk::bs3(), 3),
        (ExplicitRk::tsit5(), 6),
        (ExplicitRk::dop853(), 12),
    ] {
        let sol = integrate(&osc, &mut s, 0.0, 1.0, &y0, &Steps::Fixed(10)).unwrap();
        assert_eq!(sol.stats.f_evals, 10 * per_step, "{}", s.name());
    }
    let sol = integrate(
        &osc,
        &mut ExplicitRk::tsit5(),
        0.0,
        10.0,
        &y0,
        &adaptive(1e-8),
    )
    .unwrap();
    let st = sol.stats;
    // 2 for the initial-step probe, 1 for the first stage, 6 per attempt.
    assert_eq!(st.f_evals, 3 + 6 * (st.accepted + st.rejected));
    let _ = osc.dim();
}

/// The new names work where specs accept a stepper: a `splitflow order`
/// study of DOP853 on the harmonic oscillator, and Tsit5 as the sub-stepper
/// of a Strang splitting (second order overall).
#[test]
fn specs_accept_tableau_names() {
    let whole = r#"
        [problem]
        kind = "builtin"
        name = "harmonic"
        t_end = 10.0
        [method]
        stepper = "dop853"
        [study]
        steps = [10, 12, 16, 20, 24, 31]
    "#;
    let out = splitflow::convergence::spec::OrderSpec::from_toml(whole)
        .unwrap()
        .run()
        .unwrap();
    assert!(
        (out.report.fitted_order - 8.0).abs() <= 0.2,
        "{}",
        out.report
    );
    let split = r#"
        [problem]
        kind = "linear"
        pieces = [ [[-1.0, 2.0], [0.0, -3.0]], [[0.0, 0.0], [1.0, -1.0]] ]
        y0 = [1.0, 0.5]
        t_end = 1.0
        [method]
        splitting = "strang"
        sub_stepper = "tsit5"
        [study]
        steps = [8, 16, 32, 64, 128]
    "#;
    let out = splitflow::convergence::spec::OrderSpec::from_toml(split)
        .unwrap()
        .run()
        .unwrap();
    assert!(
        (out.report.fitted_order - 2.0).abs() <= 0.2,
        "{}",
        out.report
    );
    let bad = whole.replace("dop853", "dop54");
    let e = splitflow::convergence::spec::OrderSpec::from_toml(&bad)
        .unwrap()
        .run()
        .unwrap_err();
    assert!(
        matches!(e, Error::Spec { .. }) && e.to_string().contains("tsit5"),
        "{e}"
    );
}
