//! Proof generation: the circuit's public values computed natively, the witness (native for the
//! RLN v2 circuits, see `circuit::native`), and the Groth16 proof (snarkjs-compatible, with the
//! circom QAP reduction).

mod groth16;
pub(crate) mod msm;
mod tables;

use std::sync::{Arc, Mutex, OnceLock};

use ark_bn254::{Bn254, Fr};
use ark_circom::CircomReduction;
use ark_groth16::Groth16;
use ark_std::UniformRand;
use groth16::WireSums;
use rand::{CryptoRng, RngCore};
use tables::ProvingTables;

use crate::circuit::{CircuitKeys, WitnessError, WitnessInput, CIRCUIT_DEPTH, PUBLIC_SIGNALS};
use crate::epoch::ExternalNullifier;
use crate::field::{hash_to_field, Field};
use crate::identity::{rate_commitment, IdentityError, UserMessageLimit};
use crate::poseidon::{poseidon1, poseidon3};
use crate::proof::{Groth16Proof, PublicValues, RlnProof};
use crate::tree::{root_from_path, MerkleProof, TreeError};
use crate::verifier::Verifier;

/// Errors from proof generation.
#[derive(Debug, thiserror::Error)]
pub enum ProverError {
    /// The message id is not below the limit.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The Merkle path is malformed (depth, index bits).
    #[error("invalid Merkle path: {0}")]
    Path(#[from] TreeError),
    /// The circuit rejects the inputs (the assertion that fails), or the circuit's witness
    /// generator failed.
    #[error("the circuit rejected the inputs: {0}")]
    Witness(#[from] WitnessError),
    /// The witness's public signals are not the values computed natively.
    #[error("the witness's public signals differ from the values computed for these inputs (signal {index}); are the keys for an RLN v2 circuit?")]
    PublicSignalMismatch {
        /// The first differing signal (0: y, 1: root, 2: nullifier, 3: x, 4: external nullifier).
        index: usize,
    },
    /// The keys and the witness do not fit (sizes), or ark-groth16 failed.
    #[error("Groth16 proving failed: {0}")]
    Groth16(String),
    /// The proof did not pass the self-check.
    #[error("the inputs do not satisfy the circuit (the proof made from them does not verify): check the message id, limit and Merkle path")]
    Unsatisfied,
}

/// What a member proves for one message.
#[derive(Debug, Clone, Copy)]
pub struct RlnInputs<'a> {
    /// The member's identity secret.
    pub identity_secret: Field,
    /// The member's user message limit.
    pub limit: UserMessageLimit,
    /// The message's id in the epoch (below the limit).
    pub message_id: u64,
    /// The member's Merkle path.
    pub merkle_proof: &'a MerkleProof,
    /// Poseidon(epoch, rln_identifier).
    pub external_nullifier: ExternalNullifier,
    /// hash_to_field(signal).
    pub x: Field,
}

impl<'a> RlnInputs<'a> {
    /// Inputs for a signal (x = hash_to_field(signal)).
    pub fn for_signal(
        identity_secret: Field,
        limit: UserMessageLimit,
        message_id: u64,
        merkle_proof: &'a MerkleProof,
        external_nullifier: ExternalNullifier,
        signal: &[u8],
    ) -> Self {
        RlnInputs {
            identity_secret,
            limit,
            message_id,
            merkle_proof,
            external_nullifier,
            x: hash_to_field(signal),
        }
    }

    /// The public values these inputs produce, computed natively (no circuit).
    pub fn public_values(&self) -> Result<PublicValues, ProverError> {
        self.limit.message_id(self.message_id)?;
        self.merkle_proof.validate(CIRCUIT_DEPTH)?;
        let leaf = rate_commitment(poseidon1(self.identity_secret), self.limit);
        self.public_values_under(root_from_path(leaf, self.merkle_proof))
    }

