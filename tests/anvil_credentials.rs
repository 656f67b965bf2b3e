//! Paid lightpush end to end on real parts: the ServiceCredentials contract on anvil, two relays
//! on loopback (the paid service node and a second relay), a light client that pays with
//! vouchers. The payer deposits, N paid pushes reach the second relay, the spent escrow answers
//! 402, a batch claim pays the operator N x price minus the fee and the treasury the fee, and the
//! payer withdraws the rest. Then every kind of bad request gets its 4xx and costs nothing; the
//! contract's reverts come back as typed errors; the claimer claims before a hot key's revocation
//! and leaves a voucher the contract refuses out of its batch.

mod anvil;

use std::sync::Arc;
use std::time::Duration;

use alloy::node_bindings::AnvilInstance;
use alloy::primitives::{Address, U256};
use alloy::providers::ext::AnvilApi;
use rlnkit::chain::bindings::TestToken;
use rlnkit::chain::{connect_provider, PrivateKeySigner};
use rlnkit::credentials::{
    ClaimError, ClaimPolicy, Claimer, CredentialsConfig, CredentialsError, CredentialsWriter,
    Offer, PaidService, PaymentStream, ServiceCredentialsErrors as E, ServiceTerms, VoucherChecker,
    VoucherDomain, VoucherStore, LIGHTPUSH_SERVICE_ID,
};
use rlnkit::lightpush::{
    EligibilityProof, LightPushRequest, LightpushClient, LightpushServer, StatusCode,
};
use rlnkit::relay::{
    spawn_node, NodeConfig, NodeHandle, NullifierLog, Publisher, RateLimitProof, WakuMessage,
};
use rlnkit::relay::{unix_now_ns, Validator, ValidatorConfig};
use rlnkit::StaticRoots;
use rlnkit::{
    CircuitKeys, Identity, MerkleTree, Prover, Relay, RelayBuilder, UserMessageLimit, Verifier,
};

const TOPIC: &str = "/waku/2/rs/1/0";
const CT: &str = "/rlnkit/1/paid/proto";
const FEE_BPS: u16 = 250;
const THAW: u64 = 100;
/// The contract raises a signer revocation period shorter than the thaw to the thaw.
const SIGNER_THAW: u64 = THAW;

struct World {
    anvil: AnvilInstance,
    token: Address,
    treasury: Address,
    operator: CredentialsWriter,
    payer: CredentialsWriter,
    payer_key: PrivateKeySigner,
    price: U256,
    checker: Arc<VoucherChecker>,
    claimer: Claimer,
    service: NodeHandle,
    _service_relay: Relay,
    relay: NodeHandle,
    service_addr: libp2p::Multiaddr,
    client: LightpushClient,
    _dir: tempfile::TempDir,
}

impl World {
    fn terms(&self) -> rlnkit::credentials::ProviderTerms {
        rlnkit::credentials::ProviderTerms {
            domain: self.operator.domain(),
            provider: self.operator.sender(),
            token: self.token,
            payout: self.operator.sender(),
            price: self.price,
        }
    }

    async fn balance(&self, who: Address) -> U256 {
        self.operator.token_balance(self.token, who).await.unwrap()
    }
}

fn message(text: &str) -> WakuMessage {
    WakuMessage {
        payload: text.as_bytes().to_vec(),
        content_topic: CT.to_string(),
        timestamp: Some(unix_now_ns() as i64),
        ..Default::default()
    }
}

/// The contract on anvil with a token, the operator's service registered at `price`, and
/// `payers` funded payers (anvil accounts 2, 3, ...), none of which has deposited yet.
struct Contract {
    anvil: AnvilInstance,
    token: Address,
    treasury: Address,
    operator: CredentialsWriter,
    payers: Vec<(CredentialsWriter, PrivateKeySigner)>,
}

