//! Times one step of every optimizer at p = 100 000 — the library's
//! `Optimizer::step` against a hand-written textbook loop on `Vec<f64>` with
//! the same gradient code — in one process and prints the ratios: the quick
//! alternative to the criterion groups `optimizer_step_1e5_*`
//! (`benches/optimizers/mod.rs`), which time exactly the same work (shared
//! code in `benches/optimizers/cases.rs`).
//!
//! ```text
//! cargo bench --bench optimizer_ratios [-- --rounds N] [--steps K] [--case NAME]
//! cargo bench --bench optimizer_ratios -- --only NAME --side library|textbook [--steps K]
//! ```
//!
//! Before timing, each optimizer and its textbook loop take 100 steps from the
//! same θ₀ and must agree to 1e-12 (relative, max norm): the comparison is of
//! the same arithmetic.
//!
//! Each round times K consecutive steps (default 5, about 1 ms) of the
//! library and K of the textbook loop, in alternating order, each continuing
//! from its own state; there are N rounds (default 101). The table shows the
//! median time per step of each, the median of the per-round ratios
//! library/textbook (below 1 means the library is faster) and their
//! interquartile range. Times are wall-clock (a thread CPU clock would need
//! `unsafe` FFI); the `wall` column repeats the median ratio. Short rounds and the median make the ratio robust to what remains
//! (cache and memory-bandwidth contention from the other core).
//!
//! `--only NAME --side SIDE` skips the table and runs just one contender for
//! K steps (default 20 000) after the agreement check, and prints a digest of
//! θ's bits: a target for `perf record` or `valgrind --tool=callgrind`, and a
//! way to check that a library change leaves results bitwise unchanged.

#[path = "support/mod.rs"]
mod support;
use std::hint::black_box;
use std::time::Instant;
use support::{median, positive, quantile, table_rule};

/// Wall-clock timing only: a thread CPU clock would need `unsafe` FFI, which
/// the project admits only where a benchmark proves it pays; alternating short
/// rounds and taking medians keeps wall-clock ratios honest under load.
mod thread_clock {
    pub fn now() -> Option<f64> {
        None
    }
}

#[path = "../optimizers/cases.rs"]
mod cases;

use cases::{Case, P, Quadratic, cases, library_steps, max_rel_diff, textbook_steps};
use splitflow::State;

/// Steps both sides take before their θ are compared.
const CHECK_STEPS: usize = 100;
/// Relative agreement (max norm) required after [`CHECK_STEPS`].
const AGREEMENT: f64 = 1e-12;
/// The issue's bound on library / textbook time.
const TARGET: f64 = 1.3;

