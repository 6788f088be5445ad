/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

#include "sluice-redis-stream-common.h"

G_BEGIN_DECLS

typedef struct _SluiceRedisStreamReceive SluiceRedisStreamReceive;

/* An entry that redis.stream.receive read from a stream: acknowledging
 * or dead-lettering it is an XACK (batched by the receiver), handing it
 * back leaves it pending for a later reclaim. */
#define SLUICE_TYPE_REDIS_STREAM_EVENT (sluice_redis_stream_event_get_type ())
G_DECLARE_FINAL_TYPE (SluiceRedisStreamEvent, sluice_redis_stream_event, SLUICE,
                      REDIS_STREAM_EVENT, SluiceEvent)

/* Open to the receiver, which keeps the events it holds in a queue
 * without another allocation per event. */
struct _SluiceRedisStreamEvent
{
  SluiceEvent parent_instance;

  SluiceRedisStreamReceive *receiver;   /* strong: acks go through it */
  GList                     link;       /* in the receiver's held queue; data = this */
  gboolean                  held;       /* linked there */
  gint64                    held_since; /* monotonic usec: delivered or last refreshed */
  guint8                    id_len;
  char                      id[SLUICE_REDIS_STREAM_ID_MAX + 1];
};

/* @id (@id_len bytes, at most SLUICE_REDIS_STREAM_ID_MAX) is the entry's
 * id in the stream. */
SluiceRedisStreamEvent *sluice_redis_stream_event_new (SluiceRedisStreamReceive *receiver,
                                                       SluiceMessage            *message,
                                                       const char               *id,
                                                       gsize                     id_len);

const char *sluice_redis_stream_event_get_id (SluiceRedisStreamEvent *self);

G_END_DECLS
