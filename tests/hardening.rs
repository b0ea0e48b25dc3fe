//! Hostile inputs to the library (issue 14): every failure is an `Err` naming
//! the step or the parameter, never a panic, a silent NaN or a lost state.

use nalgebra::{DVector, dvector};
use splitflow::optimizers::{
    AdaGrad, AdaMax, Adadelta, Adam, AdamParameters, AdamW, AmsGrad, DecayScheme, EpsPlacement,
    FnOracle, GradientDescent, GradientOracle, GradientScheme, HeavyBallScheme, Momentum, Nadam,
    Nag, Optimizer, OptimizerSpec, RmsProp, Sag, Ssa1, Ssa2, Svrg,
};
use splitflow::{Error, State};

/// `Err(InvalidParameter)` naming `name`.
fn names(r: &splitflow::Result<impl Sized>, name: &str) -> bool {
    matches!(r, Err(Error::InvalidParameter { name: n, .. }) if n == name)
}

// ---------------------------------------------------------------------------
// ε = 0 is refused by every adaptive method, in both forms.
// ---------------------------------------------------------------------------

#[test]
fn zero_eps_is_refused_by_every_adaptive_method() {
    let p0 = AdamParameters {
        eps: 0.0,
        ..Default::default()
    };
    let out = EpsPlacement::Outside;
    assert!(names(&Adam::textbook(p0), "eps"), "adam");
    assert!(
        names(&AdamW::new(p0, 0.01, DecayScheme::Decoupled), "eps"),
        "adamw"
    );
    assert!(names(&AdaMax::new(p0), "eps"), "adamax");
    assert!(names(&AmsGrad::new(p0, true), "eps"), "amsgrad");
    assert!(names(&Nadam::new(p0), "eps"), "nadam");
    assert!(
        names(&Adam::from_ode(100.0, 1.0, 0.0, out, 1e-3), "eps"),
        "adam ODE"
    );
    assert!(
        names(&RmsProp::textbook(0.01, 0.9, 0.0, out), "eps"),
        "rmsprop"
    );
    assert!(
        names(&RmsProp::from_ode(10.0, 0.0, out, 0.01), "eps"),
        "rmsprop ODE"
    );
    assert!(names(&AdaGrad::textbook(0.1, 0.0, out), "eps"), "adagrad");
    assert!(
        names(&AdaGrad::from_ode(0.0, out, 0.01), "eps"),
        "adagrad ODE"
    );
    assert!(names(&Adadelta::new(1.0, 0.9, 0.0), "eps"), "adadelta");
    // Control: the smallest positive ε is accepted.
    let tiny = AdamParameters {
        eps: f64::MIN_POSITIVE,
        ..Default::default()
    };
    assert!(Adam::textbook(tiny).is_ok());
    assert!(Adadelta::new(1.0, 0.9, f64::MIN_POSITIVE).is_ok());
}

/// The ODE form of AdaGrad without `eps` takes PyTorch's ε = 1e-10 (as
/// ε̃ = √h·1e-10), so a coordinate whose gradient is always zero (an
/// all-zero pixel column) stays finite instead of 0/0 = NaN.
#[test]
fn adagrad_ode_form_defaults_to_pytorch_eps() {
    let h = 0.01;
    let spec = OptimizerSpec::from_toml(&format!(
        "[flow]\nkind = \"adagrad\"\n[discretization]\nscheme = \"explicit_euler\"\nh = {h}\n"
    ))
    .unwrap();
    let mut opt = spec.build().unwrap();
    let eps = opt
        .hyper_parameters()
        .into_iter()
        .find(|(k, _)| *k == "eps")
        .unwrap()
        .1;
    // textbook ε = ε̃/lr with lr = √h: one rounding of each, so ≤ 2 ulps.
    assert!(
        (eps - 1e-10).abs() <= 4.0 * f64::EPSILON * 1e-10,
        "eps = {eps}"
    );
    let mut oracle = FnOracle::new(2, |theta: &State, g: &mut State| {
        g[0] = 0.0;
        g[1] = theta[1];
    });
    let mut theta = dvector![1.0, 1.0];
    for _ in 0..10 {
        opt.step(&mut theta, &mut oracle).unwrap();
    }
    assert_eq!(theta[0], 1.0, "the zero-gradient coordinate does not move");
    assert!(theta[1].is_finite() && theta[1] < 1.0);
    // explain gives the same ε̃ back (textbook ε = 1e-10 → ε̃ = lr·ε).
    let e = spec.explain().unwrap();
    assert_eq!(e.textbook.eps, Some(eps));
}

