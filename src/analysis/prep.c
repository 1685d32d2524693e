/* prep.c — merge, sample filters and aggregation on an owned profile.
 *
 * What: go tool pprof's profile.Merge, FilterSamplesByName,
 * FilterSamplesByTag and Aggregate, with the same matching rules, so reports
 * built on the result agree with the oracle.  Data structure: the profile's
 * own arrays, compacted in place (every filter only removes), plus one
 * bitmap-like byte array per location for focus/ignore/hidden; labels are
 * matched on the fly.  Alternatives rejected: copying into a mutable model
 * of maps and pointers as the Go code has (a second copy of a 100 MB
 * profile), and filtering inside the graph build (hide/show change which
 * lines a location has, which the graph must see as a different profile).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/prep.h"
#include "analysis/rx.h"
#include "analysis/units.h"
#include "profile/builder.h"

#define S(p, i) cp_str((p), (i))

/* ---- merge ---------------------------------------------------------- */

static bool zero_sample(const cp_profile *p, const cp_sample *s)
{
    for (size_t k = 0; k < p->nsample_types; k++)
        if (s->values[k])
            return false;
    return true;
}

static int merge_into(cp_pbuilder *b, const cp_profile *src, double scale, bool diff, bool *first,
                      cp_diag *diag)
{
    int rc = 0;
    uint64_t *mid = calloc(src->nmappings + 1, sizeof *mid);
    uint64_t *fid = calloc(src->nfunctions + 1, sizeof *fid);
    uint64_t *lid = calloc(src->nlocations + 1, sizeof *lid);
    int64_t *vals = calloc(src->nsample_types + 1, sizeof *vals);
    uint64_t *stack = NULL;
    size_t stack_cap = 0;
    cp_line_in *lines = NULL;
    size_t lines_cap = 0;
    if (!mid || !fid || !lid || !vals) {
        rc = CPROF_ENOMEM;
        goto out;
    }
    /* go's Merge maps a profile's first mapping before anything while the
     * result has none */
    if (*first && src->nmappings) {
        *first = false;
        const cp_mapping *m = &src->mappings[0];
        mid[0] = cp_pbuilder_mapping(b, m->start, m->limit, m->offset, S(src, m->filename),
                                     S(src, m->build_id), m->has_functions, m->has_filenames,
                                     m->has_line_numbers, m->has_inline_frames);
    }
    for (size_t si = 0; si < src->nsamples; si++) {
        const cp_sample *s = &src->samples[si];
        if (zero_sample(src, s))
            continue;
        if (cp_grow(&stack, &stack_cap, s->nlocs + 1, sizeof *stack)) {
            rc = CPROF_ENOMEM;
            goto out;
        }
        for (uint32_t k = 0; k < s->nlocs; k++) {
            uint32_t li = s->locs[k];
            if (!lid[li]) {
                const cp_location *l = &src->locations[li];
                uint64_t m = 0;
                if (l->mapping != CP_NO_MAPPING) {
                    if (!mid[l->mapping]) {
                        const cp_mapping *mp = &src->mappings[l->mapping];
                        mid[l->mapping] = cp_pbuilder_mapping(
                            b, mp->start, mp->limit, mp->offset, S(src, mp->filename),
                            S(src, mp->build_id), mp->has_functions, mp->has_filenames,
                            mp->has_line_numbers, mp->has_inline_frames);
                    }
                    m = mid[l->mapping];
                }
                if (cp_grow(&lines, &lines_cap, l->nlines + 1, sizeof *lines)) {
                    rc = CPROF_ENOMEM;
                    goto out;
                }
                for (uint32_t j = 0; j < l->nlines; j++) {
                    uint32_t f = l->lines[j].func;
                    lines[j].function_id = 0;
                    if (f != CP_NO_FUNCTION) {
                        if (!fid[f]) {
                            const cp_function *fn = &src->functions[f];
                            fid[f] = cp_pbuilder_function(b, S(src, fn->name),
                                                          S(src, fn->system_name),
                                                          S(src, fn->filename), fn->start_line);
                        }
                        lines[j].function_id = fid[f];
                    }
                    lines[j].line = l->lines[j].line;
                    lines[j].column = l->lines[j].column;
                }
                lid[li] = cp_pbuilder_location(b, m, l->address, lines, l->nlines, l->is_folded);
                *first = false;
                if (!lid[li]) {
                    rc = CPROF_ENOMEM;
                    goto out;
                }
            }
            stack[k] = lid[li];
        }
        for (size_t k = 0; k < src->nsample_types; k++)
            vals[k] = scale == 1.0 ? s->values[k] : (int64_t)llround((double)s->values[k] * scale);
        cp_label_in labs[65];
        size_t nl = 0;
        for (uint32_t k = 0; k < s->nlabels && nl < 64; k++) {
            const cp_label *l = &s->labels[k];
            if (diff && !strcmp(S(src, l->key), "pprof::base"))
                continue;
            labs[nl].key = S(src, l->key);
            labs[nl].str = l->str ? S(src, l->str) : NULL;
            labs[nl].num = l->num;
            labs[nl].unit = l->num_unit ? S(src, l->num_unit) : NULL;
            nl++;
        }
        if (diff) {
            labs[nl].key = "pprof::base";
            labs[nl].str = "true";
            labs[nl].num = 0;
            labs[nl].unit = NULL;
            nl++;
        }
        if ((rc = cp_pbuilder_sample(b, stack, s->nlocs, vals, labs, nl)))
            goto out;
    }
out:
    free(mid);
    free(fid);
    free(lid);
    free(vals);
    free(stack);
    free(lines);
    if (rc)
        cp_diag_set(diag, rc, "merging profiles: %s", cprof_strerror(rc));
    return rc;
}

