//! Optimizers as discretizations of flows.
//!
//! [`SplittingOptimizer`] is Algorithm 1 of Merkulov & Oseledets: a Lie
//! splitting of the gradient flow over the batches' local problems, each
//! advanced by its own flow map over `h = α·m`. With explicit-Euler local
//! maps it *is* SGD with learning rate α.

mod splitting;

pub use splitting::SplittingOptimizer;
