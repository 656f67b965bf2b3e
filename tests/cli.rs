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
