/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* A component of a plugin loaded through the real plugin host (once per
 * process), made from a JSON configuration; NULL with @error set when the
 * component refuses it. */
SluiceComponentFactory *schedule_test_lookup (const char *component);
GObject *schedule_test_create (const char    *component,
                               SluiceContext *context,
                               const char    *config_json,
                               GError       **error);

/* Runs the main context until nothing is ready: the memory state store's
 * results and the triggers' deferred work arrive. */
void schedule_test_spin (void);

/* Runs the main context for @ms of real time (a Redis server answers). */
void schedule_test_spin_for (guint ms);

/* Moves a manual clock forward by @usec, stopping at every due timeout
 * and letting the main context run there, as time passes on a host. */
void schedule_test_advance (SluiceClock *clock,
                            gint64       usec);

/* Reads an ISO 8601 time (2026-01-01T00:00:00Z) as microseconds. */
gint64 schedule_test_time (const char *iso);

/* The events a trigger emitted, in order, each with the clock's real
 * time at emission. With @auto_ack, each is acknowledged at once. */
typedef struct {
  SluiceClock *clock;
  GPtrArray   *events;     /* SluiceEvent */
  GArray      *emitted_at; /* gint64 */
  gboolean     auto_ack;
  guint        acked;
} ScheduleTestRecorder;

ScheduleTestRecorder *schedule_test_recorder_new (SluiceClock *clock,
                                                  gboolean     auto_ack);
void schedule_test_recorder_free (ScheduleTestRecorder *recorder);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScheduleTestRecorder, schedule_test_recorder_free)
void schedule_test_recorder_watch (ScheduleTestRecorder *recorder,
                                   GObject              *trigger);

/* Acknowledges the @index-th recorded event and waits for it. */
void schedule_test_ack (ScheduleTestRecorder *recorder,
                        guint                 index);

/* The members of the @index-th event's JSON body. */
char *schedule_test_scheduled (ScheduleTestRecorder *recorder,
                               guint                 index);
char *schedule_test_fired (ScheduleTestRecorder *recorder,
                           guint                 index);
gint64 schedule_test_missed (ScheduleTestRecorder *recorder,
                             guint                 index);

/* Every event's "scheduled", joined with spaces, so that a test compares
 * the whole sequence at once. */
char *schedule_test_scheduled_list (ScheduleTestRecorder *recorder);

G_END_DECLS
