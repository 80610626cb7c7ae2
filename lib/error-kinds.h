/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one table of the errors a caller of org.example.Update1 can get (no include guard: read
 * once per use with ERROR_KIND defined).  Each entry:
 *   ERROR_KIND(ENUM, "Name", "D-Bus error name", "what it means", "what to do")
 * lib/error.h makes the enum of it and lib/error.c the name tables.  The error list in
 * docs/dbus-api.md and in interfaces/org.example.Update1.xml is generated from it
 * (tests/lint/error-table.py --write), and tests/integration/test-error-table.sh fails when
 * either differs, or when a doc names an error that is not here.  A new kind: a line here,
 * then --write. */
ERROR_KIND(FAILED, "Failed", "org.example.Update1.Error.Failed",
           "Anything no other error names: Cancel with nothing running, Reboot disabled or its command failed, an internal failure.",
           "Read the sentence; the daemon's log (journalctl -u updated) has the detail.")
ERROR_KIND(INVALID_ARGS, "InvalidArgs", "org.freedesktop.DBus.Error.InvalidArgs",
           "A bad argument: an unknown option or a wrong type, an unknown slot or mark state, an fd that is neither a regular file nor a pipe.",
           "Fix the call: the sentence names the argument. Nothing was changed.")
ERROR_KIND(INVALID_BUNDLE, "InvalidBundle", "org.example.Update1.Error.InvalidBundle",
           "The bundle is malformed, truncated or does not match its signed manifest (header, signature size, manifest, a chunk's hash, an image too large for its slot).",
           "Build or download the bundle again. The booted slot stays primary; a slot being written is marked bad.")
ERROR_KIND(SIGNATURE_INVALID, "SignatureInvalid", "org.example.Update1.Error.SignatureInvalid",
           "The signature does not verify against the keyring: an unknown signer, an expired or unsuitable certificate, a changed bundle.",
           "Sign with a certificate the device's [keyring] trusts, valid at the device's time. Nothing was changed.")
ERROR_KIND(INCOMPATIBLE, "Incompatible", "org.example.Update1.Error.Incompatible",
           "The bundle's compatible is not this system's [system] compatible=.",
           "Install a bundle built for this device (updatectl bundle info shows its compatible). Nothing was changed.")
ERROR_KIND(NO_TARGET_SLOT, "NoTargetSlot", "org.example.Update1.Error.NoTargetSlot",
           "No slot can take the bundle: the booted slot is unknown, there is no inactive boot group, or the bundle names a slot class the system lacks.",
           "Check the slots in system.conf and how the booted slot is found (update1.slot= on the kernel command line; updatectl status). Nothing was changed.")
ERROR_KIND(BUSY, "Busy", "org.example.Update1.Error.Busy",
           "An installation or a reboot command is running, or too much unverified signature is being read at once.",
           "Wait for Completed (or updatectl cancel), then try again.")
ERROR_KIND(ACCESS_DENIED, "AccessDenied", "org.example.Update1.Error.AccessDenied",
           "The caller may not do this: not root and not in group update, or a local path the caller itself may not read (the daemon opens it with the caller's rights).",
           "Run as root or as a member of group update, and name a file you can read (or pass an open file, as updatectl install does).")
ERROR_KIND(CANCELLED, "Cancelled", "org.example.Update1.Error.Cancelled",
           "The installation was cancelled (Cancel, or Ctrl-C in updatectl install).",
           "Install again when wanted. The target slot is marked bad; the booted slot stays primary.")
ERROR_KIND(IO, "Io", "org.example.Update1.Error.Io",
           "Reading or writing failed: the bundle's file, pipe or URL, a slot device, the status file or the bootloader's storage.",
           "Check the path, URL or device the sentence names; the log has the system error.")
ERROR_KIND(DOWNGRADE, "Downgrade", "org.example.Update1.Error.Downgrade",
           "Older than allowed: a security-version below the anti-rollback floor (force does not override it), or a version older than the booted one.",
           "Install a newer bundle; for an older version that is still above the floor, use the force option (updatectl install with force).")
ERROR_KIND(ALREADY_INSTALLED, "AlreadyInstalled", "org.example.Update1.Error.AlreadyInstalled",
           "The booted slot already runs this bundle's version.",
           "Nothing to do; to write it again anyway, use the force option (updatectl install with force).")
ERROR_KIND(TRIAL_PENDING, "TrialPending", "org.example.Update1.Error.TrialPending",
           "The booted slot is on a trial boot not yet committed, or a slot armed for a trial has not booted yet.",
           "Commit the trial (updatectl mark-good in that boot) or reject it (updatectl mark-bad booted, reboot).")
ERROR_KIND(NOT_BOOTABLE, "NotBootable", "org.example.Update1.Error.NotBootable",
           "The change would make a failed, half-written or mixed slot bootable, or leave no committed slot to boot.",
           "Install a bundle into that slot first, or keep a committed slot in the boot chain (docs/bootloaders.md, Invariants).")
ERROR_KIND(INCOMPLETE, "Incomplete", "org.example.Update1.Error.Incomplete",
           "The bundle has no image for a slot of its target boot group that holds another installation.",
           "Build the bundle with an image for every slot of the boot group.")
