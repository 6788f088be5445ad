/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-run-observer.h"

G_DEFINE_INTERFACE (SluiceRunObserver, sluice_run_observer, G_TYPE_OBJECT)

static void
sluice_run_observer_default_init (SluiceRunObserverInterface *iface)
{
}

void
sluice_run_observer_run_finished_async (SluiceRunObserver  *self,
                                        const char         *run_id,
                                        gboolean            failed,
                                        GCancellable       *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer            user_data)
{
  g_return_if_fail (SLUICE_IS_RUN_OBSERVER (self));

  SLUICE_RUN_OBSERVER_GET_IFACE (self)->run_finished_async (self, run_id, failed, cancellable,
                                                            callback, user_data);
}

gboolean
sluice_run_observer_run_finished_finish (SluiceRunObserver *self,
                                         GAsyncResult      *result,
                                         GError           **error)
{
  g_return_val_if_fail (SLUICE_IS_RUN_OBSERVER (self), FALSE);

  return SLUICE_RUN_OBSERVER_GET_IFACE (self)->run_finished_finish (self, result, error);
}
