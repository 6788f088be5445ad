/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <sluice/sluice.h>

#include "sluice-component-private.h"

/**
 * SECTION:sluice-dead-letter-store
 * @title: SluiceDeadLetterStore
 *
 * Where events go that no run could handle: #SluiceDeadLetter records, one
 * shape for every trigger, kept until an operator replays or purges them.
 * The host writes them; a store only keeps, lists and removes them. The
 * wrappers below check arguments and accept %NULL for any out parameter.
 */

G_DEFINE_BOXED_TYPE (SluiceDeadLetter, sluice_dead_letter,
                     sluice_dead_letter_copy, sluice_dead_letter_free)

G_DEFINE_INTERFACE (SluiceDeadLetterStore, sluice_dead_letter_store, G_TYPE_OBJECT)

static void
sluice_dead_letter_store_default_init (SluiceDeadLetterStoreInterface *iface)
{
}

/**
 * sluice_dead_letter_new:
 * @id: the dead letter's id
 * @workflow: the workflow that gave up on the event
 *
 * Creates a dead letter with one attempt and no payload; set the other
 * fields directly.
 *
 * Returns: (transfer full): a new #SluiceDeadLetter
 */
SluiceDeadLetter *
sluice_dead_letter_new (const char *id,
                        const char *workflow)
{
  SluiceDeadLetter *self;

  g_return_val_if_fail (id != NULL, NULL);
  g_return_val_if_fail (workflow != NULL, NULL);

  self = g_new0 (SluiceDeadLetter, 1);
  self->id = g_strdup (id);
  self->workflow = g_strdup (workflow);
  self->attempts = 1;
  return self;
}

/**
 * sluice_dead_letter_copy:
 * @self: a #SluiceDeadLetter
 *
 * Returns: (transfer full): a deep copy of @self (the payload is shared:
 *   #GBytes are immutable)
 */
SluiceDeadLetter *
sluice_dead_letter_copy (const SluiceDeadLetter *self)
{
  SluiceDeadLetter *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = g_new0 (SluiceDeadLetter, 1);
  copy->id = g_strdup (self->id);
  copy->workflow = g_strdup (self->workflow);
  copy->node = g_strdup (self->node);
  copy->source = g_strdup (self->source);
  copy->error = g_strdup (self->error);
  copy->attempts = self->attempts;
  copy->first_usec = self->first_usec;
  copy->last_usec = self->last_usec;
  copy->trace_id = g_strdup (self->trace_id);
  copy->content_type = g_strdup (self->content_type);
  copy->payload = self->payload != NULL ? g_bytes_ref (self->payload) : NULL;
  copy->headers = g_strdupv (self->headers);
  return copy;
}

/**
 * sluice_dead_letter_free:
 * @self: (nullable): a #SluiceDeadLetter
 *
 * Frees @self, its strings and its reference to the payload.
 */
void
sluice_dead_letter_free (SluiceDeadLetter *self)
{
  if (self == NULL)
    return;
  g_free (self->id);
  g_free (self->workflow);
  g_free (self->node);
  g_free (self->source);
  g_free (self->error);
  g_free (self->trace_id);
  g_free (self->content_type);
  g_clear_pointer (&self->payload, g_bytes_unref);
  g_strfreev (self->headers);
  g_free (self);
}

static void
add_optional_string (JsonBuilder *builder,
                     const char  *name,
                     const char  *value)
{
  if (value == NULL)
    return;
  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, value);
}

/**
 * sluice_dead_letter_to_json:
 * @self: a #SluiceDeadLetter
 * @with_payload: whether to include the payload (base64, as "payload")
 *
 * The dead letter as a JSON object: id, workflow, node, source, error,
 * attempts, first and last time (microseconds, "first_usec"/"last_usec"),
 * trace_id, content_type, headers (an array of [name, value] pairs, in
 * order) and, if asked, payload (base64).
 * Absent fields are left out. sluice_dead_letter_new_from_json() reads it
 * back.
 *
 * Returns: (transfer full): a JSON object node
 */
