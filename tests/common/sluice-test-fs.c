/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-test-fs.h"

#include <glib/gstdio.h>

void
sluice_test_rm_rf (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (path == NULL)
    return;
  dir = g_dir_open (path, 0, NULL);
  if (dir == NULL)
    {
      g_unlink (path);
      return;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        sluice_test_rm_rf (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}
