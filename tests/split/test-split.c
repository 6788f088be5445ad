/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <sluice/sluice.h>
#include "sluice-schema.h"
#include "sluice-split-private.h"
#include "sluice-split-step.h"

/* Test streams */

/* Hands out a fixed text a few bytes per read, so that records, quotes,
 * escapes and the BOM straddle read boundaries. Notes reads made on the
 * thread that created it (the main loop's). */
#define TEST_TYPE_TRICKLE_STREAM (test_trickle_stream_get_type ())
G_DECLARE_FINAL_TYPE (TestTrickleStream, test_trickle_stream, TEST, TRICKLE_STREAM, GInputStream)

struct _TestTrickleStream
{
  GInputStream parent_instance;

  GBytes      *data;
  gsize        pos;
  gsize        step;
  gsize        fail_after;  /* 0: never fail */
  GThread     *owner;
  gint         reads_on_owner;
};

G_DEFINE_FINAL_TYPE (TestTrickleStream, test_trickle_stream, G_TYPE_INPUT_STREAM)

static gssize
test_trickle_stream_read (GInputStream *stream,
                          void         *buffer,
                          gsize         count,
                          GCancellable *cancellable,
                          GError      **error)
{
  TestTrickleStream *self = TEST_TRICKLE_STREAM (stream);
  gsize size;
  const guint8 *data = g_bytes_get_data (self->data, &size);
  gsize n = MIN (MIN (count, self->step), size - self->pos);

  if (g_thread_self () == self->owner)
    g_atomic_int_inc (&self->reads_on_owner);

  if (self->fail_after != 0 && self->pos >= self->fail_after)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED, "connection reset by peer");
      return -1;
    }

  if (n > 0)
    memcpy (buffer, data + self->pos, n);
  self->pos += n;
  return n;
}

static gboolean
test_trickle_stream_close (GInputStream *stream,
                           GCancellable *cancellable,
                           GError      **error)
{
  return TRUE;
}

static void
test_trickle_stream_finalize (GObject *object)
{
  TestTrickleStream *self = TEST_TRICKLE_STREAM (object);

  g_bytes_unref (self->data);

  G_OBJECT_CLASS (test_trickle_stream_parent_class)->finalize (object);
}

static void
test_trickle_stream_class_init (TestTrickleStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GInputStreamClass *stream_class = G_INPUT_STREAM_CLASS (klass);

  object_class->finalize = test_trickle_stream_finalize;
  stream_class->read_fn = test_trickle_stream_read;
  stream_class->close_fn = test_trickle_stream_close;
}

static void
test_trickle_stream_init (TestTrickleStream *self)
{
}

static TestTrickleStream *
test_trickle_stream_new (GBytes *data,
                         gsize   step)
{
  TestTrickleStream *self = g_object_new (TEST_TYPE_TRICKLE_STREAM, NULL);

  self->data = g_bytes_ref (data);
  self->step = step;
  self->owner = g_thread_self ();
  return self;
}

static char *message_body_text (SluiceMessage *message);

/* Generates a large input on the fly (never held in memory) in one of the
 * formats, and counts the bytes taken from it. Record n has the id n. */
typedef enum {
  GEN_CSV,
  GEN_JSONL,
  GEN_JSON_ARRAY,
  GEN_XML,
} GenFormat;

#define TEST_TYPE_GEN_STREAM (test_gen_stream_get_type ())
G_DECLARE_FINAL_TYPE (TestGenStream, test_gen_stream, TEST, GEN_STREAM, GInputStream)

struct _TestGenStream
{
  GInputStream parent_instance;

  GenFormat    format;
  guint64      n_records;
  guint64      next;        /* 0: the header; n_records + 1: the footer */
  GString     *pending;
  gsize        pending_pos;
  guint64      bytes_read;  /* atomic */
  GThread     *owner;
  gint         reads_on_owner;
};

G_DEFINE_FINAL_TYPE (TestGenStream, test_gen_stream, G_TYPE_INPUT_STREAM)

static void
test_gen_stream_append (TestGenStream *self)
{
  guint64 n = self->next++;
  guint64 customer = n * 7919 % 100000000;
  guint64 units = n % 10000;
  guint cents = n % 100;

  if (n == 0)
    {
      static const char * const headers[] = {
        "id,customer,amount,note\r\n", "", "[\n",
        "<?xml version=\"1.0\"?>\n<orders xmlns=\"urn:orders\">\n",
      };

      g_string_append (self->pending, headers[self->format]);
      return;
    }
  if (n > self->n_records)
    {
      static const char * const footers[] = { "", "", "\n]\n", "</orders>\n" };

      g_string_append (self->pending, footers[self->format]);
      return;
    }

  switch (self->format)
    {
    case GEN_CSV:
      g_string_append_printf (self->pending,
                              "%" G_GUINT64_FORMAT ",customer-%08" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
                              ".%02u,\"paid, \"\"in full\"\"\"\r\n",
                              n, customer, units, cents);
      break;
    case GEN_JSONL:
    case GEN_JSON_ARRAY:
      g_string_append_printf (self->pending,
                              "%s{\"id\": \"%" G_GUINT64_FORMAT "\", \"customer\": \"customer-%08" G_GUINT64_FORMAT
                              "\", \"amount\": %" G_GUINT64_FORMAT ".%02u, \"note\": \"paid, \\\"in full\\\"\"}%s",
                              self->format == GEN_JSON_ARRAY && n > 1 ? ",\n" : "",
                              n, customer, units, cents,
                              self->format == GEN_JSONL ? "\n" : "");
      break;
    case GEN_XML:
      g_string_append_printf (self->pending,
                              "  <order id=\"%" G_GUINT64_FORMAT "\"><customer>customer-%08" G_GUINT64_FORMAT
                              "</customer><amount>%" G_GUINT64_FORMAT ".%02u</amount>"
                              "<note>paid, &quot;in full&quot;</note></order>\n",
                              n, customer, units, cents);
      break;
    default:
      g_assert_not_reached ();
    }
}

static gssize
test_gen_stream_read (GInputStream *stream,
                      void         *buffer,
                      gsize         count,
                      GCancellable *cancellable,
                      GError      **error)
{
  TestGenStream *self = TEST_GEN_STREAM (stream);
  gsize n;

  if (g_thread_self () == self->owner)
    g_atomic_int_inc (&self->reads_on_owner);

  while (self->pending->len - self->pending_pos < count && self->next <= self->n_records + 1)
    {
      if (self->pending_pos > 0)
        {
          g_string_erase (self->pending, 0, self->pending_pos);
          self->pending_pos = 0;
        }
      test_gen_stream_append (self);
    }

  n = MIN (count, self->pending->len - self->pending_pos);
  memcpy (buffer, self->pending->str + self->pending_pos, n);
  self->pending_pos += n;
  g_atomic_pointer_add (&self->bytes_read, n);
  return n;
}

static gboolean
test_gen_stream_close (GInputStream *stream,
                       GCancellable *cancellable,
                       GError      **error)
{
  return TRUE;
}

static void
test_gen_stream_finalize (GObject *object)
{
  TestGenStream *self = TEST_GEN_STREAM (object);

  g_string_free (self->pending, TRUE);

  G_OBJECT_CLASS (test_gen_stream_parent_class)->finalize (object);
}

static void
test_gen_stream_class_init (TestGenStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GInputStreamClass *stream_class = G_INPUT_STREAM_CLASS (klass);

  object_class->finalize = test_gen_stream_finalize;
  stream_class->read_fn = test_gen_stream_read;
  stream_class->close_fn = test_gen_stream_close;
}

static void
test_gen_stream_init (TestGenStream *self)
{
  self->pending = g_string_new (NULL);
}

static TestGenStream *
test_gen_stream_new (GenFormat format,
                     guint64   n_records)
{
  TestGenStream *self = g_object_new (TEST_TYPE_GEN_STREAM, NULL);

  self->format = format;
  self->n_records = n_records;
  self->owner = g_thread_self ();
  return self;
}

static guint64
test_gen_stream_get_bytes_read (TestGenStream *self)
{
  return (guint64) g_atomic_pointer_get (&self->bytes_read);
}

static const char *
gen_format_config (GenFormat format)
{
  static const char * const configs[] = {
    "{\"format\": \"csv\"}",
    "{\"format\": \"jsonl\"}",
    "{\"format\": \"json-array\"}",
    "{\"format\": \"xml\", \"element\": \"order\"}",
  };

  return configs[format];
}

/* Checks that @record is the generated record @n. */
static void
assert_gen_record (SluiceMessage *record,
                   guint64        n)
{
  g_autofree char *id = g_strdup_printf ("%" G_GUINT64_FORMAT, n);
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (record);
  g_assert_cmpstr (sluice_message_get_header (record, "sluice-record"), ==, id);
  if (g_strcmp0 (sluice_message_get_content_type (record), "application/json") == 0)
    {
      JsonNode *node = sluice_message_get_json (record, &error);
      JsonObject *object;

      g_assert_no_error (error);
      object = json_node_get_object (node);
      g_assert_cmpstr (json_object_get_string_member (object, "id"), ==, id);
      if (json_object_get_member (object, "note") != NULL)
        g_assert_cmpstr (json_object_get_string_member (object, "note"), ==, "paid, \"in full\"");
    }
  else
    {
      g_autofree char *text = message_body_text (record);
      g_autofree char *attribute = g_strdup_printf (" id=\"%s\"", id);

      g_assert_true (g_str_has_prefix (text, "<order"));
      g_assert_nonnull (strstr (text, attribute));
      g_assert_true (g_str_has_suffix (text, "</order>"));
    }
}

/* Fixture */

typedef struct {
  char                   *tmpdir;
  SluicePlugin           *plugin;
  SluiceComponentFactory *factory;
  SluiceContext          *context;
  guint                   n_files;
} Fixture;

static gboolean
register_nothing (SluicePlugin *plugin,
                  GError      **error)
{
  return TRUE;
}

