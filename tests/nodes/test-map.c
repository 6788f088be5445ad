/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

#include "node-test-util.h"
#include "sluice-map-step.h"
#include "sluice-schema.h"

static SluiceStep *
create_map (NodeFixture *fixture,
            const char  *config_json)
{
  g_autoptr(GError) error = NULL;
  GObject *step = node_fixture_create (fixture, "core.map", config_json, &error);

  g_assert_no_error (error);
  g_assert_true (SLUICE_IS_MAP_STEP (step));
  g_assert_true (SLUICE_IS_STEP (step));
  return SLUICE_STEP (step);
}

/* Maps @body with @config_json and returns the one output's body. */
static char *
map_body (NodeFixture *fixture,
          const char  *config_json,
          const char  *body)
{
  g_autoptr(SluiceStep) step = create_map (fixture, config_json);
  g_autoptr(SluiceMessage) input = sluice_message_new_take_string (g_strdup (body), "application/json");
  g_autoptr(GPtrArray) output = NULL;
  g_autoptr(GError) error = NULL;

  output = node_fixture_process (fixture, step, input, &error);
  g_assert_no_error (error);
  g_assert_nonnull (output);
  g_assert_cmpuint (output->len, ==, 1);
  return node_message_body_to_string (g_ptr_array_index (output, 0));
}

static void
assert_map_fails (NodeFixture *fixture,
                  const char  *config_json,
                  SluiceMessage *input,
                  const char  *expected_message)
{
  g_autoptr(SluiceStep) step = create_map (fixture, config_json);
  g_autoptr(GPtrArray) output = NULL;
  g_autoptr(GError) error = NULL;

  output = node_fixture_process (fixture, step, input, &error);
  g_assert_null (output);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA);
  g_assert_cmpstr (error->message, ==, expected_message);
  g_assert_false (sluice_error_is_retryable (error));
}

static void
assert_config_refused (NodeFixture *fixture,
                       const char  *config_json,
                       const char  *expected_message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GObject) step = node_fixture_create (fixture, "core.map", config_json, &error);

  g_assert_null (step);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
  g_assert_cmpstr (error->message, ==, expected_message);
}

static void
test_schema_is_valid (NodeFixture  *fixture,
                      gconstpointer user_data)
{
  g_autoptr(JsonNode) schema = node_parse_json (sluice_map_step_schema);
  g_autoptr(GError) error = NULL;

  g_assert_true (sluice_schema_check (schema, &error));
  g_assert_no_error (error);
}

