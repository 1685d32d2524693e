/* prep_frames.c — what go tool pprof does to frames right after reading:
 * simplify C++-looking names, apply drop_frames/keep_frames, -prune_from.
 *
 * What: symbolizer.demangleSingleFunction's heuristic (for names equal to
 * their system name), profile.Prune and PruneFrom with go's simplifyFunc.
 * Data structure: a byte of state per location, stacks cut in place by
 * moving the sample's location pointer.  Alternatives rejected: a C++
 * demangler for mangled-only names (cprof's symbolizer already writes
 * demangled names; go would need the same demangler to agree).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/prep.h"
#include "analysis/rx.h"
#include "analysis/units.h"
#include "base/buf.h"

static bool rx_match(const regex_t *rx, const char *s)
{
    return regexec(rx, s, 0, NULL, 0) == 0;
}

/* ---- names as go tool pprof's symbolizer leaves them -------------------- */

static bool looks_like_cpp(const char *n)
{
    if (strstr(n, ".<") || strstr(n, "])."))
        return false;
    return strpbrk(n, "<>[]") || strstr(n, "::");
}

/* symbolizer.removeMatching: drop nested start..end groups in place. */
static void remove_matching(char *name, char open, char close)
{
    int nesting = 0;
    size_t first = 0;
    for (size_t cur = 0; name[cur]; cur++) {
        if (name[cur] == open) {
            if (++nesting == 1)
                first = cur;
        } else if (name[cur] == close) {
            if (--nesting < 0)
                return; /* mismatch: leave the rest alone, as go does */
            if (nesting == 0) {
                memmove(name + first, name + cur + 1, strlen(name + cur + 1) + 1);
                cur = first - 1; /* wraps for first == 0; the ++ brings it back */
            }
        }
    }
}

int cp_prep_demangle(cp_profile *p)
{
    size_t extra = 0;
    for (size_t i = 0; i < p->nfunctions; i++) {
        const cp_function *f = &p->functions[i];
        const char *n = cp_str(p, f->name), *sys = cp_str(p, f->system_name);
        if ((!*n || !strcmp(sys, n)) && looks_like_cpp(sys))
            extra++;
        else if (!*n && *sys)
            p->functions[i].name = f->system_name;
    }
    if (!extra)
        return 0; /* nothing to simplify: no copy of the string table */
    const char **strs = cp_arena_alloc(&p->arena, (p->nstrings + extra) * sizeof *strs);
    if (!strs)
        return CPROF_ENOMEM;
    memcpy(strs, p->strings, p->nstrings * sizeof *strs);
    size_t ns = p->nstrings;
    for (size_t i = 0; i < p->nfunctions && ns < p->nstrings + extra; i++) {
        cp_function *f = &p->functions[i];
        const char *n = cp_str(p, f->name), *sys = cp_str(p, f->system_name);
        if (*n && strcmp(sys, n))
            continue; /* already demangled */
        if (!looks_like_cpp(sys)) {
            if (!*n && *sys)
                f->name = f->system_name;
            continue;
        }
        char *x = cp_arena_strndup(&p->arena, sys, strlen(sys));
        if (!x)
            return CPROF_ENOMEM;
        remove_matching(x, '(', ')');
        remove_matching(x, '<', '>');
        strs[ns] = x;
        f->name = (int64_t)ns++;
    }
    p->strings = strs;
    p->nstrings = ns;
    return 0;
}

/* ---- drop_frames / keep_frames ------------------------------------------ */

/* profile.simplifyFunc: cut at the first "(" that does not belong to
 * "(anonymous namespace)" or "operator()". */
static void simplify_func(const char *name, char *out, size_t n)
{
    if (*name == '.')
        name++;
    size_t cut = strlen(name);
    for (size_t i = 0; name[i];) {
        if (!strncmp(name + i, "(anonymous namespace)", 21)) {
            i += 21;
            continue;
        }
        if (!strncmp(name + i, "operator()", 10)) {
            i += 10;
            continue;
        }
        if (name[i] == '(') {
            cut = i;
            break;
        }
        i++;
    }
    snprintf(out, n, "%.*s", (int)cut, name);
}