// ---------------------------------------------------------------------------
// Optimizer::step never returns Ok with non-finite parameters.
// ---------------------------------------------------------------------------

/// One instance of every optimizer of the crate (that steps on an oracle).
fn every_optimizer() -> Vec<Box<dyn Optimizer>> {
    let p = AdamParameters {
        lr: 1e-2,
        ..Default::default()
    };
    let out = EpsPlacement::Outside;
    vec![
        Box::new(GradientDescent::sgd(0.1).unwrap()),
        Box::new(GradientDescent::implicit_sgd(0.1).unwrap()),
        Box::new(GradientDescent::from_ode(GradientScheme::Rk4, 0.1).unwrap()),
        Box::new(Momentum::textbook(0.1, 0.5).unwrap()),
        Box::new(Nag::textbook(0.1, 0.5).unwrap()),
        Box::new(Nag::nesterov(0.1, 3.0).unwrap()),
        Box::new(AdaGrad::textbook(0.1, 1e-10, out).unwrap()),
        Box::new(RmsProp::textbook(0.01, 0.9, 1e-8, out).unwrap()),
        Box::new(Adadelta::new(1.0, 0.9, 1e-6).unwrap()),
        Box::new(Adam::textbook(p).unwrap()),
        Box::new(AdamW::new(p, 0.01, DecayScheme::Decoupled).unwrap()),
        Box::new(AdamW::new(p, 0.01, DecayScheme::LieExact).unwrap()),
        Box::new(AdaMax::new(p).unwrap()),
        Box::new(AmsGrad::new(p, true).unwrap()),
        Box::new(Nadam::new(p).unwrap()),
        Box::new(Ssa1::new(0.1).unwrap()),
        Box::new(Ssa2::new(0.1, 0.1).unwrap()),
        Box::new(Svrg::new(0.1).unwrap()),
        Box::new(Sag::new(0.1).unwrap()),
    ]
}

/// A one-batch oracle (SAG needs a batch index) with a gradient closure.
struct Batch1<G>(G);

impl<G: FnMut(&State, &mut State)> GradientOracle for Batch1<G> {
    fn dim(&self) -> usize {
        1
    }
    fn gradient(&mut self, theta: &State, g: &mut State) -> splitflow::Result<()> {
        (self.0)(theta, g);
        Ok(())
    }
    fn full_gradient(&mut self, theta: &State, g: &mut State) -> splitflow::Result<()> {
        (self.0)(theta, g);
        Ok(())
    }
    fn batch(&self) -> Option<usize> {
        Some(0)
    }
}

/// A `NonFinite` error whose message names step `k`.
fn non_finite_at(r: &splitflow::Result<()>, k: usize) -> bool {
    matches!(r, Err(e @ Error::NonFinite { .. }) if e.to_string().contains(&format!("step {k}")))
}

