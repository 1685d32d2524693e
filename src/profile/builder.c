/* builder.c — interning profile builder.
 *
 * Every record kind lives in a growable array; a record's id is its index+1.
 * Deduplication uses one hash map per kind from a 64-bit content hash to the
 * first record with that hash, plus a `next` chain for records sharing a hash
 * (compared field by field), so collisions cost a compare, never a wrong
 * merge.  Sample stacks, values and labels are stored in flat pools.
 * finish() copies everything into one arena-owned cp_profile.  Rejected: a
 * tree of sorted structures (slower, more code) and storing cp_profile
 * directly (its arrays cannot grow).
 */
#include "profile/builder.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/hashmap.h"
#include "cprof.h"

typedef struct bsample {
    size_t loc_off, nlocs;     /* into b->locpool */
    size_t val_off;            /* into b->valpool, nst values */
    size_t lab_off, nlabels;   /* into b->labpool */
} bsample;

typedef struct bloc {
    cp_location l;             /* lines pointer unused here */
    size_t line_off;           /* into b->linepool */
} bloc;

typedef struct chain {
    cp_map first; /* hash → index+1 */
    uint32_t *next; /* index → index+1 of the next record with the same hash */
    size_t cap;
} chain;

#define VEC(T) struct { T *v; size_t n, cap; }

struct cp_pbuilder {
    bool merge;
    bool nul_escaped; /* strings come from an escaped profile (profile.h) */
    cp_strtab strs;
    VEC(cp_value_type) st;
    VEC(int64_t) comments;
    cp_value_type period_type;
    int64_t period, time_nanos, duration_nanos, drop, keep, default_st;
    VEC(cp_mapping) maps;
    VEC(cp_function) funcs;
    VEC(bloc) locs;
    VEC(cp_line) linepool;
    VEC(bsample) samples;
    VEC(uint32_t) locpool;     /* location ids (1-based), 4 bytes each */
    VEC(int64_t) valpool;
    VEC(cp_label) labpool;
    VEC(cp_label) scratch;     /* the labels of the sample being added */
    VEC(uint32_t) order;       /* their canonical order */
    chain cmaps, cfuncs, clocs, csamples;
    int err;
};

#define PUSH(vec, item)                                                                       \
    (cp_grow(&(vec).v, &(vec).cap, (vec).n + 1, sizeof *(vec).v) ? CPROF_ENOMEM                 \
                                                                 : ((vec).v[(vec).n++] = (item), 0))

cp_pbuilder *cp_pbuilder_new(bool merge_samples)
{
    cp_pbuilder *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->merge = merge_samples;
    if (cp_strtab_intern(&b->strs, "", 0) != 0) {
        free(b);
        return NULL;
    }
    return b;
}

static void chain_free(chain *c)
{
    cp_map_free(&c->first);
    free(c->next);
}

void cp_pbuilder_free(cp_pbuilder *b)
{
    if (!b)
        return;
    cp_strtab_free(&b->strs);
    free(b->st.v);
    free(b->comments.v);
    free(b->maps.v);
    free(b->funcs.v);
    free(b->locs.v);
    free(b->linepool.v);
    free(b->samples.v);
    free(b->locpool.v);
    free(b->valpool.v);
    free(b->labpool.v);
    free(b->scratch.v);
    free(b->order.v);
    chain_free(&b->cmaps);
    chain_free(&b->cfuncs);
    chain_free(&b->clocs);
    chain_free(&b->csamples);
    free(b);
}

int64_t cp_pbuilder_str(cp_pbuilder *b, const char *s)
{
    int64_t i = cp_strtab_add(&b->strs, s);
    if (i < 0)
        b->err = CPROF_ENOMEM;
    return i;
}

static int64_t str0(cp_pbuilder *b, const char *s)
{
    int64_t i = cp_pbuilder_str(b, s);
    return i < 0 ? 0 : i;
}

int cp_pbuilder_sample_type(cp_pbuilder *b, const char *type, const char *unit)
{
    cp_value_type vt = {str0(b, type), str0(b, unit)};
    return PUSH(b->st, vt) ? (b->err = CPROF_ENOMEM) : b->err;
}

