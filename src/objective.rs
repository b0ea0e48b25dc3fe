//! What is minimised: objectives `f(θ)` and finite sums `f = (1/m) Σᵢ fᵢ`.

use nalgebra::{DMatrix, DVector};

use crate::State;
use crate::error::{Error, Result, check_dim};

/// A differentiable objective `f : ℝᵖ → ℝ`.
///
/// # Example
/// ```
/// use nalgebra::{dmatrix, dvector};
/// use splitflow::objective::{Objective, Quadratic};
/// let q = Quadratic::new(dmatrix![2.0, 0.0; 0.0, 1.0], dvector![1.0, 1.0])?;
/// let mut g = dvector![0.0, 0.0];
/// q.gradient(&dvector![1.0, 1.0], &mut g);
/// assert_eq!(g, dvector![1.0, 0.0]);
/// # Ok::<(), splitflow::Error>(())
/// ```
///
/// `Send + Sync`: an objective may be moved to a thread and shared by
/// reference between threads (one problem, several runs). Scratch buffers
/// used behind `&self` must therefore be thread-safe (a `Mutex`), not a
/// `RefCell`; the closures of [`FnObjective`] must be `Send + Sync`.
pub trait Objective: Send + Sync {
    /// Dimension p of θ.
    fn dim(&self) -> usize;
    /// `f(θ)`.
    fn value(&self, theta: &State) -> f64;
    /// Writes `∇f(θ)` into `g`.
    fn gradient(&self, theta: &State, g: &mut State);
    /// Writes the Hessian `∇²f(θ)` into `h` and returns `true`, or returns
    /// `false` when it is not available.
    fn hessian(&self, _theta: &State, _h: &mut DMatrix<f64>) -> bool {
        false
    }
    /// Writes `∇²f(θ)·v` into `hv` and returns `true`, or `false` when not available.
    fn hessian_vector(&self, _theta: &State, _v: &State, _hv: &mut State) -> bool {
        false
    }
}

/// A finite sum `f(θ) = (1/m) Σᵢ fᵢ(θ)` over m fixed batches.
///
/// `Send + Sync` like [`Objective`]: one problem may serve training runs on
/// several threads at once.
pub trait FiniteSum: Send + Sync {
    /// Dimension p of θ.
    fn dim(&self) -> usize;
    /// Number of batches m.
    fn num_batches(&self) -> usize;
    /// `fᵢ(θ)`.
    fn batch_value(&self, i: usize, theta: &State) -> f64;
    /// Writes `∇fᵢ(θ)` into `g`.
    fn batch_gradient(&self, i: usize, theta: &State, g: &mut State);
    /// Writes `s·∇fᵢ(θ)` into `g` (the right-hand side of a
    /// [`LocalFlow`](crate::flows::LocalFlow), s = −1/m). The default computes
    /// the gradient and then multiplies every entry by `s`; implementations
    /// may fuse the two passes but must give the same values (each entry
    /// `∇fᵢ(θ)ⱼ · s`, rounded once more after the gradient entry).
    fn batch_gradient_scaled(&self, i: usize, theta: &State, s: f64, g: &mut State) {
        self.batch_gradient(i, theta, g);
        *g *= s;
    }
    /// Writes `∇²fᵢ(θ)` into `h` and returns `true`, or `false` when not available.
    fn batch_hessian(&self, _i: usize, _theta: &State, _h: &mut DMatrix<f64>) -> bool {
        false
    }
}

/// The full objective `(1/m) Σᵢ fᵢ` of a [`FiniteSum`].
#[derive(Debug, Clone, Copy)]
pub struct Mean<F>(pub F);

impl<F: FiniteSum> Objective for Mean<F> {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn value(&self, theta: &State) -> f64 {
        let m = self.0.num_batches();
        (0..m).map(|i| self.0.batch_value(i, theta)).sum::<f64>() / m as f64
    }
    fn gradient(&self, theta: &State, g: &mut State) {
        let m = self.0.num_batches();
        g.fill(0.0);
        let mut gi = State::zeros(theta.len());
        for i in 0..m {
            self.0.batch_gradient(i, theta, &mut gi);
            *g += &gi;
        }
        *g /= m as f64;
    }
    fn hessian(&self, theta: &State, h: &mut DMatrix<f64>) -> bool {
        let m = self.0.num_batches();
        let p = theta.len();
        h.fill(0.0);
        let mut hi = DMatrix::zeros(p, p);
        for i in 0..m {
            if !self.0.batch_hessian(i, theta, &mut hi) {
                return false;
            }
            *h += &hi;
        }
        *h /= m as f64;
        true
    }
}

impl<F: FiniteSum + ?Sized> FiniteSum for &F {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn num_batches(&self) -> usize {
        (**self).num_batches()
    }
    fn batch_value(&self, i: usize, theta: &State) -> f64 {
        (**self).batch_value(i, theta)
    }
    fn batch_gradient(&self, i: usize, theta: &State, g: &mut State) {
        (**self).batch_gradient(i, theta, g)
    }
    fn batch_gradient_scaled(&self, i: usize, theta: &State, s: f64, g: &mut State) {
        (**self).batch_gradient_scaled(i, theta, s, g)
    }
    fn batch_hessian(&self, i: usize, theta: &State, h: &mut DMatrix<f64>) -> bool {
        (**self).batch_hessian(i, theta, h)
    }
}

