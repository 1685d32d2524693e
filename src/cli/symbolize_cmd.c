/* Placeholder until the symbolize command lands; replaced by its owner. */
#include <stdio.h>
#include "cli/commands.h"
int cp_cmd_symbolize(int argc, char **argv) { (void)argc; (void)argv; fputs("cprof: symbolize: not built yet\n", stderr); return 2; }
