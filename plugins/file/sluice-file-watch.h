/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* file.watch: emits one event per file that appears in a directory, once
 * the file is complete; settling the event moves the file away. */
#define SLUICE_TYPE_FILE_WATCH (sluice_file_watch_get_type ())
G_DECLARE_FINAL_TYPE (SluiceFileWatch, sluice_file_watch, SLUICE, FILE_WATCH, GObject)

extern const char sluice_file_watch_schema[];

const char *sluice_file_watch_get_processed_dir (SluiceFileWatch *self);
const char *sluice_file_watch_get_failed_dir (SluiceFileWatch *self);

/* Called by SluiceFileEvent once the event for @name has been settled
 * (after the file was moved, for ack and dead-letter). */
void sluice_file_watch_settled (SluiceFileWatch   *self,
                                const char        *name,
                                SluiceEventOutcome outcome,
                                gint64             retry_delay_usec);

G_END_DECLS
