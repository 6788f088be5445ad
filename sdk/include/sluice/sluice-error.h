/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(SLUICE_INSIDE) && !defined(SLUICE_COMPILATION)
#error "Only <sluice/sluice.h> can be included directly."
#endif

#include <glib.h>
#include <sluice/sluice-version.h>

G_BEGIN_DECLS

/**
 * SLUICE_ERROR:
 *
 * Error domain for Sluice. Errors in this domain are from #SluiceError.
 */
#define SLUICE_ERROR (sluice_error_quark ())

/**
 * SluiceError:
 * @SLUICE_ERROR_FAILED: a failure that may go away when retried
 * @SLUICE_ERROR_INVALID_CONFIG: a workflow, connection or component
 *   configuration is invalid
 * @SLUICE_ERROR_INVALID_DATA: the input is malformed; retrying cannot help
 * @SLUICE_ERROR_NOT_FOUND: a named thing (batch, connection, file, key) does
 *   not exist
 * @SLUICE_ERROR_UNAVAILABLE: a peer is temporarily unreachable; retry later
 * @SLUICE_ERROR_TIMEOUT: an operation took longer than allowed
 * @SLUICE_ERROR_PERMISSION_DENIED: the caller or the peer refused access
 * @SLUICE_ERROR_PLUGIN: a plugin could not be loaded or is malformed
 * @SLUICE_ERROR_INVALID_STATE: the operation does not fit the object's state
 *   (an event settled twice, a batch that is closed)
 * @SLUICE_ERROR_PERMANENT: the component knows that retrying cannot help
 * @SLUICE_ERROR_TOO_LARGE: a payload is over a configured limit
 *
 * Error codes of the %SLUICE_ERROR domain. The engine retries a failed step
 * only when sluice_error_is_retryable() says so.
 */
typedef enum {
  SLUICE_ERROR_FAILED,
  SLUICE_ERROR_INVALID_CONFIG,
  SLUICE_ERROR_INVALID_DATA,
  SLUICE_ERROR_NOT_FOUND,
  SLUICE_ERROR_UNAVAILABLE,
  SLUICE_ERROR_TIMEOUT,
  SLUICE_ERROR_PERMISSION_DENIED,
  SLUICE_ERROR_PLUGIN,
  SLUICE_ERROR_INVALID_STATE,
  SLUICE_ERROR_PERMANENT,
  SLUICE_ERROR_TOO_LARGE,
} SluiceError;

SLUICE_API GQuark sluice_error_quark (void);

SLUICE_API gboolean sluice_error_is_retryable (const GError *error);

G_END_DECLS
