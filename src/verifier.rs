//! Proof verification: one proof, one proof against a signal and a window of acceptable roots,
//! and batches of proofs checked with one final exponentiation (a bad proof is then named).

mod fixed_base;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective};
use ark_ec::pairing::{Pairing, PairingOutput};
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::{One, Zero};
use ark_groth16::{PreparedVerifyingKey, VerifyingKey};
use rand::RngCore;
use rayon::prelude::*;

use crate::field::{hash_to_field, Field};
use crate::proof::RlnProof;

/// Why a proof was not accepted. Decoding errors are separate (see `proof::ProofFormatError`):
/// a `Rejection` is about a well-formed proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("root {root} is not in the window of acceptable roots")]
    RootNotAccepted { root: Field },
    #[error("x is not hash_to_field(signal): the proof is for another message")]
    SignalMismatch,
    #[error("the Groth16 proof does not verify for these public values")]
    InvalidProof,
}

/// A batch did not verify; these proofs (indices into the batch) are the bad ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} of the batch's proofs do not verify (indices {bad:?})", bad.len())]
pub struct BatchRejection {
    pub bad: Vec<usize>,
}

/// A set of roots a verifier accepts (a static list, or the chain's recent roots).
pub trait RootSet {
    fn contains_root(&self, root: &Field) -> bool;
}

impl RootSet for [Field] {
    fn contains_root(&self, root: &Field) -> bool {
        self.contains(root)
    }
}
impl<const N: usize> RootSet for [Field; N] {
    fn contains_root(&self, root: &Field) -> bool {
        self.contains(root)
    }
}
impl RootSet for Vec<Field> {
    fn contains_root(&self, root: &Field) -> bool {
        self.contains(root)
    }
}
impl RootSet for HashSet<Field> {
    fn contains_root(&self, root: &Field) -> bool {
        self.contains(root)
    }
}

/// Verifies RLN proofs with one verifying key, prepared once.
#[derive(Clone)]
pub struct Verifier {
    pvk: PreparedVerifyingKey<Bn254>,
    /// -beta in G2, prepared once for the batch equation.
    beta_g2_prepared: <Bn254 as Pairing>::G2Prepared,
    /// Fixed-base tables of the input bases (gamma_abc_g1[1..]), built once this verifier (or a
    /// clone) has been used TABLES_AFTER times: a one-shot verification does not pay for them.
    tables: Arc<InputTables>,
}

#[derive(Default)]
struct InputTables {
    uses: AtomicUsize,
    tables: OnceLock<Vec<fixed_base::FixedBaseTable>>,
}

/// Verifications after which the input tables are built (~10 ms once, then ~0.3 ms saved each).
const TABLES_AFTER: usize = 16;

impl Verifier {
    pub fn new(vk: &VerifyingKey<Bn254>) -> Self {
        Self::from_prepared(ark_groth16::prepare_verifying_key(vk))
    }

    pub fn from_prepared(pvk: PreparedVerifyingKey<Bn254>) -> Self {
        let beta_g2_prepared = pvk.vk.beta_g2.into();
        Verifier { pvk, beta_g2_prepared, tables: Arc::default() }
    }

    /// Σ xᵢ·ICᵢ + IC₀ for the public inputs.
    fn input_point(&self, inputs: &[Fr]) -> Option<G1Projective> {
        let vk = &self.pvk.vk;
        if inputs.len() + 1 != vk.gamma_abc_g1.len() {
            return None;
        }
        let t = &self.tables;
        let tables = match t.tables.get() {
            Some(tables) => Some(tables),
            None if t.uses.fetch_add(1, Ordering::Relaxed) >= TABLES_AFTER => {
                Some(t.tables.get_or_init(|| vk.gamma_abc_g1[1..].par_iter().map(|p| fixed_base::FixedBaseTable::new(*p)).collect()))
            }
            None => None,
        };
        let sum = match tables {
            Some(tables) => fixed_base::fixed_msm(tables, inputs),
            None => G1Projective::msm(&vk.gamma_abc_g1[1..], inputs).ok()?,
        };
        Some(sum + vk.gamma_abc_g1[0])
    }

    /// The verifying key.
    pub fn verifying_key(&self) -> &VerifyingKey<Bn254> {
        &self.pvk.vk
    }

    /// Checks the Groth16 equation for the proof's own public values (no root or signal check).
    pub fn verify_proof(&self, proof: &RlnProof) -> Result<(), Rejection> {
        let inputs = proof.values.inputs();
        let l = self.input_point(&inputs).ok_or(Rejection::InvalidProof)?;
        let p = &proof.proof;
        let ml = Bn254::multi_miller_loop(
            [<Bn254 as Pairing>::G1Prepared::from(p.a), l.into_affine().into(), p.c.into()],
            [p.b.into(), self.pvk.gamma_g2_neg_pc.clone(), self.pvk.delta_g2_neg_pc.clone()],
        );
        match Bn254::final_exponentiation(ml) {
            Some(out) if out.0 == self.pvk.alpha_g1_beta_g2 => Ok(()),
            _ => Err(Rejection::InvalidProof),
        }
    }

