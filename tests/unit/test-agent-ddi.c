/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The update-agent's DDI parsers (client/update-agent/update-agent-ddi.c): the base resource,
 * deploymentBase and cancelAction responses as hawkBit sends them, and hostile ones (missing
 * fields, wrong types, huge values, odd links, many chunks and artifacts).  No network: the
 * ddi_parse_*() functions are what ddi_poll_base(), ddi_get_deployment() and ddi_get_cancel()
 * run on a response body. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "log.h"
#include "macro.h"
#include "unit.h"
#include "update-agent-ddi.h"
#include "update-agent-failure.h"
#include "update-agent-http.h"
#include "util.h"

#define SHA256 "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
#define SHA256_LC "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define SHA1 "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"

static AgentConfig config = {
        .url = (char *) "https://hawkbit.example.com",
        .artifact_pattern = (char *) "*.bundle",
        .max_bundle_size = UINT64_C(1) << 30,
};
static DdiClient ddi = { .config = &config };

static int parse_deployment(const char *json, SourceAction *ret) {
        return ddi_parse_deployment(&ddi, json, strlen(json), ret);
}

/* A deploymentBase response with one chunk holding 'artifacts' (a JSON array). */
static char *deployment_with(const char *artifacts) {
        return strdup_printf("{\"id\":\"17\",\"deployment\":{\"download\":\"forced\",\"update\":\"attempt\","
                             "\"chunks\":[{\"part\":\"os\",\"version\":\"2.0\",\"name\":\"rootfs\","
                             "\"artifacts\":%s}]}}",
                             artifacts);
}

static char *artifact(const char *filename, const char *size, const char *extra) {
        return strdup_printf("{\"filename\":\"%s\",\"size\":%s,\"hashes\":{\"sha256\":\"" SHA256_LC "\"},"
                             "\"_links\":{\"download\":{\"href\":\"https://cdn.example.com/%s\"}}%s}",
                             filename, size, filename, extra);
}

/* Parses a deployment whose only artifact is 'art'; expects r and, for -EMEDIUMTYPE/-EBADMSG,
 * 'why' in the error. */
static void expect_artifact(const char *art, int r, const char *why) {
        _cleanup_free_ char *json = strdup_printf("[%s]", art), *dep_json = deployment_with(json);
        SourceAction dep = {};

        CHECK_EQ(parse_deployment(dep_json, &dep), r);
        if (why && !strstr(ddi.error, why)) {
                unit_diag("expected '%s' in the error, got '%s' (artifact %s)", why, ddi.error, art);
                unit_case_failures++;
        }
        source_action_done(&dep);
}

