/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <sluice/sluice.h>

#include "schedule-test-util.h"
#include "sluice-memory-state-store.h"
#include "sluice-schema.h"

#define SECOND G_TIME_SPAN_SECOND
#define MINUTE G_TIME_SPAN_MINUTE
#define HOUR G_TIME_SPAN_HOUR
#define DAY G_TIME_SPAN_DAY

/* The schedule triggers on a manual clock, with core's memory state
 * store: nothing here sleeps. */
typedef struct {
  SluiceClock      *clock;
  SluiceStateStore *store;
  GPtrArray        *triggers;
} Fixture;

static void
fixture_init (Fixture    *f,
              const char *start)
{
  f->clock = sluice_clock_new_manual (schedule_test_time (start));
  f->store = sluice_memory_state_store_new (f->clock);
  f->triggers = g_ptr_array_new_with_free_func (g_object_unref);
}

/* The clock starts at 2026-01-01T00:00:30Z... */
static void
fixture_setup (Fixture      *f,
               gconstpointer user_data)
{
  fixture_init (f, "2026-01-01T00:00:30Z");
}

/* ... or at the time given as the test's data. */
static void
fixture_setup_at (Fixture      *f,
                  gconstpointer user_data)
{
  fixture_init (f, user_data);
}

static void
fixture_teardown (Fixture      *f,
                  gconstpointer user_data)
{
  for (guint i = 0; i < f->triggers->len; i++)
    sluice_trigger_stop (g_ptr_array_index (f->triggers, i));
  schedule_test_spin ();
  g_ptr_array_unref (f->triggers);
  g_clear_object (&f->store);
  g_clear_object (&f->clock);
}

/* A trigger named as the engine names a workflow's trigger, on the
 * fixture's clock and store. */
static SluiceTrigger *
make_named_trigger (Fixture    *f,
                    const char *name,
                    const char *component,
                    const char *config)
{
  g_autoptr(SluiceContext) context = sluice_context_new (name, f->clock, f->store);
  g_autoptr(GError) error = NULL;
  GObject *trigger = schedule_test_create (component, context, config, &error);

  g_assert_no_error (error);
  g_assert_true (SLUICE_IS_TRIGGER (trigger));
  g_ptr_array_add (f->triggers, trigger);
  return SLUICE_TRIGGER (trigger);
}

static SluiceTrigger *
make_trigger (Fixture    *f,
              const char *component,
              const char *config)
{
  return make_named_trigger (f, "nightly/trigger", component, config);
}

static void
start (SluiceTrigger *trigger)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (sluice_trigger_start (trigger, &error));
  g_assert_no_error (error);
  schedule_test_spin ();
}

static void
stop_and_forget (Fixture       *f,
                 SluiceTrigger *trigger)
{
  sluice_trigger_stop (trigger);
  g_ptr_array_remove (f->triggers, trigger);
  schedule_test_spin ();
}

/* ---- The plugin and its components ---- */

static void
test_components (void)
{
  static const char * const names[] = { "schedule.cron", "schedule.interval" };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      SluiceComponentFactory *factory = schedule_test_lookup (names[i]);
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func (
        (GDestroyNotify) sluice_schema_problem_free);
      g_autoptr(JsonNode) config = NULL;
      g_autoptr(JsonObject) filled = NULL;
      JsonNode *schema = sluice_component_factory_get_schema (factory);

      g_assert_cmpint (sluice_component_factory_get_kind (factory), ==, SLUICE_COMPONENT_TRIGGER);
      g_assert_cmpstr (sluice_component_factory_get_plugin_name (factory), ==, "schedule");
      g_assert_true (sluice_schema_check (schema, &error));
      g_assert_no_error (error);

      /* defaults are filled in */
      config = json_from_string (i == 0 ? "{\"cron\": \"@daily\"}" : "{\"every\": \"5m\"}", NULL);
      filled = sluice_schema_validate (schema, config, problems);
      g_assert_cmpuint (problems->len, ==, 0);
      g_assert_nonnull (filled);
      g_assert_cmpstr (json_object_get_string_member (filled, "timezone"), ==, "UTC");
      g_assert_cmpstr (json_object_get_string_member (filled, "misfire"), ==, "skip");
      g_assert_cmpstr (json_object_get_string_member (filled, "overlap"), ==, "skip");
      g_assert_cmpstr (json_object_get_string_member (filled, "jitter"), ==, "0");

      /* and bad choices are refused by the schema already */
      g_clear_pointer (&config, json_node_unref);
      g_clear_pointer (&filled, json_object_unref);
      config = json_from_string (i == 0 ? "{\"cron\": \"@daily\", \"misfire\": \"sometimes\"}"
                                        : "{\"every\": \"5m\", \"jitter\": \"soon\"}", NULL);
      filled = sluice_schema_validate (schema, config, problems);
      g_assert_null (filled);
      g_assert_cmpuint (problems->len, ==, 1);
    }
}

