//! Tomography test problems (AIR Tools II line model): fan-beam and parallel-beam
//! matrices and the modified Shepp–Logan phantom.
//!
//! The seed paper's "real linear system" is the AIR Tools II test problem
//! `fanlineartomo(50)` with its default settings: a 12780 × 2500 sparse matrix
//! `A`, the 50 × 50 modified Shepp–Logan phantom `x` as the true image, and the
//! exact data `b = A·x`. This module generates that system ([`fanlinear`]), the
//! parallel-beam system of the same shape ([`parallel`]), and the phantom
//! ([`shepp_logan`]), from the description in AIR Tools II (Hansen &
//! Jørgensen), reimplemented in Rust.
//!
//! ## The line model
//!
//! The image domain is the square $[-N/2, N/2]^2$ split into N × N unit pixels.
//! Entry `A[i, j]` is the length of ray `i` inside pixel `j`:
//!
//! $$ A_{ij} = \operatorname{length}(\text{ray}_i \cap \text{pixel}_j), \qquad
//!    0 < A_{ij} \le \sqrt 2 \text{ when nonzero.} $$
//!
//! Image row `r` (0-based, from the **top**) covers $y \in [N/2 - r - 1, N/2 - r]$,
//! column `c` covers $x \in [c - N/2, c - N/2 + 1]$, and the image is stored
//! column-major: pixel `(r, c)` is vector index `j = c·N + r`. Row `i` of the
//! matrix is `angle_index · p + ray_index` (angle-major); rays that miss the
//! image give all-zero rows.
//!
//! ## Example
//! ```
//! use splitflow::problems::tomography::{fanlinear, shepp_logan};
//!
//! let a = fanlinear(50)?;
//! let x = shepp_logan(50)?;
//! let b = a.mul_vec(&x)?;
//! assert_eq!((a.nrows(), a.ncols()), (12780, 2500));
//! assert!(b.norm() > 0.0);
//! # Ok::<(), splitflow::Error>(())
//! ```
//!
//! ## Reference
//! P. C. Hansen and J. S. Jørgensen, *AIR Tools II: algebraic iterative
//! reconstruction methods, improved implementation*, Numerical Algorithms 79
//! (2018), 107–137 (`paralleltomo`, `fanlineartomo`, `phantomgallery`).
//! P. Toft, *The Radon Transform: Theory and Implementation*, PhD thesis, DTU
//! (1996) (the modified Shepp–Logan phantom).

use std::cmp::Ordering;
use std::f64::consts::{PI, SQRT_2};
use std::fmt;
use std::str::FromStr;

use nalgebra::{DMatrix, DVector};
use serde::Serialize;

use crate::error::{Error, Result, check_dim};

// ---------------------------------------------------------------------------
// Sparse matrix
// ---------------------------------------------------------------------------

/// A real sparse matrix in compressed sparse row (CSR) form.
///
/// Row `i` holds the column indices `col_indices()[row_offsets()[i]..row_offsets()[i + 1]]`
/// (strictly increasing) and the matching values. Built from `(row, col, value)`
/// triplets with duplicates summed ([`SparseMatrix::from_triplets`]). The
/// splitting solvers work on dense batches of rows: see
/// [`SparseMatrix::dense_rows`].
///
/// # Example
/// ```
/// use nalgebra::dvector;
/// use splitflow::problems::tomography::SparseMatrix;
///
/// // [[1, 0, 2], [0, 0, 0]] with the (0, 2) entry given in two parts.
/// let a = SparseMatrix::from_triplets(2, 3, &[(0, 2, 1.5), (0, 0, 1.0), (0, 2, 0.5)])?;
/// assert_eq!(a.nnz(), 2);
/// assert_eq!(a.row(0), (&[0, 2][..], &[1.0, 2.0][..]));
/// assert_eq!(a.mul_vec(&dvector![1.0, 1.0, 1.0])?, dvector![3.0, 0.0]);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SparseMatrix {
    nrows: usize,
    ncols: usize,
    row_ptr: Vec<usize>,
    col_idx: Vec<usize>,
    values: Vec<f64>,
}

