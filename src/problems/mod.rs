//! Problems: finite sums over fixed batches, generators, and data loading.

pub mod data;
pub mod tomography;
