/* Placeholder until the record command lands; replaced by its owner. */
#include <stdio.h>
#include "cli/commands.h"
int cp_cmd_record(int argc, char **argv) { (void)argc; (void)argv; fputs("cprof: record: not built yet\n", stderr); return 2; }
