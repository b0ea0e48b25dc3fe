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
//! [`Error::Data`] with the 1-based line number (0 for binary formats, where
//! the message names the byte counts instead), file-system failures give
//! [`Error::Io`], bad arguments [`Error::InvalidParameter`]; nothing panics on
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

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

use nalgebra::{DMatrix, DVector};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::error::{Error, Result};

/// The names accepted by [`named`], in the order they are listed in messages.
pub const NAMES: &[&str] = &["digits", "digits01", "wdbc"];

/// Class labels read from text must be below this bound (so that a column of
/// measurements mistaken for labels cannot ask [`one_hot`] for billions of
/// columns).
pub const MAX_CLASSES: usize = 1 << 16;

/// Attribution of the shipped data sets, as in `data/README.md`.
pub const ATTRIBUTION: &str = "\
uci-digits.csv.gz: Optical Recognition of Handwritten Digits (UCI), test set: \
8x8 images, pixel counts 0..16; 1797 x 64 features + 1 label (digit 0..9). \
E. Alpaydin, C. Kaynak (1998), UCI Machine Learning Repository, CC BY 4.0.
wdbc-breast-cancer.csv.gz: Breast Cancer Wisconsin (Diagnostic), 30 real-valued \
features of cell nuclei; 569 x 30 features + 1 label (0 = malignant, 1 = benign). \
W. Wolberg, O. Mangasarian, N. Street, W. Street (1993), UCI Machine Learning \
Repository, CC BY 4.0.";

static DIGITS_GZ: &[u8] = include_bytes!("../../data/uci-digits.csv.gz");
static WDBC_GZ: &[u8] = include_bytes!("../../data/wdbc-breast-cancer.csv.gz");

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

// ---------------------------------------------------------------------------
// Dataset
// ---------------------------------------------------------------------------

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
    /// [`permutation`] and [`Dataset::permute_rows`]) for a random split.
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

// ---------------------------------------------------------------------------
// Named data sets
// ---------------------------------------------------------------------------

/// One of the shipped data sets, by name (see [`NAMES`] and the
/// [module documentation](self) for shapes and scaling).
///
/// * `digits`: all 1797 rows of the UCI digits file, 64 features divided by
///   16 (so in \[0, 1\]), 10 classes.
/// * `digits01`: the 360 rows of that file labelled 0 or 1, in file order,
///   scaled the same way, 2 classes.
/// * `wdbc`: the 569 rows of the WDBC file, each of the 30 columns
///   standardized to mean 0 and *population* standard deviation 1 (divide by
///   `n`, not `n − 1`), 2 classes (0 = malignant, 1 = benign).
///
/// The files are embedded in the binary; nothing is read from disk.
///
/// # Errors
/// [`Error::InvalidParameter`] for an unknown name; the message lists the
/// valid names.
///
/// # Example
/// ```
/// use splitflow::problems::data::named;
///
/// let digits = named("digits")?;
/// assert_eq!((digits.n(), digits.p(), digits.classes), (1797, 64, 10));
/// assert!(digits.x.iter().all(|&v| (0.0..=1.0).contains(&v)));
///
/// let wdbc = named("wdbc")?;
/// assert_eq!((wdbc.n(), wdbc.p(), wdbc.classes), (569, 30, 2));
///
/// assert!(named("iris").unwrap_err().to_string().contains("digits, digits01, wdbc"));
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn named(name: &str) -> Result<Dataset> {
    match name {
        "digits" => digits(),
        "digits01" => {
            let all = digits()?;
            let rows: Vec<usize> = (0..all.n()).filter(|&i| all.labels[i] <= 1).collect();
            let mut d = all.subset(&rows)?;
            d.classes = 2;
            d.name = name.to_string();
            Ok(d)
        }
        "wdbc" => {
            let mut d = parse_wdbc(WDBC_GZ, "wdbc")?;
            standardize_columns(&mut d.x);
            Ok(d)
        }
        _ => Err(Error::invalid(
            "data",
            format!("{name:?}"),
            &format!(
                "unknown built-in data set; valid names are {}",
                NAMES.join(", ")
            ),
        )),
    }
}

fn digits() -> Result<Dataset> {
    let mut d = parse_csv(DIGITS_GZ, "digits", &CsvOptions::default())?;
    d.x /= 16.0;
    Ok(d)
}

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

