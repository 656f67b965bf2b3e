//! Proof generation: the circuit's public values computed natively, the witness from the circuit's
//! generator, and the Groth16 proof (snarkjs-compatible, with the circom QAP reduction).

pub(crate) mod groth16;
pub mod msm;

use std::sync::{Arc, Mutex};

use ark_bn254::{Bn254, Fr};
use ark_circom::CircomReduction;
use ark_groth16::Groth16;
use ark_std::UniformRand;
pub use groth16::WireSums;
use rand::{CryptoRng, RngCore};

use crate::circuit::{CircuitKeys, WitnessInput, CIRCUIT_DEPTH, PUBLIC_SIGNALS};
use crate::epoch::ExternalNullifier;
use crate::field::{hash_to_field, Field};
use crate::identity::{rate_commitment, IdentityError, UserMessageLimit};
use crate::poseidon::{poseidon1, poseidon3};
use crate::proof::{Groth16Proof, PublicValues, RlnProof};
use crate::tree::{root_from_path, MerkleProof, TreeError};

/// Errors from proof generation.
#[derive(Debug, thiserror::Error)]
pub enum ProverError {
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("invalid Merkle path: {0}")]
    Path(#[from] TreeError),
    #[error("the circuit rejected the inputs: {0}")]
    Witness(String),
    #[error("the witness's public signals differ from the values computed for these inputs (signal {index}); are the keys for an RLN v2 circuit?")]
    PublicSignalMismatch { index: usize },
    #[error("Groth16 proving failed: {0}")]
    Groth16(String),
    #[error("the inputs do not satisfy the circuit (the proof made from them does not verify): check the message id, limit and Merkle path")]
    Unsatisfied,
}

/// What a member proves for one message.
#[derive(Debug, Clone, Copy)]
pub struct RlnInputs<'a> {
    pub identity_secret: Field,
    pub limit: UserMessageLimit,
    pub message_id: u64,
    pub merkle_proof: &'a MerkleProof,
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
        let message_id = self.limit.message_id(self.message_id)?;
        self.merkle_proof.validate(CIRCUIT_DEPTH)?;
        let ext = self.external_nullifier.as_field();
        let a1 = poseidon3(self.identity_secret, ext, message_id.as_field());
        let y = Field::from_fr(self.identity_secret.fr() + a1.fr() * self.x.fr());
        let leaf = rate_commitment(poseidon1(self.identity_secret), self.limit);
        Ok(PublicValues {
            root: root_from_path(leaf, self.merkle_proof),
            external_nullifier: ext,
            x: self.x,
            y,
            nullifier: poseidon1(a1),
        })
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
#[derive(Clone)]
pub struct Prover {
    keys: Arc<CircuitKeys>,
}

impl Prover {
    pub fn new(keys: Arc<CircuitKeys>) -> Self {
        Prover { keys }
    }

    pub fn keys(&self) -> &Arc<CircuitKeys> {
        &self.keys
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
        let proof = self.prove_witness_input_with_rng(&inputs.witness_input(), rng)?;
        if let Some(index) =
            expected.inputs().iter().zip(proof.values.inputs()).position(|(a, b)| *a != b)
        {
            return Err(ProverError::PublicSignalMismatch { index });
        }
        Ok(proof)
    }

    /// Proves raw circuit inputs (e.g. a circom `input.json`); the public values are read from
    /// the witness.
    pub fn prove_witness_input(&self, input: &WitnessInput) -> Result<RlnProof, ProverError> {
        self.prove_witness_input_with_rng(input, &mut rand::rngs::OsRng)
    }

    fn prove_witness_input_with_rng<R: RngCore + CryptoRng>(
        &self,
        input: &WitnessInput,
        rng: &mut R,
    ) -> Result<RlnProof, ProverError> {
        let witness = self.keys.witness.generate(input).map_err(ProverError::Witness)?;
        let proof = self.prove_witness(&witness, Fr::rand(rng), Fr::rand(rng))?;
        self.checked(&witness, proof)
    }

