/* report_opts.h — the report commands' options and their flag table.
 *
 * Contract: cp_report_opts_parse fills an opts struct from argv (argv[0]
 * is the command name or "cprof" for go's `cprof -top …` form) using the
 * table in report_flags.c, which also prints the help (compact listing for
 * `cprof help`, one flag a line for `cprof help flags`).  Not thread-safe
 * (one parse per process); no allocation: strings point into argv.
 */
#ifndef CP_CLI_REPORT_OPTS_H
#define CP_CLI_REPORT_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CP_REPORT_MAXP 256 /* profiles (and bases) on one command line */

typedef struct cp_report_opts {
    const char *cmd;     /* report name; first: the table's "no bool" offset */
    const char *cmd_arg; /* peek/list regexp */
    const char *sample_index;
    long node_count;
    double node_fraction, edge_fraction;
    bool cum;
    const char *focus, *ignore, *hide, *show, *tagfocus, *tagignore;
    const char *show_from, *tagshow, *taghide, *prune_from;
    double divide_by;
    bool compact_labels, relative, drop_negative, no_trim;
    const char *add_comment;
    long timeout;
    bool symbolize_none;
    bool mean;
    const char *trim_path, *source_path;
    bool normalize;
    const char *tagroot, *tagleaf;
    const char *unit;
    const char *gran;
    int ngran;
    bool noinlines;
    const char *output;
    const char *srcs[CP_REPORT_MAXP];
    size_t nsrcs;
    const char *bases[CP_REPORT_MAXP];
    size_t nbases;
    bool diff_base;
    long seconds;           /* -seconds for URL sources */
    bool flat_set, cum_set; /* -flat and -cum both true: go refuses */
    bool call_tree;         /* -call_tree: changes only dot in go */
    const char *exec_name, *build_id; /* `[binary] profile`: the first argument */
} cp_report_opts;

/* The table's spelling of a report name ("text" is go's other name of
 * top), or NULL when s names no report. */
const char *cp_report_opts_name(const char *s);

/* Defaults from the table, then argv.  0; 2 after a usage message on
 * stderr; -1 after printing help to stdout (exit 0). */
int cp_report_opts_parse(int argc, char **argv, cp_report_opts *o);

/* Every flag of the table, one a line: spelling, aliases, help, default. */
void cp_report_opts_list(FILE *f);

#endif
