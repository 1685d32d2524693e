/* prep_fold.c — go's profile.Merge of a single profile, done in place.
 *
 * What: go tool pprof merges even one profile before a report.  For one
 * profile that merge changes what a report sees in three ways only:
 * records with equal keys become one (mappings by go's mapping key, their
 * locations' addresses moved by the difference of the starts; functions by
 * (name, system name, file, start line); locations by (mapping, address,
 * (function, line)...; folded)), samples with equal keys (locations and
 * labels, label keys in any order) are folded into the first by summing
 * values, and samples whose values are all zero, before or after folding,
 * go.  The ids it renumbers show only in raw, proto and merge output; for
 * those, the numbering below (renum_*) also numbers the records as go
 * does and drops what no sample uses.  This file does all of it on the profile's own
 * arrays: samples keep their order of first occurrence, a
 * sample's location indices are rewritten to the first equal location,
 * label string indices to the first equal string, and labels are put in
 * go's write order (string labels, then numeric; keys in byte order; the
 * values of one key as given), as the merging builder stores them.
 *
 * Data structure: one open-addressing table of record indices per kind
 * (strings, mappings, locations, samples), sized once from the record
 * counts (no growth), with each record's 64-bit hash kept beside it so a
 * probe compares hashes before fields.  Mappings and locations are put in
 * classes of equal keys eagerly, in array order; the member of a class
 * that is kept is chosen lazily, the first one samples use, the order in
 * which go's merge meets them, so the mapping that wins a key is go's.
 *
 * Alternatives rejected: the builder copy (cp_prep_merge on one profile),
 * which re-interns every string, function, location and sample into new
 * tables and copies the result into a new arena: a fifth of `cprof traces`'s
 * instructions at 150k stacks, a second model in memory, and half of
 * `cprof merge`'s time at 150k stacks (0.61 s of 1.2 s; fold and
 * renumbering take 0.35 s).  The builder remains for what the fold cannot
 * give (-diff_base labels, scales other than 1 and -1, -normalize).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/prep.h"
#include "base/beside.h"
#include "base/hashmap.h"

#define NONE UINT32_MAX
#define PUBLISH 512 /* ranks given between two publications to the settler */

/* Record indices by hash: slots hold index + 1, hashes live in h[]. */
typedef struct otab {
    uint32_t *slot;
    uint64_t *h; /* hash of each record, by record index */
    size_t mask;
} otab;

static int otab_init(otab *t, size_t nrec)
{
    size_t cap = 16;
    while (cap < 2 * nrec)
        cap <<= 1;
    t->mask = cap - 1;
    t->slot = calloc(cap, sizeof *t->slot);
    t->h = malloc((nrec ? nrec : 1) * sizeof *t->h);
    return t->slot && t->h ? 0 : CPROF_ENOMEM;
}

static void otab_free(otab *t)
{
    free(t->slot);
    free(t->h);
}

typedef struct fold fold;
typedef bool (*eq_fn)(const fold *f, uint32_t a, uint32_t b);

/* The first record equal to record i (hash h), or i itself, inserted. */
static uint32_t otab_find_or_add(otab *t, const fold *f, uint32_t i, uint64_t h, eq_fn eq)
{
    t->h[i] = h;
    for (size_t s = (size_t)h & t->mask;; s = (s + 1) & t->mask) {
        uint32_t j = t->slot[s];
        if (!j) {
            t->slot[s] = i + 1;
            return i;
        }
        if (t->h[j - 1] == h && eq(f, j - 1, i))
            return j - 1;
    }
}

/* go's numbering of mappings and functions (ids mode, below): old index
 * -> new, new -> old.  Locations are numbered by the fold itself (lnew). */
typedef struct renum {
    _Alignas(64) uint32_t *mnew, *fnew, *fc; /* fc: first equal function (by use) */
    uint32_t *morder, *forder;
    uint32_t nm, nf;
    otab ft;             /* functions by key */
    cp_line *lines_next; /* where a numbered location's lines move (in order) */
    _Alignas(64) char end; /* written by the settler: no line shared */
} renum;

/* Samples from index start on hold location indices less off: a later
 * profile's own indices, moved past the earlier profiles' locations by
 * the fold as it reads them (not in a pass of their own). */
typedef struct segment {
    size_t start;
    uint32_t off;
} segment;

struct fold {
    cp_profile *p;
    const segment *seg; /* nseg segments by start, or none (offset 0) */
    size_t nseg;
    renum *r;         /* ids mode: number records as they are first used */
    uint32_t *sc;     /* string -> first string with the same bytes */
    uint32_t *mc;     /* mapping -> its canonical mapping, NONE until used */
    int64_t *mshift;  /* address shift of each mapping's locations */
    uint64_t *fh;     /* hash of each function's key */
    uint32_t *mcls;   /* mapping -> first mapping with its key, in array order */
    uint32_t *rep;    /* location -> first equal location, in array order */
    uint32_t *lnew;   /* rep -> rank of its class in first use, NONE until used */
    uint32_t *uorder; /* by rank: the class's first used location (it stays) */
    _Alignas(64) uint32_t nused; /* written by the walk: a line of its own */
    /* settling on a second thread, behind the walk over samples: the walk
     * publishes nused every PUBLISH ranks and at its end raises done; the
     * two on a cache line of their own, which the walk writes rarely */
    bool behind;
    _Alignas(64) _Atomic uint32_t published;
    atomic_bool done;
    _Alignas(64) char after_atomics;
    size_t nlines;    /* lines of all locations */
    uint32_t *lc;     /* location -> what samples hold for it, NONE until used:
                       * its class's first used location, or with ids its rank */
    uint32_t *order;  /* scratch: a sample's labels in sort order */
    size_t order_cap;
    cp_label *lscratch;
    otab st, mct, lt, smt;
};

static bool str_eq(const fold *f, uint32_t a, uint32_t b)
{
    return !strcmp(f->p->strings[a], f->p->strings[b]);
}

