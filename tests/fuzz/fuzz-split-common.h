/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the core.split fuzz targets: each target turns its first input
 * byte(s) into a configuration and a body kind, then feeds the rest to the
 * step and drains the iterator. Bodies come either as bytes or as a stream
 * that hands out a few bytes per read, so that records straddle reads the
 * way they do with a real network or file stream. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sluice/sluice.h>

#include "sluice-split-private.h"
#include "sluice-split-step.h"

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

/* abort () rather than g_error (): libFuzzer saves a reproducer on SIGABRT,
 * not on the SIGTRAP g_error () raises. */
#define fuzz_fail(...) \
  G_STMT_START { g_printerr ("fuzz-split: " __VA_ARGS__); g_printerr ("\n"); abort (); } G_STMT_END

#define FUZZ_TYPE_TRICKLE_STREAM (fuzz_trickle_stream_get_type ())
G_DECLARE_FINAL_TYPE (FuzzTrickleStream, fuzz_trickle_stream, FUZZ, TRICKLE_STREAM, GInputStream)

struct _FuzzTrickleStream
{
  GInputStream parent_instance;

  GBytes      *data;
  gsize        pos;
  gsize        step;
};

G_DEFINE_FINAL_TYPE (FuzzTrickleStream, fuzz_trickle_stream, G_TYPE_INPUT_STREAM)

static gssize
fuzz_trickle_stream_read (GInputStream *stream,
                          void         *buffer,
                          gsize         count,
                          GCancellable *cancellable,
                          GError      **error)
{
  FuzzTrickleStream *self = FUZZ_TRICKLE_STREAM (stream);
  gsize size;
  const guint8 *data = g_bytes_get_data (self->data, &size);
  gsize n = MIN (MIN (count, self->step), size - self->pos);

  if (n > 0)
    memcpy (buffer, data + self->pos, n);
  self->pos += n;
  return n;
}

static gboolean
fuzz_trickle_stream_close (GInputStream *stream,
                           GCancellable *cancellable,
                           GError      **error)
{
  return TRUE;
}

static void
fuzz_trickle_stream_finalize (GObject *object)
{
  FuzzTrickleStream *self = FUZZ_TRICKLE_STREAM (object);

  g_bytes_unref (self->data);

  G_OBJECT_CLASS (fuzz_trickle_stream_parent_class)->finalize (object);
}

static void
fuzz_trickle_stream_class_init (FuzzTrickleStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = fuzz_trickle_stream_finalize;
  G_INPUT_STREAM_CLASS (klass)->read_fn = fuzz_trickle_stream_read;
  G_INPUT_STREAM_CLASS (klass)->close_fn = fuzz_trickle_stream_close;
}

static void
fuzz_trickle_stream_init (FuzzTrickleStream *self)
{
}

static gboolean
fuzz_register_nothing (SluicePlugin *plugin,
                       GError      **error)
{
  return TRUE;
}

static const SluicePluginDescriptor fuzz_core_descriptor = {
  SLUICE_PLUGIN_ABI, SLUICE_PLUGIN_ABI_MINOR, "core", "0.1.0", "LGPL-2.1-or-later",
  "built-in nodes", fuzz_register_nothing, { NULL }
};

/* Made once: plugin, factory and context live for the whole run. */
static SluiceComponentFactory *
fuzz_get_factory (SluiceContext **out_context)
{
  static SluicePlugin *plugin;
  static SluiceComponentFactory *factory;
  static SluiceContext *context;

  if (factory == NULL)
    {
      g_autoptr(GError) error = NULL;

      plugin = sluice_plugin_new (&fuzz_core_descriptor, "built-in");
      if (!sluice_plugin_add_component (plugin, "core.split", SLUICE_TYPE_SPLIT_STEP,
                                        sluice_split_step_schema, &error))
        fuzz_fail ("registering core.split: %s", error->message);
      factory = g_ptr_array_index (sluice_plugin_get_components (plugin), 0);
      context = sluice_context_new ("fuzz", NULL, NULL);
    }
  *out_context = context;
  return factory;
}

static void
fuzz_on_done (GObject      *source_object,
              GAsyncResult *result,
              gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/* json-glib must parse whatever the JSON validator lets through, into a
 * tree that serializes to UTF-8: records are handed on as unparsed text
 * and parsed only downstream. (Not the other way round: json-glib also
 * takes things that are not JSON.) */
static void
fuzz_check_json_text (const char *what,
                      const char *data,
                      gsize       size,
                      gboolean    must_be_valid)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *text = NULL;
  g_autofree char *serialized = NULL;
  gsize offset = G_MAXSIZE;

  if (!sluice_split_json_validate (data, size, &offset, &error))
    {
      if (must_be_valid)
        fuzz_fail ("%s is not valid JSON: byte %" G_GSIZE_FORMAT ": %s", what, offset, error->message);
      if (!g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA) || offset > size)
        fuzz_fail ("%s: the validator failed oddly: byte %" G_GSIZE_FORMAT ": %s",
                   what, offset, error->message);
      return;
    }

  /* the validator refuses NUL bytes, so the text has none */
  text = g_strndup (data, size);
  if (strlen (text) != size)
    fuzz_fail ("%s: the validator accepted a NUL byte", what);
  node = json_from_string (text, &error);
  if (node == NULL)
    fuzz_fail ("%s passed the validator but json-glib refuses it: %s", what,
               error != NULL ? error->message : "no value");
  serialized = json_to_string (node, FALSE);
  if (!g_utf8_validate (serialized, -1, NULL))
    fuzz_fail ("%s passed the validator but its tree serializes to invalid UTF-8", what);
}

