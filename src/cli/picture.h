/* picture.h — the report commands that draw: flame (HTML), svg and png.
 *
 * Contract: called by report_cmd.c's emit with the prepared report.
 * flame writes one self-contained HTML file (web/flame.js and flame.css
 * inlined, the tree as JSON; see docs/pictures.md); svg and png write the
 * dot report through graphviz's `dot` run as a child process, and fail
 * with a message naming the missing program when `dot` is not in PATH.
 * sample_types (used by the web UI) lists the sample types, one a line,
 * the chosen one marked '*'.  Returns 0 or a negative CPROF_E* code with a message in r->err.
 */
#ifndef CP_CLI_PICTURE_H
#define CP_CLI_PICTURE_H

#include <stdbool.h>
#include <stdio.h>

#include "analysis/report.h"

typedef struct cp_picture_opts {
    bool diff;         /* -base given: the flame graph compares */
    const char *title; /* the first profile's name */
} cp_picture_opts;

bool cp_cli_is_picture(const char *cmd);
int cp_cli_picture(const char *cmd, cp_report *r, FILE *out, const cp_picture_opts *o);

/* The flame page alone (cprof flame). */
int cp_cli_flame_html(cp_report *r, FILE *out, const cp_picture_opts *o);

#endif
