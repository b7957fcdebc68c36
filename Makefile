# Build and install libfdcred the way a C library is installed.
#
#   make                                   cargo build, then link the versioned shared library
#   make install PREFIX=/usr/local         (DESTDIR=/tmp/stage for packaging)
#   make uninstall PREFIX=/usr/local       removes exactly what install put there
#
# Installs, under $(DESTDIR):
#   $(LIBDIR)/libfdcred.so.X.Y.Z, libfdcred.so.X -> it, libfdcred.so -> it
#   $(LIBDIR)/libfdcred.a
#   $(INCLUDEDIR)/fdcred.h
#   $(PKGCONFIGDIR)/fdcred.pc
#   $(MANDIR)/man3/*.3 (their title line stamped with this version)
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
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
MANDIR       ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR      ?=

CARGO            ?= cargo
CC               ?= cc
INSTALL          ?= install
# The cargo profile whose output is installed ("debug" means cargo's "dev").
PROFILE          ?= release
CARGO_TARGET_DIR ?= target
export CARGO_TARGET_DIR
BUILDDIR          = $(CARGO_TARGET_DIR)/$(PROFILE)
CARGO_PROFILE     = $(if $(filter debug,$(PROFILE)),dev,$(PROFILE))

VERSION  := $(shell sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
MAJOR    := $(word 1,$(subst ., ,$(VERSION)))
SONAME    = libfdcred.so.$(MAJOR)
REALNAME  = libfdcred.so.$(VERSION)
MAP      ?= abi/fdcred.map
MANPAGES := $(sort $(wildcard man/man3/*.3))

# In fdcred.pc, paths under the prefix are written relative to ${prefix}.
pc_path = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

.PHONY: all cargo-build install uninstall

all: $(BUILDDIR)/$(REALNAME)

cargo-build:
	$(CARGO) build --lib --profile $(CARGO_PROFILE)

# Libs.private of the uninstalled fdcred.pc (written by build.rs) is what the
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

install: all
	$(INSTALL) -d '$(DESTDIR)$(LIBDIR)' '$(DESTDIR)$(INCLUDEDIR)' \
	    '$(DESTDIR)$(PKGCONFIGDIR)' '$(DESTDIR)$(MANDIR)/man3'
	$(INSTALL) -m 755 $(BUILDDIR)/$(REALNAME) '$(DESTDIR)$(LIBDIR)/$(REALNAME)'
	ln -sf $(REALNAME) '$(DESTDIR)$(LIBDIR)/$(SONAME)'
	ln -sf $(REALNAME) '$(DESTDIR)$(LIBDIR)/libfdcred.so'
	$(INSTALL) -m 644 $(BUILDDIR)/libfdcred.a '$(DESTDIR)$(LIBDIR)/libfdcred.a'
	$(INSTALL) -m 644 $(BUILDDIR)/include/fdcred.h '$(DESTDIR)$(INCLUDEDIR)/fdcred.h'
	sed -e 's|^prefix=.*|prefix=$(PREFIX)|' \
	    -e 's|^libdir=.*|libdir=$(call pc_path,$(LIBDIR))|' \
	    -e 's|^includedir=.*|includedir=$(call pc_path,$(INCLUDEDIR))|' \
	    $(BUILDDIR)/pkgconfig/fdcred.pc > '$(DESTDIR)$(PKGCONFIGDIR)/fdcred.pc'
	chmod 644 '$(DESTDIR)$(PKGCONFIGDIR)/fdcred.pc'
	for page in $(MANPAGES); do \
	    sed '1s/"libfdcred [^"]*"/"libfdcred $(VERSION)"/' $$page > '$(DESTDIR)$(MANDIR)/man3/'$${page##*/} \
	    && chmod 644 '$(DESTDIR)$(MANDIR)/man3/'$${page##*/} || exit 1; \
	done
	@if [ -z '$(DESTDIR)' ] && command -v ldconfig >/dev/null 2>&1; then ldconfig || true; fi

uninstall:
	rm -f '$(DESTDIR)$(LIBDIR)/$(REALNAME)' '$(DESTDIR)$(LIBDIR)/$(SONAME)' \
	    '$(DESTDIR)$(LIBDIR)/libfdcred.so' '$(DESTDIR)$(LIBDIR)/libfdcred.a' \
	    '$(DESTDIR)$(INCLUDEDIR)/fdcred.h' '$(DESTDIR)$(PKGCONFIGDIR)/fdcred.pc'
	rm -f $(foreach page,$(notdir $(MANPAGES)),'$(DESTDIR)$(MANDIR)/man3/$(page)')
	@if [ -z '$(DESTDIR)' ] && command -v ldconfig >/dev/null 2>&1; then ldconfig || true; fi
