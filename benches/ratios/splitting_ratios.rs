//! Times one SGD epoch on a 10000×500 least-squares problem (m = 500 batches
//! of 20 rows) three ways in one process and prints the ratios to a blocked
//! slice loop — the quick alternative to the criterion group
//! `sgd_epoch_ls10000x500` (`benches/splitting/mod.rs`), which times exactly
//! the same work (shared code in `benches/common/sgd.rs`).
//!
//! ```text
//! cargo bench --bench splitting_ratios [-- --reps N]
//! cargo bench --bench splitting_ratios -- --only lie|optimizer|slice [--epochs N]
//! ```
//!
//! * `Splitting` Lie step: `Splitting::new(pieces, SplittingCoefficients::lie(500)?, ..)`
//!   over the 500 local flows, each an `Integrated` explicit-Euler map with
//!   one sub-step, `advance(0.0, α·m, &mut θ)`;
//! * `SplittingOptimizer::epoch` over the same kind of pieces (the per-batch
//!   stepping of the training loop);
//! * the baseline: SGD written on `f64` slices over a row-major copy of X.
//!
//! Before timing, the three are run once from θ = 0 and must agree to 1e-12
//! (relative, max norm): the comparison is of the same arithmetic.
//!
//! Each comparison alternates the two contenders over `N` repetitions
//! (default 21); a repetition runs a contender enough times to take about
//! 200 ms. The table shows the median time per epoch of each and the median of
//! the per-repetition ratios ours/baseline (below 1 means ours is faster), so
//! background load that slows both sides cancels out. Times are this thread's
//! on-CPU time where Linux reports it (`/proc/thread-self/schedstat`; it
//! advances in scheduler ticks, hence the long repetitions), so that time
//! spent descheduled by other processes on a shared machine is not counted;
//! the last column gives the same median ratio in wall time.
//!
//! `--only CASE` skips the table and runs just one contender for `N` epochs
//! (default 200) after the agreement check: a target for `perf record` or
//! `valgrind --tool=callgrind` (instruction and cache-miss counts do not
//! depend on the machine's load).

#[path = "support/mod.rs"]
mod support;
use std::hint::black_box;
use std::time::{Duration, Instant};
use support::{alternate, arg_error, fmt_time, median, one_of, positive, table_rule, target_cells};

#[path = "../common/mod.rs"]
mod common;

use common::sgd::{
    SGD_ALPHA, SGD_BATCH, SGD_COLS, SGD_ROWS, SgdProblem, SliceSgd, lie_splitting, ours_lie_epoch,
    ours_optimizer_epoch, splitting_optimizer,
};
use splitflow::State;

/// Wall time of one repetition of a contender.
const BATCH: Duration = Duration::from_millis(200);

/// Relative agreement (max norm) required between the three epochs.
const AGREEMENT: f64 = 1e-12;

/// This thread's time on a CPU so far, in seconds (Linux: the first field of
/// `/proc/thread-self/schedstat`, in ns), or `None` where unavailable.
fn cpu_time() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    (ns > 0).then_some(ns as f64 * 1e-9)
}

/// Seconds per call of `f` over `n` calls: (wall time, on-CPU time if known).
fn per_call(f: &mut dyn FnMut(), n: usize) -> (f64, Option<f64>) {
    let (start, cpu0) = (Instant::now(), cpu_time());
    for _ in 0..n {
        f();
    }
    let wall = start.elapsed().as_secs_f64() / n as f64;
    let cpu = cpu0.zip(cpu_time()).map(|(a, b)| (b - a) / n as f64);
    (wall, cpu)
}

/// One row of the table.
struct Row {
    case: &'static str,
    /// Median seconds per epoch (on-CPU time where known, else wall time).
    ours: f64,
    baseline: f64,
    /// Median of the per-repetition ratios, same clock.
    ratio: f64,
    /// Smallest and largest per-repetition ratio.
    spread: (f64, f64),
    /// Median of the per-repetition wall-time ratios.
    wall_ratio: f64,
    /// Largest admissible ratio ours/baseline, if the issue sets one.
    target: Option<f64>,
    /// Whether the times are on-CPU times (else wall times).
    cpu: bool,
}

/// Alternates `ours` and `baseline` over `reps` repetitions.
fn compare(
    case: &'static str,
    target: Option<f64>,
    reps: usize,
    ours: &mut dyn FnMut(),
    baseline: &mut dyn FnMut(),
) -> Row {
    let (mut to, mut tb, mut r, mut rw) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut cpu = true;
    for (o, b) in alternate(reps, BATCH, ours, baseline, per_call) {
        let (oc, bc) = o.1.zip(b.1).unwrap_or_else(|| {
            cpu = false;
            (o.0, b.0)
        });
        to.push(oc);
        tb.push(bc);
        r.push(oc / bc);
        rw.push(o.0 / b.0);
    }
    let spread = (
        r.iter().copied().fold(f64::INFINITY, f64::min),
        r.iter().copied().fold(0.0, f64::max),
    );
    Row {
        case,
        ours: median(&mut to),
        baseline: median(&mut tb),
        ratio: median(&mut r),
        spread,
        wall_ratio: median(&mut rw),
        target,
        cpu,
    }
}