static const SluicePluginDescriptor core_descriptor = {
  SLUICE_PLUGIN_ABI, SLUICE_PLUGIN_ABI_MINOR, "core", "0.1.0", "LGPL-2.1-or-later",
  "built-in nodes", register_nothing, { NULL }
};

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *components;

  fixture->tmpdir = g_dir_make_tmp ("sluice-split-XXXXXX", &error);
  g_assert_no_error (error);

  fixture->plugin = sluice_plugin_new (&core_descriptor, "built-in");
  sluice_plugin_add_component (fixture->plugin, "core.split", SLUICE_TYPE_SPLIT_STEP,
                               sluice_split_step_schema, &error);
  g_assert_no_error (error);
  components = sluice_plugin_get_components (fixture->plugin);
  g_assert_cmpuint (components->len, ==, 1);
  fixture->factory = g_object_ref (g_ptr_array_index (components, 0));
  g_assert_cmpstr (sluice_component_factory_get_name (fixture->factory), ==, "core.split");
  fixture->context = sluice_context_new ("test-split", NULL, NULL);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  /* let closes and completions still queued run before checking leaks */
  while (g_main_context_iteration (NULL, FALSE))
    ;

  for (guint i = 0; i < fixture->n_files; i++)
    {
      g_autofree char *name = g_strdup_printf ("input-%u", i);
      g_autofree char *path = g_build_filename (fixture->tmpdir, name, NULL);

      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (fixture->tmpdir), ==, 0);
  g_free (fixture->tmpdir);
  g_clear_object (&fixture->context);
  g_clear_object (&fixture->factory);
  g_clear_object (&fixture->plugin);
}

/* Helpers */

static JsonObject *
parse_config (const char *json)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static SluiceStep *
make_step_or_error (Fixture    *fixture,
                    const char *config_json,
                    GError    **error)
{
  g_autoptr(JsonObject) config = parse_config (config_json);
  GObject *instance;

  instance = sluice_component_factory_create (fixture->factory, fixture->context, config, error);
  if (instance == NULL)
    return NULL;
  g_assert_true (SLUICE_IS_STEP (instance));
  return SLUICE_STEP (instance);
}

static SluiceStep *
make_step (Fixture    *fixture,
           const char *config_json)
{
  g_autoptr(GError) error = NULL;
  SluiceStep *step = make_step_or_error (fixture, config_json, &error);

  g_assert_no_error (error);
  return step;
}

static void
on_async_done (GObject      *source_object,
               GAsyncResult *result,
               gpointer      user_data)
{
  GAsyncResult **out = user_data;

  g_assert_null (*out);
  *out = g_object_ref (result);
}

static SluiceMessageIter *
split_process (SluiceStep    *step,
               SluiceMessage *input)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  SluiceMessageIter *iter;

  sluice_step_process_async (step, input, NULL, on_async_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  iter = sluice_step_process_finish (step, result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (iter);
  return iter;
}

static SluiceMessage *
iter_next (SluiceMessageIter *iter,
           GError           **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  sluice_message_iter_next_async (iter, NULL, on_async_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return sluice_message_iter_next_finish (iter, result, error);
}

/* Pulls every message, as the engine would: pop_ready first, next_async
 * when nothing is ready. Stops at the end or at an error. */
static GPtrArray *
drain (SluiceMessageIter *iter,
       GError           **error)
{
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_object_unref);

  for (;;)
    {
      gboolean ready = FALSE;
      SluiceMessage *message = sluice_message_iter_pop_ready (iter, &ready);

      if (!ready)
        message = iter_next (iter, error);
      if (message == NULL)
        break;
      g_ptr_array_add (messages, message);
    }
  return g_steal_pointer (&messages);
}

typedef enum {
  BODY_BYTES,
  BODY_FILE,          /* a GFileInputStream over a file in the test's temp dir */
  BODY_TRICKLE_1,     /* a stream handing out one byte per read */
  BODY_TRICKLE_7,
  N_BODY_KINDS,
} BodyKind;

static const char *
body_kind_name (BodyKind kind)
{
  static const char * const names[] = { "bytes", "file", "trickle-1", "trickle-7" };

  return names[kind];
}

static SluiceMessage *
make_input (Fixture    *fixture,
            BodyKind    kind,
            const char *data,
            gsize       len)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, len);
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;

  switch (kind)
    {
    case BODY_BYTES:
      return sluice_message_new_bytes (bytes, "text/plain");
    case BODY_FILE:
      {
        g_autofree char *name = g_strdup_printf ("input-%u", fixture->n_files++);
        g_autofree char *path = g_build_filename (fixture->tmpdir, name, NULL);
        g_autoptr(GFile) file = g_file_new_for_path (path);

        g_file_set_contents (path, data, len, &error);
        g_assert_no_error (error);
        stream = G_INPUT_STREAM (g_file_read (file, NULL, &error));
        g_assert_no_error (error);
        return sluice_message_new_stream (stream, len, "text/plain");
      }
    case BODY_TRICKLE_1:
      stream = G_INPUT_STREAM (test_trickle_stream_new (bytes, 1));
      return sluice_message_new_stream (stream, -1, "text/plain");
    case BODY_TRICKLE_7:
      stream = G_INPUT_STREAM (test_trickle_stream_new (bytes, 7));
      return sluice_message_new_stream (stream, -1, "text/plain");
    case N_BODY_KINDS:
    default:
      g_assert_not_reached ();
    }
}

static char *
message_body_text (SluiceMessage *message)
{
  g_autoptr(GError) error = NULL;

  if (g_strcmp0 (sluice_message_get_content_type (message), "application/json") == 0)
    {
      JsonNode *node = sluice_message_get_json (message, &error);

      g_assert_no_error (error);
      g_assert_nonnull (node);
      return json_to_string (node, FALSE);
    }
  else
    {
      GBytes *bytes = sluice_message_get_bytes (message);
      gsize size;
      const char *data = g_bytes_get_data (bytes, &size);

      return g_strndup (data, size);
    }
}

/* Splits @input with @config from every kind of body; checks the records'
 * bodies (compact JSON, or XML text) against @expected, then the end. */
static void
assert_split_len (Fixture            *fixture,
                  const char         *config,
                  const char         *input,
                  gsize               input_len,
                  const char * const *expected)
{
  g_autoptr(SluiceStep) step = make_step (fixture, config);

  for (BodyKind kind = 0; kind < N_BODY_KINDS; kind++)
    {
      g_autoptr(SluiceMessage) message = make_input (fixture, kind, input, input_len);
      g_autoptr(SluiceMessageIter) iter = split_process (step, message);
      g_autoptr(GPtrArray) records = NULL;
      g_autoptr(GError) error = NULL;
      guint n_expected = g_strv_length ((GStrv) expected);

      g_test_message ("body: %s", body_kind_name (kind));
      records = drain (iter, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < MIN (records->len, n_expected); i++)
        {
          g_autofree char *text = message_body_text (g_ptr_array_index (records, i));

          g_assert_cmpstr (text, ==, expected[i]);
        }
      g_assert_cmpuint (records->len, ==, n_expected);
    }
}

static void
assert_split (Fixture            *fixture,
              const char         *config,
              const char         *input,
              const char * const *expected)
{
  assert_split_len (fixture, config, input, strlen (input), expected);
}

/* Splits @input from every kind of body and expects @n_good records, then
 * an error @code whose message starts with @prefix; a later request fails
 * again. */
static void
assert_split_error_len (Fixture    *fixture,
                        const char *config,
                        const char *input,
                        gsize       input_len,
                        guint       n_good,
                        gint        code,
                        const char *prefix)
{
  g_autoptr(SluiceStep) step = make_step (fixture, config);

  for (BodyKind kind = 0; kind < N_BODY_KINDS; kind++)
    {
      g_autoptr(SluiceMessage) message = make_input (fixture, kind, input, input_len);
      g_autoptr(SluiceMessageIter) iter = split_process (step, message);
      g_autoptr(GPtrArray) records = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GError) again = NULL;
      g_autoptr(SluiceMessage) after = NULL;

      g_test_message ("body: %s", body_kind_name (kind));
      records = drain (iter, &error);
      g_assert_error (error, SLUICE_ERROR, code);
      g_test_message ("error: %s", error->message);
      if (!g_str_has_prefix (error->message, prefix))
        g_error ("error message \"%s\" does not start with \"%s\"", error->message, prefix);
      g_assert_cmpuint (records->len, <=, n_good);

      after = iter_next (iter, &again);
      g_assert_null (after);
      g_assert_error (again, SLUICE_ERROR, code);
      g_assert_cmpstr (again->message, ==, error->message);
    }
}

static void
assert_split_error (Fixture    *fixture,
                    const char *config,
                    const char *input,
                    guint       n_good,
                    gint        code,
                    const char *prefix)
{
  assert_split_error_len (fixture, config, input, strlen (input), n_good, code, prefix);
}

#define STRV(...) ((const char * const[]) { __VA_ARGS__, NULL })
#define NO_RECORDS ((const char * const[]) { NULL })

/* Configuration */

static void
test_config_invalid (Fixture       *fixture,
                     gconstpointer  user_data)
{
  static const struct {
    const char *config;
    const char *message;
  } cases[] = {
    { "{}", "core.split: key 'format': required" },
    { "{\"format\": \"yaml\"}", "core.split: key 'format': \"yaml\" is not one of" },
    { "{\"format\": 3}", "core.split: key 'format': expected a string" },
    { "{\"format\": \"xml\"}", "core.split: key 'element': required when format is xml" },
    { "{\"format\": \"xml\", \"element\": \"o:order\"}", "core.split: key 'element': expected an element's local name" },
    { "{\"format\": \"csv\", \"delimiter\": \";;\"}", "core.split: key 'delimiter': expected one ASCII character" },
    { "{\"format\": \"csv\", \"delimiter\": \"\\n\"}", "core.split: key 'delimiter': a line end cannot be used" },
    { "{\"format\": \"csv\", \"quote\": \",\"}", "core.split: key 'quote': must differ from the delimiter" },
    { "{\"format\": \"csv\", \"header\": \"yes\"}", "core.split: key 'header': expected true or false" },
    { "{\"format\": \"csv\", \"columns\": []}", "core.split: key 'columns': expected at least one" },
    { "{\"format\": \"csv\", \"columns\": [\"a\", \"b\", \"a\"]}", "core.split: key 'columns': item 3: 'a' repeats item 1" },
    { "{\"format\": \"csv\", \"columns\": [\"a\", \"\"]}", "core.split: key 'columns': item 2: empty column name" },
    { "{\"format\": \"jsonl\", \"max_record_size\": 0}", "core.split: key 'max_record_size': must be at least 1" },
    { "{\"format\": \"jsonl\", \"max_record_size\": 1.5}", "core.split: key 'max_record_size': expected an integer" },
    { "{\"format\": \"jsonl\", \"colums\": [\"a\"]}", "core.split: unknown key 'colums'" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SluiceStep) step = make_step_or_error (fixture, cases[i].config, &error);

      g_test_message ("config: %s", cases[i].config);
      g_assert_null (step);
      g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
      if (!g_str_has_prefix (error->message, cases[i].message))
        g_error ("\"%s\" does not start with \"%s\"", error->message, cases[i].message);
    }
}

