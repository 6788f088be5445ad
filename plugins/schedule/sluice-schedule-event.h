/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

#include "sluice-schedule-ticker.h"

G_BEGIN_DECLS

/* The event of one tick. There is nothing to acknowledge at a timer's
 * source: settling only tells the ticker, which needs to know when a run
 * is over (overlap) and when a tick is handed back (retry). */
#define SLUICE_TYPE_SCHEDULE_EVENT (sluice_schedule_event_get_type ())
G_DECLARE_FINAL_TYPE (SluiceScheduleEvent, sluice_schedule_event, SLUICE, SCHEDULE_EVENT,
                      SluiceEvent)

SluiceScheduleEvent *sluice_schedule_event_new (SluiceScheduleTicker *ticker,
                                                SluiceMessage        *message,
                                                gint64                scheduled_usec);

gint64 sluice_schedule_event_get_scheduled (SluiceScheduleEvent *self);

G_END_DECLS
