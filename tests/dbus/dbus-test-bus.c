/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dbus-test-bus.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "dbus-test-util.h"

#define START_TIMEOUT_MS 20000

struct _DBusTestBus
{
  GSubprocess *process;
  char        *dir;
  char        *address;
  gboolean     policy_testable;
};

/* The bus must not outlive a crashed test. */
static void
child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* Debian's /usr/share/dbus-1/system.conf, less what a private bus cannot
 * have (a bus user to switch to, activation, syslog, a pid file), plus
 * the service policy under test. */
static char *
build_config (DBusTestBus *self)
{
  g_autofree char *socket = g_build_filename (self->dir, "system_bus_socket", NULL);
  g_autofree char *socket_xml = g_markup_escape_text (socket, -1);
  g_autofree char *policy_xml = g_markup_escape_text (SLUICE_DBUS_POLICY, -1);
  GString         *text = g_string_new (NULL);

  g_string_append (text,
                   "<!DOCTYPE busconfig PUBLIC\n"
                   " \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                   " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                   "<busconfig>\n"
                   "  <type>system</type>\n"
                   "  <auth>EXTERNAL</auth>\n");
  g_string_append_printf (text, "  <listen>unix:path=%s</listen>\n", socket_xml);
  g_string_append (text,
                   "  <policy context=\"default\">\n"
                   "    <allow user=\"*\"/>\n"
                   "    <deny own=\"*\"/>\n"
                   "    <deny send_type=\"method_call\"/>\n"
                   "    <allow send_type=\"signal\"/>\n"
                   "    <allow send_requested_reply=\"true\" send_type=\"method_return\"/>\n"
                   "    <allow send_requested_reply=\"true\" send_type=\"error\"/>\n"
                   "    <allow receive_type=\"method_call\"/>\n"
                   "    <allow receive_type=\"method_return\"/>\n"
                   "    <allow receive_type=\"error\"/>\n"
                   "    <allow receive_type=\"signal\"/>\n"
                   "    <allow send_destination=\"org.freedesktop.DBus\"\n"
                   "           send_interface=\"org.freedesktop.DBus\"/>\n"
                   "    <allow send_destination=\"org.freedesktop.DBus\"\n"
                   "           send_interface=\"org.freedesktop.DBus.Introspectable\"/>\n"
                   "    <allow send_destination=\"org.freedesktop.DBus\"\n"
                   "           send_interface=\"org.freedesktop.DBus.Properties\"/>\n"
                   "    <deny send_destination=\"org.freedesktop.DBus\"\n"
                   "          send_interface=\"org.freedesktop.DBus\"\n"
                   "          send_member=\"UpdateActivationEnvironment\"/>\n"
                   "    <deny send_destination=\"org.freedesktop.DBus\"\n"
                   "          send_interface=\"org.freedesktop.DBus.Debug.Stats\"/>\n"
                   "  </policy>\n");
  g_string_append_printf (text, "  <include>%s</include>\n", policy_xml);

  /* A developer's run: the daemon and the test run as this user, whom
   * the real policy does not know. */
  if (!self->policy_testable)
    {
      g_autofree char *user_xml = g_markup_escape_text (g_get_user_name (), -1);

      g_string_append_printf (text,
                              "  <policy user=\"%s\">\n"
                              "    <allow own=\"org.sluice.Sluice1\"/>\n"
                              "    <allow send_destination=\"org.sluice.Sluice1\"/>\n"
                              "  </policy>\n",
                              user_xml);
    }
  g_string_append (text, "</busconfig>\n");
  return g_string_free (text, FALSE);
}

static char *
read_log (DBusTestBus *self)
{
  g_autofree char *path = g_build_filename (self->dir, "dbus-daemon.log", NULL);
  char            *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("(no log)");
  return text;
}

static void
read_line_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  char **out_line = user_data;
  g_autoptr (GError) error = NULL;
  gsize length;

  *out_line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                         &length, &error);
  if (*out_line == NULL)
    *out_line = g_strdup (error != NULL ? error->message : "");
}

DBusTestBus *
dbus_test_bus_start (void)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *config = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *config_arg = NULL;
  g_autofree char *log_path = NULL;
  g_autofree char *line = NULL;
  DBusTestBus     *self = g_new0 (DBusTestBus, 1);
  const char      *program = g_getenv ("DBUS_DAEMON");
  gint64           deadline;

  if (program == NULL)
    program = "dbus-daemon";

  if (!g_file_test (SLUICE_DBUS_POLICY, G_FILE_TEST_IS_REGULAR))
    g_error ("the bus policy under test, %s, is missing", SLUICE_DBUS_POLICY);

  self->policy_testable = geteuid () == 0;
  self->dir = g_dir_make_tmp ("sluice-dbus-XXXXXX", &error);
  g_assert_no_error (error);
  /* Users the test switches to must reach the socket. */
  g_assert_cmpint (g_chmod (self->dir, 0755), ==, 0);

  config = build_config (self);
  config_path = g_build_filename (self->dir, "bus.conf", NULL);
  g_file_set_contents (config_path, config, -1, &error);
  g_assert_no_error (error);
  config_arg = g_strconcat ("--config-file=", config_path, NULL);
  log_path = g_build_filename (self->dir, "dbus-daemon.log", NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_stderr_file_path (launcher, log_path);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  self->process = g_subprocess_launcher_spawn (launcher, &error, program, config_arg,
                                               "--nofork", "--print-address", NULL);
  if (self->process == NULL)
    g_error ("cannot run %s (Debian package dbus-daemon): %s", program, error->message);

  /* It prints its address once it listens, or exits. */
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->process));
  g_data_input_stream_read_line_async (out, G_PRIORITY_DEFAULT, NULL, read_line_cb, &line);
  deadline = g_get_monotonic_time () + START_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;
  while (line == NULL && g_get_monotonic_time () < deadline)
    dbus_test_iterate (50);

  if (line == NULL || !g_str_has_prefix (line, "unix:"))
    {
      g_autofree char *log = read_log (self);

      g_test_message ("dbus-daemon did not start (%s):\n%s\n--- %s:\n%s",
                      line != NULL ? line : "no address after 20 s", log, config_path, config);
      g_assert_not_reached ();
    }
  self->address = g_strdup (g_strstrip (line));
  return self;
}

const char *
dbus_test_bus_get_address (DBusTestBus *self)
{
  return self->address;
}

const char *
dbus_test_bus_get_dir (DBusTestBus *self)
{
  return self->dir;
}

gboolean
dbus_test_bus_can_test_policy (DBusTestBus *self)
{
  return self->policy_testable;
}

GDBusConnection *
dbus_test_bus_connect (DBusTestBus *self)
{
  g_autoptr (GError) error = NULL;
  GDBusConnection *connection;

  connection = g_dbus_connection_new_for_address_sync (
      self->address,
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
          G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL, NULL, &error);
  g_assert_no_error (error);
  g_dbus_connection_set_exit_on_close (connection, FALSE);
  return connection;
}

void
dbus_test_bus_stop (DBusTestBus *self)
{
  g_autoptr (GError) error = NULL;

  if (self->process == NULL)
    return;
  g_subprocess_send_signal (self->process, SIGTERM);
  g_subprocess_wait (self->process, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&self->process);
}

void
dbus_test_bus_free (DBusTestBus *self)
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
  g_free (self->address);
  g_free (self);
}
