/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A redis-server child owned by sluiced: a private unix socket under its
 * state folder (no TCP port), AOF persistence on, stopped with sluiced. */
#define SLUICE_TYPE_MANAGED_REDIS (sluice_managed_redis_get_type ())
G_DECLARE_FINAL_TYPE (SluiceManagedRedis, sluice_managed_redis, SLUICE, MANAGED_REDIS, GObject)

/* The socket a managed Redis under @state_dir listens on. */
char *sluice_managed_redis_socket_path (const char *state_dir);

/* Whether a managed Redis (of another sluiced) already answers under
 * @state_dir. A local unix-socket connect: fine at start-up. */
gboolean sluice_managed_redis_is_running (const char *state_dir);

/* Starts redis-server (found in PATH) with its files in @state_dir/redis
 * and waits until it answers. */
void sluice_managed_redis_start_async (const char         *state_dir,
                                       GCancellable       *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer            user_data);
SluiceManagedRedis *sluice_managed_redis_start_finish (GAsyncResult *result,
                                                       GError      **error);

/* "unix:///path/to/redis.sock" */
const char *sluice_managed_redis_get_url (SluiceManagedRedis *self);

/* Asks it to stop (SIGTERM: Redis flushes the AOF) and waits. */
void sluice_managed_redis_stop_async (SluiceManagedRedis *self,
                                      GCancellable       *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer            user_data);
gboolean sluice_managed_redis_stop_finish (SluiceManagedRedis *self,
                                           GAsyncResult       *result,
                                           GError            **error);

G_END_DECLS