cp_profile *cp_prep_merge(cp_profile *const *ps, const double *scales, const bool *diff_base,
                          size_t n, cp_diag *diag)
{
    cp_pbuilder *b = cp_pbuilder_new(true);
    if (!b)
        return NULL;
    int64_t tmin = 0, dur = 0, period = 0;
    const cp_profile *p0 = ps[0];
    const char *dflt = "";
    for (size_t i = 0; i < n; i++) {
        const cp_profile *q = ps[i];
        bool ok = q->nsample_types == p0->nsample_types &&
                  !strcmp(S(q, q->period_type.type), S(p0, p0->period_type.type)) &&
                  !strcmp(S(q, q->period_type.unit), S(p0, p0->period_type.unit));
        for (size_t k = 0; ok && k < p0->nsample_types; k++)
            ok = !strcmp(S(q, q->sample_types[k].type), S(p0, p0->sample_types[k].type)) &&
                 !strcmp(S(q, q->sample_types[k].unit), S(p0, p0->sample_types[k].unit));
        if (!ok) {
            cp_diag_set(diag, CPROF_EINVAL, "incompatible sample or period types in profile %zu",
                        i + 1);
            cp_pbuilder_free(b);
            return NULL;
        }
        if (tmin == 0 || q->time_nanos < tmin)
            tmin = q->time_nanos;
        dur += q->duration_nanos;
        if (period == 0 || period < q->period)
            period = q->period;
        if (!*dflt)
            dflt = S(q, q->default_sample_type);
    }
    for (size_t i = 0; i < p0->nsample_types; i++)
        cp_pbuilder_sample_type(b, S(p0, p0->sample_types[i].type), S(p0, p0->sample_types[i].unit));
    cp_pbuilder_period(b, S(p0, p0->period_type.type), S(p0, p0->period_type.unit), period);
    if (*dflt)
        cp_pbuilder_default_sample_type(b, dflt);
    if (p0->drop_frames || p0->keep_frames)
        cp_pbuilder_drop_keep(b, p0->drop_frames ? S(p0, p0->drop_frames) : NULL,
                              p0->keep_frames ? S(p0, p0->keep_frames) : NULL);
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < ps[i]->ncomments; c++) {
            const char *t = S(ps[i], ps[i]->comments[c]);
            bool seen = false;
            for (size_t j = 0; j <= i && !seen; j++)
                for (size_t d = 0; d < (j == i ? c : ps[j]->ncomments) && !seen; d++)
                    seen = !strcmp(t, S(ps[j], ps[j]->comments[d]));
            if (!seen)
                cp_pbuilder_comment(b, t);
        }
    bool first = true;
    for (size_t i = 0; i < n; i++)
        if (merge_into(b, ps[i], scales ? scales[i] : 1.0, diff_base && diff_base[i], &first,
                       diag)) {
            cp_pbuilder_free(b);
            return NULL;
        }
    cp_pbuilder_times(b, tmin, dur);
    cp_profile *p = cp_pbuilder_finish(b);
    cp_pbuilder_free(b);
    if (!p) {
        cp_diag_set(diag, CPROF_ENOMEM, "merging profiles: out of memory");
        return NULL;
    }
    p->period = period;
    for (size_t i = 0; i < p->nsamples; i++)
        if (zero_sample(p, &p->samples[i])) {
            /* values cancelled out: merge again to drop them, as Go does */
            cp_profile *q = cp_prep_merge(&p, NULL, NULL, 1, diag);
            cp_profile_free(p);
            return q;
        }
    return p;
}

