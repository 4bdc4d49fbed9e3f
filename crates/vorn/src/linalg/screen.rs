//! The bf16-screened assignment pass: approximate scores at twice the fp32 rate, exact fp32
//! rescoring of the few centroids that can still be the nearest, labels and scores with the
//! bits of the exact pass.
//!
//! # Maths
//! The exact pass computes, for row x and centroid c_j, `s_j = fl(cn_j − 2·fl_dot(x, c_j))`
//! (a sequential fp32 fma chain, [`crate::simd`]), and labels x with the lowest j of minimal
//! s_j. Distances are translation invariant, so the screen works on centred values
//! `x̄ = fl(x − μ)`, `c̄_j = fl(c_j − μ)` (L2: μ = mean of the centroids; cosine: μ = 0) rounded
//! to bf16 (unit roundoff u_b = 2⁻⁸) and computes `s̃_j = c̄n_j − 2·x̃·c̃_j` with `vdpbf16ps`
//! (exact bf16 products, fp32 sums). For every j,
//!
//! ```text
//!   | (s̃_j − S) − s_j | ≤ α·m̄_j + γ,     S = ‖x‖² − ‖x̄‖² (the same for every j),
//!   α = A·‖x̄‖,  A = 2·(2u_b + u_b² + 2γ_{2d}·(1+u_b)²)·1.01,  m̄_j = ‖c̄_j‖,
//! ```
//!
//! by |x̃_p c̃_p − x̄_p c̄_p| ≤ (2u_b + u_b²)|x̄_p c̄_p|, the fp32 summation bound
//! γ_n = n·u/(1 − n·u) (u = 2⁻²⁴) and Cauchy–Schwarz Σ|x̄_p c̄_p| ≤ ‖x̄‖‖c̄_j‖ (Higham,
//! *Accuracy and Stability of Numerical Algorithms*, §3.1). The row's slack γ collects the
//! rest, each term an upper bound: the exact pass's own error (2γ_d + 2u)(C + 2·‖x‖·M), the
//! centring's rounding 2⁻²²(‖x̄‖ + M̄)², the roundings of s̃ and of s̃ ± α·m̄
//! 4u(C̄ + (2 + A)·‖x̄‖·M̄), and the flushing of subnormals by `vdpbf16ps`
//! d·2⁻¹²⁴(‖x̄‖ + M̄ + 1) (C, M, C̄, M̄: largest norm term and norm of the centroids,
//! uncentred and centred), all times 1.01.
//!
//! Let U = min_j (s̃_j + α·m̄_j). Every centroid with `s̃_j − α·m̄_j > U + 2γ` has
//! s_j > s_{j*} ≥ min s for the j* attaining U, strictly, so it is neither the nearest nor
//! tied with it. The others (the candidates: 1.1–1.7 per row on the benchmark's data with
//! k = 256–1024) are rescored exactly with the exact pass's chain
//! ([`simd::bf16::exact_dots`], from a row-major copy of the centroids), and the lowest id
//! of minimal exact score wins: the exact pass's label and score, bit for bit. Rows whose
//! norms are too large for the bound to be finite (‖x̄‖·M̄ > 10³⁰) take the exact pass.
//!
//! # When
//! Only with AVX-512 BF16, shapes where the halved dot products outweigh the per-row costs
//! ([`wanted`]; Hamerly's top-2 pass from [`TOP2_MIN_K`]) and 16 ≤ d ≤ 8192; `VORN_BF16=0`
//! turns it off. Memory: bf16 panels (k·d·2 bytes) and a row-major copy (k·d·4 bytes) next to
//! the fp32 panels; per worker ROW_BLOCK × k floats of bounds (hence k ≤ [`SCREEN_MAX_K`]).

use super::{PackedCentroids, ROW_BLOCK};
use crate::data::MatrixView;
use crate::metric::Metric;
use crate::simd::{self, Isa, LANES, MAX_NP, MR};
use std::sync::OnceLock;

/// Fewest centroids for which the screen is used (from 512 at any d ≥ 16, from 256 when
/// d ≥ 128; see `wanted`).
pub const SCREEN_MIN_K: usize = 256;

const U32: f64 = 1.0 / (1u64 << 24) as f64;
/// Coefficient of the centring's rounding term, 2⁻²².
const CENTRE_ERR: f64 = 1.0 / (1u64 << 22) as f64;

