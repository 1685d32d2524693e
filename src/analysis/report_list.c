/* report_list.c — list: source lines of matching functions with values.
 *
 * What: go tool pprof's -list text: "Total:", then per function and source
 * file a ROUTINE header with flat/cum sums and every source line from five
 * lines before the first sampled line (or the function's start line) to
 * five after the last, each with its flat and cum ("." for zero).  Source
 * files are found as go tool pprof finds them: absolute paths directly,
 * relative ones under the current directory and its parents, after cutting
 * the path at "/<basename of cwd>/".  Data structure: the line-granularity
 * graph; each file is read once per report and kept in a small cache.
 * Alternatives rejected: mmap and line indexing of every file at once
 * (reports touch a handful of files).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/graph.h"
#include "analysis/report.h"
#include "analysis/units.h"
#include "base/buf.h"

static void value_or_dot(cp_report *r, char *b, size_t n, int64_t v)
{
    if (v == 0)
        snprintf(b, n, ".");
    else
        cp_report_value(r, b, n, v);
}

/* Go's filepath.Join(dir, rel) for a clean rel. */
static void join(char *out, size_t n, const char *dir, const char *rel)
{
    if (!*dir || !strcmp(dir, "."))
        snprintf(out, n, "%s", rel);
    else
        snprintf(out, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", rel);
}

/* Read a file's lines as report.openSourceFile finds it: absolute paths
 * directly, relative ones under each search directory and its parents.
 * lines[0] unused.  Returns NULL with err filled. */
static char **read_lines(const char *file, const char *search, const char *trim, size_t *nlines,
                         char *err, size_t errlen)
{
    const char *path = cp_graph_trim_path(file, trim, search);
    FILE *f = NULL;
    if (path[0] == '/') {
        f = fopen(path, "r");
        if (!f) {
            char m[256];
            snprintf(m, sizeof m, "%s", strerror(errno));
            if (m[0] >= 'A' && m[0] <= 'Z')
                m[0] = (char)(m[0] + 32); /* go's syscall messages are lower case */
            snprintf(err, errlen, "open %s: %s", path, m);
            return NULL;
        }
    } else {
        for (const char *d = search; !f && *d;) {
            const char *e = strchr(d, ':');
            char dir[4096], name[8192];
            snprintf(dir, sizeof dir, "%.*s", (int)(e ? (size_t)(e - d) : strlen(d)), d);
            for (;;) {
                join(name, sizeof name, dir, path);
                if ((f = fopen(name, "r")))
                    break;
                /* filepath.Dir; stop at the root or at "." */
                char *slash = strrchr(dir, '/');
                if (!slash) {
                    if (!strcmp(dir, "."))
                        break;
                    snprintf(dir, sizeof dir, ".");
                } else if (slash == dir) {
                    if (!dir[1])
                        break;
                    dir[1] = 0;
                } else
                    *slash = 0;
            }
            if (!e)
                break;
            d = e + 1;
        }
        if (!f) {
            snprintf(err, errlen, "could not find file %s on path %s", path, search);
            return NULL;
        }
    }
    char **lines = NULL;
    size_t n = 1, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    if (cp_grow(&lines, &cap, 1, sizeof *lines) == 0)
        lines[0] = NULL;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = 0;
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = 0;
        if (cp_grow(&lines, &cap, n + 1, sizeof *lines))
            break;
        lines[n++] = strdup(line);
    }
    free(line);
    fclose(f);
    *nlines = n;
    return lines;
}

typedef struct src_file {
    char *path;
    char **lines; /* NULL when the open failed */
    size_t nlines;
    char err[8400];
} src_file;

typedef struct src_cache {
    src_file *v;
    size_t n, cap;
} src_cache;

static src_file *src_find(src_cache *c, const char *path)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->v[i].path, path))
            return &c->v[i];
    return NULL;
}

static src_file *src_get(src_cache *c, const char *path, const char *search, const char *trim)
{
    src_file *f = src_find(c, path);
    if (f)
        return f;
    if (cp_grow(&c->v, &c->cap, c->n + 1, sizeof *c->v))
        return NULL;
    f = &c->v[c->n++];
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    f->lines = read_lines(path, search, trim, &f->nlines, f->err, sizeof f->err);
    return f;
}

static void src_free(src_cache *c)
{
    for (size_t i = 0; i < c->n; i++) {
        for (size_t k = 1; k < c->v[i].nlines; k++)
            free(c->v[i].lines[k]);
        free(c->v[i].lines);
        free(c->v[i].path);
    }
    free(c->v);
}

