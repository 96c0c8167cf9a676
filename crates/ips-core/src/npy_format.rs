//! Decoding of NPY arrays as NumPy and other programs write them.
//!
//! An NPY file starts with the magic string `\x93NUMPY` and a format
//! version (1.0, 2.0 or 3.0). The length of the header follows (2 bytes in
//! version 1, 4 bytes after), then the header itself, a Python dictionary
//! literal such as
//! `{'descr': '>f4', 'fortran_order': True, 'shape': (21, 200), }`, and
//! then the raw values. This decoder accepts every byte order, C and Fortran order,
//! and the numeric types `f2`/`f4`/`f8`, `i1`-`i8`, `u1`-`u8` and `b1`,
//! and returns `f64` in C order. Object arrays (`|O`) hold pickled Python
//! objects and are rejected without being unpickled, as are structured and
//! complex types.
//!
//! Integers above 2^53 lose precision when widened to `f64`; positions and
//! times are never that large in practice.

use std::io::Read;

use ndarray::{ArrayD, IxDyn, ShapeBuilder};

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Upper bound on the header length. NumPy 2.4 rejects headers above
/// 10 000 bytes when reading (`max_header_size` of `numpy.load`), so a
/// larger one is a damaged file.
const MAX_HEADER_LEN: usize = 1 << 16;

/// Values decoded per read, so that memory follows the data actually present
/// rather than a shape claimed by a damaged header.
const CHUNK_VALUES: usize = 1 << 16;

/// Element type of an NPY array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Float,
    Signed,
    Unsigned,
    Bool,
}

/// The parsed header of an NPY array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// The `descr` string as written, such as `<f8`.
    pub descr: String,
    pub fortran_order: bool,
    pub shape: Vec<usize>,
    kind: Kind,
    size: usize,
    big_endian: bool,
}

impl NpyHeader {
    /// Number of values, or `None` when the product overflows.
    fn len(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
    }
}

/// Reads an NPY array from `reader` and converts it to `f64` in C order.
///
/// # Errors
/// A message (without the file name, which the caller adds) when the magic
/// string, version, header, type or length is invalid, when the data ends
/// early, or when bytes follow the array.
pub fn read_npy_array(mut reader: impl Read) -> Result<ArrayD<f64>, String> {
    let header = read_header(&mut reader)?;
    let n = header
        .len()
        .ok_or_else(|| format!("the shape {:?} in the header has too many values", header.shape))?;
    let values = read_values(&mut reader, &header, n)?;
    let mut rest = [0u8; 1];
    match reader.read(&mut rest) {
        Ok(0) => {}
        Ok(_) => return Err(format!("bytes follow the {n} values that the header {:?} announces", header.shape)),
        Err(e) => return Err(format!("reading failed: {e}")),
    }
    let shape = IxDyn(&header.shape);
    let array = if header.fortran_order {
        ArrayD::from_shape_vec(shape.f(), values)
    } else {
        ArrayD::from_shape_vec(shape, values)
    }
    .map_err(|e| format!("the values do not fit the shape {:?}: {e}", header.shape))?;
    Ok(if header.fortran_order { array.as_standard_layout().into_owned() } else { array })
}

