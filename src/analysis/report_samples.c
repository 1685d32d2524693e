/* report_samples.c — the per-sample reports: traces, tags, raw, folded.
 *
 * What: go tool pprof's -traces, -tags and -raw texts, and Brendan Gregg's
 * folded stacks ("root;caller;leaf value").  Data structure: samples are
 * walked in profile order; label groups are gathered per sample into small
 * arrays and sorted as the Go code sorts its map keys; -tags keeps one
 * (key, value) → sum table.  The tags layout uses a re-implementation of the
 * part of Go's text/tabwriter it needs (right-aligned cells, column blocks
 * ending at lines with fewer cells), because the alignment rules are
 * subtle and the text must match.  traces (0.5 GB of text for 150k
 * stacks) makes every location's frame lines first, then prints chunks of
 * samples on two threads, written in order (chunks.h); each worker keeps
 * its own cache of formatted values.
 * Alternatives rejected: fixed-width printf for tags (differs from the
 * oracle whenever a value is wider than the guess).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/chunks.h"
#include "analysis/graph.h"
#include "analysis/outbuf.h"
#include "analysis/report.h"
#include "analysis/units.h"
#include "base/buf.h"

#define S(p, i) cp_str((p), (i))

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool label_is_num(const cp_label *l) { return !l->str && (l->num || l->num_unit); }

/* Whether a label of the same kind (numeric or string) and key name comes
 * before label k: each key is printed once, at its first label. */
static bool key_seen_before(const cp_profile *p, const cp_sample *s, uint32_t k, bool num)
{
    const char *key = S(p, s->labels[k].key);
    for (uint32_t j = 0; j < k; j++) {
        const cp_label *m = &s->labels[j];
        if ((num ? label_is_num(m) : m->str != 0) && !strcmp(S(p, m->key), key))
            return true;
    }
    return false;
}

/* go's "%10s:  ": the width counts runes (bytes that do not continue a
 * UTF-8 sequence; an escaped C0 byte is one, see profile.h). */
static void pad_key(cp_buf *b, const cp_profile *p, const char *key)
{
    size_t runes = 0;
    const unsigned char *c = (const unsigned char *)key;
    while (*c) {
        if (p->nul_escaped && c[0] == 0xc0 && (c[1] == 0xc0 || c[1] == 0x80)) {
            runes++;
            c += 2;
            continue;
        }
        runes += (*c & 0xc0) != 0x80;
        c++;
    }
    for (; runes < 10; runes++)
        cp_buf_putc(b, ' ');
    cp_buf_printf(b, "%s:  ", key);
}

/* Lines "%10s:  v1 v2\n" per label key, sorted; numeric when num is set. */
static void print_label_groups(cp_report *r, const cp_sample *s, bool num, cp_obuf *out,
                               const char **units)
{
    cp_profile *p = r->p;
    if (!s->nlabels)
        return;
    char **lines = malloc(((size_t)s->nlabels + 1) * sizeof *lines);
    if (!lines)
        return;
    size_t nl = 0;
    for (uint32_t k = 0; k < s->nlabels; k++) {
        const cp_label *l = &s->labels[k];
        if (num ? !label_is_num(l) : !l->str)
            continue;
        if (key_seen_before(p, s, k, num))
            continue;
        cp_buf b = {0};
        pad_key(&b, p, S(p, l->key));
        const char *sep = "";
        const char *unit = !num ? NULL : units ? units[l->key] : cp_prep_num_label_unit(p, l->key);
        for (uint32_t j = k; j < s->nlabels; j++) {
            const cp_label *m = &s->labels[j];
            if (!(num ? label_is_num(m) : m->str != 0) || strcmp(S(p, m->key), S(p, l->key)))
                continue;
            if (num) {
                char v[64];
                cp_units_label(v, sizeof v, m->num, unit, "auto");
                cp_buf_printf(&b, "%s%s", sep, v);
            } else
                cp_buf_printf(&b, "%s%s", sep, S(p, m->str));
            sep = " ";
        }
        cp_buf_putc(&b, 0);
        lines[nl++] = (char *)b.data;
    }
    qsort(lines, nl, sizeof *lines, cmp_str);
    for (size_t i = 0; i < nl; i++) {
        if (lines[i])
            cp_obuf_puts(out, lines[i]);
        cp_obuf_put(out, "\n", 1);
        free(lines[i]);
    }
    free(lines);
}

