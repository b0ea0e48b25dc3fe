//! Lorenz (σ = 10, ρ = 28, β = 8/3, y0 = (1, 1, 1)), rtol = atol = tol:
//!
//! * [`tolerances`]: t ∈ [0, 20] at four tolerances, every splitflow
//!   contender against every peer, in the same rounds;
//! * [`work_precision`]: t ∈ [0, 2] (short enough that errors down to 1e-10
//!   are reachable: the flow is chaotic, and over [0, 20] a tolerance of
//!   1e-6 already gives an O(1) error), splitflow and the peers at *equal
//!   achieved error* for targets 1e-3 … 1e-10.

use std::cell::Cell;

use diffsol::{NalgebraMat, OdeBuilder};
use nalgebra::{DVector, Vector3};
use ode_solvers::dop_shared::OutputType;
use ode_solvers::{Dopri5, System};
use splitflow::test_models::Lorenz;
use splitflow::{
    AdaptiveOptions, ExplicitRk, OdeSolversAdapter, Rk45, SmallRk, State, Stepper, Steps,
    integrate, integrate_small,
};

use crate::diffsol_run::tsit45_to;
use crate::timing::{
    Job, Run, fmt_time, interleaved, load, median, pair_header, pair_rows, ratio_cell, ratios,
};

/// End of the tolerance table's span.
pub const T1: f64 = 20.0;
/// End of the work–precision span.
pub const WP_T1: f64 = 2.0;
/// The tolerance table's tolerances.
pub const TOLS: [f64; 4] = [1e-3, 1e-6, 1e-8, 1e-10];
/// Work–precision error targets.
pub const TARGETS: [f64; 8] = [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10];
/// Work–precision scan: tolerances 10^(−1 − k/STEPS_PER_DECADE).
const STEPS_PER_DECADE: usize = 10;
/// Tightest tolerance of the scan, 10^(−1 − SCAN_LEN/STEPS_PER_DECADE) = 1e-13
/// (splitflow refuses rtol < 100ε).
const SCAN_LEN: usize = 120;
/// Tolerance of the reference run (splitflow's DOP853).
const REF_TOL: f64 = 1e-13;

/// A solver run on Lorenz over [0, t1] at rtol = atol = tol.
pub type Solver = fn(t1: f64, tol: f64) -> Run;

/// splitflow's contenders: one line per splitflow path.
pub const OURS: &[(&str, Solver)] = &[
    ("Rk45", splitflow_rk45),
    ("Tsit5 (ExplicitRk::tsit5)", splitflow_tsit5),
    ("SmallRk rk45 (static)", splitflow_small_rk45),
    ("SmallRk tsit5 (static)", splitflow_small_tsit5),
];

/// The peers.
pub const PEERS: &[(&str, Solver)] = &[
    ("ode_solvers Dopri5 Vector3", ode_solvers_vector3),
    ("ode_solvers Dopri5 DVector", ode_solvers_dvector),
    ("diffsol tsit45", diffsol_tsit45),
];

/// splitflow's Dormand–Prince 5(4).
fn splitflow_rk45(t1: f64, tol: f64) -> Run {
    splitflow_adaptive(&mut Rk45::new(), t1, tol)
}

/// splitflow's Tsitouras 5(4) on the generic Butcher-tableau stepper.
fn splitflow_tsit5(t1: f64, tol: f64) -> Run {
    splitflow_adaptive(&mut ExplicitRk::tsit5(), t1, tol)
}

/// splitflow's small-system path: Dormand–Prince on a `[f64; 3]` state.
fn splitflow_small_rk45(t1: f64, tol: f64) -> Run {
    splitflow_small(&mut SmallRk::rk45(), t1, tol)
}

/// splitflow's small-system path: Tsitouras 5(4) on a `[f64; 3]` state.
fn splitflow_small_tsit5(t1: f64, tol: f64) -> Run {
    splitflow_small(&mut SmallRk::tsit5(), t1, tol)
}

