/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <sluice/sluice.h>

static char *
read_all (GInputStream *stream)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();
  gssize n;

  n = g_output_stream_splice (out, stream, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, >=, 0);
  if (g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (out)) == 0)
    return g_strdup ("");
  return g_strndup (g_memory_output_stream_get_data (G_MEMORY_OUTPUT_STREAM (out)),
                    g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (out)));
}

static void
test_empty (void)
{
  g_autoptr(SluiceMessage) message = sluice_message_new ();
  g_autoptr(GInputStream) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  g_assert_false (sluice_message_is_streamed (message));
  g_assert_cmpint (sluice_message_get_length (message), ==, 0);
  g_assert_nonnull (sluice_message_get_bytes (message));
  g_assert_cmpuint (g_bytes_get_size (sluice_message_get_bytes (message)), ==, 0);
  g_assert_null (sluice_message_get_stream (message));
  g_assert_null (sluice_message_get_content_type (message));
  g_assert_cmpuint (sluice_message_get_attempt (message), ==, 0);

  body = sluice_message_open_body (message);
  text = read_all (body);
  g_assert_cmpstr (text, ==, "");

  g_assert_null (sluice_message_get_json (message, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA);
}

static void
test_bytes (void)
{
  g_autoptr(GBytes) bytes = g_bytes_new_static ("a,b\n1,2\n", 8);
  g_autoptr(SluiceMessage) message = sluice_message_new_bytes (bytes, "text/csv");
  g_autoptr(GInputStream) first = NULL;
  g_autoptr(GInputStream) second = NULL;
  g_autofree char *text1 = NULL;
  g_autofree char *text2 = NULL;

  g_assert_true (sluice_message_get_bytes (message) == bytes);
  g_assert_cmpint (sluice_message_get_length (message), ==, 8);
  g_assert_cmpstr (sluice_message_get_content_type (message), ==, "text/csv");

  /* every open gives a new stream from the start */
  first = sluice_message_open_body (message);
  second = sluice_message_open_body (message);
  g_assert_true (first != second);
  text1 = read_all (first);
  text2 = read_all (second);
  g_assert_cmpstr (text1, ==, "a,b\n1,2\n");
  g_assert_cmpstr (text2, ==, "a,b\n1,2\n");

  sluice_message_set_content_type (message, "text/plain");
  g_assert_cmpstr (sluice_message_get_content_type (message), ==, "text/plain");
  sluice_message_set_bytes (message, NULL);
  g_assert_cmpint (sluice_message_get_length (message), ==, 0);
}

static void
test_take_string (void)
{
  g_autoptr(SluiceMessage) message = sluice_message_new_take_string (g_strdup ("hello"), "text/plain");
  GBytes *bytes = sluice_message_get_bytes (message);

  g_assert_cmpuint (g_bytes_get_size (bytes), ==, 5);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), 5, "hello", 5);
  g_assert_cmpint (sluice_message_get_length (message), ==, 5);
}

static void
test_json_lazy_bytes (void)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(SluiceMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  GBytes *bytes;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "n");
  json_builder_add_int_value (builder, 42);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);

  message = sluice_message_new_json (node);
  g_assert_cmpstr (sluice_message_get_content_type (message), ==, "application/json");

  /* the tree itself is the body */
  g_assert_true (sluice_message_get_json (message, &error) == node);
  g_assert_no_error (error);

  bytes = sluice_message_get_bytes (message);
  g_assert_nonnull (bytes);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), "{\"n\":42}", 8);
  /* serialized once and kept */
  g_assert_true (sluice_message_get_bytes (message) == bytes);
  g_assert_cmpint (sluice_message_get_length (message), ==, 8);
  g_assert_true (sluice_message_get_json (message, NULL) == node);

  /* set_json replaces a bytes body, dropping the cached serialization */
  {
    g_autoptr(SluiceMessage) other = sluice_message_new_take_string (g_strdup ("[1]"), "application/json");
    GBytes *other_bytes;

    sluice_message_set_json (other, node);
    g_assert_true (sluice_message_get_json (other, NULL) == node);
    other_bytes = sluice_message_get_bytes (other);
    g_assert_cmpmem (g_bytes_get_data (other_bytes, NULL), g_bytes_get_size (other_bytes),
                     "{\"n\":42}", 8);
  }
}

