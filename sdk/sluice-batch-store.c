/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <sluice/sluice.h>

#include "sluice-component-private.h"

/**
 * SECTION:sluice-batch-store
 * @title: SluiceBatchStore
 *
 * Where batches and their records live, and the two boxed types that
 * travel through it: #SluiceBatchInfo and #SluiceRecordOutcome. The
 * wrappers below check arguments and accept %NULL for any out parameter.
 */

G_DEFINE_BOXED_TYPE (SluiceBatchInfo, sluice_batch_info,
                     sluice_batch_info_copy, sluice_batch_info_free)

G_DEFINE_BOXED_TYPE (SluiceRecordOutcome, sluice_record_outcome,
                     sluice_record_outcome_copy, sluice_record_outcome_free)

/**
 * sluice_batch_info_new:
 * @id: the batch id
 * @workflow: (nullable): the workflow that processes its records
 *
 * Creates an open, empty batch description; set the other fields
 * directly.
 *
 * Returns: (transfer full): a new #SluiceBatchInfo
 */
SluiceBatchInfo *
sluice_batch_info_new (const char *id,
                       const char *workflow)
{
  SluiceBatchInfo *self;

  g_return_val_if_fail (id != NULL, NULL);

  self = g_new0 (SluiceBatchInfo, 1);
  self->id = g_strdup (id);
  self->workflow = g_strdup (workflow);
  self->state = SLUICE_BATCH_OPEN;
  return self;
}

/**
 * sluice_batch_info_copy:
 * @self: a #SluiceBatchInfo
 *
 * Returns: (transfer full): a deep copy of @self
 */
SluiceBatchInfo *
sluice_batch_info_copy (const SluiceBatchInfo *self)
{
  SluiceBatchInfo *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = g_new0 (SluiceBatchInfo, 1);
  *copy = *self;
  copy->id = g_strdup (self->id);
  copy->workflow = g_strdup (self->workflow);
  memset (copy->reserved, 0, sizeof copy->reserved);
  return copy;
}

/**
 * sluice_batch_info_free:
 * @self: (nullable): a #SluiceBatchInfo
 *
 * Frees @self and its strings.
 */
void
sluice_batch_info_free (SluiceBatchInfo *self)
{
  if (self == NULL)
    return;
  g_free (self->id);
  g_free (self->workflow);
  g_free (self);
}

/**
 * sluice_record_outcome_new:
 * @record_id: the record's id, as the claim gave it
 * @succeeded: whether processing succeeded
 * @error: (nullable): why it failed
 *
 * Returns: (transfer full): a new #SluiceRecordOutcome
 */
SluiceRecordOutcome *
sluice_record_outcome_new (const char *record_id,
                           gboolean    succeeded,
                           const char *error)
{
  SluiceRecordOutcome *self;

  g_return_val_if_fail (record_id != NULL, NULL);

  self = g_new0 (SluiceRecordOutcome, 1);
  self->record_id = g_strdup (record_id);
  self->succeeded = succeeded ? TRUE : FALSE;
  self->error = g_strdup (error);
  return self;
}

/**
 * sluice_record_outcome_copy:
 * @self: a #SluiceRecordOutcome
 *
 * Returns: (transfer full): a deep copy of @self
 */
SluiceRecordOutcome *
sluice_record_outcome_copy (const SluiceRecordOutcome *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return sluice_record_outcome_new (self->record_id, self->succeeded, self->error);
}

/**
 * sluice_record_outcome_free:
 * @self: (nullable): a #SluiceRecordOutcome
 *
 * Frees @self and its strings.
 */
void
sluice_record_outcome_free (SluiceRecordOutcome *self)
{
  if (self == NULL)
    return;
  g_free (self->record_id);
  g_free (self->error);
  g_free (self);
}

G_DEFINE_INTERFACE (SluiceBatchStore, sluice_batch_store, G_TYPE_OBJECT)

static void
sluice_batch_store_default_init (SluiceBatchStoreInterface *iface)
{
}

/**
 * sluice_batch_store_create_async:
 * @self: a #SluiceBatchStore
 * @info: the batch to create: id, workflow, chunk size, expiry, max failed
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Creates a batch. Fails with %SLUICE_ERROR_INVALID_STATE when the id
 * exists.
 */
void
sluice_batch_store_create_async (SluiceBatchStore      *self,
                                 const SluiceBatchInfo *info,
                                 GCancellable          *cancellable,
                                 GAsyncReadyCallback    callback,
                                 gpointer               user_data)
{
  SluiceBatchStoreInterface *iface;

  g_return_if_fail (SLUICE_IS_BATCH_STORE (self));
  g_return_if_fail (info != NULL && info->id != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_BATCH_STORE_GET_IFACE (self);
  if (iface->create_async == NULL || iface->create_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceBatchStore.create_async()",
                      callback, user_data, sluice_batch_store_create_async);
      return;
    }

  iface->create_async (self, info, cancellable, callback, user_data);
}

