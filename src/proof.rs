//! RLN proofs and their public values: the 128-byte compressed Groth16 proof, the 288-byte
//! proof blob nwaku exchanges (zerokit 0.9 layout), snarkjs JSON, and recovery of a member's
//! secret from two shares of one epoch.

use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G2Affine, G2Projective};
use ark_ec::bn::BnConfig;
use ark_ec::{AdditiveGroup, AffineRepr};
use ark_ff::{Field as _, PrimeField, Zero};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use serde::{Deserialize, Serialize};

use crate::field::{Field, FieldError};

/// Size of a compressed Groth16 proof: A (G1, 32) | B (G2, 64) | C (G1, 32).
pub const GROTH16_PROOF_BYTES: usize = 128;
/// Size of the RLN proof blob: proof | root | external_nullifier | x | y | nullifier.
pub const RLN_PROOF_BYTES: usize = GROTH16_PROOF_BYTES + 5 * 32;

/// Errors from decoding proofs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofFormatError {
    /// Wrong length.
    #[error("expected {expected} bytes, got {got}")]
    Length {
        /// The length of the form.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// A point is not on its curve or not in the prime-order subgroup.
    #[error("the Groth16 proof bytes are not valid compressed curve points in the right subgroup")]
    InvalidPoints,
    /// The points decode, but not from their one canonical encoding (e.g. a point at infinity
    /// with coordinate bits set): a second encoding of the same proof is refused.
    #[error("the Groth16 proof bytes are not the canonical encoding of their points")]
    NonCanonicalPoints,
    /// A public value is not a canonical field element.
    #[error("public value `{name}`: {source}")]
    Value {
        /// The public value's name (`y`, `root`, ...).
        name: &'static str,
        /// Why it is not canonical.
        source: FieldError,
    },
    /// The snarkjs JSON is malformed (the message says where).
    #[error("snarkjs proof JSON: {0}")]
    Json(String),
}

/// Errors from secret recovery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoverError {
    /// The shares' nullifiers differ.
    #[error("the two shares have different nullifiers: they are not from one member in one epoch")]
    DifferentNullifiers,
    /// The shares' external nullifiers differ.
    #[error("the two shares have different external nullifiers (epoch or application differ)")]
    DifferentExternalNullifiers,
    /// The shares have the same x (no secret to recover).
    #[error(
        "the two shares have the same x: they are one message sent twice, which reveals nothing"
    )]
    SameShare,
}

/// A Groth16 proof over BN254: A, C in G1 and B in G2 (validated points).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Groth16Proof {
    /// A, in G1.
    pub a: G1Affine,
    /// B, in G2.
    pub b: G2Affine,
    /// C, in G1.
    pub c: G1Affine,
}

impl From<ark_groth16::Proof<Bn254>> for Groth16Proof {
    fn from(p: ark_groth16::Proof<Bn254>) -> Self {
        Groth16Proof { a: p.a, b: p.b, c: p.c }
    }
}

impl From<Groth16Proof> for ark_groth16::Proof<Bn254> {
    fn from(p: Groth16Proof) -> Self {
        ark_groth16::Proof { a: p.a, b: p.b, c: p.c }
    }
}

impl Groth16Proof {
    /// The 128-byte arkworks compressed form.
    pub fn to_bytes(&self) -> [u8; GROTH16_PROOF_BYTES] {
        let mut out = [0u8; GROTH16_PROOF_BYTES];
        ark_groth16::Proof::<Bn254>::from(*self)
            .serialize_compressed(&mut out[..])
            .expect("fits exactly");
        out
    }

