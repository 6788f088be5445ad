/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Cron expressions and the times around them, for the schedule plugin and
 * `sluiced --next-fires`. Only GLib: no SDK, core or plugin types, so that
 * both sides link the same code. */

#define SLUICE_CRON_ERROR (sluice_cron_error_quark ())

typedef enum {
  SLUICE_CRON_ERROR_SYNTAX,     /* not a cron expression */
  SLUICE_CRON_ERROR_RANGE,      /* a value outside its field's range */
  SLUICE_CRON_ERROR_NEVER,      /* well-formed, but no date ever matches */
  SLUICE_CRON_ERROR_TIME_ZONE,  /* an unknown time zone name */
  SLUICE_CRON_ERROR_TIME,       /* not an ISO 8601 date and time */
} SluiceCronError;

GQuark sluice_cron_error_quark (void);

/* How far ahead sluice_cron_next() looks before it gives up: far enough
 * for February 29th on a given weekday. */
#define SLUICE_CRON_SEARCH_YEARS 50

typedef struct _SluiceCron SluiceCron;

/* Parses 5 fields (minute hour day-of-month month day-of-week), 6 with a
 * leading seconds field, or a macro (@yearly, @annually, @monthly,
 * @weekly, @daily, @midnight, @hourly). Errors name the expression, the
 * field and the offending text. */
SluiceCron *sluice_cron_new (const char *expression,
                             GError    **error) G_GNUC_WARN_UNUSED_RESULT;
void sluice_cron_free (SluiceCron *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SluiceCron, sluice_cron_free)

const char *sluice_cron_get_expression (const SluiceCron *self);

/* The first instant strictly after @after_usec (microseconds since the
 * epoch) whose wall-clock time in @tz matches, in microseconds since the
 * epoch; -1 when none comes within SLUICE_CRON_SEARCH_YEARS or outside
 * years 1..9999.
 *
 * Daylight saving time: a wall time that does not exist that day (the
 * clocks spring forward over it) fires once, at the instant the gap ends
 * (02:30 in Europe/Berlin on 2026-03-29 fires at 03:00+02:00); several
 * such times collapse into that one firing. A wall time that happens
 * twice (the clocks fall back) fires at its first occurrence only. */
gint64 sluice_cron_next (const SluiceCron *self,
                         GTimeZone        *tz,
                         gint64            after_usec);

/* "UTC" (also NULL or ""), "local" for the host's zone, or an IANA name
 * such as "Europe/Berlin"; unknown names are refused. */
GTimeZone *sluice_cron_time_zone_new (const char *name,
                                      GError    **error) G_GNUC_WARN_UNUSED_RESULT;

/* ISO 8601 with the offset in @tz: "2026-03-29T03:00:00+02:00",
 * "2026-01-01T00:00:00Z", with ".ffffff" only when the time has a
 * fraction of a second. */
char *sluice_cron_format_time (gint64     usec,
                               GTimeZone *tz) G_GNUC_WARN_UNUSED_RESULT;

/* Reads an ISO 8601 date and time; one without an offset is taken in
 * @default_tz. */
gboolean sluice_cron_parse_time (const char *text,
                                 GTimeZone  *default_tz,
                                 gint64     *out_usec,
                                 GError    **error);

G_END_DECLS