/// `integrate_small` with `stepper` from y0 = (1, 1, 1).
fn splitflow_small(stepper: &mut SmallRk<3>, t1: f64, tol: f64) -> Run {
    let steps = Steps::Adaptive(AdaptiveOptions::with_tolerance(tol));
    let sol = integrate_small(&Lorenz::default(), stepper, 0.0, t1, &[1.0; 3], &steps)
        .expect("splitflow small-system run");
    Run::splitflow(sol.y.as_slice(), &sol.stats)
}

/// `integrate` with `stepper` from y0 = (1, 1, 1), final state only.
fn splitflow_adaptive(stepper: &mut dyn Stepper, t1: f64, tol: f64) -> Run {
    let opts = AdaptiveOptions {
        rtol: tol,
        atol: tol,
        ..Default::default()
    };
    let y0 = State::from_element(3, 1.0);
    let sol = integrate(
        &Lorenz::default(),
        stepper,
        0.0,
        t1,
        &y0,
        &Steps::Adaptive(opts),
    )
    .expect("splitflow adaptive run");
    Run::splitflow(sol.y.as_slice(), &sol.stats)
}

/// Lorenz with ode_solvers' static state.
pub struct LorenzStatic;

impl System<f64, Vector3<f64>> for LorenzStatic {
    fn system(&self, _t: f64, y: &Vector3<f64>, dy: &mut Vector3<f64>) {
        dy[0] = 10.0 * (y[1] - y[0]);
        dy[1] = y[0] * (28.0 - y[2]) - y[1];
        dy[2] = y[0] * y[1] - 8.0 / 3.0 * y[2];
    }
}

fn ode_solvers_vector3(t1: f64, tol: f64) -> Run {
    let mut s = Dopri5::new(
        LorenzStatic,
        0.0,
        t1,
        t1,
        Vector3::new(1.0, 1.0, 1.0),
        tol,
        tol,
    );
    s.set_output(OutputType::Sparse);
    let st = s.integrate().expect("Dopri5 Vector3");
    Run::ode_solvers(s.y_out().last().expect("output").as_slice(), &st)
}

fn ode_solvers_dvector(t1: f64, tol: f64) -> Run {
    let lorenz = Lorenz::default();
    let mut s = Dopri5::new(
        OdeSolversAdapter(&lorenz),
        0.0,
        t1,
        t1,
        DVector::from_element(3, 1.0),
        tol,
        tol,
    );
    s.set_output(OutputType::Sparse);
    let st = s.integrate().expect("Dopri5 DVector");
    Run::ode_solvers(s.y_out().last().expect("output").as_slice(), &st)
}

fn diffsol_tsit45(t1: f64, tol: f64) -> Run {
    diffsol_lorenz::<false>(t1, tol, &Cell::new(0))
}

/// diffsol's `tsit45` (nalgebra backend), stepped to `t1` with a stop time
/// (no per-step output); the problem is built inside the run, as the other
/// contenders build theirs. With `COUNT`, `evals` counts the right-hand-side
/// calls (only in the untimed diagnostic run: diffsol does not report them).
fn diffsol_lorenz<const COUNT: bool>(t1: f64, tol: f64, evals: &Cell<usize>) -> Run {
    let mut problem = OdeBuilder::<NalgebraMat<f64>>::new()
        .rtol(tol)
        .atol([tol])
        .rhs(|y: &[f64], _p: &[f64], _t: f64, dy: &mut [f64]| {
            if COUNT {
                evals.set(evals.get() + 1);
            }
            dy[0] = 10.0 * (y[1] - y[0]);
            dy[1] = y[0] * (28.0 - y[2]) - y[1];
            dy[2] = y[0] * y[1] - 8.0 / 3.0 * y[2];
        })
        .init(|_p: &[f64], _t: f64, y: &mut [f64]| y.fill(1.0), 3)
        .build()
        .expect("diffsol problem");
    let mut run = tsit45_to(&mut problem, t1);
    run.f_evals = COUNT.then(|| evals.get());
    run
}