/// FNV-1a over the bits of `v`: equal digests mean bitwise-equal vectors
/// (for comparing builds of the library).
fn digest(v: &[f64]) -> u64 {
    v.iter().fold(0xcbf2_9ce4_8422_2325, |h, x| {
        (h ^ x.to_bits()).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Seconds per step of `run` (which takes `k` steps): (on-CPU time where
/// available, else wall time; wall time).
fn measure(k: usize, run: &mut dyn FnMut()) -> (f64, f64) {
    let (wall0, cpu0) = (Instant::now(), thread_clock::now());
    run();
    let wall = wall0.elapsed().as_secs_f64() / k as f64;
    let cpu = cpu0
        .zip(thread_clock::now())
        .map_or(wall, |(a, b)| (b - a) / k as f64);
    (cpu, wall)
}

/// Runs both sides `CHECK_STEPS` steps from θ₀; returns the relative max-norm
/// difference of their θ and of θ from θ₀ (to show the steps moved it).
fn agreement(case: &Case, q: &Quadratic, theta0: &[f64]) -> (f64, f64) {
    let mut opt = (case.library)();
    let mut oracle = q.oracle();
    let mut lib = State::from_column_slice(theta0);
    library_steps(opt.as_mut(), &mut oracle, &mut lib, CHECK_STEPS);
    let mut tb = (case.textbook)(P);
    let mut hand = theta0.to_vec();
    textbook_steps(tb.as_mut(), q, &mut hand, CHECK_STEPS);
    (
        max_rel_diff(lib.as_slice(), &hand),
        max_rel_diff(&hand, theta0),
    )
}

struct Row {
    name: &'static str,
    params: &'static str,
    library: f64,
    textbook: f64,
    ratio: f64,
    /// Interquartile range of the per-round ratios.
    iqr: (f64, f64),
    /// Median of the per-round wall-time ratios.
    wall_ratio: f64,
    diff: f64,
}

fn time_case(case: &Case, q: &Quadratic, theta0: &[f64], rounds: usize, k: usize) -> Row {
    let (diff, moved) = agreement(case, q, theta0);
    assert!(
        diff <= AGREEMENT,
        "{}: library and textbook θ differ by {diff:.2e} (relative) after {CHECK_STEPS} steps",
        case.name
    );
    assert!(moved > 1e-3, "{}: θ did not move", case.name);

    let mut opt = (case.library)();
    let mut oracle = q.oracle();
    let mut lib = State::from_column_slice(theta0);
    let mut tb = (case.textbook)(P);
    let mut hand = theta0.to_vec();
    // Warm-up: workspaces sized and touched, caches filled.
    library_steps(opt.as_mut(), &mut oracle, &mut lib, 3);
    textbook_steps(tb.as_mut(), q, &mut hand, 3);

    let mut time_lib = || {
        measure(k, &mut || {
            library_steps(opt.as_mut(), &mut oracle, black_box(&mut lib), k);
            black_box(&lib);
        })
    };
    let mut time_tb = || {
        measure(k, &mut || {
            textbook_steps(tb.as_mut(), black_box(q), black_box(&mut hand), k);
            black_box(&hand);
        })
    };
    let (mut tl, mut th, mut r, mut rw) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (l, h) = if round % 2 == 0 {
            let l = time_lib();
            (l, time_tb())
        } else {
            let h = time_tb();
            (time_lib(), h)
        };
        tl.push(l.0);
        th.push(h.0);
        r.push(l.0 / h.0);
        rw.push(l.1 / h.1);
    }
    let ratio = median(&mut r); // sorts r
    let iqr = (quantile(&r, 0.25), quantile(&r, 0.75));
    Row {
        name: case.name,
        params: case.params,
        library: median(&mut tl),
        textbook: median(&mut th),
        ratio,
        iqr,
        wall_ratio: median(&mut rw),
        diff,
    }
}

fn usage(msg: &str) -> ! {
    eprintln!("error: {msg}");
    eprintln!(
        "usage: optimizer_ratios [--rounds N] [--steps K] [--case NAME] | --only NAME --side library|textbook [--steps K]"
    );
    std::process::exit(2)
}

fn main() {
    let all = cases();
    let names: Vec<&str> = all.iter().map(|c| c.name).collect();
    let mut rounds = 101;
    let mut steps: Option<usize> = None;
    let mut case: Option<String> = None;
    let mut only: Option<String> = None;
    let mut side: Option<String> = None;
    // `cargo bench` passes `--bench` to a harness-less bench: ignore it.
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => rounds = positive(args.next(), "--rounds", usage),
            "--steps" => steps = Some(positive(args.next(), "--steps", usage)),
            "--case" | "--only" => {
                let v = args.next().filter(|v| names.contains(&v.as_str()));
                let v =
                    v.unwrap_or_else(|| usage(&format!("{a} needs one of {}", names.join(", "))));
                if a == "--case" {
                    case = Some(v);
                } else {
                    only = Some(v);
                }
            }
            "--side" => match args.next().as_deref() {
                Some(s @ ("library" | "textbook")) => side = Some(s.to_string()),
                _ => usage("--side needs library or textbook"),
            },
            other => usage(&format!("unknown argument {other:?}")),
        }
    }

    let q = Quadratic::new(P);
    let theta0 = q.theta0();

    if let Some(name) = only {
        let c = all.iter().find(|c| c.name == name).expect("known name");
        let side = side.unwrap_or_else(|| usage("--only needs --side library|textbook"));
        let (diff, _) = agreement(c, &q, &theta0);
        let k = steps.unwrap_or(20_000);
        let start = Instant::now();
        let theta = if side == "library" {
            let mut opt = (c.library)();
            let mut oracle = q.oracle();
            let mut th = State::from_column_slice(&theta0);
            library_steps(opt.as_mut(), &mut oracle, &mut th, k);
            th.as_slice().to_vec()
        } else {
            let mut tb = (c.textbook)(P);
            let mut th = theta0.clone();
            textbook_steps(tb.as_mut(), &q, &mut th, k);
            th
        };
        let elapsed = start.elapsed().as_secs_f64();
        println!(
            "{name} {side}: {k} steps, {:.1} µs/step (agreement {diff:.1e}), θ digest {:016x}",
            elapsed / k as f64 * 1e6,
            digest(&theta)
        );
        return;
    }

    let k = steps.unwrap_or(5);
    let rows: Vec<Row> = all
        .iter()
        .filter(|c| case.as_deref().is_none_or(|n| n == c.name))
        .map(|c| time_case(c, &q, &theta0, rounds, k))
        .collect();

    let clock = if thread_clock::now().is_some() {
        "on-CPU time"
    } else {
        "wall time"
    };
    println!(
        "splitflow optimizer steps at p = {P} ({rounds} alternating rounds of {k} steps; medians of {clock}; ratio = library / textbook)\n"
    );
    println!(
        "| {:<9} | {:<38} | {:>10} | {:>10} | {:>6} | {:>13} | {:>6} | {:>8} | {:<7} |",
        "optimizer",
        "parameters",
        "library",
        "textbook",
        "ratio",
        "ratio IQR",
        "wall",
        "|Δθ|/|θ|",
        "≤ 1.3"
    );
    println!("{}", table_rule(&[11, 40, 12, 12, 8, 15, 8, 10, 9]));
    for r in &rows {
        println!(
            "| {:<9} | {:<38} | {:>7.1} µs | {:>7.1} µs | {:>6.3} | {:>5.3} – {:>5.3} | {:>6.3} | {:>8.1e} | {:<7} |",
            r.name,
            r.params,
            r.library * 1e6,
            r.textbook * 1e6,
            r.ratio,
            r.iqr.0,
            r.iqr.1,
            r.wall_ratio,
            r.diff,
            if r.ratio <= TARGET { "met" } else { "not met" }
        );
    }
    println!(
        "\n|Δθ|/|θ|: relative max-norm difference of θ after {CHECK_STEPS} steps from the same θ₀ (required ≤ {AGREEMENT:.0e}); wall: median ratio in wall time."
    );
}
