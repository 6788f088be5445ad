/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-file-read.h"

#include <string.h>

#include "sluice-file-common.h"

#define COMPONENT "file.read"
#define ENUMERATE_BATCH 100

struct _SluiceFileRead
{
  GObject parent_instance;

  char         *path;
  GFile        *root;
  GPatternSpec *pattern;
  guint         page_size;

  /* The cursor: the host makes an instance per run. */
  gboolean      listed;
  GPtrArray    *files;   /* GFile, sorted by name */
  guint         next;
  gboolean      busy;
};

static void sluice_file_read_initable_iface_init (GInitableIface *iface);
static void sluice_file_read_source_iface_init (SluiceSourceInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SluiceFileRead, sluice_file_read, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      sluice_file_read_initable_iface_init)
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_SOURCE,
                                                      sluice_file_read_source_iface_init))

const char sluice_file_read_schema[] =
  "{"
  "  \"type\": \"object\","
  "  \"description\": \"Reads a file, or the files of a directory sorted by name, "
  "one streamed message per file\","
  "  \"properties\": {"
  "    \"path\": {\"type\": \"string\", \"minLength\": 1,"
  "               \"description\": \"A file, or a directory whose files to read\"},"
  "    \"pattern\": {\"type\": \"string\", \"default\": \"*\","
  "                  \"description\": \"Glob the names of files in the directory must match\"},"
  "    \"page_size\": {\"type\": \"integer\", \"minimum\": 1, \"default\": 100,"
  "                    \"description\": \"Files per page\"}"
  "  },"
  "  \"required\": [\"path\"],"
  "  \"additionalProperties\": false"
  "}";

static void read_page_open_next (GTask *task);

static GPtrArray *
new_page (void)
{
  return g_ptr_array_new_with_free_func (g_object_unref);
}

static void
read_page_return (GTask *task)
{
  SluiceFileRead *self = g_task_get_source_object (task);
  GPtrArray *page = g_task_get_task_data (task);

  self->busy = FALSE;
  if (page->len == 0)
    g_task_return_pointer (task, NULL, NULL);
  else
    g_task_return_pointer (task, g_ptr_array_ref (page), (GDestroyNotify) g_ptr_array_unref);
}

static void
read_page_fail (GTask  *task,
                GError *error)
{
  SluiceFileRead *self = g_task_get_source_object (task);

  self->busy = FALSE;
  g_task_return_error (task, error);
}

static void
on_message_opened (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SluiceFileRead *self = g_task_get_source_object (task);
  GPtrArray *page = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  SluiceMessage *message;

  message = sluice_file_open_message_finish (result, &error);
  if (message == NULL)
    {
      if (g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND))
        {
          /* Removed since the directory was listed: it is no longer part of
           * what there is to read. */
          sluice_log (sluice_component_get_context (self), NULL, G_LOG_LEVEL_INFO,
                      COMPONENT ": skipped: %s", error->message);
        }
      else
        {
          g_prefix_error (&error, COMPONENT ": ");
          read_page_fail (task, g_steal_pointer (&error));
          return;
        }
    }
  else
    g_ptr_array_add (page, message);

  read_page_open_next (g_steal_pointer (&task));
}

static void
read_page_open_next (GTask *task)
{
  SluiceFileRead *self = g_task_get_source_object (task);
  GPtrArray *page = g_task_get_task_data (task);
  GFile *file;

  if (page->len >= self->page_size || self->next >= self->files->len)
    {
      read_page_return (task);
      g_object_unref (task);
      return;
    }

  file = g_ptr_array_index (self->files, self->next++);
  sluice_file_open_message_async (file, G_PRIORITY_DEFAULT, g_task_get_cancellable (task),
                                  on_message_opened, task);
}

static gint
compare_files_by_name (gconstpointer a,
                       gconstpointer b)
{
  g_autofree char *name_a = g_file_get_basename (*(GFile * const *) a);
  g_autofree char *name_b = g_file_get_basename (*(GFile * const *) b);

  return strcmp (name_a, name_b);
}

static void
on_next_files (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SluiceFileRead *self = g_task_get_source_object (task);
  GFileEnumerator *enumerator = G_FILE_ENUMERATOR (source);
  GError *error = NULL;
  GList *infos;

  infos = g_file_enumerator_next_files_finish (enumerator, result, &error);
  if (error != NULL)
    {
      GError *mapped = NULL;

      sluice_file_propagate_error (&mapped, error, COMPONENT ": listing '%s'", self->path);
      read_page_fail (task, mapped);
      return;
    }

  if (infos != NULL)
    {
      for (GList *l = infos; l != NULL; l = l->next)
        {
          GFileInfo *info = l->data;
          const char *name = g_file_info_get_name (info);

          if (g_file_info_get_file_type (info) == G_FILE_TYPE_REGULAR &&
              !sluice_file_name_is_hidden (name) &&
              g_pattern_spec_match_string (self->pattern, name))
            g_ptr_array_add (self->files, g_file_get_child (self->root, name));
        }
      g_list_free_full (infos, g_object_unref);

      g_file_enumerator_next_files_async (enumerator, ENUMERATE_BATCH, G_PRIORITY_DEFAULT,
                                          g_task_get_cancellable (task), on_next_files,
                                          g_object_ref (task));
      return;
    }

  g_ptr_array_sort (self->files, compare_files_by_name);
  self->listed = TRUE;
  read_page_open_next (g_steal_pointer (&task));
}