    /// The public values when the root of the (validated) path is known.
    fn public_values_under(&self, root: Field) -> Result<PublicValues, ProverError> {
        let message_id = self.limit.message_id(self.message_id)?;
        let ext = self.external_nullifier.as_field();
        let a1 = poseidon3(self.identity_secret, ext, message_id.as_field());
        let y = Field::from_fr(self.identity_secret.fr() + a1.fr() * self.x.fr());
        Ok(PublicValues { root, external_nullifier: ext, x: self.x, y, nullifier: poseidon1(a1) })
    }

    /// The circuit input map.
    pub fn witness_input(&self) -> WitnessInput {
        WitnessInput::new(
            self.identity_secret,
            self.limit.get(),
            self.message_id,
            self.merkle_proof,
            self.x,
            self.external_nullifier.as_field(),
        )
    }
}

/// Generates RLN proofs with one set of circuit keys.
///
/// The prover owns what it makes from the keys: the proving key's fixed-base tables (~40 MB,
/// made at the first proof or by [`Prover::prepare`], kept in the key cache) and the verifier of
/// its self-check. Clones share them, so make one prover per keys and clone it.
#[derive(Clone)]
pub struct Prover {
    keys: Arc<CircuitKeys>,
    precomputed: Arc<Precomputed>,
}

/// What a prover makes from its keys, shared by its clones.
struct Precomputed {
    tables: OnceLock<ProvingTables>,
    /// Checks every proof before it is returned.
    verifier: Verifier,
}

impl std::fmt::Debug for Prover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prover")
            .field("keys", &self.keys)
            .field("tables", &self.precomputed.tables.get().is_some())
            .finish()
    }
}

/// A witness and its wire sums: what a member's later proofs start from.
struct WitnessSums {
    witness: Vec<Fr>,
    sums: WireSums,
}

impl Prover {
    /// A prover with these keys (cheap: the tables are made at the first proof).
    pub fn new(keys: Arc<CircuitKeys>) -> Self {
        let verifier = Verifier::from_prepared(keys.prepared_verifying_key().clone());
        Prover { keys, precomputed: Arc::new(Precomputed { tables: OnceLock::new(), verifier }) }
    }

    /// The circuit keys.
    pub fn keys(&self) -> &Arc<CircuitKeys> {
        &self.keys
    }

    /// Makes the proving tables now (read from the key cache, or built in about a second and
    /// cached) instead of at the first proof: call it at startup where the first proof's
    /// latency matters.
    pub fn prepare(&self) {
        self.tables();
    }

    fn tables(&self) -> &ProvingTables {
        self.precomputed.tables.get_or_init(|| ProvingTables::load(&self.keys))
    }

    /// Proves one message with OS randomness.
    pub fn prove(&self, inputs: &RlnInputs<'_>) -> Result<RlnProof, ProverError> {
        self.prove_with_rng(inputs, &mut rand::rngs::OsRng)
    }

    /// Proves one message; the randomness blinds the proof (deterministic for a seeded rng).
    pub fn prove_with_rng<R: RngCore + CryptoRng>(
        &self,
        inputs: &RlnInputs<'_>,
        rng: &mut R,
    ) -> Result<RlnProof, ProverError> {
        let expected = inputs.public_values()?;
        self.run(&inputs.witness_input(), Some(&expected), None, rng).map(|(proof, _)| proof)
    }

    /// Proves raw circuit inputs (e.g. a circom `input.json`); the public values are read from
    /// the witness.
    pub fn prove_witness_input(&self, input: &WitnessInput) -> Result<RlnProof, ProverError> {
        self.run(input, None, None, &mut rand::rngs::OsRng).map(|(proof, _)| proof)
    }

