/* decode.c — profile.proto bytes → cp_profile.
 *
 * One walk over the top-level fields checks their wire types, keeps the
 * scalars and notes where each repeated message lies (offset and length,
 * 8 bytes a record); then strings, mappings and functions, locations and
 * samples are decoded from those notes in that order, each kind's ids
 * indexed once all of its records are read (idindex.c: sized by the
 * largest id then), so references are resolved to indices as they are
 * read.  Resolving at decode time means every later stage can index arrays
 * without checks, and a dangling reference is reported with the record
 * that holds it.  All memory of the model comes from the profile's arena,
 * capped, so hostile input costs at most CP_MAX_MODEL_BYTES.  Rejected: a
 * generated decoder (a dependency for ~400 lines), decoding into
 * per-record mallocs (slow on 10^6 records), and walking the top level
 * once per kind (five walks of ~500k fields at 150k stacks, a tenth of
 * the decoder's instructions; so was reading each record's id in a walk of
 * its own to size the indices).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cprof.h"
#include "pb/pb.h"
#include "profile/idindex.h"
#include "profile/profile.h"

typedef struct dec {
    cp_profile *p;
    cp_diag *diag;
    const uint8_t *data;
    size_t len;
    cp_idindex funcs, maps, locs;
    cp_line *lines; /* scratch: the lines of the location being read */
    size_t lines_cap;
    bool two_threads; /* cp_decode_opts.two_threads */
} dec;

static int bad(dec *d, const cp_pbr *r, const char *what)
{
    return cp_diag_set(d->diag, CPROF_EFORMAT, "offset %zu: %s: %s", (size_t)(r->p - d->data),
                       what, r->err ? r->err : "malformed");
}

static int nomem(dec *d)
{
    return cp_diag_set(d->diag, CPROF_ETOOBIG,
                       "profile too large: decoded data exceeds the %llu MiB limit",
                       (unsigned long long)(CP_MAX_MODEL_BYTES >> 20));
}

static void *alloc(dec *d, size_t n, size_t elem)
{
    if (elem && n > SIZE_MAX / elem)
        return NULL;
    return cp_arena_alloc(&d->p->arena, n * elem);
}

static int check_str(dec *d, int64_t s, const char *what, size_t rec)
{
    if (s < 0 || (uint64_t)s >= d->p->nstrings)
        return cp_diag_set(d->diag, CPROF_EFORMAT,
                           "%s %zu: string index %" PRId64 " out of range (table has %zu strings)",
                           what, rec, s, d->p->nstrings);
    return 0;
}

static int value_type(dec *d, const uint8_t *b, size_t n, cp_value_type *vt, const char *what,
                      size_t rec)
{
    cp_pbr r;
    cp_pbfield f;
    int rc;
    cp_pbr_init(&r, b, n);
    while ((rc = cp_pbr_next(&r, &f)) == 1) {
        if (f.wire != PB_VARINT)
            continue;
        if (f.num == 1)
            vt->type = (int64_t)f.u;
        else if (f.num == 2)
            vt->unit = (int64_t)f.u;
    }
    if (rc < 0)
        return cp_diag_set(d->diag, CPROF_EFORMAT, "%s %zu: %s", what, rec, r.err);
    if ((rc = check_str(d, vt->type, what, rec)) || (rc = check_str(d, vt->unit, what, rec)))
        return rc;
    return 0;
}

/* Where each repeated top-level message lies: offset of its bytes in the
 * input (< 2^32: inputs are capped at CP_MAX_DECOMPRESSED) and length. */
typedef struct span {
    uint32_t off, len;
} span;

typedef struct spans {
    span *v;
    size_t n, cap;
} spans;

typedef struct scan {
    spans sample, mapping, location, function, string;
    cp_pbfield *st, *cm; /* sample_type and comment fields: few */
    size_t nst, st_cap, ncm, cm_cap, ncomment;
    cp_pbfield period;
    bool has_period, escape;
} scan;

static void scan_free(scan *c)
{
    free(c->sample.v);
    free(c->mapping.v);
    free(c->location.v);
    free(c->function.v);
    free(c->string.v);
    free(c->st);
    free(c->cm);
}

static int push_span(dec *d, spans *v, const cp_pbfield *f)
{
    if (v->n == v->cap && cp_grow(&v->v, &v->cap, v->n + 1, sizeof *v->v))
        return nomem(d);
    v->v[v->n++] = (span){(uint32_t)(f->data - d->data), (uint32_t)f->len};
    return 0;
}

