//! The exact (closed-form) local flow of a least-squares batch.

use std::borrow::Cow;

use nalgebra::{DMatrix, DVector};

use super::{BatchFactorization, FactorizationMethod};
use crate::error::{Result, check_dim};
use crate::kernels::rowmajor;
use crate::objective::FiniteSum;
use crate::problems::least_squares::LeastSquares;
use crate::splitting::{FlowMap, FlowStats};
use crate::{Order, State};

/// How an advance is evaluated (chosen on factorization; see
/// [`ExactLeastSquaresFlow`]'s "Evaluation").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `θ −= Xᵀ B diag(φ) Aᵀ (Xθ₀ − y)` on the row-major rows, `Q` never formed.
    QrWithoutQ,
    /// `θ −= Q V diag(φ) (Λ Vᵀ Qᵀ θ₀ − g)` with the stored thin `Q`.
    QrExplicitQ,
    /// `θ −= Xᵀ U diag(φ) Uᵀ (Xθ₀ − y)` on the row-major rows.
    Gram,
}

/// Largest `cond(R)` for which the least-squares flow uses `Q = XᵀR⁻¹`
/// instead of forming `Q` (its extra round-off is about `cond(R)·ε`).
const MAX_COND_WITHOUT_Q: f64 = 100.0;

/// Which map of the local linear problem a [`ExactLeastSquaresFlow`] applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LocalScheme {
    /// The exact flow (closed form). The default.
    #[default]
    Exact,
    /// One implicit-Euler step (implicit SGD, a proximal step):
    /// `(I + hc XᵀX)θ₁ = θ₀ + hc Xᵀy`.
    ImplicitEuler,
}

