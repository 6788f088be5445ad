/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-replay-event.h"

struct _SluiceReplayEvent
{
  SluiceEvent parent_instance;

  SluiceDeadLetterStore *store;
  SluiceDeadLetter      *letter;
};

G_DEFINE_FINAL_TYPE (SluiceReplayEvent, sluice_replay_event, SLUICE_TYPE_EVENT)

static void
on_removed (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!sluice_dead_letter_store_remove_finish (SLUICE_DEAD_LETTER_STORE (object), result, NULL,
                                               &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
replay_ack_async (SluiceEvent *event, GCancellable *cancellable, GAsyncReadyCallback callback,
                  gpointer user_data)
{
  SluiceReplayEvent *self = SLUICE_REPLAY_EVENT (event);
  GTask *task = g_task_new (event, cancellable, callback, user_data);
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();

  g_task_set_source_tag (task, replay_ack_async);
  g_ptr_array_add (ids, self->letter->id);
  sluice_dead_letter_store_remove_async (self->store, ids, cancellable, on_removed, task);
}

/* The engine already stored the updated dead letter; handing back leaves
 * it in place. Nothing else to do. */
static void
replay_keep_async (SluiceEvent *event, GCancellable *cancellable, GAsyncReadyCallback callback,
                   gpointer user_data, gpointer tag)
{
  g_autoptr(GTask) task = g_task_new (event, cancellable, callback, user_data);

  g_task_set_source_tag (task, tag);
  g_task_return_boolean (task, TRUE);
}

static void
replay_retry_async (SluiceEvent *event, gint64 delay_usec, GCancellable *cancellable,
                    GAsyncReadyCallback callback, gpointer user_data)
{
  replay_keep_async (event, cancellable, callback, user_data, replay_retry_async);
}

static void
replay_dead_letter_async (SluiceEvent *event, const GError *reason, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  replay_keep_async (event, cancellable, callback, user_data, replay_dead_letter_async);
}

static gboolean
replay_settle_finish (SluiceEvent *event, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
sluice_replay_event_finalize (GObject *object)
{
  SluiceReplayEvent *self = SLUICE_REPLAY_EVENT (object);

  g_clear_object (&self->store);
  g_clear_pointer (&self->letter, sluice_dead_letter_free);

  G_OBJECT_CLASS (sluice_replay_event_parent_class)->finalize (object);
}

static void
sluice_replay_event_class_init (SluiceReplayEventClass *klass)
{
  SluiceEventClass *event_class = SLUICE_EVENT_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = sluice_replay_event_finalize;
  event_class->ack_async = replay_ack_async;
  event_class->ack_finish = replay_settle_finish;
  event_class->retry_async = replay_retry_async;
  event_class->retry_finish = replay_settle_finish;
  event_class->dead_letter_async = replay_dead_letter_async;
  event_class->dead_letter_finish = replay_settle_finish;
}

static void
sluice_replay_event_init (SluiceReplayEvent *self)
{
}

SluiceEvent *
sluice_replay_event_new (SluiceDeadLetterStore *store, const SluiceDeadLetter *letter)
{
  g_autoptr(SluiceMessage) message = sluice_message_new ();
  SluiceReplayEvent *self;

  if (letter->payload != NULL)
    sluice_message_set_bytes (message, letter->payload);
  sluice_message_set_content_type (message, letter->content_type);
  for (guint i = 0; letter->headers != NULL && letter->headers[i] != NULL &&
                    letter->headers[i + 1] != NULL; i += 2)
    {
      if (g_str_equal (letter->headers[i], SLUICE_DEAD_LETTER_MESSAGE_ID))
        sluice_message_set_id (message, letter->headers[i + 1]);
      else
        sluice_message_set_header (message, letter->headers[i], letter->headers[i + 1]);
    }
  if (letter->trace_id != NULL)
    {
      /* A new span of the same trace. */
      g_autofree char *traceparent = NULL;
      guint8 span[8];

      for (guint i = 0; i < sizeof span; i++)
        span[i] = (guint8) g_random_int_range (0, 256);
      traceparent = g_strdup_printf ("00-%s-%02x%02x%02x%02x%02x%02x%02x%02x-01", letter->trace_id,
                                     span[0], span[1], span[2], span[3], span[4], span[5],
                                     span[6], span[7]);
      sluice_message_set_traceparent (message, traceparent);
    }
  sluice_message_set_header (message, "sluice-replay-of", letter->id);

  self = g_object_new (SLUICE_TYPE_REPLAY_EVENT, "message", message, NULL);
  self->store = g_object_ref (store);
  self->letter = sluice_dead_letter_copy (letter);
  return SLUICE_EVENT (self);
}

const SluiceDeadLetter *
sluice_replay_event_get_letter (SluiceReplayEvent *self)
{
  g_return_val_if_fail (SLUICE_IS_REPLAY_EVENT (self), NULL);

  return self->letter;
}
