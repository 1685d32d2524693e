/* codec_util.h — helpers shared by the codec suite: hand-made protobuf
 * profiles (valid and hostile), model equality, file loading.
 *
 * Contract: test-only code; every function aborts the test process (via
 * Criterion asserts in the callers) rather than returning partial results.
 * Not thread-safe.
 */
#ifndef CODEC_UTIL_H
#define CODEC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "profile/profile.h"

/* A small but complete profile built with cp_pbuilder: two sample types,
 * labels (string and numeric), a mapping with a build id, an inline frame,
 * comments, drop/keep frames, period and times. */
cp_profile *cu_small_profile(void);

/* Raw protobuf writer shortcuts (0 on success). */
int cu_varint_field(cp_buf *b, uint32_t num, uint64_t v); /* writes even when v == 0 */
int cu_string(cp_buf *b, const char *s);                  /* string_table entry */

/* Deep equality of two models: strings compared by content, references by
 * the referenced record's id.  Returns NULL when equal, else a static
 * description of the first difference. */
const char *cu_profile_diff(const cp_profile *a, const cp_profile *b);

/* Read a whole file; returns 0 or a negative code. */
int cu_read(const char *path, cp_buf *out);

/* Directory holding the Go oracle's profiles (env CODEC_GO_DIR). */
const char *cu_go_dir(void);

/* Deterministic PRNG (xorshift64*). */
uint64_t cu_rand(uint64_t *state);

/* Decode with a small cap; returns rc and fills msg.  Frees any result. */
int cu_try_decode(const void *data, size_t len, size_t cap, char *msg, size_t msgsz);

/* A gzip bomb as one gzip member: prefix (may be empty), then mib MiB of
 * zeros, deflated at level 1 (as `gzip -1`: ~230 times smaller, the
 * bomb closest to real data; level 9 gives ~1000).  Built in a few ms from one deflated MiB: after a full flush the
 * compressor has no history, so every flushed MiB of zeros deflates to the
 * same bytes, repeated here.  The trailer's CRC is not that of the data (a
 * decoder that inflated it all would say so); 0 or a negative code. */
int cu_gzip_bomb(cp_buf *out, const void *prefix, size_t plen, size_t mib);

/* A valid raw profile (one sample) with pad more bytes of distinct
 * strings (compressing ~4x, as profiles do), followed by the start of a
 * string table entry claiming `claim` bytes: a profile-shaped bomb's
 * prefix. */
int cu_bomb_profile_prefix(cp_buf *out, uint64_t claim, size_t pad);

#endif
