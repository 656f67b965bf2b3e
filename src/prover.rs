//! Proof generation: the circuit's public values computed natively, the witness from the circuit's
//! generator, and the Groth16 proof (snarkjs-compatible, with the circom QAP reduction).

use std::sync::Arc;

use ark_bn254::{Bn254, Fr};
use ark_circom::CircomReduction;
use ark_groth16::Groth16;
use ark_std::UniformRand;
use rand::{CryptoRng, RngCore};

use crate::circuit::{CircuitKeys, WitnessInput, CIRCUIT_DEPTH, PUBLIC_SIGNALS};
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
        RlnInputs { identity_secret, limit, message_id, merkle_proof, external_nullifier, x: hash_to_field(signal) }
    }

    /// The public values these inputs produce, computed natively (no circuit).
    pub fn public_values(&self) -> Result<PublicValues, ProverError> {
        let message_id = self.limit.message_id(self.message_id)?;
        self.merkle_proof.validate(CIRCUIT_DEPTH)?;
        let ext = self.external_nullifier.as_field();
        let a1 = poseidon3(self.identity_secret, ext, message_id.as_field());
        let y = Field::from_fr(self.identity_secret.fr() + a1.fr() * self.x.fr());
        let leaf = rate_commitment(poseidon1(self.identity_secret), self.limit);
        Ok(PublicValues { root: root_from_path(leaf, self.merkle_proof), external_nullifier: ext, x: self.x, y, nullifier: poseidon1(a1) })
    }

    /// The circuit input map.
    pub fn witness_input(&self) -> WitnessInput {
        WitnessInput::new(self.identity_secret, self.limit.get(), self.message_id, self.merkle_proof, self.x, self.external_nullifier.as_field())
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
    pub fn prove_with_rng<R: RngCore + CryptoRng>(&self, inputs: &RlnInputs<'_>, rng: &mut R) -> Result<RlnProof, ProverError> {
        let expected = inputs.public_values()?;
        let proof = self.prove_witness_input_with_rng(&inputs.witness_input(), rng)?;
        if let Some(index) = expected.inputs().iter().zip(proof.values.inputs()).position(|(a, b)| *a != b) {
            return Err(ProverError::PublicSignalMismatch { index });
        }
        Ok(proof)
    }

    /// Proves raw circuit inputs (e.g. a circom `input.json`); the public values are read from
    /// the witness.
    pub fn prove_witness_input(&self, input: &WitnessInput) -> Result<RlnProof, ProverError> {
        self.prove_witness_input_with_rng(input, &mut rand::rngs::OsRng)
    }

    fn prove_witness_input_with_rng<R: RngCore + CryptoRng>(&self, input: &WitnessInput, rng: &mut R) -> Result<RlnProof, ProverError> {
        let witness = self.keys.witness.generate(input).map_err(ProverError::Witness)?;
        let proof = self.prove_witness(&witness, Fr::rand(rng), Fr::rand(rng))?;
        let signals: [Field; PUBLIC_SIGNALS] = std::array::from_fn(|i| Field::from_fr(witness[1 + i]));
        let proof = RlnProof { proof, values: PublicValues::from_signals(&signals) };
        // circom's witness generator reports a failed `===` through a callback that ark-circom
        // ignores, so an unsatisfiable input still yields a (useless) proof. Checking it costs
        // one verification (~1-2 ms) and guarantees we never hand out a proof nobody accepts.
        Verifier::from_prepared(self.keys.prepared.clone()).verify_proof(&proof).map_err(|_| ProverError::Unsatisfied)?;
        Ok(proof)
    }

    /// Groth16 over a full witness with explicit blinding scalars r, s.
    pub fn prove_witness(&self, witness: &[Fr], r: Fr, s: Fr) -> Result<Groth16Proof, ProverError> {
        let cs = &self.keys.constraints;
        // One query point per wire (ark-circom's num_witness_variables counts one extra).
        let expected = self.keys.proving_key.a_query.len();
        if witness.len() != expected {
            return Err(ProverError::Groth16(format!("witness has {} wires, the proving key expects {expected}", witness.len())));
        }
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
}
