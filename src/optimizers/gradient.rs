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
    /// RK4 on the gradient flow: the RK4 stepper through the generated
    /// optimizer (the steppers are the one place a scheme lives). In a
    /// `Mutex` only so that `GradientDescent` stays `Sync` (steppers are
    /// `Send`); it is reached through `get_mut`, never locked.
    rk4: Option<Mutex<GeneratedOptimizer>>,
    g: State,
    stage: State,
    acc: State,
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
            rk4: match scheme {
                GradientScheme::Rk4 => Some(Mutex::new(rk4_on_gradient_flow(h)?)),
                _ => None,
            },
            g: State::zeros(0),
            stage: State::zeros(0),
            acc: State::zeros(0),
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

    fn implicit_step(
        &mut self,
        theta: &mut State,
        oracle: &mut dyn GradientOracle,
        opts: ImplicitOptions,
    ) -> Result<()> {
        let k = self.steps + 1;
        // z₀ = explicit Euler predictor; then z ← θ − h∇f(z).
        gradient_at(oracle, theta, &mut self.g, k)?;
        self.stage.copy_from(theta);
        self.stage.axpy(-self.h, &self.g, 1.0);
        let mut last = f64::INFINITY;
        let mut iterations = 0;
        for _ in 0..opts.max_iterations {
            iterations += 1;
            gradient_at(oracle, &self.stage, &mut self.g, k)?;
            self.acc.copy_from(theta);
            self.acc.axpy(-self.h, &self.g, 1.0);
            let mut diff: f64 = 0.0;
            let mut size: f64 = 0.0;
            for (a, s) in self.acc.iter().zip(self.stage.iter()) {
                diff = diff.max((a - s).abs());
                size = size.max(a.abs());
            }
            std::mem::swap(&mut self.acc, &mut self.stage);
            last = diff / (1.0 + size);
            // An overflowing iterate (inf − inf, or inf ≤ inf in the test
            // below) means the fixed-point map diverged: give up, θ untouched.
            if !diff.is_finite() || !size.is_finite() {
                break;
            }
            if diff <= opts.tol * (1.0 + size) {
                return commit(k, theta, &mut self.stage, &mut []);
            }
        }
        Err(Error::FixedPointFailed {
            step: k,
            iterations,
            change: last,
        })
    }
}

/// RK4 on the gradient flow with step `h`, as a generated optimizer.
fn rk4_on_gradient_flow(h: f64) -> Result<GeneratedOptimizer> {
    GeneratedOptimizer::new(
        Box::new(GeneratedFlow::new(FlowKind::Gradient)?),
        Scheme::stepper("rk4")?,
        h,
    )
}

impl Clone for GradientDescent {
    /// A copy with the same scheme, step, counter and workspaces (RK4's
    /// generated optimizer is rebuilt: it keeps no state between steps).
    fn clone(&self) -> Self {
        GradientDescent {
            h: self.h,
            scheme: self.scheme,
            steps: self.steps,
            rk4: self
                .rk4
                .as_ref()
                .and_then(|_| rk4_on_gradient_flow(self.h).ok().map(Mutex::new)),
            g: self.g.clone(),
            stage: self.stage.clone(),
            acc: self.acc.clone(),
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
        prepare(
            theta,
            k,
            &mut [&mut self.g, &mut self.stage, &mut self.acc, &mut self.next],
        )?;
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
            GradientScheme::ImplicitEuler(opts) => self.implicit_step(theta, oracle, opts)?,
            GradientScheme::Rk4 => match &mut self.rk4 {
                Some(rk4) => rk4
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
        if let Some(rk4) = &mut self.rk4 {
            rk4.get_mut().unwrap_or_else(|e| e.into_inner()).reset();
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