// ---------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------

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
/// # Panics
/// If a label is not below `data.classes`, which no loader of this module
/// produces (a hand-edited [`Dataset`] only; [`Dataset::new`] rejects it).
///
/// # Example
/// ```
/// use splitflow::problems::data::{named, one_hot};
///
/// let d = named("digits")?;
/// let y = one_hot(&d);
/// assert_eq!((y.nrows(), y.ncols()), (1797, 10));
/// assert_eq!(y[(0, d.labels[0])], 1.0);
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn one_hot(data: &Dataset) -> DMatrix<f64> {
    let mut y = DMatrix::zeros(data.labels.len(), data.classes);
    for (i, &l) in data.labels.iter().enumerate() {
        assert!(
            l < data.classes,
            "label {l} of row {i} is not below the class count {} of {}",
            data.classes,
            data.name
        );
        y[(i, l)] = 1.0;
    }
    y
}

/// A permutation of `0..n`, reproducible from `seed` (a `StdRng` seeded with
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
    let mut rng = StdRng::seed_from_u64(seed);
    let mut perm: Vec<usize> = (0..n).collect();
    perm.shuffle(&mut rng);
    perm
}

// ---------------------------------------------------------------------------
// Bytes, files, gzip
// ---------------------------------------------------------------------------

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Decompresses `bytes` if they start with the gzip magic `1f 8b`.
fn gunzip<'a>(bytes: &'a [u8], source_name: &str) -> Result<Cow<'a, [u8]>> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| data_error(source_name, 0, format!("invalid gzip data: {e}")))?;
    Ok(Cow::Owned(out))
}

fn data_error(source_name: &str, line: usize, message: String) -> Error {
    Error::Data {
        source_name: source_name.to_string(),
        line,
        message,
    }
}

// ---------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------

/// Options of [`read_csv`] / [`parse_csv`].
///
/// # Example
/// ```
/// use splitflow::problems::data::CsvOptions;
///
/// let opts = CsvOptions { header: true, ..Default::default() };
/// assert_eq!(opts.delimiter, ',');
/// assert_eq!(CsvOptions::with_header(), opts);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Whether the first line is a header to skip (its content is ignored).
    /// Default `false`.
    pub header: bool,
    /// Field separator. Default `','`.
    pub delimiter: char,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            header: false,
            delimiter: ',',
        }
    }
}

impl CsvOptions {
    /// Comma-separated with a header line to skip.
    pub fn with_header() -> Self {
        CsvOptions {
            header: true,
            ..Default::default()
        }
    }
}

/// Reads a numeric CSV file into a [`Dataset`] (gzip-aware: compressed
/// content is recognised by its magic bytes `1f 8b`, not by the file name).
///
/// Format: one sample per line; every field but the last is a finite
/// floating-point feature, the last is the class label, a non-negative
/// integer below [`MAX_CLASSES`] (written `3` or `3.0`). All rows have the
/// same number of fields (at least two). Fields are trimmed of surrounding
/// whitespace; lines may end in `\r\n`; blank lines are skipped; fields may
/// be quoted (RFC 4180, read by the `csv` crate); a leading UTF-8
/// byte-order mark is ignored. With [`CsvOptions::header`] the first line is
/// skipped unread.
/// The result has `classes = 1 + the largest label` and is named after the
/// path.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Data`] with the 1-based
/// line number (and, in the message, the 1-based column) for a ragged row, a
/// non-numeric, empty, NaN or infinite feature, a label that is not a
/// non-negative integer, invalid UTF-8 or gzip data, or a file without data
/// rows.
///
/// # Example
/// ```
/// use splitflow::problems::data::{read_csv, CsvOptions};
///
/// let path = std::env::temp_dir().join(format!("splitflow-doc-{}.csv", std::process::id()));
/// std::fs::write(&path, "x1,x2,label\n0.5,1.5,0\n2.0,-1.0,2\n").unwrap();
/// let d = read_csv(&path, &CsvOptions::with_header())?;
/// std::fs::remove_file(&path).unwrap();
/// assert_eq!((d.n(), d.p(), d.classes), (2, 2, 3));
/// assert_eq!(d.labels, vec![0, 2]);
/// assert_eq!(d.x[(1, 1)], -1.0);
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn read_csv(path: impl AsRef<Path>, options: &CsvOptions) -> Result<Dataset> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    parse_csv(&bytes, &path.display().to_string(), options)
}

