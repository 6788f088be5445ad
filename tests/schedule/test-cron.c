/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sluice-cron.h"

/* Each row: an expression in a zone, a starting instant, and the fire
 * times that follow, worked out by hand from a calendar. The weekdays of
 * 2026 used below: Jan 1 is a Thursday, Mar 8 and Mar 29 are Sundays,
 * Oct 25 and Nov 1 are Sundays. The DST days: Europe/Berlin springs from
 * 02:00 CET to 03:00 CEST on 2026-03-29 and falls from 03:00 CEST to
 * 02:00 CET on 2026-10-25; America/New_York springs from 02:00 EST to
 * 03:00 EDT on 2026-03-08 and falls from 02:00 EDT to 01:00 EST on
 * 2026-11-01. */
typedef struct {
  const char *expression;
  const char *zone;
  const char *from;
  const char *expected[7];
} Row;

static const Row rows[] = {
  /* strictly after */
  { "* * * * *", "UTC", "2026-01-01T00:00:00Z",
    { "2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z" } },
  { "* * * * *", "UTC", "2026-01-01T00:00:30.5Z", { "2026-01-01T00:01:00Z" } },
  { "*/15 * * * *", "UTC", "2026-01-01T00:07:00Z",
    { "2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z",
      "2026-01-01T01:00:00Z" } },
  { "5-10/2 * * * *", "UTC", "2026-01-01T00:00:00Z",
    { "2026-01-01T00:05:00Z", "2026-01-01T00:07:00Z", "2026-01-01T00:09:00Z",
      "2026-01-01T01:05:00Z" } },
  /* N/step runs to the end of the field */
  { "55/2 * * * *", "UTC", "2026-01-01T00:00:00Z",
    { "2026-01-01T00:55:00Z", "2026-01-01T00:57:00Z", "2026-01-01T00:59:00Z",
      "2026-01-01T01:55:00Z" } },
  { "0 9-17/4 * * MON-FRI", "UTC", "2026-01-02T10:00:00Z",
    { "2026-01-02T13:00:00Z", "2026-01-02T17:00:00Z", "2026-01-05T09:00:00Z" } },
  /* both day fields restricted: either matches (1st, 15th, Fridays) */
  { "30 4 1,15 * 5", "UTC", "2026-01-01T00:00:00Z",
    { "2026-01-01T04:30:00Z", "2026-01-02T04:30:00Z", "2026-01-09T04:30:00Z",
      "2026-01-15T04:30:00Z", "2026-01-16T04:30:00Z" } },
  { "0 0 1 * MON", "UTC", "2026-01-01T00:00:00Z",
    { "2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z", "2026-01-19T00:00:00Z",
      "2026-01-26T00:00:00Z", "2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z" } },
  /* Sunday is 0 and 7 */
  { "0 0 * * 7", "UTC", "2026-01-01T00:00:00Z",
    { "2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z" } },
  { "0 0 * * 0", "UTC", "2026-01-01T00:00:00Z",
    { "2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z" } },
  { "0 0 * * 5-7", "UTC", "2026-01-01T00:00:00Z",
    { "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z",
      "2026-01-09T00:00:00Z" } },
  /* names, any case; a wildcard day of month leaves the weekday alone */
  { "0 12 * JAN,jul SUN", "UTC", "2026-01-01T00:00:00Z",
    { "2026-01-04T12:00:00Z", "2026-01-11T12:00:00Z", "2026-01-18T12:00:00Z",
      "2026-01-25T12:00:00Z", "2026-07-05T12:00:00Z" } },
  { "0 0 1 dec *", "UTC", "2026-01-01T00:00:00Z",
    { "2026-12-01T00:00:00Z", "2027-12-01T00:00:00Z" } },
  { "0 0 ? * MON", "UTC", "2026-01-01T00:00:00Z",
    { "2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z" } },
  { "0 0 * * SUN-SAT", "UTC", "2026-01-01T00:00:00Z",
    { "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z" } },
  /* as in Vixie cron, "*\/10" counts as a wildcard: alone it is every
   * tenth day, with a weekday both must match */
  { "0 0 */10 * *", "UTC", "2026-01-01T00:00:00Z",
    { "2026-01-11T00:00:00Z", "2026-01-21T00:00:00Z", "2026-01-31T00:00:00Z",
      "2026-02-01T00:00:00Z", "2026-02-11T00:00:00Z" } },
  { "0 0 */10 * 1", "UTC", "2026-01-01T00:00:00Z",
    { "2026-05-11T00:00:00Z", "2026-06-01T00:00:00Z", "2026-08-31T00:00:00Z" } },
  /* short months and leap days */
  { "0 0 31 * *", "UTC", "2026-01-31T00:00:00Z",
    { "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z",
      "2026-08-31T00:00:00Z" } },
  { "0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z",
    { "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z" } },
  { "0 0 29 2 1", "UTC", "2028-02-20T00:00:00Z",
    { "2028-02-21T00:00:00Z", "2028-02-28T00:00:00Z", "2028-02-29T00:00:00Z",
      "2029-02-05T00:00:00Z" } },
  /* macros */
  { "@yearly", "UTC", "2026-06-01T00:00:00Z",
    { "2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z" } },
  { "@annually", "UTC", "2026-12-31T23:59:59Z", { "2027-01-01T00:00:00Z" } },
  { "@monthly", "UTC", "2026-01-31T12:00:00Z",
    { "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z" } },
  { "@weekly", "UTC", "2026-01-01T00:00:00Z",
    { "2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z" } },
  { "@daily", "UTC", "2026-12-31T23:59:59Z",
    { "2027-01-01T00:00:00Z", "2027-01-02T00:00:00Z" } },
  { "@midnight", "UTC", "2026-01-01T00:00:00Z", { "2026-01-02T00:00:00Z" } },
  { "@hourly", "UTC", "2026-01-01T00:59:59Z",
    { "2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z" } },
  { "  @HOURLY ", "UTC", "2026-01-01T00:00:00Z", { "2026-01-01T01:00:00Z" } },
  /* six fields: seconds first */
  { "*/20 * * * * *", "UTC", "2026-01-01T00:00:00Z",
    { "2026-01-01T00:00:20Z", "2026-01-01T00:00:40Z", "2026-01-01T00:01:00Z" } },
  { "15,45 30 8 * * *", "UTC", "2026-01-01T08:30:20Z",
    { "2026-01-01T08:30:45Z", "2026-01-02T08:30:15Z" } },
  { "0\t0   12 * *  *", "UTC", "2026-01-01T00:00:00Z", { "2026-01-01T12:00:00Z" } },
  /* a zone with a half-hour offset */
  { "0 0 * * *", "Asia/Kolkata", "2026-01-01T00:00:00Z",
    { "2026-01-02T00:00:00+05:30", "2026-01-03T00:00:00+05:30" } },

  /* Europe/Berlin, spring forward: a time in the gap fires once, at 03:00 CEST */
  { "30 2 * * *", "Europe/Berlin", "2026-03-28T00:00:00+01:00",
    { "2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00" } },
  { "0 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00+01:00",
    { "2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00" } },
  { "*/15 2 * * *", "Europe/Berlin", "2026-03-29T00:00:00+01:00",
    { "2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00", "2026-03-30T02:15:00+02:00" } },
  { "0 * * * *", "Europe/Berlin", "2026-03-29T00:30:00+01:00",
    { "2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00" } },
  { "0 3 * * *", "Europe/Berlin", "2026-03-28T12:00:00+01:00",
    { "2026-03-29T03:00:00+02:00", "2026-03-30T03:00:00+02:00" } },
  /* Europe/Berlin, fall back: the repeated hour runs once, in CEST */
  { "30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00+02:00",
    { "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00" } },
  { "0 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00+02:00",
    { "2026-10-25T02:00:00+02:00", "2026-10-26T02:00:00+01:00" } },
  { "*/30 * * * *", "Europe/Berlin", "2026-10-25T01:45:00+02:00",
    { "2026-10-25T02:00:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-25T03:00:00+01:00",
      "2026-10-25T03:30:00+01:00" } },
  /* from inside the second pass of the hour: its times ran already */
  { "*/30 * * * *", "Europe/Berlin", "2026-10-25T02:10:00+01:00",
    { "2026-10-25T03:00:00+01:00" } },
  { "0 3 * * *", "Europe/Berlin", "2026-10-24T12:00:00+02:00",
    { "2026-10-25T03:00:00+01:00", "2026-10-26T03:00:00+01:00" } },

  /* America/New_York, spring forward */
  { "30 2 * * *", "America/New_York", "2026-03-07T12:00:00-05:00",
    { "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00" } },
  { "*/30 2 * * *", "America/New_York", "2026-03-08T01:50:00-05:00",
    { "2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00" } },
  { "0 0 * * *", "America/New_York", "2026-03-07T12:00:00-05:00",
    { "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00" } },
  { "0 9 * * 1-5", "America/New_York", "2026-03-06T10:00:00-05:00",
    { "2026-03-09T09:00:00-04:00", "2026-03-10T09:00:00-04:00" } },
  /* America/New_York, fall back */
  { "30 1 * * *", "America/New_York", "2026-10-31T12:00:00-04:00",
    { "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00" } },
  { "*/20 1 * * *", "America/New_York", "2026-11-01T00:50:00-04:00",
    { "2026-11-01T01:00:00-04:00", "2026-11-01T01:20:00-04:00", "2026-11-01T01:40:00-04:00",
      "2026-11-02T01:00:00-05:00" } },
  { "0 2 * * *", "America/New_York", "2026-10-31T12:00:00-04:00",
    { "2026-11-01T02:00:00-05:00", "2026-11-02T02:00:00-05:00" } },
};

