/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

#include "sluice-component-private.h"

/**
 * SECTION:sluice-state-store
 * @title: SluiceStateStore
 *
 * Small shared state for components. Core ships an in-memory store for
 * one host; the Redis plugin shares one between hosts. The wrappers below
 * check arguments and accept %NULL for any out parameter.
 */

G_DEFINE_INTERFACE (SluiceStateStore, sluice_state_store, G_TYPE_OBJECT)

static void
sluice_state_store_default_init (SluiceStateStoreInterface *iface)
{
}

/**
 * sluice_state_store_get_async:
 * @self: a #SluiceStateStore
 * @key: the key
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Reads a key.
 */
void
sluice_state_store_get_async (SluiceStateStore    *self,
                              const char          *key,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  SluiceStateStoreInterface *iface;

  g_return_if_fail (SLUICE_IS_STATE_STORE (self));
  g_return_if_fail (key != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_STATE_STORE_GET_IFACE (self);
  if (iface->get_async == NULL || iface->get_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceStateStore.get_async()",
                      callback, user_data, sluice_state_store_get_async);
      return;
    }

  iface->get_async (self, key, cancellable, callback, user_data);
}

/**
 * sluice_state_store_get_finish:
 * @self: a #SluiceStateStore
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the value, or %NULL without an
 *   error when the key is absent, or %NULL with @error set
 */
GBytes *
sluice_state_store_get_finish (SluiceStateStore  *self,
                               GAsyncResult      *result,
                               GError           **error)
{
  g_return_val_if_fail (SLUICE_IS_STATE_STORE (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_async_result_is_tagged (result, sluice_state_store_get_async))
    return g_task_propagate_pointer (G_TASK (result), error);

  return SLUICE_STATE_STORE_GET_IFACE (self)->get_finish (self, result, error);
}

/**
 * sluice_state_store_set_async:
 * @self: a #SluiceStateStore
 * @key: the key
 * @value: the value
 * @ttl_usec: time to live in microseconds, 0 for none
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Writes a key.
 */
void
sluice_state_store_set_async (SluiceStateStore    *self,
                              const char          *key,
                              GBytes              *value,
                              gint64               ttl_usec,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  SluiceStateStoreInterface *iface;

  g_return_if_fail (SLUICE_IS_STATE_STORE (self));
  g_return_if_fail (key != NULL);
  g_return_if_fail (value != NULL);
  g_return_if_fail (ttl_usec >= 0);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_STATE_STORE_GET_IFACE (self);
  if (iface->set_async == NULL || iface->set_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceStateStore.set_async()",
                      callback, user_data, sluice_state_store_set_async);
      return;
    }

  iface->set_async (self, key, value, ttl_usec, cancellable, callback, user_data);
}

/**
 * sluice_state_store_set_finish:
 * @self: a #SluiceStateStore
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
sluice_state_store_set_finish (SluiceStateStore  *self,
                               GAsyncResult      *result,
                               GError           **error)
{
  g_return_val_if_fail (SLUICE_IS_STATE_STORE (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_async_result_is_tagged (result, sluice_state_store_set_async))
    return g_task_propagate_boolean (G_TASK (result), error);

  return SLUICE_STATE_STORE_GET_IFACE (self)->set_finish (self, result, error);
}

/**
 * sluice_state_store_add_if_absent_async:
 * @self: a #SluiceStateStore
 * @key: the key
 * @value: the value
 * @ttl_usec: time to live in microseconds, 0 for none
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Writes a key only if it does not exist yet, atomically: the building
 * block of seen-sets and idempotency keys.
 */
void
sluice_state_store_add_if_absent_async (SluiceStateStore    *self,
                                        const char          *key,
                                        GBytes              *value,
                                        gint64               ttl_usec,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data)
{
  SluiceStateStoreInterface *iface;

  g_return_if_fail (SLUICE_IS_STATE_STORE (self));
  g_return_if_fail (key != NULL);
  g_return_if_fail (value != NULL);
  g_return_if_fail (ttl_usec >= 0);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_STATE_STORE_GET_IFACE (self);
  if (iface->add_if_absent_async == NULL || iface->add_if_absent_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceStateStore.add_if_absent_async()",
                      callback, user_data, sluice_state_store_add_if_absent_async);
      return;
    }

  iface->add_if_absent_async (self, key, value, ttl_usec, cancellable, callback, user_data);
}

