//! The small-system path ([`SmallRk`] + [`integrate_small`]): bitwise the
//! dynamic steppers on the same tableau (states and counters), for fixed
//! and adaptive steps, forward and backward; its errors; its orders.

use splitflow::test_models::Lorenz;
use splitflow::{
    AdaptiveOptions, Error, OdeSystem, STEPPER_NAMES, SmallRk, SmallSystem, State, Steps,
    integrate, integrate_small, stepper_by_name,
};

/// The harmonic oscillator `(q, p)' = (p, −q)`, both as a closure on arrays
/// and as a dynamic system (through the same closure).
fn oscillator(_t: f64, y: &[f64; 2], dy: &mut [f64; 2]) {
    *dy = [y[1], -y[0]];
}

struct Dynamic<S, const N: usize>(S);

impl<S: SmallSystem<N>, const N: usize> OdeSystem for Dynamic<S, N> {
    fn dim(&self) -> usize {
        N
    }
    fn rhs(&self, t: f64, y: &State, dy: &mut State) {
        let y: [f64; N] = y.as_slice().try_into().expect("dimension N");
        let mut out = [0.0; N];
        self.0.rhs(t, &y, &mut out);
        dy.copy_from_slice(&out);
    }
}

/// Every explicit stepper name (all of [`STEPPER_NAMES`] but `implicit_euler`).
fn explicit_names() -> Vec<&'static str> {
    STEPPER_NAMES
        .into_iter()
        .filter(|&n| n != "implicit_euler")
        .collect()
}

/// Runs both paths and asserts bitwise equal final states and equal counters.
fn assert_same<S: SmallSystem<N> + OdeSystem, const N: usize>(
    system: &S,
    name: &str,
    t0: f64,
    t1: f64,
    y0: [f64; N],
    steps: Steps,
) -> [f64; N] {
    let small = integrate_small(
        system,
        &mut SmallRk::by_name(name).unwrap(),
        t0,
        t1,
        &y0,
        &steps,
    )
    .unwrap_or_else(|e| panic!("{name} small: {e}"));
    let dynamic = integrate(
        system,
        stepper_by_name(name).unwrap().as_mut(),
        t0,
        t1,
        &State::from_row_slice(&y0),
        &steps,
    )
    .unwrap_or_else(|e| panic!("{name} dynamic: {e}"));
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(&small.y),
        bits(dynamic.y.as_slice()),
        "{name} {steps:?}: states"
    );
    assert_eq!(small.stats, dynamic.stats, "{name} {steps:?}: counters");
    assert_eq!(small.t, t1);
    small.y
}

impl<S: SmallSystem<N>, const N: usize> SmallSystem<N> for Dynamic<S, N> {
    fn rhs(&self, t: f64, y: &[f64; N], dy: &mut [f64; N]) {
        self.0.rhs(t, y, dy)
    }
}

#[test]
fn small_path_is_bitwise_the_dynamic_steppers_with_fixed_steps() {
    let lorenz = Lorenz::default();
    for name in explicit_names() {
        for (t1, steps) in [(1.0, Steps::Fixed(200)), (-0.2, Steps::MaxSize(0.0013))] {
            assert_same(&lorenz, name, 0.0, t1, [1.0, 1.0, 1.0], steps);
            assert_same(&Dynamic(oscillator), name, 0.3, 0.3 + t1, [1.0, 0.5], steps);
        }
    }
}

#[test]
fn small_path_is_bitwise_the_dynamic_steppers_with_adaptive_steps() {
    let lorenz = Lorenz::default();
    for name in ["bs3", "rk45", "tsit5", "dop853"] {
        for (t1, tol, h_init) in [
            (20.0, 1e-6, None),
            (3.0, 1e-10, None),
            (-0.7, 1e-8, Some(1e-3)),
        ] {
            let steps = Steps::Adaptive(AdaptiveOptions {
                h_init,
                ..AdaptiveOptions::with_tolerance(tol)
            });
            let y = assert_same(&lorenz, name, 0.0, t1, [1.0, 1.0, 1.0], steps);
            // Negative control: another tolerance moves the state, so the
            // bitwise comparison above is not between two constants.
            let other = integrate_small(
                &lorenz,
                &mut SmallRk::by_name(name).unwrap(),
                0.0,
                t1,
                &[1.0; 3],
                &Steps::Adaptive(AdaptiveOptions::with_tolerance(tol * 3.0)),
            )
            .unwrap();
            assert_ne!(y, other.y, "{name}: the tolerance matters");
        }
    }
}

#[test]
fn small_rk4_converges_at_order_four_and_euler_at_order_one() {
    for (name, order) in [("rk4", 4.0), ("explicit_euler", 1.0), ("ralston3", 3.0)] {
        let err = |n: usize| {
            let sol = integrate_small(
                &oscillator,
                &mut SmallRk::by_name(name).unwrap(),
                0.0,
                1.0,
                &[1.0, 0.0],
                &Steps::Fixed(n),
            )
            .unwrap();
            ((sol.y[0] - 1f64.cos()).powi(2) + (sol.y[1] + 1f64.sin()).powi(2)).sqrt()
        };
        let slope = (err(40) / err(80)).log2();
        assert!(
            (slope - order).abs() < 0.2,
            "{name}: observed order {slope}"
        );
    }
}

#[test]
fn small_path_refuses_bad_input_with_clear_errors() {
    let run = |name: &str, t1: f64, y0: [f64; 2], steps: Steps| {
        integrate_small(
            &oscillator,
            &mut SmallRk::by_name(name).unwrap(),
            0.0,
            t1,
            &y0,
            &steps,
        )
    };
    let adaptive = Steps::Adaptive(AdaptiveOptions::default());
    assert!(matches!(
        run("rk4", 1.0, [f64::NAN, 0.0], Steps::Fixed(4)),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(
        run("rk4", 0.0, [1.0, 0.0], Steps::Fixed(4)),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        run("rk4", 1.0, [1.0, 0.0], Steps::Fixed(0)),
        Err(Error::InvalidParameter { .. })
    ));
    let e = run("rk4", 1.0, [1.0, 0.0], adaptive).unwrap_err();
    assert!(e.to_string().contains("rk4"), "{e}");
    let e = SmallRk::<2>::by_name("implicit_euler").unwrap_err();
    assert!(matches!(e, Error::Spec { .. }) && e.to_string().contains("implicit_euler"));
    // A field that blows up: a fixed step reports the time, an adaptive run
    // shrinks its step until it underflows, as the dynamic driver does.
    let blow_up = |_t: f64, y: &[f64; 1], dy: &mut [f64; 1]| dy[0] = y[0] * y[0];
    let e = integrate_small(
        &blow_up,
        &mut SmallRk::rk4(),
        0.0,
        10.0,
        &[1.0],
        &Steps::Fixed(3),
    )
    .unwrap_err();
    assert!(matches!(e, Error::NonFinite { .. }), "{e}");
    let e =
        integrate_small(&blow_up, &mut SmallRk::rk45(), 0.0, 10.0, &[1.0], &adaptive).unwrap_err();
    assert!(
        matches!(
            e,
            Error::StepSizeUnderflow { .. } | Error::MaxStepsExceeded { .. }
        ),
        "{e}"
    );
}
