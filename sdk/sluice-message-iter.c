/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

/**
 * SECTION:sluice-message-iter
 * @title: SluiceMessageIter
 *
 * The messages a step emits for one input, pulled one at a time. Steps
 * that emit messages they already hold use sluice_message_iter_new_empty(),
 * sluice_message_iter_new_single() or sluice_message_iter_new_array();
 * steps that produce messages lazily subclass #SluiceMessageIter.
 */

G_DEFINE_TYPE (SluiceMessageIter, sluice_message_iter, G_TYPE_OBJECT)

static void
sluice_message_iter_class_init (SluiceMessageIterClass *klass)
{
}

static void
sluice_message_iter_init (SluiceMessageIter *self)
{
}

/* The iterator over messages already in memory. */
#define SLUICE_TYPE_ARRAY_MESSAGE_ITER (sluice_array_message_iter_get_type ())
G_DECLARE_FINAL_TYPE (SluiceArrayMessageIter, sluice_array_message_iter, SLUICE, ARRAY_MESSAGE_ITER, SluiceMessageIter)

struct _SluiceArrayMessageIter
{
  SluiceMessageIter parent_instance;

  GPtrArray *messages;  /* nullable */
  guint      next;
};

G_DEFINE_FINAL_TYPE (SluiceArrayMessageIter, sluice_array_message_iter, SLUICE_TYPE_MESSAGE_ITER)

static SluiceMessage *
array_iter_take_next (SluiceArrayMessageIter *self)
{
  SluiceMessage *message;

  if (self->messages == NULL || self->next >= self->messages->len)
    return NULL;

  message = g_ptr_array_index (self->messages, self->next);
  self->next++;
  return g_object_ref (message);
}

static void
sluice_array_message_iter_next_async (SluiceMessageIter  *iter,
                                      GCancellable       *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer            user_data)
{
  SluiceArrayMessageIter *self = SLUICE_ARRAY_MESSAGE_ITER (iter);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, sluice_array_message_iter_next_async);
  g_task_return_pointer (task, array_iter_take_next (self), g_object_unref);
}

static SluiceMessage *
sluice_array_message_iter_next_finish (SluiceMessageIter *iter,
                                       GAsyncResult      *result,
                                       GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, iter), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static SluiceMessage *
sluice_array_message_iter_pop_ready (SluiceMessageIter *iter,
                                     gboolean          *out_ready)
{
  *out_ready = TRUE;
  return array_iter_take_next (SLUICE_ARRAY_MESSAGE_ITER (iter));
}

static void
sluice_array_message_iter_finalize (GObject *object)
{
  SluiceArrayMessageIter *self = SLUICE_ARRAY_MESSAGE_ITER (object);

  g_clear_pointer (&self->messages, g_ptr_array_unref);

  G_OBJECT_CLASS (sluice_array_message_iter_parent_class)->finalize (object);
}

static void
sluice_array_message_iter_class_init (SluiceArrayMessageIterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  SluiceMessageIterClass *iter_class = SLUICE_MESSAGE_ITER_CLASS (klass);

  object_class->finalize = sluice_array_message_iter_finalize;
  iter_class->next_async = sluice_array_message_iter_next_async;
  iter_class->next_finish = sluice_array_message_iter_next_finish;
  iter_class->pop_ready = sluice_array_message_iter_pop_ready;
}

static void
sluice_array_message_iter_init (SluiceArrayMessageIter *self)
{
}

/**
 * sluice_message_iter_new_empty:
 *
 * An iterator that ends at once: what a filter returns for a message it
 * drops.
 *
 * Returns: (transfer full): a new #SluiceMessageIter
 */
SluiceMessageIter *
sluice_message_iter_new_empty (void)
{
  return g_object_new (SLUICE_TYPE_ARRAY_MESSAGE_ITER, NULL);
}

/**
 * sluice_message_iter_new_single:
 * @message: the one message
 *
 * An iterator that yields @message, then ends.
 *
 * Returns: (transfer full): a new #SluiceMessageIter
 */