/* A location's frame lines, "%10s   %s%s\n" with an empty value for each
 * of its lines (inlined callee first), made once per location on first use
 * and copied whole: ~40 locations a sample, ~1.2 lines a location. */
typedef struct loc_text {
    const char *text; /* NULL until made */
    size_t len;
} loc_text;

enum { TEXT_PAD = 32 };

/* cp_obuf_put for a whole location text: copied in 32-byte chunks (its
 * allocation is rounded up to them; the block has room for the overrun,
 * which the next piece overwrites), no call for the ~80 bytes of a line. */
static inline void put_text(cp_obuf *o, const char *s, size_t len)
{
    char *d = len <= 256 ? cp_obuf_room(o, len + TEXT_PAD) : NULL;
    if (!d) {
        cp_obuf_put(o, s, len);
        return;
    }
    for (size_t i = 0; i < len; i += TEXT_PAD)
        memcpy(d + i, s + i, TEXT_PAD);
    o->n += len;
}

/* The frame lines of cnt nodes, each but the last marked inlined. */
static int build_text(cp_graph *g, const uint32_t *nodes, uint32_t cnt, loc_text *t)
{
    size_t len = 0;
    for (uint32_t li = 0; li < cnt; li++) {
        cp_graph_pname(g, nodes[li]);
        len += 13 + (size_t)g->nodes[nodes[li]].plen + (li != cnt - 1 ? 10 : 1);
    }
    if (!len) { /* no lines: nothing to print */
        t->text = "";
        t->len = 0;
        return 0;
    }
    /* put_text reads whole chunks: room for the last one */
    char *b = cp_arena_alloc(&g->arena, (len + TEXT_PAD - 1) / TEXT_PAD * TEXT_PAD);
    if (!b)
        return CPROF_ENOMEM;
    t->text = b;
    t->len = len;
    for (uint32_t li = 0; li < cnt; li++) {
        const char *nm = cp_graph_pname(g, nodes[li]); /* made above: a lookup */
        const cp_gnode *n = &g->nodes[nodes[li]];
        bool inl = li != cnt - 1; /* go: every line but a location's last is inlined */
        memset(b, ' ', 13);
        memcpy(b + 13, nm, n->plen);
        b += 13 + n->plen;
        memcpy(b, inl ? " (inline)\n" : "\n", inl ? 10 : 1);
        b += inl ? 10 : 1;
    }
    return 0;
}

/* A location's text; one of a single line is its node's text, shared by
 * every location of that node (245k locations, 50k nodes in the
 * benchmark's profile: a fifth of the text to keep in cache). */
static int make_loc_text(cp_graph *g, uint32_t loc, loc_text *t, loc_text *node_text)
{
    uint32_t off = g->locoff[loc], cnt = g->locoff[loc + 1] - off;
    if (cnt != 1)
        return build_text(g, &g->locnodes[off], cnt, t);
    loc_text *nt = &node_text[g->locnodes[off]];
    int rc = nt->text ? 0 : build_text(g, &g->locnodes[off], 1, nt);
    *t = *nt;
    return rc;
}

/* Formatted sample values: a profile has few distinct ones (59 in 150k
 * samples of the benchmark's), so each is formatted once. */
enum { VCACHE = 256 };
typedef struct vcache {
    int64_t v[VCACHE];
    uint8_t len[VCACHE]; /* 0 = empty */
    char text[VCACHE][40];
} vcache;

