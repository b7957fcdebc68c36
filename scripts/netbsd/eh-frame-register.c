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
__attribute__((section("fdcred_eh_frame"), aligned(8), used)) static const char eh_frame_start[0];

void __register_frame_info(const void *begin, void *object);

/* libgcc's `struct object`: six words on LP64; room to spare. */
static void *unwind_object[16];

__attribute__((constructor)) static void register_eh_frame(void)
{
	__register_frame_info(eh_frame_start, unwind_object);
}
