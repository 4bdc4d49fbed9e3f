//! Tests of the `.npy` reader and writer: every error path, conversions, the zero-copy path,
//! and a fuzz-style sweep of truncations and byte flips that must never panic.

use super::write::header_bytes;
use super::*;
use std::path::PathBuf;

fn p() -> &'static Path {
    Path::new("mem.npy")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vorn-npy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A hand-made `.npy` with an arbitrary header dict and data bytes; `pad_to` controls the
/// data offset (total preamble + header length).
fn raw(dict: &str, data: &[u8], pad_to: usize) -> Vec<u8> {
    let mut h = dict.as_bytes().to_vec();
    while 10 + h.len() + 1 < pad_to {
        h.push(b' ');
    }
    h.push(b'\n');
    let mut b = MAGIC.to_vec();
    b.extend_from_slice(&[1, 0]);
    b.extend_from_slice(&(h.len() as u16).to_le_bytes());
    b.extend_from_slice(&h);
    b.extend_from_slice(data);
    b
}

fn dict(descr: &str, fortran: bool, shape: &str) -> String {
    let f = if fortran { "True" } else { "False" };
    format!("{{'descr': '{descr}', 'fortran_order': {f}, 'shape': {shape}, }}")
}

fn bytes_of<T: NpyElement>(v: &[T]) -> Vec<u8> {
    let mut b = Vec::new();
    for &x in v {
        x.put(&mut b);
    }
    b
}

fn format_msg(r: Result<MatrixSource>) -> String {
    match r {
        Err(e @ Error::Format { .. }) => e.to_string(),
        other => panic!("expected a format error, got {other:?}"),
    }
}

const M23: [f32; 6] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];

#[test]
fn f32_file_round_trip_is_zero_copy() {
    let path = tmp("rt.npy");
    write_npy_2d(&path, &M23, 2, 3).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let h = NpyHeader::parse(&bytes, &path).unwrap();
    assert_eq!(h.data_offset % 64, 0);
    assert_eq!(
        (h.shape.clone(), h.dtype, h.fortran_order),
        (vec![2, 3], NpyDtype::F4, false)
    );
    let m = read_npy(&path).unwrap();
    assert!(m.is_zero_copy());
    assert_eq!(m.source_dtype(), "<f4");
    assert_eq!(m.view().as_slice(), &M23);
    assert_eq!(m.path(), path.as_path());
    // The same through the in-memory reader (owned).
    let o = npy_from_bytes(&bytes, p()).unwrap();
    assert!(!o.is_zero_copy());
    assert_eq!(o.view().as_slice(), &M23);
}

#[test]
fn misaligned_f32_is_copied_not_borrowed() {
    // Data offset 75: not a multiple of 4.
    let b = raw(&dict("<f4", false, "(2, 3)"), &bytes_of(&M23), 75);
    assert_eq!(NpyHeader::parse(&b, p()).unwrap().data_offset, 75);
    let path = tmp("misaligned.npy");
    std::fs::write(&path, &b).unwrap();
    let m = read_npy(&path).unwrap();
    assert!(!m.is_zero_copy());
    assert_eq!(m.view().as_slice(), &M23);
}

#[test]
fn fortran_order_is_transposed() {
    // Column-major storage of [[1,2,3],[4,5,6]].
    let col = [1.0f32, 4.0, 2.0, 5.0, 3.0, 6.0];
    let b = raw(&dict("<f4", true, "(2, 3)"), &bytes_of(&col), 64);
    let path = tmp("fortran.npy");
    std::fs::write(&path, &b).unwrap();
    let m = read_npy(&path).unwrap();
    assert!(!m.is_zero_copy());
    assert_eq!(m.view().as_slice(), &M23);
    // Larger than one parallel block, f8, Fortran.
    let (n, d) = (2500, 3);
    let colmajor: Vec<f64> = (0..n * d).map(|k| ((k % n) * 10 + k / n) as f64).collect();
    let b = raw(
        &dict("<f8", true, &format!("({n}, {d})")),
        &bytes_of(&colmajor),
        128,
    );
    let m = npy_from_bytes(&b, p()).unwrap();
    for i in [0, 1, 1023, 1024, 2499] {
        let want: Vec<f32> = (0..d).map(|j| (i * 10 + j) as f32).collect();
        assert_eq!(m.view().row(i), want.as_slice());
    }
}

