/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(SLUICE_INSIDE) && !defined(SLUICE_COMPILATION)
#error "Only <sluice/sluice.h> can be included directly."
#endif

#include <gio/gio.h>
#include <sluice/sluice-message.h>

G_BEGIN_DECLS

/**
 * SluiceBatchState:
 * @SLUICE_BATCH_OPEN: records may be added and processed
 * @SLUICE_BATCH_CLOSED: no more records may be added; processing goes on
 * @SLUICE_BATCH_COMPLETED: every record succeeded or failed for good
 * @SLUICE_BATCH_FAILED: stopped because too many records failed
 * @SLUICE_BATCH_CANCELLED: stopped by an operator
 *
 * Where a batch is in its life.
 */
typedef enum {
  SLUICE_BATCH_OPEN,
  SLUICE_BATCH_CLOSED,
  SLUICE_BATCH_COMPLETED,
  SLUICE_BATCH_FAILED,
  SLUICE_BATCH_CANCELLED,
} SluiceBatchState;

/**
 * SluiceRecordState:
 * @SLUICE_RECORD_PENDING: waiting to be claimed
 * @SLUICE_RECORD_PROCESSING: claimed by a worker, under a lease
 * @SLUICE_RECORD_SUCCEEDED: processed
 * @SLUICE_RECORD_FAILED: processing failed; may be retried
 * @SLUICE_RECORD_N_STATES: the number of states
 *
 * Where a record of a batch is.
 */
typedef enum {
  SLUICE_RECORD_PENDING,
  SLUICE_RECORD_PROCESSING,
  SLUICE_RECORD_SUCCEEDED,
  SLUICE_RECORD_FAILED,
  SLUICE_RECORD_N_STATES,
} SluiceRecordState;

/**
 * SluiceBatchInfo:
 * @id: the batch id
 * @workflow: the workflow that processes its records
 * @chunk_size: how many records one claim takes at most
 * @max_failed: stop the batch as failed past this many failed records
 *   (0: never)
 * @created_usec: creation time, microseconds since the epoch
 * @expires_usec: when the batch and all its records vanish
 * @state: its #SluiceBatchState
 * @counts: the number of records in each #SluiceRecordState
 *
 * A batch as a store reports it. Counts are kept by the store, not
 * recomputed.
 */
typedef struct {
  char             *id;
  char             *workflow;
  guint             chunk_size;
  guint64           max_failed;
  gint64            created_usec;
  gint64            expires_usec;
  SluiceBatchState  state;
  guint64           counts[SLUICE_RECORD_N_STATES];

  /*< private >*/
  gpointer reserved[8];
} SluiceBatchInfo;

#define SLUICE_TYPE_BATCH_INFO (sluice_batch_info_get_type ())
SLUICE_API GType sluice_batch_info_get_type (void);
SLUICE_API SluiceBatchInfo *sluice_batch_info_new (const char *id,
                                                   const char *workflow);
SLUICE_API SluiceBatchInfo *sluice_batch_info_copy (const SluiceBatchInfo *self);
SLUICE_API void sluice_batch_info_free (SluiceBatchInfo *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SluiceBatchInfo, sluice_batch_info_free)

/**
 * SluiceRecordOutcome:
 * @record_id: the record's id, as the claim gave it
 * @succeeded: whether processing succeeded
 * @error: why it failed, or %NULL
 *
 * How processing one claimed record ended.
 */
typedef struct {
  char     *record_id;
  gboolean  succeeded;
  char     *error;

  /*< private >*/
  gpointer reserved[2];
} SluiceRecordOutcome;

#define SLUICE_TYPE_RECORD_OUTCOME (sluice_record_outcome_get_type ())
SLUICE_API GType sluice_record_outcome_get_type (void);
SLUICE_API SluiceRecordOutcome *sluice_record_outcome_new (const char *record_id,
                                                           gboolean    succeeded,
                                                           const char *error);
SLUICE_API SluiceRecordOutcome *sluice_record_outcome_copy (const SluiceRecordOutcome *self);
SLUICE_API void sluice_record_outcome_free (SluiceRecordOutcome *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SluiceRecordOutcome, sluice_record_outcome_free)

#define SLUICE_TYPE_BATCH_STORE (sluice_batch_store_get_type ())
SLUICE_API G_DECLARE_INTERFACE (SluiceBatchStore, sluice_batch_store, SLUICE, BATCH_STORE, GObject)

