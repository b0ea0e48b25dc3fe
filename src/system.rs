//! ODE systems: the [`OdeSystem`] trait, closure-backed systems, linear
//! systems with their exact flow, and the adapter that runs any system under
//! `ode_solvers`.

use nalgebra::{DMatrix, DVector};

use crate::State;
use crate::error::{Result, check_dim, check_finite};

/// How the right-hand side depends on `y`; implicit methods use it to skip
/// Newton iterations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linearity {
    /// General nonlinear `f(t, y)`.
    Nonlinear,
    /// `f(t, y) = A(t)·y + c(t)`: one Newton step with the exact Jacobian solves
    /// the implicit equation.
    Affine,
    /// `f(t, y) = A·y + c(t)` with `A` constant: the Newton matrix can be
    /// factorised once per step size.
    AffineConstantJacobian,
}

/// A first-order system `y' = f(t, y)` with `y ∈ ℝⁿ`.
///
/// The right-hand side is written in place (the `ode_solvers` convention) so
/// that steppers can run without allocating.
///
/// # Example
/// ```
/// use splitflow::{OdeSystem, State};
/// struct Decay;
/// impl OdeSystem for Decay {
///     fn dim(&self) -> usize { 1 }
///     fn rhs(&self, _t: f64, y: &State, dy: &mut State) { dy[0] = -y[0]; }
/// }
/// let mut dy = State::zeros(1);
/// Decay.rhs(0.0, &State::from_element(1, 2.0), &mut dy);
/// assert_eq!(dy[0], -2.0);
/// ```
pub trait OdeSystem {
    /// Dimension n of the state.
    fn dim(&self) -> usize;

    /// Writes `f(t, y)` into `dy` (both of length [`dim`](Self::dim)).
    fn rhs(&self, t: f64, y: &State, dy: &mut State);

    /// Writes the Jacobian `∂f/∂y (t, y)` into the n×n matrix `jac` and returns
    /// `true`, or returns `false` when no analytic Jacobian is available
    /// (implicit methods then use finite differences).
    fn jacobian(&self, _t: f64, _y: &State, _jac: &mut DMatrix<f64>) -> bool {
        false
    }

    /// Structure of `f` in `y`; defaults to [`Linearity::Nonlinear`].
    fn linearity(&self) -> Linearity {
        Linearity::Nonlinear
    }

    /// Whether the system is dissipative in the sense of a gradient flow
    /// (`y' = −∇f(y)`): then running it backward in time is ill-posed, and
    /// compositions with negative coefficients refuse its flow maps by
    /// default. Defaults to `false`.
    fn is_dissipative(&self) -> bool {
        false
    }
}

/// A first-order system `y' = f(t, y)` whose dimension `N` is known at
/// compile time: the right-hand side of [`SmallRk`](crate::SmallRk) and
/// [`integrate_small`](crate::integrate_small), called directly (no
/// `&dyn`, no heap state), so that small systems (Lorenz, a pendulum) run
/// without per-step overhead. Closures `Fn(f64, &[f64; N], &mut [f64; N])`
/// are small systems.
///
/// # Example
/// ```
/// use splitflow::SmallSystem;
/// let osc = |_t: f64, y: &[f64; 2], dy: &mut [f64; 2]| *dy = [y[1], -y[0]];
/// let mut dy = [0.0; 2];
/// osc.rhs(0.0, &[1.0, 0.0], &mut dy);
/// assert_eq!(dy, [0.0, -1.0]);
/// ```
pub trait SmallSystem<const N: usize> {
    /// Writes `f(t, y)` into `dy`.
    fn rhs(&self, t: f64, y: &[f64; N], dy: &mut [f64; N]);
}

impl<const N: usize, F: Fn(f64, &[f64; N], &mut [f64; N])> SmallSystem<N> for F {
    #[inline(always)]
    fn rhs(&self, t: f64, y: &[f64; N], dy: &mut [f64; N]) {
        self(t, y, dy)
    }
}

