/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sluice/sluice.h>

#include "sluice-builtins.h"
#include "sluice-plugin-host.h"

/* The uid of "nobody": a user the host does not trust. */
#define FOREIGN_UID 65534

/* Warnings the host logged, captured by log_writer() instead of printed
 * (g_test_init() makes warnings fatal). */
typedef struct
{
  char *message;
  char *path; /* the SLUICE_PLUGIN_PATH field */
} LoggedWarning;

static GPtrArray *logged_warnings;

typedef struct
{
  char             *tmp;
  SluicePluginHost *host;
} Fixture;

static void
logged_warning_free (gpointer data)
{
  LoggedWarning *warning = data;

  g_free (warning->message);
  g_free (warning->path);
  g_free (warning);
}

static GLogWriterOutput
log_writer (GLogLevelFlags   log_level,
            const GLogField *fields,
            gsize            n_fields,
            gpointer         user_data)
{
  LoggedWarning *warning;
  const char *domain = NULL;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_str_equal (fields[i].key, "GLIB_DOMAIN"))
        domain = fields[i].value;
    }

  if (!(log_level & G_LOG_LEVEL_WARNING) || g_strcmp0 (domain, "sluiced") != 0)
    return g_log_writer_default (log_level, fields, n_fields, user_data);

  warning = g_new0 (LoggedWarning, 1);
  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_str_equal (fields[i].key, "MESSAGE"))
        warning->message = g_strdup (fields[i].value);
      else if (g_str_equal (fields[i].key, "SLUICE_PLUGIN_PATH"))
        warning->path = g_strdup (fields[i].value);
    }
  g_ptr_array_add (logged_warnings, warning);
  g_test_message ("logged: %s", warning->message);

  return G_LOG_WRITER_HANDLED;
}

static void
fixture_setup (Fixture      *fixture,
               gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;

  /* The parent only watches the child that runs the test. */
  if (!g_test_subprocess ())
    return;

  fixture->tmp = g_dir_make_tmp ("sluice-test-plugins-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->host = sluice_plugin_host_new ();
  g_ptr_array_set_size (logged_warnings, 0);
  g_unsetenv ("SLUICE_PLUGIN_PATH");
}

static void
remove_tree (const char *path)
{
  struct stat st;

  if (lstat (path, &st) != 0)
    return;

  if (S_ISDIR (st.st_mode))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      /* A test may have taken the owner's write bit away. */
      g_chmod (path, 0700);
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          remove_tree (child);
        }
      g_assert_no_errno (g_rmdir (path));
    }
  else
    {
      g_assert_no_errno (g_unlink (path));
    }
}

static void
fixture_teardown (Fixture      *fixture,
                  gconstpointer user_data)
{
  g_clear_object (&fixture->host);
  if (fixture->tmp != NULL)
    remove_tree (fixture->tmp);
  g_free (fixture->tmp);
  g_ptr_array_set_size (logged_warnings, 0);
}

/* A folder under the fixture's temp dir with exactly @mode. */
static char *
make_folder (Fixture    *fixture,
             const char *name,
             mode_t      mode)
{
  char *path = g_build_filename (fixture->tmp, name, NULL);

  g_assert_no_errno (g_mkdir_with_parents (path, 0700));
  /* chmod, not the mkdir mode, which the umask would cut down. */
  g_assert_no_errno (g_chmod (path, mode));
  return path;
}

static void
copy_file (const char *from,
           const char *to,
           mode_t      mode)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (from, &contents, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents_full (to, contents, (gssize) length, G_FILE_SET_CONTENTS_NONE, 0700,
                            &error);
  g_assert_no_error (error);
  g_assert_no_errno (g_chmod (to, mode));
}

/* Copies the test plugin @variant into @folder as @name, with @mode. */
static char *
install_plugin (const char *folder,
                const char *variant,
                const char *name,
                mode_t      mode)
{
  g_autofree char *built = g_strdup_printf ("%s/test-plugin-%s.so", TEST_PLUGIN_DIR, variant);
  char *path = g_build_filename (folder, name, NULL);

  copy_file (built, path, mode);
  return path;
}

static void
assert_refused (GError     *error,
                const char *path,
                const char *reason)
{
  g_autofree char *prefix = g_strdup_printf ("%s: refused: ", path);

  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN);
  g_test_message ("refusal: %s", error->message);
  g_assert_true (g_str_has_prefix (error->message, prefix));
  g_assert_nonnull (strstr (error->message, reason));
}

static SluicePlugin *
find_plugin (SluicePluginHost *host,
             const char       *name)
{
  GPtrArray *plugins = sluice_plugin_host_get_plugins (host);

  for (guint i = 0; i < plugins->len; i++)
    {
      SluicePlugin *plugin = g_ptr_array_index (plugins, i);

      if (g_str_equal (sluice_plugin_get_name (plugin), name))
        return plugin;
    }
  return NULL;
}

