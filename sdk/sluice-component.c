/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

#include "sluice-component-private.h"

/**
 * SECTION:sluice-component
 * @title: SluiceComponentFactory
 *
 * A component a plugin registered: its name, kind, configuration schema,
 * and the #GType the host instantiates for each node that uses it. A
 * component instance finds its configuration and context with
 * sluice_component_get_config() and sluice_component_get_context(), also
 * inside its #GInitable init function.
 */

struct _SluiceComponentFactory
{
  GObject parent_instance;

  char               *name;
  char               *plugin_name;
  char               *description;
  GType               type;
  SluiceComponentKind kind;
  JsonNode           *schema;
};

G_DEFINE_FINAL_TYPE (SluiceComponentFactory, sluice_component_factory, G_TYPE_OBJECT)

static GQuark
component_config_quark (void)
{
  static GQuark quark;

  if (G_UNLIKELY (quark == 0))
    quark = g_quark_from_static_string ("sluice-component-config");
  return quark;
}

static GQuark
component_context_quark (void)
{
  static GQuark quark;

  if (G_UNLIKELY (quark == 0))
    quark = g_quark_from_static_string ("sluice-component-context");
  return quark;
}

/**
 * sluice_component_kind_to_string:
 * @kind: a #SluiceComponentKind
 *
 * Returns: the kind's name: "trigger", "step", "source", "batch-store",
 *   "state-store" or "dead-letter-store"
 */
const char *
sluice_component_kind_to_string (SluiceComponentKind kind)
{
  switch (kind)
    {
    case SLUICE_COMPONENT_TRIGGER:
      return "trigger";
    case SLUICE_COMPONENT_STEP:
      return "step";
    case SLUICE_COMPONENT_SOURCE:
      return "source";
    case SLUICE_COMPONENT_BATCH_STORE:
      return "batch-store";
    case SLUICE_COMPONENT_STATE_STORE:
      return "state-store";
    case SLUICE_COMPONENT_DEAD_LETTER_STORE:
      return "dead-letter-store";
    default:
      g_return_val_if_reached ("unknown");
    }
}

static void
sluice_component_factory_finalize (GObject *object)
{
  SluiceComponentFactory *self = SLUICE_COMPONENT_FACTORY (object);

  g_free (self->name);
  g_free (self->plugin_name);
  g_free (self->description);
  g_clear_pointer (&self->schema, json_node_unref);

  G_OBJECT_CLASS (sluice_component_factory_parent_class)->finalize (object);
}

static void
sluice_component_factory_class_init (SluiceComponentFactoryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sluice_component_factory_finalize;
}

static void
sluice_component_factory_init (SluiceComponentFactory *self)
{
}

SluiceComponentFactory *
sluice_component_factory_new_internal (const char         *name,
                                       const char         *plugin_name,
                                       const char         *description,
                                       GType               type,
                                       SluiceComponentKind kind,
                                       JsonNode           *schema)
{
  SluiceComponentFactory *self = g_object_new (SLUICE_TYPE_COMPONENT_FACTORY, NULL);

  self->name = g_strdup (name);
  self->plugin_name = g_strdup (plugin_name);
  self->description = g_strdup (description != NULL ? description : "");
  self->type = type;
  self->kind = kind;
  self->schema = json_node_ref (schema);
  return self;
}

/**
 * sluice_component_factory_get_name:
 * @self: a #SluiceComponentFactory
 *
 * Returns: the component's full name, "<plugin>.<kind>"
 */
const char *
sluice_component_factory_get_name (SluiceComponentFactory *self)
{
  g_return_val_if_fail (SLUICE_IS_COMPONENT_FACTORY (self), NULL);

  return self->name;
}

/**
 * sluice_component_factory_get_plugin_name:
 * @self: a #SluiceComponentFactory
 *
 * Returns: the name of the plugin that registered the component
 */
const char *
sluice_component_factory_get_plugin_name (SluiceComponentFactory *self)
{
  g_return_val_if_fail (SLUICE_IS_COMPONENT_FACTORY (self), NULL);

  return self->plugin_name;
}

/**
 * sluice_component_factory_get_description:
 * @self: a #SluiceComponentFactory
 *
 * Returns: the "description" of the component's schema, or "" without one
 */