    /// The full RLN check for one message: x matches the signal, the root is acceptable, and
    /// the proof verifies. The cheap checks run first.
    pub fn verify(&self, proof: &RlnProof, signal: &[u8], roots: &(impl RootSet + ?Sized)) -> Result<(), Rejection> {
        if proof.values.x != hash_to_field(signal) {
            return Err(Rejection::SignalMismatch);
        }
        if !roots.contains_root(&proof.values.root) {
            return Err(Rejection::RootNotAccepted { root: proof.values.root });
        }
        self.verify_proof(proof)
    }

    /// Verifies many proofs (their own public values) at once: a random linear combination of
    /// the Groth16 equations, one multi-Miller loop and one final exponentiation. If the batch
    /// fails, each proof is checked alone and the bad ones are named.
    pub fn verify_batch(&self, proofs: &[RlnProof]) -> Result<(), BatchRejection> {
        self.verify_batch_with_rng(proofs, &mut rand::rngs::OsRng)
    }

    pub fn verify_batch_with_rng<R: RngCore>(&self, proofs: &[RlnProof], rng: &mut R) -> Result<(), BatchRejection> {
        match proofs.len() {
            0 => return Ok(()),
            1 => return self.verify_proof(&proofs[0]).map_err(|_| BatchRejection { bad: vec![0] }),
            _ => {}
        }
        if self.batch_equation_holds(proofs, rng) {
            return Ok(());
        }
        let bad: Vec<usize> = proofs.par_iter().enumerate().filter(|(_, p)| self.verify_proof(p).is_err()).map(|(i, _)| i).collect();
        if bad.is_empty() {
            // Only possible with negligible probability; never accept on a failed batch equation.
            return Err(BatchRejection { bad: (0..proofs.len()).collect() });
        }
        Err(BatchRejection { bad })
    }

    /// Σ r_i·[e(A_i, B_i) − e(L_i, γ) − e(C_i, δ) − e(α, β)] = 0 with random 128-bit r_i.
    fn batch_equation_holds<R: RngCore>(&self, proofs: &[RlnProof], rng: &mut R) -> bool {
        let n = proofs.len();
        let r: Vec<Fr> = (0..n).map(|_| Fr::from(((rng.next_u64() as u128) << 64) | rng.next_u64() as u128)).collect();
        let vk = &self.pvk.vk;
        // r_i·A_i, each paired with its own B_i.
        let scaled_a: Vec<G1Projective> = proofs.par_iter().zip(&r).map(|(p, ri)| p.proof.a * ri).collect();
        let scaled_a = G1Projective::normalize_batch(&scaled_a);
        // Σ r_i·L_i = (Σ r_i)·IC_0 + Σ_j (Σ_i r_i·x_ij)·IC_j: six scalars, one small MSM.
        let sum_r: Fr = r.iter().sum();
        let mut coeffs = [Fr::zero(); 6];
        coeffs[0] = sum_r;
        for (p, ri) in proofs.iter().zip(&r) {
            for (c, x) in coeffs[1..].iter_mut().zip(p.values.inputs()) {
                *c += *ri * x;
            }
        }
        let Ok(l) = G1Projective::msm(&vk.gamma_abc_g1, &coeffs) else { return false };
        let cs: Vec<G1Affine> = proofs.iter().map(|p| p.proof.c).collect();
        let Ok(c) = G1Projective::msm(&cs, &r) else { return false };
        let alpha = (vk.alpha_g1 * -sum_r).into_affine();

        let mut g1: Vec<<Bn254 as Pairing>::G1Prepared> = scaled_a.into_iter().map(Into::into).collect();
        let mut g2: Vec<<Bn254 as Pairing>::G2Prepared> = proofs.par_iter().map(|p| p.proof.b.into()).collect();
        g1.push(l.into_affine().into());
        g2.push(self.pvk.gamma_g2_neg_pc.clone());
        g1.push(c.into_affine().into());
        g2.push(self.pvk.delta_g2_neg_pc.clone());
        g1.push(alpha.into());
        g2.push(self.beta_g2_prepared.clone());
        // Split the Miller loops across cores; multiply the partial results.
        let chunk = g1.len().div_ceil(rayon::current_num_threads().max(1));
        let partials: Vec<_> = g1.par_chunks(chunk).zip(g2.par_chunks(chunk)).map(|(a, b)| Bn254::multi_miller_loop(a.to_vec(), b.to_vec())).collect();
        let ml = partials.into_iter().fold(ark_ec::pairing::MillerLoopOutput(<Bn254 as Pairing>::TargetField::one()), |acc, x| {
            ark_ec::pairing::MillerLoopOutput(acc.0 * x.0)
        });
        matches!(Bn254::final_exponentiation(ml), Some(PairingOutput(out)) if out.is_one())
    }
}

