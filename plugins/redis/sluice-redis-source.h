/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <hiredis/async.h>

G_BEGIN_DECLS

/* Called once, when hiredis lets go of the context (it is being freed):
 * after every pending reply callback ran, before the context memory goes. */
typedef void (*SluiceRedisSourceLostFunc) (gpointer user_data);

/* Drives a hiredis async context from a GMainContext, like hiredis's
 * adapters/glib.h (same hooks, same poll-based source), with three
 * differences that matter here:
 * - dispatch stops using the context once hiredis freed it (the adapter
 *   reads after a failed write on a freed context);
 * - the source removes and destroys itself when hiredis lets go of the
 *   context, and tells its owner (@lost), so the owner can reconnect;
 * - no wakeup of the main context from its own thread on every command.
 *
 * Attaches to @context and returns a borrowed pointer: the source lives
 * until hiredis frees @ac. */
GSource *sluice_redis_source_attach (redisAsyncContext        *ac,
                                     GMainContext             *context,
                                     SluiceRedisSourceLostFunc lost,
                                     gpointer                  user_data);

/* Forget the owner: @lost will not be called. */
void sluice_redis_source_disown (GSource *source);

G_END_DECLS
