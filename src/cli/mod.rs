//! The `rlnkit` command line: a thin shell over the library. One file per command group; this
//! file holds the global options, the `--json` envelope and exit codes
//! (0 ok, 1 a proof was rejected, 2 an error).

mod chain;
mod credentials;
mod demo;
mod devnet;
mod id;
mod inputs;
mod keystore;
mod proofs;
mod relay;
mod sim;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde::Serialize;

/// RLN v2 proofs, memberships and rate-limited relaying for the Waku network.
#[derive(Parser, Debug)]
#[command(name = "rlnkit", version, about, long_about = None, propagate_version = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalOpts,
    #[command(subcommand)]
    pub(crate) cmd: Command,
}

#[derive(clap::Args, Debug, Clone)]
pub(crate) struct GlobalOpts {
    /// Print one JSON document ({schema_version, success, data, errors}) instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Circuit artifacts directory (rln.wasm, rln_final.zkey, verification_key.json), e.g. the
    /// Waku network's keys. Default: rlnkit's embedded development keys.
    #[arg(long, global = true, env = "RLNKIT_KEYS", value_name = "DIR")]
    pub(crate) keys: Option<PathBuf>,
    /// Print only these fields of the result (dotted paths into the `--json` data, comma
    /// separated, e.g. `registry` or `registry,token`), space separated on one line: text as is,
    /// anything else as JSON. For scripts: `export RLNKIT_CONTRACT=$(rlnkit chain deploy --get
    /// registry)`.
    #[arg(long, global = true, value_name = "FIELD", conflicts_with = "json")]
    pub(crate) get: Option<String>,
    /// More log output (-v info, -vv debug); logs go to stderr. RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Create and inspect RLN identities.
    #[command(subcommand)]
    Id(id::IdCmd),
    /// Generate an RLN proof for one message.
    Prove(proofs::ProveArgs),
    /// Verify an RLN proof against a signal and acceptable roots (exit 1 if rejected).
    Verify(proofs::VerifyArgs),
    /// Recover a member's identity secret from two proofs with the same nullifier.
    Recover(proofs::RecoverArgs),
    /// Membership trees: from a members file, or synced from the registry (`tree sync`).
    #[command(subcommand)]
    Tree(proofs::TreeCmd),
    /// The rate-limited Waku relay: run a node or publish.
    #[command(subcommand)]
    Relay(relay::RelayCmd),
    /// Deploy the membership registry.
    #[command(subcommand)]
    Chain(chain::ChainCmd),
    /// Register, extend, erase, withdraw and inspect memberships on chain.
    #[command(subcommand)]
    Membership(chain::MembershipCmd),
    /// Slash a spammer whose secret two proofs revealed (commit, then reveal).
    #[command(subcommand)]
    Slash(chain::SlashCmd),
    /// Manage nwaku-compatible credential keystores.
    #[command(subcommand)]
    Keystore(keystore::KeystoreCmd),
    /// The proof story offline: identity, tree, proof, verification, double signal, recovery
    /// (`rlnkit devnet` runs it all on a chain and relays).
    Demo(demo::DemoArgs),
    /// Service credentials: escrows, hot keys, thaws, claims (ServiceCredentials contract).
    #[command(subcommand)]
    Credentials(credentials::CredentialsCmd),
    /// Push messages through a paid lightpush node, paying with vouchers.
    Lightpush(credentials::LightpushArgs),
    /// A local network of real parts: anvil + contracts, relay processes, an honest publisher, a
    /// spammer that gets slashed, a client paying for lightpush; live summary, clean shutdown.
    Devnet(devnet::DevnetArgs),
    /// Simulate many real relays in this process under honest load and attack; report capacity.
    Sim(sim::SimArgs),
}

/// What a command produced: printed as text, or as the `data` of the JSON envelope.
pub(crate) struct Outcome {
    pub(crate) text: String,
    pub(crate) data: serde_json::Value,
    /// false when a proof was rejected (exit code 1).
    pub(crate) accepted: bool,
}

