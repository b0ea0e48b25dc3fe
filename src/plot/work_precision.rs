//! The work–precision diagram: cost against error, log-log, one line per
//! method (the DiffEqDevTools layout: error on `x`, cost on `y`, so better
//! methods sit lower left).

use std::path::Path;

use plotters::prelude::*;

use super::axis::Axis;
use super::chart::{build_chart, colour, render};
use super::legend::{Corner, line_and_dot, place_legend};
use crate::error::{Error, Result};

/// Draws one line per method through its `(error, cost)` points on log-log
/// axes, with a marker on every point and a legend. Points with a
/// non-positive or non-finite coordinate are left out.
///
/// # Errors
/// [`Error::InvalidParameter`] when no method has a drawable point,
/// [`Error::Io`] when `path` cannot be written.
///
/// # Example
/// ```
/// use splitflow::plot::work_precision_plot;
/// let euler: Vec<(f64, f64)> = (1..6).map(|k| (0.5f64.powi(k), 2f64.powi(k))).collect();
/// let rk4: Vec<(f64, f64)> = (1..6).map(|k| (0.5f64.powi(4 * k), 4.0 * 2f64.powi(k))).collect();
/// let path = std::env::temp_dir().join("splitflow_work_precision_example.svg");
/// work_precision_plot(&[("euler".into(), euler), ("rk4".into(), rk4)],
///                     "right-hand-side evaluations", "Work-precision", &path)?;
/// assert!(std::fs::read_to_string(&path)?.contains("rk4"));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn work_precision_plot(
    series: &[(String, Vec<(f64, f64)>)],
    cost_label: &str,
    title: &str,
    path: &Path,
) -> Result<()> {
    let drawable = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && x > 0.0 && y > 0.0;
    let points: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|(_, pts)| pts.iter().copied().filter(drawable).collect())
        .collect();
    let all = || points.iter().flatten();
    if all().next().is_none() {
        return Err(Error::invalid(
            "series",
            format!("{} series", series.len()),
            "no point with a positive, finite error and cost to draw on log axes",
        ));
    }
    let x = Axis::log_around(all().map(|p| p.0), 0.06, 10.0);
    let y = Axis::log_around(all().map(|p| p.1), 0.08, 10.0);
    let labels: Vec<String> = series.iter().map(|(name, _)| name.clone()).collect();
    render(path, |root| {
        let mut chart = build_chart(root, title, x, y, "error", cost_label)?;
        for (i, (pts, label)) in points.iter().zip(&labels).enumerate() {
            let c = colour(i);
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))?
                .label(label.clone())
                .legend(move |(px, py)| line_and_dot((px, py), c));
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 5, c.filled())))?;
        }
        place_legend(
            &mut chart,
            &labels,
            &points,
            &[
                Corner::UpperRight,
                Corner::LowerLeft,
                Corner::UpperLeft,
                Corner::LowerRight,
            ],
        )
    })
}
