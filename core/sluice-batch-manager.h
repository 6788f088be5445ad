/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

#include "sluice-engine.h"
#include "sluice-plugin-host.h"

G_BEGIN_DECLS

/* Drives batches over a SluiceBatchStore: creation and streaming adds, then
 * processing chunk by chunk (claim, run each record through its workflow,
 * settle the chunk in one call), retries of failed records, and a report
 * when a batch is done. Several hosts on one store share the chunks of a
 * batch; a record whose worker died is claimed again when its lease ends.
 *
 * A batch's SluiceBatchInfo.workflow names what processes its records:
 * "WORKFLOW" (its entry nodes) or "WORKFLOW/NODE" (where the output of the
 * batch node NODE would go).
 *
 * Hybrids: a dispatch node sends a claimed record to a queue instead of
 * finishing it (sluice_batch_manager_hold_record()); its chunk then leaves
 * the record processing under its lease, and the manager settles it when
 * an event workflow of its engine finishes a message that carries the
 * three headers below ("run-finished": acked = succeeded, dead-lettered =
 * failed with the error, handed back = nothing), in one store call per
 * batch and main-loop turn. A lease that runs out first makes the record
 * claimable and dispatched again: the lease must exceed the queue's
 * latency. */

/* The headers of a record on its way through a queue: its batch, its
 * record id, and the worker whose lease it is under. */
#define SLUICE_HEADER_BATCH "sluice-batch"
#define SLUICE_HEADER_BATCH_RECORD "sluice-batch-record"
#define SLUICE_HEADER_BATCH_WORKER "sluice-batch-worker"

#define SLUICE_TYPE_BATCH_MANAGER (sluice_batch_manager_get_type ())
G_DECLARE_FINAL_TYPE (SluiceBatchManager, sluice_batch_manager, SLUICE, BATCH_MANAGER, GObject)

/* @state_store (may be NULL) elects the one host that sends a batch's
 * report. @worker identifies this host's claims. */
SluiceBatchManager *sluice_batch_manager_new (SluiceBatchStore *store,
                                              SluiceEngine     *engine,
                                              SluiceStateStore *state_store,
                                              SluiceClock      *clock,
                                              const char       *worker);

SluiceBatchStore *sluice_batch_manager_get_store (SluiceBatchManager *self);
const char *sluice_batch_manager_get_worker (SluiceBatchManager *self);

/* Where dispatch nodes (and "auto_process") find the send components they
 * wrap. Without one they refuse to start. */
void sluice_batch_manager_set_plugin_host (SluiceBatchManager *self,
                                           SluicePluginHost   *host);
SluicePluginHost *sluice_batch_manager_get_plugin_host (SluiceBatchManager *self);

/* A dispatch node sent record @record_id of @batch_id to a queue: the
 * chunk it belongs to (on this host) does not settle it. */
void sluice_batch_manager_hold_record (SluiceBatchManager *self,
                                       const char         *batch_id,
                                       const char         *record_id);

/* The batches of @target ("WORKFLOW/NODE": a batch node with
 * "auto_process") are processed by handing each claimed record to
 * @dispatcher (a SluiceStep that sends it to a queue and holds it), not
 * through the engine; an open one is processed as soon as it holds
 * @threshold pending records (the batch node says when; the watch looks
 * too). A NULL @dispatcher forgets @target. */
void sluice_batch_manager_set_auto_process (SluiceBatchManager *self,
                                            const char         *target,
                                            SluiceStep         *dispatcher,
                                            guint64             threshold);

/* How long a claim is leased, and how many chunks are in flight per batch. */
void sluice_batch_manager_set_lease (SluiceBatchManager *self,
                                     gint64              lease_usec);
void sluice_batch_manager_set_pipeline (SluiceBatchManager *self,
                                        guint               chunks);

/* Starts processing @batch_id on this host; if it already is, looks for
 * new records at once instead of at the next poll. Processing continues
 * until the batch is completed, failed, cancelled or gone. */
void sluice_batch_manager_process (SluiceBatchManager *self,
                                   const char         *batch_id);

/* Processes the records @batch_id holds now and stops once none is
 * pending, even while the batch is open (a schedule working through a batch
 * that fills all day). A closed batch is processed to its end, as by
 * sluice_batch_manager_process(). */
void sluice_batch_manager_drain (SluiceBatchManager *self,
                                 const char         *batch_id);

/* Every @interval_usec, looks for closed batches with work left whose
 * workflow runs here, and processes them. 0 stops watching. */
void sluice_batch_manager_watch (SluiceBatchManager *self,
                                 gint64              interval_usec);

/* Moves the failed records of @batch_id back to pending and processes
 * them again. */
void sluice_batch_manager_retry_failed_async (SluiceBatchManager *self,
                                              const char         *batch_id,
                                              GCancellable       *cancellable,
                                              GAsyncReadyCallback callback,
                                              gpointer            user_data);
gboolean sluice_batch_manager_retry_failed_finish (SluiceBatchManager *self,
                                                   GAsyncResult       *result,
                                                   guint64            *out_count,
                                                   GError            **error);

/* Pauses (or resumes) claiming chunks of @batch_id on every host that
 * shares the state store: a flag there, which each host reads at every
 * watch (this one at once). Chunks already claimed finish. Refused with
 * SLUICE_ERROR_INVALID_STATE for a finished batch. */
void sluice_batch_manager_set_paused_async (SluiceBatchManager *self,
                                            const char         *batch_id,
                                            gboolean            paused,
                                            GCancellable       *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer            user_data);
gboolean sluice_batch_manager_set_paused_finish (SluiceBatchManager *self,
                                                 GAsyncResult       *result,
                                                 GError            **error);
/* Whether this host last saw @batch_id paused. */
gboolean sluice_batch_manager_is_paused (SluiceBatchManager *self,
                                         const char         *batch_id);

/* Stops claiming; completes once every claimed chunk is settled and every
 * late settle queued so far reached the store. Calling it again after the
 * engine shut down also waits for the settles of the event runs that
 * finished meanwhile. */
void sluice_batch_manager_stop_async (SluiceBatchManager *self,
                                      GCancellable       *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer            user_data);
gboolean sluice_batch_manager_stop_finish (SluiceBatchManager *self,
                                           GAsyncResult       *result,
                                           GError            **error);

/* "open", "closed", "completed", "failed" or "cancelled". */
const char *sluice_batch_state_to_string (SluiceBatchState state);

/* The JSON report of a finished batch (what on_complete workflows get). */
JsonNode *sluice_batch_manager_build_report (const SluiceBatchInfo *info,
                                             GPtrArray             *failed_records,
                                             gint64                 now_usec);

G_END_DECLS
