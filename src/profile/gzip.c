/* gzip.c — gzip in and out through zlib.
 *
 * Inflate loops over concatenated members (a `cat a.gz b.gz` profile is
 * valid) and stops at max_out bytes.  A gzip bomb (gigabytes of zeros in a
 * few MB, or a valid profile prefix followed by a string field of
 * gigabytes) is refused long before that cap: each window of
 * CP_GZ_WINDOW output bytes must have cost at least 1/CP_GZ_MAX_RATIO of
 * its size in input.  pprof data (varint ids, addresses, distinct names)
 * compresses 2-10x (40x would take samples that differ in one byte every
 * hundred); a run of one byte compresses ~230x at level 1 and ~1000x at
 * level 9 (deflate's limit is 1032:1), so the rule tells the two apart after one window and
 * a bomb costs at most what came before it plus a window.  Rejected:
 * decoding from the stream (the decoder's passes need the whole message,
 * and a bomb whose bytes parse — a string of zeros — gets past it), a cap
 * on the whole file's ratio (a large valid prefix hides the bomb behind
 * it), and trusting the gzip trailer's size (the attacker writes it).
 */
#include <string.h>
#include <zlib.h>

#include "cprof.h"
#include "profile/profile.h"

bool cp_is_gzip(const void *data, size_t len)
{
    const unsigned char *p = data;
    return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

int cp_gunzip(const void *data, size_t len, size_t max_out, cp_buf *out, cp_diag *diag)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return cp_diag_set(diag, CPROF_ENOMEM, "gzip: cannot initialise zlib");
    const unsigned char *in = data;
    size_t in_left = len;
    int rc = 0;
    size_t start = out->len;
    size_t win_out = 0;               /* output bytes at the window's start */
    const unsigned char *win_in = in; /* input at the window's start */
    for (;;) {
        size_t got = out->len - start;
        if (got - win_out >= CP_GZ_WINDOW) {
            size_t used = (size_t)(in - win_in);
            if (used < (got - win_out) / CP_GZ_MAX_RATIO) {
                rc = cp_diag_set(diag, CPROF_ETOOBIG,
                                 "gzip: refused as a gzip bomb: %zu KiB of input at offset %zu "
                                 "inflate to %zu MiB, over the limit of %u times their size",
                                 (used + 1023) / 1024, (size_t)(win_in - (const unsigned char *)data),
                                 (got - win_out) >> 20, (unsigned)CP_GZ_MAX_RATIO);
                goto out;
            }
            win_out = got;
            win_in = in;
        }
        if (out->len - start >= max_out) {
            rc = cp_diag_set(diag, CPROF_ETOOBIG,
                             "gzip: decompressed size exceeds the limit of %zu bytes", max_out);
            goto out;
        }
        size_t want = 1 << 20;
        if (want > max_out - (out->len - start))
            want = max_out - (out->len - start);
        if (cp_buf_reserve(out, want)) {
            rc = cp_diag_set(diag, CPROF_ENOMEM, "gzip: out of memory");
            goto out;
        }
        size_t chunk_in = in_left > (1u << 30) ? (1u << 30) : in_left;
        zs.next_in = (unsigned char *)in;
        zs.avail_in = (uInt)chunk_in;
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)want;
        int zr = inflate(&zs, Z_NO_FLUSH);
        size_t consumed = chunk_in - zs.avail_in;
        in += consumed;
        in_left -= consumed;
        out->len += want - zs.avail_out;
        if (zr == Z_STREAM_END) {
            /* another member may follow (skip trailing zero padding) */
            while (in_left && *in == 0) {
                in++;
                in_left--;
            }
            if (!in_left)
                break;
            if (in_left < 2 || in[0] != 0x1f || in[1] != 0x8b) {
                rc = cp_diag_set(diag, CPROF_EFORMAT,
                                 "gzip: trailing garbage after member at offset %zu",
                                 (size_t)(in - (const unsigned char *)data));
                goto out;
            }
            if (inflateReset(&zs) != Z_OK) {
                rc = cp_diag_set(diag, CPROF_EFORMAT, "gzip: cannot reset stream");
                goto out;
            }
            continue;
        }
        if (zr == Z_BUF_ERROR && in_left == 0 && zs.avail_out != 0) {
            rc = cp_diag_set(diag, CPROF_EFORMAT, "gzip: truncated stream (%zu bytes read)", len);
            goto out;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = cp_diag_set(diag, CPROF_EFORMAT, "gzip: corrupt data at input offset %zu: %s",
                             (size_t)(in - (const unsigned char *)data),
                             zs.msg ? zs.msg : "inflate failed");
            goto out;
        }
        if (in_left == 0 && zs.avail_out != 0) {
            rc = cp_diag_set(diag, CPROF_EFORMAT, "gzip: truncated stream (%zu bytes read)", len);
            goto out;
        }
    }
out:
    inflateEnd(&zs);
    return rc;
}

int cp_gzip(const void *data, size_t len, int level, cp_buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return CPROF_ENOMEM;
    int rc = 0;
    const unsigned char *in = data;
    size_t in_left = len;
    for (;;) {
        if (cp_buf_reserve(out, 1 << 16)) {
            rc = CPROF_ENOMEM;
            break;
        }
        size_t chunk_in = in_left > (1u << 30) ? (1u << 30) : in_left;
        zs.next_in = (unsigned char *)in;
        zs.avail_in = (uInt)chunk_in;
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)(out->cap - out->len > (1u << 30) ? (1u << 30) : out->cap - out->len);
        size_t avail = zs.avail_out;
        int zr = deflate(&zs, chunk_in == in_left ? Z_FINISH : Z_NO_FLUSH);
        size_t consumed = chunk_in - zs.avail_in;
        in += consumed;
        in_left -= consumed;
        out->len += avail - zs.avail_out;
        if (zr == Z_STREAM_END)
            break;
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = CPROF_ENOMEM;
            break;
        }
    }
    deflateEnd(&zs);
    return rc;
}
