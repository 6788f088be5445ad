/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <glib-unix.h>

#include "sluicectl.h"

/* Progress signals come at most twice a second; this poll only notices a
 * batch that vanished (it expired, or the store lost it) and catches up
 * when signals were missed. */
#define POLL_INTERVAL_SECONDS 5

typedef struct
{
  SluicectlContext *ctl;
  const char       *id;
  const char       *path;
  gboolean          tty;

  char    *state;
  gboolean paused;
  guint64  pending, processing, succeeded, failed;
  double   rate;

  char    *last_printed; /* what the last plain or JSON line said */
  gboolean line_open;    /* a TTY line waits for its newline */

  GCancellable *cancellable;
  guint         polls_in_flight;
  gboolean      done;
  int           exit_status;
} Watch;

static gboolean
state_is_final (const char *state)
{
  return g_strcmp0 (state, "completed") == 0 || g_strcmp0 (state, "failed") == 0 ||
         g_strcmp0 (state, "cancelled") == 0;
}

static void
apply_counts (Watch *self, GVariant *counts)
{
  self->pending = sluicectl_dict_uint (counts, "pending");
  self->processing = sluicectl_dict_uint (counts, "processing");
  self->succeeded = sluicectl_dict_uint (counts, "succeeded");
  self->failed = sluicectl_dict_uint (counts, "failed");
}

static void
apply_properties (Watch *self, GVariant *properties)
{
  g_autoptr (GVariant) counts = NULL;
  const char *state;
  gboolean    paused;

  if (g_variant_lookup (properties, "State", "&s", &state))
    {
      g_free (self->state);
      self->state = g_strdup (state);
    }
  if (g_variant_lookup (properties, "Paused", "b", &paused))
    self->paused = paused;
  counts = g_variant_lookup_value (properties, "Counts", G_VARIANT_TYPE ("a{st}"));
  if (counts != NULL)
    apply_counts (self, counts);
}

/* ---- Drawing ---- */