/// The local least-squares problem of one batch,
///
/// $$ θ' = −c\,X^\top(Xθ − y), \qquad c = \frac{1}{m\,b}, $$
///
/// advanced in closed form through the eigenpairs `(λⱼ, vⱼ)` of `RRᵀ`
/// (`Xᵀ = QR`, the default) or of `XXᵀ` (Gram):
///
/// $$ θ(h) = θ_0 − Q\,V\,\mathrm{diag}\big(φ(λ_j)\big)\,V^\top R\,(Xθ_0 − y),\qquad
///    φ(λ) = \frac{1 − e^{−chλ}}{λ}\ (= ch \text{ at } λ = 0), $$
///
/// (Gram: `θ(h) = θ₀ − Xᵀ U diag(φ(σⱼ)) Uᵀ (Xθ₀ − y)`). The formula is robust
/// to rank-deficient and all-zero batches (tomography): eigenvalues at most
/// `max(b, p)·ε·λmax` are numerically zero, and their terms (exactly zero in
/// exact arithmetic) are dropped rather than amplified by φ. As h → ∞ it tends to
/// the projection onto `{Xθ = y}` (block Kaczmarz); as h → 0 it agrees with the
/// SGD step to O(h²). With [`LocalScheme::ImplicitEuler`], `φ(λ) = ch/(1 + chλ)`.
///
/// # Evaluation
///
/// Three routes, chosen when the batch is factorized:
///
/// * **QR without Q** (QR, `b ≤ p`, `cond(R) ≤ 100`; the paper's batches).
///   `Q` is never formed: `Xᵀ = QR` with R square and invertible gives
///   `Q = XᵀR⁻¹`, so with `A = RᵀV` and `B = R⁻¹V` (b×b, computed once)
///
///   $$ θ(h) = θ_0 − X^\top B\,\mathrm{diag}\big(φ(λ_j)\big)\,A^\top(Xθ_0 − y), $$
///
///   the residual form above with `QV = XᵀB`; the b×b map
///   `K = B diag(φ) Aᵀ` is formed once a step size repeats (an epoch's
///   does; a composition's changing coefficients do not pay its b³), so an
///   advance is `θ −= XᵀK(Xθ₀ − y)`. Both b×p products run on the
///   batch's rows stored row-major with SGD's kernels (as the Gram route),
///   so an advance streams the same data as an SGD step, and the
///   factorization is a Householder QR of `Xᵀ` without `Q` (about half the
///   work of the thin QR with `Q`, and no p×b matrix stored per batch).
///   Round-off: `B` comes from backward-stable triangular solves, so `XᵀB`
///   differs from the orthonormal `QV` by about `cond(R)·ε` relative (and
///   `Xᵀ(Bw)` is evaluated to the same order); with `cond(R) = √(λmax/λmin)`
///   at most 100 the advance agrees with the explicit-`Q` one to ≈ 2e-14
///   relative to the step (tested to 1e-14 relative over whole epochs).
/// * **QR with explicit Q** (QR, `b > p`, or `R` singular or ill-conditioned:
///   rank-deficient batches, tomography). The thin `Q` is stored and the
///   advance never reads X: with `RRᵀ = VΛVᵀ`,
///   `VᵀR(Xθ₀ − y) = VᵀRRᵀQᵀθ₀ − VᵀRy = Λζ − g` for `ζ = VᵀQᵀθ₀` and
///   `g = VᵀRy` (computed once, with the factorization), so
///
///   $$ θ(h) = θ_0 − Q\,V\,\mathrm{diag}\big(φ(λ_j)\big)\,(Λ\,V^\top Q^\top θ_0 − g), $$
///
///   two passes over `Q` (p×k). It equals the residual form up to round-off
///   (the backward error of `Xᵀ = QR`).
/// * **Gram**: `Xθ₀ − y` and `Xᵀz` over the batch's rows with the kernels of
///   SGD's gradient, bitwise nalgebra's `gemv` / `gemv_tr`.
///
/// The row-major rows are borrowed from the [`LeastSquares`] problem by
/// [`for_batches`](Self::for_batches) (copied once otherwise).
///
/// Per advance: two b×p (or p×k) products plus O(b²), allocation-free; the
/// factorization is computed on first use (or by [`factorize_all`]).
///
/// # Example
/// ```
/// use splitflow::problems::least_squares::{LeastSquares, random_least_squares};
/// use splitflow::reduction::ExactLeastSquaresFlow;
/// use splitflow::splitting::FlowMap;
/// let (x, y, _) = random_least_squares(40, 10, 0.0, 1)?;
/// let ls = LeastSquares::new(&x, &y, 5)?;
/// let mut flows = ExactLeastSquaresFlow::for_batches(&ls, Default::default(), Default::default());
/// let mut theta = splitflow::State::zeros(10);
/// flows[0].advance(0.0, 1e12, &mut theta)?; // project onto batch 0's equations
/// let (x0, y0) = ls.batch(0);
/// assert!((x0 * &theta - y0).norm() < 1e-9 * y0.norm());
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ExactLeastSquaresFlow<'a> {
    x: &'a DMatrix<f64>,
    y: &'a DVector<f64>,
    c: f64,
    method: FactorizationMethod,
    scheme: LocalScheme,
    factors: Option<BatchFactorization>,
    route: Route,
    /// Routes on the rows: X row-major (row k is `rows[k·p..(k+1)·p]`),
    /// borrowed from the problem or copied on factorization.
    rows: Cow<'a, [f64]>,
    /// Explicit-`Q` route: `g = VᵀRy`, computed on factorization.
    g: DVector<f64>,
    /// QR without `Q`: `Aᵀ = (RᵀV)ᵀ` and `B = R⁻¹V` (b×b).
    a_t: DMatrix<f64>,
    rinv_v: DMatrix<f64>,
    s: DVector<f64>,
    w: DVector<f64>,
    z: DVector<f64>,
    /// Routes on the rows: `−Xᵀz` and the row-major gradient kernel's lane sums.
    update: Vec<f64>,
    lanes: Vec<f64>,
    /// The spectral factors of the last `c·h` (`phi_ch`; NaN before the
    /// first advance): `φ(λⱼ)`, and whether `λⱼ` is kept (above the
    /// round-off cutoff). The step size of an epoch is the same for every
    /// advance, so the exponentials are computed once, not per step.
    phi_ch: f64,
    phi: Vec<f64>,
    kept: Vec<bool>,
    /// QR without `Q`: the b×b map `K = B diag(φ) Aᵀ` for `fused_ch` (NaN
    /// when none), so that `θ −= XᵀK(Xθ₀ − y)` is one b×b product per
    /// advance instead of two. It is formed (b³ work) only when a step size
    /// comes back a second time in a row (an epoch's), never for step sizes
    /// that change at every advance (a composition's coefficients), and
    /// into reused storage (`scaled` holds `B diag(φ)`).
    fused: DMatrix<f64>,
    scaled: DMatrix<f64>,
    fused_ch: f64,
    advances: usize,
}

