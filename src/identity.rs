//! RLN identities: the secret, its id commitment and the rate commitment that is the tree leaf;
//! random, seeded and extended key generation compatible with zerokit (and so with nwaku).

use ark_bn254::Fr;
use ark_std::UniformRand;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

use crate::field::{keccak256, Field};
use crate::poseidon::{poseidon1, poseidon2};

/// The largest user message limit the circuit accepts (message ids are range-checked in 16 bits).
pub const MAX_USER_MESSAGE_LIMIT: u64 = 1 << 16;

/// Errors from building identities and limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// A user message limit of 0 or above 2^16.
    #[error("the user message limit must be between 1 and {MAX_USER_MESSAGE_LIMIT}, got {got}")]
    LimitOutOfRange {
        /// The limit given.
        got: u64,
    },
    /// A message id at or above the member's limit.
    #[error("message id {message_id} is not below the user message limit {limit}")]
    MessageIdTooLarge {
        /// The message id given.
        message_id: u64,
        /// The member's limit.
        limit: u64,
    },
    /// An identity secret of zero.
    #[error("the identity secret is zero")]
    ZeroSecret,
    /// Only one of trapdoor and nullifier was given.
    #[error("an extended identity needs both its trapdoor and its nullifier, only one is given")]
    HalfExtended,
    /// Poseidon(trapdoor, nullifier) is not the secret.
    #[error("the identity's trapdoor and nullifier do not hash to its secret")]
    PartsMismatch,
    /// The commitment given is not Poseidon(secret).
    #[error("the identity's commitment is not Poseidon(secret)")]
    CommitmentMismatch,
}

/// How many messages a member may send per epoch (1..=2^16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(try_from = "u64", into = "u64")]
pub struct UserMessageLimit(u32);

impl UserMessageLimit {
    /// A limit of 1..=2^16 messages per epoch.
    pub fn new(limit: u64) -> Result<Self, IdentityError> {
        if limit == 0 || limit > MAX_USER_MESSAGE_LIMIT {
            return Err(IdentityError::LimitOutOfRange { got: limit });
        }
        Ok(UserMessageLimit(limit as u32))
    }
    /// The limit as a number.
    pub fn get(self) -> u64 {
        self.0 as u64
    }
    /// The limit as a field element (the circuit's `userMessageLimit`).
    pub fn as_field(self) -> Field {
        Field::from_u64(self.0 as u64)
    }
    /// Checks a message id against this limit.
    pub fn message_id(self, id: u64) -> Result<MessageId, IdentityError> {
        if id >= self.get() {
            return Err(IdentityError::MessageIdTooLarge { message_id: id, limit: self.get() });
        }
        Ok(MessageId(id as u32))
    }
}

impl TryFrom<u64> for UserMessageLimit {
    type Error = IdentityError;
    fn try_from(v: u64) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}
impl From<UserMessageLimit> for u64 {
    fn from(l: UserMessageLimit) -> u64 {
        l.get()
    }
}

/// A message id known to be below its member's limit (made by [`UserMessageLimit::message_id`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct MessageId(u32);

impl MessageId {
    /// The id as a number.
    pub fn get(self) -> u64 {
        self.0 as u64
    }
    /// The id as a field element (the circuit's `messageId`).
    pub fn as_field(self) -> Field {
        Field::from_u64(self.0 as u64)
    }
}

/// The public id commitment, Poseidon(secret).
pub fn id_commitment(secret: Field) -> Field {
    poseidon1(secret)
}

/// The tree leaf of a member, Poseidon(id_commitment, user_message_limit).
pub fn rate_commitment(id_commitment: Field, limit: UserMessageLimit) -> Field {
    poseidon2(id_commitment, limit.as_field())
}

/// An RLN identity. With the extended (Semaphore-style) form the secret is
/// Poseidon(trapdoor, nullifier); otherwise trapdoor and nullifier are absent.
///
/// Deserializing checks the parts against each other (see [`Identity::from_parts`]): a parsed
/// identity keeps its trapdoor and nullifier, and an inconsistent file is an error.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredIdentity")]
pub struct Identity {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    trapdoor: Option<Field>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    nullifier: Option<Field>,
    secret: Field,
    commitment: Field,
}

