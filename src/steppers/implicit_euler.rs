//! Implicit (backward) Euler with Newton's method.

use nalgebra::DMatrix;

use super::lu::DenseLu;
use super::{Stats, Stepper, begin_step, eval_rhs};
use crate::error::{Error, Result};
use crate::system::Linearity;
use crate::{OdeSystem, Order, State};

/// Newton iteration settings of [`ImplicitEuler`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewtonOptions {
    /// Iteration cap.
    pub max_iterations: usize,
    /// Relative tolerance of the scaled correction.
    pub rtol: f64,
    /// Absolute tolerance of the scaled correction.
    pub atol: f64,
}

impl Default for NewtonOptions {
    /// 20 iterations, converged when the RMS of `δᵢ / (atol + rtol·|zᵢ|)` is at
    /// most 1 with `rtol = atol = 1e-12`.
    fn default() -> Self {
        NewtonOptions {
            max_iterations: 20,
            rtol: 1e-12,
            atol: 1e-12,
        }
    }
}

/// Implicit Euler, order 1, A- and L-stable:
///
/// $$ y_{n+1} = y_n + h\, f(t_{n+1}, y_{n+1}), $$
///
/// solved by Newton's method on `G(z) = z − yₙ − h f(tₙ₊₁, z)` with the
/// Newton matrix `I − h J`, `J` the system's analytic Jacobian or a
/// forward-difference one (n extra f-evaluations). Affine systems
/// ([`Linearity::Affine`] and [`Linearity::AffineConstantJacobian`]) take
/// exactly one linear solve. On the gradient flow this is the proximal-point
/// method (implicit gradient descent).
///
/// Workspaces are reused: after the first step at a dimension a step does
/// not allocate (the LU factorisation, faer's partial pivoting, is computed
/// in place into kept storage). Systems that declare
/// [`Linearity::AffineConstantJacobian`] are factorised once per step size:
/// the factorisation is kept while `h` and the (analytic) Jacobian stay
/// bitwise the same, so a fixed-step run costs one factorisation.
///
/// # Example
/// ```
/// use splitflow::{ImplicitEuler, FnSystem, State, Stats, Stepper};
/// // Stiff decay: explicit Euler would blow up at h = 0.1.
/// let stiff = FnSystem::new(1, |_t, y: &State, dy: &mut State| dy[0] = -1e6 * y[0]);
/// let mut y = State::from_element(1, 1.0);
/// ImplicitEuler::new().step(&stiff, 0.0, 0.1, &mut y, &mut Stats::default())?;
/// assert!(y[0].abs() < 1e-4);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ImplicitEuler {
    options: NewtonOptions,
    /// Solve by fixed-point iteration instead of Newton: `(tol, max_iterations)`.
    fixed_point: Option<(f64, usize)>,
    jac: DMatrix<f64>,
    z: State,
    f: State,
    fd: State,
    delta: State,
    lu: DenseLu,
    /// `h` and Jacobian of the held factorisation (constant-Jacobian reuse).
    lu_h: f64,
    lu_jac: DMatrix<f64>,
}

impl ImplicitEuler {
    /// Implicit Euler with default [`NewtonOptions`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Implicit Euler with the given Newton settings.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a zero iteration cap or non-positive tolerances.
    pub fn with_newton(options: NewtonOptions) -> Result<Self> {
        if options.max_iterations == 0 {
            return Err(Error::invalid("max_iterations", 0, "must be at least 1"));
        }
        crate::error::check_positive("newton rtol", options.rtol)?;
        crate::error::check_positive("newton atol", options.atol)?;
        Ok(ImplicitEuler {
            options,
            ..Self::default()
        })
    }

