//! The hand-written numeric kernels, in one place: slice loops shaped so
//! that they vectorise and stream memory, each with a test that it is
//! bitwise equal to the plain loop (or nalgebra call) it replaces.
//!
//! * [`lincomb`] — fused linear combinations `out = base + Σ cⱼ·kⱼ` with an
//!   optional non-finite probe, and the probe alone ([`all_finite`]); used by
//!   the steppers, the splitting driver, the optimizers' gradient check and
//!   the training loop.
//! * [`rowmajor`] — the least-squares residual `Xθ − y` and gradient
//!   `Xᵀr` over row-major rows, bitwise nalgebra's `gemv` / `gemv_tr`.
//! * [`gemm`] — an allocation-free `out += alpha·A·B` for the reduced flows.
//!
//! Kernels depend on nothing else in the crate.

pub(crate) mod gemm;
pub(crate) mod lincomb;
pub(crate) mod rowmajor;

pub(crate) use gemm::gemm_acc;
pub(crate) use lincomb::{all_finite, lincomb, lincomb_checked};
