/* units.c — unit conversion and number formatting, as go tool pprof does it.
 *
 * What: the arithmetic behind every figure cprof prints, chosen so that our
 * text reports equal go tool pprof's byte for byte.  Data structure: three
 * static tables of units (bytes, time, GCU) with aliases and factors; a unit
 * name is "sniffed" by lower-casing it and dropping a plural "s".
 * Alternatives rejected: formatting with our own rounding rules (would drift
 * from the oracle in the last digit) and locale-aware printf (the oracle
 * ignores locale; we call only "C"-locale-safe conversions).
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "analysis/units.h"

typedef struct unit {
    const char *name;
    const char *aliases[4];
    double factor;
} unit;

typedef struct unit_type {
    unit units[10];
    size_t n;
    unit dflt;
} unit_type;

static const unit_type types[] = {
    {{{"B", {"b", "byte"}, 1},
      {"kB", {"kb", "kbyte", "kilobyte"}, 1024.0},
      {"MB", {"mb", "mbyte", "megabyte"}, 1048576.0},
      {"GB", {"gb", "gbyte", "gigabyte"}, 1073741824.0},
      {"TB", {"tb", "tbyte", "terabyte"}, 1099511627776.0},
      {"PB", {"pb", "pbyte", "petabyte"}, 1125899906842624.0}},
     6,
     {"B", {"b", "byte"}, 1}},
    {{{"ns", {"ns", "nanosecond"}, 1},
      {"us", {"\xce\xbcs", "us", "microsecond"}, 1e3},
      {"ms", {"ms", "millisecond"}, 1e6},
      {"s", {"s", "sec", "second"}, 1e9},
      {"hrs", {"hour", "hr"}, 3600e9}},
     5,
     {"s", {NULL}, 1e9}},
    {{{"n*GCU", {"nanogcu"}, 1e-9},
      {"u*GCU", {"microgcu"}, 1e-6},
      {"m*GCU", {"milligcu"}, 1e-3},
      {"GCU", {"gcu"}, 1},
      {"k*GCU", {"kilogcu"}, 1e3},
      {"M*GCU", {"megagcu"}, 1e6},
      {"G*GCU", {"gigagcu"}, 1e9},
      {"T*GCU", {"teragcu"}, 1e12},
      {"P*GCU", {"petagcu"}, 1e15}},
     9,
     {"GCU", {NULL}, 1}},
};

static const unit *sniff(const unit_type *t, const char *name)
{
    char low[64];
    size_t n = strlen(name);
    if (n >= sizeof low)
        return NULL;
    for (size_t i = 0; i <= n; i++) {
        char c = name[i];
        low[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    if (n > 2 && low[n - 1] == 's')
        low[n - 1] = 0;
    for (size_t i = 0; i < t->n; i++)
        for (size_t a = 0; a < 4 && t->units[i].aliases[a]; a++)
            if (!strcmp(low, t->units[i].aliases[a]))
                return &t->units[i];
    return NULL;
}

int cp_units_kind(const char *u)
{
    for (int i = 0; i < 3; i++)
        if (sniff(&types[i], u))
            return i;
    return -1;
}

static int is_auto(const char *to)
{
    return !strcmp(to, "minimum") || !strcmp(to, "auto");
}

/* What cp_units_scale looks up for a (from, to) pair: reports format
 * millions of values with the same pair, so the last one is remembered
 * (per thread: the contract is [thread-safe]). */
typedef struct scale_plan {
    char from[64], to[64];
    bool valid;
    int type;           /* index into types, -1 = none of them */
    const unit *fu, *tu; /* tu NULL: the type's default (or auto) */
    bool autom;
} scale_plan;

