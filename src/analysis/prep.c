/* prep.c — sample filters and aggregation on an owned profile.
 *
 * What: go tool pprof's FilterSamplesByName, ShowFrom, FilterSamplesByTag,
 * FilterTagsByName and Aggregate, with the same matching rules (merging is
 * in prep_merge.c, frame pruning in prep_frames.c), so reports
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
    if (!f->focus && !f->ignore && !f->hide && !f->show) {
        /* every location is focused, none ignored or hidden: only samples
         * without a location go (go's focusedAndNotIgnored) */
        size_t w = 0;
        f->fm = f->fm || p->nlocations > 0;
        for (size_t i = 0; i < p->nsamples; i++)
            if (p->samples[i].nlocs)
                p->samples[w++] = p->samples[i];
        p->nsamples = w;
        return;
    }
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

bool cp_prep_show_from(cp_profile *p, const regex_t *rx)
{
    bool matched = false;
    uint8_t *hit = calloc(p->nlocations + 1, 1);
    if (!hit)
        return false;
    for (size_t i = 0; i < p->nlocations; i++) {
        cp_location *l = &p->locations[i];
        if (mapping_matches(p, l, rx)) {
            hit[i] = matched = true;
            continue;
        }
        for (uint32_t k = l->nlines; k-- > 0;)
            if (line_matches(p, &l->lines[k], rx)) {
                l->nlines = k + 1;
                hit[i] = matched = true;
                break;
            }
    }
    size_t w = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        cp_sample *s = &p->samples[i];
        for (uint32_t k = s->nlocs; k-- > 0;)
            if (hit[s->locs[k]]) {
                s->nlocs = k + 1;
                p->samples[w++] = *s;
                break;
            }
    }
    p->nsamples = w;
    free(hit);
    return matched;
}

void cp_prep_filter_tag_names(cp_profile *p, const regex_t *show, const regex_t *hide, bool *sm,
                              bool *hm)
{
    for (size_t i = 0; i < p->nsamples; i++) {
        cp_sample *s = &p->samples[i];
        uint32_t w = 0;
        for (uint32_t k = 0; k < s->nlabels; k++) {
            const char *key = S(p, s->labels[k].key);
            bool ms = !show || rx_match(show, key);
            bool mh = hide && rx_match(hide, key);
            *sm = *sm || ms;
            *hm = *hm || mh;
            if (ms && !mh)
                s->labels[w++] = s->labels[k];
        }
        s->nlabels = w;
    }
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

const char **cp_prep_num_label_units(const cp_profile *p)
{
    const char **u = calloc(p->nstrings + 1, sizeof *u);
    if (!u)
        return NULL;
    /* the first unit given to a key, in sample order, as go's
     * NumLabelUnits takes it; then the fallback of cp_prep_num_label_unit
     * for keys that never have one */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < p->nsamples; i++) {
            const cp_sample *s = &p->samples[i];
            for (uint32_t k = 0; k < s->nlabels; k++) {
                const cp_label *l = &s->labels[k];
                if (l->str || (!l->num && !l->num_unit) || u[l->key])
                    continue;
                if (pass == 0 && l->num_unit && *S(p, l->num_unit))
                    u[l->key] = S(p, l->num_unit);
                else if (pass == 1)
                    u[l->key] = cp_prep_num_label_unit(p, l->key); /* the fallback: O(1) here */
            }
        }
    return u;
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

static bool tag_match(const cp_profile *p, const cp_sample *s, const cp_tag_filter *t,
                      const char **units)
{
    if (t->numeric) {
        for (uint32_t k = 0; k < s->nlabels; k++) {
            const cp_label *l = &s->labels[k];
            if (!is_num(l))
                continue;
            if (t->key && strcmp(S(p, l->key), t->key))
                continue;
            if (num_match(t, l->num, units ? units[l->key] : cp_prep_num_label_unit(p, l->key)))
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
    /* units of the whole profile, before any sample goes */
    const char **units = (focus && focus->numeric) || (ignore && ignore->numeric)
                             ? cp_prep_num_label_units(p) : NULL;
    for (size_t i = 0; i < p->nsamples; i++) {
        cp_sample *s = &p->samples[i];
        bool focused = focus ? tag_match(p, s, focus, units) : true;
        bool ignored = ignore ? tag_match(p, s, ignore, units) : false;
        *fm = *fm || focused;
        *im = *im || ignored;
        if (focused && !ignored)
            p->samples[w++] = *s;
    }
    p->nsamples = w;
    free(units);
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

bool cp_prep_is_diff_base(const cp_profile *p, const cp_sample *s)
{
    for (uint32_t k = 0; k < s->nlabels; k++)
        if (s->labels[k].str && !strcmp(S(p, s->labels[k].key), "pprof::base") &&
            !strcmp(S(p, s->labels[k].str), "true"))
            return true;
    return false;
}

int64_t cp_prep_total(const cp_profile *p, int si, int di)
{
    int64_t total = 0, diff = 0, div = 0, diff_div = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        int64_t v = p->samples[i].values[si], d = di >= 0 ? p->samples[i].values[di] : 0;
        if (v < 0)
            v = cp_wmul(v, -1); /* go's abs64: INT64_MIN stays */
        total = cp_wadd(total, v);
        div = cp_wadd(div, d);
        if (p->samples[i].nlabels && cp_prep_is_diff_base(p, &p->samples[i])) {
            diff = cp_wadd(diff, v);
            diff_div = cp_wadd(diff_div, d);
        }
    }
    if (diff > 0) {
        total = diff;
        div = diff_div;
    }
    return div != 0 ? cp_go_div(total, div) : total;
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
