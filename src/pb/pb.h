/* pb.h — protobuf wire format: a bounds-checked reader and an appending writer.
 *
 * Contract: the reader never reads outside [p, end); every failure returns
 * CPROF_EFORMAT with r->err naming the problem and r->pos its offset.  The
 * writer appends to a cp_buf; nested messages are written by reserving the
 * length afterwards (cp_pbw_begin/cp_pbw_end), so no message is encoded twice.
 */
#ifndef CP_PB_H
#define CP_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"

enum { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_I32 = 5 };

typedef struct cp_pbr {
    const uint8_t *start, *p, *end;
    const char *err; /* static description of the first error */
} cp_pbr;

typedef struct cp_pbfield {
    uint32_t num;
    int wire;
    uint64_t u;              /* PB_VARINT, PB_I64, PB_I32 */
    const uint8_t *data;     /* PB_LEN */
    size_t len;
    size_t offset;           /* of the tag, from r->start */
} cp_pbfield;

void cp_pbr_init(cp_pbr *r, const void *p, size_t n);
/* Next field: 1 when one was read, 0 at the end, CPROF_EFORMAT on error.
 * cp_pbr_next reads the common fields inline (a one-byte tag, a varint or
 * a length of up to nine bytes) and leaves the rest, and every error, to
 * cp_pbr_next_slow: the decoder calls it ~5 million times for a 25 MB
 * profile. */
int cp_pbr_next_slow(cp_pbr *r, cp_pbfield *f);
static inline int cp_pbr_next(cp_pbr *r, cp_pbfield *f)
{
    const uint8_t *p = r->p, *end = r->end;
    if (p >= end)
        return 0;
    unsigned tag = p[0];
    int wire = (int)(tag & 7);
    if (tag >= 0x80 || tag < 8 || (wire != PB_VARINT && wire != PB_LEN))
        return cp_pbr_next_slow(r, f);
    p++;
    uint64_t v;
    if (p < end && p[0] < 0x80) { /* one byte: most lengths and small numbers */
        v = *p++;
    } else {
        size_t max = (size_t)(end - p) < 9 ? (size_t)(end - p) : 9, i = 0;
        v = 0;
        for (;; i++) {
            if (i == max) /* truncated, or ten bytes long: checked there */
                return cp_pbr_next_slow(r, f);
            v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
            if (p[i] < 0x80)
                break;
        }
        p += i + 1;
    }
    if (wire == PB_VARINT) {
        f->u = v;
    } else {
        if (v > (uint64_t)(end - p))
            return cp_pbr_next_slow(r, f); /* it says what is wrong */
        f->data = p;
        f->len = (size_t)v;
        p += v;
    }
    f->offset = (size_t)(r->p - r->start);
    f->num = tag >> 3;
    f->wire = wire;
    r->p = p;
    return 1;
}
int cp_pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *out);

/* Packed-or-not repeated integers: call for each field occurrence; appends the
 * value(s) through the callback.  Returns 0 or CPROF_EFORMAT. */
typedef int (*cp_pb_u64_fn)(void *ctx, uint64_t v);
int cp_pb_repeated_u64(const cp_pbfield *f, cp_pb_u64_fn fn, void *ctx);
/* Count values in a packed field (or 1 for a scalar). */
size_t cp_pb_count_packed(const cp_pbfield *f);

/* A varint's bytes at w (room for 10), returning the end; and how many
 * bytes it takes.  For writers that reserve a record's room once. */
static inline uint8_t *cp_pb_put_varint(uint8_t *w, uint64_t v)
{
    while (v >= 0x80) {
        *w++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *w++ = (uint8_t)v;
    return w;
}
/* As cp_pb_put_varint, for a writer with 4 bytes of room at w whatever
 * v's length: a value under 2^28 (an index, most values) is spread over
 * one 4-byte store instead of a loop whose exit mispredicts once a value
 * (the bytes past its length are left for the next write to cover). */
static inline uint8_t *cp_pb_put_varint_r4(uint8_t *w, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (v < (UINT64_C(1) << 28)) {
        uint32_t x = (uint32_t)v;
        uint32_t y = (x & 0x7f) | (x << 1 & 0x7f00) | (x << 2 & 0x7f0000) | (x << 3 & 0x7f000000);
        unsigned n = 1u + (x >= 1u << 7) + (x >= 1u << 14) + (x >= 1u << 21);
        y |= 0x808080u & ((1u << (8 * (n - 1))) - 1); /* continuation bits */
        memcpy(w, &y, 4);
        return w + n;
    }
#endif
    return cp_pb_put_varint(w, v);
}
static inline size_t cp_pb_varint_len(uint64_t v)
{
    return v ? (size_t)(70 - __builtin_clzll(v)) / 7 : 1;
}

/* Writer. All return 0 or CPROF_ENOMEM. */
int cp_pbw_varint(cp_buf *b, uint64_t v);
int cp_pbw_tag(cp_buf *b, uint32_t num, int wire);
int cp_pbw_u64(cp_buf *b, uint32_t num, uint64_t v);       /* skipped if 0 */
int cp_pbw_i64(cp_buf *b, uint32_t num, int64_t v);        /* skipped if 0 */
int cp_pbw_bool(cp_buf *b, uint32_t num, bool v);          /* skipped if false */
int cp_pbw_bytes(cp_buf *b, uint32_t num, const void *p, size_t n); /* always */
int cp_pbw_packed_u64(cp_buf *b, uint32_t num, const uint64_t *v, size_t n);
int cp_pbw_packed_i64(cp_buf *b, uint32_t num, const int64_t *v, size_t n);
/* Begin a nested message: returns a mark to pass to cp_pbw_end. */
int cp_pbw_begin(cp_buf *b, uint32_t num, size_t *mark);
int cp_pbw_end(cp_buf *b, size_t mark);

#endif