int cp_pbuilder_period(cp_pbuilder *b, const char *type, const char *unit, int64_t period)
{
    b->period_type.type = str0(b, type);
    b->period_type.unit = str0(b, unit);
    b->period = period;
    return b->err;
}

int cp_pbuilder_default_sample_type(cp_pbuilder *b, const char *type)
{
    b->default_st = str0(b, type);
    return b->err;
}

int cp_pbuilder_comment(cp_pbuilder *b, const char *text)
{
    int64_t s = str0(b, text);
    return PUSH(b->comments, s) ? (b->err = CPROF_ENOMEM) : b->err;
}

int cp_pbuilder_drop_keep(cp_pbuilder *b, const char *drop_frames, const char *keep_frames)
{
    b->drop = drop_frames ? str0(b, drop_frames) : 0;
    b->keep = keep_frames ? str0(b, keep_frames) : 0;
    return b->err;
}

void cp_pbuilder_times(cp_pbuilder *b, int64_t time_nanos, int64_t duration_nanos)
{
    b->time_nanos = time_nanos;
    b->duration_nanos = duration_nanos;
}

/* Find a record with hash h for which eq(ctx, index) holds; returns index+1
 * or 0.  */
typedef bool (*eq_fn)(const cp_pbuilder *b, const void *want, size_t i);

static size_t chain_find(const cp_pbuilder *b, const chain *c, uint64_t h, eq_fn eq,
                         const void *want)
{
    uint64_t first;
    if (!cp_map_get(&c->first, h, &first))
        return 0;
    for (size_t i = first; i; i = c->next[i - 1])
        if (eq(b, want, i - 1))
            return i;
    return 0;
}

static int chain_add(chain *c, uint64_t h, size_t index)
{
    if (cp_grow(&c->next, &c->cap, index + 1, sizeof *c->next))
        return CPROF_ENOMEM;
    bool ins;
    uint64_t *slot = cp_map_slot(&c->first, h, index + 1, &ins);
    if (!slot)
        return CPROF_ENOMEM;
    c->next[index] = ins ? 0 : (uint32_t)*slot;
    *slot = index + 1;
    return 0;
}

static bool map_eq(const cp_pbuilder *b, const void *want, size_t i)
{
    const cp_mapping *x = want, *y = &b->maps.v[i];
    return x->start == y->start && x->limit == y->limit && x->offset == y->offset &&
           x->filename == y->filename && x->build_id == y->build_id &&
           x->has_functions == y->has_functions && x->has_filenames == y->has_filenames &&
           x->has_line_numbers == y->has_line_numbers &&
           x->has_inline_frames == y->has_inline_frames;
}

uint64_t cp_pbuilder_mapping(cp_pbuilder *b, uint64_t start, uint64_t limit, uint64_t offset,
                             const char *filename, const char *build_id, bool has_functions,
                             bool has_filenames, bool has_line_numbers, bool has_inline_frames)
{
    cp_mapping m = {0, start, limit, offset, str0(b, filename), str0(b, build_id),
                    has_functions, has_filenames, has_line_numbers, has_inline_frames};
    uint64_t h = cp_hash_bytes(&m.start, 3 * sizeof(uint64_t), (uint64_t)m.filename) ^
                 cp_hash_u64((uint64_t)m.build_id);
    size_t i = chain_find(b, &b->cmaps, h, map_eq, &m);
    if (i)
        return i;
    m.id = b->maps.n + 1;
    if (PUSH(b->maps, m) || chain_add(&b->cmaps, h, b->maps.n - 1)) {
        b->err = CPROF_ENOMEM;
        return 0;
    }
    return m.id;
}

static bool func_eq(const cp_pbuilder *b, const void *want, size_t i)
{
    const cp_function *x = want, *y = &b->funcs.v[i];
    return x->name == y->name && x->system_name == y->system_name &&
           x->filename == y->filename && x->start_line == y->start_line;
}