bool cp_prep_has_negative(const cp_profile *p)
{
    for (size_t i = 0; i < p->nsamples; i++)
        for (size_t k = 0; k < p->nsample_types; k++)
            if (p->samples[i].values[k] < 0)
                return true;
    return false;
}

void cp_prep_drop_zero_samples(cp_profile *p)
{
    size_t w = 0;
    for (size_t i = 0; i < p->nsamples; i++)
        if (!zero_sample(p, &p->samples[i]))
            p->samples[w++] = p->samples[i];
    p->nsamples = w;
}

/* ---- name filters ----------------------------------------------------- */

static bool rx_match(const regex_t *rx, const char *s)
{
    return regexec(rx, s, 0, NULL, 0) == 0;
}

static bool mapping_matches(const cp_profile *p, const cp_location *l, const regex_t *rx)
{
    return l->mapping != CP_NO_MAPPING && rx_match(rx, S(p, p->mappings[l->mapping].filename));
}

static bool line_matches(const cp_profile *p, const cp_line *ln, const regex_t *rx)
{
    if (ln->func == CP_NO_FUNCTION)
        return false;
    const cp_function *f = &p->functions[ln->func];
    return rx_match(rx, S(p, f->name)) || rx_match(rx, S(p, f->filename));
}

static bool loc_matches(const cp_profile *p, const cp_location *l, const regex_t *rx)
{
    for (uint32_t i = 0; i < l->nlines; i++)
        if (line_matches(p, &l->lines[i], rx))
            return true;
    return mapping_matches(p, l, rx);
}

enum { F_FOCUS = 1, F_IGNORE = 2, F_HIDDEN = 4 };

void cp_prep_filter_names(cp_profile *p, cp_name_filter *f)
{
    uint8_t *st = calloc(p->nlocations + 1, 1);
    if (!st)
        return;
    bool any_hidden = false;
    for (size_t i = 0; i < p->nlocations; i++) {
        cp_location *l = &p->locations[i];
        if (f->ignore && loc_matches(p, l, f->ignore)) {
            f->im = true;
            st[i] |= F_IGNORE;
        } else if (!f->focus || loc_matches(p, l, f->focus)) {
            f->fm = true;
            st[i] |= F_FOCUS;
        }
        if (f->hide && loc_matches(p, l, f->hide)) {
            f->hm = true;
            uint32_t w = 0;
            if (!mapping_matches(p, l, f->hide))
                for (uint32_t k = 0; k < l->nlines; k++)
                    if (!line_matches(p, &l->lines[k], f->hide))
                        l->lines[w++] = l->lines[k];
            l->nlines = w;
            if (!w)
                st[i] |= F_HIDDEN;
        }
        if (f->show) {
            uint32_t w = 0;
            if (mapping_matches(p, l, f->show))
                w = l->nlines;
            else
                for (uint32_t k = 0; k < l->nlines; k++)
                    if (l->lines[k].func == CP_NO_FUNCTION || line_matches(p, &l->lines[k], f->show))
                        l->lines[w++] = l->lines[k];
            l->nlines = w;
            if (!w)
                st[i] |= F_HIDDEN;
            else
                f->hnm = true;
        }
        if (st[i] & F_HIDDEN)
            any_hidden = true;
    }
    size_t w = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        cp_sample *s = &p->samples[i];
        bool focused = false, ignored = false;
        for (uint32_t k = 0; k < s->nlocs; k++) {
            uint8_t x = st[s->locs[k]];
            if (x & F_IGNORE) {
                ignored = true;
                break;
            }
            if (x & F_FOCUS)
                focused = true;
        }
        if (ignored || !focused)
            continue;
        if (any_hidden) {
            uint32_t n = 0;
            for (uint32_t k = 0; k < s->nlocs; k++)
                if (!(st[s->locs[k]] & F_HIDDEN))
                    s->locs[n++] = s->locs[k];
            if (!n)
                continue;
            s->nlocs = n;
        }
        p->samples[w++] = *s;
    }
    p->nsamples = w;
    free(st);
}

