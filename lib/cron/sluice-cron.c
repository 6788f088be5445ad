/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-cron.h"

#include <string.h>

G_DEFINE_QUARK (sluice-cron-error-quark, sluice_cron_error)

#define SECONDS_PER_DAY G_GINT64_CONSTANT (86400)

/* Values are kept as bit sets, one bit per allowed value. */
struct _SluiceCron
{
  char    *expression;
  guint64  seconds;   /* bits 0..59 */
  guint64  minutes;   /* bits 0..59 */
  guint32  hours;     /* bits 0..23 */
  guint32  days;      /* bits 1..31 */
  guint32  months;    /* bits 1..12 */
  guint32  weekdays;  /* bits 0..6, Sunday = 0 */
  gboolean dom_star;  /* the day-of-month field starts with '*' or '?' */
  gboolean dow_star;  /* the same for day of week */
};

typedef enum {
  FIELD_SECOND,
  FIELD_MINUTE,
  FIELD_HOUR,
  FIELD_DAY_OF_MONTH,
  FIELD_MONTH,
  FIELD_DAY_OF_WEEK,
  N_FIELDS
} FieldKind;

static const char * const month_names[] = {
  "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL
};

static const char * const day_names[] = {
  "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL
};

static const char * const month_full_names[] = {
  "January", "February", "March", "April", "May", "June", "July", "August", "September",
  "October", "November", "December"
};

typedef struct {
  const char         *name;
  guint               min;
  guint               max;
  const char * const *names;      /* names[i] stands for min + i */
  const char         *names_hint; /* for messages */
} FieldInfo;

static const FieldInfo fields[N_FIELDS] = {
  [FIELD_SECOND] = { "second", 0, 59, NULL, NULL },
  [FIELD_MINUTE] = { "minute", 0, 59, NULL, NULL },
  [FIELD_HOUR] = { "hour", 0, 23, NULL, NULL },
  [FIELD_DAY_OF_MONTH] = { "day of month", 1, 31, NULL, NULL },
  [FIELD_MONTH] = { "month", 1, 12, month_names, "a month name (JAN-DEC)" },
  /* 7 is Sunday too, as in Vixie cron */
  [FIELD_DAY_OF_WEEK] = { "day of week", 0, 7, day_names, "a day name (SUN-SAT)" },
};

typedef struct {
  const char *name;
  const char *expansion;
} Macro;

static const Macro macros[] = {
  { "@yearly", "0 0 1 1 *" },
  { "@annually", "0 0 1 1 *" },
  { "@monthly", "0 0 1 * *" },
  { "@weekly", "0 0 * * 0" },
  { "@daily", "0 0 * * *" },
  { "@midnight", "0 0 * * *" },
  { "@hourly", "0 * * * *" },
};

/* ---- Parsing ---- */

typedef struct {
  const char *expression; /* as the user wrote it, for messages */
  guint       position;   /* 1-based field number in the user's text */
  FieldKind   kind;
} FieldContext;

static void
field_error (GError            **error,
             const FieldContext *ctx,
             SluiceCronError     code,
             const char         *format,
             ...) G_GNUC_PRINTF (4, 5);

static void
field_error (GError            **error,
             const FieldContext *ctx,
             SluiceCronError     code,
             const char         *format,
             ...)
{
  g_autofree char *detail = NULL;
  va_list args;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, SLUICE_CRON_ERROR, code, "cron '%s': field %u (%s): %s",
               ctx->expression, ctx->position, fields[ctx->kind].name, detail);
}

