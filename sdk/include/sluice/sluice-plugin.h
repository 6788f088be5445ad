/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(SLUICE_INSIDE) && !defined(SLUICE_COMPILATION)
#error "Only <sluice/sluice.h> can be included directly."
#endif

#include <gmodule.h>
#include <glib-object.h>
#include <sluice/sluice-component.h>

G_BEGIN_DECLS

#define SLUICE_TYPE_PLUGIN (sluice_plugin_get_type ())
SLUICE_API G_DECLARE_FINAL_TYPE (SluicePlugin, sluice_plugin, SLUICE, PLUGIN, GObject)

/**
 * SluicePluginRegisterFunc:
 * @plugin: the plugin being loaded
 * @error: return location for a #GError
 *
 * Registers a plugin's components with sluice_plugin_add_component().
 * Called once, on the main thread, after the host accepted the descriptor.
 *
 * Returns: %TRUE on success; %FALSE with @error set refuses the plugin
 */
typedef gboolean (*SluicePluginRegisterFunc) (SluicePlugin *plugin,
                                              GError      **error);

/**
 * SluicePluginDescriptor:
 * @abi_major: %SLUICE_PLUGIN_ABI the plugin was built against
 * @abi_minor: %SLUICE_PLUGIN_ABI_MINOR the plugin was built against
 * @name: the plugin's name: lowercase letters, digits and '-'; the prefix
 *   of its components' names
 * @version: the plugin's version
 * @license: its licence, as an SPDX identifier
 * @description: one line saying what it connects to
 * @register_components: registers its components
 *
 * What a plugin exports, as the one symbol %SLUICE_PLUGIN_DESCRIPTOR_SYMBOL.
 * Made by SLUICE_PLUGIN_DEFINE(); never filled in by hand.
 */
typedef struct {
  guint32                  abi_major;
  guint32                  abi_minor;
  const char              *name;
  const char              *version;
  const char              *license;
  const char              *description;
  SluicePluginRegisterFunc register_components;

  /*< private >*/
  gpointer reserved[8];
} SluicePluginDescriptor;

/**
 * SLUICE_PLUGIN_DESCRIPTOR_SYMBOL:
 *
 * The name of the one symbol a plugin exports.
 */
#define SLUICE_PLUGIN_DESCRIPTOR_SYMBOL "sluice_plugin_descriptor"

/**
 * SLUICE_PLUGIN_DEFINE:
 * @name: the plugin's name, a string literal
 * @version: its version, a string literal
 * @license: its SPDX licence identifier, a string literal
 * @description: one line about it, a string literal
 * @register_func: a #SluicePluginRegisterFunc
 *
 * Defines the descriptor that makes a shared object a Sluice plugin. Use it
 * once, in one source file of the plugin.
 */
#define SLUICE_PLUGIN_DEFINE(name, version, license, description, register_func) \
  G_MODULE_EXPORT extern const SluicePluginDescriptor sluice_plugin_descriptor;  \
  G_MODULE_EXPORT const SluicePluginDescriptor sluice_plugin_descriptor = {      \
    SLUICE_PLUGIN_ABI, SLUICE_PLUGIN_ABI_MINOR, (name), (version), (license),     \
    (description), (register_func), { NULL }                                      \
  };

SLUICE_API SluicePlugin *sluice_plugin_new (const SluicePluginDescriptor *descriptor,
                                            const char                   *path);
SLUICE_API const char *sluice_plugin_get_name (SluicePlugin *self);
SLUICE_API const char *sluice_plugin_get_version (SluicePlugin *self);
SLUICE_API const char *sluice_plugin_get_license (SluicePlugin *self);
SLUICE_API const char *sluice_plugin_get_description (SluicePlugin *self);
SLUICE_API const char *sluice_plugin_get_path (SluicePlugin *self);

SLUICE_API gboolean sluice_plugin_add_component (SluicePlugin *self,
                                                 const char   *name,
                                                 GType         type,
                                                 const char   *config_schema,
                                                 GError      **error);
SLUICE_API GPtrArray *sluice_plugin_get_components (SluicePlugin *self);

G_END_DECLS
