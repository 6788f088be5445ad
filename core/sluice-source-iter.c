/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-source-iter.h"

#include "sluice-run-observer.h"

struct _SluiceSourceIter
{
  SluiceMessageIter parent_instance;

  SluiceSource *source;
  GPtrArray    *page;     /* current page, or NULL */
  guint         position; /* next record of the page */
  gboolean      finished;
  char         *run;         /* the run header of the message that opened it */
  char         *traceparent; /* and its trace */
};

G_DEFINE_FINAL_TYPE (SluiceSourceIter, sluice_source_iter, SLUICE_TYPE_MESSAGE_ITER)

/* A record belongs to the run that opened the source: nodes that keep
 * per-run state (a batch) find their run by its header, and the trace goes
 * on unless the source brought one of its own. */
static SluiceMessage *
take_from_page (SluiceSourceIter *self)
{
  SluiceMessage *record;

  if (self->page == NULL || self->position >= self->page->len)
    return NULL;
  record = g_object_ref (g_ptr_array_index (self->page, self->position++));
  if (self->run != NULL)
    sluice_message_set_header (record, SLUICE_HEADER_RUN, self->run);
  if (self->traceparent != NULL && sluice_message_get_traceparent (record) == NULL)
    sluice_message_set_traceparent (record, self->traceparent);
  return record;
}

static void fetch_page (SluiceSourceIter *self, GTask *task);

static void
on_page (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  SluiceSourceIter *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  SluiceMessage *message;

  g_clear_pointer (&self->page, g_ptr_array_unref);
  self->position = 0;
  self->page = sluice_source_next_page_finish (SLUICE_SOURCE (object), result, &error);
  if (error != NULL)
    {
      self->finished = TRUE;
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (self->page == NULL)
    {
      self->finished = TRUE;
      g_task_return_pointer (task, NULL, NULL);
      return;
    }
  message = take_from_page (self);
  if (message == NULL)
    {
      /* An empty page is not the end: only NULL is. */
      fetch_page (self, g_steal_pointer (&task));
      return;
    }
  g_task_return_pointer (task, message, g_object_unref);
}

static void
fetch_page (SluiceSourceIter *self, GTask *task)
{
  sluice_source_next_page_async (self->source, g_task_get_cancellable (task), on_page, task);
}

static void
sluice_source_iter_next_async (SluiceMessageIter  *iter,
                               GCancellable       *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer            user_data)
{
  SluiceSourceIter *self = SLUICE_SOURCE_ITER (iter);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  SluiceMessage *message;

  g_task_set_source_tag (task, sluice_source_iter_next_async);

  if (self->finished)
    {
      g_task_return_pointer (task, NULL, NULL);
      return;
    }
  message = take_from_page (self);
  if (message != NULL)
    {
      g_task_return_pointer (task, message, g_object_unref);
      return;
    }
  fetch_page (self, g_steal_pointer (&task));
}

static SluiceMessage *
sluice_source_iter_next_finish (SluiceMessageIter *iter, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static SluiceMessage *
sluice_source_iter_pop_ready (SluiceMessageIter *iter, gboolean *out_ready)
{
  SluiceSourceIter *self = SLUICE_SOURCE_ITER (iter);
  SluiceMessage *message = take_from_page (self);

  *out_ready = message != NULL || self->finished;
  return message;
}

static void
sluice_source_iter_finalize (GObject *object)
{
  SluiceSourceIter *self = SLUICE_SOURCE_ITER (object);

  g_clear_object (&self->source);
  g_clear_pointer (&self->page, g_ptr_array_unref);
  g_free (self->run);
  g_free (self->traceparent);

  G_OBJECT_CLASS (sluice_source_iter_parent_class)->finalize (object);
}

static void
sluice_source_iter_class_init (SluiceSourceIterClass *klass)
{
  SluiceMessageIterClass *iter_class = SLUICE_MESSAGE_ITER_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = sluice_source_iter_finalize;
  iter_class->next_async = sluice_source_iter_next_async;
  iter_class->next_finish = sluice_source_iter_next_finish;
  iter_class->pop_ready = sluice_source_iter_pop_ready;
}

static void
sluice_source_iter_init (SluiceSourceIter *self)
{
}

SluiceMessageIter *
sluice_source_iter_new (SluiceSource *source, SluiceMessage *input)
{
  SluiceSourceIter *self = g_object_new (SLUICE_TYPE_SOURCE_ITER, NULL);

  self->source = g_object_ref (source);
  self->run = g_strdup (sluice_message_get_header (input, SLUICE_HEADER_RUN));
  self->traceparent = g_strdup (sluice_message_get_traceparent (input));
  return SLUICE_MESSAGE_ITER (self);
}
