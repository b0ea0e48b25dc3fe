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
    x: Vec<DMatrix<f64>>,
    y: Vec<DVector<f64>>,
    full_x: DMatrix<f64>,
    full_y: DVector<f64>,
    residual: RefCell<DVector<f64>>,
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
        Ok(LeastSquares {
            x: split_rows(x, &ranges),
            y: split_vec(y, &ranges),
            full_x: x.clone(),
            full_y: y.clone(),
            residual: RefCell::new(DVector::zeros(batch_size)),
        })
    }

    /// Batch `i` as `(Xᵢ, yᵢ)`.
    pub fn batch(&self, i: usize) -> (&DMatrix<f64>, &DVector<f64>) {
        (&self.x[i], &self.y[i])
    }

    /// Number of rows n.
    pub fn num_rows(&self) -> usize {
        self.full_x.nrows()
    }

    /// `‖Xθ − y‖`.
    pub fn residual_norm(&self, theta: &State) -> f64 {
        let mut r = self.full_y.clone();
        r.gemv(1.0, &self.full_x, theta, -1.0);
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
        self.full_x.ncols()
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
        let xi = &self.x[i];
        let (b, p) = xi.shape();
        assert!(
            theta.len() == p && g.len() == p,
            "batch gradient: θ has {} and g {} entries, expected {p}",
            theta.len(),
            g.len()
        );
        let mut r = self.residual.borrow_mut();
        if r.len() != b {
            *r = DVector::zeros(b);
        }
        let (x, r) = (xi.as_slice(), r.as_mut_slice());
        residual(x, theta.as_slice(), self.y[i].as_slice(), r);
        let alpha = 1.0 / b as f64;
        for (gj, col) in g.as_mut_slice().iter_mut().zip(x.chunks_exact(b)) {
            *gj = alpha * dot(col, r) * s;
        }
    }
    fn batch_hessian(&self, i: usize, _theta: &State, h: &mut DMatrix<f64>) -> bool {
        let xi = &self.x[i];
        h.gemm_tr(1.0 / xi.nrows() as f64, xi, xi, 0.0);
        true
    }
}

/// `r = Xθ − y` for a column-major b×p block `x` (b = `r.len()`), summed
/// column by column in the order of nalgebra's `gemv`,
/// `rₖ = ((xₖ₀θ₀ − yₖ) + xₖ₁θ₁) + …`, so results are bitwise those of
/// `r.gemv(1.0, X, θ, −1.0)` on `r = y`. Four columns per pass over `r`.
fn residual(x: &[f64], theta: &[f64], y: &[f64], r: &mut [f64]) {
    let b = r.len();
    let (first, rest) = x.split_at(b);
    for ((rk, &xk), &yk) in r.iter_mut().zip(first).zip(y) {
        *rk = xk * theta[0] - yk;
    }
    let mut cols = rest.chunks_exact(4 * b);
    let mut ts = theta[1..].chunks_exact(4);
    for (c4, t) in cols.by_ref().zip(ts.by_ref()) {
        let (c0, c123) = c4.split_at(b);
        let (c1, c23) = c123.split_at(b);
        let (c2, c3) = c23.split_at(b);
        let c3 = &c3[..b];
        for k in 0..b {
            r[k] = (((r[k] + c0[k] * t[0]) + c1[k] * t[1]) + c2[k] * t[2]) + c3[k] * t[3];
        }
    }
    for (col, &t) in cols.remainder().chunks_exact(b).zip(ts.remainder()) {
        for (rk, &xk) in r.iter_mut().zip(col) {
            *rk += xk * t;
        }
    }
}

/// `a·b` summed in the order of nalgebra's `dot` (eight lanes over blocks of
/// eight entries, the lanes combined as `0 + (l₀+l₄) + (l₁+l₅) + (l₂+l₆) +
/// (l₃+l₇)`, then the remaining products one by one), so that
/// `gⱼ = alpha·(xⱼ·r)` is bitwise nalgebra's `g.gemv_tr(alpha, X, r, 0.0)`.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let (a8, at) = a.as_chunks::<8>();
    let (b8, bt) = b[..a.len()].as_chunks::<8>();
    let mut acc = [0.0; 8];
    for (x, y) in a8.iter().zip(b8) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut res = 0.0;
    for l in 0..4 {
        res += acc[l] + acc[l + 4];
    }
    for (x, y) in at.iter().zip(bt) {
        res += x * y;
    }
    res
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
    if !(noise.is_finite() && noise >= 0.0) {
        return Err(Error::invalid("noise", noise, "must be finite and ≥ 0"));
    }
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

    /// The slice kernels reproduce nalgebra's `gemv` / `gemv_tr` (the previous
    /// implementation) bit for bit, and the fused scale equals a second pass,
    /// for batch sizes below, at and around the 8-lane blocks, partial last
    /// batches, and dimensions not divisible by 4.
    #[test]
    fn batch_gradient_is_bitwise_nalgebra_gemv() {
        for (n, p, bs) in [
            (7, 1, 7),
            (30, 3, 4),
            (50, 5, 8),
            (61, 6, 20),
            (70, 9, 17),
            (40, 13, 40),
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
                assert_eq!(g, want, "n={n} p={p} b={bs} batch {i}");
                let s = -1.0 / 7.0;
                ls.batch_gradient_scaled(i, &theta, s, &mut gs);
                want *= s;
                assert_eq!(gs, want, "scaled: n={n} p={p} b={bs} batch {i}");
            }
        }
    }
}
