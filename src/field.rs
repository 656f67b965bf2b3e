//! Field elements of the BN254 scalar field: the canonical 32-byte little-endian wire form,
//! decimal and hex text forms, and `hash_to_field`.
//!
//! A [`Field`] is always canonical (reduced below the modulus r): decoders reject bytes that
//! encode a value >= r instead of silently reducing them, so one value has exactly one encoding.

use std::fmt;
use std::str::FromStr;

use ark_bn254::Fr;
use ark_ff::{BigInteger, BigInteger256, One, PrimeField, Zero};
use sha3::{Digest, Keccak256};

/// Errors from decoding field elements.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// Not 32 bytes.
    #[error("a field element is 32 bytes, got {got}")]
    WrongLength {
        /// The length given.
        got: usize,
    },
    /// Not below the modulus.
    #[error("field element 0x{hex_le} (little-endian) is not canonical: it is not below the BN254 scalar modulus")]
    NonCanonical {
        /// The bytes in hex, as given (little-endian).
        hex_le: String,
    },
    /// Not a decimal or 0x-hex integer below the modulus.
    #[error("cannot parse {input:?} as a field element: expected a decimal integer or 0x-prefixed big-endian hex below the BN254 scalar modulus")]
    Parse {
        /// The text given.
        input: String,
    },
}

/// An element of the BN254 scalar field, always canonical.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Field(Fr);

impl Field {
    /// The additive identity.
    pub const ZERO: Field = Field(ark_ff::MontFp!("0"));
    /// The multiplicative identity.
    pub const ONE: Field = Field(ark_ff::MontFp!("1"));

    /// Wraps an arkworks scalar (arkworks keeps scalars reduced, so this is always canonical).
    pub const fn from_fr(fr: Fr) -> Self {
        Field(fr)
    }

    /// The arkworks scalar.
    pub const fn fr(self) -> Fr {
        self.0
    }

    /// A small integer as a field element.
    pub fn from_u64(value: u64) -> Self {
        Field(Fr::from(value))
    }

    /// Decodes the canonical 32-byte little-endian form; values >= r are an error.
    pub fn from_le_bytes(bytes: &[u8; 32]) -> Result<Self, FieldError> {
        let mut limbs = [0u64; 4];
        for (i, limb) in limbs.iter_mut().enumerate() {
            *limb = u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        }
        Fr::from_bigint(BigInteger256::new(limbs))
            .map(Field)
            .ok_or_else(|| FieldError::NonCanonical { hex_le: hex::encode(bytes) })
    }

    /// Decodes a 32-byte little-endian slice, checking the length first.
    pub fn from_le_slice(bytes: &[u8]) -> Result<Self, FieldError> {
        let arr: &[u8; 32] =
            bytes.try_into().map_err(|_| FieldError::WrongLength { got: bytes.len() })?;
        Self::from_le_bytes(arr)
    }

    /// Decodes a 32-byte big-endian form (the order of `0x…` hex strings); values >= r are an error.
    pub fn from_be_bytes(bytes: &[u8; 32]) -> Result<Self, FieldError> {
        let mut le = *bytes;
        le.reverse();
        Self::from_le_bytes(&le)
    }