/**
 * sluice_state_store_add_if_absent_finish:
 * @self: a #SluiceStateStore
 * @result: the #GAsyncResult given to the callback
 * @out_added: (out) (optional): whether the key was written
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
sluice_state_store_add_if_absent_finish (SluiceStateStore  *self,
                                         GAsyncResult      *result,
                                         gboolean          *out_added,
                                         GError           **error)
{
  gboolean value = FALSE;
  gboolean ok;

  g_return_val_if_fail (SLUICE_IS_STATE_STORE (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_async_result_is_tagged (result, sluice_state_store_add_if_absent_async))
    ok = g_task_propagate_boolean (G_TASK (result), error);
  else
    ok = SLUICE_STATE_STORE_GET_IFACE (self)->add_if_absent_finish (self, result, &value, error);

  if (out_added != NULL)
    *out_added = ok ? value : FALSE;
  return ok;
}

/**
 * sluice_state_store_delete_async:
 * @self: a #SluiceStateStore
 * @key: the key
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Removes a key.
 */
void
sluice_state_store_delete_async (SluiceStateStore    *self,
                                 const char          *key,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  SluiceStateStoreInterface *iface;

  g_return_if_fail (SLUICE_IS_STATE_STORE (self));
  g_return_if_fail (key != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_STATE_STORE_GET_IFACE (self);
  if (iface->delete_async == NULL || iface->delete_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceStateStore.delete_async()",
                      callback, user_data, sluice_state_store_delete_async);
      return;
    }

  iface->delete_async (self, key, cancellable, callback, user_data);
}

/**
 * sluice_state_store_delete_finish:
 * @self: a #SluiceStateStore
 * @result: the #GAsyncResult given to the callback
 * @out_deleted: (out) (optional): whether the key existed
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
sluice_state_store_delete_finish (SluiceStateStore  *self,
                                  GAsyncResult      *result,
                                  gboolean          *out_deleted,
                                  GError           **error)
{
  gboolean value = FALSE;
  gboolean ok;

  g_return_val_if_fail (SLUICE_IS_STATE_STORE (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_async_result_is_tagged (result, sluice_state_store_delete_async))
    ok = g_task_propagate_boolean (G_TASK (result), error);
  else
    ok = SLUICE_STATE_STORE_GET_IFACE (self)->delete_finish (self, result, &value, error);

  if (out_deleted != NULL)
    *out_deleted = ok ? value : FALSE;
  return ok;
}

/**
 * sluice_state_store_lock_async:
 * @self: a #SluiceStateStore
 * @name: the lock
 * @owner: who takes it
 * @lease_usec: how long the lock is held unless renewed, in microseconds
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Takes a named lock for @owner with a lease; taking a lock the same owner
 * holds extends its lease.
 */
void
sluice_state_store_lock_async (SluiceStateStore    *self,
                               const char          *name,
                               const char          *owner,
                               gint64               lease_usec,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  SluiceStateStoreInterface *iface;

  g_return_if_fail (SLUICE_IS_STATE_STORE (self));
  g_return_if_fail (name != NULL);
  g_return_if_fail (owner != NULL);
  g_return_if_fail (lease_usec > 0);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_STATE_STORE_GET_IFACE (self);
  if (iface->lock_async == NULL || iface->lock_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceStateStore.lock_async()",
                      callback, user_data, sluice_state_store_lock_async);
      return;
    }

  iface->lock_async (self, name, owner, lease_usec, cancellable, callback, user_data);
}

/**
 * sluice_state_store_lock_finish:
 * @self: a #SluiceStateStore
 * @result: the #GAsyncResult given to the callback
 * @out_acquired: (out) (optional): whether @owner holds the lock now
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success (whether or not the lock was acquired)
 */