/// [`read_csv`] on bytes already in memory (plain or gzip); `source_name`
/// names the data in errors and becomes the data set's name.
///
/// # Errors
/// As [`read_csv`], without the [`Error::Io`] case.
///
/// # Example
/// ```
/// use splitflow::problems::data::{parse_csv, CsvOptions};
/// use splitflow::Error;
///
/// let d = parse_csv(b"1,2,1\n3,4,0\n", "inline", &CsvOptions::default())?;
/// assert_eq!((d.n(), d.p(), d.classes), (2, 2, 2));
///
/// let err = parse_csv(b"1,2,1\n3,0\n", "inline", &CsvOptions::default()).unwrap_err();
/// assert!(matches!(err, Error::Data { line: 2, .. }));
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn parse_csv(bytes: &[u8], source_name: &str, options: &CsvOptions) -> Result<Dataset> {
    let text = gunzip(bytes, source_name)?;
    let skip = usize::from(options.header);
    let rows = parse_rows(&text, source_name, options.delimiter, skip, None)?;
    if rows.labels.is_empty() {
        return Err(data_error(
            source_name,
            0,
            "no data rows (the input is empty or holds only a header)".to_string(),
        ));
    }
    let classes = rows.labels.iter().max().map_or(0, |&m| m + 1);
    let n = rows.labels.len();
    Ok(Dataset {
        x: DMatrix::from_row_slice(n, rows.p, &rows.values),
        labels: rows.labels,
        classes,
        name: source_name.to_string(),
    })
}

/// Parsed data rows: row-major features, labels, and the line of each row.
struct Rows {
    values: Vec<f64>,
    labels: Vec<usize>,
    lines: Vec<usize>,
    p: usize,
}

/// Parses the data lines of `text` after skipping `skip` lines, with the
/// `csv` crate (RFC 4180 quoting; a leading UTF-8 byte-order mark is
/// dropped; fields are trimmed; blank lines are skipped). With
/// `fields = Some(k)` every row must have `k` fields; otherwise the first
/// data row sets the count. Errors name the 1-based line (and column).
fn parse_rows(
    text: &[u8],
    source_name: &str,
    delimiter: char,
    skip: usize,
    fields: Option<usize>,
) -> Result<Rows> {
    let delimiter = u8::try_from(delimiter)
        .ok()
        .filter(u8::is_ascii)
        .ok_or_else(|| {
            Error::invalid(
                "delimiter",
                format!("{delimiter:?}"),
                "must be a single ASCII character",
            )
        })?;
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(delimiter)
        .from_reader(text);
    let mut rows = Rows {
        values: Vec::new(),
        labels: Vec::new(),
        lines: Vec::new(),
        p: 0,
    };
    // (field count, line that set it)
    let mut expected: Option<(usize, usize)> = fields.map(|k| (k, 0));
    let mut record = csv::ByteRecord::new();
    // The 1-based line of the first content at or after byte `at`, counted
    // from the text: the csv crate's positions point before the line
    // terminators and blank lines it skips, and its line count omits them.
    let (mut counted, mut lines_before) = (0usize, 0usize);
    let mut line_at = |at: usize| {
        let mut at = at.min(text.len()).max(counted);
        while at < text.len() && matches!(text[at], b'\r' | b'\n') {
            at += 1;
        }
        lines_before += text[counted..at].iter().filter(|&&b| b == b'\n').count();
        counted = at;
        lines_before + 1
    };
    loop {
        let more = match reader.read_byte_record(&mut record) {
            Ok(more) => more,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(p.byte() as usize));
                return Err(data_error(source_name, line, format!("malformed CSV: {e}")));
            }
        };
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| line_at(p.byte() as usize));
        if line <= skip {
            continue;
        }
        let err = |message: String| data_error(source_name, line, message);
        if record.iter().all(<[u8]>::is_empty) {
            continue;
        }
        let count = record.len();
        match expected {
            None => {
                if count < 2 {
                    return Err(err(format!(
                        "found {count} field; a row needs at least one feature and a label"
                    )));
                }
                expected = Some((count, line));
            }
            Some((k, from)) if k != count => {
                let why = if from == 0 {
                    "as declared in the header".to_string()
                } else {
                    format!("as on line {from}")
                };
                return Err(err(format!(
                    "ragged row: expected {k} fields ({} features and a label, {why}), found {count}",
                    k - 1
                )));
            }
            Some(_) => {}
        }
        for (j, raw) in record.iter().enumerate() {
            let column = j + 1;
            let field = std::str::from_utf8(raw)
                .map_err(|e| err(format!("column {column}: invalid UTF-8 text: {e}")))?;
            if column == count {
                rows.labels.push(
                    parse_label(field).map_err(|m| err(format!("column {column} (label): {m}")))?,
                );
            } else {
                rows.values
                    .push(parse_feature(field).map_err(|m| err(format!("column {column}: {m}")))?);
            }
        }
        rows.lines.push(line);
    }
    if let Some((k, _)) = expected {
        rows.p = k - 1;
    }
    Ok(rows)
}

