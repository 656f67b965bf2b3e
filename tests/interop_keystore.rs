//! The keystore js-waku wrote (../shared/interop/keystore, see its README): rlnkit lists it under
//! js-waku's key, finds it whatever case the contract is typed in, and opens it with the
//! documented values; a wrong password is refused.

mod common;
use common::{f, interop_dir};
use rlnkit::keystore::{membership_hash, Keystore, KeystoreError};

const KEY: &str = "4024DF8052A24A2A917CF8177F1CC7558CC298FA98BE3FB45C3AAC9668F79B39";
const CONTRACT: &str = "0xCB33Aa5B38d79E3D9Fa8B10afF38AA201399a7e3";
const PASSWORD: &str = "correct horse battery staple";

fn js_waku_keystore() -> Keystore {
    Keystore::open(interop_dir().join("keystore/js-waku-keystore.json")).expect("open it")
}

#[test]
fn js_waku_keystore_is_listed_under_its_key() {
    let ks = js_waku_keystore();
    assert_eq!(ks.list(), vec![KEY.to_string()]);
    assert_eq!(membership_hash("11155111", CONTRACT, 7), KEY);
    for typed in [CONTRACT.to_string(), CONTRACT.to_lowercase()] {
        assert_eq!(ks.find_hash(11155111, &typed, 7).as_deref(), Some(KEY), "{typed}");
    }
    assert_eq!(ks.find_hash(11155111, CONTRACT, 6), None);
}

#[test]
fn js_waku_keystore_opens_with_the_documented_values() {
    let ks = js_waku_keystore();
    let c = ks.unlock(KEY, PASSWORD.as_bytes()).unwrap();
    assert_eq!(c.contract.chain_id, "11155111");
    assert_eq!(c.contract.address, CONTRACT);
    assert_eq!(c.tree_index, 7);
    assert_eq!(c.user_message_limit, 100);
    assert_eq!(c.membership_hash(), KEY);
    let hex = |s: &str| f(&serde_json::Value::String(s.into()));
    let id = &c.identity;
    assert_eq!(
        id.trapdoor(),
        Some(hex("0x0766ce6c7e7a01bdf5b3f257616f603918c30946fa23480f2859c597817e6716"))
    );
    assert_eq!(
        id.nullifier(),
        Some(hex("0x1f18714c7bc83b5bca9e89d404cf6f2f585bc4c0f7ed8b53742b7e2b298f50b4"))
    );
    assert_eq!(
        id.secret(),
        hex("0x2aca62aaa7abaf3686fff2caf00f55ab9462dc12db5b5d4bcf3994e671f8e521")
    );
    assert_eq!(
        id.commitment(),
        hex("0x068b66aa0a8320d2e56842581553285393188714c48f9b17acd198b4f1734c5c")
    );
    // zerokit's extended seeded identity for the seed bytes 0..9, as the README says.
    let seed: Vec<u8> = (0..=9).collect();
    assert_eq!(&rlnkit::Identity::extended_from_seed(&seed), id);

    assert!(matches!(
        ks.unlock(KEY, b"correct horse battery stapler"),
        Err(KeystoreError::WrongPassword { hash }) if hash == KEY
    ));
}
