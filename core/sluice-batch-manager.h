/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

#include "sluice-engine.h"

G_BEGIN_DECLS

/* Drives batches over a SluiceBatchStore: creation and streaming adds, then
 * processing chunk by chunk (claim, run each record through its workflow,
 * settle the chunk in one call), retries of failed records, and a report
 * when a batch is done. Several hosts on one store share the chunks of a
 * batch; a record whose worker died is claimed again when its lease ends.
 *
 * A batch's SluiceBatchInfo.workflow names what processes its records:
 * "WORKFLOW" (its entry nodes) or "WORKFLOW/NODE" (where the output of the
 * batch node NODE would go). */
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

/* How long a claim is leased, and how many chunks are in flight per batch. */
void sluice_batch_manager_set_lease (SluiceBatchManager *self,
                                     gint64              lease_usec);
void sluice_batch_manager_set_pipeline (SluiceBatchManager *self,
                                        guint               chunks);

/* Starts processing @batch_id on this host (no-op if already). Processing
 * continues until the batch is completed, failed, cancelled or gone. */
void sluice_batch_manager_process (SluiceBatchManager *self,
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

/* Stops claiming; completes once every claimed chunk is settled. */
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
