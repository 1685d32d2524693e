/* web.h — the web UI (cprof web): shared between the server (web_cmd.c)
 * and the page renderer (web_page.c).
 *
 * Contract: a cp_web holds what every request needs: the cprof binary to
 * run reports with, the pass-through flags and profiles, the base flags
 * (dropped when the page asks for no diff) and the sample types.  Each
 * view runs `cprof REPORT flags… PROFILE…` as a child process, so one bad
 * request or a huge report can never take the server down, and requests
 * share no mutable state.  cp_web_page renders a whole HTML page for a
 * request into *out and returns the HTTP status.  Everything that comes
 * from a profile or a request is HTML-escaped.  [thread-safe]
 */
#ifndef CP_CLI_WEB_H
#define CP_CLI_WEB_H

#include <stdbool.h>

#include "base/buf.h"

#define CP_WEB_MAXARGS 512

typedef struct cp_web {
    char exe[4096];
    char *args[CP_WEB_MAXARGS]; /* flags and profiles for every report */
    int nargs;
    char *bases[CP_WEB_MAXARGS]; /* "-base=B" / "-diff_base=B" */
    int nbases;
    char types[64][160]; /* "type/unit" */
    int ntypes, default_type;
} cp_web;

/* The request's parameters (NULL = absent), already URL-decoded. */
typedef struct cp_web_query {
    const char *view, *si, *focus, *ignore, *hide, *show, *tagfocus, *tagignore, *f, *nobase;
} cp_web_query;

/* Run `cprof cmd [arg] <defaults> <pass-through> <query flags>`; returns
 * the child's exit status, or -1 when it could not run. */
int cp_web_report(const cp_web *w, const cp_web_query *q, const char *cmd, const char *arg,
                  const char *extra, cp_buf *out);

/* The page for q; returns the HTTP status (200, 400, 500). */
int cp_web_page(const cp_web *w, const cp_web_query *q, cp_buf *out);

/* HTML-escape s (&, <, >, ", ') into b. */
void cp_web_escape(cp_buf *b, const char *s, size_t n);

#endif
