//! The picture every plot shares: size, fonts and palette, the chart with
//! its mesh and axis labels, and rendering to an SVG file.

use std::io;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{Axis, MAX_LABELS};
use crate::error::{Error, Result};

/// Picture size in pixels.
pub(super) const SIZE: (u32, u32) = (800, 600);
/// Font family of every text (the viewer picks the face).
pub(super) const FONT: &str = "sans-serif";
/// Title, tick-label, axis-label and legend font sizes.
pub(super) const TITLE_SIZE: u32 = 25;
pub(super) const TICK_SIZE: u32 = 17;
pub(super) const DESC_SIZE: u32 = 19;
pub(super) const LEGEND_SIZE: u32 = 17;

/// Ten distinct colours (the "tab10" palette), cycled.
pub(super) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
pub(super) const DARK: RGBColor = RGBColor(60, 60, 60);

pub(super) type DrawResult<T = ()> = std::result::Result<T, DrawingAreaErrorKind<io::Error>>;
pub(super) type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Axis, Axis>>;
pub(super) type Root<'b> = DrawingArea<SVGBackend<'b>, Shift>;

pub(super) fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Renders into a string, then writes the file: a failed write leaves no
/// half-drawn picture behind and reports the real I/O error.
pub(super) fn render(path: &Path, draw: impl FnOnce(&Root<'_>) -> DrawResult) -> Result<()> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present())
            .map_err(|e| Error::Io {
                path: path.display().to_string(),
                source: io::Error::other(format!("drawing failed: {e}")),
            })?;
    }
    std::fs::write(path, svg).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

pub(super) fn build_chart<'a, 'b>(
    root: &'a Root<'b>,
    title: &str,
    x: Axis,
    y: Axis,
    x_desc: &str,
    y_desc: &str,
) -> DrawResult<Chart<'a, 'b>> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, TITLE_SIZE))
        .margin(14)
        .margin_right(30)
        .x_label_area_size(58)
        .y_label_area_size(92)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_labels(MAX_LABELS)
        .y_labels(MAX_LABELS)
        .label_style((FONT, TICK_SIZE))
        .axis_desc_style((FONT, DESC_SIZE))
        .bold_line_style(RGBColor(208, 208, 208))
        .light_line_style(RGBColor(238, 238, 238))
        .axis_style(DARK)
        .draw()?;
    Ok(chart)
}