static const char *value_text(cp_report *r, vcache *c, int64_t v, char *tmp, size_t n)
{
    size_t i = (size_t)(cp_hash_u64((uint64_t)v) & (VCACHE - 1));
    if (c->len[i] && c->v[i] == v)
        return c->text[i];
    cp_report_value(r, tmp, n, v);
    size_t len = strlen(tmp);
    if (len && len < sizeof c->text[i]) {
        memcpy(c->text[i], tmp, len + 1);
        c->len[i] = (uint8_t)len;
        c->v[i] = v;
    }
    return tmp;
}

/* traces' shared, read-only state and its workers' value caches. */
typedef struct traces_ctx {
    cp_report *r;
    const cp_profile *p;
    const loc_text *lt;   /* every location's text, made before */
    const char **units;   /* numeric label units, per key */
    vcache *vc[2];
} traces_ctx;

static const char traces_sep[] =
    "-----------+-------------------------------------------------------\n";

/* Samples [i0, i1): each one's separator, labels and frame lines. */
static int traces_chunk(void *arg, unsigned worker, size_t i0, size_t i1, cp_obuf *ob)
{
    traces_ctx *c = arg;
    cp_report *r = c->r;
    for (size_t i = i0; i < i1; i++) {
        const cp_sample *s = &c->p->samples[i];
        const uint32_t *locs = s->locs, n = s->nlocs;
        uint32_t j = 0;
        while (j < n && !c->lt[locs[j]].len) /* up to the first location with a line */
            j++;
        if (j == n) /* no frame at all: go skips the sample */
            continue;
        cp_obuf_put(ob, traces_sep, sizeof traces_sep - 1);
        print_label_groups(r, s, false, ob, c->units);
        print_label_groups(r, s, true, ob, c->units);
        char v[64];
        int64_t val = s->values[r->sample_index];
        int64_t d = r->div_index >= 0 ? s->values[r->div_index] : 0;
        if (d != 0)
            val = cp_go_div(val, d);
        /* the first frame line carries the value in its 10 columns */
        const loc_text *t = &c->lt[locs[j]];
        cp_obuf_pad(ob, value_text(r, c->vc[worker], val, v, sizeof v), 10);
        cp_obuf_put(ob, t->text + 10, t->len - 10);
        for (j++; j < n; j++) {
            t = &c->lt[locs[j]];
            put_text(ob, t->text, t->len);
        }
    }
    return 0;
}

/* Bytes of frame text per chunk: a 1 MiB output block's worth, less room
 * for separators and labels (what overflows is spilled, chunks.h). */
size_t cp_report_traces_chunk_bytes = 900u << 10;

/* A sample's frame text, in bytes. */
static size_t sample_bytes(const void *arg, size_t i)
{
    const traces_ctx *c = arg;
    const cp_sample *s = &c->p->samples[i];
    size_t bytes = 0;
    for (uint32_t j = 0; j < s->nlocs; j++)
        bytes += c->lt[s->locs[j]].len;
    return bytes;
}

int cp_report_traces(cp_report *r, FILE *out)
{
    cp_profile *p = r->p;
    cp_report_profile_labels(r, out);
    cp_graph g;
    cp_graph_opts go = {.sample_index = r->sample_index, .div_index = -1};
    int rc = cp_graph_new(&g, p, &go);
    if (rc)
        return rc;
    traces_ctx c = {.r = r, .p = p};
    loc_text *lt = calloc(p->nlocations + 1, sizeof *lt), *nt = calloc(g.nnodes + 1, sizeof *nt);
    c.vc[0] = calloc(1, sizeof *c.vc[0]);
    c.vc[1] = calloc(1, sizeof *c.vc[1]);
    c.units = cp_prep_num_label_units(p); /* one pass, not one per label */
    if (!lt || !nt || !c.vc[0] || !c.vc[1] || !c.units) {
        rc = CPROF_ENOMEM;
        goto out;
    }
    /* every location's text first: the workers only read them */
    for (size_t l = 0; l < p->nlocations; l++)
        if ((rc = make_loc_text(&g, (uint32_t)l, &lt[l], nt)))
            goto out;
    c.lt = lt;
    /* the whole report goes through output blocks, written when full: a
     * sample is ~40 lines, so flushing per sample cost a write(2) each */
    if ((rc = cp_chunks_write(p->nsamples, sample_bytes, cp_report_traces_chunk_bytes,
                              traces_chunk, &c, out)))
        goto out;
    fputs(traces_sep, out);
out:
    free(lt);
    free(nt);
    free(c.vc[0]);
    free(c.vc[1]);
    free(c.units);
    cp_graph_free(&g);
    return rc;
}

