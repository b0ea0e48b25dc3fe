//! Classical RK4 with fixed steps on Lorenz (n = 3), 2000 steps over
//! t ∈ [0, 2] from y0 = (1, 1, 1): the per-step overhead of a small system
//! on a fixed-step method. splitflow's small-system path
//! (`integrate_small` with `SmallRk::rk4()` on `[f64; 3]`) and its dynamic
//! `Rk4` (`integrate` on a `DVector`) against ode_solvers' `Rk4` with its
//! static `Vector3` state (which keeps every step's state: that is its API)
//! and a hand-written RK4 loop on `[f64; 3]`. The error column is against
//! the hand loop (the same arithmetic in the same order as `SmallRk`: 0).

use nalgebra::Vector3;
use ode_solvers::Rk4 as PeerRk4;
use splitflow::test_models::Lorenz;
use splitflow::{Rk4, SmallRk, State, Steps, integrate, integrate_small};

use crate::lorenz::LorenzStatic;
use crate::timing::{Job, Run, load, report_pairs};

/// Fixed steps over [0, T1].
pub const STEPS: usize = 2000;
/// End of the span.
pub const T1: f64 = 2.0;

/// A contender: a job running the steps once per call.
pub type Contender = fn() -> Job<'static>;

/// splitflow's contenders.
pub const OURS: &[(&str, Contender)] = &[
    ("SmallRk rk4 (static)", small_rk4),
    ("Rk4, integrate (dynamic)", dynamic_rk4),
];

/// The peers (the hand loop first: the error column is against it).
pub const PEERS: &[(&str, Contender)] = &[
    ("hand RK4 loop on [f64; 3]", hand_loop),
    ("ode_solvers Rk4 Vector3", ode_solvers_rk4),
];

fn small_rk4() -> Job<'static> {
    let mut rk4 = SmallRk::rk4();
    Box::new(move || {
        let sol = integrate_small(
            &Lorenz::default(),
            &mut rk4,
            0.0,
            T1,
            &[1.0; 3],
            &Steps::Fixed(STEPS),
        )
        .expect("SmallRk rk4");
        Run::splitflow(sol.y.as_slice(), &sol.stats)
    })
}

fn dynamic_rk4() -> Job<'static> {
    let mut rk4 = Rk4::new();
    let y0 = State::from_element(3, 1.0);
    Box::new(move || {
        let sol = integrate(
            &Lorenz::default(),
            &mut rk4,
            0.0,
            T1,
            &y0,
            &Steps::Fixed(STEPS),
        )
        .expect("splitflow Rk4");
        Run::splitflow(sol.y.as_slice(), &sol.stats)
    })
}

/// The textbook RK4 on `[f64; 3]`, written out (the lower bound).
fn hand_loop() -> Job<'static> {
    Box::new(|| {
        let f = |y: [f64; 3]| Lorenz::default().field(y);
        let axpy =
            |y: [f64; 3], c: f64, k: [f64; 3]| [y[0] + c * k[0], y[1] + c * k[1], y[2] + c * k[2]];
        let h = T1 / STEPS as f64;
        let mut y = [1.0; 3];
        for _ in 0..STEPS {
            let k1 = f(y);
            let k2 = f(axpy(y, h * 0.5, k1));
            let k3 = f(axpy(y, h * 0.5, k2));
            let k4 = f(axpy(y, h, k3));
            for i in 0..3 {
                y[i] += h * (1.0 / 6.0) * k1[i];
                y[i] += h * (1.0 / 3.0) * k2[i];
                y[i] += h * (1.0 / 3.0) * k3[i];
                y[i] += h * (1.0 / 6.0) * k4[i];
            }
        }
        Run {
            y: y.to_vec(),
            accepted: STEPS,
            rejected: 0,
            f_evals: Some(4 * STEPS),
        }
    })
}

fn ode_solvers_rk4() -> Job<'static> {
    Box::new(|| {
        let mut s = PeerRk4::new(
            LorenzStatic,
            0.0,
            Vector3::new(1.0, 1.0, 1.0),
            T1,
            T1 / STEPS as f64,
        );
        let st = s.integrate().expect("ode_solvers Rk4");
        Run::ode_solvers(s.y_out().last().expect("output").as_slice(), &st)
    })
}

/// Every (ours, peer) pair, timed in the same rounds.
pub fn run(rounds: usize) {
    println!(
        "\n### RK4 on Lorenz (n = 3), {STEPS} fixed steps over [0, {T1}]\n\n{rounds} rounds; load at start {}; error = ‖y({T1}) − hand loop‖∞\n",
        load()
    );
    let all: Vec<(&str, Contender)> = OURS.iter().chain(PEERS).copied().collect();
    let mut jobs: Vec<Job> = all.iter().map(|&(_, c)| c()).collect();
    let runs: Vec<Run> = jobs.iter_mut().map(|j| j()).collect();
    let names: Vec<&str> = all.iter().map(|&(n, _)| n).collect();
    report_pairs(
        &names,
        OURS.len(),
        &mut jobs,
        &runs,
        &runs[OURS.len()].y,
        rounds,
    );
}
