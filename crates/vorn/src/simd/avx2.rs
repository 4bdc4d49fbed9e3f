//! AVX2 + FMA micro-kernel, for x86-64 CPUs without AVX-512 (AMD Zen 2/3, Intel before
//! Skylake-SP and most client cores).
//!
//! A tile is MR = 8 rows × C *columns* of 8 centroids (one ymm register of f32): a full
//! panel of 16 centroids is two columns, a half last panel ([`Tile::half`]) one, so
//! C = 2·np − half ∈ 1..=6. Sixteen ymm registers cannot hold the AVX-512 kernel's 8 × 6
//! accumulator block, so the tile is swept in register blocks of R rows × G columns, each
//! running the whole p range on its own:
//!
//! | C | blocks (rows × columns)                         | accumulators |
//! |---|-------------------------------------------------|--------------|
//! | 1 | 8 × 1                                           | 8            |
//! | 2 | 4 × 2, twice                                    | 8            |
//! | 3 | 4 × 2, twice; 8 × 1                             | 8            |
//! | 4 | rows 0..6: 6 × 2, twice; rows 6..8: 2 × 4       | 12, 8        |
//! | 5 | as C = 4, then 8 × 1                            | 12, 8, 8     |
//! | 6 | rows 0..6: 6 × 2, three times; rows 6..8: 2 × 6 | 12           |
//!
//! A tall block (R > G) loads its G columns and broadcasts one row value at a time; a wide
//! one (2 × 4, 2 × 6) broadcasts its two row values and loads one column at a time, so
//! either needs its accumulators plus at most three registers: 6 × 2 and 2 × 6 use 15 of
//! the 16 and the compiler keeps them all in registers. Twelve independent chains cover
//! the fma latency × throughput product with room to spare (4 cycles × 2 pipes = 8 on
//! Zen 3/4; an 8-register fma loop reaches about 86% of a 12-register one on Zen 3 in
//! published microbenchmarks), where the earlier 4 × 2 blocks had exactly 8. A 4 × 3 block
//! (12 chains) needs all sixteen registers and the compiler spilled one accumulator to the
//! stack on every step: 1M × 64, k = 1024 ran at 50 GFLOP/s against 108 for 4 × 2 blocks
//! (2 threads, AMD EPYC Zen 3). Measured with `VORN_SIMD=avx2` on Zen 4 (the same two
//! 256-bit fma pipes; `examples/assign_gflops`, 2 threads, three alternating rounds of the
//! best of 20–25 passes, 4 × 2 → 6 × 2 + 2 × C): 100k × 768, k = 256 166–174 → 171–199
//! GFLOP/s; 1M × 64, k = 1024 153–167 → 159–167; Fashion-MNIST k = 40 153–174 → 153–170;
//! 20 Newsgroups k = 80 158–164 → 148–188; 200k × 128, k = 256 151–182 → 156–167: no shape
//! lost beyond the VM's noise. Zen 4 hides the fma latency with 8 chains; the 12 are for
//! cores that do not (not measured here: the AVX2-only benchmark machine is Zen 3).
//!
//! Every (row, centroid) pair still sees the sequential chain `acc ← fma(x[p], c[p], acc)`,
//! p = 0..d, then `fma(−2, acc, ‖c‖²)`, so the bits are the scalar twin's whatever the
//! blocking (the tests compare every ISA with it). Column blocks of a row are merged into
//! the lane-wise arg-min in ascending column order, which visits each lane's centroids in
//! ascending id, as the scalar twin does, so ties and the top-2 bookkeeping agree too.
//!
//! The arg-min sinks read and write the [`LaneBest`] lanes with volatile aligned accesses.
//! With plain loads and stores LLVM promoted the whole `LaneBest` to values living across
//! the sweep, which did not fit in sixteen registers: it spilled them to the stack and
//! stored every merged lane twice (to the spill slot and to `LaneBest`), so the epilogue of
//! a 6 × 2 block cost about a quarter of its 64 fma steps. The volatile accesses pin each
//! merge to one load and one store of the value and id lanes (`examples/assign_gflops`,
//! `VORN_SIMD=avx2` on Zen 4, 2 threads, best of 10 passes, two alternating rounds; a pass
//! with the epilogue cut out ran at 219 GFLOP/s at 1M × 64, k = 1024): 1M × 64, k = 1024
//! 178–179 → 202–204 GFLOP/s; 200k × 64, k = 256 173–175 → 195; 200k × 65, k = 257
//! 160 → 192–193; 100k × 768, k = 256 206–208 → 211–213. The dot-product sink resumes
//! from its accumulators in place instead of from a copy of them.
#![allow(unsafe_op_in_unsafe_fn)]

use super::{Acc, LaneBest, Tile, HALF, LANES, MAX_NP, MR};
use std::arch::x86_64::*;
use std::ptr::{read_volatile, write_volatile};