static int push_field(dec *d, cp_pbfield **v, size_t *n, size_t *cap, const cp_pbfield *f)
{
    if (cp_grow(v, cap, *n + 1, sizeof **v))
        return nomem(d);
    (*v)[(*n)++] = *f;
    return 0;
}

static cp_pbfield span_field(const dec *d, const span *sp)
{
    cp_pbfield f = {.wire = PB_LEN, .data = d->data + sp->off, .len = sp->len};
    return f;
}

/* The one walk over the top level. */
static int pass_scan(dec *d, scan *c)
{
    cp_profile *p = d->p;
    cp_pbr r;
    cp_pbfield f;
    int rc;
    if (d->len > UINT32_MAX)
        return cp_diag_set(d->diag, CPROF_ETOOBIG, "profile of %zu bytes is too large", d->len);
    cp_pbr_init(&r, d->data, d->len);
    while ((rc = cp_pbr_next(&r, &f)) == 1) {
        if (f.num >= 2 && f.num <= 6 && f.wire != PB_LEN)
            return cp_diag_set(d->diag, CPROF_EFORMAT,
                               "offset %zu: field %u has wire type %d, want length-delimited",
                               f.offset, f.num, f.wire);
        if (f.num == 1 && f.wire != PB_LEN)
            return cp_diag_set(d->diag, CPROF_EFORMAT,
                               "offset %zu: sample_type has wire type %d", f.offset, f.wire);
        /* the int64 scalars: any other wire type leaves f.u unset */
        if (((f.num >= 7 && f.num <= 10) || f.num == 12 || f.num == 14) && f.wire != PB_VARINT)
            return cp_diag_set(d->diag, CPROF_EFORMAT,
                               "offset %zu: field %u has wire type %d, want varint", f.offset,
                               f.num, f.wire);
        rc = 0;
        switch (f.num) {
        case 1: rc = push_field(d, &c->st, &c->nst, &c->st_cap, &f); break;
        case 2: rc = push_span(d, &c->sample, &f); break;
        case 3: rc = push_span(d, &c->mapping, &f); break;
        case 4: rc = push_span(d, &c->location, &f); break;
        case 5: rc = push_span(d, &c->function, &f); break;
        case 6:
            c->escape = c->escape || (f.len && memchr(f.data, 0, f.len));
            rc = push_span(d, &c->string, &f);
            break;
        case 7: p->drop_frames = (int64_t)f.u; break;
        case 8: p->keep_frames = (int64_t)f.u; break;
        case 9: p->time_nanos = (int64_t)f.u; break;
        case 10: p->duration_nanos = (int64_t)f.u; break;
        case 11:
            if (f.wire != PB_LEN)
                return cp_diag_set(d->diag, CPROF_EFORMAT, "period_type has wire type %d", f.wire);
            c->period = f;
            c->has_period = true;
            break;
        case 12: p->period = (int64_t)f.u; break;
        case 13:
            c->ncomment += cp_pb_count_packed(&f);
            rc = push_field(d, &c->cm, &c->ncm, &c->cm_cap, &f);
            break;
        case 14: p->default_sample_type = (int64_t)f.u; break;
        }
        if (rc)
            return rc;
    }
    if (rc < 0)
        return bad(d, &r, "profile");
    return 0;
}

/* The string table, escaped when some string holds a NUL (profile.h). */
static int pass_strings(dec *d, const scan *c)
{
    cp_profile *p = d->p;
    p->strings = alloc(d, c->string.n ? c->string.n : 1, sizeof *p->strings);
    if (!p->strings)
        return nomem(d);
    p->nul_escaped = c->escape;
    for (size_t i = 0; i < c->string.n; i++) {
        cp_pbfield f = span_field(d, &c->string.v[i]);
        char *s;
        if (c->escape) {
            const unsigned char *in = f.data;
            size_t extra = 0;
            for (size_t k = 0; k < f.len; k++)
                extra += in[k] == 0 || in[k] == 0xc0;
            s = cp_arena_alloc(&p->arena, f.len + extra + 1);
            if (!s)
                return nomem(d);
            size_t w = 0;
            for (size_t k = 0; k < f.len; k++) {
                if (in[k] == 0 || in[k] == 0xc0) {
                    s[w++] = (char)0xc0;
                    s[w++] = in[k] ? (char)0xc0 : (char)0x80;
                } else {
                    s[w++] = (char)in[k];
                }
            }
            s[w] = 0;
        } else {
            s = cp_arena_strndup(&p->arena, (const char *)f.data, f.len);
        }
        if (!s)
            return nomem(d);
        p->strings[p->nstrings++] = s;
    }
    if (p->nstrings == 0)
        p->strings[p->nstrings++] = "";
    else if (p->strings[0][0] != 0)
        return cp_diag_set(d->diag, CPROF_EFORMAT,
                           "string table: entry 0 must be the empty string, is \"%.40s\"",
                           p->strings[0]);
    return 0;
}