fn parse_feature(field: &str) -> std::result::Result<f64, String> {
    if field.is_empty() {
        return Err("empty field".to_string());
    }
    let v: f64 = field
        .parse()
        .map_err(|_| format!("cannot parse {field:?} as a number"))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("non-finite value {field:?}"))
    }
}

fn parse_label(field: &str) -> std::result::Result<usize, String> {
    let label = match field.parse::<usize>() {
        Ok(l) => Some(l),
        Err(_) => match field.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 && v.fract() == 0.0 => {
                // Saturating cast; anything this large is rejected below.
                Some(v.min(usize::MAX as f64) as usize)
            }
            _ => None,
        },
    };
    match label {
        Some(l) if l < MAX_CLASSES => Ok(l),
        // The label as written: a saturated cast would print usize::MAX.
        Some(_) => Err(format!(
            "label {field} is too large (class labels must be below {MAX_CLASSES})"
        )),
        None => Err(format!(
            "{field:?} is not a class label (a non-negative integer)"
        )),
    }
}

// ---------------------------------------------------------------------------
// WDBC-style CSV with a counting header
// ---------------------------------------------------------------------------

/// Reads a CSV file whose first line is a counting header, as the shipped
/// WDBC file: `569,30,malignant,benign` — the number of data rows, the number
/// of features, then one name per class. Every following line holds that
/// many comma-separated finite features and a label indexing the class names
/// (0 = first name). Gzip-aware like [`read_csv`]; features are returned as
/// read (not standardized: [`named`]`("wdbc")` standardizes).
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Data`] for a malformed
/// header (line 1), a row with the wrong number of fields, a bad value, a
/// label with no class name (each naming its line), or a row count other
/// than the declared one (more rows: the first extra line; fewer: line 1).
///
/// # Example
/// ```
/// use splitflow::problems::data::read_wdbc;
///
/// let path = std::env::temp_dir().join(format!("splitflow-doc-wdbc-{}.csv", std::process::id()));
/// std::fs::write(&path, "2,3,no,yes\n1,2,3,1\n4,5,6,0\n").unwrap();
/// let d = read_wdbc(&path)?;
/// std::fs::remove_file(&path).unwrap();
/// assert_eq!((d.n(), d.p(), d.classes), (2, 3, 2));
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn read_wdbc(path: impl AsRef<Path>) -> Result<Dataset> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    parse_wdbc(&bytes, &path.display().to_string())
}

/// [`read_wdbc`] on bytes already in memory (plain or gzip); `source_name`
/// names the data in errors and becomes the data set's name.
///
/// # Errors
/// As [`read_wdbc`], without the [`Error::Io`] case.
///
/// # Example
/// ```
/// use splitflow::problems::data::parse_wdbc;
///
/// let d = parse_wdbc(b"1,2,a,b,c\n0.5,0.25,2\n", "inline")?;
/// assert_eq!((d.n(), d.p(), d.classes, d.labels[0]), (1, 2, 3, 2));
/// assert!(parse_wdbc(b"2,2,a,b\n0.5,0.25,1\n", "inline").is_err()); // one row, not two
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn parse_wdbc(bytes: &[u8], source_name: &str) -> Result<Dataset> {
    let text = gunzip(bytes, source_name)?;
    let header_err = |message: String| data_error(source_name, 1, message);
    let first = text.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let header = std::str::from_utf8(first)
        .map_err(|e| header_err(format!("invalid UTF-8 text: {e}")))?
        .trim();
    let parts: Vec<&str> = header.split(',').map(str::trim).collect();
    if parts.len() < 3 {
        return Err(header_err(format!(
            "expected a header `rows,features,class names…` (e.g. `569,30,malignant,benign`), found {header:?}"
        )));
    }
    let count = |what: &str, field: &str| {
        field.parse::<usize>().map_err(|_| {
            header_err(format!(
                "header: the {what} {field:?} is not a non-negative integer"
            ))
        })
    };
    let n = count("row count", parts[0])?;
    let p = count("feature count", parts[1])?;
    if p == 0 {
        return Err(header_err(
            "header: the feature count must be at least 1".to_string(),
        ));
    }
    let class_names = &parts[2..];
    let rows = parse_rows(&text, source_name, ',', 1, Some(p + 1))?;
    if rows.labels.len() > n {
        return Err(data_error(
            source_name,
            rows.lines[n],
            format!("more data rows than the {n} declared in the header"),
        ));
    }
    if rows.labels.len() < n {
        return Err(header_err(format!(
            "the header declares {n} data rows, found {}",
            rows.labels.len()
        )));
    }
    if let Some((&l, &line)) = rows
        .labels
        .iter()
        .zip(&rows.lines)
        .find(|(l, _)| **l >= class_names.len())
    {
        return Err(data_error(
            source_name,
            line,
            format!(
                "label {l} has no class name: the header names {} classes ({})",
                class_names.len(),
                class_names.join(", ")
            ),
        ));
    }
    Ok(Dataset {
        x: DMatrix::from_row_slice(n, p, &rows.values),
        labels: rows.labels,
        classes: class_names.len(),
        name: source_name.to_string(),
    })
}

