/* web_page.c — the web UI's pages, rendered on the server.
 *
 * What: one page layout (views, sample type selector, the refine form)
 * around one view: Top (go's top as a table, parsed from the text
 * report), Graph (the svg report inlined), Flame Graph (an iframe on
 * /flame, the same page `cprof flame` writes), Source (list) and Peek.
 * All state is in the query string, so every link and the browser's back
 * button work and a URL can be shared.  Everything from a profile or the
 * request is written through cp_web_escape; error pages never repeat what
 * the request said (a fixed message and the exit status only).
 * Data structure: a cp_buf per page.  Alternatives rejected: a JSON API
 * with the page rendered in JavaScript (the first page would be empty
 * without script, and more code would touch names from the profile).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/web.h"

/* Append a string literal. */
#define LIT(b, s) cp_buf_append((b), (s), sizeof(s) - 1)

static const char *views[][2] = {
    {"top", "Top"}, {"flame", "Flame Graph"}, {"graph", "Graph"}, {"source", "Source"}, {"peek", "Peek"},
};

void cp_web_escape(cp_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&': LIT(b, "&amp;"); break;
        case '<': LIT(b, "&lt;"); break;
        case '>': LIT(b, "&gt;"); break;
        case '"': LIT(b, "&quot;"); break;
        case '\'': LIT(b, "&#39;"); break;
        case 0: break;
        default: cp_buf_putc(b, s[i]);
        }
    }
}

static void esc(cp_buf *b, const char *s) { cp_web_escape(b, s, strlen(s)); }

/* URL query encoding (RFC 3986 unreserved bytes stay). */
static void urlenc(cp_buf *b, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("-._~", *c))
            cp_buf_putc(b, *c);
        else
            cp_buf_printf(b, "%%%02X", *c);
    }
}

/* The query string of q with view replaced (and f when f_set), escaped for
 * an HTML attribute: href="/?…". */
static void href(cp_buf *b, const cp_web_query *q, const char *view, const char *f)
{
    cp_buf u = {0};
    cp_buf_printf(&u, "/?view=%s", view);
    const char *keys[] = {"si", "focus", "ignore", "hide", "show", "tagfocus", "tagignore", "nobase"};
    const char *vals[] = {q->si, q->focus, q->ignore, q->hide, q->show, q->tagfocus, q->tagignore, q->nobase};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (vals[i] && *vals[i]) {
            cp_buf_printf(&u, "&%s=", keys[i]);
            urlenc(&u, vals[i]);
        }
    if (f && *f) {
        cp_buf_append(&u, "&f=", 3);
        urlenc(&u, f);
    }
    cp_web_escape(b, (const char *)u.data, u.len);
    cp_buf_free(&u);
}

/* ^name$ with ERE specials escaped: the regexp matching exactly name. */
static char *quote_rx(const char *s)
{
    size_t n = strlen(s);
    char *r = malloc(2 * n + 3), *o = r;
    if (!r)
        return NULL;
    *o++ = '^';
    for (; *s; s++) {
        if (strchr("\\.+*?()|[]{}^$", *s))
            *o++ = '\\';
        *o++ = *s;
    }
    *o++ = '$';
    *o = 0;
    return r;
}

static void input(cp_buf *b, const char *name, const char *label, const char *v, const char *hint)
{
    cp_buf_printf(b, "<label>%s <input type=\"text\" name=\"%s\" placeholder=\"%s\" value=\"", label,
                  name, hint);
    esc(b, v ? v : "");
    LIT(b, "\"></label>\n");
}

