/* report_io.h — helpers of the report commands (report_cmd.c).
 *
 * Contract: plain functions on profiles and streams for the CLI; not
 * thread-safe beyond what stdio is.
 */
#ifndef CP_CLI_REPORT_IO_H
#define CP_CLI_REPORT_IO_H

#include <stdbool.h>
#include <stdio.h>

#include "base/buf.h"
#include "profile/profile.h"

/* An ELF, Mach-O or PE file (what go tool pprof's object tool opens). */
bool cp_cli_is_object_file(const char *path);
/* go's fetch: exec_name (or build_id) replaces the first mapping's file
 * (or build id); a profile without mappings first gets one that every
 * location points to.  0 or CPROF_ENOMEM. */
int cp_cli_override_main(cp_profile *p, const char *exec_name, const char *build_id);
/* True when every value is exactly negated in a double (|v| <= 2^53). */
bool cp_cli_small_values(cp_profile *const *ps, size_t n);
/* Encode and gzip (merge and proto output) on two threads, appended to out. */
int cp_cli_encode_fast_gz(const cp_profile *p, cp_buf *out);
/* The same written atomically to path, piece by piece (no copy of the
 * whole output): merge's output.  0, CPROF_ENOMEM or CPROF_EIO (errno). */
int cp_cli_write_fast_gz(const cp_profile *p, const char *path);
/* Read and decode n profile files (local paths) on two threads: out[i] is
 * each profile or NULL, diags[i] its error.  Returns the index of the first
 * failure or n. */
size_t cp_cli_read_files(const char *const *paths, size_t n, cp_profile **out, cp_diag *diags);
/* A write stream onto `to` that writes the original bytes of NUL-escaped
 * strings (profile.h); fclose it before `to`.  NULL on ENOMEM. */
FILE *cp_cli_unescape_stream(FILE *to);

/* A "-name=value", "--name=value" or "-name" argument split into its name
 * (into key, NUL-terminated) and its value (*val, NULL when there is no
 * '='); CPROF_EINVAL when the name does not fit in keysz. */
int cp_cli_split_flag(const char *arg, char *key, size_t keysz, const char **val);

/* A usage error on stderr: "WHO: message", then the usage text when not
 * NULL.  Returns 2, the usage-error exit status. */
__attribute__((format(printf, 3, 4))) int cp_cli_usage_err(const char *who, const char *usage,
                                                           const char *fmt, ...);

#endif
