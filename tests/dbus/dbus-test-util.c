/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dbus-test-util.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define RUN_TIMEOUT_MS 30000
#define START_TIMEOUT_MS 30000
#define STOP_TIMEOUT_MS 30000

static gboolean
set_flag (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

void
dbus_test_iterate (guint ms)
{
  GMainContext *context = g_main_context_get_thread_default ();
  gboolean      done = FALSE;
  GSource      *timeout = g_timeout_source_new (ms);

  g_source_set_callback (timeout, set_flag, &done, NULL);
  g_source_attach (timeout, context);
  while (!done)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timeout);
  g_source_unref (timeout);
}

void
dbus_test_assert_remote_error_impl (const char   *file,
                                    int           line,
                                    const char   *func,
                                    const GError *error,
                                    const char   *name)
{
  g_autofree char *remote = NULL;
  g_autofree char *message = NULL;

  if (error == NULL)
    {
      message = g_strdup_printf ("expected the D-Bus error %s, the call succeeded", name);
      g_assertion_message (G_LOG_DOMAIN, file, line, func, message);
      return;
    }
  if (g_dbus_error_is_remote_error (error))
    remote = g_dbus_error_get_remote_error (error);
  if (g_strcmp0 (remote, name) != 0)
    {
      message = g_strdup_printf ("expected the D-Bus error %s, got %s (%s)", name,
                                 remote != NULL ? remote : "a local error", error->message);
      g_assertion_message (G_LOG_DOMAIN, file, line, func, message);
    }
}

guint
dbus_test_count_lines (const char *path)
{
  g_autofree char *text = NULL;
  guint            lines = 0;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  for (const char *p = text; *p != '\0'; p++)
    if (*p == '\n')
      lines++;
  return lines;
}

void
dbus_test_write_file (const char *path,
                      const char *dir,
                      const char *text)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) parts = g_strsplit (text, "@DIR@", -1);
  g_autofree char *expanded = g_strjoinv (dir, parts);

  g_file_set_contents (path, expanded, -1, &error);
  g_assert_no_error (error);
}

/* Clients must not outlive a crashed test either. */
static void
child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

typedef struct
{
  gboolean done;
  char    *out;
  char    *err;
  GError  *error;
} Communicated;

static void
communicate_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Communicated *c = user_data;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &c->out, &c->err,
                                        &c->error);
  c->done = TRUE;
}

static void
wait_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

int
dbus_test_run (DBusTestBus       *bus,
               const char *const *argv,
               char             **out_stdout,
               char             **out_stderr)
{
  return dbus_test_run_with_env (bus, argv, NULL, out_stdout, out_stderr);
}

int
dbus_test_run_with_env (DBusTestBus       *bus,
                        const char *const *argv,
                        const char *const *env,
                        char             **out_stdout,
                        char             **out_stderr)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *command = g_strjoinv (" ", (char **) argv);
  Communicated     c = { 0 };
  gboolean         exited = FALSE;
  gint64           deadline = g_get_monotonic_time () + RUN_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;
  int              status;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SYSTEM_BUS_ADDRESS",
                                dbus_test_bus_get_address (bus), TRUE);
  g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  /* Plain output whatever the developer's terminal settings. */
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_setenv (launcher, "SYSTEMD_COLORS", "0", TRUE);
  g_subprocess_launcher_setenv (launcher, "SYSTEMD_PAGER", "", TRUE);
  g_subprocess_launcher_setenv (launcher, "PAGER", "cat", TRUE);
  for (guint i = 0; env != NULL && env[i] != NULL; i += 2)
    {
      if (env[i + 1] != NULL)
        g_subprocess_launcher_setenv (launcher, env[i], env[i + 1], TRUE);
      else
        g_subprocess_launcher_unsetenv (launcher, env[i]);
    }
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);

  g_test_message ("running %s", command);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  if (process == NULL)
    g_error ("cannot run %s: %s", command, error->message);

  g_subprocess_communicate_utf8_async (process, "", NULL, communicate_cb, &c);
  g_subprocess_wait_async (process, NULL, wait_cb, &exited);
  while ((!c.done || !exited) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (g_main_context_get_thread_default (), TRUE);
  if (!c.done || !exited)
    {
      g_subprocess_force_exit (process);
      while (!c.done || !exited)
        g_main_context_iteration (g_main_context_get_thread_default (), TRUE);
      g_test_message ("%s did not finish within %d ms", command, RUN_TIMEOUT_MS);
      g_assert_not_reached ();
    }
  g_assert_no_error (c.error);

  if (g_subprocess_get_if_exited (process))
    status = g_subprocess_get_exit_status (process);
  else
    status = 128 + g_subprocess_get_term_sig (process);
  g_test_message ("%s: exit %d\n--- stdout:\n%s--- stderr:\n%s", command, status,
                  c.out != NULL ? c.out : "", c.err != NULL ? c.err : "");

  if (out_stdout != NULL)
    *out_stdout = g_steal_pointer (&c.out);
  if (out_stderr != NULL)
    *out_stderr = g_steal_pointer (&c.err);
  g_free (c.out);
  g_free (c.err);
  return status;
}

