//! The scalar twin: the reference semantics of every kernel (and the kernel of CPUs with
//! neither AVX-512 nor AVX2 + FMA).

use super::{Acc, LaneBest, Tile, LANES, MAX_NP, MR};

/// The first `lanes` dot products of row i with panel q (the others stay 0).
#[inline(always)]
fn dots(t: &Tile<'_>, q: usize, i: usize, init: Option<&Acc>, lanes: usize) -> [f32; LANES] {
    let mut acc = [0f32; LANES];
    if let Some(a) = init {
        acc[..lanes].copy_from_slice(&a[i * MAX_NP * LANES + q * LANES..][..lanes]);
    }
    let panel = &t.panels[q * t.pstride..];
    for p in 0..t.d {
        let a = t.x[i * t.xs + p];
        let b = &panel[p * LANES..(p + 1) * LANES];
        for l in 0..lanes {
            acc[l] = a.mul_add(b[l], acc[l]);
        }
    }
    acc
}

#[inline(always)]
fn dot_body(t: &Tile<'_>, acc: &mut Acc, resume: bool) {
    let init = if resume { Some(*acc) } else { None };
    for q in 0..t.np {
        let lanes = t.lanes(q);
        for i in 0..MR {
            let a = dots(t, q, i, init.as_ref(), lanes);
            acc[i * MAX_NP * LANES + q * LANES..][..lanes].copy_from_slice(&a[..lanes]);
        }
    }
}

#[inline(always)]
fn argmin_body<const TOP2: bool>(t: &Tile<'_>, init: Option<&Acc>, best: &mut LaneBest) {
    for q in 0..t.np {
        let lanes = t.lanes(q);
        for i in 0..MR {
            let acc = dots(t, q, i, init, lanes);
            for l in 0..lanes {
                let s = (-2f32).mul_add(acc[l], t.cn[q * LANES + l]);
                let k = i * LANES + l;
                if s < best.v[k] {
                    if TOP2 {
                        best.v2[k] = best.v[k];
                    }
                    best.v[k] = s;
                    best.idx[k] = t.j0 + (q * LANES + l) as u32;
                } else if TOP2 && s < best.v2[k] {
                    best.v2[k] = s;
                }
            }
        }
    }
}

#[inline(always)]
fn score_body(t: &Tile<'_>, init: Option<&Acc>, out: &mut Acc) {
    for q in 0..t.np {
        let lanes = t.lanes(q);
        for i in 0..MR {
            let acc = dots(t, q, i, init, lanes);
            for l in 0..lanes {
                out[i * MAX_NP * LANES + q * LANES + l] =
                    (-2f32).mul_add(acc[l], t.cn[q * LANES + l]);
            }
        }
    }
}

/// Scalar partial dot products.
pub fn dot_tile(t: &Tile<'_>, acc: &mut Acc, resume: bool) {
    dot_body(t, acc, resume)
}

/// Scalar arg-min tile.
pub fn argmin_tile(t: &Tile<'_>, init: Option<&Acc>, best: &mut LaneBest) {
    argmin_body::<false>(t, init, best)
}

/// Scalar top-2 arg-min tile.
pub fn argmin2_tile(t: &Tile<'_>, init: Option<&Acc>, best: &mut LaneBest) {
    argmin_body::<true>(t, init, best)
}

/// Scalar score tile.
pub fn score_tile(t: &Tile<'_>, init: Option<&Acc>, out: &mut Acc) {
    score_body(t, init, out)
}