typedef struct {
  const char *component;
  const char *config;
  const char *message;
} BadConfig;

static void
test_bad_config (void)
{
  static const BadConfig bad[] = {
    { "schedule.cron", "{\"cron\": \"0 0 32 * *\"}",
      "schedule.cron: key 'cron': cron '0 0 32 * *': field 3 (day of month): '32' is out of "
      "range 1-31" },
    { "schedule.cron", "{\"cron\": \"0 0 30 2 *\"}",
      "schedule.cron: key 'cron': cron '0 0 30 2 *': never fires: day 30 of the month does not "
      "occur in February" },
    { "schedule.cron", "{}", "schedule.cron: key 'cron' is required" },
    { "schedule.cron", "{\"cron\": 5}", "schedule.cron: key 'cron': expected a string" },
    { "schedule.cron", "{\"cron\": \"@daily\", \"timezone\": \"Europe/Atlantis\"}",
      "schedule.cron: key 'timezone': unknown time zone 'Europe/Atlantis' (expected an IANA "
      "name such as Europe/Berlin, UTC or local)" },
    { "schedule.cron", "{\"cron\": \"@daily\", \"misfire\": \"sometimes\"}",
      "schedule.cron: key 'misfire': 'sometimes' is not one of skip, run-once, catch-up" },
    { "schedule.cron", "{\"cron\": \"@daily\", \"overlap\": \"allow\"}",
      "schedule.cron: key 'overlap': 'allow' is not one of skip, queue" },
    { "schedule.interval", "{\"every\": \"0\"}",
      "schedule.interval: key 'every': must be longer than 0" },
    { "schedule.interval", "{}", "schedule.interval: key 'every' is required" },
    { "schedule.interval", "{\"every\": \"5m\", \"start\": \"monday\"}",
      "schedule.interval: key 'start': 'monday' is not an ISO 8601 date and time (such as "
      "2026-03-29T02:30:00+01:00)" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(SluiceClock) clock = sluice_clock_new_manual (0);
      g_autoptr(SluiceContext) context = sluice_context_new ("bad/trigger", clock, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(GObject) trigger = schedule_test_create (bad[i].component, context,
                                                         bad[i].config, &error);

      g_assert_null (trigger);
      g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
      g_assert_cmpstr (error->message, ==, bad[i].message);
    }

  /* durations in the format of the rest of Sluice */
  {
    g_autoptr(SluiceClock) clock = sluice_clock_new_manual (0);
    g_autoptr(SluiceContext) context = sluice_context_new ("bad/trigger", clock, NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(GObject) trigger = schedule_test_create ("schedule.interval", context,
                                                       "{\"every\": \"5 minutes\"}", &error);

    g_assert_null (trigger);
    g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
    g_assert_true (g_str_has_prefix (error->message, "schedule.interval: key 'every': "));
    g_assert_nonnull (strstr (error->message, "5 minutes"));
  }
}

/* ---- Ticks ---- */

static void
test_interval_ticks (Fixture      *f,
                     gconstpointer user_data)
{
  SluiceTrigger *trigger = make_trigger (f, "schedule.interval", "{\"every\": \"5m\"}");
  g_autoptr(ScheduleTestRecorder) recorder = schedule_test_recorder_new (f->clock, TRUE);
  g_autofree char *list = NULL;

  schedule_test_recorder_watch (recorder, G_OBJECT (trigger));
  start (trigger);

  /* 00:00:30 -> 00:16:00: aligned to the epoch, so :05, :10, :15 */
  schedule_test_advance (f->clock, 15 * MINUTE + 30 * SECOND);
  list = schedule_test_scheduled_list (recorder);
  g_assert_cmpstr (list, ==,
                   "2026-01-01T00:05:00Z 2026-01-01T00:10:00Z 2026-01-01T00:15:00Z");

  for (guint i = 0; i < recorder->events->len; i++)
    {
      SluiceEvent *event = g_ptr_array_index (recorder->events, i);
      SluiceMessage *message = sluice_event_get_message (event);
      g_autofree char *scheduled = schedule_test_scheduled (recorder, i);
      g_autofree char *fired = schedule_test_fired (recorder, i);

      /* emitted at the very instant, and says so */
      g_assert_cmpint (g_array_index (recorder->emitted_at, gint64, i), ==,
                       schedule_test_time (scheduled));
      g_assert_cmpstr (fired, ==, scheduled);
      g_assert_cmpint (schedule_test_missed (recorder, i), ==, 0);
      g_assert_cmpstr (sluice_message_get_header (message, "sluice-schedule-tick"), ==, scheduled);
      g_assert_cmpstr (sluice_message_get_content_type (message), ==, "application/json");
      g_assert_cmpuint (sluice_message_get_attempt (message), ==, 0);
      g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_ACKED);
    }

  /* stopped: no more ticks */
  sluice_trigger_stop (trigger);
  schedule_test_advance (f->clock, HOUR);
  g_assert_cmpuint (recorder->events->len, ==, 3);
}

static void
test_interval_start (Fixture      *f,
                     gconstpointer user_data)
{
  /* anchored at 01:20 Berlin time (00:20 UTC), hourly, times shown in Berlin */
  SluiceTrigger *aligned = make_named_trigger (f, "aligned/trigger", "schedule.interval",
                                         "{\"every\": \"1h\", \"start\": \"2025-12-01T01:20:00\","
                                         " \"timezone\": \"Europe/Berlin\"}");
  /* no tick before the start */
  SluiceTrigger *later = make_named_trigger (f, "later/trigger", "schedule.interval",
                                       "{\"every\": \"30m\", \"start\": \"2026-01-01T03:00:00Z\"}");
  g_autoptr(ScheduleTestRecorder) a = schedule_test_recorder_new (f->clock, TRUE);
  g_autoptr(ScheduleTestRecorder) b = schedule_test_recorder_new (f->clock, TRUE);
  g_autofree char *list_a = NULL;
  g_autofree char *list_b = NULL;

  schedule_test_recorder_watch (a, G_OBJECT (aligned));
  schedule_test_recorder_watch (b, G_OBJECT (later));
  start (aligned);
  start (later);

  schedule_test_advance (f->clock, 4 * HOUR);  /* to 04:00:30 UTC */
  list_a = schedule_test_scheduled_list (a);
  list_b = schedule_test_scheduled_list (b);
  g_assert_cmpstr (list_a, ==,
                   "2026-01-01T01:20:00+01:00 2026-01-01T02:20:00+01:00 "
                   "2026-01-01T03:20:00+01:00 2026-01-01T04:20:00+01:00");
  g_assert_cmpstr (list_b, ==, "2026-01-01T03:00:00Z 2026-01-01T03:30:00Z 2026-01-01T04:00:00Z");
}

/* A cron trigger across the spring-forward night in Berlin: 02:30 does
 * not exist on 2026-03-29 and fires at 03:00 CEST instead, once. */
static void
test_cron_spring_forward (Fixture      *f,
                          gconstpointer user_data)
{
  SluiceTrigger *trigger = make_trigger (f, "schedule.cron",
                                         "{\"cron\": \"30 2 * * *\", \"timezone\": \"Europe/Berlin\"}");
  SluiceTrigger *quarters = make_named_trigger (f, "quarters/trigger", "schedule.cron",
                                          "{\"cron\": \"*/15 2 * * *\", \"timezone\": \"Europe/Berlin\"}");
  g_autoptr(ScheduleTestRecorder) recorder = schedule_test_recorder_new (f->clock, TRUE);
  g_autoptr(ScheduleTestRecorder) quarter_recorder = schedule_test_recorder_new (f->clock, TRUE);
  g_autofree char *list = NULL;
  g_autofree char *quarter_list = NULL;

  schedule_test_recorder_watch (recorder, G_OBJECT (trigger));
  schedule_test_recorder_watch (quarter_recorder, G_OBJECT (quarters));
  start (trigger);
  start (quarters);
  schedule_test_advance (f->clock, 3 * DAY);

  list = schedule_test_scheduled_list (recorder);
  g_assert_cmpstr (list, ==,
                   "2026-03-28T02:30:00+01:00 2026-03-29T03:00:00+02:00 2026-03-30T02:30:00+02:00");
  for (guint i = 0; i < recorder->events->len; i++)
    {
      g_autofree char *scheduled = schedule_test_scheduled (recorder, i);

      g_assert_cmpint (g_array_index (recorder->emitted_at, gint64, i), ==,
                       schedule_test_time (scheduled));
    }

  quarter_list = schedule_test_scheduled_list (quarter_recorder);
  g_assert_cmpstr (quarter_list, ==,
                   "2026-03-28T02:00:00+01:00 2026-03-28T02:15:00+01:00 "
                   "2026-03-28T02:30:00+01:00 2026-03-28T02:45:00+01:00 "
                   "2026-03-29T03:00:00+02:00 "
                   "2026-03-30T02:00:00+02:00 2026-03-30T02:15:00+02:00 "
                   "2026-03-30T02:30:00+02:00 2026-03-30T02:45:00+02:00");
}

/* Falling back in New York: 01:30 happens twice on 2026-11-01 and fires
 * at the first. */
static void
test_cron_fall_back (Fixture      *f,
                     gconstpointer user_data)
{
  SluiceTrigger *trigger = make_trigger (f, "schedule.cron",
                                         "{\"cron\": \"30 1 * * *\", \"timezone\": \"America/New_York\"}");
  g_autoptr(ScheduleTestRecorder) recorder = schedule_test_recorder_new (f->clock, TRUE);
  g_autofree char *list = NULL;

  schedule_test_recorder_watch (recorder, G_OBJECT (trigger));
  start (trigger);
  schedule_test_advance (f->clock, 3 * DAY);

  list = schedule_test_scheduled_list (recorder);
  g_assert_cmpstr (list, ==,
                   "2026-10-31T01:30:00-04:00 2026-11-01T01:30:00-04:00 2026-11-02T01:30:00-05:00");
}

/* ---- Misfire: a downtime, then a new instance on the same store ---- */

typedef struct {
  const char *policy;
  const char *expected;       /* what the new instance emits right after its start */
  gint64      expected_missed;
} MisfireCase;

static void
test_misfire (Fixture      *f,
              gconstpointer user_data)
{
  const MisfireCase *c = user_data;
  g_autofree char *config = g_strdup_printf ("{\"every\": \"1m\", \"misfire\": \"%s\"}",
                                             c->policy);
  SluiceTrigger *first = make_trigger (f, "schedule.interval", config);
  SluiceTrigger *second;
  g_autoptr(ScheduleTestRecorder) before = schedule_test_recorder_new (f->clock, TRUE);
  g_autoptr(ScheduleTestRecorder) after = schedule_test_recorder_new (f->clock, TRUE);
  g_autofree char *list_before = NULL;
  g_autofree char *list_after = NULL;
  g_autofree char *last = NULL;

  schedule_test_recorder_watch (before, G_OBJECT (first));
  start (first);
  schedule_test_advance (f->clock, 3 * MINUTE);  /* 00:01, 00:02, 00:03 */
  list_before = schedule_test_scheduled_list (before);
  g_assert_cmpstr (list_before, ==,
                   "2026-01-01T00:01:00Z 2026-01-01T00:02:00Z 2026-01-01T00:03:00Z");

  /* down from 00:03:30 to 00:08:30: 00:04 to 00:08 are missed */
  stop_and_forget (f, first);
  schedule_test_advance (f->clock, 5 * MINUTE);

  second = make_trigger (f, "schedule.interval", config);
  schedule_test_recorder_watch (after, G_OBJECT (second));
  start (second);
  list_after = schedule_test_scheduled_list (after);
  g_assert_cmpstr (list_after, ==, c->expected);
  for (guint i = 0; i < after->events->len; i++)
    {
      g_autofree char *fired = schedule_test_fired (after, i);

      /* all of them at the start */
      g_assert_cmpstr (fired, ==, "2026-01-01T00:08:30Z");
      g_assert_cmpint (schedule_test_missed (after, i), ==, c->expected_missed);
    }

  /* then the schedule goes on as usual */
  g_ptr_array_set_size (after->events, 0);
  g_array_set_size (after->emitted_at, 0);
  schedule_test_advance (f->clock, MINUTE);
  last = schedule_test_scheduled_list (after);
  g_assert_cmpstr (last, ==, "2026-01-01T00:09:00Z");
  g_assert_cmpint (schedule_test_missed (after, 0), ==, 0);
}

static const MisfireCase misfire_skip = { "skip", "", 0 };
static const MisfireCase misfire_run_once = { "run-once", "2026-01-01T00:08:00Z", 5 };
static const MisfireCase misfire_catch_up = {
  "catch-up",
  "2026-01-01T00:04:00Z 2026-01-01T00:05:00Z 2026-01-01T00:06:00Z 2026-01-01T00:07:00Z "
  "2026-01-01T00:08:00Z",
  1
};

/* The first start ever has nothing to catch up. */
static void
test_misfire_first_start (Fixture      *f,
                          gconstpointer user_data)
{
  SluiceTrigger *trigger = make_trigger (f, "schedule.interval",
                                         "{\"every\": \"1m\", \"misfire\": \"catch-up\"}");
  g_autoptr(ScheduleTestRecorder) recorder = schedule_test_recorder_new (f->clock, TRUE);

  schedule_test_recorder_watch (recorder, G_OBJECT (trigger));
  start (trigger);
  g_assert_cmpuint (recorder->events->len, ==, 0);
  schedule_test_advance (f->clock, MINUTE);
  g_assert_cmpuint (recorder->events->len, ==, 1);
}

/* ---- Overlap ---- */

static void
test_overlap_skip (Fixture      *f,
                   gconstpointer user_data)
{
  SluiceTrigger *trigger = make_trigger (f, "schedule.interval", "{\"every\": \"1m\"}");
  g_autoptr(ScheduleTestRecorder) recorder = schedule_test_recorder_new (f->clock, FALSE);
  g_autofree char *list = NULL;

  schedule_test_recorder_watch (recorder, G_OBJECT (trigger));
  start (trigger);

  schedule_test_advance (f->clock, MINUTE);      /* 00:01: runs, and keeps running */
  schedule_test_advance (f->clock, 2 * MINUTE);  /* 00:02, 00:03: skipped */
  g_assert_cmpuint (recorder->events->len, ==, 1);
  schedule_test_ack (recorder, 0);               /* 00:03:30: nothing was kept */
  g_assert_cmpuint (recorder->events->len, ==, 1);
  schedule_test_advance (f->clock, MINUTE);      /* 00:04 */

  list = schedule_test_scheduled_list (recorder);
  g_assert_cmpstr (list, ==, "2026-01-01T00:01:00Z 2026-01-01T00:04:00Z");
}

static void
test_overlap_queue (Fixture      *f,
                    gconstpointer user_data)
{
  SluiceTrigger *trigger = make_trigger (f, "schedule.interval",
                                         "{\"every\": \"1m\", \"overlap\": \"queue\"}");
  g_autoptr(ScheduleTestRecorder) recorder = schedule_test_recorder_new (f->clock, FALSE);
  g_autofree char *list = NULL;
  g_autofree char *fired = NULL;

  schedule_test_recorder_watch (recorder, G_OBJECT (trigger));
  start (trigger);

  schedule_test_advance (f->clock, MINUTE);      /* 00:01 runs */
  schedule_test_advance (f->clock, 2 * MINUTE);  /* 00:02 held, 00:03 skipped: one is held */
  g_assert_cmpuint (recorder->events->len, ==, 1);
  schedule_test_ack (recorder, 0);               /* 00:03:30: the held one goes */
  g_assert_cmpuint (recorder->events->len, ==, 2);
  fired = schedule_test_fired (recorder, 1);
  g_assert_cmpstr (fired, ==, "2026-01-01T00:03:30Z");
  schedule_test_ack (recorder, 1);
  schedule_test_advance (f->clock, MINUTE);      /* 00:04 */

  list = schedule_test_scheduled_list (recorder);
  g_assert_cmpstr (list, ==, "2026-01-01T00:01:00Z 2026-01-01T00:02:00Z 2026-01-01T00:04:00Z");
}

/* ---- Jitter ---- */

static void
test_jitter (Fixture      *f,
             gconstpointer user_data)
{
  SluiceTrigger *trigger = make_trigger (f, "schedule.interval",
                                         "{\"every\": \"1m\", \"jitter\": \"20s\"}");
  g_autoptr(ScheduleTestRecorder) recorder = schedule_test_recorder_new (f->clock, TRUE);
  gint64 smallest = G_MAXINT64, largest = G_MININT64;

  schedule_test_recorder_watch (recorder, G_OBJECT (trigger));
  start (trigger);
  schedule_test_advance (f->clock, 60 * MINUTE);  /* to 01:00:30 */

  g_assert_cmpuint (recorder->events->len, ==, 60);
  for (guint i = 0; i < recorder->events->len; i++)
    {
      g_autofree char *scheduled = schedule_test_scheduled (recorder, i);
      g_autofree char *fired = schedule_test_fired (recorder, i);
      gint64 at = g_array_index (recorder->emitted_at, gint64, i);
      gint64 delay = at - schedule_test_time (scheduled);

      /* every minute once, each late by [0, 20s] */
      g_assert_cmpint (schedule_test_time (scheduled), ==,
                       schedule_test_time ("2026-01-01T00:00:00Z") + (i + 1) * MINUTE);
      g_assert_cmpint (delay, >=, 0);
      g_assert_cmpint (delay, <=, 20 * SECOND);
      g_assert_cmpint (schedule_test_time (fired), ==, at);
      smallest = MIN (smallest, delay);
      largest = MAX (largest, delay);
    }
  /* spread out, not one fixed delay */
  g_assert_cmpint (largest - smallest, >, 5 * SECOND);
}

/* ---- Credit ---- */

static void
test_credit (Fixture      *f,
             gconstpointer user_data)
{
  SluiceTrigger *trigger = make_trigger (f, "schedule.interval", "{\"every\": \"1m\"}");
  g_autoptr(ScheduleTestRecorder) recorder = schedule_test_recorder_new (f->clock, TRUE);
  g_autofree char *list = NULL;
  g_autofree char *fired = NULL;

  schedule_test_recorder_watch (recorder, G_OBJECT (trigger));
  sluice_trigger_set_credit (trigger, 0);
  start (trigger);

  schedule_test_advance (f->clock, 2 * MINUTE);  /* 00:01 held, 00:02 skipped */
  g_assert_cmpuint (recorder->events->len, ==, 0);

  sluice_trigger_set_credit (trigger, 1);
  schedule_test_spin ();
  g_assert_cmpuint (recorder->events->len, ==, 1);
  fired = schedule_test_fired (recorder, 0);
  g_assert_cmpstr (fired, ==, "2026-01-01T00:02:30Z");

  schedule_test_advance (f->clock, MINUTE);      /* 00:03 */
  list = schedule_test_scheduled_list (recorder);
  g_assert_cmpstr (list, ==, "2026-01-01T00:01:00Z 2026-01-01T00:03:00Z");
}

/* ---- Settling ---- */

static void
on_retried (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  gboolean *done = user_data;

  g_assert_true (sluice_event_retry_finish (SLUICE_EVENT (source), result, NULL));
  *done = TRUE;
}

static void
retry (ScheduleTestRecorder *recorder,
       guint                 index,
       gint64                delay)
{
  gboolean done = FALSE;

  sluice_event_retry_async (g_ptr_array_index (recorder->events, index), delay, NULL, on_retried,
                            &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
  schedule_test_spin ();
}

/* A retried tick is emitted again after the delay, as another attempt,
 * and holds the overlap slot meanwhile. */
static void
test_retry (Fixture      *f,
            gconstpointer user_data)
{
  SluiceTrigger *trigger = make_trigger (f, "schedule.interval", "{\"every\": \"1m\"}");
  g_autoptr(ScheduleTestRecorder) recorder = schedule_test_recorder_new (f->clock, FALSE);
  g_autofree char *list = NULL;
  SluiceMessage *message;

  schedule_test_recorder_watch (recorder, G_OBJECT (trigger));
  start (trigger);
  schedule_test_advance (f->clock, MINUTE);      /* 00:01 */
  retry (recorder, 0, 90 * SECOND);
  schedule_test_advance (f->clock, MINUTE);      /* 00:02 skipped: 00:01 is still due */
  g_assert_cmpuint (recorder->events->len, ==, 1);
  schedule_test_advance (f->clock, 30 * SECOND); /* 00:03:00: 00:01 again */
  g_assert_cmpuint (recorder->events->len, ==, 2);

  message = sluice_event_get_message (g_ptr_array_index (recorder->events, 1));
  g_assert_cmpuint (sluice_message_get_attempt (message), ==, 1);
  schedule_test_ack (recorder, 1);
  schedule_test_advance (f->clock, MINUTE);      /* 00:04 */
  list = schedule_test_scheduled_list (recorder);
  g_assert_cmpstr (list, ==, "2026-01-01T00:01:00Z 2026-01-01T00:01:00Z 2026-01-01T00:04:00Z");
}

/* The engine hands back events it did not start when it stops: with
 * catch-up, the next start runs that tick. */
static void
test_handed_back (Fixture      *f,
                  gconstpointer user_data)
{
  const char *config = "{\"every\": \"1m\", \"misfire\": \"catch-up\"}";
  SluiceTrigger *first = make_trigger (f, "schedule.interval", config);
  SluiceTrigger *second;
  g_autoptr(ScheduleTestRecorder) before = schedule_test_recorder_new (f->clock, FALSE);
  g_autoptr(ScheduleTestRecorder) after = schedule_test_recorder_new (f->clock, TRUE);
  g_autofree char *list = NULL;

  schedule_test_recorder_watch (before, G_OBJECT (first));
  start (first);
  schedule_test_advance (f->clock, MINUTE);      /* 00:01 */
  g_assert_cmpuint (before->events->len, ==, 1);
  stop_and_forget (f, first);
  retry (before, 0, 0);

  second = make_trigger (f, "schedule.interval", config);
  schedule_test_recorder_watch (after, G_OBJECT (second));
  start (second);
  list = schedule_test_scheduled_list (after);
  g_assert_cmpstr (list, ==, "2026-01-01T00:01:00Z");
}

/* Two instances on one store (two workflows' hosts in one process): each
 * tick runs once. */
static void
test_once_per_tick_shared_store (Fixture      *f,
                                 gconstpointer user_data)
{
  SluiceTrigger *a = make_trigger (f, "schedule.cron", "{\"cron\": \"* * * * *\"}");
  SluiceTrigger *b = make_trigger (f, "schedule.cron", "{\"cron\": \"* * * * *\"}");
  g_autoptr(ScheduleTestRecorder) recorder = schedule_test_recorder_new (f->clock, TRUE);

  schedule_test_recorder_watch (recorder, G_OBJECT (a));
  schedule_test_recorder_watch (recorder, G_OBJECT (b));
  start (a);
  start (b);
  schedule_test_advance (f->clock, 30 * MINUTE);

  g_assert_cmpuint (recorder->events->len, ==, 30);
  for (guint i = 0; i < recorder->events->len; i++)
    {
      g_autofree char *scheduled = schedule_test_scheduled (recorder, i);

      g_assert_cmpint (schedule_test_time (scheduled), ==,
                       schedule_test_time ("2026-01-01T00:00:00Z") + (i + 1) * MINUTE);
    }
}

/* Without a state store (a component made outside the daemon), ticks
 * still fire. */
static void
test_no_store (void)
{
  g_autoptr(SluiceClock) clock = sluice_clock_new_manual (schedule_test_time ("2026-01-01T00:00:00Z"));
  g_autoptr(SluiceContext) context = sluice_context_new ("solo/trigger", clock, NULL);
  g_autoptr(ScheduleTestRecorder) recorder = schedule_test_recorder_new (clock, TRUE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GObject) trigger = schedule_test_create ("schedule.cron", context,
                                                     "{\"cron\": \"*/10 * * * * *\"}", &error);
  g_autofree char *list = NULL;

  g_assert_no_error (error);
  schedule_test_recorder_watch (recorder, trigger);
  g_assert_true (sluice_trigger_start (SLUICE_TRIGGER (trigger), &error));
  schedule_test_advance (clock, 30 * SECOND);
  list = schedule_test_scheduled_list (recorder);
  g_assert_cmpstr (list, ==, "2026-01-01T00:00:10Z 2026-01-01T00:00:20Z 2026-01-01T00:00:30Z");
  sluice_trigger_stop (SLUICE_TRIGGER (trigger));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_summary ("schedule.cron and schedule.interval on a manual clock with core's memory "
                  "state store: when ticks fire, misfire after a downtime, overlap, jitter, "
                  "credit, retries and one run per tick");

  g_test_add_func ("/schedule/plugin/components", test_components);
  g_test_add_func ("/schedule/config/refused", test_bad_config);
  g_test_add_func ("/schedule/config/no-state-store", test_no_store);

#define ADD(path, func, data) \
  g_test_add (path, Fixture, data, fixture_setup, func, fixture_teardown)

  ADD ("/schedule/interval/ticks", test_interval_ticks, NULL);
  ADD ("/schedule/interval/start-anchor", test_interval_start, NULL);
  g_test_add ("/schedule/cron/spring-forward-berlin", Fixture, "2026-03-27T12:00:00+01:00",
              fixture_setup_at, test_cron_spring_forward, fixture_teardown);
  g_test_add ("/schedule/cron/fall-back-new-york", Fixture, "2026-10-30T12:00:00-04:00",
              fixture_setup_at, test_cron_fall_back, fixture_teardown);
  ADD ("/schedule/misfire/skip", test_misfire, &misfire_skip);
  ADD ("/schedule/misfire/run-once", test_misfire, &misfire_run_once);
  ADD ("/schedule/misfire/catch-up", test_misfire, &misfire_catch_up);
  ADD ("/schedule/misfire/first-start", test_misfire_first_start, NULL);
  ADD ("/schedule/overlap/skip", test_overlap_skip, NULL);
  ADD ("/schedule/overlap/queue", test_overlap_queue, NULL);
  ADD ("/schedule/jitter/within-bounds", test_jitter, NULL);
  ADD ("/schedule/credit/held-until-available", test_credit, NULL);
  ADD ("/schedule/event/retry-redelivers", test_retry, NULL);
  ADD ("/schedule/event/handed-back-runs-again", test_handed_back, NULL);
  ADD ("/schedule/hosts/once-per-tick-shared-store", test_once_per_tick_shared_store, NULL);

  return g_test_run ();
}
