/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

/**
 * SECTION:sluice-step
 * @title: SluiceStep
 *
 * A node that processes messages. One instance serves every run of its
 * node, concurrently.
 */

G_DEFINE_INTERFACE (SluiceStep, sluice_step, G_TYPE_OBJECT)

static void
sluice_step_default_init (SluiceStepInterface *iface)
{
}

/**
 * sluice_step_process_async:
 * @self: a #SluiceStep
 * @message: the input
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Processes one message.
 */
void
sluice_step_process_async (SluiceStep         *self,
                           SluiceMessage      *message,
                           GCancellable       *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer            user_data)
{
  SluiceStepInterface *iface;

  g_return_if_fail (SLUICE_IS_STEP (self));
  g_return_if_fail (SLUICE_IS_MESSAGE (message));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_STEP_GET_IFACE (self);
  if (iface->process_async == NULL || iface->process_finish == NULL)
    {
      g_critical ("%s does not implement SluiceStep.process_async()", G_OBJECT_TYPE_NAME (self));
      g_task_report_new_error (self, callback, user_data, sluice_step_process_async,
                               SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                               "%s does not implement SluiceStep.process_async()",
                               G_OBJECT_TYPE_NAME (self));
      return;
    }

  iface->process_async (self, message, cancellable, callback, user_data);
}

/**
 * sluice_step_process_finish:
 * @self: a #SluiceStep
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the messages the step emits, or %NULL with
 *   @error set
 */
SluiceMessageIter *
sluice_step_process_finish (SluiceStep   *self,
                            GAsyncResult *result,
                            GError      **error)
{
  g_return_val_if_fail (SLUICE_IS_STEP (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_async_result_is_tagged (result, sluice_step_process_async))
    return g_task_propagate_pointer (G_TASK (result), error);

  return SLUICE_STEP_GET_IFACE (self)->process_finish (self, result, error);
}
