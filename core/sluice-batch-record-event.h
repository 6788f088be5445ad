/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* One claimed batch record running through its workflow. Settling it
 * records the outcome for the chunk's single settle call:
 * ack = succeeded, dead-letter = failed with the error; handing it back
 * leaves the record under its lease, to be claimed again later. The outcome
 * is recorded before the settle call returns; with a NULL callback nothing
 * else happens (no task, no main loop turn). */
#define SLUICE_TYPE_BATCH_RECORD_EVENT (sluice_batch_record_event_get_type ())
G_DECLARE_FINAL_TYPE (SluiceBatchRecordEvent, sluice_batch_record_event, SLUICE,
                      BATCH_RECORD_EVENT, SluiceEvent)

typedef enum {
  SLUICE_RECORD_OUTCOME_SUCCEEDED,
  SLUICE_RECORD_OUTCOME_FAILED,
  SLUICE_RECORD_OUTCOME_ABANDONED,
} SluiceRecordOutcomeKind;

/* Called once per event, when it is settled. */
typedef void (*SluiceBatchRecordFunc) (SluiceRecordOutcomeKind kind,
                                       const char             *record_id,
                                       const char             *error,
                                       gpointer                user_data);

SluiceEvent *sluice_batch_record_event_new (SluiceMessage        *record,
                                            SluiceBatchRecordFunc func,
                                            gpointer              user_data);

G_END_DECLS
