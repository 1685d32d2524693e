/* decode.c — profile.proto bytes → cp_profile.
 *
 * Several passes over the top-level fields, each cheap because nested
 * messages are skipped by length: (1) count every repeated message and
 * collect the string table, (2) functions and mappings, (3) locations, whose
 * references are resolved to indices, (4) samples, likewise.  Resolving at
 * decode time means every later stage can index arrays without checks, and a
 * dangling reference is reported with the record that holds it.  All memory
 * comes from the profile's arena, capped, so hostile input costs at most
 * CP_MAX_MODEL_BYTES.  Rejected: a generated decoder (a dependency for ~400
 * lines) and decoding into per-record mallocs (slow on 10^6 records).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cprof.h"
#include "base/hashmap.h"
#include "pb/pb.h"
#include "profile/profile.h"

/* id → index: a dense array when ids are small, else a hash map. */
typedef struct idx {
    uint32_t *dense; /* index+1, 0 = absent */
    uint64_t ndense;
    cp_map map;
} idx;

static int idx_init(idx *x, size_t n, uint64_t max_id)
{
    memset(x, 0, sizeof *x);
    if (max_id <= 4 * (uint64_t)n + 1024) {
        x->ndense = max_id + 1;
        x->dense = calloc(x->ndense, sizeof *x->dense);
        return x->dense ? 0 : CPROF_ENOMEM;
    }
    return 0;
}

/* 0 ok, 1 duplicate, <0 error */
static int idx_put(idx *x, uint64_t id, uint32_t i)
{
    if (x->dense) {
        if (x->dense[id])
            return 1;
        x->dense[id] = i + 1;
        return 0;
    }
    bool ins;
    uint64_t *slot = cp_map_slot(&x->map, id, i, &ins);
    if (!slot)
        return CPROF_ENOMEM;
    return ins ? 0 : 1;
}

static bool idx_get(const idx *x, uint64_t id, uint32_t *i)
{
    if (x->dense) {
        if (id >= x->ndense || !x->dense[id])
            return false;
        *i = x->dense[id] - 1;
        return true;
    }
    uint64_t v;
    if (!cp_map_get(&x->map, id, &v))
        return false;
    *i = (uint32_t)v;
    return true;
}

static void idx_free(idx *x)
{
    free(x->dense);
    cp_map_free(&x->map);
}

