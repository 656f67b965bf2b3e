//! Development chains only: [`start_anvil`] (the one place rlnkit starts a local anvil) and
//! [`DevChain`], helpers for minting the unrestricted test token and registering in bulk with
//! `evm_mine`.

use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, U256};
use alloy::providers::ext::AnvilApi;
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;

use super::bindings::{RlnMembership, TestToken};
use super::client::field_to_u256;
use super::error::{DevChainError, RegistryError, RpcError};
use super::revert::Contract;
use super::writer::{BulkPlan, MembershipWriter};
use crate::field::Field;

type Result<T> = std::result::Result<T, DevChainError>;

/// The anvil binary to use: `RLNKIT_ANVIL` if set, else the repository's npm install
/// (`node_modules/.bin/anvil`, what `make deps` installs), else `anvil` on the `PATH`.
pub fn anvil_path() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("RLNKIT_ANVIL") {
        return p.into();
    }
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/.bin/anvil");
    if repo.exists() {
        repo
    } else {
        "anvil".into()
    }
}

/// Starts anvil (`bin`, e.g. [`anvil_path`]) on a free port with extra command-line `args`
/// (e.g. `["--accounts", "20"]`), and drains its log output on a thread so it never blocks on
/// a full pipe or dies on a closed one. The node is killed when the returned instance is dropped.
pub fn start_anvil(bin: &std::path::Path, args: &[&str]) -> Result<AnvilInstance> {
    let mut node =
        Anvil::at(bin).port(0u16).args(args.iter().copied()).keep_stdout().try_spawn().map_err(
            |e| DevChainError::AnvilStart { path: bin.to_path_buf(), source: Box::new(e) },
        )?;
    if let Some(out) = node.child_mut().stdout.take() {
        std::thread::spawn(move || {
            std::io::copy(&mut std::io::BufReader::new(out), &mut std::io::sink())
        });
    }
    Ok(node)
}

/// Registrations `DevChain::register_many` mines per block (fewer when a block cannot hold that
/// many).
const DEV_REGISTER_WINDOW: usize = 500;

/// Development-chain helpers of a writer ([`MembershipWriter::dev`]).
#[derive(Debug, Clone, Copy)]
pub struct DevChain<'a> {
    writer: &'a MembershipWriter,
}

impl MembershipWriter {
    /// Helpers that only work on development chains (anvil).
    pub fn dev(&self) -> DevChain<'_> {
        DevChain { writer: self }
    }
}

impl DevChain<'_> {
    /// Mints test tokens (only works with the unrestricted [`TestToken`] of local deployments).
    pub async fn mint_test_tokens(&self, token: Address, to: Address, amount: U256) -> Result<()> {
        self.writer
            .mined_on(
                Contract::Token,
                "TestToken.mint",
                TestToken::new(token, self.writer.provider.clone()).mint(to, amount),
            )
            .await?;
        Ok(())
    }

    /// Like [`MembershipWriter::register_many`], for development nodes only (anvil): automine
    /// is turned off, each window (as many registrations as fit in one block, at most 500) is
    /// mined in one block with `evm_mine`, and checked with one `eth_getLogs` for the block's
    /// `MembershipRegistered` events instead of a receipt per transaction. Automine is restored
    /// afterwards, also on error. Much faster than one block per registration on anvil, whose
    /// cost per block grows with the chain's state; raise the block gas limit (anvil
    /// `--gas-limit`) for larger windows. Nodes without the `evm_*` methods give an error.
    pub async fn register_many(
        &self,
        id_commitments: &[Field],
        rate_limit: u32,
    ) -> Result<Vec<u32>> {
        let Some(bulk) =
            self.writer.prepare_bulk(id_commitments, rate_limit, DEV_REGISTER_WINDOW).await?
        else {
            return Ok(vec![]);
        };
        let automine = self
            .writer
            .provider
            .anvil_get_auto_mine()
            .await
            .map_err(|e| RpcError::transport("anvil_getAutomine", e))?;
        if automine {
            self.writer
                .provider
                .anvil_set_auto_mine(false)
                .await
                .map_err(|e| RpcError::transport("anvil_setAutomine", e))?;
        }
        let res = self.register_mined_windows(&bulk, id_commitments, rate_limit).await;
        if automine {
            let restored = self
                .writer
                .provider
                .anvil_set_auto_mine(true)
                .await
                .map_err(|e| RpcError::transport("anvil_setAutomine", e));
            if res.is_ok() {
                restored?;
            }
        }
        res
    }

    async fn register_mined_windows(
        &self,
        bulk: &BulkPlan,
        id_commitments: &[Field],
        rate_limit: u32,
    ) -> Result<Vec<u32>> {
        let mut nonce = bulk.nonce;
        let mut out = Vec::with_capacity(id_commitments.len());
        for window in id_commitments.chunks(bulk.window) {
            let hashes = self.writer.send_registrations(bulk, window, rate_limit, nonce).await?;
            nonce += window.len() as u64;
            self.writer
                .provider
                .evm_mine(None)
                .await
                .map_err(|e| RpcError::transport("evm_mine", e))?;
            let block = self
                .writer
                .provider
                .get_block_number()
                .await
                .map_err(|e| RpcError::transport("eth_blockNumber", e))?;
            let filter = Filter::new()
                .address(self.writer.registry)
                .event_signature(RlnMembership::MembershipRegistered::SIGNATURE_HASH)
                .from_block(block)
                .to_block(block);
            let logs = self
                .writer
                .provider
                .get_logs(&filter)
                .await
                .map_err(|e| RpcError::transport("eth_getLogs", e))?;
            let mut events = Vec::with_capacity(logs.len());
            for log in &logs {
                let ev = log
                    .log_decode::<RlnMembership::MembershipRegistered>()
                    .map_err(|source| RegistryError::BadEvent {
                        event: "MembershipRegistered",
                        block: Some(block),
                        source: Box::new(source),
                    })?
                    .inner
                    .data;
                events.push((ev.idCommitment, ev.index));
            }
            // Transactions are mined in nonce order, so the events come in window order.
            for (k, id) in window.iter().enumerate() {
                match events.get(k) {
                    Some((c, index)) if *c == field_to_u256(*id) => out.push(*index),
                    _ => {
                        let tx = hashes[k];
                        return Err(
                            match self
                                .writer
                                .provider
                                .get_transaction_receipt(tx)
                                .await
                                .map_err(|e| RpcError::transport("eth_getTransactionReceipt", e))?
                            {
                                Some(r) if !r.status() => {
                                    RpcError::TxReverted { call: "register", tx }.into()
                                }
                                Some(r) => DevChainError::WindowNotMined {
                                    tx,
                                    window_block: block,
                                    mined_in: r.block_number,
                                },
                                None => DevChainError::WindowNotMined {
                                    tx,
                                    window_block: block,
                                    mined_in: None,
                                },
                            },
                        );
                    }
                }
            }
            if events.len() != window.len() {
                return Err(DevChainError::WindowCount {
                    block,
                    got: events.len(),
                    expected: window.len(),
                });
            }
        }
        Ok(out)
    }
}
