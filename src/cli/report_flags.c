/* report_flags.c — the report commands' flags as one declarative table.
 *
 * What: every flag of go tool pprof's report command line that cprof
 * takes, as a row: name, alias, kind, where its value goes (offsetof into
 * cp_report_opts), default, range, the help's placeholder and one line of
 * help.  One loop parses argv against the rows (-flag, --flag, -flag=v,
 * -flag v, go's boolean spellings); the same rows print the compact
 * listing of `cprof help` and the one-flag-a-line `cprof help flags`, so a
 * flag cannot be parsed without being listed, nor listed without being
 * parsed (tests/integration/cli checks both).  Kinds with a rule of their
 * own (a sample type, a granularity, -cum/-flat, -base/-diff_base, a
 * report given as a flag) keep that rule here, in one switch.
 * Alternatives rejected: an if-chain per flag (the help drifted from it);
 * getopt_long (no single-dash long options with `=`, no go-style bools).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/report_io.h"
#include "cli/report_opts.h"

typedef enum kind {
    K_BOOL,      /* bool at off */
    K_NOTBOOL,   /* bool at off, stored negated (-trim=false) */
    K_LONG,      /* long at off, in [min, max], strtol base `base` */
    K_DOUBLE,    /* double at off; `nonzero`: 0 refused */
    K_STRING,    /* const char * at off */
    K_SAMPLE,    /* boolean: -sample_index=str unless one is set already */
    K_GRAN,      /* boolean: granularity = the flag's name; two differ: error */
    K_ORDER,     /* boolean -cum/-flat: cum = value; off marks the flag set */
    K_BASE,      /* a base profile; diff_base = value; both kinds: error */
    K_SYMBOLIZE, /* "none" (or "no", "none:…") leaves names as written */
    K_REPORT,    /* the report as a flag (go's -top); arg: takes a regexp */
    K_HELP,      /* prints the help; exit 0 */
} kind;

typedef struct flag {
    const char *name, *alias;
    kind kind;
    size_t off;        /* where the value goes; 0 (cmd): nowhere */
    const char *arg;   /* the help's placeholder; NULL for a boolean */
    const char *help;  /* one line */
    bool nl;           /* the compact listing's line ends after this flag */
    bool spaced;       /* listed as "-o FILE" rather than "-o=FILE" */
    bool nonzero;      /* K_DOUBLE: 0 refused */
    int value;         /* K_ORDER: cum; K_BASE: diff_base */
    int base;          /* K_LONG: strtol base */
    double def;        /* K_LONG, K_DOUBLE: default */
    long min, max;     /* K_LONG: accepted range */
    const char *str;   /* K_SAMPLE: sample type; K_REPORT: report name */
    size_t also;       /* a bool also set true (-mean_delay sets -mean); 0: none */
    const char *note;  /* printed after the flag in the compact listing */
} flag;

#define OFF(field) offsetof(cp_report_opts, field)
#define LONG_ALL .min = LONG_MIN, .max = LONG_MAX
_Static_assert(offsetof(cp_report_opts, cmd) == 0, "offset 0 means `no field`");

