# SPDX-License-Identifier: LGPL-2.1-or-later
# Update1: A/B system updates for embedded Linux.
#   make            build build/updated, build/updatectl
#   make check      install test dependencies if needed, then run every test
#   make demo       the whole update cycle on a sandbox device under build/demo
#   make sandbox    a shell on that sandbox device, updated running, to try updatectl by hand
#   make check-fresh  (root) make demo and make check on a fresh minimal Debian 12 chroot
#   make check-installed  (root) make install in a Debian 12 container booted with systemd
#   make bench      measured, not asserted (see bench/)
#   make bench-delta  (root) delta updates on real Debian trees beside casync, zstd, xdelta3
#   make bench-mem  (root) the daemon's memory alone, per mapping (bench/README.md)
#   make lint       shellcheck on every shell script, object dependency cycles, no tracked .pyc
#   make install DESTDIR=... PREFIX=/usr
#
# For packagers: CPPFLAGS, CFLAGS and LDFLAGS from the environment or the command line are
# used as given (dpkg-buildflags' hardening flags included); the project's own warnings and
# defines come on top of them.  Warnings are errors only with WERROR=1 (CI sets it, .ci/run).

# Install locations.  They are compiled into the programs (default paths, -D below) and
# substituted into the units, the D-Bus activation file and tmpfiles.d (*.in, @NAME@ ->
# $(NAME)), so build and install with the same values (docs/installation.md).  A change of any
# of them rebuilds everything ($(BUILD)/.paths).
PREFIX     ?= /usr
BINDIR     ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
DATADIR    ?= $(PREFIX)/share
SYSCONFDIR ?= /etc
LOCALSTATEDIR ?= /var
# systemd reads units, sysusers.d and tmpfiles.d under /usr/local/lib and /usr/lib (and /lib);
# Debian 12's debhelper looks for units only in /lib/systemd/system (debian/rules sets it).
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR    ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR    ?= $(PREFIX)/lib/tmpfiles.d
# Where the system bus (dbus 1.14, /usr/share/dbus-1/system.conf) reads them: activation files
# from <standard_system_servicedirs/> = /usr/local/share/dbus-1/system-services,
# /usr/share/dbus-1/system-services and /lib/dbus-1/system-services; policies only from
# /usr/share/dbus-1/system.d (packages) and /etc/dbus-1/system.d (the local administrator).  So
# under PREFIX=/usr the policy goes to $(DATADIR)/dbus-1/system.d, under any other PREFIX to
# /etc/dbus-1/system.d (not $(SYSCONFDIR): /usr/local/etc/dbus-1 is never read), and the
# activation file to $(DATADIR)/dbus-1/system-services only where the bus reads that.
DBUS_POLICYDIR ?= $(if $(filter /usr,$(PREFIX)),$(DATADIR)/dbus-1/system.d,/etc/dbus-1/system.d)
DBUS_SYSTEM_SERVICEDIR ?= $(if $(filter /usr/share /usr/local/share,$(DATADIR)),$(DATADIR),/usr/local/share)/dbus-1/system-services
DESTDIR    ?=
INSTALL_DIRS := PREFIX BINDIR LIBEXECDIR DATADIR SYSCONFDIR LOCALSTATEDIR SYSTEMDUNITDIR \
                SYSUSERSDIR TMPFILESDIR DBUS_POLICYDIR DBUS_SYSTEM_SERVICEDIR
# SANITIZE=1 (ASan+UBSan) builds into its own directory so its objects never mix with the
# normal build's.
ifeq ($(SANITIZE),1)
BUILD      ?= build-san
else
BUILD      ?= build
endif
CC         ?= cc
PKG_CONFIG ?= pkg-config
VERSION    := 0.1.0

PKGS := libsystemd openssl json-c libcurl libzstd libubootenv libmosquitto
# Headers only: dlopen()ed where needed (lib/squashfs-lib.c, daemon/slot.c), never linked.
PKGS_DLOPEN := libsquashfs1 blkid