/// γ_n = n·u/(1 − n·u), the fp32 summation bound of n terms.
fn gamma_n(n: f64) -> f64 {
    n * U32 / (1.0 - n * U32)
}

/// Fewest centroids for which the top-2 pass (Hamerly's) is screened: its candidates are
/// those within the second least upper bound, about twice the arg-min's (2.5–2.9 per row on
/// the benchmark's data), and at k = 256 the screen gained nothing measurable (anisotropic
/// 100k × 768: first Hamerly pass 0.19 s exact, 0.18–0.21 s screened).
pub const TOP2_MIN_K: usize = 512;

/// Whether the screen runs at all on this machine (AVX-512 BF16, not disabled).
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            simd::active() == Isa::Avx512
                && simd::bf16::available()
                && std::env::var("VORN_BF16").map_or(true, |v| v != "0")
        }
        #[cfg(not(target_arch = "x86_64"))]
        false
    })
}

/// Whether centroids of this shape get screening panels. Below these shapes the per-row
/// costs (conversion, bounds, the candidate scan and rescoring) eat the halved dot-product
/// time (`examples/assign_gflops`, 2 threads, GFLOP/s exact → screened, alternating runs):
/// uniform 1M × 64, k = 128: 175 → 106, k = 256: 196 → 166–174, k = 1024: 201 → 238–244;
/// blobs 200k × 128, k = 256: 195–205 → 215–234, k = 512: 214 → 243, k = 1024: 214 → 271–305;
/// normal 100k × 128, k = 256: 206–212 → 217–230; anisotropic 100k × 768, k = 256: 216 → 280;
/// Fashion-MNIST k = 256: 219 → 251; GloVe 400k × 50, k = 1024: 201 → 214.
pub fn wanted(k: usize, d: usize) -> bool {
    (k >= 512 || (k >= SCREEN_MIN_K && d >= 128))
        && k <= SCREEN_MAX_K
        && (16..=8192).contains(&d)
        && enabled()
}

/// Most centroids for which the screen is used: its per-worker bounds (ROW_BLOCK × k floats)
/// stay within 16 MiB.
pub const SCREEN_MAX_K: usize = 1 << 16;

/// Centroids centred, rounded to bf16 and packed for [`simd::bf16::screen_tile`].
#[derive(Debug, Clone)]
pub struct ScreenPanels {
    d2: usize,
    mu: Vec<f32>,
    /// npanels × d2 × 16 words (a word: dimensions 2p, 2p+1 of one centroid).
    panels: Vec<u32>,
    /// Centred norm terms (‖c̄‖², or 1 for cosine); +∞ on padding.
    cn: Vec<f32>,
    /// ‖c̄_j‖; 0 on padding.
    m: Vec<f32>,
    /// The centroids, row-major `k × d` (exact rescoring reads a candidate's own row).
    rows: Vec<f32>,
    /// C + 2·M·‖x‖ = c_term + m_max·‖x‖ coefficients of the slack (uncentred).
    c_max: f64,
    m_max: f64,
    /// Centred C̄, M̄.
    cb_max: f64,
    mb_max: f64,
    /// ‖μ‖ (bounds ‖x‖ ≤ ‖x̄‖ + ‖μ‖).
    mu_norm: f64,
    /// A of the module doc.
    a: f64,
    /// 2γ_d + 2u: the exact pass's relative error.
    exact_err: f64,
    /// d·2⁻¹²⁴: the subnormal flushing term's coefficient.
    flush: f64,
}

