//! Figures of a sweep: `w2_AXIS.png` and `.svg` per axis, W2 against the
//! axis value with the spread over seeds.
//!
//! Each seed's run is a hollow circle, the line joins the medians over the
//! seeds and the bar spans their minimum and maximum. The x axis follows
//! the axis's scale; the W2 axis is logarithmic when every value is
//! positive, because W2 spans decades across a robustness study.

use std::error::Error;
use std::path::Path;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::definition::{Axis, Scale, Sweep};
use crate::error::{Result, SweepError};
use crate::summary::{lines, Line, Row};

type DrawResult = std::result::Result<(), Box<dyn Error>>;

/// The font family that `ips_eval::plots::register_font` fills.
const FONT: &str = "sans-serif";

/// Qualitative colours, one per line (several only in a product sweep).
const PALETTE: [RGBColor; 6] = [
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn text_style(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().into()
}

/// Writes one figure per axis into `dir` and returns their stems
/// (`w2_AXIS`), in the order of the axes.
///
/// # Errors
/// [`SweepError::Plot`] with the path when a file cannot be drawn or written.
pub fn write_plots(dir: &Path, sweep: &Sweep, rows: &[Row]) -> Result<Vec<String>> {
    ips_eval::plots::register_font();
    std::fs::create_dir_all(dir).map_err(|e| SweepError::Plot { path: dir.display().to_string(), message: e.to_string() })?;
    let mut stems = Vec::with_capacity(sweep.axes.len());
    for (index, axis) in sweep.axes.iter().enumerate() {
        let stem = format!("w2_{}", axis.name);
        let lines = lines(sweep, rows, index);
        let fail = |path: &Path, e: Box<dyn Error>| SweepError::Plot { path: path.display().to_string(), message: e.to_string() };

        let png = dir.join(format!("{stem}.png"));
        let root = BitMapBackend::new(&png, (900, 600)).into_drawing_area();
        draw_axis(&root, axis, &lines).and_then(|_| root.present().map_err(Into::into)).map_err(|e| fail(&png, e))?;
        drop(root);

        let svg = dir.join(format!("{stem}.svg"));
        let root = SVGBackend::new(&svg, (900, 600)).into_drawing_area();
        draw_axis(&root, axis, &lines).and_then(|_| root.present().map_err(Into::into)).map_err(|e| fail(&svg, e))?;
        drop(root);

        stems.push(stem);
    }
    Ok(stems)
}

/// `(lo, hi)` of `values` padded for a linear or log axis, `None` when
/// there are no values. A log range is widened to whole decades when
/// `decades` is set, so that a narrow W2 range still gets two labelled ticks.
fn padded_range(values: impl Iterator<Item = f64> + Clone, log: bool, decades: bool) -> Option<(f64, f64)> {
    let lo = values.clone().fold(f64::INFINITY, f64::min);
    let hi = values.fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        return None;
    }
    if log && !decades {
        return Some((lo / 1.3, hi * 1.3));
    }
    if log {
        let lo = 10f64.powf((lo / 1.4).log10().floor());
        let hi = 10f64.powf((hi * 1.4).log10().ceil());
        return Some((lo, hi));
    }
    let pad = if hi > lo { 0.06 * (hi - lo) } else { 0.5 * lo.abs().max(1e-12) };
    Some((lo - pad, hi + pad))
}

/// Formats a tick label without trailing zeros: `500`, `0.25`, `2e-5`.
fn tick_label(value: f64) -> String {
    if value != 0.0 && value.abs() < 1e-3 {
        return format!("{value:.0e}");
    }
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn draw_axis<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, axis: &Axis, lines: &[Line]) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let xs = lines.iter().flat_map(|l| l.points.iter().map(|p| p.x));
    let ys = lines.iter().flat_map(|l| l.points.iter().flat_map(|p| p.w2.iter().copied()));
    let x_log = axis.scale == Scale::Log;
    let y_log = ys.clone().all(|y| y > 0.0);
    let (Some(x_range), Some(y_range)) = (padded_range(xs, x_log, false), padded_range(ys, y_log, true)) else {
        root.titled(&format!("{}: no run has a W2 value", axis.label), text_style(22))?;
        return Ok(());
    };
    let (x_lo, x_hi) = x_range;
    let (y_lo, y_hi) = y_range;
    match (x_log, y_log) {
        (true, true) => draw_chart(root, axis, lines, (x_lo..x_hi).log_scale(), (y_lo..y_hi).log_scale()),
        (true, false) => draw_chart(root, axis, lines, (x_lo..x_hi).log_scale(), y_lo..y_hi),
        (false, true) => draw_chart(root, axis, lines, x_lo..x_hi, (y_lo..y_hi).log_scale()),
        (false, false) => draw_chart(root, axis, lines, x_lo..x_hi, y_lo..y_hi),
    }
}