static void
test_json_lazy_parse (void)
{
  g_autoptr(SluiceMessage) message =
    sluice_message_new_take_string (g_strdup ("{\"orders\": [1, 2, 3]}"), "application/json");
  g_autoptr(GError) error = NULL;
  JsonNode *node;
  JsonNode *again;

  node = sluice_message_get_json (message, &error);
  g_assert_no_error (error);
  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (json_node_get_object (node), "orders")), ==, 3);

  /* parsed once and kept */
  again = sluice_message_get_json (message, &error);
  g_assert_true (again == node);

  /* a new body invalidates the parsed tree */
  {
    g_autoptr(GBytes) seven = g_bytes_new_static ("7", 1);

    sluice_message_set_bytes (message, seven);
  }
  node = sluice_message_get_json (message, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_node_get_int (node), ==, 7);
}

static void
test_json_invalid (void)
{
  g_autoptr(SluiceMessage) message = sluice_message_new_take_string (g_strdup ("{\"a\": "), NULL);
  g_autoptr(GError) error = NULL;

  g_assert_null (sluice_message_get_json (message, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA);
  g_assert_cmpstr (error->message, !=, "");
  g_assert_false (sluice_error_is_retryable (error));
}

static void
test_stream (void)
{
  g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_data ("line1\nline2\n", 12, NULL);
  g_autoptr(SluiceMessage) message = sluice_message_new_stream (stream, 12, "text/plain");
  g_autoptr(SluiceMessage) unknown = sluice_message_new_stream (stream, -1, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) body = NULL;
  g_autofree char *text = NULL;

  g_assert_true (sluice_message_is_streamed (message));
  g_assert_cmpint (sluice_message_get_length (message), ==, 12);
  g_assert_cmpint (sluice_message_get_length (unknown), ==, -1);
  g_assert_true (sluice_message_get_stream (message) == stream);
  g_assert_null (sluice_message_get_bytes (message));

  g_assert_null (sluice_message_get_json (message, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE);
  g_assert_cmpstr (error->message, ==, "message body is a stream; split it first");

  body = sluice_message_open_body (message);
  g_assert_true (body == stream);
  text = read_all (body);
  g_assert_cmpstr (text, ==, "line1\nline2\n");

  /* replacing the body with bytes ends the stream body */
  {
    g_autoptr(GBytes) x = g_bytes_new_static ("x", 1);

    sluice_message_set_bytes (message, x);
  }
  g_assert_false (sluice_message_is_streamed (message));
  g_assert_null (sluice_message_get_stream (message));
  g_assert_cmpint (sluice_message_get_length (message), ==, 1);
}

static void
test_id (void)
{
  g_autoptr(SluiceMessage) a = sluice_message_new ();
  g_autoptr(SluiceMessage) b = sluice_message_new ();
  const char *id;

  id = sluice_message_get_id (a);
  g_assert_true (g_uuid_string_is_valid (id));
  /* stable once generated */
  g_assert_true (sluice_message_get_id (a) == id);
  g_assert_cmpstr (sluice_message_get_id (b), !=, id);

  sluice_message_set_id (a, "broker-17");
  g_assert_cmpstr (sluice_message_get_id (a), ==, "broker-17");
  sluice_message_set_id (a, NULL);
  g_assert_true (g_uuid_string_is_valid (sluice_message_get_id (a)));
}

static void
test_headers (void)
{
  g_autoptr(SluiceMessage) message = sluice_message_new ();
  GHashTable *headers;

  g_assert_null (sluice_message_get_header (message, "x-a"));
  g_assert_false (sluice_message_remove_header (message, "x-a"));

  headers = sluice_message_get_headers (message);
  g_assert_nonnull (headers);
  g_assert_cmpuint (g_hash_table_size (headers), ==, 0);

  sluice_message_set_header (message, "x-a", "1");
  sluice_message_set_header (message, "x-b", "2");
  sluice_message_set_header (message, "x-a", "3");
  g_assert_cmpstr (sluice_message_get_header (message, "x-a"), ==, "3");
  g_assert_null (sluice_message_get_header (message, "X-A"));
  g_assert_cmpuint (g_hash_table_size (sluice_message_get_headers (message)), ==, 2);

  g_assert_true (sluice_message_remove_header (message, "x-a"));
  g_assert_null (sluice_message_get_header (message, "x-a"));
  sluice_message_set_header (message, "x-b", NULL);
  g_assert_cmpuint (g_hash_table_size (sluice_message_get_headers (message)), ==, 0);

  sluice_message_set_attempt (message, 3);
  g_assert_cmpuint (sluice_message_get_attempt (message), ==, 3);
}

/* Messages keep a few headers in a short list and switch to a table when
 * there are more or when someone asks for the table: every path must agree
 * with a reference table, whatever the order of operations. */
static void
test_headers_list_and_table (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (4242);

  for (guint round = 0; round < 200; round++)
    {
      g_autoptr(SluiceMessage) message = sluice_message_new ();
      g_autoptr(GHashTable) reference = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                               g_free);
      g_autoptr(SluiceMessage) child = NULL;
      GHashTable *table;

      for (guint op = 0; op < 40; op++)
        {
          g_autofree char *name = g_strdup_printf ("h%u", g_rand_int_range (rand, 0, 9));
          g_autofree char *value = g_strdup_printf ("v%u", g_rand_int (rand));

          switch (g_rand_int_range (rand, 0, 5))
            {
            case 0:
            case 1:
              sluice_message_set_header (message, name, value);
              g_hash_table_replace (reference, g_strdup (name), g_strdup (value));
              break;
            case 2:
              g_assert_cmpint (sluice_message_remove_header (message, name), ==,
                               g_hash_table_remove (reference, name));
              break;
            case 3:
              sluice_message_set_header (message, name, NULL);
              g_hash_table_remove (reference, name);
              break;
            default:
              /* asking for the table in the middle must not lose anything */
              g_assert_cmpuint (g_hash_table_size (sluice_message_get_headers (message)), ==,
                                g_hash_table_size (reference));
              break;
            }
          g_assert_cmpstr (sluice_message_get_header (message, name), ==,
                           g_hash_table_lookup (reference, name));
        }

      child = sluice_message_new_child (message);
      table = sluice_message_get_headers (message);
      g_assert_cmpuint (g_hash_table_size (table), ==, g_hash_table_size (reference));
      for (guint i = 0; i < 9; i++)
        {
          g_autofree char *name = g_strdup_printf ("h%u", i);

          g_assert_cmpstr (g_hash_table_lookup (table, name), ==,
                           g_hash_table_lookup (reference, name));
          g_assert_cmpstr (sluice_message_get_header (child, name), ==,
                           g_hash_table_lookup (reference, name));
        }
    }
}

static void
test_child (void)
{
  g_autoptr(SluiceMessage) parent = sluice_message_new_take_string (g_strdup ("body"), "text/plain");
  g_autoptr(SluiceMessage) child = NULL;
  const char *traceparent;

  sluice_message_set_header (parent, "tenant", "acme");
  sluice_message_set_attempt (parent, 4);
  traceparent = sluice_message_ensure_traceparent (parent);

  child = sluice_message_new_child (parent);
  g_assert_cmpstr (sluice_message_get_header (child, "tenant"), ==, "acme");
  g_assert_cmpstr (sluice_message_get_traceparent (child), ==, traceparent);
  g_assert_cmpuint (sluice_message_get_attempt (child), ==, 0);
  g_assert_cmpint (sluice_message_get_length (child), ==, 0);
  g_assert_null (sluice_message_get_content_type (child));
  g_assert_cmpstr (sluice_message_get_id (child), !=, sluice_message_get_id (parent));

  /* the headers are copied, not shared */
  sluice_message_set_header (child, "tenant", "other");
  g_assert_cmpstr (sluice_message_get_header (parent, "tenant"), ==, "acme");
}

static void
test_traceparent (void)
{
  static const char *valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  static const char * const invalid[] = {
    "",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
    "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
    "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
  };
  g_autoptr(SluiceMessage) message = sluice_message_new ();
  g_autofree char *trace_id = NULL;

  g_assert_null (sluice_message_get_traceparent (message));
  g_assert_null (sluice_message_dup_trace_id (message));

  g_assert_true (sluice_message_set_traceparent (message, valid));
  g_assert_cmpstr (sluice_message_get_traceparent (message), ==, valid);

  for (gsize i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_test_message ("traceparent '%s'", invalid[i]);
      g_assert_false (sluice_message_set_traceparent (message, invalid[i]));
      /* the old value stays */
      g_assert_cmpstr (sluice_message_get_traceparent (message), ==, valid);
    }

  trace_id = sluice_message_dup_trace_id (message);
  g_assert_cmpstr (trace_id, ==, "4bf92f3577b34da6a3ce929d0e0e4736");

  /* ensure keeps an existing one */
  g_assert_cmpstr (sluice_message_ensure_traceparent (message), ==, valid);

  g_assert_true (sluice_message_set_traceparent (message, NULL));
  g_assert_null (sluice_message_get_traceparent (message));
}

static void
test_traceparent_generated (void)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(SluiceMessage) message = sluice_message_new ();
      g_autoptr(SluiceMessage) check = sluice_message_new ();
      const char *traceparent = sluice_message_ensure_traceparent (message);
      g_autofree char *trace_id = sluice_message_dup_trace_id (message);

      g_assert_cmpuint (strlen (traceparent), ==, 55);
      g_assert_true (g_str_has_prefix (traceparent, "00-"));
      g_assert_true (g_str_has_suffix (traceparent, "-01"));
      /* what we generate we also accept */
      g_assert_true (sluice_message_set_traceparent (check, traceparent));
      g_assert_cmpuint (strlen (trace_id), ==, 32);
      g_assert_true (g_hash_table_add (seen, g_steal_pointer (&trace_id)));
    }
}

