// RLN v2 circuit for rlnkit (written from SPEC.md §2).
//
// One Groth16 proof per message. A member proves, without revealing which leaf it owns, that
//   * its rate commitment Poseidon(Poseidon(identitySecret), userMessageLimit) is a leaf of the
//     depth-DEPTH Poseidon Merkle tree whose root is output,
//   * messageId < userMessageLimit (both range-checked to LIMIT_BIT_SIZE bits),
// and outputs the Shamir share y = identitySecret + a1 * x and the nullifier Poseidon(a1), where
// a1 = Poseidon(identitySecret, externalNullifier, messageId).
//
// Input names match the Waku network's RLN v2 circuit so one input map serves both key sets.
// Public signal order (outputs, then public inputs in declaration order):
//   [y, root, nullifier, x, externalNullifier]
pragma circom 2.1.0;

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/mux1.circom";

// Root of the Merkle path from `leaf`. pathIndex[i] is bit i of the leaf index (LSB first, leaf
// level first): 0 = the running node is the left child, 1 = it is the right child.
template MerkleRoot(DEPTH) {
    signal input leaf;
    signal input pathIndex[DEPTH];
    signal input pathElements[DEPTH];
    signal output root;

    signal node[DEPTH + 1];
    signal left[DEPTH];
    signal right[DEPTH];
    node[0] <== leaf;
    for (var i = 0; i < DEPTH; i++) {
        // A non-boolean selector would let a prover mix node and sibling into arbitrary
        // Poseidon inputs and forge membership: force it to be a bit.
        pathIndex[i] * (pathIndex[i] - 1) === 0;
        // left = bit ? sibling : node; right is the other one (linear, costs no constraint).
        left[i] <== Mux1()([node[i], pathElements[i]], pathIndex[i]);
        right[i] <== node[i] + pathElements[i] - left[i];
        node[i + 1] <== Poseidon(2)([left[i], right[i]]);
    }
    root <== node[DEPTH];
}

// Enforces messageId < userMessageLimit, both proven to fit in LIMIT_BIT_SIZE bits (LessThan is
// only sound when both operands are below 2^LIMIT_BIT_SIZE).
template MessageIdInRange(LIMIT_BIT_SIZE) {
    signal input messageId;
    signal input userMessageLimit;

    signal idBits[LIMIT_BIT_SIZE] <== Num2Bits(LIMIT_BIT_SIZE)(messageId);
    signal limitBits[LIMIT_BIT_SIZE] <== Num2Bits(LIMIT_BIT_SIZE)(userMessageLimit);
    signal below <== LessThan(LIMIT_BIT_SIZE)([messageId, userMessageLimit]);
    below === 1;
}

template RLN(DEPTH, LIMIT_BIT_SIZE) {
    // Private inputs.
    signal input identitySecret;
    signal input userMessageLimit;
    signal input messageId;
    signal input pathElements[DEPTH];
    signal input identityPathIndex[DEPTH];
    // Public inputs.
    signal input x;
    signal input externalNullifier;

    // Public outputs.
    signal output y;
    signal output root;
    signal output nullifier;

    // Membership: leaf = rate commitment.
    signal idCommitment <== Poseidon(1)([identitySecret]);
    signal rateCommitment <== Poseidon(2)([idCommitment, userMessageLimit]);
    root <== MerkleRoot(DEPTH)(rateCommitment, identityPathIndex, pathElements);

    // Rate limit: this is message number messageId of at most userMessageLimit per epoch.
    MessageIdInRange(LIMIT_BIT_SIZE)(messageId, userMessageLimit);

    // Shamir share on the line through (0, identitySecret) with slope a1.
    signal a1 <== Poseidon(3)([identitySecret, externalNullifier, messageId]);
    y <== identitySecret + a1 * x;

    nullifier <== Poseidon(1)([a1]);
}

component main {public [x, externalNullifier]} = RLN(20, 16);
