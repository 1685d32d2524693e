/* fastgz.c — the cprof command's gzip: libdeflate inflates, ISA-L
 * deflates, zlib behind both.
 *
 * What: inflating the input and deflating merge/proto output were over 40%
 * of a large merge's cycles, in zlib.  libdeflate inflates two to three
 * times faster, ISA-L's igzip (Debian libisal-dev) deflates about eight
 * times faster than zlib level 1 for the same size (level 2 of its four);
 * neither streams the way zlib does, so neither zlib's framing of a
 * stream cut in two nor gzip.c's windowed bomb rule can be had from them
 * directly.
 *
 * Writing: the data comes in pieces (cp_cli_gzip_to: the encoder's
 * pieces of a few MB, or CP_CLI_GZ_MEMBER-byte slices of a buffer); two
 * threads take pieces in turn, make each and compress it into members of
 * at most CP_CLI_GZ_MEMBER input bytes, each a complete gzip member (RFC
 * 1952 allows any number; zlib, Go's compress/gzip and so go tool pprof
 * read them as one stream) whose header carries an extra subfield "CP"
 * holding the member's own size in bytes.  The compressed pieces go to a
 * sink in order as they are done (cp_cli_gzip_to): whichever thread
 * finishes the next piece in order hands it, and the done ones after it,
 * to the sink under a mutex, so writing a file overlaps compressing.
 *
 * Reading: members are found without inflating — by the "CP" size field,
 * or, for a file without it, by taking the whole file as one member — and
 * each member's output size is its trailer's ISIZE, so the output buffer is
 * allocated once and members inflate into their own places, on two threads
 * when there are several.  The fast path is taken only where it can
 * answer as cp_gunzip would: every member's ISIZE at most
 * CP_CLI_GZ_FAST_RATIO times the member's size (pprof compresses 2-10x),
 * the total under max_out, and every member inflating to exactly its
 * ISIZE from exactly its bytes with a correct CRC.  Anything else
 * (several members without the field, as `cat a.gz b.gz` makes; a trailer
 * that lies; zero padding; corrupt or truncated data; a bomb) goes to
 * cp_gunzip from the start, which gives the verdict and the message it
 * always gave.  A member that passes is at most CP_CLI_GZ_FAST_RATIO
 * times its size, so a lying trailer costs at most that much memory
 * before zlib takes over; what the fast path does not do is refuse a
 * >100x stretch hidden inside a member whose whole ratio is modest (the
 * window rule needs the input offset of every output window, which a
 * whole-buffer inflater does not give): such a file, at most
 * CP_CLI_GZ_FAST_RATIO times its size, is inflated and handed to the
 * decoder, which checks every field against the bytes it has.  Members cprof
 * writes are at most one bomb window (CP_GZ_WINDOW) of output each.
 *
 * Rejected: zlib's inflate with a libdeflate deflate only (half the gain);
 * libdeflate's deflate at level 1 (ISA-L level 2: 1.5% larger output at a
 * third of the time); ISA-L's inflate (no faster than libdeflate's here);
 * a single member by deflating halves as raw streams (libdeflate ends
 * every stream with a final block; there is no sync flush to splice on);
 * growing the output by retrying on LIBDEFLATE_INSUFFICIENT_SPACE
 * (inflates twice; the trailer or the size field says the size); linking
 * libdeflate into src/profile (libcprof.so would carry it into every
 * profiled program).
 */
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/prefault.h"
#include "cli/fastgz.h"
#include "cprof.h"

/* A member larger than this ratio of its size goes to zlib's window rule. */
#define CP_CLI_GZ_FAST_RATIO 32u
_Static_assert(CP_CLI_GZ_MEMBER <= CP_GZ_WINDOW, "a member written is at most one bomb window");
#define HEAD_LEN 20 /* 10 fixed bytes, XLEN, one 8-byte subfield */
#define TAIL_LEN 8

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* The "CP" size field of the gzip header at p (left bytes), or 0 if the
 * header has none. */
