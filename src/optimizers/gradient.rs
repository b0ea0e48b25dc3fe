//! Gradient descent, SGD and implicit SGD: one-step schemes on the gradient flow.

use std::sync::Mutex;

use super::generated::{FlowKind, GeneratedFlow, GeneratedOptimizer, Scheme};
use super::{GradientOracle, Optimizer, check_positive, commit, gradient_at, prepare};
use crate::State;
use crate::error::{Error, Result};
use crate::kernels::lincomb;

/// The scheme [`GradientDescent`] applies to θ' = −∇f(θ).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GradientScheme {
    /// θ ← θ − h∇f(θ): gradient descent, or SGD with a mini-batch oracle.
    ExplicitEuler,
    /// θ₊ = θ − h∇f(θ₊): implicit SGD (a proximal-point step), solved by
    /// fixed-point iteration.
    ImplicitEuler(ImplicitOptions),
    /// Classical RK4 (four gradients per step, all from the same oracle
    /// state, i.e. the same batch): the library's `Rk4` stepper on the
    /// gradient flow, run through a
    /// [`GeneratedOptimizer`](super::GeneratedOptimizer).
    Rk4,
}

/// Fixed-point iteration `z ← θ − h∇f(z)` of the implicit step.
///
/// The map is a contraction when `h·L < 1` (L = Lipschitz constant of ∇f),
/// which is the condition this solver needs; for least squares the exact
/// b×b solve of [`ExactLeastSquaresFlow`](crate::reduction::ExactLeastSquaresFlow)
/// with its implicit-Euler scheme has no such restriction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImplicitOptions {
    /// Stop when ‖z₊ − z‖∞ ≤ tol·(1 + ‖z₊‖∞).
    pub tol: f64,
    /// Give up (with [`Error::FixedPointFailed`]) after this many iterations.
    pub max_iterations: usize,
}

impl Default for ImplicitOptions {
    fn default() -> Self {
        ImplicitOptions {
            tol: 1e-15,
            max_iterations: 500,
        }
    }
}

/// Gradient descent as a one-step scheme on the gradient flow
/// θ' = −∇f(θ), step h.
///
/// *Explicit Euler on θ' = −∇f(θ) with lr = h* is gradient descent; with a
/// mini-batch oracle that cycles the batches it is SGD, which is one Lie
/// splitting step of the gradient flow over the batches' local flows
/// (THEORY §3; tests/splitting.rs proves the identity). *Implicit Euler* is
/// implicit SGD, θ₊ = argmin fᵢ(z) + ‖z − θ‖²/(2h). *RK4* is provided for
/// studies of the flow itself.
///
/// $$ \theta_{k+1} = \theta_k - h\,\nabla f_{i_k}(\theta_k) $$
///
/// # Example
/// ```
/// use nalgebra::dvector;
/// use splitflow::optimizers::{FnOracle, GradientDescent, Optimizer};
///
/// let mut sgd = GradientDescent::sgd(0.5)?;
/// let mut oracle = FnOracle::new(1, |theta, g| g.copy_from(theta)); // f = θ²/2
/// let mut theta = dvector![2.0];
/// sgd.step(&mut theta, &mut oracle)?;
/// assert_eq!(theta[0], 1.0); // 2 − 0.5·2
/// # Ok::<(), splitflow::Error>(())
/// ```
///
/// # Reference
/// H. Robbins, S. Monro, *A stochastic approximation method*, 1951;
/// P. Toulis, E. Airoldi, *Asymptotic and finite-sample properties of
/// estimators based on stochastic gradients*, 2017 (implicit SGD);
/// D. Merkulov, I. Oseledets, *Stochastic gradient algorithms from ODE
/// splitting perspective*, 2020.
#[derive(Debug)]
pub struct GradientDescent {
    h: f64,
    scheme: GradientScheme,
    steps: usize,
    /// RK4 and implicit Euler on the gradient flow: the library's steppers
    /// through a generated optimizer (the steppers are the one place a
    /// scheme lives). In a `Mutex` only so that `GradientDescent` stays
    /// `Sync` (steppers are `Send`); it is reached through `get_mut`, never
    /// locked.
    stepped: Option<Mutex<GeneratedOptimizer>>,
    g: State,
    next: State,
}

impl GradientDescent {
    /// The scheme `scheme` on the gradient flow with step `h`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-positive or non-finite `h`, or
    /// invalid implicit options.
    pub fn from_ode(scheme: GradientScheme, h: f64) -> Result<Self> {
        check_positive("h", h)?;
        if let GradientScheme::ImplicitEuler(o) = scheme {
            check_positive("implicit tol", o.tol)?;
            if o.max_iterations == 0 {
                return Err(Error::invalid(
                    "implicit max_iterations",
                    0,
                    "must be at least 1",
                ));
            }
        }
        Ok(GradientDescent {
            h,
            scheme,
            steps: 0,
            stepped: stepped_on_gradient_flow(scheme, h)?.map(Mutex::new),
            g: State::zeros(0),
            next: State::zeros(0),
        })
    }

    /// SGD / gradient descent with learning rate `lr` (explicit Euler, h = lr).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-positive or non-finite `lr`.
    pub fn sgd(lr: f64) -> Result<Self> {
        check_positive("lr", lr)?;
        Self::from_ode(GradientScheme::ExplicitEuler, lr)
    }

