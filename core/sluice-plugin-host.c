/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-plugin-host.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmodule.h>

/* What a plugin is checked against before any of its code runs, and how it
 * is registered, follows GStreamer's gstplugin.c (one const descriptor,
 * ABI major must match, minor may not be newer) and NetworkManager's
 * nm_utils_validate_plugin() (regular file, trusted owner, not writable by
 * group or others). Plugins are never unloaded: once a plugin registered
 * GTypes, the code behind them must stay mapped. */

#define BUILTIN_PATH "built-in"

struct _SluicePluginHost
{
  GObject parent_instance;

  uid_t       trusted_uid;
  GPtrArray  *plugins;    /* SluicePlugin, in load order */
  GHashTable *components; /* component name → SluiceComponentFactory */
};

G_DEFINE_FINAL_TYPE (SluicePluginHost, sluice_plugin_host, G_TYPE_OBJECT)

static void
sluice_plugin_host_finalize (GObject *object)
{
  SluicePluginHost *self = SLUICE_PLUGIN_HOST (object);

  g_clear_pointer (&self->components, g_hash_table_unref);
  g_clear_pointer (&self->plugins, g_ptr_array_unref);

  G_OBJECT_CLASS (sluice_plugin_host_parent_class)->finalize (object);
}

static void
sluice_plugin_host_class_init (SluicePluginHostClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sluice_plugin_host_finalize;
}

static void
sluice_plugin_host_init (SluicePluginHost *self)
{
  self->trusted_uid = geteuid ();
  self->plugins = g_ptr_array_new_with_free_func (g_object_unref);
  self->components = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
}

SluicePluginHost *
sluice_plugin_host_new (void)
{
  return g_object_new (SLUICE_TYPE_PLUGIN_HOST, NULL);
}

void
sluice_plugin_host_set_trusted_uid (SluicePluginHost *self,
                                    uid_t             uid)
{
  g_return_if_fail (SLUICE_IS_PLUGIN_HOST (self));

  self->trusted_uid = uid;
}

/* Ownership and permission checks, shared by files and folders. @what is
 * the subject of the message ("file", "folder /x"). A trusted owner is
 * required because whoever owns a file can chmod it; no write bit for
 * group or others because anyone with it could swap the code the daemon
 * runs as its own user. */
static gboolean
check_owner_and_mode (SluicePluginHost  *self,
                      const struct stat *st,
                      const char        *what,
                      GError           **error)
{
  if (st->st_uid != 0 && st->st_uid != self->trusted_uid)
    {
      if (self->trusted_uid == 0)
        g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                     "%s is owned by uid %u, not by root", what, (guint) st->st_uid);
      else
        g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                     "%s is owned by uid %u, not by root or uid %u", what, (guint) st->st_uid,
                     (guint) self->trusted_uid);
      return FALSE;
    }

  if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                   "%s is writable by group or others (mode %04o)", what,
                   (guint) (st->st_mode & 07777));
      return FALSE;
    }

  return TRUE;
}

/* @what names the folder in messages: "folder" when the message already
 * starts with its path, "folder /x" when it starts with a file's. */
static gboolean
check_folder (SluicePluginHost *self,
              const char       *folder,
              const char       *what,
              GError          **error)
{
  struct stat st;

  if (stat (folder, &st) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN, "%s cannot be examined: %s", what,
                   g_strerror (saved_errno));
      return FALSE;
    }

  if (!S_ISDIR (st.st_mode))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN, "%s is not a directory", what);
      return FALSE;
    }

  return check_owner_and_mode (self, &st, what, error);
}

/* Checks a regular file and the folder holding it: whoever can write to
 * the folder can replace the file between this check and dlopen(). */
static gboolean
check_regular_file (SluicePluginHost  *self,
                    const char        *path,
                    const struct stat *st,
                    const char        *what,
                    GError           **error)
{
  g_autofree char *folder = NULL;
  g_autofree char *folder_what = NULL;

  if (!S_ISREG (st->st_mode))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN, "%s is not a regular file", what);
      return FALSE;
    }

  if (!check_owner_and_mode (self, st, what, error))
    return FALSE;

  folder = g_path_get_dirname (path);
  folder_what = g_strdup_printf ("folder %s", folder);
  return check_folder (self, folder, folder_what, error);
}

