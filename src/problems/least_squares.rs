//! Linear least squares as a finite sum over fixed batches.

use std::cell::RefCell;

use nalgebra::{DMatrix, DVector};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};

use super::batches::{batch_ranges, check_data, split_rows, split_vec};
use crate::State;
use crate::error::{Error, Result, check_dim};
use crate::objective::FiniteSum;

/// Linear least squares over m fixed batches `(Xᵢ, yᵢ)` of bᵢ rows:
///
/// $$ f_i(θ) = \frac{1}{2b_i}\|X_iθ − y_i\|^2,\qquad ∇f_i(θ) = \frac{1}{b_i}X_i^\top(X_iθ − y_i), $$
///
/// so the local flow `θ' = −(1/m)∇fᵢ` is the paper's `−(1/n)Xᵢᵀ(Xᵢθ − yᵢ)`
/// (full batches) and one explicit-Euler step of size `h = α·m` is the SGD
/// step `θ ← θ − (α/b)Xᵢᵀ(Xᵢθ − yᵢ)`. The paper's loss `(1/n)‖Xθ − y‖²` is
/// [`mse`](Self::mse) (= 2f with full batches).
///
/// # Storage
/// X is held twice: as one column-major `bᵢ×p` matrix per batch (what
/// [`batch`](Self::batch) lends, e.g. to the exact flows of
/// [`reduction`](crate::reduction), and what values and Hessians use), and as one
/// row-major `n×p` copy, the only one the gradient reads: there both passes of
/// `Xᵢᵀ(Xᵢθ − yᵢ)` run over contiguous rows (the batch's rows together for
/// `Xᵢθ`, vertical sums of whole rows for `Xᵢᵀr`) instead of one strided dot
/// product per column. That is twice the memory of X (unchanged: the
/// row-major copy replaced a full column-major copy of X that was kept for
/// [`residual_norm`](Self::residual_norm), which now reads the row-major one).
/// Gradients and residual norms are bitwise those of nalgebra's `gemv` /
/// `gemv_tr` on the column-major batches (the previous implementation), so
/// results do not depend on the layout.
///
/// # Example
/// ```
/// use splitflow::problems::least_squares::{LeastSquares, random_least_squares};
/// use splitflow::objective::FiniteSum;
/// let (x, y, _) = random_least_squares(100, 10, 0.01, 7)?;
/// let ls = LeastSquares::new(&x, &y, 20)?;
/// assert_eq!(ls.num_batches(), 5);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct LeastSquares {
    /// Batches column-major, for `batch`, values and Hessians.
    x: Vec<DMatrix<f64>>,
    y: Vec<DVector<f64>>,
    /// X row-major (row k is `rows[k·p..(k+1)·p]`): the gradient's copy.
    rows: Vec<f64>,
    /// First row of each batch.
    starts: Vec<usize>,
    p: usize,
    full_y: DVector<f64>,
    work: RefCell<Workspace>,
}

/// Gradient workspace: the residual of a batch, and two p-vectors of lane
/// sums for batches of 24 rows or more (sized on first use).
#[derive(Debug, Clone, Default)]
struct Workspace {
    r: Vec<f64>,
    lanes: Vec<f64>,
}

impl LeastSquares {
    /// Batches consecutive rows of `x` (n×p) and `y` (n) by `batch_size`
    /// (a last partial batch is kept; see [`batch_ranges`]).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `y` does not match `x`;
    /// [`Error::InvalidParameter`] for a batch size of 0 or above n;
    /// [`Error::Data`] for NaN or infinite entries.
    pub fn new(x: &DMatrix<f64>, y: &DVector<f64>, batch_size: usize) -> Result<Self> {
        check_data("least squares", x, y.len())?;
        if let Some(k) = y.iter().position(|v| !v.is_finite()) {
            return Err(Error::Data {
                source_name: "least squares targets".into(),
                line: k + 1,
                message: "non-finite target".into(),
            });
        }
        let ranges = batch_ranges(x.nrows(), batch_size)?;
        let p = x.ncols();
        let mut rows = vec![0.0; x.nrows() * p];
        for (j, col) in x.column_iter().enumerate() {
            for (k, &v) in col.iter().enumerate() {
                rows[k * p + j] = v;
            }
        }
        Ok(LeastSquares {
            x: split_rows(x, &ranges),
            y: split_vec(y, &ranges),
            rows,
            starts: ranges.iter().map(|r| r.start).collect(),
            p,
            full_y: y.clone(),
            work: RefCell::new(Workspace {
                r: vec![0.0; batch_size],
                lanes: Vec::new(),
            }),
        })
    }

