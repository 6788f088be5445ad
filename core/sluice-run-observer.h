/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Core-private: a step that must act once a run is over (the batch node
 * flushes and closes the run's batch). When a run's last message is done,
 * the engine calls every such step the run reached, and settles the event
 * only after all of them finished; an error fails the run. */
#define SLUICE_TYPE_RUN_OBSERVER (sluice_run_observer_get_type ())
G_DECLARE_INTERFACE (SluiceRunObserver, sluice_run_observer, SLUICE, RUN_OBSERVER, GObject)

struct _SluiceRunObserverInterface
{
  GTypeInterface g_iface;

  void     (*run_finished_async)  (SluiceRunObserver  *self,
                                   const char         *run_id,
                                   gboolean            failed,
                                   GCancellable       *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer            user_data);
  gboolean (*run_finished_finish) (SluiceRunObserver *self,
                                   GAsyncResult      *result,
                                   GError           **error);
};

void sluice_run_observer_run_finished_async (SluiceRunObserver  *self,
                                             const char         *run_id,
                                             gboolean            failed,
                                             GCancellable       *cancellable,
                                             GAsyncReadyCallback callback,
                                             gpointer            user_data);
gboolean sluice_run_observer_run_finished_finish (SluiceRunObserver *self,
                                                  GAsyncResult      *result,
                                                  GError           **error);

/* The header carrying the run id on every message of a run. */
#define SLUICE_HEADER_RUN "sluice-run"

G_END_DECLS