#[test]
fn a_nan_theta_is_refused_at_step_entry() {
    for mut opt in every_optimizer() {
        let name = opt.name();
        // A constant gradient: nothing downstream would notice the NaN.
        let mut oracle = Batch1(|_: &State, g: &mut State| g[0] = 1.0);
        for bad in [f64::NAN, f64::INFINITY] {
            let mut theta = dvector![bad];
            let r = opt.step(&mut theta, &mut oracle);
            assert!(non_finite_at(&r, 1), "{name}: {r:?}");
            assert_eq!(opt.steps_taken(), 0, "{name}");
        }
        // Control: a finite θ steps.
        let mut theta = dvector![1.0];
        opt.step(&mut theta, &mut oracle).unwrap();
        assert!(theta[0].is_finite() && opt.steps_taken() == 1, "{name}");
    }
}

/// Runs `opt` on `oracle` from θ = 1 until it errs (at most 50 steps):
/// every `Ok` has finite θ; the error is `NonFinite` naming its step, θ is
/// what it was before that step, and the state is too — a clone taken
/// before the failing step and the failed optimizer then take bitwise the
/// same benign step.
fn assert_refused_cleanly<O: Optimizer + Clone>(
    mut opt: O,
    oracle: &mut dyn GradientOracle,
    what: &str,
    benign: &mut dyn GradientOracle,
) {
    let mut theta = DVector::from_element(oracle.dim(), 1.0);
    for k in 1..=50 {
        let before = theta.clone();
        let steps_before = opt.steps_taken();
        let mut snapshot = opt.clone();
        let r = opt.step(&mut theta, oracle);
        match r {
            Ok(()) => assert!(
                theta.iter().all(|x| x.is_finite()),
                "{what}: Ok at step {k} with θ = {theta}"
            ),
            Err(_) => {
                assert!(non_finite_at(&r, k), "{what}: step {k}: {r:?}");
                assert_eq!(theta, before, "{what}: θ changed by the refused step");
                assert_eq!(opt.steps_taken(), steps_before, "{what}: step count");
                // From θ = 0 (a point every method steps from finitely).
                let zero = DVector::zeros(theta.len());
                let (mut a, mut b) = (zero.clone(), zero);
                opt.step(&mut a, benign).unwrap();
                snapshot.step(&mut b, benign).unwrap();
                assert_eq!(
                    a, b,
                    "{what}: the refused step changed the optimizer's state"
                );
                return;
            }
        }
    }
    panic!("{what}: never refused a step");
}

#[test]
fn overflowing_steps_are_refused_with_theta_and_state_unchanged() {
    let p = AdamParameters {
        lr: 1e-2,
        ..Default::default()
    };
    let benign = || FnOracle::new(1, |theta: &State, g: &mut State| g.copy_from(theta));
    // AdamW with weight_decay = 1e308: θ ← (1 − lr·λ)θ overflows at step 2.
    let opt = AdamW::new(p, 1e308, DecayScheme::Decoupled).unwrap();
    let mut oracle = FnOracle::new(1, |theta: &State, g: &mut State| g.copy_from(theta));
    assert_refused_cleanly(opt, &mut oracle, "adamw λ = 1e308", &mut benign());
    // Control: the exact decay e^{−λ·lr} underflows to 0 instead, a finite θ.
    let mut opt = AdamW::new(p, 1e308, DecayScheme::LieExact).unwrap();
    let mut theta = dvector![1.0];
    for _ in 0..5 {
        opt.step(&mut theta, &mut oracle).unwrap();
    }
    assert_eq!(theta[0], 0.0);
    // A finite gradient of 1e308: g² overflows the second moment; RK4 on
    // the gradient flow: k₁ + 2k₂ + 2k₃ + k₄ = 6e308 = ∞.
    let huge = || FnOracle::new(1, |_: &State, g: &mut State| g[0] = 1e308);
    let what = "g = 1e308";
    assert_refused_cleanly(Adam::textbook(p).unwrap(), &mut huge(), what, &mut benign());
    let adamw = AdamW::new(p, 0.01, DecayScheme::Decoupled).unwrap();
    assert_refused_cleanly(adamw, &mut huge(), what, &mut benign());
    assert_refused_cleanly(Nadam::new(p).unwrap(), &mut huge(), what, &mut benign());
    let rk4 = GradientDescent::from_ode(GradientScheme::Rk4, 1.0).unwrap();
    assert_refused_cleanly(rk4, &mut huge(), what, &mut benign());
    // Heavy ball on f = 1e300·θ²/2 with a huge step: the velocity overflows.
    let opt = Momentum::from_ode(0.0, HeavyBallScheme::SemiImplicitEuler, 1e3).unwrap();
    let mut oracle = FnOracle::new(1, |theta: &State, g: &mut State| g[0] = 1e300 * theta[0]);
    assert_refused_cleanly(opt, &mut oracle, "momentum", &mut benign());
    // Control: a benign run never errs.
    let mut adam = Adam::textbook(p).unwrap();
    let mut theta = dvector![1.0];
    for _ in 0..100 {
        adam.step(&mut theta, &mut benign()).unwrap();
    }
}