static void
test_config_schema (Fixture       *fixture,
                    gconstpointer  user_data)
{
  static const char * const configs[] = {
    "{\"format\": \"csv\"}",
    "{\"format\": \"csv\", \"header\": false, \"columns\": [\"a\", \"b\"], \"delimiter\": \";\"}",
    "{\"format\": \"jsonl\", \"max_record_size\": 1024}",
    "{\"format\": \"json-array\"}",
    "{\"format\": \"xml\", \"element\": \"order\"}",
  };
  JsonNode *schema = sluice_component_factory_get_schema (fixture->factory);
  g_autoptr(GError) error = NULL;
  JsonObject *properties;
  JsonArray *formats;

  g_assert_nonnull (schema);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (schema));
  properties = json_object_get_object_member (json_node_get_object (schema), "properties");
  g_assert_nonnull (properties);
  formats = json_object_get_array_member (json_object_get_object_member (properties, "format"), "enum");
  g_assert_cmpuint (json_array_get_length (formats), ==, 4);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (properties, "max_record_size"),
                                               "default"), ==, 16777216);
  g_assert_true (json_object_get_boolean_member (json_object_get_object_member (properties, "header"),
                                                 "default"));
  /* the engine's checker takes the schema, fills in its defaults, and the
   * step takes the result */
  sluice_schema_check (schema, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < G_N_ELEMENTS (configs); i++)
    {
      g_autoptr(JsonObject) given = parse_config (configs[i]);
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), given);
      g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_schema_problem_free);
      g_autoptr(JsonObject) filled = sluice_schema_validate (schema, node, problems);
      g_autoptr(GObject) step = NULL;

      g_test_message ("config: %s", configs[i]);
      g_assert_cmpuint (problems->len, ==, 0);
      g_assert_nonnull (filled);
      g_assert_true (json_object_has_member (filled, "max_record_size"));
      step = sluice_component_factory_create (fixture->factory, fixture->context, filled, &error);
      g_assert_no_error (error);
      g_assert_nonnull (step);
    }

  /* and refuses what the step would refuse */
  {
    g_autoptr(JsonObject) given = parse_config ("{\"format\": \"yaml\", \"trim\": 1}");
    g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), given);
    g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_schema_problem_free);
    g_autoptr(JsonObject) filled = sluice_schema_validate (schema, node, problems);

    g_assert_null (filled);
    g_assert_cmpuint (problems->len, ==, 2);
  }
}

/* CSV */

static void
test_csv_header (Fixture       *fixture,
                 gconstpointer  user_data)
{
  assert_split (fixture, "{\"format\": \"csv\"}",
                "id,name,city\n1,Alice,Berlin\n2,Bob,Paris\n",
                STRV ("{\"id\":\"1\",\"name\":\"Alice\",\"city\":\"Berlin\"}",
                      "{\"id\":\"2\",\"name\":\"Bob\",\"city\":\"Paris\"}"));
  /* no final line end, and a header without records */
  assert_split (fixture, "{\"format\": \"csv\"}", "a,b\n1,2",
                STRV ("{\"a\":\"1\",\"b\":\"2\"}"));
  assert_split (fixture, "{\"format\": \"csv\"}", "a,b\n", NO_RECORDS);
  assert_split (fixture, "{\"format\": \"csv\"}", "", NO_RECORDS);
}

static void
test_csv_quoted (Fixture       *fixture,
                 gconstpointer  user_data)
{
  assert_split (fixture, "{\"format\": \"csv\"}",
                "id,text\n1,\"a, b\"\n2,\"say \"\"hi\"\"\"\n3,\"\"\n4,\n",
                STRV ("{\"id\":\"1\",\"text\":\"a, b\"}",
                      "{\"id\":\"2\",\"text\":\"say \\\"hi\\\"\"}",
                      "{\"id\":\"3\",\"text\":\"\"}",
                      "{\"id\":\"4\",\"text\":\"\"}"));
}

static void
test_csv_quoted_newline (Fixture       *fixture,
                         gconstpointer  user_data)
{
  assert_split (fixture, "{\"format\": \"csv\"}",
                "id,text\n1,\"line one\nline two\"\n2,\"crlf\r\ninside\"\n3,x\n",
                STRV ("{\"id\":\"1\",\"text\":\"line one\\nline two\"}",
                      "{\"id\":\"2\",\"text\":\"crlf\\r\\ninside\"}",
                      "{\"id\":\"3\",\"text\":\"x\"}"));
}

static void
test_csv_crlf (Fixture       *fixture,
               gconstpointer  user_data)
{
  assert_split (fixture, "{\"format\": \"csv\"}",
                "a,b\r\n1,2\r\n3,4\r\n",
                STRV ("{\"a\":\"1\",\"b\":\"2\"}", "{\"a\":\"3\",\"b\":\"4\"}"));
}

static void
test_csv_bom (Fixture       *fixture,
              gconstpointer  user_data)
{
  assert_split (fixture, "{\"format\": \"csv\"}",
                "\xEF\xBB\xBFid,name\n1,x\n",
                STRV ("{\"id\":\"1\",\"name\":\"x\"}"));
  /* only at the very start */
  assert_split (fixture, "{\"format\": \"csv\", \"header\": false}",
                "a\n\xEF\xBB\xBF" "b\n",
                STRV ("[\"a\"]", "[\"\xEF\xBB\xBF" "b\"]"));
}

static void
test_csv_delimiter (Fixture       *fixture,
                    gconstpointer  user_data)
{
  assert_split (fixture, "{\"format\": \"csv\", \"delimiter\": \";\"}",
                "id;name\n1;\"x;y\"\n2;a,b\n",
                STRV ("{\"id\":\"1\",\"name\":\"x;y\"}", "{\"id\":\"2\",\"name\":\"a,b\"}"));
  assert_split (fixture, "{\"format\": \"csv\", \"delimiter\": \"\\t\", \"quote\": \"'\"}",
                "id\tname\n1\t'a\tb'\n2\t\"q\"\n",
                STRV ("{\"id\":\"1\",\"name\":\"a\\tb\"}", "{\"id\":\"2\",\"name\":\"\\\"q\\\"\"}"));
}

static void
test_csv_columns (Fixture       *fixture,
                  gconstpointer  user_data)
{
  /* without a header: the configured names */
  assert_split (fixture, "{\"format\": \"csv\", \"header\": false, \"columns\": [\"x\", \"y\"]}",
                "1,2\n3,4\n",
                STRV ("{\"x\":\"1\",\"y\":\"2\"}", "{\"x\":\"3\",\"y\":\"4\"}"));
  /* with one: they replace its names */
  assert_split (fixture, "{\"format\": \"csv\", \"columns\": [\"x\", \"y\"]}",
                "a,b\n1,2\n",
                STRV ("{\"x\":\"1\",\"y\":\"2\"}"));
  /* neither: arrays of strings */
  assert_split (fixture, "{\"format\": \"csv\", \"header\": false}",
                "1,2\n3,\"4,5\",6\n",
                STRV ("[\"1\",\"2\"]", "[\"3\",\"4,5\",\"6\"]"));
}

static void
test_csv_short_rows (Fixture       *fixture,
                     gconstpointer  user_data)
{
  assert_split (fixture, "{\"format\": \"csv\"}",
                "a,b,c\n1,2\n3\n4,5,6\n",
                STRV ("{\"a\":\"1\",\"b\":\"2\"}", "{\"a\":\"3\"}",
                      "{\"a\":\"4\",\"b\":\"5\",\"c\":\"6\"}"));
}

static void
test_csv_empty_lines (Fixture       *fixture,
                      gconstpointer  user_data)
{
  assert_split (fixture, "{\"format\": \"csv\"}",
                "a,b\n\n1,2\n\n\n3,4\n\n",
                STRV ("{\"a\":\"1\",\"b\":\"2\"}", "{\"a\":\"3\",\"b\":\"4\"}"));
  assert_split (fixture, "{\"format\": \"csv\", \"skip_empty_lines\": false}",
                "a,b\n\n1,2\n\n3,4\n",
                STRV ("{}", "{\"a\":\"1\",\"b\":\"2\"}", "{}", "{\"a\":\"3\",\"b\":\"4\"}"));
  /* a CRLF is one line end, not a line end and an empty line */
  assert_split (fixture, "{\"format\": \"csv\", \"skip_empty_lines\": false}",
                "a,b\r\n1,2\r\n\r\n3,4\r\n",
                STRV ("{\"a\":\"1\",\"b\":\"2\"}", "{}", "{\"a\":\"3\",\"b\":\"4\"}"));
}

static void
test_csv_trim (Fixture       *fixture,
               gconstpointer  user_data)
{
  assert_split (fixture, "{\"format\": \"csv\", \"trim\": true}",
                "a , b\n 1 ,  \"x y \"  \n",
                STRV ("{\"a\":\"1\",\"b\":\"x y \"}"));
  assert_split (fixture, "{\"format\": \"csv\"}",
                "a , b\n 1 , 2 \n",
                STRV ("{\"a \":\" 1 \",\" b\":\" 2 \"}"));
}

static void
test_csv_malformed (Fixture       *fixture,
                    gconstpointer  user_data)
{
  assert_split_error (fixture, "{\"format\": \"csv\"}",
                      "a,b\n1,2\n3,4\n5,\"open\n6,7\n",
                      2, SLUICE_ERROR_INVALID_DATA,
                      "csv: record 3 (line 4): unterminated quoted field");
  assert_split_error (fixture, "{\"format\": \"csv\"}",
                      "a,b\n1,2\n3,x\"y\n",
                      1, SLUICE_ERROR_INVALID_DATA,
                      "csv: record 2 (line 3): quote character inside an unquoted field");
  assert_split_error (fixture, "{\"format\": \"csv\"}",
                      "a,b\n1,\"multi\nline\"x\n",
                      0, SLUICE_ERROR_INVALID_DATA,
                      "csv: record 1 (line 2): line 3: unexpected character after the closing quote");
  assert_split_error (fixture, "{\"format\": \"csv\"}",
                      "a,b\n1,2\n3,4,5\n",
                      1, SLUICE_ERROR_INVALID_DATA,
                      "csv: record 2 (line 3): more fields than the 2 columns of the header");
  assert_split_error (fixture, "{\"format\": \"csv\", \"header\": false, \"columns\": [\"a\"]}",
                      "1\n2,3\n",
                      1, SLUICE_ERROR_INVALID_DATA,
                      "csv: record 2 (line 2): more fields than the 1 configured columns");
  assert_split_error (fixture, "{\"format\": \"csv\"}",
                      "a,b\n1,\xC3\x28\n",
                      0, SLUICE_ERROR_INVALID_DATA,
                      "csv: record 1 (line 2): field 2 is not valid UTF-8");
}

