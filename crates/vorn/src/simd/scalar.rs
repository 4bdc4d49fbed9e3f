//! The scalar twin: the reference semantics of every kernel, also compiled with AVX2 + FMA
//! enabled as the fallback for CPUs without AVX-512.

use super::{LaneBest, Tile, LANES, MAX_NP, MR};

#[inline(always)]
fn dots(t: &Tile<'_>, q: usize, i: usize) -> [f32; LANES] {
    let mut acc = [0f32; LANES];
    let panel = &t.panels[q * t.d * LANES..(q + 1) * t.d * LANES];
    let row = &t.x[i * t.ldx..i * t.ldx + t.d];
    for (p, &a) in row.iter().enumerate() {
        let b = &panel[p * LANES..(p + 1) * LANES];
        for l in 0..LANES {
            acc[l] = a.mul_add(b[l], acc[l]);
        }
    }
    acc
}

#[inline(always)]
fn argmin_body(t: &Tile<'_>, best: &mut LaneBest) {
    for q in 0..t.np {
        for i in 0..MR {
            let acc = dots(t, q, i);
            for l in 0..LANES {
                let s = (-2f32).mul_add(acc[l], t.cn[q * LANES + l]);
                let k = i * LANES + l;
                if s < best.v[k] {
                    best.v[k] = s;
                    best.idx[k] = t.j0 + (q * LANES + l) as u32;
                }
            }
        }
    }
}

#[inline(always)]
fn score_body(t: &Tile<'_>, out: &mut [f32; MR * MAX_NP * LANES]) {
    for q in 0..t.np {
        for i in 0..MR {
            let acc = dots(t, q, i);
            for l in 0..LANES {
                out[i * MAX_NP * LANES + q * LANES + l] =
                    (-2f32).mul_add(acc[l], t.cn[q * LANES + l]);
            }
        }
    }
}

/// Scalar arg-min tile.
pub fn argmin_tile(t: &Tile<'_>, best: &mut LaneBest) {
    argmin_body(t, best)
}

/// Scalar score tile.
pub fn score_tile(t: &Tile<'_>, out: &mut [f32; MR * MAX_NP * LANES]) {
    score_body(t, out)
}

/// The scalar twin compiled for AVX2 + FMA.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn argmin_tile_avx2(t: &Tile<'_>, best: &mut LaneBest) {
    argmin_body(t, best)
}

/// The scalar score tile compiled for AVX2 + FMA.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn score_tile_avx2(t: &Tile<'_>, out: &mut [f32; MR * MAX_NP * LANES]) {
    score_body(t, out)
}
