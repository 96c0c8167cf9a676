//! Particle positions from CSV files in long format: one row per particle
//! and frame, with a time column, an optional particle id column and one or
//! two coordinate columns.
//!
//! Exports of tracking software are accepted as they are:
//!
//! - a UTF-8 byte-order mark, lines before the header (titles, `#`
//!   comments), and rows right after the header whose selected cells are
//!   not numbers (TrackMate writes three such rows of names and units);
//! - comma, semicolon or tab delimiters, taken from the header line; with
//!   semicolons or tabs a decimal comma (`1,5`) is read as `1.5`;
//! - any other columns, such as the unnamed index column of pandas;
//! - rows in any order, particles that appear and disappear, and frames
//!   with different particle counts.
//!
//! Rows with the same time value form a frame. Frames are returned in
//! increasing time, each with its rows in file order.

use std::collections::HashMap;
use std::path::Path;

use ndarray::Array2;

use crate::{CoreError, Result};

/// Header names tried, in order and ignoring case, when a column is not named.
const TIME_NAMES: [&str; 5] = ["time", "t", "position_t", "frame", "frame_number"];
const PARTICLE_NAMES: [&str; 6] = ["particle", "track_id", "particle_id", "track", "trajectory", "id"];
const X_NAMES: [&str; 3] = ["x", "position_x", "pos_x"];
const Y_NAMES: [&str; 3] = ["y", "position_y", "pos_y"];

/// Returns whether `path` names a CSV file, by its extension (`.csv`, `.tsv` or `.txt`).
pub fn is_csv_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["csv", "tsv", "txt"].iter().any(|c| e.eq_ignore_ascii_case(c)))
}

/// Header names of the columns to read; `None` tries the usual names
/// listed in the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvColumns {
    pub time: Option<String>,
    pub particle: Option<String>,
    pub x: Option<String>,
    pub y: Option<String>,
}

impl CsvColumns {
    /// Parses `time=NAME,particle=NAME,x=NAME,y=NAME` (any subset, any order).
    ///
    /// # Errors
    /// [`CoreError::InvalidValue`] for an unknown role or an entry without `=`.
    pub fn parse(text: &str) -> Result<Self> {
        let mut columns = CsvColumns::default();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((role, name)) = entry.split_once('=') else {
                return Err(CoreError::invalid("--columns", entry, "write ROLE=NAME, for example time=t,particle=track,x=x"));
            };
            let slot = match role.trim() {
                "time" => &mut columns.time,
                "particle" => &mut columns.particle,
                "x" => &mut columns.x,
                "y" => &mut columns.y,
                other => {
                    return Err(CoreError::invalid(
                        "--columns",
                        other,
                        "the roles are time, particle, x and y",
                    ))
                }
            };
            *slot = Some(name.trim().to_string());
        }
        Ok(columns)
    }
}

/// Positions grouped into frames, with a particle count that may vary.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticleFrames {
    /// Distinct values of the time column, increasing.
    pub times: Vec<f64>,
    /// Positions of frame `n`, `[N_n, d]`.
    pub frames: Vec<Array2<f64>>,
    /// Number of distinct particle ids, when the file has a particle column.
    pub n_particle_ids: Option<usize>,
}

impl ParticleFrames {
    /// Spatial dimension.
    pub fn dim(&self) -> usize {
        self.frames.first().map_or(0, Array2::ncols)
    }
}

/// Reads a long-format CSV file. `dim` is the dimension the experiment
/// expects; `None` takes 2D when a y column is found and 1D otherwise.
///
/// # Errors
/// [`CoreError::Io`] when the file cannot be read. [`CoreError::InvalidValue`]
/// naming the file, line and column for a missing column, a cell that is
/// not a number, a non-finite value, a particle listed twice in one frame,
/// or fewer than two frames.
pub fn read_long_csv(path: &Path, columns: &CsvColumns, dim: Option<usize>) -> Result<ParticleFrames> {
    let bytes = std::fs::read(path).map_err(|source| CoreError::Io {
        action: "reading",
        path: path.to_path_buf(),
        source,
    })?;
    parse_long_csv(&bytes, &path.display().to_string(), columns, dim)
}

/// One row of data: its line, time, particle id and coordinates.
struct Row {
    line: u64,
    time: f64,
    particle: Option<String>,
    position: [f64; 2],
}

