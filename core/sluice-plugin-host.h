/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>
#include <sluice/sluice.h>

G_BEGIN_DECLS

#define SLUICE_TYPE_PLUGIN_HOST (sluice_plugin_host_get_type ())
G_DECLARE_FINAL_TYPE (SluicePluginHost, sluice_plugin_host, SLUICE, PLUGIN_HOST, GObject)

/* Finds, checks and loads plugins, and looks up their components by name.
 * Loaded modules are resident: plugins are never unloaded. */
SluicePluginHost *sluice_plugin_host_new (void);

/* Besides root, files and folders owned by this uid are trusted (default:
 * the daemon's own effective uid). */
void sluice_plugin_host_set_trusted_uid (SluicePluginHost *self,
                                         uid_t             uid);

/* Registers a plugin linked into the daemon (path shown as "built-in"). */
gboolean sluice_plugin_host_add_builtin (SluicePluginHost             *self,
                                         const SluicePluginDescriptor *descriptor,
                                         GError                      **error);

/* Checks and loads one plugin file. On refusal, returns FALSE with an error
 * whose message names the file and the reason. */
gboolean sluice_plugin_host_load_file (SluicePluginHost *self,
                                       const char       *path,
                                       GError          **error);

/* Scans the directories in order, loading every "*.so" in each (sorted by
 * name). A refused plugin or folder is logged (one warning line naming the
 * file and reason) and skipped; the others still load. Missing directories
 * are skipped silently. Returns how many plugins were loaded. */
guint sluice_plugin_host_load_directories (SluicePluginHost   *self,
                                           const char * const *directories);

/* The search path: $SLUICE_PLUGIN_PATH (colon list), then
 * @third_party_dirs, then @distro_dir. */
GStrv sluice_plugin_host_build_search_path (const char * const *third_party_dirs,
                                            const char         *distro_dir);

/* Loaded plugins (SluicePlugin), in load order. Transfer none. */
GPtrArray *sluice_plugin_host_get_plugins (SluicePluginHost *self);

/* A component by name; "split" finds "core.split". NULL if unknown. */
SluiceComponentFactory *sluice_plugin_host_lookup (SluicePluginHost *self,
                                                   const char       *name);

G_END_DECLS
