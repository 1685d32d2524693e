/* picture.c — flame graph HTML, and svg/png call graphs through graphviz.
 *
 * What: the flame page is a fixed HTML skeleton around three parts: the
 * CSS and JavaScript embedded from web/ (inlined, so the file needs
 * nothing else, not even a network), and the tree from cp_flame_json in a
 * <script type="application/json"> element, whose text the browser never
 * runs and whose '<' are all written \u003c, so no name can close it.
 * svg and png are the dot report piped through `dot -Tsvg|-Tpng`.
 * Alternatives rejected: a JSON file beside the HTML (not one file; and
 * browsers refuse file:// fetches), rendering the SVG flame graph in C
 * (flamegraph.pl's way: one DOM element per frame is too slow at 150k
 * stacks, and no zoom or search without script anyway).
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/flame.h"
#include "cli/child.h"
#include "cli/picture.h"
#include "cli/web_assets.h"
#include "cprof.h"

/* Frames narrower than this share of the total are left out of the flame
 * graph (and counted in the page): 1/20000 is a pixel at 20000 px, so a
 * frame zoomed to 5% of the total still shows its pixel-wide children. */
#define FLAME_MIN_FRACTION 0.00005

bool cp_cli_is_picture(const char *cmd)
{
    return !strcmp(cmd, "flame") || !strcmp(cmd, "svg") || !strcmp(cmd, "png") ||
           !strcmp(cmd, "sample_types");
}

static const char flame_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<link rel=\"icon\" href=\"data:,\">\n<title>cprof flame graph</title>\n<style>\n";
static const char flame_body[] =
    "</style>\n</head>\n<body>\n"
    "<header id=\"bar\">\n"
    "<span id=\"title\" class=\"title\"></span>\n"
    "<button id=\"reset\" type=\"button\" title=\"show everything (Esc)\">Reset zoom</button>\n"
    "<button id=\"invert\" type=\"button\" title=\"flame graph (root at the bottom) or icicle (root at the top)\">Root at bottom</button>\n"
    "<input id=\"search\" type=\"search\" placeholder=\"Search (regexp)\" "
    "aria-label=\"search functions\">\n"
    "<span id=\"matched\"></span>\n"
    "</header>\n"
    "<div id=\"info\"></div>\n"
    "<div id=\"wrap\"><canvas id=\"flame\"></canvas></div>\n"
    "<div id=\"tip\" hidden></div>\n"
    "<script type=\"application/json\" id=\"flame-data\">";

int cp_cli_flame_html(cp_report *r, FILE *out, const cp_picture_opts *o)
{
    const cp_web_asset *js = cp_web_asset_find("flame.js"), *css = cp_web_asset_find("flame.css");
    if (!js || !css)
        return CPROF_ENOTFOUND;
    fputs(flame_head, out);
    fwrite(css->data, 1, css->len, out);
    fputs(flame_body, out);
    cp_flame_opts fo = {.min_fraction = FLAME_MIN_FRACTION, .diff = o->diff, .title = o->title};
    cp_flame_stats st;
    int rc = cp_flame_json(r, &fo, out, &st);
    if (rc)
        return rc;
    fputs("</script>\n<script>", out);
    fwrite(js->data, 1, js->len, out);
    fputs("</script>\n</body>\n</html>\n", out);
    return ferror(out) ? CPROF_EIO : 0;
}

static int graphviz(const char *cmd, cp_report *r, FILE *out)
{
    char *text = NULL;
    size_t len = 0;
    FILE *ms = open_memstream(&text, &len);
    if (!ms)
        return CPROF_ENOMEM;
    r->dot_quote_labels = true; /* label values with quotes must not break dot */
    int rc = cp_report_dot(r, ms);
    if (fclose(ms) && !rc)
        rc = CPROF_ENOMEM;
    if (rc) {
        free(text);
        return rc;
    }
    char fmt[8];
    snprintf(fmt, sizeof fmt, "-T%s", cmd);
    char *argv[] = {"dot", fmt, NULL};
    cp_buf o = {0}, e = {0};
    int status = 0;
    rc = cp_child_run(argv, text, len, &o, &e, (size_t)1 << 30, &status);
    free(text);
    if (rc == CPROF_ENOTFOUND || (!rc && status == 127)) {
        snprintf(r->err, sizeof r->err,
                 "graphviz's dot program was not found in PATH: install graphviz "
                 "(apt-get install graphviz), or write the graph with cprof dot");
        rc = CPROF_ENOTFOUND;
    } else if (!rc && status) {
        int n = (int)(e.len > 300 ? 300 : e.len);
        snprintf(r->err, sizeof r->err, "dot -T%s failed (exit status %d): %.*s", cmd, status, n,
                 e.data ? (const char *)e.data : "");
        rc = CPROF_EIO;
    } else if (!rc && fwrite(o.data, 1, o.len, out) != o.len) {
        rc = CPROF_EIO;
    }
    cp_buf_free(&o);
    cp_buf_free(&e);
    return rc;
}

int cp_cli_picture(const char *cmd, cp_report *r, FILE *out, const cp_picture_opts *o)
{
    if (!strcmp(cmd, "flame"))
        return cp_cli_flame_html(r, out, o);
    if (!strcmp(cmd, "sample_types")) { /* for the web UI's selector: '*' marks the chosen */
        for (size_t i = 0; i < r->p->nsample_types; i++)
            fprintf(out, "%c %s/%s\n", (int)i == r->sample_index ? '*' : ' ',
                    cp_str(r->p, r->p->sample_types[i].type),
                    cp_str(r->p, r->p->sample_types[i].unit));
        return 0;
    }
    return graphviz(cmd, r, out);
}
