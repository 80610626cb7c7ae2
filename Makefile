# SPDX-License-Identifier: LGPL-2.1-or-later
# Update1: A/B system updates for embedded Linux.
#   make            build build/updated, build/updatectl
#   make check      install test dependencies if needed, then run every test
#   make demo       the whole update cycle on a sandbox device under build/demo
#   make check-fresh  (root) make demo and make check on a fresh minimal Debian 12 chroot
#   make bench      measured, not asserted (see bench/)
#   make install DESTDIR=... PREFIX=/usr

PREFIX     ?= /usr
SYSCONFDIR ?= /etc
LOCALSTATEDIR ?= /var
DESTDIR    ?=
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

PKGS := libsystemd openssl json-c libcurl blkid libzstd libubootenv

# Fail early with a clear message when a -dev package is missing.
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

# The build time is the floor for certificate expiry checks (a device whose clock is in 1970
# must not accept expired certificates).  Reproducible builds may set SOURCE_DATE_EPOCH.
BUILD_EPOCH := $(or $(SOURCE_DATE_EPOCH),$(shell date +%s))

CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 \
           -Wmissing-prototypes -Wstrict-prototypes -fno-strict-aliasing \
           -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
           -DUPDATE1_VERSION='"$(VERSION)"' -DUPDATE1_BUILD_EPOCH=$(BUILD_EPOCH)ULL \
           -DSYSCONFDIR='"$(SYSCONFDIR)"' \
           -Ilib -Idaemon $(PKG_CFLAGS)