/* The checks on the file a plugin path names, before it is opened. A
 * symlink is accepted only if the file it resolves to, and that file's
 * folder, pass the same checks: pointing a trusted link at an untrusted
 * file must not launder it. The link's own folder is checked too, since
 * whoever can write there can replace the link. */
static gboolean
check_plugin_file (SluicePluginHost *self,
                   const char       *path,
                   GError          **error)
{
  struct stat st;
  g_autofree char *resolved = NULL;
  g_autofree char *what = NULL;
  g_autofree char *link_folder = NULL;
  g_autofree char *link_folder_what = NULL;

  if (lstat (path, &st) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN, "file cannot be examined: %s",
                   g_strerror (saved_errno));
      return FALSE;
    }

  if (!S_ISLNK (st.st_mode))
    return check_regular_file (self, path, &st, "file", error);

  link_folder = g_path_get_dirname (path);
  link_folder_what = g_strdup_printf ("folder %s", link_folder);
  if (!check_folder (self, link_folder, link_folder_what, error))
    return FALSE;

  resolved = realpath (path, NULL);
  if (resolved == NULL)
    {
      int saved_errno = errno;

      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN, "symlink cannot be resolved: %s",
                   g_strerror (saved_errno));
      return FALSE;
    }

  if (stat (resolved, &st) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                   "symlink target %s cannot be examined: %s", resolved,
                   g_strerror (saved_errno));
      return FALSE;
    }

  what = g_strdup_printf ("symlink target %s", resolved);
  return check_regular_file (self, resolved, &st, what, error);
}

static gboolean
plugin_name_is_valid (const char *name)
{
  if (!g_ascii_islower (name[0]) && !g_ascii_isdigit (name[0]))
    return FALSE;

  for (const char *p = name; *p != '\0'; p++)
    {
      if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '-')
        return FALSE;
    }

  return TRUE;
}

static SluicePlugin *
find_plugin (SluicePluginHost *self,
             const char       *name)
{
  for (guint i = 0; i < self->plugins->len; i++)
    {
      SluicePlugin *plugin = g_ptr_array_index (self->plugins, i);

      if (g_strcmp0 (sluice_plugin_get_name (plugin), name) == 0)
        return plugin;
    }

  return NULL;
}

/* Everything in the descriptor that can be judged without running the
 * plugin's code. */
static gboolean
check_descriptor (SluicePluginHost             *self,
                  const SluicePluginDescriptor *descriptor,
                  GError                      **error)
{
  const struct {
    const char    *field;
    gconstpointer  value;
  } required[] = {
    { "name", descriptor->name },
    { "version", descriptor->version },
    { "license", descriptor->license },
    { "description", descriptor->description },
    { "register_components", (gconstpointer) descriptor->register_components },
  };
  SluicePlugin *existing;

  if (descriptor->abi_major != SLUICE_PLUGIN_ABI)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                   "built for plugin ABI %u, this sluiced speaks %u",
                   (guint) descriptor->abi_major, (guint) SLUICE_PLUGIN_ABI);
      return FALSE;
    }

  if (descriptor->abi_minor > SLUICE_PLUGIN_ABI_MINOR)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                   "built against a newer SDK (ABI %u.%u, this sluiced has %u.%u)",
                   (guint) descriptor->abi_major, (guint) descriptor->abi_minor,
                   (guint) SLUICE_PLUGIN_ABI, (guint) SLUICE_PLUGIN_ABI_MINOR);
      return FALSE;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (required); i++)
    {
      if (required[i].value == NULL)
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN, "descriptor has no '%s'",
                       required[i].field);
          return FALSE;
        }
    }

  if (!plugin_name_is_valid (descriptor->name))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                   "name '%s' is not valid: it must be lowercase letters, digits and '-', "
                   "starting with a letter or digit",
                   descriptor->name);
      return FALSE;
    }

  existing = find_plugin (self, descriptor->name);
  if (existing != NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                   "a plugin named '%s' is already loaded from %s", descriptor->name,
                   sluice_plugin_get_path (existing));
      return FALSE;
    }

  return TRUE;
}

/* Runs the plugin's register function and checks what it registered. The
 * components are published only when all of them are acceptable, so a
 * refused plugin leaves nothing behind in the host. */