/* ---- tag filters -------------------------------------------------------- */

struct cp_tag_filter {
    char *key; /* NULL = any key */
    bool numeric;
    /* numeric range */
    int kind; /* 0 equal, 1 >=, 2 <=, 3 between */
    double lo, hi;
    const char *unit;
    char unit_buf[32];
    /* regexes */
    regex_t *rx;
    size_t nrx;
};

bool cp_prep_tag_filter_is_range(const cp_tag_filter *t) { return t->numeric; }

void cp_prep_tag_filter_free(cp_tag_filter *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrx; i++)
        regfree(&t->rx[i]);
    free(t->rx);
    free(t->key);
    free(t);
}

/* Go's tagFilterRangeRx: ([+-]?[[:digit:]]+)([[:alpha:]]+)? — find up to two. */
typedef struct range_tok {
    size_t start, end;     /* whole match */
    char num[32], unit[32];
} range_tok;

static size_t find_ranges(const char *s, range_tok *out, size_t max)
{
    size_t n = 0, i = 0, len = strlen(s);
    while (i < len && n < max) {
        size_t st = i, j = i;
        if (s[j] == '+' || s[j] == '-')
            j++;
        size_t d = j;
        while (j < len && s[j] >= '0' && s[j] <= '9')
            j++;
        if (j == d) {
            i++;
            continue;
        }
        size_t u = j;
        while (j < len && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z')))
            j++;
        range_tok *t = &out[n++];
        t->start = st;
        t->end = j;
        snprintf(t->num, sizeof t->num, "%.*s", (int)(u - st), s + st);
        snprintf(t->unit, sizeof t->unit, "%.*s", (int)(j - u), s + u);
        i = j;
    }
    return n;
}

static bool parse_range(cp_tag_filter *t, const char *v)
{
    range_tok r[2];
    size_t n = find_ranges(v, r, 2);
    if (n == 0)
        return false;
    const char *u;
    double sv = cp_units_scale(strtoll(r[0].num, NULL, 10), r[0].unit, r[0].unit, &u);
    snprintf(t->unit_buf, sizeof t->unit_buf, "%s", u);
    t->unit = t->unit_buf;
    t->lo = sv;
    size_t mlen = r[0].end - r[0].start;
    size_t vlen = strlen(v);
    if (n == 1) {
        if (r[0].start == 0 && mlen == vlen)
            t->kind = 0;
        else if (r[0].start == 0 && mlen + 1 == vlen && v[vlen - 1] == ':')
            t->kind = 1;
        else if (r[0].start == 1 && v[0] == ':' && mlen + 1 == vlen)
            t->kind = 2;
        else
            return false;
        t->numeric = true;
        return true;
    }
    if (!(r[0].start == 0 && v[r[0].end] == ':' && r[1].start == r[0].end + 1 && r[1].end == vlen))
        return false;
    const char *u2;
    t->hi = cp_units_scale(strtoll(r[1].num, NULL, 10), r[1].unit, t->unit, &u2);
    if (strcmp(u2, t->unit))
        return false;
    t->kind = 3;
    t->numeric = true;
    return true;
}

cp_tag_filter *cp_prep_tag_filter_new(const char *value, char *errbuf, size_t errlen)
{
    cp_tag_filter *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    const char *eq = strchr(value, '=');
    if (eq) {
        t->key = strndup(value, (size_t)(eq - value));
        value = eq + 1;
    }
    if (parse_range(t, value))
        return t;
    char *copy = strdup(value), *save = NULL;
    size_t cnt = 1;
    for (const char *c = value; *c; c++)
        cnt += *c == ',';
    t->rx = calloc(cnt, sizeof *t->rx);
    if (!copy || !t->rx) {
        free(copy);
        cp_prep_tag_filter_free(t);
        return NULL;
    }
    /* split keeping empty fields, as strings.Split does */
    char *p = copy;
    for (size_t i = 0; i < cnt; i++) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = 0;
        char m[256];
        if (cp_rx_compile(&t->rx[t->nrx], p, m, sizeof m)) {
            snprintf(errbuf, errlen, "%s: %s", p, m);
            free(copy);
            cp_prep_tag_filter_free(t);
            return NULL;
        }
        t->nrx++;
        p = comma ? comma + 1 : p + strlen(p);
    }
    (void)save;
    free(copy);
    return t;
}

