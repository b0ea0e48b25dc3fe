//! [`Dataset`]: features, labels and classes, checked, with row selection,
//! permutation and the train/test split.

use nalgebra::DMatrix;

use crate::error::{Error, Result};

/// Class labels read from text must be below this bound (so that a column of
/// measurements mistaken for labels cannot ask [`one_hot`](super::one_hot) for billions of
/// columns).
pub const MAX_CLASSES: usize = 1 << 16;

/// A labelled data set: `x` is `n × p` with one sample per row, `labels[i]`
/// is the class of row `i`, in `0..classes`.
///
/// The loaders guarantee `labels.len() == x.nrows()` and `labels[i] < classes`;
/// [`Dataset::new`] checks the same for hand-made data sets.
///
/// # Example
/// ```
/// use nalgebra::dmatrix;
/// use splitflow::problems::data::Dataset;
///
/// let d = Dataset::new(dmatrix![1.0, 2.0; 3.0, 4.0; 5.0, 6.0], vec![0, 1, 1], 2, "toy")?;
/// assert_eq!((d.n(), d.p()), (3, 2));
/// let swapped = d.permute_rows(&[2, 1, 0])?;
/// assert_eq!(swapped.labels, vec![1, 1, 0]);
/// let (train, test) = d.split(2)?;
/// assert_eq!((train.n(), test.n()), (2, 1));
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Features, `n × p`, one sample per row.
    pub x: DMatrix<f64>,
    /// Class of each row, in `0..classes`.
    pub labels: Vec<usize>,
    /// Number of classes.
    pub classes: usize,
    /// Name of the data set (built-in name or file path).
    pub name: String,
}

impl Dataset {
    /// A data set from its parts, checked.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if `labels.len() != x.nrows()`;
    /// [`Error::InvalidParameter`] if a label is not below `classes`.
    pub fn new(
        x: DMatrix<f64>,
        labels: Vec<usize>,
        classes: usize,
        name: impl Into<String>,
    ) -> Result<Self> {
        let d = Dataset {
            x,
            labels,
            classes,
            name: name.into(),
        };
        d.check()?;
        if let Some((i, &l)) = d.labels.iter().enumerate().find(|(_, l)| **l >= classes) {
            return Err(Error::invalid(
                "labels",
                format!("{l} (row {i})"),
                &format!("labels must be below the class count {classes}"),
            ));
        }
        Ok(d)
    }

    /// Number of samples (rows).
    pub fn n(&self) -> usize {
        self.x.nrows()
    }

    /// Number of features (columns).
    pub fn p(&self) -> usize {
        self.x.ncols()
    }

    /// How many rows carry each label: a vector of length `classes`.
    ///
    /// Labels not below `classes` (possible only in a hand-edited data set) are
    /// not counted.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(l) {
                *c += 1;
            }
        }
        counts
    }

    /// The rows `rows` (in that order; repeats allowed), with the same
    /// classes and name.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if an index is not below `n()`;
    /// [`Error::DimensionMismatch`] if `labels` and `x` disagree in length.
    pub fn subset(&self, rows: &[usize]) -> Result<Dataset> {
        self.check()?;
        if let Some((i, &r)) = rows.iter().enumerate().find(|(_, r)| **r >= self.n()) {
            return Err(Error::invalid(
                "rows",
                format!("{r} (position {i})"),
                &format!("row indices must be below the row count {}", self.n()),
            ));
        }
        let x = DMatrix::from_fn(rows.len(), self.p(), |i, j| self.x[(rows[i], j)]);
        let labels = rows.iter().map(|&r| self.labels[r]).collect();
        Ok(Dataset {
            x,
            labels,
            classes: self.classes,
            name: self.name.clone(),
        })
    }

    /// The data set with its rows reordered: row `i` of the result is row
    /// `perm[i]` of `self`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `perm` is a permutation of `0..n()`.
    pub fn permute_rows(&self, perm: &[usize]) -> Result<Dataset> {
        let n = self.n();
        if perm.len() != n {
            return Err(Error::invalid(
                "perm",
                format!("length {}", perm.len()),
                &format!("a row permutation needs exactly {n} entries"),
            ));
        }
        let mut seen = vec![false; n];
        for (i, &r) in perm.iter().enumerate() {
            match seen.get_mut(r) {
                Some(s) if !*s => *s = true,
                _ => {
                    return Err(Error::invalid(
                        "perm",
                        format!("{r} (position {i})"),
                        &format!("not a permutation of 0..{n}: out of range or repeated"),
                    ));
                }
            }
        }
        self.subset(perm)
    }

    /// Splits into the first `n_train` rows and the remaining rows.
    ///
    /// Both parts keep `classes` and `name`. Shuffle first (with
    /// [`permutation`](super::permutation) and [`Dataset::permute_rows`]) for a random split.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `n_train > n()`.
    pub fn split(&self, n_train: usize) -> Result<(Dataset, Dataset)> {
        self.check()?;
        let n = self.n();
        if n_train > n {
            return Err(Error::invalid(
                "n_train",
                n_train,
                &format!(
                    "cannot take more training rows than the {n} rows of {}",
                    self.name
                ),
            ));
        }
        let part = |start: usize, len: usize| Dataset {
            x: self.x.rows(start, len).into_owned(),
            labels: self.labels[start..start + len].to_vec(),
            classes: self.classes,
            name: self.name.clone(),
        };
        Ok((part(0, n_train), part(n_train, n - n_train)))
    }

    fn check(&self) -> Result<()> {
        if self.labels.len() == self.x.nrows() {
            Ok(())
        } else {
            Err(Error::dimension(
                &format!("labels of data set {}", self.name),
                self.x.nrows(),
                self.labels.len(),
            ))
        }
    }
}
