/* http_api — cprof_http_start/stop/port through the public API (linked
 * with -lcprof, no LD_PRELOAD): argv[1] is a unix socket path to serve on,
 * argv[2] a file whose appearance ends the program.  Prints what each call
 * returned. */
#include <stdio.h>
#include <unistd.h>

#include "cprof.h"

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    cprof_http_options bad = {.addr = "0.0.0.0:0"};
    printf("non-loopback without token: %s\n", cprof_strerror(cprof_http_start(&bad)));
    printf("port before start: %d\n", cprof_http_port());
    char addr[200];
    snprintf(addr, sizeof addr, "unix:%s", argv[1]);
    cprof_http_options o = {.addr = addr};
    printf("start: %d\n", cprof_http_start(&o));
    printf("second start: %s\n", cprof_strerror(cprof_http_start(&o)));
    printf("port: %d\n", cprof_http_port());
    fflush(stdout);
    while (access(argv[2], F_OK) != 0)
        usleep(20000);
    printf("stop: %d\n", cprof_http_stop());
    printf("port after stop: %d\n", cprof_http_port());
    printf("socket removed: %s\n", access(argv[1], F_OK) != 0 ? "yes" : "no");
    printf("start again: %d\n", cprof_http_start(&o));
    printf("stop again: %d\n", cprof_http_stop());
    printf("stop when stopped: %s\n", cprof_strerror(cprof_http_stop()));
    return 0;
}
