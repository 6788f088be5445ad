/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-memory-dead-letter-store.h"

#include "sluice-state-file.h"

#include <string.h>

struct _SluiceMemoryDeadLetterStore
{
  GObject parent_instance;

  GSequence  *order; /* SluiceDeadLetter (owned), by first_usec, then id */
  GHashTable *by_id; /* id (the letter's own string) -> GSequenceIter in order */
  SluiceStateFile file; /* where they are kept between runs */
};

static void sluice_memory_dead_letter_store_iface_init (SluiceDeadLetterStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SluiceMemoryDeadLetterStore, sluice_memory_dead_letter_store,
                               G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_DEAD_LETTER_STORE,
                                                      sluice_memory_dead_letter_store_iface_init))

static int
compare_letters (gconstpointer a_,
                 gconstpointer b_,
                 gpointer      user_data)
{
  const SluiceDeadLetter *a = a_;
  const SluiceDeadLetter *b = b_;

  if (a->first_usec != b->first_usec)
    return a->first_usec < b->first_usec ? -1 : 1;
  return strcmp (a->id, b->id);
}

static GTask *
new_task (SluiceMemoryDeadLetterStore *self,
          GCancellable                *cancellable,
          GAsyncReadyCallback          callback,
          gpointer                     user_data,
          gpointer                     source_tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  return task;
}

static void
forget (SluiceMemoryDeadLetterStore *self,
        GSequenceIter               *iter)
{
  SluiceDeadLetter *letter = g_sequence_get (iter);

  /* The table's key is the letter's id: out of the table first. */
  g_hash_table_remove (self->by_id, letter->id);
  g_sequence_remove (iter);
  sluice_state_file_changed (&self->file);
}

/* Takes @letter (owned), replacing one with the same id. */
static void
keep (SluiceMemoryDeadLetterStore *self,
      SluiceDeadLetter            *letter)
{
  GSequenceIter *iter = g_hash_table_lookup (self->by_id, letter->id);

  if (iter != NULL)
    forget (self, iter);
  iter = g_sequence_insert_sorted (self->order, letter, compare_letters, NULL);
  g_hash_table_insert (self->by_id, letter->id, iter);
  sluice_state_file_changed (&self->file);
}

/* put */

/* The callback always runs from the main loop, never from within the
 * _async call: GTask defers a result returned in the iteration that made
 * the task. */
static void
memory_put_async (SluiceDeadLetterStore  *store,
                  const SluiceDeadLetter *letter,
                  GCancellable           *cancellable,
                  GAsyncReadyCallback     callback,
                  gpointer                user_data)
{
  SluiceMemoryDeadLetterStore *self = SLUICE_MEMORY_DEAD_LETTER_STORE (store);
  g_autoptr (GTask) task = new_task (self, cancellable, callback, user_data, memory_put_async);

  if (g_task_return_error_if_cancelled (task))
    return;

  keep (self, sluice_dead_letter_copy (letter));
  g_task_return_boolean (task, TRUE);
}

static gboolean
memory_put_finish (SluiceDeadLetterStore *store,
                   GAsyncResult          *result,
                   GError               **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* get */

static void
memory_get_async (SluiceDeadLetterStore *store,
                  const char            *id,
                  GCancellable          *cancellable,
                  GAsyncReadyCallback    callback,
                  gpointer               user_data)
{
  SluiceMemoryDeadLetterStore *self = SLUICE_MEMORY_DEAD_LETTER_STORE (store);
  g_autoptr (GTask) task = new_task (self, cancellable, callback, user_data, memory_get_async);
  GSequenceIter *iter;

  if (g_task_return_error_if_cancelled (task))
    return;
  iter = g_hash_table_lookup (self->by_id, id);
  if (iter == NULL)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND,
                               "dead letter '%s' not found (in memory)", id);
      return;
    }
  g_task_return_pointer (task, sluice_dead_letter_copy (g_sequence_get (iter)),
                         (GDestroyNotify) sluice_dead_letter_free);
}

