/* fuzz_decode.c — libFuzzer target for the profile decoder.
 *
 * Property checked on every input: cp_profile_decode never crashes, never
 * reads out of bounds (ASan), and whenever it accepts an input, encoding the
 * model and decoding that again gives an equal model (so nothing the
 * decoder accepts is lost or corrupted by the encoder).  Every input is
 * also decoded with its samples split between two threads (from two
 * samples on): the verdict, the message and the model must be one
 * thread's.  The decompression
 * cap is small so the fuzzer explores structure instead of inflating bombs.
 * The same function is driven without libFuzzer by smoke.c in `make check`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../integration/codec/codec_util.h"
#include "profile/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cp_decode_opts o = {.max_decompressed = 4u << 20}, o2 = o;
    o2.two_threads = true;
    cp_decode_two_threads_min = 2;
    cp_profile *p = NULL, *q = NULL, *p2 = NULL;
    cp_buf raw = {0};
    cp_diag d, d2;
    int rc = cp_profile_decode(data, size, &o, &p, &d);
    int rc2 = cp_profile_decode(data, size, &o2, &p2, &d2);
    if (rc != rc2 || (rc && strcmp(d.msg, d2.msg))) {
        fprintf(stderr, "fuzz_decode: two threads said %d \"%s\", one %d \"%s\"\n", rc2,
                rc2 ? d2.msg : "", rc, rc ? d.msg : "");
        abort();
    }
    if (rc) {
        if (!d.msg[0]) {
            fprintf(stderr, "fuzz_decode: error without a message\n");
            abort();
        }
        return 0;
    }
    const char *split = cu_profile_diff(p, p2);
    if (split) {
        fprintf(stderr, "fuzz_decode: two threads changed the %s\n", split);
        abort();
    }
    cp_profile_free(p2);
    if (cp_profile_encode(p, &raw)) {
        fprintf(stderr, "fuzz_decode: encode of an accepted profile failed\n");
        abort();
    }
    if (cp_profile_decode(raw.data, raw.len, &o, &q, &d)) {
        fprintf(stderr, "fuzz_decode: re-decode failed: %s\n", d.msg);
        abort();
    }
    const char *diff = cu_profile_diff(p, q);
    if (diff) {
        fprintf(stderr, "fuzz_decode: round trip changed the %s\n", diff);
        abort();
    }
    cp_profile_free(p);
    cp_profile_free(q);
    cp_buf_free(&raw);
    return 0;
}
