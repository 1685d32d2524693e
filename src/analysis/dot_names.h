/* dot_names.h — labels and colours for the dot report (see dot_names.c).
 *
 * Contract: pure string functions; output is appended to a cp_buf.
 * [thread-safe]
 */
#ifndef CP_ANALYSIS_DOT_NAMES_H
#define CP_ANALYSIS_DOT_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "analysis/graph.h"
#include "base/buf.h"

/* graph.ShortenFunctionName: "github.com/x/y.F" → "y.F", "a::B::c" → "B::c". */
void cp_dot_shorten(const char *name, cp_buf *out);
/* Escape for a dot string: \ and " escaped, newlines as \l. */
void cp_dot_escape(cp_buf *b, const char *s);
/* The node's name split over lines (\n) with a trailing \n. */
void cp_dot_node_label(const cp_gnode *n, cp_buf *out);
/* "#rrggbb" for a share in [-1, 1]; bg = the lighter fill colour. */
void cp_dot_color(char *buf, size_t n, double score, bool bg);

#endif
