//! An nwaku-compatible credential keystore ("appKeystore", SPEC §7), so operators can move
//! between nwaku and rlnkit.
//!
//! ```json
//! {"application":"waku-rln-relay","appIdentifier":"01234567890abcdef","version":"0.2",
//!  "credentials":{"<MEMBERSHIP HASH>":{"crypto":{"cipher":"aes-128-ctr", ...}}}}
//! ```
//! Each credential is encrypted on its own (Web3 Secret Storage v3 style): PBKDF2-HMAC-SHA256
//! (1,000,000 rounds by default, 16-byte salt, 32-byte key), AES-128-CTR with the key's first
//! half, MAC = keccak256(key[16..32] || ciphertext). The membership hash is nwaku's: uppercase hex
//! of sha256(chainId || contractAddress || treeIndex) over their decimal / text forms.
//! Files are written atomically (temporary file + rename) with owner-only permissions; a failed
//! write never touches the existing keystore.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aes::cipher::{KeyIvInit, StreamCipher};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::field::{keccak256, Field};
use crate::identity::Identity;

/// PBKDF2 rounds nwaku uses.
pub const DEFAULT_KDF_ROUNDS: u32 = 1_000_000;
pub const APPLICATION: &str = "waku-rln-relay";
pub const APP_IDENTIFIER: &str = "01234567890abcdef";
pub const VERSION: &str = "0.2";

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

/// Keystore errors.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    #[error("keystore {path}: cannot read or write it")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("keystore {path} exists already")]
    Exists { path: PathBuf },
    #[error("keystore {path} is not a valid keystore: {what}")]
    Format { path: PathBuf, what: String },
    #[error("keystore {path} is for application {got:?}, expected {APPLICATION:?}")]
    Application { path: PathBuf, got: String },
    #[error("wrong password for credential {hash}")]
    WrongPassword { hash: String },
    #[error("no credential {hash} in the keystore")]
    NotFound { hash: String },
    #[error("credential {hash} exists already")]
    Duplicate { hash: String },
    #[error("credential {hash} is damaged: {what}")]
    Damaged { hash: String, what: String },
    #[error("unsupported {what} {got:?} in credential {hash}")]
    Unsupported { hash: String, what: &'static str, got: String },
}

/// Which membership a credential is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipContract {
    /// Decimal chain id, as text (nwaku's form).
    #[serde(rename = "chainId", deserialize_with = "string_or_number")]
    pub chain_id: String,
    /// Contract address as given (rlnkit writes lowercase 0x-hex).
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
    pub identity: Identity,
    pub contract: MembershipContract,
    pub tree_index: u32,
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
                address: address.to_lowercase(),
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

/// Uppercase hex sha256(chainId || address || treeIndex), over the text forms (nwaku).
pub fn membership_hash(chain_id: &str, address: &str, tree_index: u32) -> String {
    let mut h = Sha256::new();
    h.update(chain_id.as_bytes());
    h.update(address.as_bytes());
    h.update(tree_index.to_string().as_bytes());
    hex::encode_upper(h.finalize())
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

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Membership hashes of the stored credentials (their contents need the password).
    pub fn list(&self) -> Vec<String> {
        self.file.credentials.keys().cloned().collect()
    }

    /// Encrypts `cred` with `password`, adds it and writes the file. Returns its membership hash.
    pub fn add(&mut self, cred: &Credential, password: &[u8]) -> Result<String, KeystoreError> {
        let hash = cred.membership_hash();
        if self.file.credentials.contains_key(&hash) {
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

    /// Decrypts one credential.
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
        let dk = derive_key(password, &salt, c.kdfparams.c);
        if mac(&dk, &data).as_slice() != want.as_slice() {
            return Err(KeystoreError::WrongPassword { hash });
        }
        Aes128Ctr::new(dk[..16].into(), (&iv).into()).apply_keystream(&mut data);
        let plain: Plain =
            serde_json::from_slice(&data).map_err(|e| damaged(&format!("plaintext: {e}")))?;
        let field = |b: &[u8], name: &str| -> Result<Field, KeystoreError> {
            Field::from_le_slice(b).map_err(|e| damaged(&format!("{name}: {e}")))
        };
        let secret = field(&plain.identity.secret, "idSecretHash")?;
        let identity = match (plain.identity.trapdoor.len(), plain.identity.nullifier.len()) {
            (32, 32) => Identity::from_trapdoor_nullifier(
                field(&plain.identity.trapdoor, "idTrapdoor")?,
                field(&plain.identity.nullifier, "idNullifier")?,
            ),
            _ => Identity::from_secret(secret),
        }
        .map_err(|e| damaged(&e.to_string()))?;
        if identity.secret() != secret
            || identity.commitment() != field(&plain.identity.commitment, "idCommitment")?
        {
            return Err(damaged("the identity's parts do not match"));
        }
        Ok(Credential {
            identity,
            contract: plain.contract,
            tree_index: plain.tree_index,
            user_message_limit: plain.user_message_limit,
        })
    }

    /// Finds the credential of a membership (tries the address as given, lowercase, checksummed).
    pub fn find_hash(&self, chain_id: u64, address: &str, tree_index: u32) -> Option<String> {
        let cid = chain_id.to_string();
        [address.to_string(), address.to_lowercase()]
            .iter()
            .map(|a| membership_hash(&cid, a, tree_index))
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
        assert_eq!(ha, membership_hash("1337", "0xabc0000000000000000000000000000000000001", 3));
        assert!(matches!(ks.add(&a, b"x"), Err(KeystoreError::Duplicate { .. })));

        let ks2 = Keystore::open(&path).unwrap();
        let mut hashes = ks2.list();
        hashes.sort();
        let mut want = vec![ha.clone(), hb.clone()];
        want.sort();
        assert_eq!(hashes, want);
        assert_eq!(ks2.unlock(&ha, b"pw-a").unwrap(), a);
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
