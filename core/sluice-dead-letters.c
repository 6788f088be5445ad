/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-dead-letters.h"

#include "sluice-replay-event.h"
#include "sluice-run-observer.h"

/* Ids are listed a page at a time before anything is replayed or removed:
 * replays remove dead letters as they succeed, which would shift the pages
 * of a listing still in progress. */
#define PAGE 1000
/* Dead letters fetched at once while replaying. */
#define FETCH_WINDOW 64

struct _SluiceDeadLetters
{
  GObject parent_instance;

  SluiceDeadLetterStore *store;
  SluiceEngine          *engine;
};

G_DEFINE_FINAL_TYPE (SluiceDeadLetters, sluice_dead_letters, G_TYPE_OBJECT)

SluiceDeadLetter *
sluice_dead_letter_new_for_event (const char             *workflow,
                                  SluiceMessage          *message,
                                  const SluiceDeadLetter *replayed,
                                  const char             *source,
                                  const char             *node,
                                  const GError           *error,
                                  guint                   attempts,
                                  gint64                  now_usec)
{
  SluiceDeadLetter *letter;
  GHashTableIter iter;
  gpointer name, value;
  g_autoptr(GStrvBuilder) headers = g_strv_builder_new ();

  if (replayed != NULL)
    {
      letter = sluice_dead_letter_new (replayed->id, workflow);
      letter->first_usec = replayed->first_usec;
    }
  else
    {
      g_autofree char *id = g_uuid_string_random ();

      letter = sluice_dead_letter_new (id, workflow);
      letter->first_usec = now_usec;
    }
  letter->attempts = attempts;
  letter->last_usec = now_usec;
  letter->node = g_strdup (node);
  letter->error = g_strdup (error != NULL ? error->message : "failed");
  letter->source = g_strdup (source);
  letter->trace_id = sluice_message_dup_trace_id (message);
  letter->content_type = g_strdup (sluice_message_get_content_type (message));
  if (!sluice_message_is_streamed (message) && sluice_message_get_bytes (message) != NULL)
    letter->payload = g_bytes_ref (sluice_message_get_bytes (message));

  /* The message id rides along as a header, so that a replay is the same
   * message to whoever deduplicates by id. */
  if (sluice_message_get_id (message) != NULL)
    {
      g_strv_builder_add (headers, SLUICE_DEAD_LETTER_MESSAGE_ID);
      g_strv_builder_add (headers, sluice_message_get_id (message));
    }
  g_hash_table_iter_init (&iter, sluice_message_get_headers (message));
  while (g_hash_table_iter_next (&iter, &name, &value))
    {
      /* Run bookkeeping, not part of the event. */
      if (g_str_equal (name, SLUICE_HEADER_RUN) || g_str_equal (name, "sluice-replay-of"))
        continue;
      g_strv_builder_add (headers, name);
      g_strv_builder_add (headers, value);
    }
  letter->headers = g_strv_builder_end (headers);
  return letter;
}

static void
sluice_dead_letters_finalize (GObject *object)
{
  SluiceDeadLetters *self = SLUICE_DEAD_LETTERS (object);

  g_clear_object (&self->store);
  g_clear_object (&self->engine);

  G_OBJECT_CLASS (sluice_dead_letters_parent_class)->finalize (object);
}

static void
sluice_dead_letters_class_init (SluiceDeadLettersClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sluice_dead_letters_finalize;
}

static void
sluice_dead_letters_init (SluiceDeadLetters *self)
{
}

SluiceDeadLetters *
sluice_dead_letters_new (SluiceDeadLetterStore *store, SluiceEngine *engine)
{
  SluiceDeadLetters *self;

  g_return_val_if_fail (SLUICE_IS_DEAD_LETTER_STORE (store), NULL);
  g_return_val_if_fail (SLUICE_IS_ENGINE (engine), NULL);

  self = g_object_new (SLUICE_TYPE_DEAD_LETTERS, NULL);
  self->store = g_object_ref (store);
  self->engine = g_object_ref (engine);
  return self;
}

SluiceDeadLetterStore *
sluice_dead_letters_get_store (SluiceDeadLetters *self)
{
  g_return_val_if_fail (SLUICE_IS_DEAD_LETTERS (self), NULL);

  return self->store;
}

/* ---- List and get: straight to the store ---- */

static void
on_listed (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  GPtrArray *letters = sluice_dead_letter_store_list_finish (SLUICE_DEAD_LETTER_STORE (object),
                                                             result, &error);

  if (letters == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, letters, (GDestroyNotify) g_ptr_array_unref);
}