static size_t strv_length(char **l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

TEST(deployment_good) {
        static const char json[] =
                "{\"id\":\"8\",\"deployment\":{\"download\":\"forced\",\"update\":\"attempt\","
                "\"maintenanceWindow\":\"available\",\"chunks\":["
                "{\"part\":\"os\",\"version\":\"1.2.0\",\"name\":\"rootfs\",\"artifacts\":["
                "{\"filename\":\"rootfs-1.2.0.bundle\",\"size\":1048576,"
                "\"hashes\":{\"sha1\":\"" SHA1 "\",\"md5\":\"098f6bcd4621d373cade4e832627b4f6\",\"sha256\":\"" SHA256 "\"},"
                "\"_links\":{\"download\":{\"href\":\"https://cdn.example.com/a/rootfs-1.2.0.bundle\"},"
                "\"download-http\":{\"href\":\"http://cdn.example.com/a/rootfs-1.2.0.bundle\"}}},"
                "{\"filename\":\"rootfs-1.2.0.bundle.sig\",\"size\":256,"
                "\"_links\":{\"download\":{\"href\":\"https://cdn.example.com/a/sig\"}}}]},"
                "{\"part\":\"bApp\",\"version\":\"7\",\"name\":\"app\",\"metadata\":[{\"key\":\"k\",\"value\":\"v\"}],"
                "\"artifacts\":[{\"filename\":\"app.tar\",\"size\":10,"
                "\"_links\":{\"download\":{\"href\":\"https://cdn.example.com/b/app.tar\"}}}]}]},"
                "\"actionHistory\":{\"status\":\"RUNNING\",\"messages\":[\"x\"]}}";
        SourceAction dep = {};

        CHECK_EQ(parse_deployment(json, &dep), 0);
        CHECK_STREQ(dep.action_id, "8");
        CHECK_EQ(dep.download, SOURCE_FORCED);
        CHECK_EQ(dep.update, SOURCE_ATTEMPT);
        CHECK(dep.has_window && dep.window_available);
        CHECK_STREQ(dep.filename, "rootfs-1.2.0.bundle");
        CHECK_STREQ(dep.part, "os");
        CHECK_STREQ(dep.name, "rootfs");
        CHECK_STREQ(dep.version, "1.2.0");
        CHECK(dep.size == 1048576);
        /* Hashes are kept in lower case whatever the server sent. */
        CHECK_STREQ(dep.sha256, SHA256_LC);
        CHECK_STREQ(dep.sha1, SHA1);
        /* "download" (https) is preferred over "download-http". */
        CHECK_STREQ(dep.url, "https://cdn.example.com/a/rootfs-1.2.0.bundle");
        /* Every other artifact is refused with a sentence naming it and the pattern. */
        CHECK_EQ(strv_length(dep.refused), 2);
        if (strv_length(dep.refused) == 2) {
                CHECK(strstr(dep.refused[0], "rootfs-1.2.0.bundle.sig") && strstr(dep.refused[0], "*.bundle"));
                CHECK(strstr(dep.refused[1], "app.tar") && strstr(dep.refused[1], "bApp 7"));
        }
        /* The whole response goes to the hooks. */
        CHECK(dep.json && strstr(dep.json, "\"actionHistory\"") && strstr(dep.json, "rootfs-1.2.0.bundle.sig"));
        source_action_done(&dep);
        CHECK(dep.action_id == NULL && dep.refused == NULL && dep.json == NULL);
}

TEST(deployment_variants) {
        SourceAction dep = {};
        _cleanup_free_ char *json = NULL;

        /* Only download-http, no hashes, closed window, skip: all fine. */
        json = strdup("{\"id\":\"x-1_2\",\"deployment\":{\"download\":\"attempt\",\"update\":\"skip\","
                      "\"maintenanceWindow\":\"unavailable\",\"chunks\":[{\"artifacts\":[{\"filename\":\"b.bundle\","
                      "\"size\":5,\"_links\":{\"download-http\":{\"href\":\"http://h/b\"}}}]}]}}");
        CHECK_EQ(parse_deployment(json, &dep), 0);
        CHECK_EQ(dep.download, SOURCE_ATTEMPT);
        CHECK_EQ(dep.update, SOURCE_SKIP);
        CHECK(dep.has_window && !dep.window_available);
        CHECK_STREQ(dep.url, "http://h/b");
        CHECK_STREQ(dep.sha256, "");
        CHECK_STREQ(dep.sha1, "");
        CHECK(dep.part == NULL && dep.version == NULL && dep.name == NULL);
        CHECK(dep.refused == NULL);
        source_action_done(&dep);

        /* No maintenanceWindow at all. */
        free(json);
        json = deployment_with("[{\"filename\":\"a.bundle\",\"size\":1,\"_links\":{\"download\":{\"href\":\"https://h/a\"}}}]");
        CHECK_EQ(parse_deployment(json, &dep), 0);
        CHECK(!dep.has_window && !dep.window_available);
        source_action_done(&dep);

        /* Another artifact= pattern (fnmatch with FNM_PERIOD: '*' does not match a leading dot). */
        config.artifact_pattern = (char *) "*.raucb";
        free(json);
        json = deployment_with("[{\"filename\":\"a.bundle\",\"size\":1,\"_links\":{\"download\":{\"href\":\"https://h/a\"}}},"
                               "{\"filename\":\".x.raucb\",\"size\":1,\"_links\":{\"download\":{\"href\":\"https://h/x\"}}},"
                               "{\"filename\":\"a.raucb\",\"size\":2,\"_links\":{\"download\":{\"href\":\"https://h/b\"}}}]");
        CHECK_EQ(parse_deployment(json, &dep), 0);
        CHECK_STREQ(dep.filename, "a.raucb");
        CHECK_EQ(strv_length(dep.refused), 2);
        source_action_done(&dep);
        config.artifact_pattern = (char *) "*.bundle";
}

TEST(deployment_not_json) {
        static const char *const bad[] = {
                "", "null", "[]", "\"x\"", "42", "{", "{\"id\":\"1\",", "{\"id\":\"1\"}}}", "<html>502</html>",
        };
        SourceAction dep = {};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                CHECK_EQ(parse_deployment(bad[i], &dep), -EBADMSG);
                CHECK(dep.action_id == NULL && dep.json == NULL);
        }
        CHECK_EQ(parse_deployment("", &dep), -EBADMSG);
        CHECK_STREQ(ddi.error, "deploymentBase: empty response");
        CHECK_EQ(parse_deployment("[1]", &dep), -EBADMSG);
        CHECK_STREQ(ddi.error, "deploymentBase: the response is not a JSON object");
        /* The body is cut at a NUL like a C string: the rest is not looked at. */
        CHECK_EQ(ddi_parse_deployment(&ddi, "\0{}", 3, &dep), -EBADMSG);
        CHECK_STREQ(ddi.error, "deploymentBase: the response is not a JSON object");
}