static void
iter_next_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static SluiceMessage *
iter_next_sync (SluiceMessageIter *iter,
                GError           **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  sluice_message_iter_next_async (iter, NULL, iter_next_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return sluice_message_iter_next_finish (iter, result, error);
}

static void
test_iter_array (void)
{
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(SluiceMessageIter) async_iter = NULL;
  g_autoptr(SluiceMessageIter) ready_iter = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ready = FALSE;

  for (guint i = 0; i < 3; i++)
    {
      SluiceMessage *message = sluice_message_new ();

      sluice_message_set_attempt (message, i);
      g_ptr_array_add (messages, message);
    }

  async_iter = sluice_message_iter_new_array (messages);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(SluiceMessage) message = iter_next_sync (async_iter, &error);

      g_assert_no_error (error);
      g_assert_true (message == g_ptr_array_index (messages, i));
    }
  g_assert_null (iter_next_sync (async_iter, &error));
  g_assert_no_error (error);
  /* the end stays the end */
  g_assert_null (iter_next_sync (async_iter, &error));
  g_assert_no_error (error);

  ready_iter = sluice_message_iter_new_array (messages);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(SluiceMessage) message = sluice_message_iter_pop_ready (ready_iter, &ready);

      g_assert_true (ready);
      g_assert_true (message == g_ptr_array_index (messages, i));
    }
  ready = FALSE;
  g_assert_null (sluice_message_iter_pop_ready (ready_iter, &ready));
  g_assert_true (ready);
}

