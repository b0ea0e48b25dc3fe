//! Errors of specification files: a TOML parse error turned into
//! [`Error::Spec`] with its line, shared by every spec reader (the order
//! studies of `convergence::spec`, the optimizer specs of
//! `optimizers::spec`).

use super::Error;

/// Converts a TOML parse error into [`Error::Spec`] with its line number.
pub(crate) fn toml_error(text: &str, e: &toml::de::Error) -> Error {
    let line = e.span().map(|s| {
        text.as_bytes()[..s.start.min(text.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    });
    let mut message = e.message().trim().to_string();
    // Name the key of the offending `key = value` line when the message does not.
    if let Some((key, _)) = line
        .and_then(|l| text.lines().nth(l - 1))
        .and_then(|l| l.split_once('='))
    {
        let key = key.trim().trim_matches('"');
        let simple = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if simple && !message.contains(&format!("`{key}`")) {
            message = format!("`{key}`: {message}");
        }
    }
    Error::Spec { message, line }
}