TEST(deployment_missing_fields) {
        static const struct {
                const char *json;
                const char *why;
        } cases[] = {
                { "{}", "no id or deployment" },
                { "{\"deployment\":{\"download\":\"forced\",\"update\":\"forced\"}}", "no id or deployment" },
                { "{\"id\":\"1\"}", "no id or deployment" },
                { "{\"id\":\"1\",\"deployment\":{\"update\":\"forced\"}}", "download/update" },
                { "{\"id\":\"1\",\"deployment\":{\"download\":\"forced\"}}", "download/update" },
                { "{\"id\":\"1\",\"deployment\":{\"download\":\"forced\",\"update\":\"sometimes\"}}", "download/update" },
                { "{\"id\":\"1\",\"deployment\":{\"download\":\"FORCED\",\"update\":\"forced\"}}", "download/update" },
                /* wrong types */
                { "{\"id\":1,\"deployment\":{\"download\":\"forced\",\"update\":\"forced\"}}", "no id or deployment" },
                { "{\"id\":null,\"deployment\":{\"download\":\"forced\",\"update\":\"forced\"}}", "no id or deployment" },
                { "{\"id\":\"1\",\"deployment\":[]}", "no id or deployment" },
                { "{\"id\":\"1\",\"deployment\":\"forced\"}", "no id or deployment" },
                { "{\"id\":\"1\",\"deployment\":{\"download\":true,\"update\":\"forced\"}}", "download/update" },
                /* The id names files and URL paths: nothing but [A-Za-z0-9_-], 1-64 of them. */
                { "{\"id\":\"../../etc/x\",\"deployment\":{\"download\":\"forced\",\"update\":\"forced\"}}", "the id is not" },
                { "{\"id\":\"\",\"deployment\":{\"download\":\"forced\",\"update\":\"forced\"}}", "the id is not" },
                { "{\"id\":\"a b\",\"deployment\":{\"download\":\"forced\",\"update\":\"forced\"}}", "the id is not" },
                { "{\"id\":\"00000000000000000000000000000000000000000000000000000000000000001\",\"deployment\":{\"download\":\"forced\",\"update\":\"forced\"}}", "the id is not" },
                { "{\"id\":\"1\",\"deployment\":{\"download\":\"forced\",\"update\":[\"forced\"]}}", "download/update" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                SourceAction dep = {};

                CHECK_EQ(parse_deployment(cases[i].json, &dep), -EBADMSG);
                /* Nothing is handed out on -EBADMSG. */
                CHECK(dep.action_id == NULL && dep.json == NULL && dep.refused == NULL);
                if (!strstr(ddi.error, cases[i].why)) {
                        unit_diag("%s: expected '%s' in the error, got '%s'", cases[i].json, cases[i].why, ddi.error);
                        unit_case_failures++;
                }
        }
}

/* Deployments the agent cannot handle are -EMEDIUMTYPE with the action id, the response and
 * the refused artifacts: the caller reports them as closed/failure. */
TEST(deployment_unusable) {
        static const char *const no_artifact[] = {
                "{\"id\":\"5\",\"deployment\":{\"download\":\"forced\",\"update\":\"forced\"}}",
                "{\"id\":\"5\",\"deployment\":{\"download\":\"forced\",\"update\":\"forced\",\"chunks\":[]}}",
                "{\"id\":\"5\",\"deployment\":{\"download\":\"forced\",\"update\":\"forced\",\"chunks\":{}}}",
                "{\"id\":\"5\",\"deployment\":{\"download\":\"forced\",\"update\":\"forced\",\"chunks\":[1,null,\"x\",[]]}}",
                "{\"id\":\"5\",\"deployment\":{\"download\":\"forced\",\"update\":\"forced\",\"chunks\":[{\"artifacts\":{}}]}}",
                "{\"id\":\"5\",\"deployment\":{\"download\":\"forced\",\"update\":\"forced\",\"chunks\":[{\"artifacts\":[]}]}}",
        };
        SourceAction dep = {};

        for (size_t i = 0; i < ELEMENTSOF(no_artifact); i++) {
                CHECK_EQ(parse_deployment(no_artifact[i], &dep), -EMEDIUMTYPE);
                CHECK_STREQ(dep.action_id, "5");
                CHECK(dep.json != NULL);
                CHECK_STREQ(ddi.error, "No artifact of action 5 matches *.bundle");
                source_action_done(&dep);
        }

        /* Artifacts that are not objects, or have no (string) filename, are refused by name. */
        CHECK_EQ(parse_deployment("{\"id\":\"5\",\"deployment\":{\"download\":\"forced\",\"update\":\"forced\","
                                  "\"chunks\":[{\"part\":\"os\",\"artifacts\":[7,{\"filename\":9},{\"size\":1}]}]}}",
                                  &dep),
                 -EMEDIUMTYPE);
        CHECK_EQ(strv_length(dep.refused), 3);
        if (dep.refused)
                CHECK(strstr(dep.refused[0], "(unnamed)") != NULL);
        source_action_done(&dep);

        /* Two bundles: which one is meant?  Refused, naming the count. */
        {
                _cleanup_free_ char *a = artifact("a.bundle", "1", ""), *b = artifact("b.bundle", "2", ""),
                                   *arts = strdup_printf("[%s,%s]", a, b), *json = deployment_with(arts);

                CHECK_EQ(parse_deployment(json, &dep), -EMEDIUMTYPE);
                CHECK_STREQ(ddi.error, "2 artifacts of action 17 match *.bundle; expected exactly one bundle");
                CHECK_STREQ(dep.action_id, "17");
                source_action_done(&dep);
        }
}

/* Two artifacts, x then y: 'chosen' is taken and the other refused with 'refused'. */
static void expect_chosen(const char *x, const char *y, const char *chosen, const char *refused) {
        _cleanup_free_ char *arts = strdup_printf("[%s,%s]", x, y), *json = deployment_with(arts);
        SourceAction dep = {};

        CHECK_EQ(parse_deployment(json, &dep), 0);
        CHECK_STREQ(dep.filename, chosen);
        CHECK_EQ(strv_length(dep.refused), 1);
        if (dep.refused)
                CHECK_STREQ(dep.refused[0], refused);
        source_action_done(&dep);
}

/* The default artifact= is a list: the first pattern any artifact matches chooses, whatever the
 * server's order; within it, exactly one must match. */
TEST(artifact_pattern_list) {
        _cleanup_free_ char *bundle = artifact("a.bundle", "1", ""), *raucb = artifact("b.raucb", "2", ""),
                           *raucb2 = artifact("c.raucb", "3", ""), *txt = artifact("notes.txt", "4", "");
        SourceAction dep = {};
        char *saved = config.artifact_pattern;

        config.artifact_pattern = (char *) AGENT_ARTIFACT_DEFAULT;

        /* A RAUC bundle alone: taken without artifact=*.raucb. */
        expect_chosen(txt, raucb, "b.raucb", "Not installing artifact notes.txt of os 2.0: it does not match *.bundle *.raucb");
        /* Both kinds, the RAUC bundle first on the server: the Update1 bundle, by artifact='s order;
         * the other is named with the reason. */
        expect_chosen(raucb, bundle, "a.bundle",
                      "Not installing artifact b.raucb of os 2.0: a.bundle matches *.bundle, which comes first in artifact=");
        /* Two RAUC bundles and no Update1 bundle: ambiguous, by name. */
        {
                _cleanup_free_ char *arts = strdup_printf("[%s,%s,%s]", raucb, txt, raucb2), *json = deployment_with(arts);

                CHECK_EQ(parse_deployment(json, &dep), -EMEDIUMTYPE);
                CHECK_STREQ(ddi.error, "2 artifacts of action 17 match *.raucb; expected exactly one bundle");
                CHECK_STREQ(agent_failure_to_string(dep.failure), "ArtifactAmbiguous");
                CHECK_EQ(strv_length(dep.refused), 1);
                source_action_done(&dep);
        }
        /* Neither. */
        {
                _cleanup_free_ char *arts = strdup_printf("[%s]", txt), *json = deployment_with(arts);

                CHECK_EQ(parse_deployment(json, &dep), -EMEDIUMTYPE);
                CHECK_STREQ(ddi.error, "No artifact of action 17 matches *.bundle *.raucb");
                CHECK_STREQ(agent_failure_to_string(dep.failure), "ArtifactNotFound");
                source_action_done(&dep);
        }
        /* Blanks around and between the patterns are separators only. */
        config.artifact_pattern = (char *) " \t*.raucb   *.bundle ";
        expect_chosen(bundle, raucb, "b.raucb",
                      "Not installing artifact a.bundle of os 2.0: b.raucb matches *.raucb, which comes first in artifact=");
        config.artifact_pattern = saved;
}

/* The refusal's name, which the report starts with. */
TEST(deployment_failure_names) {
        _cleanup_free_ char *big = artifact("a.bundle", "1073741825", ""), *nosize = artifact("a.bundle", "0", ""),
                           *j1 = strdup_printf("[%s]", big), *d1 = deployment_with(j1), *j2 = strdup_printf("[%s]", nosize),
                           *d2 = deployment_with(j2);
        SourceAction dep = {};

        CHECK_EQ(parse_deployment(d1, &dep), -EMEDIUMTYPE);
        CHECK_STREQ(agent_failure_to_string(dep.failure), "ArtifactTooLarge");
        source_action_done(&dep);
        CHECK_EQ(parse_deployment(d2, &dep), -EMEDIUMTYPE);
        CHECK_STREQ(agent_failure_to_string(dep.failure), "BadDeployment");
        source_action_done(&dep);

        /* One table both ways; updated's names stay updated's. */
        for (int f = 0; f < _AGENT_FAILURE_MAX; f++)
                CHECK_EQ(agent_failure_from_string(agent_failure_to_string((AgentFailure) f)), f);
        CHECK_EQ(agent_failure_from_string("InvalidBundle"), _AGENT_FAILURE_INVALID);
        CHECK(agent_failure_name_valid("InvalidBundle"));
        CHECK(agent_failure_name_valid("NoRangeSupport"));
        CHECK(!agent_failure_name_valid("../x"));
        CHECK_STREQ(agent_failure_name_of_install("org.example.Update1.Error.SignatureInvalid", NULL), "SignatureInvalid");
        CHECK_STREQ(agent_failure_name_of_install(NULL, "org.example.Update1.Error.InvalidBundle: bad chunk"),
                    "InvalidBundle");
        CHECK_STREQ(agent_failure_name_of_install("org.freedesktop.DBus.Error.NoReply", NULL), "InstallFailed");
        CHECK_STREQ(agent_failure_name_of_install(NULL, "it broke: somehow"), "InstallFailed");
        CHECK_STREQ(agent_failure_name_of_install(NULL, NULL), "InstallFailed");
}

static void expect_size(const char *size, int r, const char *why) {
        _cleanup_free_ char *a = artifact("a.bundle", size, "");

        expect_artifact(a, r, why);
}

TEST(artifact_size) {
        expect_size("1", 0, NULL);
        expect_size("1073741824", 0, NULL); /* == max-bundle-size */
        expect_size("1073741825", -EMEDIUMTYPE, "Artifact a.bundle is 1073741825 bytes, more than max-bundle-size=1073741824");
        expect_size("0", -EMEDIUMTYPE, "Artifact a.bundle has no valid size");
        expect_size("-1", -EMEDIUMTYPE, "no valid size");
        expect_size("-9223372036854775808", -EMEDIUMTYPE, "no valid size");
        expect_size("\"1024\"", -EMEDIUMTYPE, "no valid size");
        expect_size("1.5", -EMEDIUMTYPE, "no valid size");
        expect_size("1e300", -EMEDIUMTYPE, "no valid size");
        expect_size("null", -EMEDIUMTYPE, "no valid size");
        expect_size("true", -EMEDIUMTYPE, "no valid size");
        expect_size("{}", -EMEDIUMTYPE, "no valid size");
        /* Beyond int64 (json-c keeps it as uint64 or clamps): too large either way. */
        expect_size("9223372036854775807", -EMEDIUMTYPE, "more than max-bundle-size");
        expect_size("18446744073709551615", -EMEDIUMTYPE, "more than max-bundle-size");
        expect_size("99999999999999999999999", -EMEDIUMTYPE, "more than max-bundle-size");
        /* No "size" key at all. */
        expect_artifact("{\"filename\":\"a.bundle\",\"_links\":{\"download\":{\"href\":\"https://h/a\"}}}", -EMEDIUMTYPE,
                        "no valid size");
}

TEST(artifact_hashes) {
        static const struct {
                const char *hashes;
                int r;
                const char *why;
        } cases[] = {
                { "{\"sha256\":\"" SHA256 "\"}", 0, NULL },
                { "{\"sha1\":\"" SHA1 "\"}", 0, NULL },
                { "{}", 0, NULL },
                { "[]", 0, NULL },                 /* not an object: no hashes */
                { "{\"sha256\":7}", 0, NULL },     /* not a string: ignored */
                { "{\"md5\":\"x\"}", 0, NULL },    /* not used */
                { "{\"sha256\":\"" SHA256 "0\"}", -EMEDIUMTYPE, "malformed sha256" },
                { "{\"sha256\":\"9F86D081\"}", -EMEDIUMTYPE, "malformed sha256" },
                { "{\"sha256\":\"\"}", -EMEDIUMTYPE, "malformed sha256" },
                { "{\"sha256\":\"g" SHA256_LC "\"}", -EMEDIUMTYPE, "malformed sha256" },
                { "{\"sha256\":\"zf86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"}", -EMEDIUMTYPE,
                  "malformed sha256" },
                { "{\"sha1\":\"a94a8fe5ccb19ba61c4c0873d391e987982fbbd\"}", -EMEDIUMTYPE, "malformed sha1" },
                { "{\"sha1\":\"" SHA256_LC "\"}", -EMEDIUMTYPE, "malformed sha1" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *art = strdup_printf(
                        "{\"filename\":\"a.bundle\",\"size\":3,\"hashes\":%s,"
                        "\"_links\":{\"download\":{\"href\":\"https://h/a\"}}}",
                        cases[i].hashes);

                expect_artifact(art, cases[i].r, cases[i].why);
        }
}

/* The parser carries links as the server sent them; the HTTP layer refuses what is not http(s). */
TEST(artifact_links) {
        static const char *const odd[] = {
                "file:///etc/shadow", "ftp://h/a.bundle", "/relative/a.bundle", "javascript:alert(1)", "",
                "https://h/a b", "gopher://h/",
        };
        SourceAction dep = {};

        expect_artifact("{\"filename\":\"a.bundle\",\"size\":1}", -EMEDIUMTYPE,
                        "Artifact a.bundle has neither a download nor a download-http link");
        expect_artifact("{\"filename\":\"a.bundle\",\"size\":1,\"_links\":{}}", -EMEDIUMTYPE, "neither a download");
        expect_artifact("{\"filename\":\"a.bundle\",\"size\":1,\"_links\":{\"download\":\"https://h/a\"}}", -EMEDIUMTYPE,
                        "neither a download");
        expect_artifact("{\"filename\":\"a.bundle\",\"size\":1,\"_links\":{\"download\":{\"href\":1}}}", -EMEDIUMTYPE,
                        "neither a download");
        expect_artifact("{\"filename\":\"a.bundle\",\"size\":1,\"_links\":[{\"download\":{\"href\":\"https://h/a\"}}]}",
                        -EMEDIUMTYPE, "neither a download");
        /* A download link of the wrong type does not hide a usable download-http. */
        {
                _cleanup_free_ char *json = deployment_with(
                        "[{\"filename\":\"a.bundle\",\"size\":1,\"_links\":{\"download\":{\"href\":null},"
                        "\"download-http\":{\"href\":\"http://h/a\"}}}]");

                CHECK_EQ(parse_deployment(json, &dep), 0);
                CHECK_STREQ(dep.url, "http://h/a");
                source_action_done(&dep);
        }

        for (size_t i = 0; i < ELEMENTSOF(odd); i++) {
                _cleanup_free_ char *json = NULL, *art = strdup_printf(
                        "[{\"filename\":\"a.bundle\",\"size\":1,\"_links\":{\"download\":{\"href\":\"%s\"}}}]", odd[i]);
                CURL *h = curl_easy_init();
                struct curl_slist *hdr = NULL;

                json = deployment_with(art);
                CHECK_EQ(parse_deployment(json, &dep), 0);
                CHECK_STREQ(dep.url, odd[i]);
                CHECK(h != NULL);
                if (h && dep.url && !strneq(dep.url, "https://", 8))
                        CHECK_EQ(http_setup(h, &config, dep.url, NULL, &hdr), -EPROTONOSUPPORT);
                CHECK(hdr == NULL);
                curl_easy_cleanup(h);
                source_action_done(&dep);
        }
}

/* Many chunks and artifacts: the one bundle is still found, each other artifact refused once. */
TEST(many_chunks_and_artifacts) {
        enum { N = 3000 };
        size_t cap = (size_t) N * 128 + 256, len = 0;
        _cleanup_free_ char *buf = malloc(cap);
        SourceAction dep = {};

        CHECK(buf != NULL);
        if (!buf)
                return;
        /* N chunks of one artifact each; only number N/2 is a bundle. */
        len += (size_t) snprintf(buf + len, cap - len,
                                 "{\"id\":\"99\",\"deployment\":{\"download\":\"forced\",\"update\":\"forced\",\"chunks\":[");
        for (int i = 0; i < N; i++)
                len += (size_t) snprintf(buf + len, cap - len,
                                         "%s{\"part\":\"p%d\",\"artifacts\":[{\"filename\":\"f%d.%s\",\"size\":%d,"
                                         "\"_links\":{\"download\":{\"href\":\"https://h/%d\"}}}]}",
                                         i ? "," : "", i, i, i == N / 2 ? "bundle" : "bin", i + 1, i);
        len += (size_t) snprintf(buf + len, cap - len, "]}}");
        CHECK(len < cap);
        CHECK_EQ(parse_deployment(buf, &dep), 0);
        CHECK_STREQ(dep.filename, "f1500.bundle");
        CHECK_STREQ(dep.part, "p1500");
        CHECK(dep.size == N / 2 + 1);
        CHECK_STREQ(dep.url, "https://h/1500");
        /* ... but listed only up to a bound: the first 16 by name, then one line counting the rest
         * (N - 1 refused in all), so the feedback stays a few KiB. */
        CHECK_EQ(strv_length(dep.refused), 17);
        if (strv_length(dep.refused) == 17) {
                CHECK(strstr(dep.refused[0], "f0.bin") != NULL);
                CHECK(strstr(dep.refused[15], "f15.bin") != NULL);
                CHECK_STREQ(dep.refused[16], "... and 2983 more artifacts not installed");
        }
        source_action_done(&dep);

        /* N matching artifacts in one chunk: refused, counted. */
        len = (size_t) snprintf(buf, cap,
                                "{\"id\":\"99\",\"deployment\":{\"download\":\"forced\",\"update\":\"forced\","
                                "\"chunks\":[{\"artifacts\":[");
        for (int i = 0; i < N; i++)
                len += (size_t) snprintf(buf + len, cap - len,
                                         "%s{\"filename\":\"f%d.bundle\",\"size\":1,\"_links\":{\"download\":{\"href\":\"https://h/\"}}}",
                                         i ? "," : "", i);
        len += (size_t) snprintf(buf + len, cap - len, "]}]}}");
        CHECK(len < cap);
        CHECK_EQ(parse_deployment(buf, &dep), -EMEDIUMTYPE);
        CHECK_STREQ(ddi.error, "3000 artifacts of action 99 match *.bundle; expected exactly one bundle");
        source_action_done(&dep);
}

TEST(huge_and_deep) {
        SourceAction dep = {};
        size_t n = 200 * 1024;
        _cleanup_free_ char *name = malloc(n + 1), *art = NULL, *json = NULL, *deep = NULL;

        CHECK(name != NULL);
        if (!name)
                return;
        /* A 200 KiB file name and version: kept whole (the response is bounded at 1 MiB). */
        memset(name, 'x', n - 7);
        memcpy(name + n - 7, ".bundle", 8);
        art = strdup_printf("[{\"filename\":\"%s\",\"size\":1,\"_links\":{\"download\":{\"href\":\"https://h/a\"}}}]", name);
        json = deployment_with(art);
        CHECK_EQ(parse_deployment(json, &dep), 0);
        CHECK(dep.filename && strlen(dep.filename) == n);
        source_action_done(&dep);

        /* Nesting beyond json-c's depth limit is not JSON to us. */
        deep = malloc(2 * 10000 + 64);
        CHECK(deep != NULL);
        if (!deep)
                return;
        n = (size_t) sprintf(deep, "{\"id\":\"1\",\"x\":");
        memset(deep + n, '[', 10000);
        memset(deep + n + 10000, ']', 10000);
        strcpy(deep + n + 20000, "}");
        CHECK_EQ(parse_deployment(deep, &dep), -EBADMSG);
        CHECK(dep.action_id == NULL);
}

TEST(base) {
        DdiBase b = {};
        static const char poll[] =
                "{\"config\":{\"polling\":{\"sleep\":\"00:05:00\"}},\"_links\":{"
                "\"deploymentBase\":{\"href\":\"https://h/DEFAULT/controller/v1/dev1/deploymentBase/3?c=-2128529634\"},"
                "\"configData\":{\"href\":\"https://h/DEFAULT/controller/v1/dev1/configData\"}}}";

        CHECK_EQ(ddi_parse_base(&ddi, poll, strlen(poll), &b), 0);
        CHECK(b.sleep_usec == 300 * USEC_PER_SEC);
        CHECK_STREQ(b.deployment_href, "https://h/DEFAULT/controller/v1/dev1/deploymentBase/3?c=-2128529634");
        CHECK_STREQ(b.config_data_href, "https://h/DEFAULT/controller/v1/dev1/configData");
        CHECK(b.cancel_href == NULL && b.confirmation_href == NULL);
        /* The action id is the last path segment, without the query. */
        CHECK_STREQ(b.action_id, "3");
        ddi_base_done(&b);
        CHECK(b.deployment_href == NULL && b.action_id == NULL);

        /* Nothing to do; an unreadable sleep is not an error (our bounds apply). */
        CHECK_EQ(ddi_parse_base(&ddi, "{\"config\":{\"polling\":{\"sleep\":\"soon\"}}}", 40, &b), 0);
        CHECK(b.sleep_usec == 0 && !b.deployment_href && !b.cancel_href && !b.action_id);
        ddi_base_done(&b);
        CHECK_EQ(ddi_parse_base(&ddi, "{}", 2, &b), 0);
        ddi_base_done(&b);
        /* Wrong types are absent links. */
        CHECK_EQ(ddi_parse_base(&ddi, "{\"_links\":{\"deploymentBase\":\"x\",\"cancelAction\":{\"href\":5}},"
                                      "\"config\":[]}", 73, &b), 0);
        CHECK(!b.deployment_href && !b.cancel_href);
        ddi_base_done(&b);

        /* A cancel: its id from the cancelAction href. */
        {
                static const char c[] = "{\"_links\":{\"cancelAction\":{\"href\":\"https://h/t/controller/v1/d/cancelAction/a_b-9\"}}}";
                CHECK_EQ(ddi_parse_base(&ddi, c, strlen(c), &b), 0);
                CHECK_STREQ(b.action_id, "a_b-9");
                ddi_base_done(&b);
        }
        CHECK_EQ(ddi_parse_base(&ddi, "[]", 2, &b), -EBADMSG);
        CHECK_EQ(ddi_parse_base(&ddi, "", 0, &b), -EBADMSG);
}

/* A link whose last segment is no usable action id makes the whole poll -EBADMSG. */
TEST(base_bad_action_ids) {
        static const char *const bad[] = {
                "https://h/deploymentBase/",
                "https://h/deploymentBase/?c=1",
                "https://h/deploymentBase/3.5",
                "https://h/deploymentBase/%2e%2e",
                "https://h/deploymentBase/a b",
                "",
                "https://h/deploymentBase/12345678901234567890123456789012345678901234567890123456789012345",
        };
        static const char *const good[] = {
                "7", "https://h/deploymentBase/1234567890123456789012345678901234567890123456789012345678901234",
                "https://h/a/b?x=/y", "https://h/deploymentBase/x?",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *json = strdup_printf("{\"_links\":{\"deploymentBase\":{\"href\":\"%s\"}}}", bad[i]);
                DdiBase b = {};

                CHECK_EQ(ddi_parse_base(&ddi, json, strlen(json), &b), -EBADMSG);
                CHECK(b.deployment_href == NULL);
                if (!strstr(ddi.error, "cannot find an action id")) {
                        unit_diag("%s: error '%s'", bad[i], ddi.error);
                        unit_case_failures++;
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                _cleanup_free_ char *json = strdup_printf("{\"_links\":{\"deploymentBase\":{\"href\":\"%s\"}}}", good[i]);
                DdiBase b = {};

                CHECK_EQ(ddi_parse_base(&ddi, json, strlen(json), &b), 0);
                CHECK(b.action_id && strlen(b.action_id) >= 1 && strlen(b.action_id) <= 64);
                ddi_base_done(&b);
        }
}

TEST(cancel) {
        static const struct {
                const char *json;
                int r;
                const char *stop;
        } cases[] = {
                { "{\"id\":\"10\",\"cancelAction\":{\"stopId\":\"9\"}}", 0, "9" },
                { "{\"id\":\"10\"}", 0, "10" },                               /* no stopId: the id */
                { "{\"id\":\"10\",\"cancelAction\":{\"stopId\":9}}", 0, "10" }, /* a number is no stopId */
                { "{\"id\":\"10\",\"cancelAction\":\"9\"}", 0, "10" },
                { "{\"cancelAction\":{}}", -EBADMSG, NULL },
                { "{\"id\":10}", -EBADMSG, NULL },
                { "{}", -EBADMSG, NULL },
                { "[\"9\"]", -EBADMSG, NULL },
                { "", -EBADMSG, NULL },
                { "{\"id\":\"10\",\"cancelAction\":{\"stopId\":\"../9\"}}", -EBADMSG, NULL },
                { "{\"id\":\"1/0\"}", -EBADMSG, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *stop = NULL;

                CHECK_EQ(ddi_parse_cancel(&ddi, cases[i].json, strlen(cases[i].json), &stop), cases[i].r);
                if (cases[i].stop)
                        CHECK_STREQ(stop, cases[i].stop);
                else
                        CHECK(stop == NULL);
        }
        CHECK_EQ(ddi_parse_cancel(&ddi, "{}", 2, &(char *) { NULL }), -EBADMSG);
        CHECK_STREQ(ddi.error, "cancelAction: no stopId in the response");
}

TEST(sleep) {
        static const struct {
                const char *s;
                uint64_t sec;
        } good[] = {
                { "00:00:00", 0 },        { "00:05:00", 300 },   { "12:00:00", 43200 },   { "999:59:59", 3599999 },
                { "PT5M", 300 },          { "pt30s", 30 },       { "P1DT2H", 93600 },     { "P1W", 604800 },
                { "PT1H2M3S", 3723 },     { "P2D", 172800 },     { "PT0S", 0 },           { "P365D", 365 * 86400 },
        };
        static const char *const bad[] = {
                "", "5", "00:05", "00:60:00", "00:00:60", "1000:00:00", "00:05:00 ", "00:05:00x", "a:b:c",
                "P", "PT", "P1M", "P1Y", "PT1D", "P1H", "P1.5D", "PT1.S", "PT1", "P-1D", "PT1234567890S",
                "P366D", "P1000W", "PT8761H",
                /* sscanf's %u takes a sign and blanks; 64-bit wrap-around of huge ISO values */
                "-1:00:00", "+1:00:00", " 1:00:00", "1: 0:00", "0:-0:0", "P213503983D", "P30500570W", "PT999999999H",
        };
        uint64_t u;

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                u = UINT64_MAX;
                CHECK_EQ(ddi_parse_sleep(good[i].s, &u), 0);
                if (u != good[i].sec * USEC_PER_SEC) {
                        unit_diag("%s: %llu usec", good[i].s, (unsigned long long) u);
                        unit_case_failures++;
                }
        }
        CHECK_EQ(ddi_parse_sleep("PT0.5S", &u), 0);
        CHECK(u == 500 * USEC_PER_MSEC);
        CHECK_EQ(ddi_parse_sleep("PT1,25S", &u), 0);
        CHECK(u == 1250 * USEC_PER_MSEC);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                u = 12345;
                if (ddi_parse_sleep(bad[i], &u) >= 0) {
                        unit_diag("'%s' accepted as %llu usec", bad[i], (unsigned long long) u);
                        unit_case_failures++;
                }
                CHECK(u == 12345);  /* untouched on error */
        }
        CHECK_EQ(ddi_parse_sleep(NULL, &u), -EINVAL);
}

/* Retry-After (update-agent-http.c): seconds or an HTTP-date, bounded; the header value as
 * curl hands it over (leading blank, CRLF). */
TEST(retry_after) {
        const uint64_t now = 1445412480;   /* Wed, 21 Oct 2015 07:28:00 GMT */
        static const char *const bad[] = { "", "  \r\n", "soon", "-5", "5 s", "Wed, 32 Foo 2015", "99999999999999999999999" };
        uint64_t u;

#define RA(v, ret) http_parse_retry_after(v, strlen(v), now, ret)
        CHECK_EQ(RA(" 3\r\n", &u), 0);
        CHECK(u == 3);
        CHECK_EQ(RA("0", &u), 0);
        CHECK(u == 0);
        CHECK_EQ(RA(" 86400\r\n", &u), 0);
        CHECK(u == HTTP_RETRY_AFTER_MAX_SEC);
        /* the three date forms of RFC 9110: IMF-fixdate, obsolete RFC 850, asctime */
        CHECK_EQ(RA(" Wed, 21 Oct 2015 07:28:03 GMT\r\n", &u), 0);
        CHECK(u == 3);
        CHECK_EQ(RA("Wednesday, 21-Oct-15 07:28:30 GMT", &u), 0);
        CHECK(u == 30);
        CHECK_EQ(RA("Wed Oct 21 07:29:00 2015", &u), 0);
        CHECK(u == 60);
        CHECK_EQ(RA("Wed, 21 Oct 2015 07:27:00 GMT", &u), 0);   /* in the past: now */
        CHECK(u == 0);
        CHECK_EQ(RA("Thu, 22 Oct 2015 07:28:00 GMT", &u), 0);   /* a day ahead: bounded */
        CHECK(u == HTTP_RETRY_AFTER_MAX_SEC);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                u = 12345;
                if (RA(bad[i], &u) >= 0) {
                        unit_diag("Retry-After '%s' accepted as %llu s", bad[i], (unsigned long long) u);
                        unit_case_failures++;
                }
                CHECK(u == 12345);
        }
#undef RA
}

