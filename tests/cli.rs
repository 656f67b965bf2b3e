//! The `rlnkit` binary as a user runs it: identities, prove, verify, recover, exit codes, --json.

use std::path::Path;
use std::process::{Command, Output};

fn rlnkit(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rlnkit"))
        .current_dir(dir)
        .args(args)
        .env_remove("RLNKIT_IDENTITY_SECRET")
        .output()
        .expect("run rlnkit")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn prove_verify_recover_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // Identities: alice saved to a file, others as leaves of the members file.
    let out = rlnkit(
        d,
        &["id", "new", "--seed", "alice", "--limit", "3", "--out", "alice.json", "--json"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let alice = json(&out);
    assert_eq!(alice["success"], true);
    let leaf = alice["data"]["rate_commitment"].as_str().unwrap().to_string();
    // Refuses to overwrite an identity file.
    assert_eq!(rlnkit(d, &["id", "new", "--out", "alice.json"]).status.code(), Some(2));

    let mut members = String::from("# rate commitments, one per line\n");
    for i in 0..5 {
        let o =
            json(&rlnkit(d, &["id", "new", "--seed", &format!("m{i}"), "--limit", "3", "--json"]));
        members += o["data"]["rate_commitment"].as_str().unwrap();
        members += "\n";
    }
    members += &leaf;
    members += "\n";
    std::fs::write(d.join("members.txt"), members).unwrap();

    let prove = |signal: &str, out: &str| {
        let o = rlnkit(
            d,
            &[
                "prove",
                "--identity",
                "alice.json",
                "--limit",
                "3",
                "--message-id",
                "1",
                "--epoch",
                "42",
                "--members",
                "members.txt",
                "--signal",
                signal,
                "--out",
                out,
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    prove("hello", "p1.json");
    prove("again", "p2.json");

    let ok = rlnkit(
        d,
        &[
            "verify",
            "--proof",
            "p1.json",
            "--signal",
            "hello",
            "--members",
            "members.txt",
            "--epoch",
            "42",
            "--json",
        ],
    );
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(json(&ok)["data"]["valid"], true);
    // Wrong signal, wrong root, wrong epoch: rejected with exit code 1.
    assert_eq!(
        rlnkit(
            d,
            &["verify", "--proof", "p1.json", "--signal", "hellO", "--members", "members.txt"]
        )
        .status
        .code(),
        Some(1)
    );
    assert_eq!(
        rlnkit(d, &["verify", "--proof", "p1.json", "--signal", "hello", "--root", "1"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        rlnkit(
            d,
            &[
                "verify",
                "--proof",
                "p1.json",
                "--signal",
                "hello",
                "--members",
                "members.txt",
                "--epoch",
                "43"
            ]
        )
        .status
        .code(),
        Some(1)
    );

    // Two messages with one message id in one epoch reveal alice's secret.
    let rec = json(&rlnkit(d, &["recover", "p1.json", "p2.json", "--json"]));
    assert_eq!(rec["data"]["id_commitment"], alice["data"]["commitment"]);

    // Bad input is an error (exit 2) that names the problem.
    let bad = rlnkit(
        d,
        &[
            "prove",
            "--identity",
            "alice.json",
            "--limit",
            "3",
            "--message-id",
            "3",
            "--members",
            "members.txt",
            "--signal",
            "x",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr)
        .contains("message id 3 is not below the user message limit 3"));
    let missing =
        rlnkit(d, &["verify", "--proof", "nope.json", "--signal", "x", "--root", "1", "--json"]);
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(json(&missing)["success"], false);
}

/// rlnkit with RLNKIT_KEYSTORE_PASSWORD set (the keystore commands read the password from it).
fn rlnkit_pw(dir: &Path, args: &[&str], password: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rlnkit"))
        .current_dir(dir)
        .args(args)
        .env_remove("RLNKIT_IDENTITY_SECRET")
        .env_remove("RUST_LOG")
        .env("RLNKIT_KEYSTORE_PASSWORD", password)
        .output()
        .expect("run rlnkit")
}

/// js-waku's key for chain 11155111, this contract as given, index 7 (../shared/interop/keystore).
const JS_WAKU_KEY: &str = "4024DF8052A24A2A917CF8177F1CC7558CC298FA98BE3FB45C3AAC9668F79B39";
const SEPOLIA_CONTRACT: &str = "0xCB33Aa5B38d79E3D9Fa8B10afF38AA201399a7e3";

#[test]
fn keystore_lists_and_opens_a_js_waku_keystore() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/interop/keystore/js-waku-keystore.json");
    assert!(file.exists(), "interop fixture missing: {}", file.display());
    let file = file.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    let list = rlnkit(d, &["keystore", "list", "--path", file, "--json"]);
    assert!(list.status.success(), "{}", String::from_utf8_lossy(&list.stderr));
    assert_eq!(json(&list)["data"]["credentials"], serde_json::json!([JS_WAKU_KEY]));

    // By membership, with the contract typed in lowercase; then by hash (any case).
    let pw = "correct horse battery staple";
    let lower = SEPOLIA_CONTRACT.to_lowercase();
    let by_membership = [
        "keystore",
        "show",
        "--path",
        file,
        "--chain-id",
        "11155111",
        "--contract",
        &lower,
        "--index",
        "7",
        "--json",
    ];
    let by_hash_lower = JS_WAKU_KEY.to_lowercase();
    let by_hash = ["keystore", "show", "--path", file, &by_hash_lower, "--json"];
    for args in [&by_membership[..], &by_hash[..]] {
        let out = rlnkit_pw(d, args, pw);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let data = &json(&out)["data"];
        assert_eq!(data["hash"], JS_WAKU_KEY);
        assert_eq!(data["chain_id"], "11155111");
        assert_eq!(data["contract"], SEPOLIA_CONTRACT);
        assert_eq!(data["tree_index"], 7);
        assert_eq!(data["user_message_limit"], 100);
        let commitment = |v: &serde_json::Value| rlnkit::Field::parse(v.as_str().unwrap()).unwrap();
        assert_eq!(
            commitment(&data["id_commitment"]),
            commitment(
                &"0x068b66aa0a8320d2e56842581553285393188714c48f9b17acd198b4f1734c5c".into()
            )
        );
    }

    let wrong = rlnkit_pw(d, &by_hash, "correct horse battery");
    assert_eq!(wrong.status.code(), Some(2));
    let msg = json(&wrong)["errors"][0]["message"].as_str().unwrap().to_string();
    assert!(msg.contains(&format!("wrong password for credential {JS_WAKU_KEY}")), "{msg}");
    let absent = rlnkit_pw(
        d,
        &[
            "keystore",
            "show",
            "--path",
            file,
            "--chain-id",
            "1",
            "--contract",
            &lower,
            "--index",
            "7",
        ],
        pw,
    );
    assert_eq!(absent.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&absent.stderr).contains("no credential"));
}

#[test]
fn keystore_new_keeps_an_extended_identity_under_js_wakus_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = rlnkit(d, &["id", "new", "--seed", "carol", "--extended", "--out", "carol.json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let carol: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("carol.json")).unwrap()).unwrap();
    assert!(carol["trapdoor"].is_string() && carol["nullifier"].is_string());

    // A password beyond ASCII, as a keyboard types it (NFC): rlnkit warns that js-waku, which
    // normalizes to NFKD, will not open the file with it; nwaku and rlnkit will.
    let pw = "p\u{e4}ssw\u{f6}rd";
    let new = |path: &str, identity: &str| {
        rlnkit_pw(
            d,
            &[
                "keystore",
                "new",
                "--path",
                path,
                "--chain-id",
                "11155111",
                "--contract",
                SEPOLIA_CONTRACT,
                "--index",
                "7",
                "--limit",
                "100",
                "--identity",
                identity,
                "--kdf-rounds",
                "4",
                "--json",
            ],
            pw,
        )
    };
    let out = new("ks.json", "carol.json");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["data"]["hash"], JS_WAKU_KEY, "filed under the address as given");
    assert!(String::from_utf8_lossy(&out.stderr).contains("NFKD"));

    let show = rlnkit_pw(
        d,
        &["keystore", "show", "--path", "ks.json", JS_WAKU_KEY, "--reveal-secret", "--json"],
        pw,
    );
    assert!(show.status.success(), "{}", String::from_utf8_lossy(&show.stderr));
    let identity = &json(&show)["data"]["identity"];
    for part in ["trapdoor", "nullifier", "secret", "commitment"] {
        assert_eq!(identity[part], carol[part], "{part}");
    }
    let plain_file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("ks.json")).unwrap()).unwrap();
    assert!(plain_file["credentials"][JS_WAKU_KEY].is_object());

    // The same membership again, in lowercase: a duplicate, not a second credential.
    let again = rlnkit_pw(
        d,
        &[
            "keystore",
            "new",
            "--path",
            "ks.json",
            "--chain-id",
            "11155111",
            "--contract",
            &SEPOLIA_CONTRACT.to_lowercase(),
            "--index",
            "7",
            "--limit",
            "100",
            "--kdf-rounds",
            "4",
        ],
        pw,
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

    // A hand-edited identity whose parts disagree is refused, not silently rebuilt.
    let mut bad = carol.clone();
    bad["trapdoor"] = carol["nullifier"].clone();
    std::fs::write(d.join("bad.json"), bad.to_string()).unwrap();
    let out = new("other.json", "bad.json");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("do not hash to its secret"));
    assert!(!d.join("other.json").exists());
}

/// An endpoint that does not answer is the RPC layer's error whatever the client: each command
/// names it and the flag that fixes it, and exits 2 (an error, not a rejection).
#[test]
fn a_dead_endpoint_names_the_flag_that_fixes_it() {
    let dir = tempfile::tempdir().unwrap();
    let dead = "http://127.0.0.1:1";
    let addr = "0x0000000000000000000000000000000000000001";
    for args in [
        vec!["chain", "status", "--rpc", dead],
        vec!["membership", "info", "--rpc", dead, "--contract", addr, "1"],
        vec!["credentials", "balance", "--rpc", dead, "--credentials", addr, "--provider", addr],
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rlnkit"));
        cmd.current_dir(dir.path()).args(&args);
        for var in ["RLNKIT_RPC_URL", "RLNKIT_CONTRACT", "RLNKIT_CREDENTIALS", "RLNKIT_CHAIN_ID"] {
            cmd.env_remove(var);
        }
        let out = cmd.output().expect("run rlnkit");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("check --rpc"), "{args:?}: {err}");
        assert!(
            err.contains("cannot reach the RPC endpoint http://127.0.0.1:1"),
            "{args:?}: {err}"
        );
    }
}
