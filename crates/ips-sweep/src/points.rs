//! Expansion of a sweep into runs: one `ips run` per point and seed.
//!
//! A point is one assignment of the axes' values. Its id names its folder:
//! `base` for the base experiment, `AXIS-VALUE` for a one-at-a-time point,
//! `A-1_B-0.5` for a point of a product. A run is a point with one seed, in
//! the folder `points/ID/seed-SEED` of the sweep's output directory.

use serde::Serialize;

use crate::definition::{number, Design, Sweep};
use crate::error::{Result, SweepError};
use crate::key::lookup;

/// Id of the point that changes nothing in the base experiment.
pub const BASE_POINT: &str = "base";

/// One `ips run` of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    /// Id of the point; runs of the same point differ only in the seed.
    pub point: String,
    pub seed: u64,
    /// Output folder relative to the sweep's output directory.
    pub dir: String,
    /// The `--set KEY=VALUE` overrides of this run, in order: the sweep's
    /// `set`, the point's axis values, then `seed`.
    pub set: Vec<String>,
    /// The value of every axis in this run, in the order of the sweep's axes.
    pub values: Vec<f64>,
}

/// Reads the value of each axis in the base experiment, `None` where the
/// experiment does not set its keys. `resolved` is the base experiment with
/// the sweep's `set` applied and its defaults filled in.
///
/// # Errors
/// [`SweepError::Base`] when an axis's keys hold different values, or a
/// value that is not a number.
pub fn base_values(sweep: &Sweep, resolved: &toml::Table) -> Result<Vec<Option<f64>>> {
    let mut values = Vec::with_capacity(sweep.axes.len());
    for axis in &sweep.axes {
        let mut found: Option<(f64, &str)> = None;
        for key in &axis.keys {
            let Some(value) = lookup(resolved, key) else { continue };
            let Some(x) = number(value) else {
                return Err(SweepError::Base(format!("{key} = {value} is not a number, so axis '{}' cannot sweep it", axis.name)));
            };
            match found {
                Some((first, first_key)) if first != x => {
                    return Err(SweepError::Base(format!(
                        "axis '{}' sets {first_key} and {key} to one value, but the experiment has {first} and {x}",
                        axis.name
                    )));
                }
                _ => found = Some((x, key.as_str())),
            }
        }
        values.push(found.map(|(x, _)| x));
    }
    Ok(values)
}

/// Expands `sweep` into runs: every point with every seed, points in the order of
/// the axes and their values, the base point first in a one-at-a-time sweep.
/// `base` comes from [`base_values`].
///
/// # Errors
/// [`SweepError::Base`] when a one-at-a-time sweep has an axis whose value
/// in the base experiment is unknown, because every other point of that
/// sweep keeps it.
pub fn expand(sweep: &Sweep, base: &[Option<f64>]) -> Result<Vec<Run>> {
    let points = match sweep.design {
        Design::OneAtATime => one_at_a_time(sweep, base)?,
        Design::Product => product(sweep),
    };
    let mut runs = Vec::with_capacity(points.len() * sweep.seeds.len());
    for point in points {
        for &seed in &sweep.seeds {
            let mut set = sweep.set.clone();
            set.extend(point.set.iter().cloned());
            set.push(format!("seed={seed}"));
            runs.push(Run {
                dir: format!("points/{}/seed-{seed}", point.id),
                point: point.id.clone(),
                seed,
                set,
                values: point.values.clone(),
            });
        }
    }
    Ok(runs)
}

struct Point {
    id: String,
    set: Vec<String>,
    values: Vec<f64>,
}

/// `AXIS-VALUE`, the value as a number without exponent (`0.05`, `1000`).
fn coordinate(axis: &str, value: &toml::Value) -> String {
    match value {
        toml::Value::Integer(i) => format!("{axis}-{i}"),
        other => format!("{axis}-{}", number(other).unwrap_or(f64::NAN)),
    }
}

fn assignments<'a>(keys: &'a [String], value: &toml::Value) -> impl Iterator<Item = String> + 'a {
    let value = value.to_string();
    keys.iter().map(move |key| format!("{key}={value}"))
}

fn one_at_a_time(sweep: &Sweep, base: &[Option<f64>]) -> Result<Vec<Point>> {
    let mut known = Vec::with_capacity(base.len());
    for (axis, value) in sweep.axes.iter().zip(base) {
        let Some(value) = value else {
            return Err(SweepError::Base(format!(
                "{} is not set, and a one-at-a-time sweep keeps it at the base value on the other axes; \
                 set it in the experiment file or in the sweep's set list",
                axis.keys[0]
            )));
        };
        known.push(*value);
    }

    let mut points = vec![Point { id: BASE_POINT.to_string(), set: Vec::new(), values: known.clone() }];
    for (index, axis) in sweep.axes.iter().enumerate() {
        for (value, x) in axis.values.iter().zip(axis.numbers()) {
            // The base value on this axis is the base point, which every axis shares.
            if x == known[index] {
                continue;
            }
            let mut values = known.clone();
            values[index] = x;
            points.push(Point {
                id: coordinate(&axis.name, value),
                set: assignments(&axis.keys, value).collect(),
                values,
            });
        }
    }
    Ok(points)
}