/// Reads the magic string, version and header dictionary.
///
/// # Errors
/// A message naming the part of the header that is invalid.
pub fn read_header(reader: &mut impl Read) -> Result<NpyHeader, String> {
    let mut preamble = [0u8; 8];
    let first = reader.read(&mut preamble[..1]).map_err(|e| format!("reading failed: {e}"))?;
    if first == 0 {
        return Err("the file is empty".into());
    }
    read_exact(reader, &mut preamble[1..], "the NPY preamble")?;
    if &preamble[..6] != MAGIC {
        return Err("the file does not start with the NPY magic string; it must be an NPY array as written by numpy.save".into());
    }
    let (major, minor) = (preamble[6], preamble[7]);
    let header_len = match (major, minor) {
        (1, 0) => {
            let mut length = [0u8; 2];
            read_exact(reader, &mut length, "the header length")?;
            u16::from_le_bytes(length) as usize
        }
        (2, 0) | (3, 0) => {
            let mut length = [0u8; 4];
            read_exact(reader, &mut length, "the header length")?;
            u32::from_le_bytes(length) as usize
        }
        _ => return Err(format!("NPY format version {major}.{minor} is not supported; versions 1.0, 2.0 and 3.0 are")),
    };
    if header_len > MAX_HEADER_LEN {
        return Err(format!("the header length {header_len} is implausible; the file is damaged"));
    }
    let mut text = vec![0u8; header_len];
    read_exact(reader, &mut text, "the header")?;
    // Version 1 and 2 headers are latin-1 and version 3 headers UTF-8. The
    // keys and values this decoder reads are ASCII in both.
    let text = String::from_utf8_lossy(&text);
    parse_header(&text)
}

fn read_exact(reader: &mut impl Read, buffer: &mut [u8], what: &str) -> Result<(), String> {
    reader.read_exact(buffer).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => format!("the file ends inside {what}; it is truncated"),
        _ => format!("reading {what} failed: {e}"),
    })
}

/// Parses the header dictionary literal.
fn parse_header(text: &str) -> Result<NpyHeader, String> {
    let text = text.trim_end_matches(['\n', ' ', '\0']).trim();
    let body = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(|| format!("the header {text:?} is not a dictionary"))?;
    let descr_value = dictionary_value(body, "descr")?;
    let fortran_value = dictionary_value(body, "fortran_order")?;
    let shape_value = dictionary_value(body, "shape")?;

    let descr = parse_string(descr_value).ok_or_else(|| {
        format!("the data type {descr_value} is a structured type; save a plain numeric array (float64, float32 or integers)")
    })?;
    let fortran_order = match fortran_value {
        "True" => true,
        "False" => false,
        other => return Err(format!("fortran_order is {other}, expected True or False")),
    };
    let shape = parse_shape(shape_value)?;
    let (kind, size, big_endian) = parse_descr(&descr)?;
    Ok(NpyHeader { descr, fortran_order, shape, kind, size, big_endian })
}

/// The text of the value of `key` in the dictionary body, up to the next
/// top-level comma.
fn dictionary_value<'a>(body: &'a str, key: &str) -> Result<&'a str, String> {
    let missing = || format!("the header has no '{key}' entry");
    let start = body
        .find(&format!("'{key}'"))
        .or_else(|| body.find(&format!("\"{key}\"")))
        .ok_or_else(missing)?;
    let after_key = &body[start + key.len() + 2..];
    let after_colon = after_key.trim_start().strip_prefix(':').ok_or_else(missing)?.trim_start();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for (i, c) in after_colon.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => return Ok(after_colon[..i].trim()),
            _ => {}
        }
    }
    Ok(after_colon.trim())
}

fn parse_string(value: &str) -> Option<String> {
    let quoted = value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"')))?;
    Some(quoted.to_string())
}

fn parse_shape(value: &str) -> Result<Vec<usize>, String> {
    let inner = value
        .strip_prefix('(')
        .and_then(|v| v.strip_suffix(')'))
        .ok_or_else(|| format!("the shape {value} is not a tuple"))?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| {
            // Python 2 wrote long integers with an L suffix.
            d.trim_end_matches('L')
                .parse::<usize>()
                .map_err(|_| format!("the shape {value} has the invalid length {d}"))
        })
        .collect()
}

