//! Deterministic randomness: a splitmix64 stream keyed by a tuple of integers.
//!
//! Every random choice of the simulator is drawn from a stream keyed by what it
//! is about (seed, queue index, media type, arrival slot, …), so any value can be
//! recomputed on demand in any process without storing it. Also home of the
//! UUID rendering used for every simulated id.

/// The splitmix64 finaliser: a strong 64-bit mix.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Hashes a key made of several integers into one 64-bit value.
pub fn key(parts: &[u64]) -> u64 {
    key_extend(0x05EE_D0F6_E5E5_u64, parts)
}

/// [`key`] of a key whose first parts hashed to `prefix` (`key(first)`) and
/// whose remaining parts are `rest`: `key_extend(key(a), b) == key(a ++ b)`,
/// so a loop over the last part hashes the constant ones once.
pub fn key_extend(prefix: u64, rest: &[u64]) -> u64 {
    rest.iter().fold(prefix, |acc, &p| mix(acc ^ mix(p)))
}

/// A small deterministic random stream.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A stream whose key is already hashed (see [`key_extend`]).
    pub fn from_key(key: u64) -> Self {
        Rng { state: key }
    }

    /// A stream keyed by `parts` (see [`key`]).
    pub fn new(parts: &[u64]) -> Self {
        Rng { state: key(parts) }
    }

    /// Next raw 64-bit value.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform integer in `[lo, hi]` (inclusive); `lo` when the range is empty.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo + 1) as u64;
        lo + (self.next_u64() % span) as i64
    }

    /// Exponentially distributed with the given mean.
    pub fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    /// A skewed positive duration in ms: the sum of two exponentials (a gamma
    /// of shape 2) with the given mean, clamped to `[lo, hi]`.
    pub fn duration_ms(&mut self, mean_ms: f64, lo: i64, hi: i64) -> i64 {
        // The sum of two exponentials with one logarithm: −m/2 · ln(U1 · U2).
        let u = (1.0 - self.unit()) * (1.0 - self.unit());
        let v = -mean_ms / 2.0 * u.ln();
        (v.round() as i64).clamp(lo, hi)
    }

    /// A Poisson-distributed count with mean `lambda` (Knuth's method for small
    /// means, a rounded normal approximation above 30).
    pub fn poisson(&mut self, lambda: f64) -> u32 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda > 30.0 {
            let u1 = self.unit().max(f64::MIN_POSITIVE);
            let u2 = self.unit();
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            return (lambda + z * lambda.sqrt()).round().max(0.0) as u32;
        }
        let limit = (-lambda).exp();
        let mut product = self.unit();
        let mut n = 0u32;
        while product > limit && n < 200 {
            n += 1;
            product *= self.unit();
        }
        n
    }
}

/// Renders a 128-bit value drawn from `parts` as a version-4 style UUID.
pub fn uuid(parts: &[u64]) -> String {
    let a = key(parts);
    let b = mix(a ^ 0xA5A5_A5A5_A5A5_A5A5);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFF,
        8 + ((b >> 60) & 0x3),
        (b >> 48) & 0xFFF,
        b & 0xFFFF_FFFF_FFFF
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same key always yields the same stream; different keys differ.
    #[test]
    fn streams_are_keyed() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(&[1, 2, 3]);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(&[1, 2, 3]);
                move |_| r.next_u64()
            })
            .collect();
        let mut c = Rng::new(&[1, 2, 4]);
        assert_eq!(a, b);
        assert_ne!(a[0], c.next_u64());
    }

    /// Poisson draws have about the requested mean.
    #[test]
    fn poisson_mean() {
        let mut r = Rng::new(&[9]);
        let n = 20_000;
        let total: u64 = (0..n).map(|_| u64::from(r.poisson(2.5))).sum();
        let mean = total as f64 / n as f64;
        assert!((mean - 2.5).abs() < 0.1, "mean {mean}");
    }

    /// Extending a hashed prefix equals hashing the whole key.
    #[test]
    fn prefixes_extend() {
        let whole = key(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(key_extend(key(&[1, 2, 3, 4]), &[5, 6]), whole);
        assert_eq!(key_extend(key(&[]), &[1, 2, 3, 4, 5, 6]), whole);
    }

    /// UUIDs have the canonical 8-4-4-4-12 shape.
    #[test]
    fn uuid_shape() {
        let u = uuid(&[7, 7]);
        let lens: Vec<usize> = u.split('-').map(str::len).collect();
        assert_eq!(lens, vec![8, 4, 4, 4, 12]);
        assert_eq!(&u[14..15], "4");
    }
}
