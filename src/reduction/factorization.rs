//! Per-batch factorizations with faer: thin QR of `Xᵢᵀ` and the
//! eigen-decomposition of `RᵢRᵢᵀ` (or of the Gram matrix `XᵢXᵢᵀ`).
//!
//! faer runs sequentially here (the crate is built without its `rayon`
//! feature, and the in-place QR is called with [`Par::Seq`]), so a
//! factorization never depends on the number of threads; parallelism is over
//! batches ([`factorize_all`](super::factorize_all)).

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::qr::no_pivoting::factor::{
    qr_in_place, qr_in_place_scratch, recommended_block_size,
};
use faer::{Mat, MatRef, Par, Side};
use nalgebra::{DMatrix, DVector};

use crate::error::{Error, Result};

/// How a batch is factorized: for the exact least-squares flow, and the
/// coordinates of the reduced logistic and softmax flows
/// ([`ReducedLogisticFlow::with_factorization`](super::ReducedLogisticFlow::with_factorization)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FactorizationMethod {
    /// Thin QR `Xᵢᵀ = QᵢRᵢ`, then eigenpairs of `RᵢRᵢᵀ` (k×k); the reduced
    /// nonlinear flows integrate `η = Qᵢᵀθ`. The default of the
    /// least-squares flow (which forms `Qᵢ` only when it needs it, see
    /// [`ExactLeastSquaresFlow`](super::ExactLeastSquaresFlow)).
    #[default]
    Qr,
    /// Eigenpairs of the Gram matrix `XᵢXᵢᵀ` (b×b); no `Q` is stored. The
    /// reduced nonlinear flows integrate `v` with `θ = θ₀ + Xᵢᵀv` (their
    /// default when `b ≤ p`).
    Gram,
}

/// The factorization of one batch matrix `X` (b×p).
#[derive(Debug, Clone)]
pub struct BatchFactorization {
    /// `Q` (p×k) of the thin QR of `Xᵀ`; empty (0×0) for
    /// [`FactorizationMethod::Gram`] and for the `Q`-free factorization of
    /// the least-squares flow.
    pub q: DMatrix<f64>,
    /// `R` (k×b, upper trapezoidal) of the thin QR of `Xᵀ` (empty for
    /// [`FactorizationMethod::Gram`]).
    pub r: DMatrix<f64>,
    /// Eigenvalues (ascending) of `RRᵀ` (QR) or `XXᵀ` (Gram).
    pub eigenvalues: DVector<f64>,
    /// The matching orthonormal eigenvectors, as columns.
    pub eigenvectors: DMatrix<f64>,
}

/// Copies a faer matrix into nalgebra: one slice copy per column when the
/// columns are contiguous (faer's own matrices), element by element otherwise.
fn to_nalgebra(m: MatRef<'_, f64>) -> DMatrix<f64> {
    let (rows, cols) = (m.nrows(), m.ncols());
    let mut out = DMatrix::zeros(rows, cols);
    if rows == 0 {
        return out;
    }
    for (j, dst) in out.as_mut_slice().chunks_exact_mut(rows).enumerate() {
        match m.col(j).try_as_col_major() {
            Some(col) => dst.copy_from_slice(col.as_slice()),
            None => dst.iter_mut().enumerate().for_each(|(i, d)| *d = m[(i, j)]),
        }
    }
    out
}

fn faer_view(m: &DMatrix<f64>) -> MatRef<'_, f64> {
    MatRef::from_column_major_slice(m.as_slice(), m.nrows(), m.ncols())
}

fn symmetric_eigen(m: &DMatrix<f64>) -> Result<(DVector<f64>, DMatrix<f64>)> {
    let evd = faer_view(m)
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| Error::SingularMatrix {
            what: format!("eigen-decomposition of a batch matrix ({e:?})"),
            t: None,
        })?;
    let s = evd.S().column_vector();
    let values = DVector::from_fn(s.nrows(), |i, _| s[i]);
    Ok((values, to_nalgebra(evd.U())))
}