const char *cp_prep_num_label_unit(const cp_profile *p, int64_t key)
{
    for (size_t i = 0; i < p->nsamples; i++) {
        const cp_sample *s = &p->samples[i];
        for (uint32_t k = 0; k < s->nlabels; k++) {
            const cp_label *l = &s->labels[k];
            if (!l->str && l->key == key && l->num_unit && *S(p, l->num_unit))
                return S(p, l->num_unit);
        }
    }
    const char *k = S(p, key);
    if (!strcmp(k, "alignment") || !strcmp(k, "request"))
        return "bytes";
    return k;
}

static bool num_match(const cp_tag_filter *t, int64_t v, const char *unit)
{
    const char *su;
    double sv = cp_units_scale(v, unit, t->unit, &su);
    if (strcmp(su, t->unit))
        return false;
    switch (t->kind) {
    case 0: return sv == t->lo;
    case 1: return sv >= t->lo;
    case 2: return sv <= t->lo;
    default: return sv >= t->lo && sv <= t->hi;
    }
}

static bool is_num(const cp_label *l) { return l->str == 0 && (l->num || l->num_unit); }

static bool tag_match(const cp_profile *p, const cp_sample *s, const cp_tag_filter *t)
{
    if (t->numeric) {
        for (uint32_t k = 0; k < s->nlabels; k++) {
            const cp_label *l = &s->labels[k];
            if (!is_num(l))
                continue;
            if (t->key && strcmp(S(p, l->key), t->key))
                continue;
            if (num_match(t, l->num, cp_prep_num_label_unit(p, l->key)))
                return true;
        }
        return false;
    }
    if (t->key) {
        for (size_t r = 0; r < t->nrx; r++)
            for (uint32_t k = 0; k < s->nlabels; k++) {
                const cp_label *l = &s->labels[k];
                if (l->str && !strcmp(S(p, l->key), t->key) && rx_match(&t->rx[r], S(p, l->str)))
                    return true;
            }
        return false;
    }
    char buf[1024];
    for (size_t r = 0; r < t->nrx; r++) {
        bool ok = false;
        for (uint32_t k = 0; k < s->nlabels && !ok; k++) {
            const cp_label *l = &s->labels[k];
            if (!l->str)
                continue;
            snprintf(buf, sizeof buf, "%s:%s", S(p, l->key), S(p, l->str));
            ok = rx_match(&t->rx[r], buf);
        }
        if (!ok)
            return false;
    }
    return true;
}

