//! Fuzzing of the readers of other programs' files: random bytes and
//! mutations of valid NPY, NPZ and CSV files must give a value or an error,
//! never a panic, an abort or an allocation of what a damaged header claims.

use std::io::Cursor;

use ips_core::long_csv::{parse_long_csv, CsvColumns};
use ips_core::npy_format::read_npy_array;
use ips_core::npz::NpzArchive;
use proptest::prelude::*;

mod mutation;
use mutation::{mutate, mutation};

/// Returns a valid NPY file of a small float64 array.
fn valid_npy() -> Vec<u8> {
    let array = ndarray::Array2::from_shape_fn((3, 4), |(i, j)| i as f64 - 0.5 * j as f64);
    let mut bytes = Vec::new();
    ndarray_npy::WriteNpyExt::write_npy(&array, &mut bytes).unwrap();
    bytes
}

/// Reads the NPZ archive that numpy.savez_compressed wrote in tests/fixtures.
fn valid_npz() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/layouts/compressed.npz");
    std::fs::read(path).unwrap()
}

const VALID_CSV: &str = "\u{feff}# export\ntime;particle;x;y\n0;1;0,5;1\n0;2;1,5;2\n1;1;0,25;3\n2;2;\"4\";1e3\n";

fn read_npz(bytes: Vec<u8>) {
    if let Ok(mut archive) = NpzArchive::new(Cursor::new(bytes), "fuzz.npz") {
        for name in archive.names() {
            let _ = archive.read(&name);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn npy_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = read_npy_array(&bytes[..]);
    }

    #[test]
    fn npy_with_random_header(header in "\\PC{0,120}", data in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        bytes.extend(data);
        let _ = read_npy_array(&bytes[..]);
    }

    #[test]
    fn npy_mutated(mutations in proptest::collection::vec(mutation(), 1..6)) {
        let _ = read_npy_array(&mutate(valid_npy(), &mutations)[..]);
    }

    #[test]
    fn npz_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        read_npz(bytes);
    }

    #[test]
    fn npz_mutated(mutations in proptest::collection::vec(mutation(), 1..6)) {
        read_npz(mutate(valid_npz(), &mutations));
    }

    #[test]
    fn csv_random_text(text in "[-0-9a-z,;.\t\"#\n ]{0,200}", dim in proptest::option::of(1usize..=2)) {
        let _ = parse_long_csv(text.as_bytes(), "fuzz.csv", &CsvColumns::default(), dim);
    }

    #[test]
    fn csv_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_long_csv(&bytes, "fuzz.csv", &CsvColumns::default(), None);
    }

    #[test]
    fn csv_mutated(mutations in proptest::collection::vec(mutation(), 1..6), dim in proptest::option::of(1usize..=2)) {
        let bytes = mutate(VALID_CSV.as_bytes().to_vec(), &mutations);
        if let Ok(frames) = parse_long_csv(&bytes, "fuzz.csv", &CsvColumns::default(), dim) {
            // Whatever is accepted is usable: increasing times, finite positions.
            prop_assert!(frames.times.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(frames.frames.iter().all(|f| f.iter().all(|v| v.is_finite())));
        }
    }
}

#[test]
fn valid_files_are_read() {
    assert_eq!(read_npy_array(&valid_npy()[..]).unwrap().shape(), &[3, 4]);
    let mut archive = NpzArchive::new(Cursor::new(valid_npz()), "compressed.npz").unwrap();
    assert_eq!(archive.read("positions").unwrap().shape(), &[21, 200]);
    let frames = parse_long_csv(VALID_CSV.as_bytes(), "valid.csv", &CsvColumns::default(), None).unwrap();
    assert_eq!(frames.times, [0.0, 1.0, 2.0]);
    assert_eq!(frames.frames[2].as_slice().unwrap(), &[4.0, 1000.0]);
}