static void
test_load_accepted (Fixture      *fixture,
                    gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = make_folder (fixture, "plugins", 0755);
  g_autofree char *path = install_plugin (folder, "good", "good.so", 0755);
  SluiceComponentFactory *factory;
  SluicePlugin *plugin;
  GPtrArray *components;

  g_test_summary ("A well-formed plugin in a trusted folder loads, and its components are "
                  "found by their full names");

  g_assert_true (sluice_plugin_host_load_file (fixture->host, path, &error));
  g_assert_no_error (error);

  g_assert_cmpuint (sluice_plugin_host_get_plugins (fixture->host)->len, ==, 1);
  plugin = find_plugin (fixture->host, "good");
  g_assert_nonnull (plugin);
  g_assert_cmpstr (sluice_plugin_get_version (plugin), ==, "1.0.0");
  g_assert_cmpstr (sluice_plugin_get_license (plugin), ==, "LGPL-2.1-or-later");
  g_assert_cmpstr (sluice_plugin_get_path (plugin), ==, path);

  components = sluice_plugin_get_components (plugin);
  g_assert_cmpuint (components->len, ==, 1);
  factory = sluice_plugin_host_lookup (fixture->host, "good.echo");
  g_assert_true (factory == g_ptr_array_index (components, 0));
  g_assert_cmpint (sluice_component_factory_get_kind (factory), ==, SLUICE_COMPONENT_STEP);
  g_assert_cmpstr (sluice_component_factory_get_plugin_name (factory), ==, "good");

  /* Only core components answer to a bare name. */
  g_assert_null (sluice_plugin_host_lookup (fixture->host, "echo"));
  g_assert_null (sluice_plugin_host_lookup (fixture->host, "good"));
  g_assert_null (sluice_plugin_host_lookup (fixture->host, "good.missing"));
  g_assert_cmpuint (logged_warnings->len, ==, 0);
}

typedef struct
{
  const char *variant;
  char       *reason;
  const char *component; /* must not be registered after the refusal */
} RefusalCase;

