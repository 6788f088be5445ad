/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

#include "sluice-workflow.h"

G_BEGIN_DECLS

/* A step built into core may let the engine hand it a message directly
 * when it can take it at once (the batch node, while its buffer has room):
 * a static SluiceEngineFastPath set as the step's object data under
 * SLUICE_ENGINE_FAST_PATH, looked up once per workflow. take() returns
 * FALSE to have the message go through sluice_step_process_async() as
 * usual; when it returns TRUE, *out_iter is the step's output. */
typedef struct {
  gboolean (*take) (GObject            *step,
                    SluiceMessage      *message,
                    SluiceMessageIter **out_iter);
} SluiceEngineFastPath;

#define SLUICE_ENGINE_FAST_PATH "sluice-engine-fast-path"

/* Runs workflows: starts their triggers, runs each event through the
 * graph on the main loop (retries, routing, concurrency, backpressure) and
 * settles the event once the run is over. */
#define SLUICE_TYPE_ENGINE (sluice_engine_get_type ())
G_DECLARE_FINAL_TYPE (SluiceEngine, sluice_engine, SLUICE, ENGINE, GObject)

/* @context gives the clock, state store and connections; each workflow
 * and node gets a child of it. */
SluiceEngine *sluice_engine_new (SluiceContext *context);

/* Instantiates the workflow's components and, when @start is TRUE, starts
 * its trigger. Fails (naming the node) if a component refuses its config,
 * or if a workflow of that name is already running. */
gboolean sluice_engine_add_workflow (SluiceEngine   *self,
                                     SluiceWorkflow *workflow,
                                     gboolean        start,
                                     GError        **error);

/* Takes the workflow out: its trigger stops (unless another workflow
 * shares it), events waiting for a slot go back to their source, and runs
 * in flight finish on the old definition. Its name is free at once, for a
 * new version. */
gboolean sluice_engine_remove_workflow (SluiceEngine *self,
                                        const char   *workflow,
                                        GError      **error);

/* A paused workflow gives its trigger no credit and starts nothing; runs
 * in progress finish and what waits stays queued until it is resumed. */
gboolean sluice_engine_set_paused (SluiceEngine *self,
                                   const char   *workflow,
                                   gboolean      paused,
                                   GError      **error);
gboolean sluice_engine_is_paused (SluiceEngine *self,
                                  const char   *workflow);

/* The running workflow's trigger instance, or NULL. */
GObject *sluice_engine_get_trigger (SluiceEngine *self,
                                    const char   *workflow);

/* Runs @event through the workflow now or when a slot frees. Returns the
 * run id, or NULL if no such workflow runs. */
char *sluice_engine_inject (SluiceEngine *self,
                            const char   *workflow,
                            SluiceEvent  *event,
                            GError      **error);

/* Like sluice_engine_inject(), but the event's message enters where the
 * output of node @after_node would go (records of a batch that node
 * filled). */
char *sluice_engine_inject_at (SluiceEngine *self,
                               const char   *workflow,
                               const char   *after_node,
                               SluiceEvent  *event,
                               GError      **error);

/* Queues a run for each SluiceEvent of @events, entering like
 * sluice_engine_inject_at(), in order, and starts as many as there are free
 * slots: one call for a chunk of batch records. Their run ids are not
 * returned. Fails (queuing none) like sluice_engine_inject_at(). */
gboolean sluice_engine_inject_all_at (SluiceEngine *self,
                                      const char   *workflow,
                                      const char   *after_node,
                                      GPtrArray    *events,
                                      GError      **error);

gboolean sluice_engine_has_workflow (SluiceEngine *self,
                                     const char   *workflow);
/* Batch nodes of workflows added from now on use @manager (a
 * SluiceBatchManager; held weakly). */
void sluice_engine_set_batch_manager (SluiceEngine *self,
                                      GObject      *manager);

/* Where runs that give up are recorded (the dead letter's id, workflow,
 * node, error, attempts, payload, headers, trace) before their source is
 * told; NULL (the default) leaves dead-lettering to the sources alone. */
void sluice_engine_set_dead_letter_store (SluiceEngine          *self,
                                          SluiceDeadLetterStore *store);
SluiceDeadLetterStore *sluice_engine_get_dead_letter_store (SluiceEngine *self);

/* The running workflow's definition, or NULL. */
SluiceWorkflow *sluice_engine_get_workflow (SluiceEngine *self,
                                            const char   *workflow);

/* Runs in progress and events waiting for a slot, for one workflow. */
guint sluice_engine_get_running (SluiceEngine *self,
                                 const char   *workflow);
guint sluice_engine_get_waiting (SluiceEngine *self,
                                 const char   *workflow);

/* Stops every trigger, hands waiting events back to their sources, lets
 * runs in progress finish (cancelling them after @grace_usec), and
 * completes once every event is settled. */
void sluice_engine_shutdown_async (SluiceEngine       *self,
                                   gint64              grace_usec,
                                   GCancellable       *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer            user_data);
gboolean sluice_engine_shutdown_finish (SluiceEngine *self,
                                        GAsyncResult *result,
                                        GError      **error);

G_END_DECLS
