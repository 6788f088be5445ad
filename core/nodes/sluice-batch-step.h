/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* core.batch: hands each incoming record to a batch (created on the
 * run's first record), in store calls of "buffer" records, and closes the
 * batch when the run is over so that its chunks get processed by the nodes
 * after this one (or by "workflow"). With "auto_process", its records go
 * to a queue instead, one message each, as soon as the batch holds
 * "threshold" pending records. Emits nothing downstream itself. */
#define SLUICE_TYPE_BATCH_STEP (sluice_batch_step_get_type ())
G_DECLARE_FINAL_TYPE (SluiceBatchStep, sluice_batch_step, SLUICE, BATCH_STEP, GObject)

extern const char sluice_batch_step_schema[];

/* The key under which the engine attaches the SluiceBatchManager to the
 * contexts it gives nodes. */
#define SLUICE_CONTEXT_BATCH_MANAGER "sluice-batch-manager"

G_END_DECLS