static int decode_function(dec *d, const cp_pbfield *in, void *rec, uint32_t i)
{
    cp_function *fn = rec;
    cp_pbr r;
    cp_pbfield f;
    int rc;
    cp_pbr_init(&r, in->data, in->len);
    while ((rc = cp_pbr_next(&r, &f)) == 1) {
        if (f.wire != PB_VARINT)
            continue;
        switch (f.num) {
        case 1: fn->id = f.u; break;
        case 2: fn->name = (int64_t)f.u; break;
        case 3: fn->system_name = (int64_t)f.u; break;
        case 4: fn->filename = (int64_t)f.u; break;
        case 5: fn->start_line = (int64_t)f.u; break;
        }
    }
    if (rc < 0)
        return cp_diag_set(d->diag, CPROF_EFORMAT, "function %u: %s", i, r.err);
    if ((rc = check_str(d, fn->name, "function", i)) ||
        (rc = check_str(d, fn->system_name, "function", i)) ||
        (rc = check_str(d, fn->filename, "function", i)))
        return rc;
    return 0;
}

static int decode_mapping(dec *d, const cp_pbfield *in, void *rec, uint32_t i)
{
    cp_mapping *m = rec;
    cp_pbr r;
    cp_pbfield f;
    int rc;
    cp_pbr_init(&r, in->data, in->len);
    while ((rc = cp_pbr_next(&r, &f)) == 1) {
        if (f.wire != PB_VARINT)
            continue;
        switch (f.num) {
        case 1: m->id = f.u; break;
        case 2: m->start = f.u; break;
        case 3: m->limit = f.u; break;
        case 4: m->offset = f.u; break;
        case 5: m->filename = (int64_t)f.u; break;
        case 6: m->build_id = (int64_t)f.u; break;
        case 7: m->has_functions = f.u != 0; break;
        case 8: m->has_filenames = f.u != 0; break;
        case 9: m->has_line_numbers = f.u != 0; break;
        case 10: m->has_inline_frames = f.u != 0; break;
        }
    }
    if (rc < 0)
        return cp_diag_set(d->diag, CPROF_EFORMAT, "mapping %u: %s", i, r.err);
    if ((rc = check_str(d, m->filename, "mapping", i)) ||
        (rc = check_str(d, m->build_id, "mapping", i)))
        return rc;
    return 0;
}

static int decode_location(dec *d, const cp_pbfield *in, void *rec, uint32_t i)
{
    cp_location *l = rec;
    cp_pbr r;
    cp_pbfield f;
    int rc;
    uint64_t mid = 0;
    uint32_t nlines = 0;
    /* one walk: lines gather in the decoder's scratch, then one copy */
    cp_pbr_init(&r, in->data, in->len);
    while ((rc = cp_pbr_next(&r, &f)) == 1) {
        if (f.num == 4 && f.wire == PB_LEN) {
            if (nlines == UINT32_MAX ||
                (nlines == d->lines_cap &&
                 cp_grow(&d->lines, &d->lines_cap, (size_t)nlines + 1, sizeof *d->lines)))
                return nomem(d);
            cp_line *ln = &d->lines[nlines++];
            memset(ln, 0, sizeof *ln);
            uint64_t fid = 0;
            cp_pbr lr;
            cp_pbfield g;
            int lrc;
            cp_pbr_init(&lr, f.data, f.len);
            while ((lrc = cp_pbr_next(&lr, &g)) == 1) {
                if (g.wire != PB_VARINT)
                    continue;
                if (g.num == 1)
                    fid = g.u;
                else if (g.num == 2)
                    ln->line = (int64_t)g.u;
                else if (g.num == 3)
                    ln->column = (int64_t)g.u;
            }
            if (lrc < 0)
                return cp_diag_set(d->diag, CPROF_EFORMAT, "location %u: line %u: %s", i,
                                   nlines - 1, lr.err);
            ln->func = CP_NO_FUNCTION;
            if (!fid) /* go tool pprof refuses these too: a line must name a function */
                return cp_diag_set(d->diag, CPROF_EFORMAT,
                                   "location %u (id %" PRIu64 "): line %u has no function", i,
                                   l->id, nlines - 1);
            if (!cp_idindex_get(&d->funcs, fid, &ln->func))
                return cp_diag_set(d->diag, CPROF_EFORMAT,
                                   "location %u (id %" PRIu64 "): function id %" PRIu64
                                   " not defined",
                                   i, l->id, fid);
            continue;
        }
        if (f.wire != PB_VARINT)
            continue;
        switch (f.num) {
        case 1: l->id = f.u; break;
        case 2: mid = f.u; break;
        case 3: l->address = f.u; break;
        case 5: l->is_folded = f.u != 0; break;
        }
    }
    if (rc < 0)
        return cp_diag_set(d->diag, CPROF_EFORMAT, "location %u: %s", i, r.err);
    if (nlines) {
        if (!(l->lines = alloc(d, nlines, sizeof *l->lines)))
            return nomem(d);
        memcpy(l->lines, d->lines, nlines * sizeof *l->lines);
        l->nlines = nlines;
    }
    l->mapping = CP_NO_MAPPING;
    if (mid && !cp_idindex_get(&d->maps, mid, &l->mapping))
        return cp_diag_set(d->diag, CPROF_EFORMAT,
                           "location %u (id %" PRIu64 "): mapping id %" PRIu64 " not defined", i,
                           l->id, mid);
    return 0;
}

