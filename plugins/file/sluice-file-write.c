/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE /* renameat2 */

#include "sluice-file-write.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <gio/gunixoutputstream.h>

#include "sluice-file-common.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

#define COMPONENT "file.write"
#define RECORD_HEADER "sluice-record"
#define APPEND_CHUNK (64 * 1024)

typedef enum {
  WRITE_MODE_CREATE,
  WRITE_MODE_REPLACE,
  WRITE_MODE_APPEND,
} WriteMode;

typedef enum {
  SEGMENT_LITERAL,
  SEGMENT_ID,
  SEGMENT_NAME,
  SEGMENT_HEADER,
  SEGMENT_DATE,
  SEGMENT_TIME,
  SEGMENT_RECORD,
} SegmentKind;

typedef struct {
  SegmentKind kind;
  char       *text;  /* the literal, or the header's name */
} Segment;

struct _SluiceFileWrite
{
  GObject parent_instance;

  char       *directory;
  char       *filename;
  GPtrArray  *segments;   /* Segment: the parsed filename template */
  WriteMode   mode;
  gboolean    create_dirs;

  /* Appends to one file run one after the other, so that two messages'
   * bytes never interleave even when a body is streamed in many writes. */
  GHashTable *appends;    /* target path -> GQueue of waiting GTask */
};

static void sluice_file_write_initable_iface_init (GInitableIface *iface);
static void sluice_file_write_step_iface_init (SluiceStepInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SluiceFileWrite, sluice_file_write, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      sluice_file_write_initable_iface_init)
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP,
                                                      sluice_file_write_step_iface_init))

const char sluice_file_write_schema[] =
  "{"
  "  \"type\": \"object\","
  "  \"description\": \"Writes each message's body to a file; new and replaced files "
  "appear whole, never half written\","
  "  \"properties\": {"
  "    \"directory\": {\"type\": \"string\", \"minLength\": 1,"
  "                    \"description\": \"Where the files go\"},"
  "    \"filename\": {\"type\": \"string\", \"minLength\": 1, \"default\": \"{id}\","
  "                   \"description\": \"File name template: {id}, {name} (the sluice-file-name "
  "header), {header:NAME}, {date} (UTC YYYY-MM-DD), {time} (UTC HHMMSS), {record} (the "
  "sluice-record header); {{ and }} for braces\"},"
  "    \"mode\": {\"type\": \"string\", \"enum\": [\"create\", \"replace\", \"append\"],"
  "               \"default\": \"create\","
  "               \"description\": \"create: fail when the file exists; replace: overwrite it; "
  "append: add the body and a newline if it lacks one\"},"
  "    \"create_dirs\": {\"type\": \"boolean\", \"default\": true,"
  "                      \"description\": \"Create the directory when it is missing\"}"
  "  },"
  "  \"required\": [\"directory\"],"
  "  \"additionalProperties\": false"
  "}";

/* The filename template */

static void
segment_free (Segment *segment)
{
  g_free (segment->text);
  g_free (segment);
}

static void
add_segment (GPtrArray  *segments,
             SegmentKind kind,
             const char *text,
             gsize       len)
{
  Segment *segment = g_new0 (Segment, 1);

  segment->kind = kind;
  if (text != NULL)
    segment->text = g_strndup (text, len);
  g_ptr_array_add (segments, segment);
}

