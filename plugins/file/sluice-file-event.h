/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

#include "sluice-file-watch.h"

G_BEGIN_DECLS

/* The event file.watch emits for one file. Acknowledging moves the file to
 * the processed directory, dead-lettering moves it to the failed directory
 * with a "<name>.error" file beside it, retrying leaves it where it is for
 * the watch to emit again after the delay. */
#define SLUICE_TYPE_FILE_EVENT (sluice_file_event_get_type ())
G_DECLARE_FINAL_TYPE (SluiceFileEvent, sluice_file_event, SLUICE, FILE_EVENT, SluiceEvent)

SluiceFileEvent *sluice_file_event_new (SluiceFileWatch *watch,
                                        SluiceMessage   *message,
                                        const char      *name,
                                        const char      *path);

G_END_DECLS