static void
test_refuse_descriptor (Fixture      *fixture,
                        gconstpointer user_data)
{
  const RefusalCase *refusal = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = make_folder (fixture, "plugins", 0755);
  g_autofree char *name = g_strdup_printf ("%s.so", refusal->variant);
  g_autofree char *path = install_plugin (folder, refusal->variant, name, 0755);
  g_autofree char *good = install_plugin (folder, "good", "good.so", 0755);

  g_test_summary ("A plugin whose descriptor or registration is wrong is refused with an "
                  "error naming the file and the reason, and leaves nothing behind");

  g_assert_false (sluice_plugin_host_load_file (fixture->host, path, &error));
  assert_refused (error, path, refusal->reason);
  g_assert_cmpuint (sluice_plugin_host_get_plugins (fixture->host)->len, ==, 0);
  if (refusal->component != NULL)
    g_assert_null (sluice_plugin_host_lookup (fixture->host, refusal->component));

  /* The host is still usable. */
  g_clear_error (&error);
  g_assert_true (sluice_plugin_host_load_file (fixture->host, good, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sluice_plugin_host_get_plugins (fixture->host)->len, ==, 1);
  g_assert_cmpuint (logged_warnings->len, ==, 0);
}

static void
test_refuse_duplicate_name (Fixture      *fixture,
                            gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = make_folder (fixture, "plugins", 0755);
  g_autofree char *first = install_plugin (folder, "good", "first.so", 0755);
  g_autofree char *second = install_plugin (folder, "duplicate", "second.so", 0755);
  g_autofree char *reason = g_strdup_printf ("a plugin named 'good' is already loaded from %s",
                                             first);

  g_test_summary ("A second plugin with a loaded plugin's name is refused, naming the first");

  g_assert_true (sluice_plugin_host_load_file (fixture->host, first, &error));
  g_assert_no_error (error);
  g_assert_false (sluice_plugin_host_load_file (fixture->host, second, &error));
  assert_refused (error, second, reason);

  g_assert_cmpuint (sluice_plugin_host_get_plugins (fixture->host)->len, ==, 1);
  g_assert_cmpstr (sluice_plugin_get_version (find_plugin (fixture->host, "good")), ==, "1.0.0");
}

static void
test_refuse_group_writable_file (Fixture      *fixture,
                                 gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = make_folder (fixture, "plugins", 0755);
  g_autofree char *path = install_plugin (folder, "good", "good.so", 0775);

  g_test_summary ("A plugin file writable by its group is refused before it is opened");

  g_assert_false (sluice_plugin_host_load_file (fixture->host, path, &error));
  assert_refused (error, path, "file is writable by group or others (mode 0775)");
  g_assert_cmpuint (sluice_plugin_host_get_plugins (fixture->host)->len, ==, 0);
}

static void
test_refuse_world_writable_file (Fixture      *fixture,
                                 gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = make_folder (fixture, "plugins", 0755);
  g_autofree char *path = install_plugin (folder, "good", "good.so", 0757);

  g_test_summary ("A plugin file writable by others is refused before it is opened");

  g_assert_false (sluice_plugin_host_load_file (fixture->host, path, &error));
  assert_refused (error, path, "file is writable by group or others (mode 0757)");
  g_assert_cmpuint (sluice_plugin_host_get_plugins (fixture->host)->len, ==, 0);
}

static void
test_refuse_world_writable_folder (Fixture      *fixture,
                                   gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = make_folder (fixture, "plugins", 0755);
  g_autofree char *path = install_plugin (folder, "good", "good.so", 0755);
  g_autofree char *reason = g_strdup_printf ("folder %s is writable by group or others (mode 1777)",
                                             folder);

  g_test_summary ("A plugin in a folder anyone can write to is refused, even a sticky one");

  g_assert_no_errno (g_chmod (folder, 01777));
  g_assert_false (sluice_plugin_host_load_file (fixture->host, path, &error));
  assert_refused (error, path, reason);
  g_assert_cmpuint (sluice_plugin_host_get_plugins (fixture->host)->len, ==, 0);
}

static void
test_refuse_foreign_owner (Fixture      *fixture,
                           gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *path = NULL;
  g_autofree char *reason = NULL;

  g_test_summary ("A plugin file owned by a user other than root and the daemon's is refused");

  folder = make_folder (fixture, "plugins", 0755);
  path = install_plugin (folder, "good", "good.so", 0755);
  g_assert_no_errno (chown (path, FOREIGN_UID, FOREIGN_UID));
  reason = g_strdup_printf ("file is owned by uid %u, not by root", FOREIGN_UID);

  g_assert_false (sluice_plugin_host_load_file (fixture->host, path, &error));
  assert_refused (error, path, reason);
  g_assert_cmpuint (sluice_plugin_host_get_plugins (fixture->host)->len, ==, 0);
}

static void
test_refuse_foreign_folder (Fixture      *fixture,
                            gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *path = NULL;
  g_autofree char *reason = NULL;

  g_test_summary ("A plugin in a folder owned by an untrusted user is refused");

  folder = make_folder (fixture, "plugins", 0755);
  path = install_plugin (folder, "good", "good.so", 0755);
  g_assert_no_errno (chown (folder, FOREIGN_UID, FOREIGN_UID));
  reason = g_strdup_printf ("folder %s is owned by uid %u, not by root", folder, FOREIGN_UID);

  g_assert_false (sluice_plugin_host_load_file (fixture->host, path, &error));
  assert_refused (error, path, reason);
  g_assert_cmpuint (sluice_plugin_host_get_plugins (fixture->host)->len, ==, 0);
}

static void
test_load_trusted_uid (Fixture      *fixture,
                       gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *path = NULL;
  g_autofree char *other = NULL;
  g_autofree char *reason = NULL;

  g_test_summary ("Files and folders of the trusted uid are accepted; other users' still not");

  folder = make_folder (fixture, "plugins", 0755);
  path = install_plugin (folder, "good", "good.so", 0755);
  other = install_plugin (folder, "no-license", "other.so", 0755);
  g_assert_no_errno (chown (folder, FOREIGN_UID, FOREIGN_UID));
  g_assert_no_errno (chown (path, FOREIGN_UID, FOREIGN_UID));
  g_assert_no_errno (chown (other, FOREIGN_UID - 1, FOREIGN_UID - 1));

  sluice_plugin_host_set_trusted_uid (fixture->host, FOREIGN_UID);
  g_assert_true (sluice_plugin_host_load_file (fixture->host, path, &error));
  g_assert_no_error (error);

  reason = g_strdup_printf ("file is owned by uid %u, not by root or uid %u", FOREIGN_UID - 1,
                            FOREIGN_UID);
  g_assert_false (sluice_plugin_host_load_file (fixture->host, other, &error));
  assert_refused (error, other, reason);
  g_assert_cmpuint (sluice_plugin_host_get_plugins (fixture->host)->len, ==, 1);
}

static void
test_refuse_symlink_to_writable (Fixture      *fixture,
                                 gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = make_folder (fixture, "plugins", 0755);
  g_autofree char *elsewhere = make_folder (fixture, "elsewhere", 0755);
  g_autofree char *target = install_plugin (elsewhere, "good", "good.so", 0666);
  g_autofree char *link = g_build_filename (folder, "good.so", NULL);
  g_autofree char *resolved = realpath (target, NULL);
  g_autofree char *reason = NULL;

  g_test_summary ("A symlink in a trusted folder does not launder a writable target");

  g_assert_nonnull (resolved);
  g_assert_no_errno (symlink (target, link));
  reason = g_strdup_printf ("symlink target %s is writable by group or others (mode 0666)",
                            resolved);

  g_assert_false (sluice_plugin_host_load_file (fixture->host, link, &error));
  assert_refused (error, link, reason);
  g_assert_cmpuint (sluice_plugin_host_get_plugins (fixture->host)->len, ==, 0);
}

static void
test_refuse_symlink_into_writable_folder (Fixture      *fixture,
                                          gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = make_folder (fixture, "plugins", 0755);
  g_autofree char *elsewhere = make_folder (fixture, "elsewhere", 0755);
  g_autofree char *target = install_plugin (elsewhere, "good", "good.so", 0755);
  g_autofree char *link = g_build_filename (folder, "good.so", NULL);
  g_autofree char *resolved_folder = realpath (elsewhere, NULL);
  g_autofree char *reason = NULL;

  g_test_summary ("A symlink to a file in a folder anyone can write to is refused");

  g_assert_no_errno (symlink (target, link));
  g_assert_no_errno (g_chmod (elsewhere, 0777));
  reason = g_strdup_printf ("folder %s is writable by group or others (mode 0777)",
                            resolved_folder);

  g_assert_false (sluice_plugin_host_load_file (fixture->host, link, &error));
  assert_refused (error, link, reason);
  g_assert_cmpuint (sluice_plugin_host_get_plugins (fixture->host)->len, ==, 0);
}

static void
test_load_symlink_to_trusted (Fixture      *fixture,
                              gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = make_folder (fixture, "plugins", 0755);
  g_autofree char *elsewhere = make_folder (fixture, "elsewhere", 0755);
  g_autofree char *target = install_plugin (elsewhere, "good", "good.so", 0755);
  g_autofree char *link = g_build_filename (folder, "good.so", NULL);

  g_test_summary ("A symlink to a trusted file in a trusted folder loads under the link's path");

  g_assert_no_errno (symlink (target, link));
  g_assert_true (sluice_plugin_host_load_file (fixture->host, link, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (sluice_plugin_get_path (find_plugin (fixture->host, "good")), ==, link);
}

static void
test_refuse_missing_file (Fixture      *fixture,
                          gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->tmp, "absent.so", NULL);

  g_test_summary ("A path that does not exist is refused with the system's reason");

  g_assert_false (sluice_plugin_host_load_file (fixture->host, path, &error));
  assert_refused (error, path, g_strerror (ENOENT));
}

static void
test_refuse_not_regular (Fixture      *fixture,
                         gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = make_folder (fixture, "plugins", 0755);
  g_autofree char *path = make_folder (fixture, "plugins/sub.so", 0755);

  g_test_summary ("A directory named like a plugin is refused as not a regular file");

  g_assert_false (sluice_plugin_host_load_file (fixture->host, path, &error));
  assert_refused (error, path, "file is not a regular file");
}

static void
assert_warning_for (guint       index,
                    const char *path,
                    const char *reason)
{
  LoggedWarning *warning;

  g_assert_cmpuint (index, <, logged_warnings->len);
  warning = g_ptr_array_index (logged_warnings, index);
  g_assert_cmpstr (warning->path, ==, path);
  g_assert_true (g_str_has_prefix (warning->message, path));
  g_assert_nonnull (strstr (warning->message, reason));
}

static void
test_directories_bad_does_not_stop_good (Fixture      *fixture,
                                         gconstpointer user_data)
{
  const char *bad[] = {
    "abi-major", "abi-minor", "bad-name", "no-descriptor", "no-license", "no-register",
    "register-fails", "unprefixed",
  };
  g_autofree char *folder = make_folder (fixture, "plugins", 0755);
  g_autofree char *good = install_plugin (folder, "good", "good.so", 0755);
  g_autofree char *writable = install_plugin (folder, "good", "writable.so", 0777);
  g_autofree char *notes = g_build_filename (folder, "README", NULL);
  g_autofree char *hidden = install_plugin (folder, "no-license", ".hidden.so", 0755);
  const char *directories[] = { folder, NULL };
  guint loaded;

  g_test_summary ("Each bad plugin in a folder gets one warning naming it, and the good one "
                  "still loads");

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *name = g_strdup_printf ("%s.so", bad[i]);
      g_autofree char *path = install_plugin (folder, bad[i], name, 0755);
    }
  g_assert_true (g_file_set_contents (notes, "not a plugin", -1, NULL));

  loaded = sluice_plugin_host_load_directories (fixture->host, directories);

  g_assert_cmpuint (loaded, ==, 1);
  g_assert_cmpuint (sluice_plugin_host_get_plugins (fixture->host)->len, ==, 1);
  g_assert_nonnull (sluice_plugin_host_lookup (fixture->host, "good.echo"));

  /* One warning per refused file, in name order; README and the hidden
   * file are not plugins. */
  g_assert_cmpuint (logged_warnings->len, ==, G_N_ELEMENTS (bad) + 1);
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *path = g_strdup_printf ("%s/%s.so", folder, bad[i]);

      assert_warning_for (i, path, ": refused: ");
    }
  assert_warning_for (G_N_ELEMENTS (bad), writable, "writable by group or others (mode 0777)");
}

