//! Loading data sets: gzip-aware CSV, IDX (MNIST), and the shipped named data sets.
//!
//! Everything here produces a [`Dataset`]: a dense `n × p` feature matrix with
//! one sample per row, a class label per row, and the number of classes.
//!
//! * [`named`] — the data sets shipped in `data/` and embedded in the binary
//!   (so they work from any working directory): `digits`, `digits01`, `wdbc`
//!   ([`NAMES`]).
//! * [`read_csv`] / [`parse_csv`] — numeric CSV, label in the last column,
//!   optional header line.
//! * [`read_wdbc`] / [`parse_wdbc`] — CSV with a counting header
//!   `rows,features,class names…` (the format of the shipped WDBC file).
//! * [`read_idx_images`], [`read_idx_labels`], [`read_idx`], [`load_mnist`] —
//!   the IDX files of MNIST and Fashion-MNIST.
//! * [`binary_targets`], [`one_hot`], [`standardize_columns`],
//!   [`permutation`] — turning a data set into what a loss needs.
//!
//! Every reader is gzip-aware: a file whose first two bytes are the gzip magic
//! `1f 8b` is decompressed first, whatever its name. Malformed content gives
//! [`Error::Data`](crate::Error::Data) with the 1-based line number (`None` for binary formats, where
//! the message names the byte counts instead), file-system failures give
//! [`Error::Io`](crate::Error::Io), bad arguments [`Error::InvalidParameter`](crate::Error::InvalidParameter); nothing panics on
//! bad input.
//!
//! # Example
//! ```
//! use splitflow::problems::data::{binary_targets, named};
//!
//! let d = named("digits01")?;
//! assert_eq!((d.n(), d.p(), d.classes), (360, 64, 2));
//! let y = binary_targets(&d)?; // 0.0 / 1.0 per row
//! let (train, test) = d.split(300)?;
//! assert_eq!((train.n(), test.n(), y.len()), (300, 60, 360));
//! # Ok::<(), splitflow::Error>(())
//! ```
//!
//! # The named data sets
//!
//! | name | rows × features | classes | features |
//! |---|---|---|---|
//! | `digits` | 1797 × 64 | 10 (digits 0–9) | pixel counts 0..16 divided by 16, in \[0, 1\] |
//! | `digits01` | 360 × 64 | 2 (the rows labelled 0 or 1, in file order) | as `digits` |
//! | `wdbc` | 569 × 30 | 2 (0 = malignant, 1 = benign) | each column standardized to mean 0, population standard deviation 1 |
//!
//! No intercept column is added.
//!
//! # Attribution
//!
//! The shipped files are public data from the UCI Machine Learning Repository,
//! used under the Creative Commons Attribution 4.0 licence (CC BY 4.0), see
//! `data/README.md` and [`ATTRIBUTION`]:
//!
//! * `uci-digits.csv.gz` — Optical Recognition of Handwritten Digits (UCI),
//!   test set: 8x8 images, pixel counts 0..16. E. Alpaydin, C. Kaynak (1998),
//!   UCI Machine Learning Repository, CC BY 4.0.
//! * `wdbc-breast-cancer.csv.gz` — Breast Cancer Wisconsin (Diagnostic), 30
//!   real-valued features of cell nuclei. W. Wolberg, O. Mangasarian,
//!   N. Street, W. Street (1993), UCI Machine Learning Repository, CC BY 4.0.

mod csv;
mod dataset;
mod idx;
mod named;
mod prepare;
mod source;
mod wdbc;

pub use csv::{CsvOptions, parse_csv, read_csv};
pub use dataset::{Dataset, MAX_CLASSES};
pub use idx::{
    IdxImages, load_mnist, parse_idx_images, parse_idx_labels, read_idx, read_idx_images,
    read_idx_labels,
};
pub use named::{ATTRIBUTION, NAMES, named};
pub use prepare::{binary_targets, one_hot, permutation, standardize_columns};
pub use wdbc::{parse_wdbc, read_wdbc};
