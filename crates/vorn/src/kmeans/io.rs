//! The model file format (`.vorn`), little-endian:
//!
//! ```text
//! magic  b"VORNKM\0\0"         8 bytes
//! version u32 = 1
//! metric u8, algorithm u8, stop u8, reserved u8
//! k u64, d u64, n_labels u64, n_iter u64, n_train u64, n_stats u64, inertia f64
//! centroids  f32 × k·d
//! labels     u32 × n_labels
//! stats      n_stats × (run u64, iter u64, objective f64, moved u64, empty u64, scanned u64,
//!                       assign_secs f64, update_secs f64)
//! checksum   u64 FNV-1a over every preceding byte
//! ```
//! Loading checks magic, version, enum codes, sizes with checked arithmetic against the
//! bytes actually present (so a corrupt header cannot trigger a huge allocation), finite
//! centroids, labels < k, and the checksum. Saving writes a temporary file in the target
//! directory, syncs it, and renames it over the target (atomic on POSIX).

use super::{IterStats, KMeansModel, StopReason};
use crate::cluster::Algorithm;
use crate::error::{Error, Result};
use crate::metric::Metric;
use std::path::Path;

const MAGIC: &[u8; 8] = b"VORNKM\0\0";
const VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 4 + 7 * 8;
const STAT_BYTES: usize = 8 * 8;

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn metric_code(m: Metric) -> u8 {
    match m {
        Metric::L2 => 0,
        Metric::Cosine => 1,
    }
}
fn algo_code(a: Algorithm) -> u8 {
    match a {
        Algorithm::Auto => 0,
        Algorithm::Lloyd => 1,
        Algorithm::Hamerly => 2,
    }
}
fn stop_code(s: StopReason) -> u8 {
    match s {
        StopReason::Converged => 0,
        StopReason::Tolerance => 1,
        StopReason::MaxIter => 2,
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}
impl Reader<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        s
    }
    fn u8(&mut self) -> u8 {
        self.take(1)[0]
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take(4).try_into().unwrap())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take(8).try_into().unwrap())
    }
    fn f64(&mut self) -> f64 {
        f64::from_le_bytes(self.take(8).try_into().unwrap())
    }
}