static bool func_eq(const fold *f, uint32_t a, uint32_t b);

/* Function i met: the first used of equal functions, numbered if new */
static uint32_t new_function(fold *f, renum *r, uint32_t i)
{
    if (r->fc[i] == NONE)
        r->fc[i] = otab_find_or_add(&r->ft, f, i, f->fh[i], func_eq);
    uint32_t c = r->fc[i];
    if (r->fnew[c] == NONE) {
        r->forder[r->nf] = c;
        r->fnew[c] = r->nf++;
    }
    return c;
}

static void new_mapping(renum *r, uint32_t m)
{
    if (r->mnew[m] == NONE) {
        r->morder[r->nm] = m;
        r->mnew[m] = r->nm++;
    }
}

/* Number the mapping and lines' functions of location c (its mapping made
 * canonical), which just took the next location number.  Lines keep old
 * function indices, made the first equal function; with lines_next they
 * also move there, into new-index order (what the encoder then streams). */
static void new_location(fold *f, renum *r, uint32_t c)
{
    cp_location *l = &f->p->locations[c];
    if (l->mapping != CP_NO_MAPPING)
        new_mapping(r, l->mapping);
    for (uint32_t k = 0; k < l->nlines; k++) {
        cp_line *ln = &l->lines[k];
        if (ln->func != CP_NO_FUNCTION)
            ln->func = new_function(f, r, ln->func);
        ln->column = 0;
    }
    if (r->lines_next && l->nlines) {
        memcpy(r->lines_next, l->lines, l->nlines * sizeof *l->lines);
        l->lines = r->lines_next;
        r->lines_next += l->nlines;
    }
}

/* go's mapping key: size rounded up to 4 KiB, offset, build id or file. */
static uint64_t map_size(const cp_mapping *m)
{
    uint64_t size = m->limit - m->start + 0xfff;
    return size - size % 0x1000;
}

static uint32_t map_keystr(const fold *f, const cp_mapping *m)
{
    return f->p->strings[f->sc[m->build_id]][0] ? f->sc[m->build_id] : f->sc[m->filename];
}

static bool map_eq(const fold *f, uint32_t a, uint32_t b)
{
    const cp_mapping *x = &f->p->mappings[a], *y = &f->p->mappings[b];
    return map_size(x) == map_size(y) && x->offset == y->offset &&
           map_keystr(f, x) == map_keystr(f, y);
}

/* go's mapping key, hashed */
static uint64_t map_hash(const fold *f, const cp_mapping *m)
{
    return cp_hash_u64(map_size(m) ^ cp_hash_u64(m->offset + map_keystr(f, m)));
}

/* Mapping i met: the first used mapping of its class (mcls) is the one
 * kept, as go keeps it.  It is recorded at the class's first mapping k in
 * array order, which is then settled too (k's own canonical mapping is
 * that one, and a later visit of k returns at once). */
static void settle_mapping(fold *f, uint32_t i, uint32_t c)
{
    f->mc[i] = c;
    f->mshift[i] = (int64_t)(f->p->mappings[c].start - f->p->mappings[i].start);
}

static void visit_mapping(fold *f, uint32_t i)
{
    if (f->mc[i] != NONE)
        return;
    uint32_t k = f->mcls[i];
    if (f->mc[k] == NONE)
        settle_mapping(f, k, i);
    settle_mapping(f, i, f->mc[k]);
}

static bool func_eq(const fold *f, uint32_t a, uint32_t b)
{
    if (a == b || a == CP_NO_FUNCTION || b == CP_NO_FUNCTION)
        return a == b;
    const cp_function *x = &f->p->functions[a], *y = &f->p->functions[b];
    return x->start_line == y->start_line && f->sc[x->name] == f->sc[y->name] &&
           f->sc[x->system_name] == f->sc[y->system_name] &&
           f->sc[x->filename] == f->sc[y->filename];
}

/* go's function key hashed: made for every function in one sequential
 * pass (fh), so a location's lines need no random visit of its functions */
static uint64_t func_hash(const fold *f, uint32_t i)
{
    const cp_function *fn = &f->p->functions[i];
    return cp_hash_u64(((uint64_t)f->sc[fn->name] << 32 | f->sc[fn->system_name]) ^
                       cp_hash_u64((uint64_t)f->sc[fn->filename] << 20 ^
                                   (uint64_t)fn->start_line));
}

/* go's location key (column is not part of it: go's merge drops it), on
 * locations as decoded: a location of a mapping is its mapping's key and
 * its offset from the mapping's start, which is what makes two locations
 * one once their mappings are one and their addresses shifted to it,
 * whichever of the equal mappings is kept. */
static bool loc_eq(const fold *f, uint32_t a, uint32_t b)
{
    const cp_location *x = &f->p->locations[a], *y = &f->p->locations[b];
    if ((x->mapping == CP_NO_MAPPING) != (y->mapping == CP_NO_MAPPING) ||
        x->is_folded != y->is_folded || x->nlines != y->nlines)
        return false;
    if (x->mapping == CP_NO_MAPPING ? x->address != y->address
                                    : f->mcls[x->mapping] != f->mcls[y->mapping] ||
                                          x->address - f->p->mappings[x->mapping].start !=
                                              y->address - f->p->mappings[y->mapping].start)
        return false;
    for (uint32_t k = 0; k < x->nlines; k++)
        if (x->lines[k].line != y->lines[k].line || !func_eq(f, x->lines[k].func, y->lines[k].func))
            return false;
    return true;
}

static uint64_t loc_hash(const fold *f, const cp_location *l)
{
    uint64_t at = l->address, m = NONE;
    if (l->mapping != CP_NO_MAPPING) {
        m = f->mcls[l->mapping];
        at -= f->p->mappings[l->mapping].start;
    }
    uint64_t h = cp_hash_u64(at ^ (m << 1 | l->is_folded));
    for (uint32_t k = 0; k < l->nlines; k++)
        h = cp_hash_u64(h ^ (l->lines[k].func == CP_NO_FUNCTION ? 0x51 : f->fh[l->lines[k].func]) ^
                        (uint64_t)l->lines[k].line);
    return h;
}

