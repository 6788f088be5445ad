/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* redis.state-store: keys with TTLs, add-if-absent, leased locks,
 * counters and token buckets in Redis, shared by every host on it. Keys
 * live under prefix + "state:"; locks under prefix + "state:lock:", token
 * buckets under prefix + "state:bucket:". */
#define SLUICE_TYPE_REDIS_STATE_STORE (sluice_redis_state_store_get_type ())
G_DECLARE_FINAL_TYPE (SluiceRedisStateStore, sluice_redis_state_store, SLUICE, REDIS_STATE_STORE,
                      GObject)

G_END_DECLS