fn draw_chart<DB, X, Y>(root: &DrawingArea<DB, Shift>, axis: &Axis, lines: &[Line], x_range: X, y_range: Y) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(root)
        .caption(format!("W2 between true- and learned-kernel solutions vs {}", axis.label), text_style(22))
        .margin(15)
        .margin_right(25)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(x_range, y_range)?;
    chart
        .configure_mesh()
        .x_desc(axis.label.as_str())
        .y_desc("max over t of W2")
        .x_labels(8)
        .x_label_formatter(&|v| tick_label(*v))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style(text_style(15))
        .axis_desc_style(text_style(17))
        .draw()?;

    for (k, line) in lines.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let points: Vec<_> = line.points.iter().filter(|p| !p.w2.is_empty()).collect();
        let medians: Vec<(f64, f64)> = points.iter().filter_map(|p| p.median().map(|m| (p.x, m))).collect();
        let label = if lines.len() == 1 { "median over seeds".to_string() } else { line.others.clone() };
        chart
            .draw_series(LineSeries::new(medians.clone(), color.stroke_width(2)))?
            .label(label)
            .legend(move |(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], color.stroke_width(2)));
        chart.draw_series(medians.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        chart.draw_series(points.iter().filter_map(|p| {
            let low = p.w2.iter().copied().reduce(f64::min)?;
            let high = p.w2.iter().copied().reduce(f64::max)?;
            Some(PathElement::new(vec![(p.x, low), (p.x, high)], color.stroke_width(1)))
        }))?;
        chart.draw_series(
            points.iter().flat_map(|p| p.w2.iter().map(move |&w| Circle::new((p.x, w), 5, color.stroke_width(1)))),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(text_style(14))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::LinePoint;

    fn axis(scale: Scale) -> Axis {
        Axis {
            name: "n".into(),
            label: "N".into(),
            keys: vec!["simulation.n_particles".into()],
            values: vec![toml::Value::Integer(1000), toml::Value::Integer(10000)],
            scale,
        }
    }

    fn line(w2: Vec<Vec<f64>>) -> Line {
        Line {
            others: String::new(),
            points: w2.into_iter().enumerate().map(|(k, w2)| LinePoint { x: 1000.0 * 10f64.powi(k as i32), w2 }).collect(),
        }
    }

    fn render(axis: &Axis, lines: &[Line]) -> u64 {
        ips_eval::plots::register_font();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w2.png");
        {
            let root = BitMapBackend::new(&path, (300, 200)).into_drawing_area();
            draw_axis(&root, axis, lines).unwrap();
            root.present().unwrap();
        }
        std::fs::metadata(&path).unwrap().len()
    }

    #[test]
    fn log_and_linear_axes_draw() {
        let lines = [line(vec![vec![1e-3, 2e-3], vec![1e-4]])];
        assert!(render(&axis(Scale::Log), &lines) > 1000);
        assert!(render(&axis(Scale::Linear), &lines) > 1000);
    }

    #[test]
    fn zero_w2_uses_linear_axis() {
        let lines = [line(vec![vec![0.0, 2e-3], vec![1e-4]])];
        assert!(render(&axis(Scale::Log), &lines) > 1000);
    }

    #[test]
    fn lines_without_w2_draw_a_note() {
        let lines = [line(vec![vec![], vec![]])];
        assert!(render(&axis(Scale::Log), &lines) > 1000);
    }

    #[test]
    fn tick_labels_drop_trailing_zeros() {
        assert_eq!(tick_label(500.0), "500");
        assert_eq!(tick_label(0.25), "0.25");
        assert_eq!(tick_label(0.1 + 0.2), "0.3");
        assert_eq!(tick_label(2e-5), "2e-5");
        assert_eq!(tick_label(0.0), "0");
    }

    #[test]
    fn padded_range_covers_values() {
        assert_eq!(padded_range([1.0, 3.0].into_iter(), false, false), Some((0.88, 3.12)));
        assert_eq!(padded_range([1.3, 13.0].into_iter(), true, false), Some((1.0, 16.900000000000002)));
        let (lo, hi) = padded_range([0.03, 0.09].into_iter(), true, true).unwrap();
        assert!((lo - 0.01).abs() < 1e-15, "{lo}");
        assert!((hi - 1.0).abs() < 1e-15, "{hi}");
        let (lo, hi) = padded_range([1e-4, 1e-2].into_iter(), true, true).unwrap();
        assert!(lo < 1e-4, "{lo}");
        assert!(hi > 1e-2, "{hi}");
        assert_eq!(padded_range(std::iter::empty(), true, true), None);
    }
}
