//! splitflow side by side with its peers — ode_solvers (static `Vector3`
//! and dynamic `DVector` states) and diffsol (`tsit45`, nalgebra backend) —
//! in one process (issue 15, goal 5). Each case lives in its own module;
//! every round times all contenders of a case in turn, and the tables give
//! the medians and ranges of the per-round ratios splitflow ÷ peer.
//!
//! ```text
//! cd benches/peer && cargo run --release -- [--rounds N] [--case NAME]
//! ```
//!
//! Cases: `lorenz` (t ∈ [0, 20] at four tolerances), `work-precision`
//! (Lorenz, t ∈ [0, 2], equal achieved error 1e-3 … 1e-10), `flow` (the
//! 500-dimensional quadratic gradient flow), `rk4` (n = 1e5, 100 fixed
//! steps), `lorenz-rk4` (n = 3, 2000 fixed RK4 steps); all of them by default. To add a splitflow contender, add a line
//! to the case module's `OURS`.

#[path = "../../common/mod.rs"]
mod common;
mod diffsol_run;
mod gradient_flow;
mod lorenz;
mod lorenz_rk4;
mod rk4;
mod timing;

/// The cases, in the order they run.
const CASES: [&str; 5] = ["lorenz", "work-precision", "flow", "rk4", "lorenz-rk4"];

fn main() {
    let mut rounds = 11;
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&v: &usize| v > 0)
                    .unwrap_or_else(|| usage("--rounds needs a positive integer"))
            }
            "--case" => match args.next() {
                Some(c) if CASES.contains(&c.as_str()) => only = Some(c),
                _ => usage("--case needs one of lorenz, work-precision, flow, rk4, lorenz-rk4"),
            },
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    println!(
        "splitflow vs peers: {rounds} interleaved rounds per point, {} ms batches; {} CPUs; load {}",
        timing::BATCH.as_millis(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        timing::load()
    );
    for case in CASES {
        if only.as_deref().is_some_and(|o| o != case) {
            continue;
        }
        match case {
            "lorenz" => lorenz::tolerances(rounds),
            "work-precision" => lorenz::work_precision(rounds),
            "flow" => gradient_flow::run(rounds),
            "rk4" => rk4::run(rounds),
            _ => lorenz_rk4::run(rounds),
        }
    }
}

fn usage(msg: &str) -> ! {
    eprintln!(
        "error: {msg}\nusage: splitflow-peers [--rounds N] [--case lorenz|work-precision|flow|rk4|lorenz-rk4]"
    );
    std::process::exit(2)
}
