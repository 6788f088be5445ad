/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

/**
 * SECTION:sluice-event
 * @title: SluiceEvent
 *
 * A message and the handle that settles it with its source: acknowledge,
 * hand back for redelivery, or dead-letter. The public functions make sure
 * an event is settled once; a settlement the source refused may be tried
 * again.
 */

typedef struct {
  SluiceMessage      *message;
  SluiceEventOutcome  outcome;
  SluiceMessage     *reply;
} SluiceEventPrivate;

G_DEFINE_TYPE_WITH_PRIVATE (SluiceEvent, sluice_event, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_MESSAGE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
default_settle (SluiceEvent        *self,
                GCancellable       *cancellable,
                GAsyncReadyCallback callback,
                gpointer            user_data,
                gpointer            source_tag)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_return_boolean (task, TRUE);
}

static void
sluice_event_real_ack_async (SluiceEvent        *self,
                             GCancellable       *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer            user_data)
{
  default_settle (self, cancellable, callback, user_data, sluice_event_real_ack_async);
}

static void
sluice_event_real_retry_async (SluiceEvent        *self,
                               gint64              delay_usec,
                               GCancellable       *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer            user_data)
{
  default_settle (self, cancellable, callback, user_data, sluice_event_real_retry_async);
}

static void
sluice_event_real_dead_letter_async (SluiceEvent        *self,
                                     const GError       *reason,
                                     GCancellable       *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer            user_data)
{
  default_settle (self, cancellable, callback, user_data, sluice_event_real_dead_letter_async);
}