impl ScreenPanels {
    /// Packs row-major `k × d` centroids; `None` when their norms are out of the bound's range.
    pub fn new(c: &[f32], k: usize, d: usize, metric: Metric) -> Option<Self> {
        let npanels = k.div_ceil(LANES);
        let mut mu = vec![0f32; d];
        if metric == Metric::L2 {
            let mut s = vec![0f64; d];
            for row in c.chunks(d) {
                for (a, &v) in s.iter_mut().zip(row) {
                    *a += v as f64;
                }
            }
            for (m, a) in mu.iter_mut().zip(&s) {
                *m = (a / k as f64) as f32;
            }
        }
        let d2 = d.div_ceil(2);
        let mut panels = vec![0u32; npanels * d2 * LANES];
        let mut cn = vec![f32::INFINITY; npanels * LANES];
        let mut m = vec![0f32; npanels * LANES];
        let mut words = vec![0u16; 2 * d2];
        let (mut c_max, mut m_max, mut cb_max, mut mb_max) = (0f64, 0f64, 0f64, 0f64);
        for j in 0..k {
            let row = &c[j * d..(j + 1) * d];
            // SAFETY: `wanted` (the only caller's condition) checked the CPU.
            #[cfg(target_arch = "x86_64")]
            unsafe {
                simd::bf16::to_bf16(row, &mu, &mut words)
            };
            let (q, l) = (j / LANES, j % LANES);
            for p in 0..d2 {
                panels[(q * d2 + p) * LANES + l] =
                    words[2 * p] as u32 | (words[2 * p + 1] as u32) << 16;
            }
            let n2: f64 = row.iter().map(|&v| v as f64 * v as f64).sum();
            let nb2: f64 = row
                .iter()
                .zip(&mu)
                .map(|(&v, &u)| ((v - u) as f64).powi(2))
                .sum();
            let (term, bterm) = match metric {
                Metric::L2 => (n2, nb2),
                Metric::Cosine => (1.0, 1.0),
            };
            cn[j] = bterm as f32;
            m[j] = nb2.sqrt() as f32;
            c_max = c_max.max(term);
            m_max = m_max.max(n2.sqrt());
            cb_max = cb_max.max(bterm);
            mb_max = mb_max.max(nb2.sqrt());
        }
        let mu_norm = mu.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt();
        let ok = [c_max, m_max, cb_max, mb_max, mu_norm]
            .iter()
            .all(|v| v.is_finite() && *v < 1e30);
        ok.then_some(ScreenPanels {
            d2,
            mu,
            panels,
            cn,
            m,
            rows: c.to_vec(),
            c_max,
            m_max,
            cb_max,
            mb_max,
            mu_norm,
            a: {
                let ub: f64 = 1.0 / 256.0;
                2.0 * (2.0 * ub + ub * ub + 2.0 * gamma_n(2.0 * d2 as f64) * (1.0 + ub).powi(2))
                    * 1.01
            },
            exact_err: 2.0 * gamma_n(d as f64) + 2.0 * U32,
            flush: d as f64 * 2f64.powi(-124),
        })
    }

    /// (α, 2γ) of a row with centred squared norm `xb2` (see the module doc), or `None` when
    /// the bound is out of range.
    #[inline]
    fn margins(&self, xb2: f64) -> Option<(f32, f32)> {
        let xb = xb2.sqrt() * 1.01;
        let x = xb + self.mu_norm * 1.01;
        let (mb, cb) = (self.mb_max, self.cb_max);
        if !(xb * mb.max(1.0) <= 1e30 && x * self.m_max.max(1.0) <= 1e30) {
            return None;
        }
        let gamma = 1.01
            * (self.exact_err * (self.c_max + 2.0 * x * self.m_max)
                + (xb + mb) * (xb + mb) * CENTRE_ERR
                + 4.0 * U32 * (cb + (2.0 + self.a) * xb * mb)
                + self.flush * (xb + mb + 1.0));
        // Rounded up so that the f32 values bound the f64 ones.
        Some((up(self.a * xb), up(2.0 * gamma)))
    }
}

/// The smallest f32 ≥ v (v ≥ 0, finite).
fn up(v: f64) -> f32 {
    let f = v as f32;
    if (f as f64) < v {
        f.next_up()
    } else {
        f
    }
}

/// Per-worker buffers of the screened pass.
#[derive(Default)]
pub struct ScreenScratch {
    xb: Vec<u32>,
    lower: Vec<f32>,
    umin: Vec<f32>,
    pairs: Vec<(u32, u32)>,
}

/// Panels per centroid block: ~384 KiB of bf16 panels.
fn panels_per_block(d2: usize) -> usize {
    let p = (384 * 1024 / (d2 * LANES * 4).max(1)).max(MAX_NP);
    p - p % MAX_NP
}