impl Outcome {
    pub(crate) fn ok(text: impl Into<String>, data: impl Serialize) -> Self {
        Outcome {
            text: text.into(),
            data: serde_json::to_value(data).unwrap_or(serde_json::Value::Null),
            accepted: true,
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    schema_version: u32,
    success: bool,
    data: &'a serde_json::Value,
    errors: Vec<ErrorEntry>,
}

#[derive(Serialize)]
struct ErrorEntry {
    code: &'static str,
    message: String,
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

fn print_stdout(s: &str) {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`rlnkit ... | head`) is not an error.
    let _ = writeln!(out, "{s}");
}

/// The value at a dotted path (`a.b.0.c`) in `data`.
fn field<'a>(data: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.').try_fold(data, |v, key| match v {
        serde_json::Value::Object(m) => m.get(key),
        serde_json::Value::Array(a) => a.get(key.parse::<usize>().ok()?),
        _ => None,
    })
}

pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.global.verbose);
    let json = cli.global.json;
    let result = match cli.cmd {
        Command::Id(c) => c.run(&cli.global),
        Command::Prove(c) => c.run(&cli.global),
        Command::Verify(c) => c.run(&cli.global),
        Command::Recover(c) => c.run(&cli.global),
        Command::Tree(c) => c.run(&cli.global),
        Command::Demo(c) => c.run(&cli.global),
        Command::Relay(c) => c.run(&cli.global),
        Command::Chain(c) => c.run(&cli.global),
        Command::Membership(c) => c.run(&cli.global),
        Command::Slash(c) => c.run(&cli.global),
        Command::Keystore(c) => c.run(&cli.global),
        Command::Credentials(c) => c.run(&cli.global),
        Command::Lightpush(c) => c.run(&cli.global),
        Command::Devnet(c) => c.run(&cli.global),
        Command::Sim(c) => c.run(&cli.global),
    };
    match result {
        Ok(outcome) => {
            if let Some(paths) = &cli.global.get {
                let mut values = Vec::new();
                for path in paths.split(',') {
                    match field(&outcome.data, path.trim()) {
                        Some(serde_json::Value::String(s)) => values.push(s.clone()),
                        Some(v) => values.push(v.to_string()),
                        None => {
                            eprintln!("error: the result has no field {path:?} (see --json for its fields)");
                            return ExitCode::from(2);
                        }
                    }
                }
                print_stdout(&values.join(" "));
            } else if json {
                let env = Envelope {
                    schema_version: 1,
                    success: outcome.accepted,
                    data: &outcome.data,
                    errors: vec![],
                };
                print_stdout(&serde_json::to_string_pretty(&env).expect("serializable"));
            } else if !outcome.text.is_empty() {
                print_stdout(outcome.text.trim_end());
            }
            if outcome.accepted {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            if json {
                let env = Envelope {
                    schema_version: 1,
                    success: false,
                    data: &serde_json::Value::Null,
                    errors: vec![ErrorEntry { code: "error", message: format!("{e:#}") }],
                };
                print_stdout(&serde_json::to_string_pretty(&env).expect("serializable"));
            } else {
                eprintln!("error: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}

/// Loads the circuit keys named by `--keys`, or the embedded ones.
pub(crate) fn load_keys(
    global: &GlobalOpts,
) -> anyhow::Result<std::sync::Arc<rlnkit::CircuitKeys>> {
    use anyhow::Context;
    match &global.keys {
        Some(dir) => rlnkit::CircuitKeys::load(dir)
            .with_context(|| format!("loading circuit keys from {}", dir.display())),
        None => rlnkit::CircuitKeys::embedded().context("loading the embedded circuit keys"),
    }
}

#[cfg(test)]
mod tests {
    use super::field;
    use serde_json::json;

    #[test]
    fn get_follows_dotted_paths_into_objects_and_arrays() {
        let d = json!({ "registry": "0xab", "relays": [{ "peer": "p1" }], "n": 3 });
        assert_eq!(field(&d, "registry"), Some(&json!("0xab")));
        assert_eq!(field(&d, "relays.0.peer"), Some(&json!("p1")));
        assert_eq!(field(&d, "n"), Some(&json!(3)));
        assert_eq!(field(&d, "relays.1"), None);
        assert_eq!(field(&d, "missing"), None);
    }
}
