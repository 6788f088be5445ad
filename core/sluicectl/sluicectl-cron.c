/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-cron.h"
#include "sluicectl.h"

static char *opt_timezone;
static char *opt_from;
static int   opt_count = 5;

static const GOptionEntry next_entries[] = {
  { "timezone", 0, 0, G_OPTION_ARG_STRING, &opt_timezone,
    "The time zone (IANA name, UTC or local; default UTC)", "TZ" },
  { "from", 0, 0, G_OPTION_ARG_STRING, &opt_from,
    "Count from this ISO 8601 time instead of now", "TIME" },
  { "count", 0, 0, G_OPTION_ARG_INT, &opt_count, "How many (default 5)", "N" },
  { NULL }
};

/* Like `systemd-analyze calendar`: the next fire times, one per line, in
 * ISO 8601 with the zone's offset, computed by the same code as the
 * schedule.cron trigger. Local: no bus, no daemon. */
static int
cron_next (SluicectlContext *ctl, char **args)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SluiceCron) cron = NULL;
  g_autoptr (GTimeZone) tz = NULL;
  g_autoptr (JsonArray) array = json_array_new ();
  gint64 after = g_get_real_time ();

  if (opt_count < 1)
    return sluicectl_usage_error ("--count %d: expected at least 1", opt_count);

  cron = sluice_cron_new (args[0], &error);
  if (cron != NULL)
    tz = sluice_cron_time_zone_new (opt_timezone, &error);
  if (tz != NULL && opt_from != NULL)
    sluice_cron_parse_time (opt_from, tz, &after, &error);
  if (error != NULL)
    {
      g_printerr ("sluicectl: %s\n", error->message);
      return SLUICECTL_EXIT_INVALID_INPUT;
    }

  for (int i = 0; i < opt_count; i++)
    {
      g_autofree char *text = NULL;

      after = sluice_cron_next (cron, tz, after);
      if (after < 0)
        {
          if (i == 0)
            {
              g_printerr ("sluicectl: cron '%s' does not fire within %d years\n", args[0],
                          SLUICE_CRON_SEARCH_YEARS);
              return SLUICECTL_EXIT_FAILED;
            }
          break;
        }
      text = sluice_cron_format_time (after, tz);
      if (ctl->json)
        json_array_add_string_element (array, text);
      else
        g_print ("%s\n", text);
    }

  if (ctl->json)
    {
      g_autoptr (JsonNode) node = json_node_init_array (json_node_alloc (), array);

      sluicectl_print_json (node, FALSE);
    }
  return SLUICECTL_EXIT_OK;
}

const SluicectlCommand sluicectl_cron_commands[] = {
  { "cron", "next", "EXPR", "Print when the cron expression EXPR fires next (computed here, "
                            "no daemon needed)",
    next_entries, 1, 1, cron_next },
  { NULL }
};
