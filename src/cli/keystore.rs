//! `rlnkit keystore new | list | show`: nwaku-compatible credential keystores.
//! The password comes from RLNKIT_KEYSTORE_PASSWORD, never from the command line.

use std::path::PathBuf;

use anyhow::Result;
use rlnkit::keystore::{Credential, Keystore};
use rlnkit::Identity;
use serde_json::json;

use super::chain::keystore_password;
use super::inputs::IdentityArgs;
use super::{GlobalOpts, Outcome};

#[derive(clap::Subcommand, Debug)]
pub enum KeystoreCmd {
    /// Add a credential (a new random identity, or --identity) for a membership.
    #[command(
        after_help = "Example:\n  RLNKIT_KEYSTORE_PASSWORD=secret rlnkit keystore new --path keystore.json --chain-id 31337 --contract 0x... --index 0 --limit 100"
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
        /// Use this identity instead of a new random one.
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
    Show {
        #[arg(long, value_name = "FILE", default_value = "rlnKeystore.json")]
        path: PathBuf,
        /// Membership hash (from `list`).
        #[arg(value_name = "HASH")]
        hash: String,
        #[arg(long)]
        reveal_secret: bool,
    },
}

impl KeystoreCmd {
    pub fn run(self, _g: &GlobalOpts) -> Result<Outcome> {
        match self {
            KeystoreCmd::New { path, chain_id, contract, index, limit, identity, kdf_rounds } => {
                let pw = keystore_password()?;
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
            KeystoreCmd::Show { path, hash, reveal_secret } => {
                let c = Keystore::open(&path)?.unlock(&hash, keystore_password()?.as_bytes())?;
                let mut data = json!({
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
