//! Numeric CSV: features then the label in the last column, optional header.

use std::path::Path;

use nalgebra::DMatrix;

use super::source::{data_error, gunzip, read_file};
use super::{Dataset, MAX_CLASSES};
use crate::error::Result;

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
/// whitespace; lines may end in `\r\n`; blank lines are skipped; there is no
/// quoting. With [`CsvOptions::header`] the first line is skipped unread.
/// The result has `classes = 1 + the largest label` and is named after the
/// path.
///
/// # Errors
/// [`Error::Io`](crate::Error::Io) if the file cannot be read; [`Error::Data`](crate::Error::Data) with the 1-based
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
/// As [`read_csv`], without the [`Error::Io`](crate::Error::Io) case.
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
pub(super) struct Rows {
    pub(super) values: Vec<f64>,
    pub(super) labels: Vec<usize>,
    pub(super) lines: Vec<usize>,
    pub(super) p: usize,
}

/// Parses the data lines of `text` after skipping `skip` lines. With
/// `fields = Some(k)` every row must have `k` fields; otherwise the first
/// data row sets the count.
pub(super) fn parse_rows(
    text: &[u8],
    source_name: &str,
    delimiter: char,
    skip: usize,
    fields: Option<usize>,
) -> Result<Rows> {
    let mut rows = Rows {
        values: Vec::new(),
        labels: Vec::new(),
        lines: Vec::new(),
        p: 0,
    };
    // (field count, line that set it)
    let mut expected: Option<(usize, usize)> = fields.map(|k| (k, 0));
    for (i, raw) in text.split(|&b| b == b'\n').enumerate().skip(skip) {
        let line = i + 1;
        let err = |message: String| data_error(source_name, line, message);
        let s = std::str::from_utf8(raw)
            .map_err(|e| err(format!("invalid UTF-8 text: {e}")))?
            .trim();
        if s.is_empty() {
            continue;
        }
        let count = s.split(delimiter).count();
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
        let mut fields = s.split(delimiter).map(str::trim).enumerate().peekable();
        while let Some((j, field)) = fields.next() {
            let column = j + 1;
            if fields.peek().is_none() {
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
        Some(l) => Err(format!(
            "label {l} is too large (class labels must be below {MAX_CLASSES})"
        )),
        None => Err(format!(
            "{field:?} is not a class label (a non-negative integer)"
        )),
    }
}