static gboolean
register_plugin (SluicePluginHost             *self,
                 const SluicePluginDescriptor *descriptor,
                 const char                   *path,
                 GError                      **error)
{
  g_autoptr(SluicePlugin) plugin = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *prefix = NULL;
  GPtrArray *components;

  plugin = sluice_plugin_new (descriptor, path);

  if (!descriptor->register_components (plugin, &local_error))
    {
      if (local_error != NULL)
        g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                     "registering its components failed: %s", local_error->message);
      else
        g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                             "registering its components failed without saying why");
      return FALSE;
    }

  /* A register function that reports success must not leave an error. */
  if (local_error != NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                   "register function returned TRUE but set an error: %s", local_error->message);
      return FALSE;
    }

  prefix = g_strconcat (descriptor->name, ".", NULL);
  components = sluice_plugin_get_components (plugin);

  for (guint i = 0; i < components->len; i++)
    {
      SluiceComponentFactory *factory = g_ptr_array_index (components, i);
      const char *name = sluice_component_factory_get_name (factory);

      if (!g_str_has_prefix (name, prefix) || name[strlen (prefix)] == '\0')
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                       "component '%s' is not named '%s<kind>'", name, prefix);
          return FALSE;
        }

      if (g_hash_table_contains (self->components, name))
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                       "component '%s' is registered twice", name);
          return FALSE;
        }

      for (guint j = 0; j < i; j++)
        {
          SluiceComponentFactory *other = g_ptr_array_index (components, j);

          if (g_strcmp0 (sluice_component_factory_get_name (other), name) == 0)
            {
              g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                           "component '%s' is registered twice", name);
              return FALSE;
            }
        }
    }

  for (guint i = 0; i < components->len; i++)
    {
      SluiceComponentFactory *factory = g_ptr_array_index (components, i);

      g_hash_table_insert (self->components,
                           g_strdup (sluice_component_factory_get_name (factory)),
                           g_object_ref (factory));
    }

  g_debug ("Loaded plugin '%s' %s from %s (%u component%s)", descriptor->name,
           descriptor->version, path, components->len, components->len == 1 ? "" : "s");
  g_ptr_array_add (self->plugins, g_steal_pointer (&plugin));

  return TRUE;
}

gboolean
sluice_plugin_host_add_builtin (SluicePluginHost             *self,
                                const SluicePluginDescriptor *descriptor,
                                GError                      **error)
{
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (SLUICE_IS_PLUGIN_HOST (self), FALSE);
  g_return_val_if_fail (descriptor != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_descriptor (self, descriptor, &local_error) ||
      !register_plugin (self, descriptor, BUILTIN_PATH, &local_error))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN, "%s plugin '%s': refused: %s",
                   BUILTIN_PATH, descriptor->name != NULL ? descriptor->name : "(unnamed)",
                   local_error->message);
      return FALSE;
    }

  return TRUE;
}

static gboolean
load_file (SluicePluginHost *self,
           const char       *path,
           GError          **error)
{
  GModule *module;
  gpointer symbol = NULL;
  const SluicePluginDescriptor *descriptor;

  if (!check_plugin_file (self, path, error))
    return FALSE;

  /* LOCAL: plugins cannot see each other's symbols, so two plugins
   * bundling the same helper do not collide. LAZY: a plugin calling an
   * SDK function newer than ours fails at that call, but its minor
   * version has already been refused above. */
  module = g_module_open (path, G_MODULE_BIND_LOCAL | G_MODULE_BIND_LAZY);
  if (module == NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN, "cannot be opened: %s",
                   g_module_error ());
      return FALSE;
    }

  if (!g_module_symbol (module, SLUICE_PLUGIN_DESCRIPTOR_SYMBOL, &symbol) || symbol == NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                   "no '%s' symbol: not a Sluice plugin", SLUICE_PLUGIN_DESCRIPTOR_SYMBOL);
      g_module_close (module);
      return FALSE;
    }

  descriptor = symbol;

  /* Up to here none of the plugin's own functions has run, so a refused
   * module can still be unloaded. */
  if (!check_descriptor (self, descriptor, error))
    {
      g_module_close (module);
      return FALSE;
    }

  /* From here on the plugin may have registered GTypes, and GLib cannot
   * unregister a type: its class and instance functions live in this
   * module. So it stays loaded whatever register_plugin() decides; a
   * refused plugin is only dropped from the host. */
  g_module_make_resident (module);

  return register_plugin (self, descriptor, path, error);
}