// ---------------------------------------------------------------------------
// IDX (MNIST, Fashion-MNIST)
// ---------------------------------------------------------------------------

/// The images of an IDX image file (magic `0x00000803`): `count` images of
/// `rows × cols` unsigned bytes, stored image after image, row-major.
///
/// # Example
/// ```
/// use splitflow::problems::data::parse_idx_images;
///
/// // Two 1 × 2 images.
/// let bytes = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255, 51, 102];
/// let images = parse_idx_images(&bytes, "inline")?;
/// assert_eq!((images.count(), images.rows(), images.cols()), (2, 1, 2));
/// assert_eq!(images.image(1), Some(&[51u8, 102][..]));
/// assert_eq!(images.to_matrix()[(0, 1)], 1.0);
/// # Ok::<(), splitflow::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    count: usize,
    rows: usize,
    cols: usize,
    pixels: Vec<u8>,
}

impl IdxImages {
    /// Number of images.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Pixel rows per image.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Pixel columns per image.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// All pixels, `count · rows · cols` bytes, image after image, each
    /// image row-major.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// The pixels of image `i` (row-major), or `None` if `i >= count()`.
    pub fn image(&self, i: usize) -> Option<&[u8]> {
        let d = self.rows * self.cols;
        if i < self.count {
            self.pixels.get(i * d..(i + 1) * d)
        } else {
            None
        }
    }

    /// The images as a `count × (rows · cols)` matrix, one image per row
    /// (pixels row-major), scaled by 1/255 to \[0, 1\].
    pub fn to_matrix(&self) -> DMatrix<f64> {
        let d = self.rows * self.cols;
        DMatrix::from_fn(self.count, d, |i, j| {
            f64::from(self.pixels[i * d + j]) / 255.0
        })
    }
}

/// Reads an IDX image file (magic `0x00000803`: unsigned bytes, three
/// dimensions `count × rows × cols`), plain or gzipped (recognised by its
/// magic bytes).
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Data`] (line 0) for a
/// bad magic number, a truncated header or pixel block (the message gives
/// the expected and found byte counts), trailing bytes, or invalid gzip data.
///
/// # Example
/// ```
/// use splitflow::problems::data::read_idx_images;
///
/// let path = std::env::temp_dir().join(format!("splitflow-doc-idx3-{}", std::process::id()));
/// std::fs::write(&path, [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4]).unwrap();
/// let images = read_idx_images(&path)?;
/// std::fs::remove_file(&path).unwrap();
/// assert_eq!(images.pixels(), &[1, 2, 3, 4]);
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn read_idx_images(path: impl AsRef<Path>) -> Result<IdxImages> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    parse_idx_images(&bytes, &path.display().to_string())
}

/// [`read_idx_images`] on bytes already in memory (plain or gzip).
///
/// # Errors
/// As [`read_idx_images`], without the [`Error::Io`] case.
///
/// # Example
/// ```
/// use splitflow::problems::data::parse_idx_images;
///
/// let err = parse_idx_images(&[0, 0, 8, 3, 0, 0, 0, 1], "inline").unwrap_err();
/// assert!(err.to_string().contains("expected 16"));
/// ```
pub fn parse_idx_images(bytes: &[u8], source_name: &str) -> Result<IdxImages> {
    let bytes = gunzip(bytes, source_name)?;
    let (dims, data) = parse_idx(&bytes, source_name, IDX_IMAGES_MAGIC)?;
    Ok(IdxImages {
        count: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels: data.to_vec(),
    })
}

