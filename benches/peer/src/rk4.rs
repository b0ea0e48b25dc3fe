//! Classical RK4, 100 fixed steps over t ∈ [0, 1] on a cheap
//! 100 000-dimensional linear field (`DecayField` of `benches/common`:
//! yᵢ' = 0.1 sin t − rᵢ yᵢ, rᵢ ∈ [0.5, 1.5]): splitflow against ode_solvers'
//! `Rk4` on a `DVector` and a hand-written slice loop (`HandRk4` of
//! `benches/common`). diffsol has no fixed-step explicit Runge–Kutta (its
//! `ExplicitRk` is adaptive only), so it is not in this case. The error
//! column is against the hand loop.

use ode_solvers::Rk4 as PeerRk4;
use splitflow::{OdeSolversAdapter, Rk4, State, Steps, integrate};

use crate::common::{DECAY_DIM, DecayField, HandRk4};
use crate::timing::{Job, Run, load, report_pairs};

/// Fixed steps over [0, 1].
pub const STEPS: usize = 100;
/// End of the span.
pub const T1: f64 = 1.0;

/// The field and its initial state.
pub struct Decay {
    field: DecayField,
    y0: State,
}

/// A contender: a job running the 100 steps once per call (workspaces
/// allocated when the job is made are reused from call to call).
pub type Contender = for<'a> fn(&'a Decay) -> Job<'a>;

/// splitflow's contenders: one line per splitflow path.
pub const OURS: &[(&str, Contender)] = &[("Rk4, integrate(Fixed(100))", splitflow_rk4)];

/// The peers (the hand loop first: the error column is against it).
pub const PEERS: &[(&str, Contender)] = &[
    ("hand slice loop", hand_loop),
    ("ode_solvers Rk4 DVector", ode_solvers_rk4),
];

/// splitflow's fixed-step driver with a reused (warm) `Rk4`; it returns a
/// new final state per call.
fn splitflow_rk4(d: &Decay) -> Job<'_> {
    let mut rk4 = Rk4::new();
    Box::new(move || {
        let sol = integrate(&d.field, &mut rk4, 0.0, T1, &d.y0, &Steps::Fixed(STEPS))
            .expect("splitflow Rk4");
        Run::splitflow(sol.y.as_slice(), &sol.stats)
    })
}

/// Preallocated buffers, y0 copied in, then the steps.
fn hand_loop(d: &Decay) -> Job<'_> {
    let mut hand = HandRk4::new(DECAY_DIM);
    let mut y = d.y0.as_slice().to_vec();
    Box::new(move || {
        y.copy_from_slice(d.y0.as_slice());
        let h = T1 / STEPS as f64;
        for i in 0..STEPS {
            hand.step(&d.field, i as f64 * h, h, &mut y);
        }
        Run {
            y: y.clone(),
            accepted: STEPS,
            rejected: 0,
            f_evals: Some(4 * STEPS),
        }
    })
}

/// ode_solvers' `Rk4` keeps every step's state (101 vectors of 800 KB):
/// that is how it is used.
fn ode_solvers_rk4(d: &Decay) -> Job<'_> {
    Box::new(move || {
        let mut s = PeerRk4::new(
            OdeSolversAdapter(&d.field),
            0.0,
            d.y0.clone(),
            T1,
            T1 / STEPS as f64,
        );
        let st = s.integrate().expect("ode_solvers Rk4");
        Run::ode_solvers(s.y_out().last().expect("output").as_slice(), &st)
    })
}

/// Every (ours, peer) pair, timed in the same rounds.
pub fn run(rounds: usize) {
    let field = DecayField::new(DECAY_DIM);
    let d = Decay {
        y0: field.initial(),
        field,
    };
    println!(
        "\n### RK4, n = {DECAY_DIM}, {STEPS} fixed steps over [0, {T1}]\n\n{rounds} rounds; load at start {}; error = ‖y(1) − hand loop‖∞; diffsol has no fixed-step explicit RK\n",
        load()
    );
    let all: Vec<(&str, Contender)> = OURS.iter().chain(PEERS).copied().collect();
    let mut jobs: Vec<Job> = all.iter().map(|&(_, c)| c(&d)).collect();
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
