//! Arithmetic on eight field elements at once: five 52-bit limbs per element, Montgomery form
//! for R = 2^260, values kept below 85p and reduced lazily (see the parent module for bounds).

use std::arch::x86_64::*;

use ark_bn254::{Fq, Fr};
use ark_ff::PrimeField;

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

/// A BN254 prime field the lanes compute in: its modulus p and arkworks' R, and the constants
/// derived from them (p's multiples in 52-bit limbs, −p⁻¹ mod 2^52, a reciprocal of p's top limb).
pub(crate) trait Modulus: 'static {
    /// p in 64-bit words.
    const WORDS: [u64; 4];
    /// arkworks' Montgomery R = 2^256 mod p in 64-bit words.
    const R_WORDS: [u64; 4];
    const P: [u64; 5] = limbs52(mul_small(Self::WORDS, 1));
    const P2: [u64; 5] = limbs52(mul_small(Self::WORDS, 2));
    const P4: [u64; 5] = limbs52(mul_small(Self::WORDS, 4));
    const P16: [u64; 5] = limbs52(mul_small(Self::WORDS, 16));
    const P32: [u64; 5] = limbs52(mul_small(Self::WORDS, 32));
    /// 2^256 mod p as a plain integer: multiplying by it leaves the lane form.
    const R256: [u64; 5] = limbs52(mul_small(Self::R_WORDS, 1));
    /// −p⁻¹ mod 2^52.
    const PINV: u64 = neg_inverse_52(Self::WORDS[0]);
    /// ⌊2^97 / (p₄ + 1)⌋ for p's top 52-bit limb p₄ (about 2^51.4): k = (x₄·this) >> 97 ≤ x/p.
    const TOP_RECIP: u64 = ((1u128 << 97) / (Self::P[4] as u128 + 1)) as u64;
}

/// The base field Fq (coordinates of G1 and, as Fq2, of G2).
pub(crate) struct BaseField;
impl Modulus for BaseField {
    const WORDS: [u64; 4] = Fq::MODULUS.0;
    const R_WORDS: [u64; 4] = Fq::R.0;
}

/// The scalar field Fr (witness values, the quotient's FFTs).
pub(crate) struct ScalarField;
impl Modulus for ScalarField {
    const WORDS: [u64; 4] = Fr::MODULUS.0;
    const R_WORDS: [u64; 4] = Fr::R.0;
}

/// −p⁻¹ mod 2^52 for odd p (Newton's iteration doubles the correct low bits each step).
const fn neg_inverse_52(p0: u64) -> u64 {
    let mut inv = 1u64;
    let mut i = 0;
    while i < 6 {
        inv = inv.wrapping_mul(2u64.wrapping_sub(p0.wrapping_mul(inv)));
        i += 1;
    }
    inv.wrapping_neg() & M52
}

/// Eight elements, limb-major: `self.0[k]` holds limb k of every lane.
#[derive(Clone, Copy)]
pub(crate) struct Lanes(pub(crate) [__m512i; 5]);

/// Limbs of eight elements, laid out for vector loads: `[limb][lane]`.
pub(crate) type LaneLimbs = [[u64; 8]; 5];

#[target_feature(enable = "avx512f,avx512ifma")]
pub(crate) fn splat(c: &[u64; 5]) -> Lanes {
    Lanes(c.map(|l| _mm512_set1_epi64(l as i64)))
}

#[target_feature(enable = "avx512f,avx512ifma")]
pub(crate) fn load(s: &LaneLimbs) -> Lanes {
    // SAFETY: each row is 8 u64 = 64 bytes, readable; loadu has no alignment requirement.
    Lanes(s.map(|row| unsafe { _mm512_loadu_si512(row.as_ptr().cast()) }))
}

#[target_feature(enable = "avx512f,avx512ifma")]
pub(crate) fn store(v: &Lanes, s: &mut LaneLimbs) {
    for (row, limb) in s.iter_mut().zip(v.0) {
        // SAFETY: each row is 64 writable bytes; storeu has no alignment requirement.
        unsafe { _mm512_storeu_si512(row.as_mut_ptr().cast(), limb) };
    }
}

/// Lanes from arkworks' four 64-bit limbs (`words[k][lane]`), read shifted left by four bits.
#[target_feature(enable = "avx512f,avx512ifma")]
pub(crate) fn from_words(words: &[[u64; 8]; 4]) -> Lanes {
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

/// arkworks' canonical limbs of lanes below 85p: one Montgomery product by 2^256 mod p (giving
/// x·2^256 below 2p), one conditional subtraction, and repacking 5×52 bits into 4×64.
#[target_feature(enable = "avx512f,avx512ifma")]
pub(crate) fn to_words<M: Modulus>(v: &Lanes, out: &mut [[u64; 8]; 4]) {
    let z = reduce_once::<M>(&mul::<M>(v, &splat(&M::R256)));
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
pub(crate) fn normalize(mut t: [__m512i; 5]) -> Lanes {
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
pub(crate) fn combine(plus: &[&Lanes], minus: &[&Lanes], k: &[u64; 5]) -> Lanes {
    let mut t = splat(k).0;
    for (j, tj) in t.iter_mut().enumerate() {
        for p in plus {
            *tj = _mm512_add_epi64(*tj, p.0[j]);
        }
        for m in minus {
            *tj = _mm512_sub_epi64(*tj, m.0[j]);
        }
    }
    normalize(t)
}

/// x − p if x ≥ p, else x (for x < 2p).
#[target_feature(enable = "avx512f,avx512ifma")]
pub(crate) fn reduce_once<M: Modulus>(x: &Lanes) -> Lanes {
    let q = splat(&M::P);
    let d = normalize(std::array::from_fn(|j| _mm512_sub_epi64(x.0[j], q.0[j])));
    let negative = _mm512_cmplt_epi64_mask(d.0[4], _mm512_setzero_si512());
    Lanes(std::array::from_fn(|j| _mm512_mask_blend_epi64(negative, d.0[j], x.0[j])))
}

/// Montgomery product a·b/2^260 mod p of normalized lanes (operand scanning, one 52-bit
/// reduction step per limb of a). Below (1 + αβ/85)·p for inputs below αp and βp.
#[target_feature(enable = "avx512f,avx512ifma")]
pub(crate) fn mul<M: Modulus>(a: &Lanes, b: &Lanes) -> Lanes {
    let z = _mm512_setzero_si512();
    let q = splat(&M::P).0;
    let qinv = _mm512_set1_epi64(M::PINV as i64);
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

/// x − k·p for k = ⌊x/p⌋ or one less, so below 2p (for normalized x below 2^260): k comes from
/// the top limb and a fixed-point reciprocal of p's top limb.
#[target_feature(enable = "avx512f,avx512ifma")]
pub(crate) fn reduce<M: Modulus>(x: &Lanes) -> Lanes {
    let z = _mm512_setzero_si512();
    let k = _mm512_srli_epi64(
        _mm512_madd52hi_epu64(z, x.0[4], _mm512_set1_epi64(M::TOP_RECIP as i64)),
        45,
    );
    let q = splat(&M::P).0;
    let mut t = x.0;
    for j in 0..5 {
        t[j] = _mm512_sub_epi64(t[j], _mm512_madd52lo_epu64(z, k, q[j]));
        if j < 4 {
            t[j + 1] = _mm512_sub_epi64(t[j + 1], _mm512_madd52hi_epu64(z, k, q[j]));
        }
    }
    normalize(t)
}