    /// Batch `i` as `(Xᵢ, yᵢ)`.
    pub fn batch(&self, i: usize) -> (&DMatrix<f64>, &DVector<f64>) {
        (&self.x[i], &self.y[i])
    }

    /// Number of rows n.
    pub fn num_rows(&self) -> usize {
        self.full_y.len()
    }

    /// `‖Xθ − y‖` (bitwise the norm of nalgebra's `gemv` residual).
    ///
    /// # Panics
    /// When θ does not have p entries.
    pub fn residual_norm(&self, theta: &State) -> f64 {
        assert_eq!(
            theta.len(),
            self.p,
            "residual norm: θ has {} entries, expected {}",
            theta.len(),
            self.p
        );
        let mut r = DVector::zeros(self.num_rows());
        residual(
            &self.rows,
            self.p,
            theta.as_slice(),
            self.full_y.as_slice(),
            r.as_mut_slice(),
        );
        r.norm()
    }

    /// `‖Xθ − y‖ / ‖y‖` (the paper's stopping quantity on random least squares).
    pub fn relative_residual(&self, theta: &State) -> f64 {
        self.residual_norm(theta) / self.full_y.norm()
    }

    /// `(1/n)‖Xθ − y‖²` (the paper's loss and its tomography stopping quantity).
    pub fn mse(&self, theta: &State) -> f64 {
        self.residual_norm(theta).powi(2) / self.num_rows() as f64
    }
}

impl FiniteSum for LeastSquares {
    fn dim(&self) -> usize {
        self.p
    }
    fn num_batches(&self) -> usize {
        self.x.len()
    }
    fn batch_value(&self, i: usize, theta: &State) -> f64 {
        let mut r = self.y[i].clone();
        r.gemv(1.0, &self.x[i], theta, -1.0);
        r.norm_squared() / (2.0 * r.len() as f64)
    }
    fn batch_gradient(&self, i: usize, theta: &State, g: &mut State) {
        self.batch_gradient_scaled(i, theta, 1.0, g);
    }
    fn batch_gradient_scaled(&self, i: usize, theta: &State, s: f64, g: &mut State) {
        let (b, p) = (self.y[i].len(), self.p);
        assert!(
            theta.len() == p && g.len() == p,
            "batch gradient: θ has {} and g {} entries, expected {p}",
            theta.len(),
            g.len()
        );
        let x = &self.rows[self.starts[i] * p..][..b * p];
        let mut work = self.work.borrow_mut();
        let Workspace { r, lanes } = &mut *work;
        if r.len() < b {
            r.resize(b, 0.0);
        }
        let r = &mut r[..b];
        residual(x, p, theta.as_slice(), self.y[i].as_slice(), r);
        if b >= 24 && lanes.len() < 2 * p {
            lanes.resize(2 * p, 0.0);
        }
        gradient(x, p, r, 1.0 / b as f64, s, g.as_mut_slice(), lanes);
    }
    fn batch_hessian(&self, i: usize, _theta: &State, h: &mut DMatrix<f64>) -> bool {
        let xi = &self.x[i];
        h.gemm_tr(1.0 / xi.nrows() as f64, xi, xi, 0.0);
        true
    }
}

