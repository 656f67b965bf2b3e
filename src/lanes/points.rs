//! Elliptic-curve work on eight lanes: the MSM bucket adder's batch of affine additions (one
//! shared inversion) and the weighted bucket sum, for G1 (coordinates in Fq) and G2 (Fq2).

use std::arch::x86_64::*;

use ark_bn254::{Fq, Fq2};
use ark_ff::BigInt;

use super::arith::{
    combine, from_words, load, mul, normalize, reduce, splat, store, to_words, BaseField as Q,
    LaneLimbs, Lanes, Modulus,
};
use super::available;
use crate::prover::msm::Xy;

/// A base-field element (D = 1) or an element of the quadratic extension Fq2 = Fq[u]/(u² + 1)
/// (D = 2) on eight lanes.
#[derive(Clone, Copy)]
struct Ext<const D: usize>([Lanes; D]);

/// The coordinate fields the adder runs on: Fq (G1) and Fq2 (G2), as arkworks limbs.
pub(crate) trait LaneField<const D: usize>: ark_ff::Field {
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
        ([a], [b]) => Ext(std::array::from_fn(|_| mul::<Q>(a, b))), // below 2q
        ([a0, a1], [b0, b1]) => {
            // Karatsuba: (a0 + a1·u)(b0 + b1·u) = a0b0 − a1b1 + ((a0 + a1)(b0 + b1) − a0b0 − a1b1)·u.
            let (v0, v1) = (mul::<Q>(a0, b0), mul::<Q>(a1, b1)); // below 2q
            let s = mul::<Q>(&combine(&[a0, a1], &[], &[0; 5]), &combine(&[b0, b1], &[], &[0; 5])); // below 5q
            let c0 = combine(&[&v0], &[&v1], &Q::P2); // below 4q
            let c1 = reduce::<Q>(&combine(&[&s], &[&v0, &v1], &Q::P4));
            Ext(std::array::from_fn(|c| if c == 0 { c0 } else { c1 }))
        }
        _ => unreachable!("D is 1 or 2"),
    }
}

