# Build and install libfdcred the way a C library is installed.
#
#   make                                   scripts/build-c, then link the versioned shared library
#   make install PREFIX=/usr/local         (DESTDIR=/tmp/stage for packaging)
#   make uninstall PREFIX=/usr/local       removes exactly what install put there
#
# `make` leaves in target/release/ a library a C program can use without
# installing (scripts/build-c): libfdcred.so with its soname link,
# libfdcred.a, include/fdcred.h and pkgconfig/fdcred.pc (see the README).
#
# Installs, under $(DESTDIR):
#   $(LIBDIR)/libfdcred.so.X.Y.Z (stripped), libfdcred.so.X -> it, libfdcred.so -> it
#   $(DEBUGDIR)/libfdcred.so.X.Y.Z.debug (its debug info, found by gdb through
#                                         the .gnu_debuglink the stripped file carries)
#   $(LIBDIR)/libfdcred.a (debug info stripped)
#   $(INCLUDEDIR)/fdcred.h
#   $(PKGCONFIGDIR)/fdcred.pc
#   $(MANDIR)/man3/*.3 (their title line stamped with this version; a page
#                      that is a `.so` link in man/ is installed as a symlink
#                      to the page it names, so `man -l FILE` works on it too)
#   $(SBINDIR)/portlisten, $(BINDIR)/hellofdpass (the privileged hand-off's
#                      two halves, examples/*.c linked to the versioned
#                      library), with $(MANDIR)/man8/portlisten.8 and
#                      $(MANDIR)/man1/hellofdpass.1. portlisten is started by
#                      root (it binds, then drops), hence sbin. credserver and
#                      credclient stay examples (make -C examples): they show
#                      the credential calls and serve no purpose of their own.
#
# Why the shared library is linked here and not taken from cargo: rustc links
# a cdylib with its own anonymous version script (global: the exported
# symbols; local: everything else). GNU ld refuses a second, named version
# script next to it ("anonymous version tag cannot be combined with other
# version tags") and lld quietly ignores it, so symbol versions cannot be
# added there. Instead the staticlib cargo builds is linked into a shared
# library with abi/fdcred.map, the version script scripts/abi-check maintains:
# every exported symbol gets its FDCRED_X.Y node, and nothing else is
# exported. cargo's own target/<profile>/libfdcred.so (unversioned) stays
# what the in-tree tests use.

PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
SBINDIR      ?= $(PREFIX)/sbin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
MANDIR       ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# gdb looks for a stripped object's debug file in a .debug directory beside
# it; a distribution sets DEBUGDIR=/usr/lib/debug$(LIBDIR) and ships it apart.
DEBUGDIR     ?= $(LIBDIR)/.debug
DESTDIR      ?=

CARGO            ?= cargo
CC               ?= cc
INSTALL          ?= install
OBJCOPY          ?= objcopy
STRIP            ?= strip
# The cargo profile whose output is installed ("debug" means cargo's "dev").
PROFILE          ?= release
CARGO_TARGET_DIR ?= target
export CARGO_TARGET_DIR
BUILDDIR          = $(CARGO_TARGET_DIR)/$(PROFILE)