    /// Decodes the 128-byte compressed form, checking that every point is on the curve and in
    /// the prime-order subgroup.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofFormatError> {
        if bytes.len() != GROTH16_PROOF_BYTES {
            return Err(ProofFormatError::Length {
                expected: GROTH16_PROOF_BYTES,
                got: bytes.len(),
            });
        }
        let invalid = |_| ProofFormatError::InvalidPoints;
        // Decompression puts every point on its curve (or fails); the subgroup checks follow.
        let proof = ark_groth16::Proof::<Bn254>::deserialize_compressed_unchecked(bytes)
            .map_err(invalid)?;
        // G1 has cofactor 1: on the curve is in the subgroup.
        let valid = proof.a.is_on_curve()
            && proof.c.is_on_curve()
            && proof.b.is_on_curve()
            && g2_in_subgroup(&proof.b);
        if !valid {
            return Err(ProofFormatError::InvalidPoints);
        }
        // arkworks reads a point at infinity from its flag alone; only the canonical bytes pass.
        let mut again = [0u8; GROTH16_PROOF_BYTES];
        proof
            .serialize_compressed(&mut again[..])
            .map_err(|_| ProofFormatError::NonCanonicalPoints)?;
        if again[..] != bytes[..] {
            return Err(ProofFormatError::NonCanonicalPoints);
        }
        Ok(Groth16Proof::from(proof))
    }

    /// Parses snarkjs's `proof.json` (`pi_a`, `pi_b` with [c0, c1] coordinates, `pi_c`).
    pub fn from_snarkjs_json(v: &serde_json::Value) -> Result<Self, ProofFormatError> {
        let err = |m: &str| ProofFormatError::Json(m.to_string());
        let a = g1_from_json(&v["pi_a"]).ok_or_else(|| err("pi_a is not a G1 point"))?;
        let b = g2_from_json(&v["pi_b"]).ok_or_else(|| err("pi_b is not a G2 point"))?;
        let c = g1_from_json(&v["pi_c"]).ok_or_else(|| err("pi_c is not a G1 point"))?;
        Ok(Groth16Proof { a, b, c })
    }

    /// snarkjs's `proof.json` form.
    pub fn to_snarkjs_json(&self) -> serde_json::Value {
        serde_json::json!({
            "pi_a": g1_to_json(&self.a),
            "pi_b": g2_to_json(&self.b),
            "pi_c": g1_to_json(&self.c),
            "protocol": "groth16",
            "curve": "bn128",
        })
    }
}

/// Whether a G2 point on the curve is in the prime-order subgroup, with the test of Dai, Lin,
/// Zhao and Zhou (eprint 2022/348, BN curves): [x+1]Q + ψ([x]Q) + ψ²([x]Q) = ψ³([2x]Q), where x
/// is the curve's 63-bit parameter and ψ the untwist-Frobenius-twist endomorphism. One 63-bit
/// scalar multiplication instead of the 128-bit one of arkworks' check ([6x²]Q = ψ(Q)).
pub(crate) fn g2_in_subgroup(q: &G2Affine) -> bool {
    if q.is_zero() {
        return true;
    }
    let xq = q.mul_bigint(<ark_bn254::Config as BnConfig>::X);
    let psi_xq = psi(&xq);
    let lhs = xq + q + psi_xq + psi(&psi_xq);
    lhs == psi(&psi(&psi(&xq.double())))
}

/// ψ(X, Y, Z) = (X^p·c_x, Y^p·c_y, Z^p) in Jacobian coordinates: the p-power Frobenius is a field
/// automorphism, so it commutes with the division by Z² and Z³.
fn psi(p: &G2Projective) -> G2Projective {
    let frob = |mut c: Fq2| {
        c.frobenius_map_in_place(1);
        c
    };
    G2Projective::new_unchecked(
        frob(p.x) * <ark_bn254::Config as BnConfig>::TWIST_MUL_BY_Q_X,
        frob(p.y) * <ark_bn254::Config as BnConfig>::TWIST_MUL_BY_Q_Y,
        frob(p.z),
    )
}

fn fq_from_str(v: &serde_json::Value) -> Option<Fq> {
    let n = num_bigint::BigUint::parse_bytes(v.as_str()?.as_bytes(), 10)?;
    (n < Fq::MODULUS.into()).then(|| Fq::from(n))
}