static void
test_directories_world_writable_folder (Fixture      *fixture,
                                        gconstpointer user_data)
{
  g_autofree char *folder = make_folder (fixture, "plugins", 0755);
  g_autofree char *path = install_plugin (folder, "good", "good.so", 0755);
  const char *directories[] = { folder, NULL };

  g_test_summary ("A plugin folder anyone can write to is refused with one warning saying so, "
                  "and none of its plugins is loaded");

  g_assert_no_errno (g_chmod (folder, 0777));

  g_assert_cmpuint (sluice_plugin_host_load_directories (fixture->host, directories), ==, 0);
  g_assert_cmpuint (sluice_plugin_host_get_plugins (fixture->host)->len, ==, 0);
  g_assert_cmpuint (logged_warnings->len, ==, 1);
  assert_warning_for (0, folder, "folder is writable by group or others (mode 0777)");
}

static void
test_directories_sorted_and_missing (Fixture      *fixture,
                                     gconstpointer user_data)
{
  g_autofree char *missing = g_build_filename (fixture->tmp, "missing", NULL);
  g_autofree char *folder = make_folder (fixture, "plugins", 0755);
  g_autofree char *later = install_plugin (folder, "good", "b-good.so", 0755);
  g_autofree char *earlier = install_plugin (folder, "duplicate", "a-good.so", 0755);
  const char *directories[] = { missing, folder, NULL };
  g_autofree char *reason = g_strdup_printf ("a plugin named 'good' is already loaded from %s",
                                             earlier);
  SluicePlugin *plugin;

  g_test_summary ("Missing folders are skipped silently, and a folder's plugins load in name "
                  "order");

  g_assert_cmpuint (sluice_plugin_host_load_directories (fixture->host, directories), ==, 1);

  plugin = find_plugin (fixture->host, "good");
  g_assert_cmpstr (sluice_plugin_get_path (plugin), ==, earlier);
  g_assert_cmpstr (sluice_plugin_get_version (plugin), ==, "2.0.0");
  g_assert_cmpuint (logged_warnings->len, ==, 1);
  assert_warning_for (0, later, reason);
}

