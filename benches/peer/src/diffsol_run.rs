//! diffsol's side of every case: `tsit45` stepped to a stop time, with no
//! per-step output, as a user wanting only the final state would run it.

use diffsol::{
    NalgebraContext, NalgebraMat, NalgebraVec, OdeEquations, OdeSolverMethod, OdeSolverProblem,
    OdeSolverStopReason, Vector as _,
};

use crate::timing::Run;

/// Runs `problem` (built with its tolerances and initial state) with
/// `tsit45` from its t0 to `t1`; the step limit (5000 by default) is lifted.
/// diffsol does not count right-hand-side calls: `f_evals` is `None`.
pub fn tsit45_to<Eqn>(problem: &mut OdeSolverProblem<Eqn>, t1: f64) -> Run
where
    Eqn: OdeEquations<T = f64, V = NalgebraVec<f64>, M = NalgebraMat<f64>, C = NalgebraContext>,
{
    problem.ode_options.max_number_timesteps = usize::MAX;
    let mut solver = problem.tsit45().expect("diffsol tsit45");
    solver.set_stop_time(t1).expect("diffsol stop time");
    while !matches!(
        solver.step().expect("diffsol step"),
        OdeSolverStopReason::TstopReached
    ) {}
    let stats = solver.get_statistics();
    Run {
        y: solver.state().y.clone_as_vec(),
        accepted: stats.number_of_steps,
        rejected: stats.number_of_error_test_failures,
        f_evals: None,
    }
}