/* ---- a small text/tabwriter (AlignRight, padding 1, pad char ' ') -------- */

typedef struct tw_line {
    char **cells; /* all cells; the last one is not aligned */
    size_t n;
} tw_line;

typedef struct tw {
    tw_line *lines;
    size_t n, cap;
    size_t widths[16];
    size_t nw;
    FILE *out;
} tw;

static void tw_add(tw *t, const char *text)
{
    if (cp_grow(&t->lines, &t->cap, t->n + 1, sizeof *t->lines))
        return;
    tw_line *l = &t->lines[t->n++];
    l->n = 1;
    for (const char *c = text; *c; c++)
        l->n += *c == '\t';
    l->cells = calloc(l->n, sizeof *l->cells);
    const char *st = text;
    for (size_t i = 0; i < l->n; i++) {
        const char *e = strchr(st, '\t');
        size_t len = e ? (size_t)(e - st) : strlen(st);
        l->cells[i] = strndup(st, len);
        st += len + 1;
    }
}

static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static void tw_write_lines(tw *t, size_t l0, size_t l1)
{
    for (size_t i = l0; i < l1; i++) {
        tw_line *l = &t->lines[i];
        for (size_t j = 0; j < l->n; j++) {
            if (j < t->nw && j + 1 < l->n) {
                size_t w = utf8_len(l->cells[j]);
                for (size_t k = w; k < t->widths[j]; k++)
                    fputc(' ', t->out);
            }
            fputs(l->cells[j], t->out);
        }
        fputc('\n', t->out);
    }
}

/* Go's Writer.format: a column block is a run of lines that have a cell in
 * this column; its width is the widest cell plus the padding. */
static void tw_format(tw *t, size_t line0, size_t line1)
{
    size_t column = t->nw;
    size_t th = line0;
    while (th < line1) {
        if (column + 1 >= t->lines[th].n) {
            th++;
            continue;
        }
        tw_write_lines(t, line0, th);
        line0 = th;
        size_t width = 0;
        for (; th < line1; th++) {
            tw_line *l = &t->lines[th];
            if (column + 1 >= l->n)
                break;
            size_t w = utf8_len(l->cells[column]) + 1;
            if (w > width)
                width = w;
        }
        if (t->nw < 16) {
            t->widths[t->nw++] = width;
            tw_format(t, line0, th);
            t->nw--;
        }
        line0 = th;
    }
    tw_write_lines(t, line0, line1);
}

static void tw_flush(tw *t)
{
    t->nw = 0;
    tw_format(t, 0, t->n);
    for (size_t i = 0; i < t->n; i++) {
        for (size_t j = 0; j < t->lines[i].n; j++)
            free(t->lines[i].cells[j]);
        free(t->lines[i].cells);
    }
    t->n = 0;
}

/* ---- tags ---------------------------------------------------------------- */

typedef struct tag_val {
    const char *key;
    char *name;
    int64_t flat;
} tag_val;

static int cmp_tag(const void *a, const void *b)
{
    const tag_val *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    int64_t ax = x->flat < 0 ? -x->flat : x->flat, ay = y->flat < 0 ? -y->flat : y->flat;
    if (x->flat != y->flat && ax != ay)
        return ax > ay ? -1 : 1;
    return strcmp(x->name, y->name);
}