// ---------------------------------------------------------------------------
// Momentum 1 (friction 0) round-trips through explain.
// ---------------------------------------------------------------------------

#[test]
fn frictionless_heavy_ball_round_trips_through_explain() {
    let ode = OptimizerSpec::from_toml(
        "[flow]\nkind = \"heavy_ball\"\nfriction = 0.0\n[discretization]\nscheme = \"exact_friction\"\nh = 0.1\n",
    )
    .unwrap();
    let e = ode.explain().unwrap();
    assert_eq!(e.textbook.momentum, Some(1.0));
    let back = OptimizerSpec {
        textbook: Some(e.textbook.clone()),
        ..Default::default()
    };
    let e2 = back.explain().expect("momentum = 1 is accepted back");
    let f = e2.flow.unwrap();
    assert_eq!(f.friction, Some(0.0));
    assert!(f.friction.unwrap().is_sign_positive());
    // Same trajectory both ways.
    let (mut a, mut b) = (ode.build().unwrap(), back.build().unwrap());
    let mut oracle = FnOracle::new(1, |theta: &State, g: &mut State| g.copy_from(theta));
    let (mut x, mut y) = (dvector![1.0], dvector![1.0]);
    for _ in 0..20 {
        a.step(&mut x, &mut oracle).unwrap();
        b.step(&mut y, &mut oracle).unwrap();
    }
    assert!((x[0] - y[0]).abs() <= 1e-12, "{x} vs {y}");
    // Control: momentum above 1 is still refused, naming the key.
    let r =
        OptimizerSpec::from_toml("[textbook]\nmethod = \"momentum\"\nlr = 0.1\nmomentum = 1.5\n");
    assert!(
        matches!(r, Err(Error::Spec { ref message, .. }) if message.contains("textbook.momentum")),
        "{r:?}"
    );
}

/// A textbook lr whose ODE map over- or underflows is refused naming the
/// key the user wrote (`textbook.lr`, not the derived `h`).
#[test]
fn textbook_lr_with_an_unrepresentable_ode_map_names_lr() {
    for (method, lr) in [
        ("adam", "1e-320"),
        ("adamw", "1e-320"),
        ("rmsprop", "1e-320"),
        ("adagrad", "1e200"),
        ("adagrad", "1e-170"),
    ] {
        let text = format!("[textbook]\nmethod = \"{method}\"\nlr = {lr}\n");
        let r = OptimizerSpec::from_toml(&text);
        match r {
            Err(Error::Spec { ref message, line }) => {
                assert!(message.contains("textbook.lr"), "{method} {lr}: {message}");
                assert!(!message.contains("inf"), "{method} {lr}: {message}");
                assert_eq!(line, Some(3), "{method} {lr}");
            }
            other => panic!("{method} lr = {lr}: {other:?}"),
        }
    }
    // Control: ordinary values explain to finite ODE parameters.
    let e = OptimizerSpec::from_toml("[textbook]\nmethod = \"adam\"\nlr = 1e-3\n")
        .unwrap()
        .explain()
        .unwrap();
    let f = e.flow.unwrap();
    assert!(f.a.unwrap().is_finite() && f.b.unwrap().is_finite());
}