/* location x met in a sample for the first time: what samples hold for
 * it.  The first location of its class to be met (go's merge keeps that
 * one) takes the class's rank; samples hold that location, or with ids
 * the rank. */
static uint32_t first_use(fold *f, uint32_t x)
{
    uint32_t r = f->rep[x];
    if (f->lnew[r] == NONE) {
        f->uorder[f->nused] = x;
        f->lnew[r] = f->nused++;
        if (f->behind && f->nused % PUBLISH == 0)
            atomic_store_explicit(&f->published, f->nused, memory_order_release);
    }
    uint32_t n = f->lnew[r];
    return f->lc[x] = f->r ? n : f->uorder[n];
}

/* The kept locations of ranks [j, n), in rank order: each one's mapping
 * made canonical (the first used of equal mappings, go's choice) and its
 * address shifted to it; with ids, its mapping and functions numbered.
 * The locations and their lines are fetched a few ahead: this walk is
 * random in memory.  Only this touches locations, mappings and the
 * numbering once ranks are given, so it can follow the walk over samples
 * on another thread (settle_behind). */
static void settle_locations(fold *f, uint32_t j, uint32_t n)
{
    cp_location *locs = f->p->locations;
    for (; j < n; j++) {
        if (j + 8 < n)
            __builtin_prefetch(&locs[f->uorder[j + 8]]);
        if (j + 4 < n)
            __builtin_prefetch(locs[f->uorder[j + 4]].lines);
        uint32_t c = f->uorder[j];
        cp_location *l = &locs[c];
        if (l->mapping != CP_NO_MAPPING) {
            uint32_t m = l->mapping;
            visit_mapping(f, m);
            l->address = (uint64_t)cp_wadd((int64_t)l->address, f->mshift[m]);
            l->mapping = f->mc[m];
        }
        if (f->r)
            new_location(f, f->r, c);
    }
}

/* [thread: the fold's second] settle ranks as the walk publishes them */
static void *settle_behind(void *arg)
{
    fold *f = arg;
    uint32_t j = 0;
    for (unsigned idle = 0;;) {
        bool done = atomic_load_explicit(&f->done, memory_order_acquire);
        uint32_t n = atomic_load_explicit(&f->published, memory_order_acquire);
        if (j < n) {
            settle_locations(f, j, n);
            j = n;
            idle = 0;
        } else if (done) {
            return NULL; /* n was read after done: it is the last */
        } else if (++idle < 1000) {
            __builtin_ia32_pause();
        } else {
            sched_yield();
        }
    }
}

static bool label_is_num(const cp_label *l) { return !l->str && (l->num || l->num_unit); }

/* go's write order: string labels first, keys in byte order, stable */
static int label_before(const fold *f, const cp_label *a, uint32_t ia, const cp_label *b,
                        uint32_t ib)
{
    int ka = a->str == 0, kb = b->str == 0;
    if (ka != kb)
        return ka - kb;
    if (a->key != b->key) {
        int d = strcmp(f->p->strings[a->key], f->p->strings[b->key]);
        if (d)
            return d;
    }
    return ia < ib ? -1 : ia > ib;
}

typedef struct sort_ctx {
    const fold *f;
    const cp_label *labels;
} sort_ctx;

static int label_cmp(const void *x, const void *y, void *ctx)
{
    const sort_ctx *c = ctx;
    uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
    return label_before(c->f, &c->labels[i], i, &c->labels[j], j);
}

/* A sample's labels as go keys them: labels with neither a string nor a
 * number dropped (go's decoder drops them), string indices made canonical,
 * the number of a string label cleared, go's write order. */
static int canon_labels(fold *f, cp_sample *s)
{
    uint32_t w = 0;
    for (uint32_t k = 0; k < s->nlabels; k++) {
        cp_label l = s->labels[k];
        if (!l.str && !label_is_num(&l))
            continue;
        l.key = f->sc[l.key];
        if (l.str) {
            l.str = f->sc[l.str];
            l.num = 0;
            l.num_unit = 0;
        } else {
            l.num_unit = f->sc[l.num_unit];
        }
        s->labels[w++] = l;
    }
    s->nlabels = w;
    bool sorted = true;
    for (uint32_t k = 1; k < w && sorted; k++)
        sorted = label_before(f, &s->labels[k - 1], k - 1, &s->labels[k], k) < 0;
    if (sorted)
        return 0;
    if (cp_grow(&f->order, &f->order_cap, w, sizeof *f->order) ||
        !(f->lscratch = realloc(f->lscratch, w * sizeof *f->lscratch)))
        return CPROF_ENOMEM;
    for (uint32_t k = 0; k < w; k++)
        f->order[k] = k;
    sort_ctx c = {f, s->labels};
    qsort_r(f->order, w, sizeof *f->order, label_cmp, &c);
    for (uint32_t k = 0; k < w; k++)
        f->lscratch[k] = s->labels[f->order[k]];
    memcpy(s->labels, f->lscratch, w * sizeof *s->labels);
    return 0;
}

static bool sample_eq(const fold *f, uint32_t a, uint32_t b)
{
    const cp_sample *x = &f->p->samples[a], *y = &f->p->samples[b];
    return x->nlocs == y->nlocs && x->nlabels == y->nlabels &&
           (!x->nlocs || !memcmp(x->locs, y->locs, x->nlocs * sizeof *x->locs)) &&
           (!x->nlabels || !memcmp(x->labels, y->labels, x->nlabels * sizeof *x->labels));
}

static bool all_zero(const cp_profile *p, const cp_sample *s)
{
    for (size_t k = 0; k < p->nsample_types; k++)
        if (s->values[k])
            return false;
    return true;
}

