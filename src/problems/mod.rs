//! Problems: finite sums over fixed batches, generators, and data loading.

pub mod data;
pub mod tomography;
pub mod batches;
pub mod least_squares;
pub mod logistic;
pub mod softmax;