// ---------------------------------------------------------------------------
// SAG with an absurd number of batches.
// ---------------------------------------------------------------------------

/// An oracle claiming `m` batches.
struct ManyBatches(usize);

impl GradientOracle for ManyBatches {
    fn dim(&self) -> usize {
        2
    }
    fn gradient(&mut self, theta: &State, g: &mut State) -> splitflow::Result<()> {
        g.copy_from(theta);
        Ok(())
    }
    fn batch(&self) -> Option<usize> {
        Some(0)
    }
    fn num_batches(&self) -> usize {
        self.0
    }
}

#[test]
fn sag_with_absurdly_many_batches_errs_instead_of_aborting() {
    for m in [
        usize::MAX / 2,
        usize::MAX,
        splitflow::optimizers::SAG_MAX_TABLE_ENTRIES,
    ] {
        let mut sag = Sag::new(0.1).unwrap();
        let mut theta = dvector![1.0, 1.0];
        let r = sag.step(&mut theta, &mut ManyBatches(m));
        assert!(names(&r, "batches"), "m = {m}: {r:?}");
        assert!(r.unwrap_err().to_string().contains("cap"));
        assert_eq!(theta, dvector![1.0, 1.0]);
    }
    // Control: a modest table works.
    let mut sag = Sag::new(0.1).unwrap();
    let mut theta = dvector![1.0, 1.0];
    sag.step(&mut theta, &mut ManyBatches(1000)).unwrap();
    assert!(theta[0] < 1.0);
}

// ---------------------------------------------------------------------------
// A right-hand side that resizes dy.
// ---------------------------------------------------------------------------

/// f(y) = −y for the first `good` calls, then a `dy` of length `len`.
fn resizing_system(good: usize, len: usize) -> impl splitflow::OdeSystem {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    splitflow::FnSystem::new(2, move |_t, y: &State, dy: &mut State| {
        if calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < good {
            dy.copy_from(&(-y));
        } else {
            *dy = State::zeros(len);
        }
    })
}

#[test]
fn a_rhs_that_resizes_dy_is_a_dimension_mismatch_not_a_panic() {
    use splitflow::{ExplicitEuler, ImplicitEuler, Rk4, Rk45, Stepper, Steps, integrate};
    let y0 = dvector![1.0, 0.5];
    let steppers = || -> Vec<(Box<dyn Stepper>, &str)> {
        vec![
            (Box::new(ExplicitEuler::new()), "explicit Euler"),
            (Box::new(Rk4::new()), "RK4"),
            (Box::new(Rk45::new()), "RK45"),
            (Box::new(ImplicitEuler::new()), "implicit Euler"),
        ]
    };
    // Shorter and longer dy, at the first call and at a later stage.
    for (good, len) in [(0, 1), (0, 3), (2, 0), (3, 7)] {
        for (mut s, name) in steppers() {
            let sys = resizing_system(good, len);
            let r = integrate(&sys, s.as_mut(), 0.0, 1.0, &y0, &Steps::Fixed(4));
            match r {
                Err(
                    ref e @ Error::DimensionMismatch {
                        expected, found, ..
                    },
                ) => {
                    assert_eq!((expected, found), (2, len), "{name}");
                    assert!(e.to_string().contains(name), "{name}: {e}");
                }
                other => panic!("{name}, good {good}, len {len}: {other:?}"),
            }
        }
        // Every stepper by name (the tableau steppers included), fixed steps.
        for name in splitflow::STEPPER_NAMES {
            let sys = resizing_system(good, len);
            let mut s = splitflow::stepper_by_name(name).unwrap();
            let r = integrate(&sys, s.as_mut(), 0.0, 1.0, &y0, &Steps::Fixed(4));
            assert!(
                matches!(r, Err(Error::DimensionMismatch { expected: 2, found, .. }) if found == len),
                "{name}, good {good}, len {len}: {r:?}"
            );
        }
        // Adaptive: RK45 and the embedded tableau pairs.
        let adaptive: [Box<dyn Stepper>; 3] = [
            Box::new(Rk45::new()),
            Box::new(splitflow::ExplicitRk::tsit5()),
            Box::new(splitflow::ExplicitRk::bs3()),
        ];
        for mut s in adaptive {
            let sys = resizing_system(good, len);
            let r = integrate(
                &sys,
                s.as_mut(),
                0.0,
                1.0,
                &y0,
                &crate::common::adaptive(1e-8),
            );
            assert!(
                matches!(r, Err(Error::DimensionMismatch { expected: 2, found, .. }) if found == len),
                "adaptive {}, good {good}, len {len}: {r:?}",
                s.name()
            );
        }
    }
    // Control: a well-behaved rhs integrates.
    for (mut s, name) in steppers() {
        let sys = resizing_system(usize::MAX, 0);
        let sol = integrate(&sys, s.as_mut(), 0.0, 1.0, &y0, &Steps::Fixed(4)).unwrap();
        assert!(sol.y[0] > 0.0 && sol.y[0] < 1.0, "{name}");
    }
}

