/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* core.batch-process: processes a batch that other runs fill (webhooks
 * all day long), typically on a schedule: its failed records go back to
 * pending, then what it holds is processed chunk by chunk by the nodes
 * after its batch node, and processing stops once nothing is pending (the
 * batch stays open for more), or, with "close", the batch is closed and
 * completes. Emits {"batch", "retried", "closed"} or {"batch", "missing":
 * true} when the batch does not exist (yet). */
#define SLUICE_TYPE_BATCH_PROCESS_STEP (sluice_batch_process_step_get_type ())
G_DECLARE_FINAL_TYPE (SluiceBatchProcessStep, sluice_batch_process_step, SLUICE,
                      BATCH_PROCESS_STEP, GObject)

extern const char sluice_batch_process_step_schema[];

G_END_DECLS