/// `r = Xθ − y` for a row-major block `x` of `r.len()` rows of length `p`,
/// each row summed in the order of nalgebra's `gemv`,
/// `rₖ = ((xₖ₀θ₀ − yₖ) + xₖ₁θ₁) + …`, so results are bitwise those of
/// `r.gemv(1.0, X, θ, −1.0)` on `r = y`. Eight rows at a time (eight
/// independent sums, eight streams through memory), then four, then one.
fn residual(x: &[f64], p: usize, theta: &[f64], y: &[f64], r: &mut [f64]) {
    let (&t0, ts) = theta[..p].split_first().expect("p ≥ 1");
    let x = &x[..r.len() * p];
    let mut x8s = x.chunks_exact(8 * p);
    let mut r8s = r.chunks_exact_mut(8);
    let mut y8s = y.chunks_exact(8);
    for ((x8, r8), y8) in x8s.by_ref().zip(r8s.by_ref()).zip(y8s.by_ref()) {
        let row: [&[f64]; 8] = std::array::from_fn(|l| &x8[l * p..(l + 1) * p]);
        let mut a: [f64; 8] = std::array::from_fn(|l| row[l][0] * t0 - y8[l]);
        for ((((((((&t, &u0), &u1), &u2), &u3), &u4), &u5), &u6), &u7) in ts
            .iter()
            .zip(&row[0][1..])
            .zip(&row[1][1..])
            .zip(&row[2][1..])
            .zip(&row[3][1..])
            .zip(&row[4][1..])
            .zip(&row[5][1..])
            .zip(&row[6][1..])
            .zip(&row[7][1..])
        {
            a[0] += u0 * t;
            a[1] += u1 * t;
            a[2] += u2 * t;
            a[3] += u3 * t;
            a[4] += u4 * t;
            a[5] += u5 * t;
            a[6] += u6 * t;
            a[7] += u7 * t;
        }
        r8.copy_from_slice(&a);
    }
    let mut x4s = x8s.remainder().chunks_exact(4 * p);
    let mut r4s = r8s.into_remainder().chunks_exact_mut(4);
    let mut y4s = y8s.remainder().chunks_exact(4);
    for ((x4, r4), y4) in x4s.by_ref().zip(r4s.by_ref()).zip(y4s.by_ref()) {
        let row: [&[f64]; 4] = std::array::from_fn(|l| &x4[l * p..(l + 1) * p]);
        let mut a: [f64; 4] = std::array::from_fn(|l| row[l][0] * t0 - y4[l]);
        for ((((&t, &u0), &u1), &u2), &u3) in ts
            .iter()
            .zip(&row[0][1..])
            .zip(&row[1][1..])
            .zip(&row[2][1..])
            .zip(&row[3][1..])
        {
            a[0] += u0 * t;
            a[1] += u1 * t;
            a[2] += u2 * t;
            a[3] += u3 * t;
        }
        r4.copy_from_slice(&a);
    }
    let rest = x4s.remainder().chunks_exact(p);
    for ((row, rk), &yk) in rest.zip(r4s.into_remainder()).zip(y4s.remainder()) {
        let mut a = row[0] * t0 - yk;
        for (&t, &u) in ts.iter().zip(&row[1..]) {
            a += u * t;
        }
        *rk = a;
    }
}