/**
 * SluiceBatchStoreInterface:
 * @g_iface: the parent interface
 * @create_async: create a batch from @info (id, workflow, chunk size,
 *   expiry, max failed); fails with %SLUICE_ERROR_INVALID_STATE when the id
 *   exists
 * @create_finish: finishes @create_async
 * @add_async: append records (#SluiceMessage) to an open batch, as pending;
 *   a record's id is assigned by the store
 * @add_finish: finishes @add_async
 * @claim_async: move up to @max pending records (or records whose lease ran
 *   out) to processing for @worker, with a lease of @lease_usec
 * @claim_finish: a #GPtrArray of #SluiceMessage: id = record id, attempt =
 *   how many times it was claimed; empty when nothing is pending
 * @settle_async: record the outcomes (#SluiceRecordOutcome) of records
 *   claimed by @worker in one call; counts move with them
 * @settle_finish: finishes @settle_async
 * @retry_failed_async: move every failed record back to pending, and only
 *   those
 * @retry_failed_finish: sets *out_count to how many moved
 * @get_info_async: the batch's #SluiceBatchInfo
 * @get_info_finish: finishes @get_info_async
 * @list_async: every batch the store knows
 * @list_finish: a #GPtrArray of #SluiceBatchInfo
 * @list_failed_async: failed records, ordered, from @offset, at most @limit
 * @list_failed_finish: a #GPtrArray of #SluiceMessage with the error in
 *   the "sluice-error" header
 * @set_state_async: move the batch to @state (close, complete, fail, cancel)
 * @set_state_finish: finishes @set_state_async
 * @delete_async: remove the batch and all its records now
 * @delete_finish: finishes @delete_async
 *
 * Where batches and their records live. A store expires a batch with all
 * its records by itself when its window ends. Operations on an unknown id
 * fail with %SLUICE_ERROR_NOT_FOUND.
 */
struct _SluiceBatchStoreInterface
{
  GTypeInterface g_iface;

  void             (*create_async)        (SluiceBatchStore      *self,
                                           const SluiceBatchInfo *info,
                                           GCancellable          *cancellable,
                                           GAsyncReadyCallback    callback,
                                           gpointer               user_data);
  gboolean         (*create_finish)       (SluiceBatchStore *self,
                                           GAsyncResult     *result,
                                           GError          **error);
  void             (*add_async)           (SluiceBatchStore   *self,
                                           const char         *batch_id,
                                           GPtrArray          *records,
                                           GCancellable       *cancellable,
                                           GAsyncReadyCallback callback,
                                           gpointer            user_data);
  gboolean         (*add_finish)          (SluiceBatchStore *self,
                                           GAsyncResult     *result,
                                           GError          **error);
  void             (*claim_async)         (SluiceBatchStore   *self,
                                           const char         *batch_id,
                                           const char         *worker,
                                           guint               max,
                                           gint64              lease_usec,
                                           GCancellable       *cancellable,
                                           GAsyncReadyCallback callback,
                                           gpointer            user_data);
  GPtrArray       *(*claim_finish)        (SluiceBatchStore *self,
                                           GAsyncResult     *result,
                                           GError          **error);
  void             (*settle_async)        (SluiceBatchStore   *self,
                                           const char         *batch_id,
                                           const char         *worker,
                                           GPtrArray          *outcomes,
                                           GCancellable       *cancellable,
                                           GAsyncReadyCallback callback,
                                           gpointer            user_data);
  gboolean         (*settle_finish)       (SluiceBatchStore *self,
                                           GAsyncResult     *result,
                                           GError          **error);
  void             (*retry_failed_async)  (SluiceBatchStore   *self,
                                           const char         *batch_id,
                                           GCancellable       *cancellable,
                                           GAsyncReadyCallback callback,
                                           gpointer            user_data);
  gboolean         (*retry_failed_finish) (SluiceBatchStore *self,
                                           GAsyncResult     *result,
                                           guint64          *out_count,
                                           GError          **error);
  void             (*get_info_async)      (SluiceBatchStore   *self,
                                           const char         *batch_id,
                                           GCancellable       *cancellable,
                                           GAsyncReadyCallback callback,
                                           gpointer            user_data);
  SluiceBatchInfo *(*get_info_finish)     (SluiceBatchStore *self,
                                           GAsyncResult     *result,
                                           GError          **error);
  void             (*list_async)          (SluiceBatchStore   *self,
                                           GCancellable       *cancellable,
                                           GAsyncReadyCallback callback,
                                           gpointer            user_data);
  GPtrArray       *(*list_finish)         (SluiceBatchStore *self,
                                           GAsyncResult     *result,
                                           GError          **error);
  void             (*list_failed_async)   (SluiceBatchStore   *self,
                                           const char         *batch_id,
                                           guint64             offset,
                                           guint               limit,
                                           GCancellable       *cancellable,
                                           GAsyncReadyCallback callback,
                                           gpointer            user_data);
  GPtrArray       *(*list_failed_finish)  (SluiceBatchStore *self,
                                           GAsyncResult     *result,
                                           GError          **error);
  void             (*set_state_async)     (SluiceBatchStore   *self,
                                           const char         *batch_id,
                                           SluiceBatchState    state,
                                           GCancellable       *cancellable,
                                           GAsyncReadyCallback callback,
                                           gpointer            user_data);
  gboolean         (*set_state_finish)    (SluiceBatchStore *self,
                                           GAsyncResult     *result,
                                           GError          **error);
  void             (*delete_async)        (SluiceBatchStore   *self,
                                           const char         *batch_id,
                                           GCancellable       *cancellable,
                                           GAsyncReadyCallback callback,
                                           gpointer            user_data);
  gboolean         (*delete_finish)       (SluiceBatchStore *self,
                                           GAsyncResult     *result,
                                           GError          **error);