JsonNode *
sluice_dead_letter_to_json (const SluiceDeadLetter *self,
                            gboolean                with_payload)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  g_return_val_if_fail (self != NULL, NULL);

  json_builder_begin_object (builder);
  add_optional_string (builder, "id", self->id);
  add_optional_string (builder, "workflow", self->workflow);
  add_optional_string (builder, "node", self->node);
  add_optional_string (builder, "source", self->source);
  add_optional_string (builder, "error", self->error);
  json_builder_set_member_name (builder, "attempts");
  json_builder_add_int_value (builder, self->attempts);
  json_builder_set_member_name (builder, "first_usec");
  json_builder_add_int_value (builder, self->first_usec);
  json_builder_set_member_name (builder, "last_usec");
  json_builder_add_int_value (builder, self->last_usec);
  add_optional_string (builder, "trace_id", self->trace_id);
  add_optional_string (builder, "content_type", self->content_type);
  if (self->headers != NULL)
    {
      /* Pairs, not an object: header names may repeat, and order is kept. */
      json_builder_set_member_name (builder, "headers");
      json_builder_begin_array (builder);
      for (guint i = 0; self->headers[i] != NULL && self->headers[i + 1] != NULL; i += 2)
        {
          json_builder_begin_array (builder);
          json_builder_add_string_value (builder, self->headers[i]);
          json_builder_add_string_value (builder, self->headers[i + 1]);
          json_builder_end_array (builder);
        }
      json_builder_end_array (builder);
    }
  if (with_payload && self->payload != NULL)
    {
      gsize size;
      const guchar *data = g_bytes_get_data (self->payload, &size);
      g_autofree char *encoded = g_base64_encode (data, size);

      json_builder_set_member_name (builder, "payload");
      json_builder_add_string_value (builder, encoded);
    }
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static gboolean
read_string (JsonObject  *object,
             const char  *name,
             gboolean     required,
             char       **out,
             GError     **error)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      if (!required)
        return TRUE;
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                   "dead letter: '%s' is missing", name);
      return FALSE;
    }
  if (json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                   "dead letter: '%s' is not a string", name);
      return FALSE;
    }
  g_free (*out);
  *out = g_strdup (json_node_get_string (node));
  return TRUE;
}

static gboolean
read_integer (JsonObject *object,
              const char *name,
              gint64      minimum,
              gint64     *out,
              GError    **error)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL)
    return TRUE;
  if (json_node_get_value_type (node) != G_TYPE_INT64 || json_node_get_int (node) < minimum)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                   "dead letter: '%s' is not an integer of at least %" G_GINT64_FORMAT,
                   name, minimum);
      return FALSE;
    }
  *out = json_node_get_int (node);
  return TRUE;
}

/* What the JSON form can give back as it was given: no negative times,
 * every header name paired with a value, UTF-8 only. put refuses anything
 * else, for every store alike, and new_from_json makes nothing else, so
 * that whether a host can keep a dead letter does not depend on its store. */
static gboolean
dead_letter_check (const SluiceDeadLetter *letter,
              GError                **error)
{
  const struct
  {
    const char *name;
    const char *value;
  } strings[] = {
    { "workflow", letter->workflow },
    { "node", letter->node },
    { "source", letter->source },
    { "error", letter->error },
    { "trace_id", letter->trace_id },
    { "content_type", letter->content_type },
  };
  guint n_headers;

  if (!g_utf8_validate (letter->id, -1, NULL))
    {
      g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                           "dead letter: 'id' is not valid UTF-8");
      return FALSE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (strings); i++)
    if (strings[i].value != NULL && !g_utf8_validate (strings[i].value, -1, NULL))
      {
        g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                     "dead letter '%s': '%s' is not valid UTF-8", letter->id, strings[i].name);
        return FALSE;
      }
  if (letter->first_usec < 0 || letter->last_usec < 0)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                   "dead letter '%s': '%s' is negative", letter->id,
                   letter->first_usec < 0 ? "first_usec" : "last_usec");
      return FALSE;
    }
  n_headers = letter->headers != NULL ? g_strv_length (letter->headers) : 0;
  if (n_headers % 2 != 0)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                   "dead letter '%s': header '%s' has no value", letter->id,
                   letter->headers[n_headers - 1]);
      return FALSE;
    }
  for (guint i = 0; i < n_headers; i++)
    if (!g_utf8_validate (letter->headers[i], -1, NULL))
      {
        g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                     "dead letter '%s': header %u is not valid UTF-8", letter->id, i / 2 + 1);
        return FALSE;
      }
  return TRUE;
}