static gint64
parse_time (const char *text,
            GTimeZone  *tz)
{
  g_autoptr(GError) error = NULL;
  gint64 usec = 0;

  g_assert_true (sluice_cron_parse_time (text, tz, &usec, &error));
  g_assert_no_error (error);
  return usec;
}

static void
test_table (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      const Row *row = &rows[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(SluiceCron) cron = sluice_cron_new (row->expression, &error);
      g_autoptr(GTimeZone) tz = sluice_cron_time_zone_new (row->zone, &error);
      gint64 after;

      g_test_message ("'%s' in %s from %s", row->expression, row->zone, row->from);
      g_assert_no_error (error);
      g_assert_nonnull (cron);
      g_assert_nonnull (tz);
      g_assert_cmpstr (sluice_cron_get_expression (cron), ==, row->expression);

      after = parse_time (row->from, tz);
      for (guint n = 0; n < G_N_ELEMENTS (row->expected) && row->expected[n] != NULL; n++)
        {
          g_autofree char *text = NULL;
          gint64 next = sluice_cron_next (cron, tz, after);

          g_assert_cmpint (next, >, after);
          text = sluice_cron_format_time (next, tz);
          g_assert_cmpstr (text, ==, row->expected[n]);
          /* the text reads back as the same instant */
          g_assert_cmpint (parse_time (text, tz), ==, next);
          after = next;
        }
    }
}