static const flag flags[] = {
    {"sample_index", NULL, K_STRING, OFF(sample_index), "NAME|N",
     "sample type to report, by name or index (default: the last)", .note = ""},
    {"inuse_space", NULL, K_SAMPLE, 0, NULL, "same as -sample_index=inuse_space",
     .str = "inuse_space"},
    {"inuse_objects", NULL, K_SAMPLE, 0, NULL, "same as -sample_index=inuse_objects",
     .str = "inuse_objects"},
    {"alloc_space", NULL, K_SAMPLE, 0, NULL, "same as -sample_index=alloc_space",
     .str = "alloc_space"},
    {"alloc_objects", NULL, K_SAMPLE, 0, NULL, "same as -sample_index=alloc_objects",
     .str = "alloc_objects", .nl = true},
    {"total_delay", NULL, K_SAMPLE, 0, NULL, "same as -sample_index=delay", .str = "delay"},
    {"contentions", NULL, K_SAMPLE, 0, NULL, "same as -sample_index=contentions",
     .str = "contentions"},
    {"mean_delay", NULL, K_SAMPLE, 0, NULL, "same as -sample_index=delay -mean",
     .str = "delay", .also = OFF(mean)},
    {"mean", NULL, K_BOOL, OFF(mean), NULL, "values divided by the first sample value (count)",
     .nl = true},
    {"nodecount", NULL, K_LONG, OFF(node_count), "N",
     "at most N nodes (default: all for top, 80 otherwise)", .def = -1, .base = 0, LONG_ALL},
    {"nodefraction", NULL, K_DOUBLE, OFF(node_fraction), "F",
     "hide nodes below this fraction of the total", .def = 0.005},
    {"edgefraction", NULL, K_DOUBLE, OFF(edge_fraction), "F",
     "hide edges below this fraction of the total", .def = 0.001},
    {"trim", NULL, K_NOTBOOL, OFF(no_trim), "false",
     "-trim=false: no -nodecount/-nodefraction/-edgefraction trimming"},
    {"cum", NULL, K_ORDER, OFF(cum_set), NULL, "sort by cumulative value", .value = 1},
    {"flat", NULL, K_ORDER, OFF(flat_set), NULL, "sort by flat value (the default)", .nl = true},
    {"focus", NULL, K_STRING, OFF(focus), "RX", "only samples with a frame matching RX"},
    {"ignore", NULL, K_STRING, OFF(ignore), "RX", "drop samples with a frame matching RX"},
    {"hide", NULL, K_STRING, OFF(hide), "RX", "drop frames matching RX from the stacks"},
    {"show", NULL, K_STRING, OFF(show), "RX", "keep only frames matching RX in the stacks"},
    {"show_from", NULL, K_STRING, OFF(show_from), "RX",
     "drop the frames above the first (from the root) matching RX"},
    {"prune_from", NULL, K_STRING, OFF(prune_from), "RX",
     "drop the frames below (callees of) frames matching RX", .nl = true},
    {"tagfocus", NULL, K_STRING, OFF(tagfocus), "V",
     "only samples with a label value (or numeric range) matching V"},
    {"tagignore", NULL, K_STRING, OFF(tagignore), "V",
     "drop samples with a label value (or numeric range) matching V"},
    {"tagshow", NULL, K_STRING, OFF(tagshow), "RX", "keep only the label keys matching RX"},
    {"taghide", NULL, K_STRING, OFF(taghide), "RX", "drop the label keys matching RX"},
    {"tagroot", NULL, K_STRING, OFF(tagroot), "KEYS",
     "label values as pseudo frames at the root, keys comma-separated"},
    {"tagleaf", NULL, K_STRING, OFF(tagleaf), "KEYS",
     "label values as pseudo frames at the leaf, keys comma-separated", .nl = true},
    {"functions", NULL, K_GRAN, 0, NULL, "aggregate by function (the default)"},
    {"filefunctions", NULL, K_GRAN, 0, NULL, "aggregate by function and file"},
    {"lines", NULL, K_GRAN, 0, NULL, "aggregate by source line"},
    {"files", NULL, K_GRAN, 0, NULL, "aggregate by source file"},
    {"addresses", NULL, K_GRAN, 0, NULL, "aggregate by instruction address"},
    {"noinlines", NULL, K_BOOL, OFF(noinlines), NULL,
     "inlined frames attributed to their caller", .nl = true},
    {"unit", NULL, K_STRING, OFF(unit), "U",
     "show values in unit U (ns, ms, s, B, kB, MB, …; default: the smallest that fits)"},
    {"divide_by", NULL, K_DOUBLE, OFF(divide_by), "F", "divide every value by F",
     .def = 1, .nonzero = true},
    {"relative_percentages", NULL, K_BOOL, OFF(relative), NULL,
     "percentages of the total after the filters"},
    {"drop_negative", NULL, K_BOOL, OFF(drop_negative), NULL,
     "drop nodes whose value is negative"},
    {"compact_labels", NULL, K_BOOL, OFF(compact_labels), NULL,
     "dot: short node labels", .nl = true},
    {"base", NULL, K_BASE, 0, "PROFILE", "subtract PROFILE (may be repeated)"},
    {"diff_base", NULL, K_BASE, 0, "PROFILE",
     "subtract PROFILE, its samples kept apart (may be repeated)", .value = 1},
    {"normalize", NULL, K_BOOL, OFF(normalize), NULL,
     "scale the profiles to the bases' total before subtracting"},
    {"add_comment", NULL, K_STRING, OFF(add_comment), "TEXT",
     "add TEXT to the profile's comments", .nl = true},
    {"source_path", NULL, K_STRING, OFF(source_path), "DIRS",
     "where list looks for sources (a list, as $PATH)"},
    {"trim_path", NULL, K_STRING, OFF(trim_path), "PREFIXES",
     "path prefixes removed before looking for sources", .note = "(list)  "},
    {"symbolize", NULL, K_SYMBOLIZE, 0, "none",
     "none: keep names exactly as written (no demangling)", .nl = true},
    {"call_tree", NULL, K_BOOL, OFF(call_tree), NULL,
     "accepted; like go, only dot would use it (not supported there yet)",
     .nl = true,
     .note = "(accepted; like go, only dot would use it: not supported there yet)"},
    {"o", "output", K_STRING, OFF(output), "FILE", "write the report to FILE",
     .spaced = true, .note = " "},
    {"seconds", NULL, K_LONG, OFF(seconds), "N",
     "http(s) sources: profile for N seconds", .base = 10, .min = 0, .max = 86400},
    {"timeout", NULL, K_LONG, OFF(timeout), "N", "http(s) sources: give up after N seconds",
     .base = 10, .min = LONG_MIN, .max = 86400, .nl = true, .note = "(http(s):// sources)"},
    {"top", "text", K_REPORT, 0, NULL, "the report as a flag: cprof -top = cprof top (go style)",
     .str = "top"},
    {"peek", NULL, K_REPORT, 0, "RX", "", .str = "peek"},
    {"tree", NULL, K_REPORT, 0, NULL, "", .str = "tree"},
    {"traces", NULL, K_REPORT, 0, NULL, "", .str = "traces"},
    {"tags", NULL, K_REPORT, 0, NULL, "", .str = "tags"},
    {"raw", NULL, K_REPORT, 0, NULL, "", .str = "raw"},
    {"list", NULL, K_REPORT, 0, "RX", "", .str = "list"},
    {"folded", NULL, K_REPORT, 0, NULL, "", .str = "folded"},
    {"dot", NULL, K_REPORT, 0, NULL, "", .str = "dot", .nl = true},
    {"proto", NULL, K_REPORT, 0, NULL, "", .str = "proto"},
    {"comments", NULL, K_REPORT, 0, NULL, "", .str = "comments"},
    {"flame", NULL, K_REPORT, 0, NULL, "", .str = "flame"},
    {"svg", NULL, K_REPORT, 0, NULL, "", .str = "svg"},
    {"png", NULL, K_REPORT, 0, NULL, "", .str = "png"},
    {"sample_types", NULL, K_REPORT, 0, NULL, "", .str = "sample_types",
     .nl = true, .note = "(the report as a flag, go style)"},
    {"h", "help", K_HELP, 0, NULL, "this help", .nl = true},
};
#define NFLAGS (sizeof flags / sizeof *flags)

