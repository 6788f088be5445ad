/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-schedule-cron.h"

#include "sluice-cron.h"

#define COMPONENT "schedule.cron"

struct _SluiceScheduleCron
{
  SluiceScheduleTicker parent_instance;

  SluiceCron *cron;
};

G_DEFINE_FINAL_TYPE (SluiceScheduleCron, sluice_schedule_cron, SLUICE_TYPE_SCHEDULE_TICKER)

const char sluice_schedule_cron_schema[] =
  "{"
  "  \"type\": \"object\","
  "  \"description\": \"Fires when a cron expression matches the time in a time zone\","
  "  \"properties\": {"
  "    \"cron\": {\"type\": \"string\", \"minLength\": 1,"
  "               \"description\": \"minute hour day-of-month month day-of-week, with an "
  "optional leading second; lists, ranges, steps, JAN-DEC, SUN-SAT, or a macro such as "
  "@daily\"},"
  SLUICE_SCHEDULE_COMMON_PROPERTIES
  "  },"
  "  \"required\": [\"cron\"],"
  "  \"additionalProperties\": false"
  "}";

static gint64
sluice_schedule_cron_next_after (SluiceScheduleTicker *ticker,
                                 gint64                after_usec)
{
  SluiceScheduleCron *self = SLUICE_SCHEDULE_CRON (ticker);

  return sluice_cron_next (self->cron, sluice_schedule_ticker_get_time_zone (ticker), after_usec);
}

static gboolean
sluice_schedule_cron_configure (SluiceScheduleTicker *ticker,
                                JsonObject           *config,
                                GTimeZone            *tz,
                                GError              **error)
{
  SluiceScheduleCron *self = SLUICE_SCHEDULE_CRON (ticker);
  g_autofree char *expression = NULL;
  GError *local_error = NULL;

  if (!sluice_schedule_config_get_string (config, COMPONENT, "cron", NULL, &expression, error))
    return FALSE;

  self->cron = sluice_cron_new (expression, &local_error);
  if (self->cron == NULL)
    {
      sluice_schedule_propagate_config_error (error, local_error, COMPONENT, "cron");
      return FALSE;
    }
  return TRUE;
}

static void
sluice_schedule_cron_finalize (GObject *object)
{
  SluiceScheduleCron *self = SLUICE_SCHEDULE_CRON (object);

  g_clear_pointer (&self->cron, sluice_cron_free);

  G_OBJECT_CLASS (sluice_schedule_cron_parent_class)->finalize (object);
}

static void
sluice_schedule_cron_class_init (SluiceScheduleCronClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  SluiceScheduleTickerClass *ticker_class = SLUICE_SCHEDULE_TICKER_CLASS (klass);

  object_class->finalize = sluice_schedule_cron_finalize;

  ticker_class->component = COMPONENT;
  ticker_class->configure = sluice_schedule_cron_configure;
  ticker_class->next_after = sluice_schedule_cron_next_after;
}

static void
sluice_schedule_cron_init (SluiceScheduleCron *self)
{
}
