//! Loss curves: one line per named series of `(x, y)` points.

use std::path::Path;

use plotters::prelude::*;

use super::axis::Axis;
use super::chart::{Chart, DrawResult, PALETTE, build_chart, colour, render};
use super::legend::{Corner, legend_entry, legend_line, place_legend};
use crate::error::{Error, Result};

/// Draws one line per named series of `(x, y)` points, with a legend.
///
/// Typical use: loss (or residual, or test error) against iteration for
/// several learning rates or methods. With `log_y` the `y` axis is
/// logarithmic and points with `y ≤ 0` are skipped; non-finite points are
/// always skipped, and a skipped point breaks the line. Series of at most 40
/// points also get a marker on every point. A series with nothing to draw
/// keeps its legend entry, marked "(nothing to plot)".
///
/// # Errors
/// [`Error::InvalidParameter`] when `series` is empty or no series has a
/// drawable point, [`Error::Io`] when `path` cannot be written.
///
/// # Example
/// ```
/// use splitflow::plot::loss_curves;
///
/// let curve = |rate: f64| -> Vec<(f64, f64)> {
///     (0..50).map(|k| (k as f64, (-rate * k as f64).exp())).collect()
/// };
/// let series = vec![
///     ("α = 0.1".to_string(), curve(0.1)),
///     ("α = 0.3".to_string(), curve(0.3)),
/// ];
/// let path = std::env::temp_dir().join("splitflow_loss_curves_example.svg");
/// loss_curves(&series, "iteration", "loss", true, "Loss against iteration", &path)?;
/// assert!(std::fs::read_to_string(&path)?.contains("α = 0.3"));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn loss_curves(
    series: &[(String, Vec<(f64, f64)>)],
    x_label: &str,
    y_label: &str,
    log_y: bool,
    title: &str,
    path: &Path,
) -> Result<()> {
    if series.is_empty() {
        return Err(Error::invalid("series", "[]", "no series to plot"));
    }
    // Each series split into runs of consecutive drawable points.
    let pieces: Vec<Vec<Vec<(f64, f64)>>> = series
        .iter()
        .map(|(_, pts)| drawable_runs(pts, log_y))
        .collect();
    let all = || pieces.iter().flatten().flatten();
    if all().next().is_none() {
        return Err(Error::invalid(
            "series",
            format!("{} series", series.len()),
            if log_y {
                "no finite point with y > 0 to draw on a log axis"
            } else {
                "no finite point to draw"
            },
        ));
    }
    let x = Axis::linear_around(all().map(|p| p.0), 0.02, true);
    let y = if log_y {
        Axis::log_around(all().map(|p| p.1), 0.05, 1.5)
    } else {
        Axis::linear_around(all().map(|p| p.1), 0.05, true)
    };
    let labels: Vec<String> = series
        .iter()
        .zip(&pieces)
        .map(|((name, _), runs)| {
            if runs.is_empty() {
                format!("{name} (nothing to plot)")
            } else {
                name.clone()
            }
        })
        .collect();

    render(path, |root| {
        let mut chart = build_chart(root, title, x, y, x_label, y_label)?;
        for (i, (runs, label)) in pieces.iter().zip(&labels).enumerate() {
            draw_series_runs(&mut chart, i, runs, label)?;
        }
        let curves: Vec<Vec<(f64, f64)>> = pieces.iter().flatten().cloned().collect();
        place_legend(
            &mut chart,
            &labels,
            &curves,
            &[
                Corner::UpperRight,
                Corner::LowerLeft,
                Corner::UpperLeft,
                Corner::LowerRight,
            ],
        )
    })
}

