/* pb.c — protobuf wire format.
 *
 * The reader walks a byte range; length-delimited fields are returned as
 * sub-ranges (no copy).  The writer reserves 5 bytes for a nested message's
 * length, then shifts the body left if the length needs fewer bytes: one pass
 * and at most one memmove per message.  Rejected: computing sizes first as
 * generated code does (two passes over the data).
 */
#include "pb.h"

#include <string.h>

#include "cprof.h"

void cp_pbr_init(cp_pbr *r, const void *p, size_t n)
{
    r->start = r->p = p;
    r->end = r->p + n;
    r->err = NULL;
}

int cp_pb_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (p >= end)
            return CPROF_EFORMAT;
        uint8_t c = *p++;
        if (shift == 63 && c > 1)
            return CPROF_EFORMAT;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *pp = p;
            *out = v;
            return 0;
        }
    }
    return CPROF_EFORMAT;
}

static int fail(cp_pbr *r, const char *why)
{
    r->err = why;
    return CPROF_EFORMAT;
}

int cp_pbr_next_slow(cp_pbr *r, cp_pbfield *f)
{
    if (r->p >= r->end)
        return 0;
    f->offset = (size_t)(r->p - r->start);
    uint64_t tag;
    if (*r->p < 0x80) /* one-byte tags and lengths, the common case, inline */
        tag = *r->p++;
    else if (cp_pb_varint(&r->p, r->end, &tag))
        return fail(r, "truncated or overlong field tag");
    f->num = (uint32_t)(tag >> 3);
    f->wire = (int)(tag & 7);
    if (f->num == 0 || (tag >> 3) > 0x1fffffff)
        return fail(r, "invalid field number");
    switch (f->wire) {
    case PB_VARINT:
        if (r->p < r->end && *r->p < 0x80)
            f->u = *r->p++;
        else if (cp_pb_varint(&r->p, r->end, &f->u))
            return fail(r, "truncated varint");
        return 1;
    case PB_I64:
        if (r->end - r->p < 8)
            return fail(r, "truncated fixed64");
        memcpy(&f->u, r->p, 8);
        r->p += 8;
        return 1;
    case PB_I32: {
        uint32_t v;
        if (r->end - r->p < 4)
            return fail(r, "truncated fixed32");
        memcpy(&v, r->p, 4);
        f->u = v;
        r->p += 4;
        return 1;
    }
    case PB_LEN: {
        uint64_t n;
        if (r->p < r->end && *r->p < 0x80)
            n = *r->p++;
        else if (cp_pb_varint(&r->p, r->end, &n))
            return fail(r, "truncated length");
        if (n > (uint64_t)(r->end - r->p))
            return fail(r, "length runs past the end of the message");
        f->data = r->p;
        f->len = (size_t)n;
        r->p += n;
        return 1;
    }
    default:
        return fail(r, "unsupported wire type (groups or reserved)");
    }
}

int cp_pb_repeated_u64(const cp_pbfield *f, cp_pb_u64_fn fn, void *ctx)
{
    if (f->wire == PB_VARINT || f->wire == PB_I64 || f->wire == PB_I32)
        return fn(ctx, f->u);
    if (f->wire != PB_LEN)
        return CPROF_EFORMAT;
    const uint8_t *p = f->data, *end = f->data + f->len;
    while (p < end) {
        uint64_t v;
        if (cp_pb_varint(&p, end, &v))
            return CPROF_EFORMAT;
        int rc = fn(ctx, v);
        if (rc)
            return rc;
    }
    return 0;
}

size_t cp_pb_count_packed(const cp_pbfield *f)
{
    if (f->wire != PB_LEN)
        return 1;
    /* a value ends at each byte without the continuation bit: counted
     * eight bytes at a time */
    size_t n = 0, i = 0;
    for (; i + 8 <= f->len; i += 8) {
        uint64_t w;
        memcpy(&w, f->data + i, 8);
        /* one bit per ending byte, moved to each byte's bottom and
         * summed into the top byte by the multiply (at most 8) */
        n += (size_t)((((~w & 0x8080808080808080ull) >> 7) * 0x0101010101010101ull) >> 56);
    }
    for (; i < f->len; i++)
        n += !(f->data[i] & 0x80);
    return n;
}

int cp_pbw_varint(cp_buf *b, uint64_t v)
{
    if (cp_buf_reserve(b, 10))
        return CPROF_ENOMEM;
    b->len = (size_t)(cp_pb_put_varint(b->data + b->len, v) - b->data);
    return 0;
}

int cp_pbw_tag(cp_buf *b, uint32_t num, int wire)
{
    return cp_pbw_varint(b, ((uint64_t)num << 3) | (uint64_t)wire);
}

int cp_pbw_u64(cp_buf *b, uint32_t num, uint64_t v)
{
    if (!v)
        return 0;
    return cp_pbw_tag(b, num, PB_VARINT) || cp_pbw_varint(b, v) ? CPROF_ENOMEM : 0;
}

int cp_pbw_i64(cp_buf *b, uint32_t num, int64_t v)
{
    return cp_pbw_u64(b, num, (uint64_t)v);
}

int cp_pbw_bool(cp_buf *b, uint32_t num, bool v)
{
    return cp_pbw_u64(b, num, v ? 1 : 0);
}

int cp_pbw_bytes(cp_buf *b, uint32_t num, const void *p, size_t n)
{
    if (cp_pbw_tag(b, num, PB_LEN) || cp_pbw_varint(b, n) || cp_buf_append(b, p, n))
        return CPROF_ENOMEM;
    return 0;
}

static int packed(cp_buf *b, uint32_t num, const uint64_t *v, size_t n)
{
    if (!n)
        return 0;
    size_t mark;
    if (cp_pbw_begin(b, num, &mark))
        return CPROF_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (cp_pbw_varint(b, v[i]))
            return CPROF_ENOMEM;
    return cp_pbw_end(b, mark);
}

int cp_pbw_packed_u64(cp_buf *b, uint32_t num, const uint64_t *v, size_t n)
{
    return packed(b, num, v, n);
}

int cp_pbw_packed_i64(cp_buf *b, uint32_t num, const int64_t *v, size_t n)
{
    return packed(b, num, (const uint64_t *)v, n);
}

enum { LEN_RESERVE = 5 };

int cp_pbw_begin(cp_buf *b, uint32_t num, size_t *mark)
{
    if (cp_pbw_tag(b, num, PB_LEN) || cp_buf_reserve(b, LEN_RESERVE))
        return CPROF_ENOMEM;
    b->len += LEN_RESERVE;
    *mark = b->len;
    return 0;
}

int cp_pbw_end(cp_buf *b, size_t mark)
{
    size_t body = b->len - mark;
    if (body > 0xffffffffu)
        return CPROF_ENOMEM;
    uint8_t tmp[10];
    size_t n = (size_t)(cp_pb_put_varint(tmp, body) - tmp);
    uint8_t *dst = b->data + mark - LEN_RESERVE;
    memcpy(dst, tmp, n);
    if (n < LEN_RESERVE) {
        memmove(dst + n, b->data + mark, body);
        b->len -= LEN_RESERVE - n;
    }
    return 0;
}