gboolean
sluice_state_store_lock_finish (SluiceStateStore  *self,
                                GAsyncResult      *result,
                                gboolean          *out_acquired,
                                GError           **error)
{
  gboolean value = FALSE;
  gboolean ok;

  g_return_val_if_fail (SLUICE_IS_STATE_STORE (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_async_result_is_tagged (result, sluice_state_store_lock_async))
    ok = g_task_propagate_boolean (G_TASK (result), error);
  else
    ok = SLUICE_STATE_STORE_GET_IFACE (self)->lock_finish (self, result, &value, error);

  if (out_acquired != NULL)
    *out_acquired = ok ? value : FALSE;
  return ok;
}

/**
 * sluice_state_store_unlock_async:
 * @self: a #SluiceStateStore
 * @name: the lock
 * @owner: who holds it
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Releases a lock if @owner holds it.
 */
void
sluice_state_store_unlock_async (SluiceStateStore    *self,
                                 const char          *name,
                                 const char          *owner,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  SluiceStateStoreInterface *iface;

  g_return_if_fail (SLUICE_IS_STATE_STORE (self));
  g_return_if_fail (name != NULL);
  g_return_if_fail (owner != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_STATE_STORE_GET_IFACE (self);
  if (iface->unlock_async == NULL || iface->unlock_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceStateStore.unlock_async()",
                      callback, user_data, sluice_state_store_unlock_async);
      return;
    }

  iface->unlock_async (self, name, owner, cancellable, callback, user_data);
}

/**
 * sluice_state_store_unlock_finish:
 * @self: a #SluiceStateStore
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
sluice_state_store_unlock_finish (SluiceStateStore  *self,
                                  GAsyncResult      *result,
                                  GError           **error)
{
  g_return_val_if_fail (SLUICE_IS_STATE_STORE (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_async_result_is_tagged (result, sluice_state_store_unlock_async))
    return g_task_propagate_boolean (G_TASK (result), error);

  return SLUICE_STATE_STORE_GET_IFACE (self)->unlock_finish (self, result, error);
}

/**
 * sluice_state_store_increment_async:
 * @self: a #SluiceStateStore
 * @key: the counter
 * @delta: what to add
 * @ttl_usec: time to live set when the counter is created, 0 for none
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Adds @delta to a counter, created at 0.
 */
void
sluice_state_store_increment_async (SluiceStateStore    *self,
                                    const char          *key,
                                    gint64               delta,
                                    gint64               ttl_usec,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  SluiceStateStoreInterface *iface;

  g_return_if_fail (SLUICE_IS_STATE_STORE (self));
  g_return_if_fail (key != NULL);
  g_return_if_fail (ttl_usec >= 0);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_STATE_STORE_GET_IFACE (self);
  if (iface->increment_async == NULL || iface->increment_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceStateStore.increment_async()",
                      callback, user_data, sluice_state_store_increment_async);
      return;
    }

  iface->increment_async (self, key, delta, ttl_usec, cancellable, callback, user_data);
}

/**
 * sluice_state_store_increment_finish:
 * @self: a #SluiceStateStore
 * @result: the #GAsyncResult given to the callback
 * @out_value: (out) (optional): the new value
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
sluice_state_store_increment_finish (SluiceStateStore  *self,
                                     GAsyncResult      *result,
                                     gint64            *out_value,
                                     GError           **error)
{
  gint64 value = 0;
  gboolean ok;

  g_return_val_if_fail (SLUICE_IS_STATE_STORE (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_async_result_is_tagged (result, sluice_state_store_increment_async))
    ok = g_task_propagate_boolean (G_TASK (result), error);
  else
    ok = SLUICE_STATE_STORE_GET_IFACE (self)->increment_finish (self, result, &value, error);

  if (out_value != NULL)
    *out_value = ok ? value : 0;
  return ok;
}

/**
 * sluice_state_store_take_tokens_async:
 * @self: a #SluiceStateStore
 * @bucket: the token bucket
 * @rate: tokens added per second
 * @burst: the most tokens the bucket holds
 * @count: how many tokens to take
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Takes tokens from a token bucket shared by everyone using the store: a
 * rate limit across hosts.
 */
void
sluice_state_store_take_tokens_async (SluiceStateStore    *self,
                                      const char          *bucket,
                                      double               rate,
                                      guint                burst,
                                      guint                count,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  SluiceStateStoreInterface *iface;

  g_return_if_fail (SLUICE_IS_STATE_STORE (self));
  g_return_if_fail (bucket != NULL);
  g_return_if_fail (rate > 0);
  g_return_if_fail (burst > 0);
  g_return_if_fail (count <= burst);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_STATE_STORE_GET_IFACE (self);
  if (iface->take_tokens_async == NULL || iface->take_tokens_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceStateStore.take_tokens_async()",
                      callback, user_data, sluice_state_store_take_tokens_async);
      return;
    }

  iface->take_tokens_async (self, bucket, rate, burst, count, cancellable, callback, user_data);
}

/**
 * sluice_state_store_take_tokens_finish:
 * @self: a #SluiceStateStore
 * @result: the #GAsyncResult given to the callback
 * @out_wait_usec: (out) (optional): 0 when the tokens were taken,
 *   otherwise how long to wait before they could be
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
sluice_state_store_take_tokens_finish (SluiceStateStore  *self,
                                       GAsyncResult      *result,
                                       gint64            *out_wait_usec,
                                       GError           **error)
{
  gint64 value = 0;
  gboolean ok;

  g_return_val_if_fail (SLUICE_IS_STATE_STORE (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_async_result_is_tagged (result, sluice_state_store_take_tokens_async))
    ok = g_task_propagate_boolean (G_TASK (result), error);
  else
    ok = SLUICE_STATE_STORE_GET_IFACE (self)->take_tokens_finish (self, result, &value, error);

  if (out_wait_usec != NULL)
    *out_wait_usec = ok ? value : 0;
  return ok;
}
