/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

#include "sluice-redis-batch-store.h"
#include "sluice-redis-config.h"
#include "sluice-redis-dead-letter-store.h"
#include "sluice-redis-state-store.h"
#include "sluice-redis-stream-receive.h"
#include "sluice-redis-stream-send.h"

static gboolean
sluice_redis_plugin_register (SluicePlugin *plugin,
                              GError      **error)
{
  return sluice_plugin_add_component (plugin, "redis.batch-store", SLUICE_TYPE_REDIS_BATCH_STORE,
                                      sluice_redis_store_schema, error) &&
         sluice_plugin_add_component (plugin, "redis.dead-letter-store",
                                      SLUICE_TYPE_REDIS_DEAD_LETTER_STORE,
                                      sluice_redis_store_schema, error) &&
         sluice_plugin_add_component (plugin, "redis.state-store", SLUICE_TYPE_REDIS_STATE_STORE,
                                      sluice_redis_store_schema, error) &&
         sluice_plugin_add_component (plugin, "redis.stream.send", SLUICE_TYPE_REDIS_STREAM_SEND,
                                      sluice_redis_stream_send_schema, error) &&
         sluice_plugin_add_component (plugin, "redis.stream.receive",
                                      SLUICE_TYPE_REDIS_STREAM_RECEIVE,
                                      sluice_redis_stream_receive_schema, error);
}

SLUICE_PLUGIN_DEFINE ("redis", SLUICE_VERSION_STRING, "LGPL-2.1-or-later",
                      "Redis: batch, state and dead-letter stores shared by every host on one "
                      "Redis, and a queue on Redis streams",
                      sluice_redis_plugin_register)
