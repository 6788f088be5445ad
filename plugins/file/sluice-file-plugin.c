/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

#include "sluice-file-read.h"
#include "sluice-file-watch.h"
#include "sluice-file-write.h"

static gboolean
sluice_file_plugin_register (SluicePlugin *plugin,
                             GError      **error)
{
  return sluice_plugin_add_component (plugin, "file.watch", SLUICE_TYPE_FILE_WATCH,
                                      sluice_file_watch_schema, error) &&
         sluice_plugin_add_component (plugin, "file.read", SLUICE_TYPE_FILE_READ,
                                      sluice_file_read_schema, error) &&
         sluice_plugin_add_component (plugin, "file.write", SLUICE_TYPE_FILE_WRITE,
                                      sluice_file_write_schema, error);
}

SLUICE_PLUGIN_DEFINE ("file", SLUICE_VERSION_STRING, "LGPL-2.1-or-later",
                      "Local files: watch a directory, read files, write files",
                      sluice_file_plugin_register)
