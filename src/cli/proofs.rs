//! `rlnkit prove | verify | recover | tree`: proofs from the command line.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rlnkit::circuit::{embedded_verifying_key, load_verifying_key_json, VK_FILE};
use rlnkit::{
    recover_secret, Field, MerkleProof, Prover, PublicValues, RlnInputs, RlnProof,
    UserMessageLimit, Verifier,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::inputs::{members_tree, write_atomic, IdentityArgs, ScopeArgs, SignalArgs};
use super::{load_keys, GlobalOpts, Outcome};

/// The proof file `rlnkit prove --out` writes and `verify`/`recover` read.
#[derive(Serialize, Deserialize)]
pub(crate) struct ProofDocument {
    /// The 288-byte RLN proof blob, hex.
    pub(crate) proof: String,
    pub(crate) public_values: PublicValues,
}

impl ProofDocument {
    pub(crate) fn new(p: &RlnProof) -> Self {
        ProofDocument { proof: hex::encode(p.to_bytes()), public_values: p.values }
    }
}

/// Reads a proof: a proof document (JSON), a file with the hex blob, a binary 288-byte file,
/// or the hex blob itself.
pub(crate) fn read_proof(arg: &str) -> Result<RlnProof> {
    let path = Path::new(arg);
    let bytes = if path.exists() {
        std::fs::read(path).with_context(|| format!("reading proof file {arg}"))?
    } else if arg.trim_start_matches("0x").bytes().all(|b| b.is_ascii_hexdigit()) {
        arg.as_bytes().to_vec()
    } else {
        bail!("proof file {arg} does not exist (and it is not a hex proof)")
    };
    if bytes.len() == rlnkit::proof::RLN_PROOF_BYTES && !bytes.iter().all(|b| b.is_ascii_hexdigit())
    {
        return Ok(RlnProof::from_bytes(&bytes)?);
    }
    let text = String::from_utf8(bytes)
        .context("the proof is neither a 288-byte binary, hex, nor a proof JSON file")?;
    let hex_str = match serde_json::from_str::<ProofDocument>(&text) {
        Ok(doc) => doc.proof,
        Err(_) => text.trim().trim_start_matches("0x").to_string(),
    };
    let blob =
        hex::decode(&hex_str).with_context(|| format!("{arg} is not a proof file nor hex"))?;
    RlnProof::from_bytes(&blob).with_context(|| format!("decoding proof {arg}"))
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  rlnkit id new --seed alice --limit 10 --out alice.json\n  rlnkit id inspect alice.json --limit 10 --get rate_commitment >> members.txt\n  rlnkit prove --identity alice.json --limit 10 --message-id 0 \\\n    --members members.txt --signal \"hello\" --out p1.json"
)]
pub(crate) struct ProveArgs {
    #[command(flatten)]
    identity: IdentityArgs,
    /// The member's user message limit (messages per epoch).
    #[arg(long, value_name = "N")]
    limit: u64,
    /// This message's id, below the limit; one id per message per epoch.
    #[arg(long, value_name = "N")]
    message_id: u64,
    #[command(flatten)]
    scope: ScopeArgs,
    #[command(flatten)]
    signal: SignalArgs,
    /// Members file (one rate commitment per line, in tree order); the member is found by its leaf.
    #[arg(long, value_name = "FILE", conflicts_with = "path", required_unless_present = "path")]
    members: Option<PathBuf>,
    /// The member's leaf index in the members file (default: found by the rate commitment).
    #[arg(long, value_name = "I", requires = "members")]
    index: Option<u64>,
    /// Merkle path JSON ({"path_elements": [...], "identity_path_index": [...]}, from `rlnkit tree proof`).
    #[arg(long, value_name = "FILE")]
    path: Option<PathBuf>,
    /// Write the proof document here (default: print it).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

impl ProveArgs {
    pub(crate) fn run(self, g: &GlobalOpts) -> Result<Outcome> {
        let id = self.identity.load()?;
        let limit = UserMessageLimit::new(self.limit)?;
        limit.message_id(self.message_id)?;
        let merkle_proof: MerkleProof = match (&self.members, &self.path) {
            (Some(m), _) => {
                let tree = members_tree(m)?;
                let leaf = id.rate_commitment(limit);
                let index = match self.index {
                    Some(i) => i,
                    None => (0..tree.next_index())
                        .find(|&i| tree.leaf(i).map(|l| l == leaf).unwrap_or(false))
                        .with_context(|| {
                            format!(
                                "this identity's rate commitment (limit {}) is not in {}",
                                limit.get(),
                                m.display()
                            )
                        })?,
                };
                if tree.leaf(index)? != leaf {
                    bail!(
                        "leaf {index} of {} is not this identity's rate commitment for limit {}",
                        m.display(),
                        limit.get()
                    );
                }
                tree.proof(index)?
            }
            (None, Some(p)) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))?;
                serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a Merkle path JSON", p.display()))?
            }
            (None, None) => bail!("pass --members FILE or --path FILE"),
        };
        let signal = self.signal.bytes()?;
        let keys = load_keys(g)?;
        let prover = Prover::new(keys);
        let inputs = RlnInputs::for_signal(
            id.secret(),
            limit,
            self.message_id,
            &merkle_proof,
            self.scope.external_nullifier()?,
            &signal,
        );
        let t = Instant::now();
        let proof = prover.prove(&inputs)?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let doc = ProofDocument::new(&proof);
        let doc_json = serde_json::to_string_pretty(&doc)?;
        let mut text = format!(
            "proved in {ms:.0} ms; root {} nullifier {}\n",
            proof.values.root.to_hex(),
            proof.values.nullifier.to_hex()
        );
        match &self.out {
            Some(p) => {
                write_atomic(p, doc_json.as_bytes(), false)?;
                text += &format!("proof written to {}\n", p.display());
            }
            None => text += &doc_json,
        }
        Ok(Outcome::ok(
            text,
            json!({ "proof": doc, "prove_ms": ms, "epoch": self.scope.epoch().index() }),
        ))
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct VerifyArgs {
    /// The proof: a proof JSON file, a hex or binary blob file, or the hex blob itself.
    #[arg(long, value_name = "FILE|HEX")]
    proof: String,
    #[command(flatten)]
    signal: SignalArgs,
    /// An acceptable root (repeat for a window of roots).
    #[arg(long = "root", value_name = "ROOT", required_unless_present = "members")]
    roots: Vec<Field>,
    /// Accept the root of the tree built from this members file.
    #[arg(long, value_name = "FILE")]
    members: Option<PathBuf>,
    /// Also require the proof to be for this epoch index (with --rln-identifier's application).
    #[arg(long, value_name = "N")]
    epoch: Option<u64>,
    /// RLN identifier text for --epoch (default: the Waku network's).
    #[arg(long, value_name = "TEXT", requires = "epoch")]
    rln_identifier: Option<String>,
}

