/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-redis-state-store.h"

#include <string.h>

#include "sluice-redis-config.h"
#include "sluice-redis-connection.h"
#include "sluice-redis-scripts.h"

#define COMPONENT "redis.state-store"

typedef enum
{
  KIND_KEY,
  KIND_LOCK,
  KIND_BUCKET,
} KeyKind;

struct _SluiceRedisStateStore
{
  GObject parent_instance;

  SluiceRedisConnection *conn;
  char                  *prefix;
};

/* What a call needs when its reply comes. */
typedef struct
{
  SluiceRedisStateStore *self; /* borrowed from the task */
  char                  *what; /* "get key 'x'": for messages */
  char                  *name; /* the key, lock or bucket name */
} Call;

static void sluice_redis_state_store_initable_iface_init (GInitableIface *iface);
static void sluice_redis_state_store_iface_init (SluiceStateStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SluiceRedisStateStore, sluice_redis_state_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      sluice_redis_state_store_initable_iface_init)
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STATE_STORE,
                                                      sluice_redis_state_store_iface_init))

static void
call_free (Call *call)
{
  g_free (call->what);
  g_free (call->name);
  g_free (call);
}

static GTask *
new_task (SluiceRedisStateStore *self,
          const char            *name,
          GCancellable          *cancellable,
          GAsyncReadyCallback    callback,
          gpointer               user_data,
          gpointer               source_tag,
          const char            *format,
          ...) G_GNUC_PRINTF (7, 8);

static GTask *
new_task (SluiceRedisStateStore *self,
          const char            *name,
          GCancellable          *cancellable,
          GAsyncReadyCallback    callback,
          gpointer               user_data,
          gpointer               source_tag,
          const char            *format,
          ...)
{
  GTask  *task = g_task_new (self, cancellable, callback, user_data);
  Call   *call = g_new0 (Call, 1);
  va_list args;

  g_task_set_source_tag (task, source_tag);
  call->self = self;
  call->name = g_strdup (name);
  va_start (args, format);
  call->what = g_strdup_vprintf (format, args);
  va_end (args);
  g_task_set_task_data (task, call, (GDestroyNotify) call_free);
  return task;
}

static void
add_key (SluiceRedisStateStore *self,
         SluiceRedisCommand    *command,
         KeyKind                kind,
         const char            *name)
{
  static const char *const middles[] = {
    [KIND_KEY] = "state:",
    [KIND_LOCK] = "state:lock:",
    [KIND_BUCKET] = "state:bucket:",
  };
  gsize    prefix_len = strlen (self->prefix);
  gsize    middle_len = strlen (middles[kind]);
  gsize    name_len = strlen (name);
  GString *buf = sluice_redis_command_begin_arg (command, prefix_len + middle_len + name_len);

  g_string_append_len (buf, self->prefix, (gssize) prefix_len);
  g_string_append_len (buf, middles[kind], (gssize) middle_len);
  g_string_append_len (buf, name, (gssize) name_len);
  sluice_redis_command_end_arg (command);
}

/* Redis takes whole milliseconds; a TTL is rounded up so that a short one
 * never becomes none. */
static gint64
usec_to_msec_ceil (gint64 usec)
{
  return MAX ((usec + 999) / 1000, 1);
}

static gboolean
return_if_error (GTask      *task,
                 redisReply *reply,
                 GError     *error)
{
  Call *call = g_task_get_task_data (task);

  if (error != NULL)
    {
      g_task_return_error (task, error);
      return TRUE;
    }
  if (reply->type == REDIS_REPLY_ERROR)
    {
      if (strstr (reply->str, "not an integer") != NULL)
        g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                                 "%s: key '%s' does not hold a counter",
                                 sluice_redis_connection_get_url (call->self->conn), call->name);
      else if (strstr (reply->str, "overflow") != NULL)
        g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                                 "%s: counter '%s' would overflow",
                                 sluice_redis_connection_get_url (call->self->conn), call->name);
      else
        g_task_return_error (task, sluice_redis_connection_reply_error (call->self->conn, reply,
                                                                        "%s", call->what));
      return TRUE;
    }
  return FALSE;
}

