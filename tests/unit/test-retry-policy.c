/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

#define DRAWS 5000

static JsonObject *
parse_object (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static SluiceRetryPolicy *
policy_from_json (const char *text,
                  GError    **error)
{
  g_autoptr(JsonObject) object = parse_object (text);

  return sluice_retry_policy_new_from_json (object, error);
}

static void
test_defaults (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceRetryPolicy) policy = policy_from_json ("{\"attempts\": 4}", &error);

  g_assert_no_error (error);
  g_assert_nonnull (policy);
  g_assert_cmpuint (sluice_retry_policy_get_max_attempts (policy), ==, 4);
  g_assert_cmpint (sluice_retry_policy_get_backoff (policy), ==, SLUICE_BACKOFF_EXPONENTIAL);
  g_assert_cmpint (sluice_retry_policy_get_jitter (policy), ==, SLUICE_JITTER_FULL);
  g_assert_cmpint (sluice_retry_policy_get_initial (policy), ==, G_TIME_SPAN_SECOND);
  g_assert_cmpint (sluice_retry_policy_get_max (policy), ==, 5 * G_TIME_SPAN_MINUTE);
}

static void
test_full_json (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceRetryPolicy) policy =
    policy_from_json ("{\"attempts\": 5, \"backoff\": \"fixed\", \"initial\": \"250ms\","
                      " \"max\": \"1m\", \"jitter\": \"equal\", \"multiplier\": 3}", &error);
  g_autoptr(SluiceRetryPolicy) copy = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (sluice_retry_policy_get_max_attempts (policy), ==, 5);
  g_assert_cmpint (sluice_retry_policy_get_backoff (policy), ==, SLUICE_BACKOFF_FIXED);
  g_assert_cmpint (sluice_retry_policy_get_jitter (policy), ==, SLUICE_JITTER_EQUAL);
  g_assert_cmpint (sluice_retry_policy_get_initial (policy), ==, 250 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpint (sluice_retry_policy_get_max (policy), ==, G_TIME_SPAN_MINUTE);

  /* boxed copy is a reference */
  copy = g_boxed_copy (SLUICE_TYPE_RETRY_POLICY, policy);
  g_assert_true (copy == policy);
}

static void
test_json_errors (void)
{
  static const struct {
    const char *json;
    const char *message;
  } cases[] = {
    { "{\"attempts\": 3, \"backof\": \"fixed\"}",
      "retry: key 'backof' is not known (expected attempts, backoff, initial, max, jitter, multiplier)" },
    { "{}", "retry: key 'attempts' is missing" },
    { "{\"attempts\": 0}", "retry: key 'attempts' must be a whole number of at least 1" },
    { "{\"attempts\": -2}", "retry: key 'attempts' must be a whole number of at least 1" },
    { "{\"attempts\": \"3\"}", "retry: key 'attempts' must be a whole number of at least 1" },
    { "{\"attempts\": 2.5}", "retry: key 'attempts' must be a whole number of at least 1" },
    { "{\"attempts\": 3, \"backoff\": 1}", "retry: key 'backoff' must be a string" },
    { "{\"attempts\": 3, \"backoff\": \"linear\"}",
      "retry: key 'backoff': 'linear' is not known (expected fixed or exponential)" },
    { "{\"attempts\": 3, \"jitter\": \"some\"}",
      "retry: key 'jitter': 'some' is not known (expected none, full or equal)" },
    { "{\"attempts\": 3, \"jitter\": null}", "retry: key 'jitter' must be a string" },
    { "{\"attempts\": 3, \"initial\": 5}",
      "retry: key 'initial' must be a duration string such as \"1s\"" },
    { "{\"attempts\": 3, \"max\": \"8x\"}",
      "retry: key 'max': '8x' is not a duration (use e.g. 500ms, 30s, 5m, 8h, 1d)" },
    { "{\"attempts\": 3, \"initial\": \"10m\", \"max\": \"1m\"}",
      "retry: key 'max' (1m) is less than 'initial' (10m)" },
    { "{\"attempts\": 3, \"multiplier\": 0.5}",
      "retry: key 'multiplier' must be a number from 1 to 1000000" },
    { "{\"attempts\": 3, \"multiplier\": \"2\"}",
      "retry: key 'multiplier' must be a number from 1 to 1000000" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SluiceRetryPolicy) policy = NULL;

      g_test_message ("%s", cases[i].json);
      policy = policy_from_json (cases[i].json, &error);
      g_assert_null (policy);
      g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
      g_assert_cmpstr (error->message, ==, cases[i].message);
    }
}

static void
test_allows_retry (void)
{
  g_autoptr(SluiceRetryPolicy) once = sluice_retry_policy_new (1, SLUICE_BACKOFF_FIXED, 0, 0,
                                                               SLUICE_JITTER_NONE);
  g_autoptr(SluiceRetryPolicy) three = sluice_retry_policy_new (3, SLUICE_BACKOFF_FIXED, 0, 0,
                                                                SLUICE_JITTER_NONE);

  /* attempts count the first one: one attempt means no retry */
  g_assert_false (sluice_retry_policy_allows_retry (once, 1));
  g_assert_true (sluice_retry_policy_allows_retry (three, 1));
  g_assert_true (sluice_retry_policy_allows_retry (three, 2));
  g_assert_false (sluice_retry_policy_allows_retry (three, 3));
  g_assert_false (sluice_retry_policy_allows_retry (three, 4));
}

