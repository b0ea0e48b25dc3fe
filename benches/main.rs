//! splitflow's criterion benchmarks: one bench crate, a module per topic.
//!
//! Run all with `cargo bench --bench main`, a quick pass with
//! `cargo bench --bench main -- --quick`, or one group with a filter such as
//! `cargo bench --bench main -- lorenz` (groups: `lorenz_rk45_tol1e-6`,
//! `gradient_flow500_rk45_tol1e-6`, `rk4_fixed_100k`, `tableau_vs_fast`, `sgd_epoch_ls10000x500`,
//! `exact_epoch_ls10000x500`, `optimizer_step_1e5_<name>`). See docs/benchmarks.md.

use criterion::{criterion_group, criterion_main};

mod common;
mod optimizers;
mod reduction;
mod splitting;
mod steppers;

criterion_group!(
    benches,
    steppers::rk45_vs_dopri5_lorenz,
    steppers::rk45_vs_dopri5_gradient_flow,
    steppers::rk4_vs_hand_loop,
    steppers::generic_vs_fast,
    splitting::sgd_epoch_vs_slice_loop,
    reduction::exact_epoch_vs_sgd_epoch,
    optimizers::optimizer_steps
);
criterion_main!(benches);
