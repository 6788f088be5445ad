/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-memory-state-store.h"

#include "sluice-state-file.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
  GBytes *value;
  gint64  expires; /* monotonic usec; 0: never */
} Entry;

typedef struct {
  double tokens;
  gint64 updated;  /* monotonic usec */
} Bucket;

struct _SluiceMemoryStateStore
{
  GObject parent_instance;

  SluiceClock *clock;
  GHashTable  *entries; /* key -> Entry (keys, locks, counters share one namespace) */
  GHashTable  *buckets; /* name -> Bucket */
  guint        operations;
  SluiceStateFile file; /* where entries are kept between runs */
};

static void sluice_memory_state_store_iface_init (SluiceStateStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SluiceMemoryStateStore, sluice_memory_state_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STATE_STORE,
                                                      sluice_memory_state_store_iface_init))

#define SWEEP_EVERY 1024

static void
entry_free (Entry *entry)
{
  g_bytes_unref (entry->value);
  g_free (entry);
}

static gint64
now (SluiceMemoryStateStore *self)
{
  return sluice_clock_get_monotonic_time (self->clock);
}

/* Drops expired entries now and then, so keys nobody reads again do not
 * pile up. */
static void
maybe_sweep (SluiceMemoryStateStore *self)
{
  GHashTableIter iter;
  Entry *entry;
  gint64 t;

  if (++self->operations % SWEEP_EVERY != 0)
    return;
  t = now (self);
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    if (entry->expires != 0 && entry->expires <= t)
      g_hash_table_iter_remove (&iter);
}

static Entry *
lookup (SluiceMemoryStateStore *self, const char *key)
{
  Entry *entry = g_hash_table_lookup (self->entries, key);

  maybe_sweep (self);
  if (entry != NULL && entry->expires != 0 && entry->expires <= now (self))
    {
      g_hash_table_remove (self->entries, key);
      return NULL;
    }
  return entry;
}

static void
store (SluiceMemoryStateStore *self, const char *key, GBytes *value, gint64 ttl_usec)
{
  Entry *entry = g_new0 (Entry, 1);

  entry->value = g_bytes_ref (value);
  entry->expires = ttl_usec > 0 ? now (self) + ttl_usec : 0;
  g_hash_table_replace (self->entries, g_strdup (key), entry);
  sluice_state_file_changed (&self->file);
}

/* Every operation completes at once; the GTask still reports on the next
 * main loop turn, as callers of an async API expect. */
static GTask *
task_new (gpointer self, GCancellable *cancellable, GAsyncReadyCallback callback,
          gpointer user_data, gpointer tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, tag);
  return task;
}

static void
memory_get_async (SluiceStateStore *store_, const char *key, GCancellable *cancellable,
                  GAsyncReadyCallback callback, gpointer user_data)
{
  SluiceMemoryStateStore *self = SLUICE_MEMORY_STATE_STORE (store_);
  g_autoptr(GTask) task = task_new (self, cancellable, callback, user_data, memory_get_async);
  Entry *entry = lookup (self, key);

  g_task_return_pointer (task, entry != NULL ? g_bytes_ref (entry->value) : NULL,
                         (GDestroyNotify) g_bytes_unref);
}