async fn contract(price: U256, payers: usize) -> Contract {
    let anvil = anvil::spawn();
    let url = anvil.endpoint();
    let (owner, operator_key) = (anvil::signer(&anvil, 0), anvil::signer(&anvil, 1));
    let treasury = anvil.addresses()[9];
    let (p, _) = connect_provider(&url, Some(owner.clone()), None).await.unwrap();
    let token = *TestToken::deploy(p.clone()).await.unwrap().address();
    let config = CredentialsConfig {
        owner: owner.address(),
        treasury,
        fee_bps: FEE_BPS,
        thaw_period: THAW,
        signer_thaw_period: SIGNER_THAW,
    };
    let deployed = CredentialsWriter::deploy(&url, owner, config).await.unwrap();
    let address = deployed.address();
    let operator =
        CredentialsWriter::connect(&url, operator_key.clone(), address, None).await.unwrap();
    let me = operator_key.address();
    operator.register_service(LIGHTPUSH_SERVICE_ID, token, price, me).await.unwrap();
    let mut funded = Vec::new();
    for i in 0..payers {
        let key = anvil::signer(&anvil, 2 + i);
        TestToken::new(token, p.clone())
            .mint(key.address(), U256::from(10u64).pow(U256::from(24u64)))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        let w = CredentialsWriter::connect(&url, key.clone(), address, None).await.unwrap();
        funded.push((w, key));
    }
    Contract { anvil, token, treasury, operator, payers: funded }
}