/// Implements [`OdeSystem`] for pointers to systems (`&S`, `Box<S>`) by
/// forwarding every method to the pointee.
macro_rules! forward_ode_system {
    ($($pointer:ty),+) => {$(
        impl<S: OdeSystem + ?Sized> OdeSystem for $pointer {
            fn dim(&self) -> usize {
                (**self).dim()
            }
            fn rhs(&self, t: f64, y: &State, dy: &mut State) {
                (**self).rhs(t, y, dy)
            }
            fn jacobian(&self, t: f64, y: &State, jac: &mut DMatrix<f64>) -> bool {
                (**self).jacobian(t, y, jac)
            }
            fn linearity(&self) -> Linearity {
                (**self).linearity()
            }
            fn is_dissipative(&self) -> bool {
                (**self).is_dissipative()
            }
        }
    )+};
}

forward_ode_system!(&S, Box<S>);

/// Type of the Jacobian closure of an [`FnSystem`] (`Send + Sync`, so that
/// the system can be shared between threads).
pub type JacobianFn = Box<dyn Fn(f64, &State, &mut DMatrix<f64>) + Send + Sync>;

/// A system backed by a closure `f(t, y, dy)`, with an optional Jacobian closure.
///
/// `Send + Sync` (usable from and shareable between threads) whenever `f`
/// is; the Jacobian closure must be `Send + Sync`.
///
/// # Example
/// ```
/// use splitflow::{FnSystem, OdeSystem, State};
/// let osc = FnSystem::new(2, |_t, y: &State, dy: &mut State| {
///     dy[0] = y[1];
///     dy[1] = -y[0];
/// });
/// assert_eq!(osc.dim(), 2);
/// ```
pub struct FnSystem<F> {
    dim: usize,
    f: F,
    jac: Option<JacobianFn>,
    linearity: Linearity,
}

impl<F: Fn(f64, &State, &mut State)> FnSystem<F> {
    /// A nonlinear system of dimension `dim` with right-hand side `f`.
    pub fn new(dim: usize, f: F) -> Self {
        FnSystem {
            dim,
            f,
            jac: None,
            linearity: Linearity::Nonlinear,
        }
    }

    /// Adds an analytic Jacobian `jac(t, y, J)`.
    pub fn with_jacobian(
        mut self,
        jac: impl Fn(f64, &State, &mut DMatrix<f64>) + Send + Sync + 'static,
    ) -> Self {
        self.jac = Some(Box::new(jac));
        self
    }

    /// Declares the structure of `f` (see [`Linearity`]).
    pub fn with_linearity(mut self, linearity: Linearity) -> Self {
        self.linearity = linearity;
        self
    }
}

impl<F: Fn(f64, &State, &mut State)> OdeSystem for FnSystem<F> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn rhs(&self, t: f64, y: &State, dy: &mut State) {
        (self.f)(t, y, dy)
    }
    fn jacobian(&self, t: f64, y: &State, jac: &mut DMatrix<f64>) -> bool {
        match &self.jac {
            Some(j) => {
                j(t, y, jac);
                true
            }
            None => false,
        }
    }
    fn linearity(&self) -> Linearity {
        self.linearity
    }
}

/// The linear system `y' = A·y + c` with constant `A` and optional constant `c`.
///
/// Its exact flow is available through the matrix exponential:
///
/// $$ y(t) = e^{tA} y_0 + \int_0^t e^{sA}\,ds\; c, $$
///
/// computed as the exponential of the augmented matrix `[[A, c], [0, 0]]`.
///
/// # Example
/// ```
/// use nalgebra::{dmatrix, dvector};
/// use splitflow::LinearSystem;
/// let sys = LinearSystem::new(dmatrix![-1.0, 0.0; 0.0, -2.0], None)?;
/// let y = sys.exact(1.0, &dvector![1.0, 1.0])?;
/// assert!((y[1] - (-2.0f64).exp()).abs() < 1e-14);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct LinearSystem {
    a: DMatrix<f64>,
    c: Option<DVector<f64>>,
}

