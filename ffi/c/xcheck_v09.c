/*
 * One C source against zerokit v0.9's Buffer ABI, linked against either rlnkit's librln.a
 * (feature v09) or zerokit 0.9.0's (scripts/zerokit-crosscheck.sh):
 *   xcheck_v09 values          print Poseidon, seeded keys, root and proof values (must agree)
 *   xcheck_v09 prove FILE      write `proof<128> | values<160> | signal_len<8> | signal` to FILE
 *   xcheck_v09 verify FILE     verify FILE's proof against the member's root (exit 0 iff valid)
 * Output buffers are never freed: v0.9 has no free function (nwaku leaks them too).
 */
#define RLNKIT_ZEROKIT_V09 1
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rlnkit.h"

static const char *SIGNAL = "cross-checked message";

static Buffer buf(const void *p, size_t n) {
    Buffer b = {(const uint8_t *)p, n};
    return b;
}

static void hex(const char *name, const uint8_t *p, size_t n) {
    printf("%s ", name);
    for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
    printf("\n");
}

static void poseidon(const uint8_t *a, const uint8_t *b, uint8_t out[32]) {
    uint8_t in[8 + 64] = {2};
    memcpy(in + 8, a, 32);
    if (b) memcpy(in + 40, b, 32);
    else in[0] = 1;
    Buffer i = buf(in, b ? 72 : 40), o = {0};
    if (!poseidon_hash(&i, &o, true) || o.len != 32) exit(2);
    memcpy(out, o.ptr, 32);
}

/* witness: secret | limit | message_id | path<8+20*32> | bits<8+20> | x | ext; and the root. */
static size_t witness(uint8_t *w, uint8_t root[32], uint8_t x[32]) {
    const char *seed = "rlnkit zerokit cross-check v0.9";
    Buffer s = buf(seed, strlen(seed)), k = {0};
    if (!seeded_extended_key_gen(&s, &k, true) || k.len != 128) exit(2);
    const uint8_t *secret = k.ptr + 64, *commitment = k.ptr + 96;
    uint8_t limit[32] = {100}, id[32] = {4}, node[32], z[32] = {0}, next[32];
    poseidon(commitment, limit, node);
    size_t o = 0;
    memcpy(w + o, secret, 32), o += 32;
    memcpy(w + o, limit, 32), o += 32;
    memcpy(w + o, id, 32), o += 32;
    memset(w + o, 0, 8), w[o] = 20, o += 8;
    for (int i = 0; i < 20; i++) {
        memcpy(w + o + 32 * i, z, 32);
        poseidon(node, z, next);
        memcpy(node, next, 32);
        poseidon(z, z, next);
        memcpy(z, next, 32);
    }
    o += 20 * 32;
    memset(w + o, 0, 8 + 20), w[o] = 20, o += 8 + 20;
    memcpy(root, node, 32);
    Buffer sig = buf(SIGNAL, strlen(SIGNAL)), h = {0};
    if (!hash(&sig, &h, true) || h.len != 32) exit(2);
    memcpy(x, h.ptr, 32);
    memcpy(w + o, x, 32), o += 32;
    uint8_t epoch[32] = {0x35, 0x3b, 0x2b}, rln_id[32] = {7};
    poseidon(epoch, rln_id, w + o), o += 32;
    return o;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    struct RLN *ctx = NULL;
    const char *config = "{}";
    Buffer cfg = buf(config, strlen(config));
    if (!new(20, &cfg, &ctx) || !ctx) {
        fprintf(stderr, "new failed\n");
        return 2;
    }
    uint8_t w[2048], root[32], x[32];
    size_t wlen = witness(w, root, x);
    if (strcmp(argv[1], "values") == 0) {
        uint8_t one[32] = {1}, two[32] = {2}, h[32];
        poseidon(one, two, h);
        hex("poseidon(1,2)", h, 32);
        uint8_t nonc[32];
        memset(nonc, 0xff, 32);
        poseidon(nonc, NULL, h); /* v0.9 reduces 2^256-1 mod r */
        hex("poseidon(2^256-1 mod r)", h, 32);
        hex("root", root, 32);
        Buffer in = buf(w, wlen), out = {0};
        if (!generate_rln_proof_with_witness(ctx, &in, &out) || out.len != 288) return 2;
        hex("values", out.ptr + 128, 160);
    } else if (strcmp(argv[1], "prove") == 0 && argc > 2) {
        Buffer in = buf(w, wlen), out = {0};
        if (!generate_rln_proof_with_witness(ctx, &in, &out) || out.len != 288) {
            fprintf(stderr, "prove failed\n");
            return 2;
        }
        FILE *f = fopen(argv[2], "wb");
        uint64_t n = strlen(SIGNAL);
        uint8_t len[8];
        for (int i = 0; i < 8; i++) len[i] = (uint8_t)(n >> (8 * i));
        fwrite(out.ptr, 1, 288, f);
        fwrite(len, 1, 8, f);
        fwrite(SIGNAL, 1, n, f);
        fclose(f);
        printf("wrote a 288-byte proof\n");
    } else if (strcmp(argv[1], "verify") == 0 && argc > 2) {
        uint8_t p[1024];
        FILE *f = fopen(argv[2], "rb");
        if (!f) return 2;
        size_t n = fread(p, 1, sizeof p, f);
        fclose(f);
        Buffer proof = buf(p, n), roots = buf(root, 32);
        bool valid = false;
        if (!verify_with_roots(ctx, &proof, &roots, &valid)) return 2;
        printf("verify: %s\n", valid ? "valid" : "INVALID");
        return valid ? 0 : 1;
    }
    return 0;
}
