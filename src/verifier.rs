//! Proof verification: one proof, one proof against a signal and a window of acceptable roots,
//! and batches of proofs checked with one final exponentiation (a bad proof is then named).

mod fixed_base;
mod pairing;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use ark_bn254::{Bn254, Fq12, Fr, G1Affine, G1Projective};
use ark_ec::pairing::{MillerLoopOutput, Pairing, PairingOutput};
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::{One, Zero};
use ark_groth16::{PreparedVerifyingKey, VerifyingKey};
use rand::RngCore;
use rayon::prelude::*;

use crate::field::{hash_to_field, Field};
use crate::proof::RlnProof;
use crate::roots::AcceptedRoots;

/// Why a proof was not accepted. Decoding errors are separate (see `proof::ProofFormatError`):
/// a `Rejection` is about a well-formed proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The proof's root is not one the verifier accepts.
    #[error("root {root} is not in the window of acceptable roots")]
    RootNotAccepted {
        /// The proof's root.
        root: Field,
    },
    /// The proof is for another signal.
    #[error("x is not hash_to_field(signal): the proof is for another message")]
    SignalMismatch,
    /// The pairing check failed.
    #[error("the Groth16 proof does not verify for these public values")]
    InvalidProof,
}

/// A batch did not verify; these proofs (indices into the batch) are the bad ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} of the batch's proofs do not verify (indices {bad:?})", bad.len())]
pub struct BatchRejection {
    /// Indices of the proofs that do not verify, ascending.
    pub bad: Vec<usize>,
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

/// Runs `here` on this thread while `job` is offered to the rayon pool; if no pool thread has
/// started `job` by the time `here` is done, this thread runs it too. On an idle machine the two
/// overlap; when the other cores are busy (the pool's threads waiting for a core) it costs no
/// more than running both in turn, where `rayon::join` from outside the pool would wait for them.
fn overlap<A, B>(
    job: impl FnOnce() -> A + Clone + Send + 'static,
    here: impl FnOnce() -> B,
) -> (A, B)
where
    A: Send + 'static,
{
    if rayon::current_num_threads() < 2 {
        let b = here();
        return (job(), b);
    }
    let claimed = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let (flag, pooled) = (claimed.clone(), job.clone());
    rayon::spawn(move || {
        if !flag.swap(true, Ordering::AcqRel) {
            let _ = tx.send(pooled());
        }
    });
    let b = here();
    let a = if claimed.swap(true, Ordering::AcqRel) {
        // A pool thread is running it: wait (or compute it here if that thread failed).
        rx.recv().unwrap_or_else(|_| job())
    } else {
        job()
    };
    (a, b)
}

/// The input bases' fixed-base tables, built once by whichever verification claims them first.
/// Nobody ever waits for them: until they are set, verifications use the variable-base MSM. (A
/// blocking `OnceLock::get_or_init` here deadlocked: the builder's `par_iter` needs the rayon
/// workers, and those workers, running [`overlap`]'s jobs, were waiting on the same `OnceLock`.)
#[derive(Default)]
struct InputTables {
    uses: AtomicUsize,
    claimed: AtomicBool,
    tables: OnceLock<Vec<fixed_base::FixedBaseTable>>,
}

/// Verifications after which the input tables are built (~10 ms once, then ~0.3 ms saved each).
const TABLES_AFTER: usize = 16;

impl Verifier {
    /// A verifier for a verifying key (prepared here).
    pub fn new(vk: &VerifyingKey<Bn254>) -> Self {
        Self::from_prepared(ark_groth16::prepare_verifying_key(vk))
    }

    /// A verifier for an already prepared verifying key.
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
        let sum = match self.input_tables(1) {
            Some(tables) => fixed_base::fixed_msm(tables, inputs),
            None => G1Projective::msm(&vk.gamma_abc_g1[1..], inputs).ok()?,
        };
        Some(sum + vk.gamma_abc_g1[0])
    }

    /// The input bases' fixed-base tables once this verifier (or a clone) has checked
    /// TABLES_AFTER proofs, counting `proofs` more now; None before that.
    fn input_tables(&self, proofs: usize) -> Option<&[fixed_base::FixedBaseTable]> {
        let t = &self.tables;
        if let Some(tables) = t.tables.get() {
            return Some(tables);
        }
        if t.uses.fetch_add(proofs, Ordering::Relaxed) + proofs <= TABLES_AFTER {
            return None;
        }
        if t.claimed.swap(true, Ordering::AcqRel) {
            // Another verification is building them: do not wait.
            return None;
        }
        let bases = &self.pvk.vk.gamma_abc_g1[1..];
        let built: Vec<_> = bases.par_iter().map(|p| fixed_base::FixedBaseTable::new(*p)).collect();
        Some(t.tables.get_or_init(|| built))
    }

    /// The verifying key.
    pub fn verifying_key(&self) -> &VerifyingKey<Bn254> {
        &self.pvk.vk
    }