/* Every fire time of a DST day in Berlin, minute by minute, against a
 * count made independently: the day has 23 hours of wall time that
 * exist, plus the one firing for the whole gap. */
static void
test_dst_day_counts (void)
{
  g_autoptr(GTimeZone) tz = sluice_cron_time_zone_new ("Europe/Berlin", NULL);
  g_autoptr(SluiceCron) every_minute = sluice_cron_new ("* * * * *", NULL);
  gint64 spring_start = parse_time ("2026-03-29T00:00:00+01:00", tz);
  gint64 spring_end = parse_time ("2026-03-30T00:00:00+02:00", tz);
  gint64 fall_start = parse_time ("2026-10-25T00:00:00+02:00", tz);
  gint64 fall_end = parse_time ("2026-10-26T00:00:00+01:00", tz);
  guint count = 0;

  /* 23 h of real time: 23 * 60 fires, the minutes 02:00-02:59 being one
   * and the same instant (03:00). */
  for (gint64 t = sluice_cron_next (every_minute, tz, spring_start - 1); t < spring_end;
       t = sluice_cron_next (every_minute, tz, t))
    count++;
  g_assert_cmpuint (count, ==, 23 * 60);

  /* 25 h of real time, but the repeated hour fires once: 24 * 60. */
  count = 0;
  for (gint64 t = sluice_cron_next (every_minute, tz, fall_start - 1); t < fall_end;
       t = sluice_cron_next (every_minute, tz, t))
    count++;
  g_assert_cmpuint (count, ==, 24 * 60);
}