static GPtrArray *
parse_template (const char *template,
                GError    **error)
{
  g_autoptr(GPtrArray) segments = g_ptr_array_new_with_free_func ((GDestroyNotify) segment_free);
  g_autoptr(GString) literal = g_string_new (NULL);
  const char *p = template;

  if (*template == '\0')
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   COMPONENT ": key 'filename' must not be empty");
      return NULL;
    }

  while (*p != '\0')
    {
      const char *close;
      g_autofree char *placeholder = NULL;

      if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}'))
        {
          g_string_append_c (literal, p[0]);
          p += 2;
          continue;
        }

      if (*p == '}')
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       COMPONENT ": key 'filename': '}' without '{' at offset %d in '%s' "
                       "(write '}}' for a brace)", (int) (p - template), template);
          return NULL;
        }

      if (*p == '/')
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       COMPONENT ": key 'filename': '%s' contains '/'; it names a file in "
                       "'directory', not a path", template);
          return NULL;
        }

      if (*p != '{')
        {
          g_string_append_c (literal, *p++);
          continue;
        }

      close = strchr (p, '}');
      if (close == NULL)
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       COMPONENT ": key 'filename': '{' without '}' at offset %d in '%s'",
                       (int) (p - template), template);
          return NULL;
        }

      if (literal->len > 0)
        {
          add_segment (segments, SEGMENT_LITERAL, literal->str, literal->len);
          g_string_truncate (literal, 0);
        }

      placeholder = g_strndup (p + 1, (gsize) (close - p - 1));
      if (g_str_equal (placeholder, "id"))
        add_segment (segments, SEGMENT_ID, NULL, 0);
      else if (g_str_equal (placeholder, "name"))
        add_segment (segments, SEGMENT_NAME, NULL, 0);
      else if (g_str_equal (placeholder, "date"))
        add_segment (segments, SEGMENT_DATE, NULL, 0);
      else if (g_str_equal (placeholder, "time"))
        add_segment (segments, SEGMENT_TIME, NULL, 0);
      else if (g_str_equal (placeholder, "record"))
        add_segment (segments, SEGMENT_RECORD, NULL, 0);
      else if (g_str_has_prefix (placeholder, "header:") && placeholder[strlen ("header:")] != '\0')
        {
          const char *header = placeholder + strlen ("header:");

          add_segment (segments, SEGMENT_HEADER, header, strlen (header));
        }
      else
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       COMPONENT ": key 'filename': unknown placeholder '{%s}' in '%s' "
                       "(known: {id}, {name}, {header:NAME}, {date}, {time}, {record})",
                       placeholder, template);
          return NULL;
        }

      p = close + 1;
    }

  if (literal->len > 0)
    add_segment (segments, SEGMENT_LITERAL, literal->str, literal->len);

  return g_steal_pointer (&segments);
}

static gboolean
append_header (GString         *out,
               SluiceFileWrite *self,
               SluiceMessage   *message,
               const char      *header,
               GError         **error)
{
  const char *value = sluice_message_get_header (message, header);

  if (value == NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                   COMPONENT ": filename template '%s': the message has no header '%s'",
                   self->filename, header);
      return FALSE;
    }
  g_string_append (out, value);
  return TRUE;
}

static char *
expand_template (SluiceFileWrite *self,
                 SluiceMessage   *message,
                 GError         **error)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GDateTime) now = NULL;
  SluiceContext *context = sluice_component_get_context (self);
  gint64 real_usec;

  real_usec = context != NULL ? sluice_clock_get_real_time (sluice_context_get_clock (context))
                              : g_get_real_time ();

  for (guint i = 0; i < self->segments->len; i++)
    {
      Segment *segment = g_ptr_array_index (self->segments, i);

      switch (segment->kind)
        {
        case SEGMENT_LITERAL:
          g_string_append (out, segment->text);
          break;
        case SEGMENT_ID:
          g_string_append (out, sluice_message_get_id (message));
          break;
        case SEGMENT_NAME:
          if (!append_header (out, self, message, SLUICE_FILE_HEADER_NAME, error))
            return NULL;
          break;
        case SEGMENT_RECORD:
          if (!append_header (out, self, message, RECORD_HEADER, error))
            return NULL;
          break;
        case SEGMENT_HEADER:
          if (!append_header (out, self, message, segment->text, error))
            return NULL;
          break;
        case SEGMENT_DATE:
        case SEGMENT_TIME:
          {
            g_autofree char *text = NULL;

            if (now == NULL)
              now = g_date_time_new_from_unix_utc (real_usec / G_USEC_PER_SEC);
            text = g_date_time_format (now, segment->kind == SEGMENT_DATE ? "%Y-%m-%d" : "%H%M%S");
            g_string_append (out, text);
          }
          break;
        default:
          g_assert_not_reached ();
        }
    }

  /* Values come from messages, so from outside: a name must stay a name
   * in the directory, and not hide itself among our temporary files. */
  if (out->len == 0 || strchr (out->str, '/') != NULL ||
      g_str_equal (out->str, ".") || g_str_equal (out->str, "..") || out->str[0] == '.')
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                   COMPONENT ": filename template '%s' gave '%s', which is not a plain file "
                   "name (it must not be empty, contain '/', or start with '.')",
                   self->filename, out->str);
      return NULL;
    }

  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* One write */