impl SparseMatrix {
    /// Builds an `nrows × ncols` matrix from `(row, col, value)` triplets.
    ///
    /// Duplicate `(row, col)` entries are summed in the order given (a stable
    /// bucket sort by row, then a stable sort by column within each row, then
    /// a merge); entries that sum to exactly zero are not stored, as in
    /// MATLAB's `sparse`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when an index is out of range, a value is
    /// not finite, or `nrows · ncols` overflows `usize`.
    pub fn from_triplets(
        nrows: usize,
        ncols: usize,
        entries: &[(usize, usize, f64)],
    ) -> Result<Self> {
        if nrows.checked_mul(ncols).is_none() || nrows == usize::MAX {
            return Err(Error::invalid(
                "shape",
                format!("{nrows} x {ncols}"),
                "nrows * ncols overflows usize",
            ));
        }
        // Bucket the entries by row, keeping their relative order.
        let mut row_ptr = vec![0usize; nrows + 1];
        for &(r, c, v) in entries {
            if r >= nrows {
                return Err(Error::invalid("row index", r, "must be < nrows"));
            }
            if c >= ncols {
                return Err(Error::invalid("column index", c, "must be < ncols"));
            }
            if !v.is_finite() {
                return Err(Error::invalid("value", v, "must be finite"));
            }
            row_ptr[r + 1] += 1;
        }
        for i in 0..nrows {
            row_ptr[i + 1] += row_ptr[i];
        }
        let mut next = row_ptr.clone();
        let mut bucket = vec![(0usize, 0.0f64); entries.len()];
        for &(r, c, v) in entries {
            bucket[next[r]] = (c, v);
            next[r] += 1;
        }
        let mut builder = CsrBuilder::new(ncols, nrows, entries.len());
        for i in 0..nrows {
            builder.push_row(&mut bucket[row_ptr[i]..row_ptr[i + 1]]);
        }
        Ok(builder.finish())
    }

    /// Number of rows.
    pub fn nrows(&self) -> usize {
        self.nrows
    }

    /// Number of columns.
    pub fn ncols(&self) -> usize {
        self.ncols
    }

    /// Number of stored (nonzero) entries.
    pub fn nnz(&self) -> usize {
        self.values.len()
    }

    /// Row `i` as (column indices, values); the column indices are strictly
    /// increasing.
    ///
    /// # Panics
    /// If `i >= nrows()` (like slice indexing). Use [`SparseMatrix::dense_rows`]
    /// for a checked, batched access.
    pub fn row(&self, i: usize) -> (&[usize], &[f64]) {
        let range = self.row_ptr[i]..self.row_ptr[i + 1];
        (&self.col_idx[range.clone()], &self.values[range])
    }

    /// The CSR row offsets (`nrows() + 1` entries, starting at 0).
    pub fn row_offsets(&self) -> &[usize] {
        &self.row_ptr
    }

    /// The column index of every stored entry, row by row.
    pub fn col_indices(&self) -> &[usize] {
        &self.col_idx
    }

    /// The value of every stored entry, row by row.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The matrix–vector product `A·x`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] unless `x.len() == ncols()`.
    pub fn mul_vec(&self, x: &DVector<f64>) -> Result<DVector<f64>> {
        check_dim("SparseMatrix::mul_vec argument", self.ncols, x.len())?;
        Ok(DVector::from_fn(self.nrows, |i, _| {
            let (cols, vals) = self.row(i);
            cols.iter().zip(vals).map(|(&c, &v)| v * x[c]).sum()
        }))
    }

    /// The transposed product `Aᵀ·y`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] unless `y.len() == nrows()`.
    pub fn tr_mul_vec(&self, y: &DVector<f64>) -> Result<DVector<f64>> {
        check_dim("SparseMatrix::tr_mul_vec argument", self.nrows, y.len())?;
        let mut out = DVector::zeros(self.ncols);
        for i in 0..self.nrows {
            let (cols, vals) = self.row(i);
            for (&c, &v) in cols.iter().zip(vals) {
                out[c] += v * y[i];
            }
        }
        Ok(out)
    }

    /// The matrix as a dense `nrows × ncols` matrix.
    pub fn to_dense(&self) -> DMatrix<f64> {
        let all: Vec<usize> = (0..self.nrows).collect();
        self.gather_rows(&all)
    }

    /// Rows `rows[0], rows[1], …` stacked as a dense `rows.len() × ncols`
    /// matrix (a mini-batch for the splitting solvers). Repeated indices are
    /// allowed.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when an index is `>= nrows()`.
    pub fn dense_rows(&self, rows: &[usize]) -> Result<DMatrix<f64>> {
        if let Some(&bad) = rows.iter().find(|&&i| i >= self.nrows) {
            return Err(Error::invalid("row index", bad, "must be < nrows"));
        }
        Ok(self.gather_rows(rows))
    }

    fn gather_rows(&self, rows: &[usize]) -> DMatrix<f64> {
        let mut out = DMatrix::zeros(rows.len(), self.ncols);
        for (k, &i) in rows.iter().enumerate() {
            let (cols, vals) = self.row(i);
            for (&c, &v) in cols.iter().zip(vals) {
                out[(k, c)] = v;
            }
        }
        out
    }