const char *
sluice_component_factory_get_description (SluiceComponentFactory *self)
{
  g_return_val_if_fail (SLUICE_IS_COMPONENT_FACTORY (self), NULL);

  return self->description;
}

/**
 * sluice_component_factory_get_instance_type:
 * @self: a #SluiceComponentFactory
 *
 * Returns: the #GType instantiated for each use of the component
 */
GType
sluice_component_factory_get_instance_type (SluiceComponentFactory *self)
{
  g_return_val_if_fail (SLUICE_IS_COMPONENT_FACTORY (self), G_TYPE_INVALID);

  return self->type;
}

/**
 * sluice_component_factory_get_kind:
 * @self: a #SluiceComponentFactory
 *
 * Returns: which SDK interface the component implements
 */
SluiceComponentKind
sluice_component_factory_get_kind (SluiceComponentFactory *self)
{
  g_return_val_if_fail (SLUICE_IS_COMPONENT_FACTORY (self), SLUICE_COMPONENT_STEP);

  return self->kind;
}

/**
 * sluice_component_factory_get_schema:
 * @self: a #SluiceComponentFactory
 *
 * Returns: (transfer none): the JSON Schema of the component's
 *   configuration, an object
 */
JsonNode *
sluice_component_factory_get_schema (SluiceComponentFactory *self)
{
  g_return_val_if_fail (SLUICE_IS_COMPONENT_FACTORY (self), NULL);

  return self->schema;
}

/**
 * sluice_component_factory_create:
 * @self: a #SluiceComponentFactory
 * @context: the instance's context
 * @config: (nullable): its configuration (the node's "with"), already
 *   checked against the schema; %NULL for an empty one
 * @error: return location for a #GError
 *
 * Makes an instance of the component. @context and @config are attached
 * to it before a #GInitable instance is initialized, so init can read
 * them.
 *
 * Returns: (transfer full): the instance, or %NULL with @error set when
 *   its initialization failed
 */
GObject *
sluice_component_factory_create (SluiceComponentFactory *self,
                                 SluiceContext          *context,
                                 JsonObject             *config,
                                 GError                **error)
{
  g_autoptr(GObject) instance = NULL;

  g_return_val_if_fail (SLUICE_IS_COMPONENT_FACTORY (self), NULL);
  g_return_val_if_fail (SLUICE_IS_CONTEXT (context), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  instance = g_object_new (self->type, NULL);
  g_object_set_qdata_full (instance, component_context_quark (),
                           g_object_ref (context), g_object_unref);
  g_object_set_qdata_full (instance, component_config_quark (),
                           config != NULL ? json_object_ref (config) : json_object_new (),
                           (GDestroyNotify) json_object_unref);

  if (G_IS_INITABLE (instance) &&
      !g_initable_init (G_INITABLE (instance), NULL, error))
    return NULL;

  return g_steal_pointer (&instance);
}

/**
 * sluice_component_get_config:
 * @instance: (type GObject): a component instance
 *
 * Returns: (transfer none) (nullable): the configuration the instance was
 *   created with, or %NULL for an object not made by a factory
 */
JsonObject *
sluice_component_get_config (gpointer instance)
{
  g_return_val_if_fail (G_IS_OBJECT (instance), NULL);

  return g_object_get_qdata (instance, component_config_quark ());
}

/**
 * sluice_component_get_context:
 * @instance: (type GObject): a component instance
 *
 * Returns: (transfer none) (nullable): the context the instance was
 *   created with, or %NULL for an object not made by a factory
 */
SluiceContext *
sluice_component_get_context (gpointer instance)
{
  g_return_val_if_fail (G_IS_OBJECT (instance), NULL);

  return g_object_get_qdata (instance, component_context_quark ());
}

void
sluice_report_missing_vfunc (gpointer            self,
                             const char         *vfunc,
                             GAsyncReadyCallback callback,
                             gpointer            user_data,
                             gpointer            source_tag)
{
  g_critical ("%s does not implement %s", G_OBJECT_TYPE_NAME (self), vfunc);
  g_task_report_new_error (self, callback, user_data, source_tag,
                           SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                           "%s does not implement %s", G_OBJECT_TYPE_NAME (self), vfunc);
}
