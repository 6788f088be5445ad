/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(SLUICE_INSIDE) && !defined(SLUICE_COMPILATION)
#error "Only <sluice/sluice.h> can be included directly."
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <sluice/sluice-version.h>

G_BEGIN_DECLS

/**
 * SluiceDeadLetter:
 * @id: unique id, given by the host
 * @workflow: the workflow whose run gave up on the event
 * @node: (nullable): the node that failed last, %NULL when the event never
 *   ran (too many deliveries, a duplicate check that failed)
 * @source: (nullable): the trigger component the event came from
 * @error: the last error, as text
 * @attempts: how many times the event was delivered or run
 * @first_usec: when the event was first dead-lettered (UTC, microseconds)
 * @last_usec: when it was dead-lettered last (a failed replay updates it)
 * @trace_id: (nullable): the W3C trace id of the event
 * @content_type: (nullable): the payload's content type
 * @payload: (nullable): the event's message body
 * @headers: (nullable) (array zero-terminated=1): the message headers as
 *   name, value, name, value, ... %NULL
 *
 * One dead letter: the same shape whatever trigger the event came from.
 * Times are not negative; strings and headers are UTF-8, headers in pairs.
 * Stores refuse a dead letter that breaks these with
 * %SLUICE_ERROR_INVALID_DATA.
 */
typedef struct {
  char   *id;
  char   *workflow;
  char   *node;
  char   *source;
  char   *error;
  guint   attempts;
  gint64  first_usec;
  gint64  last_usec;
  char   *trace_id;
  char   *content_type;
  GBytes *payload;
  char  **headers;
  /*< private >*/
  gpointer reserved[8];
} SluiceDeadLetter;

SLUICE_API GType sluice_dead_letter_get_type (void);
SLUICE_API SluiceDeadLetter *sluice_dead_letter_new (const char *id,
                                                     const char *workflow);
SLUICE_API SluiceDeadLetter *sluice_dead_letter_copy (const SluiceDeadLetter *self);
SLUICE_API void sluice_dead_letter_free (SluiceDeadLetter *self);
SLUICE_API JsonNode *sluice_dead_letter_to_json (const SluiceDeadLetter *self,
                                                 gboolean                with_payload);
SLUICE_API SluiceDeadLetter *sluice_dead_letter_new_from_json (JsonNode *node,
                                                               GError  **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SluiceDeadLetter, sluice_dead_letter_free)

/**
 * SluiceDeadLetterFilter:
 * @workflow: (nullable): only this workflow's dead letters
 * @node: (nullable): only those whose @node is this
 * @error_contains: (nullable): only those whose error contains this text
 * @since_usec: only those last dead-lettered at or after this (0: no bound)
 * @until_usec: only those last dead-lettered before this (0: no bound)
 *
 * Which dead letters a list call returns; zero-initialise it and set the
 * fields that matter. Unset fields match everything.
 */
typedef struct {
  char   *workflow;
  char   *node;
  char   *error_contains;
  gint64  since_usec;
  gint64  until_usec;
  /*< private >*/
  gpointer reserved[4];
} SluiceDeadLetterFilter;

SLUICE_API gboolean sluice_dead_letter_filter_matches (const SluiceDeadLetterFilter *filter,
                                                       const SluiceDeadLetter       *letter);

#define SLUICE_TYPE_DEAD_LETTER_STORE (sluice_dead_letter_store_get_type ())
SLUICE_API G_DECLARE_INTERFACE (SluiceDeadLetterStore, sluice_dead_letter_store, SLUICE,
                                DEAD_LETTER_STORE, GObject)

/**
 * SluiceDeadLetterStoreInterface:
 * @g_iface: the parent interface
 * @put_async: stores a dead letter, replacing one with the same id
 * @put_finish: finishes @put_async
 * @get_async: fetches one dead letter by id
 * @get_finish: finishes @get_async; %SLUICE_ERROR_NOT_FOUND if none
 * @list_async: dead letters matching a filter, oldest first (by
 *   @first_usec, then id), from an offset, at most a limit
 * @list_finish: finishes @list_async: a #GPtrArray of #SluiceDeadLetter
 * @remove_async: removes dead letters by id; unknown ids are skipped
 * @remove_finish: finishes @remove_async with the number removed
 *
 * Where dead letters are kept. Core keeps them in memory for one host; the
 * redis plugin keeps them in Redis so that every host sees the same ones.
 */