/// A run of the contender `name` with its right-hand-side count filled in.
fn diagnostic(name: &str, solver: Solver, t1: f64, tol: f64) -> Run {
    if name.starts_with("diffsol") {
        diffsol_lorenz::<true>(t1, tol, &Cell::new(0))
    } else {
        solver(t1, tol)
    }
}

/// The reference final state at `t1`: splitflow's DOP853 at 1e-13. Also
/// returns ‖DOP853 − diffsol tsit45‖∞ with both at 1e-13, an independent
/// check of its accuracy.
fn reference(t1: f64) -> (Vec<f64>, f64) {
    let r = splitflow_adaptive(&mut ExplicitRk::dop853(), t1, REF_TOL);
    let check = diffsol_tsit45(t1, REF_TOL).error(&r.y);
    (r.y, check)
}

/// Every (ours, peer) pair at each tolerance of [`TOLS`] over [0, 20].
pub fn tolerances(rounds: usize) {
    let (reference, check) = reference(T1);
    println!(
        "\n### Lorenz, t ∈ [0, {T1}], same tolerance (rtol = atol)\n\n{rounds} rounds; load at start {}; error = ‖y({T1}) − reference‖∞, reference = splitflow DOP853 at {REF_TOL:.0e} (‖reference − diffsol tsit45 at {REF_TOL:.0e}‖∞ = {check:.1e}); steps accepted/rejected (f evaluations)\n",
        load()
    );
    pair_header(Some("tol"));
    let all: Vec<(&str, Solver)> = OURS.iter().chain(PEERS).copied().collect();
    let names: Vec<&str> = all.iter().map(|&(n, _)| n).collect();
    for tol in TOLS {
        let runs: Vec<Run> = all
            .iter()
            .map(|&(n, s)| diagnostic(n, s, T1, tol))
            .collect();
        let mut jobs: Vec<Job> = all
            .iter()
            .map(|&(_, s)| Box::new(move || s(T1, tol)) as Job)
            .collect();
        let times = interleaved(&mut jobs, rounds);
        let lead = format!("{tol:.0e}");
        pair_rows(Some(&lead), &names, OURS.len(), &runs, &reference, &times);
    }
    println!("\nload at end {}", load());
}

/// Where a solver's error reaches a target on the scan.
struct Bracket {
    /// Scan tolerances just above and at/below the target crossing.
    tols: [f64; 2],
    /// Weight of the second point in the log–log interpolation.
    w: f64,
}

impl Bracket {
    /// The tolerance interpolated at the target.
    fn tol(&self) -> f64 {
        (self.tols[0].ln() * (1.0 - self.w) + self.tols[1].ln() * self.w).exp()
    }

    /// The time interpolated at the target from the two points' times.
    fn time(&self, t: [f64; 2]) -> f64 {
        (t[0].ln() * (1.0 - self.w) + t[1].ln() * self.w).exp()
    }
}

/// Achieved error of `solver` over the tolerance scan (loosest first),
/// made monotone by a running maximum from the tight end, so that the
/// bracket found for a target is the loosest tolerance from which on every
/// tighter tolerance reaches it.
fn scan(solver: Solver, reference: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let tols: Vec<f64> = (0..=SCAN_LEN)
        .map(|k| 10f64.powf(-1.0 - k as f64 / STEPS_PER_DECADE as f64))
        .collect();
    let mut errs: Vec<f64> = tols
        .iter()
        .map(|&tol| solver(WP_T1, tol).error(reference))
        .collect();
    for k in (0..errs.len() - 1).rev() {
        errs[k] = errs[k].max(errs[k + 1]);
    }
    (tols, errs)
}

