/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "sluice-schedule-ticker.h"

G_BEGIN_DECLS

/* schedule.cron: a tick whenever a cron expression matches the wall-clock
 * time in the trigger's time zone. */
#define SLUICE_TYPE_SCHEDULE_CRON (sluice_schedule_cron_get_type ())
G_DECLARE_FINAL_TYPE (SluiceScheduleCron, sluice_schedule_cron, SLUICE, SCHEDULE_CRON,
                      SluiceScheduleTicker)

extern const char sluice_schedule_cron_schema[];

G_END_DECLS