static GBytes *
memory_get_finish (SluiceStateStore *store_, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
memory_set_async (SluiceStateStore *store_, const char *key, GBytes *value, gint64 ttl_usec,
                  GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  SluiceMemoryStateStore *self = SLUICE_MEMORY_STATE_STORE (store_);
  g_autoptr(GTask) task = task_new (self, cancellable, callback, user_data, memory_set_async);

  store (self, key, value, ttl_usec);
  g_task_return_boolean (task, TRUE);
}

static gboolean
boolean_finish (SluiceStateStore *store_, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Operations that report a flag return it as the task's int value. */
static gboolean
flag_finish (GAsyncResult *result, gboolean *out_flag, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  gssize value = g_task_propagate_int (G_TASK (result), &local_error);

  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (out_flag != NULL)
    *out_flag = value != 0;
  return TRUE;
}

static void
memory_add_if_absent_async (SluiceStateStore *store_, const char *key, GBytes *value,
                            gint64 ttl_usec, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  SluiceMemoryStateStore *self = SLUICE_MEMORY_STATE_STORE (store_);
  g_autoptr(GTask) task = task_new (self, cancellable, callback, user_data,
                                    memory_add_if_absent_async);
  gboolean added = lookup (self, key) == NULL;

  if (added)
    store (self, key, value, ttl_usec);
  g_task_return_int (task, added);
}

static gboolean
memory_add_if_absent_finish (SluiceStateStore *store_, GAsyncResult *result, gboolean *out_added,
                             GError **error)
{
  return flag_finish (result, out_added, error);
}

static void
memory_delete_async (SluiceStateStore *store_, const char *key, GCancellable *cancellable,
                     GAsyncReadyCallback callback, gpointer user_data)
{
  SluiceMemoryStateStore *self = SLUICE_MEMORY_STATE_STORE (store_);
  g_autoptr(GTask) task = task_new (self, cancellable, callback, user_data, memory_delete_async);
  gboolean existed = lookup (self, key) != NULL;

  if (g_hash_table_remove (self->entries, key))
    sluice_state_file_changed (&self->file);
  g_task_return_int (task, existed);
}

static gboolean
memory_delete_finish (SluiceStateStore *store_, GAsyncResult *result, gboolean *out_deleted,
                      GError **error)
{
  return flag_finish (result, out_deleted, error);
}

static char *
lock_key (const char *name)
{
  return g_strconcat ("lock:", name, NULL);
}

static void
memory_lock_async (SluiceStateStore *store_, const char *name, const char *owner,
                   gint64 lease_usec, GCancellable *cancellable, GAsyncReadyCallback callback,
                   gpointer user_data)
{
  SluiceMemoryStateStore *self = SLUICE_MEMORY_STATE_STORE (store_);
  g_autoptr(GTask) task = task_new (self, cancellable, callback, user_data, memory_lock_async);
  g_autofree char *key = lock_key (name);
  Entry *entry = lookup (self, key);
  gboolean acquired;

  /* Free, or already ours: (re)take it with a fresh lease. */
  acquired = entry == NULL ||
             (g_bytes_get_size (entry->value) == strlen (owner) &&
              memcmp (g_bytes_get_data (entry->value, NULL), owner, strlen (owner)) == 0);
  if (acquired)
    {
      g_autoptr(GBytes) value = g_bytes_new (owner, strlen (owner));

      store (self, key, value, lease_usec);
    }
  g_task_return_int (task, acquired);
}

static gboolean
memory_lock_finish (SluiceStateStore *store_, GAsyncResult *result, gboolean *out_acquired,
                    GError **error)
{
  return flag_finish (result, out_acquired, error);
}

static void
memory_unlock_async (SluiceStateStore *store_, const char *name, const char *owner,
                     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  SluiceMemoryStateStore *self = SLUICE_MEMORY_STATE_STORE (store_);
  g_autoptr(GTask) task = task_new (self, cancellable, callback, user_data, memory_unlock_async);
  g_autofree char *key = lock_key (name);
  Entry *entry = lookup (self, key);

  if (entry != NULL && g_bytes_get_size (entry->value) == strlen (owner) &&
      memcmp (g_bytes_get_data (entry->value, NULL), owner, strlen (owner)) == 0)
    {
      g_hash_table_remove (self->entries, key);
      sluice_state_file_changed (&self->file);
    }
  g_task_return_boolean (task, TRUE);
}

static void
memory_increment_async (SluiceStateStore *store_, const char *key, gint64 delta, gint64 ttl_usec,
                        GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data)
{
  SluiceMemoryStateStore *self = SLUICE_MEMORY_STATE_STORE (store_);
  g_autoptr(GTask) task = task_new (self, cancellable, callback, user_data,
                                    memory_increment_async);
  Entry *entry = lookup (self, key);
  gint64 value = 0;
  g_autofree char *text = NULL;

  if (entry != NULL)
    {
      g_autofree char *current = g_strndup (g_bytes_get_data (entry->value, NULL),
                                            g_bytes_get_size (entry->value));
      char *end = NULL;

      value = g_ascii_strtoll (current, &end, 10);
      if (end == current || *end != '\0')
        {
          g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                                   "key '%s' does not hold a counter", key);
          return;
        }
    }
  if ((delta > 0 && value > G_MAXINT64 - delta) || (delta < 0 && value < G_MININT64 - delta))
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                               "counter '%s' would overflow", key);
      return;
    }
  value += delta;
  text = g_strdup_printf ("%" G_GINT64_FORMAT, value);
  if (entry != NULL)
    {
      /* The TTL is set when the counter is created, not on every change. */
      g_bytes_unref (entry->value);
      entry->value = g_bytes_new (text, strlen (text));
      sluice_state_file_changed (&self->file);
    }
  else
    {
      g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));

      store (self, key, bytes, ttl_usec);
    }
  g_task_return_pointer (task, g_memdup2 (&value, sizeof value), g_free);
}

