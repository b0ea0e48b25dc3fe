//! The one machinery: the [`Integrator`] (stepper + [`Steps`] + reused
//! workspaces) equals `integrate`, advances without allocating, implicit
//! Euler factorises once per step size for constant Jacobians, and the
//! flow-map driver `integrate_flow` is the hand-written loop.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use nalgebra::DMatrix;
use splitflow::splitting::{
    ExactLinear, FlowMap, Integrated, Splitting, SplittingCoefficients, integrate_flow,
};
use splitflow::test_models::{Lorenz, VanDerPol};
use splitflow::{
    AdaptiveOptions, ConvergenceStudy, Error, ExplicitEuler, ImplicitEuler, Integrator,
    LinearSystem, OdeSystem, Order, Record, Rk4, Rk45, State, Stepper, Steps, integrate,
};

use crate::common::bits;

/// Counts this thread's allocations (tests run in parallel threads, so a
/// global counter would see the others').
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator unchanged; the counter is a
// const-initialised thread-local Cell (no allocation, no destructor).
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// A stable, non-normal 5×5 linear system with forcing.
fn linear5() -> LinearSystem {
    let a = DMatrix::from_fn(5, 5, |i, j| {
        if i == j {
            -1.0 - i as f64
        } else {
            0.3 * ((i * 5 + j) % 7) as f64 / 7.0 - 0.1
        }
    });
    LinearSystem::new(a, Some(State::from_element(5, 0.5))).unwrap()
}

type MakeIntegrator = Box<dyn Fn() -> Integrator>;

fn integrators() -> Vec<(&'static str, MakeIntegrator)> {
    vec![
        (
            "rk4 x40",
            Box::new(|| Integrator::fixed(Rk4::new(), 40).unwrap()),
        ),
        (
            "explicit_euler h≤0.01",
            Box::new(|| {
                Integrator::new(Box::new(ExplicitEuler::new()), Steps::MaxSize(0.01)).unwrap()
            }),
        ),
        (
            "implicit_euler x5",
            Box::new(|| Integrator::fixed(ImplicitEuler::new(), 5).unwrap()),
        ),
        (
            "rk45 adaptive",
            Box::new(|| {
                Integrator::adaptive(Rk45::new(), AdaptiveOptions::with_tolerance(1e-9)).unwrap()
            }),
        ),
    ]
}

fn fresh_stepper(label: &str) -> Box<dyn Stepper> {
    match label.split(' ').next().unwrap() {
        "rk4" => Box::new(Rk4::new()),
        "explicit_euler" => Box::new(ExplicitEuler::new()),
        "implicit_euler" => Box::new(ImplicitEuler::new()),
        _ => Box::new(Rk45::new()),
    }
}

/// One advance over [t0, t0 + h] is `integrate` over the same span with the
/// same stepper and steps: bitwise equal states and equal counters (when
/// `(t0 + h) − t0 == h`, true for the spans used here).
#[test]
fn integrator_advance_is_integrate_bitwise() {
    let systems: Vec<(&str, Box<dyn OdeSystem>, State)> = vec![
        (
            "lorenz",
            Box::new(Lorenz::default()),
            State::from_vec(vec![1.0, 1.0, 1.0]),
        ),
        (
            "van der pol",
            Box::new(VanDerPol { mu: 2.0 }),
            State::from_vec(vec![2.0, 0.0]),
        ),
        ("linear", Box::new(linear5()), State::from_element(5, 1.0)),
    ];
    for (name, system, y0) in &systems {
        for (label, make) in integrators() {
            let mut integrator = make();
            let mut y = y0.clone();
            integrator
                .advance(system.as_ref(), 0.5, 1.0, &mut y)
                .unwrap();
            let steps = *integrator.steps();
            let run = |steps: &Steps| {
                integrate(
                    system.as_ref(),
                    fresh_stepper(label).as_mut(),
                    0.5,
                    1.5,
                    y0,
                    steps,
                )
                .unwrap()
            };
            let sol = run(&steps);
            assert_eq!(bits(&y), bits(&sol.y), "{name}, {label}");
            assert_eq!(integrator.stats(), sol.stats, "{name}, {label}");
            // Negative control: a different step count changes the state.
            let other = match steps {
                Steps::Adaptive(o) => Steps::Adaptive(AdaptiveOptions {
                    rtol: 1e-5,
                    atol: 1e-5,
                    ..o
                }),
                _ => Steps::Fixed(3),
            };
            let sol = run(&other);
            assert_ne!(bits(&y), bits(&sol.y), "{name}, {label}: control");
        }
    }
}