    /// The row-permuted matrix `P·A` whose row `k` is row `perm[k]` of `A`
    /// (apply the same permutation to the right-hand side: `b'[k] = b[perm[k]]`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `perm` is a permutation of `0..nrows()`.
    pub fn permute_rows(&self, perm: &[usize]) -> Result<SparseMatrix> {
        check_dim("row permutation", self.nrows, perm.len())?;
        let mut seen = vec![false; self.nrows];
        for &i in perm {
            if i >= self.nrows || seen[i] {
                return Err(Error::invalid(
                    "row permutation",
                    i,
                    "must be a permutation of 0..nrows (index out of range or repeated)",
                ));
            }
            seen[i] = true;
        }
        let mut row_ptr = Vec::with_capacity(self.nrows + 1);
        let mut col_idx = Vec::with_capacity(self.nnz());
        let mut values = Vec::with_capacity(self.nnz());
        row_ptr.push(0);
        for &i in perm {
            let (cols, vals) = self.row(i);
            col_idx.extend_from_slice(cols);
            values.extend_from_slice(vals);
            row_ptr.push(col_idx.len());
        }
        Ok(SparseMatrix {
            nrows: self.nrows,
            ncols: self.ncols,
            row_ptr,
            col_idx,
            values,
        })
    }

    /// Number of rows without any stored entry.
    pub fn zero_rows(&self) -> usize {
        self.row_ptr.windows(2).filter(|w| w[0] == w[1]).count()
    }

    /// The sum of all entries, $\sum_{ij} A_{ij}$ (for the line model: the
    /// total length of all rays inside the image).
    pub fn sum(&self) -> f64 {
        self.values.iter().sum()
    }

    /// The Frobenius norm $\|A\|_F = (\sum_{ij} A_{ij}^2)^{1/2}$.
    pub fn frobenius_norm(&self) -> f64 {
        self.values.iter().map(|v| v * v).sum::<f64>().sqrt()
    }
}

/// Assembles a CSR matrix row by row (rows pushed in order).
struct CsrBuilder {
    ncols: usize,
    row_ptr: Vec<usize>,
    col_idx: Vec<usize>,
    values: Vec<f64>,
}

impl CsrBuilder {
    fn new(ncols: usize, nrows_hint: usize, nnz_hint: usize) -> Self {
        let mut row_ptr = Vec::with_capacity(nrows_hint + 1);
        row_ptr.push(0);
        CsrBuilder {
            ncols,
            row_ptr,
            col_idx: Vec::with_capacity(nnz_hint),
            values: Vec::with_capacity(nnz_hint),
        }
    }

    /// Appends the next row from its `(col, value)` entries (columns
    /// `< ncols`): a stable sort by column, duplicates summed in the given
    /// order, exact zeros dropped.
    fn push_row(&mut self, entries: &mut [(usize, f64)]) {
        entries.sort_by_key(|e| e.0);
        let start = self.col_idx.len();
        for &(c, v) in entries.iter() {
            if self.col_idx.len() > start && self.col_idx.last() == Some(&c) {
                if let Some(last) = self.values.last_mut() {
                    *last += v;
                }
            } else {
                self.col_idx.push(c);
                self.values.push(v);
            }
        }
        let mut k = start;
        for m in start..self.col_idx.len() {
            if self.values[m] != 0.0 {
                self.col_idx[k] = self.col_idx[m];
                self.values[k] = self.values[m];
                k += 1;
            }
        }
        self.col_idx.truncate(k);
        self.values.truncate(k);
        self.row_ptr.push(k);
    }

    fn finish(self) -> SparseMatrix {
        SparseMatrix {
            nrows: self.row_ptr.len() - 1,
            ncols: self.ncols,
            row_ptr: self.row_ptr,
            col_idx: self.col_idx,
            values: self.values,
        }
    }
}

// ---------------------------------------------------------------------------
// Phantom
// ---------------------------------------------------------------------------

/// The modified Shepp–Logan ellipses (Toft): `[A, a, b, x0, y0, φ (degrees)]`.
const SHEPP_LOGAN_ELLIPSES: [[f64; 6]; 10] = [
    [1.0, 0.69, 0.92, 0.0, 0.0, 0.0],
    [-0.8, 0.6624, 0.8740, 0.0, -0.0184, 0.0],
    [-0.2, 0.1100, 0.3100, 0.22, 0.0, -18.0],
    [-0.2, 0.1600, 0.4100, -0.22, 0.0, 18.0],
    [0.1, 0.2100, 0.2500, 0.0, 0.35, 0.0],
    [0.1, 0.0460, 0.0460, 0.0, 0.1, 0.0],
    [0.1, 0.0460, 0.0460, 0.0, -0.1, 0.0],
    [0.1, 0.0460, 0.0230, -0.08, -0.605, 0.0],
    [0.1, 0.0230, 0.0230, 0.0, -0.606, 0.0],
    [0.1, 0.0230, 0.0460, 0.06, -0.605, 0.0],
];