static size_t size_field(const unsigned char *p, size_t left)
{
    if (left < 12 || p[2] != 8 || !(p[3] & 4))
        return 0;
    size_t xlen = (size_t)p[10] | (size_t)p[11] << 8;
    if (xlen > left - 12)
        return 0;
    for (size_t o = 12; o + 4 <= 12 + xlen;) {
        size_t sub = (size_t)p[o + 2] | (size_t)p[o + 3] << 8;
        if (o + 4 + sub > 12 + xlen)
            return 0;
        if (p[o] == 'C' && p[o + 1] == 'P' && sub == 4)
            return get_le32(p + o + 4);
        o += 4 + sub;
    }
    return 0;
}

typedef struct member {
    size_t in_off, in_len, out_off, out_len;
} member;

typedef struct inflate_job {
    const unsigned char *in;
    unsigned char *out;
    const member *m;
    size_t n;
    atomic_size_t next;
    atomic_bool bad;
} inflate_job;

static void *inflate_some(void *arg)
{
    inflate_job *j = arg;
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (!d) {
        atomic_store(&j->bad, true);
        return NULL;
    }
    for (size_t i; !atomic_load(&j->bad) && (i = atomic_fetch_add(&j->next, 1)) < j->n;) {
        const member *m = &j->m[i];
        size_t used = 0, got = 0;
        enum libdeflate_result r =
            libdeflate_gzip_decompress_ex(d, j->in + m->in_off, m->in_len, j->out + m->out_off,
                                          m->out_len, &used, &got);
        if (r != LIBDEFLATE_SUCCESS || used != m->in_len || got != m->out_len)
            atomic_store(&j->bad, true);
    }
    libdeflate_free_decompressor(d);
    return NULL;
}

/* The members of [data, data+len) for the fast path, into *ms (malloc'd);
 * their count, or 0 where the fast path declines. */
static size_t find_members(const unsigned char *data, size_t len, size_t max_out, member **ms)
{
    size_t n = 0, cap = 0, total = 0;
    member *m = NULL;
    for (size_t pos = 0; pos < len;) {
        size_t size = size_field(data + pos, len - pos);
        if (!size && n == 0)
            size = len; /* one member: the whole file */
        if (size < HEAD_LEN + TAIL_LEN || size > len - pos || !cp_is_gzip(data + pos, size))
            goto decline;
        size_t isize = get_le32(data + pos + size - 4);
        if (isize / CP_CLI_GZ_FAST_RATIO > size || isize >= max_out - total)
            goto decline;
        if (cp_grow(&m, &cap, n + 1, sizeof *m))
            goto decline;
        m[n++] = (member){.in_off = pos, .in_len = size, .out_off = total, .out_len = isize};
        total += isize;
        pos += size;
    }
    *ms = m;
    return n;
decline:
    free(m);
    return 0;
}

bool cp_cli_inflate_fast(const void *data, size_t len, size_t max_out, cp_buf *out)
{
    member *m = NULL;
    size_t n = cp_is_gzip(data, len) ? find_members(data, len, max_out, &m) : 0;
    if (!n)
        return false;
    size_t start = out->len;
    size_t total = m[n - 1].out_off + m[n - 1].out_len;
    inflate_job j = {.in = data, .m = m, .n = n};
    atomic_init(&j.next, 0);
    atomic_init(&j.bad, cp_buf_reserve(out, total ? total : 1) != 0);
    if (!atomic_load(&j.bad)) {
        j.out = out->data + start;
        cp_prefault_range(j.out, total); /* written whole */
        pthread_t t;
        bool two = n > 1 && total >= (1u << 20) && pthread_create(&t, NULL, inflate_some, &j) == 0;
        inflate_some(&j);
        if (two)
            pthread_join(t, NULL);
    }
    free(m);
    if (atomic_load(&j.bad))
        return false;
    out->len = start + total;
    return true;
}

int cp_cli_gunzip(const void *data, size_t len, size_t max_out, cp_buf *out, cp_diag *diag)
{
    if (cp_cli_inflate_fast(data, len, max_out, out))
        return 0;
    return cp_gunzip(data, len, max_out, out, diag);
}

/* A thread's compressor: ISA-L's stateless deflate and its level buffer;
 * libdeflate for a member ISA-L cannot fit in the bound (never seen:
 * ISA-L falls back to stored blocks itself). */
typedef struct deflater {
    unsigned char *lbuf;
    struct libdeflate_compressor *spare;
} deflater;