/// Parses long-format CSV text; `source` names it in errors.
///
/// # Errors
/// As [`read_long_csv`].
pub fn parse_long_csv(bytes: &[u8], source: &str, columns: &CsvColumns, dim: Option<usize>) -> Result<ParticleFrames> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let header_index = find_header(text, columns, source)?;
    let header_line = text.lines().nth(header_index).unwrap_or_default();
    let delimiter = delimiter_of(header_line);
    let decimal_comma = delimiter != b',';

    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let mut header = None;
    // The csv reader skips blank lines, so the header is found by its line number.
    let header_line_number = header_index as u64 + 1;
    for record in records.by_ref() {
        let record = record.map_err(|e| csv_error(source, &e))?;
        if record.position().is_some_and(|p| p.line() >= header_line_number) {
            header = Some(record);
            break;
        }
    }
    let header = header.ok_or_else(|| CoreError::invalid(format!("header of {source}"), "missing", "the file has no header line"))?;
    let names: Vec<String> = header.iter().map(|n| n.trim().to_string()).collect();
    let layout = Layout::select(&names, columns, dim, source)?;

    let mut rows = Vec::new();
    for record in records {
        let record = record.map_err(|e| csv_error(source, &e))?;
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        match layout.row(&record, line, decimal_comma, source) {
            Ok(row) => rows.push(row),
            // Rows of names or units between the header and the first data row.
            Err(_) if rows.is_empty() => continue,
            Err(e) => return Err(e),
        }
    }
    group_frames(rows, &layout, source)
}

/// Index of the header line: the first line that names the time column.
fn find_header(text: &str, columns: &CsvColumns, source: &str) -> Result<usize> {
    let expected_names: Vec<String> = match &columns.time {
        Some(name) => vec![name.to_lowercase()],
        None => TIME_NAMES.iter().map(|n| n.to_string()).collect(),
    };
    for (index, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let delimiter = delimiter_of(line) as char;
        let cells = line.split(delimiter).map(|c| c.trim().trim_matches('"').to_lowercase());
        if cells.into_iter().any(|c| expected_names.contains(&c)) {
            return Ok(index);
        }
    }
    let expected = expected_names.join("', '");
    Err(CoreError::invalid(
        format!("header of {source}"),
        "no time column",
        format!("no line names a time column ('{expected}'); name it with --columns time=NAME"),
    ))
}

/// The most frequent of `,`, `;` and tab in the header line.
fn delimiter_of(line: &str) -> u8 {
    let count = |d: char| line.matches(d).count();
    [b',', b';', b'\t'].into_iter().max_by_key(|&d| count(d as char)).unwrap_or(b',')
}

fn csv_error(source: &str, error: &csv::Error) -> CoreError {
    let line = error.position().map_or(0, |p| p.line());
    CoreError::invalid(format!("line {line} of {source}"), "unreadable", format!("it is not valid CSV: {error}"))
}

/// Column indices of the selected roles.
struct Layout {
    time: (usize, String),
    particle: Option<(usize, String)>,
    axes: Vec<(usize, String)>,
}

impl Layout {
    fn select(names: &[String], columns: &CsvColumns, dim: Option<usize>, source: &str) -> Result<Self> {
        let find = |given: &Option<String>, candidates: &[&str]| -> Option<(usize, String)> {
            let expected_names: Vec<String> = match given {
                Some(name) => vec![name.to_lowercase()],
                None => candidates.iter().map(|c| c.to_string()).collect(),
            };
            expected_names.iter().find_map(|w| names.iter().position(|n| n.to_lowercase() == *w).map(|i| (i, names[i].clone())))
        };
        let missing = |role: &str, given: &Option<String>, candidates: &[&str]| {
            let tried = match given {
                Some(name) => format!("'{name}'"),
                None => format!("any of '{}'", candidates.join("', '")),
            };
            CoreError::invalid(
                format!("{role} column of {source}"),
                "missing",
                format!("the header ({}) has no column {tried}; name it with --columns {role}=NAME", names.join(", ")),
            )
        };
        let time = find(&columns.time, &TIME_NAMES).ok_or_else(|| missing("time", &columns.time, &TIME_NAMES))?;
        let particle = find(&columns.particle, &PARTICLE_NAMES);
        if particle.is_none() && columns.particle.is_some() {
            return Err(missing("particle", &columns.particle, &PARTICLE_NAMES));
        }
        let x = find(&columns.x, &X_NAMES).ok_or_else(|| missing("x", &columns.x, &X_NAMES))?;
        let y = find(&columns.y, &Y_NAMES);
        let axes = match (dim, y) {
            (Some(1), _) => vec![x],
            (Some(2), Some(y)) | (None, Some(y)) => vec![x, y],
            (Some(2), None) => return Err(missing("y", &columns.y, &Y_NAMES)),
            (None, None) => vec![x],
            (Some(d), _) => {
                return Err(CoreError::invalid("dimension", d, "positions must be 1D or 2D"));
            }
        };
        Ok(Layout { time, particle, axes })
    }