/// Kind, size in bytes and byte order of a `descr` such as `>i4`.
fn parse_descr(descr: &str) -> Result<(Kind, usize, bool), String> {
    let mut chars = descr.chars();
    let (big_endian, rest) = match chars.next() {
        Some('<') | Some('|') => (false, chars.as_str()),
        Some('>') => (true, chars.as_str()),
        // '=' is the byte order of the machine that wrote the file, which NumPy
        // never writes to NPY files (it resolves it to '<' or '>').
        Some('=') => (cfg!(target_endian = "big"), chars.as_str()),
        _ => (false, descr),
    };
    let unsupported = || {
        format!("the data type '{descr}' is not supported; save the array as float64, float32 or an integer type")
    };
    if rest.starts_with('O') {
        return Err(format!(
            "the data type '{descr}' is an object array, which holds pickled Python objects; ips never unpickles data, so save a numeric array (for example numpy.asarray(a, dtype=float))"
        ));
    }
    let (kind, size) = match rest {
        "f2" => (Kind::Float, 2),
        "f4" => (Kind::Float, 4),
        "f8" => (Kind::Float, 8),
        "i1" => (Kind::Signed, 1),
        "i2" => (Kind::Signed, 2),
        "i4" => (Kind::Signed, 4),
        "i8" => (Kind::Signed, 8),
        "u1" => (Kind::Unsigned, 1),
        "u2" => (Kind::Unsigned, 2),
        "u4" => (Kind::Unsigned, 4),
        "u8" => (Kind::Unsigned, 8),
        "b1" | "?" => (Kind::Bool, 1),
        _ => return Err(unsupported()),
    };
    Ok((kind, size, big_endian))
}

/// Reads `n` values of the header's type and widens them to `f64`.
fn read_values(reader: &mut impl Read, header: &NpyHeader, n: usize) -> Result<Vec<f64>, String> {
    let mut values = Vec::with_capacity(n.min(CHUNK_VALUES));
    let mut buffer = vec![0u8; CHUNK_VALUES * header.size];
    while values.len() < n {
        let count = (n - values.len()).min(CHUNK_VALUES);
        let bytes = &mut buffer[..count * header.size];
        reader.read_exact(bytes).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => format!(
                "the file ends before the {n} values of shape {:?} ({} bytes each); it is truncated",
                header.shape, header.size
            ),
            _ => format!("reading the values failed: {e}"),
        })?;
        values.extend(bytes.chunks_exact(header.size).map(|b| decode(b, header)));
    }
    Ok(values)
}

/// Decodes one value of `header.size` bytes.
fn decode(bytes: &[u8], header: &NpyHeader) -> f64 {
    let mut raw = [0u8; 8];
    raw[..bytes.len()].copy_from_slice(bytes);
    if header.big_endian {
        raw[..bytes.len()].reverse();
    }
    match (header.kind, header.size) {
        (Kind::Float, 2) => half_to_f64(u16::from_le_bytes([raw[0], raw[1]])),
        (Kind::Float, 4) => f64::from(f32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]])),
        (Kind::Float, _) => f64::from_le_bytes(raw),
        (Kind::Signed, size) => {
            // Sign-extend from `size` bytes.
            let shift = 64 - 8 * size as u32;
            ((i64::from_le_bytes(raw) << shift) >> shift) as f64
        }
        (Kind::Unsigned, _) => u64::from_le_bytes(raw) as f64,
        (Kind::Bool, _) => f64::from(u8::from(raw[0] != 0)),
    }
}