static const char *report_names[] = {"top",  "peek",     "tree",  "traces", "tags",  "raw",
                                     "list", "folded",   "merge", "dot",    "proto", "comments",
                                     "flame", "svg",     "png",   "sample_types"};

const char *cp_report_opts_name(const char *s)
{
    if (!strcmp(s, "text"))
        return "top";
    for (size_t i = 0; i < sizeof report_names / sizeof *report_names; i++)
        if (!strcmp(s, report_names[i]))
            return report_names[i];
    return NULL;
}

/* "-name" with its alias and placeholder, as both listings show it. */
static int spell(const flag *f, char *buf, size_t n)
{
    return snprintf(buf, n, "-%s%s%s%s%s", f->name, f->alias ? "|-" : "",
                    f->alias ? f->alias : "", f->arg ? (f->spaced ? " " : "=") : "",
                    f->arg ? f->arg : "");
}

void cp_cmd_report_usage(FILE *f)
{
    fputs("report flags (as go tool pprof; -flag, --flag, -flag=value and -flag value):\n", f);
    bool start = true;
    for (size_t i = 0; i < NFLAGS; i++) {
        char s[96];
        spell(&flags[i], s, sizeof s);
        fprintf(f, "%s%s%s%s", start ? "  " : " ", s, flags[i].note ? " " : "",
                flags[i].note ? flags[i].note : "");
        start = flags[i].nl;
        if (start)
            fputc('\n', f);
    }
    fputs("Several PROFILEs are merged; a PROFILE may be an http:// URL.\n"
          "Patterns are POSIX extended regexps; \\d, \\s and (?i) work as in Go.\n"
          "cprof help flags: every flag, one a line.\n",
          f);
}