int cp_report_tags(cp_report *r, FILE *out)
{
    cp_profile *p = r->p;
    tag_val *v = NULL;
    size_t nv = 0, cap = 0;
    cp_map idx = {0};
    const char **units = cp_prep_num_label_units(p); /* NULL: asked per label */
    for (size_t i = 0; i < p->nsamples; i++) {
        const cp_sample *s = &p->samples[i];
        int64_t w = s->values[r->sample_index];
        for (uint32_t k = 0; k < s->nlabels; k++) {
            const cp_label *l = &s->labels[k];
            char buf[256];
            const char *name;
            if (l->str)
                name = S(p, l->str);
            else if (label_is_num(l)) {
                cp_units_label(buf, sizeof buf, l->num,
                               units ? units[l->key] : cp_prep_num_label_unit(p, l->key),
                               r->output_unit);
                name = buf;
            } else
                continue;
            const char *key = S(p, l->key);
            uint64_t h = cp_hash_bytes(name, strlen(name), cp_hash_bytes(key, strlen(key), 5));
            uint64_t at;
            /* chained by probing forward on (rare) hash collisions */
            while (cp_map_get(&idx, h, &at) && (strcmp(v[at].key, key) || strcmp(v[at].name, name)))
                h++;
            if (!cp_map_get(&idx, h, &at)) {
                if (cp_grow(&v, &cap, nv + 1, sizeof *v))
                    goto out;
                v[nv].key = key;
                v[nv].name = strdup(name);
                v[nv].flat = 0;
                at = nv++;
                cp_map_put(&idx, h, at);
            }
            v[at].flat = cp_wadd(v[at].flat, w);
        }
    }
    if (nv)
        qsort(v, nv, sizeof *v, cmp_tag);
    tw t = {.out = out};
    for (size_t i = 0; i < nv;) {
        size_t j = i;
        int64_t total = 0;
        while (j < nv && !strcmp(v[j].key, v[i].key))
            total = cp_wadd(total, v[j++].flat);
        const char *u;
        double f = cp_units_scale(total, r->sample_unit, r->output_unit, &u);
        char line[1024];
        snprintf(line, sizeof line, "%s:\t Total %.1f%s", v[i].key, f, u);
        tw_add(&t, line);
        for (size_t k = i; k < j; k++) {
            f = cp_units_scale(v[k].flat, r->sample_unit, r->output_unit, &u);
            if (total > 0) {
                char pc[32];
                cp_units_percentage(pc, sizeof pc, v[k].flat, total);
                snprintf(line, sizeof line, " \t%.1f%s (%s):\t %s", f, u, pc, v[k].name);
            } else
                snprintf(line, sizeof line, " \t%.1f%s:\t %s", f, u, v[k].name);
            tw_add(&t, line);
        }
        tw_add(&t, "");
        i = j;
    }
    tw_flush(&t);
    free(t.lines);
out:
    for (size_t i = 0; i < nv; i++)
        free(v[i].name);
    free(v);
    cp_map_free(&idx);
    free(units);
    return 0;
}

/* ---- raw ------------------------------------------------------------------ */


/* Sort the "key:[values]" items, append them to b space-separated, free them. */
static void join_sorted(char **items, size_t n, cp_buf *b)
{
    qsort(items, n, sizeof *items, cmp_str);
    for (size_t i = 0; i < n; i++) {
        cp_buf_printf(b, "%s%s", i ? " " : "", items[i]);
        free(items[i]);
    }
}

static void raw_num_labels(cp_profile *p, const cp_sample *s, cp_buf *b)
{
    char **items = malloc(((size_t)s->nlabels + 1) * sizeof *items);
    if (!items)
        return;
    size_t n = 0;
    for (uint32_t k = 0; k < s->nlabels; k++) {
        const cp_label *l = &s->labels[k];
        if (!label_is_num(l))
            continue;
        bool seen = false, any_unit;
        for (uint32_t j = 0; j < k; j++)
            if (label_is_num(&s->labels[j]) && s->labels[j].key == l->key)
                seen = true;
        if (seen)
            continue;
        /* go pads a key's units to its values once any has one */
        any_unit = false;
        for (uint32_t j = k; j < s->nlabels; j++)
            if (label_is_num(&s->labels[j]) && s->labels[j].key == l->key && s->labels[j].num_unit)
                any_unit = true;
        cp_buf x = {0};
        cp_buf_printf(&x, "%s:[", S(p, l->key));
        const char *sep = "";
        for (uint32_t j = k; j < s->nlabels; j++) {
            const cp_label *m = &s->labels[j];
            if (!label_is_num(m) || m->key != l->key)
                continue;
            if (any_unit)
                cp_buf_printf(&x, "%s%" PRId64 " %s", sep, m->num, S(p, m->num_unit));
            else
                cp_buf_printf(&x, "%s%" PRId64, sep, m->num);
            sep = " ";
        }
        cp_buf_printf(&x, "]");
        cp_buf_putc(&x, 0);
        items[n++] = (char *)x.data;
    }
    join_sorted(items, n, b);
    free(items);
}

