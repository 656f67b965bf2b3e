//! Shared argument groups and file readers for commands: identity, signal, epoch, members file.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rlnkit::epoch::WAKU_EPOCH_SECONDS;
use rlnkit::{Epoch, ExternalNullifier, Field, Identity, MerkleTree, RlnIdentifier};

/// Where the member's identity comes from. The secret never has to be on the command line.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct IdentityArgs {
    /// Identity file written by `rlnkit id new --out FILE`.
    #[arg(long, value_name = "FILE", conflicts_with = "secret_env")]
    pub(crate) identity: Option<PathBuf>,
    /// Read the identity secret (decimal or 0x-hex) from this environment variable.
    #[arg(long, value_name = "VAR", default_value = "RLNKIT_IDENTITY_SECRET")]
    pub(crate) secret_env: String,
}

impl IdentityArgs {
    /// The identity in this file.
    pub(crate) fn from_file(path: PathBuf) -> Self {
        IdentityArgs { identity: Some(path), secret_env: "RLNKIT_IDENTITY_SECRET".into() }
    }

    pub(crate) fn load(&self) -> Result<Identity> {
        if let Some(path) = &self.identity {
            let text = read_input(path, "identity file")?;
            // Parsing checks the parts against each other and keeps them all (an extended
            // identity keeps its trapdoor and nullifier): a hand-edited file cannot lie.
            let id: Identity = serde_json::from_str(&text).with_context(|| {
                format!("{} is not a valid rlnkit identity file", path.display())
            })?;
            return Ok(id);
        }
        match std::env::var(&self.secret_env) {
            Ok(v) => {
                let secret = Field::parse(&v)
                    .with_context(|| format!("environment variable {}", self.secret_env))?;
                Ok(Identity::from_secret(secret)?)
            }
            Err(_) => bail!(
                "no identity: pass --identity FILE or set {} to the identity secret",
                self.secret_env
            ),
        }
    }
}

/// The message being proved or verified.
#[derive(clap::Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub(crate) struct SignalArgs {
    /// The signal as UTF-8 text.
    #[arg(long, value_name = "TEXT")]
    pub(crate) signal: Option<String>,
    /// The signal as hex bytes.
    #[arg(long, value_name = "HEX")]
    pub(crate) signal_hex: Option<String>,
    /// Read the signal bytes from a file.
    #[arg(long, value_name = "FILE")]
    pub(crate) signal_file: Option<PathBuf>,
}

impl SignalArgs {
    pub(crate) fn bytes(&self) -> Result<Vec<u8>> {
        if let Some(s) = &self.signal {
            return Ok(s.as_bytes().to_vec());
        }
        if let Some(h) = &self.signal_hex {
            return hex::decode(h.trim_start_matches("0x"))
                .context("--signal-hex is not valid hex");
        }
        if let Some(p) = &self.signal_file {
            return std::fs::read(p)
                .with_context(|| format!("reading signal file {}", p.display()));
        }
        bail!("pass one of --signal, --signal-hex, --signal-file")
    }
}

/// The epoch and application that scope the message budget.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ScopeArgs {
    /// Epoch index (default: the current epoch).
    #[arg(long, value_name = "N")]
    pub(crate) epoch: Option<u64>,
    /// Epoch length in seconds, used for the current epoch.
    #[arg(long, default_value_t = WAKU_EPOCH_SECONDS, value_name = "SECONDS")]
    pub(crate) epoch_seconds: u64,
    /// RLN identifier as text (at most 31 bytes). Default: the Waku network's.
    #[arg(long, value_name = "TEXT")]
    pub(crate) rln_identifier: Option<String>,
}

impl ScopeArgs {
    pub(crate) fn epoch(&self) -> Epoch {
        self.epoch.map(Epoch::from_index).unwrap_or_else(|| Epoch::now(self.epoch_seconds))
    }
    pub(crate) fn rln_identifier(&self) -> Result<RlnIdentifier> {
        match &self.rln_identifier {
            None => Ok(RlnIdentifier::waku()),
            Some(t) => RlnIdentifier::from_text(t)
                .with_context(|| format!("--rln-identifier {t:?} is longer than 31 bytes")),
        }
    }
    pub(crate) fn external_nullifier(&self) -> Result<ExternalNullifier> {
        Ok(ExternalNullifier::new(self.epoch(), self.rln_identifier()?))
    }
}

/// Reads a text file the user named, saying which one is missing rather than echoing an OS error.
pub(crate) fn read_input(path: &Path, what: &str) -> Result<String> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("{what} {} does not exist", path.display())
        }
        Err(e) => Err(e).with_context(|| format!("reading {what} {}", path.display())),
    }
}

/// Reads a members file: one leaf (rate commitment, decimal or 0x-hex) per line, in index
/// order; blank lines and lines starting with '#' are skipped.
pub(crate) fn read_members(path: &Path) -> Result<Vec<Field>> {
    let text = read_input(path, "members file")?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(Field::parse(line).with_context(|| format!("{}:{}", path.display(), n + 1))?);
    }
    Ok(out)
}

/// Builds the depth-20 tree of a members file.
pub(crate) fn members_tree(path: &Path) -> Result<MerkleTree> {
    let leaves = read_members(path)?;
    Ok(MerkleTree::from_leaves(rlnkit::tree::DEFAULT_DEPTH, &leaves)?)
}

/// Writes a file atomically (temp file in the same directory, then rename).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    rlnkit::files::write_atomic(path, bytes, private)
        .with_context(|| format!("writing {}", path.display()))
}
