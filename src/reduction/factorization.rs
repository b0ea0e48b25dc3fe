//! Per-batch factorizations with faer: thin QR of `Xᵢᵀ` and the
//! eigen-decomposition of `RᵢRᵢᵀ` (or of the Gram matrix `XᵢXᵢᵀ`).

use faer::{MatRef, Side};
use nalgebra::{DMatrix, DVector};

use crate::error::{Error, Result};

/// How a batch is factorized: for the exact least-squares flow, and the
/// coordinates of the reduced logistic and softmax flows
/// ([`ReducedLogisticFlow::with_factorization`](super::ReducedLogisticFlow::with_factorization)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FactorizationMethod {
    /// Thin QR `Xᵢᵀ = QᵢRᵢ`, then eigenpairs of `RᵢRᵢᵀ` (k×k); the reduced
    /// nonlinear flows integrate `η = Qᵢᵀθ`. The default of the
    /// least-squares flow.
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
    /// `Q` (p×k) of the thin QR of `Xᵀ` (empty for [`FactorizationMethod::Gram`]).
    pub q: DMatrix<f64>,
    /// `R` (k×b) of the thin QR of `Xᵀ` (empty for [`FactorizationMethod::Gram`]).
    pub r: DMatrix<f64>,
    /// Eigenvalues (ascending) of `RRᵀ` (QR) or `XXᵀ` (Gram).
    pub eigenvalues: DVector<f64>,
    /// The matching orthonormal eigenvectors, as columns.
    pub eigenvectors: DMatrix<f64>,
}

fn to_nalgebra(m: MatRef<'_, f64>) -> DMatrix<f64> {
    DMatrix::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)])
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

/// Thin QR `Xᵀ = QR` with faer (Q: p×k, R: k×b, k = min(b, p)).
pub(crate) fn thin_qr_of_transpose(x: &DMatrix<f64>) -> (DMatrix<f64>, DMatrix<f64>) {
    let xt = x.transpose();
    let qr = faer_view(&xt).qr();
    (
        to_nalgebra(qr.compute_thin_Q().as_ref()),
        to_nalgebra(qr.thin_R()),
    )
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
}
