/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "updatectl-bundle.h"

/* updatectl-bundle: 'updatectl bundle' executes it (client/updatectl/updatectl.c says why). */
int main(int argc, char **argv) {
        return updatectl_bundle_main(argc, argv);
}
