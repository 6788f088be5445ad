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

G_END_DECLS