static gboolean
memory_increment_finish (SluiceStateStore *store_, GAsyncResult *result, gint64 *out_value,
                         GError **error)
{
  g_autofree gint64 *value = g_task_propagate_pointer (G_TASK (result), error);

  if (value == NULL)
    return FALSE;
  if (out_value != NULL)
    *out_value = *value;
  return TRUE;
}

static void
memory_take_tokens_async (SluiceStateStore *store_, const char *name, double rate, guint burst,
                          guint count, GCancellable *cancellable, GAsyncReadyCallback callback,
                          gpointer user_data)
{
  SluiceMemoryStateStore *self = SLUICE_MEMORY_STATE_STORE (store_);
  g_autoptr(GTask) task = task_new (self, cancellable, callback, user_data,
                                    memory_take_tokens_async);
  Bucket *bucket = g_hash_table_lookup (self->buckets, name);
  gint64 t = now (self);
  gint64 wait = 0;

  if (rate <= 0 || burst == 0 || count > burst)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                               "token bucket '%s': rate must be > 0 and count (%u) at most the "
                               "burst (%u)", name, count, burst);
      return;
    }
  if (bucket == NULL)
    {
      bucket = g_new0 (Bucket, 1);
      bucket->tokens = burst;
      bucket->updated = t;
      g_hash_table_insert (self->buckets, g_strdup (name), bucket);
    }

  bucket->tokens = MIN ((double) burst, bucket->tokens + (t - bucket->updated) * rate / G_USEC_PER_SEC);
  bucket->updated = t;
  if (bucket->tokens >= count)
    bucket->tokens -= count;
  else
    wait = (gint64) ceil ((count - bucket->tokens) * G_USEC_PER_SEC / rate);

  g_task_return_pointer (task, g_memdup2 (&wait, sizeof wait), g_free);
}

static gboolean
memory_take_tokens_finish (SluiceStateStore *store_, GAsyncResult *result, gint64 *out_wait_usec,
                           GError **error)
{
  return memory_increment_finish (store_, result, out_wait_usec, error);
}

static void
sluice_memory_state_store_iface_init (SluiceStateStoreInterface *iface)
{
  iface->get_async = memory_get_async;
  iface->get_finish = memory_get_finish;
  iface->set_async = memory_set_async;
  iface->set_finish = boolean_finish;
  iface->add_if_absent_async = memory_add_if_absent_async;
  iface->add_if_absent_finish = memory_add_if_absent_finish;
  iface->delete_async = memory_delete_async;
  iface->delete_finish = memory_delete_finish;
  iface->lock_async = memory_lock_async;
  iface->lock_finish = memory_lock_finish;
  iface->unlock_async = memory_unlock_async;
  iface->unlock_finish = boolean_finish;
  iface->increment_async = memory_increment_async;
  iface->increment_finish = memory_increment_finish;
  iface->take_tokens_async = memory_take_tokens_async;
  iface->take_tokens_finish = memory_take_tokens_finish;
}

/* ---- Keeping entries in a file (one host without Redis) ---- */

/* {"saved_real_usec": N, "entries": {key: {"value": base64, "expires_in_usec": N}}}:
 * expiry is kept relative to when the file was written, since the
 * monotonic clock starts over with the process. */
static char *
serialize (gpointer owner)
{
  SluiceMemoryStateStore *self = owner;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  GHashTableIter iter;
  const char *key;
  Entry *entry;
  gint64 t = now (self);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "saved_real_usec");
  json_builder_add_int_value (builder, sluice_clock_get_real_time (self->clock));
  json_builder_set_member_name (builder, "entries");
  json_builder_begin_object (builder);
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, (gpointer *) &key, (gpointer *) &entry))
    {
      gsize size;
      const guchar *data = g_bytes_get_data (entry->value, &size);
      g_autofree char *encoded = g_base64_encode (data, size);

      if (entry->expires != 0 && entry->expires <= t)
        continue;
      json_builder_set_member_name (builder, key);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "value");
      json_builder_add_string_value (builder, encoded);
      if (entry->expires != 0)
        {
          json_builder_set_member_name (builder, "expires_in_usec");
          json_builder_add_int_value (builder, entry->expires - t);
        }
      json_builder_end_object (builder);
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

