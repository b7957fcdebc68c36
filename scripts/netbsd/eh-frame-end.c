/* The zero-length entry that ends the table eh-frame-register.c registers
 * (linked last by scripts/netbsd/rumprun-link), in a section of the same
 * name and type (@unwind) as the table, so that it follows it directly. */
__asm__(".section fdcred_eh_frame,\"a\",@unwind\n"
        ".balign 4\n"
        ".long 0\n"
        ".previous\n");
