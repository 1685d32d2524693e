/* commands.h — the cprof command table's entry points.
 *
 * Contract: each command gets argc/argv starting at its own name
 * (argv[0] == "top", "record", …) and returns the process exit status:
 * 0 success, 1 runtime failure (unreadable profile, …), 2 usage error.
 * Errors go to stderr as "cprof: <what>".
 */
#ifndef CP_CLI_COMMANDS_H
#define CP_CLI_COMMANDS_H

#include <stdio.h>

int cp_cmd_record(int argc, char **argv);    /* record.c */
int cp_cmd_symbolize(int argc, char **argv); /* symbolize_cmd.c */
/* web UI; also called with argv[0] == "cprof" for `cprof -http=… FILE` */
int cp_cmd_web(int argc, char **argv);       /* web_cmd.c */
/* top, peek, tree, traces, tags, raw, list, folded, merge; also called with
 * argv[0] == "cprof" when the report is given as a flag (-top). */
int cp_cmd_report(int argc, char **argv);    /* report_cmd.c */
int cp_cmd_gate(int argc, char **argv);      /* gate_cmd.c: exit 0 pass, 1 regression, 2 usage/input */
int cp_cmd_push(int argc, char **argv);      /* push_cmd.c */
void cp_cmd_report_usage(FILE *f);           /* the report flags, for help */

#endif
