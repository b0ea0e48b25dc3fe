//! Problems and solver runs shared by the criterion benches (`benches/main.rs`)
//! and `benches/ratios/foundation_ratios.rs`, so both time exactly the same work;
//! [`sgd`] is the same for the SGD-epoch comparison and
//! `benches/ratios/splitting_ratios.rs`, and [`exact`] for the exact-flow epoch
//! (`benches/reduction/mod.rs`) and `benches/ratios/reduction_timing.rs`.
//!
//! Lives in a sub-directory so that Cargo does not auto-discover it as a bench
//! target of its own.

#![allow(dead_code)] // each includer uses a subset

pub mod exact;
pub mod sgd;

use ode_solvers::{Dopri5, OutputType};
use splitflow::test_models::{ExactProblem, Lorenz, QuadraticGradientFlow};
use splitflow::{
    AdaptiveOptions, OdeSolversAdapter, OdeSystem, Rk4, Rk45, State, Stats, Stepper, Steps,
    integrate,
};

/// Relative and absolute tolerance of both adaptive solvers.
pub const TOL: f64 = 1e-6;
/// End time of the Lorenz runs (from t = 0).
pub const LORENZ_T1: f64 = 20.0;
/// End time of the 500-dimensional gradient-flow runs (from t = 0).
pub const FLOW_T1: f64 = 1.0;
/// Dimension of the cheap fixed-step RK4 problem.
pub const DECAY_DIM: usize = 100_000;
/// Fixed RK4 steps over [0, DECAY_T1].
pub const DECAY_STEPS: usize = 10;
/// End time of the fixed-step RK4 runs (from t = 0).
pub const DECAY_T1: f64 = 1.0;

/// The Lorenz system with its classic parameters and y0 = (1, 1, 1).
pub fn lorenz() -> (Lorenz, State) {
    (Lorenz::default(), State::from_element(3, 1.0))
}

/// The 500-dimensional quadratic gradient flow and its initial state.
pub fn gradient_flow() -> (QuadraticGradientFlow, State) {
    let sys = QuadraticGradientFlow::standard();
    let y0 = sys.initial();
    (sys, y0)
}

/// Our adaptive Dormand–Prince at `TOL` from t = 0 to `t1`: the final state
/// and work counters.
pub fn ours_rk45(sys: &dyn OdeSystem, t1: f64, y0: &State) -> (State, Stats) {
    let opts = AdaptiveOptions {
        rtol: TOL,
        atol: TOL,
        ..Default::default()
    };
    let sol = integrate(sys, &mut Rk45::new(), 0.0, t1, y0, &Steps::Adaptive(opts))
        .expect("adaptive integration succeeds");
    (sol.y, sol.stats)
}

/// `ode_solvers`' Dopri5 at `TOL` from t = 0 to `t1` with sparse output: the
/// final state and its counters.
pub fn ode_solvers_dopri5<S: OdeSystem>(
    sys: &S,
    t1: f64,
    y0: &State,
) -> (State, ode_solvers::dop_shared::Stats) {
    let mut solver = Dopri5::new(OdeSolversAdapter(sys), 0.0, t1, t1, y0.clone(), TOL, TOL);
    solver.set_output(OutputType::Sparse);
    let stats = solver.integrate().expect("Dopri5 succeeds");
    let y = solver.y_out().last().expect("at least one output").clone();
    (y, stats)
}

/// A cheap but non-trivial right-hand side in any dimension: linear decay with
/// per-component rates and a shared periodic forcing,
///
/// dyᵢ/dt = s·sin(t) − rᵢ·yᵢ,  rᵢ ∈ [0.5, 1.5].
///
/// The rates are data (not a constant the compiler could fold), and every
/// output entry is read back by the next stage, so nothing can be elided.
#[derive(Debug, Clone)]
pub struct DecayField {
    rates: Vec<f64>,
    forcing: f64,
}

impl DecayField {
    /// An instance of dimension `n`.
    pub fn new(n: usize) -> Self {
        let rates = (0..n)
            .map(|i| 0.5 + ((i * 7919) % 1000) as f64 / 1000.0)
            .collect();
        DecayField {
            rates,
            forcing: 0.1,
        }
    }

