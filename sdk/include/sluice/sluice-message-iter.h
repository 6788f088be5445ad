/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(SLUICE_INSIDE) && !defined(SLUICE_COMPILATION)
#error "Only <sluice/sluice.h> can be included directly."
#endif

#include <gio/gio.h>
#include <sluice/sluice-message.h>

G_BEGIN_DECLS

#define SLUICE_TYPE_MESSAGE_ITER (sluice_message_iter_get_type ())
SLUICE_API G_DECLARE_DERIVABLE_TYPE (SluiceMessageIter, sluice_message_iter, SLUICE, MESSAGE_ITER, GObject)

/**
 * SluiceMessageIterClass:
 * @parent_class: the parent class
 * @next_async: start producing the next message
 * @next_finish: the next message, or %NULL with no error at the end
 * @pop_ready: optional: the next message when it is known without waiting
 *   (set *out_ready to %TRUE then, also at the end); lets the engine skip a
 *   main loop turn per message for in-memory outputs
 *
 * The messages a step emits for one input, pulled one at a time by the
 * engine. The engine asks for the next message only when the nodes
 * downstream have room for it, so an implementation that reads lazily
 * (a split of a large file) gets backpressure for free.
 */
struct _SluiceMessageIterClass
{
  GObjectClass parent_class;

  void           (*next_async)  (SluiceMessageIter  *self,
                                 GCancellable       *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer            user_data);
  SluiceMessage *(*next_finish) (SluiceMessageIter *self,
                                 GAsyncResult      *result,
                                 GError           **error);
  SluiceMessage *(*pop_ready)   (SluiceMessageIter *self,
                                 gboolean          *out_ready);

  /*< private >*/
  gpointer padding[12];
};

SLUICE_API SluiceMessageIter *sluice_message_iter_new_empty (void);
SLUICE_API SluiceMessageIter *sluice_message_iter_new_single (SluiceMessage *message);
SLUICE_API SluiceMessageIter *sluice_message_iter_new_array (GPtrArray *messages);

SLUICE_API void sluice_message_iter_next_async (SluiceMessageIter  *self,
                                                GCancellable       *cancellable,
                                                GAsyncReadyCallback callback,
                                                gpointer            user_data);
SLUICE_API SluiceMessage *sluice_message_iter_next_finish (SluiceMessageIter *self,
                                                           GAsyncResult      *result,
                                                           GError           **error);
SLUICE_API SluiceMessage *sluice_message_iter_pop_ready (SluiceMessageIter *self,
                                                         gboolean          *out_ready);

G_END_DECLS
