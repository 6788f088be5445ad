/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-fanout-event.h"

/* What the children of one parent share. */
typedef struct {
  gint         ref_count;
  SluiceEvent *parent;
  guint        unsettled;
  gboolean     handed_back;
} Fanout;

struct _SluiceFanoutEvent
{
  SluiceEvent parent_instance;

  Fanout   *fanout;
  gboolean  settled;
  GError   *error;
};

G_DEFINE_FINAL_TYPE (SluiceFanoutEvent, sluice_fanout_event, SLUICE_TYPE_EVENT)

static void
fanout_unref (Fanout *fanout)
{
  if (!g_atomic_int_dec_and_test (&fanout->ref_count))
    return;
  g_object_unref (fanout->parent);
  g_free (fanout);
}

static void
on_parent_settled (GObject *object, GAsyncResult *result, gpointer user_data)
{
  SluiceEvent *parent = SLUICE_EVENT (object);
  gboolean handed_back = GPOINTER_TO_INT (user_data);
  g_autoptr(GError) error = NULL;
  gboolean ok = handed_back ? sluice_event_retry_finish (parent, result, &error)
                            : sluice_event_ack_finish (parent, result, &error);

  if (!ok)
    g_warning ("could not settle a fanned-out event with its source: %s", error->message);
}

/* Settling a child is bookkeeping: the source hears once, from the last. */
static void
child_settle (SluiceEvent *event, gboolean handed_back, GCancellable *cancellable,
              GAsyncReadyCallback callback, gpointer user_data, gpointer tag)
{
  SluiceFanoutEvent *self = SLUICE_FANOUT_EVENT (event);
  Fanout *fanout = self->fanout;
  g_autoptr(GTask) task = g_task_new (event, cancellable, callback, user_data);

  g_task_set_source_tag (task, tag);
  if (!self->settled)
    {
      self->settled = TRUE;
      fanout->handed_back |= handed_back;
      if (--fanout->unsettled == 0)
        {
          if (fanout->handed_back)
            sluice_event_retry_async (fanout->parent, 0, NULL, on_parent_settled,
                                      GINT_TO_POINTER (TRUE));
          else
            sluice_event_ack_async (fanout->parent, NULL, on_parent_settled,
                                    GINT_TO_POINTER (FALSE));
        }
    }
  g_task_return_boolean (task, TRUE);
}

static void
fanout_ack_async (SluiceEvent *event, GCancellable *cancellable, GAsyncReadyCallback callback,
                  gpointer user_data)
{
  child_settle (event, FALSE, cancellable, callback, user_data, fanout_ack_async);
}

static void
fanout_retry_async (SluiceEvent *event, gint64 delay_usec, GCancellable *cancellable,
                    GAsyncReadyCallback callback, gpointer user_data)
{
  child_settle (event, TRUE, cancellable, callback, user_data, fanout_retry_async);
}

static void
fanout_dead_letter_async (SluiceEvent *event, const GError *reason, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  child_settle (event, FALSE, cancellable, callback, user_data, fanout_dead_letter_async);
}

static gboolean
fanout_settle_finish (SluiceEvent *event, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
sluice_fanout_event_finalize (GObject *object)
{
  SluiceFanoutEvent *self = SLUICE_FANOUT_EVENT (object);

  g_clear_error (&self->error);
  g_clear_pointer (&self->fanout, fanout_unref);

  G_OBJECT_CLASS (sluice_fanout_event_parent_class)->finalize (object);
}

static void
sluice_fanout_event_class_init (SluiceFanoutEventClass *klass)
{
  SluiceEventClass *event_class = SLUICE_EVENT_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = sluice_fanout_event_finalize;
  event_class->ack_async = fanout_ack_async;
  event_class->ack_finish = fanout_settle_finish;
  event_class->retry_async = fanout_retry_async;
  event_class->retry_finish = fanout_settle_finish;
  event_class->dead_letter_async = fanout_dead_letter_async;
  event_class->dead_letter_finish = fanout_settle_finish;
}

static void
sluice_fanout_event_init (SluiceFanoutEvent *self)
{
}

static SluiceMessage *
copy_message (SluiceMessage *original, gboolean take_stream)
{
  SluiceMessage *copy = sluice_message_new_child (original);

  sluice_message_set_id (copy, sluice_message_get_id (original));
  sluice_message_set_attempt (copy, sluice_message_get_attempt (original));
  sluice_message_set_content_type (copy, sluice_message_get_content_type (original));
  if (sluice_message_is_streamed (original))
    {
      if (take_stream)
        sluice_message_set_stream (copy, sluice_message_get_stream (original),
                                   sluice_message_get_length (original));
    }
  else if (sluice_message_get_bytes (original) != NULL)
    sluice_message_set_bytes (copy, sluice_message_get_bytes (original));
  return copy;
}

GPtrArray *
sluice_fanout_event_split (SluiceEvent *parent, guint n_children)
{
  SluiceMessage *message = sluice_event_get_message (parent);
  gboolean streamed = sluice_message_is_streamed (message);
  GPtrArray *children = g_ptr_array_new_full (n_children, g_object_unref);
  Fanout *fanout = g_new0 (Fanout, 1);

  g_return_val_if_fail (n_children > 0, children);

  fanout->ref_count = 1;
  fanout->parent = g_object_ref (parent);
  fanout->unsettled = n_children;
  for (guint i = 0; i < n_children; i++)
    {
      g_autoptr(SluiceMessage) copy = copy_message (message, i == 0);
      SluiceFanoutEvent *child = g_object_new (SLUICE_TYPE_FANOUT_EVENT, "message", copy, NULL);

      g_atomic_int_inc (&fanout->ref_count);
      child->fanout = fanout;
      if (streamed && i > 0)
        child->error = g_error_new_literal (SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                                            "the event's body is a stream, which only the first "
                                            "workflow sharing this trigger can read; give this "
                                            "workflow a trigger of its own");
      g_ptr_array_add (children, child);
    }
  fanout_unref (fanout);
  return children;
}

const GError *
sluice_fanout_event_get_error (SluiceFanoutEvent *self)
{
  g_return_val_if_fail (SLUICE_IS_FANOUT_EVENT (self), NULL);

  return self->error;
}
