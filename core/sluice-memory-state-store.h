/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* SluiceStateStore for one host, in memory, on the given clock (so TTLs
 * and token buckets follow a manual clock in tests). */
#define SLUICE_TYPE_MEMORY_STATE_STORE (sluice_memory_state_store_get_type ())
G_DECLARE_FINAL_TYPE (SluiceMemoryStateStore, sluice_memory_state_store, SLUICE,
                      MEMORY_STATE_STORE, GObject)

SluiceStateStore *sluice_memory_state_store_new (SluiceClock *clock);

/* Keeps the entries in @path between runs (a daemon without Redis: the
 * schedules' last fire times, idempotency keys): loads what is there now
 * and writes changes back within a fraction of a second, and once more
 * when the store goes away. Fails (keeping @path for saving) only when the
 * file exists but cannot be read or parsed. */
gboolean sluice_memory_state_store_set_file (SluiceStateStore *store,
                                             const char       *path,
                                             GError          **error);

G_END_DECLS