    /// Checks the Groth16 equation for the proof's own public values (no root or signal check):
    /// e(A, B) · e(L, −γ) · e(C, −δ) = e(α, β), with e(α, β) precomputed and one final
    /// exponentiation. With two or more rayon threads the Miller loop of (A, B), with B's line
    /// coefficients, is offered to another core (see `overlap`) while this thread makes the
    /// input sum and the loop of the two fixed-key pairs; with one, a single loop does all three.
    pub fn verify_proof(&self, proof: &RlnProof) -> Result<(), Rejection> {
        let ml = if rayon::current_num_threads() < 2 {
            self.miller_loop_alone(proof)
        } else {
            self.miller_loop_overlapped(proof)
        };
        match Bn254::final_exponentiation(MillerLoopOutput(ml.ok_or(Rejection::InvalidProof)?)) {
            Some(out) if out.0 == self.pvk.alpha_g1_beta_g2 => Ok(()),
            _ => Err(Rejection::InvalidProof),
        }
    }

    /// The proof's three Miller loops with one accumulator, on this thread. None when the public
    /// inputs do not fit the key.
    fn miller_loop_alone(&self, proof: &RlnProof) -> Option<Fq12> {
        let l = self.input_point(&proof.values.inputs())?.into_affine();
        let p = &proof.proof;
        let b: <Bn254 as Pairing>::G2Prepared = p.b.into();
        Some(pairing::miller_loop(&[
            (p.a, &b),
            (l, &self.pvk.gamma_g2_neg_pc),
            (p.c, &self.pvk.delta_g2_neg_pc),
        ]))
    }

    /// As [`Verifier::miller_loop_alone`], with the (A, B) loop offered to another core: two
    /// accumulators (64 more Fp12 squarings) for two loops side by side.
    fn miller_loop_overlapped(&self, proof: &RlnProof) -> Option<Fq12> {
        let inputs = proof.values.inputs();
        let (a, b, c) = (proof.proof.a, proof.proof.b, proof.proof.c);
        let (ab, rest) = overlap(
            move || {
                let b: <Bn254 as Pairing>::G2Prepared = b.into();
                pairing::miller_loop(&[(a, &b)])
            },
            || {
                let l = self.input_point(&inputs)?.into_affine();
                Some(pairing::miller_loop(&[
                    (l, &self.pvk.gamma_g2_neg_pc),
                    (c, &self.pvk.delta_g2_neg_pc),
                ]))
            },
        );
        Some(ab * rest?)
    }

