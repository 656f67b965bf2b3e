//! An nwaku-compatible credential keystore ("appKeystore", SPEC §7), so operators can move
//! between nwaku and rlnkit.
//!
//! ```json
//! {"application":"waku-rln-relay","appIdentifier":"01234567890abcdef","version":"0.2",
//!  "credentials":{"<MEMBERSHIP HASH>":{"crypto":{"cipher":"aes-128-ctr", ...}}}}
//! ```
//! Each credential is encrypted on its own (Web3 Secret Storage v3 style): PBKDF2-HMAC-SHA256
//! (1,000,000 rounds by default, 16-byte salt, 32-byte key), AES-128-CTR with the key's first
//! half, MAC = keccak256(key[16..32] || ciphertext).
//!
//! Interoperability with nwaku and js-waku (`@waku/rln` `Keystore`):
//! - **Membership hash** (a credential's key): uppercase hex of sha256 over the UTF-8 text
//!   `chainId + contractAddress + treeIndex` (decimal chain id and index, the address *exactly as
//!   given*, not lowercased), as both compute it. rlnkit files a credential under the address as
//!   given too; [`find_hash`] finds it whatever case the address is typed in (as given,
//!   lowercase, EIP-55 checksummed), so keystores rlnkit wrote before (filed under the lowercase
//!   address) keep opening.
//! - **Passwords**: nwaku stretches the password's bytes as given; js-waku normalizes a string
//!   password to Unicode NFKD first. [`unlock`] tries both (they differ only for some non-ASCII
//!   passwords), so it opens files from either. [`add`] writes with the bytes as given, nwaku's
//!   rule, so the password an operator types opens the file in nwaku; js-waku opens it too when
//!   the password is its own NFKD form ([`password_is_portable`]: always for ASCII). No single
//!   form serves both for other passwords, since js-waku never stretches unnormalized bytes and
//!   nwaku never normalizes.
//!
//! [`find_hash`]: crate::keystore::Keystore::find_hash
//! [`unlock`]: crate::keystore::Keystore::unlock
//! [`add`]: crate::keystore::Keystore::add
//! [`password_is_portable`]: crate::keystore::password_is_portable
//!
//! Files are written atomically (temporary file + rename) with owner-only permissions; a failed
//! write never touches the existing keystore.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aes::cipher::{KeyIvInit, StreamCipher};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use crate::field::{keccak256, Field};
use crate::identity::Identity;

/// PBKDF2 rounds nwaku uses.
pub const DEFAULT_KDF_ROUNDS: u32 = 1_000_000;
/// The keystore's `application` (nwaku's).
pub const APPLICATION: &str = "waku-rln-relay";
/// The keystore's `appIdentifier` (nwaku's).
pub const APP_IDENTIFIER: &str = "01234567890abcdef";
/// The keystore format version (nwaku's).
pub const VERSION: &str = "0.2";

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

/// Keystore errors.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// The keystore file could not be read or written.
    #[error("keystore {path}: cannot read or write it")]
    Io {
        /// The keystore file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Creating a keystore where a file exists already.
    #[error("keystore {path} exists already")]
    Exists {
        /// The existing file.
        path: PathBuf,
    },
    /// The file is not a keystore (bad JSON or missing fields).
    #[error("keystore {path} is not a valid keystore: {what}")]
    Format {
        /// The keystore file.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
    /// The file is a keystore of another application than [`APPLICATION`].
    #[error("keystore {path} is for application {got:?}, expected {APPLICATION:?}")]
    Application {
        /// The keystore file.
        path: PathBuf,
        /// The application it names.
        got: String,
    },
    /// The password does not decrypt the credential (its MAC does not match).
    #[error("wrong password for credential {hash}")]
    WrongPassword {
        /// Membership hash of the credential.
        hash: String,
    },
    /// No credential under this membership hash.
    #[error("no credential {hash} in the keystore")]
    NotFound {
        /// The membership hash asked for.
        hash: String,
    },
    /// A credential under this membership hash is stored already.
    #[error("credential {hash} exists already")]
    Duplicate {
        /// Membership hash of the credential.
        hash: String,
    },
    /// The credential's stored parameters (salt, iv, ciphertext, mac) or decrypted contents are
    /// invalid.
    #[error("credential {hash} is damaged: {what}")]
    Damaged {
        /// Membership hash of the credential.
        hash: String,
        /// What is wrong with it.
        what: String,
    },
    /// The credential uses a cipher, KDF, PRF or key length this keystore does not implement.
    #[error("unsupported {what} {got:?} in credential {hash}")]
    Unsupported {
        /// Membership hash of the credential.
        hash: String,
        /// Which parameter: `cipher`, `kdf`, `prf` or `dklen`.
        what: &'static str,
        /// The value found.
        got: String,
    },
}

/// Which membership a credential is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipContract {
    /// Decimal chain id, as text (nwaku's form).
    #[serde(rename = "chainId", deserialize_with = "string_or_number")]
    pub chain_id: String,
    /// Contract address as given (the membership hash is over exactly this text). Keystores
    /// written by rlnkit before it matched nwaku hold lowercase 0x-hex.
    pub address: String,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!("expected a chain id, got {other}"))),
    }
}

