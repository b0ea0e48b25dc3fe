//! Stepper benchmarks: our adaptive Dormand–Prince against `ode_solvers`'
//! Dopri5, our fixed-step RK4 against a hand-written slice loop, and the
//! hand-written RK4 / RK45 against the generic `ExplicitRk` on their tableaus.

use std::hint::black_box;

use criterion::Criterion;

use crate::common::{
    DECAY_DIM, DECAY_STEPS, DECAY_T1, DecayField, FLOW_T1, HandRk4, LORENZ_T1, TOL, gradient_flow,
    lorenz, ode_solvers_dopri5, ours_rk4, ours_rk4_integrate, ours_rk45,
};
use splitflow::{
    AdaptiveOptions, ExplicitRk, OdeSystem, Rk4, Rk45, State, Stats, Stepper, Steps, integrate,
};

/// Lorenz (σ=10, ρ=28, β=8/3) from (1, 1, 1) over [0, 20] at rtol = atol = 1e-6:
/// per-step overhead dominates (3-dimensional state).
pub fn rk45_vs_dopri5_lorenz(c: &mut Criterion) {
    let (sys, y0) = lorenz();
    rk45_vs_dopri5(c, "lorenz_rk45_tol1e-6", &sys, LORENZ_T1, &y0);
}

/// The group `name`: our Rk45 against ode_solvers' Dopri5 on `sys` from `y0`
/// over `[0, t1]` at rtol = atol = 1e-6.
fn rk45_vs_dopri5<S: OdeSystem>(c: &mut Criterion, name: &str, sys: &S, t1: f64, y0: &State) {
    let mut g = c.benchmark_group(name);
    g.bench_function("splitflow_rk45", |b| {
        b.iter(|| ours_rk45(black_box(sys), t1, black_box(y0)))
    });
    g.bench_function("ode_solvers_dopri5", |b| {
        b.iter(|| ode_solvers_dopri5(black_box(sys), t1, black_box(y0)))
    });
    g.finish();
}

/// The 500-dimensional quadratic gradient flow over [0, 1] at rtol = atol =
/// 1e-6: a 500×500 gemv per f-evaluation dominates.
pub fn rk45_vs_dopri5_gradient_flow(c: &mut Criterion) {
    let (sys, y0) = gradient_flow();
    rk45_vs_dopri5(c, "gradient_flow500_rk45_tol1e-6", &sys, FLOW_T1, &y0);
}

/// Ten RK4 steps of a 100 000-dimensional linear decay with forcing: our
/// `Rk4::step` (and the `integrate` driver) against a hand-written slice loop.
pub fn rk4_vs_hand_loop(c: &mut Criterion) {
    let sys = DecayField::new(DECAY_DIM);
    let y0 = sys.initial();
    let mut g = c.benchmark_group("rk4_fixed_100k");
    let mut rk4 = Rk4::new();
    let mut y = y0.clone();
    g.bench_function("splitflow_rk4_step", |b| {
        b.iter(|| {
            ours_rk4(black_box(&sys), &mut rk4, black_box(&y0), &mut y);
            black_box(&y);
        })
    });
    let mut rk4_driver = Rk4::new();
    g.bench_function("splitflow_integrate_fixed", |b| {
        b.iter(|| ours_rk4_integrate(black_box(&sys), &mut rk4_driver, black_box(&y0)))
    });
    let mut hand = HandRk4::new(DECAY_DIM);
    let mut yh = y0.as_slice().to_vec();
    g.bench_function("hand_slice_loop", |b| {
        b.iter(|| {
            hand.run(black_box(&sys), black_box(y0.as_slice()), &mut yh);
            black_box(&yh);
        })
    });
    g.finish();
}

/// The hand-written fast paths against [`ExplicitRk`] on the same tableau
/// (bitwise-equal results, see tests/tableaus.rs): ten RK4 steps of the
/// 100 000-dimensional decay (memory-bound combinations), and adaptive
/// Dormand–Prince on Lorenz at 1e-6 (per-step overhead).
pub fn generic_vs_fast(c: &mut Criterion) {
    fn steps(stepper: &mut dyn Stepper, sys: &DecayField, y0: &State, y: &mut State) {
        y.copy_from(y0);
        let h = DECAY_T1 / DECAY_STEPS as f64;
        let mut stats = Stats::default();
        for i in 0..DECAY_STEPS {
            stepper
                .step(sys, i as f64 * h, h, y, &mut stats)
                .expect("finite RK4 step");
        }
    }
    fn adaptive(stepper: &mut dyn Stepper, sys: &dyn OdeSystem, y0: &State) -> State {
        let opts = AdaptiveOptions {
            rtol: TOL,
            atol: TOL,
            ..Default::default()
        };
        integrate(sys, stepper, 0.0, LORENZ_T1, y0, &Steps::Adaptive(opts))
            .expect("adaptive integration succeeds")
            .y
    }
    let mut g = c.benchmark_group("tableau_vs_fast");
    let sys = DecayField::new(DECAY_DIM);
    let y0 = sys.initial();
    let mut y = y0.clone();
    let mut fast = Rk4::new();
    g.bench_function("rk4_fast_10x100k", |b| {
        b.iter(|| steps(&mut fast, black_box(&sys), black_box(&y0), &mut y))
    });
    let mut generic = ExplicitRk::rk4();
    g.bench_function("rk4_generic_10x100k", |b| {
        b.iter(|| steps(&mut generic, black_box(&sys), black_box(&y0), &mut y))
    });
    let (lz, lz0) = lorenz();
    let mut fast = Rk45::new();
    g.bench_function("dopri5_fast_lorenz", |b| {
        b.iter(|| adaptive(&mut fast, black_box(&lz), black_box(&lz0)))
    });
    let mut generic = ExplicitRk::dopri5();
    g.bench_function("dopri5_generic_lorenz", |b| {
        b.iter(|| adaptive(&mut generic, black_box(&lz), black_box(&lz0)))
    });
    g.finish();
}