size_t cp_prep_fold_parallel_locations = 16384;

/* fn over [0, n) in two halves on two threads when n is large; the sum of
 * what the halves return.  For hashing passes that write only their own
 * slots of an array and read what is settled. */
typedef size_t range_fn(fold *f, size_t lo, size_t hi);
typedef struct range_job {
    fold *f;
    size_t lo, hi, ret;
    range_fn *fn;
} range_job;

static void *range_run(void *arg)
{
    range_job *j = arg;
    j->ret = j->fn(j->f, j->lo, j->hi);
    return NULL;
}

static size_t split2(fold *f, size_t n, range_fn *fn)
{
    range_job j = {f, n / 2, n, 0, fn};
    cp_beside b;
    cp_beside_start(&b, n >= cp_prep_fold_parallel_locations, range_run, &j);
    size_t ret = fn(f, 0, n / 2);
    cp_beside_end(&b);
    return ret + j.ret;
}

/* [thread: either] the strings' hashes into st.h */
static size_t hash_strings(fold *f, size_t lo, size_t hi)
{
    for (size_t i = lo; i < hi; i++) {
        const char *s = f->p->strings[i];
        f->st.h[i] = cp_hash_bytes(s, strlen(s), 3);
    }
    return 0;
}

/* [thread: either] the locations' class-invariant hashes into lt.h; the
 * number of their lines */
static size_t hash_locations(fold *f, size_t lo, size_t hi)
{
    size_t nlines = 0;
    for (size_t i = lo; i < hi; i++) {
        f->lt.h[i] = loc_hash(f, &f->p->locations[i]);
        nlines += f->p->locations[i].nlines;
    }
    return nlines;
}

/* The w walked samples (their hashes in smt.h): equal samples folded into
 * the first, in a pass of their own so the table's slot for a sample a
 * few ahead can be fetched while this one is placed (the table is larger
 * than the caches: one miss each); then the samples whose values
 * cancelled out dropped (go merges once more to drop them).  *kept: the
 * samples left by folding, *n: those left in the end.  Touches samples
 * only: runs while the settler finishes. */
static int place_samples(fold *f, size_t w, size_t *kept, size_t *n)
{
    cp_profile *p = f->p;
    uint8_t *gone = calloc(w + 1, 1);
    if (!gone)
        return CPROF_ENOMEM;
    *kept = w;
    for (size_t i = 0; i < w; i++) {
        if (i + 8 < w)
            __builtin_prefetch(&f->smt.slot[f->smt.h[i + 8] & f->smt.mask]);
        uint32_t j = otab_find_or_add(&f->smt, f, (uint32_t)i, f->smt.h[i], sample_eq);
        if (j == i)
            continue;
        int64_t *v = p->samples[j].values;
        for (size_t k = 0; k < p->nsample_types; k++)
            v[k] = cp_wadd(v[k], p->samples[i].values[k]);
        gone[i] = 1;
        (*kept)--;
    }
    *n = 0;
    for (size_t i = 0; i < w; i++)
        if (!gone[i] && !all_zero(p, &p->samples[i]))
            p->samples[(*n)++] = p->samples[i];
    free(gone);
    p->nsamples = *n;
    return 0;
}

static int renum_init(fold *f, renum *r);
static int renum_again(fold *f, renum *r);

