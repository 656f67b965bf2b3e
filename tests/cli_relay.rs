//! `rlnkit relay run` and `rlnkit relay publish` through the binary, as an operator and a
//! publisher run them: a relay on a members file accepts what `relay publish` sends with that
//! file, with the embedded keys and with the Waku network's; message ids are kept between runs, so
//! a second publish in the epoch takes the next id and a publisher at its limit is refused instead
//! of double-signalling. Also `id inspect` and the errors a newcomer meets first.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rlnkit::service::RelayReady;

fn rlnkit(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rlnkit"))
        .args(args)
        .current_dir(dir)
        .env("RLNKIT_CACHE_DIR", dir.join(".cache"))
        .env_remove("RLNKIT_KEYS")
        .output()
        .expect("run rlnkit")
}

fn ok(out: &Output) -> String {
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "rlnkit failed ({}):\n{stdout}\n{stderr}", out.status);
    stdout.into_owned()
}

/// A `relay run` child killed (with its process) on drop.
struct RelayChild(Child);

impl Drop for RelayChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_relay(dir: &Path, keys: Option<&Path>, name: &str) -> (RelayChild, RelayReady) {
    let ready = dir.join(format!("{name}.ready.json"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rlnkit"));
    if let Some(k) = keys {
        cmd.arg("--keys").arg(k);
    }
    cmd.args(["relay", "run", "--members", "members.txt", "--listen", "/ip4/127.0.0.1/tcp/0"])
        .args(["--metrics-port", "0", "--data-dir"])
        .arg(dir.join(format!("{name}-data")))
        .arg("--ready-file")
        .arg(&ready)
        .current_dir(dir)
        .env("RLNKIT_CACHE_DIR", dir.join(".cache"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = RelayChild(cmd.spawn().expect("relay run"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(r) = RelayReady::read(&ready).expect("ready file") {
            return (child, r);
        }
        assert!(Instant::now() < deadline, "relay {name} wrote no ready file in 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One line of the relay's Prometheus text.
fn metric(ready: &RelayReady, name: &str) -> f64 {
    let addr = ready.metrics.expect("metrics address");
    let mut s = std::net::TcpStream::connect(addr).expect("metrics server");
    write!(s, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn publish(dir: &Path, keys: Option<&Path>, peer: &str, limit: &str, payload: &str) -> Output {
    let mut args: Vec<String> = Vec::new();
    if let Some(k) = keys {
        args.extend(["--keys".into(), k.display().to_string()]);
    }
    args.extend(
        [
            "--json",
            "relay",
            "publish",
            "--identity",
            "alice.json",
            "--limit",
            limit,
            "--members",
            "members.txt",
            "--peer",
            peer,
            "--content-topic",
            "/test/1/chat/proto",
            "--payload",
            payload,
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    rlnkit(dir, &args)
}

fn setup(dir: &Path, limit: &str) {
    ok(&rlnkit(dir, &["id", "new", "--seed", "alice", "--out", "alice.json"]));
    let leaf = ok(&rlnkit(
        dir,
        &["id", "inspect", "alice.json", "--limit", limit, "--get", "rate_commitment"],
    ));
    std::fs::write(dir.join("members.txt"), leaf).unwrap();
}

fn published_and_accepted(keys: Option<&Path>) {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), "2");
    let (_relay, ready) = start_relay(dir.path(), keys, "relay");
    let peer = ready.dial_addrs()[0].to_string();
    let first = publish(dir.path(), keys, &peer, "2", "hello");
    let v1: serde_json::Value = serde_json::from_str(&ok(&first)).unwrap();
    assert_eq!(v1["data"]["message_id"], 0, "{v1}");
    // The relay accepted it (its own validator judged it valid, the relay's too).
    let deadline = Instant::now() + Duration::from_secs(20);
    while metric(&ready, "waku_rln_valid_messages_total") < 1.0 {
        assert!(Instant::now() < deadline, "the relay did not accept the published message");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A second run in the same epoch takes the next id (kept in alice.json.msgids.json) ...
    let second = publish(dir.path(), keys, &peer, "2", "again");
    let v2: serde_json::Value = serde_json::from_str(&ok(&second)).unwrap();
    let same_epoch = v2["data"]["epoch"] == v1["data"]["epoch"];
    assert_eq!(v2["data"]["message_id"], if same_epoch { 1 } else { 0 }, "{v1} {v2}");
    // ... and at the limit the publisher refuses rather than double-signal (unless the epoch
    // just turned, when the third message is the new epoch's first).
    let third = publish(dir.path(), keys, &peer, "2", "too many");
    if third.status.success() {
        // Only a new epoch gives a third message an id.
        let v3: serde_json::Value = serde_json::from_slice(&third.stdout).unwrap();
        assert_ne!(v3["data"]["epoch"], v2["data"]["epoch"], "a third id in one epoch: {v3}");
    } else {
        let err = String::from_utf8_lossy(&third.stdout);
        assert!(err.contains("rate limit reached"), "{err}");
    }
    assert_eq!(metric(&ready, "waku_rln_spam_messages_total"), 0.0, "no double signal");
}

#[test]
fn relay_publish_is_accepted_with_the_embedded_keys() {
    published_and_accepted(None);
}

#[test]
fn relay_publish_is_accepted_with_the_waku_networks_keys() {
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("zkeys/waku-rln-v2");
    published_and_accepted(Some(&keys));
}

#[test]
fn id_inspect_shows_commitments_and_the_secret_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&rlnkit(d, &["id", "new", "--seed", "bob", "--out", "bob.json"]));
    let text = ok(&rlnkit(d, &["id", "inspect", "bob.json", "--limit", "10"]));
    assert!(text.contains("id commitment") && text.contains("rate commitment"), "{text}");
    assert!(!text.contains("secret"), "the secret is shown only with --show-secret: {text}");
    let v: serde_json::Value =
        serde_json::from_str(&ok(&rlnkit(d, &["--json", "id", "inspect", "bob.json"]))).unwrap();
    assert!(v["data"].get("secret").is_none(), "{v}");
    let shown = ok(&rlnkit(d, &["id", "inspect", "bob.json", "--show-secret"]));
    assert!(shown.contains("secret"), "{shown}");
    // The leaf depends on the limit: two limits, two leaves.
    let leaf = |l: &str| {
        ok(&rlnkit(d, &["id", "inspect", "bob.json", "--limit", l, "--get", "rate_commitment"]))
    };
    assert_ne!(leaf("10"), leaf("20"));
    let no_limit = rlnkit(d, &["id", "inspect", "bob.json", "--get", "rate_commitment"]);
    assert_eq!(no_limit.status.code(), Some(2));
}

#[test]
fn missing_files_are_named_as_missing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out =
        rlnkit(d, &["verify", "--proof", "/nonexistent", "--signal", "x", "--members", "m.txt"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("/nonexistent does not exist"), "{err}");
    let out = rlnkit(d, &["id", "inspect", "nobody.json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("identity file nobody.json does not exist"), "{err}");
}