static void
assert_strv_equal (char      **actual,
                   const char *expected[])
{
  g_autofree char *actual_text = g_strjoinv (" ", actual);
  g_autofree char *expected_text = g_strjoinv (" ", (char **) expected);

  g_assert_cmpstr (actual_text, ==, expected_text);
  g_assert_cmpuint (g_strv_length (actual), ==, g_strv_length ((char **) expected));
}

static void
test_search_path_order (Fixture      *fixture,
                        gconstpointer user_data)
{
  const char *third_party[] = { "/opt/a", "/opt/b", NULL };
  const char *with_env[] = { "/env/one", "/env/two", "/opt/a", "/opt/b", "/usr/lib/distro", NULL };
  const char *without_env[] = { "/opt/a", "/opt/b", "/usr/lib/distro", NULL };
  const char *listed_twice[] = { "/opt/b", "/opt/a", "/usr/lib/distro", NULL };
  g_auto(GStrv) path = NULL;

  g_test_summary ("$SLUICE_PLUGIN_PATH comes first (empty entries ignored), then the "
                  "third-party folders, then the distro folder, each once");

  g_assert_true (g_setenv ("SLUICE_PLUGIN_PATH", ":/env/one::/env/two:", TRUE));
  path = sluice_plugin_host_build_search_path (third_party, "/usr/lib/distro");
  assert_strv_equal (path, with_env);
  g_clear_pointer (&path, g_strfreev);

  g_unsetenv ("SLUICE_PLUGIN_PATH");
  path = sluice_plugin_host_build_search_path (third_party, "/usr/lib/distro");
  assert_strv_equal (path, without_env);
  g_clear_pointer (&path, g_strfreev);

  g_assert_true (g_setenv ("SLUICE_PLUGIN_PATH", "/opt/b", TRUE));
  path = sluice_plugin_host_build_search_path (third_party, "/usr/lib/distro");
  assert_strv_equal (path, listed_twice);
}

static void
test_search_path_first_wins (Fixture      *fixture,
                             gconstpointer user_data)
{
  g_autofree char *env_folder = make_folder (fixture, "env", 0755);
  g_autofree char *third_folder = make_folder (fixture, "third-party", 0755);
  g_autofree char *distro_folder = make_folder (fixture, "distro", 0755);
  g_autofree char *env_plugin = install_plugin (env_folder, "duplicate", "good.so", 0755);
  g_autofree char *third_plugin = install_plugin (third_folder, "good", "good.so", 0755);
  g_autofree char *distro_plugin = install_plugin (distro_folder, "good", "good.so", 0755);
  g_autofree char *reason = g_strdup_printf ("a plugin named 'good' is already loaded from %s",
                                             env_plugin);
  const char *third_party[] = { third_folder, NULL };
  g_auto(GStrv) path = NULL;
  SluicePlugin *plugin;

  g_test_summary ("Of two same-named plugins on the search path the first wins and the later "
                  "one is refused as a duplicate");

  g_assert_true (g_setenv ("SLUICE_PLUGIN_PATH", env_folder, TRUE));
  path = sluice_plugin_host_build_search_path (third_party, distro_folder);
  g_assert_cmpuint (sluice_plugin_host_load_directories (fixture->host,
                                                         (const char * const *) path), ==, 1);

  plugin = find_plugin (fixture->host, "good");
  g_assert_cmpstr (sluice_plugin_get_path (plugin), ==, env_plugin);
  g_assert_cmpstr (sluice_plugin_get_version (plugin), ==, "2.0.0");
  g_assert_cmpuint (logged_warnings->len, ==, 2);
  assert_warning_for (0, third_plugin, reason);
  assert_warning_for (1, distro_plugin, reason);
}

static void
test_builtin_core (Fixture      *fixture,
                   gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  SluiceComponentFactory *split;
  SluicePlugin *core;

  g_test_summary ("The built-in core plugin registers like any other; a bare name finds a "
                  "core component and a second core is refused");

  g_assert_true (sluice_plugin_host_add_builtin (fixture->host, sluice_builtins_get_descriptor (),
                                                 &error));
  g_assert_no_error (error);

  core = find_plugin (fixture->host, "core");
  g_assert_nonnull (core);
  g_assert_cmpstr (sluice_plugin_get_path (core), ==, "built-in");

  split = sluice_plugin_host_lookup (fixture->host, "core.split");
  g_assert_nonnull (split);
  g_assert_true (sluice_plugin_host_lookup (fixture->host, "split") == split);
  g_assert_null (sluice_plugin_host_lookup (fixture->host, "core"));
  g_assert_null (sluice_plugin_host_lookup (fixture->host, "other.split"));

  g_assert_false (sluice_plugin_host_add_builtin (fixture->host, sluice_builtins_get_descriptor (),
                                                  &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN);
  g_assert_cmpstr (error->message, ==,
                   "built-in plugin 'core': refused: a plugin named 'core' is already loaded "
                   "from built-in");
  g_assert_cmpuint (sluice_plugin_host_get_plugins (fixture->host)->len, ==, 1);
}

/* The example plugin */

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static SluiceMessage *
process_one (SluiceStep    *step,
             SluiceMessage *input,
             GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) next_result = NULL;
  g_autoptr(GAsyncResult) end_result = NULL;
  g_autoptr(SluiceMessageIter) iter = NULL;
  g_autoptr(SluiceMessage) output = NULL;
  g_autoptr(SluiceMessage) end = NULL;

  sluice_step_process_async (step, input, NULL, store_result, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);

  iter = sluice_step_process_finish (step, result, error);
  if (iter == NULL)
    return NULL;

  sluice_message_iter_next_async (iter, NULL, store_result, &next_result);
  while (next_result == NULL)
    g_main_context_iteration (NULL, TRUE);
  output = sluice_message_iter_next_finish (iter, next_result, error);
  g_assert_nonnull (output);

  /* Exactly one message per input. */
  sluice_message_iter_next_async (iter, NULL, store_result, &end_result);
  while (end_result == NULL)
    g_main_context_iteration (NULL, TRUE);
  end = sluice_message_iter_next_finish (iter, end_result, error);
  g_assert_null (end);

  return g_steal_pointer (&output);
}