int cp_prep_remove_uninteresting(cp_profile *p, char *err, size_t errlen)
{
    const char *drop = cp_str(p, p->drop_frames), *keep = cp_str(p, p->keep_frames);
    if (!*drop)
        return 0;
    regex_t drx, krx;
    char *pat = malloc(strlen(drop) + strlen(keep) + 8);
    if (!pat)
        return CPROF_ENOMEM;
    sprintf(pat, "^(%s)$", drop);
    if (cp_rx_compile(&drx, pat, err, errlen)) {
        free(pat);
        return CPROF_EINVAL;
    }
    bool have_keep = false;
    if (*keep) {
        sprintf(pat, "^(%s)$", keep);
        if (cp_rx_compile(&krx, pat, err, errlen)) {
            regfree(&drx);
            free(pat);
            return CPROF_EINVAL;
        }
        have_keep = true;
    }
    free(pat);
    uint8_t *st = calloc(p->nlocations + 1, 1); /* 1 prune, 2 prune beneath */
    if (!st) {
        regfree(&drx);
        if (have_keep)
            regfree(&krx);
        return CPROF_ENOMEM;
    }
    char name[4096];
    for (size_t li = 0; li < p->nlocations; li++) {
        cp_location *l = &p->locations[li];
        int64_t i;
        for (i = (int64_t)l->nlines - 1; i >= 0; i--) {
            const cp_line *ln = &l->lines[i];
            if (ln->func == CP_NO_FUNCTION || !*cp_str(p, p->functions[ln->func].name))
                continue;
            simplify_func(cp_str(p, p->functions[ln->func].name), name, sizeof name);
            if (rx_match(&drx, name) && (!have_keep || !rx_match(&krx, name)))
                break;
        }
        if (i >= 0) {
            st[li] |= 2;
            if (i == (int64_t)l->nlines - 1)
                st[li] |= 1;
            else {
                l->lines += i + 1;
                l->nlines -= (uint32_t)(i + 1);
            }
        }
    }
    for (size_t si = 0; si < p->nsamples; si++) {
        cp_sample *s = &p->samples[si];
        bool user = false;
        for (int64_t i = (int64_t)s->nlocs - 1; i >= 0; i--) {
            uint8_t x = st[s->locs[i]];
            if (!x) {
                user = true;
                continue;
            }
            if (!user)
                continue;
            uint32_t from = (x & 1) ? (uint32_t)i + 1 : (uint32_t)i;
            s->locs += from;
            s->nlocs -= from;
            break;
        }
    }
    free(st);
    regfree(&drx);
    if (have_keep)
        regfree(&krx);
    return 0;
}

void cp_prep_prune_from(cp_profile *p, const regex_t *rx)
{
    uint8_t *beneath = calloc(p->nlocations + 1, 1);
    if (!beneath)
        return;
    char name[4096];
    for (size_t li = 0; li < p->nlocations; li++) {
        cp_location *l = &p->locations[li];
        for (uint32_t i = 0; i < l->nlines; i++) {
            const cp_line *ln = &l->lines[i];
            if (ln->func == CP_NO_FUNCTION || !*cp_str(p, p->functions[ln->func].name))
                continue;
            simplify_func(cp_str(p, p->functions[ln->func].name), name, sizeof name);
            if (rx_match(rx, name)) {
                beneath[li] = 1;
                l->lines += i;
                l->nlines -= i;
                break;
            }
        }
    }
    for (size_t si = 0; si < p->nsamples; si++) {
        cp_sample *s = &p->samples[si];
        for (uint32_t i = 0; i < s->nlocs; i++)
            if (beneath[s->locs[i]]) {
                s->locs += i;
                s->nlocs -= i;
                break;
            }
    }
    free(beneath);
}


/* ---- -tagroot / -tagleaf ---------------------------------------------------- */

typedef struct label_loc {
    char *name, *file; /* the pseudo function: joined values, label key */
    uint32_t loc;      /* index of its location */
} label_loc;

typedef struct label_locs {
    label_loc *v;
    size_t n, cap;
} label_locs;

static size_t split_keys(const char *csv, char keys[][128], size_t max)
{
    size_t n = 0;
    for (const char *c = csv; c && *c && n < max;) {
        const char *e = strchr(c, ',');
        size_t len = e ? (size_t)(e - c) : strlen(c);
        if (len && len < 128) {
            memcpy(keys[n], c, len);
            keys[n++][len] = 0;
        }
        if (!e)
            break;
        c = e + 1;
    }
    return n;
}

