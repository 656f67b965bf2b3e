//! [`PaidService`]: a provider's paid lightpush assembled from the chain and its store, as a
//! relay operator runs it: the service registered at the offered terms, the served vouchers'
//! store, the checker restored from it, and the claimer synced to the chain's events. The relay
//! takes the checker and the store (`LightpushServer::paid`); the claimer runs beside it.

use std::path::Path;
use std::sync::Arc;

use alloy::primitives::{Address, U256};

use super::check::{ServiceTerms, VoucherChecker};
use super::claimer::{ClaimError, ClaimPolicy, Claimer};
use super::client::LIGHTPUSH_SERVICE_ID;
use super::error::CredentialsError;
use super::store::VoucherStore;
use super::writer::CredentialsWriter;

/// What the operator sells one lightpush request for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    /// Price of one request in token units.
    pub price: U256,
    /// The token; `None`: the token of the service already registered.
    pub token: Option<Address>,
    /// Where earnings go; `None`: the registered payout, else the operator's address.
    pub payout: Option<Address>,
    /// Refuse a payer whose thaw ends within this many seconds (the claimer needs the time).
    pub thaw_margin_secs: u64,
}

impl Offer {
    /// `price` in the registered token, to the registered payout, refusing payers whose thaw ends
    /// within 5 minutes.
    pub fn at(price: U256) -> Self {
        Offer { price, token: None, payout: None, thaw_margin_secs: 300 }
    }
}

/// A provider's paid lightpush: checker, store and claimer of one operator.
#[derive(Debug)]
pub struct PaidService {
    /// The per-request check (hand it to the lightpush server).
    pub checker: Arc<VoucherChecker>,
    /// Served vouchers on disk (hand it to the lightpush server).
    pub store: Arc<VoucherStore>,
    /// Follows the contract's events and claims (run it: [`Claimer::run`]).
    pub claimer: Claimer,
    /// The terms the service runs at.
    pub terms: ServiceTerms,
    /// Whether `registerService` was sent (the registered terms differed from the offer).
    pub registered: bool,
}

impl PaidService {
    /// Registers the lightpush service at `offer` unless it already is, opens (or creates) the
    /// voucher store at `store`, restores the served amounts from it, and reads the contract's
    /// events into the checker's escrow book.
    pub async fn start(
        writer: CredentialsWriter,
        offer: Offer,
        store: impl AsRef<Path>,
        policy: ClaimPolicy,
    ) -> Result<Self, ClaimError> {
        let me = writer.sender();
        let current = match writer.service(me, LIGHTPUSH_SERVICE_ID).await {
            Ok(t) => Some(t),
            Err(CredentialsError::NoService { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let token = match (offer.token, current) {
            (Some(t), _) => t,
            (None, Some(c)) => c.token,
            (None, None) => {
                return Err(CredentialsError::NoService {
                    provider: me,
                    service_id: LIGHTPUSH_SERVICE_ID,
                }
                .into())
            }
        };
        let payout = offer.payout.or(current.map(|c| c.payout)).unwrap_or(me);
        let registered =
            current.map(|c| (c.token, c.price, c.payout)) != Some((token, offer.price, payout));
        if registered {
            writer.register_service(LIGHTPUSH_SERVICE_ID, token, offer.price, payout).await?;
            tracing::info!(price = %offer.price, %token, %payout, "registered the lightpush service");
        }
        let store = Arc::new(VoucherStore::open(store)?);
        let terms = ServiceTerms {
            domain: writer.domain(),
            provider: me,
            token,
            payout,
            price: offer.price,
            thaw_margin_secs: offer.thaw_margin_secs,
        };
        let checker = Arc::new(VoucherChecker::new(terms, store.served(token)?));
        let mut claimer = Claimer::new(writer, checker.clone(), store.clone(), policy, 0);
        claimer.sync().await?;
        Ok(PaidService { checker, store, claimer, terms, registered })
    }

    /// The service as registered on chain (sends nothing): for the operator's tools that claim or
    /// report while the relay is stopped. Fails with [`CredentialsError::NoService`] when none is.
    pub async fn resume(
        writer: CredentialsWriter,
        store: impl AsRef<Path>,
        policy: ClaimPolicy,
    ) -> Result<Self, ClaimError> {
        let t = writer.service(writer.sender(), LIGHTPUSH_SERVICE_ID).await?;
        let offer = Offer { token: Some(t.token), payout: Some(t.payout), ..Offer::at(t.price) };
        Self::start(writer, offer, store, policy).await
    }
}