impl<'a> ExactLeastSquaresFlow<'a> {
    /// The flow `θ' = −c Xᵀ(Xθ − y)` of a batch `(x, y)`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) when `y`
    /// does not match `x`; [`Error::InvalidParameter`](crate::Error::InvalidParameter) for `c ≤ 0`.
    pub fn new(
        x: &'a DMatrix<f64>,
        y: &'a DVector<f64>,
        c: f64,
        method: FactorizationMethod,
        scheme: LocalScheme,
    ) -> Result<Self> {
        check_dim("batch targets", x.nrows(), y.len())?;
        crate::error::check_positive("c", c)?;
        let b = x.nrows();
        Ok(ExactLeastSquaresFlow {
            x,
            y,
            c,
            method,
            scheme,
            factors: None,
            route: Route::Gram,
            rows: Cow::Borrowed(&[]),
            g: DVector::zeros(0),
            a_t: DMatrix::zeros(0, 0),
            rinv_v: DMatrix::zeros(0, 0),
            s: DVector::zeros(b),
            w: DVector::zeros(0),
            z: DVector::zeros(0),
            update: Vec::new(),
            lanes: Vec::new(),
            phi_ch: f64::NAN,
            phi: Vec::new(),
            kept: Vec::new(),
            fused: DMatrix::zeros(0, 0),
            scaled: DMatrix::zeros(0, 0),
            fused_ch: f64::NAN,
            advances: 0,
        })
    }

    /// The local flows of every batch of a [`LeastSquares`] problem
    /// (`c = 1/(m·bᵢ)`, so that `h = α·m` matches SGD's learning rate α).
    pub fn for_batches(
        ls: &'a LeastSquares,
        method: FactorizationMethod,
        scheme: LocalScheme,
    ) -> Vec<Self> {
        let m = ls.num_batches();
        (0..m)
            .map(|i| {
                let (x, y) = ls.batch(i);
                let mut flow = Self::new(x, y, 1.0 / (m * x.nrows()) as f64, method, scheme)
                    .expect("LeastSquares batches are consistent");
                flow.rows = Cow::Borrowed(ls.batch_rows(i));
                flow
            })
            .collect()
    }

    /// Computes the factorization now (otherwise done on the first advance).
    ///
    /// # Errors
    /// [`Error::SingularMatrix`](crate::Error::SingularMatrix) if the eigen-solver fails.
    pub fn factorize(&mut self) -> Result<()> {
        if self.factors.is_some() {
            return Ok(());
        }
        let (b, p) = self.x.shape();
        let (route, f) = match self.method {
            FactorizationMethod::Gram => {
                self.copy_rows();
                (Route::Gram, BatchFactorization::new(self.x, self.method)?)
            }
            FactorizationMethod::Qr if b <= p => {
                self.copy_rows();
                let f = BatchFactorization::without_q(&self.rows, b, p)?;
                match maps_without_q(&f) {
                    Some((a_t, rinv_v)) => {
                        (self.a_t, self.rinv_v) = (a_t, rinv_v);
                        (Route::QrWithoutQ, f)
                    }
                    None => (
                        Route::QrExplicitQ,
                        BatchFactorization::new(self.x, self.method)?,
                    ),
                }
            }
            FactorizationMethod::Qr => (
                Route::QrExplicitQ,
                BatchFactorization::new(self.x, self.method)?,
            ),
        };
        let k = f.eigenvalues.len();
        self.w = DVector::zeros(k);
        self.z = DVector::zeros(k);
        if route == Route::QrExplicitQ {
            // g = Vᵀ(Ry); the rows are not read.
            let mut ry = DVector::zeros(k);
            ry.gemv(1.0, &f.r, self.y, 0.0);
            self.g = DVector::zeros(k);
            self.g.gemv_tr(1.0, &f.eigenvectors, &ry, 0.0);
            if let Cow::Owned(_) = self.rows {
                self.rows = Cow::Borrowed(&[]);
            }
        } else {
            self.update = vec![0.0; p];
            if b >= 24 {
                self.lanes = vec![0.0; 2 * p];
            }
        }
        self.route = route;
        self.factors = Some(f);
        Ok(())
    }

