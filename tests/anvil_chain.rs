//! The chain client against a real local chain: deploy, register, roots, proofs, slashing,
//! errors, lifecycle. Each test starts its own anvil.

mod anvil;

use alloy::providers::ext::AnvilApi;
use rlnkit::chain::{
    ContractRoots, DeployConfig, DevChainError, MembershipReader, RegistryError,
    RlnMembershipErrors, RpcError, SyncError, SyncOptions, TreeSync, U256,
};
use rlnkit::incentives::{slash_member, SlashConfig, SlashError};
use rlnkit::{
    AcceptedRoots, CircuitKeys, Epoch, ExternalNullifier, Field, Identity, Prover, RlnIdentifier,
    RlnInputs, UserMessageLimit, Verifier,
};

fn ids(prefix: &str, n: usize) -> Vec<Identity> {
    (0..n).map(|i| Identity::from_seed(format!("{prefix} {i}").as_bytes())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_many_then_prove_against_the_contract() {
    let node = anvil::spawn();
    let (client, d) = anvil::deploy(&node, &DeployConfig::default()).await;
    let limit = 20u32;
    let members = ids("member", 80);
    let commitments: Vec<Field> = members.iter().map(|m| m.commitment()).collect();
    let indices = client.register_many(&commitments, limit).await.unwrap();
    assert_eq!(indices, (0..80).collect::<Vec<u32>>());
    let alice = Identity::from_seed(b"alice");
    let reg = client.register(alice.commitment(), limit, &[]).await.unwrap();
    assert_eq!(reg.index, 80);
    assert_eq!(reg.deposit, U256::from(limit) * U256::from(rlnkit::chain::TOKEN_UNIT / 20));
    let info = client.membership_info(alice.commitment()).await.unwrap().unwrap();
    assert_eq!((info.index, info.rate_limit, info.holder), (80, limit, client.sender()));
    assert_eq!(
        info.rate_commitment,
        alice.rate_commitment(UserMessageLimit::new(limit as u64).unwrap())
    );

    // The synced tree equals the contract's.
    let dir = tempfile::tempdir().unwrap();
    let mut sync = TreeSync::open(
        client.clone(),
        dir.path().join("tree.redb"),
        SyncOptions { chunk_blocks: 25, ..SyncOptions::default() },
    )
    .await
    .unwrap();
    let report = sync.sync(|_| {}).await.unwrap();
    let root = client.root().await.unwrap();
    assert_eq!(report.root, root);
    assert_eq!(sync.tree().root(), root);
    assert_eq!(report.members, 81);

    // Stateless mode gives the same path and roots.
    let path = client.merkle_proof(80).await.unwrap();
    assert_eq!(path, sync.tree().proof(80).unwrap());
    let contract_roots = ContractRoots::new(client.clone()).await.unwrap();
    // Both list the newest root last; the contract keeps fewer.
    let recent = contract_roots.roots();
    assert_eq!(recent.last(), Some(&root));
    let synced = sync.recent_roots();
    assert_eq!(&synced[synced.len() - recent.len()..], &recent[..]);
    assert!(contract_roots.contains_root(&root) && sync.store().contains_root(&root));

    // A proof from the contract's path verifies against the contract's recent roots.
    let keys = CircuitKeys::embedded().unwrap();
    let ext = ExternalNullifier::new(Epoch::from_index(1), RlnIdentifier::waku());
    let lim = UserMessageLimit::new(limit as u64).unwrap();
    let proof = Prover::new(keys.clone())
        .prove(&RlnInputs::for_signal(alice.secret(), lim, 0, &path, ext, b"hi"))
        .unwrap();
    let verifier = Verifier::new(keys.verifying_key());
    verifier.verify(&proof, b"hi", &recent[..]).unwrap();
    // Tampered twin: another signal, or a root the contract never had.
    assert!(verifier.verify(&proof, b"hj", &recent[..]).is_err());
    assert!(verifier.verify(&proof, b"hi", &[Field::from_u64(1)][..]).is_err());
    let _ = d;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slashing_pays_the_reporter_and_the_treasury() {
    let node = anvil::spawn();
    let treasury = node.addresses()[3];
    let cfg = DeployConfig {
        treasury: Some(treasury),
        slash_reward_bps: Some(4_000),
        ..anvil::test_config()
    };
    let (owner, d) = anvil::deploy(&node, &cfg).await;
    let spammer = Identity::from_seed(b"spammer");
    let honest = Identity::from_seed(b"honest");
    owner.register(honest.commitment(), 50, &[]).await.unwrap();
    let reg = owner.register(spammer.commitment(), 100, &[]).await.unwrap();

    let reporter = anvil::client_as(&node, &d, 1).await;
    let thief = anvil::client_as(&node, &d, 2).await;
    let me = reporter.sender();
    // Reveal without a commit (a copied reveal from another sender) fails by name.
    let e = thief.reveal_slash(spammer.secret(), thief.sender()).await.unwrap_err();
    assert!(matches!(e.registry_error(), Some(RlnMembershipErrors::SlashNotCommitted(_))), "{e}");
    assert!(e.to_string().contains("SlashNotCommitted("), "{e}");

    let commit = reporter.commit_slash(spammer.secret(), me).await.unwrap();
    assert_eq!(commit.commitment, rlnkit::incentives::slash_commitment(spammer.secret(), me, me));
    // The thief copies the reveal (same secret and receiver) from its own account: no commitment of its own.
    let e = thief.reveal_slash(spammer.secret(), me).await.unwrap_err();
    assert_eq!(e.revert_name(), Some("SlashNotCommitted"));
    let out = reporter.reveal_slash(spammer.secret(), me).await.unwrap();
    assert_eq!(out.id_commitment, spammer.commitment());
    assert_eq!(out.index, reg.index);
    assert_eq!(out.reward, reg.deposit * U256::from(4_000) / U256::from(10_000));
    assert_eq!(out.reward + out.treasury_amount, reg.deposit);
    assert!(owner.membership_info(spammer.commitment()).await.unwrap().is_none());

    // Both withdraw their shares at once.
    let before = reporter.token_balance(d.token, me).await.unwrap();
    assert_eq!(reporter.withdraw(None).await.unwrap(), out.reward);
    assert_eq!(reporter.token_balance(d.token, me).await.unwrap(), before + out.reward);
    let t = anvil::client_as(&node, &d, 3).await;
    assert_eq!(t.withdraw(Some(d.token)).await.unwrap(), out.treasury_amount);
    assert_eq!(t.token_balance(d.token, treasury).await.unwrap(), out.treasury_amount);
    // Nothing left: a named error.
    let e = t.withdraw(Some(d.token)).await.unwrap_err();
    assert_eq!(e.revert_name(), Some("NothingToWithdraw"));

    // The synced tree has the leaf cleared and equals the contract's.
    let dir = tempfile::tempdir().unwrap();
    let mut sync = TreeSync::open(owner.clone(), dir.path().join("t.redb"), SyncOptions::default())
        .await
        .unwrap();
    sync.sync(|_| {}).await.unwrap();
    assert_eq!(sync.tree().leaf(reg.index as u64).unwrap(), Field::ZERO);
    assert_eq!(sync.tree().root(), owner.root().await.unwrap());
    // The incentives flow does commit + reveal in one call; a second slash finds nothing, and the
    // registry's NothingToSlash arrives as a typed error.
    let config = SlashConfig { poll: std::time::Duration::from_millis(20), ..SlashConfig::new(me) };
    let (commit, again) = slash_member(&reporter, &config, spammer.secret()).await;
    assert!(commit.is_some(), "the commitment itself is accepted");
    assert!(matches!(again, Err(SlashError::AlreadySlashed)), "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reverts_and_connection_errors_are_clear() {
    let node = anvil::spawn();
    let (client, d) = anvil::deploy(&node, &DeployConfig::default()).await;
    let e = client.register(Field::ZERO, 20, &[]).await.unwrap_err();
    assert_eq!(e.to_string(), "register reverted: InvalidIdCommitment(0)");
    assert!(matches!(e.registry_error(), Some(RlnMembershipErrors::InvalidIdCommitment(_))));
    let id = Identity::from_seed(b"x");
    let e = client.register(id.commitment(), 5, &[]).await.unwrap_err();
    assert_eq!(e.to_string(), "register reverted: InvalidMembershipRateLimit()");
    client.register(id.commitment(), 20, &[]).await.unwrap();
    let e = client.register(id.commitment(), 20, &[]).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("register reverted: DuplicateIdCommitment({})", id.commitment())
    );
    let e = client.merkle_proof(7).await.unwrap_err();
    assert_eq!(e.to_string(), "getMerkleProof reverted: MerkleIndexOutOfRange(7, 1)");
    let e = client.erase(&[id.commitment()], false).await.unwrap_err();
    assert_eq!(e.revert_name(), Some("CannotEraseActiveMembership"));

    // The endpoint's errors are the RPC layer's, inside the registry client's.
    let e = MembershipReader::connect(&node.endpoint(), d.registry, Some(1)).await.unwrap_err();
    assert!(
        matches!(e, RegistryError::Rpc(RpcError::WrongChain { expected: 1, got: 31337 })),
        "{e}"
    );
    assert!(e.to_string().contains("chain 31337, expected chain 1"));
    let e = MembershipReader::connect("http://127.0.0.1:1", d.registry, None).await.unwrap_err();
    assert!(
        matches!(e.rpc(), Some(RpcError::Unreachable { url, .. }) if url == "http://127.0.0.1:1"),
        "{e}"
    );
    assert_eq!(e.revert_name(), None);
    let e =
        MembershipReader::connect(&node.endpoint(), node.addresses()[5], None).await.unwrap_err();
    assert!(
        matches!(e.rpc(), Some(RpcError::NoContract { address, chain_id: 31337 }) if *address == node.addresses()[5]),
        "{e}"
    );
    // A revert is not an endpoint's error.
    let e = client.merkle_proof(9).await.unwrap_err();
    assert!(e.rpc().is_none() && matches!(e, RegistryError::Reverted { .. }), "{e}");
    // A reader cannot send transactions at all (a compile error: see MembershipReader's docs).
    let reader = MembershipReader::connect(&node.endpoint(), d.registry, None).await.unwrap();
    assert_eq!(reader.root().await.unwrap(), client.root().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_erase_withdraw_and_sync() {
    let node = anvil::spawn();
    let (client, _d) = anvil::deploy(&node, &anvil::test_config()).await;
    let ms = ids("life", 6);
    for m in &ms {
        client.register(m.commitment(), 20, &[]).await.unwrap();
    }
    let p = client.provider();
    // Into the grace period: the holder extends one.
    p.anvil_increase_time(110).await.unwrap();
    p.anvil_mine(Some(1), None).await.unwrap();
    assert!(client.membership_info(ms[0].commitment()).await.unwrap().unwrap().in_grace_period);
    client.extend(&[ms[0].commitment()]).await.unwrap();
    // Expired: erase lazily (leaf stays) and fully (leaf cleared); register into a freed slot.
    p.anvil_increase_time(100).await.unwrap();
    p.anvil_mine(Some(1), None).await.unwrap();
    client.erase(&[ms[1].commitment(), ms[2].commitment()], false).await.unwrap();
    client.erase(&[ms[3].commitment()], true).await.unwrap();
    let newcomer = Identity::from_seed(b"newcomer");
    let reg = client.register(newcomer.commitment(), 20, &[ms[4].commitment()]).await.unwrap();
    assert!(reg.index == 4, "the erased slot is reused, got {}", reg.index);

    let dir = tempfile::tempdir().unwrap();
    let mut sync = TreeSync::open(
        client.clone(),
        dir.path().join("t.redb"),
        SyncOptions { chunk_blocks: 3, ..SyncOptions::default() },
    )
    .await
    .unwrap();
    sync.sync(|_| {}).await.unwrap();
    let root = client.root().await.unwrap();
    assert_eq!(sync.tree().root(), root);
    assert_eq!(sync.tree().leaf(3).unwrap(), Field::ZERO);
    assert_ne!(sync.tree().leaf(1).unwrap(), Field::ZERO, "a lazily erased leaf stays");
    assert_eq!(
        client.leaves(0, 5, None).await.unwrap(),
        (0..6).map(|i| sync.tree().leaf(i).unwrap()).collect::<Vec<_>>()
    );

    // Deposits of erased memberships are locked for the withdrawal delay (5 blocks) after their
    // leaves left the tree: ms[3] (erased fully) and ms[4] (slot reused) are paid; ms[1] and ms[2]
    // stay locked (and slashable) while their lazily erased leaves can still prove.
    let e = client.withdraw(None).await.unwrap_err();
    assert_eq!(e.revert_name(), Some("NothingToWithdraw"), "{e}");
    p.anvil_mine(Some(6), None).await.unwrap();
    let got = client.withdraw(None).await.unwrap();
    assert_eq!(got, U256::from(2 * 20) * U256::from(rlnkit::chain::TOKEN_UNIT / 20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_resumes_and_recovers_from_a_reorg() {
    let node = anvil::spawn();
    let (client, _d) = anvil::deploy(&node, &DeployConfig::default()).await;
    let first: Vec<Field> = ids("a", 20).iter().map(|m| m.commitment()).collect();
    client.register_many(&first, 20).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.redb");
    let opts = SyncOptions { chunk_blocks: 4, ..SyncOptions::default() };
    let r1 = TreeSync::open(client.clone(), &path, opts.clone())
        .await
        .unwrap()
        .sync(|_| {})
        .await
        .unwrap();
    assert_eq!(r1.members, 20);

    // Restart: the store resumes after the last block, reading nothing again.
    let mut sync = TreeSync::open(client.clone(), &path, opts.clone()).await.unwrap();
    assert_eq!(sync.tree().root(), client.root().await.unwrap());
    let r2 = sync.sync(|_| {}).await.unwrap();
    assert_eq!((r2.from_block, r2.events, r2.chunks), (r1.to_block + 1, 0, 0));

    // Fork: 5 registrations are synced, then the chain reverts and takes 3 others.
    let p = client.provider().clone();
    let snap = p.anvil_snapshot().await.unwrap();
    client
        .register_many(&ids("b", 5).iter().map(|m| m.commitment()).collect::<Vec<_>>(), 20)
        .await
        .unwrap();
    sync.sync(|_| {}).await.unwrap();
    assert_eq!(sync.tree().next_index(), 25);
    assert!(p.anvil_revert(snap).await.unwrap());
    let c: Vec<Field> = ids("c", 3).iter().map(|m| m.commitment()).collect();
    client.register_many(&c, 20).await.unwrap();
    p.anvil_mine(Some(4), None).await.unwrap();
    let r3 = sync.sync(|_| {}).await.unwrap();
    assert!(r3.rolled_back_to.is_some() || r3.restarted, "{r3:?}");
    assert_eq!(sync.tree().root(), client.root().await.unwrap());
    assert_eq!(sync.tree().leaf(22).unwrap(), client.leaves(22, 22, None).await.unwrap()[0]);
    assert_eq!(sync.tree().leaf(23).unwrap(), Field::ZERO);
}

/// A relay's tree sync branches on a rewound chain: the block it was about to read is gone
/// ([`SyncError::MissingBlock`]), and the next sync carries on from the new chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_reports_a_rewound_chain_as_a_missing_block() {
    let node = anvil::spawn();
    let (client, _d) = anvil::deploy(&node, &DeployConfig::default()).await;
    let p = client.provider().clone();
    let first: Vec<Field> = ids("kept", 3).iter().map(|m| m.commitment()).collect();
    client.register_many(&first, 20).await.unwrap();
    let snap = p.anvil_snapshot().await.unwrap();
    let kept_head = client.block_number().await.unwrap();
    client
        .register_many(&ids("lost", 3).iter().map(|m| m.commitment()).collect::<Vec<_>>(), 20)
        .await
        .unwrap();
    p.anvil_mine(Some(20), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = SyncOptions { chunk_blocks: 4, ..SyncOptions::default() };
    let mut sync = TreeSync::open(client.clone(), dir.path().join("t.redb"), opts).await.unwrap();
    // The chain is rewound below the head while the sync reads it (after its first chunk).
    let rt = tokio::runtime::Handle::current();
    let mut rewound = false;
    let err = sync
        .sync(|_| {
            if !rewound {
                rewound = true;
                let ok = tokio::task::block_in_place(|| rt.block_on(p.anvil_revert(snap)));
                assert!(ok.unwrap(), "anvil reverts to its snapshot");
            }
        })
        .await
        .unwrap_err();
    assert!(rewound);
    match err {
        SyncError::MissingBlock(b) => assert!(b > kept_head, "block {b} of the lost branch"),
        e => panic!("expected a missing block, got {e}"),
    }
    // The caller syncs again: the tree is the rewound chain's.
    let r = sync.sync(|_| {}).await.unwrap();
    assert_eq!((r.members, r.root), (3, client.root().await.unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_follows_an_identity_registering_again() {
    let node = anvil::spawn();
    let (client, _d) = anvil::deploy(&node, &anvil::test_config()).await;
    let ms = ids("again", 3);
    for m in &ms {
        client.register(m.commitment(), 20, &[]).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let mut sync =
        TreeSync::open(client.clone(), dir.path().join("t.redb"), SyncOptions::default())
            .await
            .unwrap();
    sync.sync(|_| {}).await.unwrap();
    let p = client.provider();
    p.anvil_increase_time(200).await.unwrap();
    p.anvil_mine(Some(1), None).await.unwrap();
    // Erased fully: a lazily erased leaf would keep its deposit locked, and the identity could not
    // register again until the leaf left the tree and the delay passed.
    client.erase(&[ms[0].commitment()], true).await.unwrap();
    p.anvil_mine(Some(6), None).await.unwrap();
    // The same identity registers again (its released deposit is credited to the holder).
    client.register(ms[0].commitment(), 40, &[]).await.unwrap();
    sync.sync(|_| {}).await.unwrap();
    assert_eq!(sync.tree().root(), client.root().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_many_dev_mines_windows_and_restores_automine() {
    let node = anvil::spawn();
    let (client, _d) = anvil::deploy(&node, &DeployConfig::default()).await;
    let p = client.provider().clone();
    let before = client.block_number().await.unwrap();
    // Anvil's default 30M gas limit holds about 15 registrations (at ~2M gas reserved each).
    let members: Vec<Field> = ids("dev", 40).iter().map(|m| m.commitment()).collect();
    let indices = client.dev().register_many(&members, 20).await.unwrap();
    assert_eq!(indices, (0..40).collect::<Vec<u32>>());
    // One approval block, then one block per window.
    let mined = client.block_number().await.unwrap() - before;
    assert!((3..=5).contains(&mined), "{mined} blocks");
    assert!(p.anvil_get_auto_mine().await.unwrap());
    // The plain path still works after it, and the tree matches.
    let more: Vec<Field> = ids("more", 3).iter().map(|m| m.commitment()).collect();
    assert_eq!(client.register_many(&more, 20).await.unwrap(), vec![40, 41, 42]);
    let dir = tempfile::tempdir().unwrap();
    let r = TreeSync::open(client.clone(), dir.path().join("t.redb"), SyncOptions::default())
        .await
        .unwrap()
        .sync(|_| {})
        .await
        .unwrap();
    assert_eq!((r.root, r.members), (client.root().await.unwrap(), 43));
    // A registration that reverts (duplicate) is reported, and automine is still restored.
    let err = client.dev().register_many(&members[..1], 20).await.unwrap_err();
    let duplicate = match &err {
        DevChainError::Registry(e) => {
            matches!(e.registry_error(), Some(RlnMembershipErrors::DuplicateIdCommitment(_)))
        }
        e => matches!(e.rpc(), Some(RpcError::TxReverted { .. })),
    };
    assert!(duplicate, "{err}");
    assert!(p.anvil_get_auto_mine().await.unwrap());
}