static int fold_run(fold *f)
{
    cp_profile *p = f->p;
    int rc;
    if ((rc = otab_init(&f->st, p->nstrings)) || (rc = otab_init(&f->mct, p->nmappings)) ||
        (rc = otab_init(&f->lt, p->nlocations)) ||
        (rc = otab_init(&f->smt, p->nsamples)))
        return rc;
    f->sc = malloc((p->nstrings + 1) * sizeof *f->sc);
    f->mc = malloc((p->nmappings + 1) * sizeof *f->mc);
    f->mshift = malloc((p->nmappings + 1) * sizeof *f->mshift);
    f->lc = malloc((p->nlocations + 1) * sizeof *f->lc);
    f->fh = malloc((p->nfunctions + 1) * sizeof *f->fh);
    f->mcls = malloc((p->nmappings + 1) * sizeof *f->mcls);
    f->rep = malloc((p->nlocations + 1) * sizeof *f->rep);
    f->lnew = malloc((p->nlocations + 1) * sizeof *f->lnew);
    f->uorder = malloc((p->nlocations + 1) * sizeof *f->uorder);
    if (!f->sc || !f->mc || !f->mshift || !f->lc || !f->fh || !f->mcls || !f->rep || !f->lnew ||
        !f->uorder)
        return CPROF_ENOMEM;
    split2(f, p->nstrings, hash_strings);
    for (size_t i = 0; i < p->nstrings; i++) {
        if (i + 8 < p->nstrings)
            __builtin_prefetch(&f->st.slot[f->st.h[i + 8] & f->st.mask]);
        f->sc[i] = otab_find_or_add(&f->st, f, (uint32_t)i, f->st.h[i], str_eq);
    }
    for (size_t i = 0; i < p->nfunctions; i++)
        f->fh[i] = func_hash(f, (uint32_t)i);
    for (size_t i = 0; i < p->nmappings; i++)
        f->mcls[i] = otab_find_or_add(&f->mct, f, (uint32_t)i, map_hash(f, &p->mappings[i]), map_eq);
    /* every location's representative, the first equal one in array
     * order: hashed in one sequential pass, then placed in the table with
     * the slot of a location a few ahead fetched early (the table is
     * larger than the caches).  Which of equal locations represents them
     * does not show: they are equal once settled (settle_locations). */
    f->nlines = split2(f, p->nlocations, hash_locations);
    for (size_t i = 0; i < p->nlocations; i++) {
        if (i + 8 < p->nlocations)
            __builtin_prefetch(&f->lt.slot[f->lt.h[i + 8] & f->lt.mask]);
        f->rep[i] = otab_find_or_add(&f->lt, f, (uint32_t)i, f->lt.h[i], loc_eq);
    }
    memset(f->mc, 0xff, (p->nmappings + 1) * sizeof *f->mc);
    memset(f->lc, 0xff, (p->nlocations + 1) * sizeof *f->lc);
    memset(f->lnew, 0xff, (p->nlocations + 1) * sizeof *f->lnew);
    if (p->nmappings) /* go's merge takes the first mapping first */
        visit_mapping(f, 0);
    if (f->r && (rc = renum_init(f, f->r)))
        return rc;
    /* comments: the merge keeps the first of equal ones */
    uint8_t *seen = calloc(p->nstrings + 1, 1);
    if (!seen)
        return CPROF_ENOMEM;
    size_t nc = 0;
    for (size_t i = 0; i < p->ncomments; i++) {
        uint32_t c = f->sc[p->comments[i]];
        if (!seen[c])
            p->comments[nc++] = c;
        seen[c] = 1;
    }
    p->ncomments = nc;
    free(seen);
    /* a large profile settles its locations on a second thread while the
     * samples are walked (a third of the fold's time at 150k stacks) */
    pthread_t behind;
    f->behind = p->nlocations >= cp_prep_fold_parallel_locations &&
                pthread_create(&behind, NULL, settle_behind, f) == 0;
    size_t w = 0, seg = 0;
    uint32_t off = 0;
    for (size_t i = 0; i < p->nsamples && !rc; i++) {
        cp_sample *s = &p->samples[i];
        while (seg < f->nseg && f->seg[seg].start <= i)
            off = f->seg[seg++].off;
        if (all_zero(p, s))
            continue;
        /* locations made canonical and hashed in one loop; the common
         * case inline: a location seen before */
        const uint32_t *lc = f->lc;
        uint32_t *locs = s->locs, nlocs = s->nlocs;
        uint64_t h = 0;
        for (uint32_t k = 0; k < nlocs; k++) {
            uint32_t x = locs[k] + off, c = lc[x];
            if (c == NONE)
                c = first_use(f, x);
            if (c != locs[k]) /* rare unless ids or off: no store, no dirty line */
                locs[k] = c;
            h = (h ^ c) * 0x9e3779b97f4a7c15ull;
        }
        if (s->nlabels && (rc = canon_labels(f, s)))
            break;
        /* non-zero samples move down to w; the labels as canon_labels
         * left them */
        p->samples[w] = *s;
        f->smt.h[w++] = cp_hash_u64(h ^ nlocs) ^
                        cp_hash_bytes(s->labels, s->nlabels * sizeof *s->labels, 7);
    }
    if (f->behind) { /* the settler finishes while the samples are placed */
        atomic_store_explicit(&f->published, f->nused, memory_order_release);
        atomic_store_explicit(&f->done, true, memory_order_release);
    }
    size_t kept = 0, n = 0;
    if (!rc)
        rc = place_samples(f, w, &kept, &n);
    if (f->behind) {
        pthread_join(behind, NULL);
        f->behind = false;
    } else {
        settle_locations(f, 0, f->nused);
    }
    if (rc)
        return rc;
    if (f->r && n < kept)
        return renum_again(f, f->r);
    return 0;
}

/* ---- ids: what go's merge numbers, and only what it keeps ---------------
 *
 * For raw, proto and merge, which show ids or write the records: after the
 * fold, go's merge would have numbered mappings, functions and locations
 * 1, 2, ... by first use (the first mapping first, then walking the kept
 * samples: each new location's mapping, its lines' functions, then the
 * location), kept no record no sample reaches, made equal functions one
 * and kept no column.  This renumbers the folded profile the same way, in
 * place: records are moved into arrays in the new order, sample location
 * indices rewritten, and the string table cut to the strings the kept
 * records use (first of equal strings), in their old order. */

/* the records of order[0..n) of arr (elem bytes each), moved into a new
 * arena array; the old array's pages go back.  NULL on ENOMEM. */
static void *gather(cp_profile *p, void *arr, const uint32_t *order, size_t n, size_t elem)
{
    char *d = cp_arena_alloc(&p->arena, n * elem + 1);
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++) { /* random reads: fetched a few ahead */
        if (i + 8 < n)
            __builtin_prefetch((char *)arr + (size_t)order[i + 8] * elem);
        memcpy(d + i * elem, (char *)arr + (size_t)order[i] * elem, elem);
    }
    if (arr)
        cp_arena_release(&p->arena, arr);
    return d;
}

/* strings: the first of equal strings, kept when used; new indices */
static void str_use(const fold *f, uint32_t *sn, int64_t i)
{
    if (i > 0 && (size_t)i < f->p->nstrings)
        sn[f->sc[i]] = 1;
}

static int64_t str_new(const fold *f, const uint32_t *sn, int64_t i)
{
    return i > 0 && (size_t)i < f->p->nstrings ? (int64_t)sn[f->sc[i]] : i;
}

/* every string index of the profile, through fn (use, then rewrite) */
#define EACH_STRING_REF(p, X)                                                                      \
    do {                                                                                           \
        for (size_t i_ = 0; i_ < (p)->nsample_types; i_++) {                                       \
            X((p)->sample_types[i_].type);                                                         \
            X((p)->sample_types[i_].unit);                                                         \
        }                                                                                          \
        X((p)->period_type.type);                                                                  \
        X((p)->period_type.unit);                                                                  \
        X((p)->default_sample_type);                                                               \
        X((p)->drop_frames);                                                                       \
        X((p)->keep_frames);                                                                       \
        for (size_t i_ = 0; i_ < (p)->ncomments; i_++)                                             \
            X((p)->comments[i_]);                                                                  \
        for (size_t i_ = 0; i_ < (p)->nmappings; i_++) {                                           \
            X((p)->mappings[i_].filename);                                                         \
            X((p)->mappings[i_].build_id);                                                         \
        }                                                                                          \
        for (size_t i_ = 0; i_ < (p)->nfunctions; i_++) {                                          \
            X((p)->functions[i_].name);                                                            \
            X((p)->functions[i_].system_name);                                                     \
            X((p)->functions[i_].filename);                                                        \
        }                                                                                          \
        for (size_t i_ = 0; i_ < (p)->nsamples; i_++)                                              \
            for (uint32_t k_ = 0; k_ < (p)->samples[i_].nlabels; k_++) {                           \
                X((p)->samples[i_].labels[k_].key);                                                \
                X((p)->samples[i_].labels[k_].str);                                                \
                X((p)->samples[i_].labels[k_].num_unit);                                           \
            }                                                                                      \
    } while (0)