static void
test_errors (void)
{
  static const struct {
    const char *expression;
    int         code;
    const char *message;
  } errors[] = {
    { "0 0 32 * *", SLUICE_CRON_ERROR_RANGE,
      "cron '0 0 32 * *': field 3 (day of month): '32' is out of range 1-31" },
    { "x * * * *", SLUICE_CRON_ERROR_SYNTAX,
      "cron 'x * * * *': field 1 (minute): 'x' is not a number" },
    { "60 * * * * *", SLUICE_CRON_ERROR_RANGE,
      "cron '60 * * * * *': field 1 (second): '60' is out of range 0-59" },
    { "0 24 * * *", SLUICE_CRON_ERROR_RANGE,
      "cron '0 24 * * *': field 2 (hour): '24' is out of range 0-23" },
    { "* * * * 8", SLUICE_CRON_ERROR_RANGE,
      "cron '* * * * 8': field 5 (day of week): '8' is out of range 0-7" },
    { "* * * 13 *", SLUICE_CRON_ERROR_RANGE,
      "cron '* * * 13 *': field 4 (month): '13' is out of range 1-12" },
    { "* * 0 * *", SLUICE_CRON_ERROR_RANGE,
      "cron '* * 0 * *': field 3 (day of month): '0' is out of range 1-31" },
    { "* * * FOO *", SLUICE_CRON_ERROR_SYNTAX,
      "cron '* * * FOO *': field 4 (month): 'FOO' is not a number or a month name (JAN-DEC)" },
    { "* * * * FRIDAY", SLUICE_CRON_ERROR_SYNTAX,
      "cron '* * * * FRIDAY': field 5 (day of week): 'FRIDAY' is not a number or a day name "
      "(SUN-SAT)" },
    { "* * *", SLUICE_CRON_ERROR_SYNTAX,
      "cron '* * *': expected 5 fields (minute hour day-of-month month day-of-week) or 6 with "
      "a leading second, found 3" },
    { "* * * * * * *", SLUICE_CRON_ERROR_SYNTAX,
      "cron '* * * * * * *': expected 5 fields (minute hour day-of-month month day-of-week) or "
      "6 with a leading second, found 7" },
    { "", SLUICE_CRON_ERROR_SYNTAX,
      "cron '': expected 5 fields (minute hour day-of-month month day-of-week) or 6 with a "
      "leading second, found 0" },
    { "@reboot", SLUICE_CRON_ERROR_SYNTAX,
      "cron '@reboot': unknown macro '@reboot' (expected @yearly, @annually, @monthly, @weekly, "
      "@daily, @midnight or @hourly)" },
    { "*/0 * * * *", SLUICE_CRON_ERROR_RANGE,
      "cron '*/0 * * * *': field 1 (minute): '*/0': the step must be at least 1" },
    { "*/61 * * * *", SLUICE_CRON_ERROR_RANGE,
      "cron '*/61 * * * *': field 1 (minute): '*/61': the step is out of range 1-59" },
    { "*/x * * * *", SLUICE_CRON_ERROR_SYNTAX,
      "cron '*/x * * * *': field 1 (minute): '*/x': the step 'x' is not a number" },
    { "*/ * * * *", SLUICE_CRON_ERROR_SYNTAX,
      "cron '*/ * * * *': field 1 (minute): '*/': the step after '/' is missing" },
    { "5-1 * * * *", SLUICE_CRON_ERROR_RANGE,
      "cron '5-1 * * * *': field 1 (minute): '5-1': the range starts after it ends" },
    { "1- * * * *", SLUICE_CRON_ERROR_SYNTAX,
      "cron '1- * * * *': field 1 (minute): a value is missing" },
    { "1,,2 * * * *", SLUICE_CRON_ERROR_SYNTAX,
      "cron '1,,2 * * * *': field 1 (minute): an item of the list is empty" },
    { "0 0 1, * *", SLUICE_CRON_ERROR_SYNTAX,
      "cron '0 0 1, * *': field 3 (day of month): an item of the list is empty" },
    { "? * * * *", SLUICE_CRON_ERROR_SYNTAX,
      "cron '? * * * *': field 1 (minute): '?' is not a number" },
    { "1x * * * *", SLUICE_CRON_ERROR_SYNTAX,
      "cron '1x * * * *': field 1 (minute): '1x' is not a number" },
    { "99999999999999999999 * * * *", SLUICE_CRON_ERROR_RANGE,
      "cron '99999999999999999999 * * * *': field 1 (minute): '99999999999999999999' is out of "
      "range 0-59" },
    { "0 0 30 2 *", SLUICE_CRON_ERROR_NEVER,
      "cron '0 0 30 2 *': never fires: day 30 of the month does not occur in February" },
    { "0 0 31 4,6 *", SLUICE_CRON_ERROR_NEVER,
      "cron '0 0 31 4,6 *': never fires: day 31 of the month does not occur in April or the "
      "other months it names" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (errors); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SluiceCron) cron = sluice_cron_new (errors[i].expression, &error);

      g_assert_null (cron);
      g_assert_error (error, SLUICE_CRON_ERROR, errors[i].code);
      g_assert_cmpstr (error->message, ==, errors[i].message);
    }
}

