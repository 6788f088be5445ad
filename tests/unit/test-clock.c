/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

#define START_REAL (G_GINT64_CONSTANT (1700000000) * G_TIME_SPAN_SECOND)

typedef struct {
  SluiceClock *clock;
  GPtrArray   *log;        /* "name@time" strings, in firing order */
  guint        destroyed;
} ClockFixture;

typedef struct {
  ClockFixture *fixture;
  const char   *name;
  /* what the callback does besides logging */
  guint         cancel_id;
  gint64        add_delay;  /* < 0: add nothing */
  guint        *added_id;
} Probe;

static void
clock_fixture_set_up (ClockFixture *fixture,
                      gconstpointer data)
{
  fixture->clock = sluice_clock_new_manual (START_REAL);
  fixture->log = g_ptr_array_new_with_free_func (g_free);
  fixture->destroyed = 0;
}

static void
clock_fixture_tear_down (ClockFixture *fixture,
                         gconstpointer data)
{
  g_clear_object (&fixture->clock);
  g_ptr_array_unref (fixture->log);
}

static void
probe_destroy (gpointer data)
{
  Probe *probe = data;

  probe->fixture->destroyed++;
  g_free (probe);
}

static void probe_fire (gpointer data);

static Probe *
probe_new (ClockFixture *fixture,
           const char   *name)
{
  Probe *probe = g_new0 (Probe, 1);

  probe->fixture = fixture;
  probe->name = name;
  probe->add_delay = -1;
  return probe;
}

static guint
add_probe (ClockFixture *fixture,
           gint64        delay,
           Probe        *probe)
{
  return sluice_clock_add_timeout (fixture->clock, delay, probe_fire, probe, probe_destroy);
}

static void
probe_fire (gpointer data)
{
  Probe *probe = data;
  ClockFixture *fixture = probe->fixture;

  g_ptr_array_add (fixture->log,
                   g_strdup_printf ("%s@%" G_GINT64_FORMAT, probe->name,
                                    sluice_clock_get_monotonic_time (fixture->clock)));
  if (probe->cancel_id != 0)
    sluice_clock_cancel_timeout (fixture->clock, probe->cancel_id);
  if (probe->add_delay >= 0)
    {
      guint id = add_probe (fixture, probe->add_delay, probe_new (fixture, "added"));

      if (probe->added_id != NULL)
        *probe->added_id = id;
    }
}

static char *
log_join (ClockFixture *fixture)
{
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; i < fixture->log->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ' ');
      g_string_append (out, g_ptr_array_index (fixture->log, i));
    }
  return g_strdup (out->str);
}

static void
test_manual_time (ClockFixture *fixture,
                  gconstpointer data)
{
  g_assert_true (sluice_clock_is_manual (fixture->clock));
  g_assert_cmpint (sluice_clock_get_monotonic_time (fixture->clock), ==, 0);
  g_assert_cmpint (sluice_clock_get_real_time (fixture->clock), ==, START_REAL);
  g_assert_cmpint (sluice_clock_get_next_deadline (fixture->clock), ==, -1);

  sluice_clock_advance (fixture->clock, 1500);
  g_assert_cmpint (sluice_clock_get_monotonic_time (fixture->clock), ==, 1500);
  g_assert_cmpint (sluice_clock_get_real_time (fixture->clock), ==, START_REAL + 1500);

  sluice_clock_advance (fixture->clock, 0);
  g_assert_cmpint (sluice_clock_get_monotonic_time (fixture->clock), ==, 1500);
}

static void
test_manual_order (ClockFixture *fixture,
                   gconstpointer data)
{
  g_autofree char *log = NULL;

  add_probe (fixture, 300, probe_new (fixture, "c"));
  add_probe (fixture, 100, probe_new (fixture, "a"));
  add_probe (fixture, 200, probe_new (fixture, "b1"));
  add_probe (fixture, 200, probe_new (fixture, "b2"));
  add_probe (fixture, 1000, probe_new (fixture, "late"));

  g_assert_cmpint (sluice_clock_get_next_deadline (fixture->clock), ==, 100);

  sluice_clock_advance (fixture->clock, 99);
  g_assert_cmpuint (fixture->log->len, ==, 0);

  sluice_clock_advance (fixture->clock, 401);
  log = log_join (fixture);
  /* each callback sees the time it was due at; same deadline: order added */
  g_assert_cmpstr (log, ==, "a@100 b1@200 b2@200 c@300");
  g_assert_cmpuint (fixture->destroyed, ==, 4);
  g_assert_cmpint (sluice_clock_get_monotonic_time (fixture->clock), ==, 500);
  g_assert_cmpint (sluice_clock_get_next_deadline (fixture->clock), ==, 1000);

  /* one-shot: nothing fires again */
  sluice_clock_advance (fixture->clock, 400);
  g_assert_cmpuint (fixture->log->len, ==, 4);
  sluice_clock_advance (fixture->clock, 100);
  g_assert_cmpuint (fixture->log->len, ==, 5);
  g_assert_cmpstr (g_ptr_array_index (fixture->log, 4), ==, "late@1000");
  g_assert_cmpint (sluice_clock_get_next_deadline (fixture->clock), ==, -1);
}