static void
test_spec_kinds (NodeFixture  *fixture,
                 gconstpointer user_data)
{
  g_autoptr(SluiceStep) step = create_map (fixture,
    "{\"fields\": {"
    "  \"id\": \"$.order.id\","
    "  \"lines\": \"$.order.lines\","
    "  \"source\": {\"const\": {\"system\": \"shop\", \"v\": [1, 2]}},"
    "  \"kind\": {\"header\": \"X-Kind\"},"
    "  \"absent_header\": {\"header\": \"X-None\"},"
    "  \"label\": {\"concat\": [\"$.order.id\", {\"const\": \"/\"}, {\"header\": \"X-Kind\"}]}}}");
  g_autoptr(SluiceMessage) input = sluice_message_new_take_string (
    g_strdup ("{\"order\": {\"id\": \"A-7\", \"lines\": [{\"sku\": \"x\"}], \"secret\": 1}}"), "application/json");
  g_autoptr(GPtrArray) output = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;
  SluiceMessage *result;

  sluice_message_set_header (input, "X-Kind", "order");

  output = node_fixture_process (fixture, step, input, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (output->len, ==, 1);
  result = g_ptr_array_index (output, 0);

  body = node_message_body_to_string (result);
  g_assert_cmpstr (body, ==,
                   "{\"id\":\"A-7\",\"lines\":[{\"sku\":\"x\"}],\"source\":{\"system\":\"shop\",\"v\":[1,2]},"
                   "\"kind\":\"order\",\"absent_header\":null,\"label\":\"A-7/order\"}");

  /* A child of the input: a new message that keeps headers and trace. */
  g_assert_true (result != input);
  g_assert_cmpstr (sluice_message_get_header (result, "X-Kind"), ==, "order");
  g_assert_cmpstr (sluice_message_get_traceparent (result), ==, sluice_message_get_traceparent (input));
  g_assert_cmpstr (sluice_message_get_content_type (result), ==, "application/json");
  g_assert_false (sluice_message_is_streamed (result));
}

static void
test_output_is_deep_copy (NodeFixture  *fixture,
                          gconstpointer user_data)
{
  g_autoptr(SluiceStep) step = create_map (fixture, "{\"fields\": {\"lines\": \"$.lines\"}}");
  g_autoptr(SluiceMessage) input = sluice_message_new_take_string (g_strdup ("{\"lines\": [1, 2]}"),
                                                                   "application/json");
  g_autoptr(GPtrArray) first = NULL;
  g_autoptr(GPtrArray) second = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *input_lines, *first_lines, *second_lines;

  first = node_fixture_process (fixture, step, input, &error);
  g_assert_no_error (error);
  second = node_fixture_process (fixture, step, input, &error);
  g_assert_no_error (error);

  input_lines = json_object_get_array_member (json_node_get_object (sluice_message_get_json (input, NULL)), "lines");
  first_lines = json_object_get_array_member (
    json_node_get_object (sluice_message_get_json (g_ptr_array_index (first, 0), NULL)), "lines");
  second_lines = json_object_get_array_member (
    json_node_get_object (sluice_message_get_json (g_ptr_array_index (second, 0), NULL)), "lines");

  /* No output shares a container with the input or with another output. */
  g_assert_true (first_lines != input_lines);
  g_assert_true (second_lines != first_lines);
  g_assert_true (json_array_equal (first_lines, input_lines));
  g_assert_true (g_ptr_array_index (first, 0) != g_ptr_array_index (second, 0));
}

static void
test_nested_output_keys (NodeFixture  *fixture,
                         gconstpointer user_data)
{
  g_autofree char *body = map_body (fixture,
    "{\"fields\": {\"customer.id\": \"$.cust\", \"customer.name\": \"$.name\","
    "              \"meta.source.system\": {\"const\": \"crm\"}, \"flat\": {\"const\": 1}}}",
    "{\"cust\": 42, \"name\": \"Ann\"}");

  g_assert_cmpstr (body, ==,
                   "{\"customer\":{\"id\":42,\"name\":\"Ann\"},\"meta\":{\"source\":{\"system\":\"crm\"}},\"flat\":1}");
}

static void
test_merge (NodeFixture  *fixture,
            gconstpointer user_data)
{
  g_autoptr(SluiceStep) step = create_map (fixture,
    "{\"merge\": true, \"fields\": {\"status\": {\"const\": \"seen\"}, \"customer.tier\": {\"const\": \"gold\"},"
    "                              \"copy\": \"$.id\"}}");
  g_autoptr(SluiceMessage) input = sluice_message_new_take_string (
    g_strdup ("{\"id\": 7, \"status\": \"new\", \"customer\": {\"id\": 3}, \"tags\": [\"a\"]}"), "application/json");
  g_autoptr(GPtrArray) output = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *result = NULL;
  g_autofree char *original = NULL;

  output = node_fixture_process (fixture, step, input, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (output->len, ==, 1);

  result = node_message_body_to_string (g_ptr_array_index (output, 0));
  g_assert_cmpstr (result, ==,
                   "{\"id\":7,\"status\":\"seen\",\"customer\":{\"id\":3,\"tier\":\"gold\"},\"tags\":[\"a\"],\"copy\":7}");

  /* The input's own tree is left as it was. */
  original = node_message_body_to_string (input);
  g_assert_cmpstr (original, ==, "{\"id\":7,\"status\":\"new\",\"customer\":{\"id\":3},\"tags\":[\"a\"]}");
}

static void
test_merge_replaces_scalar_in_the_way (NodeFixture  *fixture,
                                       gconstpointer user_data)
{
  g_autofree char *body = map_body (fixture,
    "{\"merge\": true, \"fields\": {\"customer.id\": \"$.customer\"}}",
    "{\"customer\": \"C-1\"}");

  g_assert_cmpstr (body, ==, "{\"customer\":{\"id\":\"C-1\"}}");
}

static void
test_merge_needs_object (NodeFixture  *fixture,
                         gconstpointer user_data)
{
  const char *config = "{\"merge\": true, \"fields\": {\"a\": {\"const\": 1}}}";
  g_autoptr(SluiceMessage) array = sluice_message_new_take_string (g_strdup ("[1, 2]"), "application/json");
  g_autoptr(SluiceMessage) text = sluice_message_new_take_string (g_strdup ("a,b\n"), "text/csv");

  assert_map_fails (fixture, config, array, "map: input body is not a JSON object");
  assert_map_fails (fixture, config, text, "map: input body is not a JSON object");
}

static void
test_non_json_input (NodeFixture  *fixture,
                     gconstpointer user_data)
{
  g_autoptr(SluiceMessage) text = sluice_message_new_take_string (g_strdup ("a,b\n"), "text/csv");
  g_autoptr(SluiceMessage) array = sluice_message_new_take_string (g_strdup ("[{\"id\": 5}]"), "application/json");
  g_autoptr(SluiceStep) step = create_map (fixture, "{\"fields\": {\"a\": \"$.a\"}}");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) output = NULL;
  g_autofree char *body = NULL;

  output = node_fixture_process (fixture, step, text, &error);
  g_assert_null (output);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA);
  g_assert_true (g_str_has_prefix (error->message, "map: input body is not JSON ("));

  /* Without merge, any JSON document is a fine root. */
  body = map_body (fixture, "{\"fields\": {\"id\": \"$[0].id\"}}", "[{\"id\": 5}]");
  g_assert_cmpstr (body, ==, "{\"id\":5}");
}

