//! Fixed batches of consecutive rows.

use std::ops::Range;

use nalgebra::{DMatrix, DVector};

use crate::error::{Error, Result, check_dim};

/// Splits `n` rows into consecutive batches of `batch_size` rows.
///
/// Policy for a last partial batch: it is kept as a smaller batch (its loss
/// is the mean over its own rows, like every batch's). The full objective is
/// the mean of the batch losses, `f = (1/m) Σᵢ fᵢ`, which equals the mean
/// over all rows when every batch is full.
///
/// # Errors
/// [`Error::InvalidParameter`] when `batch_size` is 0 or larger than `n`.
pub fn batch_ranges(n: usize, batch_size: usize) -> Result<Vec<Range<usize>>> {
    if batch_size == 0 || batch_size > n {
        return Err(Error::invalid(
            "batch_size",
            batch_size,
            &format!("must be between 1 and the number of rows {n}"),
        ));
    }
    Ok((0..n.div_ceil(batch_size))
        .map(|i| i * batch_size..((i + 1) * batch_size).min(n))
        .collect())
}

/// Copies the rows of each range out of `x` as dense b×p matrices.
pub(crate) fn split_rows(x: &DMatrix<f64>, ranges: &[Range<usize>]) -> Vec<DMatrix<f64>> {
    ranges
        .iter()
        .map(|r| x.rows(r.start, r.len()).into_owned())
        .collect()
}

/// Splits a vector by the ranges.
pub(crate) fn split_vec(y: &DVector<f64>, ranges: &[Range<usize>]) -> Vec<DVector<f64>> {
    ranges
        .iter()
        .map(|r| y.rows(r.start, r.len()).into_owned())
        .collect()
}

/// Validates a design matrix and a target vector.
pub(crate) fn check_data(what: &str, x: &DMatrix<f64>, y_len: usize) -> Result<()> {
    check_dim(&format!("{what}: number of targets"), x.nrows(), y_len)?;
    if x.nrows() == 0 || x.ncols() == 0 {
        return Err(Error::invalid(
            what,
            format!("{}x{}", x.nrows(), x.ncols()),
            "empty data",
        ));
    }
    if let Some(k) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::Data {
            source_name: what.to_string(),
            line: Some(k % x.nrows() + 1),
            message: format!(
                "non-finite feature in row {}, column {}",
                k % x.nrows() + 1,
                k / x.nrows() + 1
            ),
        });
    }
    Ok(())
}
