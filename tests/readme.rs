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
//!
//! The examples of every `--help` are README commands (`every_help_example_is_a_readme_command`),
//! so they run here too, as written.

use std::collections::BTreeSet;
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

/// A command as a reader would type it: continuation lines joined, the trailing `# comment`
/// dropped, runs of whitespace made one space.
fn normalize(command: &str) -> String {
    let joined = command.replace("\\\n", " ");
    let code = match joined.find(" #") {
        Some(i) => &joined[..i],
        None => &joined[..],
    };
    code.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every command line of the blocks (continuations joined, comment lines skipped), normalized.
fn readme_commands(blocks: &[Block]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for b in blocks {
        let mut pending = String::new();
        for line in b.text.lines() {
            pending.push_str(line);
            if line.ends_with('\\') {
                pending.push('\n');
                continue;
            }
            let c = normalize(&pending);
            if !c.is_empty() && !c.starts_with('#') {
                out.insert(c);
            }
            pending.clear();
        }
    }
    out
}

/// The example commands of one `--help` text: the indented lines under an `Example:` or
/// `Examples:` heading (which may say more in parentheses), continuations joined.
fn help_examples(help: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_examples = false;
    let mut pending = String::new();
    for line in help.lines() {
        let heading = line.starts_with("Example") && line.ends_with(':');
        if heading {
            in_examples = true;
            continue;
        }
        if !in_examples {
            continue;
        }
        let Some(code) = line.strip_prefix("  ") else {
            in_examples = false;
            continue;
        };
        pending.push_str(code);
        if code.ends_with('\\') {
            pending.push('\n');
            continue;
        }
        out.push(normalize(&pending));
        pending.clear();
    }
    out
}

/// `rlnkit <path> --help`, and the names of its subcommands.
fn help_of(bin: &Path, path: &[String]) -> (String, Vec<String>) {
    let out = Command::new(bin).args(path).arg("--help").env("NO_COLOR", "1").output().unwrap();
    assert!(out.status.success(), "rlnkit {} --help failed", path.join(" "));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut subs = Vec::new();
    let mut in_commands = false;
    for line in text.lines() {
        if line == "Commands:" {
            in_commands = true;
        } else if in_commands {
            // Subcommands are listed with two spaces; their wrapped descriptions with more.
            match line.strip_prefix("  ") {
                Some(rest) if !rest.starts_with(' ') => {
                    let name = rest.split_whitespace().next().unwrap_or("");
                    if name != "help" {
                        subs.push(name.to_string());
                    }
                }
                Some(_) => {}
                None => in_commands = false,
            }
        }
    }
    (text, subs)
}

#[test]
fn help_examples_are_found_with_their_continuations() {
    let help = "Usage: x\n\nExample (the chain running):\n  rlnkit a --b \\\n    --c d   # note\n  PEER=$(x)\n\nConfig:\n  not = \"this\"\n";
    assert_eq!(help_examples(help), ["rlnkit a --b --c d", "PEER=$(x)"]);
    let blocks = sh_blocks("```sh\n# a comment\nrlnkit a --b \\\n    --c d   # same\n```\n");
    assert_eq!(readme_commands(&blocks).into_iter().collect::<Vec<_>>(), ["rlnkit a --b --c d"]);
}

/// A documented command is a tested command: every example any `--help` shows is a command of
/// README.md, which `every_readme_command_block_runs_as_written` runs.
#[test]
fn every_help_example_is_a_readme_command() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let commands = readme_commands(&sh_blocks(&readme));
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_rlnkit"));
    let mut todo: Vec<Vec<String>> = vec![vec![]];
    let (mut seen, mut missing) = (0, Vec::new());
    while let Some(path) = todo.pop() {
        let (text, subs) = help_of(&bin, &path);
        for e in help_examples(&text) {
            seen += 1;
            if !commands.contains(&e) {
                missing.push(format!("rlnkit {} --help: {e}", path.join(" ")));
            }
        }
        todo.extend(subs.into_iter().map(|s| [path.clone(), vec![s]].concat()));
    }
    assert!(seen >= 20, "only {seen} examples found: has the help format changed?");
    assert!(
        missing.is_empty(),
        "--help examples that README.md does not run:\n{}",
        missing.join("\n")
    );
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
