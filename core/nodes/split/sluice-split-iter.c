/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-split-private.h"

/* Records are parsed in a worker thread, at most one round in flight per
 * iterator, and only when the engine asks for a message that is not parsed
 * yet: a large body is read as fast as downstream takes its records, never
 * ahead. While a round runs, the worker owns the parser and the ready
 * queue; the main thread only looks at them again once the round's task
 * has completed. */
struct _SluiceSplitIter
{
  SluiceMessageIter   parent_instance;

  SluiceSplitOptions *options;
  SluiceMessage      *input;
  SluiceSplitParser  *parser;
  GQueue              ready;    /* parsed records not handed out yet */
  GError             *error;    /* once set, every later request fails with it */
  guint64             emitted;
  gboolean            busy;     /* a worker round is running */
  gboolean            closed;   /* the body stream was closed */
};

G_DEFINE_FINAL_TYPE (SluiceSplitIter, sluice_split_iter, SLUICE_TYPE_MESSAGE_ITER)

static void
split_iter_free_record (SluiceSplitIter *self,
                        gpointer         record)
{
  if (self->options->format == SLUICE_SPLIT_FORMAT_CSV)
    json_node_unref (record);
  else
    g_bytes_unref (record);
}

/* @n in decimal into @buffer, which must hold 21 bytes; g_snprintf () for
 * this costs more than the rest of making a small JSON record. */
static const char *
split_iter_format_index (guint64 n,
                         char    buffer[21])
{
  char *p = buffer + 20;

  *p = '\0';
  do
    {
      *--p = '0' + n % 10;
      n /= 10;
    }
  while (n > 0);
  return p;
}

static SluiceMessage *
split_iter_pop_message (SluiceSplitIter *self)
{
  gpointer record = g_queue_pop_head (&self->ready);
  SluiceMessage *message;
  char index[21];

  message = sluice_message_new_child (self->input);
  switch (self->options->format)
    {
    case SLUICE_SPLIT_FORMAT_CSV:
      sluice_message_set_json (message, record);
      sluice_message_set_content_type (message, "application/json");
      break;
    case SLUICE_SPLIT_FORMAT_JSONL:
    case SLUICE_SPLIT_FORMAT_JSON_ARRAY:
      /* validated JSON text: parsed only if someone asks for the tree */
      sluice_message_set_bytes (message, record);
      sluice_message_set_content_type (message, "application/json");
      break;
    case SLUICE_SPLIT_FORMAT_XML:
      sluice_message_set_bytes (message, record);
      sluice_message_set_content_type (message, "application/xml");
      break;
    default:
      g_assert_not_reached ();
    }
  split_iter_free_record (self, record);

  self->emitted++;
  sluice_message_set_header (message, "sluice-record",
                             split_iter_format_index (self->emitted, index));
  return message;
}

/* Completes @task if the answer is known without parsing more. */
static gboolean
split_iter_answer (SluiceSplitIter *self,
                   GTask           *task)
{
  if (!g_queue_is_empty (&self->ready))
    {
      g_task_return_pointer (task, split_iter_pop_message (self), g_object_unref);
      return TRUE;
    }
  if (self->error != NULL)
    {
      g_task_return_error (task, g_error_copy (self->error));
      return TRUE;
    }
  if (self->parser->finished)
    {
      g_task_return_pointer (task, NULL, NULL);
      return TRUE;
    }
  return FALSE;
}

static void
split_iter_fill_thread (GTask        *worker,
                        gpointer      source_object,
                        gpointer      task_data,
                        GCancellable *cancellable)
{
  SluiceSplitIter *self = source_object;
  GError *error = NULL;

  if (!sluice_split_parser_fill (self->parser, &self->ready, SLUICE_SPLIT_BATCH_RECORDS,
                                 cancellable, &error))
    self->error = error;

  /* close here rather than on the main loop: closing may block too */
  if (self->error != NULL || self->parser->finished)
    {
      g_input_stream_close (self->parser->stream, NULL, NULL);
      self->closed = TRUE;
    }

  g_task_return_boolean (worker, TRUE);
}

