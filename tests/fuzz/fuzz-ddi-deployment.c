/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The update-agent's DDI parsers (client/update-agent/update-agent-ddi.c) on the input as a
 * server response: ddi_parse_deployment() (deploymentBase: the artifact choice), and the same
 * bytes through ddi_parse_base() (the polling resource) and ddi_parse_cancel() (cancelAction).
 * What they accept is what the agent acts on, so:
 *   - a deployment is exactly one artifact matching artifact=, with a size in 1..max-bundle-size,
 *     a link, and hashes that are "" or lower-case hex of the right length; -EMEDIUMTYPE (refused)
 *     still carries the action id and the response, for the failure report; any other error
 *     hands out nothing and says why;
 *   - an action id taken from a link is 1..64 characters of [A-Za-z0-9_-] (it names files and
 *     URLs), and the server's sleep is at most a year. */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "update-agent-ddi.h"

#define MAX_BUNDLE (UINT64_C(1) << 30)

static AgentConfig config = {
        .url = (char *) "https://hawkbit.example.com",
        .artifact_pattern = (char *) AGENT_ARTIFACT_DEFAULT, /* "*.bundle *.raucb": the list path */
        .max_bundle_size = MAX_BUNDLE,
};
static DdiClient ddi = { .config = &config };

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_quiet();
        return 0;
}

static bool is_lower_hex(const char *s, size_t n) {
        if (strlen(s) != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isdigit((unsigned char) s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
                        return false;
        return true;
}

static void check_deployment(const char *body, size_t size) {
        SourceAction dep = {};
        size_t n_refused = 0;
        int r;

        r = ddi_parse_deployment(&ddi, body, size, &dep);
        while (dep.refused && dep.refused[n_refused])
                FUZZ_ASSERT(*dep.refused[n_refused++]);
        if (r == 0) {
                FUZZ_ASSERT(dep.action_id && dep.json);
                FUZZ_ASSERT(dep.filename && (fnmatch("*.bundle", dep.filename, FNM_PERIOD) == 0 ||
                                             fnmatch("*.raucb", dep.filename, FNM_PERIOD) == 0));
                FUZZ_ASSERT(dep.size > 0 && dep.size <= MAX_BUNDLE);
                FUZZ_ASSERT(dep.url);
                FUZZ_ASSERT(!dep.sha256[0] || is_lower_hex(dep.sha256, 64));
                FUZZ_ASSERT(!dep.sha1[0] || is_lower_hex(dep.sha1, 40));
                FUZZ_ASSERT(dep.download <= SOURCE_FORCED && dep.update <= SOURCE_FORCED);
                FUZZ_ASSERT(dep.has_window || !dep.window_available);
                fuzz_note("deployment %s: %s, %llu bytes, %zu refused", dep.action_id, dep.filename,
                          (unsigned long long) dep.size, n_refused);
        } else if (r == -EMEDIUMTYPE) {
                FUZZ_ASSERT(dep.action_id && dep.json && ddi.error[0]);
                fuzz_note("deployment %s refused: %s", dep.action_id, ddi.error);
        } else {
                FUZZ_ASSERT(r == -EBADMSG || r == -ENOMEM);
                FUZZ_ASSERT(!dep.action_id && !dep.json && !dep.refused && !dep.filename && !dep.url);
                FUZZ_ASSERT(r == -ENOMEM || ddi.error[0]);
                fuzz_note("deployment: %s", ddi.error);
        }
        source_action_done(&dep);
}

static void check_base(const char *body, size_t size) {
        DdiBase b = {};
        int r;

        r = ddi_parse_base(&ddi, body, size, &b);
        if (r < 0) {
                FUZZ_ASSERT(r == -EBADMSG || r == -ENOMEM);
                FUZZ_ASSERT(!b.deployment_href && !b.cancel_href && !b.config_data_href && !b.action_id);
                return;
        }
        FUZZ_ASSERT(b.sleep_usec <= UINT64_C(365) * 86400 * 1000000);
        FUZZ_ASSERT(!!b.action_id == (b.deployment_href || b.cancel_href));
        if (b.action_id) {
                size_t n = strlen(b.action_id);

                FUZZ_ASSERT(n >= 1 && n <= 64);
                for (size_t i = 0; i < n; i++)
                        FUZZ_ASSERT(isalnum((unsigned char) b.action_id[i]) || strchr("-_", b.action_id[i]));
        }
        fuzz_note("base: sleep %llu us, action %s", (unsigned long long) b.sleep_usec, b.action_id ?: "-");
        ddi_base_done(&b);
}

static void check_cancel(const char *body, size_t size) {
        char *stop = NULL;
        int r;

        r = ddi_parse_cancel(&ddi, body, size, &stop);
        FUZZ_ASSERT(r == 0 ? stop != NULL : stop == NULL);
        free(stop);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* As HttpResponse.body: the bytes and a NUL after them. */
        char *body = malloc(size + 1);

        FUZZ_ASSERT(body);
        memcpy(body, data, size);
        body[size] = 0;
        check_deployment(body, size);
        check_base(body, size);
        check_cancel(body, size);
        free(body);
        return 0;
}
