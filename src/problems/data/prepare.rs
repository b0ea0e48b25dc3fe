//! Turning a [`Dataset`] into what a loss needs: 0/1 targets, one-hot
//! targets, standardized columns, a seeded row permutation.

use nalgebra::{DMatrix, DVector};
use rand::seq::SliceRandom;

use super::Dataset;
use crate::error::{Error, Result};

/// Standardizes every column of `x` in place to mean 0 and population
/// standard deviation 1 (the variance divides by the row count `n`, not
/// `n − 1`), and returns the column means and standard deviations used, so
/// the same map can be applied to other data: `(v − mean[j]) / std[j]`.
///
/// A constant column (standard deviation 0) is only centred (it becomes all
/// zeros) and its reported standard deviation is 0. An empty matrix is left
/// alone.
///
/// # Example
/// ```
/// use nalgebra::dmatrix;
/// use splitflow::problems::data::standardize_columns;
///
/// let mut x = dmatrix![1.0, 5.0; 3.0, 5.0];
/// let (mean, std) = standardize_columns(&mut x);
/// assert_eq!((mean[0], std[0]), (2.0, 1.0));
/// assert_eq!(x, dmatrix![-1.0, 0.0; 1.0, 0.0]);
/// ```
pub fn standardize_columns(x: &mut DMatrix<f64>) -> (DVector<f64>, DVector<f64>) {
    let n = x.nrows();
    let p = x.ncols();
    let mut means = DVector::zeros(p);
    let mut stds = DVector::zeros(p);
    if n == 0 {
        return (means, stds);
    }
    for (j, mut col) in x.column_iter_mut().enumerate() {
        let mean = col.sum() / n as f64;
        col.add_scalar_mut(-mean);
        let std = (col.norm_squared() / n as f64).sqrt();
        if std > 0.0 {
            col /= std;
        }
        means[j] = mean;
        stds[j] = std;
    }
    (means, stds)
}

/// The labels as a 0.0 / 1.0 vector, for binary (logistic) losses.
///
/// # Errors
/// [`Error::InvalidParameter`] naming the first row whose label is not 0 or 1.
///
/// # Example
/// ```
/// use splitflow::problems::data::{binary_targets, named};
///
/// let y = binary_targets(&named("wdbc")?)?;
/// assert_eq!(y.len(), 569);
/// assert!(binary_targets(&named("digits")?).is_err()); // ten classes
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn binary_targets(data: &Dataset) -> Result<DVector<f64>> {
    let mut y = DVector::zeros(data.labels.len());
    for (i, &l) in data.labels.iter().enumerate() {
        y[i] = match l {
            0 => 0.0,
            1 => 1.0,
            _ => {
                return Err(Error::invalid(
                    "labels",
                    format!("{l} (row {i} of {})", data.name),
                    "binary targets need every label to be 0 or 1",
                ));
            }
        };
    }
    Ok(y)
}

/// One-hot encoding of the labels: an `n × classes` matrix with a single 1.0
/// per row, in the column of that row's label.
///
/// # Errors
/// [`Error::InvalidParameter`] when the matrix would need more than
/// [`MAX_MATRIX_BYTES`](crate::limits::MAX_MATRIX_BYTES) (one large label
/// among few rows asks for a huge matrix), and [`Error::Data`] naming the row (1-based) when a label is not
/// below `data.classes` (a hand-edited [`Dataset`] only: [`Dataset::new`]
/// and the loaders reject it).
///
/// # Example
/// ```
/// use splitflow::problems::data::{named, one_hot};
///
/// let d = named("digits")?;
/// let y = one_hot(&d)?;
/// assert_eq!((y.nrows(), y.ncols()), (1797, 10));
/// assert_eq!(y[(0, d.labels[0])], 1.0);
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn one_hot(data: &Dataset) -> Result<DMatrix<f64>> {
    let (n, k) = (data.labels.len(), data.classes);
    crate::limits::check_matrix_bytes(
        "classes",
        k,
        &format!(
            "the one-hot matrix of {} ({n} rows x {k} classes)",
            data.name
        ),
        n as f64 * k as f64 * 8.0,
    )?;
    let mut y = DMatrix::zeros(n, k);
    for (i, &l) in data.labels.iter().enumerate() {
        if l >= k {
            return Err(Error::Data {
                source_name: data.name.clone(),
                line: Some(i + 1),
                message: format!("label {l} is not below the class count {k}"),
            });
        }
        y[(i, l)] = 1.0;
    }
    Ok(y)
}

/// A permutation of `0..n`, reproducible from `seed` (the library's [`seeded_rng`](crate::random::seeded_rng) seeded with
/// `seed_from_u64` shuffling `0..n`); for one-off row permutations with
/// [`Dataset::permute_rows`].
///
/// # Example
/// ```
/// use splitflow::problems::data::{named, permutation};
///
/// let perm = permutation(10, 42);
/// assert_eq!(perm, permutation(10, 42));
/// let mut sorted = perm.clone();
/// sorted.sort();
/// assert_eq!(sorted, (0..10).collect::<Vec<_>>());
///
/// let d = named("wdbc")?;
/// let shuffled = d.permute_rows(&permutation(d.n(), 7))?;
/// assert_eq!(shuffled.n(), d.n());
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = crate::random::seeded_rng(seed);
    let mut perm: Vec<usize> = (0..n).collect();
    perm.shuffle(&mut rng);
    perm
}