typedef struct dec {
    cp_profile *p;
    cp_diag *diag;
    const uint8_t *data;
    size_t len;
    idx funcs, maps, locs;
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

/* Pass 1: counts, largest ids and the string table. */
typedef struct counts {
    size_t st, sample, mapping, location, function, string, comment;
    uint64_t max_fid, max_mid, max_lid;
} counts;

static int peek_id(const cp_pbfield *f, uint64_t *id)
{
    cp_pbr r;
    cp_pbfield g;
    int rc;
    *id = 0;
    cp_pbr_init(&r, f->data, f->len);
    while ((rc = cp_pbr_next(&r, &g)) == 1)
        if (g.num == 1 && g.wire == PB_VARINT)
            *id = g.u;
    return rc;
}

static int pass_counts(dec *d, counts *c)
{
    cp_pbr r;
    cp_pbfield f;
    int rc;
    bool escape = false;
    cp_pbr_init(&r, d->data, d->len);
    while ((rc = cp_pbr_next(&r, &f)) == 1) {
        rc = 0;
        switch (f.num) {
        case 1: c->st++; break;
        case 2: c->sample++; break;
        case 3: c->mapping++; break;
        case 4: c->location++; break;
        case 5: c->function++; break;
        case 6:
            c->string++;
            escape = escape || (f.wire == PB_LEN && f.len && memchr(f.data, 0, f.len));
            break;
        case 13: c->comment += cp_pb_count_packed(&f); break;
        }
        /* the largest ids (pass_ids' index sizes), in the same pass */
        uint64_t id, *mx = f.num == 3 ? &c->max_mid : f.num == 4 ? &c->max_lid
                                   : f.num == 5 ? &c->max_fid : NULL;
        if (mx && f.wire == PB_LEN) {
            if (peek_id(&f, &id) < 0)
                return cp_diag_set(d->diag, CPROF_EFORMAT, "offset %zu: malformed %s", f.offset,
                                   f.num == 3 ? "mapping" : f.num == 4 ? "location" : "function");
            if (id > *mx)
                *mx = id;
        }
        if (f.num >= 2 && f.num <= 6 && f.wire != PB_LEN)
            return cp_diag_set(d->diag, CPROF_EFORMAT,
                               "offset %zu: field %u has wire type %d, want length-delimited",
                               f.offset, f.num, f.wire);
        if (f.num == 1 && f.wire != PB_LEN)
            return cp_diag_set(d->diag, CPROF_EFORMAT,
                               "offset %zu: sample_type has wire type %d", f.offset, f.wire);
    }
    if (rc < 0)
        return bad(d, &r, "profile");
    cp_profile *p = d->p;
    p->strings = alloc(d, c->string ? c->string : 1, sizeof *p->strings);
    if (!p->strings)
        return nomem(d);
    /* a NUL byte in some string: every string is stored escaped (see
     * profile.h), so names stay distinct C strings */
    p->nul_escaped = escape;
    cp_pbr_init(&r, d->data, d->len);
    while ((rc = cp_pbr_next(&r, &f)) == 1) {
        if (f.num != 6)
            continue;
        char *s;
        if (escape) {
            const unsigned char *in = f.data;
            size_t extra = 0;
            for (size_t i = 0; i < f.len; i++)
                extra += in[i] == 0 || in[i] == 0xc0;
            s = cp_arena_alloc(&p->arena, f.len + extra + 1);
            if (!s)
                return nomem(d);
            size_t w = 0;
            for (size_t i = 0; i < f.len; i++) {
                if (in[i] == 0 || in[i] == 0xc0) {
                    s[w++] = (char)0xc0;
                    s[w++] = in[i] ? (char)0xc0 : (char)0x80;
                } else {
                    s[w++] = (char)in[i];
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

/* the id → index maps, sized by pass 1's largest ids */
static int pass_ids(dec *d, counts *c)
{
    if (idx_init(&d->funcs, c->function, c->max_fid) || idx_init(&d->maps, c->mapping, c->max_mid) ||
        idx_init(&d->locs, c->location, c->max_lid))
        return nomem(d);
    return 0;
}

static int put_id(dec *d, idx *x, uint64_t id, uint32_t i, const char *what)
{
    if (id == 0)
        return cp_diag_set(d->diag, CPROF_EFORMAT, "%s %u: id 0 is reserved", what, i);
    int rc = idx_put(x, id, i);
    if (rc < 0)
        return nomem(d);
    if (rc)
        return cp_diag_set(d->diag, CPROF_EFORMAT, "%s %u: duplicate id %" PRIu64, what, i, id);
    return 0;
}

static int decode_function(dec *d, const cp_pbfield *in, cp_function *fn, uint32_t i)
{
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
    return put_id(d, &d->funcs, fn->id, i, "function");
}

static int decode_mapping(dec *d, const cp_pbfield *in, cp_mapping *m, uint32_t i)
{
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
    return put_id(d, &d->maps, m->id, i, "mapping");
}

static int decode_location(dec *d, const cp_pbfield *in, cp_location *l, uint32_t i)
{
    cp_pbr r;
    cp_pbfield f;
    int rc;
    uint64_t mid = 0;
    size_t nlines = 0;
    cp_pbr_init(&r, in->data, in->len);
    while ((rc = cp_pbr_next(&r, &f)) == 1)
        nlines += f.num == 4 && f.wire == PB_LEN;
    if (rc < 0)
        return cp_diag_set(d->diag, CPROF_EFORMAT, "location %u: %s", i, r.err);
    if (nlines) {
        l->lines = alloc(d, nlines, sizeof *l->lines);
        if (!l->lines)
            return nomem(d);
    }
    cp_pbr_init(&r, in->data, in->len);
    while ((rc = cp_pbr_next(&r, &f)) == 1) {
        if (f.num == 4 && f.wire == PB_LEN) {
            cp_line *ln = &l->lines[l->nlines++];
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
                                   l->nlines - 1, lr.err);
            ln->func = CP_NO_FUNCTION;
            if (!fid) /* go tool pprof refuses these too: a line must name a function */
                return cp_diag_set(d->diag, CPROF_EFORMAT,
                                   "location %u (id %" PRIu64 "): line %u has no function", i,
                                   l->id, l->nlines - 1);
            if (!idx_get(&d->funcs, fid, &ln->func))
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
    l->mapping = CP_NO_MAPPING;
    if (mid && !idx_get(&d->maps, mid, &l->mapping))
        return cp_diag_set(d->diag, CPROF_EFORMAT,
                           "location %u (id %" PRIu64 "): mapping id %" PRIu64 " not defined", i,
                           l->id, mid);
    return put_id(d, &d->locs, l->id, i, "location");
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
    const idx *locs;
    uint32_t *out;
    size_t n;
    uint64_t undefined; /* the id that was not found */
} loc_fill;

static int fill_loc(void *ctx, uint64_t id)
{
    loc_fill *fl = ctx;
    if (!idx_get(fl->locs, id, &fl->out[fl->n])) {
        fl->undefined = id;
        return CPROF_ENOTFOUND;
    }
    fl->n++;
    return 0;
}

/* The packed location ids of a sample, resolved to indices: the decoder's
 * innermost loop (40 ids a sample, millions a profile), so ids of up to
 * three bytes and the dense index are read inline. */
static int read_locs(const idx *x, const cp_pbfield *f, loc_fill *fl)
{
    if (f->wire != PB_LEN)
        return cp_pb_repeated_u64(f, fill_loc, fl);
    const uint8_t *p = f->data, *end = f->data + f->len;
    while (p < end) {
        uint64_t v;
        if (end - p >= 3 && (p[0] < 0x80 || p[1] < 0x80 || p[2] < 0x80)) {
            v = p[0] & 0x7f;
            if (*p++ & 0x80) {
                v |= (uint64_t)(p[0] & 0x7f) << 7;
                if (*p++ & 0x80)
                    v |= (uint64_t)*p++ << 14;
            }
        } else if (cp_pb_varint(&p, end, &v)) {
            return CPROF_EFORMAT;
        }
        if (x->dense && v < x->ndense && x->dense[v]) {
            fl->out[fl->n++] = x->dense[v] - 1;
            continue;
        }
        int rc = fill_loc(fl, v);
        if (rc)
            return rc;
    }
    return 0;
}

static int decode_sample(dec *d, const cp_pbfield *in, cp_sample *s, uint32_t i)
{
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
    s->values = nval ? alloc(d, nval, sizeof *s->values) : NULL;
    s->locs = nloc ? alloc(d, nloc, sizeof *s->locs) : NULL;
    s->labels = nlab ? alloc(d, nlab, sizeof *s->labels) : NULL;
    if ((nloc && !s->locs) || (nval && !s->values) || (nlab && !s->labels))
        return nomem(d);
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

static int decode_raw(dec *d)
{
    cp_profile *p = d->p;
    counts c = {0};
    int rc;
    if ((rc = pass_counts(d, &c)) || (rc = pass_ids(d, &c)))
        return rc;
    if (c.sample > UINT32_MAX || c.location > UINT32_MAX - 1 || c.function > UINT32_MAX - 1 ||
        c.mapping > UINT32_MAX - 1)
        return nomem(d);
    p->sample_types = alloc(d, c.st ? c.st : 1, sizeof *p->sample_types);
    p->samples = alloc(d, c.sample ? c.sample : 1, sizeof *p->samples);
    p->mappings = alloc(d, c.mapping ? c.mapping : 1, sizeof *p->mappings);
    p->locations = alloc(d, c.location ? c.location : 1, sizeof *p->locations);
    p->functions = alloc(d, c.function ? c.function : 1, sizeof *p->functions);
    p->comments = alloc(d, c.comment ? c.comment : 1, sizeof *p->comments);
    if (!p->sample_types || !p->samples || !p->mappings || !p->locations || !p->functions ||
        !p->comments)
        return nomem(d);

    cp_pbr r;
    cp_pbfield f;
    /* pass 2: scalars, sample types, functions, mappings */
    cp_pbr_init(&r, d->data, d->len);
    while ((rc = cp_pbr_next(&r, &f)) == 1) {
        rc = 0;
        /* the int64 scalars: any other wire type leaves f.u unset */
        if (((f.num >= 7 && f.num <= 10) || f.num == 12 || f.num == 14) && f.wire != PB_VARINT)
            return cp_diag_set(d->diag, CPROF_EFORMAT,
                               "offset %zu: field %u has wire type %d, want varint", f.offset,
                               f.num, f.wire);
        switch (f.num) {
        case 1:
            rc = value_type(d, f.data, f.len, &p->sample_types[p->nsample_types],
                            "sample_type", p->nsample_types);
            p->nsample_types++;
            break;
        case 3:
            rc = decode_mapping(d, &f, &p->mappings[p->nmappings], (uint32_t)p->nmappings);
            p->nmappings++;
            break;
        case 5:
            rc = decode_function(d, &f, &p->functions[p->nfunctions], (uint32_t)p->nfunctions);
            p->nfunctions++;
            break;
        case 7: p->drop_frames = (int64_t)f.u; break;
        case 8: p->keep_frames = (int64_t)f.u; break;
        case 9: p->time_nanos = (int64_t)f.u; break;
        case 10: p->duration_nanos = (int64_t)f.u; break;
        case 11:
            if (f.wire != PB_LEN)
                return cp_diag_set(d->diag, CPROF_EFORMAT, "period_type has wire type %d", f.wire);
            rc = value_type(d, f.data, f.len, &p->period_type, "period_type", 0);
            break;
        case 12: p->period = (int64_t)f.u; break;
        case 13:
            if (cp_pb_repeated_u64(&f, comment_cb, p))
                return cp_diag_set(d->diag, CPROF_EFORMAT, "offset %zu: malformed comment",
                                   f.offset);
            break;
        case 14: p->default_sample_type = (int64_t)f.u; break;
        }
        if (rc)
            return rc;
    }
    if (rc < 0)
        return bad(d, &r, "profile");
    if ((rc = check_str(d, p->drop_frames, "drop_frames", 0)) ||
        (rc = check_str(d, p->keep_frames, "keep_frames", 0)) ||
        (rc = check_str(d, p->default_sample_type, "default_sample_type", 0)))
        return rc;
    for (size_t i = 0; i < p->ncomments; i++)
        if ((rc = check_str(d, p->comments[i], "comment", i)))
            return rc;
    /* pass 3: locations */
    cp_pbr_init(&r, d->data, d->len);
    while ((rc = cp_pbr_next(&r, &f)) == 1) {
        if (f.num != 4)
            continue;
        rc = decode_location(d, &f, &p->locations[p->nlocations], (uint32_t)p->nlocations);
        p->nlocations++;
        if (rc)
            return rc;
    }
    /* pass 4: samples */
    cp_pbr_init(&r, d->data, d->len);
    while ((rc = cp_pbr_next(&r, &f)) == 1) {
        if (f.num != 2)
            continue;
        rc = decode_sample(d, &f, &p->samples[p->nsamples], (uint32_t)p->nsamples);
        p->nsamples++;
        if (rc)
            return rc;
    }
    return 0;
}

/* Decode raw protobuf (never gzip: a gzip inside gzip is not a profile). */
static int decode_plain(const void *data, size_t len, size_t max_raw, cp_profile **out,
                        cp_diag *diag)
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
    rc = decode_raw(&d);
    idx_free(&d.funcs);
    idx_free(&d.maps);
    idx_free(&d.locs);
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
        return decode_plain(data, len, max_raw, out, diag);
    cp_buf raw = {0};
    int rc = (opts && opts->gunzip ? opts->gunzip : cp_gunzip)(data, len, max_raw, &raw, diag);
    if (!rc)
        rc = decode_plain(raw.data, raw.len, max_raw, out, diag);
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
            rc = decode_plain(b.data, b.len, max_raw, out, &inner);
        } else {
            /* inflate, then drop the compressed bytes before decoding: the
             * decoder's peak holds the raw bytes and the model, not both
             * forms of the file (two files read at once at a merge) */
            cp_buf raw = {0};
            rc = gunzip(b.data, b.len, max_raw, &raw, &inner);
            cp_buf_free(&b);
            b = raw;
            if (!rc)
                rc = decode_plain(b.data, b.len, max_raw, out, &inner);
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