/* Both day fields restricted: any weekday saves an impossible day. */
static void
test_never_saved_by_weekday (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceCron) cron = sluice_cron_new ("0 0 30 2 MON", &error);
  g_autoptr(GTimeZone) utc = sluice_cron_time_zone_new ("UTC", NULL);

  g_assert_no_error (error);
  g_assert_nonnull (cron);
  /* 2026-02-02 is the first Monday of February 2026 */
  g_assert_cmpint (sluice_cron_next (cron, utc, parse_time ("2026-01-01T00:00:00Z", utc)), ==,
                   parse_time ("2026-02-02T00:00:00Z", utc));
}

static void
test_time_zones (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GTimeZone) berlin = sluice_cron_time_zone_new ("Europe/Berlin", &error);
  g_autoptr(GTimeZone) utc = sluice_cron_time_zone_new (NULL, &error);
  g_autoptr(GTimeZone) utc_named = sluice_cron_time_zone_new ("utc", &error);
  g_autoptr(GTimeZone) local = sluice_cron_time_zone_new ("local", &error);
  g_autoptr(GTimeZone) unknown = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (berlin);
  g_assert_nonnull (utc);
  g_assert_nonnull (utc_named);
  g_assert_nonnull (local);
  g_assert_cmpstr (g_time_zone_get_identifier (berlin), ==, "Europe/Berlin");
  g_assert_cmpstr (g_time_zone_get_identifier (utc), ==, "UTC");

  unknown = sluice_cron_time_zone_new ("Mars/Olympus_Mons", &error);
  g_assert_null (unknown);
  g_assert_error (error, SLUICE_CRON_ERROR, SLUICE_CRON_ERROR_TIME_ZONE);
  g_assert_cmpstr (error->message, ==,
                   "unknown time zone 'Mars/Olympus_Mons' (expected an IANA name such as "
                   "Europe/Berlin, UTC or local)");
}

