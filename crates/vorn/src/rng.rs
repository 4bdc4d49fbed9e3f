//! A small, portable, seedable PRNG (xoshiro256** seeded through SplitMix64).
//!
//! vorn owns its generator so that the same seed gives the same stream on every platform and
//! every version of every dependency: determinism is a product guarantee, not a side effect.
//! Reference: Blackman & Vigna, "Scrambled linear pseudorandom number generators", 2018.

/// xoshiro256** generator.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Largest n for which Floyd's sampling keeps a bitmap over [0, n) (16 MiB; beyond, a hash
/// set of the m picks).
const FLOYD_BITMAP_MAX: usize = 1 << 27;

/// The positions of the `m` set bits of `bits`, in increasing order.
fn set_bits(bits: &[u64], m: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(m);
    for (w, &b) in bits.iter().enumerate() {
        let mut b = b;
        while b != 0 {
            out.push(w * 64 + b.trailing_zeros() as usize);
            b &= b - 1;
        }
    }
    out
}

impl Rng {
    /// A generator for `seed`; distinct seeds give independent-looking streams.
    pub fn new(seed: u64) -> Self {
        let mut st = seed;
        let s = [
            splitmix64(&mut st),
            splitmix64(&mut st),
            splitmix64(&mut st),
            splitmix64(&mut st),
        ];
        Rng { s }
    }

    /// A generator derived from `seed` and a stream id (restart number, chunk, ...).
    pub fn derive(seed: u64, stream: u64) -> Self {
        let mut st = seed ^ stream.wrapping_mul(0xD6E8_FEB8_6659_FD93);
        Rng::new(splitmix64(&mut st))
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, n) without modulo bias (Lemire's method). `n` must be > 0.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let mut m = (self.next_u64() as u128) * (n as u128);
        if (m as u64) < n {
            let t = n.wrapping_neg() % n;
            while (m as u64) < t {
                m = (self.next_u64() as u128) * (n as u128);
            }
        }
        (m >> 64) as u64
    }

    /// Standard normal deviate (Box–Muller, one of the pair).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64(); // (0, 1]
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// `m` distinct indices from [0, n), in increasing order (Floyd's algorithm for m < n/8,
    /// with a bitmap or hash set of the picks; a partial Fisher–Yates otherwise). Requires
    /// `m <= n`.
    ///
    /// The Fisher–Yates positions are kept as `u32` when n allows (half the memory its random
    /// swaps touch: 4 MB rather than 8 MB for n = 10⁶) and its picks are put in order through
    /// a bitmap over [0, n) rather than a sort; the result is the same set in the same order,
    /// so the draws and the output equal those of the plain `usize` shuffle and sort
    /// (`sample_indices_match_the_plain_shuffle`). n = 10⁶, m = 131 072 (`auto`'s training
    /// sample at k = 256): 8–33 ms → 3–5 ms (2 threads, AMD EPYC, timed inside the fit).
    pub fn sample_indices(&mut self, n: usize, m: usize) -> Vec<usize> {
        assert!(m <= n, "sample larger than population");
        if m * 8 < n {
            return self.floyd(n, m);
        }
        let mut bits = vec![0u64; n.div_ceil(64)];
        let mut mark = |i: usize| bits[i / 64] |= 1 << (i % 64);
        if u32::try_from(n).is_ok() {
            let mut all: Vec<u32> = (0..n as u32).collect();
            self.shuffle_prefix(&mut all, m);
            all[..m].iter().for_each(|&i| mark(i as usize));
        } else {
            let mut all: Vec<usize> = (0..n).collect();
            self.shuffle_prefix(&mut all, m);
            all[..m].iter().for_each(|&i| mark(i));
        }
        set_bits(&bits, m)
    }

