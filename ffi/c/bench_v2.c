/*
 * Timing harness through zerokit's v2 C ABI: one source, linked against rlnkit's librln.a or
 * zerokit 2.0.2's, run one after the other on the same machine (make ffi-bench):
 *   proof              ffi_generate_rln_proof (a member's first message)
 *   next-message proof ffi_finish_rln_proof with a warm partial proof (the member's next messages)
 *   verify             ffi_verify_with_roots, empty root list (the pairing and x checks)
 *   verify with roots  ffi_verify_with_roots against a window of 50 roots
 * Prints the median and mean of each in ms. usage: bench_v2 NAME [ITERATIONS]
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rlnkit.h"

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *lib, const char *op, double *t, int n) {
    double sum = 0;
    for (int i = 0; i < n; i++) sum += t[i];
    qsort(t, n, sizeof *t, cmp);
    printf("%-8s %-20s median %8.3f ms   mean %8.3f ms   (%d runs)\n", lib, op, t[n / 2], sum / n, n);
}

static void check(Vec_uint8 err, const char *what) {
    if (err.ptr) {
        fprintf(stderr, "%s: %.*s\n", what, (int)err.len, (const char *)err.ptr);
        exit(2);
    }
}

static CFr *copy(const CFr *c) {
    Vec_uint8 b = ffi_cfr_to_bytes_le(c);
    CResultCFr r = ffi_bytes_le_to_cfr(&b);
    ffi_vec_u8_free(b);
    check(r.err, "copy");
    return r.ok;
}

int main(int argc, char **argv) {
    const char *lib = argc > 1 ? argv[1] : "lib";
    int n = argc > 2 ? atoi(argv[2]) : 20;
    if (n < 3) n = 3;
    double *t = calloc((size_t)n, sizeof *t);
    CResultRln r = ffi_rln_new();
    check(r.err, "ffi_rln_new");
    FFI_RLN *rln = r.ok;

    const char *seed = "rlnkit benchmark member";
    Vec_uint8 sv = {(uint8_t *)seed, strlen(seed), strlen(seed)};
    Vec_CFr k = ffi_seeded_key_gen(&sv);
    CFr *secret = copy(ffi_vec_cfr_get(&k, 0)), *limit = ffi_uint_to_cfr(100);
    CFr *node = ffi_poseidon_hash_pair(ffi_vec_cfr_get(&k, 1), limit), *z = ffi_cfr_zero();
    ffi_vec_cfr_free(k);
    Vec_CFr path = ffi_vec_cfr_new(20);
    for (int i = 0; i < 20; i++) {
        ffi_vec_cfr_push(&path, z);
        CFr *next = ffi_poseidon_hash_pair(node, z), *zn = ffi_poseidon_hash_pair(z, z);
        ffi_cfr_free(node);
        ffi_cfr_free(z);
        node = next;
        z = zn;
    }
    ffi_cfr_free(z);
    CFr *root = node;
    uint8_t bits_raw[20] = {0};
    Vec_uint8 bits = {bits_raw, 20, 20};
    CFr *ext = ffi_uint_to_cfr(123456);

    /* one witness per iteration: message id i % 100, signal "message i" */
    FFI_RLNWitnessInput **w = calloc((size_t)n, sizeof *w);
    CFr **xs = calloc((size_t)n, sizeof *xs);
    for (int i = 0; i < n; i++) {
        char s[32];
        snprintf(s, sizeof s, "message %d", i);
        Vec_uint8 m = {(uint8_t *)s, strlen(s), strlen(s)};
        xs[i] = ffi_hash_to_field_le(&m);
        CFr *id = ffi_uint_to_cfr((uint32_t)(i % 100));
        CResultWitnessInput wi = ffi_rln_witness_input_new(secret, limit, id, &path, &bits, xs[i], ext);
        check(wi.err, "witness");
        w[i] = wi.ok;
        ffi_cfr_free(id);
    }

    /* warm-up: key tables, thread pools */
    CResultProof warm = ffi_generate_rln_proof(&rln, &w[0]);
    check(warm.err, "prove");
    ffi_rln_proof_free(warm.ok);

    FFI_RLNProof **proofs = calloc((size_t)n, sizeof *proofs);
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        CResultProof p = ffi_generate_rln_proof(&rln, &w[i]);
        t[i] = now_ms() - t0;
        check(p.err, "prove");
        proofs[i] = p.ok;
    }
    report(lib, "proof", t, n);

    CResultPartialWitnessInput pw = ffi_rln_partial_witness_input_new(secret, limit, &path, &bits);
    check(pw.err, "partial witness");
    CResultPartialProof pp = ffi_generate_partial_zk_proof(&rln, &pw.ok);
    check(pp.err, "partial proof");
    CResultProof first = ffi_finish_rln_proof(&rln, &pp.ok, &w[0]); /* fills rlnkit's member cache */
    check(first.err, "finish");
    ffi_rln_proof_free(first.ok);
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        CResultProof p = ffi_finish_rln_proof(&rln, &pp.ok, &w[i]);
        t[i] = now_ms() - t0;
        check(p.err, "finish");
        ffi_rln_proof_free(p.ok);
    }
    report(lib, "next-message proof", t, n);

    Vec_CFr no_roots = ffi_vec_cfr_new(0);
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        CBoolResult ok = ffi_verify_with_roots(&rln, &proofs[i], &no_roots, xs[i]);
        t[i] = now_ms() - t0;
        check(ok.err, "verify");
    }
    report(lib, "verify", t, n);

    Vec_CFr window = ffi_vec_cfr_new(50);
    for (uint32_t i = 0; i < 49; i++) {
        CFr *other = ffi_uint_to_cfr(1000 + i);
        ffi_vec_cfr_push(&window, other);
        ffi_cfr_free(other);
    }
    ffi_vec_cfr_push(&window, root);
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        CBoolResult ok = ffi_verify_with_roots(&rln, &proofs[i], &window, xs[i]);
        t[i] = now_ms() - t0;
        check(ok.err, "verify with roots");
    }
    report(lib, "verify with roots", t, n);

    for (int i = 0; i < n; i++) {
        ffi_rln_proof_free(proofs[i]);
        ffi_rln_witness_input_free(w[i]);
        ffi_cfr_free(xs[i]);
    }
    ffi_vec_cfr_free(no_roots);
    ffi_vec_cfr_free(window);
    ffi_rln_partial_proof_free(pp.ok);
    ffi_rln_partial_witness_input_free(pw.ok);
    ffi_vec_cfr_free(path);
    ffi_cfr_free(root);
    ffi_cfr_free(secret);
    ffi_cfr_free(limit);
    ffi_cfr_free(ext);
    ffi_rln_free(rln);
    free(proofs);
    free(w);
    free(xs);
    free(t);
    return 0;
}