    /// Copies X row-major unless the rows are borrowed from the problem.
    fn copy_rows(&mut self) {
        let (b, p) = self.x.shape();
        if self.rows.len() != b * p {
            let mut rows = vec![0.0; b * p];
            for (j, col) in self.x.column_iter().enumerate() {
                for (k, &v) in col.iter().enumerate() {
                    rows[k * p + j] = v;
                }
            }
            self.rows = Cow::Owned(rows);
        }
    }

    /// The factorization, once computed. On the QR route without `Q` (see
    /// "Evaluation") its `q` is empty; `r` and the eigenpairs are those of
    /// [`BatchFactorization::new`].
    pub fn factorization(&self) -> Option<&BatchFactorization> {
        self.factors.as_ref()
    }
}

impl ExactLeastSquaresFlow<'_> {
    /// Recomputes the spectral factors `φ(λⱼ)` and the round-off mask for
    /// `ch = c·h` when it changed (an epoch uses one step size: once per
    /// batch, not per advance); `true` when `ch` is the previous advance's.
    /// Called after [`factorize`](Self::factorize).
    fn refresh_spectral(&mut self, ch: f64) -> bool {
        if ch.to_bits() == self.phi_ch.to_bits() {
            return true;
        }
        let f = self.factors.as_ref().expect("factorized before");
        let (b, p) = self.x.shape();
        // Eigenvalues at the round-off level of the largest one (forming RRᵀ
        // or XXᵀ costs ~ε·λmax) are numerically zero: their eigenvectors span
        // null(Rᵀ) (null(Xᵀ)) up to round-off, where the field vanishes and
        // the exact component of w is 0. Keeping them would amplify round-off
        // by φ(λ) ≈ min(ch, 1/λ), up to 1/(ε·λmax) as h grows (rank-deficient
        // batches, and Gram with b > p). (The route without Q has none.)
        let cutoff =
            b.max(p) as f64 * f64::EPSILON * f.eigenvalues.iter().fold(0.0_f64, |a, &l| a.max(l));
        self.phi.clear();
        self.kept.clear();
        for &l in f.eigenvalues.iter() {
            self.kept.push(l > cutoff);
            self.phi.push(phi(self.scheme, ch, l));
        }
        self.phi_ch = ch;
        false
    }

    /// Route without `Q`: whether the fused map `K` serves `ch`, forming it
    /// when `ch` repeats the previous advance's (`repeated`) and `K` is for
    /// another step size.
    fn fused_for(&mut self, ch: f64, repeated: bool) -> bool {
        if ch.to_bits() == self.fused_ch.to_bits() {
            return true;
        }
        if !repeated {
            return false;
        }
        let b = self.rinv_v.nrows();
        if self.scaled.shape() != (b, b) {
            self.scaled = DMatrix::zeros(b, b);
            self.fused = DMatrix::zeros(b, b);
        }
        self.scaled.copy_from(&self.rinv_v);
        for (j, mut col) in self.scaled.column_iter_mut().enumerate() {
            col *= if self.kept[j] { self.phi[j] } else { 0.0 };
        }
        self.fused.gemm(1.0, &self.scaled, &self.a_t, 0.0);
        self.fused_ch = ch;
        true
    }
}

/// The spectral function of the local map: `(1 − e^{−chλ})/λ` (exact) or
/// `ch/(1 + chλ)` (implicit Euler).
fn phi(scheme: LocalScheme, ch: f64, lambda: f64) -> f64 {
    {
        match scheme {
            LocalScheme::Exact if lambda <= 0.0 => ch,
            LocalScheme::Exact => -(-ch * lambda).exp_m1() / lambda,
            LocalScheme::ImplicitEuler => ch / (1.0 + ch * lambda.max(0.0)),
        }
    }
}

/// `Aᵀ = (RᵀV)ᵀ` and `B = R⁻¹V` of the route without `Q`, when `R` is square
/// and `cond(R) = √(λmax/λmin) ≤` [`MAX_COND_WITHOUT_Q`] (`λ` the
/// eigenvalues of `RRᵀ`, i.e. the squared singular values of `R`).
fn maps_without_q(f: &BatchFactorization) -> Option<(DMatrix<f64>, DMatrix<f64>)> {
    let (lmin, lmax) = (f.eigenvalues.min(), f.eigenvalues.max());
    let well_conditioned = lmin > 0.0 && lmax <= MAX_COND_WITHOUT_Q * MAX_COND_WITHOUT_Q * lmin;
    if !f.r.is_square() || !well_conditioned {
        return None;
    }
    let rinv_v = f.r.solve_upper_triangular(&f.eigenvectors)?;
    Some((f.r.tr_mul(&f.eigenvectors).transpose(), rinv_v))
}

