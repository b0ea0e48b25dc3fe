//! Linear least squares as a finite sum over fixed batches.

use crate::workspace::Workspace;

use nalgebra::{DMatrix, DVector};
use rand_distr::{Distribution, StandardNormal};

use super::batches::{batch_ranges, check_data, split_rows, split_vec};
use crate::State;
use crate::error::{Error, Result, check_dim};
use crate::kernels::rowmajor::{gradient, residual};
use crate::objective::FiniteSum;

/// Batches of fewer rows keep their gradient's residual in a stack array
/// and take no lock (their gradient needs no lane sums either): the lock of
/// the problem's [`Workspace`] costs 3–6 ns, about 8 % of a gradient with
/// p = 10 and b ≤ 4 (`benches/ratios/workspace_ratios`), and below 5 % from
/// ~100 ns per call on.
const STACK_ROWS: usize = 24;

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
    work: Workspace<GradientScratch>,
}

/// Per-caller gradient scratch for
/// [`LeastSquares::batch_gradient_scaled_with`]: the residual of a batch, and
/// two p-vectors of lane sums for batches of 24 rows or more (both sized on
/// first use, then reused).
///
/// The [`FiniteSum`] methods (which take `&self`) keep the residual of a
/// batch below 24 rows on the stack, and use one scratch of the problem's
/// own behind a lock for larger batches; a caller that owns a scratch skips
/// that lock, and threads sharing one problem stop taking turns on it.
#[derive(Debug, Clone, Default)]
pub struct GradientScratch {
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
                line: Some(k + 1),
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
            work: Workspace::new(GradientScratch {
                r: vec![0.0; batch_size],
                lanes: Vec::new(),
            }),
        })
    }

    /// Batch `i` as `(Xᵢ, yᵢ)`.
    pub fn batch(&self, i: usize) -> (&DMatrix<f64>, &DVector<f64>) {
        (&self.x[i], &self.y[i])
    }

    /// Batch `i`'s rows of X, row-major (`bᵢ·p` entries): the copy the
    /// gradient reads, lent to the Gram route of the exact flows.
    pub(crate) fn batch_rows(&self, i: usize) -> &[f64] {
        &self.rows[self.starts[i] * self.p..][..self.y[i].len() * self.p]
    }

    /// Number of rows n.
    pub fn num_rows(&self) -> usize {
        self.full_y.len()
    }

    /// [`batch_gradient_scaled`](FiniteSum::batch_gradient_scaled) (`g ←
    /// s·∇fᵢ(θ)`, bitwise) in the caller's `scratch` instead of the problem's
    /// own locked one: for a hot loop that owns its scratch, and for threads
    /// sharing one problem (each with its own scratch, none waits).
    ///
    /// # Panics
    /// When θ or g does not have p entries or `i` is not a batch, as the
    /// [`FiniteSum`] methods do.
    ///
    /// # Example
    /// ```
    /// use splitflow::problems::least_squares::{GradientScratch, LeastSquares, random_least_squares};
    /// use splitflow::objective::FiniteSum;
    /// use splitflow::State;
    /// let (x, y, _) = random_least_squares(40, 5, 0.1, 3)?;
    /// let ls = LeastSquares::new(&x, &y, 8)?;
    /// let theta = State::from_element(5, 0.5);
    /// let (mut g, mut mine) = (State::zeros(5), State::zeros(5));
    /// let mut scratch = GradientScratch::default();
    /// ls.batch_gradient_scaled(2, &theta, -0.1, &mut g);
    /// ls.batch_gradient_scaled_with(2, &theta, -0.1, &mut mine, &mut scratch);
    /// assert_eq!(g, mine);
    /// # Ok::<(), splitflow::Error>(())
    /// ```
    pub fn batch_gradient_scaled_with(
        &self,
        i: usize,
        theta: &State,
        s: f64,
        g: &mut State,
        scratch: &mut GradientScratch,
    ) {
        self.check_gradient_dims(theta, g);
        let b = self.y[i].len();
        let GradientScratch { r, lanes } = scratch;
        if r.len() < b {
            r.resize(b, 0.0);
        }
        if b >= STACK_ROWS && lanes.len() < 2 * self.p {
            lanes.resize(2 * self.p, 0.0);
        }
        self.gradient_in(i, theta, s, g, &mut r[..b], lanes);
    }

    /// Panics unless θ and g have p entries.
    fn check_gradient_dims(&self, theta: &State, g: &State) {
        let p = self.p;
        assert!(
            theta.len() == p && g.len() == p,
            "batch gradient: θ has {} and g {} entries, expected {p}",
            theta.len(),
            g.len()
        );
    }

    /// `g ← s·∇fᵢ(θ)` with the residual in `r` (bᵢ entries) and, for
    /// batches of [`STACK_ROWS`] rows or more, the lane sums in `lanes`
    /// (2p entries).
    fn gradient_in(
        &self,
        i: usize,
        theta: &State,
        s: f64,
        g: &mut State,
        r: &mut [f64],
        lanes: &mut [f64],
    ) {
        let (b, p) = (r.len(), self.p);
        let x = &self.rows[self.starts[i] * p..][..b * p];
        residual(x, p, theta.as_slice(), self.y[i].as_slice(), r);
        gradient(x, p, r, 1.0 / b as f64, s, g.as_mut_slice(), lanes);
    }

    /// `‖Xθ − y‖` (bitwise the norm of nalgebra's `gemv` residual).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] naming `θ` when it does not have p entries.
    ///
    /// # Example
    /// ```
    /// use splitflow::problems::least_squares::LeastSquares;
    /// use splitflow::{Error, State};
    /// use nalgebra::{DMatrix, DVector};
    /// let x = DMatrix::from_row_slice(2, 2, &[3.0, 0.0, 0.0, 4.0]);
    /// let ls = LeastSquares::new(&x, &DVector::zeros(2), 2)?;
    /// assert_eq!(ls.residual_norm(&State::from_element(2, 1.0))?, 5.0);
    /// assert!(matches!(
    ///     ls.residual_norm(&State::zeros(3)),
    ///     Err(Error::DimensionMismatch { expected: 2, found: 3, .. })
    /// ));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn residual_norm(&self, theta: &State) -> Result<f64> {
        check_dim("θ (least-squares residual)", self.p, theta.len())?;
        let mut r = DVector::zeros(self.num_rows());
        residual(
            &self.rows,
            self.p,
            theta.as_slice(),
            self.full_y.as_slice(),
            r.as_mut_slice(),
        );
        Ok(r.norm())
    }

    /// `‖Xθ − y‖ / ‖y‖` (the paper's stopping quantity on random least squares).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] naming `θ` when it does not have p entries.
    pub fn relative_residual(&self, theta: &State) -> Result<f64> {
        Ok(self.residual_norm(theta)? / self.full_y.norm())
    }

    /// `(1/n)‖Xθ − y‖²` (the paper's loss and its tomography stopping quantity).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] naming `θ` when it does not have p entries.
    pub fn mse(&self, theta: &State) -> Result<f64> {
        Ok(self.residual_norm(theta)?.powi(2) / self.num_rows() as f64)
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
    /// Below 24 rows the residual lives on the stack and no
    /// lock is taken; larger batches use the problem's locked scratch.
    fn batch_gradient_scaled(&self, i: usize, theta: &State, s: f64, g: &mut State) {
        let b = self.y[i].len();
        if b < STACK_ROWS {
            let mut r = [0.0; STACK_ROWS];
            self.check_gradient_dims(theta, g);
            self.gradient_in(i, theta, s, g, &mut r[..b], &mut []);
        } else {
            self.batch_gradient_scaled_with(i, theta, s, g, &mut self.work.lock());
        }
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
    crate::error::check_nonnegative("noise", noise)?;
    let mut rng = crate::random::seeded_rng(seed);
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

    /// The wiring of the row-major kernels (whose bitwise equality with
    /// nalgebra is tested in `kernels::rowmajor`): every batch, the partial
    /// last one included, reads its own rows and targets (through the stack
    /// residual below 24 rows, the locked scratch above), the lane
    /// workspace grows for batches of 24 rows or more (the problem's and a
    /// caller's), the fused scale is applied, and the residual norm reads
    /// all rows — so gradients and
    /// norms are bitwise nalgebra's `gemv` / `gemv_tr` on the column-major
    /// batches.
    #[test]
    fn batch_gradient_is_bitwise_nalgebra_gemv() {
        for (n, p, bs) in [(30, 3, 4), (61, 6, 20), (100, 11, 47), (64, 16, 32)] {
            let (x, y, _) = random_least_squares(n, p, 0.3, 11).unwrap();
            let ls = LeastSquares::new(&x, &y, bs).unwrap();
            let theta = State::from_fn(p, |j, _| 0.25 * j as f64 - 0.8);
            let (mut g, mut gs) = (State::zeros(p), State::zeros(p));
            let mut scratch = GradientScratch::default();
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
                // The caller's scratch (one for every batch, sized on first
                // use) gives the same bits as the problem's locked one.
                ls.batch_gradient_scaled_with(i, &theta, s, &mut gs, &mut scratch);
                assert_eq!(bits(&gs), bits(&want), "with: n={n} p={p} b={bs} batch {i}");
            }
            let mut r = y.clone();
            r.gemv(1.0, &x, &theta, -1.0);
            assert_eq!(
                ls.residual_norm(&theta).unwrap().to_bits(),
                r.norm().to_bits()
            );
        }
    }

    /// θ of the wrong length is an error naming θ and both sizes for the
    /// three residual measures, never a panic; the right length gives
    /// `relative_residual = residual_norm/‖y‖` and `mse = residual_norm²/n`.
    #[test]
    fn residual_measures_refuse_a_wrong_theta() {
        let (x, y, _) = random_least_squares(12, 3, 0.1, 5).unwrap();
        let ls = LeastSquares::new(&x, &y, 4).unwrap();
        for bad in [0, 2, 4] {
            let theta = State::zeros(bad);
            for (what, r) in [
                ("residual_norm", ls.residual_norm(&theta)),
                ("relative_residual", ls.relative_residual(&theta)),
                ("mse", ls.mse(&theta)),
            ] {
                match r {
                    Err(Error::DimensionMismatch {
                        what: name,
                        expected: 3,
                        found,
                    }) => {
                        assert_eq!(found, bad, "{what}");
                        assert!(name.contains('θ'), "{what}: {name}");
                    }
                    other => panic!("{what} with {bad} entries: {other:?}"),
                }
            }
        }
        let theta = State::from_element(3, 0.5);
        let norm = ls.residual_norm(&theta).unwrap();
        assert_eq!(
            ls.relative_residual(&theta).unwrap().to_bits(),
            (norm / y.norm()).to_bits()
        );
        assert_eq!(
            ls.mse(&theta).unwrap().to_bits(),
            (norm.powi(2) / 12.0).to_bits()
        );
    }
}