/* driver.formatLabelValues: string values, then numeric ones scaled (all
 * or none of them carry units, as go's padded unit array requires). */
static void label_values(const cp_profile *p, const cp_sample *s, const char *key,
                         const char *out_unit, cp_buf *out)
{
    const char *sep = "";
    size_t nvals = 0, nunits = 0;
    for (uint32_t k = 0; k < s->nlabels; k++) {
        const cp_label *l = &s->labels[k];
        if (strcmp(cp_str(p, l->key), key))
            continue;
        if (l->str) {
            cp_buf_printf(out, "%s%s", sep, cp_str(p, l->str));
            sep = ",";
        } else if (l->num || l->num_unit) {
            if (l->num_unit)
                nunits = nvals + 1;
            nvals++;
        }
    }
    if (nunits && nunits != nvals)
        return;
    for (uint32_t k = 0; k < s->nlabels; k++) {
        const cp_label *l = &s->labels[k];
        if (l->str || !(l->num || l->num_unit) || strcmp(cp_str(p, l->key), key))
            continue;
        char v[64];
        if (nunits)
            cp_units_label(v, sizeof v, l->num, cp_str(p, l->num_unit), out_unit);
        else
            cp_units_label(v, sizeof v, l->num, "", "");
        cp_buf_printf(out, "%s%s", sep, v);
        sep = ",";
    }
}

/* The profile's function, location and string tables, copied to grow as
 * pseudo frames are added, and the pseudo frames made so far. */
typedef struct frame_tables {
    cp_function *funcs;
    cp_location *locs;
    const char **strs;
    size_t nf, nlo, ns, fcap, lcap, scap;
    uint64_t max_func, max_loc; /* ids taken so far */
    label_locs ll;
} frame_tables;

static int tables_open(const cp_profile *p, frame_tables *t)
{
    for (size_t i = 0; i < p->nlocations; i++)
        if (p->locations[i].id > t->max_loc)
            t->max_loc = p->locations[i].id;
    for (size_t i = 0; i < p->nfunctions; i++)
        if (p->functions[i].id > t->max_func)
            t->max_func = p->functions[i].id;
    /* every sample may add nr + nl locations at most, but distinct ones
     * are few: reserve as they come */
    t->nf = p->nfunctions;
    t->nlo = p->nlocations;
    t->ns = p->nstrings;
    t->fcap = t->nf + 16;
    t->lcap = t->nlo + 16;
    t->scap = t->ns + 32;
    t->funcs = malloc(t->fcap * sizeof *t->funcs);
    t->locs = malloc(t->lcap * sizeof *t->locs);
    t->strs = malloc(t->scap * sizeof *t->strs);
    if (!t->funcs || !t->locs || !t->strs)
        return CPROF_ENOMEM;
    memcpy(t->funcs, p->functions, t->nf * sizeof *t->funcs);
    memcpy(t->locs, p->locations, t->nlo * sizeof *t->locs);
    memcpy(t->strs, p->strings, t->ns * sizeof *t->strs);
    return 0;
}

static void tables_free(frame_tables *t)
{
    free(t->funcs);
    free(t->locs);
    free(t->strs);
    free(t->ll.v);
}

/* The grown tables into the profile (arena copies; the old arrays stay
 * unused). */
static int tables_publish(cp_profile *p, const frame_tables *t)
{
    cp_function *af = cp_arena_memdup(&p->arena, t->funcs, t->nf * sizeof *t->funcs);
    cp_location *al = cp_arena_memdup(&p->arena, t->locs, t->nlo * sizeof *t->locs);
    const char **as = cp_arena_memdup(&p->arena, t->strs, t->ns * sizeof *t->strs);
    if (!af || !al || !as)
        return CPROF_ENOMEM;
    p->functions = af;
    p->nfunctions = t->nf;
    p->locations = al;
    p->nlocations = t->nlo;
    p->strings = as;
    p->nstrings = t->ns;
    return 0;
}

/* The location of the pseudo frame `name` (function) in file `key`, made
 * the first time it is asked for.  0 or CPROF_ENOMEM. */
