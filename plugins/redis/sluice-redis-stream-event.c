/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-redis-stream-event.h"

#include <string.h>

#include "sluice-redis-stream-receive.h"

G_DEFINE_FINAL_TYPE (SluiceRedisStreamEvent, sluice_redis_stream_event, SLUICE_TYPE_EVENT)

static GTask *
new_task (SluiceRedisStreamEvent *self,
          GCancellable           *cancellable,
          GAsyncReadyCallback     callback,
          gpointer                user_data,
          gpointer                source_tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  return task;
}

static void
sluice_redis_stream_event_ack_async (SluiceEvent        *event,
                                     GCancellable       *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer            user_data)
{
  SluiceRedisStreamEvent *self = SLUICE_REDIS_STREAM_EVENT (event);

  sluice_redis_stream_receive_acknowledge (self->receiver, self,
                                           new_task (self, cancellable, callback, user_data,
                                                     sluice_redis_stream_event_ack_async));
}

/* The host has recorded the dead letter itself by now: the entry only
 * has to leave the group's pending list, or it would come back. */
static void
sluice_redis_stream_event_dead_letter_async (SluiceEvent        *event,
                                             const GError       *reason,
                                             GCancellable       *cancellable,
                                             GAsyncReadyCallback callback,
                                             gpointer            user_data)
{
  SluiceRedisStreamEvent *self = SLUICE_REDIS_STREAM_EVENT (event);

  sluice_redis_stream_receive_acknowledge (self->receiver, self,
                                           new_task (self, cancellable, callback, user_data,
                                                     sluice_redis_stream_event_dead_letter_async));
}

/* Left pending in the group: once it has been idle for the visibility
 * timeout, a receiver of the group (this one or another) reclaims it and
 * delivers it again. Redis cannot delay one entry more than that, so
 * @delay_usec is not honoured beyond it. */
static void
sluice_redis_stream_event_retry_async (SluiceEvent        *event,
                                       gint64              delay_usec,
                                       GCancellable       *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer            user_data)
{
  SluiceRedisStreamEvent *self = SLUICE_REDIS_STREAM_EVENT (event);
  g_autoptr (GTask) task = new_task (self, cancellable, callback, user_data,
                                     sluice_redis_stream_event_retry_async);

  sluice_redis_stream_receive_release (self->receiver, self);
  g_task_return_boolean (task, TRUE);
}

static gboolean
sluice_redis_stream_event_finish (SluiceEvent  *event,
                                  GAsyncResult *result,
                                  GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, event), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
sluice_redis_stream_event_finalize (GObject *object)
{
  SluiceRedisStreamEvent *self = SLUICE_REDIS_STREAM_EVENT (object);

  /* Dropped without being settled: nothing to refresh any more. */
  sluice_redis_stream_receive_release (self->receiver, self);
  g_object_unref (self->receiver);

  G_OBJECT_CLASS (sluice_redis_stream_event_parent_class)->finalize (object);
}

static void
sluice_redis_stream_event_class_init (SluiceRedisStreamEventClass *klass)
{
  GObjectClass     *object_class = G_OBJECT_CLASS (klass);
  SluiceEventClass *event_class = SLUICE_EVENT_CLASS (klass);

  object_class->finalize = sluice_redis_stream_event_finalize;
  event_class->ack_async = sluice_redis_stream_event_ack_async;
  event_class->ack_finish = sluice_redis_stream_event_finish;
  event_class->dead_letter_async = sluice_redis_stream_event_dead_letter_async;
  event_class->dead_letter_finish = sluice_redis_stream_event_finish;
  event_class->retry_async = sluice_redis_stream_event_retry_async;
  event_class->retry_finish = sluice_redis_stream_event_finish;
}

static void
sluice_redis_stream_event_init (SluiceRedisStreamEvent *self)
{
  self->link.data = self;
}

SluiceRedisStreamEvent *
sluice_redis_stream_event_new (SluiceRedisStreamReceive *receiver,
                               SluiceMessage            *message,
                               const char               *id,
                               gsize                     id_len)
{
  SluiceRedisStreamEvent *self;

  g_return_val_if_fail (receiver != NULL, NULL);
  g_return_val_if_fail (SLUICE_IS_MESSAGE (message), NULL);
  g_return_val_if_fail (id_len <= SLUICE_REDIS_STREAM_ID_MAX, NULL);

  self = g_object_new (SLUICE_TYPE_REDIS_STREAM_EVENT, "message", message, NULL);
  self->receiver = g_object_ref (receiver);
  memcpy (self->id, id, id_len);
  self->id[id_len] = '\0';
  self->id_len = (guint8) id_len;
  return self;
}

const char *
sluice_redis_stream_event_get_id (SluiceRedisStreamEvent *self)
{
  g_return_val_if_fail (SLUICE_IS_REDIS_STREAM_EVENT (self), NULL);

  return self->id;
}