static void
test_manual_add_in_window (ClockFixture *fixture,
                           gconstpointer data)
{
  Probe *first = probe_new (fixture, "first");
  Probe *outside = probe_new (fixture, "outside");
  g_autofree char *log = NULL;
  guint added_id = 0;

  first->add_delay = 50;
  first->added_id = &added_id;
  add_probe (fixture, 100, first);

  sluice_clock_advance (fixture->clock, 200);
  log = log_join (fixture);
  g_assert_cmpstr (log, ==, "first@100 added@150");
  g_assert_cmpuint (added_id, !=, 0);

  /* a timeout added beyond the window waits for the next advance */
  outside->add_delay = 500;
  add_probe (fixture, 10, outside);
  sluice_clock_advance (fixture->clock, 20);
  g_assert_cmpuint (fixture->log->len, ==, 3);
  g_assert_cmpint (sluice_clock_get_next_deadline (fixture->clock), ==, 210 + 500);
  sluice_clock_advance (fixture->clock, 490);
  g_assert_cmpuint (fixture->log->len, ==, 4);
  g_assert_cmpstr (g_ptr_array_index (fixture->log, 3), ==, "added@710");
}

static void
test_manual_zero_delay (ClockFixture *fixture,
                        gconstpointer data)
{
  Probe *chain = probe_new (fixture, "chain");

  chain->add_delay = 0;
  add_probe (fixture, 0, chain);
  g_assert_cmpint (sluice_clock_get_next_deadline (fixture->clock), ==, 0);
  sluice_clock_advance (fixture->clock, 0);
  g_assert_cmpuint (fixture->log->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (fixture->log, 0), ==, "chain@0");
  g_assert_cmpstr (g_ptr_array_index (fixture->log, 1), ==, "added@0");
}

static void
test_manual_cancel (ClockFixture *fixture,
                    gconstpointer data)
{
  guint a = add_probe (fixture, 100, probe_new (fixture, "a"));
  guint b = add_probe (fixture, 200, probe_new (fixture, "b"));

  g_assert_cmpuint (a, !=, 0);
  g_assert_cmpuint (b, !=, 0);
  g_assert_cmpuint (a, !=, b);

  sluice_clock_cancel_timeout (fixture->clock, a);
  /* the destroy notify runs on cancel */
  g_assert_cmpuint (fixture->destroyed, ==, 1);
  g_assert_cmpint (sluice_clock_get_next_deadline (fixture->clock), ==, 200);

  /* cancelling twice or an unknown id is harmless */
  sluice_clock_cancel_timeout (fixture->clock, a);
  sluice_clock_cancel_timeout (fixture->clock, 0);
  sluice_clock_cancel_timeout (fixture->clock, 9999);
  g_assert_cmpuint (fixture->destroyed, ==, 1);

  sluice_clock_advance (fixture->clock, 1000);
  g_assert_cmpuint (fixture->log->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (fixture->log, 0), ==, "b@200");
  g_assert_cmpuint (fixture->destroyed, ==, 2);

  /* cancelling a timeout that already fired does nothing */
  sluice_clock_cancel_timeout (fixture->clock, b);
  g_assert_cmpuint (fixture->destroyed, ==, 2);
}

static void
test_manual_cancel_from_callback (ClockFixture *fixture,
                                  gconstpointer data)
{
  Probe *canceller = probe_new (fixture, "canceller");
  guint victim;
  g_autofree char *log = NULL;

  add_probe (fixture, 100, canceller);
  victim = add_probe (fixture, 100, probe_new (fixture, "victim"));
  add_probe (fixture, 150, probe_new (fixture, "survivor"));
  canceller->cancel_id = victim;

  sluice_clock_advance (fixture->clock, 1000);
  log = log_join (fixture);
  g_assert_cmpstr (log, ==, "canceller@100 survivor@150");
  g_assert_cmpuint (fixture->destroyed, ==, 3);
}

static void
test_manual_finalize_destroys (ClockFixture *fixture,
                               gconstpointer data)
{
  add_probe (fixture, 100, probe_new (fixture, "a"));
  add_probe (fixture, 200, probe_new (fixture, "b"));

  g_clear_object (&fixture->clock);
  g_assert_cmpuint (fixture->destroyed, ==, 2);
  g_assert_cmpuint (fixture->log->len, ==, 0);
}

typedef struct {
  GMainLoop *loop;
  GPtrArray *fired;
} SystemRun;

typedef struct {
  SystemRun  *run;
  const char *name;
  gint64      due;
} SystemProbe;

static void
system_probe_fire (gpointer data)
{
  SystemProbe *probe = data;

  g_assert_cmpint (g_get_monotonic_time (), >=, probe->due);
  g_ptr_array_add (probe->run->fired, (gpointer) probe->name);
  if (probe->run->fired->len == 2)
    g_main_loop_quit (probe->run->loop);
}