    fn row(&self, record: &csv::StringRecord, line: u64, decimal_comma: bool, source: &str) -> Result<Row> {
        let number = |(index, name): &(usize, String)| -> Result<f64> {
            let cell = record.get(*index).unwrap_or("").trim();
            let value = if decimal_comma { cell.replace(',', ".") } else { cell.to_string() };
            value.parse::<f64>().map_err(|_| {
                CoreError::invalid(
                    format!("column '{name}' on line {line} of {source}"),
                    format!("'{cell}'"),
                    "expected a number; fix or remove the row",
                )
            })
        };
        let time = number(&self.time)?;
        let mut position = [0.0; 2];
        for (axis, column) in self.axes.iter().enumerate() {
            position[axis] = number(column)?;
        }
        let particle = self.particle.as_ref().map(|(index, _)| record.get(*index).unwrap_or("").trim().to_string());
        Ok(Row { line, time, particle, position })
    }
}

/// Sorts rows into frames by time and checks values and ids.
fn group_frames(mut rows: Vec<Row>, layout: &Layout, source: &str) -> Result<ParticleFrames> {
    if rows.is_empty() {
        return Err(CoreError::invalid(
            format!("rows of {source}"),
            0,
            "the file has a header line but no data rows; check that the export wrote the tracks",
        ));
    }
    for row in &rows {
        if !row.time.is_finite() {
            return Err(CoreError::invalid(
                format!("column '{}' on line {} of {source}", layout.time.1, row.line),
                row.time,
                "times must be finite",
            ));
        }
        for (axis, (_, name)) in layout.axes.iter().enumerate() {
            if !row.position[axis].is_finite() {
                let particle = row.particle.as_deref().map(|p| format!(", particle {p}")).unwrap_or_default();
                return Err(CoreError::invalid(
                    format!("column '{name}' on line {} of {source} (time {}{particle})", row.line, row.time),
                    row.position[axis],
                    "positions must be finite; remove the row or interpolate the missing value",
                ));
            }
        }
    }
    rows.sort_by(|a, b| a.time.total_cmp(&b.time));

    let dim = layout.axes.len();
    let mut times = Vec::new();
    let mut frames = Vec::new();
    let mut all_ids = std::collections::HashSet::new();
    let mut start = 0;
    while start < rows.len() {
        let time = rows[start].time;
        let end = start + rows[start..].iter().take_while(|r| r.time == time).count();
        let frame = &rows[start..end];
        let mut seen: HashMap<&str, u64> = HashMap::new();
        for row in frame {
            let Some(id) = row.particle.as_deref() else { continue };
            if let Some(first) = seen.insert(id, row.line) {
                return Err(CoreError::invalid(
                    format!("particle {id} at time {time} in {source}"),
                    format!("lines {first} and {}", row.line),
                    "each particle may appear once per frame; remove the duplicate row",
                ));
            }
            all_ids.insert(id.to_string());
        }
        let positions = Array2::from_shape_fn((frame.len(), dim), |(i, a)| frame[i].position[a]);
        times.push(time);
        frames.push(positions);
        start = end;
    }
    if frames.len() < 2 {
        return Err(CoreError::invalid(
            format!("frames in {source}"),
            frames.len(),
            "at least two distinct times are needed",
        ));
    }
    let n_particle_ids = layout.particle.as_ref().map(|_| all_ids.len());
    Ok(ParticleFrames { times, frames, n_particle_ids })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ParticleFrames> {
        parse_long_csv(text.as_bytes(), "t.csv", &CsvColumns::default(), None)
    }

    #[test]
    fn frames_group_rows_by_time() {
        let frames = parse("time,particle,x\n0,1,0.5\n0,2,1.5\n1,1,0.25\n").unwrap();
        assert_eq!(frames.times, [0.0, 1.0]);
        assert_eq!(frames.frames[0].as_slice().unwrap(), &[0.5, 1.5]);
        assert_eq!(frames.frames[1].as_slice().unwrap(), &[0.25]);
        assert_eq!(frames.n_particle_ids, Some(2));
        assert_eq!(frames.dim(), 1);
    }

    #[test]
    fn unsorted_rows_are_sorted_by_time() {
        let frames = parse("t,id,x,y\n2,a,1,2\n1,a,3,4\n1,b,5,6\n").unwrap();
        assert_eq!(frames.times, [1.0, 2.0]);
        assert_eq!(frames.frames[0].as_slice().unwrap(), &[3.0, 4.0, 5.0, 6.0]);
        assert_eq!(frames.dim(), 2);
    }

    #[test]
    fn trackmate_export_is_read() {
        // A byte-order mark, three rows of names and units after the header,
        // quoted cells and extra columns.
        let text = "\u{feff}LABEL,ID,TRACK_ID,POSITION_X,POSITION_Y,POSITION_T,FRAME\n\
                    Label,Spot ID,Track ID,X,Y,T,Frame\n\
                    Label,Spot ID,Track ID,X,Y,T,Frame\n\
                    ,,,(micron),(micron),(sec),\n\
                    \"ID1\",1,0,0.5,1.5,0.0,0\n\
                    \"ID2\",2,0,0.75,1.25,0.1,1\n";
        let frames = parse(text).unwrap();
        assert_eq!(frames.times, [0.0, 0.1]);
        assert_eq!(frames.frames[1].as_slice().unwrap(), &[0.75, 1.25]);
        assert_eq!(frames.n_particle_ids, Some(1), "TRACK_ID comes before the spot ID");
    }

    #[test]
    fn semicolons_with_decimal_commas() {
        let frames = parse("# exported\ntime;particle;x\n0;1;0,5\n0,1;1;-1,25\n").unwrap();
        assert_eq!(frames.times, [0.0, 0.1]);
        assert_eq!(frames.frames[1][[0, 0]], -1.25);
    }

    #[test]
    fn pandas_index_column_is_ignored() {
        let frames = parse(",frame,particle,x\n0,0,7,1.0\n1,1,7,2.0\n").unwrap();
        assert_eq!(frames.times, [0.0, 1.0]);
        assert_eq!(frames.frames[1][[0, 0]], 2.0);
    }

    #[test]
    fn named_columns_override_defaults() {
        let columns = CsvColumns::parse("time=sec, x=pos").unwrap();
        let frames = parse_long_csv(b"sec,x,pos\n0,9,1\n1,9,2\n", "t.csv", &columns, Some(1)).unwrap();
        assert_eq!(frames.frames[1][[0, 0]], 2.0);
    }

    #[test]
    fn dimension_one_ignores_y() {
        let frames = parse_long_csv(b"t,x,y\n0,1,5\n1,2,6\n", "t.csv", &CsvColumns::default(), Some(1)).unwrap();
        assert_eq!(frames.dim(), 1);
    }

    #[test]
    fn missing_y_for_2d_is_named() {
        let err = parse_long_csv(b"t,x\n0,1\n1,2\n", "t.csv", &CsvColumns::default(), Some(2)).unwrap_err().to_string();
        assert!(err.contains("--columns y=NAME"), "{err}");
    }

    #[test]
    fn bad_cell_after_data_names_line() {
        let err = parse("t,x\n0,1\n1,oops\n").unwrap_err().to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("'oops'"), "{err}");
    }

    #[test]
    fn nan_position_names_time_and_particle() {
        let err = parse("t,particle,x\n0,4,1\n1,4,nan\n").unwrap_err().to_string();
        assert!(err.contains("particle 4"), "{err}");
        assert!(err.contains("time 1"), "{err}");
    }

    #[test]
    fn duplicate_particle_in_frame_names_lines() {
        let err = parse("t,particle,x\n0,4,1\n0,4,2\n1,4,3\n").unwrap_err().to_string();
        assert!(err.contains("lines 2 and 3"), "{err}");
    }

    #[test]
    fn single_frame_is_rejected() {
        let err = parse("t,x\n0,1\n0,2\n").unwrap_err().to_string();
        assert!(err.contains("two distinct times"), "{err}");
    }

    #[test]
    fn unknown_column_role_is_rejected() {
        let err = CsvColumns::parse("z=depth").unwrap_err().to_string();
        assert!(err.contains("time, particle, x and y"), "{err}");
    }
}
