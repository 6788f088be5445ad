/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

#include "node-test-util.h"
#include "sluice-filter-step.h"
#include "sluice-schema.h"

static SluiceStep *
create_filter (NodeFixture *fixture,
               const char  *config_json)
{
  g_autoptr(GError) error = NULL;
  GObject *step = node_fixture_create (fixture, "core.filter", config_json, &error);

  g_assert_no_error (error);
  g_assert_true (SLUICE_IS_FILTER_STEP (step));
  g_assert_true (SLUICE_IS_STEP (step));
  return SLUICE_STEP (step);
}

static GPtrArray *
filter (NodeFixture   *fixture,
        SluiceStep    *step,
        SluiceMessage *message)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *output = node_fixture_process (fixture, step, message, &error);

  g_assert_no_error (error);
  g_assert_nonnull (output);
  return output;
}

static void
assert_config_refused (NodeFixture *fixture,
                       const char  *config_json,
                       const char  *expected_message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GObject) step = node_fixture_create (fixture, "core.filter", config_json, &error);

  g_assert_null (step);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
  g_assert_cmpstr (error->message, ==, expected_message);
}

static void
test_schema_is_valid (NodeFixture  *fixture,
                      gconstpointer user_data)
{
  g_autoptr(JsonNode) schema = node_parse_json (sluice_filter_step_schema);
  g_autoptr(GError) error = NULL;

  g_assert_true (sluice_schema_check (schema, &error));
  g_assert_no_error (error);
}

static void
test_passes_same_message (NodeFixture  *fixture,
                          gconstpointer user_data)
{
  g_autoptr(SluiceStep) step = create_filter (fixture,
    "{\"when\": {\"all\": [{\"field\": \"$.status\", \"equals\": \"paid\"}, {\"field\": \"$.total\", \"gt\": 100}]}}");
  g_autoptr(SluiceMessage) paid = sluice_message_new_take_string (
    g_strdup ("{\"status\": \"paid\", \"total\": 120.5}"), "application/json");
  g_autoptr(GPtrArray) output = NULL;
  g_autofree char *body = NULL;

  output = filter (fixture, step, paid);
  g_assert_cmpuint (output->len, ==, 1);
  /* Passed on unchanged: the very same message. */
  g_assert_true (g_ptr_array_index (output, 0) == paid);
  body = node_message_body_to_string (paid);
  g_assert_cmpstr (body, ==, "{\"status\":\"paid\",\"total\":120.5}");
}

static void
test_drops (NodeFixture  *fixture,
            gconstpointer user_data)
{
  g_autoptr(SluiceStep) step = create_filter (fixture, "{\"when\": {\"field\": \"$.total\", \"gt\": 100}}");
  g_autoptr(SluiceMessage) small = sluice_message_new_take_string (g_strdup ("{\"total\": 99}"), "application/json");
  g_autoptr(SluiceMessage) absent = sluice_message_new_take_string (g_strdup ("{}"), "application/json");
  g_autoptr(SluiceMessage) text = sluice_message_new_take_string (g_strdup ("total=500"), "text/plain");
  g_autoptr(GPtrArray) out_small = NULL;
  g_autoptr(GPtrArray) out_absent = NULL;
  g_autoptr(GPtrArray) out_text = NULL;

  out_small = filter (fixture, step, small);
  out_absent = filter (fixture, step, absent);
  out_text = filter (fixture, step, text);
  g_assert_cmpuint (out_small->len, ==, 0);
  g_assert_cmpuint (out_absent->len, ==, 0);
  g_assert_cmpuint (out_text->len, ==, 0);
}

static void
test_header_on_stream (NodeFixture  *fixture,
                       gconstpointer user_data)
{
  g_autoptr(SluiceStep) by_header = create_filter (fixture,
    "{\"when\": {\"header\": \"X-File\", \"matches\": \"\\\\.csv$\"}}");
  g_autoptr(SluiceStep) by_field = create_filter (fixture, "{\"when\": {\"field\": \"$.a\", \"exists\": true}}");
  g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_data ("{\"a\": 1}", 8, NULL);
  g_autoptr(SluiceMessage) message = sluice_message_new_stream (stream, 8, "application/json");
  g_autoptr(GPtrArray) passed = NULL;
  g_autoptr(GPtrArray) dropped = NULL;

  sluice_message_set_header (message, "X-File", "orders-1.csv");

  passed = filter (fixture, by_header, message);
  g_assert_cmpuint (passed->len, ==, 1);
  g_assert_true (g_ptr_array_index (passed, 0) == message);
  /* A field condition never reads a streamed body. */
  dropped = filter (fixture, by_field, message);
  g_assert_cmpuint (dropped->len, ==, 0);
  g_assert_cmpint (g_seekable_tell (G_SEEKABLE (stream)), ==, 0);
}

static void
test_config_refused (NodeFixture  *fixture,
                     gconstpointer user_data)
{
  assert_config_refused (fixture, "{}", "filter: when: missing required key");
  assert_config_refused (fixture, "{\"when\": \"$.a\"}", "filter: when: expected an object, got a string");
  assert_config_refused (fixture, "{\"when\": {\"field\": \"$.a\", \"exists\": true}, \"unless\": {}}",
                         "filter: unless: unknown key (expected one of: when)");
  assert_config_refused (fixture, "{\"when\": {\"field\": \"$.a\"}}",
                         "filter: when: missing an operator (one of: equals, in, gt, ge, lt, le, matches, exists)");
  assert_config_refused (fixture,
                         "{\"when\": {\"all\": [{\"field\": \"$.a\", \"gt\": \"x\"}, {\"header\": \"X\", \"lt\": 1},"
                         "                      {\"field\": \"$.b[\", \"exists\": true}]}}",
                         "filter: when.all[0].gt: expected a number, got a string; "
                         "when.all[1].lt: 'lt' compares numbers and headers are strings (use equals, in, matches or exists); "
                         "when.all[2].field: '$.b[' is not a valid JSONPath "
                         "(expected an index, a slice, '*' or a quoted name after '[')");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_summary ("core.filter through the SluiceStep interface: passes the same message when "
                  "its condition holds, emits nothing otherwise, and refuses bad conditions.");

#define ADD(path, func) g_test_add (path, NodeFixture, NULL, node_fixture_set_up, func, node_fixture_tear_down)
  ADD ("/filter/schema/passes-check", test_schema_is_valid);
  ADD ("/filter/pass/same-message", test_passes_same_message);
  ADD ("/filter/drop/emits-nothing", test_drops);
  ADD ("/filter/stream/header-condition-only", test_header_on_stream);
  ADD ("/filter/config/refused", test_config_refused);
#undef ADD

  return g_test_run ();
}