/// Square of an element with components below 9q (Fq) or 4q with c1 below 2q (Fq2); below 4q.
#[target_feature(enable = "avx512f,avx512ifma")]
fn square_ext<const D: usize>(a: &Ext<D>) -> Ext<D> {
    match a.0.as_slice() {
        [a] => Ext(std::array::from_fn(|_| mul::<Q>(a, a))),
        [a0, a1] => {
            // (a0 + a1·u)² = (a0 + a1)(a0 − a1) + 2·a0a1·u.
            let c0 = mul::<Q>(&combine(&[a0, a1], &[], &[0; 5]), &combine(&[a0], &[a1], &Q::P2)); // below 1.5q
            let p = mul::<Q>(a0, a1);
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
    Ext(std::array::from_fn(|c| reduce::<Q>(&a.0[c])))
}

/// Scratch space of [`add_batch`], kept by the bucket adder between batches.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Per group of eight additions and component: the prefix product before it, and its dx.
    prefix: Vec<LaneLimbs>,
    dx: Vec<LaneLimbs>,
}

/// For every k: `buckets[idx[k]] += pts[k]`, all in affine coordinates with one shared inversion.
/// The caller guarantees distinct buckets, filled buckets, and `pts[k].x != buckets[idx[k]].x`.
pub(crate) fn add_batch<F: LaneField<D>, const D: usize>(
    buckets: &mut [Xy<F>],
    idx: &[u32],
    pts: &[Xy<F>],
    scratch: &mut Scratch,
) {
    assert!(available(), "add_batch needs AVX-512 IFMA");
    assert_eq!(idx.len(), pts.len());
    // SAFETY: the CPU features were checked above.
    unsafe { add_batch_ifma(buckets, idx, pts, scratch) }
}

/// Lanes of one coordinate (`pick`) for the entries of group g, `fill` where there is no entry.
#[target_feature(enable = "avx512f,avx512ifma")]
fn gather<const D: usize>(
    n: usize,
    g: usize,
    fill: [[u64; 4]; D],
    pick: impl Fn(usize) -> [[u64; 4]; D],
) -> Ext<D> {
    let lanes: [[[u64; 4]; D]; 8] = std::array::from_fn(|l| {
        let e = g * 8 + l;
        if e < n {
            pick(e)
        } else {
            fill
        }
    });
    let words: [[[u64; 8]; 4]; D] =
        std::array::from_fn(|c| std::array::from_fn(|k| std::array::from_fn(|l| lanes[l][c][k])));
    Ext(std::array::from_fn(|c| from_words(&words[c])))
}

/// arkworks limbs of every lane (components below 85q).
#[target_feature(enable = "avx512f,avx512ifma")]
fn scatter<const D: usize>(v: &Ext<D>) -> [[[u64; 4]; D]; 8] {
    let mut words = [[[0u64; 8]; 4]; D];
    for (vc, wc) in v.0.iter().zip(words.iter_mut()) {
        to_words::<Q>(vc, wc);
    }
    std::array::from_fn(|l| std::array::from_fn(|c| std::array::from_fn(|k| words[c][k][l])))
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn add_batch_ifma<F: LaneField<D>, const D: usize>(
    buckets: &mut [Xy<F>],
    idx: &[u32],
    pts: &[Xy<F>],
    scratch: &mut Scratch,
) {
    let n = idx.len();
    let groups = n.div_ceil(8);
    scratch.prefix.resize(groups * D, [[0; 8]; 5]);
    scratch.dx.resize(groups * D, [[0; 8]; 5]);
    // Empty lanes get dx = 1 (x_p = 1, x_b = 0) so they leave the products alone.
    let zero = [[0u64; 4]; D];
    let one = F::ONE.words();
    let save = |v: &Ext<D>, to: &mut [LaneLimbs]| {
        for (vc, tc) in v.0.iter().zip(&mut to[..D]) {
            store(vc, tc);
        }
    };
    let restore = |from: &[LaneLimbs]| Ext::<D>(std::array::from_fn(|c| load(&from[c])));

    // Forward: per lane, the prefix products of dx = x_p − x_b. Loaded coordinates are below
    // 16q; every product is below 4q.
    let mut acc = reduce_ext(&gather(0, 0, one, |_| one));
    for g in 0..groups {
        save(&acc, &mut scratch.prefix[g * D..(g + 1) * D]);
        let bx = gather(n, g, zero, |e| buckets[idx[e] as usize].x.words());
        let px = gather(n, g, one, |e| pts[e].x.words());
        let dx = reduce_ext(&combine_ext(&[&px], &[&bx], &Q::P16)); // below 2q
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
        // x_b and x_p are gathered again rather than kept from the forward pass: keeping them
        // (two more stores and loads per group) measured ~20% slower.
        let bx = gather(n, g, zero, |e| buckets[idx[e] as usize].x.words());
        let by = gather(n, g, zero, |e| buckets[idx[e] as usize].y.words());
        let px = gather(n, g, one, |e| pts[e].x.words());
        let py = gather(n, g, zero, |e| pts[e].y.words());
        let dy = reduce_ext(&combine_ext(&[&py], &[&by], &Q::P16)); // below 2q
        let lambda = mul_ext(&dy, &inv);
        let lambda2 = square_ext(&lambda);
        // x3 = λ² − x_b − x_p (below 2q once reduced); y3 = λ·(x_b − x3) − y_b.
        let x3 = reduce_ext(&combine_ext(&[&lambda2], &[&bx, &px], &Q::P32));
        let u = combine_ext(&[&bx], &[&x3], &Q::P2); // below 18q
        let y3 = combine_ext(&[&mul_ext(&lambda, &u)], &[&by], &Q::P16); // below 20q
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
        reduce_ext(&combine_ext(&[a], &[b], &Q::P4))
    }

    /// P + Q for an affine Q (not the point at infinity); P may be (algorithm 8).
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn add_affine(&self, p: &Proj<D>, x2: &Ext<D>, y2: &Ext<D>) -> Proj<D> {
        let t0 = mul_ext(&p.x, x2);
        let t1 = mul_ext(&p.y, y2);
        let t3 =
            Self::sub(&mul_ext(&Self::add(x2, y2), &Self::add(&p.x, &p.y)), &Self::add(&t0, &t1));
        let t4 = Self::add(&mul_ext(y2, &p.z), &p.y);
        let y3 = Self::add(&mul_ext(x2, &p.z), &p.x);
        self.finish([t0, t1, p.z, t3, t4, y3])
    }

    /// P + Q for any two points (algorithm 7).
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn add_proj(&self, p: &Proj<D>, q: &Proj<D>) -> Proj<D> {
        let t0 = mul_ext(&p.x, &q.x);
        let t1 = mul_ext(&p.y, &q.y);
        let t2 = mul_ext(&p.z, &q.z);
        let t3 = Self::sub(
            &mul_ext(&Self::add(&p.x, &p.y), &Self::add(&q.x, &q.y)),
            &Self::add(&t0, &t1),
        );
        let t4 = Self::sub(
            &mul_ext(&Self::add(&p.y, &p.z), &Self::add(&q.y, &q.z)),
            &Self::add(&t1, &t2),
        );
        let y3 = Self::sub(
            &mul_ext(&Self::add(&p.x, &p.z), &Self::add(&q.x, &q.z)),
            &Self::add(&t0, &t2),
        );
        self.finish([t0, t1, t2, t3, t4, y3])
    }

    /// The steps both algorithms share, from X1X2, Y1Y2, Z1Z2, X1Y2 + X2Y1, Y1Z2 + Y2Z1 and
    /// X1Z2 + X2Z1.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn finish(&self, [t0, t1, t2, t3, t4, y3]: [Ext<D>; 6]) -> Proj<D> {
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
    let pick = |o: &Ext<D>, n: &Ext<D>| {
        Ext::<D>(std::array::from_fn(|c| {
            Lanes(std::array::from_fn(|j| {
                _mm512_mask_blend_epi64(keep_new, o.0[c].0[j], n.0[c].0[j])
            }))
        }))
    };
    Proj { x: pick(&old.x, &new.x), y: pick(&old.y, &new.y), z: pick(&old.z, &new.z) }
}

/// The weighted sums of affine buckets on eight lanes: lane s takes the m = len/8 consecutive
/// buckets B_{ms}..B_{ms+m−1} and returns, as (X, Y, Z) in homogeneous projective coordinates,
/// `[Σ_i B_{ms+i}, Σ_i (i+1)·B_{ms+i}]`. Unfilled buckets are the point at infinity. `b3` is
/// three times the curve's b.
pub(crate) fn bucket_sums<F: LaneField<D>, const D: usize>(
    buckets: &[Xy<F>],
    filled: &[bool],
    b3: F,
) -> [[[F; 3]; 2]; 8] {
    assert!(available(), "bucket_sums needs AVX-512 IFMA");
    assert!(
        buckets.len().is_multiple_of(8) && filled.len() == buckets.len(),
        "eight equal lanes of buckets"
    );
    // SAFETY: the CPU features were checked above.
    unsafe { bucket_sums_ifma(buckets, filled, b3) }
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn bucket_sums_ifma<F: LaneField<D>, const D: usize>(
    buckets: &[Xy<F>],
    filled: &[bool],
    b3: F,
) -> [[[F; 3]; 2]; 8] {
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
    std::array::from_fn(|l| {
        [
            std::array::from_fn(|c| F::from_words(r[c][l])),
            std::array::from_fn(|c| F::from_words(s[c][l])),
        ]
    })
}