static int renumber_strings(fold *f)
{
    cp_profile *p = f->p;
    uint32_t *sn = calloc(p->nstrings + 1, sizeof *sn);
    if (!sn)
        return CPROF_ENOMEM;
#define USE(x) str_use(f, sn, (x))
    EACH_STRING_REF(p, USE);
#undef USE
    uint32_t *order = malloc((p->nstrings + 1) * sizeof *order);
    if (!order) {
        free(sn);
        return CPROF_ENOMEM;
    }
    size_t n = 0;
    if (p->nstrings)
        order[n++] = 0;
    for (size_t i = 1; i < p->nstrings; i++)
        if (sn[i])
            sn[i] = (uint32_t)n, order[n++] = (uint32_t)i;
#define NEW(x) ((x) = str_new(f, sn, (x)))
    EACH_STRING_REF(p, NEW);
#undef NEW
    const char **st = gather(p, p->strings, order, n, sizeof *p->strings);
    free(sn);
    free(order);
    if (!st)
        return CPROF_ENOMEM;
    p->strings = st;
    p->nstrings = n;
    return 0;
}

/* The numbering's tables, for p's records; mapping 0's canonical
 * mapping numbered first (go's merge takes the first mapping first). */
static int renum_init(fold *f, renum *r)
{
    cp_profile *p = f->p;
    size_t nm = p->nmappings + 1, nf = p->nfunctions + 1, nlines = f->nlines;
    r->mnew = malloc(nm * sizeof *r->mnew);
    r->morder = malloc(nm * sizeof *r->morder);
    r->fnew = malloc(nf * sizeof *r->fnew);
    r->fc = malloc(nf * sizeof *r->fc);
    r->forder = malloc(nf * sizeof *r->forder);
    r->lines_next = cp_arena_alloc(&p->arena, (nlines + 1) * sizeof *r->lines_next);
    if (!r->mnew || !r->morder || !r->fnew || !r->fc || !r->forder || !r->lines_next ||
        otab_init(&r->ft, p->nfunctions))
        return CPROF_ENOMEM;
    memset(r->mnew, 0xff, nm * sizeof *r->mnew);
    memset(r->fnew, 0xff, nf * sizeof *r->fnew);
    memset(r->fc, 0xff, nf * sizeof *r->fc);
    if (p->nmappings)
        new_mapping(r, f->mc[0]);
    return 0;
}

static void renum_free(renum *r)
{
    free(r->mnew);
    free(r->morder);
    free(r->fnew);
    free(r->fc);
    free(r->forder);
    otab_free(&r->ft);
}

/* The fold numbered records as samples first used them; when samples
 * were dropped after (values that cancelled out), go's second merge
 * numbers the records the kept samples use only: numbered again here,
 * sample locations (new indices) read through the first numbering. */
static int renum_again(fold *f, renum *r)
{
    cp_profile *p = f->p;
    uint32_t *old = malloc(((size_t)f->nused + 1) * sizeof *old);
    if (!old)
        return CPROF_ENOMEM;
    memcpy(old, f->uorder, (size_t)f->nused * sizeof *old);
    memset(r->mnew, 0xff, (p->nmappings + 1) * sizeof *r->mnew);
    memset(r->fnew, 0xff, (p->nfunctions + 1) * sizeof *r->fnew);
    memset(f->lnew, 0xff, (p->nlocations + 1) * sizeof *f->lnew);
    r->nm = r->nf = 0;
    f->nused = 0;
    r->lines_next = NULL; /* lines stay where the first numbering put them */
    if (p->nmappings)
        new_mapping(r, f->mc[0]);
    for (size_t i = 0; i < p->nsamples; i++) {
        cp_sample *s = &p->samples[i];
        for (uint32_t k = 0; k < s->nlocs; k++) {
            uint32_t c = old[s->locs[k]], n = f->lnew[c];
            if (n == NONE) {
                f->uorder[f->nused] = c;
                n = f->lnew[c] = f->nused++;
                new_location(f, r, c);
            }
            s->locs[k] = n;
        }
    }
    free(old);
    return 0;
}

/* The records moved into their new order and given ids 1, 2, ...;
 * references made new indices; then the strings. */
typedef struct loc_job {
    const fold *f;
    const renum *r;
    cp_location *dst;
} loc_job;

/* The kept locations into dst in their new order, with their ids and new
 * mapping and function indices.  Reads only what the numbering left;
 * allocates nothing (the arena has one owner), so it can run beside the
 * rest of renum_finish.  [thread: either] */
static void *locations_in_order(void *arg)
{
    const loc_job *j = arg;
    const fold *f = j->f;
    const renum *r = j->r;
    const cp_location *src = f->p->locations;
    for (uint32_t i = 0; i < f->nused; i++) {
        if (i + 8 < f->nused)
            __builtin_prefetch(&src[f->uorder[i + 8]]);
        cp_location *x = &j->dst[i];
        *x = src[f->uorder[i]];
        x->id = i + 1;
        if (x->mapping != CP_NO_MAPPING)
            x->mapping = r->mnew[x->mapping];
        for (uint32_t k = 0; k < x->nlines; k++)
            if (x->lines[k].func != CP_NO_FUNCTION)
                x->lines[k].func = r->fnew[x->lines[k].func];
    }
    return NULL;
}