/// The modified Shepp–Logan phantom (Toft) on an N × N grid, vectorized
/// column-major (`j = c·N + r`, image row `r` counted from the top).
///
/// Pixel centres have coordinates $ξ_c = (c - (N-1)/2)\,/\,((N-1)/2)$ for
/// column `c` and $y_r = ξ_{N-1-r}$ for row `r` (the single pixel of N = 1 sits
/// at the origin). Each ellipse `(A, a, b, x0, y0, φ)` adds `A` to every pixel
/// with
///
/// $$ \Big(\frac{X\cos φ + Y \sin φ}{a}\Big)^2 + \Big(\frac{Y \cos φ - X \sin φ}{b}\Big)^2 \le 1,
///    \qquad X = ξ - x_0,\ Y = y - y_0, $$
///
/// in the order of Toft's table; negative values are then clamped to 0. The
/// values are (up to rounding) in {0, 0.1, 0.2, 0.3, 0.4, 1}.
///
/// # Errors
/// [`Error::InvalidParameter`] for `n = 0` or when `n²` overflows `usize`.
///
/// # Example
/// ```
/// use splitflow::problems::tomography::shepp_logan;
/// let x = shepp_logan(50)?;
/// assert_eq!(x.len(), 2500);
/// assert!((x.sum() - 302.4).abs() < 1e-9);
/// assert_eq!(x.iter().filter(|&&v| v != 0.0).count(), 1018);
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn shepp_logan(n: usize) -> Result<DVector<f64>> {
    let pixels = check_grid(n)?;
    let half = (n as f64 - 1.0) / 2.0;
    let coord = |k: usize| {
        if n == 1 {
            0.0
        } else {
            (k as f64 - half) / half
        }
    };
    let mut x = DVector::<f64>::zeros(pixels);
    for e in &SHEPP_LOGAN_ELLIPSES {
        let [amp, a, b, x0, y0, phi_deg] = *e;
        let phi = phi_deg * PI / 180.0;
        let (cos_phi, sin_phi) = (phi.cos(), phi.sin());
        for c in 0..n {
            let xx = coord(c) - x0;
            for r in 0..n {
                let yy = coord(n - 1 - r) - y0;
                let u = (xx * cos_phi + yy * sin_phi) / a;
                let v = (yy * cos_phi - xx * sin_phi) / b;
                if u * u + v * v <= 1.0 {
                    x[c * n + r] += amp;
                }
            }
        }
    }
    x.iter_mut().for_each(|v| *v = v.max(0.0));
    Ok(x)
}

// ---------------------------------------------------------------------------
// Geometries
// ---------------------------------------------------------------------------

/// Parallel-beam geometry, AIR Tools II `paralleltomo(N, θ, p, d)`.
///
/// For every angle θ (degrees) there are `p` parallel rays with offsets
/// $s_j = $ `linspace(−d/2, d/2, p)`; ray `j` starts at
/// $(s_j \cos θ, s_j \sin θ)$ and runs along $(-\sin θ, \cos θ)$ (at θ = 0 the
/// rays are vertical, offset along x). A ray lying on the top or right edge of
/// the image is skipped (its row stays zero), so each boundary segment belongs
/// to exactly one pixel column/row. Matrix row `angle_index · p + j`.
///
/// Defaults ([`ParallelBeam::new`]): θ = 0, 1, …, 179, $p = \operatorname{round}(\sqrt 2 N)$,
/// d = p − 1 (rays one pixel apart). For N = 50: 180 · 71 = 12780 rows.
///
/// # Example
/// ```
/// use splitflow::problems::tomography::ParallelBeam;
/// // Four angles, 10 rays, 20 × 20 image.
/// let geometry = ParallelBeam { angles: vec![0.0, 45.0, 90.0, 135.0], rays: 10, ..ParallelBeam::new(20) };
/// let a = geometry.matrix()?;
/// assert_eq!((a.nrows(), a.ncols()), (40, 400));
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ParallelBeam {
    /// Image size N (N × N pixels).
    pub n: usize,
    /// Projection angles θ in degrees.
    pub angles: Vec<f64>,
    /// Rays per angle, p.
    pub rays: usize,
    /// Distance d between the first and the last ray (pixel units).
    pub width: f64,
}

impl ParallelBeam {
    /// AIR Tools II defaults for an N × N image: θ = 0:179°, p = round(√2·N), d = p − 1.
    pub fn new(n: usize) -> Self {
        let rays = default_rays(n);
        ParallelBeam {
            n,
            angles: (0..180).map(f64::from).collect(),
            rays,
            width: rays.saturating_sub(1) as f64,
        }
    }

