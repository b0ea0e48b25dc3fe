//! One epoch of the exact least-squares flows on the SGD-epoch problem of
//! [`super::sgd`] (10000×500, m = 500 batches of 20 rows): the closed-form
//! local flows `ExactLeastSquaresFlow` (`LocalScheme::Exact`), factorized once
//! before any timing, stepped batch by batch by a `SplittingOptimizer` at the
//! same learning rate α as SGD (h = α·m) — as in `paper`'s least-squares
//! grid.

use splitflow::optimizers::SplittingOptimizer;
use splitflow::problems::least_squares::LeastSquares;
use splitflow::reduction::{
    ExactLeastSquaresFlow, FactorizationMethod, LocalScheme, factorize_all,
};
use splitflow::splitting::{FlowMap, PieceOrder};

use super::sgd::SGD_ALPHA;

/// The exact local flows of every batch, factorized with `method`.
pub fn exact_flows(
    ls: &LeastSquares,
    method: FactorizationMethod,
) -> Vec<ExactLeastSquaresFlow<'_>> {
    let mut flows = ExactLeastSquaresFlow::for_batches(ls, method, LocalScheme::Exact);
    factorize_all(&mut flows).expect("random batches factorize");
    flows
}

/// A splitting optimizer (cyclic batch order, learning rate [`SGD_ALPHA`])
/// over already factorized flows, borrowed so that they are not cloned.
pub fn exact_optimizer<'a>(flows: &'a mut [ExactLeastSquaresFlow<'_>]) -> SplittingOptimizer<'a> {
    let pieces: Vec<Box<dyn FlowMap + 'a>> = flows
        .iter_mut()
        .map(|f| Box::new(f) as Box<dyn FlowMap + 'a>)
        .collect();
    SplittingOptimizer::new(pieces, SGD_ALPHA, PieceOrder::Fixed).expect("valid optimizer")
}