static void split_iter_start_round (SluiceSplitIter *self,
                                    GTask           *task);

static void
split_iter_fill_done (GObject      *source_object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  SluiceSplitIter *self = SLUICE_SPLIT_ITER (source_object);
  g_autoptr(GTask) task = user_data;

  g_task_propagate_boolean (G_TASK (result), NULL);
  self->busy = FALSE;

  /* a round ends with records, an error or the end; loop defensively */
  if (!split_iter_answer (self, task))
    split_iter_start_round (self, g_steal_pointer (&task));
}

static void
split_iter_start_round (SluiceSplitIter *self,
                        GTask           *task)
{
  g_autoptr(GTask) worker = NULL;

  self->busy = TRUE;
  worker = g_task_new (self, g_task_get_cancellable (task), split_iter_fill_done, task);
  g_task_set_source_tag (worker, split_iter_start_round);
  g_task_set_name (worker, "[sluice] split: parse records");
  g_task_run_in_thread (worker, split_iter_fill_thread);
}

static void
sluice_split_iter_next_async (SluiceMessageIter  *iter,
                              GCancellable       *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer            user_data)
{
  SluiceSplitIter *self = SLUICE_SPLIT_ITER (iter);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, sluice_split_iter_next_async);

  if (self->busy)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                               "%s: the next record was already asked for",
                               sluice_split_format_to_string (self->options->format));
      return;
    }

  if (split_iter_answer (self, task))
    return;

  split_iter_start_round (self, g_steal_pointer (&task));
}

static SluiceMessage *
sluice_split_iter_next_finish (SluiceMessageIter *iter,
                               GAsyncResult      *result,
                               GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, iter), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sluice_split_iter_next_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static SluiceMessage *
sluice_split_iter_pop_ready (SluiceMessageIter *iter,
                             gboolean          *out_ready)
{
  SluiceSplitIter *self = SLUICE_SPLIT_ITER (iter);

  *out_ready = FALSE;
  if (self->busy)
    return NULL;

  if (!g_queue_is_empty (&self->ready))
    {
      *out_ready = TRUE;
      return split_iter_pop_message (self);
    }

  /* an error is only reported through next_async () */
  if (self->error == NULL && self->parser->finished)
    *out_ready = TRUE;
  return NULL;
}

static void
sluice_split_iter_finalize (GObject *object)
{
  SluiceSplitIter *self = SLUICE_SPLIT_ITER (object);
  gpointer record;

  while ((record = g_queue_pop_head (&self->ready)) != NULL)
    split_iter_free_record (self, record);

  /* a streamed body dropped before its end: closing it (which may block)
   * does not belong on the main loop */
  if (!self->closed && self->parser != NULL && sluice_message_is_streamed (self->input))
    g_input_stream_close_async (self->parser->stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);

  g_clear_pointer (&self->parser, sluice_split_parser_free);
  g_clear_error (&self->error);
  g_clear_object (&self->input);
  g_clear_pointer (&self->options, sluice_split_options_unref);

  G_OBJECT_CLASS (sluice_split_iter_parent_class)->finalize (object);
}

static void
sluice_split_iter_class_init (SluiceSplitIterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  SluiceMessageIterClass *iter_class = SLUICE_MESSAGE_ITER_CLASS (klass);

  object_class->finalize = sluice_split_iter_finalize;
  iter_class->next_async = sluice_split_iter_next_async;
  iter_class->next_finish = sluice_split_iter_next_finish;
  iter_class->pop_ready = sluice_split_iter_pop_ready;
}

static void
sluice_split_iter_init (SluiceSplitIter *self)
{
  g_queue_init (&self->ready);
}

SluiceSplitIter *
sluice_split_iter_new (SluiceSplitOptions *options,
                       SluiceMessage      *input,
                       GInputStream       *body)
{
  SluiceSplitIter *self = g_object_new (SLUICE_TYPE_SPLIT_ITER, NULL);

  self->options = sluice_split_options_ref (options);
  self->input = g_object_ref (input);
  self->parser = sluice_split_parser_new (options, body);
  return self;
}