/// IEEE 754 half precision to `f64`.
fn half_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let fraction = f64::from(bits & 0x3ff);
    match exponent {
        0 => sign * fraction * 2f64.powi(-24),
        31 if fraction == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        _ => sign * (1.0 + fraction / 1024.0) * 2f64.powi(exponent - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An NPY file of version `major`, with `descr`, order and shape, around `data`.
    fn npy(major: u8, descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
        let order = if fortran { "True" } else { "False" };
        let dict = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}\n");
        let mut bytes = MAGIC.to_vec();
        bytes.extend([major, 0]);
        if major == 1 {
            bytes.extend((dict.len() as u16).to_le_bytes());
        } else {
            bytes.extend((dict.len() as u32).to_le_bytes());
        }
        bytes.extend(dict.as_bytes());
        bytes.extend(data);
        bytes
    }

    #[test]
    fn big_endian_int16_is_widened() {
        let data: Vec<u8> = [-2i16, 300].iter().flat_map(|v| v.to_be_bytes()).collect();
        let array = read_npy_array(&npy(1, ">i2", false, "(2,)", &data)[..]).unwrap();
        assert_eq!(array.as_slice().unwrap(), &[-2.0, 300.0]);
    }

    #[test]
    fn fortran_order_is_transposed_to_c_order() {
        // The 2 x 3 matrix [[1, 2, 3], [4, 5, 6]] in column-major order.
        let data: Vec<u8> = [1.0f64, 4.0, 2.0, 5.0, 3.0, 6.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let array = read_npy_array(&npy(2, "<f8", true, "(2, 3)", &data)[..]).unwrap();
        assert_eq!(array.shape(), &[2, 3]);
        assert_eq!(array.as_slice().unwrap(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn half_precision_values_are_exact() {
        // 1.0, -2.5 and 2^-24 (the smallest subnormal) in binary16.
        let data: Vec<u8> = [0x3c00u16, 0xc100, 0x0001].iter().flat_map(|v| v.to_le_bytes()).collect();
        let array = read_npy_array(&npy(3, "<f2", false, "(3,)", &data)[..]).unwrap();
        assert_eq!(array.as_slice().unwrap(), &[1.0, -2.5, 2f64.powi(-24)]);
    }

    #[test]
    fn unsigned_and_bool_are_widened() {
        let array = read_npy_array(&npy(1, "|u1", false, "(2,)", &[255, 7])[..]).unwrap();
        assert_eq!(array.as_slice().unwrap(), &[255.0, 7.0]);
        let array = read_npy_array(&npy(1, "|b1", false, "(2,)", &[1, 0])[..]).unwrap();
        assert_eq!(array.as_slice().unwrap(), &[1.0, 0.0]);
    }

    #[test]
    fn object_array_is_rejected_unread() {
        let err = read_npy_array(&npy(1, "|O", false, "(2,)", b"\x80\x04pickle")[..]).unwrap_err();
        assert!(err.contains("never unpickles"), "{err}");
    }

    #[test]
    fn structured_type_is_rejected() {
        let dict = "{'descr': [('x', '<f8')], 'fortran_order': False, 'shape': (1,), }\n";
        let mut bytes = MAGIC.to_vec();
        bytes.extend([1, 0]);
        bytes.extend((dict.len() as u16).to_le_bytes());
        bytes.extend(dict.as_bytes());
        bytes.extend(0f64.to_le_bytes());
        let err = read_npy_array(&bytes[..]).unwrap_err();
        assert!(err.contains("structured"), "{err}");
    }

    #[test]
    fn truncated_data_is_reported() {
        let err = read_npy_array(&npy(1, "<f8", false, "(4,)", &[0u8; 20])[..]).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn huge_claimed_shape_does_not_allocate_it() {
        // A damaged header claiming 10^15 values fails at the end of the data.
        let err = read_npy_array(&npy(1, "<f8", false, "(1000000000000000,)", &[0u8; 16])[..]).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn trailing_bytes_are_reported() {
        let err = read_npy_array(&npy(1, "<f8", false, "(1,)", &[0u8; 9])[..]).unwrap_err();
        assert!(err.contains("bytes follow"), "{err}");
    }

    #[test]
    fn unknown_version_is_reported() {
        let err = read_npy_array(&npy(4, "<f8", false, "(1,)", &[0u8; 8])[..]).unwrap_err();
        assert!(err.contains("version 4.0"), "{err}");
    }

    #[test]
    fn empty_input_is_named() {
        assert_eq!(read_npy_array(&b""[..]).unwrap_err(), "the file is empty");
    }

    #[test]
    fn scalar_shape_has_one_value() {
        let array = read_npy_array(&npy(1, "<f8", false, "()", &1.5f64.to_le_bytes())[..]).unwrap();
        assert_eq!(array.ndim(), 0);
        assert_eq!(array.sum(), 1.5);
    }
}
