//! Figures of a run, each written as PNG and SVG.
//!
//! Text is drawn with DejaVu Sans embedded in the binary (plotters'
//! `ab_glyph` backend), so the PNG files look the same on a machine without
//! system fonts. The SVG files name the font family `sans-serif` and leave
//! the text to the viewer.

use std::error::Error;
use std::path::Path;
use std::sync::Once;

use ips_core::artifact::Density;
use ips_core::Kernel;
use ips_learn::LearnedModel;
use ndarray::Axis;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;

use crate::forward::ForwardCheck;
use crate::{EvalError, Result};

type DrawResult = std::result::Result<(), Box<dyn Error>>;

const FONT: &str = "sans-serif";
const DATA_COLOR: RGBColor = RGBColor(0, 0, 0);
const TRUE_COLOR: RGBColor = RGBColor(31, 119, 180);
const LEARNED_COLOR: RGBColor = RGBColor(214, 39, 40);

/// A written figure: `STEM.png` and `STEM.svg` in the plot folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    pub stem: String,
    pub caption: String,
}

/// Everything the figures of one run show.
pub struct RunPlots<'a> {
    /// The data density (KDE snapshots).
    pub data: &'a Density,
    /// The forward check, when one was run.
    pub forward: Option<&'a ForwardCheck>,
    pub model: &'a LearnedModel,
    pub learned: &'a Kernel,
    pub truth: Option<&'a Kernel>,
    /// The kernels are drawn on `[0, r_max]`.
    pub r_max: f64,
}

/// Registers the embedded DejaVu Sans as the `sans-serif` family of
/// plotters, once per process; other crates' figures call it too.
pub fn register_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        if plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_err() {
            tracing::error!("the embedded DejaVu Sans font failed to load; plot text will be missing");
        }
    });
}

/// Draws `draw` into `DIR/STEM.png` and `DIR/STEM.svg`.
macro_rules! render {
    ($dir:expr, $stem:expr, $size:expr, $draw:expr) => {{
        let png = $dir.join(format!("{}.png", $stem));
        let svg = $dir.join(format!("{}.svg", $stem));
        let fail = |path: &Path, e: Box<dyn Error>| EvalError::Plot { path: path.display().to_string(), message: e.to_string() };
        {
            let root = BitMapBackend::new(&png, $size).into_drawing_area();
            $draw(&root).and_then(|_| root.present().map_err(|e| e.into())).map_err(|e| fail(&png, e))?;
        }
        {
            let root = SVGBackend::new(&svg, $size).into_drawing_area();
            $draw(&root).and_then(|_| root.present().map_err(|e| e.into())).map_err(|e| fail(&svg, e))?;
        }
    }};
}