static void head(cp_buf *b, const cp_web *w, const cp_web_query *q, const char *view)
{
    const char *title = "Top";
    for (size_t i = 0; i < sizeof views / sizeof *views; i++)
        if (!strcmp(view, views[i][0]))
            title = views[i][1];
    cp_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<title>cprof: %s</title>\n"
                     "<link rel=\"icon\" href=\"data:,\">\n<link rel=\"stylesheet\" href=\"/static/ui.css\">\n</head>\n<body>\n"
                     "<header>\n<a class=\"brand\" href=\"/\">cprof</a>\n<nav>\n", title);
    for (size_t i = 0; i < sizeof views / sizeof *views; i++) {
        cp_buf_printf(b, "<a id=\"nav-%s\"%s href=\"", views[i][0],
                      !strcmp(view, views[i][0]) ? " class=\"current\"" : "");
        href(b, q, views[i][0], q->f);
        cp_buf_printf(b, "\">%s</a>\n", views[i][1]);
    }
    cp_buf_printf(b, "</nav>\n<form id=\"refine\" method=\"get\" action=\"/\">\n"
                     "<input type=\"hidden\" name=\"view\" value=\"%s\">\n"
                     "<label>Sample <select name=\"si\" id=\"si\">\n", view);
    for (int i = 0; i < w->ntypes; i++) {
        char *slash = strchr(w->types[i], '/');
        size_t tl = slash ? (size_t)(slash - w->types[i]) : strlen(w->types[i]);
        bool sel = q->si && *q->si ? strlen(q->si) == tl && !strncmp(q->si, w->types[i], tl)
                                   : i == w->default_type;
        LIT(b, "<option value=\"");
        cp_web_escape(b, w->types[i], tl);
        cp_buf_printf(b, "\"%s>", sel ? " selected" : "");
        esc(b, w->types[i]);
        LIT(b, "</option>\n");
    }
    LIT(b, "</select></label>\n");
    input(b, "focus", "Focus", q->focus, "regexp");
    input(b, "ignore", "Ignore", q->ignore, "regexp");
    input(b, "hide", "Hide", q->hide, "regexp");
    input(b, "show", "Show", q->show, "regexp");
    input(b, "tagfocus", "Tag focus", q->tagfocus, "key=value");
    input(b, "tagignore", "Tag ignore", q->tagignore, "key=value");
    if (!strcmp(view, "source") || !strcmp(view, "peek"))
        input(b, "f", "Function", q->f, "regexp");
    if (w->nbases)
        cp_buf_printf(b, "<label><input type=\"checkbox\" name=\"nobase\" value=\"1\"%s> "
                         "without the base</label>\n",
                      q->nobase && *q->nobase ? " checked" : "");
    cp_buf_printf(b, "<button type=\"submit\">Refine</button>\n<a href=\"/?view=%s\">Reset</a>\n"
                     "</form>\n</header>\n<main id=\"view-%s\">\n", view, view);
}

static void failed(cp_buf *b, int status)
{
    cp_buf_printf(b, "<p class=\"error\">The report failed (exit status %d): check the patterns "
                     "in the form, or run the same report with the cprof command to see "
                     "why.</p>\n", status);
}

static char *nextline(char **s)
{
    char *l = *s;
    if (!l || !*l)
        return NULL;
    char *nl = strchr(l, '\n');
    if (nl) {
        *nl = 0;
        *s = nl + 1;
    } else {
        *s = l + strlen(l);
    }
    return l;
}

/* One row of the Top table. */
static void top_row(cp_buf *b, const cp_web_query *q, char c[5][32], const char *name)
{
    LIT(b, "<tr>");
    for (int i = 0; i < 5; i++) {
        LIT(b, "<td>");
        esc(b, c[i]);
        LIT(b, "</td>");
    }
    char *rx = quote_rx(name);
    LIT(b, "<td class=\"name\"><a href=\"");
    href(b, q, "source", rx ? rx : "");
    LIT(b, "\">");
    esc(b, name);
    LIT(b, "</a> <a class=\"peek\" title=\"callers and callees\" href=\"");
    href(b, q, "peek", rx ? rx : "");
    LIT(b, "\">peek</a></td></tr>\n");
    free(rx);
}

static bool pct(const char *s)
{
    size_t n = strlen(s);
    return n && s[n - 1] == '%';
}

/* Top: go's text report as a table; names link to Source and Peek.  A
 * line that is not a row continues the previous row's name (a function
 * name with a newline in it). */
static void view_top(cp_buf *b, const cp_web_query *q, char *text)
{
    char *s = text, *l;
    LIT(b, "<pre class=\"legend\">");
    bool table = false, pending = false;
    char c[5][32];
    cp_buf name = {0};
    while ((l = nextline(&s))) {
        if (!table) {
            char a[5][16];
            if (sscanf(l, "%15s %15s %15s %15s %15s", a[0], a[1], a[2], a[3], a[4]) == 5 &&
                !strcmp(a[0], "flat") && !strcmp(a[4], "cum%")) {
                table = true;
                LIT(b, "</pre>\n<table id=\"top\">\n<thead><tr><th>Flat</th><th>Flat%</th>"
                       "<th>Sum%</th><th>Cum</th><th>Cum%</th><th>Name</th></tr></thead>\n"
                       "<tbody>\n");
                continue;
            }
            esc(b, l);
            cp_buf_putc(b, '\n');
            continue;
        }
        char d[5][32];
        int off = 0;
        if (sscanf(l, " %31s %31s %31s %31s %31s %n", d[0], d[1], d[2], d[3], d[4], &off) == 5 &&
            off && pct(d[1]) && pct(d[2]) && pct(d[4])) {
            if (pending) {
                cp_buf_putc(&name, 0);
                top_row(b, q, c, (const char *)name.data);
            }
            memcpy(c, d, sizeof c);
            name.len = 0;
            cp_buf_append(&name, l + off, strlen(l + off));
            pending = true;
        } else if (pending) {
            cp_buf_putc(&name, '\n');
            cp_buf_append(&name, l, strlen(l));
        }
    }
    if (pending) {
        cp_buf_putc(&name, 0);
        top_row(b, q, c, (const char *)name.data);
    }
    cp_buf_free(&name);
    if (table)
        LIT(b, "</tbody>\n</table>\n");
    else
        LIT(b, "</pre>\n");
}

