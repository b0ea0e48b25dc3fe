//! Problems: finite sums over fixed batches, generators, and data loading.

pub mod batches;
pub mod data;
pub mod least_squares;
pub mod logistic;
pub mod softmax;
pub mod tomography;
