//! BN254 base-field arithmetic on eight lanes at once with AVX-512 IFMA, and the batch of affine
//! point additions the MSM's bucket adder ([`super::msm`]) runs on it.
//!
//! A lane holds an element in five 52-bit limbs, in Montgomery form for R = 2^260 and not fully
//! reduced (below 85q). One `vpmadd52` multiplies eight 52-bit limb pairs, so a Montgomery product
//! of eight elements is about a hundred instructions: on the Xeons this runs on it costs ~3.6 ns
//! per element against ~19 ns for arkworks' scalar multiplication.
//!
//! arkworks stores x·2^256 mod q; read as a 260-bit integer shifted left by four bits, that is
//! 16·(x·2^256) = x·2^260, the lane form, so loading is a shift and storing is one Montgomery
//! multiplication by 2^256 mod q and a final subtraction.
//!
//! Bounds: a product of inputs below αq and βq is below (1 + αβ·q/2^260)·q ≈ (1 + αβ/85)·q.
//! Each operation below states the bounds it relies on; everything stays below 2^260.
//!
//! Only used when the CPU has AVX-512 IFMA ([`available`]); otherwise the scalar adder runs.


use std::arch::x86_64::*;
use std::sync::OnceLock;

use ark_bn254::{Fq, Fq2};
use ark_ff::{BigInt, PrimeField};

use super::msm::Xy;

const M52: u64 = (1 << 52) - 1;

/// `k·x` for a 256-bit `x` and a small `k`, as a 320-bit integer.
const fn mul_small(x: [u64; 4], k: u64) -> [u64; 5] {
    let mut out = [0u64; 5];
    let mut carry = 0u128;
    let mut i = 0;
    while i < 4 {
        let t = x[i] as u128 * k as u128 + carry;
        out[i] = t as u64;
        carry = t >> 64;
        i += 1;
    }
    out[4] = carry as u64;
    out
}

/// The 52-bit limbs of a (below 2^260) integer given in 64-bit words.
const fn limbs52(w: [u64; 5]) -> [u64; 5] {
    let mut out = [0u64; 5];
    let mut i = 0;
    while i < 5 {
        let bit = 52 * i;
        let (k, s) = (bit / 64, bit % 64);
        let mut v = w[k] >> s;
        if s > 12 {
            v |= w[k + 1] << (64 - s);
        }
        out[i] = v & M52;
        i += 1;
    }
    out
}

const Q: [u64; 5] = limbs52(mul_small(Fq::MODULUS.0, 1));
const Q16: [u64; 5] = limbs52(mul_small(Fq::MODULUS.0, 16));
const Q32: [u64; 5] = limbs52(mul_small(Fq::MODULUS.0, 32));
const Q2: [u64; 5] = limbs52(mul_small(Fq::MODULUS.0, 2));
const Q4: [u64; 5] = limbs52(mul_small(Fq::MODULUS.0, 4));
/// 2^256 mod q (arkworks' R) as a plain integer: multiplying by it leaves the lane form.
const R256: [u64; 5] = limbs52(mul_small(Fq::R.0, 1));
/// −q⁻¹ mod 2^52.
const QINV: u64 = {
    let mut inv = 1u64;
    let mut i = 0;
    while i < 6 {
        inv = inv.wrapping_mul(2u64.wrapping_sub(Fq::MODULUS.0[0].wrapping_mul(inv)));
        i += 1;
    }
    inv.wrapping_neg() & M52
};

/// Whether this CPU can run the IFMA adder (and `RLNKIT_SIMD` is not `off`), checked once.
pub fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512ifma")
            && std::env::var("RLNKIT_SIMD").map_or(true, |v| v != "off")
    })
}

/// Eight elements, limb-major: `self.0[k]` holds limb k of every lane.
#[derive(Clone, Copy)]
struct Lanes([__m512i; 5]);

/// Limbs of eight elements, laid out for vector loads: `[limb][lane]`.
pub(super) type Staged = [[u64; 8]; 5];