typedef struct {
  SluiceMessage *message;
  char          *target;
  char          *temp_path;     /* create, replace */
  GCancellable  *cancellable;   /* the caller's: short blocking steps check it */
  int            fd;            /* until owned by @out */
  GOutputStream *out;
  GInputStream  *body;
  GBytes        *bytes;         /* append: a body that is in memory */
  gint64         written;
  GError        *error;         /* kept while the temporary file is removed */

  /* append, streamed */
  GBytes        *chunk;
  gboolean       ends_with_newline;
  gboolean       body_done;
} WriteData;

static void
write_data_free (WriteData *data)
{
  g_clear_object (&data->message);
  g_free (data->target);
  g_free (data->temp_path);
  g_clear_object (&data->cancellable);
  /* Once there is a stream, it owns the descriptor. */
  if (data->fd >= 0 && data->out == NULL)
    close (data->fd);
  g_clear_object (&data->out);
  g_clear_object (&data->body);
  g_clear_pointer (&data->bytes, g_bytes_unref);
  g_clear_pointer (&data->chunk, g_bytes_unref);
  g_clear_error (&data->error);
  g_free (data);
}

/* Runs @func in a thread for the write @task; @done gets @task back as
 * user data. The thread part is not cancellable once it runs: a rename
 * that happened must be reported as such. */
static void
run_step_in_thread (GTask              *task,
                    GTaskThreadFunc     func,
                    GAsyncReadyCallback done)
{
  g_autoptr(GTask) step = g_task_new (g_task_get_source_object (task), NULL, done,
                                      g_object_ref (task));

  g_task_set_source_tag (step, func);
  g_task_set_task_data (step, g_task_get_task_data (task), NULL);
  g_task_run_in_thread (step, func);
}

static gboolean
ensure_directory (SluiceFileWrite *self,
                  GError         **error)
{
  if (!self->create_dirs)
    return TRUE;

  if (g_mkdir_with_parents (self->directory, 0777) < 0)
    {
      int errsv = errno;

      sluice_file_set_errno_error (error, errsv, COMPONENT ": creating directory '%s'",
                                   self->directory);
      return FALSE;
    }
  return TRUE;
}