typedef struct fill {
    int64_t *vals;
    size_t n;
} fill;

static int fill_u64(void *ctx, uint64_t v)
{
    fill *fl = ctx;
    fl->vals[fl->n++] = (int64_t)v;
    return 0;
}

/* Location ids are resolved to indices as they are read: no temporary id
 * array (on a 150k-stack profile that array was half the model's size). */
typedef struct loc_fill {
    const cp_idindex *locs;
    uint32_t *out;
    size_t n;
    uint64_t undefined; /* the id that was not found */
} loc_fill;

static int fill_loc(void *ctx, uint64_t id)
{
    loc_fill *fl = ctx;
    if (!cp_idindex_get(fl->locs, id, &fl->out[fl->n])) {
        fl->undefined = id;
        return CPROF_ENOTFOUND;
    }
    fl->n++;
    return 0;
}

/* A varint the inline reader below does not take (four bytes or more, or
 * near the end): p past it, or NULL when it is malformed.  Returned by
 * value so the reader's cursor and value stay in registers. */
typedef struct varint_at {
    const uint8_t *p;
    uint64_t v;
} varint_at;

static __attribute__((noinline)) varint_at varint_slow(const uint8_t *p, const uint8_t *end)
{
    varint_at r = {p, 0};
    if (cp_pb_varint(&r.p, end, &r.v))
        r.p = NULL;
    return r;
}

/* The packed location ids of a sample, resolved to indices: the decoder's
 * innermost loop (40 ids a sample, millions a profile), so ids of up to
 * three bytes, and the ids in order or the dense index, are read inline;
 * anything else (longer varints, ids in the hash map, errors) takes the
 * general path. */
static int read_locs(const cp_idindex *x, const cp_pbfield *f, loc_fill *fl)
{
    if (f->wire != PB_LEN)
        return cp_pb_repeated_u64(f, fill_loc, fl);
    const uint8_t *p = f->data, *end = f->data + f->len;
    const uint32_t *dense = x->dense;
    uint64_t ndense = dense ? x->ndense : 0, nident = x->ident ? x->nident : 0;
    uint32_t *out = fl->out; /* locals: the stores below cannot alias them */
    size_t n = fl->n;
    while (p < end) {
        uint64_t v, b0 = p[0], b1, b2;
        if (b0 < 0x80) {
            v = b0;
            p++;
        } else if (end - p >= 2 && (b1 = p[1]) < 0x80) {
            v = (b0 & 0x7f) | b1 << 7;
            p += 2;
        } else if (end - p >= 3 && (b2 = p[2]) < 0x80) { /* b1 was read: >= 0x80 */
            v = (b0 & 0x7f) | (b1 & 0x7f) << 7 | b2 << 14;
            p += 3;
        } else {
            varint_at r = varint_slow(p, end);
            if (!r.p)
                return CPROF_EFORMAT;
            p = r.p;
            v = r.v;
        }
        uint32_t d;
        if (v - 1 < nident) { /* ids in record order: id 0 wraps around */
            out[n++] = (uint32_t)(v - 1);
            continue;
        }
        if (v < ndense && (d = dense[v]) != 0) {
            out[n++] = d - 1;
            continue;
        }
        fl->n = n;
        int rc = fill_loc(fl, v);
        if (rc)
            return rc;
        n = fl->n;
    }
    fl->n = n;
    return 0;
}

