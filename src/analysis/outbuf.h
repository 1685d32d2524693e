/* outbuf.h — the text reports' output block: lines are copied into 1 MiB
 * and handed to the FILE whole.
 *
 * Contract: cp_obuf_* append bytes to a caller-owned block and fwrite it to
 * o->out when full and at cp_obuf_flush.  A report that mixes this with
 * stdio on the same FILE must flush before writing to the FILE directly
 * (the order of the text is then kept: glibc writes its own buffer before
 * a whole block).  traces, tree and peek write ~0.5 GB of text at 150k
 * stacks: one memcpy per piece instead of stdio's per-call locking and
 * copying, and whole-block writes instead of one write(2) per 4 KiB.
 * Not thread-safe (one block per report).
 */
#ifndef CP_ANALYSIS_OUTBUF_H
#define CP_ANALYSIS_OUTBUF_H

#include <stdio.h>
#include <string.h>

typedef struct cp_obuf {
    FILE *out;
    size_t n;
    char buf[1 << 20];
} cp_obuf;

static inline void cp_obuf_flush(cp_obuf *o)
{
    if (o->n)
        fwrite(o->buf, 1, o->n, o->out);
    o->n = 0;
}

static inline void cp_obuf_put(cp_obuf *o, const char *s, size_t len)
{
    if (o->n + len > sizeof o->buf) {
        cp_obuf_flush(o);
        if (len > sizeof o->buf) { /* a giant piece: straight through */
            fwrite(s, 1, len, o->out);
            return;
        }
    }
    memcpy(o->buf + o->n, s, len);
    o->n += len;
}

/* Where up to `need` bytes may be written at once (the block flushed first
 * if they would not fit), to be committed by setting o->n; NULL when need
 * is more than a block.  For writers that copy fixed-size runs past the
 * end of what they mean, then advance by what they mean. */
static inline char *cp_obuf_room(cp_obuf *o, size_t need)
{
    if (need > sizeof o->buf)
        return NULL;
    if (o->n + need > sizeof o->buf)
        cp_obuf_flush(o);
    return o->buf + o->n;
}

static inline void cp_obuf_puts(cp_obuf *o, const char *s)
{
    cp_obuf_put(o, s, strlen(s));
}

/* s right-aligned in width columns (bytes, as go's %Ns for ASCII). */
static inline void cp_obuf_pad(cp_obuf *o, const char *s, size_t width)
{
    static const char spaces[] = "                                                  ";
    size_t len = strlen(s);
    while (len < width) {
        size_t k = width - len < sizeof spaces - 1 ? width - len : sizeof spaces - 1;
        cp_obuf_put(o, spaces, k);
        width -= k;
    }
    cp_obuf_put(o, s, len);
}

#endif
