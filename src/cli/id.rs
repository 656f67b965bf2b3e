//! `rlnkit id`: create and inspect identities.

use std::path::PathBuf;

use anyhow::{bail, Result};
use rlnkit::{Identity, UserMessageLimit};
use serde_json::json;

use super::inputs::{write_atomic, IdentityArgs};
use super::{GlobalOpts, Outcome};

#[derive(clap::Subcommand, Debug)]
pub(crate) enum IdCmd {
    /// Create an identity (random, or deterministic from a seed) and print or save it.
    New(NewArgs),
    /// Show an identity file's commitments (and, only when asked, its secret).
    Inspect(InspectArgs),
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  rlnkit id inspect alice.json --limit 10\n  \
    rlnkit id inspect alice.json --limit 10 --get rate_commitment >> members.txt\n  \
    rlnkit membership info \"$(rlnkit id inspect alice.json --get commitment)\"")]
pub(crate) struct InspectArgs {
    /// Identity file written by `rlnkit id new --out FILE`.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Also show the rate commitment (tree leaf) for this user message limit.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Show the secret too (anyone who sees it can send as this member).
    #[arg(long)]
    show_secret: bool,
}

#[derive(clap::Args, Debug)]
pub(crate) struct NewArgs {
    /// Derive the identity from this seed (zerokit-compatible). Anyone with the seed has the identity.
    #[arg(long, value_name = "TEXT", conflicts_with = "seed_hex")]
    seed: Option<String>,
    /// Derive the identity from these seed bytes (hex).
    #[arg(long, value_name = "HEX")]
    seed_hex: Option<String>,
    /// Extended identity: secret = Poseidon(trapdoor, nullifier).
    #[arg(long)]
    extended: bool,
    /// Also print the rate commitment (tree leaf) for this user message limit.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Save the identity to this file (owner-only permissions) instead of printing the secret.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

impl IdCmd {
    pub(crate) fn run(self, _g: &GlobalOpts) -> Result<Outcome> {
        match self {
            IdCmd::New(a) => a.run(),
            IdCmd::Inspect(a) => a.run(),
        }
    }
}

impl NewArgs {
    fn run(self) -> Result<Outcome> {
        let seed = match (&self.seed, &self.seed_hex) {
            (Some(s), _) => Some(s.as_bytes().to_vec()),
            (_, Some(h)) => Some(
                hex::decode(h.trim_start_matches("0x"))
                    .map_err(|e| anyhow::anyhow!("--seed-hex: {e}"))?,
            ),
            _ => None,
        };
        let id = match (seed, self.extended) {
            (Some(s), false) => Identity::from_seed(&s),
            (Some(s), true) => Identity::extended_from_seed(&s),
            (None, false) => Identity::random(),
            (None, true) => Identity::random_extended(),
        };
        let limit = self.limit.map(UserMessageLimit::new).transpose()?;
        let mut data = serde_json::to_value(&id)?;
        if let Some(l) = limit {
            data["user_message_limit"] = json!(l.get());
            data["rate_commitment"] = json!(id.rate_commitment(l));
        }
        let mut text = format!("id commitment:   {}\n", id.commitment().to_hex());
        if let Some(l) = limit {
            text += &format!(
                "rate commitment: {} (limit {})\n",
                id.rate_commitment(l).to_hex(),
                l.get()
            );
        }
        if let Some(path) = &self.out {
            if path.exists() {
                bail!("{} exists; refusing to overwrite an identity", path.display());
            }
            write_atomic(path, serde_json::to_string_pretty(&id)?.as_bytes(), true)?;
            text +=
                &format!("saved to {} (keep it private: it holds the secret)\n", path.display());
            data = json!({ "commitment": id.commitment(), "saved_to": path, "rate_commitment": data.get("rate_commitment") });
        } else {
            text += &format!("secret:          {}\n", id.secret().to_hex());
        }
        Ok(Outcome::ok(text, data))
    }
}

impl InspectArgs {
    fn run(self) -> Result<Outcome> {
        let id = IdentityArgs::from_file(self.file.clone()).load()?;
        let limit = self.limit.map(UserMessageLimit::new).transpose()?;
        let rate = limit.map(|l| id.rate_commitment(l));
        let kind = if id.trapdoor().is_some() { "extended" } else { "plain" };
        let mut text = format!(
            "identity file:   {}\nkind:            {kind}\nid commitment:   {}\n",
            self.file.display(),
            id.commitment().to_hex()
        );
        let mut data = json!({ "file": self.file, "kind": kind, "commitment": id.commitment() });
        if let (Some(l), Some(r)) = (limit, rate) {
            text += &format!("rate commitment: {} (limit {})\n", r.to_hex(), l.get());
            data["user_message_limit"] = json!(l.get());
            data["rate_commitment"] = json!(r);
        } else {
            text +=
                "rate commitment: pass --limit N (the tree leaf depends on the message limit)\n";
        }
        if self.show_secret {
            text += &format!("secret:          {}\n", id.secret().to_hex());
            data["secret"] = json!(id.secret());
        }
        Ok(Outcome::ok(text, data))
    }
}