static void
return_unexpected (GTask            *task,
                   const redisReply *reply)
{
  Call *call = g_task_get_task_data (task);

  g_task_return_error (task, sluice_redis_connection_reply_error (call->self->conn, reply, "%s",
                                                                  call->what));
}

/* An integer reply as the task's int: the flag of add_if_absent, delete,
 * lock. */
static void
flag_reply (redisReply *reply,
            GError     *error,
            gpointer    user_data)
{
  GTask *task = user_data;

  if (!return_if_error (task, reply, error))
    {
      if (reply->type == REDIS_REPLY_INTEGER)
        g_task_return_int (task, reply->integer != 0);
      else
        return_unexpected (task, reply);
    }
  g_object_unref (task);
}

static gboolean
flag_finish (GAsyncResult *result,
             gboolean     *out_flag,
             GError      **error)
{
  GError *local_error = NULL;
  gssize  value = g_task_propagate_int (G_TASK (result), &local_error);

  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  if (out_flag != NULL)
    *out_flag = value != 0;
  return TRUE;
}

static gboolean
boolean_finish (SluiceStateStore *store,
                GAsyncResult     *result,
                GError          **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* get */

static void
get_reply (redisReply *reply,
           GError     *error,
           gpointer    user_data)
{
  GTask *task = user_data;

  if (!return_if_error (task, reply, error))
    {
      if (reply->type == REDIS_REPLY_NIL)
        g_task_return_pointer (task, NULL, NULL);
      else if (reply->type == REDIS_REPLY_STRING)
        g_task_return_pointer (task, g_bytes_new (reply->str, reply->len),
                               (GDestroyNotify) g_bytes_unref);
      else
        return_unexpected (task, reply);
    }
  g_object_unref (task);
}

static void
redis_get_async (SluiceStateStore   *store,
                 const char         *key,
                 GCancellable       *cancellable,
                 GAsyncReadyCallback callback,
                 gpointer            user_data)
{
  SluiceRedisStateStore *self = SLUICE_REDIS_STATE_STORE (store);
  GTask                 *task = new_task (self, key, cancellable, callback, user_data,
                                          redis_get_async, "get key '%s'", key);
  SluiceRedisCommand    *command = sluice_redis_command_new (2, strlen (key) + 32);

  sluice_redis_command_add_string (command, "GET");
  add_key (self, command, KIND_KEY, key);
  sluice_redis_connection_send (self->conn, command, get_reply, task);
}

static GBytes *
redis_get_finish (SluiceStateStore *store,
                  GAsyncResult     *result,
                  GError          **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* set and add_if_absent */

static void
set_reply (redisReply *reply,
           GError     *error,
           gpointer    user_data)
{
  GTask *task = user_data;

  if (!return_if_error (task, reply, error))
    {
      if (reply->type == REDIS_REPLY_STATUS)
        g_task_return_boolean (task, TRUE);
      else
        return_unexpected (task, reply);
    }
  g_object_unref (task);
}

/* SET NX answers OK when it wrote and nil when the key existed. */
static void
add_if_absent_reply (redisReply *reply,
                     GError     *error,
                     gpointer    user_data)
{
  GTask *task = user_data;

  if (!return_if_error (task, reply, error))
    {
      if (reply->type == REDIS_REPLY_STATUS)
        g_task_return_int (task, TRUE);
      else if (reply->type == REDIS_REPLY_NIL)
        g_task_return_int (task, FALSE);
      else
        return_unexpected (task, reply);
    }
  g_object_unref (task);
}

static SluiceRedisCommand *
set_command (SluiceRedisStateStore *self,
             const char            *key,
             GBytes                *value,
             gint64                 ttl_usec,
             gboolean               only_if_absent)
{
  gsize               len = 0;
  const char         *data = g_bytes_get_data (value, &len);
  SluiceRedisCommand *command;

  command = sluice_redis_command_new (3 + (only_if_absent ? 1 : 0) + (ttl_usec > 0 ? 2 : 0),
                                      strlen (key) + len + 64);
  sluice_redis_command_add_string (command, "SET");
  add_key (self, command, KIND_KEY, key);
  sluice_redis_command_add (command, data, len);
  if (only_if_absent)
    sluice_redis_command_add_string (command, "NX");
  if (ttl_usec > 0)
    {
      sluice_redis_command_add_string (command, "PX");
      sluice_redis_command_add_int (command, usec_to_msec_ceil (ttl_usec));
    }
  return command;
}

static void
redis_set_async (SluiceStateStore   *store,
                 const char         *key,
                 GBytes             *value,
                 gint64              ttl_usec,
                 GCancellable       *cancellable,
                 GAsyncReadyCallback callback,
                 gpointer            user_data)
{
  SluiceRedisStateStore *self = SLUICE_REDIS_STATE_STORE (store);
  GTask                 *task = new_task (self, key, cancellable, callback, user_data,
                                          redis_set_async, "set key '%s'", key);

  sluice_redis_connection_send (self->conn, set_command (self, key, value, ttl_usec, FALSE),
                                set_reply, task);
}

static void
redis_add_if_absent_async (SluiceStateStore   *store,
                           const char         *key,
                           GBytes             *value,
                           gint64              ttl_usec,
                           GCancellable       *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer            user_data)
{
  SluiceRedisStateStore *self = SLUICE_REDIS_STATE_STORE (store);
  GTask                 *task = new_task (self, key, cancellable, callback, user_data,
                                          redis_add_if_absent_async, "add key '%s'", key);

  sluice_redis_connection_send (self->conn, set_command (self, key, value, ttl_usec, TRUE),
                                add_if_absent_reply, task);
}

static gboolean
redis_add_if_absent_finish (SluiceStateStore *store,
                            GAsyncResult     *result,
                            gboolean         *out_added,
                            GError          **error)
{
  return flag_finish (result, out_added, error);
}

/* delete */

static void
redis_delete_async (SluiceStateStore   *store,
                    const char         *key,
                    GCancellable       *cancellable,
                    GAsyncReadyCallback callback,
                    gpointer            user_data)
{
  SluiceRedisStateStore *self = SLUICE_REDIS_STATE_STORE (store);
  GTask                 *task = new_task (self, key, cancellable, callback, user_data,
                                          redis_delete_async, "delete key '%s'", key);
  SluiceRedisCommand    *command = sluice_redis_command_new (2, strlen (key) + 32);

  sluice_redis_command_add_string (command, "DEL");
  add_key (self, command, KIND_KEY, key);
  sluice_redis_connection_send (self->conn, command, flag_reply, task);
}

static gboolean
redis_delete_finish (SluiceStateStore *store,
                     GAsyncResult     *result,
                     gboolean         *out_deleted,
                     GError          **error)
{
  return flag_finish (result, out_deleted, error);
}

/* lock and unlock */

static void
redis_lock_async (SluiceStateStore   *store,
                  const char         *name,
                  const char         *owner,
                  gint64              lease_usec,
                  GCancellable       *cancellable,
                  GAsyncReadyCallback callback,
                  gpointer            user_data)
{
  SluiceRedisStateStore *self = SLUICE_REDIS_STATE_STORE (store);
  GTask                 *task = new_task (self, name, cancellable, callback, user_data,
                                          redis_lock_async, "take lock '%s'", name);
  SluiceRedisCommand    *command;

  command = sluice_redis_command_new_script (SLUICE_REDIS_SCRIPT_STATE_LOCK, 1, 2,
                                             strlen (name) + strlen (owner) + 64);
  add_key (self, command, KIND_LOCK, name);
  sluice_redis_command_add_string (command, owner);
  sluice_redis_command_add_int (command, usec_to_msec_ceil (lease_usec));
  sluice_redis_connection_send (self->conn, command, flag_reply, task);
}

static gboolean
redis_lock_finish (SluiceStateStore *store,
                   GAsyncResult     *result,
                   gboolean         *out_acquired,
                   GError          **error)
{
  return flag_finish (result, out_acquired, error);
}

static void
unlock_reply (redisReply *reply,
              GError     *error,
              gpointer    user_data)
{
  GTask *task = user_data;

  if (!return_if_error (task, reply, error))
    {
      if (reply->type == REDIS_REPLY_INTEGER)
        g_task_return_boolean (task, TRUE);
      else
        return_unexpected (task, reply);
    }
  g_object_unref (task);
}

static void
redis_unlock_async (SluiceStateStore   *store,
                    const char         *name,
                    const char         *owner,
                    GCancellable       *cancellable,
                    GAsyncReadyCallback callback,
                    gpointer            user_data)
{
  SluiceRedisStateStore *self = SLUICE_REDIS_STATE_STORE (store);
  GTask                 *task = new_task (self, name, cancellable, callback, user_data,
                                          redis_unlock_async, "release lock '%s'", name);
  SluiceRedisCommand    *command;

  command = sluice_redis_command_new_script (SLUICE_REDIS_SCRIPT_STATE_UNLOCK, 1, 1,
                                             strlen (name) + strlen (owner) + 32);
  add_key (self, command, KIND_LOCK, name);
  sluice_redis_command_add_string (command, owner);
  sluice_redis_connection_send (self->conn, command, unlock_reply, task);
}

/* increment and take_tokens: an integer out value */

static void
int64_reply (redisReply *reply,
             GError     *error,
             gpointer    user_data)
{
  GTask *task = user_data;
  gint64 value;
  char  *end = NULL;

  if (return_if_error (task, reply, error))
    goto out;

  if (reply->type == REDIS_REPLY_INTEGER)
    value = reply->integer;
  else if (reply->type == REDIS_REPLY_STRING &&
           (value = g_ascii_strtoll (reply->str, &end, 10), end != reply->str && *end == '\0'))
    ;
  else
    {
      return_unexpected (task, reply);
      goto out;
    }
  g_task_return_pointer (task, g_memdup2 (&value, sizeof value), g_free);

out:
  g_object_unref (task);
}

static gboolean
int64_finish (GAsyncResult *result,
              gint64       *out_value,
              GError      **error)
{
  g_autofree gint64 *value = g_task_propagate_pointer (G_TASK (result), error);

  if (value == NULL)
    return FALSE;
  if (out_value != NULL)
    *out_value = *value;
  return TRUE;
}

static void
redis_increment_async (SluiceStateStore   *store,
                       const char         *key,
                       gint64              delta,
                       gint64              ttl_usec,
                       GCancellable       *cancellable,
                       GAsyncReadyCallback callback,
                       gpointer            user_data)
{
  SluiceRedisStateStore *self = SLUICE_REDIS_STATE_STORE (store);
  GTask                 *task = new_task (self, key, cancellable, callback, user_data,
                                          redis_increment_async, "increment counter '%s'", key);
  SluiceRedisCommand    *command;

  command = sluice_redis_command_new_script (SLUICE_REDIS_SCRIPT_STATE_INCREMENT, 1, 2,
                                             strlen (key) + 64);
  add_key (self, command, KIND_KEY, key);
  sluice_redis_command_add_int (command, delta);
  sluice_redis_command_add_int (command, ttl_usec > 0 ? usec_to_msec_ceil (ttl_usec) : 0);
  sluice_redis_connection_send (self->conn, command, int64_reply, task);
}

static gboolean
redis_increment_finish (SluiceStateStore *store,
                        GAsyncResult     *result,
                        gint64           *out_value,
                        GError          **error)
{
  return int64_finish (result, out_value, error);
}

static void
redis_take_tokens_async (SluiceStateStore   *store,
                         const char         *bucket,
                         double              rate,
                         guint               burst,
                         guint               count,
                         GCancellable       *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer            user_data)
{
  SluiceRedisStateStore *self = SLUICE_REDIS_STATE_STORE (store);
  GTask                 *task = new_task (self, bucket, cancellable, callback, user_data,
                                          redis_take_tokens_async,
                                          "take tokens from bucket '%s'", bucket);
  SluiceRedisCommand    *command;
  char                   rate_text[G_ASCII_DTOSTR_BUF_SIZE];

  if (!(rate > 0) || burst == 0 || count > burst)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                               "token bucket '%s': rate must be > 0 and count (%u) at most the "
                               "burst (%u)",
                               bucket, count, burst);
      g_object_unref (task);
      return;
    }

  command = sluice_redis_command_new_script (SLUICE_REDIS_SCRIPT_STATE_TAKE_TOKENS, 1, 3,
                                             strlen (bucket) + 96);
  add_key (self, command, KIND_BUCKET, bucket);
  sluice_redis_command_add_string (command, g_ascii_dtostr (rate_text, sizeof rate_text, rate));
  sluice_redis_command_add_int (command, burst);
  sluice_redis_command_add_int (command, count);
  sluice_redis_connection_send (self->conn, command, int64_reply, task);
}

