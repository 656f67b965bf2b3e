//! The relay on a real chain: the validator accepts proofs against the registry's recent roots,
//! a double signal recovers the spammer's secret, and the relay operator's slasher commits and
//! reveals on chain: the spammer is erased and the operator paid.

mod anvil;

use std::sync::Arc;

use rlnkit::chain::ContractRoots;
use rlnkit::incentives::{slash_spammers, SlashBackend, SlashConfig};
use rlnkit::relay::nullifier_log::NullifierLog;
use rlnkit::relay::{Publisher, Reason, Validator, ValidatorConfig, Verdict};
use rlnkit::{CircuitKeys, Identity, Prover, UserMessageLimit, Verifier};

const TOPIC: &str = "/waku/2/rs/1/0";
const S: u64 = 1_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spammer_is_slashed_on_chain_and_the_operator_paid() {
    let node = anvil::spawn();
    // The default root window (300 s): the validator below reads the roots once, without polling.
    let cfg = rlnkit::chain::DeployConfig {
        root_acceptance_window: None,
        withdrawal_delay: None,
        ..anvil::test_config()
    };
    let (owner, d) = anvil::deploy(&node, &cfg).await;
    let limit = UserMessageLimit::new(20).unwrap();
    let spammer = Identity::from_seed(b"anvil relay: spammer");
    owner
        .register(Identity::from_seed(b"anvil relay: honest").commitment(), 20, &[])
        .await
        .unwrap();
    let reg = owner.register(spammer.commitment(), 20, &[]).await.unwrap();

    // The relay's root window is the registry's recent roots; the path comes from the contract.
    let roots = ContractRoots::new(owner.clone()).await.unwrap();
    let keys = CircuitKeys::embedded().unwrap();
    let config =
        ValidatorConfig { pubsub_topics: vec![TOPIC.to_string()], ..ValidatorConfig::default() };
    let validator = Validator::new(
        config,
        Verifier::new(keys.verifying_key()),
        Arc::new(roots),
        NullifierLog::in_memory(),
    );
    let path = owner.merkle_proof(reg.index).await.unwrap();
    let publisher = Publisher::new(Prover::new(keys.clone()), spammer.clone(), limit, path);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let t0 = (now / 600 * 600 + 10) * S; // safely inside one epoch
    let m1 = publisher.build_with_id(b"hello", "/rlnkit/1/t/proto", t0, 0).unwrap();
    let m2 = publisher.build_with_id(b"spam spam", "/rlnkit/1/t/proto", t0 + S, 0).unwrap();

    let mut spam = validator.subscribe_spam();
    assert_eq!(validator.validate_at(&m1, TOPIC, t0), Verdict::Accept);
    assert_eq!(validator.validate_at(&m2, TOPIC, t0 + S), Verdict::Reject(Reason::DoubleSignal));
    let event = spam.try_recv().expect("the double signal is reported");
    assert_eq!(event.id_commitment, spammer.commitment());

    // The operator (anvil account 2) slashes through the registry and is paid.
    let operator = anvil::client_as(&node, &d, 2).await;
    let me = SlashBackend::sender(&operator);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (_task, mut outcomes) =
        slash_spammers(Arc::new(operator.clone()), SlashConfig::new(me), rx);
    tx.send(event).unwrap();
    let outcome = outcomes.recv().await.expect("an outcome");
    let receipt = outcome.result.expect("slashed");
    assert_eq!(receipt.id_commitment, spammer.commitment());
    assert!(!receipt.reward.is_zero());
    assert!(
        owner.membership_info(spammer.commitment()).await.unwrap().is_none(),
        "the spammer's membership is gone"
    );
    let before = operator.token_balance(d.token, operator.sender()).await.unwrap();
    assert_eq!(operator.withdraw(Some(d.token)).await.unwrap(), receipt.reward);
    assert_eq!(
        operator.token_balance(d.token, operator.sender()).await.unwrap(),
        before + receipt.reward
    );
}