    /// The `(angles · p) × N²` line-model matrix.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `n = 0`, no angles, a non-finite
    /// angle, `rays = 0`, a negative or non-finite width, or sizes that
    /// overflow `usize` or whose matrix could exceed
    /// [`MAX_MATRIX_BYTES`](crate::limits::MAX_MATRIX_BYTES).
    pub fn matrix(&self) -> Result<SparseMatrix> {
        let n = self.n;
        let cols = check_grid(n)?;
        let rows = check_rays(&self.angles, self.rays)?;
        check_size(n, rows)?;
        if !(self.width.is_finite() && self.width >= 0.0) {
            return Err(Error::invalid(
                "width",
                self.width,
                "must be finite and >= 0",
            ));
        }
        let p = self.rays;
        let half = n as f64 / 2.0;
        // linspace(-d/2, d/2, p): exact integers / half-integers for d = p - 1.
        let offsets: Vec<f64> = if p == 1 {
            vec![0.0]
        } else {
            let step = self.width / (2.0 * (p - 1) as f64);
            (0..p)
                .map(|j| (2.0 * j as f64 - (p - 1) as f64) * step)
                .collect()
        };
        let mut tracer = RayTracer::new(n);
        let mut csr = CsrBuilder::new(cols, rows, 0);
        for &theta in &self.angles {
            let (cos_t, sin_t) = cos_sin_deg(theta);
            let (a, b) = (-sin_t, cos_t);
            for &s in &offsets {
                let (x0, y0) = (s * cos_t, s * sin_t);
                let on_top = b == 0.0 && (y0 - half).abs() < 1e-15;
                let on_right = a == 0.0 && (x0 - half).abs() < 1e-15;
                if on_top || on_right {
                    csr.push_row(&mut []);
                } else {
                    csr.push_row(tracer.trace(x0, y0, a, b));
                }
            }
        }
        Ok(csr.finish())
    }
}

/// Fan-beam geometry with a flat (linear) detector, AIR Tools II
/// `fanlineartomo(N, θ, p, R, dw, sd)`.
///
/// Lengths are in units of N: source radius R·N, detector width dw·N,
/// source–detector distance sd·N. The detector has `p` elements of width
/// δ = dw·N / p with centres $u_j = (j - (p-1)/2)\,δ$, j = 0, …, p − 1; ray
/// `j` aims at $u_j$ and deviates from the central ray by
///
/// $$ ω_j = \arctan\big(u_j / (sd·N)\big) \quad (\text{from } -ω_{\max} \text{ to } +ω_{\max}). $$
///
/// For source angle θ (degrees) the source is $S = (-R N \sin θ,\ R N \cos θ)$,
/// the central direction is $-S/\|S\|$, and ray `j` runs from `S` along the
/// central direction rotated counter-clockwise by $ω_j$. Matrix row
/// `angle_index · p + j`. Rays missing the image give zero rows.
///
/// Defaults ([`FanLinearBeam::new`]): θ = 0, 2, …, 358, p = round(√2·N),
/// R = 2, dw = 2.5, sd = 3. For N = 50: 180 · 71 = 12780 rows.
///
/// # Example
/// ```
/// use splitflow::problems::tomography::FanLinearBeam;
/// let geometry = FanLinearBeam { angles: vec![0.0, 90.0], ..FanLinearBeam::new(10) };
/// let a = geometry.matrix()?;
/// assert_eq!((a.nrows(), a.ncols()), (2 * 14, 100));
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FanLinearBeam {
    /// Image size N (N × N pixels).
    pub n: usize,
    /// Source angles θ in degrees.
    pub angles: Vec<f64>,
    /// Rays (detector elements) per source angle, p.
    pub rays: usize,
    /// Source distance from the centre R, in units of N (at least √2/2).
    pub source_radius: f64,
    /// Detector width dw, in units of N.
    pub detector_width: f64,
    /// Source–detector distance sd, in units of N.
    pub source_detector: f64,
}

impl FanLinearBeam {
    /// AIR Tools II defaults for an N × N image: θ = 0:2:358°, p = round(√2·N),
    /// R = 2, dw = 2.5, sd = 3.
    pub fn new(n: usize) -> Self {
        FanLinearBeam {
            n,
            angles: (0..180).map(|k| f64::from(2 * k)).collect(),
            rays: default_rays(n),
            source_radius: 2.0,
            detector_width: 2.5,
            source_detector: 3.0,
        }
    }

    /// The `(angles · p) × N²` line-model matrix.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `n = 0`, no angles, a non-finite
    /// angle, `rays = 0`, `source_radius < √2/2` (the source would be inside
    /// the image's circumscribed circle), a non-positive detector width or
    /// source–detector distance, non-finite lengths, or sizes that overflow
    /// `usize` or whose matrix could exceed
    /// [`MAX_MATRIX_BYTES`](crate::limits::MAX_MATRIX_BYTES).
    pub fn matrix(&self) -> Result<SparseMatrix> {
        let n = self.n;
        let cols = check_grid(n)?;
        let rows = check_rays(&self.angles, self.rays)?;
        check_size(n, rows)?;
        let r = self.source_radius;
        if !(r.is_finite() && r >= SQRT_2 / 2.0) {
            return Err(Error::invalid(
                "source_radius",
                r,
                "must be finite and >= sqrt(2)/2 (in units of N)",
            ));
        }
        for (name, v) in [
            ("detector_width", self.detector_width),
            ("source_detector", self.source_detector),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::invalid(name, v, "must be finite and > 0"));
            }
        }
        let p = self.rays;
        let nf = n as f64;
        let (radius, width, dist) = (r * nf, self.detector_width * nf, self.source_detector * nf);
        let element = width / p as f64;
        let centre = (p as f64 - 1.0) / 2.0;
        // (cos ω_j, sin ω_j) for every ray; ω = 0 exactly for the central ray.
        let rotations: Vec<(f64, f64)> = (0..p)
            .map(|j| {
                let omega = ((j as f64 - centre) * element / dist).atan();
                (omega.cos(), omega.sin())
            })
            .collect();
        let mut tracer = RayTracer::new(n);
        let mut csr = CsrBuilder::new(cols, rows, 0);
        for &theta in &self.angles {
            let (cos_t, sin_t) = cos_sin_deg(theta);
            let (sx, sy) = (-radius * sin_t, radius * cos_t);
            let norm = sx.hypot(sy);
            let (cx, cy) = (-sx / norm, -sy / norm);
            for &(cos_w, sin_w) in &rotations {
                let a = cx * cos_w - cy * sin_w;
                let b = cx * sin_w + cy * cos_w;
                csr.push_row(tracer.trace(sx, sy, a, b));
            }
        }
        Ok(csr.finish())
    }
}

