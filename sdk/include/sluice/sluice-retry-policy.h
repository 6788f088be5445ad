/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(SLUICE_INSIDE) && !defined(SLUICE_COMPILATION)
#error "Only <sluice/sluice.h> can be included directly."
#endif

#include <glib-object.h>
#include <json-glib/json-glib.h>
#include <sluice/sluice-version.h>

G_BEGIN_DECLS

/**
 * SluiceBackoff:
 * @SLUICE_BACKOFF_FIXED: wait the initial delay before every retry
 * @SLUICE_BACKOFF_EXPONENTIAL: double the delay after each failed attempt
 *
 * How the delay between attempts grows.
 */
typedef enum {
  SLUICE_BACKOFF_FIXED,
  SLUICE_BACKOFF_EXPONENTIAL,
} SluiceBackoff;

/**
 * SluiceJitter:
 * @SLUICE_JITTER_NONE: wait exactly the computed delay
 * @SLUICE_JITTER_FULL: wait a uniformly random time in [0, delay]
 * @SLUICE_JITTER_EQUAL: wait delay/2 plus a random time in [0, delay/2]
 *
 * How much randomness spreads retries of many clients apart.
 */
typedef enum {
  SLUICE_JITTER_NONE,
  SLUICE_JITTER_FULL,
  SLUICE_JITTER_EQUAL,
} SluiceJitter;

/**
 * SluiceRetryPolicy:
 *
 * How often and how fast a failed step is tried again. An opaque,
 * immutable boxed type.
 */
typedef struct _SluiceRetryPolicy SluiceRetryPolicy;

#define SLUICE_TYPE_RETRY_POLICY (sluice_retry_policy_get_type ())
SLUICE_API GType sluice_retry_policy_get_type (void);

SLUICE_API SluiceRetryPolicy *sluice_retry_policy_new (guint         max_attempts,
                                                       SluiceBackoff backoff,
                                                       gint64        initial_usec,
                                                       gint64        max_usec,
                                                       SluiceJitter  jitter);
SLUICE_API SluiceRetryPolicy *sluice_retry_policy_new_from_json (JsonObject *object,
                                                                 GError    **error);
SLUICE_API SluiceRetryPolicy *sluice_retry_policy_ref (SluiceRetryPolicy *self);
SLUICE_API void sluice_retry_policy_unref (SluiceRetryPolicy *self);

SLUICE_API guint sluice_retry_policy_get_max_attempts (const SluiceRetryPolicy *self);
SLUICE_API SluiceBackoff sluice_retry_policy_get_backoff (const SluiceRetryPolicy *self);
SLUICE_API SluiceJitter sluice_retry_policy_get_jitter (const SluiceRetryPolicy *self);
SLUICE_API gint64 sluice_retry_policy_get_initial (const SluiceRetryPolicy *self);
SLUICE_API gint64 sluice_retry_policy_get_max (const SluiceRetryPolicy *self);

SLUICE_API gboolean sluice_retry_policy_allows_retry (const SluiceRetryPolicy *self,
                                                      guint                    attempts_made);
SLUICE_API gint64 sluice_retry_policy_get_delay (const SluiceRetryPolicy *self,
                                                 guint                    attempts_made,
                                                 GRand                   *rand);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SluiceRetryPolicy, sluice_retry_policy_unref)

G_END_DECLS