static void
test_csv_bad_header (Fixture       *fixture,
                     gconstpointer  user_data)
{
  assert_split_error (fixture, "{\"format\": \"csv\"}", "id,name,id\n1,2,3\n",
                      0, SLUICE_ERROR_INVALID_DATA,
                      "csv: header (line 1): column 3 repeats the name 'id' of column 1");
  assert_split_error (fixture, "{\"format\": \"csv\"}", "\n\nid,,x\n1,2,3\n",
                      0, SLUICE_ERROR_INVALID_DATA,
                      "csv: header (line 3): column 2 has an empty name");
  assert_split_error (fixture, "{\"format\": \"csv\", \"skip_empty_lines\": false}", "\nid\n1\n",
                      0, SLUICE_ERROR_INVALID_DATA,
                      "csv: header (line 1): the header row is empty");
}

static void
test_csv_too_large (Fixture       *fixture,
                    gconstpointer  user_data)
{
  g_autoptr(GString) input = g_string_new ("a,b\n1,2\n3,\"");

  for (guint i = 0; i < 300000; i++)
    g_string_append_c (input, 'x');
  g_string_append (input, "\"\n4,5\n");

  assert_split_error_len (fixture, "{\"format\": \"csv\", \"max_record_size\": 1000}",
                          input->str, input->len, 1, SLUICE_ERROR_TOO_LARGE,
                          "csv: record 2 (line 3): larger than max_record_size (1000 bytes)");
  /* a row's size is its fields and separators: at the limit is fine */
  assert_split (fixture, "{\"format\": \"csv\", \"max_record_size\": 7}",
                "a,b\nabc,def\n", STRV ("{\"a\":\"abc\",\"b\":\"def\"}"));
  assert_split_error (fixture, "{\"format\": \"csv\", \"max_record_size\": 7}",
                      "a,b\nabc,defg\n", 0, SLUICE_ERROR_TOO_LARGE,
                      "csv: record 1 (line 2): larger than max_record_size (7 bytes)");
  /* empty fields count too */
  assert_split_error (fixture, "{\"format\": \"csv\", \"header\": false, \"max_record_size\": 100}",
                      "1,2\n,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,"
                      ",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\n",
                      1, SLUICE_ERROR_TOO_LARGE,
                      "csv: record 2 (line 2): larger than max_record_size (100 bytes)");
}

/* JSON lines */

static void
test_jsonl_basic (Fixture       *fixture,
                  gconstpointer  user_data)
{
  assert_split (fixture, "{\"format\": \"jsonl\"}",
                "\xEF\xBB\xBF{\"a\":1}\n\n   \n[1,2,{\"b\":\"x\\ny\"}]\r\n\"str\"\n42\n{\"last\":true}",
                STRV ("{\"a\":1}", "[1,2,{\"b\":\"x\\ny\"}]", "\"str\"", "42", "{\"last\":true}"));
  assert_split (fixture, "{\"format\": \"jsonl\"}", "", NO_RECORDS);
  assert_split (fixture, "{\"format\": \"jsonl\"}", "\n\r\n \t\n", NO_RECORDS);
  /* a surrogate pair escape is one character */
  assert_split (fixture, "{\"format\": \"jsonl\"}", "\"\\ud83d\\ude00\"\n",
                STRV ("\"\xF0\x9F\x98\x80\""));
}

static void
test_jsonl_malformed (Fixture       *fixture,
                      gconstpointer  user_data)
{
  g_autoptr(GString) deep = g_string_new ("{\"a\":1}\n");

  assert_split_error (fixture, "{\"format\": \"jsonl\"}",
                      "{\"a\":1}\n\n{\"a\":2}\n{\"a\":}\n{\"a\":4}\n",
                      2, SLUICE_ERROR_INVALID_DATA, "jsonl: line 4: column 6: expected a value, got '}'");
  assert_split_error (fixture, "{\"format\": \"jsonl\"}",
                      "1\n2 3\n",
                      1, SLUICE_ERROR_INVALID_DATA, "jsonl: line 2: column 3: expected nothing after the value, got '3'");
  assert_split_error (fixture, "{\"format\": \"jsonl\"}",
                      "\"ok\"\n\"\xff\"\n",
                      1, SLUICE_ERROR_INVALID_DATA,
                      "jsonl: line 2: column 2: a string holds bytes that are not UTF-8 (byte 0xff)");
  /* the column counts bytes, after leading whitespace too */
  assert_split_error (fixture, "{\"format\": \"jsonl\"}",
                      "\"\xc3\xa9\"\n  [\"\xc3\xa9\", tru]\r\n",
                      1, SLUICE_ERROR_INVALID_DATA, "jsonl: line 2: column 10: expected the literal true");
  assert_split_error (fixture, "{\"format\": \"jsonl\"}",
                      "{\"a\": [1, {\"b\": 2}\n",
                      0, SLUICE_ERROR_INVALID_DATA,
                      "jsonl: line 1: column 19: expected ',' or ']' after an array element, got the end of the record");
  assert_split_error (fixture, "{\"format\": \"jsonl\"}",
                      "1\n\"tab\there\"\n",
                      1, SLUICE_ERROR_INVALID_DATA,
                      "jsonl: line 2: column 5: a string holds the control character 0x09, which JSON only allows escaped");
  /* json-glib takes these, JSON does not */
  assert_split_error (fixture, "{\"format\": \"jsonl\"}",
                      "1\n{'a': 1}\n",
                      1, SLUICE_ERROR_INVALID_DATA, "jsonl: line 2: column 2: single-quoted strings are not JSON");
  assert_split_error (fixture, "{\"format\": \"jsonl\"}",
                      "1\n2 // two\n",
                      1, SLUICE_ERROR_INVALID_DATA, "jsonl: line 2: column 3: comments are not JSON");
  assert_split_error (fixture, "{\"format\": \"jsonl\"}",
                      "1\n0x10\n",
                      1, SLUICE_ERROR_INVALID_DATA, "jsonl: line 2: column 2: expected nothing after the value, got 'x'");
  assert_split_error (fixture, "{\"format\": \"jsonl\"}",
                      "1\n[.5]\n",
                      1, SLUICE_ERROR_INVALID_DATA, "jsonl: line 2: column 2: expected a value or ']', got '.'");
  assert_split_error (fixture, "{\"format\": \"jsonl\"}",
                      "1\n- 1\n",
                      1, SLUICE_ERROR_INVALID_DATA, "jsonl: line 2: column 2: expected a digit after '-', got byte 0x20");
  assert_split_error (fixture, "{\"format\": \"json-array\"}",
                      "[1, /* \" */ 2]",
                      1, SLUICE_ERROR_INVALID_DATA, "json-array: byte 4: element 2: comments are not JSON");
  /* json-glib would turn these into bytes that are not UTF-8 */
  assert_split_error (fixture, "{\"format\": \"jsonl\"}",
                      "\"\\t\\\"\\\\\\/\"\n\"\\666\"\n",
                      1, SLUICE_ERROR_INVALID_DATA,
                      "jsonl: line 2: column 2: a string holds the escape \\6, which JSON does not have");
  assert_split_error (fixture, "{\"format\": \"jsonl\"}",
                      "\"\\u00e9\"\n\"\\ud83true\"\n",
                      1, SLUICE_ERROR_INVALID_DATA,
                      "jsonl: line 2: column 2: a string holds a \\u escape without four hex digits");
  assert_split_error (fixture, "{\"format\": \"jsonl\"}",
                      "\"ok\"\n[\"\\ud83d\"]\n",
                      1, SLUICE_ERROR_INVALID_DATA,
                      "jsonl: line 2: column 3: a string holds an unpaired UTF-16 surrogate \\ud83d");
  assert_split_error (fixture, "{\"format\": \"json-array\"}",
                      "[\"ok\", {\"k\": \"x\\udc00\"}]",
                      1, SLUICE_ERROR_INVALID_DATA,
                      "json-array: byte 15: element 2: a string holds an unpaired UTF-16 surrogate \\udc00");

  for (guint i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  g_string_append_c (deep, '\n');
  assert_split_error_len (fixture, "{\"format\": \"jsonl\"}", deep->str, deep->len,
                          1, SLUICE_ERROR_INVALID_DATA, "jsonl: line 2: column 513: nested deeper than 512 levels");
}

static void
test_jsonl_too_large (Fixture       *fixture,
                      gconstpointer  user_data)
{
  g_autoptr(GString) input = g_string_new ("{\"small\":1}\n{\"big\":\"");

  for (guint i = 0; i < 200000; i++)
    g_string_append_c (input, 'x');
  g_string_append (input, "\"}\n{\"small\":3}\n");

  assert_split_error_len (fixture, "{\"format\": \"jsonl\", \"max_record_size\": 4096}",
                          input->str, input->len, 1, SLUICE_ERROR_TOO_LARGE,
                          "jsonl: line 2 (record 2) is larger than max_record_size (4096 bytes)");
}

/* JSON array */

static void
test_json_array_basic (Fixture       *fixture,
                       gconstpointer  user_data)
{
  assert_split (fixture, "{\"format\": \"json-array\"}",
                "\xEF\xBB\xBF [\n"
                "  {\"id\": 1, \"tags\": [\"a\", \"b]\"], \"s\": \"he said \\\"[{\\\" ok\"},\n"
                "  [[1, 2], [3, [4]]],\n"
                "  \"str with ] and \\\\\\\" quote\",\n"
                "  12.5,-3,true,null,\n"
                "  {\"nested\": {\"deep\": [{\"x\": \"}\"}, []]}, \"e\": {}}\n"
                "]\n",
                STRV ("{\"id\":1,\"tags\":[\"a\",\"b]\"],\"s\":\"he said \\\"[{\\\" ok\"}",
                      "[[1,2],[3,[4]]]",
                      "\"str with ] and \\\\\\\" quote\"",
                      "12.5", "-3", "true", "null",
                      "{\"nested\":{\"deep\":[{\"x\":\"}\"},[]]},\"e\":{}}"));
  assert_split (fixture, "{\"format\": \"json-array\"}", "[]", NO_RECORDS);
  assert_split (fixture, "{\"format\": \"json-array\"}", " \r\n[ \t]\n ", NO_RECORDS);
}

static void
test_json_array_malformed (Fixture       *fixture,
                           gconstpointer  user_data)
{
  g_autoptr(GString) input = g_string_new ("[");
  g_autoptr(GString) deep = g_string_new ("[1,");
  gsize bad_start, bad_end;

  assert_split_error (fixture, "{\"format\": \"json-array\"}", "{\"a\": 1}",
                      0, SLUICE_ERROR_INVALID_DATA,
                      "json-array: byte 0: expected '[' at the start of the input, got '{'");
  assert_split_error (fixture, "{\"format\": \"json-array\"}", "",
                      0, SLUICE_ERROR_INVALID_DATA,
                      "json-array: byte 0: expected '[', got the end of the input");
  assert_split_error (fixture, "{\"format\": \"json-array\"}", "[1,2,]",
                      2, SLUICE_ERROR_INVALID_DATA,
                      "json-array: byte 5: expected element 3, got ']'");
  assert_split_error (fixture, "{\"format\": \"json-array\"}", "[1 2]",
                      1, SLUICE_ERROR_INVALID_DATA,
                      "json-array: byte 3: expected ',' or ']' after element 1, got '2'");
  assert_split_error (fixture, "{\"format\": \"json-array\"}", "[1, {\"a\": [2, 3]}  ",
                      2, SLUICE_ERROR_INVALID_DATA,
                      "json-array: byte 19: the input ends before the array's closing ']'");
  assert_split_error (fixture, "{\"format\": \"json-array\"}", "[1, {\"a\": \"unterminated]}",
                      1, SLUICE_ERROR_INVALID_DATA,
                      "json-array: byte 25: the input ends inside element 2 (which starts at byte 4)");
  /* the byte is where the element goes wrong, on whichever line */
  assert_split_error (fixture, "{\"format\": \"json-array\"}", "[1,\n{\"a\":\n  }]",
                      1, SLUICE_ERROR_INVALID_DATA,
                      "json-array: byte 12: element 2: expected a value, got '}'");
  assert_split_error (fixture, "{\"format\": \"json-array\"}", "[1, tru, 3]",
                      1, SLUICE_ERROR_INVALID_DATA,
                      "json-array: byte 4: element 2: expected the literal true");
  assert_split_error (fixture, "{\"format\": \"json-array\"}", "[1, {\"a\": [1}, 3]",
                      1, SLUICE_ERROR_INVALID_DATA,
                      "json-array: byte 12: element 2: expected ',' or ']' after an array element, got '}'");
  assert_split_error (fixture, "{\"format\": \"json-array\"}", "[1, 01]",
                      1, SLUICE_ERROR_INVALID_DATA,
                      "json-array: byte 4: element 2: a number has a leading zero");
  assert_split_error (fixture, "{\"format\": \"json-array\"}", "[1, {\"a\": 1, \"b\"}]",
                      1, SLUICE_ERROR_INVALID_DATA,
                      "json-array: byte 16: element 2: expected ':' after an object key, got '}'");
  assert_split_error (fixture, "{\"format\": \"json-array\"}", "[1] x",
                      1, SLUICE_ERROR_INVALID_DATA,
                      "json-array: byte 4: expected nothing after the array's closing ']', got 'x'");

  /* a bad element far into the input is reported at a byte inside it */
  for (guint i = 0; i < 100; i++)
    g_string_append_printf (input, "{\"n\": %u, \"s\": \"[,]\"},", i);
  bad_start = input->len;
  g_string_append (input, "{\"n\": 100, \"s\" 1}");
  bad_end = input->len;
  g_string_append (input, ", {\"n\": 101}]");
  assert_split_error_len (fixture, "{\"format\": \"json-array\"}", input->str, input->len,
                          100, SLUICE_ERROR_INVALID_DATA, "json-array: byte ");
  {
    g_autoptr(SluiceStep) step = make_step (fixture, "{\"format\": \"json-array\"}");
    g_autoptr(SluiceMessage) message = make_input (fixture, BODY_BYTES, input->str, input->len);
    g_autoptr(SluiceMessageIter) iter = split_process (step, message);
    g_autoptr(GPtrArray) records = NULL;
    g_autoptr(GError) error = NULL;
    guint64 byte;
    char *end;

    records = drain (iter, &error);
    g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA);
    g_assert_cmpuint (records->len, ==, 100);
    byte = g_ascii_strtoull (error->message + strlen ("json-array: byte "), &end, 10);
    g_assert_true (g_str_has_prefix (end, ": element 101: "));
    g_assert_cmpuint (byte, >=, bad_start);
    g_assert_cmpuint (byte, <, bad_end);
  }

  for (guint i = 0; i < 200000; i++)
    g_string_append_c (deep, '[');
  g_string_append_c (deep, ']');
  assert_split_error_len (fixture, "{\"format\": \"json-array\"}", deep->str, deep->len,
                          1, SLUICE_ERROR_INVALID_DATA, "json-array: byte 515: element 2: nested deeper than 512 levels");
}