LDLIBS  += $(PKG_LIBS) -lpthread
# Do not map libraries whose symbols a binary never uses (libcurl is dlopen()ed by updated).
LDFLAGS += -Wl,--as-needed

ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC     := $(sort $(wildcard lib/*.c))
DAEMON_SRC  := $(sort $(filter-out daemon/updated.c,$(wildcard daemon/*.c)))
# client/bus-client.c is shared by every client; each program owns client/<program>*.c.
CLIENT_COMMON_SRC := client/bus-client.c
UPDATECTL_SRC := $(sort $(wildcard client/updatectl*.c))
HEALTH_SRC  := $(sort $(wildcard client/update-health*.c))
AGENT_SRC   := $(sort $(wildcard client/update-agent*.c))
UNIT_SRC    := $(sort $(wildcard tests/unit/test-*.c))

LIB_OBJ     := $(LIB_SRC:%.c=$(BUILD)/%.o)
DAEMON_OBJ  := $(DAEMON_SRC:%.c=$(BUILD)/%.o)
CLIENT_COMMON_OBJ := $(CLIENT_COMMON_SRC:%.c=$(BUILD)/%.o)
UPDATECTL_OBJ := $(UPDATECTL_SRC:%.c=$(BUILD)/%.o)
HEALTH_OBJ  := $(HEALTH_SRC:%.c=$(BUILD)/%.o)
AGENT_OBJ   := $(AGENT_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# The model test (tests/model/, docs/bootloaders.md "Invariants") and its boot simulators'
# cross-check against the shell simulators.
MODEL_LIB_SRC := $(sort $(wildcard tests/model/bootsim*.c))
MODEL_SRC   := tests/model/model.c tests/model/model-device.c tests/model/model-check.c
UNIT_BIN    += $(BUILD)/tests/test-model $(BUILD)/tests/test-bootsim

BINS := $(BUILD)/updated $(BUILD)/updatectl $(if $(HEALTH_SRC),$(BUILD)/update-health) \
        $(if $(AGENT_SRC),$(BUILD)/update-agent)

.PHONY: all check check-system check-fresh fuzz demo bench install clean
all: $(BUILD)/.deps-ok $(BINS)

$(BUILD)/.deps-ok:
	@mkdir -p $(BUILD)
	@$(PKG_CONFIG) --exists $(PKGS) || { \
	  echo "Missing build dependencies. Run: sudo tests/lib/install-deps.sh  (or: make check, which installs them)"; \
	  $(PKG_CONFIG) --print-errors --exists $(PKGS); exit 1; }
	@touch $@

$(BUILD)/%.o: %.c $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libupdate1.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libupdated.a: $(DAEMON_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/updated: $(BUILD)/daemon/updated.o $(BUILD)/libupdated.a $(BUILD)/libupdate1.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/updatectl: $(UPDATECTL_OBJ) $(CLIENT_COMMON_OBJ) $(BUILD)/libupdate1.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/update-health: $(HEALTH_OBJ) $(CLIENT_COMMON_OBJ) $(BUILD)/libupdate1.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/update-agent: $(AGENT_OBJ) $(CLIENT_COMMON_OBJ) $(BUILD)/libupdate1.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(BUILD)/libupdated.a $(BUILD)/libupdate1.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libupdated.a $(BUILD)/libupdate1.a $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/test-model: $(MODEL_SRC) $(MODEL_LIB_SRC) $(wildcard tests/model/*.h tests/unit/*.h) $(BUILD)/libupdated.a $(BUILD)/libupdate1.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -Itests/model -o $@ $(MODEL_SRC) $(MODEL_LIB_SRC) $(BUILD)/libupdated.a $(BUILD)/libupdate1.a $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/test-bootsim: tests/model/test-bootsim.c $(MODEL_LIB_SRC) $(wildcard tests/model/*.h tests/unit/*.h) $(BUILD)/libupdated.a $(BUILD)/libupdate1.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -Itests/model -o $@ $< $(MODEL_LIB_SRC) $(BUILD)/libupdated.a $(BUILD)/libupdate1.a $(LDFLAGS) $(LDLIBS)

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
FUZZ_CFLAGS  := $(filter-out -O2 -Werror -fsanitize=%,$(CFLAGS)) -O1 -gline-tables-only $(FUZZ_SAN) \
                -fsanitize=fuzzer-no-link -Itests/fuzz -DFUZZ_TOP='"$(abspath .)"'
# Targets that reach a backend's tool-output parser through the public ops get the tool run
# replaced at link time (tests/fuzz/fuzz-tool.h): no fork per input, no stand-in on PATH.
FUZZ_WRAP_TOOL := -Wl,--wrap=bootloader_run_tool
FUZZ_LDFLAGS_barebox-state := $(FUZZ_WRAP_TOOL)
FUZZ_LDFLAGS_efibootmgr    := $(FUZZ_WRAP_TOOL)
FUZZ_LDFLAGS_custom-backend := $(FUZZ_WRAP_TOOL)
FUZZ_BIN        := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz-%)
FUZZ_REPLAY_BIN := $(FUZZ_TARGETS:%=$(BUILD)/tests/test-fuzz-replay-%)
FUZZ_LIB_OBJ    := $(LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_DAEMON_OBJ := $(DAEMON_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
# make check builds and runs the replays with the unit tests.
UNIT_BIN += $(FUZZ_REPLAY_BIN)

.PHONY: fuzz-targets check-valgrind
.SECONDARY: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/obj/tests/fuzz/fuzz-%.o) $(FUZZ_DIR)/obj/tests/fuzz/fuzz-common.o
fuzz-targets: $(FUZZ_BIN)

$(FUZZ_DIR)/obj/%.o: %.c $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/libupdate1.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_DIR)/libupdated.a: $(FUZZ_DAEMON_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz-%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz-%.o $(FUZZ_DIR)/obj/tests/fuzz/fuzz-common.o \
                    $(FUZZ_DIR)/libupdated.a $(FUZZ_DIR)/libupdate1.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LDFLAGS_$*) $(LDLIBS)

$(FUZZ_REPLAY_BIN): $(BUILD)/tests/test-fuzz-replay-%: tests/fuzz/fuzz-%.c tests/fuzz/replay.c \
                    tests/fuzz/fuzz-common.c $(wildcard tests/fuzz/*.h) $(BUILD)/libupdated.a $(BUILD)/libupdate1.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/fuzz -DFUZZ_TARGET='"$*"' -DFUZZ_TOP='"$(abspath .)"' -o $@ \
	  tests/fuzz/fuzz-$*.c tests/fuzz/replay.c tests/fuzz/fuzz-common.c \
	  $(BUILD)/libupdated.a $(BUILD)/libupdate1.a $(LDFLAGS) $(FUZZ_LDFLAGS_$*) $(LDLIBS)

# SANITIZE=1: every process of the test run (unit tests, replays, updated, updatectl) writes its
# ASan/UBSan/LSan report to $(BUILD)/sanitizer-reports/; tests/run-tests.sh fails the test
# during which a report appeared (UPDATE1_SANITIZER_LOG_DIR) and shows it.
ifeq ($(SANITIZE),1)
# The model test under ASan is about 3x slower: one level less, fewer random walks (the plain
# run explores the full depth).
export MODEL_DEPTH ?= 3
export MODEL_WALKS ?= 30
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

bench:
	@tests/lib/install-deps.sh bench
	@$(MAKE) --no-print-directory all
	@bench/bench.sh $(BUILD)

# libFuzzer targets (clang): tests/fuzz/.  FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
fuzz:
	@tests/lib/install-deps.sh fuzz
	@tests/fuzz/run-fuzz.sh $(BUILD) $(FUZZ_SECONDS)

# The whole stack on an emulated arm64 board with a real U-Boot: tests/system/.
check-system:
	@tests/lib/install-deps.sh system
	@tests/system/run.sh $(BUILD)

# The README's commands, as a new user runs them, on a fresh debootstrap --variant=minbase
# bookworm in a chroot (root; cached under /var/cache/update1-fresh): tests/fresh/run.sh.
check-fresh:
	@tests/fresh/run.sh

install: all
	install -Dm0755 $(BUILD)/updated $(DESTDIR)$(PREFIX)/libexec/update1/updated
	install -Dm0755 $(BUILD)/updatectl $(DESTDIR)$(PREFIX)/bin/updatectl
	install -Dm0644 dbus/org.example.Update1.service $(DESTDIR)$(PREFIX)/share/dbus-1/system-services/org.example.Update1.service
	install -Dm0644 policy/org.example.Update1.conf $(DESTDIR)$(PREFIX)/share/dbus-1/system.d/org.example.Update1.conf
	install -Dm0644 interfaces/org.example.Update1.xml $(DESTDIR)$(PREFIX)/share/dbus-1/interfaces/org.example.Update1.xml
	install -Dm0644 dbus/updated.service $(DESTDIR)$(PREFIX)/lib/systemd/system/updated.service
	install -Dm0644 packaging/config/system.conf.example $(DESTDIR)$(SYSCONFDIR)/update1/system.conf.example
	install -Dm0644 packaging/sysusers.d/update1.conf $(DESTDIR)$(PREFIX)/lib/sysusers.d/update1.conf
	install -Dm0644 packaging/tmpfiles.d/update1.conf $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/update1.conf
	install -Dm0755 $(BUILD)/update-health $(DESTDIR)$(PREFIX)/bin/update-health
	install -Dm0644 packaging/systemd/update-health.service $(DESTDIR)$(PREFIX)/lib/systemd/system/update-health.service
	for d in required.d wanted.d; do for f in packaging/health/$$d/*; do \
	  install -Dm0755 $$f $(DESTDIR)$(PREFIX)/lib/update-health/$$d/$$(basename $$f); done; done
	install -Dm0755 $(BUILD)/update-agent $(DESTDIR)$(PREFIX)/bin/update-agent
	install -Dm0644 packaging/systemd/update-agent.service $(DESTDIR)$(PREFIX)/lib/systemd/system/update-agent.service
	install -Dm0644 packaging/config/agent.conf.example $(DESTDIR)$(SYSCONFDIR)/update1/agent.conf.example
	install -Dm0644 docs/agent.md $(DESTDIR)$(PREFIX)/share/doc/update1/agent.md
	install -Dm0644 docs/health.md $(DESTDIR)$(PREFIX)/share/doc/update1/health.md
	install -Dm0644 docs/bundle-format.md $(DESTDIR)$(PREFIX)/share/doc/update1/bundle-format.md
	for f in packaging/bootloader/*; do install -Dm0644 $$f $(DESTDIR)$(PREFIX)/share/update1/bootloader/$$(basename $$f); done

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' -type f -not -path '$(BUILD)/demo/*' -not -path '$(BUILD)/test*' 2>/dev/null)
