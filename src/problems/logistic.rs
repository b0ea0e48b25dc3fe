//! Binary logistic regression as a finite sum over fixed batches.

use crate::workspace::Workspace;

use nalgebra::{DMatrix, DVector};

use super::batches::{batch_ranges, check_data, split_rows, split_vec};
use crate::State;
use crate::error::{Error, Result};
use crate::objective::FiniteSum;

/// The logistic function σ(z) = 1/(1 + e^{−z}), evaluated without overflow.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^z)` without overflow.
pub(crate) fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

/// Checks that labels are 0 or 1.
pub(crate) fn check_binary(y: &DVector<f64>) -> Result<()> {
    if let Some(k) = y.iter().position(|&v| v != 0.0 && v != 1.0) {
        return Err(Error::Data {
            source_name: "logistic labels".into(),
            line: Some(k + 1),
            message: format!("label {} is not 0 or 1", y[k]),
        });
    }
    Ok(())
}

/// Binary logistic regression (labels 0/1) over m fixed batches:
///
/// $$ f_i(θ) = \frac{1}{b_i}\sum_{r∈B_i} \big[\ln(1 + e^{x_r^\topθ}) − y_r x_r^\topθ\big],\qquad
///    ∇f_i(θ) = \frac{1}{b_i}X_i^\top(σ(X_iθ) − y_i), $$
///
/// the mean cross-entropy of the batch. No intercept column is added.
///
/// # Example
/// ```
/// use nalgebra::{dmatrix, dvector};
/// use splitflow::problems::logistic::Logistic;
/// use splitflow::objective::FiniteSum;
/// let lr = Logistic::new(&dmatrix![1.0, 0.0; 0.0, 1.0; 1.0, 1.0], &dvector![1.0, 0.0, 1.0], 2)?;
/// assert_eq!(lr.num_batches(), 2);
/// let v = lr.batch_value(0, &dvector![0.0, 0.0]);
/// assert!((v - 2f64.ln()).abs() < 1e-15);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Logistic {
    x: Vec<DMatrix<f64>>,
    y: Vec<DVector<f64>>,
    p: usize,
    work: Workspace<DVector<f64>>,
}

impl Logistic {
    /// Batches consecutive rows (a last partial batch is kept).
    ///
    /// # Errors
    /// [`Error::Data`] for labels outside {0, 1} or non-finite features (with the row);
    /// [`Error::DimensionMismatch`] / [`Error::InvalidParameter`] for inconsistent sizes.
    pub fn new(x: &DMatrix<f64>, y: &DVector<f64>, batch_size: usize) -> Result<Self> {
        check_data("logistic regression", x, y.len())?;
        check_binary(y)?;
        let ranges = batch_ranges(x.nrows(), batch_size)?;
        Ok(Logistic {
            x: split_rows(x, &ranges),
            y: split_vec(y, &ranges),
            p: x.ncols(),
            work: Workspace::new(DVector::zeros(batch_size)),
        })
    }

    /// Batch `i` as `(Xᵢ, yᵢ)`.
    pub fn batch(&self, i: usize) -> (&DMatrix<f64>, &DVector<f64>) {
        (&self.x[i], &self.y[i])
    }
}

/// Fraction of rows of `x` misclassified by `σ(xᵀθ) ≥ ½`.
pub fn error_rate(theta: &State, x: &DMatrix<f64>, y: &DVector<f64>) -> f64 {
    let z = x * theta;
    let wrong = z
        .iter()
        .zip(y.iter())
        .filter(|(z, y)| (**z >= 0.0) != (**y == 1.0))
        .count();
    wrong as f64 / y.len().max(1) as f64
}

impl FiniteSum for Logistic {
    fn dim(&self) -> usize {
        self.p
    }
    fn num_batches(&self) -> usize {
        self.x.len()
    }
    fn batch_value(&self, i: usize, theta: &State) -> f64 {
        let z = &self.x[i] * theta;
        let b = z.len() as f64;
        z.iter()
            .zip(self.y[i].iter())
            .map(|(&z, &y)| softplus(z) - y * z)
            .sum::<f64>()
            / b
    }
    fn batch_gradient(&self, i: usize, theta: &State, g: &mut State) {
        let mut s = self.work.lock();
        let b = self.y[i].len();
        if s.len() != b {
            *s = DVector::zeros(b);
        }
        s.gemv(1.0, &self.x[i], theta, 0.0);
        for (sk, yk) in s.iter_mut().zip(self.y[i].iter()) {
            *sk = sigmoid(*sk) - yk;
        }
        g.gemv_tr(1.0 / b as f64, &self.x[i], &s, 0.0);
    }
    fn batch_hessian(&self, i: usize, theta: &State, h: &mut DMatrix<f64>) -> bool {
        let xi = &self.x[i];
        let z = xi * theta;
        let mut w = xi.clone();
        for (r, zr) in z.iter().enumerate() {
            let s = sigmoid(*zr);
            w.row_mut(r).scale_mut(s * (1.0 - s));
        }
        h.gemm_tr(1.0 / xi.nrows() as f64, xi, &w, 0.0);
        true
    }
}