// The arg-min sinks read and write a LaneBest row's lanes as aligned __m256 (offsets are
// multiples of 8 lanes).
const _: () = assert!(std::mem::align_of::<LaneBest>() >= 32 && HALF == 8);

/// Offset of column c's first value (for p = 0) from the start of the panels.
#[inline(always)]
fn col_off(t: &Tile<'_>, c: usize) -> usize {
    (c / 2) * t.pstride + (c % 2) * HALF
}

/// Offset of column c in a row of an [`Acc`] (and of `cn`, and of a [`LaneBest`] row's
/// lanes via `% LANES`).
#[inline(always)]
fn acc_off(c: usize) -> usize {
    (c / 2) * LANES + (c % 2) * HALF
}

/// The dot products of rows r0..r0+R with columns c0..c0+G over the tile's p range,
/// continuing from the accumulators at `init` (the start of an [`Acc`]) if given.
#[inline(always)]
unsafe fn block<const R: usize, const G: usize>(
    t: &Tile<'_>,
    r0: usize,
    c0: usize,
    init: Option<*const f32>,
) -> [[__m256; G]; R] {
    let mut acc = [[_mm256_setzero_ps(); G]; R];
    if let Some(a) = init {
        for i in 0..R {
            for g in 0..G {
                acc[i][g] = _mm256_loadu_ps(a.add((r0 + i) * MAX_NP * LANES + acc_off(c0 + g)));
            }
        }
    }
    let rs = t.xs;
    let x = t.x.as_ptr().add(r0 * rs);
    let mut cols = [t.panels.as_ptr(); G];
    for g in 0..G {
        cols[g] = t.panels.as_ptr().add(col_off(t, c0 + g));
    }
    let mut p0 = 0;
    while p0 < t.d {
        // The next tile's rows (MR rows on), one cache line per row every 16 steps, as the
        // AVX-512 kernel does (prefetches never fault).
        for i in 0..R {
            _mm_prefetch::<_MM_HINT_T0>(x.wrapping_add(p0 + (MR + i) * rs) as *const i8);
        }
        let p1 = (p0 + LANES).min(t.d);
        for p in p0..p1 {
            // In bounds: (c/2)·pstride + p·16 + (c%2)·8 + 7 < panels.len() and
            // (r0 + i)·xs + p < x.len() (Tile::check).
            if G <= R {
                // Tall block: G column registers, then one broadcast per row.
                let mut bv = [_mm256_setzero_ps(); G];
                for g in 0..G {
                    bv[g] = _mm256_loadu_ps(cols[g].add(p * LANES));
                }
                for i in 0..R {
                    let a = _mm256_broadcast_ss(&*x.add(i * rs + p));
                    for g in 0..G {
                        acc[i][g] = _mm256_fmadd_ps(a, bv[g], acc[i][g]);
                    }
                }
            } else {
                // Wide block: R broadcast registers, then one column register at a time.
                let mut av = [_mm256_setzero_ps(); R];
                for i in 0..R {
                    av[i] = _mm256_broadcast_ss(&*x.add(i * rs + p));
                }
                for g in 0..G {
                    let b = _mm256_loadu_ps(cols[g].add(p * LANES));
                    for i in 0..R {
                        acc[i][g] = _mm256_fmadd_ps(av[i], b, acc[i][g]);
                    }
                }
            }
        }
        p0 = p1;
    }
    acc
}

/// What a kernel does with a block's dot products.
trait Sink {
    unsafe fn take<const R: usize, const G: usize>(
        &mut self,
        t: &Tile<'_>,
        r0: usize,
        c0: usize,
        acc: &[[__m256; G]; R],
    );
}

/// Stores the partial dot products.
struct DotSink(*mut f32);

impl Sink for DotSink {
    #[inline(always)]
    unsafe fn take<const R: usize, const G: usize>(
        &mut self,
        _t: &Tile<'_>,
        r0: usize,
        c0: usize,
        acc: &[[__m256; G]; R],
    ) {
        for i in 0..R {
            for g in 0..G {
                let off = (r0 + i) * MAX_NP * LANES + acc_off(c0 + g);
                _mm256_storeu_ps(self.0.add(off), acc[i][g]);
            }
        }
    }
}

/// Stores the scores `‖c‖² − 2·acc`.
struct ScoreSink<'a>(&'a mut Acc);

