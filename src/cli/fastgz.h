/* fastgz.h — gzip for the cprof command: libdeflate inflates, ISA-L
 * deflates, zlib behind both.
 *
 * Contract: the same results as src/profile/gzip.c (cp_gunzip, cp_gzip),
 * faster.  Only the cprof executable links libdeflate and ISA-L;
 * libcprof.so and the libraries it is made of stay on zlib alone.  Everything here is
 * [thread-safe] (no shared state); none of it is for signal handlers or hooks.
 */
#ifndef CPROF_CLI_FASTGZ_H
#define CPROF_CLI_FASTGZ_H

#include <stdbool.h>
#include <stddef.h>

#include "profile/profile.h"

/* cp_gunzip's contract (append to out, every member, max_out, the bomb
 * rule, its messages).  Sizes the output from the members' trailers and
 * inflates with libdeflate, members on two threads; anything it cannot
 * vouch for (a trailer that lies, a member over the bomb ratio, a member
 * without cprof's size field after the first, corrupt data) is redone by
 * cp_gunzip, so errors read as they always did. */
int cp_cli_gunzip(const void *data, size_t len, size_t max_out, cp_buf *out, cp_diag *diag);
/* Its fast path alone: true when it inflated everything (appended to out);
 * false when it declines, out's length unchanged. */
bool cp_cli_inflate_fast(const void *data, size_t len, size_t max_out, cp_buf *out);

/* Gzip data into out (appended): members of at most CP_CLI_GZ_MEMBER
 * input bytes, compressed by ISA-L (its level 2: about zlib level 1's
 * size at three times libdeflate's speed) on two threads, each carrying
 * its own size in an extra field ("CP", RFC 1952 FEXTRA) so a reader can
 * size and split the work without inflating.  0 or CPROF_ENOMEM. */
#define CP_CLI_GZ_MEMBER (8u << 20)
int cp_cli_gzip_fast(const void *data, size_t len, cp_buf *out);

/* The same for data made in n pieces: make(ctx, k, buf) appends piece k
 * (called once per k, from either thread, in any order); the output is the
 * gzip of pieces 0..n-1 concatenated, each piece in its own member(s), an
 * empty piece in none.  The first error make returns is returned. */
typedef int cp_cli_piece_fn(void *ctx, size_t k, cp_buf *out);
int cp_cli_gzip_pieces(size_t n, cp_cli_piece_fn *make, void *ctx, cp_buf *out);
/* The same, handed to sink(sctx, bytes, len) as it is made, in order, by
 * whichever thread completes the next piece (one call at a time), so that
 * writing overlaps compressing; sink returns 0 or an error, which stops
 * the work and is returned.  out above is filled this way. */
typedef int cp_cli_sink_fn(void *sctx, const void *data, size_t len);
int cp_cli_gzip_to(size_t n, cp_cli_piece_fn *make, void *ctx, cp_cli_sink_fn *sink, void *sctx);

/* Decode options with cp_cli_gunzip and the samples on two threads;
 * max_decompressed as the caller's. */
cp_decode_opts cp_cli_decode_opts(size_t max_decompressed);

/* cp_profile_read_file through cp_cli_gunzip, the samples on two threads
 * (cp_cli_read_profile) or on the caller's alone (two_threads false: for
 * profiles read side by side). */
int cp_cli_read_profile(const char *path, cp_profile **out, cp_diag *diag);
int cp_cli_read_profile_threads(const char *path, bool two_threads, cp_profile **out,
                                cp_diag *diag);

#endif