void
sluice_dead_letters_list_async (SluiceDeadLetters            *self,
                                const SluiceDeadLetterFilter *filter,
                                guint64                       offset,
                                guint                         limit,
                                GCancellable                 *cancellable,
                                GAsyncReadyCallback           callback,
                                gpointer                      user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, sluice_dead_letters_list_async);
  sluice_dead_letter_store_list_async (self->store, filter, offset, MAX (limit, 1), cancellable,
                                       on_listed, task);
}

GPtrArray *
sluice_dead_letters_list_finish (SluiceDeadLetters *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
on_got (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  SluiceDeadLetter *letter = sluice_dead_letter_store_get_finish (SLUICE_DEAD_LETTER_STORE (object),
                                                                  result, &error);

  if (letter == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, letter, (GDestroyNotify) sluice_dead_letter_free);
}

void
sluice_dead_letters_get_async (SluiceDeadLetters  *self,
                               const char         *id,
                               GCancellable       *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer            user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, sluice_dead_letters_get_async);
  sluice_dead_letter_store_get_async (self->store, id, cancellable, on_got, task);
}

SluiceDeadLetter *
sluice_dead_letters_get_finish (SluiceDeadLetters *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- Replay and purge: ids first, then the work ---- */

typedef struct {
  SluiceDeadLetterFilter filter;
  GPtrArray *ids;            /* char*: what to work on */
  guint      next;           /* index of the next id to fetch or remove */
  guint      in_flight;
  guint64    offset;         /* listing position */
  guint64    done;           /* replayed or removed */
  guint64    skipped;
  char      *first_skip_reason;
  GError    *error;
  gboolean   replay;
} Job;

static void
job_free (Job *job)
{
  g_free (job->filter.workflow);
  g_free (job->filter.node);
  g_free (job->filter.error_contains);
  g_clear_pointer (&job->ids, g_ptr_array_unref);
  g_free (job->first_skip_reason);
  g_clear_error (&job->error);
  g_free (job);
}

static GTask *
job_new (SluiceDeadLetters *self, const char * const *ids, const SluiceDeadLetterFilter *filter,
         gboolean replay, GCancellable *cancellable, GAsyncReadyCallback callback,
         gpointer user_data, gpointer tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Job *job = g_new0 (Job, 1);

  g_task_set_source_tag (task, tag);
  job->replay = replay;
  job->ids = g_ptr_array_new_with_free_func (g_free);
  if (filter != NULL)
    {
      job->filter.workflow = g_strdup (filter->workflow);
      job->filter.node = g_strdup (filter->node);
      job->filter.error_contains = g_strdup (filter->error_contains);
      job->filter.since_usec = filter->since_usec;
      job->filter.until_usec = filter->until_usec;
    }
  for (guint i = 0; ids != NULL && ids[i] != NULL; i++)
    g_ptr_array_add (job->ids, g_strdup (ids[i]));
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  return task;
}

static void job_work (GTask *task);

static void
job_skip (Job *job, const char *id, const char *reason)
{
  job->skipped++;
  if (job->first_skip_reason == NULL)
    job->first_skip_reason = id != NULL ? g_strdup_printf ("dead letter %s: %s", id, reason)
                                        : g_strdup (reason);
}

static void
on_ids_listed (GObject *object, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  Job *job = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr(GPtrArray) page = sluice_dead_letter_store_list_finish (SLUICE_DEAD_LETTER_STORE (object),
                                                                    result, &error);

  if (page == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  for (guint i = 0; i < page->len; i++)
    g_ptr_array_add (job->ids, g_strdup (((SluiceDeadLetter *) page->pdata[i])->id));
  job->offset += page->len;
  if (page->len == PAGE)
    {
      SluiceDeadLetters *self = g_task_get_source_object (task);

      sluice_dead_letter_store_list_async (self->store, &job->filter, job->offset, PAGE,
                                           g_task_get_cancellable (task), on_ids_listed, task);
      return;
    }
  job_work (task);
}

/* Lists every matching id, then works through them. */
static void
job_start (GTask *task)
{
  SluiceDeadLetters *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);

  if (job->ids->len > 0)
    {
      job_work (task);
      return;
    }
  sluice_dead_letter_store_list_async (self->store, &job->filter, 0, PAGE,
                                       g_task_get_cancellable (task), on_ids_listed, task);
}

static void
job_maybe_return (GTask *task)
{
  Job *job = g_task_get_task_data (task);

  if (job->in_flight > 0 || job->next < job->ids->len)
    return;
  if (job->error != NULL && job->done == 0 && job->skipped == 0)
    g_task_return_error (task, g_steal_pointer (&job->error));
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
on_replay_fetched (GObject *object, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  SluiceDeadLetters *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceDeadLetter) letter = sluice_dead_letter_store_get_finish (
    SLUICE_DEAD_LETTER_STORE (object), result, &error);

  job->in_flight--;
  if (letter == NULL)
    {
      /* Gone meanwhile (replayed or purged by someone else): skipped. */
      if (g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND))
        job_skip (job, NULL, error->message); /* the store's message names it */
      else if (job->error == NULL)
        job->error = g_steal_pointer (&error);
    }
  else if (letter->payload == NULL)
    job_skip (job, letter->id, "its payload was not kept (the event's body was a stream)");
  else
    {
      g_autoptr(SluiceEvent) event = sluice_replay_event_new (self->store, letter);
      g_autofree char *run_id = sluice_engine_inject (self->engine, letter->workflow, event, &error);

      if (run_id == NULL)
        job_skip (job, letter->id, error->message);
      else
        job->done++;
    }
  job_work (task);
}

