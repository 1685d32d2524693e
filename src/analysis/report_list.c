/* report_list.c — list: functions matching a regexp with per-line values.
 *
 * What: go tool pprof's -list text (ROUTINE header, flat/cum per source
 * line, the source text when the file is readable).  Placeholder until the
 * full source annotation lands: it reports that the source view is missing.
 */
#include "analysis/report.h"

int cp_report_list(cp_report *r, FILE *out)
{
    (void)out;
    snprintf(r->err, sizeof r->err, "list: not built yet");
    return CPROF_EUNSUPPORTED;
}
