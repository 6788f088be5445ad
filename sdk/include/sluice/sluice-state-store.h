/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(SLUICE_INSIDE) && !defined(SLUICE_COMPILATION)
#error "Only <sluice/sluice.h> can be included directly."
#endif

#include <gio/gio.h>
#include <sluice/sluice-version.h>

G_BEGIN_DECLS

#define SLUICE_TYPE_STATE_STORE (sluice_state_store_get_type ())
SLUICE_API G_DECLARE_INTERFACE (SluiceStateStore, sluice_state_store, SLUICE, STATE_STORE, GObject)

/**
 * SluiceStateStoreInterface:
 * @g_iface: the parent interface
 * @get_async: read a key
 * @get_finish: the value, or %NULL with no error when the key is absent
 * @set_async: write a key, with a time to live in microseconds (0: none)
 * @set_finish: finishes @set_async
 * @add_if_absent_async: write a key only when it does not exist yet (for
 *   seen-sets and idempotency keys)
 * @add_if_absent_finish: sets *out_added to whether the key was written
 * @delete_async: remove a key
 * @delete_finish: sets *out_deleted to whether the key existed
 * @lock_async: take a named lock for @owner with a lease; taking a lock
 *   already held by the same owner extends its lease
 * @lock_finish: sets *out_acquired
 * @unlock_async: release a lock if @owner holds it
 * @unlock_finish: finishes @unlock_async
 * @increment_async: add @delta to a counter (created at 0), with a time to
 *   live set when the counter is created
 * @increment_finish: sets *out_value to the new value
 * @take_tokens_async: take @count tokens from a token bucket that refills
 *   at @rate tokens per second up to @burst
 * @take_tokens_finish: sets *out_wait_usec to 0 when the tokens were taken,
 *   otherwise to how long to wait before they could be
 *
 * Small shared state for components: what a connector has seen, locks,
 * counters and rate limits. Core ships an in-memory store for one host;
 * the Redis plugin shares one between hosts. Every operation is atomic.
 */
struct _SluiceStateStoreInterface
{
  GTypeInterface g_iface;

  void     (*get_async)            (SluiceStateStore   *self,
                                    const char         *key,
                                    GCancellable       *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data);
  GBytes  *(*get_finish)           (SluiceStateStore *self,
                                    GAsyncResult     *result,
                                    GError          **error);
  void     (*set_async)            (SluiceStateStore   *self,
                                    const char         *key,
                                    GBytes             *value,
                                    gint64              ttl_usec,
                                    GCancellable       *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data);
  gboolean (*set_finish)           (SluiceStateStore *self,
                                    GAsyncResult     *result,
                                    GError          **error);
  void     (*add_if_absent_async)  (SluiceStateStore   *self,
                                    const char         *key,
                                    GBytes             *value,
                                    gint64              ttl_usec,
                                    GCancellable       *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data);
  gboolean (*add_if_absent_finish) (SluiceStateStore *self,
                                    GAsyncResult     *result,
                                    gboolean         *out_added,
                                    GError          **error);
  void     (*delete_async)         (SluiceStateStore   *self,
                                    const char         *key,
                                    GCancellable       *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data);
  gboolean (*delete_finish)        (SluiceStateStore *self,
                                    GAsyncResult     *result,
                                    gboolean         *out_deleted,
                                    GError          **error);
  void     (*lock_async)           (SluiceStateStore   *self,
                                    const char         *name,
                                    const char         *owner,
                                    gint64              lease_usec,
                                    GCancellable       *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data);
  gboolean (*lock_finish)          (SluiceStateStore *self,
                                    GAsyncResult     *result,
                                    gboolean         *out_acquired,
                                    GError          **error);
  void     (*unlock_async)         (SluiceStateStore   *self,
                                    const char         *name,
                                    const char         *owner,
                                    GCancellable       *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data);
  gboolean (*unlock_finish)        (SluiceStateStore *self,
                                    GAsyncResult     *result,
                                    GError          **error);
  void     (*increment_async)      (SluiceStateStore   *self,
                                    const char         *key,
                                    gint64              delta,
                                    gint64              ttl_usec,
                                    GCancellable       *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data);
  gboolean (*increment_finish)     (SluiceStateStore *self,
                                    GAsyncResult     *result,
                                    gint64           *out_value,
                                    GError          **error);
  void     (*take_tokens_async)    (SluiceStateStore   *self,
                                    const char         *bucket,
                                    double              rate,
                                    guint               burst,
                                    guint               count,
                                    GCancellable       *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data);
  gboolean (*take_tokens_finish)   (SluiceStateStore *self,
                                    GAsyncResult     *result,
                                    gint64           *out_wait_usec,
                                    GError          **error);

