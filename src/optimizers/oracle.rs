//! Gradient oracles: what an [`Optimizer`](super::Optimizer) asks for.

use nalgebra::DMatrix;

use crate::State;
use crate::error::{Error, Result, check_dim};
use crate::objective::{FiniteSum, Objective};

/// A source of (stochastic) gradients at any point the method asks for.
///
/// Look-ahead methods (NAG), multi-stage schemes (RK4 on the gradient flow)
/// and variance-reduced methods (SVRG at its snapshot) evaluate the gradient
/// away from the current parameters, so the oracle takes the point. Within
/// one optimizer step every call refers to the same stochastic objective
/// (for a mini-batch oracle: the same batch).
///
/// # Example
/// ```
/// use nalgebra::dvector;
/// use splitflow::optimizers::{FnOracle, GradientOracle};
///
/// // f(θ) = ½‖θ‖², ∇f(θ) = θ.
/// let mut oracle = FnOracle::new(2, |theta, g| g.copy_from(theta));
/// let mut g = dvector![0.0, 0.0];
/// oracle.gradient(&dvector![1.0, -2.0], &mut g)?;
/// assert_eq!(g, dvector![1.0, -2.0]);
/// # Ok::<(), splitflow::Error>(())
/// ```
pub trait GradientOracle {
    /// Dimension p of θ.
    fn dim(&self) -> usize;
    /// Writes the (stochastic) gradient at `theta` into `g`.
    ///
    /// # Errors
    /// Implementation-defined (e.g. a failing user callback).
    fn gradient(&mut self, theta: &State, g: &mut State) -> Result<()>;
    /// Writes the full gradient `∇f(θ) = (1/m) Σᵢ ∇fᵢ(θ)` into `g`
    /// (variance-reduced methods need it at their snapshot).
    ///
    /// # Errors
    /// The default returns [`Error::InvalidParameter`]: the oracle has no full gradient.
    fn full_gradient(&mut self, _theta: &State, _g: &mut State) -> Result<()> {
        Err(Error::invalid(
            "oracle",
            "without full gradient",
            "this method needs an oracle that provides the full gradient (e.g. BatchOracle)",
        ))
    }
    /// The index of the batch whose gradient [`gradient`](Self::gradient)
    /// returns, when the oracle is a mini-batch oracle (gradient-table
    /// methods such as SAG need it).
    fn batch(&self) -> Option<usize> {
        None
    }
    /// Number of batches m of the underlying finite sum (1 for a plain objective).
    fn num_batches(&self) -> usize {
        1
    }
    /// Writes the Hessian of the objective this oracle's
    /// [`gradient`](Self::gradient) differentiates (for a mini-batch oracle:
    /// ∇²fᵢ of the current batch) at `theta` into `h` (p×p) and returns
    /// `Ok(true)`, or returns `Ok(false)` when the oracle has no Hessian (the
    /// default). Second-order flows (the Newton flow of a
    /// [`GeneratedOptimizer`](super::GeneratedOptimizer)) need it.
    ///
    /// # Errors
    /// Implementation-defined (e.g. a wrongly sized `h`).
    ///
    /// # Example
    /// ```
    /// use nalgebra::{dmatrix, dvector, DMatrix};
    /// use splitflow::objective::Quadratic;
    /// use splitflow::optimizers::{FnOracle, GradientOracle, ObjectiveOracle};
    /// let q = Quadratic::new(dmatrix![2.0, 0.0; 0.0, 1.0], dvector![0.0, 0.0])?;
    /// let mut h = DMatrix::zeros(2, 2);
    /// assert!(ObjectiveOracle(&q).hessian(&dvector![1.0, 1.0], &mut h)?);
    /// assert_eq!(h, dmatrix![2.0, 0.0; 0.0, 1.0]);
    /// // A closure oracle has no Hessian.
    /// assert!(!FnOracle::new(2, |x, g| g.copy_from(x)).hessian(&dvector![1.0, 1.0], &mut h)?);
    /// # Ok::<(), splitflow::Error>(())
    /// ```
    fn hessian(&mut self, _theta: &State, _h: &mut DMatrix<f64>) -> Result<bool> {
        Ok(false)
    }
}

/// A closure-backed oracle: `gradient(θ, g)` writes ∇f(θ) into g.
pub struct FnOracle<G> {
    dim: usize,
    gradient: G,
}

impl<G: FnMut(&State, &mut State)> FnOracle<G> {
    /// The oracle of dimension `dim` with the given gradient closure.
    pub fn new(dim: usize, gradient: G) -> Self {
        FnOracle { dim, gradient }
    }
}

