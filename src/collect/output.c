/* output.c — name and write a collector's profile (see output.h).
 *
 * Names come from ELF symbol tables only (cp_elfname): this runs in the
 * profiled process, often from an exit handler after the program's own
 * atexit handlers ran, so it must not load libraries, read DWARF or touch
 * the network.  Lines and inline frames are added outside the process by
 * cp_symbolize (`cprof symbolize`, `cprof record`).
 *
 * CPROF_NAMES=0 skips even the ELF names: `cprof record` sets it for the
 * processes it runs, names the merged profile itself afterwards (the same
 * ELF step, then DWARF), and so a build's hundreds of processes do not each
 * read libc's symbol table at exit (measured: ~5 ms of CPU per process).
 */
#include "collect/output.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/path.h"
#include "cprof.h"
#include "symbolize/elfname.h"

cp_profile *cp_output_symbolize(cp_profile *p)
{
    const char *names = getenv("CPROF_NAMES");
    if (names && !strcmp(names, "0"))
        return p; /* named by whoever asked for it (cprof record) */
    cp_diag d = {{0}};
    cp_profile *named = NULL;
    if (cp_elfname_profile(p, &named, &d, NULL) != 0)
        return p; /* addresses only: still a valid profile */
    cp_profile_free(p);
    return named;
}

int cp_output_write(const cp_profile *p, const char *path_tmpl, int fd)
{
    if (path_tmpl) {
        char path[4096];
        int rc = cp_path_expand(path_tmpl, path, sizeof path);
        return rc ? rc : cp_profile_write_file(p, path);
    }
    cp_buf gz = {0};
    int rc = cp_profile_encode_gz(p, &gz);
    if (!rc)
        rc = cp_write_all(fd, gz.data, gz.len);
    cp_buf_free(&gz);
    return rc;
}