static const scale_plan *plan_for(const char *from, const char *to)
{
    static _Thread_local scale_plan pl;
    size_t fl = strlen(from), tl = strlen(to);
    if (pl.valid && !strcmp(pl.from, from) && !strcmp(pl.to, to))
        return &pl;
    scale_plan np = {.valid = fl < sizeof np.from && tl < sizeof np.to, .type = -1};
    np.autom = is_auto(to);
    for (int i = 0; i < 3 && np.type < 0; i++) {
        if (!(np.fu = sniff(&types[i], from)))
            continue;
        np.type = i;
        np.tu = np.autom ? NULL : sniff(&types[i], to);
    }
    if (np.valid) {
        memcpy(np.from, from, fl + 1);
        memcpy(np.to, to, tl + 1);
    }
    pl = np;
    return &pl;
}

double cp_units_scale(int64_t value, const char *from, const char *to, const char **unit_out)
{
    /* go: `if value < 0 && -value > 0` — INT64_MIN negates to itself and
     * goes on negative (in C its negation is undefined) */
    if (value < 0 && value != INT64_MIN) {
        double v = cp_units_scale(-value, from, to, unit_out);
        return -v;
    }
    const scale_plan *pl = plan_for(from, to);
    if (pl->type >= 0) {
        const unit_type *t = &types[pl->type];
        double v = (double)value * pl->fu->factor;
        if (pl->autom) {
            double f = 0;
            const char *name = NULL;
            for (size_t k = 0; k < t->n; k++)
                if (t->units[k].factor >= f && v / t->units[k].factor >= 1.0) {
                    f = t->units[k].factor;
                    name = t->units[k].name;
                }
            if (f != 0) {
                *unit_out = name;
                return v / f;
            }
            *unit_out = t->dflt.name;
            return v / t->dflt.factor;
        }
        if (!pl->tu) {
            *unit_out = t->dflt.name;
            return v / t->dflt.factor;
        }
        *unit_out = pl->tu->name;
        return v / pl->tu->factor;
    }
    if (!strcmp(to, "count") || !strcmp(to, "sample") || !strcmp(to, "unit") || pl->autom) {
        *unit_out = "";
        return (double)value;
    }
    *unit_out = to;
    return (double)value;
}

/* buf = a + b, cut to n bytes as snprintf would (without its cost) */
static void put2(char *buf, size_t n, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (!n)
        return;
    if (la >= n)
        la = n - 1;
    memcpy(buf, a, la);
    if (lb > n - 1 - la)
        lb = n - 1 - la;
    memcpy(buf + la, b, lb);
    buf[la + lb] = 0;
}

/* a >= 0 in hundredths, rounded as printf rounds the exact value; false
 * when a*100 is within 1e-6 of a half (too close to tell: printf decides). */
static bool hundredths(double a, uint64_t *h)
{
    double t = a * 100, k = floor(t);
    if (fabs(t - k - 0.5) < 1e-6)
        return false;
    *h = (uint64_t)k + (t - k > 0.5);
    return true;
}

/* h hundredths as "I.FF", written backwards to end just before tmp[w]; the
 * ".FF" left out when trim and h is whole.  Returns the new start. */
static size_t put_hundredths(char *tmp, size_t w, uint64_t h, bool trim)
{
    if (!trim || h % 100) {
        tmp[--w] = (char)('0' + h % 10);
        tmp[--w] = (char)('0' + h / 10 % 10);
        tmp[--w] = '.';
    }
    h /= 100;
    do {
        tmp[--w] = (char)('0' + h % 10);
        h /= 10;
    } while (h);
    return w;
}

/* "%.2f" of v with the ".00" already trimmed, by hand (printf's float path
 * was a tenth of peek's time): hundredths rounded as printf rounds the exact
 * value.  Only where that is certain: |v| < 1e7 (so v*100 is off by less
 * than 1e-6) and not within 1e-6 of a half; otherwise false, and the caller
 * asks printf.  A result of 0 or -0 is left to the caller too. */
static bool fixed2(char *out, size_t n, double v)
{
    double a = fabs(v);
    if (!(a < 1e7) || n < 24)
        return false;
    uint64_t h;
    if (!hundredths(a, &h) || h == 0)
        return false;
    char tmp[24];
    size_t w = sizeof tmp;
    tmp[--w] = 0;
    w = put_hundredths(tmp, w, h, true);
    if (v < 0)
        tmp[--w] = '-';
    memcpy(out, tmp + w, sizeof tmp - w);
    return true;
}

