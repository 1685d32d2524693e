/* procmaps.c — executable mappings of the process, with build ids.
 *
 * What: one pass over /proc/self/maps keeps the executable mappings
 * (start, limit, file offset, path); build ids come from the loaded
 * objects' PT_NOTE segments in memory (dl_iterate_phdr), which describe
 * exactly the code that runs even if the file on disk was replaced since;
 * a mapping no loaded object covers (or a parsed maps text of another
 * process) gets its build id from the file on disk (cp_elfsym: libcprof
 * links no libelf).
 *
 * Data structure: an array sorted by start address (the kernel lists
 * mappings in address order), searched by bisection; each entry remembers
 * the id a builder gave it, so a mapping enters a profile once and only
 * when a sample uses it.
 *
 * Alternatives rejected: reading the ELF header through the r--p mapping
 * at offset 0 (that mapping is not always the one before the code, and
 * reading memory we did not map ourselves needs more care than the
 * loader's own list gives for free); adding every mapping up front (pprof
 * expects only the mappings a profile uses, with the main binary first).
 */
#include "collect/procmaps.h"

#include <elf.h>
#include <inttypes.h>
#include <stdbool.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/hashmap.h"
#include "cprof.h"
#include "symbolize/elfsym.h"

#define BUILD_ID_MAX 64

typedef struct pm_entry {
    uint64_t start, limit, offset;
    char *path;
    char build_id[2 * BUILD_ID_MAX + 1];
    uint64_t id; /* builder id, 0 until added */
} pm_entry;

struct cp_procmaps {
    pm_entry *e;
    size_t n, cap;
    size_t main; /* index of the main executable's mapping, or n */
    uint64_t text_hash; /* of the executable lines of the text it was read from */
    size_t text_len;
};

static void hex(char *out, const unsigned char *bits, size_t n)
{
    cp_hex(out, bits, n > BUILD_ID_MAX ? BUILD_ID_MAX : n);
}

static void build_id_from_file(pm_entry *e)
{
    if (e->path[0] != '/')
        return;
    cp_elfsym_file_build_id(e->path, e->build_id);
}

/* The GNU build id note in one PT_NOTE segment at addr, or 0. */
static size_t note_build_id(const unsigned char *p, size_t size, size_t align,
                            const unsigned char **bits)
{
    size_t off = 0;
    while (off + sizeof(ElfW(Nhdr)) <= size) {
        ElfW(Nhdr) nh;
        memcpy(&nh, p + off, sizeof nh);
        size_t name_off = off + sizeof nh;
        size_t desc_off = name_off + ((nh.n_namesz + align - 1) & ~(align - 1));
        size_t next = desc_off + ((nh.n_descsz + align - 1) & ~(align - 1));
        if (desc_off > size || next > size || next <= off)
            return 0;
        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && !memcmp(p + name_off, "GNU", 4)) {
            *bits = p + desc_off;
            return nh.n_descsz;
        }
        off = next;
    }
    return 0;
}

/* A note is read from memory only when a loaded segment holds it. */
static bool note_is_loaded(const struct dl_phdr_info *info, const ElfW(Phdr) *note)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && note->p_vaddr >= ph->p_vaddr &&
            note->p_vaddr + note->p_memsz <= ph->p_vaddr + ph->p_filesz)
            return true;
    }
    return false;
}

static int object_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    cp_procmaps *m = arg;
    const unsigned char *bits = NULL;
    size_t nbits = 0;
    for (int i = 0; i < info->dlpi_phnum && !nbits; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_NOTE && note_is_loaded(info, ph))
            nbits = note_build_id((const unsigned char *)(info->dlpi_addr + ph->p_vaddr),
                                  ph->p_memsz, ph->p_align == 8 ? 8 : 4, &bits);
    }
    if (!nbits)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uint64_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        for (size_t k = 0; k < m->n; k++)
            if (m->e[k].start < hi && m->e[k].limit > lo)
                hex(m->e[k].build_id, bits, nbits);
    }
    return 0;
}

static int parse_line(cp_procmaps *m, const char *line, size_t len)
{
    char buf[4096 + 256];
    if (len >= sizeof buf)
        len = sizeof buf - 1;
    memcpy(buf, line, len);
    buf[len] = 0;
    uint64_t start, limit, offset;
    char perms[8];
    int pos = 0;
    if (sscanf(buf, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*u %n", &start, &limit, perms,
               &offset, &pos) != 4 || pos == 0)
        return 0; /* not a mapping line: skip it */
    if (strlen(perms) < 3 || perms[2] != 'x')
        return 0;
    const char *path = buf + pos;
    while (*path == ' ')
        path++;
    if (cp_grow(&m->e, &m->cap, m->n + 1, sizeof *m->e))
        return CPROF_ENOMEM;
    pm_entry *e = &m->e[m->n];
    memset(e, 0, sizeof *e);
    e->start = start;
    e->limit = limit;
    e->offset = offset;
    if (!(e->path = strdup(path)))
        return CPROF_ENOMEM;
    m->n++;
    return 0;
}

