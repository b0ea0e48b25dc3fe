//! CSV with a counting header `rows,features,class names…` (the format of
//! the shipped WDBC file).

use std::path::Path;

use nalgebra::DMatrix;

use super::Dataset;
use super::csv::parse_rows;
use super::source::{data_error, gunzip, read_file};
use crate::error::Result;

/// Reads a CSV file whose first line is a counting header, as the shipped
/// WDBC file: `569,30,malignant,benign` — the number of data rows, the number
/// of features, then one name per class. Every following line holds that
/// many comma-separated finite features and a label indexing the class names
/// (0 = first name). Gzip-aware like [`read_csv`](super::read_csv); features are returned as
/// read (not standardized: [`named`](super::named)`("wdbc")` standardizes).
///
/// # Errors
/// [`Error::Io`](crate::Error::Io) if the file cannot be read; [`Error::Data`](crate::Error::Data) for a malformed
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
/// As [`read_wdbc`], without the [`Error::Io`](crate::Error::Io) case.
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
    let header_err = |message: String| data_error(source_name, Some(1), message);
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
            Some(rows.lines[n]),
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
            Some(line),
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
