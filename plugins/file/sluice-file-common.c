/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE /* renameat2 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sluice-file-common.h"

/* RENAME_NOREPLACE lives in <linux/fs.h>, which clashes with glibc headers
 * on older systems. */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

/* Far more than any real directory of processed files needs; it only stops
 * a loop when something keeps reporting the name as taken. */
#define MAX_COLLISION_SUFFIX 100000

static JsonNode *
config_lookup (JsonObject *config,
               const char *key)
{
  JsonNode *node;

  if (config == NULL || !json_object_has_member (config, key))
    return NULL;
  node = json_object_get_member (config, key);
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  return node;
}

static gboolean
config_type_error (const char *component,
                   const char *key,
                   const char *expected,
                   JsonNode   *node,
                   GError    **error)
{
  g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
               "%s: key '%s': expected %s, got %s",
               component, key, expected, json_node_type_name (node));
  return FALSE;
}

gboolean
sluice_file_config_get_string (JsonObject  *config,
                               const char  *component,
                               const char  *key,
                               const char  *default_value,
                               char       **out_value,
                               GError     **error)
{
  JsonNode *node = config_lookup (config, key);

  if (node == NULL)
    {
      if (default_value == NULL)
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       "%s: key '%s' is required", component, key);
          return FALSE;
        }
      *out_value = g_strdup (default_value);
      return TRUE;
    }

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return config_type_error (component, key, "a string", node, error);

  *out_value = g_strdup (json_node_get_string (node));
  return TRUE;
}

gboolean
sluice_file_config_get_boolean (JsonObject *config,
                                const char *component,
                                const char *key,
                                gboolean    default_value,
                                gboolean   *out_value,
                                GError    **error)
{
  JsonNode *node = config_lookup (config, key);

  if (node == NULL)
    {
      *out_value = default_value;
      return TRUE;
    }

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return config_type_error (component, key, "a boolean", node, error);

  *out_value = json_node_get_boolean (node);
  return TRUE;
}

gboolean
sluice_file_config_get_uint (JsonObject *config,
                             const char *component,
                             const char *key,
                             guint       minimum,
                             guint       default_value,
                             guint      *out_value,
                             GError    **error)
{
  JsonNode *node = config_lookup (config, key);
  gint64 value;

  if (node == NULL)
    {
      *out_value = default_value;
      return TRUE;
    }

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return config_type_error (component, key, "an integer", node, error);

  value = json_node_get_int (node);
  if (value < (gint64) minimum || value > G_MAXUINT)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s: key '%s': %" G_GINT64_FORMAT " is out of range (%u to %u)",
                   component, key, value, minimum, G_MAXUINT);
      return FALSE;
    }

  *out_value = (guint) value;
  return TRUE;
}

gboolean
sluice_file_config_get_duration (JsonObject *config,
                                 const char *component,
                                 const char *key,
                                 const char *default_value,
                                 gint64     *out_usec,
                                 GError    **error)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) local_error = NULL;

  if (!sluice_file_config_get_string (config, component, key, default_value, &text, error))
    return FALSE;

  if (!sluice_parse_duration (text, out_usec, &local_error))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s: key '%s': %s", component, key, local_error->message);
      return FALSE;
    }

  return TRUE;
}

char *
sluice_file_canonicalize (const char *path)
{
  return g_canonicalize_filename (path, NULL);
}

gboolean
sluice_file_name_is_hidden (const char *name)
{
  return name[0] == '.';
}

static int
sluice_code_from_io_error (const GError *src)
{
  if (src->domain == SLUICE_ERROR)
    return src->code;

  if (src->domain != G_IO_ERROR)
    return SLUICE_ERROR_FAILED;

  switch (src->code)
    {
    case G_IO_ERROR_NOT_FOUND:
      return SLUICE_ERROR_NOT_FOUND;
    case G_IO_ERROR_PERMISSION_DENIED:
    case G_IO_ERROR_READ_ONLY:
      return SLUICE_ERROR_PERMISSION_DENIED;
    case G_IO_ERROR_TIMED_OUT:
      return SLUICE_ERROR_TIMEOUT;
    case G_IO_ERROR_INVALID_FILENAME:
    case G_IO_ERROR_FILENAME_TOO_LONG:
      return SLUICE_ERROR_INVALID_DATA;
    case G_IO_ERROR_EXISTS:
    case G_IO_ERROR_IS_DIRECTORY:
    case G_IO_ERROR_NOT_DIRECTORY:
    case G_IO_ERROR_NOT_REGULAR_FILE:
    case G_IO_ERROR_NOT_SUPPORTED:
    case G_IO_ERROR_TOO_MANY_LINKS:
      return SLUICE_ERROR_PERMANENT;
    default:
      /* Out of space, busy, I/O errors: conditions that may clear up. */
      return SLUICE_ERROR_FAILED;
    }
}