static void
test_exponential_no_jitter (void)
{
  g_autoptr(SluiceRetryPolicy) policy =
    sluice_retry_policy_new (10, SLUICE_BACKOFF_EXPONENTIAL, 100 * G_TIME_SPAN_MILLISECOND,
                             G_TIME_SPAN_SECOND, SLUICE_JITTER_NONE);
  static const gint64 expected[] = { 100000, 200000, 400000, 800000, 1000000, 1000000 };

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpint (sluice_retry_policy_get_delay (policy, i + 1, NULL), ==, expected[i]);
}

static void
test_fixed_no_jitter (void)
{
  g_autoptr(SluiceRetryPolicy) policy =
    sluice_retry_policy_new (10, SLUICE_BACKOFF_FIXED, 300 * G_TIME_SPAN_MILLISECOND,
                             G_TIME_SPAN_SECOND, SLUICE_JITTER_NONE);

  for (guint attempt = 1; attempt <= 20; attempt++)
    g_assert_cmpint (sluice_retry_policy_get_delay (policy, attempt, NULL), ==,
                     300 * G_TIME_SPAN_MILLISECOND);
}

static void
test_multiplier (void)
{
  g_autoptr(SluiceRetryPolicy) policy =
    policy_from_json ("{\"attempts\": 9, \"initial\": \"1s\", \"max\": \"1h\","
                      " \"jitter\": \"none\", \"multiplier\": 3}", NULL);
  g_autoptr(SluiceRetryPolicy) one =
    policy_from_json ("{\"attempts\": 9, \"initial\": \"2s\", \"jitter\": \"none\","
                      " \"multiplier\": 1}", NULL);

  g_assert_nonnull (policy);
  g_assert_cmpint (sluice_retry_policy_get_delay (policy, 1, NULL), ==, G_TIME_SPAN_SECOND);
  g_assert_cmpint (sluice_retry_policy_get_delay (policy, 2, NULL), ==, 3 * G_TIME_SPAN_SECOND);
  g_assert_cmpint (sluice_retry_policy_get_delay (policy, 3, NULL), ==, 9 * G_TIME_SPAN_SECOND);
  g_assert_cmpint (sluice_retry_policy_get_delay (policy, 8, NULL), ==, 2187 * G_TIME_SPAN_SECOND);
  g_assert_cmpint (sluice_retry_policy_get_delay (policy, 9, NULL), ==, G_TIME_SPAN_HOUR);

  g_assert_nonnull (one);
  g_assert_cmpint (sluice_retry_policy_get_delay (one, 7, NULL), ==, 2 * G_TIME_SPAN_SECOND);
}

typedef struct {
  SluiceBackoff backoff;
  SluiceJitter  jitter;
} JitterCase;

static void
test_jitter_bounds (gconstpointer data)
{
  const JitterCase *jc = data;
  const gint64 initial = 100 * G_TIME_SPAN_MILLISECOND;
  const gint64 max = 5 * G_TIME_SPAN_SECOND;
  g_autoptr(SluiceRetryPolicy) policy = sluice_retry_policy_new (20, jc->backoff, initial, max,
                                                                 jc->jitter);
  g_autoptr(SluiceRetryPolicy) plain = sluice_retry_policy_new (20, jc->backoff, initial, max,
                                                                SLUICE_JITTER_NONE);
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240601);

  for (guint attempt = 1; attempt <= 12; attempt++)
    {
      gint64 base = sluice_retry_policy_get_delay (plain, attempt, NULL);
      gint64 low = jc->jitter == SLUICE_JITTER_EQUAL ? base - base / 2 : 0;
      gint64 seen_min = G_MAXINT64;
      gint64 seen_max = G_MININT64;
      double sum = 0;

      g_assert_cmpint (base, <=, max);
      for (guint i = 0; i < DRAWS; i++)
        {
          gint64 delay = sluice_retry_policy_get_delay (policy, attempt, rand);

          g_assert_cmpint (delay, >=, low);
          g_assert_cmpint (delay, <=, base);
          seen_min = MIN (seen_min, delay);
          seen_max = MAX (seen_max, delay);
          sum += (double) delay;
        }

      /* the draws spread over the whole range and centre in its middle */
      g_assert_cmpint (seen_min, <, low + (base - low) / 50);
      g_assert_cmpint (seen_max, >, base - (base - low) / 50);
      g_assert_cmpfloat_with_epsilon (sum / DRAWS, (double) (low + base) / 2,
                                      (double) (base - low) * 0.05);
    }
}

