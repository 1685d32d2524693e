/* main.c — placeholder until the command table lands. */
#include <stdio.h>
int main(void) { fputs("cprof: not yet\n", stderr); return 2; }