# Fail early with a clear message when a -dev package is missing.
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) $(PKGS_DLOPEN) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

# The build time is the floor for certificate expiry checks (a device whose clock is in 1970
# must not accept expired certificates).  Reproducible builds may set SOURCE_DATE_EPOCH.
BUILD_EPOCH := $(or $(SOURCE_DATE_EPOCH),$(shell date +%s))

# The user's (packager's) flags: CPPFLAGS, CFLAGS, LDFLAGS.  The project's own are U1_*, always
# added, so `make CFLAGS=...` (which overrides any += here) keeps them.  Order on the command
# line: ours first, then the user's, so a packager's -O or -D wins.
CFLAGS  ?= -O2 -g
U1_WARN := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2 -Wmissing-prototypes \
           -Wstrict-prototypes
ifeq ($(WERROR),1)
U1_WARN += -Werror
endif
U1_CPPFLAGS := -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
           -DUPDATE1_VERSION='"$(VERSION)"' -DUPDATE1_BUILD_EPOCH=$(BUILD_EPOCH)ULL \
           -DPREFIX='"$(PREFIX)"' -DBINDIR='"$(BINDIR)"' -DLIBEXECDIR='"$(LIBEXECDIR)"' \
           -DSYSCONFDIR='"$(SYSCONFDIR)"' -DLOCALSTATEDIR='"$(LOCALSTATEDIR)"' \
           -Ilib -Idaemon -Idaemon/bootloader -Iclient/common -Iclient/updatectl \
           -Iclient/update-agent -Iclient/update-health $(PKG_CFLAGS)
# RAUC_DBUS=0: updated without RAUC's D-Bus API (daemon/bus-rauc.c, docs/rauc-compat.md); it is
# also off at run time with [system] rauc-dbus=false.
RAUC_DBUS ?= 1
U1_CPPFLAGS += -DENABLE_RAUC_DBUS=$(RAUC_DBUS)
U1_CFLAGS := -std=gnu11 $(U1_WARN) -fno-strict-aliasing
# Do not map libraries whose symbols a binary never uses (libcurl, libsquashfs, libblkid are dlopen()ed).
U1_LDFLAGS := -Wl,--as-needed
LDLIBS  += $(PKG_LIBS) -lpthread