fn product(sweep: &Sweep) -> Vec<Point> {
    let mut points = vec![Point { id: String::new(), set: Vec::new(), values: Vec::new() }];
    for axis in &sweep.axes {
        let mut next = Vec::with_capacity(points.len() * axis.values.len());
        for point in &points {
            for (value, x) in axis.values.iter().zip(axis.numbers()) {
                let coordinate = coordinate(&axis.name, value);
                let id = if point.id.is_empty() { coordinate } else { format!("{}_{coordinate}", point.id) };
                let mut set = point.set.clone();
                set.extend(assignments(&axis.keys, value));
                let mut values = point.values.clone();
                values.push(x);
                next.push(Point { id, set, values });
            }
        }
        points = next;
    }
    points
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn sweep(design: &str) -> Sweep {
        let text = format!(
            r#"
            name = "test"
            experiment = "base.toml"
            design = "{design}"
            seeds = [7, 8]
            set = ["learn.sparsity=0.2"]

            [[axes]]
            name = "n"
            key = "simulation.n_particles"
            values = [100, 200]

            [[axes]]
            name = "sd"
            keys = ["initial.components.0.sd", "initial.components.1.sd"]
            values = [0.1, 0.3]
            "#
        );
        Sweep::from_toml(&text, Path::new("sweep.toml")).unwrap()
    }

    fn base_table() -> toml::Table {
        toml::from_str(
            r#"
            [simulation]
            n_particles = 200
            [initial]
            components = [{ sd = 0.3 }, { sd = 0.3 }]
            "#,
        )
        .unwrap()
    }

    #[test]
    fn base_values_read_every_axis() {
        let sweep = sweep("one-at-a-time");
        assert_eq!(base_values(&sweep, &base_table()).unwrap(), vec![Some(200.0), Some(0.3)]);
    }

    #[test]
    fn base_values_reject_unequal_keys() {
        let sweep = sweep("one-at-a-time");
        let mut table = base_table();
        table["initial"]["components"][1]["sd"] = toml::Value::Float(0.4);
        let err = base_values(&sweep, &table).unwrap_err().to_string();
        assert!(err.contains("initial.components.0.sd and initial.components.1.sd"), "{err}");
    }

    #[test]
    fn one_at_a_time_shares_the_base_point() {
        let sweep = sweep("one-at-a-time");
        let runs = expand(&sweep, &[Some(200.0), Some(0.3)]).unwrap();
        let points: Vec<&str> = runs.iter().step_by(2).map(|r| r.point.as_str()).collect();
        assert_eq!(points, vec!["base", "n-100", "sd-0.1"]);
        assert_eq!(runs.len(), 6);
    }

    #[test]
    fn one_at_a_time_keeps_base_elsewhere() {
        let sweep = sweep("one-at-a-time");
        let runs = expand(&sweep, &[Some(200.0), Some(0.3)]).unwrap();
        let sd_run = runs.iter().find(|r| r.point == "sd-0.1" && r.seed == 8).unwrap();
        assert_eq!(sd_run.values, vec![200.0, 0.1]);
        assert_eq!(sd_run.dir, "points/sd-0.1/seed-8");
        assert_eq!(
            sd_run.set,
            vec!["learn.sparsity=0.2", "initial.components.0.sd=0.1", "initial.components.1.sd=0.1", "seed=8"]
        );
        let base_run = &runs[0];
        assert_eq!(base_run.set, vec!["learn.sparsity=0.2", "seed=7"]);
        assert_eq!(base_run.values, vec![200.0, 0.3]);
    }

    #[test]
    fn one_at_a_time_needs_base_values() {
        let sweep = sweep("one-at-a-time");
        let err = expand(&sweep, &[None, Some(0.3)]).unwrap_err().to_string();
        assert!(err.contains("simulation.n_particles is not set"), "{err}");
    }

    #[test]
    fn product_covers_every_combination() {
        let sweep = sweep("product");
        let runs = expand(&sweep, &[None, None]).unwrap();
        let points: Vec<&str> = runs.iter().step_by(2).map(|r| r.point.as_str()).collect();
        assert_eq!(points, vec!["n-100_sd-0.1", "n-100_sd-0.3", "n-200_sd-0.1", "n-200_sd-0.3"]);
        assert_eq!(runs[2].values, vec![100.0, 0.3]);
        assert_eq!(runs[2].set[1], "simulation.n_particles=100");
    }

    #[test]
    fn float_coordinates_have_no_exponent() {
        assert_eq!(coordinate("d", &toml::Value::Float(0.01)), "d-0.01");
        assert_eq!(coordinate("n", &toml::Value::Float(50000.0)), "n-50000");
        assert_eq!(coordinate("n", &toml::Value::Integer(1000)), "n-1000");
    }
}
