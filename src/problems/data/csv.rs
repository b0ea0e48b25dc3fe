//! Numeric CSV: features then the label in the last column, optional header.

use std::path::Path;

use nalgebra::DMatrix;

use super::source::{data_error, gunzip, read_file};
use super::{Dataset, MAX_CLASSES};
use crate::error::{Error, Result};

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
/// assert!(matches!(err, Error::Data { line: Some(2), .. }));
/// # Ok::<(), splitflow::Error>(())
/// ```
pub fn parse_csv(bytes: &[u8], source_name: &str, options: &CsvOptions) -> Result<Dataset> {
    let text = gunzip(bytes, source_name)?;
    let skip = usize::from(options.header);
    let rows = parse_rows(&text, source_name, options.delimiter, skip, None)?;
    if rows.labels.is_empty() {
        return Err(data_error(
            source_name,
            None,
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

/// Parses the data lines of `text` after skipping `skip` lines, with the
/// `csv` crate (RFC 4180 quoting; a leading UTF-8 byte-order mark is
/// dropped; fields are trimmed; blank lines are skipped). With
/// `fields = Some(k)` every row must have `k` fields; otherwise the first
/// data row sets the count. Errors name the 1-based line (and column).
pub(super) fn parse_rows(
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
                return Err(data_error(
                    source_name,
                    Some(line),
                    format!("malformed CSV: {e}"),
                ));
            }
        };
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| line_at(p.byte() as usize));
        if line <= skip {
            continue;
        }
        let err = |message: String| data_error(source_name, Some(line), message);
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