ifeq ($(SANITIZE),1)
U1_CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
U1_LDFLAGS += -fsanitize=address,undefined
endif
# What every compile and link of ours uses.
ALL_CFLAGS  = $(U1_CPPFLAGS) $(CPPFLAGS) $(U1_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(U1_LDFLAGS) $(LDFLAGS)

# Layers (docs/HACKING.md): lib/ <- daemon/ (updated); lib/ <- client/common/ <- each client
# program.  Every program's code except its main() file is an archive, which the binary, its
# unit tests (tests/unit/) and its fuzz targets (tests/fuzz/) link.
LIB_SRC     := $(sort $(wildcard lib/*.c))
DAEMON_SRC  := $(sort $(filter-out daemon/updated.c,$(wildcard daemon/*.c daemon/bootloader/*.c)))
CLIENT_COMMON_SRC := $(sort $(wildcard client/common/*.c))
UPDATECTL_SRC := $(sort $(filter-out client/updatectl/updatectl.c client/updatectl/updatectl-bundle-main.c,$(wildcard client/updatectl/*.c)))
HEALTH_SRC  := $(sort $(filter-out client/update-health/update-health.c,$(wildcard client/update-health/*.c)))
AGENT_SRC   := $(sort $(filter-out client/update-agent/update-agent.c,$(wildcard client/update-agent/*.c)))
UNIT_SRC    := $(sort $(wildcard tests/unit/test-*.c))

# One archive per layer/program; the link order of TEST_ARCHIVES is the layering, top first.
ARCH_update1        := $(LIB_SRC)
ARCH_updated        := $(DAEMON_SRC)
ARCH_update1-client := $(CLIENT_COMMON_SRC)
ARCH_updatectl      := $(UPDATECTL_SRC)
ARCH_update-health  := $(HEALTH_SRC)
ARCH_update-agent   := $(AGENT_SRC)
ARCHIVES      := update1 updated update1-client updatectl update-health update-agent
LINK_ORDER    := update-agent update-health updatectl update1-client updated update1
TEST_ARCHIVES := $(LINK_ORDER:%=$(BUILD)/lib%.a)
CLIENT_ARCHIVES = $(BUILD)/lib$(1).a $(BUILD)/libupdate1-client.a $(BUILD)/libupdate1.a

UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# The model test (tests/model/, docs/bootloaders.md "Invariants") and its boot simulators'
# (tests/fakes/bootsim*.c) cross-check against the shell simulators.
MODEL_LIB_SRC := $(sort $(wildcard tests/fakes/bootsim*.c))
MODEL_SRC   := tests/model/model.c tests/model/model-device.c tests/model/model-check.c tests/model/model-snapshot.c \
               tests/model/model-install.c tests/model/model-main.c
UNIT_BIN    += $(BUILD)/tests/test-model $(BUILD)/tests/test-bootsim

# updatectl-bundle: 'updatectl bundle' runs it (client/updatectl/updatectl.c says why).
BINS := $(BUILD)/updated $(BUILD)/updatectl $(BUILD)/updatectl-bundle $(BUILD)/update-health $(BUILD)/update-agent
# Units, the D-Bus activation file and the tmpfiles.d snippet name install paths: generated
# from their *.in into $(BUILD)/ (same relative path), and installed from there.
GENERATED := $(patsubst %.in,$(BUILD)/%,$(sort $(wildcard packaging/systemd/*.in dbus/*.in packaging/tmpfiles.d/*.in)))

.PHONY: all check check-system check-fresh check-installed fuzz demo bench lint install clean FORCE
all: $(BUILD)/.deps-ok $(BINS) $(GENERATED)

$(BUILD)/.deps-ok:
	@mkdir -p $(BUILD)
	@$(PKG_CONFIG) --exists $(PKGS) $(PKGS_DLOPEN) || { \
	  echo "Missing build dependencies. Run: sudo tests/lib/install-deps.sh  (or: make check, which installs them)"; \
	  $(PKG_CONFIG) --print-errors --exists $(PKGS) $(PKGS_DLOPEN); exit 1; }
	@touch $@

# The install locations this build was made for; rewritten only when one changes, so that
# every object (and every generated file) is rebuilt then and only then.
$(BUILD)/.paths: FORCE
	@mkdir -p $(BUILD)
	@printf '%s\n' $(foreach d,$(INSTALL_DIRS),'$(d)=$($(d))') >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

# The same for the compiler and its flags (WERROR=1, a packager's CPPFLAGS, ...): a change
# rebuilds the objects and relinks, instead of leaving objects made with the old ones.
BUILD_FLAGS := CC='$(CC)' CPPFLAGS='$(CPPFLAGS)' CFLAGS='$(CFLAGS)' LDFLAGS='$(LDFLAGS)' WERROR='$(WERROR)' RAUC_DBUS='$(RAUC_DBUS)'
$(BUILD)/.flags: FORCE
	@mkdir -p $(BUILD)
	@printf '%s\n' "$(subst ",\",$(BUILD_FLAGS))" >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

$(GENERATED): $(BUILD)/%: %.in $(BUILD)/.paths
	@mkdir -p $(dir $@)
	@echo "sed @NAME@ $< >$@"
	@sed $(foreach d,$(INSTALL_DIRS),-e 's|@$(d)@|$($(d))|g') $< >$@.tmp
	@if grep -n '@[A-Z][A-Z_]*@' $@.tmp; then echo "$<: unknown @NAME@ (known: $(INSTALL_DIRS))"; rm -f $@.tmp; exit 1; fi
	@mv -f $@.tmp $@

# ---- Man pages and shell completion.  man/<page>.<section>.scd (scdoc) -> $(BUILD)/man/<page>.<section>,
# with @NAME@ install locations filled in as for $(GENERATED); installed uncompressed into
# $(MANDIR)/man<section>/ (compressing is the packager's job).  The bash completion of updatectl
# is installed as it is.  tests/integration/test-man.sh keeps both true to the programs.
SCDOC   ?= scdoc
MANDIR  ?= $(DATADIR)/man
BASHCOMPLETIONDIR ?= $(DATADIR)/bash-completion/completions
MAN_PAGES := $(patsubst man/%.scd,$(BUILD)/man/%,$(sort $(wildcard man/*.scd)))
.PHONY: man
man: $(MAN_PAGES)
all: $(MAN_PAGES)

$(MAN_PAGES): $(BUILD)/man/%: man/%.scd $(BUILD)/.paths
	@mkdir -p $(dir $@)
	@command -v $(SCDOC) >/dev/null 2>&1 || { \
	  echo "Missing build dependency scdoc (the man pages). Run: sudo tests/lib/install-deps.sh build"; exit 1; }
	@echo "scdoc $< >$@"
	@sed $(foreach d,$(INSTALL_DIRS),-e 's|@$(d)@|$($(d))|g') $< >$@.scd
	@if grep -n '@[A-Z][A-Z_]*@' $@.scd; then echo "$<: unknown @NAME@ (known: $(INSTALL_DIRS))"; rm -f $@.scd; exit 1; fi
	@$(SCDOC) <$@.scd >$@.tmp || { rm -f $@.scd $@.tmp; exit 1; }
	@rm -f $@.scd && mv -f $@.tmp $@

$(BUILD)/%.o: %.c $(BUILD)/.deps-ok $(BUILD)/.paths $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

define archive_rule
$$(BUILD)/lib$(1).a: $$(ARCH_$(1):%.c=$$(BUILD)/%.o)
	@rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach a,$(ARCHIVES),$(eval $(call archive_rule,$(a))))

$(BUILD)/updated: $(BUILD)/daemon/updated.o $(BUILD)/libupdated.a $(BUILD)/libupdate1.a
	$(CC) $(CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/updatectl: $(BUILD)/client/updatectl/updatectl.o $(call CLIENT_ARCHIVES,updatectl)
	$(CC) $(CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/updatectl-bundle: $(BUILD)/client/updatectl/updatectl-bundle-main.o $(call CLIENT_ARCHIVES,updatectl)
	$(CC) $(CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/update-health: $(BUILD)/client/update-health/update-health.o $(call CLIENT_ARCHIVES,update-health)
	$(CC) $(CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/update-agent: $(BUILD)/client/update-agent/update-agent.o $(call CLIENT_ARCHIVES,update-agent)
	$(CC) $(CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(TEST_ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(TEST_ARCHIVES) $(ALL_LDFLAGS) $(LDLIBS)

$(BUILD)/tests/test-model: $(MODEL_SRC) $(MODEL_LIB_SRC) $(wildcard tests/model/*.h tests/fakes/*.h tests/unit/*.h) $(BUILD)/libupdated.a $(BUILD)/libupdate1.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -Itests/model -Itests/fakes -o $@ $(MODEL_SRC) $(MODEL_LIB_SRC) $(BUILD)/libupdated.a $(BUILD)/libupdate1.a $(ALL_LDFLAGS) $(LDLIBS)

$(BUILD)/tests/test-bootsim: tests/model/test-bootsim.c $(MODEL_LIB_SRC) $(wildcard tests/model/*.h tests/fakes/*.h tests/unit/*.h) $(BUILD)/libupdated.a $(BUILD)/libupdate1.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -Itests/model -Itests/fakes -o $@ $< $(MODEL_LIB_SRC) $(BUILD)/libupdated.a $(BUILD)/libupdate1.a $(ALL_LDFLAGS) $(LDLIBS)

# ---- Fuzzing, sanitizers, valgrind (tests/fuzz/, tests/sanitize/, tests/valgrind/,
# ---- docs/fuzzing.md).  Maintained with the fuzz targets; everything below up to the
# ---- matching end marker belongs to this block.
# Every tests/fuzz/fuzz-<target>.c is a libFuzzer target.  Two builds of each:
#   $(BUILD)/fuzz/fuzz-<target>               clang, -fsanitize=fuzzer,address,undefined, linked
#                                             against lib/ and daemon/ rebuilt the same way in
#                                             $(BUILD)/fuzz/obj (make fuzz, tests/fuzz/run-fuzz.sh)
#   $(BUILD)/tests/test-fuzz-replay-<target>  $(CC) with the normal flags and tests/fuzz/replay.c
#                                             as main(): replays tests/fuzz/corpus/<target>/ in
#                                             make check (one PASS:/FAIL: line per target)
FUZZ_TARGETS := $(sort $(patsubst tests/fuzz/fuzz-%.c,%,$(filter-out tests/fuzz/fuzz-common.c,$(wildcard tests/fuzz/fuzz-*.c))))
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_CC      ?= clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# -Werror off for clang: a warning only clang has must not stop fuzzing others' code.
FUZZ_CFLAGS  := $(filter-out -O% -g% -Werror -fsanitize=% -D_FORTIFY_SOURCE%,$(U1_CPPFLAGS) $(CPPFLAGS) $(U1_CFLAGS) $(CFLAGS)) \
                -O1 -gline-tables-only $(FUZZ_SAN) \
                -fsanitize=fuzzer-no-link -Itests/fuzz -DFUZZ_TOP='"$(abspath .)"'
# Targets that reach a backend's tool-output parser through the public ops get the tool run
# replaced at link time (tests/fuzz/fuzz-tool.h): no fork per input, no stand-in on PATH.
FUZZ_WRAP_TOOL := -Wl,--wrap=bootloader_run_tool
FUZZ_LDFLAGS_barebox-state := $(FUZZ_WRAP_TOOL)
FUZZ_LDFLAGS_efibootmgr    := $(FUZZ_WRAP_TOOL)
FUZZ_LDFLAGS_custom-backend := $(FUZZ_WRAP_TOOL)
FUZZ_BIN        := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz-%)
FUZZ_REPLAY_BIN := $(FUZZ_TARGETS:%=$(BUILD)/tests/test-fuzz-replay-%)
FUZZ_ARCHIVES   := $(LINK_ORDER:%=$(FUZZ_DIR)/lib%.a)
# make check builds and runs the replays with the unit tests.
UNIT_BIN += $(FUZZ_REPLAY_BIN)

.PHONY: fuzz-targets check-valgrind
.SECONDARY: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/obj/tests/fuzz/fuzz-%.o) $(FUZZ_DIR)/obj/tests/fuzz/fuzz-common.o
fuzz-targets: $(FUZZ_BIN)

$(FUZZ_DIR)/obj/%.o: %.c $(BUILD)/.deps-ok $(BUILD)/.paths
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

define fuzz_archive_rule
$$(FUZZ_DIR)/lib$(1).a: $$(ARCH_$(1):%.c=$$(FUZZ_DIR)/obj/%.o)
	@rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach a,$(ARCHIVES),$(eval $(call fuzz_archive_rule,$(a))))

$(FUZZ_DIR)/fuzz-%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz-%.o $(FUZZ_DIR)/obj/tests/fuzz/fuzz-common.o \
                    $(FUZZ_ARCHIVES)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LDFLAGS_$*) $(LDLIBS)

$(FUZZ_REPLAY_BIN): $(BUILD)/tests/test-fuzz-replay-%: tests/fuzz/fuzz-%.c tests/fuzz/replay.c \
                    tests/fuzz/fuzz-common.c $(wildcard tests/fuzz/*.h) $(TEST_ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/fuzz -DFUZZ_TARGET='"$*"' -DFUZZ_TOP='"$(abspath .)"' -o $@ \
	  tests/fuzz/fuzz-$*.c tests/fuzz/replay.c tests/fuzz/fuzz-common.c \
	  $(TEST_ARCHIVES) $(ALL_LDFLAGS) $(FUZZ_LDFLAGS_$*) $(LDLIBS)

# SANITIZE=1: every process of the test run (unit tests, replays, updated, updatectl) writes its
# ASan/UBSan/LSan report to $(BUILD)/sanitizer-reports/; tests/run-tests.sh fails the test
# during which a report appeared (UPDATE1_SANITIZER_LOG_DIR) and shows it.
ifeq ($(SANITIZE),1)
# The model test under ASan is 3-4x slower (a fork per step): depth 2 (every pair of operations,
# each cut after each of its durable writes) and 30 random walks of 16 steps; the plain run
# explores depth 4 (U-Boot) and 3.  At depth 3 it took 25 of the 27 minutes of this run.
export MODEL_DEPTH ?= 2
export MODEL_WALKS ?= 30
# The format-2 install of the power-loss test: outside the chunk loop only the kill points after
# a syscall that can change what survives (135 instead of ~520; the plain run takes them all).
export PL_F2_OUTSIDE ?= changes
SAN_LOG_DIR := $(abspath $(BUILD))/sanitizer-reports
export UPDATE1_SANITIZER_LOG_DIR := $(SAN_LOG_DIR)
export ASAN_OPTIONS := detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:log_path=$(SAN_LOG_DIR)/asan
export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1:log_path=$(SAN_LOG_DIR)/ubsan
export LSAN_OPTIONS := suppressions=$(abspath tests/sanitize/lsan.supp):print_suppressions=0
endif

# updated under valgrind for the integration tests and N installs (tests/valgrind/run.sh).
check-valgrind:
	@tests/lib/install-deps.sh
	@$(MAKE) --no-print-directory all
	@tests/valgrind/run.sh $(BUILD)
# ---- end of the fuzzing/sanitizer/valgrind block ----

# The README's test command.  Installs what it lacks (as root, with apt-get), else says what.
check:
	@tests/lib/install-deps.sh
	@$(MAKE) --no-print-directory all $(UNIT_BIN)
	@tests/run-tests.sh $(BUILD)

demo:
	@tests/lib/install-deps.sh demo
	@$(MAKE) --no-print-directory all
	@tests/demo/demo.sh $(BUILD)

# A shell on the demo's sandbox device, to try updatectl by hand (tests/demo/sandbox.sh;
# SANDBOX_CMD='...' runs a command instead).  Stops everything when the shell ends.
.PHONY: sandbox
sandbox:
	@tests/lib/install-deps.sh demo
	@$(MAKE) --no-print-directory all
	@tests/demo/sandbox.sh $(BUILD)

bench:
	@tests/lib/install-deps.sh bench
	@if [ "$(PEERS)" = 1 ]; then tests/lib/install-deps.sh bench-peers; fi
	@$(MAKE) --no-print-directory all
	@bench/bench.sh $(BUILD)

# The daemon's memory alone, with a per-mapping breakdown (issue 14; bench/README.md).
.PHONY: bench-mem
bench-mem:
	@tests/lib/install-deps.sh bench
	@$(MAKE) --no-print-directory all
	@bench/bench-mem.sh $(BUILD)

# Delta updates on real Debian trees beside casync, zstd --patch-from and xdelta3 (issue 13;
# root, downloads from Debian's mirror once, caches under $(BUILD)/bench-delta; bench/README.md).
.PHONY: bench-delta
bench-delta:
	@tests/lib/install-deps.sh bench-delta
	@$(MAKE) --no-print-directory all
	@bench/bench-delta.sh $(BUILD)

# libFuzzer targets (clang): tests/fuzz/.  FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
fuzz:
	@tests/lib/install-deps.sh fuzz
	@tests/fuzz/run-fuzz.sh $(BUILD) $(FUZZ_SECONDS)

# The whole stack on an emulated arm64 board with a real U-Boot: tests/system/.
check-system:
	@tests/lib/install-deps.sh system
	@tests/system/run.sh $(BUILD)

# Static checks (a CPU-minute, after the build of the objects): shellcheck (SHELLCHECK_SEVERITY,
# default warning, which the scripts meet) on every shell script (*.sh, and every file starting
# with #!/bin/sh or #!/bin/bash, tracked or new); tests/lint/cycles.py on the objects of the
# daemon and on those of each client program (no file dependency cycle); no Python bytecode
# tracked.  .clang-format and .editorconfig describe the style of the code; nothing reformats it.
SHELLCHECK ?= shellcheck
SHELLCHECK_SEVERITY ?= warning
LINT_DAEMON_OBJ := $(patsubst %.c,$(BUILD)/%.o,daemon/updated.c $(DAEMON_SRC))
LINT_CLIENTS    := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard client/*/*.c)))))
lint:
	@tests/lib/install-deps.sh lint
	@$(MAKE) --no-print-directory all
	@files=$$({ git ls-files -co --exclude-standard 2>/dev/null || \
	           find . -type f ! -path './.git/*' ! -path './build*'; } | sort | while read -r f; do \
	        [ -f "$$f" ] || continue; \
	        case $$f in *.sh) echo "$$f" ;; \
	        *) head -n 1 "$$f" | grep -qE '^#! ?(/usr/bin/env +)?(/usr)?(/bin/)?(ba|da)?sh( |$$)' && echo "$$f" ;; esac; \
	      done); \
	  echo "lint: $(SHELLCHECK) -S $(SHELLCHECK_SEVERITY): $$(echo "$$files" | wc -l) shell scripts"; \
	  echo "$$files" | xargs -P "$$(nproc)" -n 8 $(SHELLCHECK) -x -P SCRIPTDIR -S $(SHELLCHECK_SEVERITY) -f gcc