/* Loads the in-tree example plugin from a fresh folder. */
static SluiceComponentFactory *
load_upper (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = make_folder (fixture, "plugins", 0755);
  g_autofree char *path = g_build_filename (folder, "sluice-upper.so", NULL);
  SluiceComponentFactory *factory;

  copy_file (EXAMPLE_PLUGIN, path, 0755);
  g_assert_true (sluice_plugin_host_load_file (fixture->host, path, &error));
  g_assert_no_error (error);

  factory = sluice_plugin_host_lookup (fixture->host, "upper.text");
  g_assert_nonnull (factory);
  return factory;
}

/* An instance of upper.text with @config (JSON text, or NULL). */
static SluiceStep *
create_upper (SluiceComponentFactory *factory,
              const char             *config)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceContext) context = sluice_context_new ("shout", NULL, NULL);
  g_autoptr(JsonNode) config_node = NULL;
  GObject *instance;

  if (config != NULL)
    {
      config_node = json_from_string (config, &error);
      g_assert_no_error (error);
    }

  instance = sluice_component_factory_create (factory, context,
                                              config_node != NULL
                                                ? json_node_get_object (config_node) : NULL,
                                              &error);
  g_assert_no_error (error);
  g_assert_true (SLUICE_IS_STEP (instance));
  return SLUICE_STEP (instance);
}

static char *
body_text (SluiceMessage *message)
{
  GBytes *bytes = sluice_message_get_bytes (message);
  gsize size = 0;
  const char *data = g_bytes_get_data (bytes, &size);

  return g_strndup (data, size);
}

static void
test_example_registers (Fixture      *fixture,
                        gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = make_folder (fixture, "plugins", 0755);
  g_autofree char *path = g_build_filename (folder, "sluice-upper.so", NULL);
  SluiceComponentFactory *factory;
  SluicePlugin *plugin;

  g_test_summary ("The SDK's example plugin loads and registers upper.text as a step");

  copy_file (EXAMPLE_PLUGIN, path, 0755);
  g_assert_true (sluice_plugin_host_load_file (fixture->host, path, &error));
  g_assert_no_error (error);

  plugin = find_plugin (fixture->host, "upper");
  g_assert_nonnull (plugin);
  g_assert_cmpstr (sluice_plugin_get_path (plugin), ==, path);
  g_assert_cmpuint (sluice_plugin_get_components (plugin)->len, ==, 1);

  factory = sluice_plugin_host_lookup (fixture->host, "upper.text");
  g_assert_nonnull (factory);
  g_assert_cmpint (sluice_component_factory_get_kind (factory), ==, SLUICE_COMPONENT_STEP);
  g_assert_cmpstr (sluice_component_factory_get_description (factory), !=, "");
  g_assert_true (JSON_NODE_HOLDS_OBJECT (sluice_component_factory_get_schema (factory)));
  g_assert_null (sluice_plugin_host_lookup (fixture->host, "text"));
}

static void
test_example_uppercases_text (Fixture      *fixture,
                              gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceStep) step = create_upper (load_upper (fixture), NULL);
  g_autoptr(SluiceMessage) input = sluice_message_new_take_string (g_strdup ("Grüße, world 42"),
                                                                   "text/plain");
  g_autoptr(SluiceMessage) output = NULL;
  g_autofree char *output_text = NULL;
  g_autofree char *input_text = NULL;

  g_test_summary ("upper.text uppercases a UTF-8 text body into a new message that keeps the "
                  "input's headers");

  sluice_message_set_header (input, "order", "7");
  output = process_one (step, input, &error);
  g_assert_no_error (error);

  g_assert_true (output != input);
  output_text = body_text (output);
  g_assert_cmpstr (output_text, ==, "GRÜSSE, WORLD 42");
  g_assert_cmpstr (sluice_message_get_content_type (output), ==, "text/plain");
  g_assert_cmpstr (sluice_message_get_header (output, "order"), ==, "7");
  input_text = body_text (input);
  g_assert_cmpstr (input_text, ==, "Grüße, world 42");
}

