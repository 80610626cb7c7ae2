/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include <systemd/sd-bus.h>

/* Operators' group: its members may install (by fd or URL), mark, cancel and reboot. */
#define AUTH_GROUP "update"

typedef enum AuthAction {
        AUTH_ACTION_READ,          /* GetSlotStatus, properties: root and group update */
        AUTH_ACTION_INSPECT,       /* InspectBundle: root and group update (it takes an fd: see policy) */
        AUTH_ACTION_INSTALL,       /* InstallFd, Install of a URL: root and group update */
        AUTH_ACTION_INSTALL_PATH,  /* Install of a local path: root and group update; the path is
                                    * opened with the caller's rights (open-as.h) */
        AUTH_ACTION_MARK,          /* Mark, MarkGood: root and group update */
        AUTH_ACTION_CANCEL,        /* Cancel: root and group update */
        AUTH_ACTION_REBOOT,        /* Reboot: root and group update */
        _AUTH_ACTION_MAX,
} AuthAction;

/* Checks the sender of 'm' for 'action' using its EUID as the bus daemon vouches for it (no /proc
 * lookups) and the user database for group membership.  Returns 0 if allowed; else sets 'error'
 * to org.example.Update1.Error.AccessDenied naming the method and uid, and returns -EACCES.
 * Any lookup failure denies.  ret_uid (may be NULL) receives the caller's EUID.  Status is not
 * public: which versions a device runs, and when it last failed, help an attacker on the device. */
int authorize(sd_bus_message *m, AuthAction action, uid_t *ret_uid, sd_bus_error *error);

/* The user database's view of 'uid': its primary group and every group getgrouplist() gives
 * (the primary one included); *ret_groups is malloc'ed. */
int auth_user_groups(uid_t uid, gid_t *ret_gid, gid_t **ret_groups, int *ret_n);