/// `gⱼ = (alpha·(xⱼ·r))·s` for a row-major block `x` of `b = r.len()` rows
/// of length `p`, where the dot product over the column `xⱼ` is summed in the
/// order of nalgebra's `dot` — eight lanes `lₖ = Σ x₍₈ᵦ₊ₖ₎ⱼ r₍₈ᵦ₊ₖ₎` over the
/// blocks β of eight rows, combined as `0 + (l₀+l₄) + (l₁+l₅) + (l₂+l₆) +
/// (l₃+l₇)`, then the remaining `b mod 8` products one by one — so `g` is
/// bitwise `alpha·s`-scaled nalgebra `gemv_tr`, and `s = 1` gives it exactly.
///
/// Every column is summed at once: each pass runs over whole rows, lane pair
/// (k, k + 4) by lane pair, `g` holding the running sums (and `lanes`, 2p
/// entries, the lane sums when there are three blocks or more). Leaving out
/// nalgebra's initial `0 +` in each lane changes at most the sign of a zero,
/// which the leading `0 +` of the combination removes.
fn gradient(x: &[f64], p: usize, r: &[f64], alpha: f64, s: f64, g: &mut [f64], lanes: &mut [f64]) {
    let b = r.len();
    let blocks = b / 8;
    let g = &mut g[..p];
    let row = |k: usize| &x[k * p..(k + 1) * p];
    g.fill(0.0);
    match blocks {
        0 => {}
        1 => {
            for l in 0..4 {
                let (x0, x4, r0, r4) = (row(l), row(l + 4), r[l], r[l + 4]);
                for ((gj, &u0), &u4) in g.iter_mut().zip(x0).zip(x4) {
                    *gj += u0 * r0 + u4 * r4;
                }
            }
        }
        2 => {
            for l in 0..4 {
                let (x0, x4, x8, x12) = (row(l), row(l + 4), row(l + 8), row(l + 12));
                let (r0, r4, r8, r12) = (r[l], r[l + 4], r[l + 8], r[l + 12]);
                for ((((gj, &u0), &u4), &u8), &u12) in g.iter_mut().zip(x0).zip(x4).zip(x8).zip(x12)
                {
                    *gj += (u0 * r0 + u8 * r8) + (u4 * r4 + u12 * r12);
                }
            }
        }
        _ => {
            let (a, c) = lanes[..2 * p].split_at_mut(p);
            let last = 8 * (blocks - 1);
            for l in 0..4 {
                let (x0, x4, x8, x12) = (row(l), row(l + 4), row(l + 8), row(l + 12));
                let (r0, r4, r8, r12) = (r[l], r[l + 4], r[l + 8], r[l + 12]);
                for ((((aj, cj), (&u0, &u4)), &u8), &u12) in a
                    .iter_mut()
                    .zip(c.iter_mut())
                    .zip(x0.iter().zip(x4))
                    .zip(x8)
                    .zip(x12)
                {
                    *aj = u0 * r0 + u8 * r8;
                    *cj = u4 * r4 + u12 * r12;
                }
                for k in (16..last).step_by(8).map(|k| k + l) {
                    let (x0, x4, r0, r4) = (row(k), row(k + 4), r[k], r[k + 4]);
                    for (((aj, cj), &u0), &u4) in a.iter_mut().zip(c.iter_mut()).zip(x0).zip(x4) {
                        *aj += u0 * r0;
                        *cj += u4 * r4;
                    }
                }
                let k = last + l;
                let (x0, x4, r0, r4) = (row(k), row(k + 4), r[k], r[k + 4]);
                for ((((gj, &aj), &cj), &u0), &u4) in
                    g.iter_mut().zip(a.iter()).zip(c.iter()).zip(x0).zip(x4)
                {
                    *gj += (aj + u0 * r0) + (cj + u4 * r4);
                }
            }
        }
    }
    // The b mod 8 remaining rows, four per pass, then one by one.
    let mut k = 8 * blocks;
    while k + 4 <= b {
        let (x0, x1, x2, x3) = (row(k), row(k + 1), row(k + 2), row(k + 3));
        let (r0, r1, r2, r3) = (r[k], r[k + 1], r[k + 2], r[k + 3]);
        for ((((gj, &u0), &u1), &u2), &u3) in g.iter_mut().zip(x0).zip(x1).zip(x2).zip(x3) {
            *gj = (((*gj + u0 * r0) + u1 * r1) + u2 * r2) + u3 * r3;
        }
        k += 4;
    }
    for (x0, &r0) in x[k * p..b * p].chunks_exact(p).zip(&r[k..]) {
        for (gj, &u0) in g.iter_mut().zip(x0) {
            *gj += u0 * r0;
        }
    }
    for gj in g.iter_mut() {
        *gj = alpha * *gj * s;
    }
}

