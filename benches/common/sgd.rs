//! One SGD epoch on random least squares, three ways: a Lie splitting over the
//! local flows with explicit-Euler sub-steps, the [`SplittingOptimizer`]
//! stepping the same pieces batch by batch, and a blocked loop on plain `f64`
//! slices (the baseline).
//!
//! Problem: `random_least_squares(SGD_ROWS, SGD_COLS, SGD_NOISE, SGD_SEED)`
//! batched by `SGD_BATCH` consecutive rows, so m = 500 batches of 20 rows. One
//! Lie step of size `h = α·m` over the m local flows θ' = −(1/m)∇fᵢ(θ), each
//! advanced by one explicit-Euler step, is exactly one SGD epoch
//! `θ ← θ − (α/b)·Xᵢᵀ(Xᵢθ − yᵢ)`, i = 0, …, m − 1, at learning rate α.

use nalgebra::{DMatrix, DVector};
use splitflow::flows::local_flows;
use splitflow::objective::FiniteSum;
use splitflow::optimizers::SplittingOptimizer;
use splitflow::problems::least_squares::{LeastSquares, random_least_squares};
use splitflow::splitting::{FlowMap, Integrated, PieceOrder, Splitting, SplittingCoefficients};
use splitflow::{ExplicitEuler, Integrator, State};

/// Rows n of the design matrix.
pub const SGD_ROWS: usize = 10_000;
/// Columns p (the dimension of θ).
pub const SGD_COLS: usize = 500;
/// Rows per batch (so m = SGD_ROWS / SGD_BATCH = 500 batches).
pub const SGD_BATCH: usize = 20;
/// Noise level of the targets.
pub const SGD_NOISE: f64 = 0.01;
/// Seed of the random problem.
pub const SGD_SEED: u64 = 42;
/// Learning rate α: small enough that an epoch from θ = 0 is a stable,
/// bounded map (every timed call starts again from θ₀ anyway).
pub const SGD_ALPHA: f64 = 1e-3;

/// The problem in both representations.
pub struct SgdProblem {
    /// Design matrix X (n×p, column-major `DMatrix`).
    pub x: DMatrix<f64>,
    /// Targets y.
    pub y: DVector<f64>,
    /// The finite sum the local flows borrow (m batches of `SGD_BATCH` rows).
    pub ls: LeastSquares,
    /// The initial θ of every timed epoch (zeros).
    pub theta0: State,
}

impl SgdProblem {
    /// Builds the seeded problem.
    pub fn new() -> Self {
        let (x, y, _) = random_least_squares(SGD_ROWS, SGD_COLS, SGD_NOISE, SGD_SEED)
            .expect("valid problem sizes");
        let ls = LeastSquares::new(&x, &y, SGD_BATCH).expect("valid batching");
        SgdProblem {
            x,
            y,
            ls,
            theta0: State::zeros(SGD_COLS),
        }
    }

    /// Number of batches m.
    pub fn batches(&self) -> usize {
        SGD_ROWS.div_ceil(SGD_BATCH)
    }

    /// The splitting step h = α·m.
    pub fn h(&self) -> f64 {
        SGD_ALPHA * self.batches() as f64
    }
}

impl Default for SgdProblem {
    fn default() -> Self {
        Self::new()
    }
}

/// One flow map per batch: the local flow integrated by one explicit-Euler
/// step per advance.
pub fn euler_pieces(ls: &LeastSquares) -> Vec<Box<dyn FlowMap + '_>> {
    local_flows(ls)
        .into_iter()
        .map(|f| {
            Box::new(Integrated::new(
                f,
                Integrator::fixed(ExplicitEuler::new(), 1).expect("one sub-step is valid"),
            )) as Box<dyn FlowMap + '_>
        })
        .collect()
}

/// The Lie splitting over [`euler_pieces`].
pub fn lie_splitting(ls: &LeastSquares) -> Splitting<'_> {
    let m = ls.num_batches();
    Splitting::new(
        euler_pieces(ls),
        SplittingCoefficients::lie(m).expect("m > 0"),
        Default::default(),
    )
    .expect("consistent splitting")
}

/// The splitting optimizer (cyclic batch order) over [`euler_pieces`] at
/// learning rate [`SGD_ALPHA`].
pub fn splitting_optimizer(ls: &LeastSquares) -> SplittingOptimizer<'_> {
    SplittingOptimizer::new(euler_pieces(ls), SGD_ALPHA, PieceOrder::Fixed)
        .expect("valid optimizer")
}