impl VerifyArgs {
    pub(crate) fn run(self, g: &GlobalOpts) -> Result<Outcome> {
        let proof = read_proof(&self.proof)?;
        let signal = self.signal.bytes()?;
        let mut roots = self.roots.clone();
        if let Some(m) = &self.members {
            roots.push(members_tree(m)?.root());
        }
        // The verifier needs only the verifying key (no zkey parse).
        let vk = match &g.keys {
            Some(dir) => load_verifying_key_json(&dir.join(VK_FILE))?,
            None => embedded_verifying_key(),
        };
        let verifier = Verifier::new(&vk);
        if let Some(e) = self.epoch {
            let scope = ScopeArgs {
                epoch: Some(e),
                epoch_seconds: 600,
                rln_identifier: self.rln_identifier.clone(),
            };
            if scope.external_nullifier()?.as_field() != proof.values.external_nullifier {
                return Ok(rejected("the proof is for another epoch or application".into()));
            }
        }
        let t = Instant::now();
        let res = verifier.verify(&proof, &signal, &roots);
        let us = t.elapsed().as_secs_f64() * 1e6;
        Ok(match res {
            Ok(()) => Outcome::ok(
                format!("valid ({us:.0} µs)"),
                json!({ "valid": true, "public_values": proof.values }),
            ),
            Err(r) => rejected(r.to_string()),
        })
    }
}

fn rejected(reason: String) -> Outcome {
    Outcome {
        text: format!("invalid: {reason}"),
        data: json!({ "valid": false, "reason": reason }),
        accepted: false,
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct RecoverArgs {
    /// First proof (file or hex).
    #[arg(value_name = "PROOF_A")]
    a: String,
    /// Second proof with the same nullifier (file or hex).
    #[arg(value_name = "PROOF_B")]
    b: String,
}

impl RecoverArgs {
    pub(crate) fn run(self, _g: &GlobalOpts) -> Result<Outcome> {
        let (a, b) = (read_proof(&self.a)?, read_proof(&self.b)?);
        let secret = recover_secret(&a.values, &b.values)?;
        let commitment = rlnkit::identity::id_commitment(secret);
        Ok(Outcome::ok(
            format!(
                "recovered secret {}\nid commitment    {}",
                secret.to_hex(),
                commitment.to_hex()
            ),
            json!({ "secret": secret, "id_commitment": commitment }),
        ))
    }
}

#[derive(clap::Subcommand, Debug)]
pub(crate) enum TreeCmd {
    /// Print the root of the tree built from a members file.
    Root {
        #[arg(long, value_name = "FILE")]
        members: PathBuf,
    },
    /// Print (or save) the Merkle path of one member.
    Proof {
        #[arg(long, value_name = "FILE")]
        members: PathBuf,
        #[arg(long, value_name = "I")]
        index: u64,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Sync the registry's tree into a database (resumable, reorg-safe).
    Sync(super::chain::TreeSyncArgs),
}

impl TreeCmd {
    pub(crate) fn run(self, g: &GlobalOpts) -> Result<Outcome> {
        match self {
            TreeCmd::Sync(a) => a.run(g),
            TreeCmd::Root { members } => {
                let t = members_tree(&members)?;
                Ok(Outcome::ok(
                    t.root().to_string(),
                    json!({ "root": t.root(), "members": t.next_index() }),
                ))
            }
            TreeCmd::Proof { members, index, out } => {
                let t = members_tree(&members)?;
                let p = t.proof(index)?;
                let s = serde_json::to_string_pretty(&p)?;
                if let Some(o) = out {
                    write_atomic(&o, s.as_bytes(), false)?;
                    return Ok(Outcome::ok(
                        format!("path of leaf {index} written to {}", o.display()),
                        json!({ "written_to": o }),
                    ));
                }
                Ok(Outcome::ok(s, &p))
            }
        }
    }
}
