/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "redis-test-server.h"

#include "sluice-test-fs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#define START_ATTEMPTS 5
#define READY_TIMEOUT_USEC (20 * G_USEC_PER_SEC)

struct _RedisTestServer
{
  GSubprocess *process;
  char        *dir;
  char        *socket_path;
  char        *url;
  char        *password;
  gboolean     appendonly;
  guint16      port;
};

static guint16
free_port (void)
{
  struct sockaddr_in addr = { 0 };
  socklen_t          len = sizeof addr;
  int                fd = socket (AF_INET, SOCK_STREAM, 0);

  g_assert_cmpint (fd, >=, 0);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  addr.sin_port = 0;
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &addr, &len), ==, 0);
  close (fd);
  return ntohs (addr.sin_port);
}

/* The server must not outlive a crashed test. */
static void
child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static char *
read_log (RedisTestServer *self)
{
  g_autofree char *path = g_build_filename (self->dir, "redis.log", NULL);
  char            *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("(no log)");
  return text;
}

static redisContext *
try_connect (RedisTestServer *self,
             char           **out_problem)
{
  struct timeval timeout = { 1, 0 };
  redisContext  *ctx = redisConnectWithTimeout ("127.0.0.1", self->port, timeout);
  redisReply    *reply;

  if (ctx == NULL || ctx->err != 0)
    {
      *out_problem = g_strdup (ctx != NULL ? ctx->errstr : "out of memory");
      if (ctx != NULL)
        redisFree (ctx);
      return NULL;
    }
  redisSetTimeout (ctx, timeout);

  if (self->password != NULL)
    {
      reply = redisCommand (ctx, "AUTH %s", self->password);
      if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
        {
          *out_problem = g_strdup_printf ("AUTH: %s", reply != NULL ? reply->str : ctx->errstr);
          if (reply != NULL)
            freeReplyObject (reply);
          redisFree (ctx);
          return NULL;
        }
      freeReplyObject (reply);
    }
  return ctx;
}

/* Waits for PONG: a server that loads its AOF answers LOADING first. */
static gboolean
wait_ready (RedisTestServer *self,
            char           **out_problem)
{
  gint64 deadline = g_get_monotonic_time () + READY_TIMEOUT_USEC;

  while (g_get_monotonic_time () < deadline)
    {
      redisContext *ctx;

      /* No identifier: reaped, so it exited. */
      if (g_subprocess_get_identifier (self->process) == NULL)
        {
          g_free (*out_problem);
          *out_problem = g_strdup ("redis-server exited");
          return FALSE;
        }

      g_clear_pointer (out_problem, g_free);
      ctx = try_connect (self, out_problem);
      if (ctx != NULL)
        {
          redisReply *reply = redisCommand (ctx, "PING");
          gboolean    pong = reply != NULL && reply->type == REDIS_REPLY_STATUS &&
                          g_str_equal (reply->str, "PONG");

          if (!pong)
            *out_problem = g_strdup (reply != NULL ? reply->str : ctx->errstr);
          if (reply != NULL)
            freeReplyObject (reply);
          redisFree (ctx);
          if (pong)
            return TRUE;
        }
      g_usleep (20 * 1000);
    }
  return FALSE;
}

static gboolean
spawn (RedisTestServer *self,
       char           **out_problem)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  const char *server = g_getenv ("REDIS_SERVER");

  if (server == NULL)
    server = "redis-server";

  g_ptr_array_add (argv, g_strdup (server));
  g_ptr_array_add (argv, g_strdup ("--port"));
  g_ptr_array_add (argv, g_strdup_printf ("%u", self->port));
  g_ptr_array_add (argv, g_strdup ("--bind"));
  g_ptr_array_add (argv, g_strdup ("127.0.0.1"));
  g_ptr_array_add (argv, g_strdup ("--save"));
  g_ptr_array_add (argv, g_strdup (""));
  g_ptr_array_add (argv, g_strdup ("--appendonly"));
  g_ptr_array_add (argv, g_strdup (self->appendonly ? "yes" : "no"));
  g_ptr_array_add (argv, g_strdup ("--dir"));
  g_ptr_array_add (argv, g_strdup (self->dir));
  g_ptr_array_add (argv, g_strdup ("--logfile"));
  g_ptr_array_add (argv, g_strdup ("redis.log"));
  g_ptr_array_add (argv, g_strdup ("--daemonize"));
  g_ptr_array_add (argv, g_strdup ("no"));
  g_ptr_array_add (argv, g_strdup ("--databases"));
  g_ptr_array_add (argv, g_strdup ("4"));
  if (self->password != NULL)
    {
      g_ptr_array_add (argv, g_strdup ("--requirepass"));
      g_ptr_array_add (argv, g_strdup (self->password));
    }
  if (self->socket_path != NULL)
    {
      g_ptr_array_add (argv, g_strdup ("--unixsocket"));
      g_ptr_array_add (argv, g_strdup (self->socket_path));
      g_ptr_array_add (argv, g_strdup ("--unixsocketperm"));
      g_ptr_array_add (argv, g_strdup ("700"));
    }
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  g_subprocess_launcher_set_cwd (launcher, self->dir);

  g_clear_object (&self->process);
  self->process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata,
                                                &error);
  if (self->process == NULL)
    {
      *out_problem = g_strdup_printf ("cannot run %s: %s", server, error->message);
      return FALSE;
    }

  if (wait_ready (self, out_problem))
    return TRUE;

  g_subprocess_force_exit (self->process);
  g_subprocess_wait (self->process, NULL, NULL);
  return FALSE;
}