struct _SluiceDeadLetterStoreInterface
{
  GTypeInterface g_iface;

  void              (*put_async)     (SluiceDeadLetterStore  *self,
                                      const SluiceDeadLetter *letter,
                                      GCancellable           *cancellable,
                                      GAsyncReadyCallback     callback,
                                      gpointer                user_data);
  gboolean          (*put_finish)    (SluiceDeadLetterStore *self,
                                      GAsyncResult          *result,
                                      GError               **error);
  void              (*get_async)     (SluiceDeadLetterStore *self,
                                      const char            *id,
                                      GCancellable          *cancellable,
                                      GAsyncReadyCallback    callback,
                                      gpointer               user_data);
  SluiceDeadLetter *(*get_finish)    (SluiceDeadLetterStore *self,
                                      GAsyncResult          *result,
                                      GError               **error);
  void              (*list_async)    (SluiceDeadLetterStore        *self,
                                      const SluiceDeadLetterFilter *filter,
                                      guint64                       offset,
                                      guint                         limit,
                                      GCancellable                 *cancellable,
                                      GAsyncReadyCallback           callback,
                                      gpointer                      user_data);
  GPtrArray        *(*list_finish)   (SluiceDeadLetterStore *self,
                                      GAsyncResult          *result,
                                      GError               **error);
  void              (*remove_async)  (SluiceDeadLetterStore *self,
                                      GPtrArray             *ids,
                                      GCancellable          *cancellable,
                                      GAsyncReadyCallback    callback,
                                      gpointer               user_data);
  gboolean          (*remove_finish) (SluiceDeadLetterStore *self,
                                      GAsyncResult          *result,
                                      guint64               *out_removed,
                                      GError               **error);

  /*< private >*/
  gpointer padding[12];
};

SLUICE_API void sluice_dead_letter_store_put_async (SluiceDeadLetterStore  *self,
                                                    const SluiceDeadLetter *letter,
                                                    GCancellable           *cancellable,
                                                    GAsyncReadyCallback     callback,
                                                    gpointer                user_data);
SLUICE_API gboolean sluice_dead_letter_store_put_finish (SluiceDeadLetterStore *self,
                                                         GAsyncResult          *result,
                                                         GError               **error);
SLUICE_API void sluice_dead_letter_store_get_async (SluiceDeadLetterStore *self,
                                                    const char            *id,
                                                    GCancellable          *cancellable,
                                                    GAsyncReadyCallback    callback,
                                                    gpointer               user_data);
SLUICE_API SluiceDeadLetter *sluice_dead_letter_store_get_finish (SluiceDeadLetterStore *self,
                                                                  GAsyncResult          *result,
                                                                  GError               **error);
SLUICE_API void sluice_dead_letter_store_list_async (SluiceDeadLetterStore        *self,
                                                     const SluiceDeadLetterFilter *filter,
                                                     guint64                       offset,
                                                     guint                         limit,
                                                     GCancellable                 *cancellable,
                                                     GAsyncReadyCallback           callback,
                                                     gpointer                      user_data);
SLUICE_API GPtrArray *sluice_dead_letter_store_list_finish (SluiceDeadLetterStore *self,
                                                            GAsyncResult          *result,
                                                            GError               **error);
SLUICE_API void sluice_dead_letter_store_remove_async (SluiceDeadLetterStore *self,
                                                       GPtrArray             *ids,
                                                       GCancellable          *cancellable,
                                                       GAsyncReadyCallback    callback,
                                                       gpointer               user_data);
SLUICE_API gboolean sluice_dead_letter_store_remove_finish (SluiceDeadLetterStore *self,
                                                            GAsyncResult          *result,
                                                            guint64               *out_removed,
                                                            GError               **error);

G_END_DECLS