static int pseudo_loc(cp_profile *p, frame_tables *t, const char *name, const char *key,
                      uint32_t *loc)
{
    label_locs *ll = &t->ll;
    for (size_t j = 0; j < ll->n; j++)
        if (!strcmp(ll->v[j].name, name) && !strcmp(ll->v[j].file, key)) {
            *loc = ll->v[j].loc;
            return 0;
        }
    if (cp_grow(&ll->v, &ll->cap, ll->n + 1, sizeof *ll->v) ||
        cp_grow(&t->funcs, &t->fcap, t->nf + 1, sizeof *t->funcs) ||
        cp_grow(&t->locs, &t->lcap, t->nlo + 1, sizeof *t->locs) ||
        cp_grow(&t->strs, &t->scap, t->ns + 2, sizeof *t->strs))
        return CPROF_ENOMEM;
    char *n = cp_arena_strndup(&p->arena, name, strlen(name));
    char *f = cp_arena_strndup(&p->arena, key, strlen(key));
    cp_line *line = cp_arena_alloc(&p->arena, sizeof *line);
    if (!n || !f || !line)
        return CPROF_ENOMEM;
    t->strs[t->ns] = n;
    t->strs[t->ns + 1] = f;
    cp_function *fn = &t->funcs[t->nf];
    memset(fn, 0, sizeof *fn);
    fn->id = ++t->max_func;
    fn->name = (int64_t)t->ns;
    fn->filename = (int64_t)t->ns + 1;
    t->ns += 2;
    line->func = (uint32_t)t->nf++;
    cp_location *l = &t->locs[t->nlo];
    memset(l, 0, sizeof *l);
    l->id = ++t->max_loc;
    l->mapping = CP_NO_MAPPING;
    l->lines = line;
    l->nlines = 1;
    ll->v[ll->n] = (label_loc){.name = n, .file = f, .loc = (uint32_t)t->nlo++};
    *loc = ll->v[ll->n++].loc;
    return 0;
}

/* The pseudo frames of one sample for nk keys (given root first), in
 * stack order (leaf first) into dst; *matched set when a key has a value. */
static int sample_frames(cp_profile *p, frame_tables *t, const cp_sample *s,
                         char (*keys)[128], size_t nk, const char *out_unit, cp_buf *val,
                         uint32_t *dst, bool *matched)
{
    for (size_t i = 0; i < nk; i++) {
        const char *k = keys[nk - 1 - i];
        val->len = 0;
        cp_buf_putc(val, 0);
        val->len = 0;
        label_values(p, s, k, out_unit, val);
        cp_buf_putc(val, 0);
        const char *name = (const char *)val->data;
        if (*name)
            *matched = true;
        int rc = pseudo_loc(p, t, name, k, &dst[i]);
        if (rc)
            return rc;
    }
    return 0;
}

int cp_prep_label_frames(cp_profile *p, const char *root_csv, const char *leaf_csv,
                         const char *out_unit, bool *rootm, bool *leafm)
{
    char roots[16][128], leaves[16][128];
    size_t nr = split_keys(root_csv, roots, 16), nl = split_keys(leaf_csv, leaves, 16);
    if (!nr && !nl)
        return 0;
    frame_tables t = {0};
    cp_buf val = {0};
    int rc = tables_open(p, &t);
    for (size_t si = 0; si < p->nsamples && !rc; si++) {
        cp_sample *s = &p->samples[si];
        uint32_t add_root[16], add_leaf[16];
        if ((rc = sample_frames(p, &t, s, roots, nr, out_unit, &val, add_root, rootm)) ||
            (rc = sample_frames(p, &t, s, leaves, nl, out_unit, &val, add_leaf, leafm)))
            break;
        uint32_t *nv = cp_arena_alloc(&p->arena, (s->nlocs + nr + nl + 1) * sizeof *nv);
        if (!nv) {
            rc = CPROF_ENOMEM;
            break;
        }
        size_t w = 0;
        for (size_t i = 0; i < nl; i++)
            nv[w++] = add_leaf[i];
        for (uint32_t i = 0; i < s->nlocs; i++)
            nv[w++] = s->locs[i];
        for (size_t i = 0; i < nr; i++)
            nv[w++] = add_root[i];
        s->locs = nv;
        s->nlocs = (uint32_t)w;
    }
    if (!rc)
        rc = tables_publish(p, &t);
    cp_buf_free(&val);
    tables_free(&t);
    return rc;
}