RedisTestServer *
redis_test_server_start (const RedisTestServerOptions *options)
{
  RedisTestServer *self = g_new0 (RedisTestServer, 1);
  g_autoptr (GError) error = NULL;
  g_autofree char *problem = NULL;

  self->dir = g_dir_make_tmp ("sluice-redis-test-XXXXXX", &error);
  g_assert_no_error (error);
  if (options != NULL)
    {
      self->password = g_strdup (options->password);
      self->appendonly = options->appendonly;
      if (options->unix_socket)
        self->socket_path = g_build_filename (self->dir, "redis.sock", NULL);
    }

  /* Another process may take the free port before the server binds it:
   * then try another one. */
  for (guint attempt = 0; attempt < START_ATTEMPTS; attempt++)
    {
      g_clear_pointer (&problem, g_free);
      self->port = free_port ();
      if (spawn (self, &problem))
        {
          self->url = g_strdup_printf ("redis://127.0.0.1:%u/0", self->port);
          return self;
        }
    }

  {
    g_autofree char *log = read_log (self);

    g_test_message ("redis-server did not start: %s\n%s", problem, log);
  }
  g_assert_not_reached ();
  return NULL;
}

gboolean
redis_test_server_is_running (RedisTestServer *self)
{
  return self->process != NULL && g_subprocess_get_identifier (self->process) != NULL;
}

static void
wait_exit (RedisTestServer *self)
{
  g_autoptr (GError) error = NULL;

  g_subprocess_wait (self->process, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&self->process);
}

void
redis_test_server_stop (RedisTestServer *self)
{
  g_assert_nonnull (self->process);
  g_subprocess_send_signal (self->process, SIGTERM);
  wait_exit (self);
}

void
redis_test_server_kill (RedisTestServer *self)
{
  g_assert_nonnull (self->process);
  g_subprocess_force_exit (self->process);
  wait_exit (self);
}

void
redis_test_server_pause (RedisTestServer *self)
{
  const char *pid;
  g_autofree char *stat_path = NULL;

  g_assert_nonnull (self->process);
  g_subprocess_send_signal (self->process, SIGSTOP);

  /* kill() returns before the signal takes effect: on another core the
   * server may still answer one more command.  Wait until the kernel
   * reports it stopped ('T' in /proc/PID/stat) so the test's next call
   * really meets a frozen server. */
  pid = g_subprocess_get_identifier (self->process);
  stat_path = g_strdup_printf ("/proc/%s/stat", pid);
  for (guint i = 0; i < 2000; i++)
    {
      g_autofree char *stat = NULL;
      const char *state;

      if (!g_file_get_contents (stat_path, &stat, NULL, NULL))
        break;
      state = strrchr (stat, ')');
      if (state != NULL && (state[2] == 'T' || state[2] == 't'))
        return;
      g_usleep (1000);
    }
  g_error ("redis-server %s did not stop after SIGSTOP", pid);
}

void
redis_test_server_resume (RedisTestServer *self)
{
  g_assert_nonnull (self->process);
  g_subprocess_send_signal (self->process, SIGCONT);
}

void
redis_test_server_restart (RedisTestServer *self)
{
  g_autofree char *problem = NULL;

  g_assert_null (self->process);

  /* The port was ours; it stays free unless someone grabs it now, which
   * the test cannot work around (clients know this port). */
  for (guint attempt = 0; attempt < START_ATTEMPTS; attempt++)
    {
      g_clear_pointer (&problem, g_free);
      if (spawn (self, &problem))
        return;
      g_usleep (200 * 1000);
    }

  {
    g_autofree char *log = read_log (self);

    g_test_message ("redis-server did not restart on port %u: %s\n%s", self->port, problem, log);
  }
  g_assert_not_reached ();
}

void
redis_test_server_free (RedisTestServer *self)
{
  if (self == NULL)
    return;
  if (self->process != NULL)
    {
      g_subprocess_force_exit (self->process);
      g_subprocess_wait (self->process, NULL, NULL);
      g_clear_object (&self->process);
    }
  sluice_test_rm_rf (self->dir);
  g_free (self->dir);
  g_free (self->socket_path);
  g_free (self->url);
  g_free (self->password);
  g_free (self);
}

guint16
redis_test_server_get_port (RedisTestServer *self)
{
  return self->port;
}

const char *
redis_test_server_get_dir (RedisTestServer *self)
{
  return self->dir;
}

const char *
redis_test_server_get_url (RedisTestServer *self)
{
  return self->url;
}

const char *
redis_test_server_get_socket_path (RedisTestServer *self)
{
  return self->socket_path;
}

redisContext *
redis_test_server_connect (RedisTestServer *self)
{
  g_autofree char *problem = NULL;
  redisContext    *ctx = try_connect (self, &problem);

  if (ctx == NULL)
    g_test_message ("cannot connect to redis on port %u: %s", self->port, problem);
  g_assert_nonnull (ctx);
  return ctx;
}

redisReply *
redis_test_server_command (RedisTestServer *self,
                           const char      *format,
                           ...)
{
  g_autoptr (redisContext) ctx = redis_test_server_connect (self);
  redisReply *reply;
  va_list     args;

  va_start (args, format);
  reply = redisvCommand (ctx, format, args);
  va_end (args);

  if (reply == NULL)
    g_test_message ("redis command '%s' failed: %s", format, ctx->errstr);
  g_assert_nonnull (reply);
  if (reply->type == REDIS_REPLY_ERROR)
    g_test_message ("redis command '%s' failed: %s", format, reply->str);
  g_assert_cmpint (reply->type, !=, REDIS_REPLY_ERROR);
  return reply;
}
