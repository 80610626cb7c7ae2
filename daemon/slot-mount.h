/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where a slot's device is mounted now, for GetSlotStatus's "mountpoint" (RAUC reports a slot's
 * external mount point, from the mount table, matching the device: the booted root is "/").
 * Update1 itself never mounts a slot.
 *
 * Reads 'mountinfo' (/proc/self/mountinfo) and matches by device number, so a root mounted as
 * "/dev/root" is found; a slot that is a regular file matches a loop device backed by it
 * (/sys/dev/block/M:m/loop/backing_file).  Only mounts of the file system's root count (not
 * bind mounts of a directory in it); the first one wins, as in RAUC.  *ret is NULL when the
 * slot is not mounted. */
int slot_mountpoint(const char *device_path, const char *mountinfo, char **ret);
