//! The circuit's inputs ([`WitnessInput`]), with circom's signal names, so one input map drives
//! the native witness, circom's generator and snarkjs alike.

use serde::{Deserialize, Serialize};

use crate::field::Field;
use crate::tree::MerkleProof;

/// The RLN v2 circuit's inputs, with circom's signal names (`identitySecret`, …) in JSON, so the
/// same file works with snarkjs, with the Waku network's circuit and with ours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WitnessInput {
    /// The member's identity secret.
    pub identity_secret: Field,
    /// The member's user message limit.
    pub user_message_limit: Field,
    /// The message id (below the limit).
    pub message_id: Field,
    /// The Merkle path's siblings, leaf level first.
    pub path_elements: Vec<Field>,
    /// Side of the path node at each level (0: left, 1: right), leaf level first.
    pub identity_path_index: Vec<Field>,
    /// hash_to_field(signal).
    pub x: Field,
    /// Poseidon(epoch, rln_identifier).
    pub external_nullifier: Field,
}

impl WitnessInput {
    /// Assembles inputs from typed parts.
    pub fn new(
        identity_secret: Field,
        user_message_limit: u64,
        message_id: u64,
        path: &MerkleProof,
        x: Field,
        external_nullifier: Field,
    ) -> Self {
        WitnessInput {
            identity_secret,
            user_message_limit: Field::from_u64(user_message_limit),
            message_id: Field::from_u64(message_id),
            path_elements: path.path_elements.clone(),
            identity_path_index: path
                .identity_path_index
                .iter()
                .map(|&b| Field::from_u64(b as u64))
                .collect(),
            x,
            external_nullifier,
        }
    }

    /// The Merkle path as a [`MerkleProof`] (bits other than 0/1 are kept as 2 so validation fails).
    pub fn merkle_proof(&self) -> MerkleProof {
        MerkleProof {
            path_elements: self.path_elements.clone(),
            identity_path_index: self
                .identity_path_index
                .iter()
                .map(|b| {
                    if *b == Field::ZERO {
                        0
                    } else if *b == Field::ONE {
                        1
                    } else {
                        2
                    }
                })
                .collect(),
        }
    }

    /// The input signals by circom name, in the order the circuit declares them.
    #[cfg(feature = "wasm-witness")]
    pub(crate) fn signals(&self) -> [(&'static str, &[Field]); 7] {
        [
            ("identitySecret", std::slice::from_ref(&self.identity_secret)),
            ("userMessageLimit", std::slice::from_ref(&self.user_message_limit)),
            ("messageId", std::slice::from_ref(&self.message_id)),
            ("pathElements", &self.path_elements),
            ("identityPathIndex", &self.identity_path_index),
            ("x", std::slice::from_ref(&self.x)),
            ("externalNullifier", std::slice::from_ref(&self.external_nullifier)),
        ]
    }
}