static void
fsync_directory (const char *directory)
{
  int fd = open (directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  /* Best effort: makes the rename itself durable where supported. */
  if (fd >= 0)
    {
      fsync (fd);
      close (fd);
    }
}

static void
on_body_reopened (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  WriteData *data = g_task_get_task_data (task);
  g_autoptr(GFileInputStream) stream = NULL;
  GError *error = NULL;

  stream = g_file_read_finish (G_FILE (source), result, &error);
  if (stream == NULL)
    {
      GError *mapped = NULL;

      sluice_file_propagate_error (&mapped, error, COMPONENT ": '%s' was written, but "
                                   "reopening it failed", data->target);
      g_task_return_error (task, mapped);
      return;
    }

  sluice_message_set_stream (data->message, G_INPUT_STREAM (stream), data->written);
  g_task_return_pointer (task, sluice_message_iter_new_single (data->message), g_object_unref);
}

static void
write_succeeded (GTask *task)
{
  WriteData *data = g_task_get_task_data (task);
  SluiceFileWrite *self = g_task_get_source_object (task);

  sluice_message_set_header (data->message, SLUICE_FILE_HEADER_PATH, data->target);

  /* The input stream was used up by writing it: downstream reads the body
   * from the file instead. An appended body stays consumed, as the file
   * holds more than this message. */
  if (sluice_message_is_streamed (data->message) && self->mode != WRITE_MODE_APPEND)
    {
      g_autoptr(GFile) file = g_file_new_for_path (data->target);

      g_file_read_async (file, G_PRIORITY_DEFAULT, NULL, on_body_reopened, g_object_ref (task));
      return;
    }

  g_task_return_pointer (task, sluice_message_iter_new_single (data->message), g_object_unref);
}

/* create and replace: a temporary file, then a rename */

static void
prepare_thread (GTask        *step,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *unused)
{
  SluiceFileWrite *self = source_object;
  WriteData *data = task_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *base = g_path_get_basename (data->target);
  g_autofree char *template = NULL;
  struct stat st;

  if (g_cancellable_set_error_if_cancelled (data->cancellable, &error))
    {
      g_task_return_error (step, g_steal_pointer (&error));
      return;
    }

  if (!ensure_directory (self, &error))
    {
      g_task_return_error (step, g_steal_pointer (&error));
      return;
    }

  /* Fail before copying a large body; the final rename checks again. */
  if (self->mode == WRITE_MODE_CREATE && lstat (data->target, &st) == 0)
    {
      g_task_return_new_error (step, SLUICE_ERROR, SLUICE_ERROR_PERMANENT,
                               COMPONENT ": '%s' already exists (mode create)", data->target);
      return;
    }

  /* Hidden, and in the same directory so the rename stays on one
   * filesystem and is atomic. */
  template = g_strdup_printf ("%s/.%s.XXXXXX", self->directory, base);
  data->fd = g_mkstemp_full (template, O_RDWR | O_CLOEXEC, 0666);
  if (data->fd < 0)
    {
      int errsv = errno;

      sluice_file_set_errno_error (&error, errsv, COMPONENT ": creating a temporary file "
                                   "for '%s'", data->target);
      g_task_return_error (step, g_steal_pointer (&error));
      return;
    }

  data->temp_path = g_steal_pointer (&template);
  g_task_return_boolean (step, TRUE);
}

static gboolean
commit_rename (SluiceFileWrite *self,
               WriteData       *data,
               GError         **error)
{
  int errsv;

  if (self->mode == WRITE_MODE_REPLACE)
    {
      if (rename (data->temp_path, data->target) == 0)
        return TRUE;
      errsv = errno;
      sluice_file_set_errno_error (error, errsv, COMPONENT ": renaming '%s' to '%s'",
                                   data->temp_path, data->target);
      return FALSE;
    }

  if (renameat2 (AT_FDCWD, data->temp_path, AT_FDCWD, data->target, RENAME_NOREPLACE) == 0)
    return TRUE;
  errsv = errno;

  /* Filesystems without RENAME_NOREPLACE: link() refuses an existing
   * target just as atomically. */
  if (errsv == EINVAL || errsv == ENOSYS)
    {
      if (link (data->temp_path, data->target) == 0)
        {
          unlink (data->temp_path);
          return TRUE;
        }
      errsv = errno;
    }

  if (errsv == EEXIST)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PERMANENT,
                   COMPONENT ": '%s' already exists (mode create)", data->target);
      return FALSE;
    }

  sluice_file_set_errno_error (error, errsv, COMPONENT ": moving '%s' to '%s'",
                               data->temp_path, data->target);
  return FALSE;
}

static void
commit_thread (GTask        *step,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *unused)
{
  SluiceFileWrite *self = source_object;
  WriteData *data = task_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = TRUE;

  if (fsync (data->fd) < 0)
    {
      int errsv = errno;

      sluice_file_set_errno_error (&error, errsv, COMPONENT ": flushing '%s'", data->temp_path);
      ok = FALSE;
    }

  /* Closes data->fd too. */
  if (!g_output_stream_close (data->out, NULL, ok ? &error : NULL) && ok)
    {
      g_prefix_error (&error, COMPONENT ": closing '%s': ", data->temp_path);
      ok = FALSE;
    }
  data->fd = -1;

  if (ok && commit_rename (self, data, &error))
    {
      fsync_directory (self->directory);
      g_clear_pointer (&data->temp_path, g_free);
      g_task_return_boolean (step, TRUE);
      return;
    }

  unlink (data->temp_path);
  g_clear_pointer (&data->temp_path, g_free);
  g_task_return_error (step, g_steal_pointer (&error));
}

static void
on_committed (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (task, error);
      return;
    }

  write_succeeded (task);
}

static void
discard_thread (GTask        *step,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *unused)
{
  WriteData *data = task_data;

  if (data->out != NULL)
    g_output_stream_close (data->out, NULL, NULL);
  else if (data->fd >= 0)
    close (data->fd);
  data->fd = -1;

  if (data->temp_path != NULL)
    unlink (data->temp_path);
  g_clear_pointer (&data->temp_path, g_free);

  g_task_return_boolean (step, TRUE);
}

static void
on_discarded (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  WriteData *data = g_task_get_task_data (task);

  g_task_return_error (task, g_steal_pointer (&data->error));
}