/// Factorizes every flow (in parallel with the `rayon` feature).
///
/// # Errors
/// The first factorization error.
pub fn factorize_all(flows: &mut [ExactLeastSquaresFlow<'_>]) -> Result<()> {
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        flows.par_iter_mut().try_for_each(|f| f.factorize())
    }
    #[cfg(not(feature = "rayon"))]
    {
        flows.iter_mut().try_for_each(|f| f.factorize())
    }
}

impl FlowMap for ExactLeastSquaresFlow<'_> {
    fn dim(&self) -> usize {
        self.x.ncols()
    }

    fn advance(&mut self, _t: f64, h: f64, theta: &mut State) -> Result<()> {
        check_dim("parameters θ", self.x.ncols(), theta.len())?;
        self.factorize()?;
        self.advances += 1;
        let ch = self.c * h;
        let repeated = self.refresh_spectral(ch);
        let fused = self.route == Route::QrWithoutQ && self.fused_for(ch, repeated);
        let f = self.factors.as_ref().expect("factorized above");
        let p = self.x.ncols();
        if self.route != Route::QrExplicitQ {
            // s = Xθ₀ − y (bitwise nalgebra's gemv)
            rowmajor::residual(
                &self.rows,
                p,
                theta.as_slice(),
                self.y.as_slice(),
                self.s.as_mut_slice(),
            );
        }
        if fused {
            self.z.gemv(1.0, &self.fused, &self.s, 0.0);
        } else {
            // w = Lᵀ(Xθ₀ − y) (or Λζ − g), scaled by φ, then z = Mw.
            let v = &f.eigenvectors;
            match self.route {
                Route::QrWithoutQ => self.w.gemv(1.0, &self.a_t, &self.s, 0.0),
                Route::Gram => self.w.gemv_tr(1.0, v, &self.s, 0.0),
                Route::QrExplicitQ => {
                    // w = Vᵀ(Qᵀθ₀), then Λw − g = VᵀR(Xθ₀ − y)
                    self.z.gemv_tr(1.0, &f.q, theta, 0.0);
                    self.w.gemv_tr(1.0, v, &self.z, 0.0);
                    for ((w, &l), &g) in self.w.iter_mut().zip(f.eigenvalues.iter()).zip(&self.g) {
                        *w = l * *w - g;
                    }
                }
            }
            for ((w, &phi), &kept) in self.w.iter_mut().zip(&self.phi).zip(&self.kept) {
                *w = if kept { *w * phi } else { 0.0 };
            }
            let m = if self.route == Route::QrWithoutQ {
                &self.rinv_v
            } else {
                v
            };
            self.z.gemv(1.0, m, &self.w, 0.0);
        }
        match self.route {
            Route::QrExplicitQ => theta.gemv(-1.0, &f.q, &self.z, 1.0),
            Route::QrWithoutQ | Route::Gram => {
                // θ −= Xᵀz: the kernel's (−1·(xⱼ·z))·1 added to θⱼ is bitwise
                // nalgebra's gemv_tr(−1, X, z, 1), −(xⱼ·z) + 1·θⱼ.
                rowmajor::gradient(
                    &self.rows,
                    p,
                    self.z.as_slice(),
                    -1.0,
                    1.0,
                    &mut self.update,
                    &mut self.lanes,
                );
                for (t, &u) in theta.iter_mut().zip(&self.update) {
                    *t += u;
                }
            }
        }
        Ok(())
    }

    fn order(&self) -> Order {
        match self.scheme {
            LocalScheme::Exact => Order::Exact,
            LocalScheme::ImplicitEuler => Order::Finite(1),
        }
    }

    fn is_dissipative(&self) -> bool {
        true
    }

    fn stats(&self) -> FlowStats {
        FlowStats {
            advances: self.advances,
            f_evals: 0,
        }
    }

    fn name(&self) -> String {
        match self.scheme {
            LocalScheme::Exact => "exact least-squares flow".into(),
            LocalScheme::ImplicitEuler => "implicit-Euler least-squares step".into(),
        }
    }
}