/* One value: digits, or a name where the field has names. */
static gboolean
parse_value (const FieldContext *ctx,
             const char         *text,
             gsize               len,
             guint              *out_value,
             GError            **error)
{
  const FieldInfo *info = &fields[ctx->kind];
  g_autofree char *copy = g_strndup (text, len);

  if (len == 0)
    {
      field_error (error, ctx, SLUICE_CRON_ERROR_SYNTAX, "a value is missing");
      return FALSE;
    }

  if (g_ascii_isdigit (text[0]))
    {
      guint64 value = 0;

      for (gsize i = 0; i < len; i++)
        {
          if (!g_ascii_isdigit (text[i]))
            {
              field_error (error, ctx, SLUICE_CRON_ERROR_SYNTAX, "'%s' is not a number", copy);
              return FALSE;
            }
          /* Anything this long is out of range anyway; stop before it overflows. */
          if (value < 1000000)
            value = value * 10 + (guint64) (text[i] - '0');
        }
      if (value < info->min || value > info->max)
        {
          field_error (error, ctx, SLUICE_CRON_ERROR_RANGE, "'%s' is out of range %u-%u",
                       copy, info->min, info->max);
          return FALSE;
        }
      *out_value = (guint) value;
      return TRUE;
    }

  if (info->names != NULL)
    {
      for (guint i = 0; info->names[i] != NULL; i++)
        {
          if (len == strlen (info->names[i]) &&
              g_ascii_strncasecmp (text, info->names[i], len) == 0)
            {
              *out_value = info->min + i;
              return TRUE;
            }
        }
      field_error (error, ctx, SLUICE_CRON_ERROR_SYNTAX, "'%s' is not a number or %s",
                   copy, info->names_hint);
      return FALSE;
    }

  field_error (error, ctx, SLUICE_CRON_ERROR_SYNTAX, "'%s' is not a number", copy);
  return FALSE;
}

/* One item of a list: "*", "?", "N", "N-M", any of these with "/STEP"
 * ("N/STEP" runs from N to the field's maximum). */
static gboolean
parse_item (const FieldContext *ctx,
            const char         *item,
            gsize               len,
            guint64            *bits,
            GError            **error)
{
  const FieldInfo *info = &fields[ctx->kind];
  g_autofree char *copy = g_strndup (item, len);
  const char *slash = memchr (item, '/', len);
  gsize range_len = slash != NULL ? (gsize) (slash - item) : len;
  const char *dash;
  guint low, high, step = 1;

  if (len == 0)
    {
      field_error (error, ctx, SLUICE_CRON_ERROR_SYNTAX, "an item of the list is empty");
      return FALSE;
    }

  if (slash != NULL)
    {
      const char *step_text = slash + 1;
      gsize step_len = len - range_len - 1;
      guint64 value = 0;

      if (step_len == 0)
        {
          field_error (error, ctx, SLUICE_CRON_ERROR_SYNTAX, "'%s': the step after '/' is missing",
                       copy);
          return FALSE;
        }
      for (gsize i = 0; i < step_len; i++)
        {
          if (!g_ascii_isdigit (step_text[i]))
            {
              g_autofree char *step_copy = g_strndup (step_text, step_len);

              field_error (error, ctx, SLUICE_CRON_ERROR_SYNTAX,
                           "'%s': the step '%s' is not a number", copy, step_copy);
              return FALSE;
            }
          if (value < 1000000)
            value = value * 10 + (guint64) (step_text[i] - '0');
        }
      if (value == 0)
        {
          field_error (error, ctx, SLUICE_CRON_ERROR_RANGE, "'%s': the step must be at least 1",
                       copy);
          return FALSE;
        }
      if (value > info->max)
        {
          field_error (error, ctx, SLUICE_CRON_ERROR_RANGE,
                       "'%s': the step is out of range 1-%u", copy, info->max);
          return FALSE;
        }
      step = (guint) value;
    }

  if (range_len == 1 && (item[0] == '*' ||
                         (item[0] == '?' && (ctx->kind == FIELD_DAY_OF_MONTH ||
                                             ctx->kind == FIELD_DAY_OF_WEEK))))
    {
      low = info->min;
      /* Sunday is there once, as 0 */
      high = ctx->kind == FIELD_DAY_OF_WEEK ? 6 : info->max;
    }
  else if ((dash = memchr (item, '-', range_len)) != NULL)
    {
      gsize low_len = (gsize) (dash - item);

      if (!parse_value (ctx, item, low_len, &low, error) ||
          !parse_value (ctx, dash + 1, range_len - low_len - 1, &high, error))
        return FALSE;
      if (low > high)
        {
          g_autofree char *range_copy = g_strndup (item, range_len);

          field_error (error, ctx, SLUICE_CRON_ERROR_RANGE,
                       "'%s': the range starts after it ends", range_copy);
          return FALSE;
        }
    }
  else
    {
      if (!parse_value (ctx, item, range_len, &low, error))
        return FALSE;
      high = slash != NULL ? info->max : low;
    }

  for (guint v = low; v <= high; v += step)
    {
      guint bit = (ctx->kind == FIELD_DAY_OF_WEEK && v == 7) ? 0 : v;

      *bits |= G_GUINT64_CONSTANT (1) << bit;
    }
  return TRUE;
}

