//! Optimizers generated from declarative ODE specs.
//!
//! Builds each spec of `examples/specs/` (heavy ball with exact friction on
//! logistic regression of `wdbc`; Adam's ODE on softmax regression of
//! `digits`), prints what it is in textbook terms, and trains it, printing a
//! loss table per epoch.
//!
//! Run: `cargo run --release --example optimizer_from_spec`

use splitflow::optimizers::OptimizerSpec;
use splitflow::problems::data::{binary_targets, named};
use splitflow::problems::{logistic::Logistic, softmax::Softmax};
use splitflow::splitting::PieceOrder;
use splitflow::train::{Budget, Executor};
use splitflow::{Result, State};

fn run(spec_file: &str, data: &str, batch_size: usize, epochs: usize) -> Result<()> {
    let path = format!("{}/examples/specs/{spec_file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).map_err(|source| splitflow::Error::Io {
        path: path.clone(),
        source,
    })?;
    let spec = OptimizerSpec::parse(&text)?;
    let e = spec.explain()?;
    println!("== {spec_file} on {data}");
    println!("   {}", e.summary);
    println!("   = {}", e.derivation);
    let d = named(data)?;
    let mut optimizer = spec.build()?;
    let mut executor =
        Executor::new(Budget::Epochs(epochs)).order(PieceOrder::Shuffled { seed: 1 });
    let history = if d.classes == 2 {
        let sum = Logistic::new(&d.x, &binary_targets(&d)?, batch_size)?;
        let mut theta = State::zeros(d.p());
        executor.run_on_sum(optimizer.as_mut(), &sum, &mut theta)?
    } else {
        let sum = Softmax::new(&d.x, &d.labels, d.classes, batch_size)?;
        let mut theta = State::zeros(d.p() * d.classes);
        executor.run_on_sum(optimizer.as_mut(), &sum, &mut theta)?
    };
    println!("   {:>6} {:>14}", "epoch", "loss");
    for r in &history.records {
        println!("   {:>6} {:>14.6e}", r.epoch, r.loss);
    }
    println!();
    Ok(())
}

fn main() -> Result<()> {
    run("heavy_ball_wdbc.toml", "wdbc", 32, 10)?;
    run("adam_ode_digits.toml", "digits", 64, 10)?;
    Ok(())
}
