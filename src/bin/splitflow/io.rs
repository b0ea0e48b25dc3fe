//! Where the CLI reads and writes: the report on stdout (every write
//! checked), input files, and output paths checked before any work starts.

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use splitflow::{Error, Result};

/// The name [`Error::Io`] carries for a failed write to standard output.
pub(crate) const STDOUT: &str = "standard output";

/// Writes one line of the report on stdout, flushing it; a write error
/// (full disk, closed pipe, …) is an [`Error::Io`] on [`STDOUT`]. The
/// binary exits 0 silently on a closed pipe and 1 on anything else.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::io::line(format_args!($($arg)*))
    };
}

/// One line on stdout (the body of [`say!`]).
pub(crate) fn line(args: std::fmt::Arguments<'_>) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(stdout_error)
}

/// Raw bytes on stdout (shell completion scripts), flushed.
pub(crate) fn bytes(data: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(data)
        .and_then(|()| out.flush())
        .map_err(stdout_error)
}

fn stdout_error(source: std::io::Error) -> Error {
    Error::Io {
        path: STDOUT.to_string(),
        source,
    }
}

/// Whether `e` is a write to a closed stdout pipe (e.g. `| head`): the
/// reader has what it wanted, so this one failure is not reported.
pub(crate) fn is_closed_stdout(e: &Error) -> bool {
    matches!(e, Error::Io { path, source } if path == STDOUT && source.kind() == ErrorKind::BrokenPipe)
}

/// Reads an input text file named by `arg`. A file that cannot be read is a
/// usage error (the argument is wrong), named by its flag.
pub(crate) fn read_input(arg: &str, path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| bad_input(arg, path, &e))
}

/// A usage error for an input path that cannot be used.
pub(crate) fn bad_input(arg: &str, path: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::invalid(
        arg,
        format!("{:?}", path.display().to_string()),
        &format!("cannot be read: {e}"),
    )
}

/// Checks that `dir` (given as `arg`) is a readable directory holding, for
/// each prefix, at least one file whose name starts with it.
pub(crate) fn check_input_dir(arg: &str, dir: &Path, prefixes: &[&str]) -> Result<()> {
    let names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| bad_input(arg, dir, &e))?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    for prefix in prefixes {
        if !names.iter().any(|n| n.starts_with(prefix)) {
            return Err(bad_input(
                arg,
                dir,
                &format!("no file named {prefix}… in this directory"),
            ));
        }
    }
    Ok(())
}

/// Writes a text file; a failure is an [`Error::Io`] naming the file.
pub(crate) fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

fn io_error(arg: &str, path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: format!("{} ({arg})", path.display()),
        source,
    }
}

/// Checks, before any work, that the output file `path` (given as `arg`)
/// can be written: an existing file is opened for writing (not truncated),
/// a new one is created and removed again. An unwritable path is an
/// [`Error::Io`] (exit code 1) naming the flag.
pub(crate) fn check_output_file(arg: &str, path: &Path) -> Result<()> {
    if path.is_dir() {
        return Err(io_error(
            arg,
            path,
            std::io::Error::new(ErrorKind::IsADirectory, "is a directory"),
        ));
    }
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| io_error(arg, path, e))?;
    if !existed {
        std::fs::remove_file(path).map_err(|e| io_error(arg, path, e))?;
    }
    Ok(())
}

/// Creates the output directory `dir` (given as `arg`) if needed and checks
/// that files can be created in it, before any work.
pub(crate) fn check_output_dir(arg: &str, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(arg, dir, e))?;
    let probe = dir.join(format!(".splitflow-write-check-{}", std::process::id()));
    check_output_file(arg, &probe)
}

/// The CSV file written beside a plot: `FILE.svg` → `FILE.csv`. A plot path
/// that already ends in `.csv` is refused (the data would overwrite it).
pub(crate) fn csv_beside(arg: &str, plot: &Path) -> Result<PathBuf> {
    let csv = plot.with_extension("csv");
    if csv == plot {
        return Err(Error::invalid(
            arg,
            format!("{:?}", plot.display().to_string()),
            "a plot path must not end in .csv (its data is written to FILE.csv beside FILE.svg)",
        ));
    }
    Ok(csv)
}

/// Series as CSV with columns `series,x_name,y_name`, one row per point
/// (floats in shortest round-trip form; labels quoted when needed).
#[cfg(feature = "plot")]
pub(crate) fn series_csv(
    x_name: &str,
    y_name: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> String {
    let mut s = format!("series,{},{}\n", csv_field(x_name), csv_field(y_name));
    for (label, points) in series {
        let label = csv_field(label);
        for (x, y) in points {
            s += &format!("{label},{x:?},{y:?}\n");
        }
    }
    s
}

/// A CSV field, quoted (RFC 4180) when it holds a comma, quote or newline.
#[cfg(feature = "plot")]
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Checks a `--plot FILE.svg` output and the CSV written beside it before
/// any work: the feature is built in, and both files are writable. Returns
/// the plot path and its CSV path.
pub(crate) fn check_plot_output(plot: Option<&Path>) -> Result<Option<(&Path, PathBuf)>> {
    let Some(path) = plot else { return Ok(None) };
    if !cfg!(feature = "plot") {
        return Err(crate::no_plot_feature());
    }
    let csv = csv_beside("--plot", path)?;
    check_output_file("--plot", path)?;
    check_output_file("--plot", &csv)?;
    Ok(Some((path, csv)))
}

/// The input and checked outputs of a study command (`order`,
/// `work-precision`): the spec's text, the `--plot` output with its CSV
/// ([`check_plot_output`]), and the `--csv` table, checked before any work.
pub(crate) fn study_input<'a>(
    spec: &Path,
    plot: Option<&'a Path>,
    csv: Option<&Path>,
) -> Result<(String, Option<(&'a Path, PathBuf)>)> {
    let text = read_input("SPEC", spec)?;
    let plot_csv = check_plot_output(plot)?;
    if let Some(path) = csv {
        check_output_file("--csv", path)?;
    }
    Ok((text, plot_csv))
}

/// Prints where the table (`--csv`) and the plot with its data beside it
/// (`--plot`) were written, after a report.
pub(crate) fn say_written(table: Option<&Path>, plot: Option<&(&Path, PathBuf)>) -> Result<()> {
    if let Some(path) = table {
        crate::say!("table written to {}", path.display())?;
    }
    if let Some((path, data)) = plot {
        crate::say!(
            "plot written to {} (data in {})",
            path.display(),
            data.display()
        )?;
    }
    Ok(())
}
