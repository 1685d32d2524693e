/* codec_tool.c — helper for the go tool pprof interoperability checks.
 *
 *   codec_tool reencode IN OUT   decode with cprof, write back with cprof
 *   codec_tool small OUT         write the small cprof-built test profile
 *   codec_tool same A B          exit 0 when A and B hold the same profile
 *   codec_tool bomb zeros|profile OUT   write a 4 GiB gzip bomb: zeros, or
 *                                a valid profile then a 3 GiB string
 *
 * "Same" is semantic, not byte or id equality: go tool pprof renumbers ids
 * and drops unreferenced records when it rewrites a profile (-proto), so
 * samples are compared as a multiset of text keys (values, sorted labels,
 * and each frame's address, mapping file and lines with function names,
 * system names, files and line numbers, not columns), alongside the profile-level
 * fields and the mappings that samples use.  Used by pprof_interop.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_util.h"
#include "profile/profile.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void frame_key(cp_buf *k, const cp_profile *p, const cp_location *l)
{
    const cp_mapping *m = l->mapping == CP_NO_MAPPING ? NULL : &p->mappings[l->mapping];
    cp_buf_printf(k, " [%#llx %s %s %#llx-%#llx+%#llx%s", (unsigned long long)l->address,
                  m ? cp_str(p, m->filename) : "-", m ? cp_str(p, m->build_id) : "-",
                  m ? (unsigned long long)m->start : 0ull, m ? (unsigned long long)m->limit : 0ull,
                  m ? (unsigned long long)m->offset : 0ull, l->is_folded ? " folded" : "");
    for (uint32_t i = 0; i < l->nlines; i++) {
        const cp_line *ln = &l->lines[i];
        const cp_function *f = ln->func == CP_NO_FUNCTION ? NULL : &p->functions[ln->func];
        /* Line.column is left out: go tool pprof of Go 1.19 predates that
         * field and drops it when it rewrites a profile. */
        cp_buf_printf(k, " %s|%s|%s|%lld:%lld", f ? cp_str(p, f->name) : "-",
                      f ? cp_str(p, f->system_name) : "-", f ? cp_str(p, f->filename) : "-",
                      f ? (long long)f->start_line : 0ll, (long long)ln->line);
    }
    cp_buf_putc(k, ']');
}

/* One text key per sample; the caller frees each and the array. */
static char **sample_keys(const cp_profile *p)
{
    char **keys = calloc(p->nsamples ? p->nsamples : 1, sizeof *keys);
    for (size_t i = 0; keys && i < p->nsamples; i++) {
        const cp_sample *s = &p->samples[i];
        cp_buf k = {0};
        for (size_t v = 0; v < p->nsample_types; v++)
            cp_buf_printf(&k, "%lld ", (long long)s->values[v]);
        char **labs = calloc(s->nlabels + 1, sizeof *labs);
        for (uint32_t j = 0; j < s->nlabels; j++) {
            const cp_label *l = &s->labels[j];
            cp_buf lk = {0};
            if (l->str)
                cp_buf_printf(&lk, "%s=%s", cp_str(p, l->key), cp_str(p, l->str));
            else
                cp_buf_printf(&lk, "%s=%lld%s", cp_str(p, l->key), (long long)l->num,
                              cp_str(p, l->num_unit));
            cp_buf_putc(&lk, 0);
            labs[j] = (char *)lk.data;
        }
        qsort(labs, s->nlabels, sizeof *labs, cmp_str);
        for (uint32_t j = 0; j < s->nlabels; j++) {
            cp_buf_printf(&k, "{%s}", labs[j]);
            free(labs[j]);
        }
        free(labs);
        for (uint32_t j = 0; j < s->nlocs; j++)
            frame_key(&k, p, &p->locations[s->locs[j]]);
        cp_buf_putc(&k, 0);
        keys[i] = (char *)k.data;
    }
    if (keys)
        qsort(keys, p->nsamples, sizeof *keys, cmp_str);
    return keys;
}

