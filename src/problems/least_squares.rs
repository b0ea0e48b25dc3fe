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
        let mut r = self.residual.borrow_mut();
        let b = self.y[i].len();
        if r.len() != b {
            *r = DVector::zeros(b);
        }
        r.copy_from(&self.y[i]);
        r.gemv(1.0, &self.x[i], theta, -1.0);
        g.gemv_tr(1.0 / b as f64, &self.x[i], &r, 0.0);
    }
    fn batch_hessian(&self, i: usize, _theta: &State, h: &mut DMatrix<f64>) -> bool {
        let xi = &self.x[i];
        h.gemm_tr(1.0 / xi.nrows() as f64, xi, xi, 0.0);
        true
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
