/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "sluice-schedule-ticker.h"

G_BEGIN_DECLS

/* schedule.interval: a tick every "every", at start + k × every (start
 * defaults to the Unix epoch, so that every host agrees on the ticks). */
#define SLUICE_TYPE_SCHEDULE_INTERVAL (sluice_schedule_interval_get_type ())
G_DECLARE_FINAL_TYPE (SluiceScheduleInterval, sluice_schedule_interval, SLUICE,
                      SCHEDULE_INTERVAL, SluiceScheduleTicker)

extern const char sluice_schedule_interval_schema[];

G_END_DECLS
