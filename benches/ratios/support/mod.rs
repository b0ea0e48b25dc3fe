//! Helpers shared by the ratio harnesses (`foundation_ratios`,
//! `splitting_ratios`, `optimizer_ratios`, `generated_ratios`,
//! `workspace_ratios`), included with
//! `#[path = "support/mod.rs"] mod support;`.

#![allow(dead_code)] // each harness uses part of it

use std::time::{Duration, Instant};

/// How many calls of `f` fill about one `batch` of wall time (after one
/// warm-up call: caches, lazily sized workspaces).
pub fn calibrate(f: &mut dyn FnMut(), batch: Duration) -> usize {
    f(); // warm-up: caches, lazily sized workspaces
    let mut n = 1usize;
    loop {
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        let el = start.elapsed();
        if el >= batch / 4 || n >= 1 << 24 {
            let per = el.as_secs_f64() / n as f64;
            return ((batch.as_secs_f64() / per).ceil() as usize).max(1);
        }
        n *= 2;
    }
}

/// Sorts `v` and returns its median (mean of the two middle values for an
/// even count).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// A duration in seconds as `12.3 µs` or `4.56 ms`.
pub fn fmt_time(s: f64) -> String {
    if s < 1e-3 {
        format!("{:.1} µs", s * 1e6)
    } else {
        format!("{:.2} ms", s * 1e3)
    }
}

/// The target and verdict cells of a ratio row: `("≤ 1.30", "met")`, or
/// `("—", "n/a")` without a target.
pub fn target_cells(target: Option<f64>, ratio: f64) -> (String, &'static str) {
    match target {
        Some(t) => (
            format!("≤ {t:.2}"),
            if ratio <= t { "met" } else { "not met" },
        ),
        None => ("—".to_string(), "n/a"),
    }
}

/// The `q`-quantile of sorted `v` (nearest rank).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = (q * (sorted.len() - 1) as f64).round() as usize;
    sorted[i]
}

/// The separator row of a Markdown table whose columns are `widths` dashes
/// wide: `|----|------|`.
pub fn table_rule(widths: &[usize]) -> String {
    let cells: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    format!("|{}|", cells.join("|"))
}

/// Calibrates `ours` and `baseline` to about one `batch` of wall time each
/// ([`calibrate`]) and times them alternately over `reps` repetitions (the
/// one timed first alternates, so a drift of the machine hits both alike);
/// `time(f, n)` measures one repetition of `n` calls. Returns the
/// (ours, baseline) measurements in repetition order.
pub fn alternate<T>(
    reps: usize,
    batch: Duration,
    ours: &mut dyn FnMut(),
    baseline: &mut dyn FnMut(),
    time: impl Fn(&mut dyn FnMut(), usize) -> T,
) -> Vec<(T, T)> {
    let (n_ours, n_base) = (calibrate(ours, batch), calibrate(baseline, batch));
    (0..reps)
        .map(|rep| {
            if rep % 2 == 0 {
                let o = time(ours, n_ours);
                (o, time(baseline, n_base))
            } else {
                let b = time(baseline, n_base);
                (time(ours, n_ours), b)
            }
        })
        .collect()
}

/// Reports a command-line error (`error: msg` on stderr) and exits with 2.
pub fn arg_error(msg: &str) -> ! {
    eprintln!("error: {msg}");
    std::process::exit(2)
}

/// The value after `flag` if it is one of `names`, else an [`arg_error`].
pub fn one_of(v: Option<String>, flag: &str, names: &[&str]) -> String {
    match v {
        Some(v) if names.contains(&v.as_str()) => v,
        _ => arg_error(&format!("{flag} needs one of {}", names.join(", "))),
    }
}

/// The count after `--reps` anywhere on the command line (at least 1), or
/// `default`.
pub fn reps_arg(default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--reps")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(default)
        .max(1)
}

/// The positive integer after `flag`, or `usage(…)` (which exits).
pub fn positive(v: Option<String>, flag: &str, usage: fn(&str) -> !) -> usize {
    v.and_then(|v| v.parse().ok())
        .filter(|&v: &usize| v > 0)
        .unwrap_or_else(|| usage(&format!("{flag} needs a positive integer")))
}

/// The load averages over 1, 5 and 15 minutes (Linux), if readable.
pub fn load_average() -> Option<String> {
    let s = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}