/**
 * sluice_batch_store_create_finish:
 * @self: a #SluiceBatchStore
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
sluice_batch_store_create_finish (SluiceBatchStore  *self,
                                  GAsyncResult      *result,
                                  GError           **error)
{
  g_return_val_if_fail (SLUICE_IS_BATCH_STORE (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_async_result_is_tagged (result, sluice_batch_store_create_async))
    return g_task_propagate_boolean (G_TASK (result), error);

  return SLUICE_BATCH_STORE_GET_IFACE (self)->create_finish (self, result, error);
}

/**
 * sluice_batch_store_add_async:
 * @self: a #SluiceBatchStore
 * @batch_id: the batch
 * @records: (element-type SluiceMessage): the records
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Appends records to an open batch, as pending. The store assigns their
 * ids.
 */
void
sluice_batch_store_add_async (SluiceBatchStore    *self,
                              const char          *batch_id,
                              GPtrArray           *records,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  SluiceBatchStoreInterface *iface;

  g_return_if_fail (SLUICE_IS_BATCH_STORE (self));
  g_return_if_fail (batch_id != NULL);
  g_return_if_fail (records != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_BATCH_STORE_GET_IFACE (self);
  if (iface->add_async == NULL || iface->add_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceBatchStore.add_async()",
                      callback, user_data, sluice_batch_store_add_async);
      return;
    }

  iface->add_async (self, batch_id, records, cancellable, callback, user_data);
}

/**
 * sluice_batch_store_add_finish:
 * @self: a #SluiceBatchStore
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
sluice_batch_store_add_finish (SluiceBatchStore  *self,
                               GAsyncResult      *result,
                               GError           **error)
{
  g_return_val_if_fail (SLUICE_IS_BATCH_STORE (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_async_result_is_tagged (result, sluice_batch_store_add_async))
    return g_task_propagate_boolean (G_TASK (result), error);

  return SLUICE_BATCH_STORE_GET_IFACE (self)->add_finish (self, result, error);
}

/**
 * sluice_batch_store_claim_async:
 * @self: a #SluiceBatchStore
 * @batch_id: the batch
 * @worker: who claims
 * @max: the most records to claim
 * @lease_usec: how long the worker may hold them, in microseconds
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Moves up to @max pending records, or records whose lease ran out, to
 * processing for @worker.
 */
void
sluice_batch_store_claim_async (SluiceBatchStore    *self,
                                const char          *batch_id,
                                const char          *worker,
                                guint                max,
                                gint64               lease_usec,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  SluiceBatchStoreInterface *iface;

  g_return_if_fail (SLUICE_IS_BATCH_STORE (self));
  g_return_if_fail (batch_id != NULL);
  g_return_if_fail (worker != NULL);
  g_return_if_fail (max > 0);
  g_return_if_fail (lease_usec > 0);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_BATCH_STORE_GET_IFACE (self);
  if (iface->claim_async == NULL || iface->claim_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceBatchStore.claim_async()",
                      callback, user_data, sluice_batch_store_claim_async);
      return;
    }

  iface->claim_async (self, batch_id, worker, max, lease_usec, cancellable, callback, user_data);
}

/**
 * sluice_batch_store_claim_finish:
 * @self: a #SluiceBatchStore
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type SluiceMessage): the claimed
 *   records (id = record id, attempt = how many times it was claimed), empty
 *   when nothing is pending; %NULL with @error set on failure
 */
