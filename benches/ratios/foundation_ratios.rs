//! Times the foundation's three performance comparisons in one process and
//! prints their ratios — a quick alternative to the criterion benches
//! (`benches/main.rs`), which time exactly the same work.
//!
//! ```text
//! cargo bench --bench foundation_ratios [-- --reps N] [--case lorenz|flow|rk4]
//! ```
//!
//! Each comparison alternates the two contenders over `N` repetitions
//! (default 21); a repetition runs a contender enough times to take about
//! 10 ms. The table shows the median time per call of each and the median
//! of the per-repetition ratios ours/baseline (time; below 1 means ours is
//! faster), so background load that slows both sides cancels out.

#[path = "support/mod.rs"]
mod support;
use std::hint::black_box;
use std::time::{Duration, Instant};
use support::{alternate, arg_error, fmt_time, median, one_of, positive, table_rule, target_cells};

#[path = "../common/mod.rs"]
mod common;

use common::{
    DECAY_DIM, DecayField, FLOW_T1, HandRk4, LORENZ_T1, gradient_flow, lorenz, ode_solvers_dopri5,
    ours_rk4, ours_rk4_integrate, ours_rk45,
};
use splitflow::{OdeSystem, Rk4, State};

/// Wall time of one repetition of a contender.
const BATCH: Duration = Duration::from_millis(10);

/// Seconds per call of `f` over `n` calls.
fn per_call(f: &mut dyn FnMut(), n: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_secs_f64() / n as f64
}

/// One row of the table.
struct Row {
    case: &'static str,
    ours: f64,
    baseline: f64,
    ratio: f64,
    /// Largest admissible ratio ours/baseline, if the issue sets one.
    target: Option<f64>,
}

/// Alternates `ours` and `baseline` over `reps` repetitions.
fn compare(
    case: &'static str,
    target: Option<f64>,
    reps: usize,
    ours: &mut dyn FnMut(),
    baseline: &mut dyn FnMut(),
) -> Row {
    let (mut to, mut tb, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for (o, b) in alternate(reps, BATCH, ours, baseline, per_call) {
        to.push(o);
        tb.push(b);
        r.push(o / b);
    }
    Row {
        case,
        ours: median(&mut to),
        baseline: median(&mut tb),
        ratio: median(&mut r),
        target,
    }
}

/// Our Rk45 against ode_solvers' Dopri5 on `(sys, t1, y0)`: the note
/// comparing their step statistics and end states (`(label, t1 as
/// printed)`) and the timing row.
fn rk45_vs_dopri5<S: OdeSystem>(
    (label, end): (&str, &str),
    case: &'static str,
    target: Option<f64>,
    reps: usize,
    (sys, t1, y0): (&S, f64, &State),
) -> (String, Row) {
    let (yo, so) = ours_rk45(sys, t1, y0);
    let (yb, sb) = ode_solvers_dopri5(sys, t1, y0);
    let note = format!(
        "{label}: ours {} accepted / {} rejected / {} f-evals; ode_solvers {} / {} / {}; |Δy({end})|∞ = {:.1e}",
        so.accepted,
        so.rejected,
        so.f_evals,
        sb.accepted_steps,
        sb.rejected_steps,
        sb.num_eval,
        (&yo - &yb).amax()
    );
    let row = compare(
        case,
        target,
        reps,
        &mut || {
            black_box(ours_rk45(black_box(sys), t1, black_box(y0)));
        },
        &mut || {
            black_box(ode_solvers_dopri5(black_box(sys), t1, black_box(y0)));
        },
    );
    (note, row)
}

fn main() {
    let mut reps = 21;
    let mut only: Option<String> = None;
    // `cargo bench` passes `--bench` to a harness-less bench: ignore it.
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reps" => reps = positive(args.next(), "--reps", arg_error),
            "--case" => only = Some(one_of(args.next(), "--case", &["lorenz", "flow", "rk4"])),
            other => arg_error(&format!(
                "unknown argument {other:?} (expected --reps N or --case NAME)"
            )),
        }
    }

    let run = |case: &str| only.as_deref().is_none_or(|o| o == case);
    let mut rows = Vec::new();
    let mut notes = Vec::new();

    // (a) Lorenz, adaptive at 1e-6.
    if run("lorenz") {
        let (sys, y0) = lorenz();
        let (note, row) = rk45_vs_dopri5(
            ("lorenz", "20"),
            "rk45 vs Dopri5, Lorenz, tol 1e-6, t∈[0,20]",
            Some(0.5),
            reps,
            (&sys, LORENZ_T1, &y0),
        );
        notes.push(note);
        rows.push(row);
    }

    // (b) 500-dimensional gradient flow, adaptive at 1e-6.
    if run("flow") {
        let (flow, f0) = gradient_flow();
        let (note, row) = rk45_vs_dopri5(
            ("gradient flow 500", "1"),
            "rk45 vs Dopri5, 500-dim gradient flow, tol 1e-6, t∈[0,1]",
            None,
            reps,
            (&flow, FLOW_T1, &f0),
        );
        notes.push(note);
        rows.push(row);
    }

    // (c) RK4, 10 fixed steps, 100 000-dimensional cheap field.
    if run("rk4") {
        let decay = DecayField::new(DECAY_DIM);
        let d0 = decay.initial();
        let mut rk4 = Rk4::new();
        let mut rk4_driver = Rk4::new();
        let mut y = d0.clone();
        let mut hand = HandRk4::new(DECAY_DIM);
        let mut yh = d0.as_slice().to_vec();
        ours_rk4(&decay, &mut rk4, &d0, &mut y);
        hand.run(&decay, d0.as_slice(), &mut yh);
        let diff = y
            .iter()
            .zip(&yh)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        notes.push(format!(
            "rk4 100k: 10 steps over [0,1]; |Δy|∞ between Rk4::step and the hand loop = {diff:.1e}"
        ));
        rows.push(compare(
            "Rk4::step ×10 vs hand slice loop, n = 100 000",
            Some(1.25),
            reps,
            &mut || {
                ours_rk4(black_box(&decay), &mut rk4, black_box(&d0), &mut y);
                black_box(&y);
            },
            &mut || {
                hand.run(black_box(&decay), black_box(d0.as_slice()), &mut yh);
                black_box(&yh);
            },
        ));
        rows.push(compare(
            "integrate(Fixed(10)), reused Rk4, vs hand loop, n = 100 000",
            Some(1.25),
            reps,
            &mut || {
                black_box(ours_rk4_integrate(
                    black_box(&decay),
                    &mut rk4_driver,
                    black_box(&d0),
                ));
            },
            &mut || {
                hand.run(black_box(&decay), black_box(d0.as_slice()), &mut yh);
                black_box(&yh);
            },
        ));
    }

    println!(
        "splitflow foundation ratios ({reps} alternating repetitions, medians; ratio = ours / baseline time)\n"
    );
    println!(
        "| {:<60} | {:>10} | {:>10} | {:>6} | {:>8} | {:<7} |",
        "case", "ours", "baseline", "ratio", "target", "met"
    );
    println!("{}", table_rule(&[62, 12, 12, 8, 10, 9]));
    for r in &rows {
        let (target, met) = target_cells(r.target, r.ratio);
        println!(
            "| {:<60} | {:>10} | {:>10} | {:>6.3} | {:>8} | {:<7} |",
            r.case,
            fmt_time(r.ours),
            fmt_time(r.baseline),
            r.ratio,
            target,
            met
        );
    }
    println!();
    for n in &notes {
        println!("{n}");
    }
}