static void raw_str_labels(cp_profile *p, const cp_sample *s, cp_buf *b)
{
    char **items = malloc(((size_t)s->nlabels + 1) * sizeof *items);
    if (!items)
        return;
    size_t n = 0;
    for (uint32_t k = 0; k < s->nlabels; k++) {
        const cp_label *l = &s->labels[k];
        if (!l->str)
            continue;
        if (key_seen_before(p, s, k, false))
            continue;
        cp_buf x = {0};
        cp_buf_printf(&x, "%s:[", S(p, l->key));
        const char *sep = "";
        for (uint32_t j = k; j < s->nlabels; j++)
            if (s->labels[j].str && !strcmp(S(p, s->labels[j].key), S(p, l->key))) {
                cp_buf_printf(&x, "%s%s", sep, S(p, s->labels[j].str));
                sep = " ";
            }
        cp_buf_printf(&x, "]");
        cp_buf_putc(&x, 0);
        items[n++] = (char *)x.data;
    }
    join_sorted(items, n, b);
    free(items);
}

int cp_report_raw(cp_report *r, FILE *out)
{
    cp_profile *p = r->p;
    for (size_t i = 0; i < p->ncomments; i++)
        fprintf(out, "Comment: %s\n", S(p, p->comments[i]));
    /* the model does not record whether period_type was present; go's
     * runtime and cprof always write it, so always print it */
    fprintf(out, "PeriodType: %s %s\n", S(p, p->period_type.type), S(p, p->period_type.unit));
    fprintf(out, "Period: %" PRId64 "\n", p->period);
    if (p->time_nanos) {
        char t[128];
        cp_units_go_time(t, sizeof t, p->time_nanos);
        fprintf(out, "Time: %s\n", t);
    }
    if (p->duration_nanos) {
        char d[64];
        cp_units_go_duration(d, sizeof d, p->duration_nanos);
        /* %.4v: at most four characters (runes) */
        size_t runes = 0, k = 0;
        for (; d[k] && runes < 4; k++)
            if (((unsigned char)d[k + 1] & 0xc0) != 0x80)
                runes++;
        fprintf(out, "Duration: %.*s\n", (int)k, d);
    }
    fprintf(out, "Samples:\n");
    for (size_t i = 0; i < p->nsample_types; i++) {
        const char *t = S(p, p->sample_types[i].type);
        bool dflt = p->default_sample_type && !strcmp(t, S(p, p->default_sample_type));
        fprintf(out, "%s%s/%s%s", i ? " " : "", t, S(p, p->sample_types[i].unit), dflt ? "[dflt]" : "");
    }
    fprintf(out, "\n");
    for (size_t i = 0; i < p->nsamples; i++) {
        const cp_sample *s = &p->samples[i];
        for (size_t k = 0; k < p->nsample_types; k++)
            fprintf(out, " %10" PRId64, s->values[k]);
        fprintf(out, ": ");
        for (uint32_t k = 0; k < s->nlocs; k++)
            fprintf(out, "%" PRIu64 " ", p->locations[s->locs[k]].id);
        fprintf(out, "\n");
        cp_buf b = {0};
        raw_str_labels(p, s, &b);
        if (b.len)
            fprintf(out, "                %.*s\n", (int)b.len, (char *)b.data);
        b.len = 0;
        raw_num_labels(p, s, &b);
        if (b.len)
            fprintf(out, "                %.*s\n", (int)b.len, (char *)b.data);
        cp_buf_free(&b);
    }
    fprintf(out, "Locations\n");
    for (size_t i = 0; i < p->nlocations; i++) {
        const cp_location *l = &p->locations[i];
        char head[128];
        int hl = snprintf(head, sizeof head, "%6" PRIu64 ": %#" PRIx64 " ", l->id, l->address);
        if (l->address == 0)
            hl = snprintf(head, sizeof head, "%6" PRIu64 ": 0x0 ", l->id);
        if (l->mapping != CP_NO_MAPPING)
            hl += snprintf(head + hl, sizeof head - (size_t)hl, "M=%" PRIu64 " ",
                           p->mappings[l->mapping].id);
        if (l->is_folded)
            snprintf(head + hl, sizeof head - (size_t)hl, "[F] ");
        if (l->nlines == 0)
            fprintf(out, "%s\n", head);
        for (uint32_t k = 0; k < l->nlines; k++) {
            const cp_line *ln = &l->lines[k];
            fputs(k ? "             " : head, out);
            if (ln->func == CP_NO_FUNCTION) {
                fputs("??\n", out);
                continue;
            }
            const cp_function *f = &p->functions[ln->func];
            fprintf(out, "%s %s:%" PRId64 " s=%" PRId64, S(p, f->name), S(p, f->filename), ln->line,
                    f->start_line);
            if (strcmp(S(p, f->name), S(p, f->system_name)))
                fprintf(out, "(%s)", S(p, f->system_name));
            fputc('\n', out);
        }
    }
    fprintf(out, "Mappings\n");
    for (size_t i = 0; i < p->nmappings; i++) {
        const cp_mapping *m = &p->mappings[i];
        char a[32], b2[32], c[32];
        snprintf(a, sizeof a, m->start ? "%#" PRIx64 : "0x0", m->start);
        snprintf(b2, sizeof b2, m->limit ? "%#" PRIx64 : "0x0", m->limit);
        snprintf(c, sizeof c, m->offset ? "%#" PRIx64 : "0x0", m->offset);
        fprintf(out, "%" PRIu64 ": %s/%s/%s %s %s %s%s%s%s\n", m->id, a, b2, c, S(p, m->filename),
                S(p, m->build_id), m->has_functions ? "[FN]" : "", m->has_filenames ? "[FL]" : "",
                m->has_line_numbers ? "[LN]" : "", m->has_inline_frames ? "[IN]" : "");
    }
    return 0;
}