/// FNV-1a over the bit patterns of `v` (to compare runs bit for bit).
fn digest(v: &[f64]) -> u64 {
    v.iter()
        .flat_map(|x| x.to_bits().to_le_bytes())
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// `‖a − b‖∞ / ‖b‖∞`.
fn rel_diff(a: &[f64], b: &[f64]) -> f64 {
    let d = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    d / b.iter().map(|v| v.abs()).fold(0.0, f64::max)
}

fn main() {
    let mut reps = 21;
    let mut only: Option<String> = None;
    let mut epochs = 200usize;
    // `cargo bench` passes `--bench` to a harness-less bench: ignore it.
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reps" => reps = positive(args.next(), "--reps", arg_error),
            "--epochs" => epochs = positive(args.next(), "--epochs", arg_error),
            "--only" => {
                only = Some(one_of(
                    args.next(),
                    "--only",
                    &["lie", "optimizer", "slice"],
                ))
            }
            other => arg_error(&format!(
                "unknown argument {other:?} (expected --reps N, --only CASE, --epochs N)"
            )),
        }
    }

    let prob = SgdProblem::new();
    let h = prob.h();
    let mut split = lie_splitting(&prob.ls);
    let mut opt = splitting_optimizer(&prob.ls);
    let mut slice = SliceSgd::new(&prob.x, &prob.y, SGD_BATCH);
    let theta0 = prob.theta0.clone();
    let t0 = theta0.as_slice().to_vec();
    let (mut th_lie, mut th_opt) = (theta0.clone(), theta0.clone());
    let mut th_slice = t0.clone();

    // Same arithmetic: one epoch from θ₀ = 0 each way.
    ours_lie_epoch(&mut split, h, &theta0, &mut th_lie);
    ours_optimizer_epoch(&mut opt, &theta0, &mut th_opt);
    slice.run(SGD_ALPHA, &t0, &mut th_slice);
    let d_lie = rel_diff(th_lie.as_slice(), &th_slice);
    let d_opt = rel_diff(th_opt.as_slice(), &th_slice);
    let d_lie_opt = rel_diff(th_lie.as_slice(), th_opt.as_slice());
    assert!(
        d_lie <= AGREEMENT && d_opt <= AGREEMENT,
        "one epoch disagrees: Lie vs slice {d_lie:.1e}, optimizer vs slice {d_opt:.1e}"
    );
    let rel_res = prob.ls.relative_residual(&th_lie).expect("θ has p entries");
    let rel_res0 = prob.ls.relative_residual(&theta0).expect("θ has p entries");

    let mut theta = State::zeros(SGD_COLS);
    let mut ts = t0.clone();
    if let Some(case) = only {
        let (start, cpu0) = (Instant::now(), cpu_time());
        for _ in 0..epochs {
            match case.as_str() {
                "lie" => ours_lie_epoch(&mut split, black_box(h), black_box(&theta0), &mut theta),
                "optimizer" => ours_optimizer_epoch(&mut opt, black_box(&theta0), &mut theta),
                _ => slice.run(black_box(SGD_ALPHA), black_box(&t0), &mut ts),
            }
            black_box((&theta, &ts));
        }
        let wall = start.elapsed().as_secs_f64() / epochs as f64;
        let cpu = cpu0.zip(cpu_time()).map(|(a, b)| (b - a) / epochs as f64);
        println!(
            "{case}: {epochs} epochs, {} wall, {} on-CPU per epoch",
            fmt_time(wall),
            cpu.map_or("?".to_string(), fmt_time)
        );
        return;
    }
    let rows = [
        compare(
            "Splitting Lie step (500 Euler pieces) vs slice loop",
            Some(1.3),
            reps,
            &mut || {
                ours_lie_epoch(&mut split, black_box(h), black_box(&theta0), &mut theta);
                black_box(&theta);
            },
            &mut || {
                slice.run(black_box(SGD_ALPHA), black_box(&t0), &mut ts);
                black_box(&ts);
            },
        ),
        compare(
            "SplittingOptimizer::epoch (same pieces) vs slice loop",
            None,
            reps,
            &mut || {
                ours_optimizer_epoch(&mut opt, black_box(&theta0), &mut theta);
                black_box(&theta);
            },
            &mut || {
                slice.run(black_box(SGD_ALPHA), black_box(&t0), &mut ts);
                black_box(&ts);
            },
        ),
    ];

    let clock = if rows.iter().all(|r| r.cpu) {
        "on-CPU time of this thread"
    } else {
        "wall time"
    };
    println!(
        "splitflow splitting ratios: one SGD epoch, least squares {SGD_ROWS}×{SGD_COLS}, \
         batches of {SGD_BATCH} (m = {}), α = {SGD_ALPHA:e}\n\
         ({reps} alternating repetitions, medians of {clock}; ratio = ours / baseline; \
         last column: the same ratio in wall time)\n",
        prob.batches()
    );
    println!(
        "| {:<54} | {:>9} | {:>9} | {:>6} | {:>13} | {:>7} | {:<7} | {:>6} |",
        "case", "ours", "baseline", "ratio", "min–max", "target", "met", "wall"
    );
    println!("{}", table_rule(&[56, 11, 11, 8, 15, 9, 9, 8]));
    for r in &rows {
        let (target, met) = target_cells(r.target, r.ratio);
        println!(
            "| {:<54} | {:>9} | {:>9} | {:>6.3} | {:>13} | {:>7} | {:<7} | {:>6.3} |",
            r.case,
            fmt_time(r.ours),
            fmt_time(r.baseline),
            r.ratio,
            format!("{:.3}–{:.3}", r.spread.0, r.spread.1),
            target,
            met,
            r.wall_ratio
        );
    }
    println!();
    println!(
        "one epoch from θ = 0: relative max-norm differences Lie vs slice {d_lie:.1e}, \
         optimizer vs slice {d_opt:.1e}, Lie vs optimizer {d_lie_opt:.1e} (required ≤ {AGREEMENT:e}); \
         ‖Xθ − y‖/‖y‖ = {rel_res0:.3} → {rel_res:.3e}; digest of θ's bits after the Lie epoch {:016x}",
        digest(th_lie.as_slice())
    );
}