JsonNode *
dbus_test_parse_json (const char *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node;

  node = json_from_string (text, &error);
  if (error != NULL || node == NULL)
    g_test_message ("not JSON (%s):\n%s", error != NULL ? error->message : "empty", text);
  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

GVariant *
dbus_test_get_property (GDBusConnection *connection,
                        const char      *path,
                        const char      *interface,
                        const char      *property,
                        GError         **error)
{
  g_autoptr (GVariant) reply = NULL;
  GVariant *value = NULL;

  reply = g_dbus_connection_call_sync (connection, SLUICE_BUS_NAME, path,
                                       "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", interface, property),
                                       G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NO_AUTO_START,
                                       10000, NULL, error);
  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(v)", &value);
  return value;
}

GVariant *
dbus_test_find_dict (GVariant   *list,
                     const char *key,
                     const char *value)
{
  GVariantIter iter;
  GVariant    *dict;

  g_assert_true (g_variant_is_of_type (list, G_VARIANT_TYPE ("aa{sv}")));
  g_variant_iter_init (&iter, list);
  while ((dict = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char *found = NULL;

      if (g_variant_lookup (dict, key, "&s", &found) && g_strcmp0 (found, value) == 0)
        return dict;
      g_variant_unref (dict);
    }
  return NULL;
}

static GVariant *
dict_value (GVariant           *dict,
            const char         *key,
            const GVariantType *type)
{
  GVariant *value = g_variant_lookup_value (dict, key, NULL);

  if (value == NULL || !g_variant_is_of_type (value, type))
    {
      g_autofree char *text = g_variant_print (dict, TRUE);

      g_test_message ("key '%s' of type %s missing in %s", key, (const char *) type, text);
    }
  g_assert_nonnull (value);
  g_assert_true (g_variant_is_of_type (value, type));
  return value;
}

const char *
dbus_test_dict_string (GVariant   *dict,
                       const char *key)
{
  g_autoptr (GVariant) value = dict_value (dict, key, G_VARIANT_TYPE_STRING);
  const char *text = NULL;

  /* The string lives as long as @dict, which holds the value. */
  g_variant_lookup (dict, key, "&s", &text);
  return text;
}

guint32
dbus_test_dict_uint32 (GVariant   *dict,
                       const char *key)
{
  g_autoptr (GVariant) value = dict_value (dict, key, G_VARIANT_TYPE_UINT32);

  return g_variant_get_uint32 (value);
}

guint64
dbus_test_dict_uint64 (GVariant   *dict,
                       const char *key)
{
  g_autoptr (GVariant) value = dict_value (dict, key, G_VARIANT_TYPE_UINT64);

  return g_variant_get_uint64 (value);
}

gint64
dbus_test_dict_int64 (GVariant   *dict,
                      const char *key)
{
  g_autoptr (GVariant) value = dict_value (dict, key, G_VARIANT_TYPE_INT64);

  return g_variant_get_int64 (value);
}

/* Signals */

struct _DBusTestSignals
{
  GDBusConnection *connection;
  guint            subscription;
  GPtrArray       *received;
};

static void
signal_free (DBusTestSignal *signal)
{
  g_free (signal->path);
  g_variant_unref (signal->parameters);
  g_free (signal);
}

static void
on_signal (GDBusConnection *connection,
           const char      *sender,
           const char      *path,
           const char      *interface,
           const char      *member,
           GVariant        *parameters,
           gpointer         user_data)
{
  DBusTestSignals *self = user_data;
  DBusTestSignal  *signal = g_new0 (DBusTestSignal, 1);

  signal->path = g_strdup (path);
  signal->parameters = g_variant_ref (parameters);
  signal->received = g_get_monotonic_time ();
  g_ptr_array_add (self->received, signal);
}

DBusTestSignals *
dbus_test_signals_new (GDBusConnection *connection,
                       const char      *interface,
                       const char      *member)
{
  DBusTestSignals *self = g_new0 (DBusTestSignals, 1);

  self->connection = g_object_ref (connection);
  self->received = g_ptr_array_new_with_free_func ((GDestroyNotify) signal_free);
  self->subscription = g_dbus_connection_signal_subscribe (connection, SLUICE_BUS_NAME,
                                                           interface, member, NULL, NULL,
                                                           G_DBUS_SIGNAL_FLAGS_NONE, on_signal,
                                                           self, NULL);
  /* The match rule must be in place before the test acts: a round trip
   * to the bus after AddMatch guarantees it. */
  g_dbus_connection_call_sync (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                               "org.freedesktop.DBus", "GetId", NULL, NULL,
                               G_DBUS_CALL_FLAGS_NONE, 10000, NULL, NULL);
  return self;
}

guint
dbus_test_signals_count (DBusTestSignals *self,
                         const char      *path)
{
  guint count = 0;

  for (guint i = 0; i < self->received->len; i++)
    {
      DBusTestSignal *signal = g_ptr_array_index (self->received, i);

      if (path == NULL || g_str_equal (signal->path, path))
        count++;
    }
  return count;
}

const DBusTestSignal *
dbus_test_signals_get (DBusTestSignals *self,
                       const char      *path,
                       guint            n)
{
  for (guint i = 0; i < self->received->len; i++)
    {
      DBusTestSignal *signal = g_ptr_array_index (self->received, i);

      if (path == NULL || g_str_equal (signal->path, path))
        {
          if (n == 0)
            return signal;
          n--;
        }
    }
  return NULL;
}

void
dbus_test_signals_free (DBusTestSignals *self)
{
  if (self == NULL)
    return;
  g_dbus_connection_signal_unsubscribe (self->connection, self->subscription);
  g_ptr_array_unref (self->received);
  g_object_unref (self->connection);
  g_free (self);
}

/* sluiced */

struct _DBusTestSluiced
{
  DBusTestBus       *bus; /* borrowed */
  GDBusConnection   *connection;
  SluiceDBusManager *manager;
  GSubprocess       *process;
  gboolean           exited;
  gboolean           owned;
  guint              watch;
  char              *dir;
  char              *workflows;
  char              *redis;
  guint              history_max;
  char              *history_keep;
  char              *history_signals;
  gboolean           session;
};

static void
name_appeared (GDBusConnection *connection,
               const char      *name,
               const char      *owner,
               gpointer         user_data)
{
  ((DBusTestSluiced *) user_data)->owned = TRUE;
}

static void
name_vanished (GDBusConnection *connection,
               const char      *name,
               gpointer         user_data)
{
  ((DBusTestSluiced *) user_data)->owned = FALSE;
}

DBusTestSluiced *
dbus_test_sluiced_new (DBusTestBus *bus,
                       const char  *redis)
{
  DBusTestSluiced *self = g_new0 (DBusTestSluiced, 1);
  g_autoptr (GError) error = NULL;
  g_autofree char *connections = NULL;

  self->bus = bus;
  self->redis = g_strdup (redis);
  self->history_max = 100;
  self->history_keep = g_strdup ("1h");
  self->dir = g_dir_make_tmp ("sluice-dbus-daemon-XXXXXX", &error);
  g_assert_no_error (error);
  self->workflows = g_build_filename (self->dir, "workflows", NULL);
  connections = g_build_filename (self->dir, "connections", NULL);
  g_assert_cmpint (g_mkdir (self->workflows, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (connections, 0755), ==, 0);

  self->connection = dbus_test_bus_connect (bus);
  self->watch = g_bus_watch_name_on_connection (self->connection, SLUICE_BUS_NAME,
                                                G_BUS_NAME_WATCHER_FLAGS_NONE, name_appeared,
                                                name_vanished, self, NULL);
  return self;
}

const char *
dbus_test_sluiced_get_dir (DBusTestSluiced *self)
{
  return self->dir;
}

const char *
dbus_test_sluiced_get_workflows_dir (DBusTestSluiced *self)
{
  return self->workflows;
}

void
dbus_test_sluiced_set_session (DBusTestSluiced *self,
                               gboolean         session)
{
  self->session = session;
}

void
dbus_test_sluiced_set_run_history (DBusTestSluiced *self,
                                   guint            max,
                                   const char      *keep,
                                   const char      *signals)
{
  self->history_max = max;
  g_free (self->history_keep);
  self->history_keep = g_strdup (keep);
  g_free (self->history_signals);
  self->history_signals = g_strdup (signals);
}

char *
dbus_test_sluiced_workflow_path (DBusTestSluiced *self,
                                 const char      *file)
{
  return g_build_filename (self->workflows, file, NULL);
}

void
dbus_test_sluiced_write_workflow (DBusTestSluiced *self,
                                  const char      *file,
                                  const char      *json)
{
  g_autofree char *path = dbus_test_sluiced_workflow_path (self, file);

  dbus_test_write_file (path, self->dir, json);
}

static void
write_config (DBusTestSluiced *self,
              const char      *path)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL;
  g_autofree char *connections = g_build_filename (self->dir, "connections", NULL);
  g_autofree char *state = g_build_filename (self->dir, "state", NULL);
  g_autoptr (GError) error = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "workflows");
  json_builder_add_string_value (builder, self->workflows);
  json_builder_set_member_name (builder, "connections");
  json_builder_add_string_value (builder, connections);
  json_builder_set_member_name (builder, "state_dir");
  json_builder_add_string_value (builder, state);
  json_builder_set_member_name (builder, "plugin_dirs");
  json_builder_begin_array (builder);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "redis");
  json_builder_add_string_value (builder, self->redis);
  json_builder_set_member_name (builder, "shutdown_grace");
  json_builder_add_string_value (builder, "5s");
  json_builder_set_member_name (builder, "run_history");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "max");
  json_builder_add_int_value (builder, self->history_max);
  json_builder_set_member_name (builder, "keep");
  json_builder_add_string_value (builder, self->history_keep);
  if (self->history_signals != NULL)
    {
      json_builder_set_member_name (builder, "signals");
      json_builder_add_string_value (builder, self->history_signals);
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  text = json_to_string (root, TRUE);
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

static void
daemon_exited (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

static const char *
sluiced_path (void)
{
  const char *path = g_getenv ("SLUICED");

  return path != NULL ? path : SLUICED_PATH;
}

void
dbus_test_sluiced_start (DBusTestSluiced *self)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *conf = g_build_filename (self->dir, "sluice.conf", NULL);
  gint64           deadline;
  gboolean        *exited;

  g_assert_null (self->process);
  g_assert_false (self->owned);
  write_config (self, conf);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  if (self->session)
    {
      g_autofree char *nowhere = g_strdup_printf ("unix:path=%s/no-such-bus", self->dir);

      g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS",
                                    dbus_test_bus_get_address (self->bus), TRUE);
      g_subprocess_launcher_setenv (launcher, "DBUS_SYSTEM_BUS_ADDRESS", nowhere, TRUE);
    }
  else
    {
      g_subprocess_launcher_setenv (launcher, "DBUS_SYSTEM_BUS_ADDRESS",
                                    dbus_test_bus_get_address (self->bus), TRUE);
      g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
    }
  g_subprocess_launcher_unsetenv (launcher, "NOTIFY_SOCKET");
  /* stdout is the test's TAP stream: the daemon's output goes to stderr. */
  g_subprocess_launcher_take_stdout_fd (launcher, dup (STDERR_FILENO));
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  self->process = g_subprocess_launcher_spawn (launcher, &error, sluiced_path (), "-c", conf,
                                               self->session ? "--session" : NULL, NULL);
  g_assert_no_error (error);

  /* The flag outlives the process object if the test fails meanwhile. */
  exited = &self->exited;
  self->exited = FALSE;
  g_subprocess_wait_async (self->process, NULL, daemon_exited, exited);

  deadline = g_get_monotonic_time () + START_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;
  while (!self->owned && !self->exited && g_get_monotonic_time () < deadline)
    dbus_test_iterate (20);
  if (!self->owned)
    {
      g_test_message ("sluiced %s before it owned %s", self->exited ? "exited" : "took 30 s",
                      SLUICE_BUS_NAME);
      g_assert_true (self->owned);
    }

  g_clear_object (&self->manager);
  self->manager = sluice_dbus_manager_proxy_new_sync (self->connection,
                                                      G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                                      SLUICE_BUS_NAME, SLUICE_MANAGER_PATH,
                                                      NULL, &error);
  g_assert_no_error (error);
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (self->manager), 20000);
}