impl KMeansModel {
    /// Serialises the model (see the module docs for the layout).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(
            HEADER
                + self.centroids.len() * 4
                + self.labels.len() * 4
                + self.stats.len() * STAT_BYTES
                + 8,
        );
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&VERSION.to_le_bytes());
        b.extend_from_slice(&[
            metric_code(self.metric),
            algo_code(self.algorithm),
            stop_code(self.stop),
            0,
        ]);
        for v in [
            self.k,
            self.d,
            self.labels.len(),
            self.n_iter,
            self.n_train,
            self.stats.len(),
        ] {
            b.extend_from_slice(&(v as u64).to_le_bytes());
        }
        b.extend_from_slice(&self.inertia.to_le_bytes());
        for v in &self.centroids {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for v in &self.labels {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for s in &self.stats {
            for v in [s.run as u64, s.iter as u64] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b.extend_from_slice(&s.objective.to_le_bytes());
            for v in [s.moved as u64, s.empty_splits as u64, s.rows_scanned as u64] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b.extend_from_slice(&s.assign_secs.to_le_bytes());
            b.extend_from_slice(&s.update_secs.to_le_bytes());
        }
        let h = fnv1a(&b);
        b.extend_from_slice(&h.to_le_bytes());
        b
    }

    /// Parses [`to_bytes`](Self::to_bytes) output; `origin` names the source in errors.
    pub fn from_bytes(bytes: &[u8], origin: &Path) -> Result<Self> {
        let bad = |m: &str| Error::format(origin, format!("not a valid vorn model file: {m}"));
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(bad(
                "missing the VORNKM header (wrong file type or truncated)",
            ));
        }
        if bytes.len() < HEADER + 8 {
            return Err(bad(&format!(
                "truncated: the file ends after {} bytes, shorter than its header and checksum ({} bytes)",
                bytes.len(),
                HEADER + 8
            )));
        }
        let body = &bytes[..bytes.len() - 8];
        let stored = u64::from_le_bytes(bytes[bytes.len() - 8..].try_into().unwrap());
        let mut r = Reader { b: body, pos: 8 };
        let version = r.u32();
        if version != VERSION {
            return Err(bad(&format!("format version {version} is not supported (this build reads version {VERSION}); upgrade vorn")));
        }
        let (mc, ac, sc, _) = (r.u8(), r.u8(), r.u8(), r.u8());
        let k = r.u64();
        let d = r.u64();
        let nl = r.u64();
        let n_iter = r.u64();
        let n_train = r.u64();
        let ns = r.u64();
        let inertia = r.f64();
        let need = (|| {
            let c = k.checked_mul(d)?.checked_mul(4)?;
            let l = nl.checked_mul(4)?;
            let s = ns.checked_mul(STAT_BYTES as u64)?;
            (HEADER as u64)
                .checked_add(c)?
                .checked_add(l)?
                .checked_add(s)
        })()
        .ok_or_else(|| bad("sizes in the header overflow"))?;
        if need != body.len() as u64 {
            return Err(bad(&format!("header announces {need} bytes of content but the file has {} (truncated or corrupt)", body.len())));
        }
        if fnv1a(body) != stored {
            return Err(bad("checksum mismatch (the file is corrupt)"));
        }
        let metric = match mc {
            0 => Metric::L2,
            1 => Metric::Cosine,
            _ => return Err(bad("unknown metric code")),
        };
        let algorithm = match ac {
            0 => Algorithm::Auto,
            1 => Algorithm::Lloyd,
            2 => Algorithm::Hamerly,
            _ => return Err(bad("unknown algorithm code")),
        };
        let stop = match sc {
            0 => StopReason::Converged,
            1 => StopReason::Tolerance,
            2 => StopReason::MaxIter,
            _ => return Err(bad("unknown stop code")),
        };
        let (k, d, nl, ns) = (k as usize, d as usize, nl as usize, ns as usize);
        if k == 0 || d == 0 {
            return Err(bad("k and d must be positive"));
        }
        let centroids: Vec<f32> = r
            .take(k * d * 4)
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        if centroids.iter().any(|v| !v.is_finite()) {
            return Err(bad("non-finite centroid value"));
        }
        let labels: Vec<u32> = r
            .take(nl * 4)
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        if labels.iter().any(|&l| l as usize >= k) {
            return Err(bad("label out of range"));
        }
        let mut stats = Vec::with_capacity(ns);
        for _ in 0..ns {
            stats.push(IterStats {
                run: r.u64() as usize,
                iter: r.u64() as usize,
                objective: r.f64(),
                moved: r.u64() as usize,
                empty_splits: r.u64() as usize,
                rows_scanned: r.u64() as usize,
                assign_secs: r.f64(),
                update_secs: r.f64(),
            });
        }
        Ok(KMeansModel {
            centroids,
            k,
            d,
            metric,
            algorithm,
            labels,
            inertia,
            n_iter: n_iter as usize,
            stop,
            stats,
            n_train: n_train as usize,
            packed: Default::default(),
        })
    }

    /// Writes the model to `path` atomically (temporary file + rename).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let bytes = self.to_bytes();
        crate::data::write_atomic(path.as_ref(), |w| w.write_all(&bytes))
    }

    /// Reads a model written by [`save`](Self::save).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> KMeansModel {
        let data: Vec<f32> = (0..60)
            .map(|i| (i % 7) as f32 + (i / 20) as f32 * 10.0)
            .collect();
        let x = crate::data::MatrixView::new(&data, 20, 3).unwrap();
        crate::fit(x, &crate::KMeansParams::new(3)).unwrap()
    }

    #[test]
    fn round_trip_bytes_and_file() {
        let m = model();
        let back = KMeansModel::from_bytes(&m.to_bytes(), Path::new("mem")).unwrap();
        assert_eq!(back, m);
        let dir = std::env::temp_dir().join(format!("vorn-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("m.vorn");
        m.save(&p).unwrap();
        assert_eq!(KMeansModel::load(&p).unwrap(), m);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_corruption_is_an_error_never_a_panic() {
        let b = model().to_bytes();
        // Truncations.
        for cut in [0, 5, 8, HEADER, b.len() - 1] {
            assert!(KMeansModel::from_bytes(&b[..cut], Path::new("t")).is_err());
        }
        // A cut inside the header of a vorn file says so; another file type is named as one.
        let msg = |c: &[u8]| {
            KMeansModel::from_bytes(c, Path::new("t"))
                .unwrap_err()
                .to_string()
        };
        assert!(
            msg(&b[..50]).contains("truncated: the file ends after 50 bytes"),
            "{}",
            msg(&b[..50])
        );
        assert!(msg(&b[..5]).contains("missing the VORNKM header"));
        assert!(msg(b"PK\x03\x04 a zip file, not a model").contains("missing the VORNKM header"));
        // Single-byte flips everywhere.
        for i in 0..b.len() {
            let mut c = b.clone();
            c[i] ^= 0x40;
            assert!(
                KMeansModel::from_bytes(&c, Path::new("t")).is_err(),
                "flip at {i} accepted"
            );
        }
        // A header claiming a huge k must not allocate.
        let mut c = b.clone();
        c[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(KMeansModel::from_bytes(&c, Path::new("t")).is_err());
    }

    #[test]
    fn missing_file_is_io_error() {
        assert!(matches!(
            KMeansModel::load("/nonexistent/dir/m.vorn"),
            Err(Error::Io { .. })
        ));
    }
}
