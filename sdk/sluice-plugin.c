/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <sluice/sluice.h>

#include "sluice-component-private.h"

/**
 * SECTION:sluice-plugin
 * @title: SluicePlugin
 *
 * A loaded plugin: what its descriptor says, where it came from, and the
 * components its register function added. sluice_plugin_add_component()
 * checks each component so that a malformed plugin is refused when it
 * loads, with an error that names the component.
 */

struct _SluicePlugin
{
  GObject parent_instance;

  char       *name;
  char       *version;
  char       *license;
  char       *description;
  char       *path;
  GPtrArray  *components;  /* SluiceComponentFactory, registration order */
  GHashTable *names;       /* component name -> factory, borrowed */
};

G_DEFINE_FINAL_TYPE (SluicePlugin, sluice_plugin, G_TYPE_OBJECT)

static void
sluice_plugin_finalize (GObject *object)
{
  SluicePlugin *self = SLUICE_PLUGIN (object);

  g_free (self->name);
  g_free (self->version);
  g_free (self->license);
  g_free (self->description);
  g_free (self->path);
  g_hash_table_unref (self->names);
  g_ptr_array_unref (self->components);

  G_OBJECT_CLASS (sluice_plugin_parent_class)->finalize (object);
}

static void
sluice_plugin_class_init (SluicePluginClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sluice_plugin_finalize;
}

static void
sluice_plugin_init (SluicePlugin *self)
{
  self->components = g_ptr_array_new_with_free_func (g_object_unref);
  self->names = g_hash_table_new (g_str_hash, g_str_equal);
}

/**
 * sluice_plugin_new:
 * @descriptor: the plugin's descriptor, already checked by the host
 * @path: (nullable): the file it was loaded from; "built-in" (or %NULL)
 *   for a plugin linked into the host
 *
 * Creates the plugin object the register function fills. The descriptor's
 * strings are copied.
 *
 * Returns: (transfer full): a new #SluicePlugin
 */
SluicePlugin *
sluice_plugin_new (const SluicePluginDescriptor *descriptor,
                   const char                   *path)
{
  SluicePlugin *self;

  g_return_val_if_fail (descriptor != NULL, NULL);
  g_return_val_if_fail (descriptor->name != NULL, NULL);

  self = g_object_new (SLUICE_TYPE_PLUGIN, NULL);
  self->name = g_strdup (descriptor->name);
  self->version = g_strdup (descriptor->version != NULL ? descriptor->version : "");
  self->license = g_strdup (descriptor->license != NULL ? descriptor->license : "");
  self->description = g_strdup (descriptor->description != NULL ? descriptor->description : "");
  self->path = g_strdup (path != NULL ? path : "built-in");
  return self;
}

/**
 * sluice_plugin_get_name:
 * @self: a #SluicePlugin
 *
 * Returns: the plugin's name
 */
const char *
sluice_plugin_get_name (SluicePlugin *self)
{
  g_return_val_if_fail (SLUICE_IS_PLUGIN (self), NULL);

  return self->name;
}

/**
 * sluice_plugin_get_version:
 * @self: a #SluicePlugin
 *
 * Returns: the plugin's version
 */
const char *
sluice_plugin_get_version (SluicePlugin *self)
{
  g_return_val_if_fail (SLUICE_IS_PLUGIN (self), NULL);

  return self->version;
}

/**
 * sluice_plugin_get_license:
 * @self: a #SluicePlugin
 *
 * Returns: the plugin's licence, an SPDX identifier
 */
const char *
sluice_plugin_get_license (SluicePlugin *self)
{
  g_return_val_if_fail (SLUICE_IS_PLUGIN (self), NULL);

  return self->license;
}

/**
 * sluice_plugin_get_description:
 * @self: a #SluicePlugin
 *
 * Returns: what the plugin connects to, in one line
 */
const char *
sluice_plugin_get_description (SluicePlugin *self)
{
  g_return_val_if_fail (SLUICE_IS_PLUGIN (self), NULL);

  return self->description;
}

/**
 * sluice_plugin_get_path:
 * @self: a #SluicePlugin
 *
 * Returns: the file the plugin was loaded from, or "built-in"
 */
const char *
sluice_plugin_get_path (SluicePlugin *self)
{
  g_return_val_if_fail (SLUICE_IS_PLUGIN (self), NULL);

  return self->path;
}

/* [a-z0-9][a-z0-9.-]* */
static gboolean
component_kind_is_valid (const char *kind)
{
  if (!(g_ascii_islower (kind[0]) || g_ascii_isdigit (kind[0])))
    return FALSE;
  for (const char *p = kind + 1; *p != '\0'; p++)
    {
      if (!(g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '.' || *p == '-'))
        return FALSE;
    }
  return TRUE;
}