gboolean
sluice_plugin_host_load_file (SluicePluginHost *self,
                              const char       *path,
                              GError          **error)
{
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (SLUICE_IS_PLUGIN_HOST (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!load_file (self, path, &local_error))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN, "%s: refused: %s", path,
                   local_error->message);
      return FALSE;
    }

  return TRUE;
}

/* One structured warning per refusal, with the path as its own field so
 * that `journalctl SLUICE_PLUGIN_PATH=...` finds it. */
static void
log_refusal (const char *path,
             const char *message)
{
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                    "SLUICE_PLUGIN_PATH", path,
                    "MESSAGE", "%s", message);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static guint
load_directory (SluicePluginHost *self,
                const char       *directory)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) names = NULL;
  const char *name;
  struct stat st;
  guint loaded = 0;

  if (stat (directory, &st) != 0 && errno == ENOENT)
    return 0;

  if (!check_folder (self, directory, "folder", &error))
    {
      g_autofree char *message = g_strdup_printf ("%s: refused: %s; none of its plugins are loaded",
                                                  directory, error->message);
      log_refusal (directory, message);
      return 0;
    }

  dir = g_dir_open (directory, 0, &error);
  if (dir == NULL)
    {
      g_autofree char *message = g_strdup_printf ("%s: cannot be read: %s", directory,
                                                  error->message);
      log_refusal (directory, message);
      return 0;
    }

  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      /* Hidden files are editors' and package managers' leftovers. */
      if (name[0] != '.' && g_str_has_suffix (name, ".so"))
        g_ptr_array_add (names, g_strdup (name));
    }
  g_ptr_array_sort (names, compare_names);

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (directory, g_ptr_array_index (names, i), NULL);
      g_autoptr(GError) local_error = NULL;

      if (sluice_plugin_host_load_file (self, path, &local_error))
        loaded++;
      else
        log_refusal (path, local_error->message);
    }

  return loaded;
}

guint
sluice_plugin_host_load_directories (SluicePluginHost   *self,
                                     const char * const *directories)
{
  guint loaded = 0;

  g_return_val_if_fail (SLUICE_IS_PLUGIN_HOST (self), 0);

  if (directories == NULL)
    return 0;

  for (gsize i = 0; directories[i] != NULL; i++)
    loaded += load_directory (self, directories[i]);

  return loaded;
}

static void
add_unique (GPtrArray  *dirs,
            const char *dir)
{
  if (dir == NULL || *dir == '\0')
    return;

  /* A folder listed twice would refuse each of its plugins as a duplicate
   * of itself: list it once, where it comes first. */
  for (guint i = 0; i < dirs->len; i++)
    {
      if (g_strcmp0 (g_ptr_array_index (dirs, i), dir) == 0)
        return;
    }

  g_ptr_array_add (dirs, g_strdup (dir));
}

GStrv
sluice_plugin_host_build_search_path (const char * const *third_party_dirs,
                                      const char         *distro_dir)
{
  g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func (g_free);
  const char *env = g_getenv ("SLUICE_PLUGIN_PATH");

  if (env != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (env, ":", -1);

      for (gsize i = 0; parts[i] != NULL; i++)
        add_unique (dirs, parts[i]);
    }

  if (third_party_dirs != NULL)
    {
      for (gsize i = 0; third_party_dirs[i] != NULL; i++)
        add_unique (dirs, third_party_dirs[i]);
    }

  add_unique (dirs, distro_dir);

  g_ptr_array_add (dirs, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&dirs), FALSE);
}

GPtrArray *
sluice_plugin_host_get_plugins (SluicePluginHost *self)
{
  g_return_val_if_fail (SLUICE_IS_PLUGIN_HOST (self), NULL);

  return self->plugins;
}

SluiceComponentFactory *
sluice_plugin_host_lookup (SluicePluginHost *self,
                           const char       *name)
{
  SluiceComponentFactory *factory;

  g_return_val_if_fail (SLUICE_IS_PLUGIN_HOST (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  factory = g_hash_table_lookup (self->components, name);
  if (factory == NULL && strchr (name, '.') == NULL)
    {
      g_autofree char *core_name = g_strconcat ("core.", name, NULL);

      factory = g_hash_table_lookup (self->components, core_name);
    }

  return factory;
}