impl Sink for ScoreSink<'_> {
    #[inline(always)]
    unsafe fn take<const R: usize, const G: usize>(
        &mut self,
        t: &Tile<'_>,
        r0: usize,
        c0: usize,
        acc: &[[__m256; G]; R],
    ) {
        let m2 = _mm256_set1_ps(-2.0);
        for g in 0..G {
            let cn = _mm256_loadu_ps(t.cn.as_ptr().add(acc_off(c0 + g)));
            for i in 0..R {
                let off = (r0 + i) * MAX_NP * LANES + acc_off(c0 + g);
                let s = _mm256_fmadd_ps(m2, acc[i][g], cn);
                _mm256_storeu_ps(self.0.as_mut_ptr().add(off), s);
            }
        }
    }
}

/// Merges the scores into the lane-wise (top-2) arg-min.
struct MinSink<'a, const TOP2: bool>(&'a mut LaneBest);

impl<const TOP2: bool> Sink for MinSink<'_, TOP2> {
    #[inline(always)]
    unsafe fn take<const R: usize, const G: usize>(
        &mut self,
        t: &Tile<'_>,
        r0: usize,
        c0: usize,
        acc: &[[__m256; G]; R],
    ) {
        let m2 = _mm256_set1_ps(-2.0);
        let iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let b = &mut *self.0;
        for g in 0..G {
            let c = c0 + g;
            let cn = _mm256_loadu_ps(t.cn.as_ptr().add(acc_off(c)));
            let ids =
                _mm256_add_epi32(iota, _mm256_set1_epi32((t.j0 as usize + acc_off(c)) as i32));
            // Lanes of a LaneBest row this column updates.
            let lo = (c % 2) * HALF;
            for i in 0..R {
                let k = (r0 + i) * LANES + lo;
                let vp = b.v.as_mut_ptr().add(k) as *mut __m256;
                let ip = b.idx.as_mut_ptr().add(k) as *mut __m256i;
                let sp = b.v2.as_mut_ptr().add(k) as *mut __m256;
                let s = _mm256_fmadd_ps(m2, acc[i][g], cn);
                let bv = read_volatile(vp);
                // s < best (ordered, quiet: NaN never wins, as in the scalar `<`).
                let m = _mm256_cmp_ps::<_CMP_LT_OQ>(s, bv);
                if TOP2 {
                    let sv = read_volatile(sp);
                    let m2nd = _mm256_cmp_ps::<_CMP_LT_OQ>(s, sv);
                    // second ← old best where s beats the best, else s where s beats it.
                    let nsv = _mm256_blendv_ps(_mm256_blendv_ps(sv, s, m2nd), bv, m);
                    write_volatile(sp, nsv);
                }
                write_volatile(vp, _mm256_blendv_ps(bv, s, m));
                let bi = read_volatile(ip);
                let ni = _mm256_castps_si256(_mm256_blendv_ps(
                    _mm256_castsi256_ps(bi),
                    _mm256_castsi256_ps(ids),
                    m,
                ));
                write_volatile(ip, ni);
            }
        }
    }
}

/// Runs the tile's register blocks for C columns (see the module table), handing each to
/// `sink` in ascending column order per row. For C ≤ 3 column pairs are the outer loop, so
/// a pair's panel data is read by both row halves while it is in L1 (`examples/assign_gflops`,
/// 2 threads, best of 10 passes, row-outer → column-outer: 20 Newsgroups k = 40: 108 → 131
/// GFLOP/s; k = 80: 137 → 149; 1M × 64, k = 1024: 102 → 117; 100k × 768, k = 256: 135 → 140);
/// for C ≥ 4 a pair is read once by the 6 × 2 block and once more by the 2 × C block.
#[inline(always)]
unsafe fn sweep<const C: usize, S: Sink>(t: &Tile<'_>, init: Option<*const f32>, sink: &mut S) {
    let mut c0 = 0;
    if C >= 4 {
        // Rows 0..6 by column pairs (12 chains), then rows 6..8 across all the pairs at
        // once (2 × 4 or 2 × 6: 8 or 12 chains).
        while c0 + 2 <= C {
            let a = block::<6, 2>(t, 0, c0, init);
            sink.take(t, 0, c0, &a);
            c0 += 2;
        }
        if C / 2 == 2 {
            let a = block::<2, 4>(t, 6, 0, init);
            sink.take(t, 6, 0, &a);
        } else {
            let a = block::<2, 6>(t, 6, 0, init);
            sink.take(t, 6, 0, &a);
        }
    } else {
        while c0 + 2 <= C {
            for r0 in [0, 4] {
                let a = block::<4, 2>(t, r0, c0, init);
                sink.take(t, r0, c0, &a);
            }
            c0 += 2;
        }
    }
    if C % 2 == 1 {
        // The odd last column for all eight rows at once: 8 chains rather than 4.
        let a = block::<8, 1>(t, 0, C - 1, init);
        sink.take(t, 0, C - 1, &a);
    }
}