/// An RLN membership credential: the identity and where it is registered.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The member's identity.
    pub identity: Identity,
    /// The chain and contract of the membership.
    pub contract: MembershipContract,
    /// The membership's leaf index.
    pub tree_index: u32,
    /// The membership's user message limit.
    pub user_message_limit: u32,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("identity", &self.identity)
            .field("contract", &self.contract)
            .field("tree_index", &self.tree_index)
            .field("user_message_limit", &self.user_message_limit)
            .finish()
    }
}

impl Credential {
    /// A credential for the membership at `tree_index` of contract `address` on `chain_id`.
    /// The address is kept as given (any case), as nwaku and js-waku keep it: the credential is
    /// filed under the hash of this text.
    pub fn new(
        identity: Identity,
        chain_id: u64,
        address: &str,
        tree_index: u32,
        user_message_limit: u32,
    ) -> Self {
        Credential {
            identity,
            contract: MembershipContract {
                chain_id: chain_id.to_string(),
                address: address.to_string(),
            },
            tree_index,
            user_message_limit,
        }
    }

    /// nwaku's key of this credential in the keystore.
    pub fn membership_hash(&self) -> String {
        membership_hash(&self.contract.chain_id, &self.contract.address, self.tree_index)
    }
}

/// nwaku's and js-waku's key of a credential: uppercase hex sha256 of the UTF-8 text
/// `chain_id + address + tree_index` (decimal index), with `address` exactly as given.
pub fn membership_hash(chain_id: &str, address: &str, tree_index: u32) -> String {
    let mut h = Sha256::new();
    h.update(chain_id.as_bytes());
    h.update(address.as_bytes());
    h.update(tree_index.to_string().as_bytes());
    hex::encode_upper(h.finalize())
}

/// The spellings of a contract address a credential may be filed under: as given, lowercase and
/// EIP-55 checksummed (when it is a 20-byte hex address), without repeats, in that order.
pub fn address_forms(address: &str) -> Vec<String> {
    let mut forms = vec![address.to_string(), address.to_lowercase()];
    if let Ok(a) = address.parse::<alloy::primitives::Address>() {
        forms.push(a.to_checksum(None));
    }
    let mut seen = std::collections::HashSet::new();
    forms.retain(|f| seen.insert(f.clone()));
    forms
}

/// Whether nwaku and js-waku open a credential written with this password when it is typed the
/// same way in each: true when the password is UTF-8 in Unicode NFKD form (always for ASCII),
/// because js-waku stretches NFKD(password) and nwaku the bytes as given.
pub fn password_is_portable(password: &[u8]) -> bool {
    std::str::from_utf8(password).is_ok_and(unicode_normalization::is_nfkd)
}

