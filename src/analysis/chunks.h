/* chunks.h — a big text report made in chunks on two threads, written in
 * order.
 *
 * Contract: the report's text is that of items 0..n-1 printed in order,
 * each item's text independent of what the items before it printed.
 * cp_chunks_write cuts the items into chunks (a chunk ends with the item
 * that brings its weight, weight(ctx, i) summed, to limit) and calls
 * fmt(ctx, worker, i0, i1, ob) to print items [i0, i1) into an output
 * block.  Two workers (0 and 1) take the chunks in turn; each prints its
 * chunk into its own block (what overflows the block goes to a buffer
 * first), waits for the previous chunk to be written, then writes its own
 * while the other prints the next: writing 0.5-1.4 GB of text overlaps
 * the printing.  The bytes are those of one thread printing every item in
 * order to out, which is what happens for one chunk, or when no second
 * thread can be had.  fmt may read shared data freely and keep per-worker
 * state (caches, scratch) indexed by its worker argument; it returns 0 or
 * CPROF_ENOMEM, and the first failure stops the writing.  Returns 0 or
 * CPROF_ENOMEM.  Used by tree/peek (report_tree.c) and traces
 * (report_samples.c).
 */
#ifndef CP_ANALYSIS_CHUNKS_H
#define CP_ANALYSIS_CHUNKS_H

#include <stddef.h>
#include <stdio.h>

#include "analysis/outbuf.h"

typedef int (*cp_chunk_fn)(void *ctx, unsigned worker, size_t i0, size_t i1, cp_obuf *ob);
typedef size_t (*cp_chunk_weight_fn)(const void *ctx, size_t i);

int cp_chunks_write(size_t n, cp_chunk_weight_fn weight, size_t limit, cp_chunk_fn fmt, void *ctx,
                    FILE *out);

#endif