/// Writes every figure that applies to the run into `dir` and returns them
/// in the order of the report. 2D data gets density images at four times in
/// place of the x–t heat map and the snapshot overlay.
///
/// # Errors
/// [`EvalError::Plot`] with the path when a file cannot be drawn or written.
pub fn write_plots(dir: &Path, plots: &RunPlots) -> Result<Vec<Figure>> {
    register_font();
    std::fs::create_dir_all(dir).map_err(|e| EvalError::Plot { path: dir.display().to_string(), message: e.to_string() })?;
    let mut figures = Vec::new();
    let mut add = |stem: &str, caption: &str| figures.push(Figure { stem: stem.into(), caption: caption.into() });
    let one_dimensional = plots.data.meta.grid.dim() == 1;

    if let Some(forward) = plots.forward {
        if one_dimensional {
            render!(dir, "density_xt", (1200, 520), |root: &DrawingArea<_, Shift>| draw_density_xt(root, plots.data, forward));
            add("density_xt", "Density over x and t: data (KDE) and the learned-model solution");
            render!(dir, "snapshots", (1200, 800), |root: &DrawingArea<_, Shift>| draw_snapshots(root, plots.data, forward));
            add(
                "snapshots",
                if plots.truth.is_some() {
                    "Snapshots: data, true-kernel and learned-kernel solutions"
                } else {
                    "Snapshots: data and the learned-kernel solution"
                },
            );
        } else {
            render!(dir, "density_images", (1300, 700), |root: &DrawingArea<_, Shift>| draw_density_images(root, plots.data, forward));
            add("density_images", "Density images at four times: data (KDE) and the learned-kernel solution");
        }
    }
    // Without a truth there is no error panel, so the figure is one panel.
    let kernel_size = if plots.truth.is_some() { (900, 800) } else { (900, 480) };
    render!(dir, "kernel", kernel_size, |root: &DrawingArea<_, Shift>| draw_kernel(root, plots));
    add(
        "kernel",
        if plots.truth.is_some() { "Kernel phi(r): true and learned, and the absolute error" } else { "Learned kernel phi(r)" },
    );
    if let Some(forward) = plots.forward {
        render!(dir, "w2", (900, 800), |root: &DrawingArea<_, Shift>| draw_w2(root, forward));
        add("w2", "W2 distance over time");
        render!(dir, "free_energy", (900, 520), |root: &DrawingArea<_, Shift>| draw_free_energy(root, forward));
        add("free_energy", "Free energy over time");
    }
    if plots.model.phase_one.iterations.is_empty() {
        tracing::info!("Phase I recorded no iterations: no sparsity path or residual plot");
    } else {
        render!(dir, "sparsity_path", (900, 520), |root: &DrawingArea<_, Shift>| draw_sparsity_path(root, plots.model));
        add("sparsity_path", "Phase I sparsity path: normalised coefficients per iteration");
        render!(dir, "residual", (900, 520), |root: &DrawingArea<_, Shift>| draw_residual(root, plots.model));
        add("residual", "Phase I relative residual per iteration");
    }
    Ok(figures)
}

/// Decimals that tell apart about ten axis labels on `[lo, hi]`.
fn label_decimals(lo: f64, hi: f64) -> usize {
    let step = (hi - lo) / 10.0;
    if !(step.is_finite() && step > 0.0) {
        return 3;
    }
    (-step.log10()).ceil().clamp(0.0, 12.0) as usize
}

/// `(min, max)` of `values`, widened when they are equal or not finite.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if hi - lo <= 1e-12 * lo.abs().max(hi.abs()).max(1e-300) {
        let pad = 0.5 * lo.abs().max(1e-12);
        return (lo - pad, hi + pad);
    }
    let pad = 0.05 * (hi - lo);
    (lo - pad, hi + pad)
}

fn title_style(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().into()
}

fn draw_density_xt<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, data: &Density, forward: &ForwardCheck) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let x = data.meta.grid.axes[0].points();
    let dx = data.meta.grid.axes[0].dx();
    let series = &forward.series;
    let times = &series.times;
    let dt = if times.len() > 1 { times[1] - times[0] } else { 1.0 };
    let learned = &forward.learned_solution.values;
    let rows_data: Vec<Option<Vec<f64>>> = series
        .data_snapshots
        .iter()
        .map(|s| s.map(|n| data.values.index_axis(Axis(0), n).iter().copied().collect()))
        .collect();
    let rows_learned: Vec<Option<Vec<f64>>> =
        (0..times.len()).map(|k| Some(learned.index_axis(Axis(0), k).iter().copied().collect())).collect();
    let max = rows_data
        .iter()
        .chain(&rows_learned)
        .flatten()
        .flatten()
        .copied()
        .fold(0.0, f64::max)
        .max(1e-300);

    let (plot_area, bar_area) = root.split_horizontally(root.dim_in_pixel().0 - 130);
    let panels = plot_area.split_evenly((1, 2));
    for (panel, (title, rows)) in panels.iter().zip([("data (KDE)", &rows_data), ("learned-kernel solution", &rows_learned)]) {
        let t_lo = times[0] - 0.5 * dt;
        let t_hi = times[times.len() - 1] + 0.5 * dt;
        let mut chart = ChartBuilder::on(panel)
            .caption(title, title_style(24))
            .margin(10)
            .margin_right(25)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d((x[0] - 0.5 * dx)..(x[x.len() - 1] + 0.5 * dx), t_lo..t_hi)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("x")
            .y_desc("t")
            .label_style(title_style(16))
            .axis_desc_style(title_style(18))
            .draw()?;
        for (k, row) in rows.iter().enumerate() {
            let Some(row) = row else { continue };
            let t = times[k];
            chart.draw_series(row.iter().zip(&x).map(|(&v, &xm)| {
                let color = ViridisRGB::get_color_normalized(v.max(0.0), 0.0, max);
                Rectangle::new([(xm - 0.5 * dx, t - 0.5 * dt), (xm + 0.5 * dx, t + 0.5 * dt)], color.filled())
            }))?;
        }
    }

    // Colour bar shared by both panels.
    let mut bar = ChartBuilder::on(&bar_area)
        .margin_top(50)
        .margin_bottom(55)
        .margin_right(20)
        .y_label_area_size(75)
        .caption("rho", title_style(18))
        .build_cartesian_2d(0.0..1.0, 0.0..max)?;
    bar.configure_mesh().disable_mesh().disable_x_axis().label_style(title_style(14)).draw()?;
    let steps = 100;
    bar.draw_series((0..steps).map(|k| {
        let lo = max * k as f64 / steps as f64;
        let hi = max * (k + 1) as f64 / steps as f64;
        Rectangle::new([(0.0, lo), (1.0, hi)], ViridisRGB::get_color_normalized(lo, 0.0, max).filled())
    }))?;
    Ok(())
}

