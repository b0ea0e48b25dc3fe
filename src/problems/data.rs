//! Loading data sets: gzip-aware CSV, IDX (MNIST), and the shipped named data sets.