/// After the first advance at a dimension, an advance allocates nothing:
/// the stepper's stages, implicit Euler's Newton matrix and LU, and the
/// adaptive controller's trial state are all reused.
#[test]
fn integrator_advances_do_not_allocate_after_the_first() {
    let lorenz = Lorenz::default();
    let linear = linear5();
    for (label, make) in integrators() {
        for system in [&lorenz as &dyn OdeSystem, &linear] {
            let mut integrator = make();
            let mut y = State::from_element(system.dim(), 0.7);
            integrator.advance(system, 0.0, 0.1, &mut y).unwrap();
            let n = allocations_during(|| {
                for k in 1..20 {
                    integrator
                        .advance(system, 0.1 * k as f64, 0.1, &mut y)
                        .unwrap();
                }
            });
            assert_eq!(n, 0, "{label}: {n} allocations in 19 advances");
        }
    }
    // Control: the counter does count.
    assert!(allocations_during(|| drop(std::hint::black_box(State::zeros(8)))) > 0);
}

/// Splitting pieces advance through the same machinery, without allocating.
#[test]
fn integrated_pieces_do_not_allocate_after_the_first_advance() {
    let mut piece = Integrated::new(
        linear5(),
        Integrator::fixed(ImplicitEuler::new(), 2).unwrap(),
    );
    let mut y = State::from_element(5, 1.0);
    piece.advance(0.0, 0.1, &mut y).unwrap();
    let n = allocations_during(|| {
        for k in 1..10 {
            piece.advance(0.1 * k as f64, 0.1, &mut y).unwrap();
        }
    });
    assert_eq!(n, 0);
}

/// A system with a constant Jacobian is factorised once per step size; a
/// nonlinear one once per Newton iteration (the control).
#[test]
fn implicit_euler_factorises_constant_jacobians_once_per_step_size() {
    let linear = linear5();
    let y0 = State::from_element(5, 1.0);
    let sol = integrate(
        &linear,
        &mut ImplicitEuler::new(),
        0.0,
        2.0,
        &y0,
        &Steps::Fixed(40),
    )
    .unwrap();
    assert_eq!(sol.stats.factorizations, 1);
    assert_eq!(sol.stats.linear_solves, 40);
    // The result is the implicit Euler recursion (I − hA) y₊ = y + h c,
    // solved independently here by nalgebra's LU.
    let h = 2.0 / 40.0;
    let m = DMatrix::identity(5, 5) - linear.matrix() * h;
    let lu = m.lu();
    let mut y = y0.clone();
    for _ in 0..40 {
        let rhs = &y + linear.forcing().unwrap() * h;
        y = lu.solve(&rhs).unwrap();
    }
    assert!(
        (&y - &sol.y).norm() <= 1e-13 * y.norm(),
        "{}",
        (&y - &sol.y).norm()
    );
    // A new step size refactorises once.
    let mut stepper = ImplicitEuler::new();
    let mut stats = splitflow::Stats::default();
    let mut y = y0.clone();
    for (k, h) in [0.1, 0.1, 0.2, 0.2, 0.1].iter().enumerate() {
        stepper
            .step(&linear, k as f64, *h, &mut y, &mut stats)
            .unwrap();
    }
    assert_eq!(stats.factorizations, 3);
    // Control: Van der Pol is nonlinear: one factorisation per Newton iteration.
    let vdp = VanDerPol { mu: 2.0 };
    let sol = integrate(
        &vdp,
        &mut ImplicitEuler::new(),
        0.0,
        1.0,
        &State::from_vec(vec![2.0, 0.0]),
        &Steps::Fixed(20),
    )
    .unwrap();
    assert_eq!(sol.stats.factorizations, sol.stats.newton_iterations);
    assert!(sol.stats.newton_iterations > 20);
}

