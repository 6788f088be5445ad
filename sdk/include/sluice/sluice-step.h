/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(SLUICE_INSIDE) && !defined(SLUICE_COMPILATION)
#error "Only <sluice/sluice.h> can be included directly."
#endif

#include <gio/gio.h>
#include <sluice/sluice-message-iter.h>

G_BEGIN_DECLS

#define SLUICE_TYPE_STEP (sluice_step_get_type ())
SLUICE_API G_DECLARE_INTERFACE (SluiceStep, sluice_step, SLUICE, STEP, GObject)

/**
 * SluiceStepInterface:
 * @g_iface: the parent interface
 * @process_async: process one message. The same step instance serves every
 *   run of its node, concurrently: keep per-call state in the task.
 * @process_finish: the messages the step emits for that input: none
 *   (a filter), one, or many (a split), as a #SluiceMessageIter the engine
 *   pulls from as downstream has room. On error the engine applies the
 *   node's retry policy when sluice_error_is_retryable() allows it.
 *
 * A node that processes messages: transform, call, write (a sink is a
 * step that emits its input or nothing).
 */
struct _SluiceStepInterface
{
  GTypeInterface g_iface;

  void               (*process_async)  (SluiceStep         *self,
                                        SluiceMessage      *message,
                                        GCancellable       *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer            user_data);
  SluiceMessageIter *(*process_finish) (SluiceStep   *self,
                                        GAsyncResult *result,
                                        GError      **error);

  /*< private >*/
  gpointer padding[12];
};

SLUICE_API void sluice_step_process_async (SluiceStep         *self,
                                           SluiceMessage      *message,
                                           GCancellable       *cancellable,
                                           GAsyncReadyCallback callback,
                                           gpointer            user_data);
SLUICE_API SluiceMessageIter *sluice_step_process_finish (SluiceStep   *self,
                                                          GAsyncResult *result,
                                                          GError      **error);

G_END_DECLS
