//! The summary of a sweep: one row per run from its `metrics.json`, written
//! as `summary.csv`, and the W2 lines along each axis as `summary.md`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use ips_core::npy::{read_json, write_atomic};
use ips_eval::run_report::Metrics;

use crate::definition::{Design, Sweep};
use crate::error::{Result, SweepError};
use crate::points::{Run, BASE_POINT};

/// The headline numbers of one run.
#[derive(Debug, Clone)]
pub struct Row {
    pub point: String,
    pub seed: u64,
    /// Value of every axis, in the order of the sweep's axes.
    pub values: Vec<f64>,
    pub metrics: Metrics,
}

/// Reads `metrics.json` of every run under `out`.
///
/// # Errors
/// [`SweepError::Run`] naming the first run without `metrics.json` and how
/// many are missing, or the first one whose file does not decode.
pub fn collect(runs: &[Run], out: &Path) -> Result<Vec<Row>> {
    let missing: Vec<&Run> = runs.iter().filter(|r| !out.join(&r.dir).join("metrics.json").exists()).collect();
    if let Some(first) = missing.first() {
        return Err(SweepError::Run {
            run: first.dir.clone(),
            message: format!(
                "{} of {} runs have no metrics.json under '{}'; run the sweep's workflow first (scripts/sweep/Snakefile)",
                missing.len(),
                runs.len(),
                out.display()
            ),
        });
    }
    let mut rows = Vec::with_capacity(runs.len());
    for run in runs {
        let path = out.join(&run.dir).join("metrics.json");
        let metrics: Metrics =
            read_json(&path).map_err(|e| SweepError::Run { run: run.dir.clone(), message: e.to_string() })?;
        if metrics.w2_max.is_none() {
            tracing::warn!(run = %run.dir, "metrics.json has no w2_max: the run had no forward check or no true kernel");
        }
        rows.push(Row { point: run.point.clone(), seed: run.seed, values: run.values.clone(), metrics });
    }
    Ok(rows)
}

/// Quotes a CSV field when it contains a comma, quote or line break (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn optional<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// Formats the CSV text: `point`, `seed`, one column per axis, the W2 and kernel
/// errors, `support_recovered` and `coef[TERM]` per dictionary term. A
/// number that a run does not have is an empty field.
pub fn csv(sweep: &Sweep, rows: &[Row]) -> String {
    let terms: BTreeSet<&String> = rows.iter().flat_map(|r| r.metrics.coefficients.keys()).collect();
    let mut header: Vec<String> = vec!["point".into(), "seed".into()];
    header.extend(sweep.axes.iter().map(|a| a.name.clone()));
    header.extend(
        ["w2_max", "w2_final", "w2_learned_data_max", "kernel_rel_l2_error", "kernel_max_abs_error", "support_recovered"]
            .map(String::from),
    );
    header.extend(terms.iter().map(|t| format!("coef[{t}]")));

    let mut text = String::new();
    let line = |fields: Vec<String>| fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",") + "\n";
    text.push_str(&line(header));
    for row in rows {
        let m = &row.metrics;
        let mut fields = vec![row.point.clone(), row.seed.to_string()];
        fields.extend(row.values.iter().map(f64::to_string));
        fields.extend([
            optional(m.w2_max),
            optional(m.w2_final),
            optional(m.w2_learned_data_max),
            optional(m.kernel_rel_l2_error),
            optional(m.kernel_max_abs_error),
            optional(m.support_recovered),
        ]);
        fields.extend(terms.iter().map(|t| optional(m.coefficients.get(*t).map(|c| c.learned))));
        text.push_str(&line(fields));
    }
    text
}

/// Writes [`csv`] to `path`, atomically.
///
/// # Errors
/// [`SweepError::Core`] when the file cannot be written.
pub fn write_csv(path: &Path, sweep: &Sweep, rows: &[Row]) -> Result<()> {
    let text = csv(sweep, rows);
    write_atomic(path, |w| std::io::Write::write_all(w, text.as_bytes()))?;
    Ok(())
}

/// The W2 values of one axis value: `w2_max` of each seed's run.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePoint {
    pub x: f64,
    /// `w2_max` of each run at this point that has one.
    pub w2: Vec<f64>,
}

impl LinePoint {
    /// Median of [`LinePoint::w2`], `None` when it is empty.
    pub fn median(&self) -> Option<f64> {
        median(&self.w2)
    }
}

/// Points along one axis with every other axis fixed.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The fixed values of the other axes, as `name=value` pairs.
    pub others: String,
    /// Sorted by `x`.
    pub points: Vec<LinePoint>,
}