void cp_prep_filter_tags(cp_profile *p, cp_tag_filter *focus, cp_tag_filter *ignore, bool *fm,
                         bool *im)
{
    size_t w = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        cp_sample *s = &p->samples[i];
        bool focused = focus ? tag_match(p, s, focus) : true;
        bool ignored = ignore ? tag_match(p, s, ignore) : false;
        *fm = *fm || focused;
        *im = *im || ignored;
        if (focused && !ignored)
            p->samples[w++] = *s;
    }
    p->nsamples = w;
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

/* ---- aggregation, totals, sample index --------------------------------- */

void cp_prep_aggregate(cp_profile *p, cp_granularity g, bool inlines)
{
    bool function = false, filename = false, linenumber = false, address = false;
    switch (g) {
    case CP_GRAN_ADDRESSES:
        if (inlines)
            return;
        function = filename = linenumber = address = true;
        break;
    case CP_GRAN_LINES: function = filename = linenumber = true; break;
    case CP_GRAN_FILES: filename = true; break;
    case CP_GRAN_FUNCTIONS: function = true; break;
    case CP_GRAN_FILEFUNCTIONS: function = filename = true; break;
    }
    if (!function || !filename)
        for (size_t i = 0; i < p->nfunctions; i++) {
            if (!function)
                p->functions[i].name = p->functions[i].system_name = 0;
            if (!filename)
                p->functions[i].filename = 0;
        }
    if (!inlines || !address || !linenumber)
        for (size_t i = 0; i < p->nlocations; i++) {
            cp_location *l = &p->locations[i];
            if (!inlines && l->nlines > 1) {
                l->lines = &l->lines[l->nlines - 1];
                l->nlines = 1;
            }
            if (!linenumber)
                for (uint32_t k = 0; k < l->nlines; k++)
                    l->lines[k].line = 0;
            if (!address)
                l->address = 0;
        }
}

static bool is_diff_base(const cp_profile *p, const cp_sample *s)
{
    for (uint32_t k = 0; k < s->nlabels; k++)
        if (s->labels[k].str && !strcmp(S(p, s->labels[k].key), "pprof::base") &&
            !strcmp(S(p, s->labels[k].str), "true"))
            return true;
    return false;
}

int64_t cp_prep_total(const cp_profile *p, int si)
{
    int64_t total = 0, diff = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        int64_t v = p->samples[i].values[si];
        if (v < 0)
            v = -v;
        total += v;
        if (p->samples[i].nlabels && is_diff_base(p, &p->samples[i]))
            diff += v;
    }
    return diff > 0 ? diff : total;
}

int cp_prep_sample_index(const cp_profile *p, const char *v, char *err, size_t errlen)
{
    if (p->nsample_types == 0) {
        snprintf(err, errlen, "profile has no samples");
        return -1;
    }
    if (!v || !*v) {
        if (p->default_sample_type)
            for (size_t i = 0; i < p->nsample_types; i++)
                if (!strcmp(S(p, p->sample_types[i].type), S(p, p->default_sample_type)))
                    return (int)i;
        return (int)p->nsample_types - 1;
    }
    char *end;
    long n = strtol(v, &end, 10);
    if (!*end && end != v) {
        if (n < 0 || (size_t)n >= p->nsample_types) {
            snprintf(err, errlen, "sample_index %s is outside the range [0..%zu]", v,
                     p->nsample_types - 1);
            return -1;
        }
        return (int)n;
    }
    const char *noinuse = strncmp(v, "inuse_", 6) ? v : v + 6;
    for (size_t i = 0; i < p->nsample_types; i++) {
        const char *t = S(p, p->sample_types[i].type);
        if (!strcmp(t, v) || !strcmp(t, noinuse))
            return (int)i;
    }
    size_t off = (size_t)snprintf(err, errlen, "sample_index \"%s\" must be one of: [", v);
    for (size_t i = 0; i < p->nsample_types && off < errlen; i++)
        off += (size_t)snprintf(err + off, errlen - off, "%s%s", i ? " " : "",
                                S(p, p->sample_types[i].type));
    if (off < errlen)
        snprintf(err + off, errlen - off, "]");
    return -1;
}