void cp_units_label(char *buf, size_t n, int64_t value, const char *from, const char *to)
{
    const char *u = "";
    double v = cp_units_scale(value, from, to, &u);
    char num[64];
    if (v == 0) {
        snprintf(buf, n, "0");
        return;
    }
    if (fabs(v) < 1e15 && v == floor(v)) {
        /* a whole number: "%.2f" would end in ".00", which is trimmed */
        char tmp[24];
        size_t w = sizeof tmp;
        uint64_t x = (uint64_t)fabs(v);
        tmp[--w] = 0;
        do {
            tmp[--w] = (char)('0' + x % 10);
            x /= 10;
        } while (x);
        if (v < 0)
            tmp[--w] = '-';
        put2(buf, n, tmp + w, u);
        return;
    }
    if (fixed2(num, sizeof num, v)) {
        put2(buf, n, num, u);
        return;
    }
    snprintf(num, sizeof num, "%.2f", v);
    size_t len = strlen(num);
    if (len >= 3 && !strcmp(num + len - 3, ".00"))
        num[len - 3] = 0;
    if (!strcmp(num, "0") || !strcmp(num, "-0")) {
        snprintf(buf, n, "0");
        return;
    }
    snprintf(buf, n, "%s%s", num, u);
}

/* "%5.2g%%" of 0 <= r < 1 by hand where the answer is certain (r >= 1e-4,
 * so never an exponent; the two significant digits not within 1e-9 of a
 * half or of a change of exponent); false: ask printf.  Small percentages
 * are most of the edges tree and peek print. */
static bool small_pct(char *buf, size_t n, double r)
{
    static const double scale[] = {100, 1e3, 1e4, 1e5};
    char tmp[16];
    size_t w = 0;
    if (n < sizeof tmp)
        return false;
    if (r == 0) {
        memcpy(buf, "    0%", 7);
        return true;
    }
    int z; /* zeros after the point */
    if (r >= 0.1)
        z = 0;
    else if (r >= 0.01)
        z = 1;
    else if (r >= 0.001)
        z = 2;
    else if (r >= 0.0001)
        z = 3;
    else
        return false;
    double m = r * scale[z], k = floor(m);
    if (fabs(m - k - 0.5) < 1e-9)
        return false;
    unsigned d = (unsigned)k + (m - k > 0.5);
    if (d < 10 || d > 99)
        return false;
    tmp[w++] = '0';
    tmp[w++] = '.';
    for (int i = 0; i < z; i++)
        tmp[w++] = '0';
    tmp[w++] = (char)('0' + d / 10);
    if (d % 10)
        tmp[w++] = (char)('0' + d % 10);
    size_t pad = w < 5 ? 5 - w : 0;
    memset(buf, ' ', pad);
    memcpy(buf + pad, tmp, w);
    buf[pad + w] = '%';
    buf[pad + w + 1] = 0;
    return true;
}

void cp_units_percentage(char *buf, size_t n, int64_t value, int64_t total)
{
    double ratio = 0;
    if (total != 0)
        ratio = fabs((double)value / (double)total) * 100;
    if (ratio >= 99.95 && ratio <= 100.05) {
        snprintf(buf, n, "  100%%");
    } else if (ratio >= 1.0 && ratio < 1e12 && n >= 24) {
        /* "%5.2f%%" by hand: hundredths rounded as printf rounds the
         * exact value; too close to a half to tell, printf decides */
        uint64_t h;
        if (!hundredths(ratio, &h)) {
            snprintf(buf, n, "%5.2f%%", ratio);
            return;
        }
        char tmp[24];
        size_t w = sizeof tmp;
        tmp[--w] = 0;
        tmp[--w] = '%';
        w = put_hundredths(tmp, w, h, false);
        while (sizeof tmp - w < 7) /* width 5 plus '%' and NUL */
            tmp[--w] = ' ';
        memcpy(buf, tmp + w, sizeof tmp - w);
    } else if (ratio >= 1.0)
        snprintf(buf, n, "%5.2f%%", ratio);
    else if (!small_pct(buf, n, ratio))
        snprintf(buf, n, "%5.2g%%", ratio);
}