    /// The canonical 32-byte little-endian form.
    pub fn to_le_bytes(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&self.0.into_bigint().to_bytes_le());
        out
    }

    /// The 32-byte big-endian form.
    pub fn to_be_bytes(self) -> [u8; 32] {
        let mut out = self.to_le_bytes();
        out.reverse();
        out
    }

    /// Reduces 32 little-endian bytes modulo r (for hashes, never for decoding wire values).
    pub fn from_le_bytes_mod_order(bytes: &[u8]) -> Self {
        Field(Fr::from_le_bytes_mod_order(bytes))
    }

    /// `0x`-prefixed big-endian hex, 64 digits.
    pub fn to_hex(self) -> String {
        format!("0x{}", hex::encode(self.to_be_bytes()))
    }

    /// Parses decimal, or `0x`-prefixed big-endian hex (up to 64 digits).
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let err = || FieldError::Parse { input: input.to_string() };
        let s = input.trim();
        if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            if h.is_empty() || h.len() > 64 {
                return Err(err());
            }
            let padded = format!("{h:0>64}");
            let bytes: [u8; 32] =
                hex::decode(padded).map_err(|_| err())?.try_into().map_err(|_| err())?;
            return Self::from_be_bytes(&bytes).map_err(|_| err());
        }
        if s.is_empty() || s.len() > 78 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let value = num_bigint::BigUint::parse_bytes(s.as_bytes(), 10).ok_or_else(err)?;
        let modulus: num_bigint::BigUint = Fr::MODULUS.into();
        if value >= modulus {
            return Err(err());
        }
        Ok(Field(Fr::from(value)))
    }

    /// Whether this is 0.
    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    /// Whether this is 1.
    pub fn is_one(&self) -> bool {
        self.0.is_one()
    }
}

impl From<Fr> for Field {
    fn from(fr: Fr) -> Self {
        Field(fr)
    }
}

impl From<Field> for Fr {
    fn from(f: Field) -> Self {
        f.0
    }
}

impl From<u64> for Field {
    fn from(v: u64) -> Self {
        Field::from_u64(v)
    }
}

impl FromStr for Field {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Field::parse(s)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.into_bigint())
    }
}

impl fmt::Debug for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Field({})", self.to_hex())
    }
}

impl serde::Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Field::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// keccak256 of the bytes.
pub fn keccak256(bytes: &[u8]) -> [u8; 32] {
    Keccak256::digest(bytes).into()
}

/// `hash_to_field(bytes)`: keccak256 read as a little-endian integer, reduced mod r (RLN's x).
pub fn hash_to_field(bytes: &[u8]) -> Field {
    Field::from_le_bytes_mod_order(&keccak256(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const R_DEC: &str =
        "21888242871839275222246405745257275088548364400416034343698204186575808495617";

    #[test]
    fn le_bytes_round_trip_and_reject_modulus() {
        let v = Field::parse("123456789").unwrap();
        assert_eq!(Field::from_le_bytes(&v.to_le_bytes()).unwrap(), v);
        let mut r_le = [0u8; 32];
        r_le.copy_from_slice(&Fr::MODULUS.to_bytes_le());
        assert!(matches!(Field::from_le_bytes(&r_le), Err(FieldError::NonCanonical { .. })));
        assert!(matches!(Field::from_le_bytes(&[0xff; 32]), Err(FieldError::NonCanonical { .. })));
        // r - 1 is the largest canonical value.
        r_le[0] -= 1;
        assert!(Field::from_le_bytes(&r_le).is_ok());
        assert_eq!(Field::from_le_slice(&[0u8; 31]), Err(FieldError::WrongLength { got: 31 }));
    }

    #[test]
    fn parse_decimal_and_hex() {
        assert!(Field::parse(R_DEC).is_err());
        let rm1 = "21888242871839275222246405745257275088548364400416034343698204186575808495616";
        let f = Field::parse(rm1).unwrap();
        assert_eq!(f.to_string(), rm1);
        assert_eq!(Field::parse(&f.to_hex()).unwrap(), f);
        assert_eq!(Field::parse("0x01").unwrap(), Field::ONE);
        assert_eq!(Field::parse("0").unwrap(), Field::ZERO);
        for bad in [
            "",
            "0x",
            "-1",
            "1.5",
            "abc",
            "0xzz",
            "999999999999999999999999999999999999999999999999999999999999999999999999999999999",
        ] {
            assert!(Field::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn serde_uses_decimal() {
        let f = Field::from_u64(42);
        assert_eq!(serde_json::to_string(&f).unwrap(), "\"42\"");
        assert_eq!(serde_json::from_str::<Field>("\"0x2a\"").unwrap(), f);
    }
}