static int decode_sample(dec *d, const cp_pbfield *in, void *rec, uint32_t i)
{
    cp_sample *s = rec;
    cp_pbr r;
    cp_pbfield f;
    int rc;
    size_t nloc = 0, nval = 0, nlab = 0;
    cp_pbr_init(&r, in->data, in->len);
    while ((rc = cp_pbr_next(&r, &f)) == 1) {
        if (f.num == 1)
            nloc += cp_pb_count_packed(&f);
        else if (f.num == 2)
            nval += cp_pb_count_packed(&f);
        else if (f.num == 3 && f.wire == PB_LEN)
            nlab++;
    }
    if (rc < 0)
        return cp_diag_set(d->diag, CPROF_EFORMAT, "sample %u: %s", i, r.err);
    if (nval != d->p->nsample_types)
        return cp_diag_set(d->diag, CPROF_EFORMAT,
                           "sample %u: has %zu values, profile has %zu sample types", i, nval,
                           d->p->nsample_types);
    /* one block: values, labels (8-byte fields first), then locations */
    if (nloc > SIZE_MAX / 64 || nlab > SIZE_MAX / 64)
        return nomem(d);
    size_t vbytes = nval * sizeof *s->values, lbytes = nlab * sizeof *s->labels;
    size_t total = vbytes + lbytes + nloc * sizeof *s->locs;
    uint8_t *blk = total ? cp_arena_alloc(&d->p->arena, total) : NULL;
    if (total && !blk)
        return nomem(d);
    s->values = nval ? (int64_t *)blk : NULL;
    s->labels = nlab ? (cp_label *)(blk + vbytes) : NULL;
    s->locs = nloc ? (uint32_t *)(blk + vbytes + lbytes) : NULL;
    loc_fill fl_loc = {.locs = &d->locs, .out = s->locs};
    fill fl_val = {.vals = s->values};
    cp_pbr_init(&r, in->data, in->len);
    while ((rc = cp_pbr_next(&r, &f)) == 1) {
        if (f.num == 1) {
            rc = read_locs(&d->locs, &f, &fl_loc);
            if (rc == CPROF_ENOTFOUND)
                return cp_diag_set(d->diag, CPROF_EFORMAT,
                                   "sample %u: location id %" PRIu64 " not defined", i,
                                   fl_loc.undefined);
            if (rc)
                return cp_diag_set(d->diag, CPROF_EFORMAT,
                                   "sample %u: malformed packed location_id", i);
        } else if (f.num == 2 && f.wire == PB_LEN) {
            /* packed values, the usual form, read inline */
            const uint8_t *q = f.data, *qend = f.data + f.len;
            while (q < qend) {
                uint64_t v;
                if (*q < 0x80)
                    v = *q++;
                else if (cp_pb_varint(&q, qend, &v))
                    return cp_diag_set(d->diag, CPROF_EFORMAT,
                                       "sample %u: malformed packed value", i);
                fl_val.vals[fl_val.n++] = (int64_t)v;
            }
        } else if (f.num == 2) {
            if (cp_pb_repeated_u64(&f, fill_u64, &fl_val))
                return cp_diag_set(d->diag, CPROF_EFORMAT, "sample %u: malformed packed value",
                                   i);
        } else if (f.num == 3 && f.wire == PB_LEN) {
            cp_label *lb = &s->labels[s->nlabels++];
            cp_pbr lr;
            cp_pbfield g;
            int lrc;
            cp_pbr_init(&lr, f.data, f.len);
            while ((lrc = cp_pbr_next(&lr, &g)) == 1) {
                if (g.wire != PB_VARINT)
                    continue;
                switch (g.num) {
                case 1: lb->key = (int64_t)g.u; break;
                case 2: lb->str = (int64_t)g.u; break;
                case 3: lb->num = (int64_t)g.u; break;
                case 4: lb->num_unit = (int64_t)g.u; break;
                }
            }
            if (lrc < 0)
                return cp_diag_set(d->diag, CPROF_EFORMAT, "sample %u: label %u: %s", i,
                                   s->nlabels - 1, lr.err);
            if ((rc = check_str(d, lb->key, "sample label in sample", i)) ||
                (rc = check_str(d, lb->str, "sample label in sample", i)) ||
                (rc = check_str(d, lb->num_unit, "sample label in sample", i)))
                return rc;
        }
    }
    s->nlocs = (uint32_t)fl_loc.n;
    return 0;
}