    /// An initial state of dimension `n` (entries in [-1, 1]).
    pub fn initial(&self) -> State {
        State::from_fn(self.rates.len(), |i, _| {
            ((i * 104729) % 2001) as f64 / 1000.0 - 1.0
        })
    }

    /// The right-hand side on slices (used by both our stepper, through
    /// [`OdeSystem`], and the hand-written loop).
    #[inline]
    pub fn eval(&self, t: f64, y: &[f64], dy: &mut [f64]) {
        let s = self.forcing * t.sin();
        for ((d, &yi), &r) in dy.iter_mut().zip(y).zip(&self.rates) {
            *d = s - r * yi;
        }
    }
}

impl OdeSystem for DecayField {
    fn dim(&self) -> usize {
        self.rates.len()
    }
    fn rhs(&self, t: f64, y: &State, dy: &mut State) {
        self.eval(t, y.as_slice(), dy.as_mut_slice());
    }
}

/// Our [`Rk4`] stepping `DECAY_STEPS` times over [0, DECAY_T1], starting
/// from `y0` copied into the caller's `y` (stepper workspaces are warm after
/// the first call, as in any long-running loop).
pub fn ours_rk4(sys: &DecayField, rk4: &mut Rk4, y0: &State, y: &mut State) {
    y.copy_from(y0);
    let h = DECAY_T1 / DECAY_STEPS as f64;
    let mut stats = Stats::default();
    for i in 0..DECAY_STEPS {
        rk4.step(sys, i as f64 * h, h, y, &mut stats)
            .expect("finite RK4 step");
    }
}

/// Our fixed-step driver, `integrate(.., Steps::Fixed(DECAY_STEPS))`, with a
/// reused (warm) stepper: per call it only allocates the returned state (a
/// clone of `y0`).
pub fn ours_rk4_integrate(sys: &DecayField, rk4: &mut Rk4, y0: &State) -> State {
    integrate(sys, rk4, 0.0, DECAY_T1, y0, &Steps::Fixed(DECAY_STEPS))
        .expect("finite RK4 run")
        .y
}

/// Classical RK4 written directly on slices with preallocated buffers: the
/// baseline our generic stepper is measured against.
#[derive(Debug, Clone)]
pub struct HandRk4 {
    k1: Vec<f64>,
    k2: Vec<f64>,
    k3: Vec<f64>,
    k4: Vec<f64>,
    stage: Vec<f64>,
}

impl HandRk4 {
    /// Buffers for dimension `n`.
    pub fn new(n: usize) -> Self {
        HandRk4 {
            k1: vec![0.0; n],
            k2: vec![0.0; n],
            k3: vec![0.0; n],
            k4: vec![0.0; n],
            stage: vec![0.0; n],
        }
    }

    /// One RK4 step of size `h` from `t`.
    pub fn step(&mut self, f: &DecayField, t: f64, h: f64, y: &mut [f64]) {
        let HandRk4 {
            k1,
            k2,
            k3,
            k4,
            stage,
        } = self;
        f.eval(t, y, k1);
        for ((s, &yi), &k) in stage.iter_mut().zip(y.iter()).zip(k1.iter()) {
            *s = yi + 0.5 * h * k;
        }
        f.eval(t + 0.5 * h, stage, k2);
        for ((s, &yi), &k) in stage.iter_mut().zip(y.iter()).zip(k2.iter()) {
            *s = yi + 0.5 * h * k;
        }
        f.eval(t + 0.5 * h, stage, k3);
        for ((s, &yi), &k) in stage.iter_mut().zip(y.iter()).zip(k3.iter()) {
            *s = yi + h * k;
        }
        f.eval(t + h, stage, k4);
        let h6 = h / 6.0;
        for ((((yi, &a), &b), &c), &d) in y
            .iter_mut()
            .zip(k1.iter())
            .zip(k2.iter())
            .zip(k3.iter())
            .zip(k4.iter())
        {
            *yi += h6 * (a + 2.0 * b + 2.0 * c + d);
        }
    }

    /// `DECAY_STEPS` steps over [0, DECAY_T1] from `y0` copied into `y`.
    pub fn run(&mut self, f: &DecayField, y0: &[f64], y: &mut [f64]) {
        y.copy_from_slice(y0);
        let h = DECAY_T1 / DECAY_STEPS as f64;
        for i in 0..DECAY_STEPS {
            self.step(f, i as f64 * h, h, y);
        }
    }
}
