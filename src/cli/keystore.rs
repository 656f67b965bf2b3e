//! `rlnkit keystore new | list | show`: credential keystores that nwaku and js-waku open
//! (see `rlnkit::keystore` for what interoperates and how).
//! The password comes from RLNKIT_KEYSTORE_PASSWORD, never from the command line.

use std::path::PathBuf;

use anyhow::{bail, Result};
use rlnkit::keystore::{
    membership_hash, password_is_portable, Credential, Keystore, KeystoreError,
};
use rlnkit::Identity;
use serde_json::json;

use super::chain::keystore_password;
use super::inputs::IdentityArgs;
use super::{GlobalOpts, Outcome};

#[derive(clap::Subcommand, Debug)]
pub(crate) enum KeystoreCmd {
    /// Add a credential (a new random identity, or --identity) for a membership.
    ///
    /// The credential is filed under nwaku's and js-waku's key: sha256 of chain id, contract
    /// address exactly as typed, and index. The password is used as typed (as nwaku does);
    /// js-waku opens the file with the same password when it is ASCII (or Unicode NFKD).
    #[command(
        after_help = "Example (the password from RLNKIT_KEYSTORE_PASSWORD):\n  rlnkit keystore new --path keystore.json --chain-id 11155111 \\\n    --contract 0xCB33Aa5B38d79E3D9Fa8B10afF38AA201399a7e3 --index 7 --limit 10 --identity alice.json"
    )]
    New {
        /// Keystore file (created if missing).
        #[arg(long, value_name = "FILE", default_value = "rlnKeystore.json")]
        path: PathBuf,
        #[arg(long, value_name = "ID")]
        chain_id: u64,
        #[arg(long, value_name = "ADDRESS")]
        contract: String,
        /// The membership's leaf index.
        #[arg(long, value_name = "I")]
        index: u32,
        /// The membership's user message limit.
        #[arg(long, value_name = "N")]
        limit: u32,
        /// Use this identity file (from `rlnkit id new --out`) instead of a new random one; an
        /// extended identity keeps its trapdoor and nullifier.
        #[arg(long, value_name = "FILE")]
        identity: Option<PathBuf>,
        /// PBKDF2 rounds (nwaku: 1,000,000).
        #[arg(long, default_value_t = rlnkit::keystore::DEFAULT_KDF_ROUNDS, hide = true)]
        kdf_rounds: u32,
    },
    /// List the credentials' membership hashes.
    List {
        #[arg(long, value_name = "FILE", default_value = "rlnKeystore.json")]
        path: PathBuf,
    },
    /// Decrypt and show one credential (the secret only with --reveal-secret).
    ///
    /// Name it by its hash (from `list`), or by its membership: --chain-id, --contract (in any
    /// case: as typed, lowercase and checksummed spellings are tried) and --index.
    #[command(
        after_help = concat!(
            "Example (the password from RLNKIT_KEYSTORE_PASSWORD; the contract in any case):\n",
            "  rlnkit keystore show --path keystore.json --chain-id 11155111 \\\n",
            "    --contract 0xcb33aa5b38d79e3d9fa8b10aff38aa201399a7e3 --index 7"
        )
    )]
    Show {
        #[arg(long, value_name = "FILE", default_value = "rlnKeystore.json")]
        path: PathBuf,
        /// Membership hash (from `list`).
        #[arg(
            value_name = "HASH",
            required_unless_present = "contract",
            conflicts_with_all = ["chain_id", "contract", "index"]
        )]
        hash: Option<String>,
        /// The membership's chain id (with --contract and --index instead of HASH).
        #[arg(long, value_name = "ID", requires_all = ["contract", "index"])]
        chain_id: Option<u64>,
        /// The membership's contract address, in any case.
        #[arg(long, value_name = "ADDRESS", requires_all = ["chain_id", "index"])]
        contract: Option<String>,
        /// The membership's leaf index.
        #[arg(long, value_name = "I", requires_all = ["chain_id", "contract"])]
        index: Option<u32>,
        #[arg(long)]
        reveal_secret: bool,
    },
}

impl KeystoreCmd {
    pub(crate) fn run(self, _g: &GlobalOpts) -> Result<Outcome> {
        match self {
            KeystoreCmd::New { path, chain_id, contract, index, limit, identity, kdf_rounds } => {
                let pw = keystore_password()?;
                if !password_is_portable(pw.as_bytes()) {
                    tracing::warn!(
                        "the password is not in Unicode NFKD form: nwaku and rlnkit open this \
                         credential with it as typed, js-waku (which normalizes passwords to NFKD) \
                         does not; use an ASCII password for a keystore all three open"
                    );
                }
                let id = match identity {
                    Some(f) => {
                        IdentityArgs { identity: Some(f), secret_env: String::new() }.load()?
                    }
                    None => Identity::random_extended(),
                };
                let cred = Credential::new(id.clone(), chain_id, &contract, index, limit);
                let hash = Keystore::open_or_create(&path)?
                    .with_kdf_rounds(kdf_rounds)
                    .add(&cred, pw.as_bytes())?;
                Ok(Outcome::ok(
                    format!(
                        "added {hash} to {}\nid commitment {}",
                        path.display(),
                        id.commitment()
                    ),
                    json!({ "hash": hash, "id_commitment": id.commitment() }),
                ))
            }
            KeystoreCmd::List { path } => {
                let hashes = Keystore::open(&path)?.list();
                Ok(Outcome::ok(hashes.join("\n"), json!({ "credentials": hashes })))
            }
            KeystoreCmd::Show { path, hash, chain_id, contract, index, reveal_secret } => {
                let ks = Keystore::open(&path)?;
                let pw = keystore_password()?;
                let hash = match (hash, chain_id, contract, index) {
                    (Some(hash), ..) => hash.to_uppercase(),
                    (None, Some(chain_id), Some(contract), Some(index)) => ks
                        .find_hash(chain_id, &contract, index)
                        .ok_or_else(|| KeystoreError::NotFound {
                            hash: membership_hash(&chain_id.to_string(), &contract, index),
                        })?,
                    _ => bail!(
                        "name the credential by HASH or by --chain-id, --contract and --index"
                    ),
                };
                let c = ks.unlock(&hash, pw.as_bytes())?;
                let mut data = json!({ "hash": hash,
                    "chain_id": c.contract.chain_id, "contract": c.contract.address, "tree_index": c.tree_index,
                    "user_message_limit": c.user_message_limit, "id_commitment": c.identity.commitment(),
                });
                let mut text = format!(
                    "chain {} contract {}\nindex {} limit {}\nid commitment {}",
                    c.contract.chain_id,
                    c.contract.address,
                    c.tree_index,
                    c.user_message_limit,
                    c.identity.commitment()
                );
                if reveal_secret {
                    data["identity"] = serde_json::to_value(&c.identity)?;
                    text.push_str(&format!("\nsecret {}", c.identity.secret()));
                }
                Ok(Outcome::ok(text, data))
            }
        }
    }
}
