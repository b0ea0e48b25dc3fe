//! splitflow's adaptive Dormand–Prince (`Rk45`) against ode_solvers'
//! `Dopri5` with a static `Vector3` state (its fastest path) and with a
//! `DVector` state, on Lorenz over t ∈ [0, 20] at several tolerances (a
//! work–precision table: error against a tight reference, right-hand-side
//! evaluations, time per run), in one process: each round runs the three
//! contenders in turn, and the table gives the medians of the per-round
//! ratios splitflow / peer with their range.
//!
//! ```text
//! cd benches/peer && cargo run --release [-- --rounds N]
//! ```
//!
//! diffsol is not in this project yet (issue 15, goal 5, left open).

use std::hint::black_box;
use std::time::Instant;

use nalgebra::{DVector, Vector3};
use ode_solvers::dop_shared::OutputType;
use ode_solvers::{Dopri5, System};
use splitflow::test_models::Lorenz;
use splitflow::{AdaptiveOptions, OdeSolversAdapter, Rk45, State, Steps, integrate};

const T1: f64 = 20.0;

/// Lorenz with ode_solvers' static state (σ = 10, ρ = 28, β = 8/3, as
/// `splitflow::test_models::Lorenz::default()`).
struct LorenzStatic;

impl System<f64, Vector3<f64>> for LorenzStatic {
    fn system(&self, _t: f64, y: &Vector3<f64>, dy: &mut Vector3<f64>) {
        dy[0] = 10.0 * (y[1] - y[0]);
        dy[1] = y[0] * (28.0 - y[2]) - y[1];
        dy[2] = y[0] * y[1] - 8.0 / 3.0 * y[2];
    }
}

fn ours(tol: f64) -> (State, usize) {
    let opts = AdaptiveOptions {
        rtol: tol,
        atol: tol,
        ..Default::default()
    };
    let y0 = State::from_element(3, 1.0);
    let sol = integrate(
        &Lorenz::default(),
        &mut Rk45::new(),
        0.0,
        T1,
        &y0,
        &Steps::Adaptive(opts),
    )
    .expect("splitflow Rk45");
    (sol.y, sol.stats.f_evals)
}

fn peer_static(tol: f64) -> (Vector3<f64>, u32) {
    let mut s = Dopri5::new(
        LorenzStatic,
        0.0,
        T1,
        T1,
        Vector3::new(1.0, 1.0, 1.0),
        tol,
        tol,
    );
    s.set_output(OutputType::Sparse);
    let stats = s.integrate().expect("Dopri5 Vector3");
    (*s.y_out().last().expect("output"), stats.num_eval)
}

fn peer_dynamic(tol: f64) -> (DVector<f64>, u32) {
    let lorenz = Lorenz::default();
    let mut s = Dopri5::new(
        OdeSolversAdapter(&lorenz),
        0.0,
        T1,
        T1,
        DVector::from_element(3, 1.0),
        tol,
        tol,
    );
    s.set_output(OutputType::Sparse);
    let stats = s.integrate().expect("Dopri5 DVector");
    (s.y_out().last().expect("output").clone(), stats.num_eval)
}

/// Seconds per call of `f`, over enough calls to take about 20 ms.
fn time(f: &mut dyn FnMut()) -> f64 {
    let mut n = 1;
    loop {
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        let s = start.elapsed().as_secs_f64();
        if s > 0.02 {
            return s / n as f64;
        }
        n *= 2;
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut rounds = 21;
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--rounds") {
        rounds = args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(rounds);
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let (reference, _) = ours(1e-13);
    println!(
        "Lorenz t ∈ [0, {T1}], y0 = (1, 1, 1); {rounds} rounds; error = ‖y(20) − reference‖∞ (reference: splitflow Rk45 at 1e-13); load {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "\n| tol | error (ours / Vector3 / DVector) | f-evals (ours / peers) | ours | Vector3 | DVector | ours ÷ Vector3 (range) | ours ÷ DVector (range) |"
    );
    println!("|---|---|---|---:|---:|---:|---|---|");
    for tol in [1e-3, 1e-6, 1e-8, 1e-10] {
        let (yo, eo) = ours(tol);
        let (ys, es) = peer_static(tol);
        let (yd, ed) = peer_dynamic(tol);
        let err = |y: &[f64]| {
            y.iter()
                .zip(reference.iter())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max)
        };
        let (mut to, mut ts, mut td) = (Vec::new(), Vec::new(), Vec::new());
        let (mut rs, mut rd) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let o = time(&mut || {
                black_box(ours(black_box(tol)));
            });
            let s = time(&mut || {
                black_box(peer_static(black_box(tol)));
            });
            let d = time(&mut || {
                black_box(peer_dynamic(black_box(tol)));
            });
            to.push(o);
            ts.push(s);
            td.push(d);
            rs.push(o / s);
            rd.push(o / d);
        }
        let range = |v: &[f64]| {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(0.0, f64::max);
            format!("{lo:.3} – {hi:.3}")
        };
        println!(
            "| {tol:.0e} | {:.1e} / {:.1e} / {:.1e} | {eo} / {es} / {ed} | {:.1} µs | {:.1} µs | {:.1} µs | {:.3} ({}) | {:.3} ({}) |",
            err(yo.as_slice()),
            err(ys.as_slice()),
            err(yd.as_slice()),
            median(&mut to) * 1e6,
            median(&mut ts) * 1e6,
            median(&mut td) * 1e6,
            median(&mut rs.clone()),
            range(&rs),
            median(&mut rd.clone()),
            range(&rd),
        );
    }
}