/// One epoch as one Lie step: `θ ← θ₀`, then `advance(0, h, θ)`.
pub fn ours_lie_epoch(split: &mut Splitting<'_>, h: f64, theta0: &State, theta: &mut State) {
    theta.copy_from(theta0);
    split.advance(0.0, h, theta).expect("finite epoch");
}

/// One epoch of the optimizer: `θ ← θ₀`, then `epoch(θ)`.
pub fn ours_optimizer_epoch(opt: &mut SplittingOptimizer<'_>, theta0: &State, theta: &mut State) {
    theta.copy_from(theta0);
    opt.epoch(theta).expect("finite epoch");
}

/// The baseline: SGD on plain slices over a row-major copy of X, with a
/// preallocated residual buffer.
///
/// Per batch of b consecutive rows: `rₖ = xₖ·θ − yₖ` for every row k (a dot
/// product with eight independent accumulators, so that it vectorises), then
/// `θ ← θ − (α/b)·Σₖ rₖ xₖ`, four rows per pass over θ (fused axpys).
#[derive(Debug, Clone)]
pub struct SliceSgd {
    /// X row-major: row k is `xr[k*p..(k+1)*p]`.
    xr: Vec<f64>,
    y: Vec<f64>,
    p: usize,
    batch: usize,
    r: Vec<f64>,
}

impl SliceSgd {
    /// Copies X into row-major order.
    pub fn new(x: &DMatrix<f64>, y: &DVector<f64>, batch: usize) -> Self {
        let (n, p) = x.shape();
        let mut xr = vec![0.0; n * p];
        for (k, row) in xr.chunks_exact_mut(p).enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = x[(k, j)];
            }
        }
        SliceSgd {
            xr,
            y: y.as_slice().to_vec(),
            p,
            batch,
            r: vec![0.0; batch],
        }
    }

    /// One epoch at learning rate `alpha`, in place.
    pub fn epoch(&mut self, alpha: f64, theta: &mut [f64]) {
        let p = self.p;
        let theta = &mut theta[..p];
        for (xb, yb) in self
            .xr
            .chunks(self.batch * p)
            .zip(self.y.chunks(self.batch))
        {
            let r = &mut self.r[..yb.len()];
            for ((rk, row), &yk) in r.iter_mut().zip(xb.chunks_exact(p)).zip(yb) {
                *rk = dot(row, theta) - yk;
            }
            let c = -alpha / yb.len() as f64;
            let mut rows = xb.chunks_exact(4 * p);
            let mut rs = r.chunks_exact(4);
            for (x4, r4) in rows.by_ref().zip(rs.by_ref()) {
                let (x0, rest) = x4.split_at(p);
                let (x1, rest) = rest.split_at(p);
                let (x2, x3) = rest.split_at(p);
                let x3 = &x3[..p];
                let a = [c * r4[0], c * r4[1], c * r4[2], c * r4[3]];
                for j in 0..p {
                    theta[j] += a[0] * x0[j] + a[1] * x1[j] + a[2] * x2[j] + a[3] * x3[j];
                }
            }
            for (row, &rk) in rows.remainder().chunks_exact(p).zip(rs.remainder()) {
                let a = c * rk;
                for (t, &xj) in theta.iter_mut().zip(row) {
                    *t += a * xj;
                }
            }
        }
    }

    /// One epoch from `theta0` copied into `theta`.
    pub fn run(&mut self, alpha: f64, theta0: &[f64], theta: &mut [f64]) {
        theta.copy_from_slice(theta0);
        self.epoch(alpha, theta);
    }
}

/// `a·b` with eight independent accumulators.
#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a8, at) = a[..n].as_chunks::<8>();
    let (b8, bt) = b[..n].as_chunks::<8>();
    let mut acc = [0.0; 8];
    for (x, y) in a8.iter().zip(b8) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    // Lane l with lane l + 4 (a balanced tree over the lanes makes LLVM
    // shuffle inside the loop, almost halving its speed).
    let mut s = 0.0;
    for l in 0..4 {
        s += acc[l] + acc[l + 4];
    }
    for (x, y) in at.iter().zip(bt) {
        s += x * y;
    }
    s
}