static void
test_json_array_too_large (Fixture       *fixture,
                           gconstpointer  user_data)
{
  g_autoptr(GString) input = g_string_new ("[{\"a\": 1}, \"");

  for (guint i = 0; i < 200000; i++)
    g_string_append_c (input, 'x');
  g_string_append (input, "\", 3]");

  assert_split_error_len (fixture, "{\"format\": \"json-array\", \"max_record_size\": 1024}",
                          input->str, input->len, 1, SLUICE_ERROR_TOO_LARGE,
                          "json-array: byte 11: element 2 is larger than max_record_size (1024 bytes)");
}

/* JSON records: the validator, and the records' bytes and trees */

/* Texts that are JSON. */
static const char * const valid_json[] = {
  "0", "-0", "-0.0", "1", "-1", "10", "0.5", "1e5", "1E5", "1e+5", "1e-7", "1.5E-3", "-0e-0",
  "123456789012345678", "-9223372036854775808", "1.7976931348623157e308", "5e-324",
  "123456789012345678901234567890", "1e400",
  "true", "false", "null",
  "\"\"", "\"plain\"", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u0041\\u00e9\\u20AC\"",
  "\"\\ud83d\\ude00\"", "\"\\uDBFF\\uDFFF\"", "\"\\uFFFE\"", "\"\\u0000\"",
  "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\xef\xbf\xbe\x7f\xc2\x80\"",
  "[]", "{}", "[[]]", "[{}]", "{\"\":\"\"}", "{\"a\":1,\"a\":2}", "{\"\\u0041\":[true,false,null]}",
  " \t\r\n{ \"a\" :\t[ 1 ,\r\n2 ] , \"b\" : { } } \n",
  "{\"a\":{\"b\":[1,[2,[3,{\"c\":null}]]]},\"d\":[],\"e\":-1.25e-2}",
};

static GString *
nested_json (guint depth)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < depth; i++)
    g_string_append (text, i % 2 ? "{\"k\":" : "[");
  g_string_append (text, "0");
  for (guint i = depth; i > 0; i--)
    g_string_append_c (text, (i - 1) % 2 ? '}' : ']');
  return text;
}

static void
test_json_validate_accepts (Fixture       *fixture,
                            gconstpointer  user_data)
{
  g_autoptr(GString) deepest = nested_json (SLUICE_SPLIT_JSON_MAX_DEPTH);

  for (guint i = 0; i < G_N_ELEMENTS (valid_json) + 1; i++)
    {
      const char *text = i < G_N_ELEMENTS (valid_json) ? valid_json[i] : deepest->str;
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) node = NULL;
      gsize offset = G_MAXSIZE;

      g_test_message ("text: %s", text);
      g_assert_true (sluice_split_json_validate (text, strlen (text), &offset, &error));
      g_assert_no_error (error);
      /* what it accepts, json-glib parses */
      node = json_from_string (text, &error);
      g_assert_no_error (error);
      g_assert_nonnull (node);
    }
}