static int
terminal_columns (void)
{
  struct winsize size;
  const char    *columns;

  if (ioctl (STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
    return size.ws_col;
  columns = g_getenv ("COLUMNS");
  if (columns != NULL && atoi (columns) > 0)
    return atoi (columns);
  return 80;
}

/* The bar and the counts on one line of the terminal, redrawn with \r.
 * On a narrow terminal the per-state counts go first, then the bar. */
static void
draw_tty (Watch *self)
{
  guint64 total = self->pending + self->processing + self->succeeded + self->failed;
  guint64 settled = self->succeeded + self->failed;
  guint   percent = total > 0 ? (guint) (settled * 100 / total) : 0;
  g_autoptr (GString) line = g_string_new (NULL);
  g_autofree char *state = g_strdup_printf ("%s%s", self->state != NULL ? self->state : "?",
                                            self->paused ? " (paused)" : "");
  g_autofree char *text = NULL;
  int              columns = terminal_columns ();
  /* The last column stays empty: writing there wraps on some terminals,
   * and a wrapped line cannot be redrawn with \r. */
  int room = MAX (columns - 1, 1);
  int bar_width;

  text = g_strdup_printf ("  %3u%%  %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT
                          "  pending %" G_GUINT64_FORMAT "  processing %" G_GUINT64_FORMAT
                          "  succeeded %" G_GUINT64_FORMAT "  failed %" G_GUINT64_FORMAT
                          "  %.0f rec/s  %s",
                          percent, settled, total, self->pending, self->processing,
                          self->succeeded, self->failed, self->rate, state);
  if (room - (int) strlen (text) - 2 < 10)
    {
      g_free (text);
      text = g_strdup_printf ("  %3u%%  %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT
                              "  failed %" G_GUINT64_FORMAT "  %.0f rec/s  %s",
                              percent, settled, total, self->failed, self->rate, state);
    }

  bar_width = MIN (room - (int) strlen (text) - 2, 40);
  if (bar_width >= 5)
    {
      int filled = total > 0 ? (int) (settled * (guint64) bar_width / total) : 0;

      g_string_append_c (line, '[');
      for (int i = 0; i < bar_width; i++)
        g_string_append_c (line, i < filled ? '#' : '-');
      g_string_append_c (line, ']');
    }
  g_string_append (line, text);
  if (line->len > (gsize) room)
    g_string_truncate (line, room);

  printf ("\r%s\033[K", line->str);
  fflush (stdout);
  self->line_open = TRUE;
}

static void
print_update (Watch *self)
{
  g_autofree char *now = sluicectl_format_time (g_get_real_time ());
  g_autofree char *key = NULL;

  if (self->tty && !self->ctl->json)
    {
      draw_tty (self);
      return;
    }

  /* One line per change: a PropertiesChanged and a Progress that say the
   * same thing print once. */
  key = g_strdup_printf ("%s %d %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                         " %" G_GUINT64_FORMAT " %.1f",
                         self->state, self->paused, self->pending, self->processing,
                         self->succeeded, self->failed, self->rate);
  if (g_strcmp0 (key, self->last_printed) == 0)
    return;
  g_free (self->last_printed);
  self->last_printed = g_steal_pointer (&key);

  if (self->ctl->json)
    {
      g_autoptr (JsonObject) object = json_object_new ();
      g_autoptr (JsonNode) root = NULL;

      json_object_set_string_member (object, "time", now);
      json_object_set_string_member (object, "id", self->id);
      json_object_set_string_member (object, "path", self->path);
      json_object_set_string_member (object, "state", self->state);
      json_object_set_boolean_member (object, "paused", self->paused);
      json_object_set_int_member (object, "pending", (gint64) self->pending);
      json_object_set_int_member (object, "processing", (gint64) self->processing);
      json_object_set_int_member (object, "succeeded", (gint64) self->succeeded);
      json_object_set_int_member (object, "failed_records", (gint64) self->failed);
      json_object_set_double_member (object, "rate", self->rate);
      root = json_node_init_object (json_node_alloc (), object);
      sluicectl_print_json (root, TRUE);
      return;
    }

  printf ("%s %s pending=%" G_GUINT64_FORMAT " processing=%" G_GUINT64_FORMAT
          " succeeded=%" G_GUINT64_FORMAT " failed=%" G_GUINT64_FORMAT " rate=%.1f/s paused=%s\n",
          now, self->state != NULL ? self->state : "?", self->pending, self->processing,
          self->succeeded, self->failed, self->rate, self->paused ? "yes" : "no");
  fflush (stdout);
}

/* ---- Ending ---- */

static void
finish (Watch *self, int exit_status)
{
  if (self->done)
    return;
  self->done = TRUE;
  self->exit_status = exit_status;
  if (self->line_open)
    {
      printf ("\n");
      fflush (stdout);
      self->line_open = FALSE;
    }
}

static void
finish_with_error (Watch *self, const GError *error)
{
  int status;

  if (self->done)
    return;
  finish (self, 0);
  if (sluicectl_error_is_missing_object (error))
    {
      g_printerr ("sluicectl: batch watch: batch '%s' is gone from the store\n", self->id);
      status = SLUICECTL_EXIT_NOT_FOUND;
    }
  else
    status = sluicectl_report_error (error, "batch watch '%s'", self->id);
  self->exit_status = status;
}

static void
check_final (Watch *self)
{
  if (!state_is_final (self->state))
    return;
  finish (self, g_str_equal (self->state, "completed") ? SLUICECTL_EXIT_OK : SLUICECTL_EXIT_FAILED);
  if (g_str_equal (self->state, "failed"))
    g_printerr ("sluicectl: batch watch: batch '%s' failed\n", self->id);
  else if (g_str_equal (self->state, "cancelled"))
    g_printerr ("sluicectl: batch watch: batch '%s' was cancelled\n", self->id);
}

/* ---- Sources of updates ---- */

static void
on_progress (GDBusConnection *connection,
             const char      *sender,
             const char      *object_path,
             const char      *interface,
             const char      *signal,
             GVariant        *parameters,
             gpointer         user_data)
{
  Watch *self = user_data;
  g_autoptr (GVariant) counts = NULL;
  const char *state;

  if (self->done || !g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(a{st}sd)")))
    return;
  g_variant_get (parameters, "(@a{st}&sd)", &counts, &state, &self->rate);
  apply_counts (self, counts);
  g_free (self->state);
  self->state = g_strdup (state);
  print_update (self);
  check_final (self);
}

static void
on_poll_ready (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Watch *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) properties = NULL;

  self->polls_in_flight--;
  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (object), result, &error);
  if (self->done)
    return;
  if (reply == NULL)
    {
      finish_with_error (self, error);
      return;
    }
  g_variant_get (reply, "(@a{sv})", &properties);
  apply_properties (self, properties);
  print_update (self);
  check_final (self);
}

static void
poll_properties (Watch *self)
{
  self->polls_in_flight++;
  g_dbus_connection_call (self->ctl->connection, SLUICECTL_BUS_NAME, self->path,
                          "org.freedesktop.DBus.Properties", "GetAll",
                          g_variant_new ("(s)", SLUICECTL_BATCH_IFACE), G_VARIANT_TYPE ("(a{sv})"),
                          G_DBUS_CALL_FLAGS_NO_AUTO_START, sluicectl_timeout_msec (self->ctl),
                          self->cancellable, on_poll_ready, self);
}

static void
on_properties_changed (GDBusConnection *connection,
                       const char      *sender,
                       const char      *object_path,
                       const char      *interface,
                       const char      *signal,
                       GVariant        *parameters,
                       gpointer         user_data)
{
  Watch *self = user_data;
  g_autoptr (GVariant) changed = NULL;
  g_autofree const char **invalidated = NULL;
  const char             *changed_interface;

  if (self->done || !g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sa{sv}as)")))
    return;
  g_variant_get (parameters, "(&s@a{sv}^a&s)", &changed_interface, &changed, &invalidated);
  if (!g_str_equal (changed_interface, SLUICECTL_BATCH_IFACE))
    return;
  apply_properties (self, changed);
  if (invalidated != NULL && invalidated[0] != NULL)
    poll_properties (self);
  print_update (self);
  check_final (self);
}

static gboolean
on_poll_timeout (gpointer user_data)
{
  Watch *self = user_data;

  if (self->polls_in_flight == 0)
    poll_properties (self);
  return G_SOURCE_CONTINUE;
}

static void
on_daemon_vanished (GDBusConnection *connection, const char *name, gpointer user_data)
{
  Watch *self = user_data;
  g_autoptr (GError) error = NULL;

  g_set_error (&error, SLUICECTL_ERROR, SLUICECTL_EXIT_UNREACHABLE, "sluiced left the bus");
  finish_with_error (self, error);
}

static gboolean
on_sigint (gpointer user_data)
{
  Watch *self = user_data;

  finish (self, SLUICECTL_EXIT_OK);
  /* Removed with the other sources when the watch ends. */
  return G_SOURCE_CONTINUE;
}

int
sluicectl_batch_watch (SluicectlContext *ctl, char **args)
{
  Watch            self = { ctl, args[0] };
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) properties = NULL;
  guint progress_subscription, properties_subscription, name_watch, poll_source, sigint_source;

  path = sluicectl_object_path (SLUICECTL_BATCHES_PATH, args[0], &error);
  self.path = path;
  if (path == NULL)
    return sluicectl_report_error (error, "batch watch");
  if (sluicectl_get_manager (ctl, &error) == NULL)
    return sluicectl_report_error (error, "batch watch '%s'", args[0]);
  self.tty = isatty (STDOUT_FILENO);
  self.cancellable = g_cancellable_new ();

  /* Subscribed before the first read, so no change falls in between. */
  progress_subscription = g_dbus_connection_signal_subscribe (
      ctl->connection, sluicectl_daemon_owner (ctl), SLUICECTL_BATCH_IFACE, "Progress", self.path,
      NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_progress, &self, NULL);
  properties_subscription = g_dbus_connection_signal_subscribe (
      ctl->connection, sluicectl_daemon_owner (ctl), "org.freedesktop.DBus.Properties",
      "PropertiesChanged", self.path, SLUICECTL_BATCH_IFACE, G_DBUS_SIGNAL_FLAGS_NONE,
      on_properties_changed, &self, NULL);
  name_watch = g_bus_watch_name_on_connection (ctl->connection, SLUICECTL_BUS_NAME,
                                               G_BUS_NAME_WATCHER_FLAGS_NONE, NULL,
                                               on_daemon_vanished, &self, NULL);
  sigint_source = g_unix_signal_add (SIGINT, on_sigint, &self);

  properties = sluicectl_get_all_properties (ctl, self.path, SLUICECTL_BATCH_IFACE, &error);
  if (properties == NULL)
    {
      finish (&self, 0);
      self.exit_status = sluicectl_report_object_error (error, "batch watch", "batch", args[0]);
    }
  else if (!self.done)
    {
      apply_properties (&self, properties);
      print_update (&self);
      check_final (&self);
    }

  poll_source = g_timeout_add_seconds (POLL_INTERVAL_SECONDS, on_poll_timeout, &self);
  while (!self.done)
    g_main_context_iteration (NULL, TRUE);

  g_source_remove (poll_source);
  g_source_remove (sigint_source);
  g_bus_unwatch_name (name_watch);
  g_dbus_connection_signal_unsubscribe (ctl->connection, properties_subscription);
  g_dbus_connection_signal_unsubscribe (ctl->connection, progress_subscription);
  /* The poll callback holds &self: let it run out before self goes. */
  g_cancellable_cancel (self.cancellable);
  while (self.polls_in_flight > 0)
    g_main_context_iteration (NULL, TRUE);

  g_object_unref (self.cancellable);
  g_free (self.state);
  g_free (self.last_printed);
  return self.exit_status;
}
