/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-event-key.h"

#include "sluice-json-path.h"

struct _SluiceEventKey
{
  char           *header;      /* or NULL */
  SluiceJsonPath *path;        /* or NULL */
  char           *description;
};

void
sluice_event_key_free (SluiceEventKey *self)
{
  if (self == NULL)
    return;
  g_free (self->header);
  g_clear_pointer (&self->path, sluice_json_path_free);
  g_free (self->description);
  g_free (self);
}

static const char *
string_member (JsonObject *object, const char *name, GError **error)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING ||
      json_node_get_string (node)[0] == '\0')
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "'%s' must be a non-empty string", name);
      return NULL;
    }
  return json_node_get_string (node);
}

SluiceEventKey *
sluice_event_key_new (JsonObject *object, GError **error)
{
  g_autoptr(SluiceEventKey) self = g_new0 (SluiceEventKey, 1);
  GError *local_error = NULL;
  const char *header = string_member (object, "header", &local_error);
  const char *field;

  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return NULL;
    }
  field = string_member (object, "field", &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return NULL;
    }
  if ((header == NULL) == (field == NULL))
    {
      g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                           header == NULL ? "needs 'header' (a header name) or 'field' (a JSONPath)"
                                          : "takes either 'header' or 'field', not both");
      return NULL;
    }
  if (header != NULL)
    {
      self->header = g_strdup (header);
      self->description = g_strdup_printf ("header %s", header);
    }
  else
    {
      self->path = sluice_json_path_new (field, error);
      if (self->path == NULL)
        return NULL;
      self->description = g_strdup_printf ("field %s", field);
    }
  return g_steal_pointer (&self);
}

const char *
sluice_event_key_describe (SluiceEventKey *self)
{
  return self->description;
}

char *
sluice_event_key_evaluate (SluiceEventKey *self, SluiceMessage *message)
{
  JsonNode *root;
  JsonNode *value;

  if (self->header != NULL)
    return g_strdup (sluice_message_get_header (message, self->header));

  if (sluice_message_is_streamed (message))
    return NULL;
  root = sluice_message_get_json (message, NULL);
  if (root == NULL)
    return NULL;
  value = sluice_json_path_first (self->path, root);
  if (value == NULL || JSON_NODE_HOLDS_NULL (value))
    return NULL;
  if (JSON_NODE_HOLDS_VALUE (value) && json_node_get_value_type (value) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (value));
  return json_to_string (value, FALSE);
}