static void
test_json_validate_refuses (Fixture       *fixture,
                            gconstpointer  user_data)
{
  static const struct {
    const char *text;
    gsize       offset;
    const char *message;
  } cases[] = {
    { "", 0, "no JSON value" },
    { " \r\n\t", 4, "no JSON value" },
    { "1 2", 2, "expected nothing after the value, got '2'" },
    { "{} []", 3, "expected nothing after the value, got '['" },
    { "\f1", 0, "expected a value, got byte 0x0c" },
    { "1\v", 1, "expected nothing after the value, got byte 0x0b" },
    { "\xc2\xa0" "1", 0, "expected a value, got byte 0xc2" },
    { "[1,]", 3, "expected a value, got ']'" },
    { "[,1]", 1, "expected a value or ']', got ','" },
    { "[1 2]", 3, "expected ',' or ']' after an array element, got '2'" },
    { "[1", 2, "expected ',' or ']' after an array element, got the end of the record" },
    { "[", 1, "expected a value or ']', got the end of the record" },
    { "[1,", 3, "expected a value, got the end of the record" },
    { "[1}", 2, "expected ',' or ']' after an array element, got '}'" },
    { "{\"a\":1,}", 7, "expected an object key (a string), got '}'" },
    { "{1:2}", 1, "expected an object key (a string) or '}', got '1'" },
    { "{a:1}", 1, "expected an object key (a string) or '}', got 'a'" },
    { "{\"a\" 1}", 5, "expected ':' after an object key, got '1'" },
    { "{\"a\":}", 5, "expected a value, got '}'" },
    { "{\"a\":1 \"b\":2}", 7, "expected ',' or '}' after an object member, got '\"'" },
    { "{\"a\":1]", 6, "expected ',' or '}' after an object member, got ']'" },
    { "{", 1, "expected an object key (a string) or '}', got the end of the record" },
    { "{'a':1}", 1, "single-quoted strings are not JSON" },
    { "[1] // x", 4, "comments are not JSON" },
    { "[/* x */ 1]", 1, "comments are not JSON" },
    { "1/2", 1, "expected nothing after the value, got '/'" },
    { "-", 1, "expected a digit after '-', got the end of the record" },
    { "-a", 1, "expected a digit after '-', got 'a'" },
    { "+1", 0, "expected a value, got '+'" },
    { ".5", 0, "expected a value, got '.'" },
    { "01", 0, "a number has a leading zero" },
    { "-00", 1, "a number has a leading zero" },
    { "1.", 2, "expected a digit after a number's decimal point, got the end of the record" },
    { "1.e5", 2, "expected a digit after a number's decimal point, got 'e'" },
    { "1e", 2, "expected a digit in a number's exponent, got the end of the record" },
    { "1e+", 3, "expected a digit in a number's exponent, got the end of the record" },
    { "[1E-x]", 4, "expected a digit in a number's exponent, got 'x'" },
    { "0x10", 1, "expected nothing after the value, got 'x'" },
    { "1.5.3", 3, "expected nothing after the value, got '.'" },
    { "Infinity", 0, "expected a value, got 'I'" },
    { "[NaN]", 1, "expected a value or ']', got 'N'" },
    { "tru", 0, "expected the literal true" },
    { "True", 0, "expected a value, got 'T'" },
    { "[fals]", 1, "expected the literal false" },
    { "nul", 0, "expected the literal null" },
    { "nulll", 4, "expected nothing after the value, got 'l'" },
    { "truefalse", 4, "expected nothing after the value, got 'f'" },
    { "\"abc", 0, "a string starts here and is not closed before the end of the record" },
    { "[\"abc\\\"]", 1, "a string starts here and is not closed before the end of the record" },
    { "\"abc\\", 0, "a string starts here and is not closed before the end of the record" },
    { "\"a\tb\"", 2, "a string holds the control character 0x09, which JSON only allows escaped" },
    { "\"a\nb\"", 2, "a string holds the control character 0x0a, which JSON only allows escaped" },
    { "\"\x1f\"", 1, "a string holds the control character 0x1f, which JSON only allows escaped" },
    { "\"\\x41\"", 1, "a string holds the escape \\x, which JSON does not have" },
    { "\"\\'\"", 1, "a string holds the escape \\', which JSON does not have" },
    { "\"\\0\"", 1, "a string holds the escape \\0, which JSON does not have" },
    { "\"\\\x01\"", 1, "a string holds the escape \\ followed by byte 0x01, which JSON does not have" },
    { "\"\\U0041\"", 1, "a string holds the escape \\U, which JSON does not have" },
    { "\"\\u41\"", 1, "a string holds a \\u escape without four hex digits" },
    { "\"\\u004g\"", 1, "a string holds a \\u escape without four hex digits" },
    { "\"\\u004", 1, "a string holds a \\u escape without four hex digits" },
    { "\"x\\ud800\"", 2, "a string holds an unpaired UTF-16 surrogate \\ud800" },
    { "\"\\udc00\\ud800\"", 1, "a string holds an unpaired UTF-16 surrogate \\udc00" },
    { "\"\\ud800\\u0041\"", 1, "a string holds an unpaired UTF-16 surrogate \\ud800" },
    { "\"\\ud800\\ud800\"", 1, "a string holds an unpaired UTF-16 surrogate \\ud800" },
    { "\"\\uD83D\\n\"", 1, "a string holds an unpaired UTF-16 surrogate \\ud83d" },
    { "\"\\ud83d", 1, "a string holds an unpaired UTF-16 surrogate \\ud83d" },
    { "\"\x80\"", 1, "a string holds bytes that are not UTF-8 (byte 0x80)" },
    { "\"a\xc0\x80\"", 2, "a string holds bytes that are not UTF-8 (byte 0xc0)" },
    { "\"\xc3\"", 1, "a string holds bytes that are not UTF-8 (byte 0xc3)" },
    { "\"\xc3", 1, "a string holds bytes that are not UTF-8 (byte 0xc3)" },
    { "\"\xe0\x80\x80\"", 1, "a string holds bytes that are not UTF-8 (byte 0xe0)" },
    { "\"\xed\xa0\x80\"", 1, "a string holds bytes that are not UTF-8 (byte 0xed)" },
    { "\"\xe2\x82\"", 1, "a string holds bytes that are not UTF-8 (byte 0xe2)" },
    { "\"\xf0\x8f\xbf\xbf\"", 1, "a string holds bytes that are not UTF-8 (byte 0xf0)" },
    { "\"\xf4\x90\x80\x80\"", 1, "a string holds bytes that are not UTF-8 (byte 0xf4)" },
    { "\"\xf5\x80\x80\x80\"", 1, "a string holds bytes that are not UTF-8 (byte 0xf5)" },
    { "\"\xff\"", 1, "a string holds bytes that are not UTF-8 (byte 0xff)" },
    { "[\xc3\xa9]", 1, "expected a value or ']', got byte 0xc3" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      gsize offset = G_MAXSIZE;

      g_test_message ("case %u: %s", i, cases[i].message);
      g_assert_false (sluice_split_json_validate (cases[i].text, strlen (cases[i].text), &offset, &error));
      g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA);
      g_assert_cmpstr (error->message, ==, cases[i].message);
      g_assert_cmpuint (offset, ==, cases[i].offset);
    }

  /* a NUL byte is a control character, not the end of the text */
  {
    static const char text[] = "[\"a\0b\"]";
    g_autoptr(GError) error = NULL;
    gsize offset = G_MAXSIZE;

    g_assert_false (sluice_split_json_validate (text, sizeof text - 1, &offset, &error));
    g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA);
    g_assert_cmpstr (error->message, ==,
                     "a string holds the control character 0x00, which JSON only allows escaped");
    g_assert_cmpuint (offset, ==, 3);
  }

  /* one level too deep, whether the innermost container is an object or
   * an array */
  for (guint extra = 1; extra <= 2; extra++)
    {
      g_autoptr(GString) text = nested_json (SLUICE_SPLIT_JSON_MAX_DEPTH + extra);
      g_autoptr(GError) error = NULL;
      gsize offset = 0;
      g_autofree char *message = g_strdup_printf ("nested deeper than %u levels",
                                                  SLUICE_SPLIT_JSON_MAX_DEPTH);

      g_assert_false (sluice_split_json_validate (text->str, text->len, &offset, &error));
      g_assert_cmpstr (error->message, ==, message);
      /* where the 513th container opens: 256 "[" and 256 "{\"k\":" before it */
      g_assert_cmpuint (offset, ==, SLUICE_SPLIT_JSON_MAX_DEPTH / 2 * 6);
    }
}

/* Fails unless @a and @b are the same tree, down to value types, the sign
 * of zero and the order of members. */
static void
assert_json_same (JsonNode *a,
                  JsonNode *b)
{
  g_assert_cmpint (json_node_get_node_type (a), ==, json_node_get_node_type (b));

  switch (json_node_get_node_type (a))
    {
    case JSON_NODE_OBJECT:
      {
        g_autoptr(GList) a_members = json_object_get_members (json_node_get_object (a));
        g_autoptr(GList) b_members = json_object_get_members (json_node_get_object (b));

        g_assert_cmpuint (g_list_length (a_members), ==, g_list_length (b_members));
        for (GList *l = a_members, *m = b_members; l != NULL; l = l->next, m = m->next)
          {
            g_assert_cmpstr (l->data, ==, m->data);
            assert_json_same (json_object_get_member (json_node_get_object (a), l->data),
                              json_object_get_member (json_node_get_object (b), m->data));
          }
      }
      break;

    case JSON_NODE_ARRAY:
      {
        JsonArray *a_array = json_node_get_array (a);
        JsonArray *b_array = json_node_get_array (b);

        g_assert_cmpuint (json_array_get_length (a_array), ==, json_array_get_length (b_array));
        for (guint i = 0; i < json_array_get_length (a_array); i++)
          assert_json_same (json_array_get_element (a_array, i), json_array_get_element (b_array, i));
      }
      break;

    case JSON_NODE_VALUE:
      g_assert_cmpstr (g_type_name (json_node_get_value_type (a)), ==,
                       g_type_name (json_node_get_value_type (b)));
      switch (json_node_get_value_type (a))
        {
        case G_TYPE_INT64:
          g_assert_cmpint (json_node_get_int (a), ==, json_node_get_int (b));
          break;
        case G_TYPE_DOUBLE:
          {
            double x = json_node_get_double (a), y = json_node_get_double (b);

            /* bit for bit: -0.0 is not 0.0 here */
            g_assert_cmpmem (&x, sizeof x, &y, sizeof y);
          }
          break;
        case G_TYPE_BOOLEAN:
          g_assert_cmpint (json_node_get_boolean (a), ==, json_node_get_boolean (b));
          break;
        case G_TYPE_STRING:
          g_assert_cmpstr (json_node_get_string (a), ==, json_node_get_string (b));
          break;
        default:
          g_assert_not_reached ();
        }
      break;

    case JSON_NODE_NULL:
    default:
      break;
    }
}

/* Records that json-glib reads in ways easy to get wrong. */
static const char * const tricky_records[] = {
  "{\"a\":{\"b\":[1,[2,[3,{\"c\":null}]]]},\"d\":[],\"e\":{}}",
  "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
  "{\"\\u00e9\":\"\\u00e9\\u20ac\\ud83d\\ude00 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}",
  "[\"\\u0000\", \"a\\u0000b\", \"\\uFFFE\"]",
  "-0", "-0.0", "1e-7", "123456789012345678", "-9223372036854775808", "9223372036854775807",
  "1.7976931348623157e308", "2.2250738585072014e-308", "5e-324", "1E+2", "0.1", "-1.5e10",
  "123456789012345678901234567890", "[1e400, -1e400]",
  "{\"\": \"\", \"k\": 1, \"k\": 2}",
  "[true, false, null, {\"t\": true}]",
  "{ \"spaced\" :\t[ 1 , 2 ] }",
};

