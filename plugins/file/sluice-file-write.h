/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* file.write: writes each message's body to a file in a directory, named
 * from a template; whole files appear atomically. */
#define SLUICE_TYPE_FILE_WRITE (sluice_file_write_get_type ())
G_DECLARE_FINAL_TYPE (SluiceFileWrite, sluice_file_write, SLUICE, FILE_WRITE, GObject)

extern const char sluice_file_write_schema[];

G_END_DECLS
