/*
 * _dl_find_object for musl, so that Debian's GCC unwinder (libgcc_eh.a,
 * built against glibc 2.36) works in musl programs. scripts/test-musl
 * compiles it with musl-gcc when it links Rust code with Debian's Rust
 * (-Zbuild-std), which has no musl unwinder of its own; see scripts/musl-cc.
 *
 * libgcc's _Unwind_Find_FDE asks glibc's _dl_find_object (glibc 2.35+) for
 * the PT_GNU_EH_FRAME segment of the object holding a code address, and
 * gives up if it fails. musl has no such function; this one answers the same
 * question with dl_iterate_phdr, which musl has. Test tooling only: nothing
 * of it is in the library.
 */
#define _GNU_SOURCE
#include <link.h>
#include <stddef.h>
#include <stdint.h>

/* glibc's <dlfcn.h> layout on x86_64 (no dlfo_eh_dbase, no dlfo_eh_count). */
struct dl_find_object {
    unsigned long long int dlfo_flags;
    void *dlfo_map_start;
    void *dlfo_map_end;
    void *dlfo_link_map;
    void *dlfo_eh_frame;
    unsigned long long int __dlfo_reserved[7];
};

struct query {
    uintptr_t pc;
    struct dl_find_object *out;
    int found;
};

static int visit(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct query *q = data;
    const ElfW(Phdr) *load = NULL, *eh = NULL;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + p->p_vaddr;
        if (p->p_type == PT_LOAD && q->pc >= start && q->pc - start < p->p_memsz)
            load = p;
        else if (p->p_type == PT_GNU_EH_FRAME)
            eh = p;
    }
    if (load == NULL)
        return 0; /* not this object: go on */
    q->out->dlfo_flags = 0;
    q->out->dlfo_map_start = (void *)(info->dlpi_addr + load->p_vaddr);
    q->out->dlfo_map_end = (void *)(info->dlpi_addr + load->p_vaddr + load->p_memsz);
    q->out->dlfo_link_map = NULL;
    q->out->dlfo_eh_frame = eh ? (void *)(info->dlpi_addr + eh->p_vaddr) : NULL;
    q->found = 1;
    return 1;
}

int _dl_find_object(void *pc, struct dl_find_object *result) {
    struct query q = {(uintptr_t)pc, result, 0};
    dl_iterate_phdr(visit, &q);
    return q.found ? 0 : -1;
}
