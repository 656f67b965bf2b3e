//! Helpers for tests against a local anvil (npm's, in node_modules/.bin): each test starts its
//! own node on a free port; it is killed when the instance is dropped.
#![allow(dead_code)]

use std::path::PathBuf;

use alloy::node_bindings::AnvilInstance;
use rlnkit::chain::{
    deploy_registry, DeployConfig, Deployment, MembershipWriter, PrivateKeySigner,
};

pub(crate) fn anvil_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules/.bin/anvil")
}

pub(crate) fn spawn() -> AnvilInstance {
    rlnkit::chain::start_anvil(&anvil_path(), &[]).expect("anvil starts")
}

pub(crate) fn signer(anvil: &AnvilInstance, n: usize) -> PrivateKeySigner {
    PrivateKeySigner::from(anvil.keys()[n].clone())
}

/// Local-chain defaults with a short lifecycle, a 2-block reveal window, a 2-second root
/// acceptance window and a 5-block withdrawal delay.
pub(crate) fn test_config() -> DeployConfig {
    DeployConfig {
        active_duration: 100,
        grace_period: 50,
        slash_reveal_window: Some(2),
        root_acceptance_window: Some(2),
        withdrawal_delay: Some(5),
        ..DeployConfig::default()
    }
}

pub(crate) async fn deploy(
    anvil: &AnvilInstance,
    cfg: &DeployConfig,
) -> (MembershipWriter, Deployment) {
    deploy_registry(&anvil.endpoint(), signer(anvil, 0), Some(anvil.chain_id()), cfg)
        .await
        .expect("deploy")
}

/// A client of the same registry with another anvil account as signer.
pub(crate) async fn client_as(anvil: &AnvilInstance, d: &Deployment, n: usize) -> MembershipWriter {
    MembershipWriter::connect(&anvil.endpoint(), signer(anvil, n), d.registry, Some(d.chain_id))
        .await
        .expect("connect")
}
