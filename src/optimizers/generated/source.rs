//! The gradient source of one generated-optimizer step: the oracle seen by
//! an ODE right-hand side, with a one-point memo.

use std::cell::{Ref, RefCell};

use nalgebra::DMatrix;

use crate::State;
use crate::error::Error;
use crate::optimizers::{GradientOracle, gradient_at};
use crate::steppers::lu::DenseLu;

/// Buffers of a [`GradientSource`], owned by the optimizer so that steps
/// do not allocate.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceBuffers {
    pub point: State,
    pub g: State,
    /// Second-order flows: the Hessian, its factorisation and the solution
    /// (sized on the first [`GradientSource::newton_direction`]).
    pub hessian: DMatrix<f64>,
    pub lu: DenseLu,
    pub direction: State,
}

struct Memo<'b> {
    point: &'b mut State,
    g: &'b mut State,
    hessian: &'b mut DMatrix<f64>,
    lu: &'b mut DenseLu,
    direction: &'b mut State,
    /// The memo holds ∇f at `point`.
    valid: bool,
    /// The memo holds ∇f at version `n` of the fast path's θ block (and
    /// `point` is stale).
    version: Option<usize>,
    evals: usize,
    error: Option<Error>,
}

/// Where a generated flow's right-hand side gets ∇f(x): the oracle of the
/// current optimizer step (so every evaluation within one step refers to
/// the same mini-batch), with a memo of the last point.
///
/// The memo means that pieces evaluated at the same x within one step
/// (RMSProp's "moments" and "position", the kick and Hessian-damping terms)
/// cost one oracle call, as in the fused loops. A failing or non-finite
/// oracle call is remembered (the first one) and the gradient is filled with
/// NaN, so the stepper stops with a non-finite error and the optimizer
/// reports the remembered error instead.
///
/// It also carries the scheme's step counter n (1-based), step h and the
/// discrete products of [`discrete_product`](Self::discrete_product), which
/// discrete ingredients such as Adam's bias factors 1 − βⁿ read; for the
/// exact flow (an order study's reference) [`step`](Self::step) is `None`.
pub struct GradientSource<'a> {
    oracle: RefCell<&'a mut dyn GradientOracle>,
    memo: RefCell<Memo<'a>>,
    step: Option<usize>,
    h: f64,
    p: usize,
    products: &'a [f64],
}

impl<'a> GradientSource<'a> {
    pub(crate) fn new(
        oracle: &'a mut dyn GradientOracle,
        buffers: &'a mut SourceBuffers,
        p: usize,
        step: Option<usize>,
        h: f64,
        products: &'a [f64],
    ) -> Self {
        crate::optimizers::ensure_len(&mut buffers.point, p);
        crate::optimizers::ensure_len(&mut buffers.g, p);
        GradientSource {
            oracle: RefCell::new(oracle),
            memo: RefCell::new(Memo {
                point: &mut buffers.point,
                g: &mut buffers.g,
                hessian: &mut buffers.hessian,
                lu: &mut buffers.lu,
                direction: &mut buffers.direction,
                valid: false,
                version: None,
                evals: 0,
                error: None,
            }),
            step,
            h,
            p,
            products,
        }
    }

    /// Dimension p of θ (the first p components of the flow's state).
    pub fn dim(&self) -> usize {
        self.p
    }

    /// The scheme's step number n (1-based), `None` when the exact flow is
    /// being evaluated.
    pub fn step(&self) -> Option<usize> {
        self.step
    }

    /// The scheme's step h (h_k under a schedule).
    pub fn h(&self) -> f64 {
        self.h
    }

    /// The discrete product ∏_{j ≤ n}(1 − rᵢh_j) over the steps so far
    /// (this one included) for the i-th rate rᵢ of the flow's
    /// [`discrete_rates`](super::OracleFlow::discrete_rates): Adam's βᵢⁿ at
    /// a constant step, ∏(1 − aᵢh_j) under a schedule. `None` when the
    /// exact flow is being evaluated or the flow declared fewer rates.
    pub fn discrete_product(&self, i: usize) -> Option<f64> {
        self.step?;
        self.products.get(i).copied()
    }

