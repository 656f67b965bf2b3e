//! # rlnkit
//!
//! Rate-Limiting Nullifier (RLN v2) proofs, membership chain clients and a rate-limited Waku
//! relay, compatible with the Waku network's formats and keys.
//!
//! ```no_run
//! use rlnkit::{CircuitKeys, Epoch, ExternalNullifier, Identity, MerkleTree, Prover, RlnIdentifier,
//!              RlnInputs, UserMessageLimit, Verifier};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let id = Identity::random();
//! let limit = UserMessageLimit::new(10)?;
//! let mut tree = MerkleTree::default();
//! let index = tree.push(id.rate_commitment(limit))?;
//! let path = tree.proof(index)?;
//!
//! let keys = CircuitKeys::embedded()?;
//! let prover = Prover::new(keys.clone());
//! let ext = ExternalNullifier::new(Epoch::now(600), RlnIdentifier::waku());
//! let proof = prover.prove(&RlnInputs::for_signal(id.secret(), limit, 0, &path, ext, b"hello"))?;
//!
//! let verifier = Verifier::new(keys.verifying_key());
//! verifier.verify(&proof, b"hello", &[tree.root()])?;
//! # Ok(()) }
//! ```

pub mod chain;
/// Circuit artifacts (embedded or loaded), verifying keys, the witness generator.
pub mod circuit;
pub mod credentials;
pub mod devnet;
/// Epochs, RLN identifiers, external nullifiers.
pub mod epoch;
/// BN254 scalar field elements, canonical encodings, hash_to_field.
pub mod field;
/// Durable file writes (atomic replace + fsync) for every state file.
pub mod files;
/// Decoder fuzz bodies shared by `fuzz/` and the property tests.
#[doc(hidden)]
pub mod fuzzing;
/// Identities, id and rate commitments, message limits.
pub mod identity;
pub mod incentives;
pub mod keystore;
/// Eight field elements at once (AVX-512 IFMA lanes): MSM bucket work, FFTs, batched Poseidon.
#[cfg(target_arch = "x86_64")]
pub(crate) mod lanes;
pub mod lightpush;
pub mod poseidon;
/// RLN proofs, their serialized forms, secret recovery.
pub mod proof;
/// Proof generation.
pub mod prover;
pub mod relay;
/// The Merkle roots a proof may be made against (one trait, newest last).
pub mod roots;
pub mod service;
pub mod sim;
/// The membership Merkle tree.
pub mod tree;
/// Proof verification, single and batched.
pub mod verifier;

pub use chain::{MembershipReader, MembershipWriter, RegistryError, RpcError, SyncError, TreeSync};
pub use circuit::{CircuitKeys, KeysError, WitnessError, WitnessInput, WitnessLayout};
pub use epoch::{Epoch, ExternalNullifier, RlnIdentifier};
pub use field::{hash_to_field, Field, FieldError};
pub use identity::{Identity, IdentityError, UserMessageLimit};
pub use poseidon::{poseidon1, poseidon2, poseidon3, poseidon4, poseidon_hash};
pub use proof::{
    recover_secret, Groth16Proof, ProofFormatError, PublicValues, RecoverError, RlnProof,
};
pub use prover::{Prover, ProverError, RlnInputs};
pub use roots::{AcceptedRoots, RootWindow, StaticRoots};
pub use service::{Relay, RelayBuilder, RelayConfig};
pub use tree::{root_from_path, MerkleProof, MerkleTree, TreeError};
pub use verifier::{BatchRejection, Rejection, Verifier};
