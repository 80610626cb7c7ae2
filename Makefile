# SPDX-License-Identifier: LGPL-2.1-or-later
# Update1: A/B system updates for embedded Linux.
#   make            build build/updated, build/updatectl
#   make check      install test dependencies if needed, then run every test
#   make demo       the whole update cycle on a sandbox device under build/demo
#   make bench      measured, not asserted (see bench/)
#   make install DESTDIR=... PREFIX=/usr

PREFIX     ?= /usr
SYSCONFDIR ?= /etc
LOCALSTATEDIR ?= /var
DESTDIR    ?=
BUILD      ?= build
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

BINS := $(BUILD)/updated $(BUILD)/updatectl $(if $(HEALTH_SRC),$(BUILD)/update-health) \
        $(if $(AGENT_SRC),$(BUILD)/update-agent)

.PHONY: all check check-system fuzz demo bench install clean
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
	install -Dm0644 docs/health.md $(DESTDIR)$(PREFIX)/share/doc/update1/health.md
	install -Dm0644 docs/bundle-format.md $(DESTDIR)$(PREFIX)/share/doc/update1/bundle-format.md
	for f in packaging/bootloader/*; do install -Dm0644 $$f $(DESTDIR)$(PREFIX)/share/update1/bootloader/$$(basename $$f); done

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' -type f -not -path '$(BUILD)/demo/*' -not -path '$(BUILD)/test*' 2>/dev/null)