static const char *header_diff(const cp_profile *a, const cp_profile *b)
{
    if (a->nsample_types != b->nsample_types)
        return "sample type count";
    for (size_t i = 0; i < a->nsample_types; i++)
        if (strcmp(cp_str(a, a->sample_types[i].type), cp_str(b, b->sample_types[i].type)) ||
            strcmp(cp_str(a, a->sample_types[i].unit), cp_str(b, b->sample_types[i].unit)))
            return "sample type";
    if (strcmp(cp_str(a, a->period_type.type), cp_str(b, b->period_type.type)) ||
        strcmp(cp_str(a, a->period_type.unit), cp_str(b, b->period_type.unit)) ||
        a->period != b->period)
        return "period";
    if (a->time_nanos != b->time_nanos || a->duration_nanos != b->duration_nanos)
        return "time or duration";
    if (strcmp(cp_str(a, a->drop_frames), cp_str(b, b->drop_frames)) ||
        strcmp(cp_str(a, a->keep_frames), cp_str(b, b->keep_frames)))
        return "drop/keep frames";
    if (strcmp(cp_str(a, a->default_sample_type), cp_str(b, b->default_sample_type)))
        return "default sample type";
    if (a->ncomments != b->ncomments)
        return "comment count";
    for (size_t i = 0; i < a->ncomments; i++)
        if (strcmp(cp_str(a, a->comments[i]), cp_str(b, b->comments[i])))
            return "comment";
    if (a->nsamples != b->nsamples)
        return "sample count";
    return NULL;
}

static int same(const char *pa, const char *pb)
{
    cp_profile *a = NULL, *b = NULL;
    cp_diag d;
    if (cp_profile_read_file(pa, &a, &d) || cp_profile_read_file(pb, &b, &d)) {
        fprintf(stderr, "codec_tool: %s\n", d.msg);
        cp_profile_free(a);
        return 1;
    }
    int rc = 0;
    const char *diff = header_diff(a, b);
    if (diff) {
        fprintf(stderr, "codec_tool: %s and %s differ in the %s\n", pa, pb, diff);
        rc = 1;
    } else {
        char **ka = sample_keys(a), **kb = sample_keys(b);
        for (size_t i = 0; i < a->nsamples; i++)
            if (strcmp(ka[i], kb[i])) {
                fprintf(stderr, "codec_tool: samples differ:\n  %s\n  %s\n", ka[i], kb[i]);
                rc = 1;
                break;
            }
        for (size_t i = 0; i < a->nsamples; i++) {
            free(ka[i]);
            free(kb[i]);
        }
        free(ka);
        free(kb);
    }
    cp_profile_free(a);
    cp_profile_free(b);
    return rc;
}

static int bomb(const char *kind, const char *out)
{
    cp_buf pre = {0}, gz = {0};
    bool profile = strcmp(kind, "profile") == 0;
    int rc = profile ? cu_bomb_profile_prefix(&pre, 3ull << 30, 0) : 0;
    if (!rc)
        rc = cu_gzip_bomb(&gz, pre.data, pre.len, profile ? 3072 : 4096);
    if (!rc)
        rc = cp_write_file_atomic(out, gz.data, gz.len);
    cp_buf_free(&pre);
    cp_buf_free(&gz);
    if (rc)
        fprintf(stderr, "codec_tool: %s: cannot write the bomb (%d)\n", out, rc);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    cp_profile *p = NULL;
    cp_diag d;
    if (argc == 4 && strcmp(argv[1], "reencode") == 0) {
        if (cp_profile_read_file(argv[2], &p, &d)) {
            fprintf(stderr, "codec_tool: %s\n", d.msg);
            return 1;
        }
    } else if (argc == 3 && strcmp(argv[1], "small") == 0) {
        p = cu_small_profile();
    } else if (argc == 4 && strcmp(argv[1], "same") == 0) {
        return same(argv[2], argv[3]);
    } else if (argc == 4 && strcmp(argv[1], "bomb") == 0) {
        return bomb(argv[2], argv[3]);
    } else {
        fprintf(stderr, "usage: codec_tool reencode IN OUT | small OUT | same A B | bomb zeros|profile OUT\n");
        return 2;
    }
    const char *out = argv[argc - 1];
    int rc = p ? cp_profile_write_file(p, out) : CPROF_ENOMEM;
    cp_profile_free(p);
    if (rc) {
        fprintf(stderr, "codec_tool: %s: cannot write (%d)\n", out, rc);
        return 1;
    }
    return 0;
}