/// `integrate_flow` is the hand-written loop `y ← φ_h(t0 + k h, y)`.
#[test]
fn integrate_flow_is_the_hand_written_loop() {
    let a =
        LinearSystem::new(DMatrix::from_row_slice(2, 2, &[-1.0, 2.0, 0.0, -3.0]), None).unwrap();
    let b =
        LinearSystem::new(DMatrix::from_row_slice(2, 2, &[-0.5, 0.0, 1.0, -0.2]), None).unwrap();
    let make = || {
        let pieces: Vec<Box<dyn FlowMap>> = vec![
            Box::new(Integrated::new(
                a.clone(),
                Integrator::fixed(Rk4::new(), 2).unwrap(),
            )),
            Box::new(ExactLinear::new(b.clone())),
        ];
        Splitting::new(
            pieces,
            SplittingCoefficients::strang(2).unwrap(),
            Default::default(),
        )
        .unwrap()
    };
    let y0 = State::from_vec(vec![1.0, 0.5]);
    let (t0, t1, n) = (0.25, 1.75, 24);
    let mut map = make();
    let sol = integrate_flow(&mut map, t0, t1, &y0, &Steps::Fixed(n), Record::Steps).unwrap();
    let mut hand = make();
    let h = (t1 - t0) / n as f64;
    let mut y = y0.clone();
    for k in 0..n {
        hand.advance(t0 + k as f64 * h, h, &mut y).unwrap();
    }
    assert_eq!(bits(&sol.y), bits(&y));
    assert_eq!(sol.t, t1);
    assert_eq!(sol.stats.accepted, n);
    assert_eq!(sol.stats.f_evals, hand.stats().f_evals);
    let tr = sol.trajectory.unwrap();
    assert_eq!(tr.len(), n + 1);
    assert_eq!(tr[n].0, t1);
    assert_eq!(bits(&tr[n].1), bits(&y));
    // MaxSize picks ⌈span/h⌉ steps: 1.5/0.1 → 15.
    let sol = integrate_flow(
        &mut make(),
        t0,
        t1,
        &y0,
        &Steps::MaxSize(0.1),
        Record::Final,
    )
    .unwrap();
    assert_eq!(sol.stats.accepted, 15);
    // Adaptive steps and dense output have no meaning for a flow map.
    let e = integrate_flow(
        &mut make(),
        t0,
        t1,
        &y0,
        &Steps::Adaptive(Default::default()),
        Record::Final,
    );
    assert!(matches!(e, Err(Error::InvalidParameter { .. })));
    let e = integrate_flow(&mut make(), t0, t1, &y0, &Steps::Fixed(4), Record::Dense);
    assert!(matches!(e, Err(Error::InvalidParameter { .. })));
    // A size that would need more than the cap of steps is refused up front.
    let e = integrate_flow(
        &mut make(),
        t0,
        t1,
        &y0,
        &Steps::MaxSize(1e-15),
        Record::Final,
    );
    match e {
        Err(Error::InvalidParameter { name, reason, .. }) => {
            assert_eq!(name, "h");
            assert!(reason.contains("cap"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

/// `run_flow` reads the effective order from the map: Strang with exact
/// pieces is 2 and measured 2; Lie with explicit-Euler pieces is 1 and
/// measured 1; Strang with Euler pieces is capped at 1 by its pieces.
#[test]
fn convergence_study_reads_the_effective_order_from_the_method() {
    let a =
        LinearSystem::new(DMatrix::from_row_slice(2, 2, &[-1.0, 2.0, 0.0, -3.0]), None).unwrap();
    let b =
        LinearSystem::new(DMatrix::from_row_slice(2, 2, &[-0.5, 0.0, 1.0, -0.2]), None).unwrap();
    let whole = LinearSystem::new(a.matrix() + b.matrix(), None).unwrap();
    let y0 = State::from_vec(vec![1.0, 0.5]);
    let exact = whole.exact(1.0, &y0).unwrap();
    let study = ConvergenceStudy::new(vec![16, 32, 64, 128, 256], 1.0);
    let exact_piece = |s: &LinearSystem| Box::new(ExactLinear::new(s.clone())) as Box<dyn FlowMap>;
    let euler_piece = |s: &LinearSystem| {
        Box::new(Integrated::new(
            s.clone(),
            Integrator::fixed(ExplicitEuler::new(), 1).unwrap(),
        )) as Box<dyn FlowMap>
    };
    type Piece<'a> = &'a dyn Fn(&LinearSystem) -> Box<dyn FlowMap>;
    let cases: [(&str, Piece, f64, Order); 3] = [
        ("strang", &exact_piece, 2.0, Order::Finite(2)),
        ("lie", &euler_piece, 1.0, Order::Finite(1)),
        ("strang", &euler_piece, 1.0, Order::Finite(1)),
    ];
    for (scheme, piece, expected, order) in cases {
        let report = study
            .run_flow(0.0, &y0, &exact, || {
                Splitting::new(
                    vec![piece(&a), piece(&b)],
                    SplittingCoefficients::by_name(scheme, 2)?,
                    Default::default(),
                )
            })
            .unwrap();
        assert_eq!(report.effective_order, Some(order), "{scheme}");
        assert!(
            (report.fitted_order - expected).abs() < 0.15,
            "{scheme}: {report}"
        );
    }
}