static gboolean
redis_take_tokens_finish (SluiceStateStore *store,
                          GAsyncResult     *result,
                          gint64           *out_wait_usec,
                          GError          **error)
{
  return int64_finish (result, out_wait_usec, error);
}

static void
sluice_redis_state_store_iface_init (SluiceStateStoreInterface *iface)
{
  iface->get_async = redis_get_async;
  iface->get_finish = redis_get_finish;
  iface->set_async = redis_set_async;
  iface->set_finish = boolean_finish;
  iface->add_if_absent_async = redis_add_if_absent_async;
  iface->add_if_absent_finish = redis_add_if_absent_finish;
  iface->delete_async = redis_delete_async;
  iface->delete_finish = redis_delete_finish;
  iface->lock_async = redis_lock_async;
  iface->lock_finish = redis_lock_finish;
  iface->unlock_async = redis_unlock_async;
  iface->unlock_finish = boolean_finish;
  iface->increment_async = redis_increment_async;
  iface->increment_finish = redis_increment_finish;
  iface->take_tokens_async = redis_take_tokens_async;
  iface->take_tokens_finish = redis_take_tokens_finish;
}

/* GInitable */

static gboolean
sluice_redis_state_store_initable_init (GInitable    *initable,
                                        GCancellable *cancellable,
                                        GError      **error)
{
  SluiceRedisStateStore *self = SLUICE_REDIS_STATE_STORE (initable);
  SluiceContext         *context = sluice_component_get_context (self);
  SluiceRedisConfig     *config;

  config = sluice_redis_config_new (context, sluice_component_get_config (self), COMPONENT, error);
  if (config == NULL)
    return FALSE;

  self->prefix = g_strdup (config->prefix);
  self->conn = sluice_redis_connection_new (config, context);
  return TRUE;
}

static void
sluice_redis_state_store_initable_iface_init (GInitableIface *iface)
{
  iface->init = sluice_redis_state_store_initable_init;
}

/* GObject */

static void
sluice_redis_state_store_finalize (GObject *object)
{
  SluiceRedisStateStore *self = SLUICE_REDIS_STATE_STORE (object);

  g_clear_object (&self->conn);
  g_free (self->prefix);

  G_OBJECT_CLASS (sluice_redis_state_store_parent_class)->finalize (object);
}

static void
sluice_redis_state_store_class_init (SluiceRedisStateStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sluice_redis_state_store_finalize;
}

static void
sluice_redis_state_store_init (SluiceRedisStateStore *self)
{
}