static SluiceDeadLetter *
memory_get_finish (SluiceDeadLetterStore *store,
                   GAsyncResult          *result,
                   GError               **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* list */

static gboolean
filter_is_empty (const SluiceDeadLetterFilter *filter)
{
  return filter == NULL || (filter->workflow == NULL && filter->node == NULL &&
                            filter->error_contains == NULL && filter->since_usec <= 0 &&
                            filter->until_usec <= 0);
}

static void
memory_list_async (SluiceDeadLetterStore        *store,
                   const SluiceDeadLetterFilter *filter,
                   guint64                       offset,
                   guint                         limit,
                   GCancellable                 *cancellable,
                   GAsyncReadyCallback           callback,
                   gpointer                      user_data)
{
  SluiceMemoryDeadLetterStore *self = SLUICE_MEMORY_DEAD_LETTER_STORE (store);
  g_autoptr (GTask) task = new_task (self, cancellable, callback, user_data, memory_list_async);
  g_autoptr (GPtrArray) page = NULL;
  GSequenceIter *iter;
  guint64        to_skip = offset;

  if (g_task_return_error_if_cancelled (task))
    return;

  page = g_ptr_array_new_full (MIN (limit, 1024), (GDestroyNotify) sluice_dead_letter_free);
  if (filter_is_empty (filter))
    {
      /* Everything matches: the offset is a position. */
      if (offset >= (guint64) g_sequence_get_length (self->order))
        {
          g_task_return_pointer (task, g_steal_pointer (&page), (GDestroyNotify) g_ptr_array_unref);
          return;
        }
      iter = g_sequence_get_iter_at_pos (self->order, (gint) offset);
      to_skip = 0;
    }
  else
    iter = g_sequence_get_begin_iter (self->order);

  for (; !g_sequence_iter_is_end (iter) && page->len < limit; iter = g_sequence_iter_next (iter))
    {
      SluiceDeadLetter *letter = g_sequence_get (iter);

      if (!sluice_dead_letter_filter_matches (filter, letter))
        continue;
      if (to_skip > 0)
        {
          to_skip--;
          continue;
        }
      g_ptr_array_add (page, sluice_dead_letter_copy (letter));
    }
  g_task_return_pointer (task, g_steal_pointer (&page), (GDestroyNotify) g_ptr_array_unref);
}

static GPtrArray *
memory_list_finish (SluiceDeadLetterStore *store,
                    GAsyncResult          *result,
                    GError               **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* remove */

static void
memory_remove_async (SluiceDeadLetterStore *store,
                     GPtrArray             *ids,
                     GCancellable          *cancellable,
                     GAsyncReadyCallback    callback,
                     gpointer               user_data)
{
  SluiceMemoryDeadLetterStore *self = SLUICE_MEMORY_DEAD_LETTER_STORE (store);
  g_autoptr (GTask) task = new_task (self, cancellable, callback, user_data,
                                     memory_remove_async);
  guint64 *removed;

  if (g_task_return_error_if_cancelled (task))
    return;

  removed = g_new0 (guint64, 1);
  for (guint i = 0; i < ids->len; i++)
    {
      GSequenceIter *iter = g_hash_table_lookup (self->by_id, g_ptr_array_index (ids, i));

      if (iter == NULL)
        continue;
      forget (self, iter);
      (*removed)++;
    }
  g_task_return_pointer (task, removed, g_free);
}

static gboolean
memory_remove_finish (SluiceDeadLetterStore *store,
                      GAsyncResult          *result,
                      guint64               *out_removed,
                      GError               **error)
{
  g_autofree guint64 *removed = g_task_propagate_pointer (G_TASK (result), error);

  if (removed == NULL)
    return FALSE;
  if (out_removed != NULL)
    *out_removed = *removed;
  return TRUE;
}

static void
sluice_memory_dead_letter_store_iface_init (SluiceDeadLetterStoreInterface *iface)
{
  iface->put_async = memory_put_async;
  iface->put_finish = memory_put_finish;
  iface->get_async = memory_get_async;
  iface->get_finish = memory_get_finish;
  iface->list_async = memory_list_async;
  iface->list_finish = memory_list_finish;
  iface->remove_async = memory_remove_async;
  iface->remove_finish = memory_remove_finish;
}

/* Keeping them in a file (a daemon without Redis) */

/* A JSON array of sluice_dead_letter_to_json() objects, payloads included,
 * oldest first; written whole, atomically. */
static char *
serialize (gpointer owner)
{
  SluiceMemoryDeadLetterStore *self = owner;
  g_autoptr(JsonArray) array = json_array_new ();
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_ARRAY);

  for (GSequenceIter *iter = g_sequence_get_begin_iter (self->order);
       !g_sequence_iter_is_end (iter); iter = g_sequence_iter_next (iter))
    json_array_add_element (array, sluice_dead_letter_to_json (g_sequence_get (iter), TRUE));
  json_node_set_array (root, array);
  return json_to_string (root, FALSE);
}

gboolean
sluice_memory_dead_letter_store_set_file (SluiceDeadLetterStore *store,
                                          const char            *path,
                                          GError               **error)
{
  SluiceMemoryDeadLetterStore *self = SLUICE_MEMORY_DEAD_LETTER_STORE (store);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = NULL;
  gsize length;
  JsonNode *root;
  JsonArray *array;
  guint skipped = 0;

  g_return_val_if_fail (SLUICE_IS_MEMORY_DEAD_LETTER_STORE (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (!sluice_state_file_open (&self->file, path, &text, &length, error))
    return FALSE;
  if (text == NULL)
    return TRUE;
  if (!json_parser_load_from_data (parser, text, (gssize) length, &local_error) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                   "dead letters %s: not a dead-letter file (%s)", path,
                   local_error != NULL ? local_error->message : "not a JSON array");
      return FALSE;
    }
  array = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autoptr(GError) letter_error = NULL;
      SluiceDeadLetter *letter = sluice_dead_letter_new_from_json (json_array_get_element (array, i),
                                                                   &letter_error);

      if (letter == NULL)
        {
          skipped++;
          continue;
        }
      keep (self, letter);
    }
  if (skipped > 0)
    g_warning ("dead letters %s: %u damaged entr%s skipped", path, skipped,
               skipped == 1 ? "y" : "ies");
  return TRUE;
}

/* GObject */

static void
sluice_memory_dead_letter_store_dispose (GObject *object)
{
  SluiceMemoryDeadLetterStore *self = SLUICE_MEMORY_DEAD_LETTER_STORE (object);

  sluice_state_file_flush (&self->file);

  G_OBJECT_CLASS (sluice_memory_dead_letter_store_parent_class)->dispose (object);
}

static void
sluice_memory_dead_letter_store_finalize (GObject *object)
{
  SluiceMemoryDeadLetterStore *self = SLUICE_MEMORY_DEAD_LETTER_STORE (object);

  g_hash_table_unref (self->by_id);
  g_sequence_free (self->order);
  sluice_state_file_clear (&self->file);

  G_OBJECT_CLASS (sluice_memory_dead_letter_store_parent_class)->finalize (object);
}

static void
sluice_memory_dead_letter_store_class_init (SluiceMemoryDeadLetterStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = sluice_memory_dead_letter_store_dispose;
  G_OBJECT_CLASS (klass)->finalize = sluice_memory_dead_letter_store_finalize;
}

static void
sluice_memory_dead_letter_store_init (SluiceMemoryDeadLetterStore *self)
{
  self->order = g_sequence_new ((GDestroyNotify) sluice_dead_letter_free);
  self->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  sluice_state_file_init (&self->file, serialize, self, "dead letters");
}

SluiceDeadLetterStore *
sluice_memory_dead_letter_store_new (void)
{
  return g_object_new (SLUICE_TYPE_MEMORY_DEAD_LETTER_STORE, NULL);
}