/// A G1 point from snarkjs's projective JSON [x, y, z] (z = 1, or 0 for infinity).
pub(crate) fn g1_from_json(v: &serde_json::Value) -> Option<G1Affine> {
    let a = v.as_array()?;
    let (x, y, z) = (
        fq_from_str(a.first()?)?,
        fq_from_str(a.get(1)?)?,
        a.get(2).map(fq_from_str).unwrap_or(Some(Fq::from(1u64)))?,
    );
    if z.is_zero() {
        return Some(G1Affine::identity());
    }
    let p = G1Affine::new_unchecked(x, y);
    (p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve()).then_some(p)
}

/// A G2 point from snarkjs's JSON [[x.c0, x.c1], [y.c0, y.c1], [1, 0]].
pub(crate) fn g2_from_json(v: &serde_json::Value) -> Option<G2Affine> {
    let a = v.as_array()?;
    let fq2 = |p: &serde_json::Value| -> Option<Fq2> {
        Some(Fq2::new(fq_from_str(p.get(0)?)?, fq_from_str(p.get(1)?)?))
    };
    let (x, y) = (fq2(a.first()?)?, fq2(a.get(1)?)?);
    if let Some(z) = a.get(2) {
        if fq2(z)?.is_zero() {
            return Some(G2Affine::identity());
        }
    }
    let p = G2Affine::new_unchecked(x, y);
    (p.is_on_curve() && g2_in_subgroup(&p)).then_some(p)
}

fn g1_to_json(p: &G1Affine) -> serde_json::Value {
    serde_json::json!([p.x.to_string(), p.y.to_string(), "1"])
}

fn g2_to_json(p: &G2Affine) -> serde_json::Value {
    serde_json::json!([
        [p.x.c0.to_string(), p.x.c1.to_string()],
        [p.y.c0.to_string(), p.y.c1.to_string()],
        ["1", "0"]
    ])
}

/// The public values of an RLN proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PublicValues {
    /// The membership tree root the proof is made against.
    pub root: Field,
    /// Poseidon(epoch, rln_identifier).
    pub external_nullifier: Field,
    /// hash_to_field(signal): the share's x.
    pub x: Field,
    /// identity_secret + a1 * x: the share's y.
    pub y: Field,
    /// Poseidon(a1): equal for a member's messages with one message id in one epoch.
    pub nullifier: Field,
}

impl PublicValues {
    /// The Groth16 public inputs in the circuit's order: [y, root, nullifier, x, external_nullifier].
    pub fn inputs(&self) -> [Fr; 5] {
        [
            self.y.fr(),
            self.root.fr(),
            self.nullifier.fr(),
            self.x.fr(),
            self.external_nullifier.fr(),
        ]
    }

    /// From the circuit's public signal order [y, root, nullifier, x, external_nullifier].
    pub fn from_signals(s: &[Field; 5]) -> Self {
        PublicValues { y: s[0], root: s[1], nullifier: s[2], x: s[3], external_nullifier: s[4] }
    }
}

/// An RLN proof: the Groth16 proof and the public values it proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RlnProof {
    /// The Groth16 proof.
    pub proof: Groth16Proof,
    /// The public values it proves.
    pub values: PublicValues,
}

impl RlnProof {
    /// The 288-byte blob: proof<128> | root | external_nullifier | x | y | nullifier.
    pub fn to_bytes(&self) -> [u8; RLN_PROOF_BYTES] {
        let mut out = [0u8; RLN_PROOF_BYTES];
        out[..GROTH16_PROOF_BYTES].copy_from_slice(&self.proof.to_bytes());
        let v = &self.values;
        for (k, f) in [v.root, v.external_nullifier, v.x, v.y, v.nullifier].iter().enumerate() {
            let o = GROTH16_PROOF_BYTES + 32 * k;
            out[o..o + 32].copy_from_slice(&f.to_le_bytes());
        }
        out
    }