/// The default number of rays, `round(√2·N)`.
fn default_rays(n: usize) -> usize {
    (SQRT_2 * n as f64).round() as usize
}

/// Validates N and returns the number of pixels N².
fn check_grid(n: usize) -> Result<usize> {
    if n == 0 {
        return Err(Error::invalid(
            "n",
            n,
            "the image needs at least 1 x 1 pixels",
        ));
    }
    n.checked_mul(n)
        .ok_or_else(|| Error::invalid("n", n, "n * n overflows usize"))
}

/// Refuses grids whose system matrix could exceed
/// [`MAX_MATRIX_BYTES`](crate::limits::MAX_MATRIX_BYTES): a ray crosses at
/// most 2N − 1 pixels, and each stored entry takes 16 bytes (value and
/// column index); the N² image and the row offsets come on top.
fn check_size(n: usize, rows: usize) -> Result<()> {
    let (nf, rf) = (n as f64, rows as f64);
    let per_row = (2.0 * nf - 1.0).min(nf * nf);
    let bytes = rf * per_row * 16.0 + rf * 8.0 + nf * nf * 8.0;
    crate::limits::check_matrix_bytes(
        "n",
        n,
        &format!(
            "the system matrix ({rows} rays x {n}^2 pixels, up to {} entries per ray)",
            per_row
        ),
        bytes,
    )
}

/// Validates the angles and the rays per angle; returns the number of rows.
fn check_rays(angles: &[f64], rays: usize) -> Result<usize> {
    if angles.is_empty() {
        return Err(Error::invalid(
            "angles",
            "[]",
            "at least one angle is needed",
        ));
    }
    if let Some(&bad) = angles.iter().find(|t| !t.is_finite()) {
        return Err(Error::invalid("angle", bad, "must be finite"));
    }
    if rays == 0 {
        return Err(Error::invalid(
            "rays",
            rays,
            "at least one ray per angle is needed",
        ));
    }
    angles
        .len()
        .checked_mul(rays)
        .ok_or_else(|| Error::invalid("rays", rays, "angles * rays overflows usize"))
}

/// `(cos θ, sin θ)` for θ in degrees, exact (0 and ±1) at multiples of 90°;
/// other angles use `cos(π·θ/180)`, `sin(π·θ/180)`.
fn cos_sin_deg(theta: f64) -> (f64, f64) {
    let r = theta.rem_euclid(360.0);
    if r == 0.0 {
        (1.0, 0.0)
    } else if r == 90.0 {
        (0.0, 1.0)
    } else if r == 180.0 {
        (-1.0, 0.0)
    } else if r == 270.0 {
        (0.0, -1.0)
    } else {
        let rad = PI * theta / 180.0;
        (rad.cos(), rad.sin())
    }
}

/// An intersection of a ray with a grid line: parameter `t` and point `(x, y)`.
#[derive(Debug, Clone, Copy)]
struct Crossing {
    t: f64,
    x: f64,
    y: f64,
}

/// Ray/pixel intersection on the N × N grid with reusable workspaces.
struct RayTracer {
    n: usize,
    half: f64,
    lines: Vec<f64>,
    points: Vec<Crossing>,
    kept: Vec<Crossing>,
    entries: Vec<(usize, f64)>,
}

impl RayTracer {
    fn new(n: usize) -> Self {
        let half = n as f64 / 2.0;
        RayTracer {
            n,
            half,
            lines: (0..=n).map(|k| k as f64 - half).collect(),
            points: Vec::with_capacity(2 * (n + 1)),
            kept: Vec::with_capacity(2 * (n + 1)),
            entries: Vec::with_capacity(2 * (n + 1)),
        }
    }