/// Calls `sweep::<C>` for the tile's C = 2·np − half.
#[inline(always)]
unsafe fn by_cols<S: Sink>(t: &Tile<'_>, init: Option<*const f32>, sink: &mut S) {
    match 2 * t.np - usize::from(t.half) {
        1 => sweep::<1, S>(t, init, sink),
        2 => sweep::<2, S>(t, init, sink),
        3 => sweep::<3, S>(t, init, sink),
        4 => sweep::<4, S>(t, init, sink),
        5 => sweep::<5, S>(t, init, sink),
        _ => sweep::<6, S>(t, init, sink),
    }
}

/// AVX2 partial dot products.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `t` must satisfy `Tile::check`.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn dot_tile_avx2(t: &Tile<'_>, acc: &mut Acc, resume: bool) {
    // Each block reads its own accumulators before its sink overwrites them, so the tile
    // resumes from `acc` in place.
    let p = acc.as_mut_ptr();
    by_cols(t, resume.then_some(p as *const f32), &mut DotSink(p))
}

/// AVX2 arg-min tile.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `t` must satisfy `Tile::check`.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn argmin_tile_avx2(t: &Tile<'_>, init: Option<&Acc>, best: &mut LaneBest) {
    by_cols(t, init.map(|a| a.as_ptr()), &mut MinSink::<false>(best))
}

/// AVX2 top-2 arg-min tile.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `t` must satisfy `Tile::check`.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn argmin2_tile_avx2(t: &Tile<'_>, init: Option<&Acc>, best: &mut LaneBest) {
    by_cols(t, init.map(|a| a.as_ptr()), &mut MinSink::<true>(best))
}

/// AVX2 score tile.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `t` must satisfy `Tile::check`.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn score_tile_avx2(t: &Tile<'_>, init: Option<&Acc>, out: &mut Acc) {
    by_cols(t, init.map(|a| a.as_ptr()), &mut ScoreSink(out))
}

/// AVX2 [`super::finish_rows`]: the minimum over the 16 ordered lanes, then the lowest id
/// among the lanes equal to it (NaN lanes never win, as in the scalar reduction).
///
/// # Safety
/// The CPU must support AVX2; `labels.len() <= MR`, `scores.len() == labels.len()`.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn finish_rows_avx2(b: &LaneBest, labels: &mut [u32], scores: &mut [f32]) {
    let inf = _mm256_set1_ps(f32::INFINITY);
    let none = _mm256_set1_epi32(-1);
    for i in 0..labels.len() {
        let vp = b.v.as_ptr().add(i * LANES);
        let ip = b.idx.as_ptr().add(i * LANES) as *const __m256i;
        let (lo, hi) = (_mm256_loadu_ps(vp), _mm256_loadu_ps(vp.add(HALF)));
        // NaN lanes read as +∞ for the minimum.
        let olo = _mm256_cmp_ps::<_CMP_ORD_Q>(lo, lo);
        let ohi = _mm256_cmp_ps::<_CMP_ORD_Q>(hi, hi);
        let m8 = _mm256_min_ps(
            _mm256_blendv_ps(inf, lo, olo),
            _mm256_blendv_ps(inf, hi, ohi),
        );
        let m4 = _mm_min_ps(_mm256_castps256_ps128(m8), _mm256_extractf128_ps::<1>(m8));
        let m2 = _mm_min_ps(m4, _mm_movehl_ps(m4, m4));
        let m1 = _mm_min_ss(m2, _mm_shuffle_ps::<0b01>(m2, m2));
        let m = _mm256_broadcastss_ps(m1);
        // Lowest id among the (ordered) lanes equal to the minimum; ids of other lanes read
        // as u32::MAX. With every lane NaN or +∞ the minimum is +∞, as in the scalar loop.
        let elo = _mm256_castps_si256(_mm256_and_ps(_mm256_cmp_ps::<_CMP_EQ_OQ>(lo, m), olo));
        let ehi = _mm256_castps_si256(_mm256_and_ps(_mm256_cmp_ps::<_CMP_EQ_OQ>(hi, m), ohi));
        let ilo = _mm256_blendv_epi8(none, _mm256_loadu_si256(ip), elo);
        let ihi = _mm256_blendv_epi8(none, _mm256_loadu_si256(ip.add(1)), ehi);
        let j8 = _mm256_min_epu32(ilo, ihi);
        let j4 = _mm_min_epu32(
            _mm256_castsi256_si128(j8),
            _mm256_extracti128_si256::<1>(j8),
        );
        let j2 = _mm_min_epu32(j4, _mm_shuffle_epi32::<0b00_00_11_10>(j4));
        let j1 = _mm_min_epu32(j2, _mm_shuffle_epi32::<0b00_00_00_01>(j2));
        *labels.get_unchecked_mut(i) = _mm_cvtsi128_si32(j1) as u32;
        *scores.get_unchecked_mut(i) = _mm_cvtss_f32(m1);
    }
}