SluiceMessageIter *
sluice_message_iter_new_single (SluiceMessage *message)
{
  SluiceArrayMessageIter *self;

  g_return_val_if_fail (SLUICE_IS_MESSAGE (message), NULL);

  self = g_object_new (SLUICE_TYPE_ARRAY_MESSAGE_ITER, NULL);
  self->messages = g_ptr_array_new_full (1, g_object_unref);
  g_ptr_array_add (self->messages, g_object_ref (message));
  return SLUICE_MESSAGE_ITER (self);
}

/**
 * sluice_message_iter_new_array:
 * @messages: (element-type SluiceMessage): the messages, in order
 *
 * An iterator that yields the messages of @messages in order, then ends.
 * It takes a reference on @messages, which must not change afterwards.
 *
 * Returns: (transfer full): a new #SluiceMessageIter
 */
SluiceMessageIter *
sluice_message_iter_new_array (GPtrArray *messages)
{
  SluiceArrayMessageIter *self;

  g_return_val_if_fail (messages != NULL, NULL);

  self = g_object_new (SLUICE_TYPE_ARRAY_MESSAGE_ITER, NULL);
  self->messages = g_ptr_array_ref (messages);
  return SLUICE_MESSAGE_ITER (self);
}

/**
 * sluice_message_iter_next_async:
 * @self: a #SluiceMessageIter
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the next message (or the end) is known
 * @user_data: data for @callback
 *
 * Asks for the next message. Only one request may be outstanding at a
 * time.
 */
void
sluice_message_iter_next_async (SluiceMessageIter  *self,
                                GCancellable       *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer            user_data)
{
  SluiceMessageIterClass *klass;

  g_return_if_fail (SLUICE_IS_MESSAGE_ITER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  klass = SLUICE_MESSAGE_ITER_GET_CLASS (self);
  if (klass->next_async == NULL || klass->next_finish == NULL)
    {
      g_critical ("%s does not implement SluiceMessageIter.next_async()",
                  G_OBJECT_TYPE_NAME (self));
      g_task_report_new_error (self, callback, user_data, sluice_message_iter_next_async,
                               SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                               "%s does not implement SluiceMessageIter.next_async()",
                               G_OBJECT_TYPE_NAME (self));
      return;
    }

  klass->next_async (self, cancellable, callback, user_data);
}

/**
 * sluice_message_iter_next_finish:
 * @self: a #SluiceMessageIter
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the next message, or %NULL without
 *   an error at the end, or %NULL with @error set
 */
SluiceMessage *
sluice_message_iter_next_finish (SluiceMessageIter *self,
                                 GAsyncResult      *result,
                                 GError           **error)
{
  SluiceMessageIterClass *klass;

  g_return_val_if_fail (SLUICE_IS_MESSAGE_ITER (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_async_result_is_tagged (result, sluice_message_iter_next_async))
    return g_task_propagate_pointer (G_TASK (result), error);

  klass = SLUICE_MESSAGE_ITER_GET_CLASS (self);
  return klass->next_finish (self, result, error);
}

/**
 * sluice_message_iter_pop_ready:
 * @self: a #SluiceMessageIter
 * @out_ready: (out): whether the answer is known without waiting
 *
 * Takes the next message when it is known without waiting. When
 * *@out_ready is %FALSE, use sluice_message_iter_next_async() instead.
 *
 * Returns: (transfer full) (nullable): the next message, or %NULL at the
 *   end or when *@out_ready is %FALSE
 */
SluiceMessage *
sluice_message_iter_pop_ready (SluiceMessageIter *self,
                               gboolean          *out_ready)
{
  SluiceMessageIterClass *klass;
  gboolean ready = FALSE;
  SluiceMessage *message;

  g_return_val_if_fail (SLUICE_IS_MESSAGE_ITER (self), NULL);
  g_return_val_if_fail (out_ready != NULL, NULL);

  klass = SLUICE_MESSAGE_ITER_GET_CLASS (self);
  if (klass->pop_ready == NULL)
    {
      *out_ready = FALSE;
      return NULL;
    }

  message = klass->pop_ready (self, &ready);
  *out_ready = ready;
  if (!ready && message != NULL)
    {
      /* a message is an answer; keep the promise made by out_ready */
      *out_ready = TRUE;
    }
  return message;
}