/// Heat maps of a 2D density at four times of the forward check: the data
/// in the upper row, the learned-kernel solution in the lower row, on one
/// colour scale.
fn draw_density_images<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, data: &Density, forward: &ForwardCheck) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (x, y) = (data.meta.grid.axes[0].points(), data.meta.grid.axes[1].points());
    let (dx, dy) = (data.meta.grid.axes[0].dx(), data.meta.grid.axes[1].dx());
    let series = &forward.series;
    let columns = overlay_indices(series.times.len());
    let learned = &forward.learned_solution.values;
    let mut images: Vec<(String, Option<ndarray::ArrayViewD<f64>>)> = Vec::new();
    for &k in &columns {
        let view = series.data_snapshots[k].map(|n| data.values.index_axis(Axis(0), n));
        images.push((format!("data, t = {:.2}", series.times[k]), view));
    }
    for &k in &columns {
        images.push((format!("learned model, t = {:.2}", series.times[k]), Some(learned.index_axis(Axis(0), k))));
    }
    let max = images
        .iter()
        .filter_map(|(_, v)| v.as_ref())
        .flat_map(|v| v.iter().copied())
        .fold(0.0, f64::max)
        .max(1e-300);

    let (plot_area, bar_area) = root.split_horizontally(root.dim_in_pixel().0 - 110);
    let panels = plot_area.split_evenly((2, columns.len()));
    for (panel, (title, image)) in panels.iter().zip(&images) {
        let mut chart = ChartBuilder::on(panel)
            .caption(title, title_style(17))
            .margin(6)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d((x[0] - 0.5 * dx)..(x[x.len() - 1] + 0.5 * dx), (y[0] - 0.5 * dy)..(y[y.len() - 1] + 0.5 * dy))?;
        chart.configure_mesh().disable_mesh().x_labels(5).y_labels(5).label_style(title_style(12)).draw()?;
        let Some(image) = image else { continue };
        chart.draw_series(image.indexed_iter().map(|(index, &v)| {
            let (xm, ym) = (x[index[0]], y[index[1]]);
            let color = ViridisRGB::get_color_normalized(v.max(0.0), 0.0, max);
            Rectangle::new([(xm - 0.5 * dx, ym - 0.5 * dy), (xm + 0.5 * dx, ym + 0.5 * dy)], color.filled())
        }))?;
    }

    let mut bar = ChartBuilder::on(&bar_area)
        .margin_top(40)
        .margin_bottom(40)
        .margin_right(15)
        .y_label_area_size(65)
        .caption("rho", title_style(16))
        .build_cartesian_2d(0.0..1.0, 0.0..max)?;
    bar.configure_mesh().disable_mesh().disable_x_axis().label_style(title_style(12)).draw()?;
    let steps = 100;
    bar.draw_series((0..steps).map(|k| {
        let lo = max * k as f64 / steps as f64;
        let hi = max * (k + 1) as f64 / steps as f64;
        Rectangle::new([(0.0, lo), (1.0, hi)], ViridisRGB::get_color_normalized(lo, 0.0, max).filled())
    }))?;
    Ok(())
}

