/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* Loads the redis plugin the way the host does (once per process) and
 * makes one of its components from a JSON configuration; NULL with
 * @error set when the component refuses it. */
GObject *redis_test_create (const char    *component,
                            SluiceContext *context,
                            const char    *config_json,
                            GError       **error);

/* A batch store (or state store) on @url with @prefix; fails the test
 * when the configuration is refused. */
SluiceBatchStore *redis_test_batch_store_new (SluiceContext *context,
                                              const char    *url,
                                              const char    *prefix);
SluiceStateStore *redis_test_state_store_new (SluiceContext *context,
                                              const char    *url,
                                              const char    *prefix);

/* Runs the thread-default main context until @slot is filled by
 * redis_test_store_result(); fails the test after 60 s. */
void          redis_test_store_result (GObject      *source,
                                       GAsyncResult *result,
                                       gpointer      user_data);
GAsyncResult *redis_test_wait_result (GAsyncResult **slot);

/* Runs the main context for @ms of real time. */
void redis_test_spin (guint ms);

/* Runs the main context until *@flag is TRUE, or fails after @timeout_ms. */
void redis_test_wait_flag (const gboolean *flag,
                           guint           timeout_ms);

/* Synchronous versions of the batch store's operations, for tests. */
gboolean redis_test_batch_create (SluiceBatchStore *store,
                                  const char       *id,
                                  guint             chunk_size,
                                  guint64           max_failed,
                                  gint64            window_usec,
                                  GError          **error);
gboolean redis_test_batch_add (SluiceBatchStore *store,
                               const char       *id,
                               GPtrArray        *records,
                               GError          **error);
/* Adds @n records with bodies "<tag>-<i>" (i from @first), in calls of
 * @per_call. */
void       redis_test_batch_add_numbered (SluiceBatchStore *store,
                                          const char       *id,
                                          const char       *tag,
                                          guint             first,
                                          guint             n,
                                          guint             per_call);
GPtrArray *redis_test_batch_claim (SluiceBatchStore *store,
                                   const char       *id,
                                   const char       *worker,
                                   guint             max,
                                   gint64            lease_usec,
                                   GError          **error);
gboolean   redis_test_batch_settle (SluiceBatchStore *store,
                                    const char       *id,
                                    const char       *worker,
                                    GPtrArray        *outcomes,
                                    GError          **error);
/* Settles every claimed message as succeeded, or failed with "error for
 * <body>" when @fail says so. */
typedef gboolean (*RedisTestFailFunc) (SluiceMessage *message,
                                       gpointer       user_data);
gboolean         redis_test_batch_settle_all (SluiceBatchStore *store,
                                              const char       *id,
                                              const char       *worker,
                                              GPtrArray        *claimed,
                                              RedisTestFailFunc fail,
                                              gpointer          user_data,
                                              GError          **error);
gboolean         redis_test_batch_retry_failed (SluiceBatchStore *store,
                                                const char       *id,
                                                guint64          *out_count,
                                                GError          **error);
SluiceBatchInfo *redis_test_batch_get_info (SluiceBatchStore *store,
                                            const char       *id,
                                            GError          **error);
GPtrArray       *redis_test_batch_list (SluiceBatchStore *store,
                                        GError          **error);
GPtrArray       *redis_test_batch_list_failed (SluiceBatchStore *store,
                                               const char       *id,
                                               guint64           offset,
                                               guint             limit,
                                               GError          **error);
gboolean         redis_test_batch_set_state (SluiceBatchStore *store,
                                             const char       *id,
                                             SluiceBatchState  state,
                                             GError          **error);
gboolean         redis_test_batch_delete (SluiceBatchStore *store,
                                          const char       *id,
                                          GError          **error);

/* Asserts a batch's state and counts. */
void redis_test_assert_counts (SluiceBatchStore *store,
                               const char       *id,
                               SluiceBatchState  state,
                               guint64           pending,
                               guint64           processing,
                               guint64           succeeded,
                               guint64           failed);

/* The body of a message as a new string. */
char *redis_test_body (SluiceMessage *message);

G_END_DECLS