GPtrArray *
sluice_batch_store_claim_finish (SluiceBatchStore  *self,
                                 GAsyncResult      *result,
                                 GError           **error)
{
  g_return_val_if_fail (SLUICE_IS_BATCH_STORE (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_async_result_is_tagged (result, sluice_batch_store_claim_async))
    return g_task_propagate_pointer (G_TASK (result), error);

  return SLUICE_BATCH_STORE_GET_IFACE (self)->claim_finish (self, result, error);
}

/**
 * sluice_batch_store_settle_async:
 * @self: a #SluiceBatchStore
 * @batch_id: the batch
 * @worker: who claimed the records
 * @outcomes: (element-type SluiceRecordOutcome): how processing ended for each record
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Records the outcomes of claimed records in one call.
 */
void
sluice_batch_store_settle_async (SluiceBatchStore    *self,
                                 const char          *batch_id,
                                 const char          *worker,
                                 GPtrArray           *outcomes,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  SluiceBatchStoreInterface *iface;

  g_return_if_fail (SLUICE_IS_BATCH_STORE (self));
  g_return_if_fail (batch_id != NULL);
  g_return_if_fail (worker != NULL);
  g_return_if_fail (outcomes != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_BATCH_STORE_GET_IFACE (self);
  if (iface->settle_async == NULL || iface->settle_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceBatchStore.settle_async()",
                      callback, user_data, sluice_batch_store_settle_async);
      return;
    }

  iface->settle_async (self, batch_id, worker, outcomes, cancellable, callback, user_data);
}

/**
 * sluice_batch_store_settle_finish:
 * @self: a #SluiceBatchStore
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
sluice_batch_store_settle_finish (SluiceBatchStore  *self,
                                  GAsyncResult      *result,
                                  GError           **error)
{
  g_return_val_if_fail (SLUICE_IS_BATCH_STORE (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_async_result_is_tagged (result, sluice_batch_store_settle_async))
    return g_task_propagate_boolean (G_TASK (result), error);

  return SLUICE_BATCH_STORE_GET_IFACE (self)->settle_finish (self, result, error);
}

/**
 * sluice_batch_store_retry_failed_async:
 * @self: a #SluiceBatchStore
 * @batch_id: the batch
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Moves every failed record back to pending, and only those.
 */
void
sluice_batch_store_retry_failed_async (SluiceBatchStore    *self,
                                       const char          *batch_id,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  SluiceBatchStoreInterface *iface;

  g_return_if_fail (SLUICE_IS_BATCH_STORE (self));
  g_return_if_fail (batch_id != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_BATCH_STORE_GET_IFACE (self);
  if (iface->retry_failed_async == NULL || iface->retry_failed_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceBatchStore.retry_failed_async()",
                      callback, user_data, sluice_batch_store_retry_failed_async);
      return;
    }

  iface->retry_failed_async (self, batch_id, cancellable, callback, user_data);
}

/**
 * sluice_batch_store_retry_failed_finish:
 * @self: a #SluiceBatchStore
 * @result: the #GAsyncResult given to the callback
 * @out_count: (out) (optional): how many records moved back to pending
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
sluice_batch_store_retry_failed_finish (SluiceBatchStore  *self,
                                        GAsyncResult      *result,
                                        guint64           *out_count,
                                        GError           **error)
{
  guint64 value = 0;
  gboolean ok;

  g_return_val_if_fail (SLUICE_IS_BATCH_STORE (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_async_result_is_tagged (result, sluice_batch_store_retry_failed_async))
    ok = g_task_propagate_boolean (G_TASK (result), error);
  else
    ok = SLUICE_BATCH_STORE_GET_IFACE (self)->retry_failed_finish (self, result, &value, error);

  if (out_count != NULL)
    *out_count = ok ? value : 0;
  return ok;
}

/**
 * sluice_batch_store_get_info_async:
 * @self: a #SluiceBatchStore
 * @batch_id: the batch
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Reads a batch's state and counts.
 */
void
sluice_batch_store_get_info_async (SluiceBatchStore    *self,
                                   const char          *batch_id,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  SluiceBatchStoreInterface *iface;

  g_return_if_fail (SLUICE_IS_BATCH_STORE (self));
  g_return_if_fail (batch_id != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_BATCH_STORE_GET_IFACE (self);
  if (iface->get_info_async == NULL || iface->get_info_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceBatchStore.get_info_async()",
                      callback, user_data, sluice_batch_store_get_info_async);
      return;
    }

  iface->get_info_async (self, batch_id, cancellable, callback, user_data);
}

/**
 * sluice_batch_store_get_info_finish:
 * @self: a #SluiceBatchStore
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the batch, or %NULL with @error set
 */
SluiceBatchInfo *
sluice_batch_store_get_info_finish (SluiceBatchStore  *self,
                                    GAsyncResult      *result,
                                    GError           **error)
{
  g_return_val_if_fail (SLUICE_IS_BATCH_STORE (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_async_result_is_tagged (result, sluice_batch_store_get_info_async))
    return g_task_propagate_pointer (G_TASK (result), error);

  return SLUICE_BATCH_STORE_GET_IFACE (self)->get_info_finish (self, result, error);
}

/**
 * sluice_batch_store_list_async:
 * @self: a #SluiceBatchStore
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Lists every batch the store knows.
 */
void
sluice_batch_store_list_async (SluiceBatchStore    *self,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  SluiceBatchStoreInterface *iface;

  g_return_if_fail (SLUICE_IS_BATCH_STORE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_BATCH_STORE_GET_IFACE (self);
  if (iface->list_async == NULL || iface->list_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceBatchStore.list_async()",
                      callback, user_data, sluice_batch_store_list_async);
      return;
    }

  iface->list_async (self, cancellable, callback, user_data);
}

/**
 * sluice_batch_store_list_finish:
 * @self: a #SluiceBatchStore
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type SluiceBatchInfo): the batches, or
 *   %NULL with @error set
 */
GPtrArray *
sluice_batch_store_list_finish (SluiceBatchStore  *self,
                                GAsyncResult      *result,
                                GError           **error)
{
  g_return_val_if_fail (SLUICE_IS_BATCH_STORE (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_async_result_is_tagged (result, sluice_batch_store_list_async))
    return g_task_propagate_pointer (G_TASK (result), error);

  return SLUICE_BATCH_STORE_GET_IFACE (self)->list_finish (self, result, error);
}

/**
 * sluice_batch_store_list_failed_async:
 * @self: a #SluiceBatchStore
 * @batch_id: the batch
 * @offset: how many failed records to skip
 * @limit: the most records to return
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Lists failed records in order, with the error in their "sluice-error"
 * header.
 */
void
sluice_batch_store_list_failed_async (SluiceBatchStore    *self,
                                      const char          *batch_id,
                                      guint64              offset,
                                      guint                limit,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  SluiceBatchStoreInterface *iface;

  g_return_if_fail (SLUICE_IS_BATCH_STORE (self));
  g_return_if_fail (batch_id != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_BATCH_STORE_GET_IFACE (self);
  if (iface->list_failed_async == NULL || iface->list_failed_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceBatchStore.list_failed_async()",
                      callback, user_data, sluice_batch_store_list_failed_async);
      return;
    }

  iface->list_failed_async (self, batch_id, offset, limit, cancellable, callback, user_data);
}

/**
 * sluice_batch_store_list_failed_finish:
 * @self: a #SluiceBatchStore
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type SluiceMessage): the records, or
 *   %NULL with @error set
 */
GPtrArray *
sluice_batch_store_list_failed_finish (SluiceBatchStore  *self,
                                       GAsyncResult      *result,
                                       GError           **error)
{
  g_return_val_if_fail (SLUICE_IS_BATCH_STORE (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_async_result_is_tagged (result, sluice_batch_store_list_failed_async))
    return g_task_propagate_pointer (G_TASK (result), error);

  return SLUICE_BATCH_STORE_GET_IFACE (self)->list_failed_finish (self, result, error);
}

/**
 * sluice_batch_store_set_state_async:
 * @self: a #SluiceBatchStore
 * @batch_id: the batch
 * @state: the new state
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Moves the batch to @state.
 */
void
sluice_batch_store_set_state_async (SluiceBatchStore    *self,
                                    const char          *batch_id,
                                    SluiceBatchState     state,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  SluiceBatchStoreInterface *iface;

  g_return_if_fail (SLUICE_IS_BATCH_STORE (self));
  g_return_if_fail (batch_id != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_BATCH_STORE_GET_IFACE (self);
  if (iface->set_state_async == NULL || iface->set_state_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceBatchStore.set_state_async()",
                      callback, user_data, sluice_batch_store_set_state_async);
      return;
    }

  iface->set_state_async (self, batch_id, state, cancellable, callback, user_data);
}

/**
 * sluice_batch_store_set_state_finish:
 * @self: a #SluiceBatchStore
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
sluice_batch_store_set_state_finish (SluiceBatchStore  *self,
                                     GAsyncResult      *result,
                                     GError           **error)
{
  g_return_val_if_fail (SLUICE_IS_BATCH_STORE (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_async_result_is_tagged (result, sluice_batch_store_set_state_async))
    return g_task_propagate_boolean (G_TASK (result), error);

  return SLUICE_BATCH_STORE_GET_IFACE (self)->set_state_finish (self, result, error);
}

/**
 * sluice_batch_store_delete_async:
 * @self: a #SluiceBatchStore
 * @batch_id: the batch
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Removes the batch and all its records now.
 */
void
sluice_batch_store_delete_async (SluiceBatchStore    *self,
                                 const char          *batch_id,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  SluiceBatchStoreInterface *iface;

  g_return_if_fail (SLUICE_IS_BATCH_STORE (self));
  g_return_if_fail (batch_id != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_BATCH_STORE_GET_IFACE (self);
  if (iface->delete_async == NULL || iface->delete_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceBatchStore.delete_async()",
                      callback, user_data, sluice_batch_store_delete_async);
      return;
    }

  iface->delete_async (self, batch_id, cancellable, callback, user_data);
}

/**
 * sluice_batch_store_delete_finish:
 * @self: a #SluiceBatchStore
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
sluice_batch_store_delete_finish (SluiceBatchStore  *self,
                                  GAsyncResult      *result,
                                  GError           **error)
{
  g_return_val_if_fail (SLUICE_IS_BATCH_STORE (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_async_result_is_tagged (result, sluice_batch_store_delete_async))
    return g_task_propagate_boolean (G_TASK (result), error);

  return SLUICE_BATCH_STORE_GET_IFACE (self)->delete_finish (self, result, error);
}