/// One named curve of [`write_free_energy_curves`].
#[derive(Debug, Clone)]
pub struct EnergyCurve {
    /// Legend entry, e.g. the experiment name.
    pub name: String,
    pub times: Vec<f64>,
    pub values: Vec<f64>,
}

/// Draws several free-energy curves F(t), each with its own times, in one
/// figure `DIR/STEM.png` and `DIR/STEM.svg`, for instance the runs of one
/// model from different initial conditions.
///
/// # Errors
/// [`EvalError::Plot`] with the path when a file cannot be drawn or
/// written, or when a curve's times and values differ in length.
pub fn write_free_energy_curves(dir: &Path, stem: &str, title: &str, curves: &[EnergyCurve]) -> Result<Figure> {
    register_font();
    std::fs::create_dir_all(dir).map_err(|e| EvalError::Plot { path: dir.display().to_string(), message: e.to_string() })?;
    if let Some(bad) = curves.iter().find(|c| c.times.len() != c.values.len()) {
        return Err(EvalError::Plot {
            path: dir.join(stem).display().to_string(),
            message: format!("curve '{}' has {} times but {} values", bad.name, bad.times.len(), bad.values.len()),
        });
    }
    render!(dir, stem, (900, 520), |root: &DrawingArea<_, Shift>| draw_energy_curves(root, title, curves));
    Ok(Figure { stem: stem.into(), caption: title.into() })
}

fn draw_energy_curves<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str, curves: &[EnergyCurve]) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let finite = |c: &EnergyCurve| c.values.iter().copied().filter(|v| v.is_finite()).collect::<Vec<_>>();
    let (lo, hi) = range(curves.iter().flat_map(finite));
    let (t_lo, t_hi) = range(curves.iter().flat_map(|c| c.times.iter().copied()));
    let mut chart = ChartBuilder::on(root)
        .caption(title, title_style(22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(85)
        .build_cartesian_2d(t_lo..t_hi, lo..hi)?;
    chart.configure_mesh().x_desc("t").y_desc("F").label_style(title_style(15)).axis_desc_style(title_style(17)).draw()?;
    for (k, curve) in curves.iter().enumerate() {
        let color = term_color(k);
        let points: Vec<(f64, f64)> =
            curve.times.iter().zip(&curve.values).filter(|(_, v)| v.is_finite()).map(|(&t, &v)| (t, v)).collect();
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(curve.name.as_str())
            .legend(move |(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(title_style(15))
        .draw()?;
    Ok(())
}

/// Up to four snapshot times: the first, the last and two in between.
fn overlay_indices(n: usize) -> Vec<usize> {
    let mut indices: Vec<usize> = (0..4).map(|k| k * (n - 1) / 3).collect();
    indices.dedup();
    indices
}

fn draw_snapshots<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, data: &Density, forward: &ForwardCheck) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let x = data.meta.grid.axes[0].points();
    let series = &forward.series;
    let indices = overlay_indices(series.times.len());
    let panels = root.split_evenly((2, 2));
    for (panel, &k) in panels.iter().zip(&indices) {
        let row = |values: &ndarray::ArrayD<f64>, n: usize| -> Vec<f64> { values.index_axis(Axis(0), n).iter().copied().collect() };
        let data_row = series.data_snapshots[k].map(|n| row(&data.values, n));
        let true_row = forward.true_solution.as_ref().map(|s| row(&s.values, k));
        let learned_row = row(&forward.learned_solution.values, k);
        let top = [data_row.as_ref(), true_row.as_ref(), Some(&learned_row)]
            .into_iter()
            .flatten()
            .flatten()
            .copied()
            .fold(0.0, f64::max);

        let mut chart = ChartBuilder::on(panel)
            .caption(format!("t = {:.3}", series.times[k]), title_style(22))
            .margin(10)
            .margin_right(25)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x[0]..x[x.len() - 1], 0.0..(1.08 * top).max(1e-12))?;
        chart
            .configure_mesh()
            .x_desc("x")
            .y_desc("density")
            .label_style(title_style(15))
            .axis_desc_style(title_style(17))
            .draw()?;
        if let Some(values) = &data_row {
            chart
                .draw_series(LineSeries::new(x.iter().copied().zip(values.iter().copied()), DATA_COLOR.stroke_width(3)))?
                .label("data (KDE)")
                .legend(|(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], DATA_COLOR.stroke_width(3)));
        }
        if let Some(values) = &true_row {
            chart
                .draw_series(LineSeries::new(x.iter().copied().zip(values.iter().copied()), TRUE_COLOR.stroke_width(2)))?
                .label("true kernel")
                .legend(|(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], TRUE_COLOR.stroke_width(2)));
        }
        chart
            .draw_series(DashedLineSeries::new(
                x.iter().copied().zip(learned_row.iter().copied()),
                8,
                5,
                LEARNED_COLOR.stroke_width(2),
            ))?
            .label("learned kernel")
            .legend(|(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], LEARNED_COLOR.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(title_style(14))
            .draw()?;
    }
    Ok(())
}

