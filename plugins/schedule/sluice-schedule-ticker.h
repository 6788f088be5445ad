/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* What schedule.cron and schedule.interval share: waiting for ticks on the
 * context's clock, the misfire, overlap and jitter options, one host per
 * tick through a state-store lock, and the events. A subclass only says
 * when its ticks fall. */
#define SLUICE_TYPE_SCHEDULE_TICKER (sluice_schedule_ticker_get_type ())
G_DECLARE_DERIVABLE_TYPE (SluiceScheduleTicker, sluice_schedule_ticker, SLUICE, SCHEDULE_TICKER,
                          GObject)

/* The header every tick's message carries: its scheduled time. */
#define SLUICE_SCHEDULE_HEADER_TICK "sluice-schedule-tick"

/* The configuration keys every schedule trigger has, as JSON Schema
 * properties to paste into a component's schema. */
#define SLUICE_SCHEDULE_COMMON_PROPERTIES                                                        \
  "\"timezone\": {\"type\": \"string\", \"minLength\": 1, \"default\": \"UTC\","                   \
  "  \"description\": \"IANA time zone the schedule and the event's times are in (e.g. "           \
  "Europe/Berlin), UTC, or local\"},"                                                             \
  "\"misfire\": {\"type\": \"string\", \"enum\": [\"skip\", \"run-once\", \"catch-up\"],"          \
  "  \"default\": \"skip\","                                                                      \
  "  \"description\": \"Ticks missed while no host ran the trigger: skip them, run once for all "  \
  "of them, or run every one in order\"},"                                                        \
  "\"overlap\": {\"type\": \"string\", \"enum\": [\"skip\", \"queue\"], \"default\": \"skip\","    \
  "  \"description\": \"A tick while the previous run is still going: skip it, or hold it (at "    \
  "most one) until that run finished\"},"                                                         \
  "\"jitter\": {\"type\": \"string\", \"format\": \"duration\", \"default\": \"0\","               \
  "  \"description\": \"Delay each tick by a random amount up to this\"}"

/**
 * SluiceScheduleTickerClass:
 * @parent_class: the parent class
 * @component: the component's name, for messages ("schedule.cron")
 * @configure: reads the subclass's own keys; @tz is the trigger's zone
 * @next_after: the first tick strictly after @after_usec, or -1 for none
 * @count_between: how many ticks fall in (@after_usec, @upto_usec], at
 *   most @limit; by default counted with @next_after
 * @last_between: the last tick in (@after_usec, @upto_usec], or -1; by
 *   default searched with @next_after
 */
struct _SluiceScheduleTickerClass
{
  GObjectClass parent_class;

  const char *component;

  gboolean (*configure)     (SluiceScheduleTicker *self,
                             JsonObject           *config,
                             GTimeZone            *tz,
                             GError              **error);
  gint64   (*next_after)    (SluiceScheduleTicker *self,
                             gint64                after_usec);
  guint64  (*count_between) (SluiceScheduleTicker *self,
                             gint64                after_usec,
                             gint64                upto_usec,
                             guint64               limit);
  gint64   (*last_between)  (SluiceScheduleTicker *self,
                             gint64                after_usec,
                             gint64                upto_usec);
};

GTimeZone *sluice_schedule_ticker_get_time_zone (SluiceScheduleTicker *self);

/* Called by SluiceScheduleEvent when its event for the tick at
 * @scheduled_usec has been settled. */
void sluice_schedule_ticker_settled (SluiceScheduleTicker *self,
                                     gint64                scheduled_usec,
                                     SluiceEventOutcome    outcome,
                                     gint64                retry_delay_usec);

/* Configuration getters for subclasses. The host validates configurations
 * and fills in defaults, but components can be made without a host, so
 * the types are checked again. A %NULL @default_value makes a key
 * required. Errors name the component and the key. */
gboolean sluice_schedule_config_get_string (JsonObject  *config,
                                            const char  *component,
                                            const char  *key,
                                            const char  *default_value,
                                            char       **out_value,
                                            GError     **error);
gboolean sluice_schedule_config_get_duration (JsonObject *config,
                                              const char *component,
                                              const char *key,
                                              const char *default_value,
                                              gint64     *out_usec,
                                              GError    **error);

/* Turns an error of lib/cron into an invalid-configuration one naming the
 * component and the key. */
void sluice_schedule_propagate_config_error (GError    **dest,
                                             GError     *src,
                                             const char *component,
                                             const char *key);

G_END_DECLS
