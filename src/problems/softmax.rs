//! Softmax (multinomial logistic) regression as a finite sum over fixed batches.

use crate::workspace::Workspace;

use nalgebra::DMatrix;

use super::batches::{batch_ranges, check_data, split_rows};
use crate::State;
use crate::error::{Error, Result};
use crate::objective::FiniteSum;

/// Replaces each row of `z` (b×c logits) by its softmax, in place, stably.
pub fn softmax_rows(z: &mut DMatrix<f64>) {
    for mut row in z.row_iter_mut() {
        let max = row.max();
        row.apply(|v| *v = (*v - max).exp());
        let s = row.sum();
        row /= s;
    }
}

/// Softmax regression with c classes over m fixed batches. The parameter
/// Θ ∈ ℝ^{p×c} is flattened column-major into θ ∈ ℝ^{pc}.
///
/// $$ f_i(Θ) = \frac{1}{b_i}\sum_{r∈B_i}\Big[\log\sum_k e^{(Θ^\top x_r)_k} − (Θ^\top x_r)_{y_r}\Big],\qquad
///    ∇f_i(Θ) = \frac{1}{b_i}X_i^\top\big(s(X_iΘ) − Y_i\big), $$
///
/// with `s` the row-wise softmax and `Yᵢ` the one-hot labels.
#[derive(Debug, Clone)]
pub struct Softmax {
    x: Vec<DMatrix<f64>>,
    y: Vec<DMatrix<f64>>,
    labels: Vec<Vec<usize>>,
    p: usize,
    c: usize,
    logits: Workspace<DMatrix<f64>>,
}

impl Softmax {
    /// Batches consecutive rows; `labels[r] < classes`.
    ///
    /// # Errors
    /// [`Error::Data`] for a label outside `0..classes` (naming the row) or
    /// non-finite features; [`Error::InvalidParameter`] for fewer than 2 classes,
    /// one-hot targets above [`MAX_MATRIX_BYTES`](crate::limits::MAX_MATRIX_BYTES)
    /// or a bad batch size; [`Error::DimensionMismatch`] for inconsistent sizes.
    pub fn new(
        x: &DMatrix<f64>,
        labels: &[usize],
        classes: usize,
        batch_size: usize,
    ) -> Result<Self> {
        check_data("softmax regression", x, labels.len())?;
        if classes < 2 {
            return Err(Error::invalid("classes", classes, "need at least 2"));
        }
        if let Some(k) = labels.iter().position(|&l| l >= classes) {
            return Err(Error::Data {
                source_name: "softmax labels".into(),
                line: Some(k + 1),
                message: format!("label {} is outside 0..{classes}", labels[k]),
            });
        }
        crate::limits::check_matrix_bytes(
            "classes",
            classes,
            &format!(
                "the one-hot targets ({} rows x {classes} classes)",
                x.nrows()
            ),
            x.nrows() as f64 * classes as f64 * 8.0,
        )?;
        let ranges = batch_ranges(x.nrows(), batch_size)?;
        let y = ranges
            .iter()
            .map(|r| {
                DMatrix::from_fn(r.len(), classes, |i, k| {
                    if labels[r.start + i] == k { 1.0 } else { 0.0 }
                })
            })
            .collect();
        Ok(Softmax {
            x: split_rows(x, &ranges),
            y,
            labels: ranges.iter().map(|r| labels[r.clone()].to_vec()).collect(),
            p: x.ncols(),
            c: classes,
            logits: Workspace::new(DMatrix::zeros(batch_size, classes)),
        })
    }

    /// Number of classes c.
    pub fn classes(&self) -> usize {
        self.c
    }

    /// Batch `i` as `(Xᵢ, Yᵢ one-hot)`.
    pub fn batch(&self, i: usize) -> (&DMatrix<f64>, &DMatrix<f64>) {
        (&self.x[i], &self.y[i])
    }

    /// Views θ as Θ (p×c).
    pub fn as_matrix(&self, theta: &State) -> DMatrix<f64> {
        DMatrix::from_column_slice(self.p, self.c, theta.as_slice())
    }
}

/// Fraction of rows of `x` whose arg-max class under Θ (p×c, flattened
/// column-major in `theta`) differs from the label.
pub fn error_rate(theta: &State, x: &DMatrix<f64>, labels: &[usize], classes: usize) -> f64 {
    let t = DMatrix::from_column_slice(x.ncols(), classes, theta.as_slice());
    let z = x * t;
    let wrong = z
        .row_iter()
        .zip(labels)
        .filter(|(row, l)| row.transpose().argmax().0 != **l)
        .count();
    wrong as f64 / labels.len().max(1) as f64
}

impl FiniteSum for Softmax {
    fn dim(&self) -> usize {
        self.p * self.c
    }
    fn num_batches(&self) -> usize {
        self.x.len()
    }
    fn batch_value(&self, i: usize, theta: &State) -> f64 {
        let t = DMatrix::from_column_slice(self.p, self.c, theta.as_slice());
        let z = &self.x[i] * t;
        let b = z.nrows() as f64;
        z.row_iter()
            .zip(&self.labels[i])
            .map(|(row, &l)| {
                let max = row.max();
                max + row.iter().map(|v| (v - max).exp()).sum::<f64>().ln() - row[l]
            })
            .sum::<f64>()
            / b
    }
    fn batch_gradient(&self, i: usize, theta: &State, g: &mut State) {
        let xi = &self.x[i];
        let b = xi.nrows();
        let mut z = self.logits.lock();
        if z.nrows() != b {
            *z = DMatrix::zeros(b, self.c);
        }
        let t = nalgebra::DMatrixView::from_slice(theta.as_slice(), self.p, self.c);
        z.gemm(1.0, xi, &t, 0.0);
        softmax_rows(&mut z);
        *z -= &self.y[i];
        let mut gm = nalgebra::DMatrixViewMut::from_slice(g.as_mut_slice(), self.p, self.c);
        gm.gemm_tr(1.0 / b as f64, xi, &z, 0.0);
    }
}