/// The scan points bracketing `target`, with the interpolation weight in
/// log error, or why there are none.
fn bracket(tols: &[f64], errs: &[f64], target: f64) -> Result<Bracket, &'static str> {
    let k = errs
        .iter()
        .position(|&e| e <= target)
        .ok_or("not reached down to tol 1e-13")?;
    if k == 0 {
        return Err("reached at the loosest tol (1e-1)");
    }
    let (e0, e1) = (errs[k - 1], errs[k]);
    let w = if e1 > 0.0 {
        (e0.ln() - target.ln()) / (e0.ln() - e1.ln())
    } else {
        1.0
    };
    Ok(Bracket {
        tols: [tols[k - 1], tols[k]],
        w,
    })
}

/// Time at equal achieved error for each target of [`TARGETS`] over
/// [0, 2]: each solver's two scan tolerances bracketing the target are timed
/// in the same rounds, the time is interpolated log–log at the target, and
/// the per-round ratios compare those interpolated times.
pub fn work_precision(rounds: usize) {
    let (reference, check) = reference(WP_T1);
    println!(
        "\n### Lorenz work–precision, t ∈ [0, {WP_T1}], equal achieved error\n\n{rounds} rounds; load at start {}; error = ‖y({WP_T1}) − reference‖∞, reference = splitflow DOP853 at {REF_TOL:.0e} (‖reference − diffsol tsit45 at {REF_TOL:.0e}‖∞ = {check:.1e}); tolerances scanned {STEPS_PER_DECADE} per decade from 1e-1 to 1e-13, error made monotone in the tolerance (running maximum from the tight end), time interpolated log–log between the two scan points bracketing the target\n",
        load()
    );
    let all: Vec<(&str, Solver)> = OURS.iter().chain(PEERS).copied().collect();
    let scans: Vec<(Vec<f64>, Vec<f64>)> = all.iter().map(|&(_, s)| scan(s, &reference)).collect();
    println!(
        "| target error | splitflow | peer | tol at target splitflow / peer | splitflow | peer | splitflow ÷ peer (range) |"
    );
    println!("|---|---|---|---|---:|---:|---|");
    for target in TARGETS {
        let brackets: Vec<Result<Bracket, &str>> =
            scans.iter().map(|(t, e)| bracket(t, e, target)).collect();
        // Two jobs (the bracketing tolerances) per solver that reaches the target.
        let mut jobs: Vec<Job> = Vec::new();
        let mut slot = vec![None; all.len()];
        for (i, b) in brackets.iter().enumerate() {
            if let Ok(b) = b {
                slot[i] = Some(jobs.len());
                let s = all[i].1;
                for tol in b.tols {
                    jobs.push(Box::new(move || s(WP_T1, tol)));
                }
            }
        }
        let times = interleaved(&mut jobs, rounds);
        let at_target = |i: usize| -> Option<Vec<f64>> {
            let (b, j) = (brackets[i].as_ref().ok()?, slot[i]?);
            Some(
                (0..rounds)
                    .map(|r| b.time([times[j][r], times[j + 1][r]]))
                    .collect(),
            )
        };
        for o in 0..OURS.len() {
            for p in OURS.len()..all.len() {
                let cells = match (&brackets[o], &brackets[p], at_target(o), at_target(p)) {
                    (Ok(bo), Ok(bp), Some(to), Some(tp)) => format!(
                        "{:.1e} / {:.1e} | {} | {} | {}",
                        bo.tol(),
                        bp.tol(),
                        fmt_time(median(&to)),
                        fmt_time(median(&tp)),
                        ratio_cell(&ratios(&to, &tp)),
                    ),
                    (Err(why), _, _, _) => format!("{}: {why} | | | ", all[o].0),
                    (_, Err(why), _, _) => format!("{}: {why} | | | ", all[p].0),
                    _ => unreachable!("a bracket without times"),
                };
                println!("| {target:.0e} | {} | {} | {cells} |", all[o].0, all[p].0);
            }
        }
    }
    println!("\nload at end {}", load());
}