static gboolean
parse_field (const FieldContext *ctx,
             const char         *text,
             guint64            *out_bits,
             GError            **error)
{
  const char *item = text;
  guint64 bits = 0;

  for (;;)
    {
      const char *comma = strchr (item, ',');
      gsize len = comma != NULL ? (gsize) (comma - item) : strlen (item);

      if (!parse_item (ctx, item, len, &bits, error))
        return FALSE;
      if (comma == NULL)
        break;
      item = comma + 1;
    }

  *out_bits = bits;
  return TRUE;
}

static guint
days_in_month (gint64 year,
               guint  month)
{
  static const guint8 lengths[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

  if (month == 2 && (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
    return 29;
  return lengths[month - 1];
}

/* With the day of month restricted and matched together with the day of
 * week (see day_matches()), a day of month that no chosen month has (the
 * 30th of February) would make the search run to its limit every time. */
static gboolean
check_some_day_exists (const SluiceCron *self,
                       GError          **error)
{
  guint first_day = 0;

  if (!self->dom_star && !self->dow_star)
    return TRUE;

  for (guint month = 1; month <= 12; month++)
    {
      if ((self->months & (1u << month)) == 0)
        continue;
      /* 2000 is a leap year: February's longest */
      for (guint day = 1; day <= days_in_month (2000, month); day++)
        if ((self->days & (1u << day)) != 0)
          return TRUE;
    }

  for (guint day = 1; day <= 31; day++)
    if ((self->days & (1u << day)) != 0)
      {
        first_day = day;
        break;
      }
  for (guint month = 1; month <= 12; month++)
    if ((self->months & (1u << month)) != 0)
      {
        g_set_error (error, SLUICE_CRON_ERROR, SLUICE_CRON_ERROR_NEVER,
                     "cron '%s': never fires: day %u of the month does not occur in %s%s",
                     self->expression, first_day, month_full_names[month - 1],
                     (self->months & ~(1u << month)) != 0 ? " or the other months it names" : "");
        return FALSE;
      }
  g_return_val_if_reached (FALSE);
}

static gboolean
starts_with_wildcard (const char *field)
{
  return field[0] == '*' || field[0] == '?';
}

SluiceCron *
sluice_cron_new (const char *expression,
                 GError    **error)
{
  g_autoptr(SluiceCron) self = NULL;
  g_autofree char *stripped = NULL;
  g_auto(GStrv) parts = NULL;
  g_autoptr(GPtrArray) words = g_ptr_array_new ();
  const char *text;
  guint64 bits[N_FIELDS] = { 0 };
  guint first;

  g_return_val_if_fail (expression != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_new0 (SluiceCron, 1);
  self->expression = g_strdup (expression);

  stripped = g_strstrip (g_strdup (expression));
  text = stripped;

  if (text[0] == '@')
    {
      const Macro *macro = NULL;

      for (gsize i = 0; i < G_N_ELEMENTS (macros); i++)
        if (g_ascii_strcasecmp (text, macros[i].name) == 0)
          macro = &macros[i];
      if (macro == NULL)
        {
          g_set_error (error, SLUICE_CRON_ERROR, SLUICE_CRON_ERROR_SYNTAX,
                       "cron '%s': unknown macro '%s' (expected @yearly, @annually, @monthly, "
                       "@weekly, @daily, @midnight or @hourly)", expression, text);
          return NULL;
        }
      text = macro->expansion;
    }

  /* Fields are separated by runs of blanks. */
  parts = g_strsplit_set (text, " \t\n\r\f\v", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    if (parts[i][0] != '\0')
      g_ptr_array_add (words, parts[i]);

  if (words->len != 5 && words->len != 6)
    {
      g_set_error (error, SLUICE_CRON_ERROR, SLUICE_CRON_ERROR_SYNTAX,
                   "cron '%s': expected 5 fields (minute hour day-of-month month day-of-week) "
                   "or 6 with a leading second, found %u", expression, words->len);
      return NULL;
    }

  first = words->len == 6 ? FIELD_SECOND : FIELD_MINUTE;
  if (first == FIELD_MINUTE)
    bits[FIELD_SECOND] = 1;  /* second 0 */

  for (guint i = 0; i < words->len; i++)
    {
      FieldContext ctx = { expression, i + 1, (FieldKind) (first + i) };

      if (!parse_field (&ctx, g_ptr_array_index (words, i), &bits[ctx.kind], error))
        return NULL;
    }

  self->seconds = bits[FIELD_SECOND];
  self->minutes = bits[FIELD_MINUTE];
  self->hours = (guint32) bits[FIELD_HOUR];
  self->days = (guint32) bits[FIELD_DAY_OF_MONTH];
  self->months = (guint32) bits[FIELD_MONTH];
  self->weekdays = (guint32) bits[FIELD_DAY_OF_WEEK];
  /* As in Vixie cron: a day field that starts with a wildcard ("*",
   * "*\/2") does not restrict on its own, which decides between AND and
   * OR in day_matches(). */
  self->dom_star = starts_with_wildcard (g_ptr_array_index (words, FIELD_DAY_OF_MONTH - first));
  self->dow_star = starts_with_wildcard (g_ptr_array_index (words, FIELD_DAY_OF_WEEK - first));

  if (!check_some_day_exists (self, error))
    return NULL;

  return g_steal_pointer (&self);
}

void
sluice_cron_free (SluiceCron *self)
{
  if (self == NULL)
    return;
  g_free (self->expression);
  g_free (self);
}

const char *
sluice_cron_get_expression (const SluiceCron *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->expression;
}

/* ---- Calendar arithmetic (proleptic Gregorian, days since 1970-01-01) ---- */

static gint64
floor_div (gint64 a,
           gint64 b)
{
  gint64 q = a / b;

  if ((a % b != 0) && ((a < 0) != (b < 0)))
    q--;
  return q;
}

static gint64
days_from_civil (gint64 y,
                 guint  m,
                 guint  d)
{
  gint64 era, yoe, doy, doe;

  y -= m <= 2;
  era = floor_div (y, 400);
  yoe = y - era * 400;
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void
civil_from_days (gint64  z,
                 gint64 *out_y,
                 guint  *out_m,
                 guint  *out_d)
{
  gint64 era, doe, yoe, y, doy, mp;
  guint m;

  z += 719468;
  era = floor_div (z, 146097);
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = yoe + era * 400;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *out_d = (guint) (doy - (153 * mp + 2) / 5 + 1);
  m = (guint) (mp < 10 ? mp + 3 : mp - 9);
  *out_m = m;
  *out_y = y + (m <= 2);
}

/* Sunday = 0; 1970-01-01 was a Thursday. */
static guint
weekday_from_days (gint64 z)
{
  return (guint) (z - floor_div (z + 4, 7) * 7 + 4);
}

/* ---- Time zones ---- */

static gint32
offset_at (GTimeZone *tz,
           gint64     utc_seconds)
{
  gint interval = g_time_zone_find_interval (tz, G_TIME_TYPE_UNIVERSAL, utc_seconds);

  return g_time_zone_get_offset (tz, interval);
}

/* The instant (seconds since the epoch) of wall-clock time @wall (local
 * seconds since the local epoch) in @tz: its first occurrence when the
 * clocks fall back over it, or the end of the gap when they spring
 * forward over it. Transitions are assumed to lie more than a day apart
 * and to move the clocks by less than a day. */
static gint64
wall_to_instant (GTimeZone *tz,
                 gint64     wall)
{
  gint32 candidates[3];
  gint32 low_offset, high_offset;
  gint64 best = G_MAXINT64;
  gint64 lo, hi;

  candidates[0] = offset_at (tz, wall - SECONDS_PER_DAY);
  candidates[1] = offset_at (tz, wall);
  candidates[2] = offset_at (tz, wall + SECONDS_PER_DAY);

  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      gint64 instant = wall - candidates[i];

      if (offset_at (tz, instant) == candidates[i] && instant < best)
        best = instant;
    }
  if (best != G_MAXINT64)
    return best;

  /* In a gap: the instant the clocks jumped is the first one whose wall
   * time lies past @wall. */
  low_offset = MIN (candidates[0], candidates[2]);
  high_offset = MAX (candidates[0], candidates[2]);
  lo = wall - high_offset;
  hi = wall - low_offset;
  if (lo >= hi)
    return wall - candidates[1];
  while (lo < hi)
    {
      gint64 mid = lo + (hi - lo) / 2;

      if (mid + offset_at (tz, mid) > wall)
        hi = mid;
      else
        lo = mid + 1;
    }
  return lo;
}

/* ---- Matching ---- */

/* Vixie cron's rule: with either day field a wildcard both must match
 * (the wildcard one always does, unless it has a step); with both
 * restricted, either may. */
static gboolean
day_matches (const SluiceCron *self,
             guint             day,
             guint             weekday)
{
  gboolean dom = (self->days & (1u << day)) != 0;
  gboolean dow = (self->weekdays & (1u << weekday)) != 0;

  if (self->dom_star || self->dow_star)
    return dom && dow;
  return dom || dow;
}

/* The smallest set bit >= @from, or -1. */
static gint
next_bit (guint64 bits,
          guint   from,
          guint   limit)
{
  for (guint v = from; v <= limit; v++)
    if ((bits & (G_GUINT64_CONSTANT (1) << v)) != 0)
      return (gint) v;
  return -1;
}

/* The first wall time >= @wall that matches, or -1 past @last_year. */
static gint64
next_wall_match (const SluiceCron *self,
                 gint64            wall,
                 gint64            last_year)
{
  gint64 day_number = floor_div (wall, SECONDS_PER_DAY);
  gint64 second_of_day = wall - day_number * SECONDS_PER_DAY;
  gint64 year;
  guint month, day;
  guint hour = (guint) (second_of_day / 3600);
  guint minute = (guint) (second_of_day / 60 % 60);
  guint second = (guint) (second_of_day % 60);

  civil_from_days (day_number, &year, &month, &day);

  for (;;)
    {
      gint found;

      if (year > last_year)
        return -1;

      if ((self->months & (1u << month)) == 0)
        {
          found = next_bit (self->months, month + 1, 12);
          if (found < 0)
            {
              year++;
              found = next_bit (self->months, 1, 12);
            }
          month = (guint) found;
          day = 1;
          hour = minute = second = 0;
          continue;
        }

      if (!day_matches (self, day, weekday_from_days (days_from_civil (year, month, day))))
        goto next_day;

      if ((self->hours & (1u << hour)) == 0)
        {
          found = next_bit (self->hours, hour + 1, 23);
          if (found < 0)
            goto next_day;
          hour = (guint) found;
          minute = second = 0;
        }

      if ((self->minutes & (G_GUINT64_CONSTANT (1) << minute)) == 0)
        {
          found = next_bit (self->minutes, minute + 1, 59);
          if (found < 0)
            goto next_hour;
          minute = (guint) found;
          second = 0;
        }

      if ((self->seconds & (G_GUINT64_CONSTANT (1) << second)) == 0)
        {
          found = next_bit (self->seconds, second + 1, 59);
          if (found < 0)
            goto next_minute;
          second = (guint) found;
        }

      return days_from_civil (year, month, day) * SECONDS_PER_DAY +
             hour * 3600 + minute * 60 + second;

    next_minute:
      second = 0;
      if (++minute < 60)
        continue;
    next_hour:
      minute = second = 0;
      if (++hour < 24)
        continue;
    next_day:
      hour = minute = second = 0;
      if (++day > days_in_month (year, month))
        {
          day = 1;
          if (++month > 12)
            {
              month = 1;
              year++;
            }
        }
    }
}

/* Years 1..9999, which GDateTime can represent too. */
#define MIN_SECONDS (G_GINT64_CONSTANT (-62135596800))
#define MAX_SECONDS (G_GINT64_CONSTANT (253402300799))

gint64
sluice_cron_next (const SluiceCron *self,
                  GTimeZone        *tz,
                  gint64            after_usec)
{
  gint64 after = floor_div (after_usec, G_USEC_PER_SEC);
  gint64 wall, year;
  guint month, day;

  g_return_val_if_fail (self != NULL, -1);
  g_return_val_if_fail (tz != NULL, -1);

  if (after < MIN_SECONDS || after >= MAX_SECONDS - 2 * SECONDS_PER_DAY)
    return -1;

  wall = after + offset_at (tz, after);
  civil_from_days (floor_div (wall, SECONDS_PER_DAY), &year, &month, &day);

  /* Wall times whose first occurrence is not after @after_usec are those
   * of a repeated stretch (the clocks fell back) that already fired:
   * they are passed over, at most a few hours' worth. */
  for (;;)
    {
      gint64 instant;

      wall = next_wall_match (self, wall + 1, MIN (year + SLUICE_CRON_SEARCH_YEARS, 9998));
      if (wall < 0)
        return -1;
      instant = wall_to_instant (tz, wall);
      if (instant > after)
        return instant * G_USEC_PER_SEC;
    }
}

/* ---- Time zones and times as text ---- */

GTimeZone *
sluice_cron_time_zone_new (const char *name,
                           GError    **error)
{
  GTimeZone *tz;

  if (name == NULL || name[0] == '\0' || g_ascii_strcasecmp (name, "UTC") == 0)
    return g_time_zone_new_utc ();
  if (g_str_equal (name, "local"))
    return g_time_zone_new_local ();

  tz = g_time_zone_new_identifier (name);
  if (tz == NULL)
    {
      g_set_error (error, SLUICE_CRON_ERROR, SLUICE_CRON_ERROR_TIME_ZONE,
                   "unknown time zone '%s' (expected an IANA name such as Europe/Berlin, "
                   "UTC or local)", name);
      return NULL;
    }
  return tz;
}

char *
sluice_cron_format_time (gint64     usec,
                         GTimeZone *tz)
{
  gint64 seconds = floor_div (usec, G_USEC_PER_SEC);
  g_autoptr(GDateTime) utc = NULL;
  g_autoptr(GDateTime) exact = NULL;
  g_autoptr(GDateTime) local = NULL;
  const char *format;

  g_return_val_if_fail (tz != NULL, NULL);

  utc = g_date_time_new_from_unix_utc (seconds);
  if (utc == NULL)
    return g_strdup_printf ("@%" G_GINT64_FORMAT "us", usec);
  exact = g_date_time_add (utc, usec - seconds * G_USEC_PER_SEC);
  local = exact != NULL ? g_date_time_to_timezone (exact, tz) : NULL;
  if (local == NULL)
    return g_strdup_printf ("@%" G_GINT64_FORMAT "us", usec);

  /* g_date_time_format_iso8601() shortens offsets to "+01"; the full
   * "+01:00" is what people and most parsers expect. */
  if (g_str_equal (g_time_zone_get_identifier (tz), "UTC"))
    format = usec % G_USEC_PER_SEC != 0 ? "%Y-%m-%dT%H:%M:%S.%fZ" : "%Y-%m-%dT%H:%M:%SZ";
  else
    format = usec % G_USEC_PER_SEC != 0 ? "%Y-%m-%dT%H:%M:%S.%f%:z" : "%Y-%m-%dT%H:%M:%S%:z";
  return g_date_time_format (local, format);
}

gboolean
sluice_cron_parse_time (const char *text,
                        GTimeZone  *default_tz,
                        gint64     *out_usec,
                        GError    **error)
{
  g_autoptr(GDateTime) time = NULL;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (default_tz != NULL, FALSE);

  time = g_date_time_new_from_iso8601 (text, default_tz);
  if (time == NULL)
    {
      g_set_error (error, SLUICE_CRON_ERROR, SLUICE_CRON_ERROR_TIME,
                   "'%s' is not an ISO 8601 date and time (such as 2026-03-29T02:30:00+01:00)",
                   text);
      return FALSE;
    }

  if (out_usec != NULL)
    *out_usec = g_date_time_to_unix (time) * G_USEC_PER_SEC + g_date_time_get_microsecond (time);
  return TRUE;
}
