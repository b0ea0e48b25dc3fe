//! The 500-dimensional quadratic gradient flow θ' = b − Aθ (A symmetric
//! positive definite, eigenvalues 0.1 … 10, `QuadraticGradientFlow::standard()`,
//! seed 500), t ∈ [0, 1], rtol = atol = 1e-6: splitflow against ode_solvers'
//! `Dopri5` on a `DVector` and diffsol's `tsit45`, every right-hand side the
//! same nalgebra `gemv`. Error against the exact solution.

use std::cell::Cell;

use diffsol::{NalgebraMat, OdeBuilder};
use nalgebra::{DVector, DVectorView, DVectorViewMut};
use ode_solvers::Dopri5;
use ode_solvers::dop_shared::OutputType;
use splitflow::test_models::{ExactProblem, QuadraticGradientFlow};
use splitflow::{
    AdaptiveOptions, ExplicitRk, OdeSolversAdapter, Rk45, State, Stepper, Steps, integrate,
};

use crate::diffsol_run::tsit45_to;
use crate::timing::{Job, Run, load, report_pairs};

/// End of the span.
pub const T1: f64 = 1.0;
/// rtol = atol of every contender.
pub const TOL: f64 = 1e-6;

/// The problem and its data.
pub struct Flow {
    sys: QuadraticGradientFlow,
    y0: State,
    /// b = A θ*, so that θ' = b − Aθ = −A(θ − θ*).
    b: DVector<f64>,
}

impl Flow {
    fn new() -> Self {
        let sys = QuadraticGradientFlow::standard();
        let b = sys.hessian() * sys.minimizer();
        Flow {
            y0: sys.initial(),
            sys,
            b,
        }
    }
}

/// A contender: a job solving the flow once per call.
pub type Contender = for<'a> fn(&'a Flow) -> Job<'a>;

/// splitflow's contenders: one line per splitflow path.
pub const OURS: &[(&str, Contender)] = &[
    ("Rk45", splitflow_rk45),
    ("Tsit5 (ExplicitRk::tsit5)", splitflow_tsit5),
];

/// The peers.
pub const PEERS: &[(&str, Contender)] = &[
    ("ode_solvers Dopri5 DVector", ode_solvers_dvector),
    ("diffsol tsit45", diffsol_tsit45),
];

/// splitflow's Dormand–Prince 5(4).
fn splitflow_rk45(f: &Flow) -> Job<'_> {
    Box::new(move || splitflow_adaptive(f, &mut Rk45::new()))
}

/// splitflow's Tsitouras 5(4) on the generic Butcher-tableau stepper.
fn splitflow_tsit5(f: &Flow) -> Job<'_> {
    Box::new(move || splitflow_adaptive(f, &mut ExplicitRk::tsit5()))
}

/// `integrate` with `stepper`, final state only.
fn splitflow_adaptive(f: &Flow, stepper: &mut dyn Stepper) -> Run {
    let opts = AdaptiveOptions {
        rtol: TOL,
        atol: TOL,
        ..Default::default()
    };
    let sol = integrate(&f.sys, stepper, 0.0, T1, &f.y0, &Steps::Adaptive(opts))
        .expect("splitflow adaptive run");
    Run::splitflow(sol.y.as_slice(), &sol.stats)
}

fn ode_solvers_dvector(f: &Flow) -> Job<'_> {
    Box::new(move || {
        let mut s = Dopri5::new(
            OdeSolversAdapter(&f.sys),
            0.0,
            T1,
            T1,
            f.y0.clone(),
            TOL,
            TOL,
        );
        s.set_output(OutputType::Sparse);
        let st = s.integrate().expect("Dopri5 DVector");
        Run::ode_solvers(s.y_out().last().expect("output").as_slice(), &st)
    })
}

fn diffsol_tsit45(f: &Flow) -> Job<'_> {
    Box::new(move || diffsol_flow::<false>(f, &Cell::new(0)))
}

/// diffsol's `tsit45` (nalgebra backend) with the same `gemv` on views of
/// its slices; with `COUNT`, `evals` counts right-hand-side calls (only in
/// the untimed diagnostic run).
fn diffsol_flow<const COUNT: bool>(f: &Flow, evals: &Cell<usize>) -> Run {
    let n = f.y0.len();
    let mut problem = OdeBuilder::<NalgebraMat<f64>>::new()
        .rtol(TOL)
        .atol([TOL])
        .rhs(|y: &[f64], _p: &[f64], _t: f64, dy: &mut [f64]| {
            if COUNT {
                evals.set(evals.get() + 1);
            }
            let mut d = DVectorViewMut::from_slice(dy, n);
            d.copy_from(&f.b);
            d.gemv(-1.0, f.sys.hessian(), &DVectorView::from_slice(y, n), 1.0);
        })
        .init(
            |_p: &[f64], _t: f64, y: &mut [f64]| y.copy_from_slice(f.y0.as_slice()),
            n,
        )
        .build()
        .expect("diffsol problem");
    let mut run = tsit45_to(&mut problem, T1);
    run.f_evals = COUNT.then(|| evals.get());
    run
}

/// Every (ours, peer) pair, timed in the same rounds.
pub fn run(rounds: usize) {
    let flow = Flow::new();
    let exact = flow.sys.exact(T1);
    println!(
        "\n### 500-dimensional quadratic gradient flow, t ∈ [0, {T1}], rtol = atol = {TOL:.0e}\n\n{rounds} rounds; load at start {}; error = ‖θ({T1}) − exact‖∞; steps accepted/rejected (f evaluations)\n",
        load()
    );
    let all: Vec<(&str, Contender)> = OURS.iter().chain(PEERS).copied().collect();
    let mut jobs: Vec<Job> = all.iter().map(|&(_, c)| c(&flow)).collect();
    let mut runs: Vec<Run> = jobs.iter_mut().map(|j| j()).collect();
    for (i, &(name, _)) in all.iter().enumerate() {
        if name.starts_with("diffsol") {
            runs[i] = diffsol_flow::<true>(&flow, &Cell::new(0));
        }
    }
    let names: Vec<&str> = all.iter().map(|&(n, _)| n).collect();
    report_pairs(
        &names,
        OURS.len(),
        &mut jobs,
        &runs,
        exact.as_slice(),
        rounds,
    );
}