/* ---- folded stacks -------------------------------------------------------- */

int cp_report_folded(cp_report *r, FILE *out)
{
    cp_profile *p = r->p;
    cp_graph g;
    cp_graph_opts go = {.sample_index = r->sample_index, .div_index = -1};
    int rc = cp_graph_new(&g, p, &go);
    if (rc)
        return rc;
    for (size_t i = 0; i < p->nsamples; i++) {
        const cp_sample *s = &p->samples[i];
        int64_t w = s->values[r->sample_index];
        if (!w || !s->nlocs)
            continue;
        const char *sep = "";
        for (uint32_t k = s->nlocs; k-- > 0;) {
            uint32_t off = g.locoff[s->locs[k]], cnt = g.locoff[s->locs[k] + 1] - off;
            for (uint32_t li = cnt; li-- > 0;) {
                const char *n = cp_graph_pname(&g, g.locnodes[off + li]);
                fputs(sep, out);
                if (!strpbrk(n, ";\n\r"))
                    fputs(n, out);
                else /* ';' separates frames, a newline stacks: escaped */
                    for (; *n; n++)
                        if (*n == ';')
                            fputc(':', out);
                        else if (*n == '\n' || *n == '\r')
                            fputs(*n == '\n' ? "\\n" : "\\r", out);
                        else
                            fputc(*n, out);
                sep = ";";
            }
        }
        fprintf(out, " %" PRId64 "\n", w);
    }
    cp_graph_free(&g);
    return 0;
}