static void
test_example_uppercases_stream (Fixture      *fixture,
                                gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceStep) step = create_upper (load_upper (fixture), NULL);
  g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_data ("streamed body", -1,
                                                                        NULL);
  g_autoptr(SluiceMessage) input = sluice_message_new_stream (stream, -1, NULL);
  g_autoptr(SluiceMessage) output = NULL;
  g_autofree char *output_text = NULL;

  g_test_summary ("upper.text reads a streamed body of unknown length asynchronously");

  output = process_one (step, input, &error);
  g_assert_no_error (error);
  g_assert_false (sluice_message_is_streamed (output));
  output_text = body_text (output);
  g_assert_cmpstr (output_text, ==, "STREAMED BODY");
}

static void
test_example_refuses_large_stream (Fixture      *fixture,
                                   gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceStep) step = create_upper (load_upper (fixture), NULL);
  gsize size = 1024 * 1024 + 1;
  g_autoptr(GBytes) big = g_bytes_new_take (g_malloc0 (size), size);
  g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_bytes (big);
  g_autoptr(SluiceMessage) input = sluice_message_new_stream (stream, -1, NULL);
  g_autoptr(GInputStream) known_stream = g_memory_input_stream_new_from_bytes (big);
  g_autoptr(SluiceMessage) known_input = sluice_message_new_stream (known_stream, (gint64) size,
                                                                    NULL);
  g_autoptr(SluiceMessage) output = NULL;

  g_test_summary ("upper.text refuses a streamed body over its limit as too large");

  output = process_one (step, input, &error);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_TOO_LARGE);
  g_assert_null (output);
  g_assert_false (sluice_error_is_retryable (error));
  g_clear_error (&error);

  /* A stream of known length is refused before it is read. */
  output = process_one (step, known_input, &error);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_TOO_LARGE);
  g_assert_null (output);
  g_assert_cmpint (g_seekable_tell (G_SEEKABLE (known_stream)), ==, 0);
}

static void
test_example_uppercases_field (Fixture      *fixture,
                               gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceStep) step = create_upper (load_upper (fixture), "{\"field\": \"name\"}");
  g_autoptr(JsonNode) body = json_from_string ("{\"name\": \"ada lovelace\", \"id\": 3}",
                                               &error);
  g_autoptr(SluiceMessage) input = sluice_message_new_json (body);
  g_autoptr(SluiceMessage) output = NULL;
  g_autofree char *input_text = NULL;
  JsonNode *result;
  JsonObject *object;

  g_test_summary ("With a field configured, upper.text uppercases only that string field of "
                  "a JSON body and leaves the input as it was");

  g_assert_no_error (error);
  output = process_one (step, input, &error);
  g_assert_no_error (error);

  result = sluice_message_get_json (output, &error);
  g_assert_no_error (error);
  object = json_node_get_object (result);
  g_assert_cmpstr (json_object_get_string_member (object, "name"), ==, "ADA LOVELACE");
  g_assert_cmpint (json_object_get_int_member (object, "id"), ==, 3);
  g_assert_cmpuint (json_object_get_size (object), ==, 2);

  input_text = json_to_string (sluice_message_get_json (input, NULL), FALSE);
  g_assert_cmpstr (input_text, ==, "{\"name\":\"ada lovelace\",\"id\":3}");
}

typedef struct
{
  const char *config;
  const char *body;
  const char *reason;
} ExampleErrorCase;

static void
test_example_invalid_data (Fixture      *fixture,
                           gconstpointer user_data)
{
  const ExampleErrorCase cases[] = {
    { "{\"field\": \"name\"}", "{\"id\": 3}", "JSON body has no field 'name'" },
    { "{\"field\": \"name\"}", "{\"name\": 3}",
      "field 'name' of the JSON body is a number, not a string" },
    { "{\"field\": \"name\"}", "[1, 2]",
      "body is an array, not a JSON object with a field 'name'" },
    { "{\"field\": \"name\"}", "not json", NULL },
    { NULL, "bad \xff byte", "body is not UTF-8 text" },
  };
  SluiceComponentFactory *factory;

  g_test_summary ("Bodies upper.text cannot handle fail with SLUICE_ERROR_INVALID_DATA saying "
                  "what is wrong, and are not retried");

  factory = load_upper (fixture);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SluiceStep) step = create_upper (factory, cases[i].config);
      g_autoptr(SluiceMessage) input = NULL;
      g_autoptr(SluiceMessage) output = NULL;
      g_autofree char *escaped = NULL;

      input = sluice_message_new_take_string (g_strdup (cases[i].body), NULL);
      output = process_one (step, input, &error);
      escaped = g_strescape (cases[i].body, NULL);

      g_assert_null (output);
      g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA);
      g_test_message ("%s: %s", escaped, error->message);
      if (cases[i].reason != NULL)
        g_assert_nonnull (strstr (error->message, cases[i].reason));
      g_assert_false (sluice_error_is_retryable (error));
    }
}

typedef void (*FixtureFunc) (Fixture      *fixture,
                             gconstpointer user_data);

typedef struct
{
  FixtureFunc   func;
  gconstpointer data;
  gboolean      needs_root;
} IsolatedTest;

static GPtrArray *registered; /* what the tests' data points to */

/* Each test runs in a process of its own: a plugin the host accepted
 * stays loaded, with its GTypes registered, for the life of the process,
 * so a second test loading another copy of the same plugin would clash
 * with the first. */
