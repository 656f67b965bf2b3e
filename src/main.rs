//! The `rlnkit` command line: parses arguments and dispatches to `rlnkit::cli`.
use std::process::ExitCode;

fn main() -> ExitCode {
    rlnkit_cli::main()
}

#[path = "cli/mod.rs"]
mod rlnkit_cli;
