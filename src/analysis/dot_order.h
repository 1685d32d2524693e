/* dot_order.h — the dot report's visual-mode node order and edge pruning
 * (see dot_order.c).
 *
 * Contract: both rewrite the graph in place (g->order, edge lists) and
 * return 0 or CPROF_ENOMEM.  Not thread-safe on one graph.
 */
#ifndef CP_ANALYSIS_DOT_ORDER_H
#define CP_ANALYSIS_DOT_ORDER_H

#include "analysis/graph.h"

/* g->order by go's entropy score, highest first. */
int cp_dot_entropy_sort(cp_graph *g);
/* Residual edges implied by a path through other kept nodes removed. */
int cp_dot_remove_redundant_edges(cp_graph *g);

#endif
