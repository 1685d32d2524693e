/* elfsym_int.h — what elfsym.c (files, sections, PLT) and elfsym_scan.c
 * (the symbol-table pass) share.  Internal to src/symbolize/. */
#ifndef CP_SYMBOLIZE_ELFSYM_INT_H
#define CP_SYMBOLIZE_ELFSYM_INT_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symbolize/elfsym.h"

/* One ELF file (or in-memory image) read in place. */
typedef struct cp_elfimg {
    const unsigned char *base;
    size_t size;
    bool mapped; /* mmap'ed by us: munmap at close, pages may be dropped */
    const Elf64_Ehdr *eh;
    const Elf64_Shdr *sh;
    size_t shnum;
    const Elf64_Shdr *shstr;
} cp_elfimg;

/* A PLT stub: [start, start + size) jumps through the GOT slot that
 * relocation relidx of section relsec fills; its name ("foo@plt") is made
 * the first time an address in it is asked for. */
typedef struct cp_elfsym_plt {
    uint64_t start, size;
    const char *name; /* owned */
    uint32_t relsec, relidx;
    bool resolved;
} cp_elfsym_plt;

struct cp_elfsym {
    cp_elfimg main, dbg;
    const cp_elfimg *symimg;   /* the image holding the chosen symbol table */
    const Elf64_Shdr *symsec;  /* debug file's .symtab, .symtab, .dynsym, or NULL */
    bool from_dbg;
    Elf64_Phdr *loads;
    size_t nloads;
    cp_elfsym_plt *plt; /* sorted by start */
    size_t nplt, plt_cap;
    char **owned;       /* strings made here ("foo@plt", names without @@) */
    size_t nowned, owned_cap;
    char build_id[2 * 64 + 1];
};

/* A section's bytes in the file, or NULL (no bits, compressed, out of
 * bounds). */
const unsigned char *cp_elfsym_sec_data(const cp_elfimg *im, const Elf64_Shdr *s, size_t *size);
/* A NUL-terminated string at off in a string table section, or NULL. */
const char *cp_elfsym_str_at(const cp_elfimg *im, const Elf64_Shdr *strsec, uint64_t off);
/* The section s->sh_link names, or NULL. */
const Elf64_Shdr *cp_elfsym_sec_link(const cp_elfimg *im, const Elf64_Shdr *s);
/* name[0..len) + suffix in a string f owns (freed at close), or NULL. */
const char *cp_elfsym_own(cp_elfsym *f, const char *name, size_t len, const char *suffix);
/* Name stub p (once).  0 or CPROF_ENOMEM; p->name stays NULL when the
 * relocation names nothing. */
int cp_elfsym_plt_name(cp_elfsym *f, cp_elfsym_plt *p);
/* Let the kernel drop our mapping's pages wholly inside [p, p + len):
 * read once, they need not count against the process's peak RSS. */
void cp_elfsym_release(const cp_elfimg *im, const void *p, size_t len);
/* The same for the 64 KiB-aligned window around p: what the kernel maps
 * around one page fault on a file (fault-around). */
void cp_elfsym_release_near(const cp_elfimg *im, const void *p);

#endif
