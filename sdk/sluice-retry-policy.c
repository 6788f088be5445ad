/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

/**
 * SECTION:sluice-retry-policy
 * @title: SluiceRetryPolicy
 *
 * How often and how fast a failed step is tried again: a number of
 * attempts, a delay that stays fixed or grows exponentially up to a cap,
 * and jitter so that many clients failing together do not retry together.
 */

struct _SluiceRetryPolicy
{
  gatomicrefcount ref_count;
  guint           max_attempts;
  SluiceBackoff   backoff;
  SluiceJitter    jitter;
  gint64          initial_usec;
  gint64          max_usec;
  double          multiplier;
};

G_DEFINE_BOXED_TYPE (SluiceRetryPolicy, sluice_retry_policy,
                     sluice_retry_policy_ref, sluice_retry_policy_unref)

#define RETRY_KEYS "attempts, backoff, initial, max, jitter, multiplier"

static SluiceRetryPolicy *
retry_policy_alloc (guint         max_attempts,
                    SluiceBackoff backoff,
                    gint64        initial_usec,
                    gint64        max_usec,
                    SluiceJitter  jitter,
                    double        multiplier)
{
  SluiceRetryPolicy *self = g_new0 (SluiceRetryPolicy, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->max_attempts = max_attempts;
  self->backoff = backoff;
  self->initial_usec = initial_usec;
  self->max_usec = max_usec;
  self->jitter = jitter;
  self->multiplier = multiplier;
  return self;
}

/**
 * sluice_retry_policy_new:
 * @max_attempts: the most attempts in all, the first included (at least 1)
 * @backoff: how the delay grows
 * @initial_usec: the delay before the first retry, in microseconds
 * @max_usec: the longest delay, in microseconds
 * @jitter: how much randomness to add
 *
 * Creates a retry policy. Exponential backoff doubles the delay after each
 * failed attempt.
 *
 * Returns: (transfer full): a new #SluiceRetryPolicy
 */
SluiceRetryPolicy *
sluice_retry_policy_new (guint         max_attempts,
                         SluiceBackoff backoff,
                         gint64        initial_usec,
                         gint64        max_usec,
                         SluiceJitter  jitter)
{
  g_return_val_if_fail (max_attempts >= 1, NULL);
  g_return_val_if_fail (backoff == SLUICE_BACKOFF_FIXED || backoff == SLUICE_BACKOFF_EXPONENTIAL, NULL);
  g_return_val_if_fail (initial_usec >= 0, NULL);
  g_return_val_if_fail (max_usec >= 0, NULL);
  g_return_val_if_fail (jitter <= SLUICE_JITTER_EQUAL, NULL);

  return retry_policy_alloc (max_attempts, backoff, initial_usec, max_usec, jitter, 2.0);
}

static gboolean
retry_get_duration (JsonObject *object,
                    const char *key,
                    gint64     *out_usec,
                    GError    **error)
{
  JsonNode *node = json_object_get_member (object, key);
  g_autoptr(GError) local_error = NULL;

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "retry: key '%s' must be a duration string such as \"1s\"", key);
      return FALSE;
    }
  if (!sluice_parse_duration (json_node_get_string (node), out_usec, &local_error))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "retry: key '%s': %s", key, local_error->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
retry_get_string (JsonObject  *object,
                  const char  *key,
                  const char **out_value,
                  GError     **error)
{
  JsonNode *node = json_object_get_member (object, key);

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "retry: key '%s' must be a string", key);
      return FALSE;
    }
  *out_value = json_node_get_string (node);
  return TRUE;
}

/**
 * sluice_retry_policy_new_from_json:
 * @object: a retry object of a workflow node
 * @error: return location for a #GError
 *
 * Reads a retry policy from JSON:
 * |[
 * {"attempts": 5, "backoff": "exponential", "initial": "1s", "max": "1m",
 *  "jitter": "full", "multiplier": 2}
 * ]|
 * "attempts" (the most attempts in all, at least 1) is required. "backoff"
 * is "fixed" or "exponential" (the default); "initial" (default "1s") and
 * "max" (default "5m") are durations; "jitter" is "none", "full" (the
 * default) or "equal"; "multiplier" is a number of at least 1 (default 2).
 *
 * Returns: (transfer full): a new #SluiceRetryPolicy, or %NULL with
 *   %SLUICE_ERROR_INVALID_CONFIG naming the key at fault
 */