    /// The `(pixel, length)` entries, in order along the ray, of the ray through `(x0, y0)` with
    /// direction `(a, b)`:
    /// 1–2. crossings with the lines x = k and y = k (±inf/NaN for a family
    ///      parallel to the ray),
    /// 3–4. points inside the closed square (this also drops the non-finite
    ///      ones), stable-sorted by t,
    /// 5.   corner crossings: point k is dropped when point k + 1 is within
    ///      1e-10 in both coordinates,
    /// 6.   each segment's length goes to the pixel of its midpoint.
    fn trace(&mut self, x0: f64, y0: f64, a: f64, b: f64) -> &mut [(usize, f64)] {
        let h = self.half;
        self.points.clear();
        for &k in &self.lines {
            let t = (k - x0) / a;
            self.points.push(Crossing {
                t,
                x: k,
                y: b * t + y0,
            });
        }
        for &k in &self.lines {
            let t = (k - y0) / b;
            self.points.push(Crossing {
                t,
                x: a * t + x0,
                y: k,
            });
        }
        // Filtering before the stable sort keeps the same relative order as
        // sorting first; it removes every NaN, so the comparison is total.
        self.points
            .retain(|p| p.t.is_finite() && p.x >= -h && p.x <= h && p.y >= -h && p.y <= h);
        self.points
            .sort_by(|p, q| p.t.partial_cmp(&q.t).unwrap_or(Ordering::Equal));
        self.kept.clear();
        for (k, p) in self.points.iter().enumerate() {
            let corner = self
                .points
                .get(k + 1)
                .is_some_and(|q| (q.x - p.x).abs() <= 1e-10 && (q.y - p.y).abs() <= 1e-10);
            if !corner {
                self.kept.push(*p);
            }
        }
        let n = self.n;
        self.entries.clear();
        for w in self.kept.windows(2) {
            let (dx, dy) = (w[1].x - w[0].x, w[1].y - w[0].y);
            let length = (dx * dx + dy * dy).sqrt();
            let xm = 0.5 * (w[0].x + w[1].x) + h;
            let ym = 0.5 * (w[0].y + w[1].y) + h;
            let (fx, fy) = (xm.floor(), ym.floor());
            // A segment on the top or right edge would fall outside the grid;
            // such segments are skipped (never reached with the default
            // geometries, where the parallel beam skips those rays).
            if fx >= 0.0 && fy >= 0.0 && fx < n as f64 && fy < n as f64 {
                let (c, ry) = (fx as usize, fy as usize);
                self.entries.push((c * n + (n - 1 - ry), length));
            }
        }
        &mut self.entries
    }
}

/// The parallel-beam matrix of AIR Tools II `paralleltomo(n)` with its
/// defaults (θ = 0:179°, p = round(√2·N), d = p − 1): `180·p × N²`.
///
/// See [`ParallelBeam`] for the geometry and other parameters.
///
/// # Errors
/// [`Error::InvalidParameter`] for `n = 0` (or a too large `n`).
///
/// # Example
/// ```
/// use splitflow::problems::tomography::parallel;
/// let a = parallel(50)?;
/// assert_eq!((a.nrows(), a.ncols()), (12780, 2500));
/// // θ = 0, central ray: the vertical line x = 0, one unit in each pixel of column 25.
/// let (cols, vals) = a.row(35);
/// assert_eq!(cols, (1250..1300).collect::<Vec<_>>());
/// assert!(vals.iter().all(|&v| (v - 1.0).abs() < 1e-12));
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn parallel(n: usize) -> Result<SparseMatrix> {
    ParallelBeam::new(n).matrix()
}

/// The fan-beam (flat detector) matrix of AIR Tools II `fanlineartomo(n)` with
/// its defaults (θ = 0:2:358°, p = round(√2·N), R = 2, dw = 2.5, sd = 3, in
/// units of N): `180·p × N²`. For N = 50 this is the seed paper's 12780 × 2500
/// system.
///
/// See [`FanLinearBeam`] for the geometry and other parameters.
///
/// # Errors
/// [`Error::InvalidParameter`] for `n = 0` (or a too large `n`).
///
/// # Example
/// ```
/// use splitflow::problems::tomography::fanlinear;
/// let a = fanlinear(50)?;
/// assert_eq!((a.nrows(), a.ncols()), (12780, 2500));
/// assert!(a.zero_rows() > 0); // outer rays miss the image at some angles
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn fanlinear(n: usize) -> Result<SparseMatrix> {
    FanLinearBeam::new(n).matrix()
}

// ---------------------------------------------------------------------------
// Named geometries, the full problem, and its summary
// ---------------------------------------------------------------------------

/// A named tomography geometry (with AIR Tools II defaults), as selected by
/// `splitflow tomography --geometry fanlinear|parallel`.
///
/// # Example
/// ```
/// use splitflow::problems::tomography::Geometry;
/// let g = Geometry::from_name("parallel")?;
/// assert_eq!(g, Geometry::Parallel);
/// assert_eq!(g.name(), "parallel");
/// assert!(Geometry::from_name("cone").is_err());
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Geometry {
    /// Fan beam with a flat detector: [`fanlinear`] (the seed paper's system).
    FanLinear,
    /// Parallel beam: [`parallel`].
    Parallel,
}