impl<O: Objective + ?Sized> Objective for &O {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn value(&self, theta: &State) -> f64 {
        (**self).value(theta)
    }
    fn gradient(&self, theta: &State, g: &mut State) {
        (**self).gradient(theta, g)
    }
    fn hessian(&self, theta: &State, h: &mut DMatrix<f64>) -> bool {
        (**self).hessian(theta, h)
    }
    fn hessian_vector(&self, theta: &State, v: &State, hv: &mut State) -> bool {
        (**self).hessian_vector(theta, v, hv)
    }
}

/// An objective backed by closures for the value and the gradient.
///
/// # Example
/// ```
/// use splitflow::objective::{FnObjective, Objective};
/// use splitflow::State;
/// let f = FnObjective::new(1, |x: &State| x[0] * x[0], |x: &State, g: &mut State| g[0] = 2.0 * x[0]);
/// assert_eq!(f.value(&State::from_element(1, 3.0)), 9.0);
/// ```
pub struct FnObjective<V, G> {
    dim: usize,
    value: V,
    gradient: G,
}

impl<V: Fn(&State) -> f64 + Send + Sync, G: Fn(&State, &mut State) + Send + Sync>
    FnObjective<V, G>
{
    /// An objective of dimension `dim`.
    pub fn new(dim: usize, value: V, gradient: G) -> Self {
        FnObjective {
            dim,
            value,
            gradient,
        }
    }
}

impl<V: Fn(&State) -> f64 + Send + Sync, G: Fn(&State, &mut State) + Send + Sync> Objective
    for FnObjective<V, G>
{
    fn dim(&self) -> usize {
        self.dim
    }
    fn value(&self, theta: &State) -> f64 {
        (self.value)(theta)
    }
    fn gradient(&self, theta: &State, g: &mut State) {
        (self.gradient)(theta, g)
    }
}

/// A finite sum backed by closures `value(i, θ)` and `gradient(i, θ, g)`.
pub struct FnFiniteSum<V, G> {
    dim: usize,
    batches: usize,
    value: V,
    gradient: G,
}

impl<V: Fn(usize, &State) -> f64 + Send + Sync, G: Fn(usize, &State, &mut State) + Send + Sync>
    FnFiniteSum<V, G>
{
    /// A sum of `batches` terms over ℝ^`dim`.
    pub fn new(dim: usize, batches: usize, value: V, gradient: G) -> Self {
        FnFiniteSum {
            dim,
            batches,
            value,
            gradient,
        }
    }
}

impl<V: Fn(usize, &State) -> f64 + Send + Sync, G: Fn(usize, &State, &mut State) + Send + Sync>
    FiniteSum for FnFiniteSum<V, G>
{
    fn dim(&self) -> usize {
        self.dim
    }
    fn num_batches(&self) -> usize {
        self.batches
    }
    fn batch_value(&self, i: usize, theta: &State) -> f64 {
        (self.value)(i, theta)
    }
    fn batch_gradient(&self, i: usize, theta: &State, g: &mut State) {
        (self.gradient)(i, theta, g)
    }
}

/// `f(θ) = ½ θᵀAθ − bᵀθ` with symmetric `A`; `∇f = Aθ − b`, `∇²f = A`.
#[derive(Debug, Clone)]
pub struct Quadratic {
    a: DMatrix<f64>,
    b: DVector<f64>,
}

impl Quadratic {
    /// The quadratic with Hessian `a` and linear term `b`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for a non-square `a` or a `b` of the wrong
    /// length; [`Error::InvalidParameter`] for a non-symmetric `a`;
    /// [`Error::NonFinite`] for NaN or infinite entries.
    pub fn new(a: DMatrix<f64>, b: DVector<f64>) -> Result<Self> {
        check_dim("quadratic A (columns)", a.nrows(), a.ncols())?;
        check_dim("quadratic b", a.nrows(), b.len())?;
        if a.iter().chain(b.iter()).any(|x| !x.is_finite()) {
            return Err(Error::non_finite_input("quadratic A or b", None));
        }
        let asym = (&a - a.transpose()).amax();
        if asym > 1e-12 * a.amax().max(1.0) {
            return Err(Error::invalid(
                "A",
                format!("asymmetry {asym:e}"),
                "must be symmetric",
            ));
        }
        Ok(Quadratic { a, b })
    }

    /// The Hessian `A`.
    pub fn hessian_matrix(&self) -> &DMatrix<f64> {
        &self.a
    }

    /// The linear term `b`.
    pub fn linear_term(&self) -> &DVector<f64> {
        &self.b
    }
}

