//! Interleaved timing shared by every case: each contender is calibrated
//! once to a batch of calls lasting about [`BATCH`], then every round runs
//! one batch of each contender in turn (the starting contender rotates from
//! round to round), so load that slows the machine during a round slows all
//! of them. Tables report medians of the per-round times and of the
//! per-round ratios, with the ratios' range.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Wall time of one batch of one contender.
pub const BATCH: Duration = Duration::from_millis(20);

/// What one solver run returns: the final state and its work counters.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// Final state.
    pub y: Vec<f64>,
    /// Accepted steps.
    pub accepted: usize,
    /// Rejected steps.
    pub rejected: usize,
    /// Right-hand-side evaluations, when the solver reports them.
    pub f_evals: Option<usize>,
}

impl Run {
    /// A splitflow run: its final state and counters.
    pub fn splitflow(y: &[f64], stats: &splitflow::Stats) -> Run {
        Run {
            y: y.to_vec(),
            accepted: stats.accepted,
            rejected: stats.rejected,
            f_evals: Some(stats.f_evals),
        }
    }

    /// An ode_solvers run: its last output state and its counters.
    pub fn ode_solvers(y: &[f64], stats: &ode_solvers::dop_shared::Stats) -> Run {
        Run {
            y: y.to_vec(),
            accepted: stats.accepted_steps as usize,
            rejected: stats.rejected_steps as usize,
            f_evals: Some(stats.num_eval as usize),
        }
    }

    /// ‖y − reference‖∞.
    pub fn error(&self, reference: &[f64]) -> f64 {
        assert_eq!(self.y.len(), reference.len(), "state dimension");
        self.y
            .iter()
            .zip(reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    }

    /// `accepted/rejected` steps, and `f` evaluations where known.
    pub fn work(&self) -> String {
        match self.f_evals {
            Some(f) => format!("{}/{} ({f} f)", self.accepted, self.rejected),
            None => format!("{}/{}", self.accepted, self.rejected),
        }
    }
}

/// Times `jobs` (splitflow's `n_ours` first, then the peers) in the same
/// rounds and prints the table of every (ours, peer) pair, with `runs`'
/// errors against `reference`, and the load at the end.
pub fn report_pairs(
    names: &[&str],
    n_ours: usize,
    jobs: &mut [Job<'_>],
    runs: &[Run],
    reference: &[f64],
    rounds: usize,
) {
    let times = interleaved(jobs, rounds);
    pair_header(None);
    pair_rows(None, names, n_ours, runs, reference, &times);
    println!("\nload at end {}", load());
}

/// A timed closure; its result goes through [`black_box`].
pub type Job<'a> = Box<dyn FnMut() -> Run + 'a>;

/// Per-round seconds per call of each job: `result[j][r]` is job `j` in
/// round `r`.
pub fn interleaved(jobs: &mut [Job<'_>], rounds: usize) -> Vec<Vec<f64>> {
    let calls: Vec<usize> = jobs.iter_mut().map(|j| calibrate(j)).collect();
    let mut times = vec![Vec::with_capacity(rounds); jobs.len()];
    for r in 0..rounds {
        for k in 0..jobs.len() {
            let j = (r + k) % jobs.len();
            let start = Instant::now();
            for _ in 0..calls[j] {
                black_box(jobs[j]());
            }
            times[j].push(start.elapsed().as_secs_f64() / calls[j] as f64);
        }
    }
    times
}

/// Calls per batch: doubled until a batch takes [`BATCH`].
fn calibrate(job: &mut Job<'_>) -> usize {
    let mut n = 1;
    loop {
        let start = Instant::now();
        for _ in 0..n {
            black_box(job());
        }
        if start.elapsed() >= BATCH {
            return n;
        }
        n *= 2;
    }
}

/// Median (upper median for even lengths).
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

/// Per-round ratios `a[r] / b[r]`.
pub fn ratios(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x / y).collect()
}

/// `median (min – max)` of per-round ratios.
pub fn ratio_cell(r: &[f64]) -> String {
    let lo = r.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{:.3} ({lo:.3} – {hi:.3})", median(r))
}

/// A time in µs or ms.
pub fn fmt_time(s: f64) -> String {
    if s < 1e-3 {
        format!("{:.1} µs", s * 1e6)
    } else {
        format!("{:.2} ms", s * 1e3)
    }
}

/// The 1-, 5- and 15-minute load averages from `/proc/loadavg`.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The header of a pair table, with an optional leading column.
pub fn pair_header(lead: Option<&str>) {
    let l = lead.map_or(String::new(), |l| format!("| {l} "));
    let s = lead.map_or("", |_| "|---");
    println!(
        "{l}| splitflow | peer | error splitflow / peer | steps splitflow / peer | splitflow | peer | splitflow ÷ peer (range) |"
    );
    println!("{s}|---|---|---|---|---:|---:|---|");
}

/// One row per (splitflow contender, peer): `names[..n_ours]` are
/// splitflow's, the rest peers; `runs` and `times` are in the same order.
/// The error column is ‖y − reference‖∞ (left empty without a reference).
pub fn pair_rows(
    lead: Option<&str>,
    names: &[&str],
    n_ours: usize,
    runs: &[Run],
    reference: &[f64],
    times: &[Vec<f64>],
) {
    let l = lead.map_or(String::new(), |l| format!("| {l} "));
    for o in 0..n_ours {
        for p in n_ours..names.len() {
            println!(
                "{l}| {} | {} | {:.1e} / {:.1e} | {} / {} | {} | {} | {} |",
                names[o],
                names[p],
                runs[o].error(reference),
                runs[p].error(reference),
                runs[o].work(),
                runs[p].work(),
                fmt_time(median(&times[o])),
                fmt_time(median(&times[p])),
                ratio_cell(&ratios(&times[o], &times[p])),
            );
        }
    }
}
