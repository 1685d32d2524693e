/* route_text.c — ?debug=1: a profile as text, in the layouts of Go's
 * runtime/pprof debug=1 output where one exists.
 *
 *   heap, allocs:  "heap profile: I: B [A: AB] @ heap/2*rate", then per
 *                  sample "i: b [a: ab] @ 0xpc 0xpc ..."
 *   threads, threadcreate, goroutine:  "NAME profile: total N", then
 *                  "n @ 0xpc ..."
 *   mutex, block:  "--- NAME:", "cycles/second=1000000000",
 *                  "sampling period=P", then "delay count @ 0xpc ..."
 *   others:        "--- NAME: type/unit ...", then "v1 v2 ... @ 0xpc ..."
 * each sample followed by one "#\t0xpc\tfunction" line per frame and a
 * blank line.  Values are the profile's (unbiased for the heap).
 */
#include <inttypes.h>
#include <string.h>

#include "http/route.h"

static int64_t col(const cp_profile *p, const char *type)
{
    for (size_t c = 0; c < p->nsample_types; c++)
        if (strcmp(cp_str(p, p->sample_types[c].type), type) == 0)
            return (int64_t)c;
    return -1;
}

static int64_t val(const cp_sample *s, int64_t c)
{
    return c >= 0 ? s->values[c] : 0;
}

static void frames(const cp_profile *p, const cp_sample *s, cp_buf *out)
{
    cp_buf_printf(out, " @");
    for (uint32_t k = 0; k < s->nlocs; k++)
        cp_buf_printf(out, " %#" PRIx64, p->locations[s->locs[k]].address);
    cp_buf_printf(out, "\n");
    for (uint32_t k = 0; k < s->nlocs; k++) {
        const cp_location *l = &p->locations[s->locs[k]];
        const char *fn = "?";
        if (l->nlines && l->lines[0].func != CP_NO_FUNCTION)
            fn = cp_str(p, p->functions[l->lines[0].func].name);
        cp_buf_printf(out, "#\t%#" PRIx64 "\t%s\n", l->address, fn);
    }
    cp_buf_printf(out, "\n");
}

int cp_route_text(const char *name, const cp_profile *p, cp_buf *out)
{
    if (strcmp(name, "heap") == 0 || strcmp(name, "allocs") == 0) {
        int64_t io = col(p, "inuse_objects"), is = col(p, "inuse_space"),
                ao = col(p, "alloc_objects"), as = col(p, "alloc_space");
        int64_t t[4] = {0};
        for (size_t i = 0; i < p->nsamples; i++) {
            const cp_sample *s = &p->samples[i];
            t[0] += val(s, io), t[1] += val(s, is), t[2] += val(s, ao), t[3] += val(s, as);
        }
        cp_buf_printf(out, "heap profile: %" PRId64 ": %" PRId64 " [%" PRId64 ": %" PRId64
                           "] @ heap/%" PRId64 "\n",
                      t[0], t[1], t[2], t[3], 2 * p->period);
        for (size_t i = 0; i < p->nsamples; i++) {
            const cp_sample *s = &p->samples[i];
            cp_buf_printf(out, "%" PRId64 ": %" PRId64 " [%" PRId64 ": %" PRId64 "]",
                          val(s, io), val(s, is), val(s, ao), val(s, as));
            frames(p, s, out);
        }
    } else if (p->nsample_types == 1) {
        int64_t total = 0;
        for (size_t i = 0; i < p->nsamples; i++)
            total += p->samples[i].values[0];
        cp_buf_printf(out, "%s profile: total %" PRId64 "\n", name, total);
        for (size_t i = 0; i < p->nsamples; i++) {
            cp_buf_printf(out, "%" PRId64, p->samples[i].values[0]);
            frames(p, &p->samples[i], out);
        }
    } else if (col(p, "contentions") >= 0 && col(p, "delay") >= 0) {
        int64_t cc = col(p, "contentions"), cd = col(p, "delay");
        cp_buf_printf(out, "--- %s:\ncycles/second=1000000000\nsampling period=%" PRId64 "\n",
                      name, p->period);
        for (size_t i = 0; i < p->nsamples; i++) {
            cp_buf_printf(out, "%" PRId64 " %" PRId64, val(&p->samples[i], cd),
                          val(&p->samples[i], cc));
            frames(p, &p->samples[i], out);
        }
    } else {
        cp_buf_printf(out, "--- %s:", name);
        for (size_t c = 0; c < p->nsample_types; c++)
            cp_buf_printf(out, " %s/%s", cp_str(p, p->sample_types[c].type),
                          cp_str(p, p->sample_types[c].unit));
        cp_buf_printf(out, "\n");
        for (size_t i = 0; i < p->nsamples; i++) {
            for (size_t c = 0; c < p->nsample_types; c++)
                cp_buf_printf(out, "%s%" PRId64, c ? " " : "", p->samples[i].values[c]);
            frames(p, &p->samples[i], out);
        }
    }
    return 0;
}
