//! Parameter sweeps of ips experiments.
//!
//! A sweep file (TOML, under `data/sweeps/`) names a base experiment, the
//! axes to vary (experiment keys and their values) and the seeds. This crate
//!
//! - reads and checks it ([`definition`]),
//! - expands it into runs, one `ips run` per point and seed, each with its
//!   own output folder and `--set` overrides ([`points`]),
//! - reads each run's `metrics.json` into `summary.csv` and `summary.md`
//!   ([`summary`]) and draws W2 against each axis ([`plots`]).
//!
//! It runs nothing itself: a workflow engine (`scripts/sweep/Snakefile`)
//! schedules the runs from the JSON of `ips sweep points`, locally or on a
//! cluster, and `ips sweep collect` summarises them.
//!
//! ```
//! use std::path::Path;
//! use ips_sweep::{definition::Sweep, points::expand};
//!
//! let text = r#"
//!     name = "example"
//!     experiment = "cubic.toml"
//!     seeds = [1, 2]
//!     [[axes]]
//!     name = "n_particles"
//!     key = "simulation.n_particles"
//!     values = [1000, 2000]
//! "#;
//! let sweep = Sweep::from_toml(text, Path::new("data/sweeps/example.toml")).unwrap();
//! // The base experiment has n_particles = 2000: the base point and one more.
//! let runs = expand(&sweep, &[Some(2000.0)]).unwrap();
//! assert_eq!(runs.len(), 4);
//! assert_eq!(runs[2].dir, "points/n_particles-1000/seed-1");
//! ```

pub mod definition;
pub mod error;
pub mod key;
pub mod plots;
pub mod points;
pub mod summary;

pub use error::{Result, SweepError};