// ---------------------------------------------------------------------------
// Convergence studies: scale-free round-off floor, one message per cause.
// ---------------------------------------------------------------------------

/// RK4 on y' = Ay from s·y0: the orders do not depend on the scale s.
fn scaled_rk4_report(s: f64) -> splitflow::Result<splitflow::ConvergenceReport> {
    use nalgebra::dmatrix;
    use splitflow::{ConvergenceStudy, LinearSystem, Rk4, Steps, integrate};
    let sys = LinearSystem::new(dmatrix![-1.0, 2.0; 0.0, -3.0], None).unwrap();
    let y0 = dvector![1.0, 0.5] * s;
    let exact = sys.exact(1.0, &y0)?;
    ConvergenceStudy::new(vec![8, 16, 32, 64, 128], 1.0).run(&exact, |n| {
        Ok(integrate(&sys, &mut Rk4::new(), 0.0, 1.0, &y0, &Steps::Fixed(n))?.y)
    })
}

#[test]
fn convergence_orders_do_not_depend_on_the_solution_scale() {
    let base = scaled_rk4_report(1.0).unwrap();
    assert!((base.fitted_order - 4.0).abs() < 0.2, "{base}");
    for s in [1e200, 1e-20, 1e-170] {
        let r = scaled_rk4_report(s).unwrap_or_else(|e| panic!("scale {s}: {e}"));
        assert_eq!(r.fit_levels, base.fit_levels, "scale {s}");
        // The scaled run rounds differently: ~1e-16 of the solution over
        // errors down to ~3e-10 of it, so errors agree to ~1e-6 relative
        // and the orders to ~1e-6.
        assert!(
            (r.fitted_order - base.fitted_order).abs() < 1e-4,
            "scale {s}: {r}"
        );
        for (e, e1) in r.errors.iter().zip(&base.errors) {
            assert!(((e / s) / e1 - 1.0).abs() < 1e-5, "scale {s}");
        }
    }
}