  /*< private >*/
  gpointer padding[16];
};

SLUICE_API void sluice_batch_store_create_async (SluiceBatchStore *self, const SluiceBatchInfo *info,
                                                 GCancellable *cancellable,
                                                 GAsyncReadyCallback callback, gpointer user_data);
SLUICE_API gboolean sluice_batch_store_create_finish (SluiceBatchStore *self, GAsyncResult *result,
                                                      GError **error);
SLUICE_API void sluice_batch_store_add_async (SluiceBatchStore *self, const char *batch_id,
                                              GPtrArray *records, GCancellable *cancellable,
                                              GAsyncReadyCallback callback, gpointer user_data);
SLUICE_API gboolean sluice_batch_store_add_finish (SluiceBatchStore *self, GAsyncResult *result,
                                                   GError **error);
SLUICE_API void sluice_batch_store_claim_async (SluiceBatchStore *self, const char *batch_id,
                                                const char *worker, guint max, gint64 lease_usec,
                                                GCancellable *cancellable,
                                                GAsyncReadyCallback callback, gpointer user_data);
SLUICE_API GPtrArray *sluice_batch_store_claim_finish (SluiceBatchStore *self, GAsyncResult *result,
                                                       GError **error);
SLUICE_API void sluice_batch_store_settle_async (SluiceBatchStore *self, const char *batch_id,
                                                 const char *worker, GPtrArray *outcomes,
                                                 GCancellable *cancellable,
                                                 GAsyncReadyCallback callback, gpointer user_data);
SLUICE_API gboolean sluice_batch_store_settle_finish (SluiceBatchStore *self, GAsyncResult *result,
                                                      GError **error);
SLUICE_API void sluice_batch_store_retry_failed_async (SluiceBatchStore *self, const char *batch_id,
                                                       GCancellable *cancellable,
                                                       GAsyncReadyCallback callback,
                                                       gpointer user_data);
SLUICE_API gboolean sluice_batch_store_retry_failed_finish (SluiceBatchStore *self,
                                                            GAsyncResult *result,
                                                            guint64 *out_count, GError **error);
SLUICE_API void sluice_batch_store_get_info_async (SluiceBatchStore *self, const char *batch_id,
                                                   GCancellable *cancellable,
                                                   GAsyncReadyCallback callback, gpointer user_data);
SLUICE_API SluiceBatchInfo *sluice_batch_store_get_info_finish (SluiceBatchStore *self,
                                                                GAsyncResult *result,
                                                                GError **error);
SLUICE_API void sluice_batch_store_list_async (SluiceBatchStore *self, GCancellable *cancellable,
                                               GAsyncReadyCallback callback, gpointer user_data);
SLUICE_API GPtrArray *sluice_batch_store_list_finish (SluiceBatchStore *self, GAsyncResult *result,
                                                      GError **error);
SLUICE_API void sluice_batch_store_list_failed_async (SluiceBatchStore *self, const char *batch_id,
                                                      guint64 offset, guint limit,
                                                      GCancellable *cancellable,
                                                      GAsyncReadyCallback callback,
                                                      gpointer user_data);
SLUICE_API GPtrArray *sluice_batch_store_list_failed_finish (SluiceBatchStore *self,
                                                             GAsyncResult *result, GError **error);
SLUICE_API void sluice_batch_store_set_state_async (SluiceBatchStore *self, const char *batch_id,
                                                    SluiceBatchState state,
                                                    GCancellable *cancellable,
                                                    GAsyncReadyCallback callback,
                                                    gpointer user_data);
SLUICE_API gboolean sluice_batch_store_set_state_finish (SluiceBatchStore *self,
                                                         GAsyncResult *result, GError **error);
SLUICE_API void sluice_batch_store_delete_async (SluiceBatchStore *self, const char *batch_id,
                                                 GCancellable *cancellable,
                                                 GAsyncReadyCallback callback, gpointer user_data);
SLUICE_API gboolean sluice_batch_store_delete_finish (SluiceBatchStore *self, GAsyncResult *result,
                                                      GError **error);

G_END_DECLS