    /// Implicit Euler solved by fixed-point iteration instead of Newton:
    /// from the explicit-Euler predictor `z₀ = yₙ + h f(tₙ, yₙ)`, iterate
    /// `z ← yₙ + h f(tₙ₊₁, z)` until `‖z₊ − z‖∞ ≤ tol·(1 + ‖z₊‖∞)`. No
    /// Jacobian; it converges when `h·Lip(f) < 1` — on the gradient flow
    /// this is implicit SGD's proximal step θ₊ = θ − h∇f(θ₊) (what
    /// [`GradientDescent::implicit_sgd`](crate::optimizers::GradientDescent::implicit_sgd) runs).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-positive `tol` or a zero cap.
    /// A step that does not converge within `max_iterations` (or whose
    /// iterate overflows) is [`Error::FixedPointFailed`] (its `step` is 0:
    /// the caller that counts steps fills it in).
    ///
    /// # Example
    /// ```
    /// use splitflow::{FnSystem, ImplicitEuler, State, Stats, Stepper};
    /// // y' = −y: the implicit-Euler step is y/(1 + h).
    /// let decay = FnSystem::new(1, |_t, y: &State, dy: &mut State| dy[0] = -y[0]);
    /// let mut y = State::from_element(1, 1.0);
    /// ImplicitEuler::fixed_point(1e-15, 200)?.step(&decay, 0.0, 0.25, &mut y, &mut Stats::default())?;
    /// assert!((y[0] - 1.0 / 1.25).abs() < 1e-14);
    /// # Ok::<(), splitflow::Error>(())
    /// ```
    pub fn fixed_point(tol: f64, max_iterations: usize) -> Result<Self> {
        crate::error::check_positive("implicit tol", tol)?;
        if max_iterations == 0 {
            return Err(Error::invalid(
                "implicit max_iterations",
                0,
                "must be at least 1",
            ));
        }
        Ok(ImplicitEuler {
            fixed_point: Some((tol, max_iterations)),
            ..Self::default()
        })
    }

    /// One step by fixed-point iteration (see [`fixed_point`](Self::fixed_point)).
    fn fixed_point_step(
        &mut self,
        system: &dyn OdeSystem,
        t: f64,
        h: f64,
        y: &mut State,
        stats: &mut Stats,
        (tol, max_iterations): (f64, usize),
    ) -> Result<()> {
        let n = y.len();
        eval_rhs(system, t, y, &mut self.f, "implicit Euler")?;
        stats.f_evals += 1;
        for i in 0..n {
            self.z[i] = y[i] + h * self.f[i];
        }
        let t1 = t + h;
        let mut change = f64::INFINITY;
        let mut iterations = 0;
        for _ in 0..max_iterations {
            iterations += 1;
            eval_rhs(system, t1, &self.z, &mut self.f, "implicit Euler")?;
            stats.f_evals += 1;
            let (mut diff, mut size): (f64, f64) = (0.0, 0.0);
            for i in 0..n {
                let next = y[i] + h * self.f[i];
                diff = diff.max((next - self.z[i]).abs());
                size = size.max(next.abs());
                self.delta[i] = next;
            }
            std::mem::swap(&mut self.delta, &mut self.z);
            change = diff / (1.0 + size);
            // An overflowing iterate means the map diverged: give up.
            if !diff.is_finite() || !size.is_finite() {
                break;
            }
            if diff <= tol * (1.0 + size) {
                y.copy_from(&self.z);
                stats.accepted += 1;
                return Ok(());
            }
        }
        Err(Error::FixedPointFailed {
            step: 0,
            iterations,
            change,
        })
    }

    /// Writes `∂f/∂y(t, z)` into `self.jac`; `self.f` must hold `f(t, z)`.
    fn jacobian(&mut self, system: &dyn OdeSystem, t: f64, stats: &mut Stats) -> Result<()> {
        stats.jac_evals += 1;
        if system.jacobian(t, &self.z, &mut self.jac) {
            return Ok(());
        }
        let n = self.z.len();
        for j in 0..n {
            let zj = self.z[j];
            let e = f64::EPSILON.sqrt() * zj.abs().max(1.0);
            self.z[j] = zj + e;
            eval_rhs(system, t, &self.z, &mut self.fd, "implicit Euler")?;
            self.z[j] = zj;
            for i in 0..n {
                self.jac[(i, j)] = (self.fd[i] - self.f[i]) / e;
            }
        }
        stats.f_evals += n;
        Ok(())
    }