SluiceRetryPolicy *
sluice_retry_policy_new_from_json (JsonObject *object,
                                   GError    **error)
{
  static const char * const known[] = {
    "attempts", "backoff", "initial", "max", "jitter", "multiplier", NULL
  };
  g_autoptr(GList) members = NULL;
  JsonNode *node;
  gint64 attempts;
  SluiceBackoff backoff = SLUICE_BACKOFF_EXPONENTIAL;
  SluiceJitter jitter = SLUICE_JITTER_FULL;
  gint64 initial_usec = G_TIME_SPAN_SECOND;
  gint64 max_usec = 5 * G_TIME_SPAN_MINUTE;
  double multiplier = 2.0;

  g_return_val_if_fail (object != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next)
    {
      if (!g_strv_contains (known, l->data))
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       "retry: key '%s' is not known (expected " RETRY_KEYS ")",
                       (const char *) l->data);
          return NULL;
        }
    }

  node = json_object_get_member (object, "attempts");
  if (node == NULL)
    {
      g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                           "retry: key 'attempts' is missing");
      return NULL;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64 ||
      (attempts = json_node_get_int (node)) < 1 || attempts > G_MAXUINT)
    {
      g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                           "retry: key 'attempts' must be a whole number of at least 1");
      return NULL;
    }

  if (json_object_has_member (object, "backoff"))
    {
      const char *value;

      if (!retry_get_string (object, "backoff", &value, error))
        return NULL;
      if (g_str_equal (value, "fixed"))
        backoff = SLUICE_BACKOFF_FIXED;
      else if (g_str_equal (value, "exponential"))
        backoff = SLUICE_BACKOFF_EXPONENTIAL;
      else
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       "retry: key 'backoff': '%s' is not known (expected fixed or exponential)",
                       value);
          return NULL;
        }
    }

  if (json_object_has_member (object, "jitter"))
    {
      const char *value;

      if (!retry_get_string (object, "jitter", &value, error))
        return NULL;
      if (g_str_equal (value, "none"))
        jitter = SLUICE_JITTER_NONE;
      else if (g_str_equal (value, "full"))
        jitter = SLUICE_JITTER_FULL;
      else if (g_str_equal (value, "equal"))
        jitter = SLUICE_JITTER_EQUAL;
      else
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       "retry: key 'jitter': '%s' is not known (expected none, full or equal)",
                       value);
          return NULL;
        }
    }

  if (json_object_has_member (object, "initial") &&
      !retry_get_duration (object, "initial", &initial_usec, error))
    return NULL;
  if (json_object_has_member (object, "max") &&
      !retry_get_duration (object, "max", &max_usec, error))
    return NULL;
  if (max_usec < initial_usec)
    {
      g_autofree char *initial_text = sluice_format_duration (initial_usec);
      g_autofree char *max_text = sluice_format_duration (max_usec);

      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "retry: key 'max' (%s) is less than 'initial' (%s)", max_text, initial_text);
      return NULL;
    }

  node = json_object_get_member (object, "multiplier");
  if (node != NULL)
    {
      GType type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;

      if (type == G_TYPE_INT64 || type == G_TYPE_DOUBLE)
        multiplier = json_node_get_double (node);
      /* also refuses NaN, which compares false */
      if ((type != G_TYPE_INT64 && type != G_TYPE_DOUBLE) || !(multiplier >= 1.0) ||
          multiplier > 1e6)
        {
          g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                               "retry: key 'multiplier' must be a number from 1 to 1000000");
          return NULL;
        }
    }

  return retry_policy_alloc ((guint) attempts, backoff, initial_usec, max_usec, jitter, multiplier);
}

/**
 * sluice_retry_policy_ref:
 * @self: a #SluiceRetryPolicy
 *
 * Returns: (transfer full): @self
 */