void cp_report_opts_list(FILE *f)
{
    for (size_t i = 0; i < NFLAGS; i++) {
        const flag *g = &flags[i];
        char s[96];
        spell(g, s, sizeof s);
        if (g->kind == K_REPORT && !*g->help)
            fprintf(f, "  %-28s the report as a flag: cprof -%s = cprof %s", s, g->name, g->name);
        else
            fprintf(f, "  %-28s %s", s, g->help);
        if (g->kind == K_DOUBLE)
            fprintf(f, " (default %g)", g->def);
        fputc('\n', f);
    }
}

#define usage_err(...) cp_cli_usage_err("cprof", NULL, __VA_ARGS__)

/* Go's strconv.ParseBool spellings; NULL (a bare -flag) is true. */
static bool parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "1", "t", "T", "TRUE", "True"};
    static const char *const no[] = {"false", "0", "f", "F", "FALSE", "False"};
    *out = true;
    if (!v)
        return true;
    for (size_t i = 0; i < 6; i++) {
        if (!strcmp(v, yes[i]))
            return true;
        if (!strcmp(v, no[i]))
            return !(*out = false);
    }
    return false;
}

static const flag *lookup(const char *name)
{
    for (size_t i = 0; i < NFLAGS; i++)
        if (!strcmp(name, flags[i].name) || (flags[i].alias && !strcmp(name, flags[i].alias)))
            return &flags[i];
    return NULL;
}

static bool takes_value(const flag *f)
{
    switch (f->kind) {
    case K_LONG: case K_DOUBLE: case K_STRING: case K_BASE: case K_SYMBOLIZE:
        return true;
    case K_REPORT:
        return f->arg != NULL;
    default:
        return false;
    }
}

#define AT(o, off, type) ((type *)((char *)(o) + (off)))

/* A number flag's value into its field: 0 or 2 after a message. */
static int set_number(const flag *f, const char *name, const char *val, cp_report_opts *o)
{
    char *end;
    errno = 0;
    if (f->kind == K_LONG) {
        long v = strtol(val, &end, f->base);
        if (*end || end == val || errno || v < f->min || v > f->max)
            return usage_err("invalid value for -%s: %s", name, val);
        *AT(o, f->off, long) = v;
        return 0;
    }
    double d = strtod(val, &end);
    if (*end || end == val)
        return usage_err("invalid value for -%s: %s", name, val);
    if (f->nonzero && d == 0)
        return usage_err("zero divisor specified%s", "");
    *AT(o, f->off, double) = d;
    return 0;
}

/* One flag with its value (NULL: a bare boolean): 0, 2 after a message,
 * -1 after the help. */
