/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-managed-redis.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sluice/sluice.h>

#define READY_TIMEOUT_USEC (10 * G_USEC_PER_SEC)
#define READY_POLL_MS 20
#define STOP_TIMEOUT_MS 10000

struct _SluiceManagedRedis
{
  GObject parent_instance;

  GSubprocess *process;
  char        *dir;
  char        *socket_path;
  char        *url;
};

G_DEFINE_FINAL_TYPE (SluiceManagedRedis, sluice_managed_redis, G_TYPE_OBJECT)

char *
sluice_managed_redis_socket_path (const char *state_dir)
{
  return g_build_filename (state_dir, "redis", "redis.sock", NULL);
}

gboolean
sluice_managed_redis_is_running (const char *state_dir)
{
  g_autofree char *path = sluice_managed_redis_socket_path (state_dir);
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr(GSocketConnection) connection = NULL;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return FALSE;
  connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, NULL);
  return connection != NULL;
}

typedef struct {
  SluiceManagedRedis *redis;
  GCancellable       *watch;  /* cancelled once the start is decided */
  gint64              deadline;
  guint               timer;
  gboolean            exited;
} StartData;

static void
start_data_free (StartData *data)
{
  g_cancellable_cancel (data->watch);
  g_clear_object (&data->watch);
  g_clear_handle_id (&data->timer, g_source_remove);
  g_clear_object (&data->redis);
  g_free (data);
}

static void on_ping (GObject *object, GAsyncResult *result, gpointer user_data);

static gboolean
try_connect (gpointer user_data)
{
  GTask *task = user_data;
  StartData *data = g_task_get_task_data (task);
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (data->redis->socket_path);

  data->timer = 0;
  g_socket_client_connect_async (client, G_SOCKET_CONNECTABLE (address),
                                 g_task_get_cancellable (task), on_ping, task);
  return G_SOURCE_REMOVE;
}

static void
retry_or_fail (GTask *task, const char *reason)
{
  StartData *data = g_task_get_task_data (task);

  if (data->exited)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE,
                               "managed redis-server exited at start; see %s/redis.log",
                               data->redis->dir);
      g_object_unref (task);
      return;
    }
  if (g_get_monotonic_time () > data->deadline)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_TIMEOUT,
                               "managed redis-server did not answer on %s within 10 s (%s); "
                               "see %s/redis.log", data->redis->socket_path, reason,
                               data->redis->dir);
      g_subprocess_force_exit (data->redis->process);
      g_object_unref (task);
      return;
    }
  data->timer = g_timeout_add (READY_POLL_MS, try_connect, task);
}

static void
on_pong (GObject *object, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  StartData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (object),
                                                                result, NULL, &error);

  /* A server still loading its AOF answers -LOADING: wait for +PONG. */
  if (line != NULL && g_str_has_prefix (line, "+PONG"))
    {
      g_task_return_pointer (task, g_object_ref (data->redis), g_object_unref);
      g_object_unref (task);
      return;
    }
  retry_or_fail (task, line != NULL ? line : (error != NULL ? error->message : "no answer"));
}

static void
on_ping (GObject *object, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) connection =
    g_socket_client_connect_finish (G_SOCKET_CLIENT (object), result, &error);
  g_autoptr(GDataInputStream) input = NULL;

  if (connection == NULL)
    {
      retry_or_fail (task, error->message);
      return;
    }
  if (!g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                  "PING\r\n", 6, NULL, NULL, &error))
    {
      retry_or_fail (task, error->message);
      return;
    }
  input = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  /* The connection must live until the reply: the stream holds it. */
  g_object_set_data_full (G_OBJECT (input), "connection", g_object_ref (connection),
                          g_object_unref);
  g_data_input_stream_read_line_async (input, G_PRIORITY_DEFAULT, g_task_get_cancellable (task),
                                       on_pong, task);
}

/* Only while the start is undecided: @user_data is gone once it is (the
 * wait is cancelled then). */
