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
//!
//! Every multi-scalar product runs on the proving key's fixed-base tables ([`ProvingTables`],
//! see [`super::msm`]).

use ark_bn254::{Bn254, Fr, G1Projective, G2Projective};
use ark_ec::CurveGroup;
use ark_ff::{One, Zero};
use ark_groth16::{Proof, ProvingKey};
use ark_poly::{EvaluationDomain, GeneralEvaluationDomain};
use rayon::prelude::*;

use super::tables::ProvingTables;
use crate::circuit::ConstraintSystem;

/// The witness-linear parts of a proof: Σ wᵢ·Aᵢ, Σ wᵢ·B1ᵢ, Σ wᵢ·B2ᵢ over all wires (w₀ = 1) and
/// Σ wᵢ·Lᵢ over the auxiliary wires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WireSums {
    a: G1Projective,
    b1: G1Projective,
    b2: G2Projective,
    l: G1Projective,
}

impl std::ops::Add for WireSums {
    type Output = WireSums;
    fn add(self, o: WireSums) -> WireSums {
        WireSums { a: self.a + o.a, b1: self.b1 + o.b1, b2: self.b2 + o.b2, l: self.l + o.l }
    }
}

/// The wire sums of a full witness.
pub(crate) fn wire_sums(t: &ProvingTables, witness: &[Fr]) -> WireSums {
    let ((a, b1), (b2, l)) = rayon::join(
        || rayon::join(|| t.a.sum(witness), || t.b1.sum(witness)),
        || rayon::join(|| t.b2.sum(witness), || t.l.sum(witness)),
    );
    WireSums { a, b1, b2, l }
}

/// The wire sums of `witness` given those of `base` (same circuit): only wires whose values
/// differ are multiplied. Returns the sums and the number of wires that differed.
pub(crate) fn wire_sums_from(
    t: &ProvingTables,
    base: &[Fr],
    base_sums: &WireSums,
    witness: &[Fr],
) -> (WireSums, usize) {
    debug_assert_eq!(base.len(), witness.len());
    let delta: Vec<(usize, Fr)> = (0..witness.len())
        .filter(|&i| witness[i] != base[i])
        .map(|i| (i, witness[i] - base[i]))
        .collect();
    if delta.is_empty() {
        return (*base_sums, 0);
    }
    let ((a, b1), (b2, l)) = rayon::join(
        || rayon::join(|| t.a.sum_sparse(&delta), || t.b1.sum_sparse(&delta)),
        || rayon::join(|| t.b2.sum_sparse(&delta), || t.l.sum_sparse(&delta)),
    );
    (*base_sums + WireSums { a, b1, b2, l }, delta.len())
}

/// The circom reduction's quotient evaluations for this witness: A·w, B·w and C·w = A·w ∘ B·w
/// on the constraint domain, each moved to the coset ω₂ₙ·D (iFFT, scale, FFT), then a·b − c.
/// The three transforms are independent and run side by side. Same values as
/// `CircomReduction::witness_map_from_matrices` (tests compare whole proofs with ark-groth16's).
pub(crate) fn quotient(cs: &ConstraintSystem, witness: &[Fr]) -> Result<Vec<Fr>, String> {
    quotient_with(cs, witness, true)
}

/// [`quotient`], with the transforms on AVX-512 IFMA lanes where available if `lanes`, else
/// arkworks' scalar FFTs.
pub(crate) fn quotient_with(
    cs: &ConstraintSystem,
    witness: &[Fr],
    lanes: bool,
) -> Result<Vec<Fr>, String> {
    let (nc, ni) = (cs.num_constraints, cs.num_instance_variables);
    let too_large = || "the constraint system is too large for an FFT domain".to_string();
    let domain = GeneralEvaluationDomain::<Fr>::new(nc + ni).ok_or_else(too_large)?;
    let n = domain.size();
    let shift = GeneralEvaluationDomain::<Fr>::new(2 * n).ok_or_else(too_large)?.element(1);
    let eval = |m: &[Vec<(Fr, usize)>]| -> Vec<Fr> {
        let mut v = vec![Fr::zero(); n];
        v[..nc]
            .par_iter_mut()
            .zip(m)
            .for_each(|(v, row)| *v = row.iter().map(|&(coeff, wire)| coeff * witness[wire]).sum());
        v
    };
    let (mut a, b) = rayon::join(|| eval(&cs.matrices[0]), || eval(&cs.matrices[1]));
    let c: Vec<Fr> = a.iter().zip(&b).map(|(x, y)| *x * y).collect();
    // The reduction puts the public inputs after the constraints in A (so that the H query
    // commits to them).
    a[nc..nc + ni].copy_from_slice(&witness[..ni]);
    #[cfg(target_arch = "x86_64")]
    if let Some(fft) = coset_fft(n, domain.group_gen(), shift).filter(|_| lanes) {
        return Ok(fft.quotient(&a, &b, &c));
    }
    let to_coset = |mut v: Vec<Fr>| {
        domain.ifft_in_place(&mut v);
        GeneralEvaluationDomain::<Fr>::distribute_powers_and_mul_by_const(&mut v, shift, Fr::one());
        domain.fft_in_place(&mut v);
        v
    };
    let (mut a, (b, c)) =
        rayon::join(|| to_coset(a), || rayon::join(|| to_coset(b), || to_coset(c)));
    a.par_iter_mut().zip(&b).zip(&c).for_each(|((a, b), c)| *a = *a * b - c);
    Ok(a)
}

/// The lane transforms for a domain size, built once per process (None without AVX-512 IFMA).
#[cfg(target_arch = "x86_64")]
fn coset_fft(n: usize, omega: Fr, shift: Fr) -> Option<std::sync::Arc<crate::lanes::CosetFft>> {
    use std::sync::{Arc, Mutex};
    static BUILT: Mutex<Vec<Arc<crate::lanes::CosetFft>>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(fft) = built.iter().find(|f| f.size() == n) {
        return Some(fft.clone());
    }
    let fft = Arc::new(crate::lanes::CosetFft::new(n, omega, shift)?);
    built.push(fft.clone());
    Some(fft)
}

/// Σ hⱼ·Hⱼ over the quotient evaluations.
pub(crate) fn quotient_sum(
    t: &ProvingTables,
    cs: &ConstraintSystem,
    witness: &[Fr],
) -> Result<G1Projective, String> {
    let h = quotient(cs, witness)?;
    if h.len() != t.h.len() {
        return Err(format!(
            "the proving key has {} H points, the constraint system's domain has {}",
            t.h.len(),
            h.len()
        ));
    }
    Ok(t.h.msm(&h))
}

/// The proof from its parts and the blinding scalars.
pub(crate) fn assemble(
    pk: &ProvingKey<Bn254>,
    sums: &WireSums,
    h: G1Projective,
    r: Fr,
    s: Fr,
) -> Proof<Bn254> {
    let g_a = sums.a + pk.vk.alpha_g1 + pk.delta_g1 * r;
    let g1_b = sums.b1 + pk.beta_g1 + pk.delta_g1 * s;
    let g2_b = sums.b2 + pk.vk.beta_g2 + pk.vk.delta_g2 * s;
    let g_c = g_a * s + g1_b * r - pk.delta_g1 * (r * s) + sums.l + h;
    let [a, c] = G1Projective::normalize_batch(&[g_a, g_c]).try_into().expect("two points");
    Proof { a, b: g2_b.into_affine(), c }
}