/* The response headers the downloader and the Range probe judge a response by
 * (update-agent-http.c): a new status line starts over, a 100 does not end the headers, the
 * Content-Range is trimmed, and only exactly the range asked for of the size known passes. */
TEST(range_headers) {
        static const char *const lines[] = { "HTTP/1.1 100 Continue\r\n", "\r\n", "HTTP/1.1 206 Partial Content\r\n",
                                             "content-range:   bytes 10-19/100 \r\n", "Retry-After: 7\r\n", "\r\n" };
        HttpHeaders h = {};
        bool ends[ELEMENTSOF(lines)];

        for (size_t i = 0; i < ELEMENTSOF(lines); i++)
                ends[i] = http_headers_feed(&h, lines[i], strlen(lines[i]));
        CHECK(!ends[1]);   /* the 100's blank line */
        CHECK(ends[5]);
        CHECK_EQ(h.status, 206);
        CHECK_STREQ(h.content_range, "bytes 10-19/100");
        CHECK(h.has_retry_after && h.retry_after_sec == 7);
        (void) http_headers_feed(&h, "HTTP/1.1 302 Found\r\n", 21);
        CHECK_EQ(h.status, 302);
        CHECK_STREQ(h.content_range, "");
        CHECK(!h.has_retry_after);

        CHECK(http_content_range_is("bytes 10-19/100", 10, 19, 100));
        CHECK(http_content_range_is("bytes 10-99/100", 10, UINT64_MAX, 100));
        CHECK(!http_content_range_is("bytes 10-19/100", 10, 20, 100));    /* not the end asked for */
        CHECK(!http_content_range_is("bytes 11-19/100", 10, 19, 100));    /* not the start */
        CHECK(!http_content_range_is("bytes 10-19/101", 10, 19, 100));    /* another artifact */
        CHECK(!http_content_range_is("bytes 10-100/100", 10, UINT64_MAX, 100));
        CHECK(!http_content_range_is("bytes 19-10/100", 19, UINT64_MAX, 100));
        CHECK(!http_content_range_is("bytes 10-19/100x", 10, 19, 100));
        CHECK(!http_content_range_is("bytes */100", 10, 19, 100));
}

UNIT_MAIN_BEGIN("test-agent-ddi")
        log_set_max_level(0);   /* the parser warns about odd sleeps */
        RUN(deployment_good);
        RUN(deployment_variants);
        RUN(deployment_not_json);
        RUN(deployment_missing_fields);
        RUN(deployment_unusable);
        RUN(artifact_pattern_list);
        RUN(deployment_failure_names);
        RUN(artifact_size);
        RUN(artifact_hashes);
        RUN(artifact_links);
        RUN(many_chunks_and_artifacts);
        RUN(huge_and_deep);
        RUN(base);
        RUN(base_bad_action_ids);
        RUN(cancel);
        RUN(sleep);
        RUN(retry_after);
        RUN(range_headers);
UNIT_MAIN_END
