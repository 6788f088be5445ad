/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the cron parser of lib/cron on arbitrary bytes, and
 * the next-fire search on what parses. Every input either parses or fails
 * with an error naming the expression; fire times always move forward,
 * match no earlier instant, and fall in the years GDateTime can show. */
#include <string.h>

#include "sluice-cron.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static GTimeZone *zones[3];

/* Instants to search from: 1970, the Berlin spring-forward and fall-back
 * nights of 2026, and the far end of the calendar. */
static const gint64 starts[] = {
  G_GINT64_CONSTANT (0),
  G_GINT64_CONSTANT (1774742400000000),   /* 2026-03-29T00:00:00Z */
  G_GINT64_CONSTANT (1792882800000000),   /* 2026-10-25T00:00:00Z */
  G_GINT64_CONSTANT (253370764800000000), /* 9999-01-01T00:00:00Z */
};

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autofree char *text = NULL;
  g_autoptr(SluiceCron) cron = NULL;
  g_autoptr(GError) error = NULL;

  if (zones[0] == NULL)
    {
      zones[0] = g_time_zone_new_utc ();
      zones[1] = g_time_zone_new_identifier ("Europe/Berlin");
      zones[2] = g_time_zone_new_identifier ("America/New_York");
      g_assert_nonnull (zones[1]);
      g_assert_nonnull (zones[2]);
    }

  /* Expressions are short; longer inputs only slow the search down. */
  if (size > 512)
    return 0;
  text = g_strndup ((const char *) data, size);

  cron = sluice_cron_new (text, &error);
  if (cron == NULL)
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == SLUICE_CRON_ERROR);
      g_assert_true (g_str_has_prefix (error->message, "cron '"));
      return 0;
    }
  g_assert_no_error (error);

  for (gsize z = 0; z < G_N_ELEMENTS (zones); z++)
    for (gsize s = 0; s < G_N_ELEMENTS (starts); s++)
      {
        gint64 after = starts[s];

        for (int i = 0; i < 4; i++)
          {
            gint64 next = sluice_cron_next (cron, zones[z], after);
            g_autofree char *shown = NULL;

            if (next < 0)
              break;
            g_assert_cmpint (next, >, after);
            g_assert_cmpint (next % G_USEC_PER_SEC, ==, 0);
            /* nothing fires in between: searching from just before
             * finds the same time */
            g_assert_cmpint (sluice_cron_next (cron, zones[z], next - 1), ==, next);
            shown = sluice_cron_format_time (next, zones[z]);
            g_assert_false (g_str_has_prefix (shown, "@"));
            after = next;
          }
      }
  return 0;
}