async fn world(deposit: U256, price: U256) -> World {
    let Contract { anvil, token, treasury, operator, mut payers } = contract(price, 1).await;
    let (payer, payer_key) = payers.remove(0);
    let me = operator.sender();
    let terms = payer.service(me, LIGHTPUSH_SERVICE_ID).await.unwrap();
    assert_eq!((terms.token, terms.price, terms.payout), (token, price, me));
    payer.deposit(me, token, deposit).await.unwrap();

    // The operator's node: paid lightpush, its own RLN membership, served vouchers on disk.
    let dir = tempfile::tempdir().unwrap();
    let offer = Offer { thaw_margin_secs: 30, ..Offer::at(price) };
    let paid = PaidService::start(
        operator.clone(),
        offer,
        dir.path().join("vouchers.redb"),
        ClaimPolicy::default(),
    )
    .await
    .unwrap();
    assert!(!paid.registered, "already registered at this price");
    let PaidService { checker, store, claimer, .. } = paid;

    let keys = CircuitKeys::embedded().unwrap();
    let limit = UserMessageLimit::new(100).unwrap();
    let identity = Identity::from_seed(b"credentials e2e: operator membership");
    let mut tree = MerkleTree::default();
    let index = tree.push(identity.rate_commitment(limit)).unwrap();
    let roots = Arc::new(StaticRoots::new([tree.root()]));
    let validator = || {
        Arc::new(Validator::new(
            ValidatorConfig::default(),
            Verifier::new(keys.verifying_key()),
            roots.clone(),
            NullifierLog::in_memory(),
        ))
    };
    let publisher =
        Publisher::new(Prover::new(keys.clone()), identity, limit, tree.proof(index).unwrap());
    let server = LightpushServer::new(vec![TOPIC.to_string()])
        .paid(checker.clone(), store)
        .with_publisher(publisher);
    // The service node is what `relay run --lightpush` runs; its peer is a bare node.
    let service_relay = RelayBuilder::new(Verifier::new(keys.verifying_key()), roots.clone())
        .listen(["/ip4/127.0.0.1/tcp/0".parse().unwrap()])
        .topics([TOPIC.to_string()])
        .heartbeat(Duration::from_millis(200))
        .lightpush(server)
        .start()
        .await
        .unwrap();
    let service = service_relay.node().clone();
    let node_config = NodeConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        topics: vec![TOPIC.to_string()],
        heartbeat: Duration::from_millis(200),
        ..NodeConfig::default()
    };
    let relay = spawn_node(node_config, validator()).await.unwrap();
    relay.dial(service.dial_addr().await.unwrap()).await.unwrap();
    assert!(service.wait_for_mesh(TOPIC, 1, Duration::from_secs(10)).await.unwrap());
    assert!(relay.wait_for_mesh(TOPIC, 1, Duration::from_secs(10)).await.unwrap());
    let service_addr = service.dial_addr().await.unwrap();
    World {
        anvil,
        token,
        treasury,
        operator,
        payer,
        payer_key,
        price,
        checker,
        claimer,
        service,
        _service_relay: service_relay,
        relay,
        service_addr,
        client: LightpushClient::spawn().unwrap(),
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paid_pushes_are_relayed_claimed_in_a_batch_and_the_rest_withdrawn() {
    const N: u64 = 5;
    let price = U256::from(10u64).pow(U256::from(15u64)); // 0.001 token
    let deposit = price * U256::from(N) + price / U256::from(2u64);
    let mut w = world(deposit, price).await;
    let me = w.operator.sender();
    let mut delivered = w.relay.delivered();
    let mut stream =
        PaymentStream::new(w.terms(), w.payer_key.address(), w.payer_key.clone(), U256::ZERO);

    for i in 0..N {
        let r = w
            .client
            .push_paid(&w.service_addr, Some(TOPIC), &message(&format!("paid {i}")), &mut stream)
            .await
            .unwrap();
        assert_eq!(r.code(), Some(StatusCode::Success), "push {i}: {r:?}");
        assert_eq!(r.relay_peer_count, Some(1));
        let d =
            tokio::time::timeout(Duration::from_secs(10), delivered.recv()).await.unwrap().unwrap();
        assert_eq!(d.message.payload, format!("paid {i}").into_bytes(), "reached the second relay");
        assert!(d.message.rate_limit_proof.is_some(), "proved with the operator's membership");
    }
    assert_eq!(stream.paid(), price * U256::from(N));

    // The escrow covers N and a half requests: the next one is refused, with the reason.
    let r = w
        .client
        .push_paid(&w.service_addr, Some(TOPIC), &message("one too many"), &mut stream)
        .await
        .unwrap();
    assert_eq!(r.code(), Some(StatusCode::PaymentRequired));
    assert!(r.status_desc.as_deref().unwrap().contains("escrow spent"), "{r:?}");
    assert_eq!(stream.paid(), price * U256::from(N), "a refused push costs nothing");

    // Nothing is due yet (hourly schedule, no threshold, no thaw).
    let now = || unix_now_ns() / 1_000_000_000;
    assert!(w.claimer.tick(now()).await.unwrap().is_none(), "not due yet");
    // The payer starts a thaw of everything: the claimer must claim before it ends, in one batch:
    // the operator gets N x price minus the fee, the treasury is credited the fee.
    let e = w.payer.escrow(w.payer_key.address(), me, w.token).await.unwrap();
    assert_eq!(e.balance, deposit);
    w.payer.thaw(me, w.token, e.balance).await.unwrap();
    let (op0, tr0) = (w.balance(me).await, w.operator.accrued_fees(w.token).await.unwrap());
    let receipt =
        w.claimer.tick(now()).await.unwrap().expect("a thaw ending soon makes the claim due");
    let earned = price * U256::from(N);
    let fee = earned * U256::from(FEE_BPS) / U256::from(10_000u64);
    assert_eq!((receipt.paid, receipt.fee), (earned, fee));
    assert_eq!(w.balance(me).await - op0, earned - fee);
    assert_eq!(w.operator.accrued_fees(w.token).await.unwrap() - tr0, fee);
    // The treasury (anvil account 9) pulls its fees.
    let treasury = CredentialsWriter::connect(
        &w.anvil.endpoint(),
        anvil::signer(&w.anvil, 9),
        w.operator.address(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(treasury.sender(), w.treasury);
    let before = w.balance(w.treasury).await;
    assert_eq!(treasury.withdraw_fees(w.token).await.unwrap(), tr0 + fee);
    assert_eq!(w.balance(w.treasury).await - before, tr0 + fee);
    assert!(w.operator.accrued_fees(w.token).await.unwrap().is_zero());
    assert!(w.claimer.claim_now().await.unwrap().is_none(), "nothing is paid twice");
    let e = w.payer.escrow(w.payer_key.address(), me, w.token).await.unwrap();
    assert_eq!((e.balance, e.collected), (deposit - earned, earned));

    // After the thaw period the payer withdraws the unsigned rest.
    let payer_addr = w.payer_key.address();
    let before = w.balance(payer_addr).await;
    let (p, _) = connect_provider(&w.anvil.endpoint(), None, None).await.unwrap();
    p.anvil_increase_time(THAW + 1).await.unwrap();
    p.anvil_mine(Some(1), None).await.unwrap();
    assert_eq!(w.payer.withdraw(me, w.token).await.unwrap(), deposit - earned);
    assert_eq!(w.balance(payer_addr).await - before, deposit - earned);
    w.service.shutdown().await;
    w.relay.shutdown().await;
}

/// Sends a request with this voucher; asserts the code and a description containing `reason`.
async fn refused(w: &World, voucher: Option<Vec<u8>>, code: StatusCode, reason: &str) {
    let req = LightPushRequest {
        request_id: "neg".into(),
        pubsub_topic: Some(TOPIC.into()),
        message: Some(message("bad")),
        eligibility_proof: voucher.map(|v| EligibilityProof { proof_of_payment: Some(v) }),
    };
    let r = w.client.send(&w.service_addr, &req).await.unwrap();
    assert_eq!(r.code(), Some(code), "{reason}: {r:?}");
    let desc = r.status_desc.clone().unwrap_or_default();
    assert!(desc.contains(reason), "{reason}: {desc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_a_clear_refusal_and_cost_nothing() {
    let price = U256::from(1000u64);
    let mut w = world(U256::from(1_000_000u64), price).await;
    let me = w.operator.sender();
    let payer = w.payer_key.address();
    let stream = PaymentStream::new(w.terms(), payer, w.payer_key.clone(), U256::ZERO);
    let mut paying = stream.clone();
    // One good push so there is a served amount to stay below.
    let r = w
        .client
        .push_paid(&w.service_addr, Some(TOPIC), &message("good"), &mut paying)
        .await
        .unwrap();
    assert_eq!(r.code(), Some(StatusCode::Success), "{r:?}");

    refused(&w, None, StatusCode::PaymentRequired, "no voucher").await;
    // Lower cumulative than seen (a replay of the first voucher).
    refused(
        &w,
        Some(stream.sign(price).unwrap().to_bytes()),
        StatusCode::PaymentRequired,
        "stale voucher",
    )
    .await;
    // Forged: a stranger's signature in the payer's name.
    let stranger = PrivateKeySigner::random();
    let mut forged = PaymentStream::new(w.terms(), payer, stranger.clone(), U256::ZERO)
        .sign(price * U256::from(2u64))
        .unwrap();
    forged.signer = payer;
    refused(&w, Some(forged.to_bytes()), StatusCode::PaymentRequired, "bad signature").await;
    // A hot key: authorized, then revoked (past its revocation time).
    let hot = PrivateKeySigner::random();
    w.payer.authorize_signer(hot.address()).await.unwrap();
    w.payer.start_signer_revocation(hot.address()).await.unwrap();
    let (p, _) = connect_provider(&w.anvil.endpoint(), None, None).await.unwrap();
    p.anvil_increase_time(SIGNER_THAW + 1).await.unwrap();
    p.anvil_mine(Some(1), None).await.unwrap();
    w.payer.revoke_signer(hot.address()).await.unwrap();
    w.claimer.sync().await.unwrap();
    let hot_voucher = PaymentStream::new(w.terms(), payer, hot, price).next().unwrap();
    refused(&w, Some(hot_voucher.to_bytes()), StatusCode::PaymentRequired, "was revoked").await;
    // Another provider, another chain.
    let mut other = w.terms();
    other.provider = Address::repeat_byte(0x42);
    let v = PaymentStream::new(other, payer, w.payer_key.clone(), price).next().unwrap();
    refused(&w, Some(v.to_bytes()), StatusCode::PaymentRequired, "for provider").await;
    let mut other = w.terms();
    other.domain = VoucherDomain { chain_id: 1, contract: other.domain.contract };
    let v = PaymentStream::new(other, payer, w.payer_key.clone(), price).next().unwrap();
    refused(&w, Some(v.to_bytes()), StatusCode::PaymentRequired, "for chain 1").await;
    // Garbage voucher bytes.
    refused(&w, Some(vec![0xff; 40]), StatusCode::PaymentRequired, "malformed voucher").await;

    // Malformed protobuf, oversized message, unsupported topic.
    let r = w.client.send_bytes(&w.service_addr, vec![0x0a, 0xff, 0xff, 0xff]).await.unwrap();
    assert_eq!(r.code(), Some(StatusCode::BadRequest), "{r:?}");
    let big = WakuMessage { payload: vec![7; 160 * 1024], ..message("") };
    let req = LightPushRequest {
        request_id: "big".into(),
        pubsub_topic: Some(TOPIC.into()),
        message: Some(big),
        eligibility_proof: Some(EligibilityProof {
            proof_of_payment: Some(paying.next().unwrap().to_bytes()),
        }),
    };
    let r = w.client.send(&w.service_addr, &req).await.unwrap();
    assert_eq!(r.code(), Some(StatusCode::PayloadTooLarge), "{r:?}");
    let req = LightPushRequest { pubsub_topic: Some("/waku/2/rs/9/9".into()), ..req.clone() };
    let req = LightPushRequest { message: Some(message("x")), ..req };
    let r = w.client.send(&w.service_addr, &req).await.unwrap();
    assert_eq!(r.code(), Some(StatusCode::UnsupportedPubsubTopic), "{r:?}");

    // The client's own RLN proof, forged: the node's validator refuses it before anything is
    // relayed (420, its peers would have penalized the node), and the voucher is not charged.
    let proof = RateLimitProof {
        proof: vec![1; 128],
        merkle_root: vec![2; 32],
        epoch: vec![0; 32],
        share_x: vec![3; 32],
        share_y: vec![4; 32],
        nullifier: vec![5; 32],
        rln_identifier: vec![6; 32],
    };
    let forged_rln = WakuMessage { rate_limit_proof: Some(proof), ..message("forged rln proof") };
    let r = w.client.push_paid(&w.service_addr, Some(TOPIC), &forged_rln, &mut paying).await;
    let r = r.unwrap();
    assert_eq!(r.code(), Some(StatusCode::InvalidMessage), "{r:?}");

    // Nothing was lost or taken: one request served, the next good voucher still works.
    assert_eq!(w.checker.served(payer), price);
    let r = w
        .client
        .push_paid(&w.service_addr, Some(TOPIC), &message("good 2"), &mut paying)
        .await
        .unwrap();
    assert_eq!(r.code(), Some(StatusCode::Success), "{r:?}");
    assert_eq!(w.checker.served(payer), price * U256::from(2u64));
    let e = w.payer.escrow(payer, me, w.token).await.unwrap();
    assert_eq!((e.balance, e.collected), (U256::from(1_000_000u64), U256::ZERO));
}

/// The contract's custom error in `e`, or a panic naming what came instead.
fn revert(e: CredentialsError) -> E {
    e.credentials_error().cloned().unwrap_or_else(|| panic!("not a ServiceCredentials revert: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_reverts_come_back_as_typed_errors() {
    let price = U256::from(1000u64);
    let c = contract(price, 1).await;
    let (payer, key) = &c.payers[0];
    let (me, p) = (c.operator.sender(), key.address());
    let deposit = U256::from(10_000u64);
    payer.deposit(me, c.token, deposit).await.unwrap();
    let terms = payer.service(me, LIGHTPUSH_SERVICE_ID).await.unwrap();
    let stream = PaymentStream::new(terms, p, key.clone(), U256::ZERO);

    // Withdrawing without a thaw.
    match revert(payer.withdraw(me, c.token).await.unwrap_err()) {
        E::NoThaw(e) => assert_eq!((e.payer, e.provider, e.token), (p, me, c.token)),
        other => panic!("{other:?}"),
    }
    // Thawing more than the escrow holds.
    let too_much = deposit + U256::from(1u64);
    match revert(payer.thaw(me, c.token, too_much).await.unwrap_err()) {
        E::ThawExceedsBalance(e) => assert_eq!((e.amount, e.balance), (too_much, deposit)),
        other => panic!("{other:?}"),
    }
    // Withdrawing before the thaw ends.
    payer.thaw(me, c.token, deposit).await.unwrap();
    let thaw_end = payer.escrow(p, me, c.token).await.unwrap().thaw_end;
    match revert(payer.withdraw(me, c.token).await.unwrap_err()) {
        E::ThawNotEnded(e) => assert_eq!(e.thawEnd, thaw_end),
        other => panic!("{other:?}"),
    }
    // The same voucher claimed twice: the second time it is stale.
    let v = stream.sign(price).unwrap();
    assert_eq!(c.operator.claim(&v, U256::MAX).await.unwrap().paid, price);
    let e = c.operator.claim(&v, U256::MAX).await.unwrap_err();
    assert_eq!(e.revert_name(), Some("StaleVoucher"), "printed by name: {e}");
    match revert(e) {
        E::StaleVoucher(e) => assert_eq!((e.cumulativeAmount, e.collected), (price, price)),
        other => panic!("{other:?}"),
    }
    // Someone else than the provider claims its voucher.
    let v2 = stream.sign(price * U256::from(2u64)).unwrap();
    match revert(payer.claim(&v2, U256::MAX).await.unwrap_err()) {
        E::NotProvider(e) => assert_eq!((e.caller, e.provider), (p, me)),
        other => panic!("{other:?}"),
    }
    // A voucher signed by a key the payer never authorized.
    let hot = PrivateKeySigner::random();
    let forged = PaymentStream::new(*stream.terms(), p, hot.clone(), U256::ZERO)
        .sign(price * U256::from(2u64))
        .unwrap();
    match revert(c.operator.claim(&forged, U256::MAX).await.unwrap_err()) {
        E::UnauthorizedSigner(e) => assert_eq!((e.payer, e.signer), (p, hot.address())),
        other => panic!("{other:?}"),
    }
    // Signers: the payer itself cannot be one; an unknown signer cannot be revoked.
    match revert(payer.authorize_signer(p).await.unwrap_err()) {
        E::InvalidSigner(e) => assert_eq!(e.signer, p),
        other => panic!("{other:?}"),
    }
    match revert(payer.start_signer_revocation(hot.address()).await.unwrap_err()) {
        E::SignerNotAuthorized(e) => assert_eq!((e.payer, e.signer), (p, hot.address())),
        other => panic!("{other:?}"),
    }
    // Nothing moved but the one claim.
    let e = payer.escrow(p, me, c.token).await.unwrap();
    assert_eq!((e.balance, e.collected), (deposit - price, price));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_claimer_claims_before_a_hot_key_goes_and_leaves_out_what_the_contract_refuses() {
    let price = U256::from(1000u64);
    let c = contract(price, 2).await;
    let me = c.operator.sender();
    for (w, _) in &c.payers {
        w.deposit(me, c.token, U256::from(100_000u64)).await.unwrap();
    }
    let ((a, a_key), (_, b_key)) = (&c.payers[0], &c.payers[1]);
    let hot = PrivateKeySigner::random();
    a.authorize_signer(hot.address()).await.unwrap();
    let terms = c.operator.service(me, LIGHTPUSH_SERVICE_ID).await.unwrap();
    let mut a_pays = PaymentStream::new(terms, a_key.address(), hot.clone(), U256::ZERO);
    let mut b_pays = PaymentStream::new(terms, b_key.address(), b_key.clone(), U256::ZERO);

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(VoucherStore::open(dir.path().join("vouchers.redb")).unwrap());
    let checker = Arc::new(VoucherChecker::new(
        ServiceTerms {
            domain: c.operator.domain(),
            provider: me,
            token: c.token,
            payout: me,
            price,
            thaw_margin_secs: 30,
        },
        [],
    ));
    let policy = ClaimPolicy { thaw_margin_secs: 600, ..ClaimPolicy::default() };
    let mut claimer = Claimer::new(c.operator.clone(), checker.clone(), store.clone(), policy, 0);
    claimer.sync().await.unwrap();
    let now = || unix_now_ns() / 1_000_000_000;
    // What the node does for a paid request: check the voucher, keep it.
    let serve = |s: &mut PaymentStream| {
        let v = s.next().unwrap();
        let accepted = checker.check(Some(&v.to_bytes()), now()).unwrap();
        store.save(&accepted.voucher).unwrap();
        s.served(&v);
    };
    serve(&mut a_pays);
    serve(&mut b_pays);
    assert!(claimer.tick(now()).await.unwrap().is_none(), "not due yet");

    // Payer A starts revoking its hot key: the claim is due before the revocation takes effect.
    a.start_signer_revocation(hot.address()).await.unwrap();
    let r = claimer.tick(now()).await.unwrap().expect("due before the hot key goes");
    assert_eq!(r.paid, price * U256::from(2u64));

    // Both pay once more (the hot key is valid until its revocation time); then the revocation
    // takes effect and the contract refuses A's voucher: B's is claimed without it.
    serve(&mut a_pays);
    serve(&mut b_pays);
    let (p, _) = connect_provider(&c.anvil.endpoint(), None, None).await.unwrap();
    p.anvil_increase_time(SIGNER_THAW + 1).await.unwrap();
    p.anvil_mine(Some(1), None).await.unwrap();
    a.revoke_signer(hot.address()).await.unwrap();
    let (tr0, op0) = (
        c.operator.accrued_fees(c.token).await.unwrap(),
        c.operator.token_balance(c.token, me).await.unwrap(),
    );
    let r = claimer.claim_now().await.unwrap().expect("B's voucher is claimed");
    assert_eq!(r.paid, price, "only B's second request");
    let fee = price * U256::from(FEE_BPS) / U256::from(10_000u64);
    assert_eq!(c.operator.token_balance(c.token, me).await.unwrap() - op0, price - fee);
    assert_eq!(c.operator.accrued_fees(c.token).await.unwrap() - tr0, fee);
    let op = &c.operator;
    let collected = |payer| async move { op.escrow(payer, me, c.token).await.unwrap().collected };
    assert_eq!(collected(a_key.address()).await, price);
    assert_eq!(collected(b_key.address()).await, price * U256::from(2u64));
    // A's refused voucher blocks nothing and is not thrown away.
    assert!(claimer.claim_now().await.unwrap().is_none());
    let kept = store.get(a_key.address(), c.token).unwrap().unwrap();
    assert_eq!(kept.voucher.cumulativeAmount, price * U256::from(2u64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_service_registers_once_and_restores_what_was_served_after_a_restart() {
    let price = U256::from(1000u64);
    let c = contract(price, 1).await;
    let (payer, payer_key) = &c.payers[0];
    // A second operator, with no service registered yet.
    let key = anvil::signer(&c.anvil, 5);
    let me = key.address();
    let op = CredentialsWriter::connect(&c.anvil.endpoint(), key, c.operator.address(), None)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vouchers.redb");
    let policy = ClaimPolicy::default();
    let e = PaidService::start(op.clone(), Offer::at(price), &path, policy).await.unwrap_err();
    assert!(
        matches!(e, ClaimError::Credentials(CredentialsError::NoService { provider, .. }) if provider == me)
    );

    let offer = Offer { token: Some(c.token), ..Offer::at(price) };
    let paid = PaidService::start(op.clone(), offer, &path, policy).await.unwrap();
    assert!(paid.registered);
    let terms = op.service(me, LIGHTPUSH_SERVICE_ID).await.unwrap();
    assert_eq!((terms.token, terms.price, terms.payout), (c.token, price, me));
    // A payer deposits, is served once; the node stops.
    payer.deposit(me, c.token, U256::from(50_000u64)).await.unwrap();
    let mut pays = PaymentStream::new(terms, payer_key.address(), payer_key.clone(), U256::ZERO);
    let mut claimer = paid.claimer;
    claimer.sync().await.unwrap();
    let v = pays.next().unwrap();
    let accepted = paid.checker.check(Some(&v.to_bytes()), unix_now_ns() / 1_000_000_000).unwrap();
    paid.store.save(&accepted.voucher).unwrap();
    pays.served(&v);
    drop((claimer, paid.checker, paid.store));

    // Restarted with the same offer: nothing registered again, the served amount and the escrow
    // are back, so a replay is refused and the next voucher accepted.
    let paid = PaidService::start(op.clone(), offer, &path, policy).await.unwrap();
    assert!(!paid.registered);
    assert_eq!(paid.checker.served(payer_key.address()), price);
    let escrow = *paid.checker.book().escrow(payer_key.address(), c.token).unwrap();
    assert_eq!(escrow.balance, U256::from(50_000u64));
    let now = unix_now_ns() / 1_000_000_000;
    assert!(paid.checker.check(Some(&v.to_bytes()), now).is_err(), "a replay");
    paid.checker.check(Some(&pays.next().unwrap().to_bytes()), now).unwrap();
    drop(paid);

    // A new price is registered.
    let offer = Offer { price: price * U256::from(2u64), ..offer };
    assert!(PaidService::start(op.clone(), offer, &path, policy).await.unwrap().registered);
    assert_eq!(op.service(me, LIGHTPUSH_SERVICE_ID).await.unwrap().price, offer.price);
    // The operator's tools resume the service as registered, sending nothing, and claim.
    let resumed = PaidService::resume(op.clone(), &path, policy).await.unwrap();
    assert!(!resumed.registered);
    assert_eq!((resumed.terms.price, resumed.terms.token), (offer.price, c.token));
    let mut claimer = resumed.claimer;
    let r = claimer.claim_now().await.unwrap().expect("the served voucher");
    assert_eq!(r.paid, price);
}