/* Fails the write after removing its temporary file. */
static void
write_discard (GTask  *task,
               GError *error)
{
  WriteData *data = g_task_get_task_data (task);

  data->error = error;
  run_step_in_thread (task, discard_thread, on_discarded);
}

static void
on_spliced (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  WriteData *data = g_task_get_task_data (task);
  GError *error = NULL;
  gssize written;

  written = g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, &error);
  if (written < 0)
    {
      GError *mapped = NULL;

      sluice_file_propagate_error (&mapped, error, COMPONENT ": writing '%s'", data->target);
      write_discard (task, mapped);
      return;
    }

  data->written = written;
  run_step_in_thread (task, commit_thread, on_committed);
}

static void
on_prepared (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  WriteData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      write_discard (task, error);
      return;
    }

  /* The stream closes the descriptor; data->fd stays for fsync(). */
  data->out = g_unix_output_stream_new (data->fd, TRUE);
  data->body = sluice_message_open_body (data->message);

  /* Spliced, never read whole: a large body passes through in chunks. */
  g_output_stream_splice_async (data->out, data->body, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE,
                                G_PRIORITY_DEFAULT, g_task_get_cancellable (task),
                                on_spliced, g_object_ref (task));
}

/* append */

static void sluice_file_write_append_start (SluiceFileWrite *self,
                                            GTask           *task);

static void
append_finished (GTask *task)
{
  SluiceFileWrite *self = g_task_get_source_object (task);
  WriteData *data = g_task_get_task_data (task);
  GQueue *waiting = g_hash_table_lookup (self->appends, data->target);
  g_autoptr(GTask) next = NULL;

  g_return_if_fail (waiting != NULL);

  next = g_queue_pop_head (waiting);
  if (next == NULL)
    g_hash_table_remove (self->appends, data->target);
  else
    sluice_file_write_append_start (self, next);
}

static void
append_return_error (GTask  *task,
                     GError *error)
{
  g_task_return_error (task, error);
  append_finished (task);
}

static gboolean
writev_all (int           fd,
            struct iovec *iov,
            int           iovcnt,
            int          *out_errno)
{
  while (iovcnt > 0)
    {
      ssize_t n = writev (fd, iov, iovcnt);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          *out_errno = errno;
          return FALSE;
        }

      while (iovcnt > 0 && (size_t) n >= iov->iov_len)
        {
          n -= (ssize_t) iov->iov_len;
          iov++;
          iovcnt--;
        }
      if (iovcnt > 0)
        {
          iov->iov_base = (char *) iov->iov_base + n;
          iov->iov_len -= (size_t) n;
        }
    }
  return TRUE;
}

static void
append_open_thread (GTask        *step,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *unused)
{
  SluiceFileWrite *self = source_object;
  WriteData *data = task_data;
  g_autoptr(GError) error = NULL;
  int errsv;

  if (g_cancellable_set_error_if_cancelled (data->cancellable, &error) ||
      !ensure_directory (self, &error))
    {
      g_task_return_error (step, g_steal_pointer (&error));
      return;
    }

  data->fd = open (data->target, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0666);
  if (data->fd < 0)
    {
      errsv = errno;
      sluice_file_set_errno_error (&error, errsv, COMPONENT ": opening '%s' to append",
                                   data->target);
      g_task_return_error (step, g_steal_pointer (&error));
      return;
    }

  if (data->bytes != NULL)
    {
      gsize size;
      const char *body = g_bytes_get_data (data->bytes, &size);
      struct iovec iov[2];
      int iovcnt = 1;

      /* One writev() for body and newline: with O_APPEND the kernel puts
       * it at the end in one piece, also against other processes. */
      iov[0].iov_base = (void *) body;
      iov[0].iov_len = size;
      if (size == 0 || body[size - 1] != '\n')
        {
          iov[1].iov_base = (void *) "\n";
          iov[1].iov_len = 1;
          iovcnt = 2;
        }

      if (!writev_all (data->fd, iov, iovcnt, &errsv))
        {
          close (data->fd);
          data->fd = -1;
          sluice_file_set_errno_error (&error, errsv, COMPONENT ": appending to '%s'",
                                       data->target);
          g_task_return_error (step, g_steal_pointer (&error));
          return;
        }

      errsv = close (data->fd) < 0 ? errno : 0;
      data->fd = -1;
      if (errsv != 0)
        {
          sluice_file_set_errno_error (&error, errsv, COMPONENT ": appending to '%s'",
                                       data->target);
          g_task_return_error (step, g_steal_pointer (&error));
          return;
        }
      data->written = (gint64) size + (iovcnt - 1);
    }

  g_task_return_boolean (step, TRUE);
}