#[test]
fn f64_f16_integer_and_bool_conversions() {
    let f8 = npy_bytes(&[1.5f64, -2.25, 1e300, 0.1], &[2, 2]).unwrap();
    let m = npy_from_bytes(&f8, p()).unwrap();
    assert_eq!(m.source_dtype(), "<f8");
    assert_eq!(m.view().as_slice(), &[1.5, -2.25, f32::INFINITY, 0.1f32]);

    // Half: 1.0, -2.0, 65504 (max), smallest subnormal, inf, 0.
    let halves: [u16; 6] = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x0000];
    let data: Vec<u8> = halves.iter().flat_map(|h| h.to_le_bytes()).collect();
    let m = npy_from_bytes(&raw(&dict("<f2", false, "(3, 2)"), &data, 64), p()).unwrap();
    assert_eq!(
        m.view().as_slice(),
        &[1.0, -2.0, 65504.0, 2f32.powi(-24), f32::INFINITY, 0.0]
    );
    assert!(f16_to_f32(0x7e00).is_nan());

    let i = npy_bytes(&[-3i64, 7, i64::MAX, 0], &[2, 2]).unwrap();
    let m = npy_from_bytes(&i, p()).unwrap();
    assert_eq!(m.view().as_slice(), &[-3.0, 7.0, i64::MAX as f32, 0.0]);

    let u = npy_bytes(&[0u8, 255, 7, 1], &[1, 4]).unwrap();
    assert_eq!(
        npy_from_bytes(&u, p()).unwrap().view().as_slice(),
        &[0.0, 255.0, 7.0, 1.0]
    );

    for (descr, data, want) in [
        ("|i1", vec![0xffu8, 2], [-1.0f32, 2.0]),
        (
            "<i2",
            [(-300i16).to_le_bytes(), 5i16.to_le_bytes()].concat(),
            [-300.0, 5.0],
        ),
        (
            "<u2",
            [60000u16.to_le_bytes(), 5u16.to_le_bytes()].concat(),
            [60000.0, 5.0],
        ),
        (
            "<i4",
            [(-7i32).to_le_bytes(), 9i32.to_le_bytes()].concat(),
            [-7.0, 9.0],
        ),
        (
            "<u4",
            [7u32.to_le_bytes(), 9u32.to_le_bytes()].concat(),
            [7.0, 9.0],
        ),
        (
            "<u8",
            [7u64.to_le_bytes(), 9u64.to_le_bytes()].concat(),
            [7.0, 9.0],
        ),
        ("|b1", vec![1u8, 0], [1.0, 0.0]),
        ("|u1", vec![3u8, 4], [3.0, 4.0]),
    ] {
        let m = npy_from_bytes(&raw(&dict(descr, false, "(1, 2)"), &data, 64), p())
            .unwrap_or_else(|e| panic!("{descr}: {e}"));
        assert_eq!(m.view().as_slice(), &want, "{descr}");
    }
}

#[test]
fn version_2_and_3_headers_and_python2_longs() {
    let mut b = raw(&dict("<f4", false, "(2L, 3L)"), &bytes_of(&M23), 64);
    // Rewrite as version 2: 4-byte header length.
    let hl = u16::from_le_bytes([b[8], b[9]]) as u32;
    let mut v2 = MAGIC.to_vec();
    v2.extend_from_slice(&[2, 0]);
    v2.extend_from_slice(&hl.to_le_bytes());
    v2.extend_from_slice(&b[10..]);
    assert_eq!(npy_from_bytes(&v2, p()).unwrap().view().as_slice(), &M23);
    v2[6] = 3;
    assert_eq!(npy_from_bytes(&v2, p()).unwrap().view().as_slice(), &M23);
    b[6] = 4;
    assert!(format_msg(npy_from_bytes(&b, p())).contains("version 4.0"));
}