impl<G: FnMut(&State, &mut State)> GradientOracle for FnOracle<G> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn gradient(&mut self, theta: &State, g: &mut State) -> Result<()> {
        (self.gradient)(theta, g);
        Ok(())
    }
    fn full_gradient(&mut self, theta: &State, g: &mut State) -> Result<()> {
        (self.gradient)(theta, g);
        Ok(())
    }
}

/// The deterministic oracle of an [`Objective`]: `gradient` = `full_gradient` = ∇f.
pub struct ObjectiveOracle<'a, O: ?Sized>(pub &'a O);

impl<O: Objective + ?Sized> GradientOracle for ObjectiveOracle<'_, O> {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn gradient(&mut self, theta: &State, g: &mut State) -> Result<()> {
        self.0.gradient(theta, g);
        Ok(())
    }
    fn full_gradient(&mut self, theta: &State, g: &mut State) -> Result<()> {
        self.0.gradient(theta, g);
        Ok(())
    }
    fn hessian(&mut self, theta: &State, h: &mut DMatrix<f64>) -> Result<bool> {
        let p = self.0.dim();
        check_dim("Hessian buffer", p * p, h.nrows() * h.ncols())?;
        Ok(self.0.hessian(theta, h))
    }
}

/// The mini-batch oracle of a [`FiniteSum`]: `gradient` is ∇fᵢ of the
/// current batch i (set by the training loop with [`set_batch`](Self::set_batch)),
/// `full_gradient` is `(1/m) Σᵢ ∇fᵢ`.
///
/// # Example
/// ```
/// use nalgebra::{dmatrix, dvector};
/// use splitflow::objective::QuadraticSum;
/// use splitflow::optimizers::{BatchOracle, GradientOracle};
///
/// let x = dmatrix![1.0, 0.0; 0.0, 1.0];
/// let sum = QuadraticSum::least_squares(&x, &dvector![1.0, 2.0], 1)?;
/// let mut oracle = BatchOracle::new(&sum);
/// oracle.set_batch(1)?;
/// assert_eq!(oracle.batch(), Some(1));
/// # Ok::<(), splitflow::Error>(())
/// ```
pub struct BatchOracle<'a, F: ?Sized> {
    sum: &'a F,
    batch: usize,
    work: State,
}

impl<'a, F: FiniteSum + ?Sized> BatchOracle<'a, F> {
    /// The oracle of `sum`, starting at batch 0.
    pub fn new(sum: &'a F) -> Self {
        BatchOracle {
            sum,
            batch: 0,
            work: State::zeros(sum.dim()),
        }
    }

    /// Selects batch `i` for the following gradient calls.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `i` is not a batch index.
    pub fn set_batch(&mut self, i: usize) -> Result<()> {
        let m = self.sum.num_batches();
        if i >= m {
            return Err(Error::invalid(
                "batch",
                i,
                &format!("the finite sum has {m} batches"),
            ));
        }
        self.batch = i;
        Ok(())
    }

    /// The finite sum.
    pub fn sum(&self) -> &'a F {
        self.sum
    }
}

impl<F: FiniteSum + ?Sized> GradientOracle for BatchOracle<'_, F> {
    fn dim(&self) -> usize {
        self.sum.dim()
    }
    fn gradient(&mut self, theta: &State, g: &mut State) -> Result<()> {
        check_dim("gradient buffer", self.sum.dim(), g.len())?;
        self.sum.batch_gradient(self.batch, theta, g);
        Ok(())
    }
    fn full_gradient(&mut self, theta: &State, g: &mut State) -> Result<()> {
        check_dim("gradient buffer", self.sum.dim(), g.len())?;
        let m = self.sum.num_batches();
        g.fill(0.0);
        for i in 0..m {
            self.sum.batch_gradient(i, theta, &mut self.work);
            g.axpy(1.0, &self.work, 1.0);
        }
        *g /= m as f64;
        Ok(())
    }
    fn batch(&self) -> Option<usize> {
        Some(self.batch)
    }
    fn hessian(&mut self, theta: &State, h: &mut DMatrix<f64>) -> Result<bool> {
        let p = self.sum.dim();
        check_dim("Hessian buffer", p * p, h.nrows() * h.ncols())?;
        Ok(self.sum.batch_hessian(self.batch, theta, h))
    }
    fn num_batches(&self) -> usize {
        self.sum.num_batches()
    }
}
