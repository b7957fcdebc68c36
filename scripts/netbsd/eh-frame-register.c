/*
 * Registers the program's unwind tables with libgcc_eh at startup, so that
 * a Rust panic can unwind (catch_unwind, #[should_panic], a test that
 * fails). On NetBSD proper libgcc_s finds them through dl_iterate_phdr;
 * the unikernel has no such thing.
 *
 * scripts/netbsd/rumprun-link renames the program's .eh_frame to
 * fdcred_eh_frame (so the final link copies it verbatim instead of
 * rewriting it behind a label) and links this object first and
 * eh-frame-end.c last around it: this label is the table's first byte,
 * and eh-frame-end.c's zero word ends it.
 */
/* The label is written in assembly: the section must have the type of the
 * section it joins (@unwind, SHT_X86_64_UNWIND, as the compilers emit
 * .eh_frame on amd64); one of another type (C can only make @progbits)
 * becomes a separate output section of the same name, away from the table. */
__asm__(".section fdcred_eh_frame,\"a\",@unwind\n"
        ".balign 8\n"
        ".globl fdcred_eh_frame_start\n"
        ".hidden fdcred_eh_frame_start\n"
        "fdcred_eh_frame_start:\n"
        ".previous\n");
extern const char fdcred_eh_frame_start[] __attribute__((visibility("hidden")));

void __register_frame_info(const void *begin, void *object);

/* libgcc's `struct object`: six words on LP64; room to spare. */
static void *unwind_object[16];

__attribute__((constructor)) static void register_eh_frame(void) {
    __register_frame_info(fdcred_eh_frame_start, unwind_object);
}
