/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "fileio.h"
#include "ini.h"
#include "states.h"
#include "unit.h"
#include "util.h"

TEST(parse_size) {
        uint64_t v = 0;

        CHECK_EQ(parse_size("123", &v), 0);
        CHECK_EQ(v, 123);
        CHECK_EQ(parse_size("64K", &v), 0);
        CHECK_EQ(v, 65536);
        CHECK_EQ(parse_size("16MiB", &v), 0);
        CHECK_EQ(v, 16 << 20);
        CHECK_EQ(parse_size("8G", &v), 0);
        CHECK(v == (UINT64_C(8) << 30));
        CHECK_EQ(parse_size("18446744073709551615", &v), 0);
        CHECK(v == UINT64_MAX);
        CHECK_EQ(parse_size("18446744073709551616", &v), -ERANGE);
        CHECK_EQ(parse_size("17179869184G", &v), -ERANGE);
        CHECK_EQ(parse_size("-1", &v), -EINVAL);
        CHECK_EQ(parse_size(" 1", &v), -EINVAL);
        CHECK_EQ(parse_size("1X", &v), -EINVAL);
        CHECK_EQ(parse_size("", &v), -EINVAL);
        CHECK_EQ(parse_size("M", &v), -EINVAL);
}

TEST(timestamps) {
        uint64_t t = 0;
        char buf[32];

        CHECK_EQ(parse_timestamp("2027-01-01", &t), 0);
        CHECK_EQ(t, 1798761600);
        CHECK_EQ(parse_timestamp("2027-01-01T12:00:01Z", &t), 0);
        CHECK_EQ(t, 1798761600 + 12 * 3600 + 1);
        CHECK_EQ(parse_timestamp("@12345", &t), 0);
        CHECK_EQ(t, 12345);
        CHECK(parse_timestamp("2027-01-01T12:00:01", &t) < 0);
        CHECK(parse_timestamp("2027-01-01 ", &t) < 0);
        CHECK(parse_timestamp("@-1", &t) < 0);
        CHECK(parse_timestamp("", &t) < 0);
        CHECK(parse_timestamp("tomorrow", &t) < 0);
        format_timestamp(1798761600, buf, sizeof(buf));
        CHECK_STREQ(buf, "2027-01-01T00:00:00Z");
}

TEST(hex) {
        uint8_t in[3] = { 0x00, 0xab, 0xff }, out[3];
        char s[7];

        hex_encode(in, 3, s);
        CHECK_STREQ(s, "00abff");
        CHECK_EQ(hex_decode("00ABff", out, 3), 0);
        CHECK(memcmp(in, out, 3) == 0);
        CHECK_EQ(hex_decode("00abf", out, 3), -EINVAL);
        CHECK_EQ(hex_decode("00abfg", out, 3), -EINVAL);
        CHECK_EQ(hex_decode("00abff00", out, 3), -EINVAL);
}

TEST(safe_name) {
        CHECK(string_is_safe_name("rootfs.ext4"));
        CHECK(!string_is_safe_name("../etc/passwd"));
        CHECK(!string_is_safe_name("/abs"));
        CHECK(!string_is_safe_name(".hidden"));
        CHECK(!string_is_safe_name("a\nb"));
        CHECK(!string_is_safe_name(""));
}

TEST(string_tables) {
        CHECK_STREQ(boot_status_to_string(BOOT_STATUS_TRIAL), "trial");
        CHECK_EQ(boot_status_from_string("bad"), BOOT_STATUS_BAD);
        CHECK_EQ(slot_type_from_string("erofs"), SLOT_TYPE_EROFS);
        CHECK_EQ(slot_type_from_string("ext3"), -EINVAL);
        CHECK(slot_status_to_string(_SLOT_STATUS_MAX) == NULL);
        CHECK_STREQ(error_kind_to_dbus_name(ERROR_SIGNATURE_INVALID), "org.example.Update1.Error.SignatureInvalid");
        CHECK_EQ(error_kind_from_dbus_name("org.example.Update1.Error.Busy"), ERROR_BUSY);
}

TEST(uerror) {
        UError e = UERROR_NULL;

        CHECK_EQ(uerror_set(&e, ERROR_INCOMPATIBLE, -EINVAL, "compatible '%s'", "x"), -EINVAL);
        CHECK_EQ(uerror_set(&e, ERROR_IO, -EIO, "second"), -EIO); /* the first error wins */
        CHECK_EQ(e.kind, ERROR_INCOMPATIBLE);
        uerror_prefix(&e, "Installing %s", "rootfs.1");
        CHECK_STREQ(e.message, "Installing rootfs.1: compatible 'x'");
}

