//! Scheme builders shared by the generated-optimizer tests and the
//! `generated_ratios` bench (included there with
//! `#[path = "../../tests/schemes.rs"] mod schemes;`).

use splitflow::optimizers::{Scheme, SubScheme};
use splitflow::splitting::SplittingCoefficients;

/// The explicit-Euler sub-scheme.
pub fn euler() -> SubScheme {
    SubScheme::named("explicit_euler").unwrap()
}

/// Lie splitting of the named `pieces`, each advanced by its sub-scheme.
pub fn lie(pieces: &[&str], subs: Vec<SubScheme>) -> Scheme {
    Scheme::splitting(
        SplittingCoefficients::lie(pieces.len()).unwrap(),
        pieces,
        subs,
    )
    .unwrap()
}