static void
test_json_same_tree (Fixture       *fixture,
                     gconstpointer  user_data)
{
  static const struct {
    const char *config;
    const char *separator;
    const char *before;
    const char *after;
  } formats[] = {
    { "{\"format\": \"jsonl\"}", "\n", "  ", "\r\n" },
    { "{\"format\": \"json-array\"}", ",\n  ", "[\n  ", "\n]" },
  };

  for (guint f = 0; f < G_N_ELEMENTS (formats); f++)
    {
      g_autoptr(SluiceStep) step = make_step (fixture, formats[f].config);
      g_autoptr(GString) input = g_string_new (formats[f].before);

      for (guint i = 0; i < G_N_ELEMENTS (tricky_records); i++)
        {
          if (i > 0)
            g_string_append (input, formats[f].separator);
          g_string_append (input, tricky_records[i]);
        }
      g_string_append (input, formats[f].after);

      for (BodyKind kind = 0; kind < N_BODY_KINDS; kind++)
        {
          g_autoptr(SluiceMessage) message = make_input (fixture, kind, input->str, input->len);
          g_autoptr(SluiceMessageIter) iter = split_process (step, message);
          g_autoptr(GPtrArray) records = NULL;
          g_autoptr(GError) error = NULL;

          g_test_message ("%s, body: %s", formats[f].config, body_kind_name (kind));
          records = drain (iter, &error);
          g_assert_no_error (error);
          g_assert_cmpuint (records->len, ==, G_N_ELEMENTS (tricky_records));

          for (guint i = 0; i < records->len; i++)
            {
              SluiceMessage *record = g_ptr_array_index (records, i);
              g_autoptr(JsonNode) expected = json_from_string (tricky_records[i], &error);
              GBytes *bytes;
              JsonNode *node;

              g_assert_no_error (error);
              g_assert_cmpstr (sluice_message_get_content_type (record), ==, "application/json");
              /* the record is the value's text as it came, not a serialization */
              bytes = sluice_message_get_bytes (record);
              g_assert_nonnull (bytes);
              g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                               tricky_records[i], strlen (tricky_records[i]));
              node = sluice_message_get_json (record, &error);
              g_assert_no_error (error);
              assert_json_same (node, expected);
            }
        }
    }
}

/* XML */

static void
test_xml_basic (Fixture       *fixture,
                gconstpointer  user_data)
{
  assert_split (fixture, "{\"format\": \"xml\", \"element\": \"item\"}",
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<items>\n"
                "  <item id=\"1\">one &amp; <b>bold</b></item>\n"
                "  <other><item id=\"2\"/></other>\n"
                "  <item id=\"3\"><item id=\"3.1\">inner</item></item>\n"
                "  <deep><a><b><item id=\"4\">&#233;t&#xE9;</item></b></a></deep>\n"
                "</items>\n",
                STRV ("<item id=\"1\">one &amp; <b>bold</b></item>",
                      "<item id=\"2\"/>",
                      "<item id=\"3\"><item id=\"3.1\">inner</item></item>",
                      "<item id=\"4\">\xC3\xA9t\xC3\xA9</item>"));
  assert_split (fixture, "{\"format\": \"xml\", \"element\": \"item\"}",
                "<items><none/></items>", NO_RECORDS);
}

static void
test_xml_namespaced (Fixture       *fixture,
                     gconstpointer  user_data)
{
  static const char input[] =
    "<?xml version=\"1.0\"?>\n"
    "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:o=\"urn:orders\">\n"
    "  <o:batch><o:order id=\"1\"><o:line>a</o:line><title>t</title></o:order></o:batch>\n"
    "  <o:order id=\"2\" o:priority=\"high\"/>\n"
    "  <order id=\"3\"/>\n"
    "</feed>\n";
  static const char * const hrefs[] = { "urn:orders", "urn:orders", "http://www.w3.org/2005/Atom" };
  g_autoptr(SluiceStep) step = make_step (fixture, "{\"format\": \"xml\", \"element\": \"order\"}");

  for (BodyKind kind = 0; kind < N_BODY_KINDS; kind++)
    {
      g_autoptr(SluiceMessage) message = make_input (fixture, kind, input, strlen (input));
      g_autoptr(SluiceMessageIter) iter = split_process (step, message);
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) records = drain (iter, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (records->len, ==, 3);
      for (guint i = 0; i < records->len; i++)
        {
          SluiceMessage *record = g_ptr_array_index (records, i);
          g_autofree char *text = message_body_text (record);
          g_autofree char *id = g_strdup_printf ("%u", i + 1);
          xmlDocPtr doc;
          xmlNodePtr root;
          xmlChar *value;

          /* each record stands alone: namespaces declared by ancestors
           * come along */
          g_assert_cmpstr (sluice_message_get_content_type (record), ==, "application/xml");
          doc = xmlReadMemory (text, strlen (text), NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
          g_assert_nonnull (doc);
          root = xmlDocGetRootElement (doc);
          g_assert_cmpstr ((const char *) root->name, ==, "order");
          g_assert_nonnull (root->ns);
          g_assert_cmpstr ((const char *) root->ns->href, ==, hrefs[i]);
          value = xmlGetProp (root, (const xmlChar *) "id");
          g_assert_cmpstr ((const char *) value, ==, id);
          xmlFree (value);
          if (i == 1)
            {
              value = xmlGetNsProp (root, (const xmlChar *) "priority", (const xmlChar *) "urn:orders");
              g_assert_cmpstr ((const char *) value, ==, "high");
              xmlFree (value);
            }
          xmlFreeDoc (doc);
        }
    }
}

static void
test_xml_malformed (Fixture       *fixture,
                    gconstpointer  user_data)
{
  assert_split_error (fixture, "{\"format\": \"xml\", \"element\": \"item\"}",
                      "<items>\n<item>1</item>\n<item>2</item>\n\n\n\n<item>3</itm>\n</items>\n",
                      2, SLUICE_ERROR_INVALID_DATA, "xml: line 7: ");
  assert_split_error (fixture, "{\"format\": \"xml\", \"element\": \"item\"}",
                      "<items>\n<item>1</item>\n<item>2",
                      1, SLUICE_ERROR_INVALID_DATA, "xml: line 3: ");
  assert_split_error (fixture, "{\"format\": \"xml\", \"element\": \"item\"}",
                      "",
                      0, SLUICE_ERROR_INVALID_DATA, "xml: the input is empty");
  assert_split_error (fixture, "{\"format\": \"xml\", \"element\": \"item\"}",
                      "<items/>\n<items/>",
                      0, SLUICE_ERROR_INVALID_DATA, "xml: line 2: ");
  assert_split_error (fixture, "{\"format\": \"xml\", \"element\": \"item\"}",
                      "<items><x:item/></items>",
                      0, SLUICE_ERROR_INVALID_DATA, "xml: line 1: ");
}

static void
test_xml_too_large (Fixture       *fixture,
                    gconstpointer  user_data)
{
  g_autoptr(GString) input = g_string_new ("<items><item>small</item><item>");

  for (guint i = 0; i < 100000; i++)
    g_string_append (input, "<v>x</v>");
  g_string_append (input, "</item><item>after</item></items>");

  assert_split_error_len (fixture, "{\"format\": \"xml\", \"element\": \"item\", \"max_record_size\": 2048}",
                          input->str, input->len, 1, SLUICE_ERROR_TOO_LARGE,
                          "xml: element 2 <item> is larger than max_record_size (2048 bytes)");
}

/* Messages and the iterator */

static void
test_output_headers (Fixture       *fixture,
                     gconstpointer  user_data)
{
  static const char traceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  g_autoptr(SluiceStep) step = make_step (fixture, "{\"format\": \"csv\"}");
  g_autoptr(SluiceMessage) input = make_input (fixture, BODY_BYTES, "a\n1\n2\n3\n", 8);
  g_autoptr(SluiceMessageIter) iter = NULL;
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GError) error = NULL;

  sluice_message_set_header (input, "x-partner", "acme");
  g_assert_true (sluice_message_set_traceparent (input, traceparent));

  iter = split_process (step, input);
  records = drain (iter, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (records->len, ==, 3);
  for (guint i = 0; i < records->len; i++)
    {
      SluiceMessage *record = g_ptr_array_index (records, i);
      g_autofree char *index = g_strdup_printf ("%u", i + 1);
      g_autofree char *body = g_strdup_printf ("{\"a\":\"%u\"}", i + 1);
      g_autofree char *text = message_body_text (record);

      g_assert_true (record != input);
      g_assert_cmpstr (sluice_message_get_header (record, "sluice-record"), ==, index);
      g_assert_cmpstr (sluice_message_get_header (record, "x-partner"), ==, "acme");
      g_assert_cmpstr (sluice_message_get_traceparent (record), ==, traceparent);
      g_assert_cmpstr (sluice_message_get_content_type (record), ==, "application/json");
      g_assert_cmpstr (text, ==, body);
    }
  /* the input is left as it was */
  g_assert_null (sluice_message_get_header (input, "sluice-record"));
}

static void
test_iter_pop_ready (Fixture       *fixture,
                     gconstpointer  user_data)
{
  g_autoptr(SluiceStep) step = make_step (fixture, "{\"format\": \"jsonl\"}");
  g_autoptr(GString) input = g_string_new (NULL);
  g_autoptr(SluiceMessage) message = NULL;
  g_autoptr(SluiceMessageIter) iter = NULL;
  g_autoptr(GError) error = NULL;
  guint n_popped = 0, n_async = 0, n_total = 0;
  gboolean ready = TRUE;
  SluiceMessage *record;

  for (guint i = 1; i <= 5000; i++)
    g_string_append_printf (input, "{\"n\":%u}\n", i);
  message = make_input (fixture, BODY_FILE, input->str, input->len);
  iter = split_process (step, message);

  /* nothing is parsed before the first request */
  record = sluice_message_iter_pop_ready (iter, &ready);
  g_assert_null (record);
  g_assert_false (ready);

  for (;;)
    {
      g_autoptr(SluiceMessage) next = NULL;
      g_autofree char *expected = NULL;
      g_autofree char *text = NULL;

      next = sluice_message_iter_pop_ready (iter, &ready);
      if (ready)
        n_popped++;
      else
        {
          next = iter_next (iter, &error);
          g_assert_no_error (error);
          n_async++;
        }
      if (next == NULL)
        break;

      n_total++;
      expected = g_strdup_printf ("{\"n\":%u}", n_total);
      text = message_body_text (next);
      g_assert_cmpstr (text, ==, expected);
    }

  g_assert_cmpuint (n_total, ==, 5000);
  /* most records come synchronously from parsed chunks */
  g_assert_cmpuint (n_popped, >, 4500);
  g_assert_cmpuint (n_async, <, 100);

  /* the end stays the end */
  record = sluice_message_iter_pop_ready (iter, &ready);
  g_assert_true (ready);
  g_assert_null (record);
  record = iter_next (iter, &error);
  g_assert_no_error (error);
  g_assert_null (record);
}

static void
test_iter_one_request (Fixture       *fixture,
                       gconstpointer  user_data)
{
  g_autoptr(SluiceStep) step = make_step (fixture, "{\"format\": \"jsonl\"}");
  g_autoptr(SluiceMessage) message = make_input (fixture, BODY_TRICKLE_1, "1\n2\n", 4);
  g_autoptr(SluiceMessageIter) iter = split_process (step, message);
  g_autoptr(GAsyncResult) first = NULL;
  g_autoptr(GAsyncResult) second = NULL;
  g_autoptr(SluiceMessage) record = NULL;
  g_autoptr(SluiceMessage) refused = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ready = TRUE;

  sluice_message_iter_next_async (iter, NULL, on_async_done, &first);
  /* while a request runs, pop_ready waits for it, and a second one is refused */
  g_assert_null (sluice_message_iter_pop_ready (iter, &ready));
  g_assert_false (ready);
  sluice_message_iter_next_async (iter, NULL, on_async_done, &second);
  while (first == NULL || second == NULL)
    g_main_context_iteration (NULL, TRUE);

  refused = sluice_message_iter_next_finish (iter, second, &error);
  g_assert_null (refused);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE);
  g_clear_error (&error);

  record = sluice_message_iter_next_finish (iter, first, &error);
  g_assert_no_error (error);
  g_assert_nonnull (record);
  g_assert_cmpstr (sluice_message_get_header (record, "sluice-record"), ==, "1");
}

