/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* redis.batch-store: batches and their records in Redis, shared by every
 * host on that Redis. Each operation is one Lua script call. */
#define SLUICE_TYPE_REDIS_BATCH_STORE (sluice_redis_batch_store_get_type ())
G_DECLARE_FINAL_TYPE (SluiceRedisBatchStore, sluice_redis_batch_store, SLUICE, REDIS_BATCH_STORE,
                      GObject)

G_END_DECLS