static int comment_cb(void *ctx, uint64_t v)
{
    cp_profile *p = ctx;
    p->comments[p->ncomments++] = (int64_t)v;
    return 0;
}

_Static_assert(offsetof(cp_mapping, id) == 0 && offsetof(cp_function, id) == 0 &&
                   offsetof(cp_location, id) == 0,
               "cp_idindex_build reads each record's id at its start");

/* Index the ids of n decoded records: "what i: duplicate id" or "what i:
 * id 0 is reserved" for the first bad one. */
static int index_ids(dec *d, cp_idindex *x, const void *recs, size_t n, size_t stride,
                     const char *what)
{
    size_t bad = 0;
    int rc = cp_idindex_build(x, recs, n, stride, &bad);
    if (rc == CPROF_ENOMEM)
        return nomem(d);
    if (rc) {
        uint64_t id;
        memcpy(&id, (const char *)recs + bad * stride, sizeof id);
        if (id == 0)
            return cp_diag_set(d->diag, CPROF_EFORMAT, "%s %zu: id 0 is reserved", what, bad);
        return cp_diag_set(d->diag, CPROF_EFORMAT, "%s %zu: duplicate id %" PRIu64, what, bad,
                           id);
    }
    return 0;
}

/* Decode each record of a kind into recs[] (size bytes each), counting in
 * *n; its spans are dropped once read (the samples' arena blocks take their
 * place at the decoder's peak). */
typedef int (*rec_fn)(dec *d, const cp_pbfield *in, void *rec, uint32_t i);

/* records [lo, hi) of a kind; the first failure's code (d->diag says it) */
static int decode_range(dec *d, const spans *sp, rec_fn fn, void *recs, size_t size, size_t lo,
                        size_t hi)
{
    for (size_t i = lo; i < hi; i++) {
        cp_pbfield f = span_field(d, &sp->v[i]);
        int rc = fn(d, &f, (char *)recs + i * size, (uint32_t)i);
        if (rc)
            return rc;
    }
    return 0;
}

static int decode_all(dec *d, spans *sp, rec_fn fn, void *recs, size_t size, size_t *n)
{
    int rc = decode_range(d, sp, fn, recs, size, 0, sp->n);
    if (rc)
        return rc;
    *n = sp->n;
    free(sp->v);
    *sp = (spans){0};
    return 0;
}

typedef struct sample_half {
    dec d;            /* the decoder's, with its own model and message */
    cp_profile model; /* the counts decode_sample reads, and an arena */
    cp_diag diag;
    const spans *sp;
    size_t lo;
    cp_sample *recs;
    int rc;
} sample_half;

static void *decode_half(void *arg)
{
    sample_half *h = arg;
    h->rc = decode_range(&h->d, h->sp, decode_sample, h->recs, sizeof *h->recs, h->lo, h->sp->n);
    return NULL;
}

/* A sample's block is at most 16 bytes per byte of it, and 16 more: a
 * location index (4 bytes) takes at least a byte, a value (8) a byte, a
 * label (32) two. */
_Static_assert(sizeof(cp_label) <= 32 && sizeof(int64_t) == 8 && sizeof(uint32_t) == 4,
               "the sample block bound below");
size_t cp_decode_two_threads_min = 8192;

/* The samples, on two threads when the caller asked, there are many, and
 * their blocks cannot reach the model's cap even at the bound above: then
 * which sample fails first, and how, is what one thread would say (the
 * first half's failure wins; each message names its own sample).  The
 * second half is cut where the bytes are even and allocates from an arena
 * of its own, adopted after.  At 150k stacks the samples are two thirds
 * of the decoder's time. */
