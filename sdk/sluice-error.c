/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "sluice/sluice-error.h"

/**
 * SECTION:sluice-error
 * @title: Errors
 *
 * The %SLUICE_ERROR domain, and the one rule the engine uses to decide
 * whether a failed step is worth another attempt.
 */

/**
 * sluice_error_quark:
 *
 * The error domain of Sluice.
 *
 * Returns: the #GQuark of %SLUICE_ERROR
 */
G_DEFINE_QUARK (sluice-error-quark, sluice_error)

/**
 * sluice_error_is_retryable:
 * @error: an error
 *
 * Whether the operation that failed with @error may succeed when tried
 * again. Malformed input, missing things, refused access, invalid
 * configuration and cancellation are final; failures of peers, timeouts
 * and other I/O errors are worth another attempt.
 *
 * Returns: %TRUE if retrying may help
 */
gboolean
sluice_error_is_retryable (const GError *error)
{
  g_return_val_if_fail (error != NULL, FALSE);

  if (error->domain == SLUICE_ERROR)
    {
      switch ((SluiceError) error->code)
        {
        case SLUICE_ERROR_INVALID_CONFIG:
        case SLUICE_ERROR_INVALID_DATA:
        case SLUICE_ERROR_NOT_FOUND:
        case SLUICE_ERROR_PERMISSION_DENIED:
        case SLUICE_ERROR_PLUGIN:
        case SLUICE_ERROR_INVALID_STATE:
        case SLUICE_ERROR_PERMANENT:
        case SLUICE_ERROR_TOO_LARGE:
          return FALSE;
        case SLUICE_ERROR_FAILED:
        case SLUICE_ERROR_UNAVAILABLE:
        case SLUICE_ERROR_TIMEOUT:
        default:
          return TRUE;
        }
    }

  if (error->domain == G_IO_ERROR)
    {
      switch (error->code)
        {
        case G_IO_ERROR_CANCELLED:
        case G_IO_ERROR_INVALID_DATA:
        case G_IO_ERROR_NOT_FOUND:
        case G_IO_ERROR_PERMISSION_DENIED:
          return FALSE;
        default:
          return TRUE;
        }
    }

  if (error->domain == JSON_PARSER_ERROR)
    return FALSE;

  return TRUE;
}