static void
on_exited_early (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!g_subprocess_wait_finish (G_SUBPROCESS (object), result, &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  ((StartData *) user_data)->exited = TRUE;
}

void
sluice_managed_redis_start_async (const char         *state_dir,
                                  GCancellable       *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer            user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr(SluiceManagedRedis) self = g_object_new (SLUICE_TYPE_MANAGED_REDIS, NULL);
  g_autofree char *server = g_find_program_in_path ("redis-server");
  g_autofree char *log_file = NULL;
  g_autoptr(GError) error = NULL;
  StartData *data;

  g_task_set_source_tag (task, sluice_managed_redis_start_async);

  if (server == NULL)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND,
                               "\"redis\": \"managed\" needs redis-server (Debian package "
                               "redis-server), which is not in PATH");
      g_object_unref (task);
      return;
    }

  self->dir = g_build_filename (state_dir, "redis", NULL);
  self->socket_path = sluice_managed_redis_socket_path (state_dir);
  self->url = g_strconcat ("unix://", self->socket_path, NULL);
  log_file = g_build_filename (self->dir, "redis.log", NULL);

  /* The folder holds the data: only we may read it. */
  if (g_mkdir_with_parents (self->dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_PERMISSION_DENIED,
                               "cannot create %s: %s", self->dir, g_strerror (saved_errno));
      g_object_unref (task);
      return;
    }
  g_unlink (self->socket_path);

  self->process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, server,
                                    "--port", "0",
                                    "--unixsocket", self->socket_path,
                                    "--unixsocketperm", "700",
                                    "--dir", self->dir,
                                    "--appendonly", "yes",
                                    "--appendfsync", "everysec",
                                    "--save", "",
                                    "--daemonize", "no",
                                    "--protected-mode", "yes",
                                    "--logfile", log_file,
                                    NULL);
  if (self->process == NULL)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE,
                               "cannot start %s: %s", server, error->message);
      g_object_unref (task);
      return;
    }

  data = g_new0 (StartData, 1);
  data->redis = g_object_ref (self);
  data->watch = g_cancellable_new ();
  data->deadline = g_get_monotonic_time () + READY_TIMEOUT_USEC;
  g_task_set_task_data (task, data, (GDestroyNotify) start_data_free);
  g_subprocess_wait_async (self->process, data->watch, on_exited_early, data);
  try_connect (task);
}

SluiceManagedRedis *
sluice_managed_redis_start_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

const char *
sluice_managed_redis_get_url (SluiceManagedRedis *self)
{
  return self->url;
}

static gboolean
on_stop_timeout (gpointer user_data)
{
  GTask *task = user_data;
  SluiceManagedRedis *self = g_task_get_source_object (task);

  g_warning ("managed redis-server did not stop within %d s; killing it", STOP_TIMEOUT_MS / 1000);
  g_subprocess_force_exit (self->process);
  return G_SOURCE_REMOVE;
}

static void
on_stopped (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  guint timer = GPOINTER_TO_UINT (g_task_get_task_data (task));
  g_autoptr(GError) error = NULL;

  g_source_remove (timer);
  if (!g_subprocess_wait_finish (G_SUBPROCESS (object), result, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

void
sluice_managed_redis_stop_async (SluiceManagedRedis *self,
                                 GCancellable       *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer            user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, sluice_managed_redis_stop_async);
  g_subprocess_send_signal (self->process, SIGTERM);
  g_task_set_task_data (task,
                        GUINT_TO_POINTER (g_timeout_add (STOP_TIMEOUT_MS, on_stop_timeout, task)),
                        NULL);
  g_subprocess_wait_async (self->process, cancellable, on_stopped, g_steal_pointer (&task));
}

gboolean
sluice_managed_redis_stop_finish (SluiceManagedRedis *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
sluice_managed_redis_finalize (GObject *object)
{
  SluiceManagedRedis *self = SLUICE_MANAGED_REDIS (object);

  /* Never leave a server behind, even on an error path. */
  if (self->process != NULL && g_subprocess_get_identifier (self->process) != NULL)
    g_subprocess_force_exit (self->process);
  g_clear_object (&self->process);
  g_free (self->dir);
  g_free (self->socket_path);
  g_free (self->url);

  G_OBJECT_CLASS (sluice_managed_redis_parent_class)->finalize (object);
}

static void
sluice_managed_redis_class_init (SluiceManagedRedisClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sluice_managed_redis_finalize;
}

static void
sluice_managed_redis_init (SluiceManagedRedis *self)
{
}