#[test]
fn truncated_headers_and_data() {
    let good = npy_bytes(&M23, &[2, 3]).unwrap();
    for cut in [0, 3, 6, 7, 9, 20, 63, 64, good.len() - 1] {
        let msg = format_msg(npy_from_bytes(&good[..cut], p()));
        assert!(msg.contains("mem.npy"), "{msg}");
        assert!(
            msg.contains("truncated") || msg.contains("header"),
            "cut {cut}: {msg}"
        );
    }
    let msg = format_msg(npy_from_bytes(&good[..good.len() - 4], p()));
    assert!(
        msg.contains("needs 24 data bytes but the file has 20"),
        "{msg}"
    );
    // Trailing bytes are ignored, as numpy.load does.
    let mut longer = good.clone();
    longer.extend_from_slice(&[0; 7]);
    assert_eq!(
        npy_from_bytes(&longer, p()).unwrap().view().as_slice(),
        &M23
    );
    // An empty file on disk.
    let path = tmp("empty.npy");
    std::fs::write(&path, b"").unwrap();
    assert!(format_msg(read_npy(&path)).contains("truncated"));
}

#[test]
fn bad_magic_and_npz() {
    let mut b = npy_bytes(&M23, &[2, 3]).unwrap();
    b[1] = b'X';
    assert!(format_msg(npy_from_bytes(&b, p())).contains("bad magic"));
    let msg = format_msg(npy_from_bytes(b"PK\x03\x04rest-of-a-zip", p()));
    assert!(msg.contains(".npz"), "{msg}");
    let msg = format_msg(npy_from_bytes(b"a,b,c\n1,2,3\n", p()));
    assert!(msg.contains("bad magic"), "{msg}");
}

#[test]
fn wrong_ndim_and_empty_shapes() {
    for shape in ["(6,)", "(1, 2, 3)", "()"] {
        let b = raw(&dict("<f4", false, shape), &bytes_of(&M23), 64);
        let msg = format_msg(npy_from_bytes(&b, p()));
        assert!(msg.contains("2-D"), "{shape}: {msg}");
    }
    for shape in ["(0, 3)", "(3, 0)"] {
        let b = raw(&dict("<f4", false, shape), &[], 64);
        assert!(format_msg(npy_from_bytes(&b, p())).contains("at least one row"));
    }
    let b = raw(&dict("<f4", false, "(-1, 6)"), &bytes_of(&M23), 64);
    assert!(format_msg(npy_from_bytes(&b, p())).contains("'shape'"));
}

#[test]
fn huge_claimed_shapes_fail_without_allocating() {
    // Overflowing n·d·size, and a plausible-but-absent 4 PiB: both must fail at once.
    for shape in [
        "(18446744073709551615, 18446744073709551615)",
        "(1099511627776, 1048576)",
        "(4294967296, 4)",
        "(99999999999999999999999999999999999999999, 2)",
    ] {
        let b = raw(&dict("<f4", false, shape), &bytes_of(&M23), 64);
        let msg = format_msg(npy_from_bytes(&b, p()));
        assert!(
            msg.contains("overflow") || msg.contains("truncated") || msg.contains("shape"),
            "{shape}: {msg}"
        );
    }
    let path = tmp("huge.npy");
    std::fs::write(
        &path,
        raw(&dict("<f8", true, "(1099511627776, 1048576)"), &[0; 64], 64),
    )
    .unwrap();
    assert!(read_npy(&path).is_err());
}