    /// The RLN proof of a Groth16 proof over `witness`, checked.
    fn checked(&self, witness: &[Fr], proof: Groth16Proof) -> Result<RlnProof, ProverError> {
        let signals: [Field; PUBLIC_SIGNALS] =
            std::array::from_fn(|i| Field::from_fr(witness[1 + i]));
        let proof = RlnProof { proof, values: PublicValues::from_signals(&signals) };
        // Our witness driver turns a failed circom assertion into an error, but a generator
        // from elsewhere may check less, and a witness can be passed in directly. Checking costs
        // one verification (~1.3 ms) and guarantees we never hand out a proof nobody accepts.
        self.keys.verifier().verify_proof(&proof).map_err(|_| ProverError::Unsatisfied)?;
        Ok(proof)
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
        self.check_witness_len(witness)?;
        let pk = &self.keys.proving_key;
        let cs = &self.keys.constraints;
        let tables = self.keys.proving_tables();
        let (sums, h) = rayon::join(
            || groth16::wire_sums(tables, witness),
            || groth16::h_sum(tables, cs, witness),
        );
        let h = h.map_err(ProverError::Groth16)?;
        Ok(groth16::assemble(pk, &sums, h, r, s).into())
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
            cache: Mutex::new(None),
        })
    }
}

/// What a member's first proof under a root leaves for the next ones: its witness and the wire
/// sums over it.
struct MemberCache {
    witness: Vec<Fr>,
    sums: WireSums,
}

/// Proves one member's messages under one Merkle root, caching what does not change between
/// messages (the identity and Merkle-path part of the witness and its multi-scalar products).
///
/// The cache is exact whatever the circuit: a later witness is combined with the cached sums
/// through the differences of the wires that changed, so a stale cache costs time, never
/// correctness. [`MemberProver::update_path`] drops it when the member's path (hence the root)
/// changes. Every proof is verified before it is returned, like [`Prover::prove`].
pub struct MemberProver {
    prover: Prover,
    identity_secret: Field,
    limit: UserMessageLimit,
    path: MerkleProof,
    root: Field,
    cache: Mutex<Option<Arc<MemberCache>>>,
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

    /// Whether a previous proof's parts are cached.
    pub fn is_warm(&self) -> bool {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    /// Replaces the member's Merkle path (after the tree changed); drops the cache if the path
    /// differs.
    pub fn update_path(&mut self, merkle_proof: &MerkleProof) -> Result<(), ProverError> {
        merkle_proof.validate(CIRCUIT_DEPTH)?;
        if *merkle_proof != self.path {
            let leaf = rate_commitment(poseidon1(self.identity_secret), self.limit);
            self.root = root_from_path(leaf, merkle_proof);
            self.path = merkle_proof.clone();
            *self.cache.get_mut().unwrap_or_else(|p| p.into_inner()) = None;
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
        let expected = inputs.public_values()?;
        let keys = &self.prover.keys;
        let witness =
            keys.witness.generate(&inputs.witness_input()).map_err(ProverError::Witness)?;
        self.prover.check_witness_len(&witness)?;
        let (r, s) = (Fr::rand(rng), Fr::rand(rng));
        let pk = &keys.proving_key;
        let cs = &keys.constraints;
        let tables = keys.proving_tables();
        let cached = self.cache.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let (sums, h) = rayon::join(
            || match &cached {
                Some(c) => groth16::wire_sums_from(tables, &c.witness, &c.sums, &witness).0,
                None => groth16::wire_sums(tables, &witness),
            },
            || groth16::h_sum(tables, cs, &witness),
        );
        let h = h.map_err(ProverError::Groth16)?;
        let proof = self.prover.checked(&witness, groth16::assemble(pk, &sums, h, r, s).into())?;
        if let Some(index) =
            expected.inputs().iter().zip(proof.values.inputs()).position(|(a, b)| *a != b)
        {
            return Err(ProverError::PublicSignalMismatch { index });
        }
        if cached.is_none() {
            *self.cache.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(Arc::new(MemberCache { witness, sums }));
        }
        Ok(proof)
    }
}