static char tmpdir[] = "/tmp/test-util.XXXXXX";

static int count_entries(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        if (!d)
                return -1;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

TEST(atomic_write) {
        char path[256], *data = NULL;
        size_t size = 0;
        struct stat st;

        snprintf(path, sizeof(path), "%s/f.json", tmpdir);
        CHECK_EQ(write_file_atomic(path, "hello", 5, 0640), 0);
        CHECK_EQ(write_file_atomic(path, "world!", 6, 0644), 0);
        CHECK_EQ(read_full_file(path, 100, &data, &size), 0);
        CHECK_EQ(size, 6);
        CHECK_STREQ(data, "world!");
        free(data);
        CHECK_EQ(stat(path, &st), 0);
        CHECK_EQ(st.st_mode & 07777, 0644);
        CHECK_EQ(count_entries(tmpdir), 1); /* no temp files left behind */
        /* A temp file left by a power cut is reused, not piled up; a planted symlink as the
         * temp name is never written through. */
        {
                char tmp[300];
                snprintf(tmp, sizeof(tmp), "%s.tmp", path);
                CHECK_EQ(write_file_atomic(tmp, "stale junk that is longer", 25, 0644), 0);
                CHECK_EQ(write_file_atomic(path, "new", 3, 0644), 0);
                CHECK_EQ(count_entries(tmpdir), 1);
                CHECK_EQ(symlink("/tmp/update1-never-written", tmp), 0);
                CHECK_EQ(write_file_atomic(path, "x", 1, 0644), -ELOOP);
                CHECK(access("/tmp/update1-never-written", F_OK) < 0);
                unlink(tmp);
                CHECK_EQ(read_full_file(path, 100, &data, &size), 0);
                CHECK_STREQ(data, "new");
                free(data);
        }
        CHECK_EQ(read_full_file(path, 2, &data, &size), -EFBIG);
        snprintf(path, sizeof(path), "%s/missing/f", tmpdir);
        CHECK_EQ(write_file_atomic(path, "x", 1, 0644), -ENOENT);
}

struct ini_seen {
        char log[512];
};

static int ini_collect(const char *section, const char *key, const char *value, unsigned line, void *userdata) {
        struct ini_seen *s = userdata;
        size_t n = strlen(s->log);

        if (streq(key, "fail"))
                return -EBADMSG;
        snprintf(s->log + n, sizeof(s->log) - n, "%u:%s:%s=%s;", line, section, key, value);
        return 0;
}

TEST(ini) {
        struct ini_seen s = {};
        unsigned line = 0;

        CHECK_EQ(ini_parse_string("# c\n[system]\n compatible = foo bar \n\n;x\n[slot.rootfs.0]\ndevice=/dev/a=b\n",
                                  ini_collect, &s, &line), 0);
        CHECK_STREQ(s.log, "3:system:compatible=foo bar;7:slot.rootfs.0:device=/dev/a=b;");
        CHECK_EQ(ini_parse_string("[a]\nk=v\nnot a pair\n", ini_collect, &s, &line), -EINVAL);
        CHECK_EQ(line, 3);
        CHECK_EQ(ini_parse_string("[a\n", ini_collect, &s, &line), -EINVAL);
        CHECK_EQ(line, 1);
        CHECK_EQ(ini_parse_string("[]\n", ini_collect, &s, &line), -EINVAL);
        CHECK_EQ(ini_parse_string("[a]\n\nfail=1\n", ini_collect, &s, &line), -EBADMSG);
        CHECK_EQ(line, 3);
        CHECK_EQ(ini_parse_string("=v\n", ini_collect, &s, &line), -EINVAL);
}

UNIT_MAIN_BEGIN("test-util")
        if (!mkdtemp(tmpdir))
                return 2;
        RUN(parse_size);
        RUN(timestamps);
        RUN(hex);
        RUN(safe_name);
        RUN(string_tables);
        RUN(uerror);
        RUN(atomic_write);
        RUN(ini);
        {
                char cmd[300];
                snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
                (void) !system(cmd);
        }
UNIT_MAIN_END
