//! Groth16 proving split into parts that can be cached and recombined.
//!
//! A proof is A = α + Σ wᵢ·Aᵢ + r·δ, B = β + Σ wᵢ·Bᵢ + s·δ (in G1 and G2), and
//! C = Σ_{aux} wᵢ·Lᵢ + Σ hⱼ·Hⱼ + s·A + r·B₁ − r·s·δ, the same computation as
//! `ark_groth16::Groth16::create_proof_with_reduction_and_matrices` with the circom reduction
//! (tests check that both give identical proofs for the same witness, r and s).
//!
//! The wire sums (`WireSums`) are linear in the witness, so a member proving several messages
//! under the same root can keep the sums of a previous witness and add only
//! Σ (wᵢ − w'ᵢ)·Pᵢ over the wires that changed. That is exact for any witness (no assumption about
//! which wires depend on the message): an unchanged wire contributes nothing, a changed one its
//! difference. Only the h part (quotient polynomial) is recomputed in full.

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_circom::CircomReduction;
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_groth16::r1cs_to_qap::R1CSToQAP;
use ark_groth16::{Proof, ProvingKey};
use ark_poly::GeneralEvaluationDomain;

use crate::circuit::ConstraintSystem;

/// The witness-linear parts of a proof: Σ wᵢ·Aᵢ, Σ wᵢ·B1ᵢ, Σ wᵢ·B2ᵢ over all wires (w₀ = 1) and
/// Σ wᵢ·Lᵢ over the auxiliary wires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireSums {
    pub a: G1Projective,
    pub b1: G1Projective,
    pub b2: G2Projective,
    pub l: G1Projective,
}

impl std::ops::Add for WireSums {
    type Output = WireSums;
    fn add(self, o: WireSums) -> WireSums {
        WireSums { a: self.a + o.a, b1: self.b1 + o.b1, b2: self.b2 + o.b2, l: self.l + o.l }
    }
}

fn msm_g1(bases: &[G1Affine], scalars: &[Fr]) -> G1Projective {
    G1Projective::msm_unchecked(bases, scalars)
}

fn msm_g2(bases: &[G2Affine], scalars: &[Fr]) -> G2Projective {
    G2Projective::msm_unchecked(bases, scalars)
}

/// The query points that are not the point at infinity, with their wire indices (a third of the
/// B query is infinity for the RLN circuit: wires that appear in no B term). Built once per keys.
pub struct SparseQueries {
    a_idx: Vec<usize>,
    a: Vec<G1Affine>,
    b_idx: Vec<usize>,
    b1: Vec<G1Affine>,
    b2: Vec<G2Affine>,
}

impl SparseQueries {
    pub fn new(pk: &ProvingKey<Bn254>) -> Self {
        let a_idx: Vec<usize> = (0..pk.a_query.len()).filter(|&i| !pk.a_query[i].is_zero()).collect();
        // B1 and B2 encode the same polynomials, so they are infinity at the same wires; keep a
        // wire if either is not (never drops a term).
        let b_idx: Vec<usize> = (0..pk.b_g1_query.len()).filter(|&i| !pk.b_g1_query[i].is_zero() || !pk.b_g2_query[i].is_zero()).collect();
        SparseQueries {
            a: a_idx.iter().map(|&i| pk.a_query[i]).collect(),
            a_idx,
            b1: b_idx.iter().map(|&i| pk.b_g1_query[i]).collect(),
            b2: b_idx.iter().map(|&i| pk.b_g2_query[i]).collect(),
            b_idx,
        }
    }
}