static void
test_times_as_text (void)
{
  g_autoptr(GTimeZone) utc = sluice_cron_time_zone_new ("UTC", NULL);
  g_autoptr(GTimeZone) berlin = sluice_cron_time_zone_new ("Europe/Berlin", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *c = NULL;
  gint64 usec = 0;

  /* 2026-03-29T01:00:00Z, plus a fraction */
  a = sluice_cron_format_time (G_GINT64_CONSTANT (1774746000) * G_USEC_PER_SEC, utc);
  b = sluice_cron_format_time (G_GINT64_CONSTANT (1774746000) * G_USEC_PER_SEC, berlin);
  c = sluice_cron_format_time (G_GINT64_CONSTANT (1774746000) * G_USEC_PER_SEC + 250000, berlin);
  g_assert_cmpstr (a, ==, "2026-03-29T01:00:00Z");
  g_assert_cmpstr (b, ==, "2026-03-29T03:00:00+02:00");
  g_assert_cmpstr (c, ==, "2026-03-29T03:00:00.250000+02:00");

  /* without an offset: in the given zone */
  g_assert_true (sluice_cron_parse_time ("2026-01-15T12:00:00", berlin, &usec, &error));
  g_assert_no_error (error);
  g_assert_cmpint (usec, ==, parse_time ("2026-01-15T11:00:00Z", utc));

  g_assert_false (sluice_cron_parse_time ("tomorrow", utc, &usec, &error));
  g_assert_error (error, SLUICE_CRON_ERROR, SLUICE_CRON_ERROR_TIME);
  g_assert_cmpstr (error->message, ==,
                   "'tomorrow' is not an ISO 8601 date and time (such as "
                   "2026-03-29T02:30:00+01:00)");
}

/* Far ends of time: no crash, no fire outside years 1..9999. */
static void
test_limits (void)
{
  g_autoptr(GTimeZone) berlin = sluice_cron_time_zone_new ("Europe/Berlin", NULL);
  g_autoptr(SluiceCron) cron = sluice_cron_new ("0 0 29 2 *", NULL);
  g_autoptr(SluiceCron) minutely = sluice_cron_new ("* * * * *", NULL);

  g_assert_cmpint (sluice_cron_next (cron, berlin, G_MAXINT64), ==, -1);
  g_assert_cmpint (sluice_cron_next (cron, berlin, G_MININT64), ==, -1);
  /* year 9999 has no February 29th, and nothing comes after it */
  g_assert_cmpint (sluice_cron_next (cron, berlin,
                                     parse_time ("9997-01-01T00:00:00Z", berlin)), ==, -1);
  g_assert_cmpint (sluice_cron_next (minutely, berlin, 0), ==, 60 * G_USEC_PER_SEC);
  /* before 1970 */
  g_assert_cmpint (sluice_cron_next (minutely, berlin, -90 * G_USEC_PER_SEC), ==,
                   -60 * G_USEC_PER_SEC);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_summary ("The cron parser and next-fire computation of lib/cron, against fire times "
                  "worked out by hand, including the DST days of Europe/Berlin and "
                  "America/New_York in 2026");

  g_test_add_func ("/cron/next/table", test_table);
  g_test_add_func ("/cron/next/dst-day-counts", test_dst_day_counts);
  g_test_add_func ("/cron/next/limits", test_limits);
  g_test_add_func ("/cron/parse/errors", test_errors);
  g_test_add_func ("/cron/parse/impossible-day-saved-by-weekday", test_never_saved_by_weekday);
  g_test_add_func ("/cron/time-zone/names", test_time_zones);
  g_test_add_func ("/cron/time/as-text", test_times_as_text);

  return g_test_run ();
}
