//! Reading bytes: files (I/O errors named by path), transparent gzip, and
//! the [`Error::Data`] shorthand every parser uses.

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
use crate::limits::{MAX_DECOMPRESSED_BYTES, human_bytes};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

pub(super) fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Decompresses `bytes` if they start with the gzip magic `1f 8b`, to at
/// most [`MAX_DECOMPRESSED_BYTES`].
pub(super) fn gunzip<'a>(bytes: &'a [u8], source_name: &str) -> Result<Cow<'a, [u8]>> {
    gunzip_capped(bytes, source_name, MAX_DECOMPRESSED_BYTES)
}

/// [`gunzip`] with the cap `limit`: the stream is read through a
/// `take(limit + 1)`, so a gzip bomb stops at the cap (and is reported as
/// too large, not as invalid data). The buffer is reserved from the gzip
/// footer's size field (bounded by the cap), so it does not grow by doubling
/// past the cap.
pub(super) fn gunzip_capped<'a>(
    bytes: &'a [u8],
    source_name: &str,
    limit: usize,
) -> Result<Cow<'a, [u8]>> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(Cow::Borrowed(bytes));
    }
    // ISIZE: the last member's uncompressed size mod 2³², a hint only.
    let hint = match bytes.len().checked_sub(4).map(|k| &bytes[k..]) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]) as usize,
        _ => 0,
    };
    let mut out = Vec::with_capacity(hint.min(limit).saturating_add(1));
    flate2::read::MultiGzDecoder::new(bytes)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| data_error(source_name, None, format!("invalid gzip data: {e}")))?;
    if out.len() > limit {
        return Err(data_error(
            source_name,
            None,
            format!(
                "the gzip stream expands to more than {}, the limit \
                 (splitflow::limits::MAX_DECOMPRESSED_BYTES); decompress it yourself to read it",
                human_bytes(limit as f64)
            ),
        ));
    }
    Ok(Cow::Owned(out))
}

pub(super) fn data_error(source_name: &str, line: Option<usize>, message: String) -> Error {
    Error::Data {
        source_name: source_name.to_string(),
        line,
        message,
    }
}