static void append_read_next (GTask *task);

static void
on_append_closed (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  WriteData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!g_output_stream_close_finish (G_OUTPUT_STREAM (source), result, &error))
    {
      GError *mapped = NULL;

      sluice_file_propagate_error (&mapped, error, COMPONENT ": appending to '%s'", data->target);
      append_return_error (task, mapped);
      return;
    }

  write_succeeded (task);
  append_finished (task);
}

static void
on_append_failed_closed (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  WriteData *data = g_task_get_task_data (task);

  g_output_stream_close_finish (G_OUTPUT_STREAM (source), result, NULL);
  append_return_error (task, g_steal_pointer (&data->error));
}

static void
append_fail_streamed (GTask  *task,
                      GError *error)
{
  WriteData *data = g_task_get_task_data (task);

  sluice_file_propagate_error (&data->error, error, COMPONENT ": appending to '%s' (what "
                               "was written so far stays)", data->target);
  g_output_stream_close_async (data->out, G_PRIORITY_DEFAULT, NULL,
                               on_append_failed_closed, g_object_ref (task));
}

static void
on_append_written (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  WriteData *data = g_task_get_task_data (task);
  GError *error = NULL;
  gsize written = 0;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, &written, &error))
    {
      append_fail_streamed (task, error);
      return;
    }

  data->written += written;
  g_clear_pointer (&data->chunk, g_bytes_unref);

  if (data->body_done)
    g_output_stream_close_async (data->out, G_PRIORITY_DEFAULT, NULL,
                                 on_append_closed, g_steal_pointer (&task));
  else
    append_read_next (g_steal_pointer (&task));
}

static void
on_append_read (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  WriteData *data = g_task_get_task_data (task);
  GError *error = NULL;
  gsize size;
  const char *bytes;

  data->chunk = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  if (data->chunk == NULL)
    {
      append_fail_streamed (task, error);
      return;
    }

  bytes = g_bytes_get_data (data->chunk, &size);
  if (size == 0)
    {
      g_clear_pointer (&data->chunk, g_bytes_unref);
      data->body_done = TRUE;

      if (!data->ends_with_newline)
        {
          data->ends_with_newline = TRUE;
          g_output_stream_write_all_async (data->out, "\n", 1, G_PRIORITY_DEFAULT,
                                           g_task_get_cancellable (task),
                                           on_append_written, g_object_ref (task));
          return;
        }

      g_output_stream_close_async (data->out, G_PRIORITY_DEFAULT, NULL,
                                   on_append_closed, g_steal_pointer (&task));
      return;
    }

  data->ends_with_newline = (bytes[size - 1] == '\n');
  g_output_stream_write_all_async (data->out, bytes, size, G_PRIORITY_DEFAULT,
                                   g_task_get_cancellable (task),
                                   on_append_written, g_object_ref (task));
}

static void
append_read_next (GTask *task)
{
  WriteData *data = g_task_get_task_data (task);

  g_input_stream_read_bytes_async (data->body, APPEND_CHUNK, G_PRIORITY_DEFAULT,
                                   g_task_get_cancellable (task), on_append_read, task);
}

static void
on_append_opened (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  WriteData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      append_return_error (task, error);
      return;
    }

  if (data->bytes != NULL)
    {
      write_succeeded (task);
      append_finished (task);
      return;
    }

  data->out = g_unix_output_stream_new (data->fd, TRUE);
  data->fd = -1;
  data->body = sluice_message_open_body (data->message);
  append_read_next (g_steal_pointer (&task));
}

static void
sluice_file_write_append_start (SluiceFileWrite *self,
                                GTask           *task)
{
  run_step_in_thread (task, append_open_thread, on_append_opened);
}