static void
test_body_not_needed (NodeFixture  *fixture,
                      gconstpointer user_data)
{
  g_autofree char *path = g_build_filename (fixture->tmpdir, "big.csv", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(SluiceMessage) input = NULL;
  g_autoptr(SluiceStep) step = create_map (fixture,
    "{\"fields\": {\"file\": {\"header\": \"X-File\"}, \"kind\": {\"const\": \"csv\"}}}");
  g_autoptr(GPtrArray) output = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;

  g_file_set_contents (path, "a,b\n1,2\n", -1, &error);
  g_assert_no_error (error);
  stream = g_file_read (file, NULL, &error);
  g_assert_no_error (error);
  input = sluice_message_new_stream (G_INPUT_STREAM (stream), -1, "text/csv");
  sluice_message_set_header (input, "X-File", "big.csv");

  /* Only constants and headers: the streamed body is never touched. */
  output = node_fixture_process (fixture, step, input, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (output->len, ==, 1);
  body = node_message_body_to_string (g_ptr_array_index (output, 0));
  g_assert_cmpstr (body, ==, "{\"file\":\"big.csv\",\"kind\":\"csv\"}");
  g_assert_cmpint (g_seekable_tell (G_SEEKABLE (stream)), ==, 0);
}

static void
test_streamed_input_with_paths (NodeFixture  *fixture,
                                gconstpointer user_data)
{
  g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_data ("{\"a\": 1}", 8, NULL);
  g_autoptr(SluiceMessage) input = sluice_message_new_stream (stream, 8, "application/json");

  assert_map_fails (fixture, "{\"fields\": {\"a\": \"$.a\"}}", input,
                    "map: input body is a stream; split it before map");
  g_assert_cmpint (g_seekable_tell (G_SEEKABLE (stream)), ==, 0);
}

static void
test_missing_policies (NodeFixture  *fixture,
                       gconstpointer user_data)
{
  const char *body = "{\"a\": 1}";
  g_autofree char *as_null = map_body (fixture, "{\"fields\": {\"a\": \"$.a\", \"b\": \"$.b.c\"}}", body);
  g_autofree char *as_null_explicit = map_body (fixture,
    "{\"missing\": \"null\", \"fields\": {\"a\": \"$.a\", \"b\": \"$.b.c\"}}", body);
  g_autofree char *omitted = map_body (fixture,
    "{\"missing\": \"omit\", \"fields\": {\"a\": \"$.a\", \"b\": \"$.b.c\", \"x.y\": \"$.nope\"}}", body);
  g_autoptr(SluiceMessage) input = sluice_message_new_take_string (g_strdup (body), "application/json");

  g_assert_cmpstr (as_null, ==, "{\"a\":1,\"b\":null}");
  g_assert_cmpstr (as_null_explicit, ==, "{\"a\":1,\"b\":null}");
  g_assert_cmpstr (omitted, ==, "{\"a\":1}");
  assert_map_fails (fixture, "{\"missing\": \"error\", \"fields\": {\"a\": \"$.a\", \"customer.id\": \"$.cust.id\"}}",
                    input, "map: key 'customer.id': path '$.cust.id' matched nothing");
}

static void
test_concat (NodeFixture  *fixture,
             gconstpointer user_data)
{
  g_autofree char *body = map_body (fixture,
    "{\"fields\": {\"text\": {\"concat\": [\"$.s\", {\"const\": \"/\"}, \"$.i\", {\"const\": \"/\"}, \"$.d\","
    "                                       {\"const\": \"/\"}, \"$.b\", {\"const\": \"|\"}, \"$.n\","
    "                                       {\"header\": \"X-None\"}, {\"const\": \"|\"}, {\"const\": 2.5}]}}}",
    "{\"s\": \"x\", \"i\": -3, \"d\": 0.1, \"b\": true, \"n\": null}");
  g_autoptr(SluiceMessage) partial = sluice_message_new_take_string (g_strdup ("{\"a\": \"x\"}"),
                                                                     "application/json");
  g_autofree char *missing = map_body (fixture,
    "{\"missing\": \"omit\", \"fields\": {\"a\": \"$.a\", \"t\": {\"concat\": [\"$.a\", \"$.b\"]}}}",
    "{\"a\": \"x\"}");

  /* Numbers in their shortest form, booleans as words, null (a JSON null
   * or an absent header) as nothing. */
  g_assert_cmpstr (body, ==, "{\"text\":\"x/-3/0.1/true||2.5\"}");

  /* A part that matches nothing makes the whole value missing. */
  g_assert_cmpstr (missing, ==, "{\"a\":\"x\"}");
  assert_map_fails (fixture, "{\"missing\": \"error\", \"fields\": {\"t\": {\"concat\": [\"$.a\", \"$.b\"]}}}",
                    partial, "map: key 't': path '$.b' matched nothing");
}

static void
test_concat_needs_scalars (NodeFixture  *fixture,
                           gconstpointer user_data)
{
  g_autoptr(SluiceMessage) input = sluice_message_new_take_string (g_strdup ("{\"a\": \"x\", \"o\": {\"k\": 1}}"),
                                                                   "application/json");

  assert_map_fails (fixture, "{\"fields\": {\"t\": {\"concat\": [\"$.a\", \"$.o\"]}}}", input,
                    "map: key 't': concat[1] is an object, not a scalar");
}

static void
test_config_refused (NodeFixture  *fixture,
                     gconstpointer user_data)
{
  assert_config_refused (fixture, "{}", "map: fields: missing required key");
  assert_config_refused (fixture, "{\"fields\": {}}", "map: fields: must have at least 1 field");
  assert_config_refused (fixture, "{\"fields\": {\"a\": \"$.a\"}, \"missing\": \"skip\", \"merge\": \"yes\"}",
                         "map: missing: must be one of: null, omit, error; merge: expected a boolean, got a string");
  assert_config_refused (fixture, "{\"fields\": {\"a\": \"$.a\"}, \"mode\": 1}",
                         "map: mode: unknown key (expected one of: fields, merge, missing)");
  assert_config_refused (fixture, "{\"fields\": {\"a\": 1}}",
                         "map: fields.a: expected a string or an object, got an integer");
  assert_config_refused (fixture,
                         "{\"fields\": {\"a\": \"a\", \"b\": \"$['b\", \"c\": {\"const\": 1, \"header\": \"X\"},"
                         "              \"d\": {\"concat\": []}, \"e\": {\"header\": 5}, \"f\": {\"literal\": 1},"
                         "              \"g\": {\"concat\": [\"$.x\", {\"const\": [1]}]}}}",
                         "map: fields.a: 'a' is not a valid JSONPath (a JSONPath starts with '$'); "
                         "fields.b: '$['b' is not a valid JSONPath (unterminated ['name'] subscript); "
                         "fields.c: expected a JSONPath string or one of {\"const\": value}, {\"header\": name}, "
                         "{\"concat\": [...]}, got an object with other keys; "
                         "fields.d.concat: expected a non-empty array, got an empty array; "
                         "fields.e.header: expected a header name, got an integer; "
                         "fields.f.literal: unknown key (expected one of: const, header, concat); "
                         "fields.g.concat[1].const: concat joins scalars, got an array");
  assert_config_refused (fixture, "{\"fields\": {\"a..b\": \"$.a\", \"c.\": \"$.c\"}}",
                         "map: fields.a..b: 'a..b' is not a valid output key (empty part between dots); "
                         "fields.c.: 'c.' is not a valid output key (empty part between dots)");
  assert_config_refused (fixture, "{\"fields\": {\"\": \"$.id\"}}", "map: fields: an output key may not be empty");
  assert_config_refused (fixture, "{\"fields\": {\"customer.id\": \"$.id\", \"customer\": {\"const\": {}}}}",
                         "map: fields.customer.id: conflicts with 'customer', which sets the whole object");
}

static void
test_many_messages_one_instance (NodeFixture  *fixture,
                                 gconstpointer user_data)
{
  g_autoptr(SluiceStep) step = create_map (fixture, "{\"fields\": {\"n\": \"$.n\", \"twice\": {\"concat\": [\"$.n\", \"$.n\"]}}}");

  for (guint i = 0; i < 50; i++)
    {
      g_autofree char *text = g_strdup_printf ("{\"n\": %u}", i);
      g_autofree char *expected = g_strdup_printf ("{\"n\":%u,\"twice\":\"%u%u\"}", i, i, i);
      g_autoptr(SluiceMessage) input = sluice_message_new_take_string (g_steal_pointer (&text), "application/json");
      g_autoptr(GPtrArray) output = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *body = NULL;

      output = node_fixture_process (fixture, step, input, &error);
      g_assert_no_error (error);
      body = node_message_body_to_string (g_ptr_array_index (output, 0));
      g_assert_cmpstr (body, ==, expected);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_summary ("core.map through the SluiceStep interface: JSONPath, const, header and concat "
                  "values, nested output keys, merge, the missing-value policies, and refused configs.");

#define ADD(path, func) g_test_add (path, NodeFixture, NULL, node_fixture_set_up, func, node_fixture_tear_down)
  ADD ("/map/schema/passes-check", test_schema_is_valid);
  ADD ("/map/fields/path-const-header-concat", test_spec_kinds);
  ADD ("/map/fields/deep-copied", test_output_is_deep_copy);
  ADD ("/map/fields/nested-output-keys", test_nested_output_keys);
  ADD ("/map/merge/overrides-and-keeps-input", test_merge);
  ADD ("/map/merge/replaces-scalar-in-the-way", test_merge_replaces_scalar_in_the_way);
  ADD ("/map/merge/needs-json-object", test_merge_needs_object);
  ADD ("/map/input/not-json", test_non_json_input);
  ADD ("/map/input/body-not-needed", test_body_not_needed);
  ADD ("/map/input/stream-with-paths", test_streamed_input_with_paths);
  ADD ("/map/missing/null-omit-error", test_missing_policies);
  ADD ("/map/concat/scalars-to-text", test_concat);
  ADD ("/map/concat/refuses-containers", test_concat_needs_scalars);
  ADD ("/map/config/refused", test_config_refused);
  ADD ("/map/instance/serves-many-messages", test_many_messages_one_instance);
#undef ADD

  return g_test_run ();
}
