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
/* Next field: 1 when one was read, 0 at the end, CPROF_EFORMAT on error. */
int cp_pbr_next(cp_pbr *r, cp_pbfield *f);
int cp_pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *out);

/* Packed-or-not repeated integers: call for each field occurrence; appends the
 * value(s) through the callback.  Returns 0 or CPROF_EFORMAT. */
typedef int (*cp_pb_u64_fn)(void *ctx, uint64_t v);
int cp_pb_repeated_u64(const cp_pbfield *f, cp_pb_u64_fn fn, void *ctx);
/* Count values in a packed field (or 1 for a scalar). */
size_t cp_pb_count_packed(const cp_pbfield *f);

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