#[target_feature(enable = "avx512f,avx512ifma")]
fn splat(c: &[u64; 5]) -> Lanes {
    Lanes(c.map(|l| _mm512_set1_epi64(l as i64)))
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn load(s: &Staged) -> Lanes {
    // SAFETY: each row is 8 u64 = 64 bytes, readable; loadu has no alignment requirement.
    Lanes(s.map(|row| unsafe { _mm512_loadu_si512(row.as_ptr().cast()) }))
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn store(v: &Lanes, s: &mut Staged) {
    for (row, limb) in s.iter_mut().zip(v.0) {
        // SAFETY: each row is 64 writable bytes; storeu has no alignment requirement.
        unsafe { _mm512_storeu_si512(row.as_mut_ptr().cast(), limb) };
    }
}

/// Lanes from arkworks' four 64-bit limbs (`words[k][lane]`), read shifted left by four bits.
#[target_feature(enable = "avx512f,avx512ifma")]
fn from_words(words: &[[u64; 8]; 4]) -> Lanes {
    // SAFETY: as in `load`.
    let w = words.map(|row| unsafe { _mm512_loadu_si512(row.as_ptr().cast()) });
    let m = _mm512_set1_epi64(M52 as i64);
    let or = |a, b| _mm512_or_si512(a, b);
    Lanes([
        _mm512_and_si512(_mm512_slli_epi64(w[0], 4), m),
        _mm512_and_si512(or(_mm512_srli_epi64(w[0], 48), _mm512_slli_epi64(w[1], 16)), m),
        _mm512_and_si512(or(_mm512_srli_epi64(w[1], 36), _mm512_slli_epi64(w[2], 28)), m),
        _mm512_and_si512(or(_mm512_srli_epi64(w[2], 24), _mm512_slli_epi64(w[3], 40)), m),
        _mm512_srli_epi64(w[3], 12),
    ])
}

/// arkworks' canonical limbs of lanes below 85q: one Montgomery product by 2^256 mod q (giving
/// x·2^256 below 2q), one conditional subtraction, and repacking 5×52 bits into 4×64.
#[target_feature(enable = "avx512f,avx512ifma")]
fn to_words(v: &Lanes, out: &mut [[u64; 8]; 4]) {
    let z = reduce_once(&mul(v, &splat(&R256)));
    let l = z.0;
    let or = |a, b| _mm512_or_si512(a, b);
    let w = [
        or(l[0], _mm512_slli_epi64(l[1], 52)),
        or(_mm512_srli_epi64(l[1], 12), _mm512_slli_epi64(l[2], 40)),
        or(_mm512_srli_epi64(l[2], 24), _mm512_slli_epi64(l[3], 28)),
        or(_mm512_srli_epi64(l[3], 36), _mm512_slli_epi64(l[4], 16)),
    ];
    for (row, word) in out.iter_mut().zip(w) {
        // SAFETY: as in `store`.
        unsafe { _mm512_storeu_si512(row.as_mut_ptr().cast(), word) };
    }
}

/// Carries limbs (which may be negative or above 2^52) into place; the value must be in [0, 2^260).
#[target_feature(enable = "avx512f,avx512ifma")]
fn normalize(mut t: [__m512i; 5]) -> Lanes {
    let m = _mm512_set1_epi64(M52 as i64);
    for j in 0..4 {
        let c = _mm512_srai_epi64(t[j], 52);
        t[j] = _mm512_and_si512(t[j], m);
        t[j + 1] = _mm512_add_epi64(t[j + 1], c);
    }
    Lanes(t)
}

/// Σ plus − Σ minus + k, limb-wise, then normalized (the caller guarantees a result in [0, 2^260)).
#[target_feature(enable = "avx512f,avx512ifma")]
fn combine(plus: &[&Lanes], minus: &[&Lanes], k: &[u64; 5]) -> Lanes {
    let mut t = splat(k).0;
    for j in 0..5 {
        for p in plus {
            t[j] = _mm512_add_epi64(t[j], p.0[j]);
        }
        for m in minus {
            t[j] = _mm512_sub_epi64(t[j], m.0[j]);
        }
    }
    normalize(t)
}

/// x − q if x ≥ q, else x (for x < 2q).
#[target_feature(enable = "avx512f,avx512ifma")]
fn reduce_once(x: &Lanes) -> Lanes {
    let q = splat(&Q);
    let d = normalize(std::array::from_fn(|j| _mm512_sub_epi64(x.0[j], q.0[j])));
    let negative = _mm512_cmplt_epi64_mask(d.0[4], _mm512_setzero_si512());
    Lanes(std::array::from_fn(|j| _mm512_mask_blend_epi64(negative, d.0[j], x.0[j])))
}

/// Montgomery product a·b/2^260 mod q of normalized lanes (operand scanning, one 52-bit
/// reduction step per limb of a). Below (1 + αβ/85)·q for inputs below αq and βq.
#[target_feature(enable = "avx512f,avx512ifma")]
fn mul(a: &Lanes, b: &Lanes) -> Lanes {
    let z = _mm512_setzero_si512();
    let q = splat(&Q).0;
    let qinv = _mm512_set1_epi64(QINV as i64);
    let mut t = [z; 6];
    for i in 0..5 {
        let ai = a.0[i];
        for j in 0..5 {
            t[j] = _mm512_madd52lo_epu64(t[j], ai, b.0[j]);
            t[j + 1] = _mm512_madd52hi_epu64(t[j + 1], ai, b.0[j]);
        }
        let m = _mm512_madd52lo_epu64(z, t[0], qinv);
        for j in 0..5 {
            t[j] = _mm512_madd52lo_epu64(t[j], m, q[j]);
            t[j + 1] = _mm512_madd52hi_epu64(t[j + 1], m, q[j]);
        }
        // t[0] is now a multiple of 2^52: shift the accumulator down one limb.
        let carry = _mm512_srli_epi64(t[0], 52);
        t = [_mm512_add_epi64(t[1], carry), t[2], t[3], t[4], t[5], z];
    }
    normalize([t[0], t[1], t[2], t[3], t[4]])
}

/// x − k·q for k = ⌊x/q⌋ or one less, so below 2q (for normalized x below 2^260): k comes from
/// the top limb and a fixed-point reciprocal of q's top limb.
#[target_feature(enable = "avx512f,avx512ifma")]
fn reduce(x: &Lanes) -> Lanes {
    let z = _mm512_setzero_si512();
    let k = _mm512_srli_epi64(_mm512_madd52hi_epu64(z, x.0[4], _mm512_set1_epi64(TOP_RECIP as i64)), 45);
    let q = splat(&Q).0;
    let mut t = x.0;
    for j in 0..5 {
        t[j] = _mm512_sub_epi64(t[j], _mm512_madd52lo_epu64(z, k, q[j]));
        if j < 4 {
            t[j + 1] = _mm512_sub_epi64(t[j + 1], _mm512_madd52hi_epu64(z, k, q[j]));
        }
    }
    normalize(t)
}

/// ⌊2^97 / (q₄ + 1)⌋ for q's top 52-bit limb q₄ (about 2^51.4): k = (x₄·this) >> 97 ≤ x/q.
const TOP_RECIP: u64 = ((1u128 << 97) / (Q[4] as u128 + 1)) as u64;

/// A base-field element (D = 1) or an element of the quadratic extension Fq2 = Fq[u]/(u² + 1)
/// (D = 2) on eight lanes.
#[derive(Clone, Copy)]
struct Ext<const D: usize>([Lanes; D]);

/// The coordinate fields the adder runs on: Fq (G1) and Fq2 (G2), as arkworks limbs.
pub(super) trait LaneField<const D: usize>: ark_ff::Field {
    fn words(&self) -> [[u64; 4]; D];
    fn from_words(w: [[u64; 4]; D]) -> Self;
}

impl LaneField<1> for Fq {
    fn words(&self) -> [[u64; 4]; 1] {
        [self.0 .0]
    }
    fn from_words(w: [[u64; 4]; 1]) -> Self {
        Fq::new_unchecked(BigInt(w[0]))
    }
}

impl LaneField<2> for Fq2 {
    fn words(&self) -> [[u64; 4]; 2] {
        [self.c0.0 .0, self.c1.0 .0]
    }
    fn from_words(w: [[u64; 4]; 2]) -> Self {
        Fq2::new(Fq::new_unchecked(BigInt(w[0])), Fq::new_unchecked(BigInt(w[1])))
    }
}

/// Product of elements with components below αq and βq, αβ ≤ 84; components below 4q.
#[target_feature(enable = "avx512f,avx512ifma")]
fn mul_ext<const D: usize>(a: &Ext<D>, b: &Ext<D>) -> Ext<D> {
    match (a.0.as_slice(), b.0.as_slice()) {
        ([a], [b]) => Ext(std::array::from_fn(|_| mul(a, b))), // below 2q
        ([a0, a1], [b0, b1]) => {
            // Karatsuba: (a0 + a1·u)(b0 + b1·u) = a0b0 − a1b1 + ((a0 + a1)(b0 + b1) − a0b0 − a1b1)·u.
            let (v0, v1) = (mul(a0, b0), mul(a1, b1)); // below 2q
            let s = mul(&combine(&[a0, a1], &[], &[0; 5]), &combine(&[b0, b1], &[], &[0; 5])); // below 5q
            let c0 = combine(&[&v0], &[&v1], &Q2); // below 4q
            let c1 = reduce(&combine(&[&s], &[&v0, &v1], &Q4));
            Ext(std::array::from_fn(|c| if c == 0 { c0 } else { c1 }))
        }
        _ => unreachable!("D is 1 or 2"),
    }
}

/// Square of an element with components below 9q (Fq) or 4q with c1 below 2q (Fq2); below 4q.
#[target_feature(enable = "avx512f,avx512ifma")]
fn square_ext<const D: usize>(a: &Ext<D>) -> Ext<D> {
    match a.0.as_slice() {
        [a] => Ext(std::array::from_fn(|_| mul(a, a))),
        [a0, a1] => {
            // (a0 + a1·u)² = (a0 + a1)(a0 − a1) + 2·a0a1·u.
            let c0 = mul(&combine(&[a0, a1], &[], &[0; 5]), &combine(&[a0], &[a1], &Q2)); // below 1.5q
            let p = mul(a0, a1);
            let c1 = combine(&[&p, &p], &[], &[0; 5]); // below 2.2q
            Ext(std::array::from_fn(|c| if c == 0 { c0 } else { c1 }))
        }
        _ => unreachable!("D is 1 or 2"),
    }
}

/// Component-wise Σ plus − Σ minus + k·(one per component), normalized.
#[target_feature(enable = "avx512f,avx512ifma")]
fn combine_ext<const D: usize>(plus: &[&Ext<D>], minus: &[&Ext<D>], k: &[u64; 5]) -> Ext<D> {
    Ext(std::array::from_fn(|c| {
        let mut t = splat(k).0;
        for (j, t) in t.iter_mut().enumerate() {
            for p in plus {
                *t = _mm512_add_epi64(*t, p.0[c].0[j]);
            }
            for m in minus {
                *t = _mm512_sub_epi64(*t, m.0[c].0[j]);
            }
        }
        normalize(t)
    }))
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn reduce_ext<const D: usize>(a: &Ext<D>) -> Ext<D> {
    Ext(std::array::from_fn(|c| reduce(&a.0[c])))
}

/// Scratch space of [`add_batch`], kept by the bucket adder between batches.
#[derive(Default)]
pub(super) struct Scratch {
    /// Per group of eight additions and component: the prefix product before it, and its dx.
    prefix: Vec<Staged>,
    dx: Vec<Staged>,
}

/// For every k: `buckets[idx[k]] += pts[k]`, all in affine coordinates with one shared inversion.
/// The caller guarantees distinct buckets, filled buckets, and `pts[k].x != buckets[idx[k]].x`.
pub(super) fn add_batch<F: LaneField<D>, const D: usize>(buckets: &mut [Xy<F>], idx: &[u32], pts: &[Xy<F>], scratch: &mut Scratch) {
    assert!(available(), "add_batch needs AVX-512 IFMA");
    assert_eq!(idx.len(), pts.len());
    // SAFETY: the CPU features were checked above.
    unsafe { add_batch_ifma(buckets, idx, pts, scratch) }
}

/// Lanes of one coordinate (`pick`) for the entries of group g, `fill` where there is no entry.
#[target_feature(enable = "avx512f,avx512ifma")]
fn gather<const D: usize>(n: usize, g: usize, fill: [[u64; 4]; D], pick: impl Fn(usize) -> [[u64; 4]; D]) -> Ext<D> {
    let mut words = [[[0u64; 8]; 4]; D];
    for l in 0..8 {
        let e = g * 8 + l;
        let w = if e < n { pick(e) } else { fill };
        for c in 0..D {
            for k in 0..4 {
                words[c][k][l] = w[c][k];
            }
        }
    }
    Ext(std::array::from_fn(|c| from_words(&words[c])))
}

/// arkworks limbs of every lane (components below 85q).
#[target_feature(enable = "avx512f,avx512ifma")]
fn scatter<const D: usize>(v: &Ext<D>) -> [[[u64; 4]; D]; 8] {
    let mut words = [[[0u64; 8]; 4]; D];
    for c in 0..D {
        to_words(&v.0[c], &mut words[c]);
    }
    std::array::from_fn(|l| std::array::from_fn(|c| std::array::from_fn(|k| words[c][k][l])))
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn add_batch_ifma<F: LaneField<D>, const D: usize>(buckets: &mut [Xy<F>], idx: &[u32], pts: &[Xy<F>], scratch: &mut Scratch) {
    let n = idx.len();
    let groups = n.div_ceil(8);
    scratch.prefix.resize(groups * D, [[0; 8]; 5]);
    scratch.dx.resize(groups * D, [[0; 8]; 5]);
    // Empty lanes get dx = 1 (x_p = 1, x_b = 0) so they leave the products alone.
    let zero = [[0u64; 4]; D];
    let one = F::ONE.words();
    let save = |v: &Ext<D>, to: &mut [Staged]| {
        for c in 0..D {
            store(&v.0[c], &mut to[c]);
        }
    };
    let restore = |from: &[Staged]| Ext::<D>(std::array::from_fn(|c| load(&from[c])));

    // Forward: per lane, the prefix products of dx = x_p − x_b. Loaded coordinates are below
    // 16q; every product is below 4q.
    let mut acc = reduce_ext(&gather(0, 0, one, |_| one));
    for g in 0..groups {
        save(&acc, &mut scratch.prefix[g * D..(g + 1) * D]);
        let bx = gather(n, g, zero, |e| buckets[idx[e] as usize].x.words());
        let px = gather(n, g, one, |e| pts[e].x.words());
        let dx = reduce_ext(&combine_ext(&[&px], &[&bx], &Q16)); // below 2q
        save(&dx, &mut scratch.dx[g * D..(g + 1) * D]);
        acc = mul_ext(&acc, &dx);
    }

    // Invert the eight lane products with one scalar inversion.
    let mut lane_inv: [F; 8] = scatter(&acc).map(F::from_words);
    ark_ff::batch_inversion(&mut lane_inv);
    let inv_words = lane_inv.map(|f| f.words());
    let mut acc_inv = reduce_ext(&gather(8, 0, zero, |l| inv_words[l]));

    // Backward: each entry's inverse, then the affine sum.
    for g in (0..groups).rev() {
        let dx = restore(&scratch.dx[g * D..(g + 1) * D]);
        let inv = mul_ext(&acc_inv, &restore(&scratch.prefix[g * D..(g + 1) * D]));
        acc_inv = mul_ext(&acc_inv, &dx);
        let bx = gather(n, g, zero, |e| buckets[idx[e] as usize].x.words());
        let by = gather(n, g, zero, |e| buckets[idx[e] as usize].y.words());
        let px = gather(n, g, one, |e| pts[e].x.words());
        let py = gather(n, g, zero, |e| pts[e].y.words());
        let dy = reduce_ext(&combine_ext(&[&py], &[&by], &Q16)); // below 2q
        let lambda = mul_ext(&dy, &inv);
        let lambda2 = square_ext(&lambda);
        // x3 = λ² − x_b − x_p (below 2q once reduced); y3 = λ·(x_b − x3) − y_b.
        let x3 = reduce_ext(&combine_ext(&[&lambda2], &[&bx, &px], &Q32));
        let u = combine_ext(&[&bx], &[&x3], &Q2); // below 18q
        let y3 = combine_ext(&[&mul_ext(&lambda, &u)], &[&by], &Q16); // below 20q
        let (xs, ys) = (scatter(&x3), scatter(&y3));
        for l in 0..8.min(n - g * 8) {
            let b = &mut buckets[idx[g * 8 + l] as usize];
            b.x = F::from_words(xs[l]);
            b.y = F::from_words(ys[l]);
        }
    }
}

/// A point in homogeneous projective coordinates (X : Y : Z), x = X/Z, y = Y/Z, on eight lanes.
#[derive(Clone, Copy)]
struct Proj<const D: usize> {
    x: Ext<D>,
    y: Ext<D>,
    z: Ext<D>,
}

/// The complete addition formulas of Renes, Costello and Batina (2016) for y² = x³ + b (their
/// algorithms 7 and 8): no exceptional cases for points of odd order, so every lane runs the
/// same instructions. Every value stays below 4q (sums and differences are reduced).
struct Complete<const D: usize> {
    b3: Ext<D>,
}

impl<const D: usize> Complete<D> {
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn add(a: &Ext<D>, b: &Ext<D>) -> Ext<D> {
        reduce_ext(&combine_ext(&[a, b], &[], &[0; 5]))
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn sub(a: &Ext<D>, b: &Ext<D>) -> Ext<D> {
        reduce_ext(&combine_ext(&[a], &[b], &Q4))
    }

    /// P + Q for an affine Q (not the point at infinity); P may be.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn add_affine(&self, p: &Proj<D>, x2: &Ext<D>, y2: &Ext<D>) -> Proj<D> {
        let t0 = mul_ext(&p.x, x2);
        let t1 = mul_ext(&p.y, y2);
        let t3 = mul_ext(&Self::add(x2, y2), &Self::add(&p.x, &p.y));
        let t3 = Self::sub(&t3, &Self::add(&t0, &t1));
        let t4 = Self::add(&mul_ext(y2, &p.z), &p.y);
        let y3 = Self::add(&mul_ext(x2, &p.z), &p.x);
        let t0 = Self::add(&Self::add(&t0, &t0), &t0);
        let t2 = mul_ext(&self.b3, &p.z);
        let z3 = Self::add(&t1, &t2);
        let t1 = Self::sub(&t1, &t2);
        let y3 = mul_ext(&self.b3, &y3);
        let x3 = Self::sub(&mul_ext(&t3, &t1), &mul_ext(&t4, &y3));
        let y3 = Self::add(&mul_ext(&t1, &z3), &mul_ext(&y3, &t0));
        let z3 = Self::add(&mul_ext(&z3, &t4), &mul_ext(&t0, &t3));
        Proj { x: x3, y: y3, z: z3 }
    }

    /// P + Q for any two points.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn add_proj(&self, p: &Proj<D>, q: &Proj<D>) -> Proj<D> {
        let t0 = mul_ext(&p.x, &q.x);
        let t1 = mul_ext(&p.y, &q.y);
        let t2 = mul_ext(&p.z, &q.z);
        let t3 = Self::sub(&mul_ext(&Self::add(&p.x, &p.y), &Self::add(&q.x, &q.y)), &Self::add(&t0, &t1));
        let t4 = Self::sub(&mul_ext(&Self::add(&p.y, &p.z), &Self::add(&q.y, &q.z)), &Self::add(&t1, &t2));
        let y3 = Self::sub(&mul_ext(&Self::add(&p.x, &p.z), &Self::add(&q.x, &q.z)), &Self::add(&t0, &t2));
        let t0 = Self::add(&Self::add(&t0, &t0), &t0);
        let t2 = mul_ext(&self.b3, &t2);
        let z3 = Self::add(&t1, &t2);
        let t1 = Self::sub(&t1, &t2);
        let y3 = mul_ext(&self.b3, &y3);
        let x3 = Self::sub(&mul_ext(&t3, &t1), &mul_ext(&t4, &y3));
        let y3 = Self::add(&mul_ext(&t1, &z3), &mul_ext(&y3, &t0));
        let z3 = Self::add(&mul_ext(&z3, &t4), &mul_ext(&t0, &t3));
        Proj { x: x3, y: y3, z: z3 }
    }
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn blend<const D: usize>(keep_new: __mmask8, old: &Proj<D>, new: &Proj<D>) -> Proj<D> {
    let pick = |o: &Ext<D>, n: &Ext<D>| Ext::<D>(std::array::from_fn(|c| Lanes(std::array::from_fn(|j| _mm512_mask_blend_epi64(keep_new, o.0[c].0[j], n.0[c].0[j])))));
    Proj { x: pick(&old.x, &new.x), y: pick(&old.y, &new.y), z: pick(&old.z, &new.z) }
}

/// The weighted sums of affine buckets on eight lanes: lane s takes the m = len/8 consecutive
/// buckets B_{ms}..B_{ms+m−1} and returns, as (X, Y, Z) in homogeneous projective coordinates,
/// `[Σ_i B_{ms+i}, Σ_i (i+1)·B_{ms+i}]`. Unfilled buckets are the point at infinity. `b3` is
/// three times the curve's b.
pub(super) fn bucket_sums<F: LaneField<D>, const D: usize>(buckets: &[Xy<F>], filled: &[bool], b3: F) -> [[[F; 3]; 2]; 8] {
    assert!(available(), "bucket_sums needs AVX-512 IFMA");
    assert!(buckets.len() % 8 == 0 && filled.len() == buckets.len(), "eight equal lanes of buckets");
    // SAFETY: the CPU features were checked above.
    unsafe { bucket_sums_ifma(buckets, filled, b3) }
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn bucket_sums_ifma<F: LaneField<D>, const D: usize>(buckets: &[Xy<F>], filled: &[bool], b3: F) -> [[[F; 3]; 2]; 8] {
    let m = buckets.len() / 8;
    let constant = |f: F| reduce_ext(&gather(0, 0, f.words(), |_| unreachable!()));
    let curve = Complete { b3: constant(b3) };
    let (zero, one) = (constant(F::ZERO), constant(F::ONE));
    let infinity = Proj { x: zero, y: one, z: zero };
    let (mut running, mut sum) = (infinity, infinity);
    for i in (0..m).rev() {
        let mask = (0..8).filter(|&s| filled[m * s + i]).fold(0u8, |acc, s| acc | 1 << s);
        if mask != 0 {
            let x2 = reduce_ext(&gather(8, 0, [[0; 4]; D], |s| buckets[m * s + i].x.words()));
            let y2 = reduce_ext(&gather(8, 0, [[0; 4]; D], |s| buckets[m * s + i].y.words()));
            running = blend(mask, &running, &curve.add_affine(&running, &x2, &y2));
        }
        sum = curve.add_proj(&sum, &running);
    }
    let coords = |p: &Proj<D>| [scatter(&p.x), scatter(&p.y), scatter(&p.z)];
    let (r, s) = (coords(&running), coords(&sum));
    std::array::from_fn(|l| [std::array::from_fn(|c| F::from_words(r[c][l])), std::array::from_fn(|c| F::from_words(s[c][l]))])
}

#[cfg(test)]
mod tests {
    use ark_ff::UniformRand;
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn lane_products_equal_arkworks() {
        if !available() {
            eprintln!("skipped: this CPU has no AVX-512 IFMA");
            return;
        }
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        for round in 0..50 {
            let mut a: [Fq; 8] = std::array::from_fn(|_| Fq::rand(&mut rng));
            let b: [Fq; 8] = std::array::from_fn(|_| Fq::rand(&mut rng));
            if round == 0 {
                a[0] = Fq::from(0u64);
                a[1] = -Fq::from(1u64);
            }
            let words = |v: &[Fq; 8]| std::array::from_fn(|k| std::array::from_fn(|l| v[l].0 .0[k]));
            let mut out = [[0u64; 8]; 4];
            // SAFETY: features checked above.
            unsafe {
                let p = mul(&from_words(&words(&a)), &from_words(&words(&b)));
                to_words(&p, &mut out);
            }
            for l in 0..8 {
                assert_eq!(Fq::new_unchecked(BigInt(std::array::from_fn(|k| out[k][l]))), a[l] * b[l]);
            }
        }
    }
}
