//! # rlnkit as a C library
//!
//! `librln.a` / `librln.so` with three C ABIs over one Rust implementation:
//! - [`zerokit`]: zerokit v2.0.2's `stateless` `ffi_*` functions (what nwaku's main branch
//!   links), same names, layouts and ownership;
//! - `v09` (feature `v09`): zerokit v0.9's `Buffer` functions (what released nwaku links);
//! - [`api`]: rlnkit's own C API (`rlnkit_*`, header `include/rlnkit.h`): keys, a per-member
//!   prover, verification against a root window (single and batched), the relay validator.
//!
//! By default the library proves and verifies with the Waku network's keys (`zkeys/waku-rln-v2/`,
//! built in), as zerokit does. No function panics across the boundary, frees what the caller
//! owns, or accepts a null pointer silently; see docs/C-LIBRARY.md.

pub mod api;
pub mod keys;
pub mod types;
#[cfg(feature = "v09")]
pub mod v09;
pub mod zerokit;
