/* fastgz_threads.c — ThreadSanitizer run of the command's gzip: pieces
 * made and compressed by two threads, written in order by whichever
 * finishes the next one, their buffers handed on to later pieces; then the
 * members inflated on two threads.  The bytes must come back as made: a
 * race shows up as a TSan report (halt_on_error) or as different bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/fastgz.h"
#include "cprof.h"

/* piece k: a kilobyte to 1.8 MB */
static size_t piece_len(size_t k)
{
    return (k * 7919 % 13) * 150000 + 1000 + k;
}

static int make(void *ctx, size_t k, cp_buf *out)
{
    (void)ctx;
    size_t n = piece_len(k);
    if (cp_buf_reserve(out, n))
        return CPROF_ENOMEM;
    uint64_t x = k + 1; /* letters from a generator: 2-3x compressible, as profiles are */
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        out->data[out->len + i] = (uint8_t)('a' + (x >> 59));
    }
    out->len += n;
    return 0;
}

int main(void)
{
    int bad = 0;
    for (size_t n = 1; n <= 40; n += 13) {
        cp_buf gz = {0}, want = {0}, back = {0};
        for (size_t k = 0; k < n; k++)
            if (make(NULL, k, &want))
                return 1;
        if (cp_cli_gzip_pieces(n, make, NULL, &gz)) {
            fprintf(stderr, "fastgz_threads: %zu pieces: gzip failed\n", n);
            return 1;
        }
        cp_diag d;
        int rc = cp_cli_gunzip(gz.data, gz.len, want.len + 1, &back, &d);
        if (rc || back.len != want.len || memcmp(back.data, want.data, want.len)) {
            fprintf(stderr, "fastgz_threads: %zu pieces: %s\n", n,
                    rc ? d.msg : "the bytes differ");
            bad = 1;
        }
        cp_buf_free(&gz);
        cp_buf_free(&want);
        cp_buf_free(&back);
    }
    if (!bad)
        puts("fastgz_threads: pieces compressed, written and inflated on two threads came back as made");
    return bad;
}