    /// Implicit SGD with learning rate `lr` (implicit Euler, h = lr).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-positive or non-finite `lr`.
    pub fn implicit_sgd(lr: f64) -> Result<Self> {
        check_positive("lr", lr)?;
        Self::from_ode(
            GradientScheme::ImplicitEuler(ImplicitOptions::default()),
            lr,
        )
    }

    /// The step h (= the learning rate).
    pub fn h(&self) -> f64 {
        self.h
    }

    /// The scheme.
    pub fn scheme(&self) -> GradientScheme {
        self.scheme
    }
}

/// The generated optimizer of a stepper scheme on the gradient flow with
/// step `h` (RK4, or implicit Euler solved by fixed-point iteration);
/// `None` for explicit Euler, whose fused loop is the fast path.
fn stepped_on_gradient_flow(scheme: GradientScheme, h: f64) -> Result<Option<GeneratedOptimizer>> {
    let stepper: Box<dyn crate::steppers::Stepper> = match scheme {
        GradientScheme::ExplicitEuler => return Ok(None),
        GradientScheme::Rk4 => Box::new(crate::steppers::Rk4::new()),
        GradientScheme::ImplicitEuler(o) => Box::new(crate::steppers::ImplicitEuler::fixed_point(
            o.tol,
            o.max_iterations,
        )?),
    };
    let integrator = crate::Integrator::new(stepper, crate::Steps::Fixed(1))?;
    GeneratedOptimizer::new(
        Box::new(GeneratedFlow::new(FlowKind::Gradient)?),
        Scheme::Whole(integrator),
        h,
    )
    .map(Some)
}

impl Clone for GradientDescent {
    /// A copy with the same scheme, step, counter and workspaces (the
    /// stepped schemes' generated optimizer is rebuilt: on the gradient flow
    /// it keeps no state between steps).
    fn clone(&self) -> Self {
        GradientDescent {
            h: self.h,
            scheme: self.scheme,
            steps: self.steps,
            stepped: stepped_on_gradient_flow(self.scheme, self.h)
                .ok()
                .flatten()
                .map(Mutex::new),
            g: self.g.clone(),
            next: self.next.clone(),
        }
    }
}

impl Optimizer for GradientDescent {
    fn name(&self) -> &'static str {
        match self.scheme {
            GradientScheme::ExplicitEuler => "sgd",
            GradientScheme::ImplicitEuler(_) => "implicit_sgd",
            GradientScheme::Rk4 => "rk4_gradient_flow",
        }
    }

    fn step(&mut self, theta: &mut State, oracle: &mut dyn GradientOracle) -> Result<()> {
        let k = self.steps + 1;
        prepare(theta, k, &mut [&mut self.g, &mut self.next])?;
        match self.scheme {
            GradientScheme::ExplicitEuler => {
                gradient_at(oracle, theta, &mut self.g, k)?;
                // θ + (−h)·g: bitwise θ.axpy(−h, g, 1).
                lincomb(
                    self.next.as_mut_slice(),
                    Some(theta.as_slice()),
                    &[(-self.h, self.g.as_slice())],
                );
                commit(k, theta, &mut self.next, &mut [])?;
            }
            GradientScheme::ImplicitEuler(_) | GradientScheme::Rk4 => match &mut self.stepped {
                Some(stepped) => stepped
                    .get_mut()
                    .unwrap_or_else(|e| e.into_inner())
                    .step(theta, oracle)?,
                None => unreachable!("built with the scheme"),
            },
        }
        self.steps += 1;
        Ok(())
    }

    fn reset(&mut self) {
        self.steps = 0;
        if let Some(stepped) = &mut self.stepped {
            stepped.get_mut().unwrap_or_else(|e| e.into_inner()).reset();
        }
    }

    fn steps_taken(&self) -> usize {
        self.steps
    }

    fn hyper_parameters(&self) -> Vec<(&'static str, f64)> {
        vec![("lr", self.h)]
    }

    fn derivation(&self) -> String {
        let scheme = match self.scheme {
            GradientScheme::ExplicitEuler => "explicit Euler",
            GradientScheme::ImplicitEuler(_) => "implicit Euler",
            GradientScheme::Rk4 => "RK4",
        };
        format!(
            "{scheme} on the gradient flow θ' = −∇f(θ) with step h = {} (lr = h)",
            self.h
        )
    }
}

use super::registry::MethodEntry;

/// Registry entry of `sgd`.
pub(crate) const SGD: MethodEntry = MethodEntry {
    name: "sgd",
    keys: &["method", "lr"],
    defaults: &[],
    ode: "explicit Euler on the gradient flow θ' = −∇f(θ), h = lr",
    build: |t, e| Ok(Box::new(GradientDescent::sgd(e.number(t.lr, "lr")?)?)),
};

/// Registry entry of `implicit_sgd`.
pub(crate) const IMPLICIT_SGD: MethodEntry = MethodEntry {
    name: "implicit_sgd",
    keys: &["method", "lr"],
    defaults: &[],
    ode: "implicit Euler (proximal point) on the gradient flow, h = lr",
    build: |t, e| {
        Ok(Box::new(GradientDescent::implicit_sgd(
            e.number(t.lr, "lr")?,
        )?))
    },
};
