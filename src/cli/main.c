/* main.c — the cprof command: a table from command names to entry points.
 *
 * Reads as the pipeline: parse the command name (or go tool pprof's
 * `-top`-style report flag), hand argv to the command.  Report commands
 * (top, peek, tree, …) share one implementation in report_cmd.c; record and
 * symbolize live in their own files.  Exit status: 0 ok, 1 runtime failure,
 * 2 usage error.
 */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "base/prefault.h"
#include "cli/commands.h"
#include "cli/report_opts.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} command;

static const command commands[] = {
    {"top", cp_cmd_report, "top entries by flat (or -cum) value"},
    {"peek", cp_cmd_report, "callers and callees of functions matching REGEX"},
    {"tree", cp_cmd_report, "text rendering of the call graph"},
    {"traces", cp_cmd_report, "every sample with its stack and labels"},
    {"tags", cp_cmd_report, "label values and their share"},
    {"raw", cp_cmd_report, "text dump of the whole profile"},
    {"list", cp_cmd_report, "annotated source of functions matching REGEX"},
    {"folded", cp_cmd_report, "folded stacks (one line per stack) for flame graph tools"},
    {"dot", cp_cmd_report, "the call graph as graphviz text (cprof dot -o g.dot; dot -Tsvg g.dot)"},
    {"proto", cp_cmd_report, "the profile after merging and filters, gzipped protobuf"},
    {"text", cp_cmd_report, "the same report as top (go tool pprof's alias)"},
    {"comments", cp_cmd_report, "the profile's comments, one a line"},
    {"merge", cp_cmd_report, "merge profiles into one: merge -o OUT PROFILE..."},
    {"flame", cp_cmd_report, "interactive flame graph, one HTML file: flame -o out.html [-base B]"},
    {"svg", cp_cmd_report, "the call graph drawn by graphviz dot: svg -o g.svg PROFILE..."},
    {"png", cp_cmd_report, "the call graph as a PNG image (graphviz dot)"},
    {"web", cp_cmd_web, "web UI: web [-http=HOST:PORT] [-no_browser] PROFILE..."},
    {"record", cp_cmd_record, "run a program under the profiler"},
    {"symbolize", cp_cmd_symbolize, "fill in function names and lines of a profile"},
    {"gate", cp_cmd_gate, "CI regression gate: gate [-threshold=PCT] BASE NEW... (exit 0/1/2)"},
    {"push", cp_cmd_push, "send profiles to a Pyroscope server: push -server URL FILE|DIR..."},
};

static void usage(FILE *f)
{
    fputs("usage: cprof COMMAND [flags] PROFILE...\n"
          "       cprof -top [flags] PROFILE...   (go tool pprof style)\n\ncommands:\n",
          f);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fputc('\n', f);
    cp_cmd_report_usage(f);
}

int main(int argc, char **argv)
{
    /* Blocks of 1 MiB and more (decoded profiles' pools, inflate buffers,
     * tables that double) are mmapped, so freeing one returns it at once and
     * growing one is a remap: glibc's default threshold climbs to 32 MiB
     * after the first large free, and the holes doubling arrays then leave
     * in the heap stay resident.  Peak RSS at 150k stacks: merge 250 -> 228
     * MiB, -base 419 -> 370, top 114 -> 97; the same CPU time. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    cp_prefault = true; /* base/prefault.h */
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "-h") || !strcmp(cmd, "--help") ||
        !strcmp(cmd, "-help")) {
        if (argc > 2 && !strcmp(argv[2], "flags")) { /* the report flags' table */
            cp_report_opts_list(stdout);
            return 0;
        }
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    if (!strncmp(cmd, "-http", 5) || !strncmp(cmd, "--http", 6)) /* go's -http=:8080 FILE */
        return cp_cmd_web(argc, argv);
    if (cmd[0] == '-') /* go tool pprof style: the report is a flag */
        return cp_cmd_report(argc, argv);
    fprintf(stderr, "cprof: unknown command \"%s\" (try cprof help)\n", cmd);
    return 2;
}
