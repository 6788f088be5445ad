/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* file.read: the files of a directory (or one file), one streamed message
 * per file, sorted by name, page by page. */
#define SLUICE_TYPE_FILE_READ (sluice_file_read_get_type ())
G_DECLARE_FINAL_TYPE (SluiceFileRead, sluice_file_read, SLUICE, FILE_READ, GObject)

extern const char sluice_file_read_schema[];

G_END_DECLS