static int decode_samples(dec *d, spans *sp)
{
    cp_profile *p = d->p;
    size_t n = sp->n, bytes = 0;
    bool two = d->two_threads && n >= cp_decode_two_threads_min && n >= 2;
    for (size_t i = 0; two && i < n; i++)
        bytes += sp->v[i].len;
    two = two && (!p->arena.cap_bytes || (p->arena.cap_bytes >= p->arena.used_bytes &&
                                          (p->arena.cap_bytes - p->arena.used_bytes) / 16 >
                                              bytes + n));
    int rc;
    if (!two) {
        rc = decode_all(d, sp, decode_sample, p->samples, sizeof *p->samples, &p->nsamples);
    } else {
        size_t cut = 0;
        for (size_t acc = 0; cut < n && acc < bytes / 2; cut++)
            acc += sp->v[cut].len;
        sample_half h = {.d = *d, .sp = sp, .lo = cut, .recs = p->samples};
        h.model.nsample_types = p->nsample_types;
        h.model.nstrings = p->nstrings;
        h.d.p = &h.model;
        h.d.diag = &h.diag;
        h.d.lines = NULL; /* samples use no line scratch; the copy must not free it */
        pthread_t t;
        bool beside = pthread_create(&t, NULL, decode_half, &h) == 0;
        rc = decode_range(d, sp, decode_sample, p->samples, sizeof *p->samples, 0, cut);
        if (beside)
            pthread_join(t, NULL);
        else if (!rc)
            decode_half(&h);
        if (!rc && h.rc) {
            rc = h.rc;
            *d->diag = h.diag;
        }
        size_t cap = p->arena.cap_bytes; /* adopting adds the caps: the model's stays */
        cp_arena_adopt(&p->arena, &h.model.arena);
        p->arena.cap_bytes = cap;
        if (!rc)
            p->nsamples = n;
        free(sp->v);
        *sp = (spans){0};
    }
    return rc;
}

/* Everything the scan noted, in dependency order. */
static int decode_records(dec *d, scan *c)
{
    cp_profile *p = d->p;
    int rc;
    if (c->sample.n > UINT32_MAX || c->location.n > UINT32_MAX - 1 ||
        c->function.n > UINT32_MAX - 1 || c->mapping.n > UINT32_MAX - 1)
        return nomem(d);
    p->sample_types = alloc(d, c->nst ? c->nst : 1, sizeof *p->sample_types);
    p->samples = alloc(d, c->sample.n ? c->sample.n : 1, sizeof *p->samples);
    p->mappings = alloc(d, c->mapping.n ? c->mapping.n : 1, sizeof *p->mappings);
    p->locations = alloc(d, c->location.n ? c->location.n : 1, sizeof *p->locations);
    p->functions = alloc(d, c->function.n ? c->function.n : 1, sizeof *p->functions);
    p->comments = alloc(d, c->ncomment ? c->ncomment : 1, sizeof *p->comments);
    if (!p->sample_types || !p->samples || !p->mappings || !p->locations || !p->functions ||
        !p->comments)
        return nomem(d);
    for (size_t i = 0; i < c->nst; i++) {
        if ((rc = value_type(d, c->st[i].data, c->st[i].len, &p->sample_types[i], "sample_type",
                             i)))
            return rc;
        p->nsample_types++;
    }
    if (c->has_period &&
        (rc = value_type(d, c->period.data, c->period.len, &p->period_type, "period_type", 0)))
        return rc;
    for (size_t i = 0; i < c->ncm; i++)
        if (cp_pb_repeated_u64(&c->cm[i], comment_cb, p))
            return cp_diag_set(d->diag, CPROF_EFORMAT, "offset %zu: malformed comment",
                               c->cm[i].offset);
    if ((rc = check_str(d, p->drop_frames, "drop_frames", 0)) ||
        (rc = check_str(d, p->keep_frames, "keep_frames", 0)) ||
        (rc = check_str(d, p->default_sample_type, "default_sample_type", 0)))
        return rc;
    for (size_t i = 0; i < p->ncomments; i++)
        if ((rc = check_str(d, p->comments[i], "comment", i)))
            return rc;
    if ((rc = decode_all(d, &c->mapping, decode_mapping, p->mappings, sizeof *p->mappings,
                         &p->nmappings)) ||
        (rc = decode_all(d, &c->function, decode_function, p->functions, sizeof *p->functions,
                         &p->nfunctions)) ||
        (rc = index_ids(d, &d->maps, p->mappings, p->nmappings, sizeof *p->mappings, "mapping")) ||
        (rc = index_ids(d, &d->funcs, p->functions, p->nfunctions, sizeof *p->functions,
                        "function")) ||
        (rc = decode_all(d, &c->location, decode_location, p->locations, sizeof *p->locations,
                         &p->nlocations)) ||
        (rc = index_ids(d, &d->locs, p->locations, p->nlocations, sizeof *p->locations,
                        "location")))
        return rc;
    return decode_samples(d, &c->sample);
}