static void
run_isolated (Fixture      *fixture,
              gconstpointer user_data)
{
  const IsolatedTest *test = user_data;

  if (g_test_subprocess ())
    {
      test->func (fixture, test->data);
      return;
    }

  if (test->needs_root && geteuid () != 0)
    {
      g_test_skip ("giving a file to another user needs root");
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
add_isolated (const char   *path,
              FixtureFunc   func,
              gconstpointer data,
              gboolean      needs_root)
{
  IsolatedTest *test = g_new0 (IsolatedTest, 1);

  test->func = func;
  test->data = data;
  test->needs_root = needs_root;
  g_ptr_array_add (registered, test);
  g_test_add (path, Fixture, test, fixture_setup, run_isolated, fixture_teardown);
}

#define add_test(path, func) add_isolated ((path), (func), NULL, FALSE)
#define add_root_test(path, func) add_isolated ((path), (func), NULL, TRUE)

static void
refusal_case_free (gpointer data)
{
  RefusalCase *refusal = data;

  g_free (refusal->reason);
  g_free (refusal);
}

static void
add_refusal (GPtrArray  *refusals,
             const char *variant,
             char       *reason,
             const char *component)
{
  RefusalCase *refusal = g_new0 (RefusalCase, 1);
  g_autofree char *test_path = g_strdup_printf ("/plugins/refuse/%s", variant);

  refusal->variant = variant;
  refusal->reason = reason;
  refusal->component = component;
  g_ptr_array_add (refusals, refusal);
  add_isolated (test_path, test_refuse_descriptor, refusal, FALSE);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GPtrArray) refusals = g_ptr_array_new_with_free_func (refusal_case_free);
  int status;

  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (log_writer, NULL, NULL);
  logged_warnings = g_ptr_array_new_with_free_func (logged_warning_free);
  registered = g_ptr_array_new_with_free_func (g_free);

  add_test ("/plugins/load/accepted", test_load_accepted);
  add_root_test ("/plugins/load/trusted-uid", test_load_trusted_uid);
  add_test ("/plugins/load/symlink-to-trusted", test_load_symlink_to_trusted);

  add_refusal (refusals, "abi-major",
               g_strdup_printf ("built for plugin ABI %d, this sluiced speaks %d",
                                SLUICE_PLUGIN_ABI + 1, SLUICE_PLUGIN_ABI),
               "abi-major.echo");
  add_refusal (refusals, "abi-minor",
               g_strdup_printf ("built against a newer SDK (ABI %d.%d, this sluiced has %d.%d)",
                                SLUICE_PLUGIN_ABI, SLUICE_PLUGIN_ABI_MINOR + 3, SLUICE_PLUGIN_ABI,
                                SLUICE_PLUGIN_ABI_MINOR),
               "abi-minor.echo");
  add_refusal (refusals, "no-license", g_strdup ("descriptor has no 'license'"), "no-license.echo");
  add_refusal (refusals, "no-register", g_strdup ("descriptor has no 'register_components'"), NULL);
  add_refusal (refusals, "bad-name", g_strdup ("name 'Bad Name' is not valid"), "Bad Name.echo");
  add_refusal (refusals, "register-fails",
               g_strdup ("registering its components failed: the test plugin fails on purpose"),
               NULL);
  add_refusal (refusals, "unprefixed",
               g_strdup ("registering its components failed: plugin 'unprefixed': component "
                         "name 'echo' is not 'unprefixed.<kind>'"),
               "echo");
  add_refusal (refusals, "no-descriptor",
               g_strdup ("no 'sluice_plugin_descriptor' symbol: not a Sluice plugin"), NULL);

  add_test ("/plugins/refuse/duplicate-name", test_refuse_duplicate_name);
  add_test ("/plugins/refuse/group-writable-file", test_refuse_group_writable_file);
  add_test ("/plugins/refuse/world-writable-file", test_refuse_world_writable_file);
  add_test ("/plugins/refuse/world-writable-folder", test_refuse_world_writable_folder);
  add_root_test ("/plugins/refuse/foreign-owner", test_refuse_foreign_owner);
  add_root_test ("/plugins/refuse/foreign-folder", test_refuse_foreign_folder);
  add_test ("/plugins/refuse/symlink-to-writable", test_refuse_symlink_to_writable);
  add_test ("/plugins/refuse/symlink-into-writable-folder",
            test_refuse_symlink_into_writable_folder);
  add_test ("/plugins/refuse/missing-file", test_refuse_missing_file);
  add_test ("/plugins/refuse/not-regular", test_refuse_not_regular);

  add_test ("/plugins/directories/bad-does-not-stop-good",
            test_directories_bad_does_not_stop_good);
  add_test ("/plugins/directories/world-writable-folder", test_directories_world_writable_folder);
  add_test ("/plugins/directories/sorted-and-missing", test_directories_sorted_and_missing);

  add_test ("/plugins/search-path/order", test_search_path_order);
  add_test ("/plugins/search-path/first-wins", test_search_path_first_wins);

  add_test ("/plugins/builtin/core", test_builtin_core);

  add_test ("/plugins/example/registers", test_example_registers);
  add_test ("/plugins/example/uppercases-text", test_example_uppercases_text);
  add_test ("/plugins/example/uppercases-stream", test_example_uppercases_stream);
  add_test ("/plugins/example/refuses-large-stream", test_example_refuses_large_stream);
  add_test ("/plugins/example/uppercases-field", test_example_uppercases_field);
  add_test ("/plugins/example/invalid-data", test_example_invalid_data);

  status = g_test_run ();

  g_ptr_array_unref (logged_warnings);
  g_ptr_array_unref (registered);

  return status;
}