void
dbus_test_sluiced_stop (DBusTestSluiced *self)
{
  gint64 deadline = g_get_monotonic_time () + STOP_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;

  g_assert_nonnull (self->process);
  g_subprocess_send_signal (self->process, SIGTERM);
  while ((!self->exited || self->owned) && g_get_monotonic_time () < deadline)
    dbus_test_iterate (20);
  if (!self->exited)
    g_test_message ("sluiced did not exit within %d ms of SIGTERM", STOP_TIMEOUT_MS);
  g_assert_true (self->exited);
  if (g_subprocess_get_if_signaled (self->process))
    g_test_message ("sluiced was killed by signal %d", g_subprocess_get_term_sig (self->process));
  g_assert_true (g_subprocess_get_if_exited (self->process));
  g_assert_cmpint (g_subprocess_get_exit_status (self->process), ==, 0);
  g_assert_false (self->owned);
  g_clear_object (&self->process);
  g_clear_object (&self->manager);
}

void
dbus_test_sluiced_send_signal (DBusTestSluiced *self,
                               int              signum)
{
  g_assert_true (dbus_test_sluiced_is_running (self));
  g_subprocess_send_signal (self->process, signum);
}

void
dbus_test_teardown (DBusTestSluiced **daemon,
                    DBusTestBus      **bus)
{
  if (*daemon != NULL && dbus_test_sluiced_is_running (*daemon) && !g_test_failed ())
    dbus_test_sluiced_stop (*daemon);
  g_clear_pointer (daemon, dbus_test_sluiced_free);
  dbus_test_bus_stop (*bus);
  g_clear_pointer (bus, dbus_test_bus_free);
}