/// The byte strings a password may have been stretched from: as given (nwaku, rlnkit), then its
/// NFKD form (js-waku) when that differs.
fn password_forms(password: &[u8]) -> Vec<Cow<'_, [u8]>> {
    let mut forms = vec![Cow::Borrowed(password)];
    if let Ok(text) = std::str::from_utf8(password) {
        let nfkd: String = text.nfkd().collect();
        if nfkd.as_bytes() != password {
            forms.push(Cow::Owned(nfkd.into_bytes()));
        }
    }
    forms
}

/// The plaintext nwaku encrypts (identity fields as little-endian byte arrays).
#[derive(Serialize, Deserialize)]
struct Plain {
    #[serde(rename = "identityCredential")]
    identity: PlainIdentity,
    #[serde(rename = "membershipContract")]
    contract: MembershipContract,
    #[serde(rename = "treeIndex")]
    tree_index: u32,
    #[serde(rename = "userMessageLimit", default)]
    user_message_limit: u32,
}

#[derive(Serialize, Deserialize)]
struct PlainIdentity {
    #[serde(rename = "idTrapdoor", default)]
    trapdoor: Vec<u8>,
    #[serde(rename = "idNullifier", default)]
    nullifier: Vec<u8>,
    #[serde(rename = "idSecretHash")]
    secret: Vec<u8>,
    #[serde(rename = "idCommitment")]
    commitment: Vec<u8>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CipherParams {
    iv: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct KdfParams {
    dklen: u32,
    c: u32,
    prf: String,
    salt: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Crypto {
    cipher: String,
    cipherparams: CipherParams,
    ciphertext: String,
    kdf: String,
    kdfparams: KdfParams,
    mac: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct EncryptedCredential {
    crypto: Crypto,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeystoreFile {
    application: String,
    #[serde(rename = "appIdentifier")]
    app_identifier: String,
    version: String,
    credentials: BTreeMap<String, EncryptedCredential>,
}

/// A keystore file and its credentials (encrypted until unlocked).
#[derive(Debug, Clone)]
pub struct Keystore {
    path: PathBuf,
    file: KeystoreFile,
    kdf_rounds: u32,
}

fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

fn derive_key(password: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
    let mut dk = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, rounds, &mut dk);
    dk
}

fn mac(dk: &[u8; 32], ciphertext: &[u8]) -> [u8; 32] {
    let mut m = dk[16..32].to_vec();
    m.extend_from_slice(ciphertext);
    keccak256(&m)
}

impl Keystore {
    /// A new, empty keystore at `path` (not written until the first [`Keystore::add`]).
    /// Fails if the file exists.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, KeystoreError> {
        let path = path.as_ref().to_path_buf();
        if path.exists() {
            return Err(KeystoreError::Exists { path });
        }
        Ok(Keystore {
            path,
            file: KeystoreFile {
                application: APPLICATION.into(),
                app_identifier: APP_IDENTIFIER.into(),
                version: VERSION.into(),
                credentials: BTreeMap::new(),
            },
            kdf_rounds: DEFAULT_KDF_ROUNDS,
        })
    }

    /// Reads the keystore at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, KeystoreError> {
        let path = path.as_ref().to_path_buf();
        let text = std::fs::read_to_string(&path)
            .map_err(|source| KeystoreError::Io { path: path.clone(), source })?;
        let file: KeystoreFile = serde_json::from_str(&text)
            .map_err(|e| KeystoreError::Format { path: path.clone(), what: e.to_string() })?;
        if file.application != APPLICATION {
            return Err(KeystoreError::Application { path, got: file.application });
        }
        Ok(Keystore { path, file, kdf_rounds: DEFAULT_KDF_ROUNDS })
    }

    /// Opens the keystore, or starts a new one if the file does not exist.
    pub fn open_or_create(path: impl AsRef<Path>) -> Result<Self, KeystoreError> {
        if path.as_ref().exists() {
            Self::open(path)
        } else {
            Self::create(path)
        }
    }

    /// PBKDF2 rounds for credentials added from now on (default 1,000,000; lower only in tests).
    pub fn with_kdf_rounds(mut self, rounds: u32) -> Self {
        self.kdf_rounds = rounds.max(1);
        self
    }

    /// The keystore file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Membership hashes of the stored credentials (their contents need the password).
    pub fn list(&self) -> Vec<String> {
        self.file.credentials.keys().cloned().collect()
    }

    /// Encrypts `cred` with `password` (its bytes as given: see the module doc), adds it and
    /// writes the file. Returns its membership hash, over the contract address as given.
    /// Refuses a membership already present under any spelling of its address.
    pub fn add(&mut self, cred: &Credential, password: &[u8]) -> Result<String, KeystoreError> {
        let hash = cred.membership_hash();
        let c = &cred.contract;
        if let Some(hash) = self.find_hash_text(&c.chain_id, &c.address, cred.tree_index) {
            return Err(KeystoreError::Duplicate { hash });
        }
        let id = &cred.identity;
        let plain = Plain {
            identity: PlainIdentity {
                trapdoor: id.trapdoor().map(|f| f.to_le_bytes().to_vec()).unwrap_or_default(),
                nullifier: id.nullifier().map(|f| f.to_le_bytes().to_vec()).unwrap_or_default(),
                secret: id.secret().to_le_bytes().to_vec(),
                commitment: id.commitment().to_le_bytes().to_vec(),
            },
            contract: cred.contract.clone(),
            tree_index: cred.tree_index,
            user_message_limit: cred.user_message_limit,
        };
        let mut data = serde_json::to_vec(&plain).expect("serializable");
        let mut salt = [0u8; 16];
        let mut iv = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut salt);
        rand::thread_rng().fill_bytes(&mut iv);
        let dk = derive_key(password, &salt, self.kdf_rounds);
        Aes128Ctr::new(dk[..16].into(), (&iv).into()).apply_keystream(&mut data);
        let crypto = Crypto {
            cipher: "aes-128-ctr".into(),
            cipherparams: CipherParams { iv: hex::encode(iv) },
            ciphertext: hex::encode(&data),
            kdf: "pbkdf2".into(),
            kdfparams: KdfParams {
                dklen: 32,
                c: self.kdf_rounds,
                prf: "hmac-sha256".into(),
                salt: hex::encode(salt),
            },
            mac: hex::encode(mac(&dk, &data)),
        };
        let mut next = self.file.clone();
        next.credentials.insert(
            hash.clone(),
            EncryptedCredential { crypto, id: Some(uuid_v4()), version: Some(3) },
        );
        write_private_atomic(&self.path, &serde_json::to_vec_pretty(&next).expect("serializable"))?;
        self.file = next;
        Ok(hash)
    }

    /// Decrypts one credential. The password is tried as given (nwaku, rlnkit) and in Unicode NFKD
    /// form (js-waku) when that differs; if neither opens it: [`KeystoreError::WrongPassword`].
    pub fn unlock(&self, hash: &str, password: &[u8]) -> Result<Credential, KeystoreError> {
        let hash = hash.to_uppercase();
        let enc = self
            .file
            .credentials
            .get(&hash)
            .ok_or_else(|| KeystoreError::NotFound { hash: hash.clone() })?;
        let c = &enc.crypto;
        let unsupported = |what: &'static str, got: &str| KeystoreError::Unsupported {
            hash: hash.clone(),
            what,
            got: got.to_string(),
        };
        if c.cipher != "aes-128-ctr" {
            return Err(unsupported("cipher", &c.cipher));
        }
        if c.kdf != "pbkdf2" {
            return Err(unsupported("kdf", &c.kdf));
        }
        if c.kdfparams.prf != "hmac-sha256" {
            return Err(unsupported("prf", &c.kdfparams.prf));
        }
        if c.kdfparams.dklen != 32 {
            return Err(unsupported("dklen", &c.kdfparams.dklen.to_string()));
        }
        let damaged =
            |what: &str| KeystoreError::Damaged { hash: hash.clone(), what: what.to_string() };
        let salt = hex::decode(&c.kdfparams.salt).map_err(|_| damaged("salt is not hex"))?;
        let iv: [u8; 16] = hex::decode(&c.cipherparams.iv)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| damaged("iv is not 16 bytes of hex"))?;
        let mut data = hex::decode(&c.ciphertext).map_err(|_| damaged("ciphertext is not hex"))?;
        let want =
            hex::decode(c.mac.trim_start_matches("0x")).map_err(|_| damaged("mac is not hex"))?;
        let dk = password_forms(password)
            .iter()
            .map(|pw| derive_key(pw, &salt, c.kdfparams.c))
            .find(|dk| mac(dk, &data).as_slice() == want.as_slice())
            .ok_or_else(|| KeystoreError::WrongPassword { hash: hash.clone() })?;
        Aes128Ctr::new(dk[..16].into(), (&iv).into()).apply_keystream(&mut data);
        let plain: Plain =
            serde_json::from_slice(&data).map_err(|e| damaged(&format!("plaintext: {e}")))?;
        let field = |b: &[u8], name: &str| -> Result<Field, KeystoreError> {
            Field::from_le_slice(b).map_err(|e| damaged(&format!("{name}: {e}")))
        };
        // nwaku and js-waku write empty trapdoor and nullifier arrays for a plain identity.
        let part = |b: &[u8], name: &str| -> Result<Option<Field>, KeystoreError> {
            if b.is_empty() {
                Ok(None)
            } else {
                field(b, name).map(Some)
            }
        };
        let p = &plain.identity;
        let identity = Identity::from_parts(
            part(&p.trapdoor, "idTrapdoor")?,
            part(&p.nullifier, "idNullifier")?,
            field(&p.secret, "idSecretHash")?,
            Some(field(&p.commitment, "idCommitment")?),
        )
        .map_err(|e| damaged(&e.to_string()))?;
        Ok(Credential {
            identity,
            contract: plain.contract,
            tree_index: plain.tree_index,
            user_message_limit: plain.user_message_limit,
        })
    }

    /// The key of a membership's credential in this keystore, whatever case `address` is typed
    /// in: tries the hash over the address as given, lowercase (what rlnkit wrote before it
    /// matched nwaku), then EIP-55 checksummed ([`address_forms`]).
    pub fn find_hash(&self, chain_id: u64, address: &str, tree_index: u32) -> Option<String> {
        self.find_hash_text(&chain_id.to_string(), address, tree_index)
    }

    fn find_hash_text(&self, chain_id: &str, address: &str, tree_index: u32) -> Option<String> {
        address_forms(address)
            .iter()
            .map(|a| membership_hash(chain_id, a, tree_index))
            .find(|h| self.file.credentials.contains_key(h))
    }
}