static void
test_iter_single_empty (void)
{
  g_autoptr(SluiceMessage) message = sluice_message_new ();
  g_autoptr(SluiceMessageIter) single = sluice_message_iter_new_single (message);
  g_autoptr(SluiceMessageIter) empty = sluice_message_iter_new_empty ();
  g_autoptr(SluiceMessage) first = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ready = FALSE;

  first = iter_next_sync (single, &error);
  g_assert_no_error (error);
  g_assert_true (first == message);
  g_assert_null (sluice_message_iter_pop_ready (single, &ready));
  g_assert_true (ready);

  g_assert_null (iter_next_sync (empty, &error));
  g_assert_no_error (error);
}

/* A subclass without pop_ready: the wrapper says "not ready". */
#define TEST_TYPE_LAZY_ITER (test_lazy_iter_get_type ())
G_DECLARE_FINAL_TYPE (TestLazyIter, test_lazy_iter, TEST, LAZY_ITER, SluiceMessageIter)

struct _TestLazyIter
{
  SluiceMessageIter parent_instance;
  guint             left;
};

G_DEFINE_FINAL_TYPE (TestLazyIter, test_lazy_iter, SLUICE_TYPE_MESSAGE_ITER)

static void
test_lazy_iter_next_async (SluiceMessageIter  *iter,
                           GCancellable       *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer            user_data)
{
  TestLazyIter *self = TEST_LAZY_ITER (iter);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  if (self->left == 0)
    {
      g_task_return_pointer (task, NULL, NULL);
      return;
    }
  self->left--;
  g_task_return_pointer (task, sluice_message_new (), g_object_unref);
}