/// The paper's random least-squares problem: X ∈ ℝⁿˣᵖ with iid N(0, 1)
/// entries, θ_true = 1, y = Xθ_true + noise·ξ with ξ ~ N(0, I); seeded.
/// Returns `(X, y, θ_true)`.
///
/// # Errors
/// [`Error::InvalidParameter`] for zero sizes or a negative / non-finite noise.
pub fn random_least_squares(
    n: usize,
    p: usize,
    noise: f64,
    seed: u64,
) -> Result<(DMatrix<f64>, DVector<f64>, DVector<f64>)> {
    if n == 0 || p == 0 {
        return Err(Error::invalid(
            "n, p",
            format!("{n}, {p}"),
            "must be positive",
        ));
    }
    crate::error::check_nonnegative("noise", noise)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let x = DMatrix::from_fn(n, p, |_, _| StandardNormal.sample(&mut rng));
    let theta = DVector::from_element(p, 1.0);
    let mut y = &x * &theta;
    for v in y.iter_mut() {
        let xi: f64 = StandardNormal.sample(&mut rng);
        *v += noise * xi;
    }
    check_dim("y", n, y.len())?;
    Ok((x, y, theta))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(v: &State) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// The row-major kernels reproduce nalgebra's `gemv` / `gemv_tr` on the
    /// column-major batches (the implementation before them) bit for bit,
    /// and the fused scale equals a second pass, for batch sizes below, at
    /// and around the 8-lane blocks (0 to 5 blocks, with 0 to 7 remaining
    /// rows), partial last batches, and dimensions not divisible by 4.
    #[test]
    fn batch_gradient_is_bitwise_nalgebra_gemv() {
        for (n, p, bs) in [
            (7, 1, 7),
            (30, 3, 4),
            (50, 5, 8),
            (61, 6, 20),
            (70, 9, 17),
            (40, 13, 40),
            (75, 2, 24),
            (60, 7, 29),
            (100, 11, 47),
            (64, 16, 32),
        ] {
            let (x, y, _) = random_least_squares(n, p, 0.3, 11).unwrap();
            let ls = LeastSquares::new(&x, &y, bs).unwrap();
            let theta = State::from_fn(p, |j, _| 0.25 * j as f64 - 0.8);
            let (mut g, mut gs) = (State::zeros(p), State::zeros(p));
            for i in 0..ls.num_batches() {
                let (xi, yi) = ls.batch(i);
                let mut r = yi.clone();
                r.gemv(1.0, xi, &theta, -1.0);
                let mut want = State::zeros(p);
                want.gemv_tr(1.0 / yi.len() as f64, xi, &r, 0.0);
                ls.batch_gradient(i, &theta, &mut g);
                assert_eq!(bits(&g), bits(&want), "n={n} p={p} b={bs} batch {i}");
                let s = -1.0 / 7.0;
                ls.batch_gradient_scaled(i, &theta, s, &mut gs);
                want *= s;
                assert_eq!(
                    bits(&gs),
                    bits(&want),
                    "scaled: n={n} p={p} b={bs} batch {i}"
                );
            }
            let mut r = y.clone();
            r.gemv(1.0, &x, &theta, -1.0);
            assert_eq!(ls.residual_norm(&theta).to_bits(), r.norm().to_bits());
        }
    }

    /// Signed zeros: zero rows, zero targets and θ = −0 give the same zero
    /// signs as nalgebra (the lanes' omitted `0 +` only flips signs of zeros
    /// that the combination then normalises).
    #[test]
    fn batch_gradient_signed_zeros_match_nalgebra() {
        for (n, p, bs) in [(16, 3, 16), (40, 3, 40), (12, 2, 12)] {
            let x = DMatrix::from_fn(n, p, |k, j| match (k + j) % 3 {
                0 => 0.0,
                1 => -0.0,
                _ => (k as f64 - 4.5) * (j as f64 + 1.0),
            });
            let y = DVector::from_fn(n, |k, _| if k % 2 == 0 { 0.0 } else { -0.0 });
            let ls = LeastSquares::new(&x, &y, bs).unwrap();
            for theta in [
                State::from_element(p, -0.0),
                State::from_element(p, 0.0),
                State::from_fn(p, |j, _| if j == 0 { 0.0 } else { -1.5 }),
            ] {
                let mut g = State::zeros(p);
                for i in 0..ls.num_batches() {
                    let (xi, yi) = ls.batch(i);
                    let mut r = yi.clone();
                    r.gemv(1.0, xi, &theta, -1.0);
                    let mut want = State::zeros(p);
                    want.gemv_tr(1.0 / yi.len() as f64, xi, &r, 0.0);
                    ls.batch_gradient(i, &theta, &mut g);
                    assert_eq!(bits(&g), bits(&want), "n={n} b={bs} θ={theta:?}");
                }
            }
        }
    }
}