static gboolean
sluice_event_real_finish (SluiceEvent  *self,
                          GAsyncResult *result,
                          GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
sluice_event_constructed (GObject *object)
{
  SluiceEvent *self = SLUICE_EVENT (object);
  SluiceEventPrivate *priv = sluice_event_get_instance_private (self);

  G_OBJECT_CLASS (sluice_event_parent_class)->constructed (object);

  /* an event always has a message, so the engine need not check */
  if (priv->message == NULL)
    priv->message = sluice_message_new ();
}

static void
sluice_event_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  SluiceEvent *self = SLUICE_EVENT (object);
  SluiceEventPrivate *priv = sluice_event_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_MESSAGE:
      g_value_set_object (value, priv->message);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sluice_event_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  SluiceEvent *self = SLUICE_EVENT (object);
  SluiceEventPrivate *priv = sluice_event_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_MESSAGE:
      g_set_object (&priv->message, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sluice_event_dispose (GObject *object)
{
  SluiceEvent *self = SLUICE_EVENT (object);
  SluiceEventPrivate *priv = sluice_event_get_instance_private (self);

  g_clear_object (&priv->message);
  g_clear_object (&priv->reply);

  G_OBJECT_CLASS (sluice_event_parent_class)->dispose (object);
}

static void
sluice_event_class_init (SluiceEventClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = sluice_event_constructed;
  object_class->get_property = sluice_event_get_property;
  object_class->set_property = sluice_event_set_property;
  object_class->dispose = sluice_event_dispose;

  klass->ack_async = sluice_event_real_ack_async;
  klass->ack_finish = sluice_event_real_finish;
  klass->retry_async = sluice_event_real_retry_async;
  klass->retry_finish = sluice_event_real_finish;
  klass->dead_letter_async = sluice_event_real_dead_letter_async;
  klass->dead_letter_finish = sluice_event_real_finish;

  /**
   * SluiceEvent:message:
   *
   * The message the event carries.
   */
  properties[PROP_MESSAGE] =
    g_param_spec_object ("message", NULL, NULL,
                         SLUICE_TYPE_MESSAGE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
sluice_event_init (SluiceEvent *self)
{
}

/**
 * sluice_event_new:
 * @message: the message
 *
 * Creates an event that settles successfully without doing anything, for
 * sources with nothing to acknowledge.
 *
 * Returns: (transfer full): a new #SluiceEvent
 */
SluiceEvent *
sluice_event_new (SluiceMessage *message)
{
  g_return_val_if_fail (SLUICE_IS_MESSAGE (message), NULL);

  return g_object_new (SLUICE_TYPE_EVENT, "message", message, NULL);
}

/**
 * sluice_event_get_message:
 * @self: a #SluiceEvent
 *
 * Returns: (transfer none): the event's message
 */
SluiceMessage *
sluice_event_get_message (SluiceEvent *self)
{
  SluiceEventPrivate *priv;

  g_return_val_if_fail (SLUICE_IS_EVENT (self), NULL);

  priv = sluice_event_get_instance_private (self);
  return priv->message;
}

/**
 * sluice_event_get_reply:
 * @self: a #SluiceEvent
 *
 * The answer to a request: the last message the run's final nodes (those
 * with no outgoing edge) emitted, which the host sets before it acks the
 * event. A request/response trigger (an HTTP API) reads it in its ack to
 * build the response.
 *
 * Returns: (transfer none) (nullable): the reply, or %NULL when the run
 *   emitted nothing at its end
 */
SluiceMessage *
sluice_event_get_reply (SluiceEvent *self)
{
  SluiceEventPrivate *priv;

  g_return_val_if_fail (SLUICE_IS_EVENT (self), NULL);

  priv = sluice_event_get_instance_private (self);
  return priv->reply;
}

/**
 * sluice_event_set_reply:
 * @self: a #SluiceEvent
 * @reply: (nullable): the reply
 *
 * Sets what sluice_event_get_reply() returns. Called by the host.
 */
void
sluice_event_set_reply (SluiceEvent   *self,
                        SluiceMessage *reply)
{
  SluiceEventPrivate *priv;

  g_return_if_fail (SLUICE_IS_EVENT (self));
  g_return_if_fail (reply == NULL || SLUICE_IS_MESSAGE (reply));

  priv = sluice_event_get_instance_private (self);
  g_set_object (&priv->reply, reply);
}

/**
 * sluice_event_get_outcome:
 * @self: a #SluiceEvent
 *
 * How the event was settled. The outcome is recorded when settling
 * starts, and goes back to %SLUICE_EVENT_PENDING if the source refuses it.
 *
 * Returns: the #SluiceEventOutcome
 */
SluiceEventOutcome
sluice_event_get_outcome (SluiceEvent *self)
{
  SluiceEventPrivate *priv;

  g_return_val_if_fail (SLUICE_IS_EVENT (self), SLUICE_EVENT_PENDING);

  priv = sluice_event_get_instance_private (self);
  return priv->outcome;
}

/* Claims the settlement for @outcome; reports the error to @callback if
 * the event was settled before. */
static gboolean
event_begin_settle (SluiceEvent        *self,
                    SluiceEventOutcome  outcome,
                    GAsyncReadyCallback callback,
                    gpointer            user_data,
                    gpointer            source_tag)
{
  SluiceEventPrivate *priv = sluice_event_get_instance_private (self);

  if (priv->outcome != SLUICE_EVENT_PENDING)
    {
      g_task_report_new_error (self, callback, user_data, source_tag,
                               SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                               "event already settled");
      return FALSE;
    }

  priv->outcome = outcome;
  return TRUE;
}

static gboolean
event_finish_settle (SluiceEvent  *self,
                     GAsyncResult *result,
                     gpointer      source_tag,
                     gboolean    (*finish) (SluiceEvent *, GAsyncResult *, GError **),
                     GError      **error)
{
  SluiceEventPrivate *priv = sluice_event_get_instance_private (self);

  /* a refusal because the event was settled before leaves the outcome
   * alone */
  if (g_async_result_is_tagged (result, source_tag))
    return g_task_propagate_boolean (G_TASK (result), error);

  if (!finish (self, result, error))
    {
      priv->outcome = SLUICE_EVENT_PENDING;
      return FALSE;
    }
  return TRUE;
}

/**
 * sluice_event_ack_async:
 * @self: a #SluiceEvent
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Acknowledges the event to its source. Fails with
 * %SLUICE_ERROR_INVALID_STATE when the event was settled before.
 */
void
sluice_event_ack_async (SluiceEvent        *self,
                        GCancellable       *cancellable,
                        GAsyncReadyCallback callback,
                        gpointer            user_data)
{
  g_return_if_fail (SLUICE_IS_EVENT (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  if (!event_begin_settle (self, SLUICE_EVENT_ACKED, callback, user_data, sluice_event_ack_async))
    return;
  SLUICE_EVENT_GET_CLASS (self)->ack_async (self, cancellable, callback, user_data);
}

/**
 * sluice_event_ack_finish:
 * @self: a #SluiceEvent
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: %TRUE when the source took the acknowledgement
 */
gboolean
sluice_event_ack_finish (SluiceEvent  *self,
                         GAsyncResult *result,
                         GError      **error)
{
  g_return_val_if_fail (SLUICE_IS_EVENT (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return event_finish_settle (self, result, sluice_event_ack_async,
                              SLUICE_EVENT_GET_CLASS (self)->ack_finish, error);
}

/**
 * sluice_event_retry_async:
 * @self: a #SluiceEvent
 * @delay_usec: the least time before redelivery, in microseconds
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Hands the event back to its source for a later redelivery. Fails with
 * %SLUICE_ERROR_INVALID_STATE when the event was settled before.
 */
void
sluice_event_retry_async (SluiceEvent        *self,
                          gint64              delay_usec,
                          GCancellable       *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer            user_data)
{
  g_return_if_fail (SLUICE_IS_EVENT (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  if (!event_begin_settle (self, SLUICE_EVENT_RETRY, callback, user_data, sluice_event_retry_async))
    return;
  SLUICE_EVENT_GET_CLASS (self)->retry_async (self, MAX (delay_usec, 0), cancellable,
                                              callback, user_data);
}

/**
 * sluice_event_retry_finish:
 * @self: a #SluiceEvent
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: %TRUE when the source took the event back
 */
gboolean
sluice_event_retry_finish (SluiceEvent  *self,
                           GAsyncResult *result,
                           GError      **error)
{
  g_return_val_if_fail (SLUICE_IS_EVENT (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return event_finish_settle (self, result, sluice_event_retry_async,
                              SLUICE_EVENT_GET_CLASS (self)->retry_finish, error);
}

/**
 * sluice_event_dead_letter_async:
 * @self: a #SluiceEvent
 * @reason: (nullable): the error that made the workflow give up
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Moves the event to its source's dead-letter place. Fails with
 * %SLUICE_ERROR_INVALID_STATE when the event was settled before.
 */
void
sluice_event_dead_letter_async (SluiceEvent        *self,
                                const GError       *reason,
                                GCancellable       *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer            user_data)
{
  g_return_if_fail (SLUICE_IS_EVENT (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  if (!event_begin_settle (self, SLUICE_EVENT_DEAD_LETTERED, callback, user_data,
                           sluice_event_dead_letter_async))
    return;
  SLUICE_EVENT_GET_CLASS (self)->dead_letter_async (self, reason, cancellable, callback, user_data);
}

/**
 * sluice_event_dead_letter_finish:
 * @self: a #SluiceEvent
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: %TRUE when the source took the event as dead
 */
gboolean
sluice_event_dead_letter_finish (SluiceEvent  *self,
                                 GAsyncResult *result,
                                 GError      **error)
{
  g_return_val_if_fail (SLUICE_IS_EVENT (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return event_finish_settle (self, result, sluice_event_dead_letter_async,
                              SLUICE_EVENT_GET_CLASS (self)->dead_letter_finish, error);
}