static int apply(const flag *f, const char *name, const char *val, cp_report_opts *o)
{
    bool b = true;
    if (!takes_value(f) && f->kind != K_HELP && val && !parse_bool(val, &b)) {
        if (f->kind == K_REPORT) /* go ignores -top=junk */
            return 0;
        return usage_err("invalid boolean value for -%s", name);
    }
    switch (f->kind) {
    case K_BOOL:
    case K_NOTBOOL:
        *AT(o, f->off, bool) = b != (f->kind == K_NOTBOOL);
        return 0;
    case K_LONG:
    case K_DOUBLE:
        return set_number(f, name, val, o);
    case K_STRING:
        *AT(o, f->off, const char *) = val;
        return 0;
    case K_SAMPLE:
        if (!b)
            return 0;
        if (f->also)
            *AT(o, f->also, bool) = true;
        if (!o->sample_index)
            o->sample_index = f->str;
        else
            fprintf(stderr, "Multiple value selections, ignoring -%s\n", name);
        return 0;
    case K_GRAN:
        if (b && o->gran && strcmp(o->gran, f->name))
            o->ngran++;
        if (b)
            o->gran = f->name;
        return 0;
    case K_ORDER:
        if (b)
            o->cum = f->value;
        *AT(o, f->off, bool) = b;
        return 0;
    case K_BASE:
        if (o->nbases && o->diff_base != f->value)
            return usage_err("-base and -diff_base flags cannot both be specified%s", "");
        if (*val && o->nbases < CP_REPORT_MAXP)
            o->bases[o->nbases++] = val;
        o->diff_base = f->value;
        return 0;
    case K_SYMBOLIZE:
        /* profiles are symbolized when written (cprof symbolize); "none"
         * also leaves names exactly as written */
        o->symbolize_none = !strcmp(val, "none") || !strcmp(val, "no") ||
                            !strncmp(val, "none:", 5) || !strncmp(val, "no:", 3);
        return 0;
    case K_REPORT:
        if (!b)
            return 0;
        if (f->arg)
            o->cmd_arg = val;
        if (o->cmd && strcmp(o->cmd, f->str))
            return usage_err("must set at most one output format%s", "");
        o->cmd = f->str;
        return 0;
    case K_HELP:
        printf("usage: cprof %s [flags] PROFILE...\n\n", o->cmd ? o->cmd : "COMMAND");
        cp_cmd_report_usage(stdout);
        return -1;
    }
    return 0;
}

/* The checks once every flag is read, and go's `[binary] profile...`. */
static int finish(cp_report_opts *o)
{
    if (o->ngran)
        return usage_err("conflicting granularity options set%s", "");
    if (o->flat_set && o->cum_set)
        return usage_err("conflicting options set: [flat cum]%s", "");
    if (o->call_tree && o->cmd && !strcmp(o->cmd, "dot"))
        return usage_err("-call_tree is not supported for dot yet (other reports ignore it, "
                         "as go tool pprof does)%s", "");
    if (!o->cmd)
        return usage_err("no report given: use a command such as top (see cprof help)%s", "");
    if (o->nsrcs == 0)
        return usage_err("no profile source specified%s", "");
    /* a first argument that is an executable (or a build id) names the
     * main binary rather than a profile */
    if (o->nsrcs > 1) {
        if (cp_cli_is_object_file(o->srcs[0]))
            o->exec_name = o->srcs[0];
        else if (strspn(o->srcs[0], "0123456789abcdefABCDEF") == strlen(o->srcs[0]))
            o->build_id = o->srcs[0];
        if (o->exec_name || o->build_id) {
            memmove(o->srcs, o->srcs + 1, (o->nsrcs - 1) * sizeof *o->srcs);
            o->nsrcs--;
        }
    }
    return 0;
}

int cp_report_opts_parse(int argc, char **argv, cp_report_opts *o)
{
    memset(o, 0, sizeof *o);
    for (size_t k = 0; k < NFLAGS; k++) {
        if (flags[k].kind == K_LONG)
            *AT(o, flags[k].off, long) = (long)flags[k].def;
        else if (flags[k].kind == K_DOUBLE)
            *AT(o, flags[k].off, double) = flags[k].def;
    }
    int i = 1;
    if ((o->cmd = cp_report_opts_name(argv[0])) &&
        (!strcmp(o->cmd, "peek") || !strcmp(o->cmd, "list"))) {
        if (argc < 2)
            return usage_err("%s needs a regexp", o->cmd);
        o->cmd_arg = argv[1];
        i = 2;
    }
    for (; i < argc; i++) {
        char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            if (o->nsrcs >= CP_REPORT_MAXP)
                return usage_err("too many profiles%s", "");
            o->srcs[o->nsrcs++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            for (i++; i < argc && o->nsrcs < CP_REPORT_MAXP; i++)
                o->srcs[o->nsrcs++] = argv[i];
            break;
        }
        char name[64];
        const char *val;
        if (cp_cli_split_flag(a, name, sizeof name, &val))
            return usage_err("unknown flag %s", a);
        const flag *f = lookup(name);
        if (!f)
            return usage_err("unknown flag %s (see cprof help)", a);
        if (takes_value(f) && !val) {
            if (i + 1 >= argc)
                return usage_err("flag needs an argument: -%s", name);
            val = argv[++i];
        }
        int rc = apply(f, name, val, o);
        if (rc)
            return rc;
    }
    return finish(o);
}