uint64_t cp_pbuilder_function(cp_pbuilder *b, const char *name, const char *system_name,
                              const char *filename, int64_t start_line)
{
    cp_function f = {0, str0(b, name), str0(b, system_name), str0(b, filename), start_line};
    uint64_t h = cp_hash_bytes(&f.name, 4 * sizeof(int64_t), 0);
    size_t i = chain_find(b, &b->cfuncs, h, func_eq, &f);
    if (i)
        return i;
    f.id = b->funcs.n + 1;
    if (PUSH(b->funcs, f) || chain_add(&b->cfuncs, h, b->funcs.n - 1)) {
        b->err = CPROF_ENOMEM;
        return 0;
    }
    return f.id;
}

typedef struct loc_want {
    uint64_t mapping, address;
    const cp_line_in *lines;
    size_t nlines;
    bool folded;
} loc_want;

static bool loc_eq(const cp_pbuilder *b, const void *want, size_t i)
{
    const loc_want *x = want;
    const bloc *y = &b->locs.v[i];
    uint64_t ymap = y->l.mapping == CP_NO_MAPPING ? 0 : (uint64_t)y->l.mapping + 1;
    if (x->mapping != ymap || x->address != y->l.address || x->nlines != y->l.nlines ||
        x->folded != y->l.is_folded)
        return false;
    for (size_t k = 0; k < x->nlines; k++) {
        const cp_line *ln = &b->linepool.v[y->line_off + k];
        uint64_t fid = ln->func == CP_NO_FUNCTION ? 0 : (uint64_t)ln->func + 1;
        if (fid != x->lines[k].function_id || ln->line != x->lines[k].line ||
            ln->column != x->lines[k].column)
            return false;
    }
    return true;
}

uint64_t cp_pbuilder_location(cp_pbuilder *b, uint64_t mapping_id, uint64_t address,
                              const cp_line_in *lines, size_t nlines, bool is_folded)
{
    if (mapping_id > b->maps.n) {
        b->err = CPROF_EINVAL;
        return 0;
    }
    loc_want w = {mapping_id, address, lines, nlines, is_folded};
    uint64_t h = cp_hash_u64(mapping_id * 31 + address) ^ (is_folded ? 0x9e37 : 0) ^ nlines;
    for (size_t k = 0; k < nlines; k++)
        h = cp_hash_u64(h ^ (lines[k].function_id << 20) ^ (uint64_t)lines[k].line ^
                        ((uint64_t)lines[k].column << 40));
    size_t i = chain_find(b, &b->clocs, h, loc_eq, &w);
    if (i)
        return i;
    bloc bl;
    memset(&bl, 0, sizeof bl);
    bl.l.id = b->locs.n + 1;
    bl.l.address = address;
    bl.l.mapping = mapping_id ? (uint32_t)(mapping_id - 1) : CP_NO_MAPPING;
    bl.l.nlines = (uint32_t)nlines;
    bl.l.is_folded = is_folded;
    bl.line_off = b->linepool.n;
    for (size_t k = 0; k < nlines; k++) {
        if (lines[k].function_id > b->funcs.n) {
            b->err = CPROF_EINVAL;
            return 0;
        }
        cp_line ln = {lines[k].function_id ? (uint32_t)(lines[k].function_id - 1) : CP_NO_FUNCTION,
                      lines[k].line, lines[k].column};
        if (PUSH(b->linepool, ln)) {
            b->err = CPROF_ENOMEM;
            return 0;
        }
    }
    if (PUSH(b->locs, bl) || chain_add(&b->clocs, h, b->locs.n - 1)) {
        b->err = CPROF_ENOMEM;
        return 0;
    }
    return bl.l.id;
}

typedef struct sample_want {
    const uint64_t *locs;
    size_t nlocs;
    const cp_label *labels;
    size_t nlabels;
} sample_want;

