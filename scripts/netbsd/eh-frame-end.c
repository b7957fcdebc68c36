/* The zero-length entry that ends the table eh-frame-register.c registers
 * (linked last by scripts/netbsd/rumprun-link). */
__attribute__((section("fdcred_eh_frame"), aligned(4), used)) static const unsigned int eh_frame_end = 0;
