/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-file-event.h"

#include "sluice-file-common.h"

#define ERROR_SUFFIX ".error"

struct _SluiceFileEvent
{
  SluiceEvent parent_instance;

  SluiceFileWatch *watch;  /* owned: settling may outlive the watch's start */
  char            *name;
  char            *path;
};

G_DEFINE_FINAL_TYPE (SluiceFileEvent, sluice_file_event, SLUICE_TYPE_EVENT)

typedef struct {
  SluiceEventOutcome outcome;
  char              *path;
  char              *directory;
  char              *reason;   /* dead-letter only */
  char              *warning;  /* set by the thread, logged on the main thread */
} MoveData;

static void
move_data_free (MoveData *data)
{
  g_free (data->path);
  g_free (data->directory);
  g_free (data->reason);
  g_free (data->warning);
  g_free (data);
}

static void
move_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  MoveData *data = task_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *target = NULL;

  target = sluice_file_move_unique (data->path, data->directory,
                                    data->reason != NULL ? ERROR_SUFFIX : NULL, &error);
  if (target == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (data->reason != NULL)
    {
      g_autofree char *error_path = g_strconcat (target, ERROR_SUFFIX, NULL);
      g_autofree char *contents = g_strconcat (data->reason, "\n", NULL);

      /* The file is in the failed directory already: failing the
       * dead-letter now would only make it be settled again, and find
       * nothing to move. Say so instead. */
      if (!g_file_set_contents_full (error_path, contents, -1,
                                     G_FILE_SET_CONTENTS_CONSISTENT, 0666, &error))
        data->warning = g_strdup_printf ("'%s' was dead-lettered to '%s', but its error "
                                         "could not be written: %s",
                                         data->path, target, error->message);
    }

  g_task_return_pointer (task, g_steal_pointer (&target), g_free);
}

static void
on_moved (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SluiceFileEvent *self = g_task_get_source_object (task);
  MoveData *data = g_task_get_task_data (G_TASK (result));
  g_autofree char *target = NULL;
  GError *error = NULL;

  target = g_task_propagate_pointer (G_TASK (result), &error);
  if (target == NULL)
    {
      GError *mapped = NULL;

      /* The event stays pending: the engine may settle it again. */
      sluice_file_propagate_error (&mapped, error, "file.watch: %s '%s'",
                                   data->outcome == SLUICE_EVENT_ACKED ? "acknowledging"
                                                                       : "dead-lettering",
                                   self->path);
      g_task_return_error (task, mapped);
      return;
    }

  if (data->warning != NULL)
    sluice_log (sluice_component_get_context (self->watch),
                sluice_event_get_message (SLUICE_EVENT (self)),
                G_LOG_LEVEL_WARNING, "file.watch: %s", data->warning);

  sluice_file_watch_settled (self->watch, self->name, data->outcome, 0);
  g_task_return_boolean (task, TRUE);
}

static void
sluice_file_event_move_async (SluiceFileEvent    *self,
                              SluiceEventOutcome  outcome,
                              const char         *directory,
                              const GError       *reason,
                              GCancellable       *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer            user_data,
                              gpointer            source_tag)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(GTask) move_task = NULL;
  MoveData *data = g_new0 (MoveData, 1);

  g_task_set_source_tag (task, source_tag);
  /* Once started, the move is what happened, cancelled or not: report that
   * rather than a cancellation that did not undo anything. */
  g_task_set_check_cancellable (task, FALSE);

  data->outcome = outcome;
  data->path = g_strdup (self->path);
  data->directory = g_strdup (directory);
  if (outcome == SLUICE_EVENT_DEAD_LETTERED)
    data->reason = g_strdup (reason != NULL ? reason->message : "dead-lettered without an error");

  move_task = g_task_new (self, NULL, on_moved, g_steal_pointer (&task));
  g_task_set_source_tag (move_task, sluice_file_event_move_async);
  g_task_set_task_data (move_task, data, (GDestroyNotify) move_data_free);
  g_task_run_in_thread (move_task, move_thread);
}

static void
sluice_file_event_ack_async (SluiceEvent        *event,
                             GCancellable       *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer            user_data)
{
  SluiceFileEvent *self = SLUICE_FILE_EVENT (event);

  sluice_file_event_move_async (self, SLUICE_EVENT_ACKED,
                                sluice_file_watch_get_processed_dir (self->watch), NULL,
                                cancellable, callback, user_data,
                                sluice_file_event_ack_async);
}

static void
sluice_file_event_dead_letter_async (SluiceEvent        *event,
                                     const GError       *reason,
                                     GCancellable       *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer            user_data)
{
  SluiceFileEvent *self = SLUICE_FILE_EVENT (event);

  sluice_file_event_move_async (self, SLUICE_EVENT_DEAD_LETTERED,
                                sluice_file_watch_get_failed_dir (self->watch), reason,
                                cancellable, callback, user_data,
                                sluice_file_event_dead_letter_async);
}

static void
sluice_file_event_retry_async (SluiceEvent        *event,
                               gint64              delay_usec,
                               GCancellable       *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer            user_data)
{
  SluiceFileEvent *self = SLUICE_FILE_EVENT (event);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, sluice_file_event_retry_async);
  g_task_set_check_cancellable (task, FALSE);

  /* The file stays where it is; the watch emits it again later. */
  sluice_file_watch_settled (self->watch, self->name, SLUICE_EVENT_RETRY, delay_usec);
  g_task_return_boolean (task, TRUE);
}

static gboolean
sluice_file_event_finish (SluiceEvent  *event,
                          GAsyncResult *result,
                          GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, event), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
sluice_file_event_finalize (GObject *object)
{
  SluiceFileEvent *self = SLUICE_FILE_EVENT (object);

  g_clear_object (&self->watch);
  g_free (self->name);
  g_free (self->path);

  G_OBJECT_CLASS (sluice_file_event_parent_class)->finalize (object);
}

static void
sluice_file_event_class_init (SluiceFileEventClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  SluiceEventClass *event_class = SLUICE_EVENT_CLASS (klass);

  object_class->finalize = sluice_file_event_finalize;

  event_class->ack_async = sluice_file_event_ack_async;
  event_class->ack_finish = sluice_file_event_finish;
  event_class->retry_async = sluice_file_event_retry_async;
  event_class->retry_finish = sluice_file_event_finish;
  event_class->dead_letter_async = sluice_file_event_dead_letter_async;
  event_class->dead_letter_finish = sluice_file_event_finish;
}

static void
sluice_file_event_init (SluiceFileEvent *self)
{
}

SluiceFileEvent *
sluice_file_event_new (SluiceFileWatch *watch,
                       SluiceMessage   *message,
                       const char      *name,
                       const char      *path)
{
  SluiceFileEvent *self;

  g_return_val_if_fail (SLUICE_IS_FILE_WATCH (watch), NULL);
  g_return_val_if_fail (SLUICE_IS_MESSAGE (message), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (SLUICE_TYPE_FILE_EVENT, "message", message, NULL);
  self->watch = g_object_ref (watch);
  self->name = g_strdup (name);
  self->path = g_strdup (path);
  return self;
}