/// Thin QR `Xᵀ = QR` with faer (Q: p×k, R: k×b, k = min(b, p)), reading `X`
/// (column-major b×p) through a transposed view.
pub(crate) fn thin_qr_of_transpose(x: &DMatrix<f64>) -> (DMatrix<f64>, DMatrix<f64>) {
    let qr = faer_view(x).transpose().qr();
    (
        to_nalgebra(qr.compute_thin_Q().as_ref()),
        to_nalgebra(qr.thin_R()),
    )
}

/// `R` (k×b) of the thin QR `Xᵀ = QR` from X's rows stored row-major (`b·p`
/// entries: `Xᵀ` column-major), without forming `Q`: one copy into a faer
/// work matrix and a sequential Householder QR in place (the same kernel,
/// block size and work layout as [`thin_qr_of_transpose`], so the same `R`).
fn r_of_transpose(rows: &[f64], b: usize, p: usize) -> DMatrix<f64> {
    let mut a = Mat::<f64>::zeros(p, b);
    for (j, row) in rows.chunks_exact(p).take(b).enumerate() {
        a.col_as_slice_mut(j).copy_from_slice(row);
    }
    let k = b.min(p);
    let block = recommended_block_size::<f64>(p, b);
    let mut coeff = Mat::<f64>::zeros(block, k);
    let mut scratch = MemBuffer::new(qr_in_place_scratch::<f64>(
        p,
        b,
        block,
        Par::Seq,
        Default::default(),
    ));
    qr_in_place(
        a.as_mut(),
        coeff.as_mut(),
        Par::Seq,
        MemStack::new(&mut scratch),
        Default::default(),
    );
    // The upper trapezoid of the top k rows (below it: Householder vectors).
    let mut r = DMatrix::zeros(k, b);
    for j in 0..b {
        let top = (j + 1).min(k);
        r.as_mut_slice()[j * k..j * k + top].copy_from_slice(&a.col_as_slice(j)[..top]);
    }
    r
}

impl BatchFactorization {
    /// Factorizes the batch matrix `x` (b×p).
    ///
    /// # Errors
    /// [`Error::SingularMatrix`] if the eigen-solver fails to converge.
    pub fn new(x: &DMatrix<f64>, method: FactorizationMethod) -> Result<Self> {
        match method {
            FactorizationMethod::Qr => {
                let (q, r) = thin_qr_of_transpose(x);
                Self::with_r(q, r)
            }
            FactorizationMethod::Gram => {
                let mut g = x * x.transpose();
                g = (&g + g.transpose()) * 0.5;
                let (eigenvalues, eigenvectors) = symmetric_eigen(&g)?;
                Ok(BatchFactorization {
                    q: DMatrix::zeros(0, 0),
                    r: DMatrix::zeros(0, 0),
                    eigenvalues,
                    eigenvectors,
                })
            }
        }
    }

    /// The QR factorization without `Q` (`q` empty), from the batch's rows
    /// stored row-major (`b·p` entries): `R` and the eigenpairs of `RRᵀ`,
    /// equal to those of [`new`](Self::new) with [`FactorizationMethod::Qr`].
    /// About half the work of `new` (no thin `Q`, no transposed copy).
    pub(crate) fn without_q(rows: &[f64], b: usize, p: usize) -> Result<Self> {
        Self::with_r(DMatrix::zeros(0, 0), r_of_transpose(rows, b, p))
    }

    /// Completes a QR factorization with the eigenpairs of `RRᵀ`.
    fn with_r(q: DMatrix<f64>, r: DMatrix<f64>) -> Result<Self> {
        let mut m = &r * r.transpose();
        m = (&m + m.transpose()) * 0.5;
        let (eigenvalues, eigenvectors) = symmetric_eigen(&m)?;
        Ok(BatchFactorization {
            q,
            r,
            eigenvalues,
            eigenvectors,
        })
    }
}