impl Objective for Quadratic {
    fn dim(&self) -> usize {
        self.b.len()
    }
    fn value(&self, theta: &State) -> f64 {
        0.5 * theta.dot(&(&self.a * theta)) - self.b.dot(theta)
    }
    fn gradient(&self, theta: &State, g: &mut State) {
        g.copy_from(&self.b);
        g.gemv(1.0, &self.a, theta, -1.0);
    }
    fn hessian(&self, _theta: &State, h: &mut DMatrix<f64>) -> bool {
        h.copy_from(&self.a);
        true
    }
    fn hessian_vector(&self, _theta: &State, v: &State, hv: &mut State) -> bool {
        hv.gemv(1.0, &self.a, v, 0.0);
        true
    }
}

/// The n-dimensional Rosenbrock function
/// `f(θ) = Σ_{i<n−1} [ a(θᵢ₊₁ − θᵢ²)² + (1 − θᵢ)² ]` (classically `a = 100`).
#[derive(Debug, Clone, Copy)]
pub struct Rosenbrock {
    /// Dimension n ≥ 2.
    pub n: usize,
    /// Valley steepness a.
    pub a: f64,
}

impl Objective for Rosenbrock {
    fn dim(&self) -> usize {
        self.n
    }
    fn value(&self, x: &State) -> f64 {
        (0..self.n - 1)
            .map(|i| self.a * (x[i + 1] - x[i] * x[i]).powi(2) + (1.0 - x[i]).powi(2))
            .sum()
    }
    fn gradient(&self, x: &State, g: &mut State) {
        g.fill(0.0);
        for i in 0..self.n - 1 {
            let d = x[i + 1] - x[i] * x[i];
            g[i] += -4.0 * self.a * x[i] * d - 2.0 * (1.0 - x[i]);
            g[i + 1] += 2.0 * self.a * d;
        }
    }
    fn hessian(&self, x: &State, h: &mut DMatrix<f64>) -> bool {
        h.fill(0.0);
        for i in 0..self.n - 1 {
            h[(i, i)] += -4.0 * self.a * (x[i + 1] - 3.0 * x[i] * x[i]) + 2.0;
            h[(i, i + 1)] += -4.0 * self.a * x[i];
            h[(i + 1, i)] += -4.0 * self.a * x[i];
            h[(i + 1, i + 1)] += 2.0 * self.a;
        }
        true
    }
}

/// A finite sum of quadratics `fᵢ(θ) = ½θᵀAᵢθ − bᵢᵀθ` (non-commuting `Aᵢ` in
/// general): the linear test bed of splitting.
#[derive(Debug, Clone)]
pub struct QuadraticSum {
    terms: Vec<Quadratic>,
}

impl QuadraticSum {
    /// The sum of the given quadratics.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an empty list, [`Error::DimensionMismatch`]
    /// for terms of different dimensions.
    pub fn new(terms: Vec<Quadratic>) -> Result<Self> {
        let first = terms
            .first()
            .ok_or_else(|| Error::invalid("terms", "[]", "need at least one term"))?;
        let p = first.dim();
        for (i, t) in terms.iter().enumerate() {
            check_dim(&format!("quadratic term {i}"), p, t.dim())?;
        }
        Ok(QuadraticSum { terms })
    }

    /// The least-squares sum over consecutive row batches of `x`:
    /// `fᵢ(θ) = (1/(2b))‖Xᵢθ − yᵢ‖²` (so `Aᵢ = XᵢᵀXᵢ/b`, `bᵢ = Xᵢᵀyᵢ/b`,
    /// up to the constant).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `batch` is 0 or does not divide the rows.
    pub fn least_squares(x: &DMatrix<f64>, y: &DVector<f64>, batch: usize) -> Result<Self> {
        check_dim("y", x.nrows(), y.len())?;
        if batch == 0 || !x.nrows().is_multiple_of(batch) {
            return Err(Error::invalid(
                "batch",
                batch,
                "must be positive and divide the number of rows",
            ));
        }
        let terms = (0..x.nrows() / batch)
            .map(|i| {
                let xi = x.rows(i * batch, batch);
                let yi = y.rows(i * batch, batch);
                let a = xi.transpose() * xi / batch as f64;
                let a = (&a + a.transpose()) * 0.5;
                Quadratic::new(a, xi.transpose() * yi / batch as f64)
            })
            .collect::<Result<Vec<_>>>()?;
        Self::new(terms)
    }

    /// The terms.
    pub fn terms(&self) -> &[Quadratic] {
        &self.terms
    }
}

impl FiniteSum for QuadraticSum {
    fn dim(&self) -> usize {
        self.terms[0].dim()
    }
    fn num_batches(&self) -> usize {
        self.terms.len()
    }
    fn batch_value(&self, i: usize, theta: &State) -> f64 {
        self.terms[i].value(theta)
    }
    fn batch_gradient(&self, i: usize, theta: &State, g: &mut State) {
        self.terms[i].gradient(theta, g)
    }
    fn batch_hessian(&self, i: usize, theta: &State, h: &mut DMatrix<f64>) -> bool {
        self.terms[i].hessian(theta, h)
    }
}
