// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IServiceCredentials} from "../../src/interfaces/IServiceCredentials.sol";

/// @notice The EIP-712 digest of a ServiceCredentials voucher, computed from the spec (not by the contract), for
/// any chain id and verifying contract.
library VoucherDigest {
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant VOUCHER_TYPEHASH = keccak256(
        "Voucher(address payer,address provider,address token,address payout,uint256 cumulativeAmount)"
    );

    function domain(uint256 chainId, address verifyingContract) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                DOMAIN_TYPEHASH,
                keccak256("rlnkit ServiceCredentials"),
                keccak256("1"),
                chainId,
                verifyingContract
            )
        );
    }

    function digest(IServiceCredentials.Voucher memory v, uint256 chainId, address verifyingContract)
        internal
        pure
        returns (bytes32)
    {
        bytes32 structHash = keccak256(
            abi.encode(VOUCHER_TYPEHASH, v.payer, v.provider, v.token, v.payout, v.cumulativeAmount)
        );
        return keccak256(abi.encodePacked("\x19\x01", domain(chainId, verifyingContract), structHash));
    }
}