static int decode_raw(dec *d)
{
    scan c = {0};
    int rc = pass_scan(d, &c);
    if (!rc)
        rc = pass_strings(d, &c);
    free(c.string.v);
    c.string = (spans){0};
    if (!rc)
        rc = decode_records(d, &c);
    scan_free(&c);
    return rc;
}

/* Decode raw protobuf (never gzip: a gzip inside gzip is not a profile). */
static int decode_plain(const void *data, size_t len, size_t max_raw, bool two_threads,
                        cp_profile **out, cp_diag *diag)
{
    int rc;
    dec d = {0};
    if (len > max_raw)
        return cp_diag_set(diag, CPROF_ETOOBIG, "profile of %zu bytes exceeds the limit of %zu",
                           len, max_raw);
    d.p = calloc(1, sizeof *d.p);
    if (!d.p)
        return cp_diag_set(diag, CPROF_ENOMEM, "out of memory");
    d.p->arena.cap_bytes = CP_MAX_MODEL_BYTES;
    d.diag = diag;
    d.data = data;
    d.len = len;
    d.two_threads = two_threads;
    rc = decode_raw(&d);
    cp_idindex_free(&d.funcs);
    cp_idindex_free(&d.maps);
    cp_idindex_free(&d.locs);
    free(d.lines);
    if (rc) {
        cp_profile_free(d.p);
        return rc;
    }
    *out = d.p;
    return 0;
}

int cp_profile_decode(const void *data, size_t len, const cp_decode_opts *opts, cp_profile **out,
                      cp_diag *diag)
{
    size_t max_raw = opts && opts->max_decompressed ? opts->max_decompressed : CP_MAX_DECOMPRESSED;
    if (!cp_is_gzip(data, len))
        return decode_plain(data, len, max_raw, opts && opts->two_threads, out, diag);
    cp_buf raw = {0};
    int rc = (opts && opts->gunzip ? opts->gunzip : cp_gunzip)(data, len, max_raw, &raw, diag);
    if (!rc)
        rc = decode_plain(raw.data, raw.len, max_raw, opts && opts->two_threads, out, diag);
    cp_buf_free(&raw);
    return rc;
}

int cp_profile_read_file(const char *path, cp_profile **out, cp_diag *diag)
{
    return cp_profile_read_file_opts(path, NULL, out, diag);
}

int cp_profile_read_file_opts(const char *path, const cp_decode_opts *opts, cp_profile **out,
                              cp_diag *diag)
{
    cp_gunzip_fn *gunzip = opts && opts->gunzip ? opts->gunzip : cp_gunzip;
    size_t max_raw = opts && opts->max_decompressed ? opts->max_decompressed : CP_MAX_DECOMPRESSED;
    cp_buf b = {0};
    int rc = cp_buf_read_file(&b, path, CP_MAX_DECOMPRESSED);
    if (rc == CPROF_EIO) {
        cp_diag_set(diag, rc, "%s: %m", path);
    } else if (rc == CPROF_ETOOBIG) {
        cp_diag_set(diag, rc, "%s: file larger than %llu bytes", path,
                    (unsigned long long)CP_MAX_DECOMPRESSED);
    } else if (rc) {
        cp_diag_set(diag, rc, "%s: %s", path, cprof_strerror(rc));
    } else if (b.len == 0) {
        rc = cp_diag_set(diag, CPROF_EFORMAT, "%s: empty file", path);
    } else {
        cp_diag inner;
        if (!cp_is_gzip(b.data, b.len)) {
            rc = decode_plain(b.data, b.len, max_raw, opts && opts->two_threads, out, &inner);
        } else {
            /* inflate, then drop the compressed bytes before decoding: the
             * decoder's peak holds the raw bytes and the model, not both
             * forms of the file (two files read at once at a merge) */
            cp_buf raw = {0};
            rc = gunzip(b.data, b.len, max_raw, &raw, &inner);
            cp_buf_free(&b);
            b = raw;
            if (!rc)
                rc = decode_plain(b.data, b.len, max_raw, opts && opts->two_threads, out, &inner);
        }
        if (rc)
            cp_diag_set(diag, rc, "%s: %s", path, inner.msg);
    }
    cp_buf_free(&b);
    return rc;
}

void cp_profile_free(cp_profile *p)
{
    if (!p)
        return;
    cp_arena_free(&p->arena);
    free(p);
}

int cp_profile_sample_index(const cp_profile *p, const char *name)
{
    for (size_t i = 0; i < p->nsample_types; i++)
        if (strcmp(cp_str(p, p->sample_types[i].type), name) == 0)
            return (int)i;
    return -1;
}