    /// The full RLN check for one message: x matches the signal, the root is acceptable, and
    /// the proof verifies. The cheap checks run first.
    pub fn verify(
        &self,
        proof: &RlnProof,
        signal: &[u8],
        roots: &(impl AcceptedRoots + ?Sized),
    ) -> Result<(), Rejection> {
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

    /// As [`Verifier::verify_batch`], with the rng that draws the combination's coefficients.
    pub fn verify_batch_with_rng<R: RngCore>(
        &self,
        proofs: &[RlnProof],
        rng: &mut R,
    ) -> Result<(), BatchRejection> {
        match proofs.len() {
            0 => return Ok(()),
            1 => return self.verify_proof(&proofs[0]).map_err(|_| BatchRejection { bad: vec![0] }),
            _ => {}
        }
        if self.batch_equation_holds(proofs, rng) {
            return Ok(());
        }
        let bad: Vec<usize> = proofs
            .par_iter()
            .enumerate()
            .filter(|(_, p)| self.verify_proof(p).is_err())
            .map(|(i, _)| i)
            .collect();
        if bad.is_empty() {
            // Only possible with negligible probability; never accept on a failed batch equation.
            return Err(BatchRejection { bad: (0..proofs.len()).collect() });
        }
        Err(BatchRejection { bad })
    }

    /// Σ r_i·[e(A_i, B_i) − e(L_i, γ) − e(C_i, δ) − e(α, β)] = 0 with random r_i from 2^128
    /// values (see [`pairing::BatchScalar`]). The proofs are split into one chunk per thread;
    /// each chunk prepares its B_i, scales its A_i and runs one Miller loop over its pairs, while
    /// the fixed-key pairs (Σ r_i·L_i with γ, Σ r_i·C_i with δ, −(Σ r_i)·α with β) are one more
    /// task. One final exponentiation for the product.
    fn batch_equation_holds<R: RngCore>(&self, proofs: &[RlnProof], rng: &mut R) -> bool {
        let r: Vec<pairing::BatchScalar> = proofs
            .iter()
            .map(|_| pairing::BatchScalar::new(rng.next_u64(), rng.next_u64()))
            .collect();
        let r_fr: Vec<Fr> = r.iter().map(pairing::BatchScalar::fr).collect();
        let chunk = proofs.len().div_ceil(rayon::current_num_threads().max(1));
        let (proof_loops, key_loop) = rayon::join(
            || {
                proofs
                    .par_chunks(chunk)
                    .zip(r.par_chunks(chunk))
                    .map(|(p, r)| Self::proof_pairs_loop(p, r))
                    .collect::<Vec<Fq12>>()
            },
            || self.key_pairs_loop(proofs, &r, &r_fr),
        );
        let Some(key_loop) = key_loop else { return false };
        let ml = proof_loops.iter().fold(key_loop, |acc, f| acc * f);
        matches!(Bn254::final_exponentiation(MillerLoopOutput(ml)), Some(PairingOutput(out)) if out.is_one())
    }

    /// Π e(r_i·A_i, B_i) over a chunk of the batch, before the final exponentiation.
    fn proof_pairs_loop(proofs: &[RlnProof], r: &[pairing::BatchScalar]) -> Fq12 {
        let scaled: Vec<G1Projective> =
            proofs.iter().zip(r).map(|(p, ri)| ri.mul(&p.proof.a)).collect();
        let scaled = G1Projective::normalize_batch(&scaled);
        let b: Vec<<Bn254 as Pairing>::G2Prepared> =
            proofs.iter().map(|p| p.proof.b.into()).collect();
        let pairs: Vec<pairing::Pair<'_>> = scaled.into_iter().zip(&b).collect();
        pairing::miller_loop(&pairs)
    }

    /// e(Σ r_i·L_i, −γ) · e(Σ r_i·C_i, −δ) · e(−(Σ r_i)·α, β), before the final exponentiation.
    /// Σ r_i·L_i = (Σ r_i)·IC₀ + Σ_j (Σ_i r_i·x_ij)·IC_j: five coefficients on the input bases.
    fn key_pairs_loop(
        &self,
        proofs: &[RlnProof],
        halves: &[pairing::BatchScalar],
        r: &[Fr],
    ) -> Option<Fq12> {
        let vk = &self.pvk.vk;
        let sum_r: Fr = r.iter().sum();
        let mut coeffs = [Fr::zero(); 5];
        for (p, ri) in proofs.iter().zip(r) {
            for (c, x) in coeffs.iter_mut().zip(p.values.inputs()) {
                *c += *ri * x;
            }
        }
        if vk.gamma_abc_g1.len() != coeffs.len() + 1 {
            return None;
        }
        let inputs = match self.input_tables(proofs.len()) {
            Some(tables) => fixed_base::fixed_msm(tables, &coeffs),
            None => G1Projective::msm(&vk.gamma_abc_g1[1..], &coeffs).ok()?,
        };
        let l = inputs + vk.gamma_abc_g1[0] * sum_r;
        let c = Self::combined_c(proofs, halves)?;
        let alpha = vk.alpha_g1 * -sum_r;
        let [l, c, alpha] =
            <[G1Affine; 3]>::try_from(G1Projective::normalize_batch(&[l, c, alpha])).ok()?;
        Some(pairing::miller_loop(&[
            (l, &self.pvk.gamma_g2_neg_pc),
            (c, &self.pvk.delta_g2_neg_pc),
            (alpha, &self.beta_g2_prepared),
        ]))
    }

    /// Σ r_i·C_i as one MSM with 64-bit scalars: Σ r1_i·C_i + r2_i·φ(C_i).
    fn combined_c(proofs: &[RlnProof], r: &[pairing::BatchScalar]) -> Option<G1Projective> {
        let (points, scalars): (Vec<G1Affine>, Vec<Fr>) =
            proofs.iter().zip(r).flat_map(|(p, ri)| ri.split_terms(&p.proof.c)).unzip();
        G1Projective::msm(&points, &scalars).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::overlap;
    use std::time::Duration;

    #[test]
    fn overlap_returns_both_results() {
        for k in 0..200u64 {
            assert_eq!(overlap(move || k * 2, || k + 1), (k * 2, k + 1));
        }
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        assert_eq!(one.install(|| overlap(|| 7, || 8)), (7, 8));
    }

    /// With the pool's other thread busy, the caller does the job itself instead of waiting: the
    /// busy thread is held until both jobs are done, so waiting for it would never finish.
    #[test]
    fn overlap_does_not_wait_for_a_busy_pool() {
        let pool =
            std::sync::Arc::new(rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap());
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        pool.spawn(move || {
            let _ = started_tx.send(std::thread::current().id());
            let _ = release_rx.recv();
        });
        let busy = started_rx.recv().unwrap();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let p = pool.clone();
        std::thread::spawn(move || {
            let ids = p.install(|| {
                let here = std::thread::current().id();
                (overlap(|| std::thread::current().id(), || std::thread::current().id()), here)
            });
            let _ = done_tx.send(ids);
        });
        let result = done_rx.recv_timeout(Duration::from_secs(60));
        let _ = release_tx.send(());
        let ((job_thread, here_thread), worker) =
            result.expect("overlap waited for the busy thread");
        assert_eq!(job_thread, here_thread, "the caller ran the job");
        assert_eq!(here_thread, worker);
        assert_ne!(here_thread, busy);
    }
}
