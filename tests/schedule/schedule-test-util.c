/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "schedule-test-util.h"

#include <unistd.h>

#include "sluice-plugin-host.h"

static SluicePluginHost *
plugin_host (void)
{
  static SluicePluginHost *host;
  static const char * const plugins[] = {
    SLUICE_SCHEDULE_PLUGIN_PATH,
#ifdef SLUICE_REDIS_PLUGIN_PATH
    SLUICE_REDIS_PLUGIN_PATH,
#endif
  };

  if (host != NULL)
    return host;

  host = sluice_plugin_host_new ();
  sluice_plugin_host_set_trusted_uid (host, getuid ());
  for (gsize i = 0; i < G_N_ELEMENTS (plugins); i++)
    {
      g_autoptr(GError) error = NULL;

      sluice_plugin_host_load_file (host, plugins[i], &error);
      g_assert_no_error (error);
    }
  return host;
}

SluiceComponentFactory *
schedule_test_lookup (const char *component)
{
  SluiceComponentFactory *factory = sluice_plugin_host_lookup (plugin_host (), component);

  if (factory == NULL)
    g_test_message ("no component '%s'", component);
  g_assert_nonnull (factory);
  return factory;
}

GObject *
schedule_test_create (const char    *component,
                      SluiceContext *context,
                      const char    *config_json,
                      GError       **error)
{
  g_autoptr(JsonNode) config = NULL;
  g_autoptr(GError) parse_error = NULL;

  config = json_from_string (config_json, &parse_error);
  g_assert_no_error (parse_error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (config));

  return sluice_component_factory_create (schedule_test_lookup (component), context,
                                          json_node_get_object (config), error);
}

void
schedule_test_spin (void)
{
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
}

static gboolean
tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

void
schedule_test_spin_for (guint ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) ms * 1000;
  guint ticker = g_timeout_add (5, tick, NULL);

  while (g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (ticker);
}

void
schedule_test_advance (SluiceClock *clock,
                       gint64       usec)
{
  gint64 target = sluice_clock_get_monotonic_time (clock) + usec;

  schedule_test_spin ();
  for (;;)
    {
      gint64 deadline = sluice_clock_get_next_deadline (clock);
      gint64 now = sluice_clock_get_monotonic_time (clock);

      if (deadline < 0 || deadline > target)
        break;
      sluice_clock_advance (clock, MAX (deadline - now, 0));
      schedule_test_spin ();
    }
  sluice_clock_advance (clock, target - sluice_clock_get_monotonic_time (clock));
  schedule_test_spin ();
}

gint64
schedule_test_time (const char *iso)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_iso8601 (iso, NULL);

  g_assert_nonnull (time);
  return g_date_time_to_unix (time) * G_USEC_PER_SEC + g_date_time_get_microsecond (time);
}

ScheduleTestRecorder *
schedule_test_recorder_new (SluiceClock *clock,
                            gboolean     auto_ack)
{
  ScheduleTestRecorder *recorder = g_new0 (ScheduleTestRecorder, 1);

  recorder->clock = g_object_ref (clock);
  recorder->events = g_ptr_array_new_with_free_func (g_object_unref);
  recorder->emitted_at = g_array_new (FALSE, FALSE, sizeof (gint64));
  recorder->auto_ack = auto_ack;
  return recorder;
}

void
schedule_test_recorder_free (ScheduleTestRecorder *recorder)
{
  g_object_unref (recorder->clock);
  g_ptr_array_unref (recorder->events);
  g_array_unref (recorder->emitted_at);
  g_free (recorder);
}

static void
on_acked (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  ScheduleTestRecorder *recorder = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (sluice_event_ack_finish (SLUICE_EVENT (source), result, &error));
  g_assert_no_error (error);
  recorder->acked++;
}

static void
on_event (SluiceTrigger *trigger,
          SluiceEvent   *event,
          gpointer       user_data)
{
  ScheduleTestRecorder *recorder = user_data;
  gint64 now = sluice_clock_get_real_time (recorder->clock);

  g_ptr_array_add (recorder->events, g_object_ref (event));
  g_array_append_val (recorder->emitted_at, now);
  if (recorder->auto_ack)
    sluice_event_ack_async (event, NULL, on_acked, recorder);
}

void
schedule_test_recorder_watch (ScheduleTestRecorder *recorder,
                              GObject              *trigger)
{
  g_signal_connect (trigger, "event", G_CALLBACK (on_event), recorder);
}

void
schedule_test_ack (ScheduleTestRecorder *recorder,
                   guint                 index)
{
  guint before = recorder->acked;

  g_assert_cmpuint (index, <, recorder->events->len);
  sluice_event_ack_async (g_ptr_array_index (recorder->events, index), NULL, on_acked, recorder);
  while (recorder->acked == before)
    g_main_context_iteration (NULL, TRUE);
  schedule_test_spin ();
}

static JsonObject *
event_body (ScheduleTestRecorder *recorder,
            guint                 index)
{
  SluiceMessage *message;
  g_autoptr(GError) error = NULL;
  JsonNode *node;

  g_assert_cmpuint (index, <, recorder->events->len);
  message = sluice_event_get_message (g_ptr_array_index (recorder->events, index));
  node = sluice_message_get_json (message, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_node_get_object (node);
}

char *
schedule_test_scheduled (ScheduleTestRecorder *recorder,
                         guint                 index)
{
  return g_strdup (json_object_get_string_member (event_body (recorder, index), "scheduled"));
}

char *
schedule_test_fired (ScheduleTestRecorder *recorder,
                     guint                 index)
{
  return g_strdup (json_object_get_string_member (event_body (recorder, index), "fired"));
}

gint64
schedule_test_missed (ScheduleTestRecorder *recorder,
                      guint                 index)
{
  return json_object_get_int_member (event_body (recorder, index), "missed");
}

char *
schedule_test_scheduled_list (ScheduleTestRecorder *recorder)
{
  GString *list = g_string_new (NULL);

  for (guint i = 0; i < recorder->events->len; i++)
    {
      g_autofree char *scheduled = schedule_test_scheduled (recorder, i);

      if (i > 0)
        g_string_append_c (list, ' ');
      g_string_append (list, scheduled);
    }
  return g_string_free (list, FALSE);
}