/// `points` split into runs of consecutive drawable points (finite, and
/// with `y > 0` on a log axis).
fn drawable_runs(points: &[(f64, f64)], log_y: bool) -> Vec<Vec<(f64, f64)>> {
    let drawable = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && (!log_y || y > 0.0);
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for p in points {
        if drawable(p) {
            current.push(*p);
        } else if !current.is_empty() {
            runs.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

/// Series number `i`: its legend entry and its runs of points, in its
/// colour (dashed past the palette's ten colours), with a marker on every
/// point when it has at most 40 points.
fn draw_series_runs<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    i: usize,
    runs: &[Vec<(f64, f64)>],
    label: &str,
) -> DrawResult {
    let c = colour(i);
    let style = c.stroke_width(2);
    // Past the palette's ten colours, the next ten are dashed.
    let dashed = (i / PALETTE.len()) % 2 == 1;
    let markers = runs.iter().map(Vec::len).sum::<usize>() <= 40;
    let radius = if markers { 4 } else { 0 };
    // The entry is an empty series, so that it exists (and comes in
    // order) even for a series with nothing to draw.
    legend_entry(chart, label, move |(px, py)| {
        EmptyElement::at((px, py))
            + legend_line(dashed, style)
            + Circle::new((12, 0), radius, c.filled())
    })?;
    for run in runs {
        if dashed {
            chart.draw_series(DashedLineSeries::new(run.iter().copied(), 8, 5, style))?;
        } else {
            chart.draw_series(LineSeries::new(run.iter().copied(), style))?;
        }
        if markers || run.len() == 1 {
            chart.draw_series(run.iter().map(|&p| Circle::new(p, 4, c.filled())))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::test_support::{count, hex, out_dir, polyline_colours, well_formed};
    use std::io;

    fn three_series() -> Vec<(String, Vec<(f64, f64)>)> {
        (1..=3)
            .map(|i| {
                let rate = 0.05 * i as f64;
                let mut pts: Vec<(f64, f64)> = (0..200)
                    .map(|k| (k as f64, (-rate * k as f64).exp()))
                    .collect();
                if i == 2 {
                    pts[50].1 = 0.0; // skipped on a log axis: the line breaks
                    pts[120].1 = f64::NAN;
                }
                (format!("α = {rate:.2}"), pts)
            })
            .collect()
    }

    #[test]
    fn loss_curves_draws_one_line_and_entry_per_series() {
        let dir = out_dir("loss");
        for log_y in [true, false] {
            let path = dir.join(&format!("loss_{log_y}.svg"));
            loss_curves(&three_series(), "iteration", "loss", log_y, "Loss", &path).unwrap();
            let svg = std::fs::read_to_string(&path).unwrap();
            let texts = well_formed(&svg);
            for name in [
                "α = 0.05",
                "α = 0.10",
                "α = 0.15",
                "iteration",
                "loss",
                "Loss",
            ] {
                assert_eq!(count(&texts, name), 1, "{name}: {texts:?}");
            }
            let colours = polyline_colours(&svg);
            for i in 0..3 {
                assert!(colours.contains(&hex(colour(i))), "{colours:?}");
            }
            assert!(!colours.contains(&hex(colour(3))));
            // The broken series: runs 0..50, 51..120, 121..200 on a log axis
            // (two runs when only the NaN breaks it), plus its legend line.
            let second = svg
                .lines()
                .filter(|l| {
                    l.starts_with("<polyline")
                        && l.contains(&format!("stroke=\"{}\"", hex(colour(1))))
                })
                .count();
            assert_eq!(second, if log_y { 4 } else { 3 });
        }
    }

    #[test]
    fn loss_curves_keeps_an_entry_for_an_empty_series() {
        let mut series = three_series();
        series.push((
            "diverged".into(),
            vec![(0.0, f64::INFINITY), (1.0, f64::NAN)],
        ));
        let dir = out_dir("loss-empty");
        let path = dir.join("loss.svg");
        loss_curves(&series, "iteration", "loss", true, "Loss", &path).unwrap();
        let texts = well_formed(&std::fs::read_to_string(&path).unwrap());
        assert_eq!(count(&texts, "diverged (nothing to plot)"), 1);
    }

    #[test]
    fn loss_curves_errors() {
        let dir = out_dir("loss-errors");
        let path = dir.join("never.svg");
        assert!(matches!(
            loss_curves(&[], "x", "y", false, "t", &path),
            Err(Error::InvalidParameter { .. })
        ));
        let flat = vec![("zero".to_string(), vec![(0.0, 0.0), (1.0, -1.0)])];
        assert!(matches!(
            loss_curves(&flat, "x", "y", true, "t", &path),
            Err(Error::InvalidParameter { .. })
        ));
        // The same data are fine on a linear axis.
        loss_curves(&flat, "x", "y", false, "t", &path).unwrap();
        well_formed(&std::fs::read_to_string(&path).unwrap());

        let missing = dir.join("no-such-directory").join("plot.svg");
        match loss_curves(&three_series(), "x", "y", true, "t", &missing) {
            Err(Error::Io { path, source }) => {
                assert!(path.contains("no-such-directory"));
                assert_eq!(source.kind(), io::ErrorKind::NotFound);
            }
            other => panic!("expected Error::Io, got {other:?}"),
        }
        // A directory in place of the file.
        assert!(matches!(
            loss_curves(&three_series(), "x", "y", true, "t", &dir.0),
            Err(Error::Io { .. })
        ));
    }
}