fn draw_kernel<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, plots: &RunPlots) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let samples = 400;
    let r: Vec<f64> = (0..=samples).map(|i| plots.r_max * i as f64 / samples as f64).collect();
    let learned: Vec<f64> = r.iter().map(|&r| plots.learned.phi(r)).collect();
    let truth: Option<Vec<f64>> = plots.truth.map(|k| r.iter().map(|&r| k.phi(r)).collect());
    let (upper, lower) = match plots.truth {
        Some(_) => {
            let (upper, lower) = root.split_vertically(root.dim_in_pixel().1 * 3 / 5);
            (upper, Some(lower))
        }
        None => (root.clone(), None),
    };

    let (lo, hi) = range(learned.iter().chain(truth.iter().flatten()).copied());
    let mut chart = ChartBuilder::on(&upper)
        .caption("interaction kernel phi(r)", title_style(24))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..plots.r_max, lo..hi)?;
    chart
        .configure_mesh()
        .x_desc("r")
        .y_desc("phi(r)")
        .label_style(title_style(15))
        .axis_desc_style(title_style(17))
        .draw()?;
    if let Some(values) = &truth {
        chart
            .draw_series(LineSeries::new(r.iter().copied().zip(values.iter().copied()), TRUE_COLOR.stroke_width(3)))?
            .label("true")
            .legend(|(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], TRUE_COLOR.stroke_width(3)));
    }
    chart
        .draw_series(DashedLineSeries::new(r.iter().copied().zip(learned.iter().copied()), 8, 5, LEARNED_COLOR.stroke_width(2)))?
        .label("learned")
        .legend(|(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], LEARNED_COLOR.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(title_style(15))
        .draw()?;

    let (Some(truth), Some(lower)) = (truth, lower) else {
        return Ok(());
    };
    let error: Vec<f64> = learned.iter().zip(&truth).map(|(l, t)| (l - t).abs()).collect();
    let top = error.iter().copied().fold(0.0, f64::max);
    let mut chart = ChartBuilder::on(&lower)
        .caption("absolute error |phi_learned - phi_true|", title_style(20))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..plots.r_max, 0.0..(1.05 * top).max(1e-12))?;
    chart
        .configure_mesh()
        .x_desc("r")
        .y_desc("absolute error")
        .label_style(title_style(15))
        .axis_desc_style(title_style(17))
        .draw()?;
    chart.draw_series(LineSeries::new(r.iter().copied().zip(error), BLACK.stroke_width(2)))?;
    Ok(())
}