/// The wire sums of a full witness.
pub fn wire_sums(pk: &ProvingKey<Bn254>, q: &SparseQueries, num_inputs: usize, witness: &[Fr]) -> WireSums {
    let pick = |idx: &[usize]| idx.iter().map(|&i| witness[i]).collect::<Vec<Fr>>();
    let ((a, b1), (b2, l)) = rayon::join(
        || {
            let b_scalars = pick(&q.b_idx);
            rayon::join(|| msm_g1(&q.a, &pick(&q.a_idx)), || msm_g1(&q.b1, &b_scalars))
        },
        || rayon::join(|| msm_g2(&q.b2, &pick(&q.b_idx)), || msm_g1(&pk.l_query, &witness[num_inputs..])),
    );
    WireSums { a, b1, b2, l }
}

/// The wire sums of `witness` given those of `base` (same circuit): only wires whose values
/// differ are multiplied. Returns the sums and the number of wires that differed.
pub fn wire_sums_from(pk: &ProvingKey<Bn254>, num_inputs: usize, base: &[Fr], base_sums: &WireSums, witness: &[Fr]) -> (WireSums, usize) {
    debug_assert_eq!(base.len(), witness.len());
    let changed: Vec<usize> = (0..witness.len()).filter(|&i| witness[i] != base[i]).collect();
    if changed.is_empty() {
        return (*base_sums, 0);
    }
    let delta: Vec<Fr> = changed.iter().map(|&i| witness[i] - base[i]).collect();
    let pick_g1 = |q: &[G1Affine]| changed.iter().map(|&i| q[i]).collect::<Vec<_>>();
    let aux_start = changed.partition_point(|&i| i < num_inputs);
    // Wires with an infinite B point contribute nothing to B: skip them in the G2 sum.
    let (b_changed, b_delta): (Vec<usize>, Vec<Fr>) =
        changed.iter().zip(&delta).filter(|(&i, _)| !pk.b_g2_query[i].is_zero() || !pk.b_g1_query[i].is_zero()).map(|(&i, d)| (i, *d)).unzip();
    let ((a, b1), (b2, l)) = rayon::join(
        || {
            rayon::join(
                || msm_g1(&pick_g1(&pk.a_query), &delta),
                || msm_g1(&b_changed.iter().map(|&i| pk.b_g1_query[i]).collect::<Vec<_>>(), &b_delta),
            )
        },
        || {
            rayon::join(
                || msm_g2(&b_changed.iter().map(|&i| pk.b_g2_query[i]).collect::<Vec<_>>(), &b_delta),
                || {
                    let bases: Vec<G1Affine> = changed[aux_start..].iter().map(|&i| pk.l_query[i - num_inputs]).collect();
                    msm_g1(&bases, &delta[aux_start..])
                },
            )
        },
    );
    (*base_sums + WireSums { a, b1, b2, l }, changed.len())
}

/// Σ hⱼ·Hⱼ, h being the circom reduction's quotient evaluations for this witness.
pub fn h_sum(pk: &ProvingKey<Bn254>, cs: &ConstraintSystem, witness: &[Fr]) -> Result<G1Projective, String> {
    let h = CircomReduction::witness_map_from_matrices::<Fr, GeneralEvaluationDomain<Fr>>(
        &cs.matrices,
        cs.num_instance_variables,
        cs.num_constraints,
        witness,
    )
    .map_err(|e| e.to_string())?;
    Ok(msm_g1(&pk.h_query, &h))
}

/// The proof from its parts and the blinding scalars.
pub fn assemble(pk: &ProvingKey<Bn254>, sums: &WireSums, h: G1Projective, r: Fr, s: Fr) -> Proof<Bn254> {
    let g_a = sums.a + pk.vk.alpha_g1 + pk.delta_g1 * r;
    let g1_b = sums.b1 + pk.beta_g1 + pk.delta_g1 * s;
    let g2_b = sums.b2 + pk.vk.beta_g2 + pk.vk.delta_g2 * s;
    let g_c = g_a * s + g1_b * r - pk.delta_g1 * (r * s) + sums.l + h;
    let [a, c] = G1Projective::normalize_batch(&[g_a, g_c]).try_into().expect("two points");
    Proof { a, b: g2_b.into_affine(), c }
}
