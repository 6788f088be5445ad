/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "sluicectl.h"

G_DEFINE_QUARK (sluicectl - error - quark, sluicectl_error)

typedef struct
{
  const char   *name;
  SluicectlExit exit;
} RemoteErrorExit;

/* By D-Bus error name: sluiced's own errors, then the bus's and GDBus's. */
static const RemoteErrorExit remote_errors[] = {
  { "org.sluice.Sluice1.Error.Failed", SLUICECTL_EXIT_FAILED },
  { "org.sluice.Sluice1.Error.Permanent", SLUICECTL_EXIT_FAILED },
  { "org.sluice.Sluice1.Error.Plugin", SLUICECTL_EXIT_FAILED },
  { "org.sluice.Sluice1.Error.NotFound", SLUICECTL_EXIT_NOT_FOUND },
  { "org.sluice.Sluice1.Error.PermissionDenied", SLUICECTL_EXIT_PERMISSION_DENIED },
  { "org.sluice.Sluice1.Error.Unavailable", SLUICECTL_EXIT_UNREACHABLE },
  { "org.sluice.Sluice1.Error.InvalidState", SLUICECTL_EXIT_INVALID_STATE },
  { "org.sluice.Sluice1.Error.InvalidConfig", SLUICECTL_EXIT_INVALID_INPUT },
  { "org.sluice.Sluice1.Error.InvalidData", SLUICECTL_EXIT_INVALID_INPUT },
  { "org.sluice.Sluice1.Error.InvalidArgument", SLUICECTL_EXIT_INVALID_INPUT },
  { "org.sluice.Sluice1.Error.TooLarge", SLUICECTL_EXIT_INVALID_INPUT },
  { "org.sluice.Sluice1.Error.Timeout", SLUICECTL_EXIT_TIMED_OUT },
  /* A path nobody exports: GDBus answers UnknownMethod ("No such
   * interface ... on object at path ..."), other peers UnknownObject. */
  { "org.freedesktop.DBus.Error.UnknownObject", SLUICECTL_EXIT_NOT_FOUND },
  { "org.freedesktop.DBus.Error.UnknownInterface", SLUICECTL_EXIT_NOT_FOUND },
  { "org.freedesktop.DBus.Error.UnknownMethod", SLUICECTL_EXIT_NOT_FOUND },
  { "org.freedesktop.DBus.Error.AccessDenied", SLUICECTL_EXIT_PERMISSION_DENIED },
  { "org.freedesktop.DBus.Error.AuthFailed", SLUICECTL_EXIT_PERMISSION_DENIED },
  { "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", SLUICECTL_EXIT_PERMISSION_DENIED },
  { "org.freedesktop.DBus.Error.ServiceUnknown", SLUICECTL_EXIT_UNREACHABLE },
  { "org.freedesktop.DBus.Error.NameHasNoOwner", SLUICECTL_EXIT_UNREACHABLE },
  { "org.freedesktop.DBus.Error.Disconnected", SLUICECTL_EXIT_UNREACHABLE },
  { "org.freedesktop.DBus.Error.NoServer", SLUICECTL_EXIT_UNREACHABLE },
  { "org.freedesktop.DBus.Error.NoNetwork", SLUICECTL_EXIT_UNREACHABLE },
  { "org.freedesktop.DBus.Error.LimitsExceeded", SLUICECTL_EXIT_UNREACHABLE },
  { "org.freedesktop.DBus.Error.InvalidArgs", SLUICECTL_EXIT_INVALID_INPUT },
  { "org.freedesktop.DBus.Error.NoReply", SLUICECTL_EXIT_TIMED_OUT },
  { "org.freedesktop.DBus.Error.Timeout", SLUICECTL_EXIT_TIMED_OUT },
  { "org.freedesktop.DBus.Error.TimedOut", SLUICECTL_EXIT_TIMED_OUT },
};

/* Errors raised on this side of the bus: the call timer, a dropped
 * connection. */
static SluicectlExit
local_error_to_exit (const GError *error)
{
  if (error->domain == SLUICECTL_ERROR)
    return (SluicectlExit) error->code;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return SLUICECTL_EXIT_TIMED_OUT;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE))
    return SLUICECTL_EXIT_UNREACHABLE;
  if (error->domain == G_DBUS_ERROR)
    switch (error->code)
      {
      case G_DBUS_ERROR_SERVICE_UNKNOWN:
      case G_DBUS_ERROR_NAME_HAS_NO_OWNER:
      case G_DBUS_ERROR_DISCONNECTED:
      case G_DBUS_ERROR_NO_SERVER:
        return SLUICECTL_EXIT_UNREACHABLE;
      case G_DBUS_ERROR_ACCESS_DENIED:
      case G_DBUS_ERROR_AUTH_FAILED:
        return SLUICECTL_EXIT_PERMISSION_DENIED;
      case G_DBUS_ERROR_NO_REPLY:
      case G_DBUS_ERROR_TIMEOUT:
      case G_DBUS_ERROR_TIMED_OUT:
        return SLUICECTL_EXIT_TIMED_OUT;
      case G_DBUS_ERROR_UNKNOWN_OBJECT:
      case G_DBUS_ERROR_UNKNOWN_INTERFACE:
      case G_DBUS_ERROR_UNKNOWN_METHOD:
        return SLUICECTL_EXIT_NOT_FOUND;
      case G_DBUS_ERROR_INVALID_ARGS:
        return SLUICECTL_EXIT_INVALID_INPUT;
      default:
        break;
      }
  return SLUICECTL_EXIT_FAILED;
}

int
sluicectl_error_to_exit (const GError *error)
{
  g_autofree char *name = NULL;

  g_return_val_if_fail (error != NULL, SLUICECTL_EXIT_FAILED);

  name = g_dbus_error_get_remote_error (error);
  if (name != NULL)
    {
      for (gsize i = 0; i < G_N_ELEMENTS (remote_errors); i++)
        if (g_str_equal (name, remote_errors[i].name))
          return remote_errors[i].exit;
      /* Names sluiced may add later still mean "it failed". */
      return SLUICECTL_EXIT_FAILED;
    }
  return local_error_to_exit (error);
}

gboolean
sluicectl_error_is_missing_object (const GError *error)
{
  return sluicectl_error_to_exit (error) == SLUICECTL_EXIT_NOT_FOUND;
}

int
sluicectl_report_error (const GError *error, const char *what_format, ...)
{
  g_autoptr (GError) copy = g_error_copy (error);
  g_autofree char *what = NULL;
  va_list          args;

  va_start (args, what_format);
  what = g_strdup_vprintf (what_format, args);
  va_end (args);

  g_dbus_error_strip_remote_error (copy);
  g_printerr ("sluicectl: %s: %s\n", what, copy->message);
  return sluicectl_error_to_exit (error);
}

int
sluicectl_report_object_error (const GError *error,
                               const char   *what,
                               const char   *kind,
                               const char   *id)
{
  g_autofree char *name = g_dbus_error_get_remote_error (error);

  /* GDBus's own answer for an unexported path names the Properties or
   * Batch interface, not what the user asked about. */
  if (name != NULL && g_str_has_prefix (name, "org.freedesktop.DBus.Error.Unknown"))
    {
      g_printerr ("sluicectl: %s: no %s '%s'\n", what, kind, id);
      return SLUICECTL_EXIT_NOT_FOUND;
    }
  return sluicectl_report_error (error, "%s", what);
}

int
sluicectl_usage_error (const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list          args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_printerr ("sluicectl: %s\n", message);
  return SLUICECTL_EXIT_USAGE;
}
