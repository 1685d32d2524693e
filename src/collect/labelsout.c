/* labelsout.c — label set → cp_label_in array (see labelsout.h).
 *
 * cp_labels_each walks innermost first; the array is reversed afterwards
 * so keys appear in push order, which is what a reader of `cprof raw`
 * expects.  No allocation: the caller's array.
 */
#include "collect/labelsout.h"

typedef struct fill_ctx {
    cp_label_in *out;
    size_t n, max;
} fill_ctx;

static int add_one(void *ctx, const char *key, const char *value)
{
    fill_ctx *c = ctx;
    if (c->n >= c->max)
        return 1;
    c->out[c->n++] = (cp_label_in){.key = key, .str = value};
    return 0;
}

size_t cp_labelsout_fill(const cp_labelset *s, cp_label_in *out, size_t max)
{
    fill_ctx c = {out, 0, max};
    if (!s || !max)
        return 0;
    cp_labels_each(s, add_one, &c);
    for (size_t i = 0, j = c.n; i + 1 < j; i++, j--) {
        cp_label_in t = out[i];
        out[i] = out[j - 1];
        out[j - 1] = t;
    }
    return c.n;
}