static void
on_purged (GObject *object, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  Job *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  guint64 removed = 0;

  job->in_flight--;
  if (!sluice_dead_letter_store_remove_finish (SLUICE_DEAD_LETTER_STORE (object), result, &removed,
                                               &error))
    {
      if (job->error == NULL)
        job->error = g_steal_pointer (&error);
    }
  else
    job->done += removed;
  job_work (task);
}

static void
job_work (GTask *task)
{
  SluiceDeadLetters *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);

  if (job->replay)
    {
      while (job->in_flight < FETCH_WINDOW && job->next < job->ids->len)
        {
          job->in_flight++;
          sluice_dead_letter_store_get_async (self->store, job->ids->pdata[job->next++],
                                              cancellable, on_replay_fetched, task);
        }
    }
  else if (job->in_flight == 0 && job->next < job->ids->len)
    {
      g_autoptr(GPtrArray) slice = g_ptr_array_new ();

      while (slice->len < PAGE && job->next < job->ids->len)
        g_ptr_array_add (slice, job->ids->pdata[job->next++]);
      job->in_flight++;
      sluice_dead_letter_store_remove_async (self->store, slice, cancellable, on_purged, task);
    }
  job_maybe_return (task);
}

void
sluice_dead_letters_replay_async (SluiceDeadLetters            *self,
                                  const char * const           *ids,
                                  const SluiceDeadLetterFilter *filter,
                                  GCancellable                 *cancellable,
                                  GAsyncReadyCallback           callback,
                                  gpointer                      user_data)
{
  g_return_if_fail (SLUICE_IS_DEAD_LETTERS (self));

  job_start (job_new (self, ids, filter, TRUE, cancellable, callback, user_data,
                      sluice_dead_letters_replay_async));
}

gboolean
sluice_dead_letters_replay_finish (SluiceDeadLetters *self,
                                   GAsyncResult      *result,
                                   guint64           *out_replayed,
                                   guint64           *out_skipped,
                                   char             **out_first_skip_reason,
                                   GError           **error)
{
  Job *job = g_task_get_task_data (G_TASK (result));

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  if (out_replayed != NULL)
    *out_replayed = job->done;
  if (out_skipped != NULL)
    *out_skipped = job->skipped;
  if (out_first_skip_reason != NULL)
    *out_first_skip_reason = g_strdup (job->first_skip_reason);
  return TRUE;
}

void
sluice_dead_letters_purge_async (SluiceDeadLetters            *self,
                                 const char * const           *ids,
                                 const SluiceDeadLetterFilter *filter,
                                 GCancellable                 *cancellable,
                                 GAsyncReadyCallback           callback,
                                 gpointer                      user_data)
{
  g_return_if_fail (SLUICE_IS_DEAD_LETTERS (self));

  job_start (job_new (self, ids, filter, FALSE, cancellable, callback, user_data,
                      sluice_dead_letters_purge_async));
}

gboolean
sluice_dead_letters_purge_finish (SluiceDeadLetters *self,
                                  GAsyncResult      *result,
                                  guint64           *out_removed,
                                  GError           **error)
{
  Job *job = g_task_get_task_data (G_TASK (result));

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  if (out_removed != NULL)
    *out_removed = job->done;
  return TRUE;
}
