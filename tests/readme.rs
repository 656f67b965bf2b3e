//! The README is a test: every ```sh block of README.md runs here as written, top to bottom in one
//! bash shell (as a reader pastes them into one terminal), in a fresh directory with the repository's
//! `zkeys/`, `node_modules/` and `docs/` linked in, `rlnkit` on PATH and nothing else set. A documented command
//! that breaks fails CI.
//!
//! Two lines are not run, each for a stated reason:
//! - the first block (`make demo` / `make test`): `make test` is what CI runs around this test,
//!   and `make demo` is `rlnkit devnet`, which `tests/devnet.rs` runs;
//! - the `cargo build --release ...` line: this test puts the binary cargo built for the tests
//!   (same sources, test profile) on PATH instead of building a second, release profile.
//!
//! Background jobs (`&`) are stopped by the script's EXIT trap; the test signals nothing else.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One ```sh block: its first line number in README.md and its text.
struct Block {
    line: usize,
    text: String,
}

fn sh_blocks(readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    for (i, line) in readme.lines().enumerate() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(Block { line: i + 2, text: String::new() }),
            (Some(_), "```") => blocks.push(current.take().expect("open block")),
            (Some(b), l) => {
                b.text.push_str(l);
                b.text.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "README.md has an unclosed ```sh block");
    blocks
}

/// The script: the blocks in order, each announced, the build line replaced (see the module doc).
fn script(blocks: &[Block]) -> String {
    // Background jobs (anvil, relays) are stopped by the script itself when it ends, however it
    // ends: nothing outside the script is ever signalled.
    let mut s =
        String::from("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n");
    for b in blocks {
        if b.text.starts_with("make demo") {
            continue;
        }
        s.push_str(&format!("echo '=== README.md line {}' >&2\nset -x\n", b.line));
        for line in b.text.lines() {
            if line.starts_with("cargo build --release") {
                s.push_str("# (cargo build --release: the test's binary is on PATH)\n");
            } else {
                s.push_str(line);
                s.push('\n');
            }
        }
        s.push_str("set +x\n");
    }
    s.push_str("echo '=== README.md: every block ran' >&2\n");
    s
}

#[test]
fn blocks_are_found_in_order() {
    let b =
        sh_blocks("x\n```sh\nmake demo\n```\ntext\n```sh\na\nb \\\n  c\n```\n```rust\nno\n```\n");
    assert_eq!(b.len(), 2);
    assert_eq!((b[1].line, b[1].text.as_str()), (7, "a\nb \\\n  c\n"));
    let s = script(&b);
    assert!(!s.contains("make demo") && s.contains("a\nb \\\n  c\n"), "{s}");
}

#[test]
fn every_readme_command_block_runs_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let blocks = sh_blocks(&readme);
    assert!(blocks.len() >= 5, "README.md lost its command blocks");
    let dir = tempfile::tempdir().expect("temp dir");
    // The repository paths the README names, as a reader in the repository root has them.
    for linked in ["zkeys", "node_modules", "docs"] {
        std::os::unix::fs::symlink(root.join(linked), dir.path().join(linked)).expect("link");
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_rlnkit"));
    let node_bin = root.join("node_modules/.bin");
    assert!(
        node_bin.join("anvil").exists(),
        "node_modules/.bin/anvil is missing: run `npm ci` (make test does)"
    );
    let path = format!(
        "{}:{}",
        bin.parent().expect("bin dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script_path = dir.path().join("readme.sh");
    // Files, not pipes: a chatty background job must never block on a full pipe.
    let (out_path, err_path) = (dir.path().join("stdout.log"), dir.path().join("stderr.log"));
    std::fs::write(&script_path, script(&blocks)).expect("write script");
    let mut child = Command::new("bash")
        .arg(&script_path)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", path)
        .env("HOME", dir.path())
        .env("RLNKIT_CACHE_DIR", dir.path().join(".cache"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("bash");
    let pgid = child.id();
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    if status.is_none() {
        // Timed out: stop the shell (its EXIT trap stops its jobs).
        let _ = Command::new("kill").args(["-TERM", &pgid.to_string()]).status();
    }
    let _ = child.wait();
    let out = std::fs::read_to_string(&out_path).unwrap_or_default();
    let err = std::fs::read_to_string(&err_path).unwrap_or_default();
    let tail = |s: &str| {
        s.lines()
            .rev()
            .take(80)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    };
    match status {
        Some(s) if s.success() => {
            assert!(err.contains("every block ran"), "the script ended early:\n{}", tail(&err));
        }
        Some(s) => panic!(
            "a README command failed ({s}); the trace ends with the failing line:\n--- stderr\n{}\n--- stdout\n{}",
            tail(&err),
            tail(&out)
        ),
        None => panic!("the README blocks did not finish in 600 s:\n{}", tail(&err)),
    }
}