static gboolean
component_type_get_kind (SluicePlugin        *self,
                         const char          *name,
                         GType                type,
                         SluiceComponentKind *out_kind,
                         GError             **error)
{
  static const struct {
    SluiceComponentKind kind;
    const char         *interface;
  } kinds[] = {
    { SLUICE_COMPONENT_TRIGGER, "SluiceTrigger" },
    { SLUICE_COMPONENT_STEP, "SluiceStep" },
    { SLUICE_COMPONENT_SOURCE, "SluiceSource" },
    { SLUICE_COMPONENT_BATCH_STORE, "SluiceBatchStore" },
    { SLUICE_COMPONENT_STATE_STORE, "SluiceStateStore" },
    { SLUICE_COMPONENT_DEAD_LETTER_STORE, "SluiceDeadLetterStore" },
  };
  GType interfaces[G_N_ELEMENTS (kinds)];
  guint n_found = 0;
  g_autoptr(GString) found = g_string_new (NULL);

  interfaces[0] = SLUICE_TYPE_TRIGGER;
  interfaces[1] = SLUICE_TYPE_STEP;
  interfaces[2] = SLUICE_TYPE_SOURCE;
  interfaces[3] = SLUICE_TYPE_BATCH_STORE;
  interfaces[4] = SLUICE_TYPE_STATE_STORE;
  interfaces[5] = SLUICE_TYPE_DEAD_LETTER_STORE;

  if (type == G_TYPE_INVALID || !g_type_is_a (type, G_TYPE_OBJECT) ||
      !G_TYPE_IS_INSTANTIATABLE (type) || G_TYPE_IS_ABSTRACT (type))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                   "plugin '%s', component '%s': type '%s' is not an instantiatable GObject type",
                   self->name, name, type != G_TYPE_INVALID ? g_type_name (type) : "(invalid)");
      return FALSE;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      if (g_type_is_a (type, interfaces[i]))
        {
          if (n_found > 0)
            g_string_append (found, " and ");
          g_string_append (found, kinds[i].interface);
          *out_kind = kinds[i].kind;
          n_found++;
        }
    }

  if (n_found == 0)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                   "plugin '%s', component '%s': type '%s' implements none of SluiceTrigger, "
                   "SluiceStep, SluiceSource, SluiceBatchStore, SluiceStateStore",
                   self->name, name, g_type_name (type));
      return FALSE;
    }
  if (n_found > 1)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                   "plugin '%s', component '%s': type '%s' implements %s; a component "
                   "implements exactly one SDK interface (register one type per role)",
                   self->name, name, g_type_name (type), found->str);
      return FALSE;
    }
  return TRUE;
}

/**
 * sluice_plugin_add_component:
 * @self: a #SluicePlugin
 * @name: the component's name, "<plugin name>.<kind>" where kind is
 *   lowercase letters, digits, '.' and '-' ("sftp.read")
 * @type: a non-abstract #GObject type implementing exactly one of
 *   #SluiceTrigger, #SluiceStep, #SluiceSource, #SluiceBatchStore and
 *   #SluiceStateStore; it may also implement #GInitable to check its
 *   configuration when created
 * @config_schema: the JSON Schema of its configuration: an object with
 *   "type": "object", whose "description" describes the component
 * @error: return location for a #GError
 *
 * Registers a component; called from the plugin's register function.
 *
 * Returns: %TRUE on success; %FALSE with %SLUICE_ERROR_PLUGIN naming the
 *   component and what is wrong
 */
gboolean
sluice_plugin_add_component (SluicePlugin *self,
                             const char   *name,
                             GType         type,
                             const char   *config_schema,
                             GError      **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  SluiceComponentFactory *factory;
  SluiceComponentKind kind = SLUICE_COMPONENT_STEP;
  JsonNode *root;
  JsonObject *schema;
  JsonNode *type_node;
  JsonNode *description_node;
  const char *description = NULL;
  gsize prefix_len;

  g_return_val_if_fail (SLUICE_IS_PLUGIN (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  prefix_len = strlen (self->name);
  if (strncmp (name, self->name, prefix_len) != 0 || name[prefix_len] != '.' ||
      !component_kind_is_valid (name + prefix_len + 1))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                   "plugin '%s': component name '%s' is not '%s.<kind>' with a kind of "
                   "lowercase letters, digits, '.' and '-'",
                   self->name, name, self->name);
      return FALSE;
    }

  if (g_hash_table_contains (self->names, name))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                   "plugin '%s': component '%s' is registered twice", self->name, name);
      return FALSE;
    }

  if (!component_type_get_kind (self, name, type, &kind, error))
    return FALSE;

  if (config_schema == NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                   "plugin '%s', component '%s': no configuration schema", self->name, name);
      return FALSE;
    }

  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, config_schema, -1, &local_error))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                   "plugin '%s', component '%s': configuration schema is not valid JSON: %s",
                   self->name, name, local_error->message);
      return FALSE;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                   "plugin '%s', component '%s': configuration schema is not a JSON object",
                   self->name, name);
      return FALSE;
    }

  schema = json_node_get_object (root);
  type_node = json_object_get_member (schema, "type");
  if (type_node == NULL || !JSON_NODE_HOLDS_VALUE (type_node) ||
      json_node_get_value_type (type_node) != G_TYPE_STRING ||
      !g_str_equal (json_node_get_string (type_node), "object"))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                   "plugin '%s', component '%s': configuration schema must have "
                   "\"type\": \"object\"", self->name, name);
      return FALSE;
    }

  description_node = json_object_get_member (schema, "description");
  if (description_node != NULL)
    {
      if (!JSON_NODE_HOLDS_VALUE (description_node) ||
          json_node_get_value_type (description_node) != G_TYPE_STRING)
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                       "plugin '%s', component '%s': configuration schema's \"description\" "
                       "must be a string", self->name, name);
          return FALSE;
        }
      description = json_node_get_string (description_node);
    }

  factory = sluice_component_factory_new_internal (name, self->name, description, type, kind, root);
  g_ptr_array_add (self->components, factory);
  g_hash_table_insert (self->names, (gpointer) sluice_component_factory_get_name (factory), factory);
  return TRUE;
}

/**
 * sluice_plugin_get_components:
 * @self: a #SluicePlugin
 *
 * Returns: (transfer none) (element-type SluiceComponentFactory): the
 *   plugin's components in the order they were registered
 */
GPtrArray *
sluice_plugin_get_components (SluicePlugin *self)
{
  g_return_val_if_fail (SLUICE_IS_PLUGIN (self), NULL);

  return self->components;
}