static int cmp_name(const void *a, const void *b, void *ctx)
{
    cp_graph *g = ctx;
    const cp_gnode *x = &g->nodes[*(const uint32_t *)a], *y = &g->nodes[*(const uint32_t *)b];
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    c = strcmp(x->file, y->file);
    if (c)
        return c;
    if (x->start_line != y->start_line)
        return x->start_line < y->start_line ? -1 : 1;
    return x->lineno < y->lineno ? -1 : x->lineno > y->lineno;
}

int cp_report_list(cp_report *r, FILE *out)
{
    cp_graph g;
    src_cache cache = {0};
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd))
        snprintf(cwd, sizeof cwd, ".");
    /* names keep their full path; the working directory only guides the
     * search for the file (read_lines) */
    /* names are trimmed with -source_path as given; files are searched for
     * on -source_path or else the working directory */
    const char *search = r->source_path && *r->source_path ? r->source_path : cwd;
    cp_graph_opts go = cp_report_graph_opts(r);
    go.obj_names = true;
    int rc = cp_graph_new(&g, r->p, &go);
    if (rc)
        return rc;
    if ((rc = cp_graph_build(&g, true, false)))
        goto out;
    /* matching nodes, grouped by function name then file */
    size_t nm = 0;
    uint32_t *m = malloc((g.norder + 1) * sizeof *m);
    if (!m) {
        rc = CPROF_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < g.norder; i++)
        if (regexec(r->symbol, g.nodes[g.order[i]].name, 0, NULL, 0) == 0)
            m[nm++] = g.order[i];
    if (nm == 0) {
        snprintf(r->err, sizeof r->err, "no matches found for regexp: %s", r->symbol_src);
        rc = CPROF_EINVAL;
        free(m);
        goto out;
    }
    qsort_r(m, nm, sizeof *m, cmp_name, &g);
    char tot[64];
    cp_report_value(r, tot, sizeof tot, r->total);
    fprintf(out, "Total: %s\n", tot);
    for (size_t i = 0; i < nm;) {
        const char *name = g.nodes[m[i]].name;
        size_t j = i;
        bool any_file = false;
        while (j < nm && !strcmp(g.nodes[m[j]].name, name))
            any_file |= g.nodes[m[j++]].file[0] != 0;
        if (!any_file)
            fprintf(out, "No source information for %s\n", name);
        for (size_t a = i; a < j;) {
            const char *file = g.nodes[m[a]].file;
            size_t b = a;
            int64_t flat = 0, cum = 0, lo = 0, hi = 0;
            bool have = false;
            while (b < j && !strcmp(g.nodes[m[b]].file, file)) {
                const cp_gnode *n = &g.nodes[m[b++]];
                flat = cp_wadd(flat, n->flat);
                cum = cp_wadd(cum, n->cum);
                int64_t s = n->start_line ? n->start_line : n->lineno - 5;
                if (!have || s < lo)
                    lo = s;
                if (!have || n->lineno + 5 > hi)
                    hi = n->lineno + 5;
                have = true;
            }
            if (!file[0]) {
                a = b;
                continue;
            }
            if (lo < 1)
                lo = 1;
            char fv[64], cv[64], pc[32];
            cp_report_value(r, fv, sizeof fv, flat);
            cp_report_value(r, cv, sizeof cv, cum);
            cp_units_percentage(pc, sizeof pc, cum, r->total);
            fprintf(out, "ROUTINE ======================== %s in %s\n", name, file);
            fprintf(out, "%10s %10s (flat, cum) %s of Total\n", fv, cv, pc);
            /* go opens a file only when it has a line to show, and reports
             * a failed open from then on */
            src_file *sf = lo <= hi ? src_get(&cache, file, search, r->trim_path)
                                    : src_find(&cache, file);
            if (sf && !sf->lines) {
                fprintf(out, " Error: %s\n", sf->err);
                a = b;
                continue;
            }
            size_t nl = sf ? sf->nlines : 0;
            char **lines = sf ? sf->lines : NULL;
            for (int64_t ln = lo; ln <= hi && ln < (int64_t)nl; ln++) {
                int64_t lf = 0, lc = 0;
                for (size_t k = a; k < b; k++)
                    if (g.nodes[m[k]].lineno == ln) {
                        lf += g.nodes[m[k]].flat;
                        lc += g.nodes[m[k]].cum;
                    }
                value_or_dot(r, fv, sizeof fv, lf);
                value_or_dot(r, cv, sizeof cv, lc);
                fprintf(out, "%10s %10s %6lld:%s\n", fv, cv, (long long)ln, lines[ln]);
            }
            a = b;
        }
        i = j;
    }
    free(m);
out:
    src_free(&cache);
    cp_graph_free(&g);
    return rc;
}
