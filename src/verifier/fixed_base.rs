//! Fixed-base scalar multiplication with precomputed tables (signed 8-bit windows): d·2^(8j)·P
//! for d in 1..=128 and every window j, so k·P costs 32 mixed additions and no doubling. Used for
//! the verifying key's input bases, which every verification multiplies by the public inputs.

use ark_bn254::{Fr, G1Affine, G1Projective};
use ark_ec::{AdditiveGroup, AffineRepr, CurveGroup};
use ark_ff::{BigInteger, PrimeField, Zero};

const W: usize = 8;
const HALF: usize = 1 << (W - 1);
/// Windows covering 256 bits: scalars are below 2^254, so the last signed digit never carries.
const WINDOWS: usize = 256 / W;

pub(crate) struct FixedBaseTable {
    /// table[j * HALF + d - 1] = d·2^(W·j)·P.
    table: Vec<G1Affine>,
}

impl FixedBaseTable {
    pub(crate) fn new(p: G1Affine) -> Self {
        let mut proj = Vec::with_capacity(WINDOWS * HALF);
        let mut base = p.into_group();
        for _ in 0..WINDOWS {
            let mut acc = base;
            for _ in 0..HALF {
                proj.push(acc);
                acc += base;
            }
            for _ in 0..W {
                base.double_in_place();
            }
        }
        FixedBaseTable { table: G1Projective::normalize_batch(&proj) }
    }

    /// Adds k·P to `acc`.
    pub(crate) fn mul_add(&self, acc: &mut G1Projective, k: &Fr) {
        let bytes = k.into_bigint().to_bytes_le();
        let mut carry = 0usize;
        for (j, &byte) in bytes.iter().enumerate().take(WINDOWS) {
            let d = byte as usize + carry;
            let row = &self.table[j * HALF..(j + 1) * HALF];
            if d > HALF {
                // d - 256 in [-127, 0]: subtract, carry one into the next window.
                carry = 1;
                let neg = (1 << W) - d;
                if neg != 0 {
                    *acc -= row[neg - 1];
                }
            } else {
                carry = 0;
                if d != 0 {
                    *acc += row[d - 1];
                }
            }
        }
        debug_assert_eq!(carry, 0);
    }
}

/// Σ kᵢ·Pᵢ over tables.
pub(crate) fn fixed_msm(tables: &[FixedBaseTable], scalars: &[Fr]) -> G1Projective {
    let mut acc = G1Projective::zero();
    for (t, k) in tables.iter().zip(scalars) {
        t.mul_add(&mut acc, k);
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use rand::SeedableRng;

    #[test]
    fn tables_match_scalar_multiplication() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let p = G1Projective::rand(&mut rng).into_affine();
        let t = FixedBaseTable::new(p);
        let mut scalars: Vec<Fr> = (0..50).map(|_| Fr::rand(&mut rng)).collect();
        scalars.extend([
            Fr::zero(),
            Fr::from(1u64),
            Fr::from(128u64),
            Fr::from(129u64),
            Fr::from(255u64),
            Fr::from(256u64),
            -Fr::from(1u64),
        ]);
        for k in scalars {
            let mut acc = G1Projective::zero();
            t.mul_add(&mut acc, &k);
            assert_eq!(acc, p * k, "{k}");
        }
    }
}
