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
    /// The limit is out of range.
    #[error("the user message limit must be between 1 and {MAX_USER_MESSAGE_LIMIT}, got {got}")]
    LimitOutOfRange { got: u64 },
    /// The message id is not below the limit.
    #[error("message id {message_id} is not below the user message limit {limit}")]
    MessageIdTooLarge { message_id: u64, limit: u64 },
    /// The secret is zero (no identity).
    #[error("the identity secret is zero")]
    ZeroSecret,
}

/// How many messages a member may send per epoch (1..=2^16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(try_from = "u64", into = "u64")]
pub struct UserMessageLimit(u32);

impl UserMessageLimit {
    /// A limit of `limit` messages per epoch (1 to [`MAX_USER_MESSAGE_LIMIT`]).
    pub fn new(limit: u64) -> Result<Self, IdentityError> {
        if limit == 0 || limit > MAX_USER_MESSAGE_LIMIT {
            return Err(IdentityError::LimitOutOfRange { got: limit });
        }
        Ok(UserMessageLimit(limit as u32))
    }
    /// The number.
    pub fn get(self) -> u64 {
        self.0 as u64
    }
    /// The number as a field element.
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
    /// The number.
    pub fn get(self) -> u64 {
        self.0 as u64
    }
    /// The number as a field element.
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
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    trapdoor: Option<Field>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    nullifier: Option<Field>,
    secret: Field,
    commitment: Field,
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
    /// The trapdoor of an extended (Semaphore-style) identity.
    pub fn trapdoor(&self) -> Option<Field> {
        self.trapdoor
    }
    /// The nullifier of an extended identity.
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
    fn debug_redacts_the_secret() {
        let id = Identity::from_seed(b"x");
        assert!(!format!("{id:?}").contains(&id.secret().to_hex()));
    }
}
