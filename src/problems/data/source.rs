//! Reading bytes: files (I/O errors named by path), transparent gzip, and
//! the [`Error::Data`] shorthand every parser uses.

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

pub(super) fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Decompresses `bytes` if they start with the gzip magic `1f 8b`.
pub(super) fn gunzip<'a>(bytes: &'a [u8], source_name: &str) -> Result<Cow<'a, [u8]>> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| data_error(source_name, None, format!("invalid gzip data: {e}")))?;
    Ok(Cow::Owned(out))
}

pub(super) fn data_error(source_name: &str, line: Option<usize>, message: String) -> Error {
    Error::Data {
        source_name: source_name.to_string(),
        line,
        message,
    }
}