#[test]
fn unsupported_dtypes_name_the_fix() {
    for (descr, needle) in [
        (">f4", "astype('<f4')"),
        (">f8", "big-endian"),
        (">i4", "big-endian"),
        ("<c8", "complex"),
        ("<c16", "complex"),
        ("|O", "object"),
        ("<U10", "string"),
        ("|S3", "string"),
        ("<M8[ns]", "datetime"),
        ("|V8", "structured"),
        ("<f16", "extended-precision"),
        ("<i16", "integer"),
        ("<q", "unknown"),
        ("", "unknown"),
    ] {
        let b = raw(&dict(descr, false, "(2, 3)"), &[0; 48], 64);
        let msg = format_msg(npy_from_bytes(&b, p()));
        assert!(msg.contains(needle), "{descr}: {msg}");
        assert!(msg.contains("mem.npy"), "{msg}");
    }
    // Single-byte types have no byte order: '>u1' is fine.
    let b = raw(&dict(">u1", false, "(1, 2)"), &[1, 2], 64);
    assert_eq!(
        npy_from_bytes(&b, p()).unwrap().view().as_slice(),
        &[1.0, 2.0]
    );
    // Structured: descr is a list.
    let b = raw(
        "{'descr': [('a', '<f4'), ('b', '<f4')], 'fortran_order': False, 'shape': (3,), }",
        &[0; 24],
        64,
    );
    assert!(format_msg(npy_from_bytes(&b, p())).contains("structured"));
}

#[test]
fn malformed_headers() {
    for d in [
        "not a dict",
        "{'descr': '<f4', 'shape': (2, 3), }",
        "{'descr': '<f4', 'fortran_order': False, }",
        "{'fortran_order': False, 'shape': (2, 3), }",
        "{'descr': 4, 'fortran_order': False, 'shape': (2, 3), }",
        "{'descr': '<f4', 'fortran_order': 1, 'shape': (2, 3), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 'x'], }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } trailing",
        "{'descr': '<f4' 'fortran_order': False}",
        "{'descr: '<f4', 'fortran_order': False, 'shape': (2, 3), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)",
        "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    ] {
        let b = raw(d, &bytes_of(&M23), 64);
        let msg = format_msg(npy_from_bytes(&b, p()));
        assert!(msg.contains("header") || msg.contains("'"), "{d}: {msg}");
    }
    // Double quotes, escapes, extra keys and odd spacing are accepted.
    let b = raw(
        "{ \"descr\" : \"<f4\" , 'fortran_order':False,'shape':( 2 ,3 ), 'extra': None, 'n\\'x': [1, (2,)] }",
        &bytes_of(&M23),
        64,
    );
    assert_eq!(npy_from_bytes(&b, p()).unwrap().view().as_slice(), &M23);
}

#[test]
fn labels_round_trip_and_validation() {
    let path = tmp("labels.npy");
    write_npy_1d(&path, &[3u32, 0, 7]).unwrap();
    assert_eq!(read_labels(&path).unwrap(), vec![3, 0, 7]);
    write_npy_1d(&path, &[3i32, 0, 7]).unwrap();
    assert_eq!(read_labels(&path).unwrap(), vec![3, 0, 7]);
    write_npy_1d(&path, &[3i64, 0, 4_000_000_000]).unwrap();
    assert_eq!(read_labels(&path).unwrap(), vec![3, 0, 4_000_000_000]);
    let h = NpyHeader::parse(&std::fs::read(&path).unwrap(), &path).unwrap();
    assert_eq!((h.shape, h.dtype), (vec![3], NpyDtype::I8));
    write_labels(&path, &[5, 0, 2]).unwrap();
    assert_eq!(read_labels(&path).unwrap(), vec![5, 0, 2]);
    let h = NpyHeader::parse(&std::fs::read(&path).unwrap(), &path).unwrap();
    assert_eq!((h.shape, h.dtype), (vec![3], NpyDtype::I4));
    write_labels(&path, &[u32::MAX, 1]).unwrap();
    assert_eq!(read_labels(&path).unwrap(), vec![u32::MAX, 1]);
    write_labels(&path, &[]).unwrap();
    assert_eq!(read_labels(&path).unwrap(), Vec::<u32>::new());
    write_npy_1d(&path, &[-1i64]).unwrap();
    assert!(read_labels(&path)
        .unwrap_err()
        .to_string()
        .contains("label -1 at index 0"));
    write_npy_1d(&path, &[1.0f32]).unwrap();
    assert!(read_labels(&path)
        .unwrap_err()
        .to_string()
        .contains("integers"));
    write_npy_2d(&path, &[1u32, 2], 1, 2).unwrap();
    assert!(read_labels(&path).unwrap_err().to_string().contains("1-D"));
    assert!(matches!(
        read_labels(tmp("absent.npy")),
        Err(Error::Io { .. })
    ));
}

