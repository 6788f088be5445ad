/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

/**
 * SECTION:sluice-source
 * @title: SluiceSource
 *
 * Pulls records page by page. The host makes one instance per run of the
 * node, opens it with the message that reached the node, and asks for
 * pages until there are none.
 */

G_DEFINE_INTERFACE (SluiceSource, sluice_source, G_TYPE_OBJECT)

static void
sluice_source_default_init (SluiceSourceInterface *iface)
{
}

/**
 * sluice_source_open:
 * @self: a #SluiceSource
 * @input: the message that reached the source's node
 * @error: return location for a #GError
 *
 * Prepares the source before the first page. Sources that take no
 * parameters from @input need not implement it.
 *
 * Returns: %TRUE on success
 */
gboolean
sluice_source_open (SluiceSource  *self,
                    SluiceMessage *input,
                    GError       **error)
{
  SluiceSourceInterface *iface;

  g_return_val_if_fail (SLUICE_IS_SOURCE (self), FALSE);
  g_return_val_if_fail (SLUICE_IS_MESSAGE (input), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = SLUICE_SOURCE_GET_IFACE (self);
  if (iface->open == NULL)
    return TRUE;
  return iface->open (self, input, error);
}

/**
 * sluice_source_next_page_async:
 * @self: a #SluiceSource
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Fetches the next page of records.
 */
void
sluice_source_next_page_async (SluiceSource       *self,
                               GCancellable       *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer            user_data)
{
  SluiceSourceInterface *iface;

  g_return_if_fail (SLUICE_IS_SOURCE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_SOURCE_GET_IFACE (self);
  if (iface->next_page_async == NULL || iface->next_page_finish == NULL)
    {
      g_critical ("%s does not implement SluiceSource.next_page_async()",
                  G_OBJECT_TYPE_NAME (self));
      g_task_report_new_error (self, callback, user_data, sluice_source_next_page_async,
                               SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                               "%s does not implement SluiceSource.next_page_async()",
                               G_OBJECT_TYPE_NAME (self));
      return;
    }

  iface->next_page_async (self, cancellable, callback, user_data);
}

/**
 * sluice_source_next_page_finish:
 * @self: a #SluiceSource
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type SluiceMessage) (nullable): the
 *   records of the page, or %NULL without an error when there are no more
 *   pages, or %NULL with @error set
 */
GPtrArray *
sluice_source_next_page_finish (SluiceSource *self,
                                GAsyncResult *result,
                                GError      **error)
{
  g_return_val_if_fail (SLUICE_IS_SOURCE (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_async_result_is_tagged (result, sluice_source_next_page_async))
    return g_task_propagate_pointer (G_TASK (result), error);

  return SLUICE_SOURCE_GET_IFACE (self)->next_page_finish (self, result, error);
}