/* Step sizes for the stream bodies; 0 stands for a bytes body. */
static const gsize fuzz_read_steps[] = { 0, 1, 3, 4096 };

/* Splits @data with @config_json; @body_choice picks the body kind. */
static void
fuzz_split (const char    *config_json,
            guint          body_choice,
            const uint8_t *data,
            size_t         size)
{
  SluiceContext *context;
  SluiceComponentFactory *factory = fuzz_get_factory (&context);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(SluiceMessage) input = NULL;
  g_autoptr(GObject) step = NULL;
  g_autoptr(SluiceMessageIter) iter = NULL;
  g_autoptr(GAsyncResult) processed = NULL;
  g_autoptr(GError) error = NULL;
  gsize read_step = fuzz_read_steps[body_choice % G_N_ELEMENTS (fuzz_read_steps)];
  guint64 n_records = 0;
  const char *format;
  gboolean text_records;

  if (!json_parser_load_from_data (parser, config_json, -1, &error))
    fuzz_fail ("fuzz config %s: %s", config_json, error->message);
  /* jsonl and json-array records are the validated text itself; csv
   * records are trees that json-glib serializes (and json-glib 1.6 leaves
   * U+001F unescaped, so those are not held to the validator) */
  format = json_object_get_string_member (json_node_get_object (json_parser_get_root (parser)), "format");
  text_records = g_strcmp0 (format, "jsonl") == 0 || g_strcmp0 (format, "json-array") == 0;
  step = sluice_component_factory_create (factory, context,
                                          json_node_get_object (json_parser_get_root (parser)),
                                          &error);
  if (step == NULL)
    fuzz_fail ("fuzz config %s: %s", config_json, error->message);

  if (read_step == 0)
    input = sluice_message_new_bytes (bytes, "application/octet-stream");
  else
    {
      g_autoptr(FuzzTrickleStream) stream = g_object_new (FUZZ_TYPE_TRICKLE_STREAM, NULL);

      stream->data = g_bytes_ref (bytes);
      stream->step = read_step;
      input = sluice_message_new_stream (G_INPUT_STREAM (stream), -1, "application/octet-stream");
    }

  sluice_step_process_async (SLUICE_STEP (step), input, NULL, fuzz_on_done, &processed);
  while (processed == NULL)
    g_main_context_iteration (NULL, TRUE);
  iter = sluice_step_process_finish (SLUICE_STEP (step), processed, &error);
  if (iter == NULL)
    fuzz_fail ("process: %s", error->message);

  for (;;)
    {
      g_autoptr(SluiceMessage) record = NULL;
      gboolean ready = FALSE;

      record = sluice_message_iter_pop_ready (iter, &ready);
      if (!ready)
        {
          g_autoptr(GAsyncResult) result = NULL;

          sluice_message_iter_next_async (iter, NULL, fuzz_on_done, &result);
          while (result == NULL)
            g_main_context_iteration (NULL, TRUE);
          record = sluice_message_iter_next_finish (iter, result, &error);
        }
      if (record == NULL)
        break;

      /* what the engine and the next step would look at */
      n_records++;
      if (sluice_message_get_header (record, "sluice-record") == NULL)
        fuzz_fail ("record %" G_GUINT64_FORMAT " has no sluice-record header", n_records);
      if (g_strcmp0 (sluice_message_get_content_type (record), "application/json") == 0)
        {
          g_autoptr(GError) json_error = NULL;
          JsonNode *node = sluice_message_get_json (record, &json_error);

          GBytes *text;
          gsize len;
          const char *chars;
          g_autofree char *what = g_strdup_printf ("record %" G_GUINT64_FORMAT, n_records);

          if (node == NULL)
            fuzz_fail ("record %" G_GUINT64_FORMAT ": %s", n_records, json_error->message);
          /* records must be (or serialize to) valid UTF-8 */
          text = sluice_message_get_bytes (record);
          chars = g_bytes_get_data (text, &len);
          if (!g_utf8_validate_len (chars, len, NULL))
            fuzz_fail ("record %" G_GUINT64_FORMAT " serializes to invalid UTF-8", n_records);
          /* and a text record is one JSON value, which json-glib reads */
          if (text_records)
            fuzz_check_json_text (what, chars, len, TRUE);
        }
      else if (sluice_message_get_bytes (record) == NULL)
        fuzz_fail ("record %" G_GUINT64_FORMAT " has no body", n_records);
    }

  if (error != NULL)
    {
      g_autoptr(GError) again = NULL;
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(SluiceMessage) after = NULL;

      /* bad input must come out as a clear error, never as another kind */
      if (error->domain != SLUICE_ERROR ||
          (error->code != SLUICE_ERROR_INVALID_DATA && error->code != SLUICE_ERROR_TOO_LARGE))
        fuzz_fail ("unexpected error: %s", error->message);

      /* and stay an error */
      sluice_message_iter_next_async (iter, NULL, fuzz_on_done, &result);
      while (result == NULL)
        g_main_context_iteration (NULL, TRUE);
      after = sluice_message_iter_next_finish (iter, result, &again);
      if (after != NULL || again == NULL)
        fuzz_fail ("a request after an error did not fail again");
    }

  g_clear_object (&iter);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}