    /// ∇f at the θ-part (first p components) of `y`.
    pub fn gradient(&self, y: &State) -> Ref<'_, State> {
        {
            let mut memo = self.memo.borrow_mut();
            let memo = &mut *memo;
            let x = &y.as_slice()[..self.p];
            if !(memo.valid && memo.point.as_slice() == x) {
                memo.point.as_mut_slice().copy_from_slice(x);
                memo.version = None;
                memo.valid = self.call(memo.point, memo.g, &mut memo.evals, &mut memo.error);
            }
        }
        Ref::map(self.memo.borrow(), |m| &*m.g)
    }

    /// ∇f at θ = `x`, the `version`-th value of θ within this step (the fast
    /// path counts θ's writes): the memo is keyed by the version, so the
    /// oracle reads `x` itself and no copy of θ is made.
    pub(crate) fn gradient_at_version(&self, x: &State, version: usize) -> Ref<'_, State> {
        {
            let mut memo = self.memo.borrow_mut();
            let memo = &mut *memo;
            if memo.version != Some(version) {
                memo.valid = false;
                memo.version = self
                    .call(x, memo.g, &mut memo.evals, &mut memo.error)
                    .then_some(version);
            }
        }
        Ref::map(self.memo.borrow(), |m| &*m.g)
    }

    /// One oracle call at `x` into the memo's gradient; `false` (and a NaN
    /// gradient, the first error kept) on failure.
    fn call(&self, x: &State, g: &mut State, evals: &mut usize, error: &mut Option<Error>) -> bool {
        *evals += 1;
        let step = self.step.unwrap_or(0);
        let mut oracle = self.oracle.borrow_mut();
        match gradient_at(&mut **oracle, x, g, step) {
            Ok(()) => true,
            Err(e) => {
                if error.is_none() {
                    *error = Some(e);
                }
                g.fill(f64::NAN);
                false
            }
        }
    }

    /// The regularized Newton direction `(∇²f(x) + λI)⁻¹∇f(x)` at the θ-part
    /// x of `y` (λ = `lambda` ≥ 0), with the Hessian from the oracle's
    /// [`hessian`](GradientOracle::hessian) and the gradient from
    /// [`gradient`](Self::gradient) (memoized). The Hessian, its LU
    /// factorisation and the solution live in buffers sized once.
    ///
    /// When the oracle has no Hessian, fails, or the matrix is singular, the
    /// direction is NaN and the step's error (kept like a failing gradient
    /// call) names the flow: [`Error::InvalidParameter`] for a missing
    /// Hessian, [`Error::SingularMatrix`] for a singular one.
    pub fn newton_direction(&self, y: &State, lambda: f64) -> Ref<'_, State> {
        // The gradient first (memo: afterwards `point` is x); copied into the
        // solution buffer.
        drop(self.gradient(y));
        {
            let mut memo = self.memo.borrow_mut();
            let memo = &mut *memo;
            let p = self.p;
            crate::optimizers::ensure_len(memo.direction, p);
            memo.direction.copy_from(&*memo.g);
            if memo.hessian.nrows() != p || memo.hessian.ncols() != p {
                *memo.hessian = DMatrix::zeros(p, p);
            }
            let step = self.step.unwrap_or(0);
            let mut oracle = self.oracle.borrow_mut();
            let failure = match oracle.hessian(memo.point, memo.hessian) {
                Err(e) => Some(e),
                Ok(false) => Some(Error::invalid(
                    "flow",
                    "newton",
                    "the Newton flow needs a Hessian, and this oracle provides none (use an objective or finite sum with a Hessian, through ObjectiveOracle or BatchOracle)",
                )),
                Ok(true) => {
                    let mut m = memo.lu.matrix_mut(p);
                    for j in 0..p {
                        for i in 0..p {
                            m[(i, j)] = memo.hessian[(i, j)];
                        }
                        m[(j, j)] += lambda;
                    }
                    if memo.lu.factor() {
                        memo.lu.solve(memo.direction);
                        None
                    } else {
                        Some(Error::SingularMatrix {
                            what: format!(
                                "Newton flow: ∇²f + {}·I at step {step} (regularize with `regularization` λ > 0)",
                                crate::error::Float(lambda)
                            ),
                            t: None,
                        })
                    }
                }
            };
            if let Some(e) = failure {
                if memo.error.is_none() {
                    memo.error = Some(e);
                }
                memo.direction.fill(f64::NAN);
            }
        }
        Ref::map(self.memo.borrow(), |m| &*m.direction)
    }

    /// Oracle calls made so far.
    pub fn evaluations(&self) -> usize {
        self.memo.borrow().evals
    }

    /// The first oracle failure of the step, if any.
    pub(crate) fn take_error(&self) -> Option<Error> {
        self.memo.borrow_mut().error.take()
    }
}