    /// The proving pipeline, shared by [`Prover`] and [`MemberProver`]: the witness, Groth16
    /// (the wire sums from `earlier`'s when given), the self-check, and the public values
    /// compared with `expected` when given. Returns the witness and its sums with the proof.
    fn run<R: RngCore + CryptoRng>(
        &self,
        input: &WitnessInput,
        expected: Option<&PublicValues>,
        earlier: Option<&WitnessSums>,
        rng: &mut R,
    ) -> Result<(RlnProof, WitnessSums), ProverError> {
        let witness = match earlier {
            Some(e) => self.keys.witness_after(&e.witness, input)?,
            None => self.keys.witness(input)?,
        };
        let (r, s) = (Fr::rand(rng), Fr::rand(rng));
        let (proof, sums) = self.groth16(&witness, earlier, r, s)?;
        let signals: [Field; PUBLIC_SIGNALS] =
            std::array::from_fn(|i| Field::from_fr(witness[1 + i]));
        let proof = RlnProof { proof, values: PublicValues::from_signals(&signals) };
        // The native witness and our wasm driver turn a failed circuit assertion into an error,
        // but a generator from elsewhere may check less, and a witness can be passed in
        // directly. Checking costs one verification (~1 ms) and guarantees we never hand out a
        // proof nobody accepts.
        self.precomputed.verifier.verify_proof(&proof).map_err(|_| ProverError::Unsatisfied)?;
        if let Some(index) = expected.and_then(|expected| {
            expected.inputs().iter().zip(proof.values.inputs()).position(|(a, b)| *a != b)
        }) {
            return Err(ProverError::PublicSignalMismatch { index });
        }
        Ok((proof, WitnessSums { witness, sums }))
    }

    /// Groth16 over a full witness: the wire sums (from `earlier`'s when given, adding only the
    /// changed wires) and the quotient side by side, then the assembly with r and s.
    fn groth16(
        &self,
        witness: &[Fr],
        earlier: Option<&WitnessSums>,
        r: Fr,
        s: Fr,
    ) -> Result<(Groth16Proof, WireSums), ProverError> {
        self.check_witness_len(witness)?;
        let tables = self.tables();
        let (sums, h) = rayon::join(
            || match earlier {
                Some(e) => groth16::wire_sums_from(tables, &e.witness, &e.sums, witness).0,
                None => groth16::wire_sums(tables, witness),
            },
            || groth16::quotient_sum(tables, &self.keys.constraints, witness),
        );
        let h = h.map_err(ProverError::Groth16)?;
        Ok((groth16::assemble(&self.keys.proving_key, &sums, h, r, s).into(), sums))
    }

    fn check_witness_len(&self, witness: &[Fr]) -> Result<(), ProverError> {
        // One query point per wire (ark-circom's num_witness_variables counts one extra).
        let expected = self.keys.proving_key.a_query.len();
        if witness.len() != expected {
            return Err(ProverError::Groth16(format!(
                "witness has {} wires, the proving key expects {expected}",
                witness.len()
            )));
        }
        Ok(())
    }

    /// Groth16 over a full witness with explicit blinding scalars r, s (the quotient and the wire
    /// sums computed side by side; same result as [`Prover::prove_witness_reference`]).
    pub fn prove_witness(&self, witness: &[Fr], r: Fr, s: Fr) -> Result<Groth16Proof, ProverError> {
        self.groth16(witness, None, r, s).map(|(proof, _)| proof)
    }

    /// Groth16 over a full witness by the unmodified `ark-groth16` prover (the reference the fast
    /// path is tested and benchmarked against).
    pub fn prove_witness_reference(
        &self,
        witness: &[Fr],
        r: Fr,
        s: Fr,
    ) -> Result<Groth16Proof, ProverError> {
        self.check_witness_len(witness)?;
        let cs = &self.keys.constraints;
        Groth16::<Bn254, CircomReduction>::create_proof_with_reduction_and_matrices(
            &self.keys.proving_key,
            r,
            s,
            &cs.matrices,
            cs.num_instance_variables,
            cs.num_constraints,
            witness,
        )
        .map(Groth16Proof::from)
        .map_err(|e| ProverError::Groth16(e.to_string()))
    }

    /// A prover for one member's messages under one Merkle root: the first proof is computed in
    /// full, the next ones reuse its witness-linear parts and recompute only what the message
    /// changes (see [`MemberProver`]).
    pub fn for_member(
        &self,
        identity_secret: Field,
        limit: UserMessageLimit,
        merkle_proof: &MerkleProof,
    ) -> Result<MemberProver, ProverError> {
        merkle_proof.validate(CIRCUIT_DEPTH)?;
        let leaf = rate_commitment(poseidon1(identity_secret), limit);
        Ok(MemberProver {
            prover: self.clone(),
            identity_secret,
            limit,
            root: root_from_path(leaf, merkle_proof),
            path: merkle_proof.clone(),
            first: Mutex::new(None),
        })
    }
}

