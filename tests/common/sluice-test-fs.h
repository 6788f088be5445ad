/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Removes @path and, for a folder, everything below it; symbolic links are
 * removed, not followed. What cannot be removed is left: a test's scratch
 * folder, not its assertions. */
void sluice_test_rm_rf (const char *path);

G_END_DECLS