/// Draws time series of optional values as lines with a legend.
fn draw_time_series<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    y_label: &str,
    times: &[f64],
    lines: &[(&str, RGBColor, Vec<Option<f64>>)],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (lo, hi) = range(lines.iter().flat_map(|(_, _, v)| v.iter().flatten().copied()));
    let lo = if lo > 0.0 && y_label.starts_with("W2") { 0.0 } else { lo };
    let t_end = times.last().copied().unwrap_or(1.0);
    let t_start = times.first().copied().unwrap_or(0.0);
    let mut chart = ChartBuilder::on(root)
        .caption(title, title_style(24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(85)
        .build_cartesian_2d(t_start..t_end.max(t_start + 1e-12), lo..hi)?;
    chart
        .configure_mesh()
        .x_desc("t")
        .y_desc(y_label)
        .label_style(title_style(15))
        .axis_desc_style(title_style(17))
        .draw()?;
    for (label, color, values) in lines {
        let points: Vec<(f64, f64)> = times.iter().zip(values).filter_map(|(&t, v)| v.map(|v| (t, v))).collect();
        if points.is_empty() {
            continue;
        }
        let color = *color;
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(*label)
            .legend(move |(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(title_style(15))
        .draw()?;
    Ok(())
}

fn draw_w2<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, forward: &ForwardCheck) -> DrawResult
where
    DB::ErrorType: 'static,
{
    // Two panels: the distance between the two models is often a hundred
    // times smaller than their distance to the data, and would sit on the
    // axis of a shared panel.
    let s = &forward.series;
    let data_series = [
        ("true kernel vs data", TRUE_COLOR, s.w2_true_data.clone()),
        ("learned kernel vs data", RGBColor(44, 160, 44), s.w2_learned_data.clone()),
    ];
    if s.w2_true_learned.iter().all(Option::is_none) {
        // No true kernel: only the distance to the data exists.
        return draw_time_series(root, "W2 between the learned-kernel solution and the data", "W2", &s.times, &data_series);
    }
    let (upper, lower) = root.split_vertically(root.dim_in_pixel().1 / 2);
    draw_time_series(
        &upper,
        "W2 between the true-kernel and learned-kernel solutions",
        "W2",
        &s.times,
        &[("true vs learned kernel", LEARNED_COLOR, s.w2_true_learned.clone())],
    )?;
    draw_time_series(
        &lower,
        "W2 between each solution and the data",
        "W2",
        &s.times,
        &data_series,
    )
}

fn draw_free_energy<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, forward: &ForwardCheck) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let s = &forward.series;
    let functional = if s.reference_is_true { "true kernel and D" } else { "learned kernel and D" };
    draw_time_series(
        root,
        &format!("free energy F[rho] ({functional})"),
        "F",
        &s.times,
        &[
            ("data (KDE)", DATA_COLOR, s.free_energy_data.clone()),
            ("true-kernel solution", TRUE_COLOR, s.free_energy_true.clone()),
            ("learned-kernel solution", LEARNED_COLOR, s.free_energy_learned.iter().map(|&v| Some(v)).collect()),
        ],
    )
}

/// Distinct colours for the terms of the sparsity path (a qualitative palette).
fn term_color(k: usize) -> RGBColor {
    const PALETTE: [RGBColor; 10] = [
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
    PALETTE[k % PALETTE.len()]
}

fn draw_sparsity_path<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, model: &LearnedModel) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let iterations = &model.phase_one.iterations;
    let last = iterations.last().map(|i| i.iteration).unwrap_or(1) as f64;
    let first = iterations.first().map(|i| i.iteration).unwrap_or(0) as f64;
    let (lo, hi) = range(iterations.iter().flat_map(|i| i.normalised_coefficients.iter().copied()).chain([0.0]));
    let mut chart = ChartBuilder::on(root)
        .caption("Phase I sparsity path", title_style(24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(85)
        .build_cartesian_2d((first - 0.2)..(last + 0.2).max(first + 0.8), lo..hi)?;
    chart
        .configure_mesh()
        .x_desc("iteration")
        .y_desc("normalised coefficient")
        .x_labels(iterations.len().clamp(2, 20))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style(title_style(15))
        .axis_desc_style(title_style(17))
        .draw()?;
    for (k, term) in model.terms.iter().enumerate() {
        let points: Vec<(f64, f64)> = iterations
            .iter()
            .filter_map(|i| i.normalised_coefficients.get(k).map(|&c| (i.iteration as f64, c)))
            .collect();
        let color = term_color(k);
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(term.name.clone())
            .legend(move |(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], color.stroke_width(2)));
        chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::MiddleRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(title_style(14))
        .draw()?;
    Ok(())
}

fn draw_residual<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, model: &LearnedModel) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let iterations = &model.phase_one.iterations;
    let points: Vec<(f64, f64)> = iterations.iter().map(|i| (i.iteration as f64, i.relative_residual)).collect();
    let (lo, hi) = range(points.iter().map(|p| p.1));
    let decimals = label_decimals(lo, hi);
    let first = points.first().map(|p| p.0).unwrap_or(0.0);
    let last = points.last().map(|p| p.0).unwrap_or(1.0);
    let mut chart = ChartBuilder::on(root)
        .caption("Phase I relative residual ||b - A c|| / ||b||", title_style(24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(85)
        .build_cartesian_2d((first - 0.2)..(last + 0.2).max(first + 0.8), lo..hi)?;
    chart
        .configure_mesh()
        .x_desc("iteration")
        .y_desc("relative residual")
        .x_labels(iterations.len().clamp(2, 20))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.decimals$}"))
        .label_style(title_style(15))
        .axis_desc_style(title_style(17))
        .draw()?;
    chart.draw_series(LineSeries::new(points.clone(), BLACK.stroke_width(2)))?;
    chart.draw_series(points.into_iter().map(|p| Circle::new(p, 4, BLACK.filled())))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forward::{forward_check, ForwardModel};
    use ips_core::artifact::{DensityMeta, FORMAT_VERSION};
    use ips_core::{Axis as GridAxis, Grid, KernelTerm, Term};
    use ips_meanfield::SolverConfig;
    use ndarray::{Array1, Array2, ArrayD};

    /// Builds a model with two terms and two Phase I iterations, as `model.json` stores it.
    fn model() -> LearnedModel {
        let iteration = |k: usize, c: [f64; 2], residual: f64| {
            serde_json::json!({
                "iteration": k, "batch": [0, 1], "lambda_max": 1.0, "lambda": 0.01,
                "coefficients": c, "normalised_coefficients": c, "threshold": 0.1,
                "mask": [c[0] != 0.0, c[1] != 0.0], "relative_residual": residual,
            })
        };
        serde_json::from_value(serde_json::json!({
            "format_version": 1,
            "tool_version": "test",
            "convention": "force",
            "terms": [
                { "name": "r^1", "coefficient": 0.0, "active": false, "std_error": null },
                { "name": "r^2", "coefficient": 2.9, "active": true, "std_error": 0.01 },
            ],
            "diffusion": { "value": 0.1, "learned": false, "std_error": null },
            "assembly": { "formulation": "strong", "rows": 10, "columns": 2, "time_steps": 2, "dt_obs": 0.01,
                          "normalised_condition_number": 3.0 },
            "phase_one": {
                "mask": [false, true], "coefficients": [0.0, 2.9],
                "iterations": [iteration(1, [0.2, 2.8], 0.31), iteration(2, [0.0, 2.9], 0.30)],
                "stop_reason": "the mask did not change",
            },
            "phase_two": { "coefficients": [0.0, 2.9], "std_errors": [null, 0.01], "residual_norm": 1.0,
                           "relative_residual": 0.3, "condition_number": 1.0 },
            "config": { "dictionary": ["r^1", "r^2"] },
            "seed": 1,
        }))
        .expect("the test model matches the model.json schema")
    }

    fn bump_density(grid: &Grid) -> Density {
        let points: Vec<Vec<f64>> = grid.axes.iter().map(|a| a.points()).collect();
        let shape = grid.shape();
        let snapshot = ArrayD::from_shape_fn(shape.clone(), |index| {
            let r2: f64 = (0..shape.len()).map(|d| (points[d][index[d]] - 0.3).powi(2)).sum();
            (-r2 / 0.18).exp()
        });
        let mut full_shape = vec![1];
        full_shape.extend(&shape);
        Density {
            values: snapshot.broadcast(full_shape).unwrap().to_owned(),
            times: Array1::from(vec![0.0]),
            bandwidth: Array2::zeros((1, grid.dim())),
            mass_outside: Array1::zeros(1),
            meta: DensityMeta {
                format_version: FORMAT_VERSION,
                source: "test".into(),
                grid: grid.clone(),
                n_particles: None,
                diffusion: Some(0.1),
                kernel: None,
                config: serde_json::Value::Null,
                tool_version: "test".into(),
                provenance: None,
            },
        }
    }

    fn stems(figures: &[Figure]) -> Vec<&str> {
        figures.iter().map(|f| f.stem.as_str()).collect()
    }

    /// Writes the figures of a short run on `grid` and checks the files.
    fn write_run_plots(grid: &Grid) -> Vec<Figure> {
        let data = bump_density(grid);
        let model = model();
        let learned = model.kernel().unwrap();
        let truth = Kernel { convention: Default::default(), terms: vec![KernelTerm { term: Term::Power(2), coefficient: 3.0 }] };
        let check = forward_check(
            &data,
            Some(&ForwardModel { kernel: truth.clone(), diffusion: 0.1 }),
            &ForwardModel { kernel: learned.clone(), diffusion: 0.1 },
            &SolverConfig::new(0.1, 0.05),
            &|| {},
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let plots = RunPlots { data: &data, forward: Some(&check), model: &model, learned: &learned, truth: Some(&truth), r_max: 2.0 };
        let figures = write_plots(dir.path(), &plots).unwrap();
        for figure in &figures {
            for extension in ["png", "svg"] {
                let path = dir.path().join(format!("{}.{extension}", figure.stem));
                let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                assert!(size > 1000, "{} is missing or empty", path.display());
            }
        }
        figures
    }

    #[test]
    fn plots_1d_write_every_figure() {
        let grid = Grid::new(vec![GridAxis::new(-2.0, 2.0, 40, "grid").unwrap()]).unwrap();
        let figures = write_run_plots(&grid);
        assert_eq!(
            stems(&figures),
            vec!["density_xt", "snapshots", "kernel", "w2", "free_energy", "sparsity_path", "residual"]
        );
    }

    #[test]
    fn plots_2d_draw_density_images() {
        let axis = GridAxis::new(-2.0, 2.0, 16, "grid").unwrap();
        let grid = Grid::new(vec![axis, axis]).unwrap();
        let figures = write_run_plots(&grid);
        assert_eq!(stems(&figures), vec!["density_images", "kernel", "w2", "free_energy", "sparsity_path", "residual"]);
    }

    #[test]
    fn free_energy_curves_write_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let curves = vec![
            EnergyCurve { name: "two bumps".into(), times: vec![0.0, 0.5, 1.0], values: vec![2.0, 1.0, 0.6] },
            EnergyCurve { name: "ring".into(), times: vec![0.0, 1.0], values: vec![1.5, 0.6] },
        ];
        let figure = write_free_energy_curves(dir.path(), "free_energies", "F(t) of three runs", &curves).unwrap();
        assert_eq!(figure.stem, "free_energies");
        assert!(dir.path().join("free_energies.png").metadata().unwrap().len() > 0);
        assert!(dir.path().join("free_energies.svg").metadata().unwrap().len() > 0);
    }

    #[test]
    fn free_energy_curves_reject_unequal_lengths() {
        let dir = tempfile::tempdir().unwrap();
        let curves = vec![EnergyCurve { name: "ring".into(), times: vec![0.0, 1.0], values: vec![1.5] }];
        let err = write_free_energy_curves(dir.path(), "f", "F", &curves).unwrap_err().to_string();
        assert!(err.contains("'ring' has 2 times but 1 values"), "{err}");
    }

    #[test]
    fn overlay_indices_cover_ends() {
        assert_eq!(overlay_indices(101), vec![0, 33, 66, 100]);
        assert_eq!(overlay_indices(2), vec![0, 1]);
        assert_eq!(overlay_indices(1), vec![0]);
    }

    #[test]
    fn label_decimals_follow_range() {
        assert_eq!(label_decimals(0.8005, 0.8009), 5);
        assert_eq!(label_decimals(0.0, 100.0), 0);
        assert_eq!(label_decimals(0.0, 1.0), 1);
    }

    #[test]
    fn range_widens_flat_values() {
        let (lo, hi) = range([2.0, 2.0].into_iter());
        assert!(lo < 2.0, "{lo}");
        assert!(hi > 2.0, "{hi}");
        assert_eq!(range(std::iter::empty()), (0.0, 1.0));
    }
}