#define ISAL_LEVEL 2
#define ISAL_LBUF ISAL_DEF_LVL2_DEFAULT

/* One member: header with its size, raw deflate, CRC and ISIZE. */
static int deflate_member(deflater *d, const unsigned char *in, size_t len, cp_buf *out)
{
    size_t bound = len + len / 8 + 4096;
    if (cp_buf_reserve(out, HEAD_LEN + bound + TAIL_LEN))
        return CPROF_ENOMEM;
    unsigned char *p = out->data + out->len;
    /* gzip, FEXTRA, no time, XFL 0, OS unix; XLEN 8: the "CP" subfield */
    static const unsigned char head[16] = {0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 3, 8, 0, 'C', 'P', 4, 0};
    memcpy(p, head, sizeof head);
    struct isal_zstream z;
    isal_deflate_stateless_init(&z);
    z.level = ISAL_LEVEL;
    z.level_buf = d->lbuf;
    z.level_buf_size = ISAL_LBUF;
    z.gzip_flag = IGZIP_DEFLATE;
    z.end_of_stream = 1;
    z.flush = NO_FLUSH;
    z.next_in = (uint8_t *)in;
    z.avail_in = (uint32_t)len;
    z.next_out = p + HEAD_LEN;
    z.avail_out = (uint32_t)bound;
    size_t zlen;
    if (isal_deflate_stateless(&z) == COMP_OK) {
        zlen = z.total_out;
    } else {
        if (!d->spare && !(d->spare = libdeflate_alloc_compressor(1)))
            return CPROF_ENOMEM;
        if (libdeflate_deflate_compress_bound(d->spare, len) > bound)
            return CPROF_ENOMEM; /* cannot happen: len/8 + 4096 covers it */
        if (!(zlen = libdeflate_deflate_compress(d->spare, in, len, p + HEAD_LEN, bound)))
            return CPROF_ENOMEM;
    }
    put_le32(p + 16, (uint32_t)(HEAD_LEN + zlen + TAIL_LEN));
    put_le32(p + HEAD_LEN + zlen, libdeflate_crc32(0, in, len));
    put_le32(p + HEAD_LEN + zlen + 4, (uint32_t)len);
    out->len += HEAD_LEN + zlen + TAIL_LEN;
    return 0;
}

typedef struct deflate_job {
    size_t n;
    cp_cli_piece_fn *make;
    void *ctx;
    cp_cli_sink_fn *sink;
    void *sctx;
    cp_buf *outs;
    pthread_mutex_t mu; /* the fields below, and calls to sink */
    bool *done;
    size_t written, total;
    cp_buf spare[4]; /* written pieces' buffers, kept for the next pieces */
    size_t nspare;
    atomic_size_t next;
    atomic_int rc;
} deflate_job;

/* Piece i is compressed: it and the pieces after it that are done too go
 * to the sink, in order, each freed once written.  Whichever thread
 * completes the next piece in order writes, while the other compresses. */
static void piece_done(deflate_job *j, size_t i)
{
    pthread_mutex_lock(&j->mu);
    j->done[i] = true;
    while (!atomic_load(&j->rc) && j->written < j->n && j->done[j->written]) {
        cp_buf *o = &j->outs[j->written++];
        int rc = o->len ? j->sink(j->sctx, o->data, o->len) : 0;
        if (rc)
            atomic_store(&j->rc, rc);
        j->total += o->len;
        if (j->nspare < sizeof j->spare / sizeof *j->spare) {
            o->len = 0;
            j->spare[j->nspare++] = *o;
            *o = (cp_buf){0};
        } else {
            cp_buf_free(o);
        }
    }
    pthread_mutex_unlock(&j->mu);
}

