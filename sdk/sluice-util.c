/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <sluice/sluice.h>

/**
 * SECTION:sluice-util
 * @title: Durations
 *
 * Durations in configuration are written as numbers with units ("250ms",
 * "30s", "1h30m") and kept as microseconds.
 */

typedef struct {
  const char *suffix;
  gint64      usec;
} DurationUnit;

static const DurationUnit duration_units[] = {
  { "us", 1 },
  { "ms", G_TIME_SPAN_MILLISECOND },
  { "s", G_TIME_SPAN_SECOND },
  { "m", G_TIME_SPAN_MINUTE },
  { "h", G_TIME_SPAN_HOUR },
  { "d", G_TIME_SPAN_DAY },
};

static gboolean
duration_error (const char *text,
                GError    **error)
{
  g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
               "'%s' is not a duration (use e.g. 500ms, 30s, 5m, 8h, 1d)", text);
  return FALSE;
}

static gboolean
duration_overflow (const char *text,
                   GError    **error)
{
  g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
               "'%s' is too long a duration (at most about 292000 years)", text);
  return FALSE;
}

/**
 * sluice_parse_duration:
 * @text: a duration such as "250ms", "1.5s", "1h30m" or "0"
 * @out_usec: (out): return location for the duration in microseconds
 * @error: return location for a #GError
 *
 * Parses a duration: one or more numbers (with an optional fraction), each
 * followed by a unit (us, ms, s, m, h, d), or a bare "0". Negative
 * durations and durations that do not fit in 64 bits are refused.
 *
 * Returns: %TRUE on success; %FALSE with %SLUICE_ERROR_INVALID_CONFIG set
 *   naming @text otherwise
 */
gboolean
sluice_parse_duration (const char *text,
                       gint64     *out_usec,
                       GError    **error)
{
  const char *p;
  gint64 total = 0;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_str_equal (text, "0"))
    {
      if (out_usec != NULL)
        *out_usec = 0;
      return TRUE;
    }

  if (*text == '\0')
    return duration_error (text, error);

  p = text;
  while (*p != '\0')
    {
      guint64 whole = 0;
      double fraction = 0;
      gboolean have_digits = FALSE;
      const char *unit_start;
      gsize unit_len;
      const DurationUnit *unit = NULL;
      gint64 part;

      while (g_ascii_isdigit (*p))
        {
          guint digit = (guint) (*p - '0');

          if (whole > ((guint64) G_MAXINT64 - digit) / 10)
            return duration_overflow (text, error);
          whole = whole * 10 + digit;
          have_digits = TRUE;
          p++;
        }

      if (*p == '.')
        {
          double scale = 0.1;
          gboolean have_fraction = FALSE;

          p++;
          while (g_ascii_isdigit (*p))
            {
              fraction += (*p - '0') * scale;
              scale /= 10;
              have_fraction = TRUE;
              p++;
            }
          /* "1." and ".5" are typos rather than durations */
          if (!have_fraction || !have_digits)
            return duration_error (text, error);
        }

      if (!have_digits)
        return duration_error (text, error);

      unit_start = p;
      while (g_ascii_isalpha (*p))
        p++;
      unit_len = (gsize) (p - unit_start);

      for (gsize i = 0; i < G_N_ELEMENTS (duration_units); i++)
        {
          if (strlen (duration_units[i].suffix) == unit_len &&
              strncmp (duration_units[i].suffix, unit_start, unit_len) == 0)
            {
              unit = &duration_units[i];
              break;
            }
        }
      if (unit == NULL)
        return duration_error (text, error);

      if (whole > (guint64) (G_MAXINT64 / unit->usec))
        return duration_overflow (text, error);
      part = (gint64) whole * unit->usec;

      if (fraction > 0)
        {
          gint64 extra = (gint64) (fraction * (double) unit->usec + 0.5);

          if (part > G_MAXINT64 - extra)
            return duration_overflow (text, error);
          part += extra;
        }

      if (total > G_MAXINT64 - part)
        return duration_overflow (text, error);
      total += part;
    }

  if (out_usec != NULL)
    *out_usec = total;
  return TRUE;
}

/**
 * sluice_format_duration:
 * @usec: a duration in microseconds
 *
 * Formats a duration compactly, the way sluice_parse_duration() reads it:
 * "1h30m", "250ms", "1d2h", "0".
 *
 * Returns: (transfer full): the duration as text
 */
char *
sluice_format_duration (gint64 usec)
{
  static const DurationUnit units[] = {
    { "d", G_TIME_SPAN_DAY },
    { "h", G_TIME_SPAN_HOUR },
    { "m", G_TIME_SPAN_MINUTE },
    { "s", G_TIME_SPAN_SECOND },
    { "ms", G_TIME_SPAN_MILLISECOND },
    { "us", 1 },
  };
  GString *out;
  guint64 rest;

  if (usec == 0)
    return g_strdup ("0");

  out = g_string_new (NULL);
  if (usec < 0)
    {
      g_string_append_c (out, '-');
      /* two's complement: also right for G_MININT64 */
      rest = (guint64) 0 - (guint64) usec;
    }
  else
    {
      rest = (guint64) usec;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (units); i++)
    {
      guint64 n = rest / (guint64) units[i].usec;

      if (n == 0)
        continue;
      g_string_append_printf (out, "%" G_GUINT64_FORMAT "%s", n, units[i].suffix);
      rest -= n * (guint64) units[i].usec;
    }

  return g_string_free (out, FALSE);
}