/* Go's fmtFrac/fmtInt from time/time.go, written backwards into a buffer. */
static size_t fmt_frac(char *buf, size_t w, uint64_t v, int prec, uint64_t *nv)
{
    int print = 0;
    for (int i = 0; i < prec; i++) {
        int digit = (int)(v % 10);
        print = print || digit != 0;
        if (print) {
            buf[--w] = (char)('0' + digit);
        }
        v /= 10;
    }
    if (print)
        buf[--w] = '.';
    *nv = v;
    return w;
}

static size_t fmt_int(char *buf, size_t w, uint64_t v)
{
    if (v == 0) {
        buf[--w] = '0';
        return w;
    }
    while (v > 0) {
        buf[--w] = (char)('0' + v % 10);
        v /= 10;
    }
    return w;
}

void cp_units_go_duration(char *out, size_t n, int64_t d)
{
    char buf[32];
    size_t w = sizeof buf;
    uint64_t u = (uint64_t)d;
    int neg = d < 0;
    if (neg)
        u = -u;
    if (u < 1000000000ull) {
        int prec = 0;
        buf[--w] = 's';
        w--;
        if (u == 0) {
            snprintf(out, n, "0s");
            return;
        } else if (u < 1000ull) {
            prec = 0;
            buf[w] = 'n';
        } else if (u < 1000000ull) {
            prec = 3;
            /* U+00B5 'µ' micro sign, two bytes */
            w--;
            memcpy(buf + w, "\xc2\xb5", 2);
        } else {
            prec = 6;
            buf[w] = 'm';
        }
        w = fmt_frac(buf, w, u, prec, &u);
        w = fmt_int(buf, w, u);
    } else {
        buf[--w] = 's';
        w = fmt_frac(buf, w, u, 9, &u);
        w = fmt_int(buf, w, u % 60);
        u /= 60;
        if (u > 0) {
            buf[--w] = 'm';
            w = fmt_int(buf, w, u % 60);
            u /= 60;
            if (u > 0) {
                buf[--w] = 'h';
                w = fmt_int(buf, w, u);
            }
        }
    }
    if (neg)
        buf[--w] = '-';
    snprintf(out, n, "%.*s", (int)(sizeof buf - w), buf + w);
}

void cp_units_go_time(char *buf, size_t n, int64_t unix_ns)
{
    time_t secs = (time_t)(unix_ns / 1000000000);
    int64_t frac = unix_ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        secs--;
    }
    struct tm tm;
    localtime_r(&secs, &tm);
    char fr[16] = "";
    if (frac) {
        snprintf(fr, sizeof fr, ".%09lld", (long long)frac);
        size_t l = strlen(fr);
        while (l > 1 && fr[l - 1] == '0')
            fr[--l] = 0;
    }
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    snprintf(buf, n, "%04d-%02d-%02d %02d:%02d:%02d%s %c%02ld%02ld %s", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fr, sign, off / 3600,
             (off / 60) % 60, tm.tm_zone ? tm.tm_zone : "");
}

void cp_units_header_time(char *buf, size_t n, int64_t unix_ns)
{
    static const char *mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t s = unix_ns / 1000000000;
    if (unix_ns % 1000000000 < 0)
        s--;
    time_t secs = (time_t)s;
    struct tm tm;
    localtime_r(&secs, &tm);
    int h = tm.tm_hour % 12;
    if (h == 0)
        h = 12;
    snprintf(buf, n, "%s %d, %d at %d:%02d%s (%s)", mon[tm.tm_mon], tm.tm_mday,
             tm.tm_year + 1900, h, tm.tm_min, tm.tm_hour >= 12 ? "pm" : "am",
             tm.tm_zone ? tm.tm_zone : "");
}