impl LinearSystem {
    /// `y' = A·y + c`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) when `A` is
    /// not square or `c` has the wrong length; [`Error::NonFinite`](crate::Error::NonFinite)
    /// for NaN or infinite entries.
    pub fn new(a: DMatrix<f64>, c: Option<DVector<f64>>) -> Result<Self> {
        check_dim("matrix A (columns)", a.nrows(), a.ncols())?;
        if a.iter().any(|x| !x.is_finite()) {
            return Err(crate::Error::non_finite_input("matrix A", None));
        }
        if let Some(c) = &c {
            check_dim("forcing c", a.nrows(), c.len())?;
            check_finite("forcing c", c, None)?;
        }
        Ok(LinearSystem { a, c })
    }

    /// The matrix `A`.
    pub fn matrix(&self) -> &DMatrix<f64> {
        &self.a
    }

    /// The forcing `c`, if any.
    pub fn forcing(&self) -> Option<&DVector<f64>> {
        self.c.as_ref()
    }

    /// The propagator of the exact flow over time `t` as an (n+1)×(n+1)
    /// matrix acting on `[y; 1]`.
    pub fn propagator(&self, t: f64) -> DMatrix<f64> {
        let n = self.a.nrows();
        let mut m = DMatrix::zeros(n + 1, n + 1);
        m.view_mut((0, 0), (n, n)).copy_from(&(&self.a * t));
        if let Some(c) = &self.c {
            m.view_mut((0, n), (n, 1)).copy_from(&(c * t));
        }
        m.exp()
    }

    /// The exact solution at time `t` from `y0` at time 0.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) for a
    /// wrong-length `y0`; [`Error::InvalidParameter`](crate::Error::InvalidParameter)
    /// for a non-finite `t`; [`Error::NonFinite`](crate::Error::NonFinite)
    /// for a non-finite `y0` or when the solution overflows (e^{tA} is too
    /// large to represent) — never `Ok` with ∞ or NaN.
    pub fn exact(&self, t: f64, y0: &State) -> Result<State> {
        let n = self.a.nrows();
        check_dim("initial state y0", n, y0.len())?;
        if !t.is_finite() {
            return Err(crate::Error::invalid("t", t, "must be finite"));
        }
        check_finite("initial state y0", y0, Some(0.0))?;
        let p = self.propagator(t);
        let mut y = p.view((0, 0), (n, n)) * y0;
        y += p.view((0, n), (n, 1));
        if !crate::kernels::all_finite(y.as_slice()) {
            return Err(crate::Error::non_finite(
                "exact solution of the linear system (overflow)",
                t,
            ));
        }
        Ok(y)
    }
}

impl OdeSystem for LinearSystem {
    fn dim(&self) -> usize {
        self.a.nrows()
    }
    fn rhs(&self, _t: f64, y: &State, dy: &mut State) {
        dy.gemv(1.0, &self.a, y, 0.0);
        if let Some(c) = &self.c {
            *dy += c;
        }
    }
    fn jacobian(&self, _t: f64, _y: &State, jac: &mut DMatrix<f64>) -> bool {
        jac.copy_from(&self.a);
        true
    }
    fn linearity(&self) -> Linearity {
        Linearity::AffineConstantJacobian
    }
}

/// Runs any [`OdeSystem`] under `ode_solvers`' integrators (Dopri5, Dop853, Rk4),
/// which the tests and benchmarks use as an independent oracle.
///
/// # Example
/// ```
/// use ode_solvers::Dopri5;
/// use splitflow::{FnSystem, OdeSolversAdapter, State};
/// let decay = FnSystem::new(1, |_t, y: &State, dy: &mut State| dy[0] = -y[0]);
/// let mut solver = Dopri5::new(OdeSolversAdapter(&decay), 0.0, 1.0, 1.0,
///                              State::from_element(1, 1.0), 1e-10, 1e-10);
/// solver.set_output(ode_solvers::OutputType::Sparse);
/// solver.integrate().unwrap();
/// let y1 = solver.y_out().last().unwrap()[0];
/// assert!((y1 - (-1.0f64).exp()).abs() < 1e-9);
/// ```
pub struct OdeSolversAdapter<S>(pub S);

impl<S: OdeSystem> ode_solvers::System<f64, DVector<f64>> for OdeSolversAdapter<S> {
    fn system(&self, t: f64, y: &DVector<f64>, dy: &mut DVector<f64>) {
        self.0.rhs(t, y, dy)
    }
}