ifneq ($(wildcard tests/lint/cycles.py),)
	@echo "lint: tests/lint/cycles.py: lib, daemon, $(LINT_CLIENTS:%=client/%)"
	@python3 tests/lint/cycles.py $(LIB_SRC:%.c=$(BUILD)/%.o)
	@python3 tests/lint/cycles.py $(LINT_DAEMON_OBJ)
	@$(foreach p,$(LINT_CLIENTS),python3 tests/lint/cycles.py $(patsubst %.c,$(BUILD)/%.o,$(wildcard client/$(p)/*.c)) &&) true
endif
	@echo "lint: no Python bytecode tracked"
	@! git ls-files 2>/dev/null | grep -E '(^|/)__pycache__/|\.py[co]$$' || \
	  { echo "lint: tracked Python bytecode (git rm --cached it; .gitignore has it)"; exit 1; }

# The README's commands, as a new user runs them, on a fresh debootstrap --variant=minbase
# bookworm in a chroot (root; cached under /var/cache/update1-fresh): tests/fresh/run.sh.
check-fresh:
	@tests/fresh/run.sh

# Update1 as installed (make install, or UPDATE1_DEBS=DIR: the .debs) in a Debian 12 container
# booted with systemd as PID 1 (systemd-nspawn --boot; root): tests/installed/run.sh.
check-installed:
	@tests/lib/install-deps.sh installed
	@tests/installed/run.sh

# One block per program, as the Debian packages split them (debian/*.install).
install: all
	install -Dm0755 $(BUILD)/updated $(DESTDIR)$(LIBEXECDIR)/update1/updated
	install -Dm0644 $(BUILD)/packaging/systemd/updated.service $(DESTDIR)$(SYSTEMDUNITDIR)/updated.service
	install -Dm0644 $(BUILD)/dbus/org.example.Update1.service $(DESTDIR)$(DBUS_SYSTEM_SERVICEDIR)/org.example.Update1.service
	install -Dm0644 policy/org.example.Update1.conf $(DESTDIR)$(DBUS_POLICYDIR)/org.example.Update1.conf
	install -Dm0644 interfaces/org.example.Update1.xml $(DESTDIR)$(DATADIR)/dbus-1/interfaces/org.example.Update1.xml
ifneq ($(RAUC_DBUS),0)
	install -Dm0644 $(BUILD)/dbus/de.pengutronix.rauc.service $(DESTDIR)$(DBUS_SYSTEM_SERVICEDIR)/de.pengutronix.rauc.service
	install -Dm0644 policy/de.pengutronix.rauc.conf $(DESTDIR)$(DBUS_POLICYDIR)/de.pengutronix.rauc.conf
	install -Dm0644 interfaces/de.pengutronix.rauc.Installer.xml $(DESTDIR)$(DATADIR)/dbus-1/interfaces/de.pengutronix.rauc.Installer.xml
endif
	install -Dm0644 packaging/sysusers.d/update1.conf $(DESTDIR)$(SYSUSERSDIR)/update1.conf
	install -Dm0644 $(BUILD)/packaging/tmpfiles.d/update1.conf $(DESTDIR)$(TMPFILESDIR)/update1.conf
	install -Dm0644 packaging/config/system.conf.example $(DESTDIR)$(SYSCONFDIR)/update1/system.conf.example
	install -Dm0644 docs/bundle-format.md $(DESTDIR)$(DATADIR)/doc/update1/bundle-format.md
	for f in packaging/bootloader/*; do install -Dm0644 $$f $(DESTDIR)$(DATADIR)/update1/bootloader/$$(basename $$f); done
	install -Dm0755 $(BUILD)/updatectl $(DESTDIR)$(BINDIR)/updatectl
	install -Dm0755 $(BUILD)/updatectl-bundle $(DESTDIR)$(LIBEXECDIR)/updatectl/updatectl-bundle
	install -Dm0755 $(BUILD)/update-health $(DESTDIR)$(BINDIR)/update-health
	install -Dm0644 $(BUILD)/packaging/systemd/update-health.service $(DESTDIR)$(SYSTEMDUNITDIR)/update-health.service
	install -Dm0644 packaging/sysusers.d/update-health.conf $(DESTDIR)$(SYSUSERSDIR)/update-health.conf
	install -Dm0644 $(BUILD)/packaging/tmpfiles.d/update-health.conf $(DESTDIR)$(TMPFILESDIR)/update-health.conf
	for d in required.d wanted.d; do for f in packaging/health/$$d/*; do \
	  install -Dm0755 $$f $(DESTDIR)$(PREFIX)/lib/update-health/$$d/$$(basename $$f); done; done
	install -Dm0644 docs/health.md $(DESTDIR)$(DATADIR)/doc/update1/health.md
	install -Dm0755 $(BUILD)/update-agent $(DESTDIR)$(BINDIR)/update-agent
	install -Dm0644 $(BUILD)/packaging/systemd/update-agent.service $(DESTDIR)$(SYSTEMDUNITDIR)/update-agent.service
	install -Dm0644 packaging/sysusers.d/update-agent.conf $(DESTDIR)$(SYSUSERSDIR)/update-agent.conf
	install -Dm0644 packaging/config/agent.conf.example $(DESTDIR)$(SYSCONFDIR)/update1/agent.conf.example
	install -Dm0644 docs/agent.md $(DESTDIR)$(DATADIR)/doc/update1/agent.md
	for f in $(MAN_PAGES); do n=$$(basename $$f); install -Dm0644 $$f $(DESTDIR)$(MANDIR)/man$${n##*.}/$$n; done
	install -Dm0644 packaging/bash-completion/updatectl $(DESTDIR)$(BASHCOMPLETIONDIR)/updatectl

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' -type f -not -path '$(BUILD)/demo/*' -not -path '$(BUILD)/test*' -not -path '$(BUILD)/bench-delta/*' 2>/dev/null)
