/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

#include "redis-test-server.h"
#include "schedule-test-util.h"

#define SECOND G_TIME_SPAN_SECOND
#define MINUTE G_TIME_SPAN_MINUTE

static RedisTestServer *server;

/* One host: its own clock, its own connection to the shared Redis, its
 * own trigger instance of the same workflow. */
typedef struct {
  SluiceClock          *clock;
  SluiceStateStore     *store;
  SluiceTrigger        *trigger;
  ScheduleTestRecorder *recorder;
} Host;

static void
host_init (Host       *host,
           gint64      start,
           const char *config)
{
  g_autoptr(SluiceContext) store_context = NULL;
  g_autoptr(SluiceContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *store_config = g_strdup_printf ("{\"url\": \"%s\", \"prefix\": \"hosts:\"}",
                                                   redis_test_server_get_url (server));

  host->clock = sluice_clock_new_manual (start);
  store_context = sluice_context_new ("redis", host->clock, NULL);
  host->store = SLUICE_STATE_STORE (schedule_test_create ("redis.state-store", store_context,
                                                          store_config, &error));
  g_assert_no_error (error);

  /* as the engine names a workflow's trigger */
  context = sluice_context_new ("nightly/trigger", host->clock, host->store);
  host->trigger = SLUICE_TRIGGER (schedule_test_create ("schedule.interval", context, config,
                                                        &error));
  g_assert_no_error (error);
  host->recorder = schedule_test_recorder_new (host->clock, TRUE);
  schedule_test_recorder_watch (host->recorder, G_OBJECT (host->trigger));
  g_assert_true (sluice_trigger_start (host->trigger, &error));
  g_assert_no_error (error);
}

static void
host_clear (Host *host)
{
  sluice_trigger_stop (host->trigger);
  g_clear_object (&host->trigger);
  g_clear_pointer (&host->recorder, schedule_test_recorder_free);
  g_clear_object (&host->store);
  g_clear_object (&host->clock);
}

static guint
count_tick (Host       *hosts,
            guint       n_hosts,
            gint64      scheduled)
{
  guint count = 0;

  for (guint h = 0; h < n_hosts; h++)
    for (guint i = 0; i < hosts[h].recorder->events->len; i++)
      {
        g_autofree char *text = schedule_test_scheduled (hosts[h].recorder, i);

        if (schedule_test_time (text) == scheduled)
          count++;
      }
  return count;
}

/* Two hosts, their clocks 2 s apart, run one schedule on one Redis: over
 * N ticks there are exactly N events, one per tick. */
static void
test_once_per_tick (void)
{
  const guint n_ticks = 12;
  gint64 start = schedule_test_time ("2026-01-01T00:00:30Z");
  gint64 first_tick = schedule_test_time ("2026-01-01T00:01:00Z");
  Host hosts[2] = { { NULL } };
  guint total = 0;
  guint per_host[2] = { 0, 0 };
  g_autoptr(redisReply) flushed = redis_test_server_command (server, "FLUSHALL");

  host_init (&hosts[0], start, "{\"every\": \"1m\"}");
  host_init (&hosts[1], start - 2 * SECOND, "{\"every\": \"1m\"}");
  schedule_test_spin_for (50);

  for (guint tick = 0; tick < n_ticks; tick++)
    {
      gint64 scheduled = first_tick + tick * MINUTE;
      /* the hosts take turns at reaching the tick first */
      guint order[2] = { tick % 2, (tick + 1) % 2 };

      for (guint k = 0; k < 2; k++)
        {
          schedule_test_advance (hosts[order[k]].clock, MINUTE);
          schedule_test_spin_for (20);
        }

      /* wait for the winner, then give the loser time to (not) emit */
      for (guint waited = 0; count_tick (hosts, 2, scheduled) == 0 && waited < 5000; waited += 10)
        schedule_test_spin_for (10);
      schedule_test_spin_for (100);
      g_assert_cmpuint (count_tick (hosts, 2, scheduled), ==, 1);
    }

  for (guint h = 0; h < 2; h++)
    {
      per_host[h] = hosts[h].recorder->events->len;
      total += per_host[h];
    }
  g_test_message ("host A ran %u ticks, host B %u", per_host[0], per_host[1]);
  g_assert_cmpuint (total, ==, n_ticks);

  host_clear (&hosts[0]);
  host_clear (&hosts[1]);
}

/* After both hosts were down, catch-up runs each missed tick once, on
 * whichever host gets it. */
static void
test_catch_up_once (void)
{
  const char *config = "{\"every\": \"1m\", \"misfire\": \"catch-up\"}";
  gint64 start = schedule_test_time ("2026-01-01T00:00:30Z");
  Host hosts[2] = { { NULL } };
  g_autoptr(redisReply) flushed = redis_test_server_command (server, "FLUSHALL");
  guint total = 0;

  /* one host runs 00:01, then everything is down until 00:06:30 */
  host_init (&hosts[0], start, config);
  schedule_test_spin_for (50);
  schedule_test_advance (hosts[0].clock, MINUTE);
  for (guint waited = 0; hosts[0].recorder->events->len == 0 && waited < 5000; waited += 10)
    schedule_test_spin_for (10);
  g_assert_cmpuint (hosts[0].recorder->events->len, ==, 1);
  host_clear (&hosts[0]);

  host_init (&hosts[0], start + 6 * MINUTE, config);
  host_init (&hosts[1], start + 6 * MINUTE, config);
  for (guint waited = 0; waited < 5000; waited += 10)
    {
      schedule_test_spin_for (10);
      if (hosts[0].recorder->events->len + hosts[1].recorder->events->len >= 5)
        break;
    }
  schedule_test_spin_for (200);

  for (guint m = 2; m <= 6; m++)
    g_assert_cmpuint (count_tick (hosts, 2, schedule_test_time ("2026-01-01T00:00:00Z") +
                                              m * MINUTE), ==, 1);
  total = hosts[0].recorder->events->len + hosts[1].recorder->events->len;
  g_assert_cmpuint (total, ==, 5);

  host_clear (&hosts[0]);
  host_clear (&hosts[1]);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_summary ("Several hosts on one Redis run each tick of a schedule exactly once");

  server = redis_test_server_start (NULL);

  g_test_add_func ("/schedule/hosts/once-per-tick-redis", test_once_per_tick);
  g_test_add_func ("/schedule/hosts/catch-up-once-redis", test_catch_up_once);

  status = g_test_run ();
  redis_test_server_free (server);
  return status;
}