#[test]
fn convergence_failures_name_their_cause() {
    use splitflow::ConvergenceStudy;
    let study = ConvergenceStudy::new(vec![4, 8, 16, 32], 1.0);
    let reason = |errors: Vec<f64>| match study.analyze(errors, 1.0) {
        Err(Error::InvalidParameter { reason, .. }) => reason,
        other => panic!("{other:?}"),
    };
    let causes = [
        (
            vec![1.0, f64::INFINITY, f64::INFINITY, f64::INFINITY],
            "overflowed",
        ),
        (vec![f64::NAN, 1e-3, f64::NAN, f64::NAN], "NaN"),
        (vec![0.0; 4], "exact"),
        (vec![1e-3, 1e-14, 1e-15, 1e-16], "round-off floor"),
    ];
    let mut seen = Vec::new();
    for (errors, needle) in causes {
        let r = reason(errors.clone());
        assert!(r.contains(needle), "{errors:?}: {r}");
        seen.push(r);
    }
    // One message per cause: the four differ.
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4);
    // A backward span (negative) gives the order, not NaN.
    let errors: Vec<f64> = [4.0, 8.0, 16.0, 32.0]
        .iter()
        .map(|n: &f64| n.powi(-2))
        .collect();
    let r = ConvergenceStudy::new(vec![4, 8, 16, 32], -1.0)
        .analyze(errors.clone(), 1.0)
        .unwrap();
    assert!((r.fitted_order - 2.0).abs() < 1e-12, "{}", r.fitted_order);
    // Negative errors or scales are refused.
    assert!(study.analyze(vec![-1.0, 1e-2, 1e-3, 1e-4], 1.0).is_err());
    assert!(study.analyze(errors.clone(), f64::NAN).is_err());
    // Control: the same errors forward.
    let r = study.analyze(errors, 1.0).unwrap();
    assert!((r.fitted_order - 2.0).abs() < 1e-12);
}

// ---------------------------------------------------------------------------
// Exact linear flows: errors, never Ok(∞) or Ok(NaN).
// ---------------------------------------------------------------------------

#[test]
fn exact_linear_solutions_refuse_non_finite_values() {
    use nalgebra::dmatrix;
    use splitflow::LinearSystem;
    use splitflow::splitting::{ExactLinear, FlowMap};
    let sys = LinearSystem::new(dmatrix![1.0], None).unwrap();
    // e^{1000} overflows; NaN and ∞ inputs.
    for (t, y0) in [
        (1000.0, dvector![1.0]),
        (1.0, dvector![f64::NAN]),
        (1.0, dvector![f64::INFINITY]),
    ] {
        let r = sys.exact(t, &y0);
        assert!(
            matches!(r, Err(Error::NonFinite { .. })),
            "t = {t}, y0 = {y0}: {r:?}"
        );
    }
    for t in [f64::NAN, f64::INFINITY] {
        assert!(matches!(
            sys.exact(t, &dvector![1.0]),
            Err(Error::InvalidParameter { .. })
        ));
    }
    let mut phi = ExactLinear::new(sys.clone());
    for (h, y0) in [
        (1000.0, dvector![1.0]),
        (1.0, dvector![f64::NAN]),
        (1.0, dvector![f64::INFINITY]),
    ] {
        let mut y = y0.clone();
        let r = phi.advance(0.0, h, &mut y);
        assert!(matches!(r, Err(Error::NonFinite { .. })), "h = {h}: {r:?}");
        assert_eq!(format!("{y}"), format!("{y0}"), "y changed");
    }
    assert!(phi.advance(0.0, f64::NAN, &mut dvector![1.0]).is_err());
    // Control.
    let y = sys.exact(1.0, &dvector![1.0]).unwrap();
    assert!((y[0] - 1f64.exp()).abs() < 1e-14);
    let mut y = dvector![1.0];
    phi.advance(0.0, 1.0, &mut y).unwrap();
    assert!((y[0] - 1f64.exp()).abs() < 1e-14);
}

#[test]
fn nan_divergence_bounds_are_refused() {
    use splitflow::train::DivergenceBound;
    for b in [
        DivergenceBound::absolute(f64::NAN),
        DivergenceBound {
            relative: Some(f64::NAN),
            absolute: None,
        },
    ] {
        assert!(
            matches!(b.validate(), Err(Error::InvalidParameter { .. })),
            "{b:?}"
        );
    }
    assert!(DivergenceBound::default().validate().is_ok());
}