static int renum_finish(fold *f, renum *r)
{
    cp_profile *p = f->p;
    loc_job j = {f, r, cp_arena_alloc(&p->arena, (size_t)f->nused * sizeof *j.dst + 1)};
    if (!j.dst)
        return CPROF_ENOMEM;
    /* the locations (the bulk) on a second thread while this one does
     * mappings, functions and strings */
    cp_beside b;
    cp_beside_start(&b, f->nused >= cp_prep_fold_parallel_locations, locations_in_order, &j);
    cp_mapping *m = gather(p, p->mappings, r->morder, r->nm, sizeof *m);
    cp_function *fn = gather(p, p->functions, r->forder, r->nf, sizeof *fn);
    int rc = m && fn ? 0 : CPROF_ENOMEM;
    if (!rc) {
        for (uint32_t i = 0; i < r->nm; i++)
            m[i].id = i + 1;
        for (uint32_t i = 0; i < r->nf; i++)
            fn[i].id = i + 1;
        p->mappings = m;
        p->nmappings = r->nm;
        p->functions = fn;
        p->nfunctions = r->nf;
        rc = renumber_strings(f); /* reads no location */
    }
    cp_beside_end(&b);
    cp_arena_release(&p->arena, p->locations);
    p->locations = j.dst;
    p->nlocations = f->nused;
    return rc;
}

static int fold_segments(cp_profile *p, bool ids, const segment *seg, size_t nseg)
{
    fold f = {.p = p, .seg = seg, .nseg = nseg};
    renum r = {0};
    f.r = ids ? &r : NULL;
    int rc = fold_run(&f);
    if (!rc && ids)
        rc = renum_finish(&f, &r);
    renum_free(&r);
    otab_free(&f.st);
    otab_free(&f.mct);
    otab_free(&f.lt);
    otab_free(&f.smt);
    free(f.sc);
    free(f.mc);
    free(f.mshift);
    free(f.lc);
    free(f.fh);
    free(f.mcls);
    free(f.rep);
    free(f.lnew);
    free(f.uorder);
    free(f.order);
    free(f.lscratch);
    return rc;
}

int cp_prep_fold(cp_profile *p, bool ids)
{
    return fold_segments(p, ids, NULL, 0);
}

/* ---- several profiles: concatenated, then folded ----------------------------
 *
 * go's Merge of several profiles keys every record the same way whichever
 * profile it came from, so merging them is folding their concatenation:
 * profile i's strings, mappings, functions, locations and samples are
 * appended after those of profiles 0..i-1 (its indices moved by their
 * counts, string 0 staying the empty string 0), its values multiplied by
 * its scale, and the whole folded in place.  The headers combine as
 * prep_merge.c combines them (cp_prep_merge_times_add).  The blocks of
 * the later profiles' arenas move into the first one's, so nothing is
 * copied but the top-level arrays.
 * Only where the builder merge would give the same: scales of 1 or -1
 * (exact for the values cp_cli_small_values admits), no -diff_base label
 * to add, equal string escaping and compatible types (the builder reports
 * the error otherwise). */

bool cp_prep_fold_merge_ok(cp_profile *const *ps, const double *scales, const bool *diff_base,
                           size_t n)
{
    if (n < 2)
        return false;
    size_t ns = 0, nl = 0, nf = 0, nm = 0; /* the concatenation's counts */
    for (size_t i = 0; i < n; i++) {
        double sc = scales ? scales[i] : 1.0;
        if ((sc != 1.0 && sc != -1.0) || (diff_base && diff_base[i]) ||
            ps[i]->nul_escaped != ps[0]->nul_escaped || !cp_prep_same_types(ps[0], ps[i]))
            return false;
        ns += ps[i]->nstrings;
        nl += ps[i]->nlocations;
        nf += ps[i]->nfunctions;
        nm += ps[i]->nmappings;
    }
    /* indices are 32 bits, UINT32_MAX meaning none */
    return ns < UINT32_MAX && nl < UINT32_MAX && nf < UINT32_MAX && nm < UINT32_MAX;
}

static int64_t str_moved(int64_t i, size_t by)
{
    return i > 0 ? i + (int64_t)by : i;
}

/* q's indices moved past p's records (p: the concatenation so far) */
static void move_indices(cp_profile *q, const cp_profile *p, uint64_t lid, uint64_t fid,
                         uint64_t mid, bool negate)
{
    size_t ns = p->nstrings;
    for (size_t i = 0; i < q->nmappings; i++) {
        cp_mapping *m = &q->mappings[i];
        m->id += mid;
        m->filename = str_moved(m->filename, ns);
        m->build_id = str_moved(m->build_id, ns);
    }
    for (size_t i = 0; i < q->nfunctions; i++) {
        cp_function *f = &q->functions[i];
        f->id += fid;
        f->name = str_moved(f->name, ns);
        f->system_name = str_moved(f->system_name, ns);
        f->filename = str_moved(f->filename, ns);
    }
    for (size_t i = 0; i < q->nlocations; i++) {
        cp_location *l = &q->locations[i];
        l->id += lid;
        if (l->mapping != CP_NO_MAPPING)
            l->mapping += (uint32_t)p->nmappings;
        for (uint32_t k = 0; k < l->nlines; k++)
            if (l->lines[k].func != CP_NO_FUNCTION)
                l->lines[k].func += (uint32_t)p->nfunctions;
    }
    for (size_t i = 0; i < q->nsamples; i++) { /* locations: the fold moves them */
        cp_sample *s = &q->samples[i];
        for (uint32_t k = 0; k < s->nlabels; k++) {
            cp_label *lb = &s->labels[k];
            lb->key = str_moved(lb->key, ns);
            lb->str = str_moved(lb->str, ns);
            lb->num_unit = str_moved(lb->num_unit, ns);
        }
        for (size_t k = 0; negate && k < q->nsample_types; k++)
            s->values[k] = (int64_t)(0 - (uint64_t)s->values[k]);
    }
    for (size_t i = 0; i < q->ncomments; i++)
        q->comments[i] = str_moved(q->comments[i], ns);
}