/// Reads an IDX label file (magic `0x00000801`: unsigned bytes, one
/// dimension), plain or gzipped (recognised by its magic bytes).
///
/// # Errors
/// As [`read_idx_images`].
///
/// # Example
/// ```
/// use splitflow::problems::data::read_idx_labels;
///
/// let path = std::env::temp_dir().join(format!("splitflow-doc-idx1-{}", std::process::id()));
/// std::fs::write(&path, [0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9]).unwrap();
/// let labels = read_idx_labels(&path)?;
/// std::fs::remove_file(&path).unwrap();
/// assert_eq!(labels, vec![7, 0, 9]);
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    parse_idx_labels(&bytes, &path.display().to_string())
}

/// [`read_idx_labels`] on bytes already in memory (plain or gzip).
///
/// # Errors
/// As [`read_idx_labels`], without the [`Error::Io`] case.
///
/// # Example
/// ```
/// use splitflow::problems::data::parse_idx_labels;
///
/// assert_eq!(parse_idx_labels(&[0, 0, 8, 1, 0, 0, 0, 2, 4, 2], "inline")?, vec![4, 2]);
/// // An image file is not a label file.
/// assert!(parse_idx_labels(&[0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1], "inline").is_err());
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn parse_idx_labels(bytes: &[u8], source_name: &str) -> Result<Vec<u8>> {
    let bytes = gunzip(bytes, source_name)?;
    let (_, data) = parse_idx(&bytes, source_name, IDX_LABELS_MAGIC)?;
    Ok(data.to_vec())
}

/// Checks the magic number, reads the dimensions, and returns them with the
/// data block, whose length is checked against their product.
fn parse_idx<'a>(bytes: &'a [u8], source_name: &str, magic: u32) -> Result<(Vec<usize>, &'a [u8])> {
    let err = |message: String| data_error(source_name, 0, message);
    let what = |m: u32| match m {
        IDX_IMAGES_MAGIC => "an IDX image file",
        IDX_LABELS_MAGIC => "an IDX label file",
        _ => "not an IDX file of unsigned bytes with 1 or 3 dimensions",
    };
    let ndims = if magic == IDX_IMAGES_MAGIC { 3 } else { 1 };
    let header_len = 4 + 4 * ndims;
    let word = |k: usize| {
        let b = &bytes[4 * k..4 * k + 4];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    };
    if bytes.len() < 4 {
        return Err(err(format!(
            "truncated IDX header: expected {header_len} bytes, found {}",
            bytes.len()
        )));
    }
    let found = word(0);
    if found != magic {
        return Err(err(format!(
            "bad IDX magic number 0x{found:08x}: expected 0x{magic:08x} ({}); 0x{found:08x} is {}",
            what(magic),
            what(found)
        )));
    }
    if bytes.len() < header_len {
        return Err(err(format!(
            "truncated IDX header: expected {header_len} bytes, found {}",
            bytes.len()
        )));
    }
    let dims: Vec<usize> = (1..=ndims).map(|k| word(k) as usize).collect();
    let unit = if ndims == 3 {
        "pixel bytes"
    } else {
        "label bytes"
    };
    let shape = dims
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(" × ");
    let total = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| err(format!("IDX dimensions {shape} overflow")))?;
    let data = &bytes[header_len..];
    if data.len() != total {
        let kind = if data.len() < total {
            "truncated IDX data"
        } else {
            "trailing bytes after the IDX data"
        };
        return Err(err(format!(
            "{kind}: expected {total} {unit} ({shape}) after the {header_len}-byte header, found {}",
            data.len()
        )));
    }
    Ok((dims, data))
}

