/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sluicectl.h"

/* Every call goes out asynchronously with the --timeout; the command waits
 * for its answer by running the main context, so signals (batch watch,
 * trigger --wait) are dispatched on the same loop. */

void
sluicectl_on_ready (GObject *object, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

GAsyncResult *
sluicectl_await (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return g_steal_pointer (slot);
}

int
sluicectl_timeout_msec (SluicectlContext *ctl)
{
  return ctl->timeout_secs * 1000;
}

void
sluicectl_context_clear (SluicectlContext *ctl)
{
  g_clear_object (&ctl->manager);
  g_clear_object (&ctl->connection);
  g_clear_pointer (&ctl->owner, g_free);
  g_clear_pointer (&ctl->address, g_free);
}

static const char *
bus_description (SluicectlContext *ctl)
{
  if (ctl->address != NULL)
    return "the bus";
  return ctl->session ? "the session bus" : "the system bus";
}

static gboolean
connect_bus (SluicectlContext *ctl, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;
  g_autoptr (GError) local_error = NULL;

  if (ctl->connection != NULL)
    return TRUE;

  if (ctl->address != NULL)
    {
      g_dbus_connection_new_for_address (ctl->address,
                                         G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                             G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                         NULL, NULL, sluicectl_on_ready, &slot);
      result = sluicectl_await (&slot);
      ctl->connection = g_dbus_connection_new_for_address_finish (result, &local_error);
    }
  else
    {
      g_bus_get (ctl->session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL,
                 sluicectl_on_ready, &slot);
      result = sluicectl_await (&slot);
      ctl->connection = g_bus_get_finish (result, &local_error);
    }

  if (ctl->connection == NULL)
    {
      g_dbus_error_strip_remote_error (local_error);
      if (ctl->address != NULL)
        g_set_error (error, SLUICECTL_ERROR, SLUICECTL_EXIT_UNREACHABLE,
                     "cannot connect to the bus at '%s': %s", ctl->address,
                     local_error->message);
      else
        g_set_error (error, SLUICECTL_ERROR, SLUICECTL_EXIT_UNREACHABLE,
                     "cannot connect to %s: %s", bus_description (ctl), local_error->message);
      return FALSE;
    }
  /* A lost bus ends the command with an error, not the process with
   * SIGTERM. */
  g_dbus_connection_set_exit_on_close (ctl->connection, FALSE);
  return TRUE;
}

/* Call-only proxies: properties are read with GetAll when wanted, so a
 * failure says why instead of leaving an empty cache; signals are
 * subscribed by the commands that wait for them. */
#define CALL_PROXY_FLAGS (G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES | \
                          G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS | \
                          G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START)

SluiceDBusManager *
sluicectl_get_manager (SluicectlContext *ctl, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;
  g_autoptr (SluiceDBusManager) manager = NULL;

  if (ctl->manager != NULL)
    return ctl->manager;
  if (!connect_bus (ctl, error))
    return NULL;

  sluice_dbus_manager_proxy_new (ctl->connection, CALL_PROXY_FLAGS, SLUICECTL_BUS_NAME,
                                 SLUICECTL_MANAGER_PATH, NULL, sluicectl_on_ready, &slot);
  result = sluicectl_await (&slot);
  manager = sluice_dbus_manager_proxy_new_finish (result, error);
  if (manager == NULL)
    return NULL;

  ctl->owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (manager));
  if (ctl->owner == NULL)
    {
      g_set_error (error, SLUICECTL_ERROR, SLUICECTL_EXIT_UNREACHABLE,
                   "sluiced is not running (nothing owns %s on %s)", SLUICECTL_BUS_NAME,
                   bus_description (ctl));
      return NULL;
    }
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (manager), sluicectl_timeout_msec (ctl));
  ctl->manager = g_steal_pointer (&manager);
  return ctl->manager;
}

const char *
sluicectl_daemon_owner (SluicectlContext *ctl)
{
  return ctl->owner != NULL ? ctl->owner : SLUICECTL_BUS_NAME;
}

SluiceDBusBatch *
sluicectl_get_batch (SluicectlContext *ctl, const char *object_path, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;
  GAsyncResult    *slot = NULL;
  SluiceDBusBatch *batch;

  if (sluicectl_get_manager (ctl, error) == NULL)
    return NULL;

  sluice_dbus_batch_proxy_new (ctl->connection, CALL_PROXY_FLAGS, SLUICECTL_BUS_NAME,
                               object_path, NULL, sluicectl_on_ready, &slot);
  result = sluicectl_await (&slot);
  batch = sluice_dbus_batch_proxy_new_finish (result, error);
  if (batch != NULL)
    g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (batch), sluicectl_timeout_msec (ctl));
  return batch;
}

GVariant *
sluicectl_get_all_properties (SluicectlContext *ctl,
                              const char       *object_path,
                              const char       *interface,
                              GError          **error)
{
  g_autoptr (GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;
  g_autoptr (GVariant) reply = NULL;
  GVariant *properties = NULL;

  if (sluicectl_get_manager (ctl, error) == NULL)
    return NULL;

  g_dbus_connection_call (ctl->connection, SLUICECTL_BUS_NAME, object_path,
                          "org.freedesktop.DBus.Properties", "GetAll",
                          g_variant_new ("(s)", interface), G_VARIANT_TYPE ("(a{sv})"),
                          G_DBUS_CALL_FLAGS_NO_AUTO_START, sluicectl_timeout_msec (ctl), NULL,
                          sluicectl_on_ready, &slot);
  result = sluicectl_await (&slot);
  reply = g_dbus_connection_call_finish (ctl->connection, result, error);
  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(@a{sv})", &properties);
  return properties;
}

char *
sluicectl_object_path (const char *base, const char *id_or_path, GError **error)
{
  g_autofree char *escaped = NULL;
  gsize            base_len = strlen (base);

  if (id_or_path == NULL || *id_or_path == '\0')
    {
      g_set_error (error, SLUICECTL_ERROR, SLUICECTL_EXIT_USAGE, "an empty id");
      return NULL;
    }
  /* Paths as `workflow trigger` prints them. */
  if (g_str_has_prefix (id_or_path, base) && id_or_path[base_len] == '/' &&
      id_or_path[base_len + 1] != '\0' && strchr (id_or_path + base_len + 1, '/') == NULL &&
      g_variant_is_object_path (id_or_path))
    return g_strdup (id_or_path);

  escaped = g_dbus_escape_object_path (id_or_path);
  return g_strconcat (base, "/", escaped, NULL);
}

char *
sluicectl_id_from_path (const char *object_path)
{
  const char        *last = strrchr (object_path, '/');
  g_autofree guint8 *id = NULL;

  last = last != NULL ? last + 1 : object_path;
  id = g_dbus_unescape_object_path (last);
  if (id == NULL || !g_utf8_validate ((const char *) id, -1, NULL))
    return g_strdup (last);
  return (char *) g_steal_pointer (&id);
}
