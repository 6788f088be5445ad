/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* SluiceDeadLetterStore for one host, in memory: what sluiced keeps its
 * dead letters in when no Redis is configured. Gone when the daemon
 * stops. */
#define SLUICE_TYPE_MEMORY_DEAD_LETTER_STORE (sluice_memory_dead_letter_store_get_type ())
G_DECLARE_FINAL_TYPE (SluiceMemoryDeadLetterStore, sluice_memory_dead_letter_store, SLUICE,
                      MEMORY_DEAD_LETTER_STORE, GObject)

SluiceDeadLetterStore *sluice_memory_dead_letter_store_new (void);

/* Keeps the dead letters in @path between runs (a daemon without Redis):
 * loads what is there (damaged entries are skipped with a warning) and
 * writes the whole set back, atomically, within a fraction of a second of a
 * change and once more when the store goes away. Fails only when the file
 * exists but cannot be read or is not a dead-letter file. */
gboolean sluice_memory_dead_letter_store_set_file (SluiceDeadLetterStore *store,
                                                  const char            *path,
                                                  GError               **error);

G_END_DECLS
