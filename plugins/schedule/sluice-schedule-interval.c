/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-schedule-interval.h"

#include "sluice-cron.h"

#define COMPONENT "schedule.interval"

struct _SluiceScheduleInterval
{
  SluiceScheduleTicker parent_instance;

  gint64 every;
  gint64 anchor;  /* the first tick; no tick comes before it */
};

G_DEFINE_FINAL_TYPE (SluiceScheduleInterval, sluice_schedule_interval,
                     SLUICE_TYPE_SCHEDULE_TICKER)

const char sluice_schedule_interval_schema[] =
  "{"
  "  \"type\": \"object\","
  "  \"description\": \"Fires at a fixed interval, at start + k × every\","
  "  \"properties\": {"
  "    \"every\": {\"type\": \"string\", \"format\": \"duration\","
  "                \"description\": \"Time between ticks (30s, 5m, 1h30m)\"},"
  "    \"start\": {\"type\": \"string\", \"minLength\": 1,"
  "                \"description\": \"ISO 8601 time of the first tick, which the others are "
  "aligned to (without an offset: in timezone). Default: the Unix epoch, so 5m ticks at "
  ":00, :05, ... UTC\"},"
  SLUICE_SCHEDULE_COMMON_PROPERTIES
  "  },"
  "  \"required\": [\"every\"],"
  "  \"additionalProperties\": false"
  "}";

/* How many ticks fall at or before @usec. */
static guint64
ticks_upto (SluiceScheduleInterval *self,
            gint64                  usec)
{
  if (usec < self->anchor)
    return 0;
  return ((guint64) usec - (guint64) self->anchor) / (guint64) self->every + 1;
}

static gint64
tick_number (SluiceScheduleInterval *self,
             guint64                 n)
{
  /* the n-th tick, 0-based; -1 past the end of time */
  if (n > ((guint64) G_MAXINT64 - (guint64) self->anchor) / (guint64) self->every)
    return -1;
  return (gint64) ((guint64) self->anchor + n * (guint64) self->every);
}

static gint64
sluice_schedule_interval_next_after (SluiceScheduleTicker *ticker,
                                     gint64                after_usec)
{
  SluiceScheduleInterval *self = SLUICE_SCHEDULE_INTERVAL (ticker);

  return tick_number (self, ticks_upto (self, after_usec));
}

static guint64
sluice_schedule_interval_count_between (SluiceScheduleTicker *ticker,
                                        gint64                after_usec,
                                        gint64                upto_usec,
                                        guint64               limit)
{
  SluiceScheduleInterval *self = SLUICE_SCHEDULE_INTERVAL (ticker);

  if (upto_usec <= after_usec)
    return 0;
  return MIN (ticks_upto (self, upto_usec) - ticks_upto (self, after_usec), limit);
}

static gint64
sluice_schedule_interval_last_between (SluiceScheduleTicker *ticker,
                                       gint64                after_usec,
                                       gint64                upto_usec)
{
  SluiceScheduleInterval *self = SLUICE_SCHEDULE_INTERVAL (ticker);
  guint64 upto = ticks_upto (self, upto_usec);

  if (upto_usec <= after_usec || upto == ticks_upto (self, after_usec))
    return -1;
  return tick_number (self, upto - 1);
}

static gboolean
sluice_schedule_interval_configure (SluiceScheduleTicker *ticker,
                                    JsonObject           *config,
                                    GTimeZone            *tz,
                                    GError              **error)
{
  SluiceScheduleInterval *self = SLUICE_SCHEDULE_INTERVAL (ticker);
  g_autofree char *start = NULL;
  GError *local_error = NULL;

  if (!sluice_schedule_config_get_duration (config, COMPONENT, "every", NULL, &self->every,
                                            error) ||
      !sluice_schedule_config_get_string (config, COMPONENT, "start", "", &start, error))
    return FALSE;

  if (self->every <= 0)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   COMPONENT ": key 'every': must be longer than 0");
      return FALSE;
    }

  self->anchor = 0;
  if (*start != '\0' && !sluice_cron_parse_time (start, tz, &self->anchor, &local_error))
    {
      sluice_schedule_propagate_config_error (error, local_error, COMPONENT, "start");
      return FALSE;
    }
  return TRUE;
}

static void
sluice_schedule_interval_class_init (SluiceScheduleIntervalClass *klass)
{
  SluiceScheduleTickerClass *ticker_class = SLUICE_SCHEDULE_TICKER_CLASS (klass);

  ticker_class->component = COMPONENT;
  ticker_class->configure = sluice_schedule_interval_configure;
  ticker_class->next_after = sluice_schedule_interval_next_after;
  ticker_class->count_between = sluice_schedule_interval_count_between;
  ticker_class->last_between = sluice_schedule_interval_last_between;
}

static void
sluice_schedule_interval_init (SluiceScheduleInterval *self)
{
}