static void
on_enumerate_children (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SluiceFileRead *self = g_task_get_source_object (task);
  g_autoptr(GFileEnumerator) enumerator = NULL;
  GError *error = NULL;

  enumerator = g_file_enumerate_children_finish (G_FILE (source), result, &error);
  if (enumerator == NULL)
    {
      GError *mapped = NULL;

      sluice_file_propagate_error (&mapped, error, COMPONENT ": listing '%s'", self->path);
      read_page_fail (task, mapped);
      return;
    }

  g_file_enumerator_next_files_async (enumerator, ENUMERATE_BATCH, G_PRIORITY_DEFAULT,
                                      g_task_get_cancellable (task), on_next_files,
                                      g_object_ref (task));
}

static void
on_root_info (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SluiceFileRead *self = g_task_get_source_object (task);
  g_autoptr(GFileInfo) info = NULL;
  GError *error = NULL;

  info = g_file_query_info_finish (G_FILE (source), result, &error);
  if (info == NULL)
    {
      GError *mapped = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        {
          g_error_free (error);
          read_page_fail (task, g_error_new (SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND,
                                             COMPONENT ": '%s' does not exist", self->path));
          return;
        }
      sluice_file_propagate_error (&mapped, error, COMPONENT ": '%s'", self->path);
      read_page_fail (task, mapped);
      return;
    }

  switch (g_file_info_get_file_type (info))
    {
    case G_FILE_TYPE_REGULAR:
      /* Named explicitly: read it whatever its name. */
      g_ptr_array_add (self->files, g_object_ref (self->root));
      self->listed = TRUE;
      read_page_open_next (g_steal_pointer (&task));
      break;

    case G_FILE_TYPE_DIRECTORY:
      g_file_enumerate_children_async (self->root,
                                       G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                       G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                       G_FILE_QUERY_INFO_NONE, G_PRIORITY_DEFAULT,
                                       g_task_get_cancellable (task),
                                       on_enumerate_children, g_object_ref (task));
      break;

    default:
      read_page_fail (task, g_error_new (SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                                         COMPONENT ": '%s' is neither a regular file nor "
                                         "a directory", self->path));
      break;
    }
}

/* SluiceSource */

static void
sluice_file_read_next_page_async (SluiceSource       *source,
                                  GCancellable       *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer            user_data)
{
  SluiceFileRead *self = SLUICE_FILE_READ (source);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, sluice_file_read_next_page_async);

  if (self->busy)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                               COMPONENT ": '%s': the previous page is still being read",
                               self->path);
      return;
    }

  self->busy = TRUE;
  g_task_set_task_data (task, new_page (), (GDestroyNotify) g_ptr_array_unref);

  if (self->listed)
    {
      read_page_open_next (g_steal_pointer (&task));
      return;
    }

  /* Following symlinks: a link to a file or directory reads what it points to. */
  g_file_query_info_async (self->root, G_FILE_ATTRIBUTE_STANDARD_TYPE, G_FILE_QUERY_INFO_NONE,
                           G_PRIORITY_DEFAULT, cancellable, on_root_info, g_steal_pointer (&task));
}

static GPtrArray *
sluice_file_read_next_page_finish (SluiceSource *source,
                                   GAsyncResult *result,
                                   GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, source), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sluice_file_read_next_page_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
sluice_file_read_source_iface_init (SluiceSourceInterface *iface)
{
  iface->next_page_async = sluice_file_read_next_page_async;
  iface->next_page_finish = sluice_file_read_next_page_finish;
}

/* GInitable */

static gboolean
sluice_file_read_initable_init (GInitable    *initable,
                                GCancellable *cancellable,
                                GError      **error)
{
  SluiceFileRead *self = SLUICE_FILE_READ (initable);
  JsonObject *config = sluice_component_get_config (self);
  g_autofree char *path = NULL;
  g_autofree char *pattern = NULL;

  if (!sluice_file_config_get_string (config, COMPONENT, "path", NULL, &path, error) ||
      !sluice_file_config_get_string (config, COMPONENT, "pattern", "*", &pattern, error) ||
      !sluice_file_config_get_uint (config, COMPONENT, "page_size", 1, 100,
                                    &self->page_size, error))
    return FALSE;

  if (*path == '\0')
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   COMPONENT ": key 'path' must not be empty");
      return FALSE;
    }

  self->path = sluice_file_canonicalize (path);
  self->root = g_file_new_for_path (self->path);
  self->pattern = g_pattern_spec_new (pattern);
  return TRUE;
}

static void
sluice_file_read_initable_iface_init (GInitableIface *iface)
{
  iface->init = sluice_file_read_initable_init;
}

/* GObject */

static void
sluice_file_read_finalize (GObject *object)
{
  SluiceFileRead *self = SLUICE_FILE_READ (object);

  g_ptr_array_unref (self->files);
  g_clear_object (&self->root);
  g_clear_pointer (&self->pattern, g_pattern_spec_free);
  g_free (self->path);

  G_OBJECT_CLASS (sluice_file_read_parent_class)->finalize (object);
}

static void
sluice_file_read_class_init (SluiceFileReadClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sluice_file_read_finalize;
}

static void
sluice_file_read_init (SluiceFileRead *self)
{
  self->files = g_ptr_array_new_with_free_func (g_object_unref);
}
