/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(SLUICE_INSIDE) && !defined(SLUICE_COMPILATION)
#error "Only <sluice/sluice.h> can be included directly."
#endif

#include <glib-object.h>
#include <sluice/sluice-version.h>

G_BEGIN_DECLS

#define SLUICE_TYPE_CLOCK (sluice_clock_get_type ())
SLUICE_API G_DECLARE_FINAL_TYPE (SluiceClock, sluice_clock, SLUICE, CLOCK, GObject)

/**
 * SluiceClockFunc:
 * @user_data: the data given to sluice_clock_add_timeout()
 *
 * Called once when a timeout of a #SluiceClock expires.
 */
typedef void (*SluiceClockFunc) (gpointer user_data);

SLUICE_API SluiceClock *sluice_clock_new_system (void);
SLUICE_API SluiceClock *sluice_clock_new_manual (gint64 start_real_usec);

SLUICE_API gboolean sluice_clock_is_manual (SluiceClock *self);
SLUICE_API gint64 sluice_clock_get_real_time (SluiceClock *self);
SLUICE_API gint64 sluice_clock_get_monotonic_time (SluiceClock *self);

SLUICE_API guint sluice_clock_add_timeout (SluiceClock    *self,
                                           gint64          delay_usec,
                                           SluiceClockFunc func,
                                           gpointer        user_data,
                                           GDestroyNotify  destroy);
SLUICE_API void sluice_clock_cancel_timeout (SluiceClock *self,
                                             guint        id);
SLUICE_API void sluice_clock_advance (SluiceClock *self,
                                      gint64       usec);
SLUICE_API gint64 sluice_clock_get_next_deadline (SluiceClock *self);

G_END_DECLS