    /// Floyd's algorithm: for j = n−m … n−1, draw t uniform in [0, j] and take t, or j when t
    /// is already taken. Membership goes through a bitmap over [0, n) while it stays within
    /// [`FLOYD_BITMAP_MAX`] bits (a hash set beyond), and the picks come out in order by a
    /// scan of the bitmap when it has at most 64 words per pick (a sort otherwise): the same
    /// draws and the same sorted set either way (`floyd_paths_agree`). n = 10⁶, m = 65 536
    /// (`auto`'s training sample of uniform 1M × 64 at k = 64): 4.1 → 0.24 ms alone (one
    /// thread, best of 7); the fit's sample phase, gather included, 10.0/11.7 → 4.2/4.4 ms
    /// (`examples/fit_file`, 2 threads, min of 7, alternating).
    fn floyd(&mut self, n: usize, m: usize) -> Vec<usize> {
        if n > FLOYD_BITMAP_MAX {
            let mut set = std::collections::HashSet::with_capacity(m * 2);
            let mut v = Vec::with_capacity(m);
            for j in (n - m)..n {
                let t = self.below(j as u64 + 1) as usize;
                let pick = if set.contains(&t) { j } else { t };
                set.insert(pick);
                v.push(pick);
            }
            v.sort_unstable();
            return v;
        }
        let mut bits = vec![0u64; n.div_ceil(64)];
        let scan = bits.len() <= 64 * m;
        let mut v = Vec::with_capacity(if scan { 0 } else { m });
        for j in (n - m)..n {
            let t = self.below(j as u64 + 1) as usize;
            let pick = if bits[t / 64] >> (t % 64) & 1 == 1 {
                j
            } else {
                t
            };
            bits[pick / 64] |= 1 << (pick % 64);
            if !scan {
                v.push(pick);
            }
        }
        if !scan {
            v.sort_unstable();
            return v;
        }
        set_bits(&bits, m)
    }

    /// The first `m` steps of a Fisher–Yates shuffle of `all`: `all[..m]` is then a uniform
    /// sample without replacement.
    fn shuffle_prefix<T>(&mut self, all: &mut [T], m: usize) {
        let n = all.len();
        for i in 0..m {
            let j = i + self.below((n - i) as u64) as usize;
            all.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }

    #[test]
    fn below_is_in_range_and_covers() {
        let mut r = Rng::new(3);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let v = r.below(7) as usize;
            seen[v] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn sample_indices_distinct_sorted() {
        let mut r = Rng::new(5);
        for &(n, m) in &[(100, 5), (100, 90), (10, 10), (1000, 1)] {
            let s = r.sample_indices(n, m);
            assert_eq!(s.len(), m);
            assert!(s.windows(2).all(|w| w[0] < w[1]));
            assert!(s.iter().all(|&i| i < n));
        }
    }

    #[test]
    fn floyd_paths_agree() {
        // The reference: Floyd's algorithm with a hash set, then a sort.
        fn plain(r: &mut Rng, n: usize, m: usize) -> Vec<usize> {
            let mut set = std::collections::HashSet::new();
            let mut v = Vec::new();
            for j in (n - m)..n {
                let t = r.below(j as u64 + 1) as usize;
                let pick = if set.contains(&t) { j } else { t };
                set.insert(pick);
                v.push(pick);
            }
            v.sort_unstable();
            v
        }
        // Bitmap scanned (few words per pick), bitmap then sort (many), m = 1, n not a
        // multiple of 64, and dense enough for repeated draws.
        matches_reference(
            plain,
            &[
                (1_000, 100),
                (100_000, 10),
                (100_000, 1),
                (1_000_003, 65_536),
                (65, 8),
            ],
        );
        // The hash-set path beyond the bitmap's reach draws the same set as the bitmap would.
        let n = FLOYD_BITMAP_MAX + 1;
        let (mut a, mut b) = (Rng::new(9), Rng::new(9));
        assert_eq!(a.floyd(n, 1000), plain(&mut b, n, 1000));
    }

    #[test]
    fn sample_indices_match_the_plain_shuffle() {
        // The reference: partial Fisher–Yates on usize positions, then a sort.
        fn plain(r: &mut Rng, n: usize, m: usize) -> Vec<usize> {
            let mut all: Vec<usize> = (0..n).collect();
            for i in 0..m {
                let j = i + r.below((n - i) as u64) as usize;
                all.swap(i, j);
            }
            all.truncate(m);
            all.sort_unstable();
            all
        }
        matches_reference(
            plain,
            &[
                (1, 1),
                (64, 8),
                (65, 9),
                (1000, 125),
                (1000, 1000),
                (4099, 700),
            ],
        );
    }

    /// `sample_indices(n, m)` equals `reference` for every case and seeds 0–2, and leaves
    /// the generator in the same state.
    fn matches_reference(
        reference: fn(&mut Rng, usize, usize) -> Vec<usize>,
        cases: &[(usize, usize)],
    ) {
        for &(n, m) in cases {
            for seed in 0..3 {
                let (mut a, mut b) = (Rng::new(seed), Rng::new(seed));
                assert_eq!(
                    a.sample_indices(n, m),
                    reference(&mut b, n, m),
                    "n={n} m={m}"
                );
                assert_eq!(a.next_u64(), b.next_u64());
            }
        }
    }
}