/// Computes the median of `values` (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some(0.5 * (sorted[n / 2 - 1] + sorted[n / 2])),
    }
}

/// Groups the W2 values along axis `axis` into lines: rows are grouped by the values of the
/// other axes. A one-at-a-time sweep has one line, through the base point;
/// a product has one per combination of the other axes.
pub fn lines(sweep: &Sweep, rows: &[Row], axis: usize) -> Vec<Line> {
    let others = |row: &Row| -> Vec<u64> {
        row.values.iter().enumerate().filter(|(k, _)| *k != axis).map(|(_, v)| v.to_bits()).collect()
    };
    let base_others = rows.iter().find(|r| r.point == BASE_POINT).map(others);

    let mut groups: Vec<(Vec<u64>, Vec<&Row>)> = Vec::new();
    for row in rows {
        let key = others(row);
        if sweep.design == Design::OneAtATime && base_others.as_ref() != Some(&key) {
            continue;
        }
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(row),
            None => groups.push((key, vec![row])),
        }
    }

    groups
        .into_iter()
        .map(|(_, members)| {
            let mut points: Vec<LinePoint> = Vec::new();
            for row in &members {
                let x = row.values[axis];
                let index = match points.iter().position(|p| p.x == x) {
                    Some(index) => index,
                    None => {
                        points.push(LinePoint { x, w2: Vec::new() });
                        points.len() - 1
                    }
                };
                if let Some(w2) = row.metrics.w2_max.filter(|w| w.is_finite()) {
                    points[index].w2.push(w2);
                }
            }
            points.sort_by(|a, b| a.x.total_cmp(&b.x));
            let first = members[0];
            let others = sweep
                .axes
                .iter()
                .enumerate()
                .filter(|(k, _)| *k != axis)
                .map(|(k, a)| format!("{}={}", a.name, first.values[k]))
                .collect::<Vec<_>>()
                .join(", ");
            Line { others, points }
        })
        .collect()
}