void
sluice_file_propagate_error (GError    **dest,
                             GError     *src,
                             const char *format,
                             ...)
{
  g_autofree char *prefix = NULL;
  va_list args;

  if (dest == NULL)
    {
      g_error_free (src);
      return;
    }

  va_start (args, format);
  prefix = g_strdup_vprintf (format, args);
  va_end (args);

  /* The engine recognises cancellation by its GIO code: keep it. */
  if (g_error_matches (src, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_prefix_error (&src, "%s: ", prefix);
      g_propagate_error (dest, src);
      return;
    }

  g_set_error (dest, SLUICE_ERROR, sluice_code_from_io_error (src),
               "%s: %s", prefix, src->message);
  g_error_free (src);
}

void
sluice_file_set_errno_error (GError    **error,
                             int         errsv,
                             const char *format,
                             ...)
{
  g_autofree char *prefix = NULL;
  va_list args;
  GError *io_error;

  if (error == NULL)
    return;

  va_start (args, format);
  prefix = g_strdup_vprintf (format, args);
  va_end (args);

  io_error = g_error_new_literal (G_IO_ERROR, g_io_error_from_errno (errsv),
                                  g_strerror (errsv));
  sluice_file_propagate_error (error, io_error, "%s", prefix);
}

/* Opening a file as a message */

#define OPEN_ATTRIBUTES \
  G_FILE_ATTRIBUTE_STANDARD_TYPE "," \
  G_FILE_ATTRIBUTE_STANDARD_SIZE "," \
  G_FILE_ATTRIBUTE_TIME_MODIFIED "," \
  G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC

typedef struct {
  GFile            *file;
  GFileInputStream *stream;
  int               io_priority;
} OpenData;

static void
open_data_free (OpenData *data)
{
  g_clear_object (&data->file);
  g_clear_object (&data->stream);
  g_free (data);
}

static char *
guess_content_type (const char *name)
{
  g_autofree char *guessed = g_content_type_guess (name, NULL, 0, NULL);
  char *mime = NULL;

  if (guessed != NULL)
    mime = g_content_type_get_mime_type (guessed);
  return mime != NULL ? mime : g_strdup ("application/octet-stream");
}

static void
on_stream_info (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  OpenData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GDateTime) mtime = NULL;
  g_autoptr(SluiceMessage) message = NULL;
  g_autofree char *path = g_file_get_path (data->file);
  g_autofree char *name = g_file_get_basename (data->file);
  g_autofree char *content_type = NULL;
  g_autofree char *size_text = NULL;
  goffset size;

  info = g_file_input_stream_query_info_finish (G_FILE_INPUT_STREAM (source), result, &error);
  if (info == NULL)
    {
      sluice_file_propagate_error (&error, g_steal_pointer (&error), "'%s'", path);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (g_file_info_get_file_type (info) != G_FILE_TYPE_REGULAR)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_PERMANENT,
                               "'%s' is not a regular file", path);
      return;
    }

  size = g_file_info_get_size (info);
  content_type = guess_content_type (name);
  message = sluice_message_new_stream (G_INPUT_STREAM (data->stream), size, content_type);

  size_text = g_strdup_printf ("%" G_GOFFSET_FORMAT, size);
  sluice_message_set_header (message, SLUICE_FILE_HEADER_NAME, name);
  sluice_message_set_header (message, SLUICE_FILE_HEADER_PATH, path);
  sluice_message_set_header (message, SLUICE_FILE_HEADER_SIZE, size_text);

  mtime = g_file_info_get_modification_date_time (info);
  if (mtime != NULL)
    {
      g_autofree char *mtime_text = g_date_time_format_iso8601 (mtime);

      sluice_message_set_header (message, SLUICE_FILE_HEADER_MTIME, mtime_text);
    }

  g_task_return_pointer (task, g_steal_pointer (&message), g_object_unref);
}

static void
on_file_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  OpenData *data = g_task_get_task_data (task);
  GError *error = NULL;

  data->stream = g_file_read_finish (G_FILE (source), result, &error);
  if (data->stream == NULL)
    {
      g_autofree char *path = g_file_get_path (data->file);
      GError *mapped = NULL;

      sluice_file_propagate_error (&mapped, error, "opening '%s'", path);
      g_task_return_error (task, mapped);
      return;
    }

  g_file_input_stream_query_info_async (data->stream, OPEN_ATTRIBUTES, data->io_priority,
                                        g_task_get_cancellable (task),
                                        on_stream_info, g_object_ref (task));
}