/* The top function's exact regexp, for Source and Peek without f. */
static char *top_function(const cp_web *w, const cp_web_query *q)
{
    cp_buf o = {0};
    char *rx = NULL;
    if (cp_web_report(w, q, "top", NULL, "-nodecount=1", &o) == 0 && o.len) {
        cp_buf_putc(&o, 0);
        char *s = (char *)o.data, *l;
        bool table = false;
        while ((l = nextline(&s))) {
            char c[5][32];
            int off = 0;
            if (!table) {
                table = strstr(l, "flat%") && strstr(l, "cum%");
                continue;
            }
            if (sscanf(l, " %31s %31s %31s %31s %31s %n", c[0], c[1], c[2], c[3], c[4], &off) == 5 &&
                off) {
                rx = quote_rx(l + off);
                break;
            }
        }
    }
    cp_buf_free(&o);
    return rx;
}

int cp_web_page(const cp_web *w, const cp_web_query *q, cp_buf *b)
{
    const char *view = q->view && *q->view ? q->view : "top";
    bool known = false;
    for (size_t i = 0; i < sizeof views / sizeof *views; i++)
        known |= !strcmp(view, views[i][0]);
    if (!known)
        view = "top";
    int status = 200;
    cp_web_query qq = *q;
    char *deffn = NULL;
    if ((!strcmp(view, "source") || !strcmp(view, "peek")) && !(q->f && *q->f))
        qq.f = deffn = top_function(w, q);
    head(b, w, &qq, view);
    cp_buf o = {0};
    if (!known) {
        LIT(b, "<p class=\"error\">Unknown view; showing Top.</p>\n");
    }
    if (!strcmp(view, "flame")) {
        LIT(b, "<iframe id=\"flame-frame\" title=\"flame graph\" src=\"");
        cp_buf o2 = {0};
        href(&o2, &qq, "flame", NULL);
        /* the same query on /flame */
        LIT(b, "/flame");
        cp_buf_append(b, (const char *)o2.data + 1, o2.len - 1);
        cp_buf_free(&o2);
        LIT(b, "\"></iframe>\n");
    } else {
        const char *cmd = !strcmp(view, "graph") ? "svg" : !strcmp(view, "source") ? "list"
                          : !strcmp(view, "peek")  ? "peek" : "top";
        const char *arg = (!strcmp(cmd, "list") || !strcmp(cmd, "peek")) ? (qq.f ? qq.f : ".") : NULL;
        int st = cp_web_report(w, &qq, cmd, arg, !strcmp(cmd, "top") ? "-nodecount=2000" : NULL, &o);
        cp_buf_putc(&o, 0);
        char *text = (char *)o.data;
        if (st != 0) {
            failed(b, st);
            status = st < 0 ? 500 : 400;
        } else if (!strcmp(cmd, "top")) {
            view_top(b, &qq, text);
        } else if (!strcmp(cmd, "svg")) {
            /* graphviz escapes every label; the prolog (xml, doctype) goes */
            char *svg = strstr(text, "<svg");
            LIT(b, "<div id=\"graph\">");
            if (svg)
                cp_buf_append(b, svg, strlen(svg));
            LIT(b, "</div>\n");
        } else {
            cp_buf_printf(b, "<pre id=\"%s\">", cmd);
            esc(b, text);
            LIT(b, "</pre>\n");
        }
    }
    LIT(b, "</main>\n<script src=\"/static/ui.js\"></script>\n</body>\n</html>\n");
    cp_buf_free(&o);
    free(deffn);
    return status;
}