gboolean
dbus_test_sluiced_is_running (DBusTestSluiced *self)
{
  return self->process != NULL && !self->exited;
}

GDBusConnection *
dbus_test_sluiced_get_connection (DBusTestSluiced *self)
{
  return self->connection;
}

SluiceDBusManager *
dbus_test_sluiced_get_manager (DBusTestSluiced *self)
{
  g_assert_nonnull (self->manager);
  return self->manager;
}

void
dbus_test_sluiced_free (DBusTestSluiced *self)
{
  if (self == NULL)
    return;
  if (self->process != NULL)
    {
      /* A test that failed half-way: no clean stop to check any more. */
      g_subprocess_force_exit (self->process);
      while (!self->exited)
        g_main_context_iteration (g_main_context_get_thread_default (), TRUE);
      g_clear_object (&self->process);
    }
  g_bus_unwatch_name (self->watch);
  g_clear_object (&self->manager);
  g_dbus_connection_close_sync (self->connection, NULL, NULL);
  g_clear_object (&self->connection);
  sluice_test_rm_rf (self->dir);
  g_free (self->dir);
  g_free (self->workflows);
  g_free (self->redis);
  g_free (self->history_keep);
  g_free (self->history_signals);
  g_free (self);
}

const char *
dbus_test_sluicectl_path (void)
{
  const char *path = g_getenv ("SLUICECTL");

  if (path != NULL)
    return path;
#ifdef SLUICECTL_PATH
  return SLUICECTL_PATH;
#else
  return NULL;
#endif
}

