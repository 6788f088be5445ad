/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "sluice-engine.h"

G_BEGIN_DECLS

/* The runs an operator can look at: those queued or in progress, and the
 * last finished ones (at most @max, none older than @keep_usec). Once
 * exported, each is the D-Bus object /org/sluice/Sluice1/runs/RUN
 * (org.sluice.Sluice1.Run), served from this table rather than registered
 * one by one. Its Finished signal is emitted when it ends if it was
 * started by hand (sluice_run_history_add_queued()) or its properties
 * were read while it ran, or for every run with @signal_all. */
#define SLUICE_TYPE_RUN_HISTORY (sluice_run_history_get_type ())
G_DECLARE_FINAL_TYPE (SluiceRunHistory, sluice_run_history, SLUICE, RUN_HISTORY, GObject)

#define SLUICE_RUN_HISTORY_PATH "/org/sluice/Sluice1/runs"

/* With @max 0 nothing is kept and the engine's runs are not followed. */
SluiceRunHistory *sluice_run_history_new (SluiceEngine *engine,
                                          SluiceClock  *clock,
                                          guint         max,
                                          gint64        keep_usec,
                                          gboolean      signal_all);

gboolean sluice_run_history_export (SluiceRunHistory *self,
                                    GDBusConnection  *connection,
                                    GError          **error);
void sluice_run_history_unexport (SluiceRunHistory *self);

/* A run queued by hand (sluice_engine_inject()), so that it can be
 * followed before it starts. */
void sluice_run_history_add_queued (SluiceRunHistory *self,
                                    const char       *workflow,
                                    const char       *run_id);

/* The object path of run @run_id (whether or not it is kept). */
char *sluice_run_history_dup_path (const char *run_id);

/* aa{sv}, newest first: id, workflow, state, started, finished, error,
 * trace_id, path. NULL @workflow or @state: any. */
GVariant *sluice_run_history_list (SluiceRunHistory *self,
                                   const char       *workflow,
                                   const char       *state,
                                   guint             limit);

G_END_DECLS