/* The concatenation of six arrays of p and q: the destinations are
 * allocated first (the arena has one owner), then p's parts are copied on
 * this thread and q's on a second one when they are large. */
enum { NCAT = 6 };
typedef struct cat_part {
    char *dst;
    const void *src;
    size_t bytes;
} cat_part;

static void *copy_parts(void *arg)
{
    cat_part *c = arg;
    for (int k = 0; k < NCAT; k++)
        if (c[k].bytes)
            memcpy(c[k].dst, c[k].src, c[k].bytes);
    return NULL;
}

static int cat_all(cp_profile *p, const void *const *a, const size_t *na, const void *const *b,
                   const size_t *nb, const size_t *elem, void **out)
{
    cat_part first[NCAT], second[NCAT];
    for (int k = 0; k < NCAT; k++) {
        char *d = cp_arena_alloc(&p->arena, (na[k] + nb[k]) * elem[k] + 1);
        if (!d)
            return CPROF_ENOMEM;
        out[k] = d;
        first[k] = (cat_part){d, a[k], na[k] * elem[k]};
        second[k] = (cat_part){d + na[k] * elem[k], b[k], nb[k] * elem[k]};
    }
    cp_beside bt;
    cp_beside_start(&bt, na[3] + nb[3] >= cp_prep_fold_parallel_locations, copy_parts, second);
    copy_parts(first);
    cp_beside_end(&bt);
    return 0;
}

/* the largest id of n records of elem bytes, each starting with its id */
_Static_assert(offsetof(cp_location, id) == 0 && offsetof(cp_function, id) == 0 &&
                   offsetof(cp_mapping, id) == 0,
               "max_id reads the id at the start of each record");
static uint64_t max_id(const void *recs, size_t n, size_t elem)
{
    uint64_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t id = *(const uint64_t *)((const char *)recs + i * elem);
        m = id > m ? id : m;
    }
    return m;
}

cp_profile *cp_prep_fold_merge(cp_profile **ps, const double *scales, size_t n, bool ids)
{
    cp_profile *p = ps[0];
    ps[0] = NULL;
    int rc = 0;
    if (scales && scales[0] == -1.0) /* profile 0 scaled too */
        for (size_t i = 0; i < p->nsamples; i++)
            for (size_t k = 0; k < p->nsample_types; k++)
                p->samples[i].values[k] = (int64_t)(0 - (uint64_t)p->samples[i].values[k]);
    cp_merge_times mt = {0};
    cp_prep_merge_times_add(&mt, p);
    segment *seg = malloc(n * sizeof *seg);
    size_t nseg = 0;
    if (!seg)
        rc = CPROF_ENOMEM;
    for (size_t i = 1; i < n && !rc; i++) {
        cp_profile *q = ps[i];
        ps[i] = NULL;
        cp_prep_merge_times_add(&mt, q);
        move_indices(q, p, max_id(p->locations, p->nlocations, sizeof *p->locations),
                     max_id(p->functions, p->nfunctions, sizeof *p->functions),
                     max_id(p->mappings, p->nmappings, sizeof *p->mappings),
                     scales && scales[i] == -1.0);
        if (!*cp_str(p, p->default_sample_type) && *cp_str(q, q->default_sample_type))
            p->default_sample_type = str_moved(q->default_sample_type, p->nstrings);
        cp_arena_adopt(&p->arena, &q->arena); /* q's records now live in p (caps add) */
        const void *a[NCAT] = {p->strings, p->mappings, p->functions,
                               p->locations, p->samples, p->comments};
        const void *b[NCAT] = {q->strings, q->mappings, q->functions,
                               q->locations, q->samples, q->comments};
        const size_t na[NCAT] = {p->nstrings, p->nmappings, p->nfunctions,
                                 p->nlocations, p->nsamples, p->ncomments};
        const size_t nb[NCAT] = {q->nstrings, q->nmappings, q->nfunctions,
                                 q->nlocations, q->nsamples, q->ncomments};
        const size_t elem[NCAT] = {sizeof *p->strings, sizeof *p->mappings, sizeof *p->functions,
                                   sizeof *p->locations, sizeof *p->samples, sizeof *p->comments};
        void *d[NCAT];
        if ((rc = cat_all(p, a, na, b, nb, elem, d)) == 0) {
            void *st = d[0], *mp = d[1], *fn = d[2], *lc = d[3], *sm = d[4], *cm = d[5];
            /* the arrays just copied: their own mappings go back (peak) */
            const void *old[] = {p->strings,   q->strings,  p->mappings, q->mappings,
                                 p->functions, q->functions, p->locations, q->locations,
                                 p->samples,   q->samples,  p->comments, q->comments};
            for (size_t k = 0; k < sizeof old / sizeof old[0]; k++)
                if (old[k])
                    cp_arena_release(&p->arena, old[k]);
            p->strings = st;
            p->mappings = mp;
            p->functions = fn;
            p->locations = lc;
            p->samples = sm;
            p->comments = cm;
            seg[nseg++] = (segment){p->nsamples, (uint32_t)p->nlocations};
            p->nstrings += q->nstrings;
            p->nmappings += q->nmappings;
            p->nfunctions += q->nfunctions;
            p->nlocations += q->nlocations;
            p->nsamples += q->nsamples;
            p->ncomments += q->ncomments;
        }
        cp_profile_free(q);
    }
    for (size_t i = 1; i < n; i++) { /* those an error left */
        cp_profile_free(ps[i]);
        ps[i] = NULL;
    }
    p->time_nanos = mt.time_nanos;
    p->duration_nanos = mt.duration_nanos;
    p->period = mt.period;
    if (rc || fold_segments(p, ids, seg, nseg)) {
        free(seg);
        cp_profile_free(p);
        return NULL;
    }
    free(seg);
    return p;
}