/// `summary.md`: per axis, a table of `w2_max` over the seeds at each value.
pub fn markdown(sweep: &Sweep, rows: &[Row]) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "# Sweep {}\n", sweep.name);
    if !sweep.description.is_empty() {
        let _ = writeln!(text, "{}\n", sweep.description);
    }
    let _ = writeln!(
        text,
        "W2 is `w2_max`: the largest W2 over time between the mean-field solutions with the true and the learned kernel. \
         {} runs, seeds {:?}.\n",
        rows.len(),
        sweep.seeds
    );
    for (index, axis) in sweep.axes.iter().enumerate() {
        for line in lines(sweep, rows, index) {
            let _ = writeln!(text, "## {}\n", axis.label);
            let keys: Vec<String> = axis.keys.iter().map(|k| format!("`{k}`")).collect();
            let _ = write!(text, "Keys: {}.", keys.join(", "));
            if !line.others.is_empty() {
                let _ = write!(text, " Other axes: {}.", line.others);
            }
            let _ = writeln!(text, "\n");
            let _ = writeln!(text, "| {} | runs | median W2 | min W2 | max W2 |", axis.name);
            let _ = writeln!(text, "|---|---|---|---|---|");
            for point in &line.points {
                let low = point.w2.iter().copied().reduce(f64::min);
                let high = point.w2.iter().copied().reduce(f64::max);
                let cell = |v: Option<f64>| v.map(|v| format!("{v:.3e}")).unwrap_or_else(|| "-".into());
                let _ = writeln!(
                    text,
                    "| {} | {} | {} | {} | {} |",
                    point.x,
                    point.w2.len(),
                    cell(point.median()),
                    cell(low),
                    cell(high)
                );
            }
            let _ = writeln!(text);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::points::expand;

    fn sweep(design: &str) -> Sweep {
        let text = format!(
            r#"
            name = "test"
            experiment = "base.toml"
            design = "{design}"
            seeds = [1, 2, 3]
            [[axes]]
            name = "n"
            key = "simulation.n_particles"
            values = [100, 200]
            [[axes]]
            name = "d"
            key = "model.diffusion"
            values = [0.1, 0.2]
            "#
        );
        Sweep::from_toml(&text, Path::new("sweep.toml")).unwrap()
    }

    fn metrics(w2: Option<f64>) -> Metrics {
        serde_json::from_value(serde_json::json!({
            "w2_max": w2, "w2_final": w2, "w2_learned_data_max": 0.01,
            "kernel_rel_l2_error": 0.002, "kernel_max_abs_error": 0.05,
            "free_energy_final_true": null, "free_energy_final_learned": null,
            "free_energy_final_data": null, "free_energy_functional": null,
            "coefficients": { "1[0,1)": { "learned": 0.5, "true": null }, "r^2": { "learned": 3.01, "true": 3.0 } },
            "diffusion_learned": 0.1, "diffusion_true": 0.1, "support_recovered": true,
        }))
        .unwrap()
    }

    /// Rows of a sweep whose W2 is `w2(values, seed)`.
    fn rows(sweep: &Sweep, base: &[Option<f64>], w2: impl Fn(&[f64], u64) -> Option<f64>) -> Vec<Row> {
        expand(sweep, base)
            .unwrap()
            .into_iter()
            .map(|run| Row { metrics: metrics(w2(&run.values, run.seed)), point: run.point, seed: run.seed, values: run.values })
            .collect()
    }

    #[test]
    fn csv_rows_and_quoted_terms() {
        let sweep = sweep("one-at-a-time");
        let rows = rows(&sweep, &[Some(200.0), Some(0.1)], |_, _| Some(1e-3));
        let text = csv(&sweep, &rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 3 * 3);
        assert_eq!(
            lines[0],
            "point,seed,n,d,w2_max,w2_final,w2_learned_data_max,kernel_rel_l2_error,kernel_max_abs_error,\
             support_recovered,\"coef[1[0,1)]\",coef[r^2]"
        );
        assert_eq!(lines[1], "base,1,200,0.1,0.001,0.001,0.01,0.002,0.05,true,0.5,3.01");
    }

    #[test]
    fn csv_leaves_missing_w2_empty() {
        let sweep = sweep("one-at-a-time");
        let rows = rows(&sweep, &[Some(200.0), Some(0.1)], |_, _| None);
        let text = csv(&sweep, &rows);
        assert!(text.lines().nth(1).unwrap().starts_with("base,1,200,0.1,,,0.01"), "{text}");
    }

    #[test]
    fn one_at_a_time_line_passes_through_base() {
        let sweep = sweep("one-at-a-time");
        let rows = rows(&sweep, &[Some(200.0), Some(0.1)], |v, seed| Some(v[0] + seed as f64));
        let lines = lines(&sweep, &rows, 0);
        assert_eq!(lines.len(), 1);
        let points = &lines[0].points;
        assert_eq!(points.iter().map(|p| p.x).collect::<Vec<_>>(), vec![100.0, 200.0]);
        assert_eq!(points[0].w2, vec![101.0, 102.0, 103.0]);
        assert_eq!(points[1].median(), Some(202.0));
        assert_eq!(lines[0].others, "d=0.1");
    }

    #[test]
    fn product_has_a_line_per_other_value() {
        let sweep = sweep("product");
        let rows = rows(&sweep, &[None, None], |v, _| Some(v[1]));
        let lines = lines(&sweep, &rows, 0);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].others, "d=0.1");
        assert_eq!(lines[1].others, "d=0.2");
        assert!(lines.iter().all(|l| l.points.len() == 2));
    }

    #[test]
    fn median_of_even_count_averages() {
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn collect_names_missing_runs() {
        let sweep = sweep("one-at-a-time");
        let runs = expand(&sweep, &[Some(200.0), Some(0.1)]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let err = collect(&runs, dir.path()).unwrap_err().to_string();
        assert!(err.contains("points/base/seed-1"), "{err}");
        assert!(err.contains("9 of 9 runs"), "{err}");
    }

    #[test]
    fn collect_reads_metrics() {
        let sweep = sweep("one-at-a-time");
        let runs = expand(&sweep, &[Some(200.0), Some(0.1)]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (k, run) in runs.iter().enumerate() {
            let path = dir.path().join(&run.dir).join("metrics.json");
            ips_core::npy::write_json(&path, &metrics(Some(k as f64))).unwrap();
        }
        let rows = collect(&runs, dir.path()).unwrap();
        assert_eq!(rows.len(), runs.len());
        assert_eq!(rows[4].metrics.w2_max, Some(4.0));
        assert_eq!(rows[4].values, runs[4].values);
    }

    #[test]
    fn markdown_lists_each_axis() {
        let sweep = sweep("one-at-a-time");
        let rows = rows(&sweep, &[Some(200.0), Some(0.1)], |_, _| Some(0.5));
        let text = markdown(&sweep, &rows);
        assert!(text.contains("| 100 | 3 | 5.000e-1 | 5.000e-1 | 5.000e-1 |"), "{text}");
        assert!(text.contains("## d\n\nKeys: `model.diffusion`. Other axes: n=200."), "{text}");
    }
}