/// Proves one member's messages under one Merkle root, keeping what does not change between
/// messages (the identity and Merkle-path part of the witness and its multi-scalar products).
///
/// Reusing the first proof's parts is exact whatever the circuit: a later witness is combined
/// with the kept sums through the differences of the wires that changed, so stale parts cost
/// time, never correctness. [`MemberProver::update_path`] drops them when the member's path
/// (hence the root) changes. Every proof is verified before it is returned, like
/// [`Prover::prove`].
pub struct MemberProver {
    prover: Prover,
    identity_secret: Field,
    limit: UserMessageLimit,
    path: MerkleProof,
    root: Field,
    /// The first proof's witness and wire sums under this path.
    first: Mutex<Option<Arc<WitnessSums>>>,
}

impl std::fmt::Debug for MemberProver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberProver")
            .field("root", &self.root)
            .field("warm", &self.is_warm())
            .finish()
    }
}

impl MemberProver {
    /// The root the member's path leads to.
    pub fn root(&self) -> Field {
        self.root
    }

    /// Whether a previous proof's parts are kept for the next one.
    pub fn is_warm(&self) -> bool {
        self.first.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    /// Replaces the member's Merkle path (after the tree changed); drops the kept parts if the
    /// path differs.
    pub fn update_path(&mut self, merkle_proof: &MerkleProof) -> Result<(), ProverError> {
        merkle_proof.validate(CIRCUIT_DEPTH)?;
        if *merkle_proof != self.path {
            let leaf = rate_commitment(poseidon1(self.identity_secret), self.limit);
            self.root = root_from_path(leaf, merkle_proof);
            self.path = merkle_proof.clone();
            *self.first.get_mut().unwrap_or_else(|p| p.into_inner()) = None;
        }
        Ok(())
    }

    /// The inputs of one message.
    pub fn inputs(
        &self,
        message_id: u64,
        external_nullifier: ExternalNullifier,
        x: Field,
    ) -> RlnInputs<'_> {
        RlnInputs {
            identity_secret: self.identity_secret,
            limit: self.limit,
            message_id,
            merkle_proof: &self.path,
            external_nullifier,
            x,
        }
    }

    /// Proves one message (x = hash_to_field(signal)) with OS randomness.
    pub fn prove(
        &self,
        message_id: u64,
        external_nullifier: ExternalNullifier,
        signal: &[u8],
    ) -> Result<RlnProof, ProverError> {
        self.prove_with_rng(
            message_id,
            external_nullifier,
            hash_to_field(signal),
            &mut rand::rngs::OsRng,
        )
    }

    /// Proves one message with x given; the randomness blinds the proof.
    pub fn prove_with_rng<R: RngCore + CryptoRng>(
        &self,
        message_id: u64,
        external_nullifier: ExternalNullifier,
        x: Field,
        rng: &mut R,
    ) -> Result<RlnProof, ProverError> {
        let inputs = self.inputs(message_id, external_nullifier, x);
        // The path was validated and its root computed when it was set.
        let expected = inputs.public_values_under(self.root)?;
        let first = self.first.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let (proof, parts) =
            self.prover.run(&inputs.witness_input(), Some(&expected), first.as_deref(), rng)?;
        if first.is_none() {
            *self.first.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(parts));
        }
        Ok(proof)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_tables_and_a_new_prover_has_its_own() {
        let keys = CircuitKeys::embedded().unwrap();
        let prover = Prover::new(keys.clone());
        let clone = prover.clone();
        assert!(clone.precomputed.tables.get().is_none(), "tables are made at the first use");
        prover.prepare();
        assert!(clone.precomputed.tables.get().is_some(), "a clone sees the tables made");
        assert!(std::ptr::eq(prover.tables(), clone.tables()));
        let other = Prover::new(keys);
        assert!(other.precomputed.tables.get().is_none());
    }
}