static SluiceMessage *
test_lazy_iter_next_finish (SluiceMessageIter *iter,
                            GAsyncResult      *result,
                            GError           **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
test_lazy_iter_class_init (TestLazyIterClass *klass)
{
  SluiceMessageIterClass *iter_class = SLUICE_MESSAGE_ITER_CLASS (klass);

  iter_class->next_async = test_lazy_iter_next_async;
  iter_class->next_finish = test_lazy_iter_next_finish;
}

static void
test_lazy_iter_init (TestLazyIter *self)
{
  self->left = 2;
}

static void
test_iter_subclass (void)
{
  g_autoptr(SluiceMessageIter) iter = g_object_new (TEST_TYPE_LAZY_ITER, NULL);
  g_autoptr(GError) error = NULL;
  gboolean ready = TRUE;
  guint n = 0;

  g_assert_null (sluice_message_iter_pop_ready (iter, &ready));
  g_assert_false (ready);

  for (;;)
    {
      g_autoptr(SluiceMessage) message = iter_next_sync (iter, &error);

      g_assert_no_error (error);
      if (message == NULL)
        break;
      n++;
    }
  g_assert_cmpuint (n, ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_summary ("SluiceMessage bodies, headers, ids and trace context; SluiceMessageIter");

  g_test_add_func ("/message/body/none", test_empty);
  g_test_add_func ("/message/body/bytes", test_bytes);
  g_test_add_func ("/message/body/take-string", test_take_string);
  g_test_add_func ("/message/body/json-serialized-lazily", test_json_lazy_bytes);
  g_test_add_func ("/message/body/bytes-parsed-lazily", test_json_lazy_parse);
  g_test_add_func ("/message/body/invalid-json", test_json_invalid);
  g_test_add_func ("/message/body/stream", test_stream);
  g_test_add_func ("/message/id/generated-once", test_id);
  g_test_add_func ("/message/headers/set-get-remove", test_headers);
  g_test_add_func ("/message/headers/list-and-table-agree", test_headers_list_and_table);
  g_test_add_func ("/message/child/inherits-headers-and-trace", test_child);
  g_test_add_func ("/message/traceparent/validated", test_traceparent);
  g_test_add_func ("/message/traceparent/generated", test_traceparent_generated);
  g_test_add_func ("/message-iter/array/in-order", test_iter_array);
  g_test_add_func ("/message-iter/single-and-empty", test_iter_single_empty);
  g_test_add_func ("/message-iter/subclass-without-pop-ready", test_iter_subclass);

  return g_test_run ();
}
