/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

#include "sluice-schedule-cron.h"
#include "sluice-schedule-interval.h"

static gboolean
sluice_schedule_plugin_register (SluicePlugin *plugin,
                                 GError      **error)
{
  return sluice_plugin_add_component (plugin, "schedule.cron", SLUICE_TYPE_SCHEDULE_CRON,
                                      sluice_schedule_cron_schema, error) &&
         sluice_plugin_add_component (plugin, "schedule.interval", SLUICE_TYPE_SCHEDULE_INTERVAL,
                                      sluice_schedule_interval_schema, error);
}

SLUICE_PLUGIN_DEFINE ("schedule", SLUICE_VERSION_STRING, "LGPL-2.1-or-later",
                      "Timers: cron expressions in a time zone and fixed intervals, once per "
                      "tick across hosts",
                      sluice_schedule_plugin_register)
