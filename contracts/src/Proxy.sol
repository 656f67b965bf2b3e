// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

// Compiles OpenZeppelin's ERC1967Proxy (4.9.6) into out/ so its artifact can be exported for the
// Rust bindings and used by the deploy script.
import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";