static void
test_same_seed_same_delays (void)
{
  g_autoptr(SluiceRetryPolicy) policy =
    sluice_retry_policy_new (5, SLUICE_BACKOFF_EXPONENTIAL, G_TIME_SPAN_SECOND,
                             G_TIME_SPAN_MINUTE, SLUICE_JITTER_FULL);
  g_autoptr(GRand) a = g_rand_new_with_seed (7);
  g_autoptr(GRand) b = g_rand_new_with_seed (7);
  gboolean all_equal_to_base = TRUE;

  for (guint i = 0; i < 100; i++)
    {
      gint64 da = sluice_retry_policy_get_delay (policy, 3, a);
      gint64 db = sluice_retry_policy_get_delay (policy, 3, b);

      g_assert_cmpint (da, ==, db);
      if (da != 4 * G_TIME_SPAN_SECOND)
        all_equal_to_base = FALSE;
    }
  g_assert_false (all_equal_to_base);

  /* without a GRand the global generator is used, within the same bounds */
  for (guint i = 0; i < 100; i++)
    {
      gint64 d = sluice_retry_policy_get_delay (policy, 2, NULL);

      g_assert_cmpint (d, >=, 0);
      g_assert_cmpint (d, <=, 2 * G_TIME_SPAN_SECOND);
    }
}

static void
test_overflow (void)
{
  g_autoptr(SluiceRetryPolicy) huge =
    sluice_retry_policy_new (G_MAXUINT, SLUICE_BACKOFF_EXPONENTIAL, G_TIME_SPAN_DAY,
                             G_MAXINT64, SLUICE_JITTER_NONE);
  g_autoptr(SluiceRetryPolicy) capped =
    sluice_retry_policy_new (G_MAXUINT, SLUICE_BACKOFF_EXPONENTIAL, G_TIME_SPAN_SECOND,
                             G_TIME_SPAN_MINUTE, SLUICE_JITTER_FULL);
  g_autoptr(SluiceRetryPolicy) big_multiplier =
    policy_from_json ("{\"attempts\": 1000, \"multiplier\": 1000000, \"max\": \"1000d\","
                      " \"jitter\": \"none\"}", NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (99);

  /* 2^99 days does not fit: the cap applies instead of wrapping around */
  g_assert_cmpint (sluice_retry_policy_get_delay (huge, 100, NULL), ==, G_MAXINT64);
  g_assert_cmpint (sluice_retry_policy_get_delay (huge, G_MAXUINT, NULL), ==, G_MAXINT64);
  g_assert_cmpint (sluice_retry_policy_get_delay (huge, 2, NULL), ==, 2 * G_TIME_SPAN_DAY);

  for (guint i = 0; i < 1000; i++)
    {
      gint64 d = sluice_retry_policy_get_delay (capped, 100, rand);

      g_assert_cmpint (d, >=, 0);
      g_assert_cmpint (d, <=, G_TIME_SPAN_MINUTE);
    }

  g_assert_nonnull (big_multiplier);
  g_assert_cmpint (sluice_retry_policy_get_delay (big_multiplier, 100, NULL), ==,
                   1000 * G_TIME_SPAN_DAY);
  g_assert_cmpint (sluice_retry_policy_get_delay (big_multiplier, 2, NULL), ==,
                   G_GINT64_CONSTANT (1000000) * G_TIME_SPAN_SECOND);
}

int
main (int argc, char **argv)
{
  static const JitterCase exponential_full = { SLUICE_BACKOFF_EXPONENTIAL, SLUICE_JITTER_FULL };
  static const JitterCase exponential_equal = { SLUICE_BACKOFF_EXPONENTIAL, SLUICE_JITTER_EQUAL };
  static const JitterCase fixed_full = { SLUICE_BACKOFF_FIXED, SLUICE_JITTER_FULL };
  static const JitterCase fixed_equal = { SLUICE_BACKOFF_FIXED, SLUICE_JITTER_EQUAL };

  g_test_init (&argc, &argv, NULL);

  g_test_summary ("SluiceRetryPolicy: reading it from JSON, delays with backoff and jitter");

  g_test_add_func ("/retry-policy/json/defaults", test_defaults);
  g_test_add_func ("/retry-policy/json/all-keys", test_full_json);
  g_test_add_func ("/retry-policy/json/errors-name-the-key", test_json_errors);
  g_test_add_func ("/retry-policy/allows-retry/counts-first-attempt", test_allows_retry);
  g_test_add_func ("/retry-policy/delay/exponential-capped", test_exponential_no_jitter);
  g_test_add_func ("/retry-policy/delay/fixed", test_fixed_no_jitter);
  g_test_add_func ("/retry-policy/delay/multiplier", test_multiplier);
  g_test_add_data_func ("/retry-policy/jitter/exponential-full", &exponential_full,
                        test_jitter_bounds);
  g_test_add_data_func ("/retry-policy/jitter/exponential-equal", &exponential_equal,
                        test_jitter_bounds);
  g_test_add_data_func ("/retry-policy/jitter/fixed-full", &fixed_full, test_jitter_bounds);
  g_test_add_data_func ("/retry-policy/jitter/fixed-equal", &fixed_equal, test_jitter_bounds);
  g_test_add_func ("/retry-policy/jitter/seeded-is-reproducible", test_same_seed_same_delays);
  g_test_add_func ("/retry-policy/delay/no-overflow", test_overflow);

  return g_test_run ();
}