/// Reads an IDX image file and its label file into a [`Dataset`]: pixels
/// scaled by 1/255 (one image per row, row-major), labels as read,
/// `classes = 1 + the largest label`, named after the image file.
///
/// # Errors
/// As [`read_idx_images`] and [`read_idx_labels`], and [`Error::Data`] naming
/// the label file if the two files hold different numbers of items.
///
/// # Example
/// ```
/// use splitflow::problems::data::read_idx;
///
/// let dir = std::env::temp_dir();
/// let images = dir.join(format!("splitflow-doc-pair-images-{}", std::process::id()));
/// let labels = dir.join(format!("splitflow-doc-pair-labels-{}", std::process::id()));
/// std::fs::write(&images, [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 255]).unwrap();
/// std::fs::write(&labels, [0, 0, 8, 1, 0, 0, 0, 2, 3, 1]).unwrap();
/// let d = read_idx(&images, &labels)?;
/// std::fs::remove_file(&images).unwrap();
/// std::fs::remove_file(&labels).unwrap();
/// assert_eq!((d.n(), d.p(), d.classes), (2, 1, 4));
/// assert_eq!((d.x[(1, 0)], d.labels[1]), (1.0, 1));
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn read_idx(images_path: impl AsRef<Path>, labels_path: impl AsRef<Path>) -> Result<Dataset> {
    let (images_path, labels_path) = (images_path.as_ref(), labels_path.as_ref());
    let images = read_idx_images(images_path)?;
    let labels = read_idx_labels(labels_path)?;
    if labels.len() != images.count() {
        return Err(data_error(
            &labels_path.display().to_string(),
            0,
            format!(
                "{} labels, but the image file {} holds {} images",
                labels.len(),
                images_path.display(),
                images.count()
            ),
        ));
    }
    let labels: Vec<usize> = labels.into_iter().map(usize::from).collect();
    let classes = labels.iter().max().map_or(0, |&m| m + 1);
    Ok(Dataset {
        x: images.to_matrix(),
        labels,
        classes,
        name: images_path.display().to_string(),
    })
}

/// Loads MNIST or Fashion-MNIST from the directory `dir`: the training set
/// (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`) if `train`, else
/// the test set (`t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`). Each
/// file may carry a `.gz` suffix (and the `train-images.idx3-ubyte` spelling
/// is accepted too); the plain name is tried first. Pixels are scaled by
/// 1/255 (784 features for 28 × 28 images); `classes` is 10.
///
/// # Errors
/// [`Error::Io`] (kind `NotFound`) naming the expected file if none of its
/// spellings exists; otherwise as [`read_idx`], plus [`Error::Data`] for a
/// label above 9.
///
/// # Example
/// ```
/// use splitflow::problems::data::load_mnist;
///
/// // A tiny stand-in for the MNIST test set: two 2 × 2 images.
/// let dir = std::env::temp_dir().join(format!("splitflow-doc-mnist-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("t10k-images-idx3-ubyte"),
///                [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 255, 255, 255, 255])
///     .unwrap();
/// std::fs::write(dir.join("t10k-labels-idx1-ubyte"), [0, 0, 8, 1, 0, 0, 0, 2, 0, 9]).unwrap();
/// let test = load_mnist(&dir, false)?;
/// assert!(load_mnist(&dir, true).is_err()); // no training files here
/// std::fs::remove_dir_all(&dir).unwrap();
/// assert_eq!((test.n(), test.p(), test.classes), (2, 4, 10));
/// assert_eq!(test.labels, vec![0, 9]);
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn load_mnist(dir: impl AsRef<Path>, train: bool) -> Result<Dataset> {
    let dir = dir.as_ref();
    let prefix = if train { "train" } else { "t10k" };
    let images = find_idx_file(dir, prefix, "images", 3)?;
    let labels = find_idx_file(dir, prefix, "labels", 1)?;
    let mut d = read_idx(&images, &labels)?;
    if let Some((i, &l)) = d.labels.iter().enumerate().find(|(_, l)| **l > 9) {
        return Err(data_error(
            &labels.display().to_string(),
            0,
            format!("label {l} at index {i}: MNIST labels are digits 0..9"),
        ));
    }
    d.classes = 10;
    Ok(d)
}

fn find_idx_file(dir: &Path, prefix: &str, what: &str, ndims: usize) -> Result<PathBuf> {
    let names = [
        format!("{prefix}-{what}-idx{ndims}-ubyte"),
        format!("{prefix}-{what}-idx{ndims}-ubyte.gz"),
        format!("{prefix}-{what}.idx{ndims}-ubyte"),
        format!("{prefix}-{what}.idx{ndims}-ubyte.gz"),
    ];
    names
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
        .ok_or_else(|| Error::Io {
            path: dir.join(&names[0]).display().to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no such file (also tried {})", names[1..].join(", ")),
            ),
        })
}