/**
 * sluice_dead_letter_new_from_json:
 * @node: a JSON object as made by sluice_dead_letter_to_json()
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the dead letter, or %NULL with
 *   %SLUICE_ERROR_INVALID_DATA naming the field that is wrong
 */
SluiceDeadLetter *
sluice_dead_letter_new_from_json (JsonNode *node,
                                  GError  **error)
{
  g_autoptr(SluiceDeadLetter) self = NULL;
  JsonObject *object;
  JsonNode *headers;
  gint64 attempts = 1;
  g_autofree char *payload = NULL;

  g_return_val_if_fail (node != NULL, NULL);

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                           "dead letter: not a JSON object");
      return NULL;
    }
  object = json_node_get_object (node);
  self = g_new0 (SluiceDeadLetter, 1);
  if (!read_string (object, "id", TRUE, &self->id, error) ||
      !read_string (object, "workflow", TRUE, &self->workflow, error) ||
      !read_string (object, "node", FALSE, &self->node, error) ||
      !read_string (object, "source", FALSE, &self->source, error) ||
      !read_string (object, "error", FALSE, &self->error, error) ||
      !read_string (object, "trace_id", FALSE, &self->trace_id, error) ||
      !read_string (object, "content_type", FALSE, &self->content_type, error) ||
      !read_string (object, "payload", FALSE, &payload, error) ||
      !read_integer (object, "attempts", 0, &attempts, error) ||
      !read_integer (object, "first_usec", 0, &self->first_usec, error) ||
      !read_integer (object, "last_usec", 0, &self->last_usec, error))
    return NULL;
  self->attempts = (guint) MIN (attempts, G_MAXUINT);

  headers = json_object_get_member (object, "headers");
  if (headers != NULL)
    {
      JsonArray *array;
      g_autoptr(GStrvBuilder) pairs = g_strv_builder_new ();

      if (!JSON_NODE_HOLDS_ARRAY (headers))
        {
          g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                               "dead letter: 'headers' is not an array of [name, value] pairs");
          return NULL;
        }
      array = json_node_get_array (headers);
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *pair = json_array_get_element (array, i);
          JsonArray *items = JSON_NODE_HOLDS_ARRAY (pair) ? json_node_get_array (pair) : NULL;

          if (items == NULL || json_array_get_length (items) != 2 ||
              json_node_get_value_type (json_array_get_element (items, 0)) != G_TYPE_STRING ||
              json_node_get_value_type (json_array_get_element (items, 1)) != G_TYPE_STRING)
            {
              g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                           "dead letter: header %u is not a [name, value] pair of strings", i);
              return NULL;
            }
          g_strv_builder_add (pairs, json_array_get_string_element (items, 0));
          g_strv_builder_add (pairs, json_array_get_string_element (items, 1));
        }
      self->headers = g_strv_builder_end (pairs);
    }

  if (payload != NULL)
    {
      gsize size = 0;
      gsize length = strlen (payload);
      guchar *data;

      /* g_base64_decode() takes anything: check the alphabet and padding. */
      for (gsize i = 0; i < length; i++)
        if (!g_ascii_isalnum (payload[i]) && payload[i] != '+' && payload[i] != '/' &&
            !(payload[i] == '=' && i >= length - 2))
          length = 0;
      if (strlen (payload) % 4 != 0 || (length == 0 && payload[0] != '\0'))
        {
          g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                               "dead letter: 'payload' is not base64");
          return NULL;
        }
      data = g_base64_decode (payload, &size);
      self->payload = g_bytes_new_take (data, size);
    }
  if (!dead_letter_check (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

/**
 * sluice_dead_letter_filter_matches:
 * @filter: (nullable): a #SluiceDeadLetterFilter; %NULL matches all
 * @letter: a #SluiceDeadLetter
 *
 * What every store applies, so that all stores filter the same way.
 *
 * Returns: whether @letter passes @filter
 */
gboolean
sluice_dead_letter_filter_matches (const SluiceDeadLetterFilter *filter,
                                   const SluiceDeadLetter       *letter)
{
  g_return_val_if_fail (letter != NULL, FALSE);

  if (filter == NULL)
    return TRUE;
  if (filter->workflow != NULL && g_strcmp0 (filter->workflow, letter->workflow) != 0)
    return FALSE;
  if (filter->node != NULL && g_strcmp0 (filter->node, letter->node) != 0)
    return FALSE;
  if (filter->error_contains != NULL &&
      (letter->error == NULL || strstr (letter->error, filter->error_contains) == NULL))
    return FALSE;
  if (filter->since_usec > 0 && letter->last_usec < filter->since_usec)
    return FALSE;
  if (filter->until_usec > 0 && letter->last_usec >= filter->until_usec)
    return FALSE;
  return TRUE;
}

/**
 * sluice_dead_letter_store_put_async:
 * @self: a #SluiceDeadLetterStore
 * @letter: the dead letter; its id must be set
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Stores @letter, replacing any dead letter with the same id. A dead letter
 * with a negative time, a header without a value or text that is not UTF-8
 * is refused with %SLUICE_ERROR_INVALID_DATA, whatever the store.
 */
void
sluice_dead_letter_store_put_async (SluiceDeadLetterStore  *self,
                                    const SluiceDeadLetter *letter,
                                    GCancellable           *cancellable,
                                    GAsyncReadyCallback     callback,
                                    gpointer                user_data)
{
  SluiceDeadLetterStoreInterface *iface;
  GError *error = NULL;

  g_return_if_fail (SLUICE_IS_DEAD_LETTER_STORE (self));
  g_return_if_fail (letter != NULL && letter->id != NULL && letter->workflow != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_DEAD_LETTER_STORE_GET_IFACE (self);
  if (iface->put_async == NULL || iface->put_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceDeadLetterStore.put_async()", callback, user_data,
                      sluice_dead_letter_store_put_async);
      return;
    }
  /* A cancelled put is the store's to report, as cancelled. */
  if ((cancellable == NULL || !g_cancellable_is_cancelled (cancellable)) &&
      !dead_letter_check (letter, &error))
    {
      g_task_report_error (self, callback, user_data, sluice_dead_letter_store_put_async, error);
      return;
    }
  iface->put_async (self, letter, cancellable, callback, user_data);
}

/**
 * sluice_dead_letter_store_put_finish:
 * @self: a #SluiceDeadLetterStore
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: %TRUE once the dead letter is stored
 */
gboolean
sluice_dead_letter_store_put_finish (SluiceDeadLetterStore *self,
                                     GAsyncResult          *result,
                                     GError               **error)
{
  g_return_val_if_fail (SLUICE_IS_DEAD_LETTER_STORE (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);

  if (g_async_result_is_tagged (result, sluice_dead_letter_store_put_async))
    return g_task_propagate_boolean (G_TASK (result), error);
  return SLUICE_DEAD_LETTER_STORE_GET_IFACE (self)->put_finish (self, result, error);
}

/**
 * sluice_dead_letter_store_get_async:
 * @self: a #SluiceDeadLetterStore
 * @id: the dead letter's id
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Fetches one dead letter, payload included.
 */
void
sluice_dead_letter_store_get_async (SluiceDeadLetterStore *self,
                                    const char            *id,
                                    GCancellable          *cancellable,
                                    GAsyncReadyCallback    callback,
                                    gpointer               user_data)
{
  SluiceDeadLetterStoreInterface *iface;

  g_return_if_fail (SLUICE_IS_DEAD_LETTER_STORE (self));
  g_return_if_fail (id != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_DEAD_LETTER_STORE_GET_IFACE (self);
  if (iface->get_async == NULL || iface->get_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceDeadLetterStore.get_async()", callback, user_data,
                      sluice_dead_letter_store_get_async);
      return;
    }
  iface->get_async (self, id, cancellable, callback, user_data);
}

/**
 * sluice_dead_letter_store_get_finish:
 * @self: a #SluiceDeadLetterStore
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the dead letter, or %NULL with
 *   %SLUICE_ERROR_NOT_FOUND when there is none with that id
 */
SluiceDeadLetter *
sluice_dead_letter_store_get_finish (SluiceDeadLetterStore *self,
                                     GAsyncResult          *result,
                                     GError               **error)
{
  g_return_val_if_fail (SLUICE_IS_DEAD_LETTER_STORE (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);

  if (g_async_result_is_tagged (result, sluice_dead_letter_store_get_async))
    return g_task_propagate_pointer (G_TASK (result), error);
  return SLUICE_DEAD_LETTER_STORE_GET_IFACE (self)->get_finish (self, result, error);
}

/**
 * sluice_dead_letter_store_list_async:
 * @self: a #SluiceDeadLetterStore
 * @filter: (nullable): which dead letters; %NULL for all
 * @offset: how many matching dead letters to skip
 * @limit: the most to return (at least 1)
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Lists dead letters matching @filter, oldest first (by first time, then
 * id), payloads included.
 */
void
sluice_dead_letter_store_list_async (SluiceDeadLetterStore        *self,
                                     const SluiceDeadLetterFilter *filter,
                                     guint64                       offset,
                                     guint                         limit,
                                     GCancellable                 *cancellable,
                                     GAsyncReadyCallback           callback,
                                     gpointer                      user_data)
{
  SluiceDeadLetterStoreInterface *iface;

  g_return_if_fail (SLUICE_IS_DEAD_LETTER_STORE (self));
  g_return_if_fail (limit > 0);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_DEAD_LETTER_STORE_GET_IFACE (self);
  if (iface->list_async == NULL || iface->list_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceDeadLetterStore.list_async()", callback, user_data,
                      sluice_dead_letter_store_list_async);
      return;
    }
  iface->list_async (self, filter, offset, limit, cancellable, callback, user_data);
}

/**
 * sluice_dead_letter_store_list_finish:
 * @self: a #SluiceDeadLetterStore
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type SluiceDeadLetter): the page of
 *   dead letters (fewer than the limit at the end; the array frees its
 *   elements), or %NULL on error
 */
GPtrArray *
sluice_dead_letter_store_list_finish (SluiceDeadLetterStore *self,
                                      GAsyncResult          *result,
                                      GError               **error)
{
  g_return_val_if_fail (SLUICE_IS_DEAD_LETTER_STORE (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);

  if (g_async_result_is_tagged (result, sluice_dead_letter_store_list_async))
    return g_task_propagate_pointer (G_TASK (result), error);
  return SLUICE_DEAD_LETTER_STORE_GET_IFACE (self)->list_finish (self, result, error);
}

/**
 * sluice_dead_letter_store_remove_async:
 * @self: a #SluiceDeadLetterStore
 * @ids: (element-type utf8): the ids to remove
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Removes dead letters; ids that are not there are skipped.
 */
void
sluice_dead_letter_store_remove_async (SluiceDeadLetterStore *self,
                                       GPtrArray             *ids,
                                       GCancellable          *cancellable,
                                       GAsyncReadyCallback    callback,
                                       gpointer               user_data)
{
  SluiceDeadLetterStoreInterface *iface;

  g_return_if_fail (SLUICE_IS_DEAD_LETTER_STORE (self));
  g_return_if_fail (ids != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = SLUICE_DEAD_LETTER_STORE_GET_IFACE (self);
  if (iface->remove_async == NULL || iface->remove_finish == NULL)
    {
      sluice_report_missing_vfunc (self, "SluiceDeadLetterStore.remove_async()", callback, user_data,
                      sluice_dead_letter_store_remove_async);
      return;
    }
  iface->remove_async (self, ids, cancellable, callback, user_data);
}

/**
 * sluice_dead_letter_store_remove_finish:
 * @self: a #SluiceDeadLetterStore
 * @result: the #GAsyncResult given to the callback
 * @out_removed: (out) (optional): how many were removed
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
sluice_dead_letter_store_remove_finish (SluiceDeadLetterStore *self,
                                        GAsyncResult          *result,
                                        guint64               *out_removed,
                                        GError               **error)
{
  guint64 removed = 0;
  gboolean ok;

  g_return_val_if_fail (SLUICE_IS_DEAD_LETTER_STORE (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);

  if (g_async_result_is_tagged (result, sluice_dead_letter_store_remove_async))
    ok = g_task_propagate_boolean (G_TASK (result), error);
  else
    ok = SLUICE_DEAD_LETTER_STORE_GET_IFACE (self)->remove_finish (self, result, &removed, error);
  if (out_removed != NULL)
    *out_removed = ok ? removed : 0;
  return ok;
}