static void
test_iter_read_error (Fixture       *fixture,
                      gconstpointer  user_data)
{
  g_autoptr(SluiceStep) step = make_step (fixture, "{\"format\": \"csv\"}");
  g_autoptr(GBytes) data = g_bytes_new_static ("a\n1\n2\n3\n4\n", 10);
  g_autoptr(TestTrickleStream) stream = test_trickle_stream_new (data, 4);
  g_autoptr(SluiceMessage) message = NULL;
  g_autoptr(SluiceMessageIter) iter = NULL;
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) again = NULL;
  g_autoptr(SluiceMessage) after = NULL;

  stream->fail_after = 6;
  message = sluice_message_new_stream (G_INPUT_STREAM (stream), -1, "text/csv");
  iter = split_process (step, message);
  records = drain (iter, &error);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_FAILED);
  g_assert_true (g_str_has_prefix (error->message, "csv: reading the input failed: "));
  g_assert_nonnull (strstr (error->message, "connection reset by peer"));
  /* the records read before the failure still come out, in order */
  g_assert_cmpuint (records->len, ==, 3);

  after = iter_next (iter, &again);
  g_assert_null (after);
  g_assert_error (again, SLUICE_ERROR, SLUICE_ERROR_FAILED);
  g_assert_cmpint (g_atomic_int_get (&stream->reads_on_owner), ==, 0);
}

/* Streaming */

static gsize
current_rss (void)
{
  g_autofree char *statm = NULL;
  g_auto(GStrv) fields = NULL;

  if (!g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL))
    return 0;
  fields = g_strsplit (statm, " ", -1);
  return g_ascii_strtoull (fields[1], NULL, 10) * sysconf (_SC_PAGESIZE);
}

static void
test_stream_lazy (Fixture       *fixture,
                  gconstpointer  user_data)
{
  for (GenFormat format = GEN_CSV; format <= GEN_XML; format++)
    {
      g_autoptr(SluiceStep) step = make_step (fixture, gen_format_config (format));
      g_autoptr(TestGenStream) stream = test_gen_stream_new (format, 1000000);
      g_autoptr(SluiceMessage) message = sluice_message_new_stream (G_INPUT_STREAM (stream), -1, "text/plain");
      SluiceMessageIter *iter = split_process (step, message);

      g_test_message ("format: %s", gen_format_config (format));
      /* nothing is read before a record is asked for */
      g_assert_cmpuint (test_gen_stream_get_bytes_read (stream), ==, 0);

      for (guint i = 1; i <= 10; i++)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(SluiceMessage) record = iter_next (iter, &error);

          g_assert_no_error (error);
          assert_gen_record (record, i);
        }

      g_test_message ("read %" G_GUINT64_FORMAT " bytes for 10 records",
                      test_gen_stream_get_bytes_read (stream));
      g_assert_cmpuint (test_gen_stream_get_bytes_read (stream), >, 0);
      g_assert_cmpuint (test_gen_stream_get_bytes_read (stream), <, 1024 * 1024);
      g_assert_cmpint (g_atomic_int_get (&stream->reads_on_owner), ==, 0);

      /* dropping the iterator part way closes the body without reading on */
      g_object_unref (iter);
      while (!g_input_stream_is_closed (G_INPUT_STREAM (stream)))
        g_main_context_iteration (NULL, TRUE);
      g_assert_cmpuint (test_gen_stream_get_bytes_read (stream), <, 1024 * 1024);
    }
}

/* Pulls every record of a generated input as the engine would, checking
 * the count, the last record and that memory stays flat. */
static void
assert_stream_count (Fixture   *fixture,
                     GenFormat  format,
                     guint64    n_records,
                     guint64    min_bytes)
{
  g_autoptr(SluiceStep) step = make_step (fixture, gen_format_config (format));
  g_autoptr(TestGenStream) stream = test_gen_stream_new (format, n_records);
  g_autoptr(SluiceMessage) message = sluice_message_new_stream (G_INPUT_STREAM (stream), -1, "text/plain");
  g_autoptr(SluiceMessageIter) iter = split_process (step, message);
  g_autoptr(SluiceMessage) last = NULL;
  g_autoptr(GError) error = NULL;
  gsize rss_before = current_rss ();
  gsize rss_max = rss_before;
  gint64 started = g_get_monotonic_time ();
  gint64 elapsed;
  guint64 count = 0;

  for (;;)
    {
      gboolean ready = FALSE;
      SluiceMessage *record = sluice_message_iter_pop_ready (iter, &ready);

      if (!ready)
        record = iter_next (iter, &error);
      g_assert_no_error (error);
      if (record == NULL)
        break;
      count++;
      g_clear_object (&last);
      last = record;
      if (count % 10000 == 0)
        rss_max = MAX (rss_max, current_rss ());
    }
  elapsed = g_get_monotonic_time () - started;

  g_test_message ("%s: %" G_GUINT64_FORMAT " records, %" G_GUINT64_FORMAT " bytes in %.2f s "
                  "(%.0f records/s), RSS grew by %" G_GSIZE_FORMAT " KiB at most",
                  gen_format_config (format), count, test_gen_stream_get_bytes_read (stream),
                  elapsed / 1e6, count / (elapsed / 1e6), (rss_max - rss_before) / 1024);
  g_assert_cmpuint (count, ==, n_records);
  g_assert_cmpuint (test_gen_stream_get_bytes_read (stream), >, min_bytes);
  assert_gen_record (last, n_records);
  g_assert_true (g_input_stream_is_closed (G_INPUT_STREAM (stream)));
  g_assert_cmpint (g_atomic_int_get (&stream->reads_on_owner), ==, 0);
#ifndef __SANITIZE_ADDRESS__
  /* the input never sits in memory (sanitizers keep freed memory around) */
  g_assert_cmpuint (rss_max - rss_before, <, 32 * 1024 * 1024);
#endif
}

static void
test_stream_count_csv (Fixture       *fixture,
                       gconstpointer  user_data)
{
  /* about 50 MB of rows */
  assert_stream_count (fixture, GEN_CSV, 1000000, 50 * 1000 * 1000);
}

static void
test_stream_count_formats (Fixture       *fixture,
                           gconstpointer  user_data)
{
  assert_stream_count (fixture, GEN_JSONL, 200000, 15 * 1000 * 1000);
  assert_stream_count (fixture, GEN_JSON_ARRAY, 200000, 15 * 1000 * 1000);
  assert_stream_count (fixture, GEN_XML, 200000, 20 * 1000 * 1000);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_summary ("core.split: csv, jsonl, json-array and xml records from bytes and "
                  "stream bodies, read lazily, with clear errors for bad input");

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/split/config/invalid", test_config_invalid);
  ADD ("/split/config/schema", test_config_schema);
  ADD ("/split/csv/header", test_csv_header);
  ADD ("/split/csv/quoted", test_csv_quoted);
  ADD ("/split/csv/quoted-newline", test_csv_quoted_newline);
  ADD ("/split/csv/crlf", test_csv_crlf);
  ADD ("/split/csv/bom", test_csv_bom);
  ADD ("/split/csv/delimiter", test_csv_delimiter);
  ADD ("/split/csv/columns", test_csv_columns);
  ADD ("/split/csv/short-rows", test_csv_short_rows);
  ADD ("/split/csv/empty-lines", test_csv_empty_lines);
  ADD ("/split/csv/trim", test_csv_trim);
  ADD ("/split/csv/malformed", test_csv_malformed);
  ADD ("/split/csv/bad-header", test_csv_bad_header);
  ADD ("/split/csv/too-large", test_csv_too_large);
  ADD ("/split/jsonl/basic", test_jsonl_basic);
  ADD ("/split/jsonl/malformed", test_jsonl_malformed);
  ADD ("/split/jsonl/too-large", test_jsonl_too_large);
  ADD ("/split/json-array/basic", test_json_array_basic);
  ADD ("/split/json-array/malformed", test_json_array_malformed);
  ADD ("/split/json-array/too-large", test_json_array_too_large);
  ADD ("/split/json/validate-accepts", test_json_validate_accepts);
  ADD ("/split/json/validate-refuses", test_json_validate_refuses);
  ADD ("/split/json/same-tree", test_json_same_tree);
  ADD ("/split/xml/basic", test_xml_basic);
  ADD ("/split/xml/namespaced", test_xml_namespaced);
  ADD ("/split/xml/malformed", test_xml_malformed);
  ADD ("/split/xml/too-large", test_xml_too_large);
  ADD ("/split/output/headers", test_output_headers);
  ADD ("/split/iter/pop-ready", test_iter_pop_ready);
  ADD ("/split/iter/one-request", test_iter_one_request);
  ADD ("/split/iter/read-error", test_iter_read_error);
  ADD ("/split/stream/lazy", test_stream_lazy);
  ADD ("/split/stream/count-csv", test_stream_count_csv);
  ADD ("/split/stream/count-formats", test_stream_count_formats);
#undef ADD

  return g_test_run ();
}