/// Labels and scores of rows `r0..r0 + labels.len()` (at most [`ROW_BLOCK`]) through the
/// screen, and with `second` each row's second-best score (the exact pass's top-2: the
/// second least score of the multiset; candidates are then those within the second least
/// upper bound, which no other centroid can undercut); `false` when a row's bound is out of
/// range (the caller then runs the exact pass, which overwrites anything written).
#[cfg(target_arch = "x86_64")]
pub(super) fn screen_block(
    x: MatrixView<'_>,
    c: &PackedCentroids,
    sp: &ScreenPanels,
    r0: usize,
    labels: &mut [u32],
    scores: &mut [f32],
    mut second: Option<&mut [f32]>,
    s: &mut ScreenScratch,
) -> bool {
    let two = second.is_some();
    let uw = if two { 2 * LANES } else { LANES };
    let (d, k, d2) = (x.d(), c.k(), sp.d2);
    let rows = labels.len();
    assert!(rows <= ROW_BLOCK && r0 + rows <= x.n());
    let np = c.npanels();
    let kp = np * LANES;
    let tiles = rows.div_ceil(MR);
    // Real rows are overwritten below; the padding rows of the last tile are zero. Words
    // are u32 (the kernel reads pairs of bf16 as one aligned word).
    if s.xb.len() < tiles * MR * d2 {
        s.xb.resize(tiles * MR * d2, 0);
    }
    s.xb[rows * d2..tiles * MR * d2].fill(0);
    let mut alpha = [[0f32; MR]; ROW_BLOCK / MR];
    let mut slack = [0f32; ROW_BLOCK];
    for i in 0..rows {
        let row = x.row(r0 + i);
        let words = &mut s.xb[i * d2..(i + 1) * d2];
        // SAFETY: a u32 buffer viewed as twice as many u16 (alignment 4 ≥ 2); `wanted`
        // checked the CPU; lengths as `to_bf16` requires.
        let xb2 = unsafe {
            let halves = std::slice::from_raw_parts_mut(words.as_mut_ptr() as *mut u16, 2 * d2);
            simd::bf16::to_bf16(row, &sp.mu, halves)
        };
        let Some((a, g2)) = sp.margins(xb2 as f64) else {
            return false;
        };
        alpha[i / MR][i % MR] = a;
        slack[i] = g2;
    }
    // Every bound of the block's tiles is written by the screen before it is read.
    if s.lower.len() < tiles * MR * kp {
        s.lower.resize(tiles * MR * kp, 0.0);
    }
    s.umin.clear();
    s.umin.resize(tiles * MR * uw, f32::INFINITY);
    let block = panels_per_block(d2);
    let xw = s.xb.as_ptr();
    let mut qb = 0;
    while qb < np {
        let qe = (qb + block).min(np);
        let mut q = qb;
        while q < qe {
            let left = qe - q;
            let g = if left == 4 { 2 } else { left.min(MAX_NP) };
            for t in 0..tiles {
                // SAFETY: the CPU was checked; the row words, panels q..q+g, their norm
                // terms and the bound rows of tile t are in bounds by construction.
                unsafe {
                    let xp = xw.add(t * MR * d2);
                    let pp = sp.panels.as_ptr().add(q * d2 * LANES);
                    let cp = sp.cn.as_ptr().add(q * LANES);
                    let mp = sp.m.as_ptr().add(q * LANES);
                    let lp = s.lower.as_mut_ptr().add(t * MR * kp + q * LANES);
                    let um = s.umin.as_mut_ptr().add(t * MR * uw);
                    let (ps, al) = (d2 * LANES, &alpha[t]);
                    use simd::bf16::screen_tile;
                    match (g, two) {
                        (1, false) => {
                            screen_tile::<1, false>(xp, d2, d2, pp, ps, cp, mp, al, lp, kp, um)
                        }
                        (2, false) => {
                            screen_tile::<2, false>(xp, d2, d2, pp, ps, cp, mp, al, lp, kp, um)
                        }
                        (_, false) => {
                            screen_tile::<3, false>(xp, d2, d2, pp, ps, cp, mp, al, lp, kp, um)
                        }
                        (1, true) => {
                            screen_tile::<1, true>(xp, d2, d2, pp, ps, cp, mp, al, lp, kp, um)
                        }
                        (2, true) => {
                            screen_tile::<2, true>(xp, d2, d2, pp, ps, cp, mp, al, lp, kp, um)
                        }
                        (_, true) => {
                            screen_tile::<3, true>(xp, d2, d2, pp, ps, cp, mp, al, lp, kp, um)
                        }
                    }
                }
            }
            q += g;
        }
        qb = qe;
    }
    // Candidates: panels holding a centroid whose lower bound is within the threshold.
    s.pairs.clear();
    for i in 0..rows {
        let lanes = &s.umin[i * uw..(i + 1) * uw];
        let u = if two {
            // Second least of the multiset of upper bounds: the second least of the lanes'
            // least values, or a lane's second value.
            let (mut a, mut b) = (f32::INFINITY, f32::INFINITY);
            for &v in &lanes[..LANES] {
                b = b.min(a.max(v));
                a = a.min(v);
            }
            lanes[LANES..].iter().fold(b, |m, &v| m.min(v))
        } else {
            // A 4-way tree (16 sequential dependent mins cost ~3 cycles each).
            let m4: [f32; 4] = std::array::from_fn(|j| {
                lanes[j]
                    .min(lanes[j + 4])
                    .min(lanes[j + 8].min(lanes[j + 12]))
            });
            m4[0].min(m4[1]).min(m4[2].min(m4[3]))
        };
        let thr = up(u as f64 + slack[i] as f64);
        let lo = &s.lower[i * kp..(i + 1) * kp];
        // SAFETY: the CPU was checked; `lo` holds np panels.
        unsafe { simd::bf16::candidates_at_most(lo, thr, k, i as u32, &mut s.pairs) };
    }
    // Exact rescoring, 16 (row, centroid) pairs at a time from the row-major centroids
    // (a candidate costs its own d floats, not a whole panel's 16·d), merged per row in
    // ascending centroid id: the lowest id of minimal score, and the multiset's second.
    for (v, l) in scores.iter_mut().zip(labels.iter_mut()) {
        *v = f32::INFINITY;
        *l = u32::MAX;
    }
    for chunk in s.pairs.chunks(16) {
        let pick = |r: usize| chunk[r.min(chunk.len() - 1)];
        let rp: [*const f32; 16] = std::array::from_fn(|r| x.row(r0 + pick(r).0 as usize).as_ptr());
        let cp: [*const f32; 16] =
            std::array::from_fn(|r| sp.rows[pick(r).1 as usize * d..].as_ptr());
        // SAFETY: AVX-512F checked; every row and centroid holds d floats.
        let dots = unsafe { simd::bf16::exact_dots(&rp, &cp, d) };
        for (&(i, j), &dot) in chunk.iter().zip(&dots) {
            let i = i as usize;
            // The exact kernel's score: fma(−2, x·c, ‖c‖²).
            let v = (-2f32).mul_add(dot, c.norm_term(j as usize));
            let first = labels[i] == u32::MAX;
            if let Some(sec) = second.as_deref_mut() {
                sec[i] = if first {
                    f32::INFINITY
                } else if v < scores[i] {
                    scores[i]
                } else {
                    sec[i].min(v)
                };
            }
            if first || v < scores[i] {
                scores[i] = v;
                labels[i] = j;
            }
        }
    }
    // Every row has a candidate (the centroid attaining U); anything else is a bug, and
    // the exact pass then redoes the block.
    debug_assert!(labels.iter().all(|&l| l != u32::MAX));
    labels.iter().all(|&l| l != u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::{assign, assign_with, top2};
    use crate::rng::Rng;

    /// Screened pass == the scalar twin's exact pass, labels and score bits.
    /// Returns whether the centroids were screened.
    fn check(x: &[f32], n: usize, c: &[f32], k: usize, d: usize, metric: Metric) -> bool {
        let pc = PackedCentroids::new(c, k, d, metric);
        let xv = MatrixView::new(x, n, d).unwrap();
        let got = assign(xv, &pc, &|| false).unwrap();
        let (mut labels, mut scores) = (vec![0u32; n], vec![0f32; n]);
        assign_with(Isa::Scalar, xv, &pc, &mut labels, &mut scores, &|| false).unwrap();
        for i in 0..n {
            assert_eq!(
                (got.labels[i], got.scores[i].to_bits()),
                (labels[i], scores[i].to_bits()),
                "{metric:?} k {k} d {d} row {i}: {} vs {}",
                got.scores[i],
                scores[i]
            );
        }
        // Top-2 (Hamerly's pass): label, best and second-best score bits of the exact pass.
        let mut got2 = vec![(0u32, 0f32, 0f32); n];
        let mut want2 = got2.clone();
        top2(xv, &pc, &mut got2, &|| false).unwrap();
        let exact = PackedCentroids::new_exact(c, k, d, metric);
        top2(xv, &exact, &mut want2, &|| false).unwrap();
        for i in 0..n {
            let bits = |e: (u32, f32, f32)| (e.0, e.1.to_bits(), e.2.to_bits());
            assert_eq!(
                bits(got2[i]),
                bits(want2[i]),
                "{metric:?} k {k} d {d} row {i}: top-2 {:?} vs {:?}",
                got2[i],
                want2[i]
            );
            assert_eq!(
                (want2[i].0, want2[i].1.to_bits()),
                (labels[i], scores[i].to_bits())
            );
        }
        pc.screened()
    }

    fn normal(r: &mut Rng, len: usize, scale: f32, offset: f32) -> Vec<f32> {
        (0..len)
            .map(|_| offset + scale * r.normal() as f32)
            .collect()
    }

    #[test]
    fn screened_labels_and_scores_are_the_exact_pass_bits() {
        let mut r = Rng::new(11);
        for &(k, d) in &[
            (512, 64),
            (600, 50),
            (1024, 16),
            (257, 300),
            (256, 768),
            (256, 128),
        ] {
            assert_eq!(wanted(k, d), enabled());
            for metric in [Metric::L2, Metric::Cosine] {
                let n = 700;
                // Rows near the centroids (small gaps between the nearest two), off-centre.
                let c = normal(&mut r, k * d, 1.0, 3.0);
                let mut x = Vec::with_capacity(n * d);
                for i in 0..n {
                    let j = (i * 7) % k;
                    x.extend(
                        c[j * d..(j + 1) * d]
                            .iter()
                            .map(|&v| v + 0.05 * r.normal() as f32),
                    );
                }
                assert_eq!(check(&x, n, &c, k, d, metric), wanted(k, d));
                // Plain random rows.
                let x = normal(&mut r, n * d, 2.0, -1.0);
                assert_eq!(check(&x, n, &c, k, d, metric), wanted(k, d));
            }
        }
    }

    #[test]
    fn exact_ties_go_to_the_lowest_id_as_in_the_exact_pass() {
        // Small-integer data and duplicated centroids: many exactly equal scores.
        let (n, k, d) = (600, 520, 32);
        let mut r = Rng::new(5);
        let mut c: Vec<f32> = (0..k * d).map(|_| (r.below(3) as f32) - 1.0).collect();
        for j in (0..k).step_by(5) {
            let src = (j * 13 + 1) % k;
            let row = c[src * d..(src + 1) * d].to_vec();
            c[j * d..(j + 1) * d].copy_from_slice(&row);
        }
        let mut x: Vec<f32> = (0..n * d).map(|_| (r.below(3) as f32) - 1.0).collect();
        // Some rows sit exactly on (duplicated) centroids.
        for i in (0..n).step_by(3) {
            let j = (i * 5) % k;
            let row = c[j * d..(j + 1) * d].to_vec();
            x[i * d..(i + 1) * d].copy_from_slice(&row);
        }
        assert_eq!(check(&x, n, &c, k, d, Metric::L2), wanted(k, d));
        assert_eq!(check(&x, n, &c, k, d, Metric::Cosine), wanted(k, d));
    }

    #[test]
    fn extreme_scales_stay_exact() {
        // Tiny values (subnormal squares), huge ones (no screening panels: norms past the
        // bound's range) and large offsets (centring).
        let (n, k, d) = (300, 512, 24);
        let mut r = Rng::new(9);
        for &(scale, offset) in &[(1e-19f32, 0.0f32), (1e15, 0.0), (1.0, 1e6), (1e-3, 1e4)] {
            let c = normal(&mut r, k * d, scale, offset);
            let x = normal(&mut r, n * d, scale, offset);
            let screened = check(&x, n, &c, k, d, Metric::L2);
            assert_eq!(screened, wanted(k, d) && scale < 1e10, "scale {scale}");
        }
    }

    #[test]
    fn below_the_threshold_no_screen_is_built() {
        let c = vec![0.5f32; (SCREEN_MAX_K + 1) * 16];
        for (k, d) in [
            (SCREEN_MIN_K - 1, 300),
            (511, 64),
            (512, 8),
            (300, 127),
            (SCREEN_MAX_K + 1, 16),
        ] {
            let pc = PackedCentroids::new(&c[..k * d], k, d, Metric::L2);
            assert!(!pc.screened(), "k {k} d {d}");
        }
    }
}