#[test]
fn writer_checks_shape_and_reports_io_errors() {
    assert!(npy_bytes(&[1.0f32; 5], &[2, 3]).is_err());
    assert!(npy_bytes::<f32>(&[], &[]).is_err());
    assert!(matches!(
        write_npy_2d("/nonexistent/dir/c.npy", &M23, 2, 3),
        Err(Error::Io { .. })
    ));
    // A header too long for version 1.0 switches to 2.0.
    let h = header_bytes("<f4", &[1; 30000]);
    assert_eq!((h[6], h.len() % 64), (2, 0));
    let h = header_bytes("<f4", &[2, 3]);
    assert_eq!((h[6], h.len() % 64, *h.last().unwrap()), (1, 0, b'\n'));
}

/// Small deterministic generator for the fuzz sweep.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn exercise(b: &[u8]) {
    if let Ok(m) = npy_from_bytes(b, p()) {
        // A successful parse must yield a consistent matrix.
        assert_eq!(m.view().as_slice().len(), m.n() * m.d());
    }
}

#[test]
fn fuzz_truncations_and_flips_never_panic() {
    let seeds: Vec<Vec<u8>> = vec![
        npy_bytes(&M23, &[2, 3]).unwrap(),
        raw(
            &dict("<f8", true, "(3, 2)"),
            &bytes_of(&[1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]),
            75,
        ),
        raw(
            &dict("<f2", false, "(2, 2)"),
            &[0, 60, 0, 192, 255, 123, 1, 0],
            64,
        ),
        raw(&dict("|u1", false, "(2, 2)"), &[1, 2, 3, 4], 64),
        npy_bytes(&[1i64, 2, 3, 4], &[2, 2]).unwrap(),
    ];
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for seed in &seeds {
        for cut in 0..=seed.len() {
            exercise(&seed[..cut]);
        }
        for i in 0..seed.len() {
            for x in [0x01u8, 0x02, 0x10, 0x20, 0x40, 0x80, 0xff] {
                let mut c = seed.clone();
                c[i] ^= x;
                exercise(&c);
            }
            for v in [b'(', b')', b'[', b'{', b',', b'\'', b'-', b'9', 0] {
                let mut c = seed.clone();
                c[i] = v;
                exercise(&c);
            }
        }
        for _ in 0..2000 {
            let mut c = seed.clone();
            for _ in 0..1 + rng.next() % 4 {
                let i = (rng.next() % c.len() as u64) as usize;
                c[i] = rng.next() as u8;
            }
            let cut = c.len() - (rng.next() % 3) as usize;
            exercise(&c[..cut]);
        }
    }
    // A few mutations through the memory-mapped path as well.
    let path = tmp("fuzz.npy");
    for k in 0..64 {
        let mut c = seeds[0].clone();
        let i = (rng.next() % c.len() as u64) as usize;
        c[i] ^= 1 << (k % 8);
        std::fs::write(&path, &c).unwrap();
        if let Ok(m) = read_npy(&path) {
            assert_eq!(m.view().as_slice().len(), m.n() * m.d());
        }
    }
}