void
sluice_file_open_message_async (GFile              *file,
                                int                 io_priority,
                                GCancellable       *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer            user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  OpenData *data = g_new0 (OpenData, 1);

  g_task_set_source_tag (task, sluice_file_open_message_async);
  data->file = g_object_ref (file);
  data->io_priority = io_priority;
  g_task_set_task_data (task, data, (GDestroyNotify) open_data_free);

  g_file_read_async (file, io_priority, cancellable, on_file_read, g_steal_pointer (&task));
}

SluiceMessage *
sluice_file_open_message_finish (GAsyncResult *result,
                                 GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sluice_file_open_message_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Moving without replacing */

static gboolean
copy_then_delete (const char *path,
                  const char *target,
                  GError    **error)
{
  g_autoptr(GFile) source = g_file_new_for_path (path);
  g_autoptr(GFile) destination = g_file_new_for_path (target);

  /* Without G_FILE_COPY_OVERWRITE an existing target fails with
   * G_IO_ERROR_EXISTS, which the caller turns into the next suffix. */
  if (!g_file_copy (source, destination,
                    G_FILE_COPY_NOFOLLOW_SYMLINKS | G_FILE_COPY_ALL_METADATA,
                    NULL, NULL, NULL, error))
    return FALSE;

  return g_file_delete (source, NULL, error);
}

/* Returns 0 on success, or the errno of the failure (EEXIST when the
 * target is taken). Cross-device moves copy and report a GError through
 * @error with -1. */
static int
move_no_replace (const char *path,
                 const char *target,
                 GError    **error)
{
  gboolean can_copy;
  int errsv;

  if (renameat2 (AT_FDCWD, path, AT_FDCWD, target, RENAME_NOREPLACE) == 0)
    return 0;
  errsv = errno;
  can_copy = (errsv == EXDEV);

  /* Filesystems without RENAME_NOREPLACE: a hard link fails atomically on
   * an existing target too. */
  if (errsv == EINVAL || errsv == ENOSYS)
    {
      if (link (path, target) == 0)
        {
          if (unlink (path) < 0)
            {
              errsv = errno;
              /* Do not leave the same file under two names. */
              unlink (target);
              return errsv;
            }
          return 0;
        }
      errsv = errno;
      /* EPERM: the filesystem has no hard links (FAT) */
      can_copy = (errsv == EXDEV || errsv == EPERM);
    }

  if (can_copy)
    {
      g_autoptr(GError) local_error = NULL;

      if (copy_then_delete (path, target, &local_error))
        return 0;
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_EXISTS))
        return EEXIST;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return -1;
    }

  return errsv;
}

char *
sluice_file_move_unique (const char *path,
                         const char *directory,
                         const char *companion_suffix,
                         GError    **error)
{
  g_autofree char *base = g_path_get_basename (path);

  if (g_mkdir_with_parents (directory, 0777) < 0)
    {
      int errsv = errno;

      sluice_file_set_errno_error (error, errsv, "creating directory '%s'", directory);
      return NULL;
    }

  for (guint n = 0; n <= MAX_COLLISION_SUFFIX; n++)
    {
      g_autofree char *target = NULL;
      g_autoptr(GError) local_error = NULL;
      int result;

      if (n == 0)
        target = g_build_filename (directory, base, NULL);
      else
        {
          g_autofree char *name = g_strdup_printf ("%s.%u", base, n);

          target = g_build_filename (directory, name, NULL);
        }

      if (companion_suffix != NULL)
        {
          g_autofree char *companion = g_strconcat (target, companion_suffix, NULL);

          if (g_file_test (companion, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK))
            continue;
        }

      result = move_no_replace (path, target, &local_error);
      if (result == 0)
        return g_steal_pointer (&target);
      if (result == EEXIST)
        continue;
      if (result < 0)
        sluice_file_propagate_error (error, g_steal_pointer (&local_error),
                                     "moving '%s' to '%s'", path, target);
      else
        sluice_file_set_errno_error (error, result, "moving '%s' to '%s'", path, target);
      return NULL;
    }

  g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_FAILED,
               "moving '%s' into '%s': every name up to '%s.%u' is taken",
               path, directory, base, MAX_COLLISION_SUFFIX);
  return NULL;
}
