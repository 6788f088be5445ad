/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* redis.stream.send: appends each message to a Redis stream (XADD). */
#define SLUICE_TYPE_REDIS_STREAM_SEND (sluice_redis_stream_send_get_type ())
G_DECLARE_FINAL_TYPE (SluiceRedisStreamSend, sluice_redis_stream_send, SLUICE,
                      REDIS_STREAM_SEND, GObject)

extern const char sluice_redis_stream_send_schema[];

G_END_DECLS