/// Writes `bytes` to `path` via a temporary file in the same directory (mode 0600) and a rename.
fn write_private_atomic(path: &Path, bytes: &[u8]) -> Result<(), KeystoreError> {
    use std::io::Write;
    let io = |source| KeystoreError::Io { path: path.to_path_buf(), source };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut n = 0u32;
    let (tmp, mut f) = loop {
        let tmp = dir.join(format!(
            ".{}.tmp-{}-{n}",
            path.file_name().and_then(|s| s.to_str()).unwrap_or("keystore"),
            std::process::id()
        ));
        match opts.open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => return Err(io(e)),
        }
    };
    let res =
        f.write_all(bytes).and_then(|_| f.sync_all()).and_then(|_| std::fs::rename(&tmp, path));
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_password() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keystore.json");
        let mut ks = Keystore::create(&path).unwrap().with_kdf_rounds(16);
        let a = Credential::new(
            Identity::extended_from_seed(b"a"),
            1337,
            "0xAbC0000000000000000000000000000000000001",
            3,
            100,
        );
        let b = Credential::new(
            Identity::from_seed(b"b"),
            1337,
            "0xabc0000000000000000000000000000000000001",
            4,
            20,
        );
        let ha = ks.add(&a, b"pw-a").unwrap();
        let hb = ks.add(&b, b"pw-b").unwrap();
        assert_eq!(ha, membership_hash("1337", "0xAbC0000000000000000000000000000000000001", 3));
        assert!(matches!(ks.add(&a, b"x"), Err(KeystoreError::Duplicate { .. })));

        let ks2 = Keystore::open(&path).unwrap();
        let mut hashes = ks2.list();
        hashes.sort();
        let mut want = vec![ha.clone(), hb.clone()];
        want.sort();
        assert_eq!(hashes, want);
        let got = ks2.unlock(&ha, b"pw-a").unwrap();
        assert_eq!(got, a);
        // An extended identity comes back whole.
        assert!(got.identity.trapdoor().is_some() && got.identity.nullifier().is_some());
        assert_eq!(got.identity.trapdoor(), a.identity.trapdoor());
        assert_eq!(got.identity.nullifier(), a.identity.nullifier());
        assert_eq!(ks2.unlock(&hb, b"pw-b").unwrap(), b);
        assert!(matches!(ks2.unlock(&ha, b"pw-b"), Err(KeystoreError::WrongPassword { .. })));
        assert_eq!(ks2.find_hash(1337, "0xABC0000000000000000000000000000000000001", 4), Some(hb));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        // The file has nwaku's shape.
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["application"], "waku-rln-relay");
        assert_eq!(v["version"], "0.2");
        assert_eq!(v["credentials"][&ha]["crypto"]["kdfparams"]["prf"], "hmac-sha256");
        assert!(Keystore::create(&path).is_err());
    }

    const SEPOLIA_CONTRACT: &str = "0xCB33Aa5B38d79E3D9Fa8B10afF38AA201399a7e3";

    #[test]
    fn membership_hash_is_over_the_address_as_given() {
        // js-waku's key for this membership (../shared/interop/keystore/README.md).
        let js_waku = "4024DF8052A24A2A917CF8177F1CC7558CC298FA98BE3FB45C3AAC9668F79B39";
        assert_eq!(membership_hash("11155111", SEPOLIA_CONTRACT, 7), js_waku);
        let cred = Credential::new(Identity::from_seed(b"s"), 11155111, SEPOLIA_CONTRACT, 7, 100);
        assert_eq!(cred.contract.address, SEPOLIA_CONTRACT);
        assert_eq!(cred.membership_hash(), js_waku);

        let dir = tempfile::tempdir().unwrap();
        let mut ks = Keystore::create(dir.path().join("ks.json")).unwrap().with_kdf_rounds(4);
        assert_eq!(ks.add(&cred, b"pw").unwrap(), js_waku);
        // Found whatever case the address is typed in.
        for typed in [
            SEPOLIA_CONTRACT,
            &SEPOLIA_CONTRACT.to_lowercase(),
            &SEPOLIA_CONTRACT.to_uppercase().replace("0X", "0x"),
        ] {
            assert_eq!(ks.find_hash(11155111, typed, 7).as_deref(), Some(js_waku), "{typed}");
        }
        assert_eq!(ks.find_hash(11155111, SEPOLIA_CONTRACT, 8), None);
        assert_eq!(ks.find_hash(1, SEPOLIA_CONTRACT, 7), None);
        // The same membership in another case is a duplicate, not a second credential.
        let lower = Credential::new(
            Identity::from_seed(b"t"),
            11155111,
            &SEPOLIA_CONTRACT.to_lowercase(),
            7,
            100,
        );
        let dup = ks.add(&lower, b"pw");
        assert!(
            matches!(&dup, Err(KeystoreError::Duplicate { hash }) if hash == js_waku),
            "{dup:?}"
        );
        assert_eq!(ks.list().len(), 1);
    }

    #[test]
    fn keystores_filed_under_the_lowercase_address_keep_opening() {
        // What rlnkit wrote before: the address lowercased, the key over that text.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.json");
        let lower = SEPOLIA_CONTRACT.to_lowercase();
        let old = Credential::new(Identity::extended_from_seed(b"old"), 11155111, &lower, 7, 20);
        let hash = Keystore::create(&path).unwrap().with_kdf_rounds(4).add(&old, b"pw").unwrap();
        assert_eq!(hash, membership_hash("11155111", &lower, 7));
        let ks = Keystore::open(&path).unwrap();
        // Typed checksummed (as nwaku's and js-waku's docs show it), or in any other case.
        assert_eq!(ks.find_hash(11155111, SEPOLIA_CONTRACT, 7).as_deref(), Some(hash.as_str()));
        assert_eq!(
            ks.find_hash(11155111, &SEPOLIA_CONTRACT.to_uppercase().replace("0X", "0x"), 7)
                .as_deref(),
            Some(hash.as_str())
        );
        assert_eq!(ks.unlock(&hash.to_lowercase(), b"pw").unwrap(), old);
    }

    #[test]
    fn address_forms_are_given_lowercase_checksummed() {
        let upper = SEPOLIA_CONTRACT.to_uppercase().replace("0X", "0x");
        assert_eq!(
            address_forms(&upper),
            vec![upper.clone(), SEPOLIA_CONTRACT.to_lowercase(), SEPOLIA_CONTRACT.to_string()]
        );
        assert_eq!(
            address_forms(SEPOLIA_CONTRACT),
            vec![SEPOLIA_CONTRACT.to_string(), SEPOLIA_CONTRACT.to_lowercase()]
        );
        // Not an address: no checksummed form, and no panic.
        assert_eq!(address_forms("0xAB"), vec!["0xAB".to_string(), "0xab".to_string()]);
    }

    #[test]
    fn passwords_beyond_ascii_open_files_from_nwaku_and_js_waku() {
        let composed = "p\u{e4}ssw\u{f6}rd"; // "pässwörd" as keyboards type it (NFC)
        let decomposed = "pa\u{308}sswo\u{308}rd"; // its NFKD form, what js-waku stretches
        assert!(!password_is_portable(composed.as_bytes()));
        assert!(password_is_portable(decomposed.as_bytes()));
        assert!(password_is_portable(b"correct horse battery staple"));
        assert!(!password_is_portable(&[0xff, 0xfe]));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ks.json");
        let mut ks = Keystore::create(&path).unwrap().with_kdf_rounds(4);
        // nwaku stretches the bytes as typed; js-waku their NFKD form. Both key derivations are
        // this module's PBKDF2 over those bytes.
        let by_nwaku = Credential::new(Identity::from_seed(b"n"), 1, "0x01", 0, 20);
        let by_js_waku = Credential::new(Identity::from_seed(b"j"), 1, "0x01", 1, 20);
        let hn = ks.add(&by_nwaku, composed.as_bytes()).unwrap();
        let hj = ks.add(&by_js_waku, decomposed.as_bytes()).unwrap();

        // The same typed password opens both.
        let ks = Keystore::open(&path).unwrap();
        assert_eq!(ks.unlock(&hn, composed.as_bytes()).unwrap(), by_nwaku);
        assert_eq!(ks.unlock(&hj, composed.as_bytes()).unwrap(), by_js_waku);
        assert_eq!(ks.unlock(&hj, decomposed.as_bytes()).unwrap(), by_js_waku);
        // A wrong password, ASCII look-alike or not, is refused with the typed error.
        for wrong in ["passwort", "passw\u{f6}rd", "P\u{e4}ssw\u{f6}rd", ""] {
            for h in [&hn, &hj] {
                let got = ks.unlock(h, wrong.as_bytes());
                let refused =
                    matches!(&got, Err(KeystoreError::WrongPassword { hash }) if hash == h);
                assert!(refused, "{wrong:?}: {got:?}");
            }
        }
        // Bytes that are not UTF-8 are a password too (as given), never a panic.
        assert!(matches!(ks.unlock(&hn, &[0xff]), Err(KeystoreError::WrongPassword { .. })));
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ks.json");
        let mut ks = Keystore::create(&path).unwrap().with_kdf_rounds(4);
        ks.add(&Credential::new(Identity::from_seed(b"x"), 1, "0x01", 0, 20), b"p").unwrap();
        let before = std::fs::read(&path).unwrap();
        // Point the keystore into a directory that does not exist: the write fails, nothing changes.
        let mut broken = ks.clone();
        broken.path = dir.path().join("missing/ks.json");
        assert!(broken
            .add(&Credential::new(Identity::from_seed(b"y"), 1, "0x01", 1, 20), b"p")
            .is_err());
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(Keystore::open(&path).unwrap().list().len(), 1);
    }
}