static void
sluice_file_write_append (SluiceFileWrite *self,
                          GTask           *task)
{
  WriteData *data = g_task_get_task_data (task);
  GQueue *waiting;

  if (!sluice_message_is_streamed (data->message))
    data->bytes = g_bytes_ref (sluice_message_get_bytes (data->message));

  waiting = g_hash_table_lookup (self->appends, data->target);
  if (waiting != NULL)
    {
      g_queue_push_tail (waiting, g_object_ref (task));
      return;
    }

  /* An empty queue marks the file as busy. */
  g_hash_table_insert (self->appends, g_strdup (data->target), g_queue_new ());
  sluice_file_write_append_start (self, task);
}

/* SluiceStep */

static void
sluice_file_write_process_async (SluiceStep         *step,
                                 SluiceMessage      *message,
                                 GCancellable       *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer            user_data)
{
  SluiceFileWrite *self = SLUICE_FILE_WRITE (step);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autofree char *name = NULL;
  GError *error = NULL;
  WriteData *data;

  g_task_set_source_tag (task, sluice_file_write_process_async);

  name = expand_template (self, message, &error);
  if (name == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  data = g_new0 (WriteData, 1);
  data->fd = -1;
  data->message = g_object_ref (message);
  data->target = g_build_filename (self->directory, name, NULL);
  if (cancellable != NULL)
    data->cancellable = g_object_ref (cancellable);
  g_task_set_task_data (task, data, (GDestroyNotify) write_data_free);

  if (self->mode == WRITE_MODE_APPEND)
    sluice_file_write_append (self, task);
  else
    run_step_in_thread (task, prepare_thread, on_prepared);
}

static SluiceMessageIter *
sluice_file_write_process_finish (SluiceStep   *step,
                                  GAsyncResult *result,
                                  GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, step), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sluice_file_write_process_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
sluice_file_write_step_iface_init (SluiceStepInterface *iface)
{
  iface->process_async = sluice_file_write_process_async;
  iface->process_finish = sluice_file_write_process_finish;
}

/* GInitable */

static gboolean
sluice_file_write_initable_init (GInitable    *initable,
                                 GCancellable *cancellable,
                                 GError      **error)
{
  SluiceFileWrite *self = SLUICE_FILE_WRITE (initable);
  JsonObject *config = sluice_component_get_config (self);
  g_autofree char *directory = NULL;
  g_autofree char *mode = NULL;

  if (!sluice_file_config_get_string (config, COMPONENT, "directory", NULL, &directory, error) ||
      !sluice_file_config_get_string (config, COMPONENT, "filename", "{id}",
                                      &self->filename, error) ||
      !sluice_file_config_get_string (config, COMPONENT, "mode", "create", &mode, error) ||
      !sluice_file_config_get_boolean (config, COMPONENT, "create_dirs", TRUE,
                                       &self->create_dirs, error))
    return FALSE;

  if (*directory == '\0')
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   COMPONENT ": key 'directory' must not be empty");
      return FALSE;
    }
  self->directory = sluice_file_canonicalize (directory);

  if (g_str_equal (mode, "create"))
    self->mode = WRITE_MODE_CREATE;
  else if (g_str_equal (mode, "replace"))
    self->mode = WRITE_MODE_REPLACE;
  else if (g_str_equal (mode, "append"))
    self->mode = WRITE_MODE_APPEND;
  else
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   COMPONENT ": key 'mode': '%s' is not one of create, replace, append", mode);
      return FALSE;
    }

  self->segments = parse_template (self->filename, error);
  return self->segments != NULL;
}

static void
sluice_file_write_initable_iface_init (GInitableIface *iface)
{
  iface->init = sluice_file_write_initable_init;
}

/* GObject */

static void
waiting_queue_free (GQueue *queue)
{
  g_queue_free_full (queue, g_object_unref);
}

static void
sluice_file_write_finalize (GObject *object)
{
  SluiceFileWrite *self = SLUICE_FILE_WRITE (object);

  g_hash_table_unref (self->appends);
  g_clear_pointer (&self->segments, g_ptr_array_unref);
  g_free (self->directory);
  g_free (self->filename);

  G_OBJECT_CLASS (sluice_file_write_parent_class)->finalize (object);
}

static void
sluice_file_write_class_init (SluiceFileWriteClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sluice_file_write_finalize;
}

static void
sluice_file_write_init (SluiceFileWrite *self)
{
  self->appends = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) waiting_queue_free);
}