static cp_procmaps *parse(const char *text, size_t len)
{
    cp_procmaps *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        if (parse_line(m, text + i, end - i)) {
            cp_procmaps_free(m);
            return NULL;
        }
        i = end + 1;
    }
    m->main = m->n;
    return m;
}

cp_procmaps *cp_procmaps_parse(const char *text, size_t len)
{
    cp_procmaps *m = parse(text, len);
    if (!m)
        return NULL;
    for (size_t i = 0; i < m->n; i++) {
        build_id_from_file(&m->e[i]);
        if (m->main == m->n && m->e[i].path[0] == '/')
            m->main = i;
    }
    return m;
}

/* Build ids and the main executable of a freshly parsed snapshot. */
static cp_procmaps *finish_load(cp_procmaps *m)
{
    if (!m)
        return NULL;
    dl_iterate_phdr(object_cb, m);

    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    for (size_t i = 0; i < m->n; i++) {
        pm_entry *e = &m->e[i];
        if (!e->build_id[0])
            build_id_from_file(e);
        if (m->main == m->n && exe[0] && !strcmp(e->path, exe))
            m->main = i;
    }
    return m;
}

static uint64_t stamp_of(uint64_t hash, size_t len)
{
    return cp_hash_u64(hash ^ (uint64_t)len) | 1;
}

uint64_t cp_procmaps_stamp(const cp_procmaps *m)
{
    return m ? stamp_of(m->text_hash, m->text_len) : 0;
}

/* A hash of the executable lines only (what a snapshot keeps): thread
 * stacks and heap growth change the text all the time, code rarely.
 * Sets *len to their total length. */
static uint64_t code_hash(const char *text, size_t len, size_t *code_len)
{
    uint64_t h = 0x6d617073;
    *code_len = 0;
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        const char *sp = memchr(text + i, ' ', end - i);
        if (sp && (size_t)(sp - text) + 3 < end && sp[3] == 'x') {
            h = cp_hash_bytes(text + i, end - i, h);
            *code_len += end - i;
        }
        i = end + 1;
    }
    return h;
}

cp_procmaps *cp_procmaps_load_if_changed(uint64_t stamp, bool *same)
{
    cp_buf text = {0};
    cp_procmaps *m = NULL;
    *same = false;
    if (cp_buf_read_file(&text, "/proc/self/maps", 64u << 20) != 0)
        goto out;
    size_t code_len;
    uint64_t h = code_hash((const char *)text.data, text.len, &code_len);
    if (stamp && stamp == stamp_of(h, code_len)) {
        *same = true;
        goto out;
    }
    if ((m = parse((const char *)text.data, text.len)) != NULL) {
        m->text_hash = h;
        m->text_len = code_len;
        m = finish_load(m);
    }
out:
    cp_buf_free(&text);
    return m;
}

cp_procmaps *cp_procmaps_load(void)
{
    bool same;
    return cp_procmaps_load_if_changed(0, &same);
}

static size_t find(const cp_procmaps *m, uint64_t addr)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (addr < m->e[mid].start)
            hi = mid;
        else if (addr >= m->e[mid].limit)
            lo = mid + 1;
        else
            return mid;
    }
    return m->n;
}

static uint64_t add(cp_pbuilder *b, pm_entry *e)
{
    if (!e->id)
        e->id = cp_pbuilder_mapping(b, e->start, e->limit, e->offset, e->path, e->build_id,
                                    false, false, false, false);
    return e->id;
}

uint64_t cp_procmaps_mapping_id(cp_procmaps *m, cp_pbuilder *b, uint64_t addr)
{
    if (!m)
        return 0;
    size_t i = find(m, addr);
    if (i == m->n)
        return 0;
    if (m->main < m->n && !add(b, &m->e[m->main]))
        return 0;
    return add(b, &m->e[i]);
}

static bool info(const cp_procmaps *m, size_t i, cp_procmap_info *out)
{
    if (!m || i >= m->n)
        return false;
    const pm_entry *e = &m->e[i];
    *out = (cp_procmap_info){e->start, e->limit, e->offset, e->path, e->build_id};
    return true;
}

bool cp_procmaps_lookup(const cp_procmaps *m, uint64_t addr, cp_procmap_info *out)
{
    return m && info(m, find(m, addr), out);
}

bool cp_procmaps_main(const cp_procmaps *m, cp_procmap_info *out)
{
    return m && info(m, m->main, out);
}

void cp_procmaps_reset(cp_procmaps *m)
{
    for (size_t i = 0; m && i < m->n; i++)
        m->e[i].id = 0;
}

size_t cp_procmaps_count(const cp_procmaps *m) { return m ? m->n : 0; }

void cp_procmaps_free(cp_procmaps *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        free(m->e[i].path);
    free(m->e);
    free(m);
}
