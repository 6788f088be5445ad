/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

#include "sluice-redis-stream-event.h"

G_BEGIN_DECLS

/* redis.stream.receive: a consumer in a consumer group of a Redis stream. */
#define SLUICE_TYPE_REDIS_STREAM_RECEIVE (sluice_redis_stream_receive_get_type ())
G_DECLARE_FINAL_TYPE (SluiceRedisStreamReceive, sluice_redis_stream_receive, SLUICE,
                      REDIS_STREAM_RECEIVE, GObject)

extern const char sluice_redis_stream_receive_schema[];

/* For the events: acknowledges @event's entry (XACK, sent with the others
 * of this main-loop turn) and returns the outcome through @task (taken). */
void sluice_redis_stream_receive_acknowledge (SluiceRedisStreamReceive *self,
                                              SluiceRedisStreamEvent   *event,
                                              GTask                    *task);

/* For the events: stops holding @event's entry (no more refreshing it);
 * it stays pending in the group. */
void sluice_redis_stream_receive_release (SluiceRedisStreamReceive *self,
                                          SluiceRedisStreamEvent   *event);

/* The consumer name, for tests and messages. */
const char *sluice_redis_stream_receive_get_consumer (SluiceRedisStreamReceive *self);

G_END_DECLS