static void
test_system_clock (void)
{
  g_autoptr(SluiceClock) clock = sluice_clock_new_system ();
  g_autoptr(GMainContext) context = g_main_context_new ();
  SystemRun run = { 0 };
  SystemProbe fast = { &run, "fast", 0 };
  SystemProbe slow = { &run, "slow", 0 };
  SystemProbe cancelled = { &run, "cancelled", 0 };
  gint64 before;
  gint64 real_before;
  gint64 deadline;
  guint cancel_id;

  g_assert_false (sluice_clock_is_manual (clock));
  real_before = g_get_real_time ();
  g_assert_cmpint (sluice_clock_get_real_time (clock), >=, real_before);
  before = g_get_monotonic_time ();
  g_assert_cmpint (sluice_clock_get_monotonic_time (clock), >=, before);
  g_assert_cmpint (sluice_clock_get_next_deadline (clock), ==, -1);

  /* timeouts run on the thread-default context at the time they are added */
  g_main_context_push_thread_default (context);
  run.loop = g_main_loop_new (context, FALSE);
  run.fired = g_ptr_array_new ();

  slow.due = g_get_monotonic_time () + 30 * G_TIME_SPAN_MILLISECOND;
  sluice_clock_add_timeout (clock, 30 * G_TIME_SPAN_MILLISECOND, system_probe_fire, &slow, NULL);
  fast.due = g_get_monotonic_time () + 10 * G_TIME_SPAN_MILLISECOND;
  sluice_clock_add_timeout (clock, 10 * G_TIME_SPAN_MILLISECOND, system_probe_fire, &fast, NULL);
  cancel_id = sluice_clock_add_timeout (clock, 5 * G_TIME_SPAN_MILLISECOND, system_probe_fire,
                                        &cancelled, NULL);

  deadline = sluice_clock_get_next_deadline (clock);
  g_assert_cmpint (deadline, >=, before + 5 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpint (deadline, <=, g_get_monotonic_time () + 5 * G_TIME_SPAN_MILLISECOND);

  sluice_clock_cancel_timeout (clock, cancel_id);
  g_assert_cmpint (sluice_clock_get_next_deadline (clock), >=, fast.due);

  /* the default context must not run them */
  g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (run.fired->len, ==, 0);

  g_main_loop_run (run.loop);
  g_assert_cmpuint (run.fired->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (run.fired, 0), ==, "fast");
  g_assert_cmpstr (g_ptr_array_index (run.fired, 1), ==, "slow");
  g_assert_cmpint (sluice_clock_get_next_deadline (clock), ==, -1);

  g_main_context_pop_thread_default (context);
  g_main_loop_unref (run.loop);
  g_ptr_array_unref (run.fired);
}

static void
count_destroy (gpointer data)
{
  guint *count = data;

  (*count)++;
}

static void
never_fire (gpointer data)
{
  g_assert_not_reached ();
}

static void
test_system_finalize_cancels (void)
{
  SluiceClock *clock = sluice_clock_new_system ();
  g_autoptr(GMainContext) context = g_main_context_new ();
  guint destroyed = 0;

  g_main_context_push_thread_default (context);
  sluice_clock_add_timeout (clock, 0, never_fire, &destroyed, count_destroy);
  sluice_clock_add_timeout (clock, G_TIME_SPAN_HOUR, never_fire, &destroyed, count_destroy);
  g_object_unref (clock);
  g_assert_cmpuint (destroyed, ==, 2);

  /* the sources are gone from the context: nothing runs */
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_summary ("SluiceClock: manual time for tests, system time on a main context");

  g_test_add ("/clock/manual/time-moves-only-on-advance", ClockFixture, NULL,
              clock_fixture_set_up, test_manual_time, clock_fixture_tear_down);
  g_test_add ("/clock/manual/fires-in-deadline-order", ClockFixture, NULL,
              clock_fixture_set_up, test_manual_order, clock_fixture_tear_down);
  g_test_add ("/clock/manual/added-in-window-fires-same-advance", ClockFixture, NULL,
              clock_fixture_set_up, test_manual_add_in_window, clock_fixture_tear_down);
  g_test_add ("/clock/manual/zero-delay", ClockFixture, NULL,
              clock_fixture_set_up, test_manual_zero_delay, clock_fixture_tear_down);
  g_test_add ("/clock/manual/cancel", ClockFixture, NULL,
              clock_fixture_set_up, test_manual_cancel, clock_fixture_tear_down);
  g_test_add ("/clock/manual/cancel-from-callback", ClockFixture, NULL,
              clock_fixture_set_up, test_manual_cancel_from_callback, clock_fixture_tear_down);
  g_test_add ("/clock/manual/finalize-destroys-pending", ClockFixture, NULL,
              clock_fixture_set_up, test_manual_finalize_destroys, clock_fixture_tear_down);
  g_test_add_func ("/clock/system/fires-on-thread-default-context", test_system_clock);
  g_test_add_func ("/clock/system/finalize-cancels", test_system_finalize_cancels);

  return g_test_run ();
}
