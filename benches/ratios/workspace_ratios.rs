//! Times what the lock of the crate's `Workspace` (src/workspace.rs, a
//! `Mutex`) costs on a hot call: a least-squares batch gradient through
//! `FiniteSum::batch_gradient_scaled` (the problem's own scratch: a stack
//! residual below 24 rows, the locked workspace from 24 rows on) against
//! `LeastSquares::batch_gradient_scaled_with` on a scratch the caller owns
//! (no lock; the same kernels). Both run in one process and one thread, so
//! the lock is never contended: the figure is the price of taking and
//! releasing it. Before the stack path, every row of the table locked; the
//! lock then cost about 8 % at p = 10, b ≤ 4 (see `STACK_ROWS` in
//! src/problems/least_squares.rs).
//!
//! ```text
//! cargo bench --bench workspace_ratios [-- --rounds N]
//! ```
//!
//! Before timing, both sides compute every batch's gradient and must agree
//! bitwise. Each round times about 1 ms of calls of each side (cycling over
//! the batches, θ fixed), in alternating order; there are N rounds (default
//! 301). The table shows the median time per call of each, the median of
//! the per-round ratios FiniteSum/caller's scratch (above 1 means the
//! problem's own scratch costs) with their interquartile range and full range, and the load
//! average before and after. Times are wall-clock; alternating short rounds
//! and the median keep the ratio honest under load.

#[path = "support/mod.rs"]
mod support;
use std::hint::black_box;
use std::time::{Duration, Instant};
use support::{calibrate, load_average, median, quantile, table_rule};

use splitflow::State;
use splitflow::objective::FiniteSum;
use splitflow::problems::least_squares::{GradientScratch, LeastSquares, random_least_squares};

/// Wall time of one side in one round.
const ROUND: Duration = Duration::from_millis(1);

/// The lock's share above which a per-caller scratch is worth an API.
const THRESHOLD: f64 = 1.05;

/// The least-squares problems timed: (rows n, columns p, batch size b).
/// Batches below 24 rows need a residual scratch only; from 24 rows on the
/// gradient also sums in 2p lanes.
const CASES: [(usize, usize, usize); 6] = [
    (400, 10, 1),
    (400, 10, 4),
    (400, 40, 4),
    (1000, 64, 20),
    (960, 10, 24),
    (960, 10, 32),
];

struct Row {
    case: String,
    locked: f64,
    scratch: f64,
    ratio: f64,
    iqr: (f64, f64),
    range: (f64, f64),
}

/// Seconds per call of `f` over `n` calls.
fn per_call(f: &mut dyn FnMut(), n: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_secs_f64() / n as f64
}

fn time_case((n, p, b): (usize, usize, usize), rounds: usize) -> Row {
    let (x, y, _) = random_least_squares(n, p, 0.1, 17).expect("a problem");
    let ls = LeastSquares::new(&x, &y, b).expect("a problem");
    let m = ls.num_batches();
    let theta = State::from_fn(p, |j, _| 0.1 * j as f64 - 0.5);
    let s = -0.01;
    let mut scratch = GradientScratch::default();

    // The same arithmetic: bitwise-equal gradients on every batch.
    let (mut g1, mut g2) = (State::zeros(p), State::zeros(p));
    for i in 0..m {
        ls.batch_gradient_scaled(i, &theta, s, &mut g1);
        ls.batch_gradient_scaled_with(i, &theta, s, &mut g2, &mut scratch);
        assert!(
            g1.iter().zip(&g2).all(|(a, b)| a.to_bits() == b.to_bits()),
            "batch {i}: the locked and the caller's-scratch gradients differ"
        );
    }

    let (mut i1, mut i2) = (0usize, 0usize);
    let mut locked = || {
        ls.batch_gradient_scaled(i1, black_box(&theta), s, &mut g1);
        black_box(&g1);
        i1 = (i1 + 1) % m;
    };
    let mut own = || {
        ls.batch_gradient_scaled_with(i2, black_box(&theta), s, &mut g2, &mut scratch);
        black_box(&g2);
        i2 = (i2 + 1) % m;
    };
    let (n1, n2) = (calibrate(&mut locked, ROUND), calibrate(&mut own, ROUND));
    let (mut tl, mut ts, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (tlock, town) = if round % 2 == 0 {
            let first = per_call(&mut locked, n1);
            (first, per_call(&mut own, n2))
        } else {
            let first = per_call(&mut own, n2);
            (per_call(&mut locked, n1), first)
        };
        tl.push(tlock);
        ts.push(town);
        r.push(tlock / town);
    }
    let ratio = median(&mut r);
    Row {
        case: format!("n = {n}, p = {p}, b = {b} ({m} batches)"),
        locked: median(&mut tl),
        scratch: median(&mut ts),
        ratio,
        iqr: (quantile(&r, 0.25), quantile(&r, 0.75)),
        range: (r[0], r[r.len() - 1]),
    }
}

fn main() {
    let mut rounds = 301;
    // `cargo bench` passes `--bench` to a harness-less bench: ignore it.
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&v: &usize| v > 0)
                    .unwrap_or_else(|| {
                        eprintln!("error: --rounds needs a positive integer");
                        std::process::exit(2)
                    })
            }
            other => {
                eprintln!("error: unknown argument {other:?} (expected --rounds N)");
                std::process::exit(2)
            }
        }
    }
    let load_before = load_average().unwrap_or_else(|| "unknown".into());
    let rows: Vec<Row> = CASES.iter().map(|&c| time_case(c, rounds)).collect();
    let load_after = load_average().unwrap_or_else(|| "unknown".into());

    println!(
        "least-squares batch gradient, FiniteSum path vs caller's scratch ({rounds} alternating rounds of ~1 ms; medians of wall time; ratio = FiniteSum / scratch; FiniteSum locks from b = 24 on)\n"
    );
    println!(
        "| {:<37} | {:>9} | {:>9} | {:>6} | {:>13} | {:>15} | {:<8} |",
        "case", "FiniteSum", "scratch", "ratio", "ratio IQR", "ratio range", "≤ 1.05"
    );
    println!("{}", table_rule(&[39, 11, 11, 8, 15, 17, 10]));
    for r in &rows {
        println!(
            "| {:<37} | {:>6.1} ns | {:>6.1} ns | {:>6.3} | {:>5.3} – {:>5.3} | {:>6.3} – {:>6.3} | {:<8} |",
            r.case,
            r.locked * 1e9,
            r.scratch * 1e9,
            r.ratio,
            r.iqr.0,
            r.iqr.1,
            r.range.0,
            r.range.1,
            if r.ratio <= THRESHOLD { "yes" } else { "no" }
        );
    }
    println!("\nload average (1, 5, 15 min): {load_before} before, {load_after} after");
}