static JsonObject *
member_object (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static gint64
member_int (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
         json_node_get_value_type (node) == G_TYPE_INT64 ? json_node_get_int (node) : 0;
}

gboolean
sluice_memory_state_store_set_file (SluiceStateStore *store_,
                                    const char       *path,
                                    GError          **error)
{
  SluiceMemoryStateStore *self = SLUICE_MEMORY_STATE_STORE (store_);
  g_autofree char *text = NULL;
  gsize length;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root, *entries;
  JsonObjectIter iter;
  const char *key;
  JsonNode *value;
  gint64 elapsed;

  g_return_val_if_fail (SLUICE_IS_MEMORY_STATE_STORE (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (!sluice_state_file_open (&self->file, path, &text, &length, error))
    return FALSE;
  if (text == NULL)
    return TRUE;
  if (!json_parser_load_from_data (parser, text, (gssize) length, &local_error) ||
      json_parser_get_root (parser) == NULL ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                   "state file %s: not a state file (%s)", path,
                   local_error != NULL ? local_error->message : "not a JSON object");
      return FALSE;
    }
  /* Whatever is malformed in it is skipped, entry by entry. */
  root = json_node_get_object (json_parser_get_root (parser));
  entries = member_object (root, "entries");
  if (entries == NULL)
    return TRUE;
  elapsed = MAX (0, sluice_clock_get_real_time (self->clock) - member_int (root, "saved_real_usec"));
  json_object_iter_init (&iter, entries);
  while (json_object_iter_next (&iter, &key, &value))
    {
      JsonObject *object = JSON_NODE_HOLDS_OBJECT (value) ? json_node_get_object (value) : NULL;
      JsonNode *encoded_node = object != NULL ? json_object_get_member (object, "value") : NULL;
      const char *encoded = NULL;
      gint64 expires_in = object != NULL ? member_int (object, "expires_in_usec") : 0;
      Entry *entry;
      gsize size = 0;
      guchar *data;

      if (encoded_node != NULL && JSON_NODE_HOLDS_VALUE (encoded_node) &&
          json_node_get_value_type (encoded_node) == G_TYPE_STRING)
        encoded = json_node_get_string (encoded_node);
      if (encoded == NULL || expires_in < 0)
        continue;
      /* No TTL is longer than a century; larger ones are damage. */
      expires_in = MIN (expires_in, 100 * 365 * G_TIME_SPAN_DAY);
      if (expires_in != 0 && expires_in <= elapsed)
        continue;
      data = g_base64_decode (encoded, &size);
      entry = g_new0 (Entry, 1);
      entry->value = g_bytes_new_take (data, size);
      entry->expires = expires_in != 0 ? now (self) + (expires_in - elapsed) : 0;
      g_hash_table_replace (self->entries, g_strdup (key), entry);
    }
  return TRUE;
}

static void
sluice_memory_state_store_dispose (GObject *object)
{
  SluiceMemoryStateStore *self = SLUICE_MEMORY_STATE_STORE (object);

  sluice_state_file_flush (&self->file);

  G_OBJECT_CLASS (sluice_memory_state_store_parent_class)->dispose (object);
}

static void
sluice_memory_state_store_finalize (GObject *object)
{
  SluiceMemoryStateStore *self = SLUICE_MEMORY_STATE_STORE (object);

  g_clear_pointer (&self->entries, g_hash_table_unref);
  g_clear_pointer (&self->buckets, g_hash_table_unref);
  g_clear_object (&self->clock);
  sluice_state_file_clear (&self->file);

  G_OBJECT_CLASS (sluice_memory_state_store_parent_class)->finalize (object);
}

static void
sluice_memory_state_store_class_init (SluiceMemoryStateStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = sluice_memory_state_store_dispose;
  G_OBJECT_CLASS (klass)->finalize = sluice_memory_state_store_finalize;
}

static void
sluice_memory_state_store_init (SluiceMemoryStateStore *self)
{
  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) entry_free);
  self->buckets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  sluice_state_file_init (&self->file, serialize, self, "state file");
}

SluiceStateStore *
sluice_memory_state_store_new (SluiceClock *clock)
{
  SluiceMemoryStateStore *self;

  g_return_val_if_fail (SLUICE_IS_CLOCK (clock), NULL);

  self = g_object_new (SLUICE_TYPE_MEMORY_STATE_STORE, NULL);
  self->clock = g_object_ref (clock);
  return SLUICE_STATE_STORE (self);
}
