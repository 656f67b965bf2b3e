//! Paid service credentials (WAKU2-INCENTIVIZATION): a request carries an `EligibilityProof`, the
//! response an `EligibilityStatus` (200 OK or 402 PAYMENT_REQUIRED). Here the proof of payment is
//! an RLN proof (the 288-byte blob) of membership in the set of clients who prepaid: the service
//! checks it against that set's roots and the request, and rate-limits clients by its nullifier.

use prost::Message as _;

use crate::field::Field;
use crate::proof::RlnProof;
use crate::roots::AcceptedRoots;
use crate::verifier::Verifier;

/// 200: the client is eligible.
pub const STATUS_OK: u32 = 200;
/// 402: no (valid) proof of payment.
pub const STATUS_PAYMENT_REQUIRED: u32 = 402;

/// EligibilityProof { optional bytes proof_of_payment = 1 }.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EligibilityProof {
    /// The proof of payment (here: the 288-byte RLN proof blob).
    #[prost(bytes = "vec", optional, tag = "1")]
    pub proof_of_payment: Option<Vec<u8>>,
}

/// EligibilityStatus { optional uint32 status_code = 1; optional string status_desc = 2 }.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EligibilityStatus {
    /// 200 or 402.
    #[prost(uint32, optional, tag = "1")]
    pub status_code: Option<u32>,
    /// A short description.
    #[prost(string, optional, tag = "2")]
    pub status_desc: Option<String>,
}

impl EligibilityStatus {
    fn new(code: u32, desc: &str) -> Self {
        EligibilityStatus { status_code: Some(code), status_desc: Some(desc.to_string()) }
    }
    /// Whether the status is 200 (eligible).
    pub fn is_ok(&self) -> bool {
        self.status_code == Some(STATUS_OK)
    }
}

/// Checks an encoded `EligibilityProof` for a request (`signal`: the request bytes the proof is
/// bound to) against the roots of the prepaid-clients set. Returns the status to send back and,
/// when eligible, the proof's nullifier (for the caller's per-client rate limiting).
pub fn check_eligibility(
    verifier: &Verifier,
    encoded: &[u8],
    signal: &[u8],
    paid_roots: &(impl AcceptedRoots + ?Sized),
) -> (EligibilityStatus, Option<Field>) {
    let payment_required = |d: &str| (EligibilityStatus::new(STATUS_PAYMENT_REQUIRED, d), None);
    if encoded.len() > 4096 {
        return payment_required("eligibility proof too large");
    }
    let Ok(p) = EligibilityProof::decode(encoded) else {
        return payment_required("malformed eligibility proof");
    };
    let Some(bytes) = p.proof_of_payment else { return payment_required("PAYMENT_REQUIRED") };
    let proof = match RlnProof::from_bytes(&bytes) {
        Ok(p) => p,
        Err(e) => return payment_required(&format!("proof of payment: {e}")),
    };
    match verifier.verify(&proof, signal, paid_roots) {
        Ok(()) => (EligibilityStatus::new(STATUS_OK, "OK"), Some(proof.values.nullifier)),
        Err(e) => payment_required(&format!("proof of payment rejected: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_and_rejections() {
        let p = EligibilityProof { proof_of_payment: Some(vec![1, 2]) };
        assert_eq!(p.encode_to_vec(), vec![0x0a, 2, 1, 2]);
        let s = EligibilityStatus::new(402, "x");
        assert_eq!(s.encode_to_vec(), vec![0x08, 0x92, 0x03, 0x12, 1, b'x']);
        let v = Verifier::new(&crate::circuit::embedded_verifying_key());
        let roots: Vec<Field> = vec![Field::ONE];
        let (st, n) =
            check_eligibility(&v, &EligibilityProof::default().encode_to_vec(), b"req", &roots[..]);
        assert_eq!((st.status_code, n), (Some(STATUS_PAYMENT_REQUIRED), None));
        let (st, _) = check_eligibility(&v, &p.encode_to_vec(), b"req", &roots[..]);
        assert!(!st.is_ok());
        let (st, _) = check_eligibility(&v, &[0xff, 0xff], b"req", &roots[..]);
        assert!(!st.is_ok());
    }
}
