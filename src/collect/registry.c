/* registry.c — the table of profile types (see registry.h).
 *
 * A static table rather than registration at run time: the set of types
 * is known when libcprof is built, a constructor-order dependency is
 * avoided, and the table is readable from an exit handler or a forked
 * child without a lock.  Adapters below fit each collector's entry points
 * to the table's three functions.
 */
#include "collect/registry.h"

#include "collect/cpu.h"
#include "collect/heap.h"
#include "collect/io.h"
#include "collect/locks.h"
#include "collect/threads.h"
#include "cprof.h"

static bool cpu_enabled(void)
{
    return cprof_cpu_running() != 0;
}

static bool heap_enabled(void)
{
    return cprof_heap_running() != 0;
}

static int heap_snapshot(cp_profile **out)
{
    return cp_heap_profile(false, true, out);
}

static int heap_finish(cp_profile **out)
{
    (void)out;
    int rc = cprof_heap_stop();
    return rc == CPROF_ENOTRUNNING ? 0 : rc;
}

static int io_finish(cp_profile **out)
{
    (void)out;
    cp_io_stop();
    return 0;
}

/* The threads profile has no start: its file being named enables it. */
static bool always(void)
{
    return true;
}

/* One line per type; keep cpu first (its cut is the period's edge). */
static const cp_reg_type types[] = {
    {"cpu", "CPROF_CPU", CP_REG_PERIODIC, cpu_enabled, cp_cpu_period_profile, cp_cpu_stop_profile},
    {"heap", "CPROF_HEAP", CP_REG_CUMULATIVE, heap_enabled, heap_snapshot, heap_finish},
    {"mutex", "CPROF_MUTEX", CP_REG_CUMULATIVE, cp_mutex_enabled, cp_mutex_profile, NULL},
    {"mutex_holders", "CPROF_MUTEX_HOLDERS", CP_REG_CUMULATIVE, cp_mutex_holders_enabled,
     cp_mutex_holders_profile, NULL},
    {"block", "CPROF_BLOCK", CP_REG_CUMULATIVE, cp_block_enabled, cp_block_profile, NULL},
    {"threads", "CPROF_THREADS", CP_REG_GAUGE, always, cp_threads_profile, NULL},
    {"io", "CPROF_IO", CP_REG_CUMULATIVE, cp_io_enabled, cp_io_profile, io_finish},
};

size_t cp_registry_count(void)
{
    return sizeof types / sizeof types[0];
}

const cp_reg_type *cp_registry_get(size_t i)
{
    return i < cp_registry_count() ? &types[i] : NULL;
}