impl Geometry {
    /// Every geometry, in CLI order.
    pub const ALL: [Geometry; 2] = [Geometry::FanLinear, Geometry::Parallel];

    /// Parses `"fanlinear"` or `"parallel"` (exact, lower case).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for any other name.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "fanlinear" => Ok(Geometry::FanLinear),
            "parallel" => Ok(Geometry::Parallel),
            _ => Err(Error::invalid(
                "geometry",
                name,
                "expected `fanlinear` or `parallel`",
            )),
        }
    }

    /// The name accepted by [`Geometry::from_name`].
    pub fn name(self) -> &'static str {
        match self {
            Geometry::FanLinear => "fanlinear",
            Geometry::Parallel => "parallel",
        }
    }

    /// The geometry's default matrix for an N × N image ([`fanlinear`] or [`parallel`]).
    ///
    /// # Errors
    /// As [`fanlinear`] / [`parallel`].
    pub fn matrix(self, n: usize) -> Result<SparseMatrix> {
        match self {
            Geometry::FanLinear => fanlinear(n),
            Geometry::Parallel => parallel(n),
        }
    }
}

impl fmt::Display for Geometry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Geometry {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Geometry::from_name(s)
    }
}

/// A complete tomography test problem: matrix `A`, the true image `x`
/// (the Shepp–Logan phantom) and exact data `b = A·x` (no noise).
#[derive(Debug, Clone, PartialEq)]
pub struct TomographyProblem {
    /// The line-model matrix A.
    pub matrix: SparseMatrix,
    /// The true image x, column-major.
    pub phantom: DVector<f64>,
    /// The exact right-hand side b = A·x.
    pub rhs: DVector<f64>,
}

impl TomographyProblem {
    /// Builds `A` for `geometry`, the N × N phantom and `b = A·x`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `n = 0` (or a too large `n`).
    ///
    /// # Example
    /// ```
    /// use splitflow::problems::tomography::{Geometry, TomographyProblem};
    /// let p = TomographyProblem::new(Geometry::FanLinear, 20)?;
    /// assert_eq!(p.rhs.len(), p.matrix.nrows());
    /// # Ok::<(), splitflow::Error>(())
    /// ```
    pub fn new(geometry: Geometry, n: usize) -> Result<Self> {
        let matrix = geometry.matrix(n)?;
        let phantom = shepp_logan(n)?;
        let rhs = matrix.mul_vec(&phantom)?;
        Ok(TomographyProblem {
            matrix,
            phantom,
            rhs,
        })
    }

    /// The problem's key figures (see [`TomographySummary`]).
    pub fn summary(&self) -> TomographySummary {
        TomographySummary {
            rows: self.matrix.nrows(),
            cols: self.matrix.ncols(),
            nnz: self.matrix.nnz(),
            zero_rows: self.matrix.zero_rows(),
            sum: self.matrix.sum(),
            frobenius: self.matrix.frobenius_norm(),
            phantom_sum: self.phantom.sum(),
            phantom_nnz: self.phantom.iter().filter(|&&v| v != 0.0).count(),
            rhs_norm: self.rhs.norm(),
        }
    }
}

/// Key figures of a tomography problem, as printed by
/// `splitflow tomography --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TomographySummary {
    /// Rows of A (angles · rays).
    pub rows: usize,
    /// Columns of A (N²).
    pub cols: usize,
    /// Stored nonzeros of A.
    pub nnz: usize,
    /// Rows of A without any entry (rays that miss the image or are skipped).
    pub zero_rows: usize,
    /// $\sum_{ij} A_{ij}$: total ray length inside the image.
    pub sum: f64,
    /// $\|A\|_F$.
    pub frobenius: f64,
    /// Sum of the phantom's pixel values.
    pub phantom_sum: f64,
    /// Number of nonzero phantom pixels.
    pub phantom_nnz: usize,
    /// $\|b\|_2$ with $b = A x$, x the phantom.
    pub rhs_norm: f64,
}

/// The summary of the `geometry` problem on an N × N image (builds it with
/// [`TomographyProblem::new`]).
///
/// # Errors
/// [`Error::InvalidParameter`] for `n = 0` (or a too large `n`).
///
/// # Example
/// ```
/// use splitflow::problems::tomography::{summary, Geometry};
/// let s = summary(Geometry::Parallel, 50)?;
/// assert_eq!((s.rows, s.cols, s.phantom_nnz), (12780, 2500, 1018));
/// let json = serde_json::to_string(&s).unwrap();
/// assert!(json.starts_with("{\"rows\":12780,\"cols\":2500,"));
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn summary(geometry: Geometry, n: usize) -> Result<TomographySummary> {
    Ok(TomographyProblem::new(geometry, n)?.summary())
}
