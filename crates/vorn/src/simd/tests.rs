use super::*;
use crate::rng::Rng;

fn random_tile_data(d: usize, np: usize, seed: u64) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut r = Rng::new(seed);
    let x: Vec<f32> = (0..MR * d).map(|_| r.normal() as f32).collect();
    let panels: Vec<f32> = (0..np * d * LANES).map(|_| r.normal() as f32).collect();
    let cn: Vec<f32> = (0..np * LANES)
        .map(|_| (r.next_f64() * 10.0) as f32)
        .collect();
    (x, panels, cn)
}

fn tile<'a>(x: &'a [f32], d: usize, panels: &'a [f32], cn: &'a [f32], np: usize) -> Tile<'a> {
    Tile {
        xs: d,
        x,
        d,
        panels,
        pstride: d * LANES,
        cn,
        np,
        j0: 32,
        half: false,
    }
}

#[test]
fn every_isa_matches_scalar_twin_bitwise() {
    for &d in &[1usize, 3, 16, 37, 128] {
        for np in 1..=MAX_NP {
            let (x, panels, cn) = random_tile_data(d, np, (d * 10 + np) as u64);
            let t = tile(&x, d, &panels, &cn, np);
            let mut ref_best = LaneBest::default();
            let mut ref_out = [0f32; MR * MAX_NP * LANES];
            let mut ref2 = LaneBest::default();
            argmin2_tile(Isa::Scalar, &t, None, &mut ref2);
            // Top-2 against the stored scores: best, lowest id, second best.
            let mut sc = [0f32; MR * MAX_NP * LANES];
            score_tile(Isa::Scalar, &t, None, &mut sc);
            for i in 0..MR {
                let row = &sc[i * MAX_NP * LANES..][..np * LANES];
                let (mut b, mut id, mut s2) = (f32::INFINITY, 0u32, f32::INFINITY);
                for (c, &v) in row.iter().enumerate() {
                    if v < b {
                        s2 = b;
                        b = v;
                        id = 32 + c as u32;
                    } else if v < s2 {
                        s2 = v;
                    }
                }
                assert_eq!(ref2.finish2(i), (b, id, s2));
            }
            argmin_tile(Isa::Scalar, &t, None, &mut ref_best);
            score_tile(Isa::Scalar, &t, None, &mut ref_out);
            for isa in available() {
                let mut b = LaneBest::default();
                let mut o = [0f32; MR * MAX_NP * LANES];
                argmin_tile(isa, &t, None, &mut b);
                score_tile(isa, &t, None, &mut o);
                let mut b2 = LaneBest::default();
                argmin2_tile(isa, &t, None, &mut b2);
                assert_eq!(b2.idx, ref2.idx);
                assert!(b2
                    .v2
                    .iter()
                    .zip(ref2.v2.iter())
                    .all(|(a, b)| a.to_bits() == b.to_bits()));
                assert_eq!(b.idx, ref_best.idx, "{isa:?} d={d} np={np}");
                assert!(b
                    .v
                    .iter()
                    .zip(ref_best.v.iter())
                    .all(|(a, b)| a.to_bits() == b.to_bits()));
                for i in 0..MR {
                    for c in 0..np * LANES {
                        let k = i * MAX_NP * LANES + c;
                        assert_eq!(
                            o[k].to_bits(),
                            ref_out[k].to_bits(),
                            "{isa:?} d={d} np={np}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn chunked_dimension_gives_identical_bits() {
    let d = 50;
    let np = 3;
    let (x, panels, cn) = random_tile_data(d, np, 77);
    for isa in available() {
        let whole = tile(&x, d, &panels, &cn, np);
        let mut want = [0f32; MR * MAX_NP * LANES];
        score_tile(isa, &whole, None, &mut want);
        let mut want_best = LaneBest::default();
        argmin_tile(isa, &whole, None, &mut want_best);
        for split in [1usize, 7, 25, 49] {
            let head = Tile {
                xs: d,
                x: &x,
                d: split,
                panels: &panels,
                pstride: d * LANES,
                cn: &cn,
                np,
                j0: 32,
                half: false,
            };
            let tail = Tile {
                xs: d,
                x: &x[split..],
                d: d - split,
                panels: &panels[split * LANES..],
                pstride: d * LANES,
                cn: &cn,
                np,
                j0: 32,
                half: false,
            };
            let mut acc = [0f32; MR * MAX_NP * LANES];
            dot_tile(isa, &head, &mut acc, false);
            let mut got = [0f32; MR * MAX_NP * LANES];
            score_tile(isa, &tail, Some(&acc), &mut got);
            assert!(
                got.iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{isa:?} split {split}"
            );
            let mut b = LaneBest::default();
            argmin_tile(isa, &tail, Some(&acc), &mut b);
            assert_eq!(b.idx, want_best.idx);
        }
    }
}

#[test]
fn scores_match_naive_formula() {
    let d = 20;
    let (x, panels, cn) = random_tile_data(d, 2, 9);
    let t = tile(&x, d, &panels, &cn, 2);
    let mut out = [0f32; MR * MAX_NP * LANES];
    score_tile(active(), &t, None, &mut out);
    for i in 0..MR {
        for q in 0..2 {
            for l in 0..LANES {
                let dot: f64 = (0..d)
                    .map(|p| x[i * d + p] as f64 * panels[q * d * LANES + p * LANES + l] as f64)
                    .sum();
                let want = cn[q * LANES + l] as f64 - 2.0 * dot;
                let got = out[i * MAX_NP * LANES + q * LANES + l] as f64;
                assert!(
                    (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                    "{got} vs {want}"
                );
            }
        }
    }
}

#[test]
fn ties_go_to_lowest_id() {
    let d = 4;
    let x = vec![1f32; MR * d];
    let panels = vec![0.5f32; 2 * d * LANES]; // every centroid identical
    let cn = vec![1f32; 2 * LANES];
    let t = Tile {
        xs: d,
        x: &x,
        d,
        panels: &panels,
        pstride: d * LANES,
        cn: &cn,
        np: 2,
        j0: 16,
        half: false,
    };
    for isa in available() {
        let mut b = LaneBest::default();
        argmin_tile(isa, &t, None, &mut b);
        for i in 0..MR {
            assert_eq!(b.finish(i).1, 16);
        }
    }
}

#[test]
fn finish_rows_equals_scalar_reduction_on_ties_inf_and_nan() {
    let mut r = crate::rng::Rng::new(77);
    for case in 0..200 {
        let mut b = LaneBest::default();
        for l in 0..MR * LANES {
            // Few distinct values so that ties across lanes are common.
            b.v[l] = match (case + l) % 11 {
                0 => f32::INFINITY,
                1 if case % 3 == 0 => f32::NAN,
                _ => (r.next_u64() % 4) as f32 - 1.0,
            };
            b.idx[l] = (r.next_u64() % 64) as u32;
        }
        if case % 7 == 0 {
            b.v[..LANES].fill(f32::NAN); // a row with no ordered lane
        }
        for m in [MR, 3] {
            for isa in available() {
                let mut lab = vec![0u32; m];
                let mut sc = vec![0f32; m];
                finish_rows(isa, &b, &mut lab, &mut sc);
                for i in 0..m {
                    let (s, id) = b.finish(i);
                    assert_eq!((sc[i].to_bits(), lab[i]), (s.to_bits(), id), "{isa:?} {i}");
                }
            }
        }
    }
}

#[test]
fn half_last_panel_gives_the_bits_of_the_full_panel() {
    // The last panel holds 8 centroids (upper lanes zero with ‖c‖² = +∞): a half tile must
    // give, on every ISA, the full scalar tile's scores on the real columns and the same lane
    // bests (padding never wins), whole or with the dimension split.
    for &d in &[1usize, 3, 16, 37, 128, 300] {
        for np in 1..=MAX_NP {
            let (x, mut panels, mut cn) = random_tile_data(d, np, (d * 31 + np) as u64);
            let last = (np - 1) * d * LANES;
            for p in 0..d {
                panels[last + p * LANES + HALF..last + (p + 1) * LANES].fill(0.0);
            }
            cn[(np - 1) * LANES + HALF..].fill(f32::INFINITY);
            let full = tile(&x, d, &panels, &cn, np);
            let half = Tile {
                half: true,
                ..tile(&x, d, &panels, &cn, np)
            };
            let real = (np - 1) * LANES + HALF;
            let mut want = [0f32; MR * MAX_NP * LANES];
            score_tile(Isa::Scalar, &full, None, &mut want);
            let (mut want1, mut want2) = (LaneBest::default(), LaneBest::default());
            argmin_tile(Isa::Scalar, &full, None, &mut want1);
            argmin2_tile(Isa::Scalar, &full, None, &mut want2);
            for isa in available() {
                let mut got = [0f32; MR * MAX_NP * LANES];
                score_tile(isa, &half, None, &mut got);
                let (mut b1, mut b2) = (LaneBest::default(), LaneBest::default());
                argmin_tile(isa, &half, None, &mut b1);
                argmin2_tile(isa, &half, None, &mut b2);
                for i in 0..MR {
                    for c in 0..real {
                        let k = i * MAX_NP * LANES + c;
                        assert_eq!(got[k].to_bits(), want[k].to_bits(), "{isa:?} d={d} np={np}");
                    }
                    assert_eq!(b1.finish(i), want1.finish(i));
                    assert_eq!(b2.finish2(i), want2.finish2(i));
                }
                assert_eq!(
                    (b1.idx, b2.idx),
                    (want1.idx, want2.idx),
                    "{isa:?} d={d} np={np}"
                );
                assert!(b1
                    .v
                    .iter()
                    .zip(&want1.v)
                    .all(|(a, b)| a.to_bits() == b.to_bits()));
                assert!(b2
                    .v2
                    .iter()
                    .zip(&want2.v2)
                    .all(|(a, b)| a.to_bits() == b.to_bits()));
                if d > 1 {
                    // Split dimension: dot products of the head, resumed by the tail.
                    let s = d / 2;
                    let head = Tile {
                        d: s,
                        ..tile(&x, d, &panels, &cn, np)
                    };
                    let head = Tile { half: true, ..head };
                    let tail = Tile {
                        x: &x[s..],
                        d: d - s,
                        panels: &panels[s * LANES..],
                        half: true,
                        ..tile(&x, d, &panels, &cn, np)
                    };
                    let mut acc = [0f32; MR * MAX_NP * LANES];
                    dot_tile(isa, &head, &mut acc, false);
                    let mut o = [0f32; MR * MAX_NP * LANES];
                    score_tile(isa, &tail, Some(&acc), &mut o);
                    for i in 0..MR {
                        for c in 0..real {
                            let k = i * MAX_NP * LANES + c;
                            assert_eq!(o[k].to_bits(), want[k].to_bits(), "split {isa:?} d={d}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn dispatch_picks_the_widest_kernel_the_cpu_has() {
    // Without an override, `active()` must be the widest kernel this CPU runs (AVX-512, else
    // AVX2 + FMA, else the scalar twin); every test above compares each of them with the twin.
    if std::env::var_os("VORN_SIMD").is_some() {
        return;
    }
    assert_eq!(Some(&active()), available().last());
}

#[test]
fn one_real_row_gives_the_bits_of_the_whole_tile() {
    // argmin_tile_rows with one real row: row 0 as in the whole tile, on every ISA the CPU
    // has, for full and half last panels, with and without a resumed accumulator.
    let mut isas = vec![Isa::Scalar];
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            isas.push(Isa::Avx512);
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            isas.push(Isa::Avx2);
        }
    }
    for &d in &[1usize, 7, 16, 64, 131] {
        for np in 1..=MAX_NP {
            for half in [false, true] {
                let (x, panels, mut cn) = random_tile_data(d, np, (d * 7 + np) as u64);
                if half {
                    // A half last panel's upper lanes are padding (‖c‖² = +∞).
                    cn[(np - 1) * LANES + HALF..np * LANES].fill(f32::INFINITY);
                }
                let t = Tile {
                    half,
                    ..tile(&x, d, &panels, &cn, np)
                };
                let mut init = [0f32; MR * MAX_NP * LANES];
                for (i, v) in init.iter_mut().enumerate() {
                    *v = (i % 13) as f32 * 0.25;
                }
                for &isa in &isas {
                    for acc in [None, Some(&init)] {
                        let mut whole = LaneBest::default();
                        argmin_tile(isa, &t, acc, &mut whole);
                        let mut one = LaneBest::default();
                        argmin_tile_rows(isa, &t, 1, acc, &mut one);
                        let lanes = if half {
                            (np - 1) * LANES + HALF
                        } else {
                            np * LANES
                        };
                        for l in 0..lanes.min(LANES) {
                            assert_eq!(
                                one.v[l].to_bits(),
                                whole.v[l].to_bits(),
                                "{isa:?} d={d} np={np} half={half}"
                            );
                            assert_eq!(one.idx[l], whole.idx[l]);
                        }
                        let (mut lw, mut sw) = ([0u32; 1], [0f32; 1]);
                        let (mut lo, mut so) = ([0u32; 1], [0f32; 1]);
                        finish_rows(isa, &whole, &mut lw, &mut sw);
                        finish_rows(isa, &one, &mut lo, &mut so);
                        assert_eq!((lw, sw[0].to_bits()), (lo, so[0].to_bits()));
                    }
                }
            }
        }
    }
}

#[test]
fn the_first_rows_of_a_tile_give_the_bits_of_the_whole_tile() {
    // dot_tile_rows with 1..=MR real rows: those rows as in dot_tile, on every ISA the CPU
    // has, for full and half last panels.
    for &d in &[1usize, 7, 16, 64, 131] {
        for np in 1..=MAX_NP {
            for half in [false, true] {
                let (x, panels, mut cn) = random_tile_data(d, np, (d * 5 + np) as u64);
                if half {
                    cn[(np - 1) * LANES + HALF..np * LANES].fill(f32::INFINITY);
                }
                let t = Tile {
                    half,
                    ..tile(&x, d, &panels, &cn, np)
                };
                let lanes = if half {
                    (np - 1) * LANES + HALF
                } else {
                    np * LANES
                };
                for isa in available() {
                    let mut whole = [0f32; MR * MAX_NP * LANES];
                    dot_tile(isa, &t, &mut whole, false);
                    for rows in 1..=MR {
                        let mut some = [f32::NAN; MR * MAX_NP * LANES];
                        dot_tile_rows(isa, &t, rows, &mut some);
                        for i in 0..rows {
                            for l in 0..lanes {
                                let at = i * MAX_NP * LANES + l;
                                assert_eq!(
                                    some[at].to_bits(),
                                    whole[at].to_bits(),
                                    "{isa:?} d={d} np={np} half={half} rows={rows}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