VERSION  := $(shell sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
MAJOR    := $(word 1,$(subst ., ,$(VERSION)))
SONAME    = libfdcred.so.$(MAJOR)
REALNAME  = libfdcred.so.$(VERSION)
MAP      ?= abi/fdcred.map
MANPAGES := $(sort $(wildcard man/man3/*.3))
TOOLPAGES := man/man8/portlisten.8 man/man1/hellofdpass.1
TOOLS     = $(BUILDDIR)/tools
# The tools are built like the examples (strict flags), against this build.
TOOL_CFLAGS ?= -O2

# In fdcred.pc, paths under the prefix are written relative to ${prefix}.
pc_path = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

STRIPPED  = $(BUILDDIR)/stripped

.PHONY: all cargo-build install install-man uninstall

all: $(BUILDDIR)/$(REALNAME) $(STRIPPED)/$(REALNAME) $(STRIPPED)/libfdcred.a \
    $(TOOLS)/portlisten $(TOOLS)/hellofdpass

# The cdylib and staticlib, and the staged header, fdcred.pc and soname link.
cargo-build:
	CARGO='$(CARGO)' scripts/build-c --profile $(PROFILE)

# Libs.private of the uninstalled fdcred.pc (staged by scripts/build-c) is what the
# staticlib needs from the system. Linked to a temporary name and renamed, so
# two concurrent makes never leave a half-written library. A function the
# build exports but the version script lacks would silently not be exported:
# refuse instead.
$(BUILDDIR)/$(REALNAME): cargo-build $(MAP)
	@unversioned=$$(nm -D --defined-only --format=posix $(BUILDDIR)/libfdcred.so \
	    | awk '$$1 ~ /^fdcred_/ { print $$1 }' \
	    | while read -r sym; do grep -q "^ *$$sym;" $(MAP) || echo "$$sym"; done); \
	if [ -n "$$unversioned" ]; then \
	    echo "make: not in $(MAP): $$unversioned" >&2; \
	    echo "make: run scripts/abi-check --update (and commit abi/) to give them a version node" >&2; \
	    exit 1; \
	fi
	$(CC) -shared -o $@.$$$$.tmp -Wl,-soname,$(SONAME) \
	    -Wl,--version-script=$(MAP) -Wl,--no-undefined-version -Wl,-z,defs \
	    -Wl,--gc-sections -Wl,-z,relro,-z,now -Wl,-z,noexecstack -Wl,--as-needed \
	    -Wl,--whole-archive $(BUILDDIR)/libfdcred.a -Wl,--no-whole-archive \
	    $$(sed -n 's/^Libs\.private: *//p' $(BUILDDIR)/pkgconfig/fdcred.pc) \
	    && mv -f $@.$$$$.tmp $@

# What is installed: objects without debug info (the shared library's goes
# to a separate .debug file, linked by .gnu_debuglink, as distributions ship
# it). Made in the build tree so that install only copies.
$(STRIPPED)/$(REALNAME): $(BUILDDIR)/$(REALNAME)
	@mkdir -p $(STRIPPED)
	$(OBJCOPY) --only-keep-debug $< $(STRIPPED)/$(REALNAME).debug
	$(STRIP) --strip-unneeded -o $@.$$$$.tmp $< \
	    && cd $(STRIPPED) && $(OBJCOPY) --add-gnu-debuglink=$(REALNAME).debug $(@F).$$$$.tmp \
	    && mv -f $(@F).$$$$.tmp $(@F)

# Linked to the versioned library by its file name, so they ask the loader
# for its soname (libfdcred.so.MAJOR), as any program built against the
# installed library does.
$(TOOLS)/portlisten $(TOOLS)/hellofdpass: $(TOOLS)/%: examples/%.c examples/tool.h $(BUILDDIR)/$(REALNAME)
	@mkdir -p $(TOOLS)
	$(CC) -std=c11 -Wall -Wextra -Werror $(TOOL_CFLAGS) -I$(BUILDDIR)/include $< -o $@.$$$$.tmp \
	    $(BUILDDIR)/$(REALNAME) && mv -f $@.$$$$.tmp $@

$(STRIPPED)/libfdcred.a: cargo-build
	@mkdir -p $(STRIPPED)
	$(STRIP) --strip-debug -o $@.$$$$.tmp $(BUILDDIR)/libfdcred.a && mv -f $@.$$$$.tmp $@

install: all install-man
	$(INSTALL) -d '$(DESTDIR)$(LIBDIR)' '$(DESTDIR)$(INCLUDEDIR)' '$(DESTDIR)$(DEBUGDIR)' \
	    '$(DESTDIR)$(PKGCONFIGDIR)'
	$(INSTALL) -m 755 $(STRIPPED)/$(REALNAME) '$(DESTDIR)$(LIBDIR)/$(REALNAME)'
	$(INSTALL) -m 644 $(STRIPPED)/$(REALNAME).debug '$(DESTDIR)$(DEBUGDIR)/$(REALNAME).debug'
	ln -sf $(REALNAME) '$(DESTDIR)$(LIBDIR)/$(SONAME)'
	ln -sf $(REALNAME) '$(DESTDIR)$(LIBDIR)/libfdcred.so'
	$(INSTALL) -m 644 $(STRIPPED)/libfdcred.a '$(DESTDIR)$(LIBDIR)/libfdcred.a'
	$(INSTALL) -m 644 $(BUILDDIR)/include/fdcred.h '$(DESTDIR)$(INCLUDEDIR)/fdcred.h'
	sed -e 's|^prefix=.*|prefix=$(PREFIX)|' \
	    -e 's|^libdir=.*|libdir=$(call pc_path,$(LIBDIR))|' \
	    -e 's|^includedir=.*|includedir=$(call pc_path,$(INCLUDEDIR))|' \
	    $(BUILDDIR)/pkgconfig/fdcred.pc > '$(DESTDIR)$(PKGCONFIGDIR)/fdcred.pc'
	chmod 644 '$(DESTDIR)$(PKGCONFIGDIR)/fdcred.pc'
	$(INSTALL) -d '$(DESTDIR)$(SBINDIR)' '$(DESTDIR)$(BINDIR)'
	$(STRIP) -o '$(DESTDIR)$(SBINDIR)/portlisten' $(TOOLS)/portlisten
	$(STRIP) -o '$(DESTDIR)$(BINDIR)/hellofdpass' $(TOOLS)/hellofdpass
	chmod 755 '$(DESTDIR)$(SBINDIR)/portlisten' '$(DESTDIR)$(BINDIR)/hellofdpass'
	@if [ -z '$(DESTDIR)' ] && command -v ldconfig >/dev/null 2>&1; then ldconfig || true; fi

# The man pages alone (no build needed).
install-man:
	$(INSTALL) -d '$(DESTDIR)$(MANDIR)/man3'
	for page in $(MANPAGES); do \
	    dest='$(DESTDIR)$(MANDIR)/man3/'$${page##*/}; \
	    target=$$(sed -n '1s/^\.so  *//p' $$page); \
	    if [ -n "$$target" ]; then \
	        rm -f "$$dest" && ln -s "$${target##*/}" "$$dest" || exit 1; \
	    else \
	        sed '1s/"libfdcred [^"]*"/"libfdcred $(VERSION)"/' $$page > "$$dest" \
	        && chmod 644 "$$dest" || exit 1; \
	    fi; \
	done
	$(INSTALL) -d '$(DESTDIR)$(MANDIR)/man1' '$(DESTDIR)$(MANDIR)/man8'
	for page in $(TOOLPAGES); do \
	    section=$${page#man/}; section=$${section%%/*}; \
	    sed '1s/"libfdcred [^"]*"/"libfdcred $(VERSION)"/' $$page > '$(DESTDIR)$(MANDIR)/'$$section/$${page##*/} \
	    && chmod 644 '$(DESTDIR)$(MANDIR)/'$$section/$${page##*/} || exit 1; \
	done

uninstall:
	rm -f '$(DESTDIR)$(LIBDIR)/$(REALNAME)' '$(DESTDIR)$(LIBDIR)/$(SONAME)' \
	    '$(DESTDIR)$(DEBUGDIR)/$(REALNAME).debug' \
	    '$(DESTDIR)$(LIBDIR)/libfdcred.so' '$(DESTDIR)$(LIBDIR)/libfdcred.a' \
	    '$(DESTDIR)$(INCLUDEDIR)/fdcred.h' '$(DESTDIR)$(PKGCONFIGDIR)/fdcred.pc'
	rm -f $(foreach page,$(notdir $(MANPAGES)),'$(DESTDIR)$(MANDIR)/man3/$(page)')
	rm -f '$(DESTDIR)$(SBINDIR)/portlisten' '$(DESTDIR)$(BINDIR)/hellofdpass' \
	    '$(DESTDIR)$(MANDIR)/man8/portlisten.8' '$(DESTDIR)$(MANDIR)/man1/hellofdpass.1'
	rmdir '$(DESTDIR)$(DEBUGDIR)' 2>/dev/null || true
	@if [ -z '$(DESTDIR)' ] && command -v ldconfig >/dev/null 2>&1; then ldconfig || true; fi