/// An identity as stored (an identity file): the parts before they are checked.
#[derive(Deserialize)]
struct StoredIdentity {
    #[serde(default)]
    trapdoor: Option<Field>,
    #[serde(default)]
    nullifier: Option<Field>,
    secret: Field,
    #[serde(default)]
    commitment: Option<Field>,
}

impl TryFrom<StoredIdentity> for Identity {
    type Error = IdentityError;
    fn try_from(s: StoredIdentity) -> Result<Self, IdentityError> {
        Identity::from_parts(s.trapdoor, s.nullifier, s.secret, s.commitment)
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("commitment", &self.commitment)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Drop for Identity {
    fn drop(&mut self) {
        // Best effort: clear the secret parts of this value (copies made with `secret()` are the
        // caller's to manage).
        self.secret = Field::ZERO;
        self.trapdoor = None;
        self.nullifier = None;
    }
}

fn seeded_rng(seed: &[u8]) -> ChaCha20Rng {
    ChaCha20Rng::from_seed(keccak256(seed))
}

impl Identity {
    /// An identity from a known secret.
    pub fn from_secret(secret: Field) -> Result<Self, IdentityError> {
        if secret.is_zero() {
            return Err(IdentityError::ZeroSecret);
        }
        Ok(Identity { trapdoor: None, nullifier: None, secret, commitment: id_commitment(secret) })
    }

    /// An extended identity from its trapdoor and nullifier.
    pub fn from_trapdoor_nullifier(
        trapdoor: Field,
        nullifier: Field,
    ) -> Result<Self, IdentityError> {
        let secret = poseidon2(trapdoor, nullifier);
        let mut id = Self::from_secret(secret)?;
        id.trapdoor = Some(trapdoor);
        id.nullifier = Some(nullifier);
        Ok(id)
    }

    /// An identity from stored parts, keeping all of them: the trapdoor and nullifier (both or
    /// neither) must hash to the secret, and a given commitment must be Poseidon(secret).
    pub fn from_parts(
        trapdoor: Option<Field>,
        nullifier: Option<Field>,
        secret: Field,
        commitment: Option<Field>,
    ) -> Result<Self, IdentityError> {
        let id = match (trapdoor, nullifier) {
            (Some(t), Some(n)) => {
                let id = Self::from_trapdoor_nullifier(t, n)?;
                if id.secret != secret {
                    return Err(IdentityError::PartsMismatch);
                }
                id
            }
            (None, None) => Self::from_secret(secret)?,
            _ => return Err(IdentityError::HalfExtended),
        };
        if commitment.is_some_and(|c| c != id.commitment) {
            return Err(IdentityError::CommitmentMismatch);
        }
        Ok(id)
    }

    fn draw(rng: &mut impl rand::RngCore) -> Field {
        loop {
            let f = Field::from_fr(Fr::rand(rng));
            if !f.is_zero() {
                return f;
            }
        }
    }

    /// A fresh random identity (OS randomness).
    pub fn random() -> Self {
        let mut rng = ChaCha20Rng::from_entropy();
        Self::from_secret(Self::draw(&mut rng)).expect("non-zero by construction")
    }

    /// A fresh random extended identity.
    pub fn random_extended() -> Self {
        let mut rng = ChaCha20Rng::from_entropy();
        let (t, n) = (Self::draw(&mut rng), Self::draw(&mut rng));
        Self::from_trapdoor_nullifier(t, n).expect("zero secret has negligible probability")
    }

    /// zerokit's `seeded_key_gen`: ChaCha20 seeded with keccak256(seed), one field draw.
    pub fn from_seed(seed: &[u8]) -> Self {
        let mut rng = seeded_rng(seed);
        Self::from_secret(Field::from_fr(Fr::rand(&mut rng)))
            .expect("zero secret has negligible probability")
    }

    /// zerokit's `extended_seeded_key_gen`: trapdoor then nullifier from the same stream.
    pub fn extended_from_seed(seed: &[u8]) -> Self {
        let mut rng = seeded_rng(seed);
        let trapdoor = Field::from_fr(Fr::rand(&mut rng));
        let nullifier = Field::from_fr(Fr::rand(&mut rng));
        Self::from_trapdoor_nullifier(trapdoor, nullifier)
            .expect("zero secret has negligible probability")
    }

    /// The identity secret (a0 in the RLN polynomial). Keep it private.
    pub fn secret(&self) -> Field {
        self.secret
    }
    /// Poseidon(secret), the public id commitment registered on chain.
    pub fn commitment(&self) -> Field {
        self.commitment
    }
    /// The trapdoor of an extended (Semaphore-style) identity, None otherwise.
    pub fn trapdoor(&self) -> Option<Field> {
        self.trapdoor
    }
    /// The identity nullifier of an extended identity, None otherwise.
    pub fn nullifier(&self) -> Option<Field> {
        self.nullifier
    }
    /// The tree leaf for this identity at the given limit.
    pub fn rate_commitment(&self, limit: UserMessageLimit) -> Field {
        rate_commitment(self.commitment, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_checked() {
        assert!(UserMessageLimit::new(0).is_err());
        assert!(UserMessageLimit::new(MAX_USER_MESSAGE_LIMIT + 1).is_err());
        let l = UserMessageLimit::new(10).unwrap();
        assert!(l.message_id(9).is_ok());
        assert_eq!(
            l.message_id(10),
            Err(IdentityError::MessageIdTooLarge { message_id: 10, limit: 10 })
        );
    }

    #[test]
    fn extended_secret_is_hash_of_parts() {
        let id = Identity::random_extended();
        assert_eq!(id.secret(), poseidon2(id.trapdoor().unwrap(), id.nullifier().unwrap()));
        assert_eq!(id.commitment(), poseidon1(id.secret()));
        assert_ne!(Identity::random().secret(), Identity::random().secret());
    }

    #[test]
    fn parsing_keeps_every_part_and_checks_them() {
        let ext = Identity::extended_from_seed(b"parts");
        let json = serde_json::to_string(&ext).unwrap();
        let back: Identity = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ext);
        assert_eq!(back.trapdoor(), ext.trapdoor());
        assert_eq!(back.nullifier(), ext.nullifier());
        let plain = Identity::from_seed(b"plain");
        assert_eq!(
            serde_json::from_str::<Identity>(&serde_json::to_string(&plain).unwrap()).unwrap(),
            plain
        );
        // Only the secret: the commitment is derived.
        let only = format!(r#"{{"secret":"{}"}}"#, plain.secret().to_hex());
        assert_eq!(serde_json::from_str::<Identity>(&only).unwrap(), plain);

        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["commitment"] = serde_json::to_value(plain.commitment()).unwrap();
        let err = serde_json::from_value::<Identity>(v.clone()).unwrap_err().to_string();
        assert!(err.contains("commitment is not Poseidon(secret)"), "{err}");
        v["secret"] = serde_json::to_value(plain.secret()).unwrap();
        v["commitment"] = serde_json::to_value(plain.commitment()).unwrap();
        let err = serde_json::from_value::<Identity>(v.clone()).unwrap_err().to_string();
        assert!(err.contains("do not hash to its secret"), "{err}");
        v.as_object_mut().unwrap().remove("nullifier");
        let err = serde_json::from_value::<Identity>(v).unwrap_err().to_string();
        assert!(err.contains("only one is given"), "{err}");
        assert_eq!(
            Identity::from_parts(None, None, Field::ZERO, None),
            Err(IdentityError::ZeroSecret)
        );
    }

    #[test]
    fn debug_redacts_the_secret() {
        let id = Identity::from_seed(b"x");
        assert!(!format!("{id:?}").contains(&id.secret().to_hex()));
    }
}