char *
dbus_test_object_path (const char *kind,
                       const char *id)
{
  g_autofree char *escaped = g_dbus_escape_object_path (id);

  return g_strdup_printf ("%s/%s/%s", SLUICE_MANAGER_PATH, kind, escaped);
}

char *
dbus_test_workflow_names (GVariant *workflows)
{
  GString     *names = g_string_new (NULL);
  GVariantIter iter;
  GVariant    *dict;

  g_variant_iter_init (&iter, workflows);
  while ((dict = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char *name = "(none)";

      g_variant_lookup (dict, "name", "&s", &name);
      if (names->len > 0)
        g_string_append_c (names, ' ');
      g_string_append (names, name);
      g_variant_unref (dict);
    }
  return g_string_free (names, FALSE);
}

char *
dbus_test_workflow_state (SluiceDBusManager *manager,
                          const char        *name)
{
  g_autoptr (GVariant) workflows = NULL;
  g_autoptr (GVariant) dict = NULL;
  g_autoptr (GError) error = NULL;

  sluice_dbus_manager_call_list_workflows_sync (manager, &workflows, NULL, &error);
  g_assert_no_error (error);
  dict = dbus_test_find_dict (workflows, "name", name);
  if (dict == NULL)
    return NULL;
  return g_strdup (dbus_test_dict_string (dict, "state"));
}

char *
dbus_test_trigger (SluiceDBusManager *manager,
                   const char        *workflow,
                   const char        *payload,
                   const char *const *headers)
{
  g_autoptr (GError) error = NULL;
  GVariantBuilder builder;
  char           *run = NULL;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{ss}"));
  for (guint i = 0; headers != NULL && headers[i] != NULL; i += 2)
    g_variant_builder_add (&builder, "{ss}", headers[i], headers[i + 1]);
  sluice_dbus_manager_call_trigger_sync (
      manager, workflow,
      g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, payload, strlen (payload), 1),
      g_variant_builder_end (&builder), &run, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_is_object_path (run));
  return run;
}

char *
dbus_test_wait_run (DBusTestSignals *finished,
                    const char      *path,
                    guint            timeout_ms)
{
  const DBusTestSignal *signal;
  const char           *state = NULL;

  DBUS_TEST_WAIT_UNTIL (dbus_test_signals_count (finished, path) > 0, timeout_ms);
  g_assert_cmpuint (dbus_test_signals_count (finished, path), ==, 1);
  signal = dbus_test_signals_get (finished, path, 0);
  g_assert_true (g_variant_is_of_type (signal->parameters, G_VARIANT_TYPE ("(ss)")));
  g_variant_get (signal->parameters, "(&s&s)", &state, NULL);
  return g_strdup (state);
}