    /// Decodes the 288-byte blob; every field must be canonical and every point valid.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofFormatError> {
        if bytes.len() != RLN_PROOF_BYTES {
            return Err(ProofFormatError::Length { expected: RLN_PROOF_BYTES, got: bytes.len() });
        }
        const NAMES: [&str; 5] = ["root", "external_nullifier", "x", "y", "nullifier"];
        let mut vals = [Field::ZERO; 5];
        for (k, v) in vals.iter_mut().enumerate() {
            let o = GROTH16_PROOF_BYTES + 32 * k;
            *v = Field::from_le_slice(&bytes[o..o + 32])
                .map_err(|source| ProofFormatError::Value { name: NAMES[k], source })?;
        }
        let proof = Groth16Proof::from_bytes(&bytes[..GROTH16_PROOF_BYTES])?;
        let [root, external_nullifier, x, y, nullifier] = vals;
        Ok(RlnProof { proof, values: PublicValues { root, external_nullifier, x, y, nullifier } })
    }
}

/// Recovers a member's identity secret from two shares with the same nullifier and different x:
/// a1 = (y1 - y2) / (x1 - x2), secret = y1 - a1 * x1.
pub fn recover_secret(a: &PublicValues, b: &PublicValues) -> Result<Field, RecoverError> {
    if a.external_nullifier != b.external_nullifier {
        return Err(RecoverError::DifferentExternalNullifiers);
    }
    if a.nullifier != b.nullifier {
        return Err(RecoverError::DifferentNullifiers);
    }
    let dx = a.x.fr() - b.x.fr();
    let inv = ark_ff::Field::inverse(&dx).ok_or(RecoverError::SameShare)?;
    let a1 = (a.y.fr() - b.y.fr()) * inv;
    Ok(Field::from_fr(a.y.fr() - a1 * a.x.fr()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_solves_the_line() {
        let secret = Field::from_u64(123456789);
        let a1 = Field::from_u64(987654321);
        let share = |x: u64| {
            let x = Field::from_u64(x);
            PublicValues {
                root: Field::ZERO,
                external_nullifier: Field::ONE,
                x,
                y: Field::from_fr(secret.fr() + a1.fr() * x.fr()),
                nullifier: Field::from_u64(7),
            }
        };
        let (s1, s2) = (share(11), share(13));
        assert_eq!(recover_secret(&s1, &s2).unwrap(), secret);
        assert_eq!(recover_secret(&s1, &s1), Err(RecoverError::SameShare));
        let mut other = s2;
        other.nullifier = Field::ONE;
        assert_eq!(recover_secret(&s1, &other), Err(RecoverError::DifferentNullifiers));
        other = s2;
        other.external_nullifier = Field::ZERO;
        assert_eq!(recover_secret(&s1, &other), Err(RecoverError::DifferentExternalNullifiers));
    }

    #[test]
    fn infinity_with_coordinate_bits_is_not_a_second_encoding() {
        // Found by tests/decoders.rs: B's infinity flag (0x40) with a stray coordinate bit.
        let a = [
            119, 195, 25, 89, 76, 46, 96, 132, 156, 18, 0, 57, 10, 1, 76, 81, 22, 5, 15, 44, 23, 2,
            84, 165, 72, 25, 60, 27, 5, 49, 19, 8,
        ];
        let c = [
            68, 19, 35, 8, 104, 12, 71, 26, 126, 166, 99, 1, 33, 195, 45, 138, 66, 96, 62, 166, 40,
            64, 43, 65, 29, 13, 27, 1, 86, 56, 56, 20,
        ];
        let mut bytes = [0u8; GROTH16_PROOF_BYTES];
        bytes[..32].copy_from_slice(&a);
        bytes[96..].copy_from_slice(&c);
        bytes[95] = 0x40;
        let canonical = Groth16Proof::from_bytes(&bytes).expect("canonical infinity decodes");
        assert_eq!(canonical.to_bytes(), bytes);
        bytes[95] = 0x41;
        assert!(matches!(
            Groth16Proof::from_bytes(&bytes),
            Err(ProofFormatError::NonCanonicalPoints)
        ));
    }

    /// A point of E'(Fq2), not necessarily in the subgroup.
    fn curve_point(rng: &mut impl rand::Rng) -> G2Affine {
        use ark_ff::UniformRand;
        loop {
            let x = Fq2::new(Fq::rand(rng), Fq::rand(rng));
            if let Some(p) = G2Affine::get_point_from_x_unchecked(x, rng.gen()) {
                return p;
            }
        }
    }

    #[test]
    fn g2_subgroup_check_agrees_with_arkworks() {
        use ark_ec::CurveGroup;
        use ark_ff::UniformRand;
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for _ in 0..64 {
            let g = G2Projective::rand(&mut rng).into_affine();
            assert!(g2_in_subgroup(&g));
            let p = curve_point(&mut rng);
            assert!(p.is_on_curve());
            assert_eq!(g2_in_subgroup(&p), p.is_in_correct_subgroup_assuming_on_curve());
            assert!(
                !g2_in_subgroup(&p),
                "a random point of E' is in G2 with negligible probability"
            );
        }
        assert!(g2_in_subgroup(&G2Affine::identity()));
    }

    /// A subgroup point plus a point of small order ℓ (each prime factor of the cofactor
    /// 10069 · 5864401 · 1875725156269 · c4) is refused.
    #[test]
    fn g2_subgroup_check_refuses_small_torsion() {
        use ark_ec::CurveGroup;
        use ark_ff::UniformRand;
        use num_bigint::BigUint;
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        let r: BigUint = Fr::MODULUS.into();
        let cofactor = BigUint::from(2u8) * BigUint::from(Fq::MODULUS) - &r;
        for l in [10069u64, 5864401, 1875725156269] {
            let cofactor_part = &cofactor / l;
            assert_eq!(&cofactor_part * l, cofactor);
            let k = (&r * cofactor_part).to_u64_digits();
            let t = loop {
                let t = curve_point(&mut rng).mul_bigint(&k);
                if !t.is_zero() {
                    break t;
                }
            };
            assert!(ark_ec::PrimeGroup::mul_bigint(&t, [l]).is_zero(), "order {l}");
            assert!(!g2_in_subgroup(&t.into_affine()));
            let g = G2Projective::rand(&mut rng);
            assert!(!g2_in_subgroup(&(g + t).into_affine()));
        }
    }

    #[test]
    fn decoding_refuses_points_outside_the_subgroup() {
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(13);
        let good = Groth16Proof {
            a: G1Affine::generator(),
            b: G2Affine::generator(),
            c: G1Affine::generator(),
        };
        assert_eq!(Groth16Proof::from_bytes(&good.to_bytes()), Ok(good));
        let bad = Groth16Proof { b: curve_point(&mut rng), ..good };
        assert_eq!(Groth16Proof::from_bytes(&bad.to_bytes()), Err(ProofFormatError::InvalidPoints));
        let json = bad.to_snarkjs_json();
        assert!(Groth16Proof::from_snarkjs_json(&json).is_err());
        assert_eq!(Groth16Proof::from_snarkjs_json(&good.to_snarkjs_json()), Ok(good));
    }

    #[test]
    fn decoders_reject_bad_lengths_and_values() {
        assert_eq!(
            RlnProof::from_bytes(&[0u8; 287]),
            Err(ProofFormatError::Length { expected: 288, got: 287 })
        );
        assert!(matches!(
            RlnProof::from_bytes(&[0xffu8; 288]),
            Err(ProofFormatError::Value { name: "root", .. })
        ));
        assert_eq!(Groth16Proof::from_bytes(&[0x5au8; 128]), Err(ProofFormatError::InvalidPoints));
    }
}