SluiceRetryPolicy *
sluice_retry_policy_ref (SluiceRetryPolicy *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/**
 * sluice_retry_policy_unref:
 * @self: (transfer full): a #SluiceRetryPolicy
 *
 * Drops a reference; frees @self when it was the last.
 */
void
sluice_retry_policy_unref (SluiceRetryPolicy *self)
{
  g_return_if_fail (self != NULL);

  if (g_atomic_ref_count_dec (&self->ref_count))
    g_free (self);
}

/**
 * sluice_retry_policy_get_max_attempts:
 * @self: a #SluiceRetryPolicy
 *
 * Returns: the most attempts in all, the first included
 */
guint
sluice_retry_policy_get_max_attempts (const SluiceRetryPolicy *self)
{
  g_return_val_if_fail (self != NULL, 1);

  return self->max_attempts;
}

/**
 * sluice_retry_policy_get_backoff:
 * @self: a #SluiceRetryPolicy
 *
 * Returns: how the delay grows
 */
SluiceBackoff
sluice_retry_policy_get_backoff (const SluiceRetryPolicy *self)
{
  g_return_val_if_fail (self != NULL, SLUICE_BACKOFF_FIXED);

  return self->backoff;
}

/**
 * sluice_retry_policy_get_jitter:
 * @self: a #SluiceRetryPolicy
 *
 * Returns: how much randomness is added to delays
 */
SluiceJitter
sluice_retry_policy_get_jitter (const SluiceRetryPolicy *self)
{
  g_return_val_if_fail (self != NULL, SLUICE_JITTER_NONE);

  return self->jitter;
}

/**
 * sluice_retry_policy_get_initial:
 * @self: a #SluiceRetryPolicy
 *
 * Returns: the delay before the first retry, in microseconds
 */
gint64
sluice_retry_policy_get_initial (const SluiceRetryPolicy *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->initial_usec;
}

/**
 * sluice_retry_policy_get_max:
 * @self: a #SluiceRetryPolicy
 *
 * Returns: the longest delay, in microseconds
 */
gint64
sluice_retry_policy_get_max (const SluiceRetryPolicy *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->max_usec;
}

/**
 * sluice_retry_policy_allows_retry:
 * @self: a #SluiceRetryPolicy
 * @attempts_made: how many attempts failed so far
 *
 * Returns: whether another attempt is allowed
 */
gboolean
sluice_retry_policy_allows_retry (const SluiceRetryPolicy *self,
                                  guint                    attempts_made)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return attempts_made < self->max_attempts;
}

/* initial * multiplier^(attempts_made - 1), capped at max; stops
 * multiplying once the cap is reached, so that neither a large attempt
 * count nor a large multiplier overflows */
static gint64
retry_policy_base_delay (const SluiceRetryPolicy *self,
                         guint                    attempts_made)
{
  double delay = (double) self->initial_usec;

  if (self->backoff == SLUICE_BACKOFF_EXPONENTIAL && self->multiplier > 1.0)
    {
      for (guint i = 1; i < attempts_made && delay < (double) self->max_usec; i++)
        delay *= self->multiplier;
    }

  if (delay >= (double) self->max_usec)
    return self->max_usec;
  return (gint64) delay;
}

/* a uniformly random whole number in [0, bound] */
static gint64
random_up_to (gint64  bound,
              GRand  *rand)
{
  double r = rand != NULL ? g_rand_double (rand) : g_random_double ();
  gint64 value = (gint64) (r * ((double) bound + 1.0));

  /* rounding in the product may reach bound + 1 for huge bounds */
  return MIN (value, bound);
}

/**
 * sluice_retry_policy_get_delay:
 * @self: a #SluiceRetryPolicy
 * @attempts_made: how many attempts failed so far (at least 1)
 * @rand: (nullable): the random numbers to use for jitter; %NULL for the
 *   global ones
 *
 * How long to wait before the next attempt.
 *
 * Returns: the delay in microseconds
 */
gint64
sluice_retry_policy_get_delay (const SluiceRetryPolicy *self,
                               guint                    attempts_made,
                               GRand                   *rand)
{
  gint64 base;
  gint64 half;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (attempts_made >= 1, 0);

  base = retry_policy_base_delay (self, attempts_made);

  switch (self->jitter)
    {
    case SLUICE_JITTER_FULL:
      return random_up_to (base, rand);
    case SLUICE_JITTER_EQUAL:
      half = base / 2;
      return (base - half) + random_up_to (half, rand);
    case SLUICE_JITTER_NONE:
    default:
      return base;
    }
}
