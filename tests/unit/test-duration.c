/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <sluice/sluice.h>

typedef struct {
  const char *text;
  gint64      usec;
} DurationCase;

static void
test_parse_valid (void)
{
  static const DurationCase cases[] = {
    { "0", 0 },
    { "0s", 0 },
    { "250ms", 250 * G_TIME_SPAN_MILLISECOND },
    { "1s", G_TIME_SPAN_SECOND },
    { "1.5s", 1500 * G_TIME_SPAN_MILLISECOND },
    { "0.25s", 250 * G_TIME_SPAN_MILLISECOND },
    { "2m", 2 * G_TIME_SPAN_MINUTE },
    { "8h", 8 * G_TIME_SPAN_HOUR },
    { "1d", G_TIME_SPAN_DAY },
    { "1h30m", G_TIME_SPAN_HOUR + 30 * G_TIME_SPAN_MINUTE },
    { "1m5s", G_TIME_SPAN_MINUTE + 5 * G_TIME_SPAN_SECOND },
    { "1s500ms", 1500 * G_TIME_SPAN_MILLISECOND },
    { "10us", 10 },
    { "1ms1us", 1001 },
    { "1.5ms", 1500 },
    { "1d2h3m4s5ms6us", G_TIME_SPAN_DAY + 2 * G_TIME_SPAN_HOUR + 3 * G_TIME_SPAN_MINUTE +
                        4 * G_TIME_SPAN_SECOND + 5 * G_TIME_SPAN_MILLISECOND + 6 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      gint64 usec = -42;

      g_test_message ("parsing '%s'", cases[i].text);
      g_assert_true (sluice_parse_duration (cases[i].text, &usec, &error));
      g_assert_no_error (error);
      g_assert_cmpint (usec, ==, cases[i].usec);
    }
}

static void
test_parse_invalid (void)
{
  static const char * const invalid[] = {
    "", "8x", "8", "10", "s", "-1s", "1 s", " 1s", "1s ", "1.s", ".5s", "1..5s",
    "1sec", "1H", "1S", "1e3s", "+1s", "1h-5m", "00x", "1\xc2\xb5s",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *expected = NULL;
      gint64 usec = -42;

      g_test_message ("parsing '%s'", invalid[i]);
      g_assert_false (sluice_parse_duration (invalid[i], &usec, &error));
      g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
      expected = g_strdup_printf ("'%s' is not a duration (use e.g. 500ms, 30s, 5m, 8h, 1d)",
                                  invalid[i]);
      g_assert_cmpstr (error->message, ==, expected);
      g_assert_cmpint (usec, ==, -42);
    }
}

static void
test_parse_overflow (void)
{
  static const char * const too_long[] = {
    "9223372036854775808us",
    "99999999999999999999us",
    "106751992d",
    "9223372036854775s1s",
    "106751991d4h54s775ms807us1us",
    "106751991d4h54s775ms808us",
  };
  g_autoptr(GError) error = NULL;
  gint64 usec = 0;

  for (gsize i = 0; i < G_N_ELEMENTS (too_long); i++)
    {
      g_autoptr(GError) overflow_error = NULL;

      g_test_message ("parsing '%s'", too_long[i]);
      g_assert_false (sluice_parse_duration (too_long[i], &usec, &overflow_error));
      g_assert_error (overflow_error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
      g_assert_nonnull (strstr (overflow_error->message, too_long[i]));
    }

  /* the largest representable durations still parse */
  g_assert_true (sluice_parse_duration ("9223372036854775807us", &usec, &error));
  g_assert_no_error (error);
  g_assert_cmpint (usec, ==, G_MAXINT64);
  g_assert_true (sluice_parse_duration ("106751991d4h54s775ms807us", &usec, &error));
  g_assert_no_error (error);
  g_assert_cmpint (usec, ==, G_MAXINT64);
}

static void
test_format (void)
{
  static const DurationCase cases[] = {
    { "0", 0 },
    { "1us", 1 },
    { "250ms", 250 * G_TIME_SPAN_MILLISECOND },
    { "1s500ms", 1500 * G_TIME_SPAN_MILLISECOND },
    { "1h30m", G_TIME_SPAN_HOUR + 30 * G_TIME_SPAN_MINUTE },
    { "8h", 8 * G_TIME_SPAN_HOUR },
    { "1d", G_TIME_SPAN_DAY },
    { "2d1s", 2 * G_TIME_SPAN_DAY + G_TIME_SPAN_SECOND },
    { "1ms1us", 1001 },
    { "-5s", -5 * G_TIME_SPAN_SECOND },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = sluice_format_duration (cases[i].usec);

      g_assert_cmpstr (text, ==, cases[i].text);
    }
}

static void
test_round_trip (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (4242);

  for (guint i = 0; i < 2000; i++)
    {
      g_autoptr(GError) error = NULL;
      /* spread over all magnitudes, from microseconds to centuries */
      gint64 usec = (gint64) (g_rand_double (rand) * (double) (G_GINT64_CONSTANT (1) << g_rand_int_range (rand, 1, 62)));
      g_autofree char *text = sluice_format_duration (usec);
      gint64 parsed = -1;

      g_assert_true (sluice_parse_duration (text, &parsed, &error));
      g_assert_no_error (error);
      g_assert_cmpint (parsed, ==, usec);
    }

  {
    g_autofree char *text = sluice_format_duration (G_MAXINT64);
    gint64 parsed = 0;

    g_assert_true (sluice_parse_duration (text, &parsed, NULL));
    g_assert_cmpint (parsed, ==, G_MAXINT64);
  }
  {
    g_autofree char *text = sluice_format_duration (G_MININT64);

    g_assert_cmpint (text[0], ==, '-');
    g_assert_cmpstr (text, ==, "-106751991d4h54s775ms808us");
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_summary ("Durations in configuration: parsing, refusing, formatting");

  g_test_add_func ("/duration/parse/valid", test_parse_valid);
  g_test_add_func ("/duration/parse/invalid-names-the-text", test_parse_invalid);
  g_test_add_func ("/duration/parse/overflow", test_parse_overflow);
  g_test_add_func ("/duration/format/compact", test_format);
  g_test_add_func ("/duration/format/round-trip", test_round_trip);

  return g_test_run ();
}
