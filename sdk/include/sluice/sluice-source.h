/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(SLUICE_INSIDE) && !defined(SLUICE_COMPILATION)
#error "Only <sluice/sluice.h> can be included directly."
#endif

#include <gio/gio.h>
#include <sluice/sluice-message.h>

G_BEGIN_DECLS

#define SLUICE_TYPE_SOURCE (sluice_source_get_type ())
SLUICE_API G_DECLARE_INTERFACE (SluiceSource, sluice_source, SLUICE, SOURCE, GObject)

/**
 * SluiceSourceInterface:
 * @g_iface: the parent interface
 * @open: optional; called once before the first page with the message
 *   that reached the source's node (the trigger's event, say), so that a
 *   source can take parameters from it
 * @next_page_async: fetch the next page of records
 * @next_page_finish: a #GPtrArray of #SluiceMessage, one per record; %NULL
 *   with no error set once there are no more pages
 *
 * Pulls records page by page: files in a directory, rows of a query, pages
 * of an API. The host makes a new instance for every run of the node, so
 * an instance may keep its cursor in itself.
 */
struct _SluiceSourceInterface
{
  GTypeInterface g_iface;

  gboolean   (*open)             (SluiceSource  *self,
                                  SluiceMessage *input,
                                  GError       **error);
  void       (*next_page_async)  (SluiceSource       *self,
                                  GCancellable       *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer            user_data);
  GPtrArray *(*next_page_finish) (SluiceSource *self,
                                  GAsyncResult *result,
                                  GError      **error);

  /*< private >*/
  gpointer padding[12];
};

SLUICE_API gboolean sluice_source_open (SluiceSource  *self,
                                        SluiceMessage *input,
                                        GError       **error);
SLUICE_API void sluice_source_next_page_async (SluiceSource       *self,
                                               GCancellable       *cancellable,
                                               GAsyncReadyCallback callback,
                                               gpointer            user_data);
SLUICE_API GPtrArray *sluice_source_next_page_finish (SluiceSource *self,
                                                      GAsyncResult *result,
                                                      GError      **error);

G_END_DECLS