  /*< private >*/
  gpointer padding[12];
};

SLUICE_API void sluice_state_store_get_async (SluiceStateStore *self, const char *key,
                                              GCancellable *cancellable,
                                              GAsyncReadyCallback callback, gpointer user_data);
SLUICE_API GBytes *sluice_state_store_get_finish (SluiceStateStore *self, GAsyncResult *result,
                                                  GError **error);
SLUICE_API void sluice_state_store_set_async (SluiceStateStore *self, const char *key,
                                              GBytes *value, gint64 ttl_usec,
                                              GCancellable *cancellable,
                                              GAsyncReadyCallback callback, gpointer user_data);
SLUICE_API gboolean sluice_state_store_set_finish (SluiceStateStore *self, GAsyncResult *result,
                                                   GError **error);
SLUICE_API void sluice_state_store_add_if_absent_async (SluiceStateStore *self, const char *key,
                                                        GBytes *value, gint64 ttl_usec,
                                                        GCancellable *cancellable,
                                                        GAsyncReadyCallback callback,
                                                        gpointer user_data);
SLUICE_API gboolean sluice_state_store_add_if_absent_finish (SluiceStateStore *self,
                                                             GAsyncResult *result,
                                                             gboolean *out_added,
                                                             GError **error);
SLUICE_API void sluice_state_store_delete_async (SluiceStateStore *self, const char *key,
                                                 GCancellable *cancellable,
                                                 GAsyncReadyCallback callback, gpointer user_data);
SLUICE_API gboolean sluice_state_store_delete_finish (SluiceStateStore *self, GAsyncResult *result,
                                                      gboolean *out_deleted, GError **error);
SLUICE_API void sluice_state_store_lock_async (SluiceStateStore *self, const char *name,
                                               const char *owner, gint64 lease_usec,
                                               GCancellable *cancellable,
                                               GAsyncReadyCallback callback, gpointer user_data);
SLUICE_API gboolean sluice_state_store_lock_finish (SluiceStateStore *self, GAsyncResult *result,
                                                    gboolean *out_acquired, GError **error);
SLUICE_API void sluice_state_store_unlock_async (SluiceStateStore *self, const char *name,
                                                 const char *owner, GCancellable *cancellable,
                                                 GAsyncReadyCallback callback, gpointer user_data);
SLUICE_API gboolean sluice_state_store_unlock_finish (SluiceStateStore *self, GAsyncResult *result,
                                                      GError **error);
SLUICE_API void sluice_state_store_increment_async (SluiceStateStore *self, const char *key,
                                                    gint64 delta, gint64 ttl_usec,
                                                    GCancellable *cancellable,
                                                    GAsyncReadyCallback callback,
                                                    gpointer user_data);
SLUICE_API gboolean sluice_state_store_increment_finish (SluiceStateStore *self,
                                                         GAsyncResult *result,
                                                         gint64 *out_value, GError **error);
SLUICE_API void sluice_state_store_take_tokens_async (SluiceStateStore *self, const char *bucket,
                                                      double rate, guint burst, guint count,
                                                      GCancellable *cancellable,
                                                      GAsyncReadyCallback callback,
                                                      gpointer user_data);
SLUICE_API gboolean sluice_state_store_take_tokens_finish (SluiceStateStore *self,
                                                           GAsyncResult *result,
                                                           gint64 *out_wait_usec,
                                                           GError **error);

G_END_DECLS
