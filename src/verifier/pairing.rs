//! Miller loops over many pairs with one accumulator, and the GLV-split scalars of the batch
//! equation.
//!
//! arkworks' `multi_miller_loop` gives every group of four pairs its own accumulator (64 Fp12
//! squarings each) and takes its G2 line coefficients by value, so a caller with prepared keys
//! clones them for every call. Here all pairs of one call share one accumulator and the
//! coefficients are borrowed; callers split the pairs across threads and multiply the results.

use ark_bn254::{Config, Fq12, Fr, G1Affine, G1Projective};
use ark_ec::bn::{BnConfig, G2Prepared, TwistType};
use ark_ec::scalar_mul::glv::GLVConfig;
use ark_ec::{AdditiveGroup, AffineRepr, CurveGroup};
use ark_ff::{CyclotomicMultSubgroup, Field, One, Zero};

/// A G1 point with the prepared G2 point it is paired with.
pub(crate) type Pair<'a> = (G1Affine, &'a G2Prepared<Config>);

/// The product of the Miller loops of `pairs` (before the final exponentiation), with one
/// accumulator: one Fp12 squaring per loop step for all pairs together. Pairs with a point at
/// infinity contribute 1 and are skipped.
pub(crate) fn miller_loop(pairs: &[Pair<'_>]) -> Fq12 {
    let live: Vec<&Pair<'_>> = pairs.iter().filter(|(p, q)| !p.is_zero() && !q.infinity).collect();
    let mut f = Fq12::one();
    if live.is_empty() {
        return f;
    }
    let lines = |f: &mut Fq12, k: usize| {
        for (p, q) in &live {
            line(f, &q.ell_coeffs[k], p);
        }
    };
    let bits = <Config as BnConfig>::ATE_LOOP_COUNT;
    let mut k = 0;
    for i in (1..bits.len()).rev() {
        if i != bits.len() - 1 {
            f.square_in_place();
        }
        lines(&mut f, k);
        k += 1;
        if bits[i - 1] != 0 {
            lines(&mut f, k);
            k += 1;
        }
    }
    if <Config as BnConfig>::X_IS_NEGATIVE {
        f.cyclotomic_inverse_in_place();
    }
    // The two Frobenius lines at the end.
    lines(&mut f, k);
    lines(&mut f, k + 1);
    f
}

/// Multiplies `f` by the line with coefficients `c`, evaluated at `p` (as arkworks' `Bn::ell`).
fn line(f: &mut Fq12, c: &(ark_bn254::Fq2, ark_bn254::Fq2, ark_bn254::Fq2), p: &G1Affine) {
    let (mut c0, mut c1, mut c2) = *c;
    match <Config as BnConfig>::TWIST_TYPE {
        TwistType::M => {
            c2.mul_assign_by_fp(&p.y);
            c1.mul_assign_by_fp(&p.x);
            f.mul_by_014(&c0, &c1, &c2);
        }
        TwistType::D => {
            c0.mul_assign_by_fp(&p.y);
            c1.mul_assign_by_fp(&p.x);
            f.mul_by_034(&c0, &c1, &c2);
        }
    }
}

/// A batch coefficient r = r1 + λ·r2 (mod the group order) from two 64-bit halves, where λ is
/// the eigenvalue of the curve's endomorphism φ(x, y) = (βx, y). Distinct (r1, r2) give distinct
/// r: a collision would be a nonzero vector (a, b) with a + λb ≡ 0 and |a|, |b| < 2^64, but every
/// nonzero vector of that lattice is longer than 2^126. So r is one of 2^128 values, while r·P
/// costs 64 doublings (see [`BatchScalar::mul`]) instead of 128.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BatchScalar {
    r1: u64,
    r2: u64,
}

impl BatchScalar {
    pub(crate) fn new(r1: u64, r2: u64) -> Self {
        BatchScalar { r1, r2 }
    }

    /// r as a scalar field element.
    pub(crate) fn fr(&self) -> Fr {
        Fr::from(self.r1) + <ark_bn254::g1::Config as GLVConfig>::LAMBDA * Fr::from(self.r2)
    }

    /// The two terms of r·P with 64-bit scalars: (P, r1) and (φ(P), r2), for an MSM.
    pub(crate) fn split_terms(&self, p: &G1Affine) -> [(G1Affine, Fr); 2] {
        [
            (*p, Fr::from(self.r1)),
            (<ark_bn254::g1::Config as GLVConfig>::endomorphism_affine(p), Fr::from(self.r2)),
        ]
    }

    /// r·P = r1·P + r2·φ(P), both halves in one double-and-add pass over 64 bits with mixed
    /// additions of P, φ(P) or P + φ(P).
    pub(crate) fn mul(&self, p: &G1Affine) -> G1Projective {
        if p.is_zero() {
            return G1Projective::zero();
        }
        let phi = <ark_bn254::g1::Config as GLVConfig>::endomorphism_affine(p);
        let both = (*p + phi).into_affine();
        let mut acc = G1Projective::zero();
        for bit in (0..64).rev() {
            acc.double_in_place();
            match ((self.r1 >> bit) & 1, (self.r2 >> bit) & 1) {
                (1, 0) => acc += p,
                (0, 1) => acc += phi,
                (1, 1) => acc += both,
                _ => {}
            }
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Bn254, G2Projective};
    use ark_ec::pairing::Pairing;
    use ark_ff::UniformRand;
    use rand::{RngCore, SeedableRng};

    #[test]
    fn one_accumulator_matches_arkworks() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let g1: Vec<G1Affine> =
            (0..7).map(|_| G1Projective::rand(&mut rng).into_affine()).collect();
        let g2: Vec<G2Prepared<Config>> =
            (0..7).map(|_| G2Projective::rand(&mut rng).into_affine().into()).collect();
        for n in [1, 3, 7] {
            let pairs: Vec<Pair<'_>> = g1[..n].iter().copied().zip(&g2[..n]).collect();
            let ours = miller_loop(&pairs);
            let theirs = Bn254::multi_miller_loop(g1[..n].to_vec(), g2[..n].to_vec()).0;
            assert_eq!(ours, theirs, "{n} pairs");
        }
        // Points at infinity are skipped on either side, as arkworks does.
        let inf2: G2Prepared<Config> = ark_bn254::G2Affine::zero().into();
        let pairs = [(g1[0], &g2[0]), (G1Affine::zero(), &g2[1]), (g1[2], &inf2)];
        assert_eq!(miller_loop(&pairs), miller_loop(&[(g1[0], &g2[0])]));
        assert_eq!(miller_loop(&[]), Fq12::one());
    }

    #[test]
    fn split_scalar_multiplication_matches() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
        let p = G1Projective::rand(&mut rng).into_affine();
        let mut cases: Vec<(u64, u64)> =
            (0..20).map(|_| (rng.next_u64(), rng.next_u64())).collect();
        cases.extend([(0, 0), (1, 0), (0, 1), (u64::MAX, u64::MAX), (u64::MAX, 0)]);
        for (r1, r2) in cases {
            let s = BatchScalar::new(r1, r2);
            assert_eq!(s.mul(&p), p * s.fr(), "{r1} {r2}");
        }
        assert!(BatchScalar::new(3, 4).mul(&G1Affine::zero()).is_zero());
        let s = BatchScalar::new(rng.next_u64(), rng.next_u64());
        let [(p1, k1), (p2, k2)] = s.split_terms(&p);
        assert_eq!(p1 * k1 + p2 * k2, p * s.fr());
    }
}