static void *deflate_some(void *arg)
{
    deflate_job *j = arg;
    deflater d = {.lbuf = malloc(ISAL_LBUF)};
    cp_buf raw = {0};
    if (!d.lbuf)
        atomic_store(&j->rc, CPROF_ENOMEM);
    for (size_t i; !atomic_load(&j->rc) && (i = atomic_fetch_add(&j->next, 1)) < j->n;) {
        raw.len = 0;
        pthread_mutex_lock(&j->mu); /* a written piece's pages, not fresh ones to fault in */
        if (j->nspare)
            j->outs[i] = j->spare[--j->nspare];
        pthread_mutex_unlock(&j->mu);
        int rc = j->make(j->ctx, i, &raw);
        for (size_t off = 0; !rc && off < raw.len; off += CP_CLI_GZ_MEMBER) {
            size_t len = raw.len - off < CP_CLI_GZ_MEMBER ? raw.len - off : CP_CLI_GZ_MEMBER;
            rc = deflate_member(&d, raw.data + off, len, &j->outs[i]);
        }
        if (rc)
            atomic_store(&j->rc, rc);
        else
            piece_done(j, i);
    }
    cp_buf_free(&raw);
    free(d.lbuf);
    libdeflate_free_compressor(d.spare);
    return NULL;
}

int cp_cli_gzip_to(size_t n, cp_cli_piece_fn *make, void *ctx, cp_cli_sink_fn *sink, void *sctx)
{
    deflate_job j = {.n = n, .make = make, .ctx = ctx, .sink = sink, .sctx = sctx};
    j.outs = calloc(n + 1, sizeof *j.outs);
    j.done = calloc(n + 1, sizeof *j.done);
    int rc = j.outs && j.done ? 0 : CPROF_ENOMEM;
    if (!rc) {
        pthread_mutex_init(&j.mu, NULL);
        atomic_init(&j.next, 0);
        atomic_init(&j.rc, 0);
        pthread_t t;
        bool two = n > 1 && pthread_create(&t, NULL, deflate_some, &j) == 0;
        deflate_some(&j);
        if (two)
            pthread_join(t, NULL);
        pthread_mutex_destroy(&j.mu);
        rc = atomic_load(&j.rc);
    }
    if (!rc && j.total == 0) { /* nothing at all: one empty member */
        deflater d = {.lbuf = malloc(ISAL_LBUF)};
        rc = d.lbuf ? deflate_member(&d, (const unsigned char *)"", 0, &j.outs[0])
                    : CPROF_ENOMEM;
        if (!rc)
            rc = sink(sctx, j.outs[0].data, j.outs[0].len);
        free(d.lbuf);
    }
    for (size_t i = 0; j.outs && i <= n; i++)
        cp_buf_free(&j.outs[i]);
    for (size_t i = 0; i < j.nspare; i++)
        cp_buf_free(&j.spare[i]);
    free(j.outs);
    free(j.done);
    return rc;
}

static int to_buf(void *ctx, const void *data, size_t len)
{
    return cp_buf_append(ctx, data, len);
}

int cp_cli_gzip_pieces(size_t n, cp_cli_piece_fn *make, void *ctx, cp_buf *out)
{
    return cp_cli_gzip_to(n, make, ctx, to_buf, out);
}

typedef struct slices {
    const unsigned char *data;
    size_t len;
} slices;

static int slice(void *ctx, size_t k, cp_buf *out)
{
    const slices *s = ctx;
    size_t off = k * (size_t)CP_CLI_GZ_MEMBER;
    size_t len = s->len - off < CP_CLI_GZ_MEMBER ? s->len - off : CP_CLI_GZ_MEMBER;
    return cp_buf_append(out, s->data + off, len);
}

int cp_cli_gzip_fast(const void *data, size_t len, cp_buf *out)
{
    slices s = {data, len};
    return cp_cli_gzip_pieces(len ? (len + CP_CLI_GZ_MEMBER - 1) / CP_CLI_GZ_MEMBER : 1, slice, &s,
                              out);
}

cp_decode_opts cp_cli_decode_opts(size_t max_decompressed)
{
    return (cp_decode_opts){
        .max_decompressed = max_decompressed, .gunzip = cp_cli_gunzip, .two_threads = true};
}

int cp_cli_read_profile_threads(const char *path, bool two_threads, cp_profile **out,
                                cp_diag *diag)
{
    cp_decode_opts o = cp_cli_decode_opts(0);
    o.two_threads = two_threads;
    return cp_profile_read_file_opts(path, &o, out, diag);
}

int cp_cli_read_profile(const char *path, cp_profile **out, cp_diag *diag)
{
    return cp_cli_read_profile_threads(path, true, out, diag);
}
