//! A local Waku RLN network of real parts, from the library: `cargo build && cargo run --example
//! devnet [SECONDS]`.
//!
//! [`Devnet`] starts anvil with the membership registry and a ServiceCredentials contract,
//! registers the members, runs three `rlnkit relay run` processes that dial each other, an
//! honest publisher, a spammer that double-signals (its relay slashes it on chain and its
//! operator is paid) and a client paying one relay for lightpush (the relay claims on chain).
//! This example prints the live summary, then the report's chain facts.
//!
//! The relays run the `rlnkit` binary: the one next to this example's directory
//! (`target/debug/rlnkit` after `cargo build`), or the path in `RLNKIT_BIN`.

use std::path::PathBuf;
use std::time::Duration;

use rlnkit::devnet::{tokens, Devnet};

fn rlnkit_bin() -> Result<PathBuf, Box<dyn std::error::Error>> {
    if let Some(p) = std::env::var_os("RLNKIT_BIN") {
        return Ok(p.into());
    }
    // target/<profile>/examples/devnet → target/<profile>/rlnkit
    let exe = std::env::current_exe()?;
    let profile_dir = exe.parent().and_then(|d| d.parent()).ok_or("no target directory")?;
    Ok(profile_dir.join("rlnkit"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: u64 = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(10);
    let devnet = Devnet::builder(rlnkit_bin()?).relays(3).start().await?;
    for relay in &devnet.setup().relays {
        println!("relay {} at {} (operator {})", relay.index, relay.addr, relay.operator);
    }

    // Snapshots arrive about every 500 ms; print one line per snapshot.
    let mut live = devnet.summary();
    tokio::spawn(async move {
        while live.changed().await.is_ok() {
            println!("{}", *live.borrow_and_update());
        }
    });

    // Ctrl-C also stops it; dropping `devnet` instead would kill everything without a report.
    let report = devnet.run(Some(Duration::from_secs(seconds))).await?;
    let s = &report.summary;
    if let Some(slash) = &s.slash {
        println!(
            "spammer slashed in block {}: relay {:?}'s operator {} was paid {} tokens",
            slash.block,
            slash.catcher,
            slash.reward_receiver,
            tokens(slash.reward)
        );
    }
    println!(
        "{} paid pushes, {} tokens claimed on chain by the operator",
        s.payments.pushes_ok,
        tokens(s.payments.collected)
    );
    Ok(())
}
