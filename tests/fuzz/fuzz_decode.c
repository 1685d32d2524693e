/* fuzz_decode.c — libFuzzer target for the profile decoder.
 *
 * Property checked on every input: cp_profile_decode never crashes, never
 * reads out of bounds (ASan), and whenever it accepts an input, encoding the
 * model and decoding that again gives an equal model (so nothing the
 * decoder accepts is lost or corrupted by the encoder).  The decompression
 * cap is small so the fuzzer explores structure instead of inflating bombs.
 * The same function is driven without libFuzzer by smoke.c in `make check`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../integration/codec/codec_util.h"
#include "profile/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cp_decode_opts o = {.max_decompressed = 4u << 20};
    cp_profile *p = NULL, *q = NULL;
    cp_buf raw = {0};
    cp_diag d;
    if (cp_profile_decode(data, size, &o, &p, &d)) {
        if (!d.msg[0]) {
            fprintf(stderr, "fuzz_decode: error without a message\n");
            abort();
        }
        return 0;
    }
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