    /// Factorises the Newton matrix `I − hJ` (`J` in `self.jac`) in place,
    /// unless `constant` (the system declares a constant Jacobian) and the
    /// held factorisation is of this `h` and this Jacobian, bitwise.
    ///
    /// # Errors
    /// [`Error::SingularMatrix`] at `t1`.
    fn factor_newton_matrix(
        &mut self,
        h: f64,
        t1: f64,
        constant: bool,
        stats: &mut Stats,
    ) -> Result<()> {
        let reuse = constant
            && self.lu.is_factored()
            && self.lu_h.to_bits() == h.to_bits()
            && self
                .jac
                .iter()
                .zip(self.lu_jac.iter())
                .all(|(a, b)| a.to_bits() == b.to_bits());
        if reuse {
            return Ok(());
        }
        let n = self.jac.nrows();
        let mut m = self.lu.matrix_mut(n);
        for j in 0..n {
            for i in 0..n {
                m[(i, j)] = self.jac[(i, j)] * -h;
            }
            m[(j, j)] += 1.0;
        }
        stats.factorizations += 1;
        if !self.lu.factor() {
            return Err(Error::SingularMatrix {
                what: "implicit Euler Newton matrix I − hJ".into(),
                t: Some(t1),
            });
        }
        if constant {
            self.lu_jac.copy_from(&self.jac);
            self.lu_h = h;
        }
        Ok(())
    }

    /// Applies the Newton correction `z ← z + δ` and returns its size, the
    /// RMS of `δᵢ / (atol + rtol·|zᵢ|)` (with the new `z`).
    fn apply_correction(&mut self) -> f64 {
        let n = self.z.len();
        let mut sum = 0.0;
        for i in 0..n {
            self.z[i] += self.delta[i];
            let sc = self.options.atol + self.options.rtol * self.z[i].abs();
            sum += (self.delta[i] / sc).powi(2);
        }
        (sum / n.max(1) as f64).sqrt()
    }
}

impl Stepper for ImplicitEuler {
    fn name(&self) -> &'static str {
        "implicit_euler"
    }

    fn order(&self) -> Order {
        Order::Finite(1)
    }

    fn step(
        &mut self,
        system: &dyn OdeSystem,
        t: f64,
        h: f64,
        y: &mut State,
        stats: &mut Stats,
    ) -> Result<()> {
        let workspaces = [&mut self.z, &mut self.f, &mut self.fd, &mut self.delta];
        begin_step(system, h, y, workspaces)?;
        if let Some(fixed_point) = self.fixed_point {
            return self.fixed_point_step(system, t, h, y, stats, fixed_point);
        }
        let n = y.len();
        if self.jac.nrows() != n {
            self.jac = DMatrix::zeros(n, n);
            self.lu_jac = DMatrix::zeros(n, n);
        }
        let t1 = t + h;
        let linearity = system.linearity();
        let affine = linearity != Linearity::Nonlinear;
        let constant = linearity == Linearity::AffineConstantJacobian;
        self.z.copy_from(y);
        let mut correction = f64::INFINITY;
        for iteration in 1..=self.options.max_iterations {
            eval_rhs(system, t1, &self.z, &mut self.f, "implicit Euler")?;
            stats.f_evals += 1;
            // δ = −G(z) = y − z + h f(t1, z)
            for i in 0..n {
                self.delta[i] = y[i] - self.z[i] + h * self.f[i];
            }
            self.jacobian(system, t1, stats)?;
            self.factor_newton_matrix(h, t1, constant, stats)?;
            self.lu.solve(&mut self.delta);
            stats.linear_solves += 1;
            stats.newton_iterations += 1;
            correction = self.apply_correction();
            if !correction.is_finite() {
                return Err(Error::non_finite("implicit Euler Newton iterate", t1));
            }
            if affine || correction <= 1.0 {
                y.copy_from(&self.z);
                stats.accepted += 1;
                return Ok(());
            }
            if iteration == self.options.max_iterations {
                break;
            }
        }
        Err(Error::NewtonFailed {
            t: t1,
            iterations: self.options.max_iterations,
            correction,
        })
    }
}