static bool locs_eq(const uint64_t *a, const uint32_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

static bool sample_eq(const cp_pbuilder *b, const void *want, size_t i)
{
    const sample_want *x = want;
    const bsample *y = &b->samples.v[i];
    return x->nlocs == y->nlocs && x->nlabels == y->nlabels &&
           (!x->nlocs || locs_eq(x->locs, &b->locpool.v[y->loc_off], x->nlocs)) &&
           (!x->nlabels ||
            !memcmp(x->labels, &b->labpool.v[y->lab_off], x->nlabels * sizeof *x->labels));
}

/* go's order of a sample's labels when it writes a profile and the order
 * that makes two samples' labels comparable (profile.Merge's sample key):
 * string labels before numeric ones, keys in byte order, values of one key
 * in their given order (a stable sort). */
static int label_cmp(const void *x, const void *y, void *ctx)
{
    const cp_pbuilder *sort_b = ctx;
    uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
    const cp_label *a = &sort_b->scratch.v[i], *c = &sort_b->scratch.v[j];
    int ka = a->str == 0, kc = c->str == 0;
    if (ka != kc)
        return ka - kc;
    if (a->key != c->key) {
        uint32_t la = sort_b->strs.lens[a->key], lc = sort_b->strs.lens[c->key];
        int d = memcmp(sort_b->strs.strs[a->key], sort_b->strs.strs[c->key], la < lc ? la : lc);
        if (d)
            return d;
        if (la != lc)
            return la < lc ? -1 : 1;
    }
    return i < j ? -1 : i > j;
}

static int sort_labels(cp_pbuilder *b, size_t n)
{
    bool sorted = true;
    if (cp_grow(&b->order.v, &b->order.cap, n, sizeof *b->order.v))
        return CPROF_ENOMEM;
    for (size_t k = 0; k < n; k++)
        b->order.v[k] = (uint32_t)k;
    for (size_t k = 1; k < n && sorted; k++)
        sorted = label_cmp(&b->order.v[k - 1], &b->order.v[k], b) < 0;
    if (sorted)
        return 0;
    qsort_r(b->order.v, n, sizeof *b->order.v, label_cmp, b); /* no shared state */
    /* permute through the tail of the scratch vector */
    if (cp_grow(&b->scratch.v, &b->scratch.cap, 2 * n, sizeof *b->scratch.v))
        return CPROF_ENOMEM;
    for (size_t k = 0; k < n; k++)
        b->scratch.v[n + k] = b->scratch.v[b->order.v[k]];
    memcpy(b->scratch.v, b->scratch.v + n, n * sizeof *b->scratch.v);
    return 0;
}

uint64_t cp_pbuilder_named_location(cp_pbuilder *b, const char *name)
{
    uint64_t fid = cp_pbuilder_function(b, name, name, "", 0);
    cp_line_in line = {.function_id = fid};
    return fid ? cp_pbuilder_location(b, 0, 0, &line, 1, false) : 0;
}

int cp_pbuilder_sample(cp_pbuilder *b, const uint64_t *loc_ids, size_t nlocs,
                       const int64_t *values, const cp_label_in *labels, size_t nlabels)
{
    if (b->err)
        return b->err;
    if (nlabels >= UINT32_MAX / 2 || nlocs >= UINT32_MAX)
        return CPROF_EINVAL;
    if (cp_grow(&b->scratch.v, &b->scratch.cap, nlabels, sizeof *b->scratch.v))
        return b->err = CPROF_ENOMEM;
    cp_label *labs = b->scratch.v;
    for (size_t k = 0; k < nlabels; k++) {
        memset(&labs[k], 0, sizeof labs[k]);
        labs[k].key = str0(b, labels[k].key);
        labs[k].str = labels[k].str ? str0(b, labels[k].str) : 0;
        labs[k].num = labels[k].str ? 0 : labels[k].num;
        labs[k].num_unit = labels[k].unit ? str0(b, labels[k].unit) : 0;
    }
    if (b->err)
        return b->err;
    if (b->merge && nlabels > 1 && sort_labels(b, nlabels))
        return b->err = CPROF_ENOMEM;
    labs = b->scratch.v;
    for (size_t k = 0; k < nlocs; k++)
        if (loc_ids[k] == 0 || loc_ids[k] > b->locs.n || loc_ids[k] > UINT32_MAX)
            return CPROF_EINVAL;
    size_t nst = b->st.n;
    uint64_t h = 0;
    if (b->merge) {
        h = cp_hash_bytes(loc_ids, nlocs * sizeof *loc_ids, nlabels) ^
            cp_hash_bytes(labs, nlabels * sizeof *labs, 7);
        sample_want w = {loc_ids, nlocs, labs, nlabels};
        size_t i = chain_find(b, &b->csamples, h, sample_eq, &w);
        if (i) {
            /* go's int64 addition wraps; so does this, without undefined
             * behaviour */
            int64_t *v = &b->valpool.v[b->samples.v[i - 1].val_off];
            for (size_t k = 0; k < nst; k++)
                v[k] = (int64_t)((uint64_t)v[k] + (uint64_t)values[k]);
            return 0;
        }
    }
    bsample s = {b->locpool.n, nlocs, b->valpool.n, b->labpool.n, nlabels};
    if (cp_grow(&b->locpool.v, &b->locpool.cap, b->locpool.n + nlocs, sizeof(uint32_t)) ||
        cp_grow(&b->valpool.v, &b->valpool.cap, b->valpool.n + nst, sizeof(int64_t)) ||
        cp_grow(&b->labpool.v, &b->labpool.cap, b->labpool.n + nlabels, sizeof(cp_label)) ||
        PUSH(b->samples, s))
        return b->err = CPROF_ENOMEM;
    for (size_t k = 0; k < nlocs; k++)
        b->locpool.v[b->locpool.n + k] = (uint32_t)loc_ids[k];
    if (nst)
        memcpy(&b->valpool.v[b->valpool.n], values, nst * sizeof *values);
    if (nlabels)
        memcpy(&b->labpool.v[b->labpool.n], labs, nlabels * sizeof *labs);
    b->locpool.n += nlocs;
    b->valpool.n += nst;
    b->labpool.n += nlabels;
    if (b->merge && chain_add(&b->csamples, h, b->samples.n - 1))
        return b->err = CPROF_ENOMEM;
    return 0;
}

#define COPY(dst, src, n)                                                                     \
    do {                                                                                      \
        (dst) = cp_arena_alloc(&p->arena, ((n) ? (n) : 1) * sizeof *(dst));                    \
        if (!(dst))                                                                           \
            goto fail;                                                                        \
        if (n)                                                                                \
            memcpy((void *)(dst), (src), (n) * sizeof *(dst));                                \
    } while (0)

void cp_pbuilder_set_nul_escaped(cp_pbuilder *b, bool escaped)
{
    b->nul_escaped = b->nul_escaped || escaped;
}

/* release: free each table of b once copied (cp_pbuilder_finish_free) */
#define RELEASE(vec)                                                                          \
    do {                                                                                      \
        if (release) {                                                                        \
            free((vec).v);                                                                    \
            (vec).v = NULL;                                                                   \
            (vec).n = (vec).cap = 0;                                                          \
        }                                                                                     \
    } while (0)

static cp_profile *finish(cp_pbuilder *b, bool release)
{
    if (b->err)
        return NULL;
    if (release) { /* the dedup chains are of no use any more */
        chain *cs[] = {&b->cmaps, &b->cfuncs, &b->clocs, &b->csamples};
        for (size_t i = 0; i < sizeof cs / sizeof *cs; i++) {
            chain_free(cs[i]);
            memset(cs[i], 0, sizeof *cs[i]);
        }
    }
    cp_profile *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    size_t nst = b->st.n;
    p->nsample_types = nst;
    COPY(p->sample_types, b->st.v, nst);
    p->ncomments = b->comments.n;
    COPY(p->comments, b->comments.v, b->comments.n);
    p->nmappings = b->maps.n;
    COPY(p->mappings, b->maps.v, b->maps.n);
    p->nfunctions = b->funcs.n;
    COPY(p->functions, b->funcs.v, b->funcs.n);
    p->nstrings = b->strs.len;
    COPY(p->strings, b->strs.strs, b->strs.len);
    for (size_t i = 0; i < p->nstrings; i++) {
        p->strings[i] = cp_arena_strndup(&p->arena, p->strings[i], b->strs.lens[i]);
        if (!p->strings[i])
            goto fail;
    }
    if (release)
        cp_strtab_free(&b->strs);
    p->nlocations = b->locs.n;
    p->locations = cp_arena_alloc(&p->arena, (b->locs.n ? b->locs.n : 1) * sizeof *p->locations);
    if (!p->locations)
        goto fail;
    for (size_t i = 0; i < b->locs.n; i++) {
        p->locations[i] = b->locs.v[i].l;
        if (p->locations[i].nlines)
            COPY(p->locations[i].lines, &b->linepool.v[b->locs.v[i].line_off],
                 p->locations[i].nlines);
        else
            p->locations[i].lines = NULL;
    }
    RELEASE(b->locs);
    RELEASE(b->linepool);
    p->nsamples = b->samples.n;
    p->samples = cp_arena_alloc(&p->arena, (b->samples.n ? b->samples.n : 1) * sizeof *p->samples);
    if (!p->samples)
        goto fail;
    for (size_t i = 0; i < b->samples.n; i++) {
        const bsample *bs = &b->samples.v[i];
        cp_sample *s = &p->samples[i];
        s->nlocs = (uint32_t)bs->nlocs;
        s->nlabels = (uint32_t)bs->nlabels;
        s->locs = cp_arena_alloc(&p->arena, (bs->nlocs ? bs->nlocs : 1) * sizeof *s->locs);
        if (!s->locs)
            goto fail;
        for (size_t k = 0; k < bs->nlocs; k++)
            s->locs[k] = (uint32_t)(b->locpool.v[bs->loc_off + k] - 1);
        COPY(s->values, &b->valpool.v[bs->val_off], nst);
        COPY(s->labels, &b->labpool.v[bs->lab_off], bs->nlabels);
    }
    RELEASE(b->samples);
    RELEASE(b->locpool);
    RELEASE(b->valpool);
    RELEASE(b->labpool);
    p->drop_frames = b->drop;
    p->keep_frames = b->keep;
    p->time_nanos = b->time_nanos;
    p->duration_nanos = b->duration_nanos;
    p->period_type = b->period_type;
    p->period = b->period;
    p->default_sample_type = b->default_st;
    p->nul_escaped = b->nul_escaped;
    return p;
fail:
    cp_profile_free(p);
    return NULL;
}

cp_profile *cp_pbuilder_finish(cp_pbuilder *b)
{
    return finish(b, false);
}

cp_profile *cp_pbuilder_finish_free(cp_pbuilder *b)
{
    cp_profile *p = finish(b, true);
    cp_pbuilder_free(b);
    return p;
}

int64_t cp_go_scale_round(int64_t v, double r)
{
    return cp_go_f2i(round((double)v * r));
}

/* ---- copying a profile in: the one path for add_profile and merges ---- */

/* A source profile's records as ids of b: 0 until interned. */
typedef struct copy {
    cp_pbuilder *b;
    const cp_profile *src;
    const cp_copy_opts *o;
    uint64_t *mid, *fid;
    uint32_t *lid;           /* location ids fit 32 bits (bsample's pool) */
    int64_t *moff;           /* address shift of each mapping (map_mapping) */
    cp_line_in *lines;
    size_t lines_cap;
} copy;

static uint64_t copy_mapping(copy *c, uint32_t i)
{
    if (c->mid[i])
        return c->mid[i];
    const cp_mapping *m = &c->src->mappings[i];
    if (c->o->map_mapping)
        return c->mid[i] = c->o->map_mapping(c->o->ctx, c->b, c->src, i, &c->moff[i]);
    return c->mid[i] = cp_pbuilder_mapping(c->b, m->start, m->limit, m->offset,
                                           cp_str(c->src, m->filename), cp_str(c->src, m->build_id),
                                           m->has_functions, m->has_filenames,
                                           m->has_line_numbers, m->has_inline_frames);
}

static uint64_t copy_function(copy *c, uint32_t i)
{
    if (c->fid[i])
        return c->fid[i];
    const cp_function *f = &c->src->functions[i];
    return c->fid[i] = cp_pbuilder_function(c->b, cp_str(c->src, f->name),
                                            cp_str(c->src, f->system_name),
                                            cp_str(c->src, f->filename), f->start_line);
}

static uint64_t copy_location(copy *c, uint32_t i)
{
    if (c->lid[i])
        return c->lid[i];
    const cp_location *l = &c->src->locations[i];
    uint64_t m = 0;
    int64_t off = 0;
    if (l->mapping != CP_NO_MAPPING) {
        if (!(m = copy_mapping(c, l->mapping)))
            return 0;
        off = c->moff[l->mapping];
    }
    if (cp_grow(&c->lines, &c->lines_cap, (size_t)l->nlines + 1, sizeof *c->lines))
        return 0;
    for (uint32_t k = 0; k < l->nlines; k++) {
        uint32_t f = l->lines[k].func;
        c->lines[k].function_id = 0;
        if (f != CP_NO_FUNCTION && !(c->lines[k].function_id = copy_function(c, f)))
            return 0;
        c->lines[k].line = l->lines[k].line;
        /* go's merge (used_only) keeps no column: lines that differ only
         * there are one line, their locations one location */
        c->lines[k].column = c->o->used_only ? 0 : l->lines[k].column;
    }
    uint64_t id = cp_pbuilder_location(c->b, m, (uint64_t)cp_wadd((int64_t)l->address, off),
                                       c->lines, l->nlines, l->is_folded);
    if (id > UINT32_MAX) {
        c->b->err = CPROF_ETOOBIG;
        return 0;
    }
    return c->lid[i] = (uint32_t)id;
}

static bool all_zero(const cp_profile *p, const cp_sample *s)
{
    for (size_t k = 0; k < p->nsample_types; k++)
        if (s->values[k])
            return false;
    return true;
}

int cp_pbuilder_copy(cp_pbuilder *b, const cp_profile *src, const cp_copy_opts *o)
{
    int rc = 0;
    copy c = {.b = b, .src = src, .o = o};
    uint64_t *stack = NULL;
    int64_t *vals = calloc(src->nsample_types + 1, sizeof *vals);
    cp_label_in *labs = NULL;
    size_t stack_cap = 0, labs_cap = 0;
    c.mid = calloc(src->nmappings + 1, sizeof *c.mid);
    c.moff = calloc(src->nmappings + 1, sizeof *c.moff);
    c.fid = calloc(src->nfunctions + 1, sizeof *c.fid);
    c.lid = calloc(src->nlocations + 1, sizeof *c.lid);
    b->nul_escaped = b->nul_escaped || src->nul_escaped;
    if (!c.mid || !c.moff || !c.fid || !c.lid || !vals) {
        rc = CPROF_ENOMEM;
        goto out;
    }
    if (!o->used_only) { /* every record, in the source's order */
        for (uint32_t i = 0; i < src->nmappings; i++)
            copy_mapping(&c, i);
        for (uint32_t i = 0; i < src->nfunctions; i++)
            copy_function(&c, i);
        for (uint32_t i = 0; i < src->nlocations && !b->err; i++)
            if (!copy_location(&c, i) && !b->err)
                b->err = CPROF_ENOMEM;
    } else if (o->first_mapping && src->nmappings && !copy_mapping(&c, 0)) {
        rc = CPROF_ENOMEM;
        goto out;
    }
    if (b->err) {
        rc = b->err;
        goto out;
    }
    for (size_t si = 0; si < src->nsamples; si++) {
        const cp_sample *s = &src->samples[si];
        if (o->drop_zero && all_zero(src, s))
            continue;
        if (cp_grow(&stack, &stack_cap, (size_t)s->nlocs + 1, sizeof *stack) ||
            cp_grow(&labs, &labs_cap, (size_t)s->nlabels + 1, sizeof *labs)) {
            rc = CPROF_ENOMEM;
            goto out;
        }
        for (uint32_t k = 0; k < s->nlocs; k++) {
            uint32_t li = s->locs[k];
            /* the common case inline: a location seen before */
            if (!(stack[k] = c.lid[li]) && !(stack[k] = copy_location(&c, li))) {
                rc = b->err ? b->err : CPROF_ENOMEM;
                goto out;
            }
        }
        for (size_t k = 0; k < src->nsample_types; k++)
            vals[k] = o->scale == 1.0 ? s->values[k] : cp_go_scale_round(s->values[k], o->scale);
        size_t nl = 0;
        for (uint32_t k = 0; k < s->nlabels; k++) {
            const cp_label *l = &s->labels[k];
            if (o->label_key && !strcmp(cp_str(src, l->key), o->label_key))
                continue;
            if (o->used_only && !l->str && !l->num && !l->num_unit)
                continue; /* neither string nor number: go's decoder drops it */
            labs[nl].key = cp_str(src, l->key);
            labs[nl].str = l->str ? cp_str(src, l->str) : NULL;
            labs[nl].num = l->num;
            labs[nl].unit = l->num_unit ? cp_str(src, l->num_unit) : NULL;
            nl++;
        }
        if (o->label_key) {
            labs[nl].key = o->label_key;
            labs[nl].str = o->label_str;
            labs[nl].num = 0;
            labs[nl].unit = NULL;
            nl++;
        }
        if ((rc = cp_pbuilder_sample(b, stack, s->nlocs, vals, labs, nl)))
            goto out;
    }
out:
    free(c.mid);
    free(c.moff);
    free(c.fid);
    free(c.lid);
    free(c.lines);
    free(vals);
    free(stack);
    free(labs);
    return rc;
}

int cp_pbuilder_add_profile(cp_pbuilder *b, const cp_profile *src, double scale, cp_diag *diag)
{
    int rc;
    const char *(*S)(const cp_profile *, int64_t) = cp_str;
    b->nul_escaped = b->nul_escaped || src->nul_escaped;

    if (b->st.n == 0) {
        for (size_t i = 0; i < src->nsample_types; i++)
            cp_pbuilder_sample_type(b, S(src, src->sample_types[i].type),
                                    S(src, src->sample_types[i].unit));
        cp_pbuilder_period(b, S(src, src->period_type.type), S(src, src->period_type.unit),
                           src->period);
        if (src->default_sample_type)
            cp_pbuilder_default_sample_type(b, S(src, src->default_sample_type));
        if (src->drop_frames || src->keep_frames)
            cp_pbuilder_drop_keep(b, src->drop_frames ? S(src, src->drop_frames) : NULL,
                                  src->keep_frames ? S(src, src->keep_frames) : NULL);
        for (size_t i = 0; i < src->ncomments; i++)
            cp_pbuilder_comment(b, S(src, src->comments[i]));
        b->time_nanos = src->time_nanos;
        b->duration_nanos = src->duration_nanos;
    } else {
        if (b->st.n != src->nsample_types)
            return cp_diag_set(diag, CPROF_EINVAL,
                               "incompatible profiles: %zu sample types vs %zu", b->st.n,
                               src->nsample_types);
        for (size_t i = 0; i < b->st.n; i++) {
            const char *t = b->strs.strs[b->st.v[i].type], *u = b->strs.strs[b->st.v[i].unit];
            if (strcmp(t, S(src, src->sample_types[i].type)) ||
                strcmp(u, S(src, src->sample_types[i].unit)))
                return cp_diag_set(diag, CPROF_EINVAL,
                                   "incompatible profiles: sample type %zu is %s/%s vs %s/%s", i,
                                   t, u, S(src, src->sample_types[i].type),
                                   S(src, src->sample_types[i].unit));
        }
        if (src->time_nanos && (!b->time_nanos || src->time_nanos < b->time_nanos))
            b->time_nanos = src->time_nanos;
        b->duration_nanos += src->duration_nanos;
        if (src->period > b->period)
            b->period = src->period;
    }
    cp_copy_opts o = {.scale = scale};
    rc = cp_pbuilder_copy(b, src, &o);
    if (rc && diag && !diag->msg[0])
        cp_diag_set(diag, rc, "%s", cprof_strerror(rc));
    return rc;
}
