/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <unistd.h>

#include <systemd/sd-bus.h>

#include "auth.h"
#include "error.h"
#include "log.h"
#include "macro.h"

#define LOOKUP_BUFFER_MAX (UINT32_C(1) << 20)

static int lookup_user(uid_t uid, char **ret_name, gid_t *ret_gid) {
        _cleanup_free_ char *buf = NULL;
        struct passwd pw, *result = NULL;
        size_t size = 1024;
        char *name;
        int r;

        for (;;) {
                free(buf);
                buf = malloc(size);
                if (!buf)
                        return -ENOMEM;
                r = getpwuid_r(uid, &pw, buf, size, &result);
                if (r != ERANGE)
                        break;
                if (size >= LOOKUP_BUFFER_MAX)
                        return -ERANGE;
                size *= 2;
        }
        if (r != 0)
                return -r;
        if (!result)
                return -ESRCH;

        name = strdup(result->pw_name);
        if (!name)
                return -ENOMEM;
        *ret_name = name;
        *ret_gid = result->pw_gid;
        return 0;
}

static int lookup_group(const char *group, gid_t *ret_gid) {
        _cleanup_free_ char *buf = NULL;
        struct group gr, *result = NULL;
        size_t size = 1024;
        int r;

        for (;;) {
                free(buf);
                buf = malloc(size);
                if (!buf)
                        return -ENOMEM;
                r = getgrnam_r(group, &gr, buf, size, &result);
                if (r != ERANGE)
                        break;
                if (size >= LOOKUP_BUFFER_MAX)
                        return -ERANGE;
                size *= 2;
        }
        if (r != 0)
                return -r;
        if (!result)
                return -ESRCH;

        *ret_gid = result->gr_gid;
        return 0;
}

int auth_user_groups(uid_t uid, gid_t *ret_gid, gid_t **ret_groups, int *ret_n) {
        _cleanup_free_ char *user = NULL;
        _cleanup_free_ gid_t *groups = NULL;
        gid_t user_gid = 0;
        int n = 64, r;

        r = lookup_user(uid, &user, &user_gid);
        if (r < 0)
                return r;
        for (;;) {
                int got = n;

                free(groups);
                groups = calloc(n, sizeof(gid_t));
                if (!groups)
                        return -ENOMEM;
                if (getgrouplist(user, user_gid, groups, &got) >= 0) {
                        n = got;
                        break;
                }
                if (got <= n || got > 65536)
                        return -ERANGE;
                n = got;
        }
        *ret_gid = user_gid;
        *ret_groups = TAKE_PTR(groups);
        *ret_n = n;
        return 0;
}

/* Group membership from the user database (primary group or supplementary via /etc/group and
 * NSS), not from the caller's process: the bus policy already checked the process's groups, so
 * the two checks together need both. */
static int uid_in_group(uid_t uid, const char *group) {
        _cleanup_free_ gid_t *groups = NULL;
        gid_t user_gid = 0, group_gid = 0;
        int n = 0, r;

        r = lookup_group(group, &group_gid);
        if (r < 0)
                return r;
        r = auth_user_groups(uid, &user_gid, &groups, &n);
        if (r < 0)
                return r;
        if (user_gid == group_gid)
                return 1;
        for (int i = 0; i < n; i++)
                if (groups[i] == group_gid)
                        return 1;
        return 0;
}

static const char *const action_table[_AUTH_ACTION_MAX] = {
        [AUTH_ACTION_READ] = "read",
        [AUTH_ACTION_INSPECT] = "inspect",
        [AUTH_ACTION_INSTALL] = "install",
        [AUTH_ACTION_INSTALL_PATH] = "install-path",
        [AUTH_ACTION_MARK] = "mark",
        [AUTH_ACTION_CANCEL] = "cancel",
        [AUTH_ACTION_REBOOT] = "reboot",
};

int authorize(sd_bus_message *m, AuthAction action, uid_t *ret_uid, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const char *member = sd_bus_message_get_member(m) ?: "?";
        uid_t euid;
        int r;

        assert(action >= 0 && action < _AUTH_ACTION_MAX);

        /* Only the EUID, and only from the bus daemon (SO_PEERCRED at connect time): no
         * SD_BUS_CREDS_AUGMENT, so nothing is read from /proc/<pid> (racy). */
        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds);
        if (r >= 0)
                r = sd_bus_creds_get_euid(creds, &euid);
        if (r < 0) {
                log_warning_errno(r, "%s: cannot get the caller's uid, denying: %m", member);
                (void) sd_bus_error_setf(error, error_kind_to_dbus_name(ERROR_ACCESS_DENIED),
                                         "Access denied to %s: the caller's uid is unknown", member);
                return -EACCES;
        }
        if (ret_uid)
                *ret_uid = euid;

        /* A caller running as the daemon's own user could ptrace it or edit its files anyway; this
         * only matters for sandboxes (make demo) where updated does not run as root. */
        if (euid == 0 || euid == geteuid())
                return 0;

        r = uid_in_group(euid, AUTH_GROUP);
        if (r > 0)
                return 0;
        if (r < 0)
                log_warning_errno(r, "%s: group lookup for uid %u failed, denying: %m", member,
                                  (unsigned) euid);
        else
                log_notice("Denied %s (%s) to uid %u: not in group %s", member, action_table[action],
                           (unsigned) euid, AUTH_GROUP);
        (void) sd_bus_error_setf(error, error_kind_to_dbus_name(ERROR_ACCESS_DENIED),
                                 "Access denied to %s for uid %u: needs root or group '%s'", member,
                                 (unsigned) euid, AUTH_GROUP);
        return -EACCES;
}
