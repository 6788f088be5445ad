/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

#include "sluice-builtins.h"
#include "sluice-workflow.h"
#include "test-components.h"

typedef struct {
  SluicePluginHost *host;
} Fixture;

static void
fixture_setup (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fixture->host = sluice_plugin_host_new ();
  g_assert_true (sluice_plugin_host_add_builtin (fixture->host, sluice_builtins_get_descriptor (),
                                                 &error));
  g_assert_no_error (error);
  g_assert_true (test_components_register (fixture->host, &error));
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->host);
}

/* Loads @json and returns the error message (the load must fail). */
static char *
load_error (Fixture *fixture, const char *json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceWorkflow) workflow =
    sluice_workflow_load_data (fixture->host, json, -1, "orders.json", &error);

  g_assert_null (workflow);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
  g_test_message ("%s", error->message);
  return g_strdup (error->message);
}

static void
test_valid (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceWorkflow) workflow = sluice_workflow_load_data (
    fixture->host,
    "{\"name\": \"orders\", \"concurrency\": 8,"
    " \"trigger\": {\"use\": \"core.manual\"},"
    " \"steps\": [{\"id\": \"a\", \"use\": \"test.flaky\", \"retry\": {\"attempts\": 3}},"
    "             {\"id\": \"b\", \"use\": \"split\", \"with\": {\"format\": \"jsonl\"}},"
    "             {\"id\": \"c\", \"use\": \"test.collect\"}]}",
    -1, "orders.json", &error);
  GPtrArray *nodes, *entries;
  SluiceWorkflowNode *a, *b;

  g_assert_no_error (error);
  g_assert_nonnull (workflow);
  g_assert_cmpstr (sluice_workflow_get_name (workflow), ==, "orders");
  g_assert_cmpuint (sluice_workflow_get_concurrency (workflow), ==, 8);

  /* Without edges the steps form a chain in the order listed; a bare name
   * finds the core component. */
  nodes = sluice_workflow_get_nodes (workflow);
  entries = sluice_workflow_get_entry_nodes (workflow);
  g_assert_cmpuint (nodes->len, ==, 3);
  g_assert_cmpuint (entries->len, ==, 1);
  a = g_ptr_array_index (nodes, 0);
  b = g_ptr_array_index (nodes, 1);
  g_assert_true (g_ptr_array_index (entries, 0) == a);
  g_assert_cmpuint (a->edges->len, ==, 1);
  g_assert_true (((SluiceWorkflowEdge *) g_ptr_array_index (a->edges, 0))->to == b);
  g_assert_cmpstr (sluice_component_factory_get_name (b->factory), ==, "core.split");
  g_assert_nonnull (a->retry);
  g_assert_cmpuint (sluice_retry_policy_get_max_attempts (a->retry), ==, 3);
  /* defaults are filled in */
  g_assert_cmpint (json_object_get_int_member (a->config, "fail_times"), ==, 0);
}

static void
test_default_name (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceWorkflow) workflow = sluice_workflow_load_data (
    fixture->host, "{\"trigger\": {\"use\": \"core.manual\"}, \"steps\": [{\"id\": \"a\", "
                   "\"use\": \"test.collect\"}]}", -1, "/etc/sluice/workflows/nightly.json",
    &error);

  g_assert_no_error (error);
  g_assert_cmpstr (sluice_workflow_get_name (workflow), ==, "nightly");
}

static void
test_broken_json (Fixture *fixture, gconstpointer data)
{
  g_autofree char *message = load_error (fixture, "{\n  \"name\": \"x\",\n  \"steps\": [,]\n}");

  g_assert_true (g_str_has_prefix (message, "orders.json:3:"));
}

static void
test_not_an_object (Fixture *fixture, gconstpointer data)
{
  g_autofree char *message = load_error (fixture, "[1, 2]");

  g_assert_nonnull (strstr (message, "orders.json: a workflow is a JSON object, got an array"));
}

static void
test_unknown_component (Fixture *fixture, gconstpointer data)
{
  g_autofree char *message = load_error (fixture,
    "{\n"
    "  \"trigger\": {\"use\": \"core.manual\"},\n"
    "  \"steps\": [\n"
    "    {\"id\": \"fetch\",\n"
    "     \"use\": \"sftp.nope\"}\n"
    "  ]\n"
    "}");

  g_assert_nonnull (strstr (message, "orders.json:5: node 'fetch', key 'use': unknown component "
                                     "'sftp.nope'"));
}

static void
test_wrong_kind (Fixture *fixture, gconstpointer data)
{
  g_autofree char *message = load_error (fixture,
    "{\"trigger\": {\"use\": \"test.collect\"}, \"steps\": [{\"id\": \"a\", \"use\": "
    "\"core.manual\"}]}");

  g_assert_nonnull (strstr (message, "node 'trigger', key 'use': component 'test.collect' is a "
                                     "step, not a trigger"));
  g_assert_nonnull (strstr (message, "node 'a', key 'use': component 'core.manual' is a "
                                     "trigger, not a step or source"));
}

static void
test_config_errors (Fixture *fixture, gconstpointer data)
{
  g_autofree char *message = load_error (fixture,
    "{\n"
    "  \"trigger\": {\"use\": \"core.manual\"},\n"
    "  \"steps\": [\n"
    "    {\"id\": \"a\", \"use\": \"test.emit\", \"with\": {\n"
    "      \"label\": 42,\n"
    "      \"colour\": \"red\"\n"
    "    }}\n"
    "  ]\n"
    "}");
  g_auto(GStrv) lines = g_strsplit (message, "\n", -1);

  /* Every problem is reported, each with file, line, node and key. */
  g_assert_cmpuint (g_strv_length (lines), ==, 3);
  g_assert_nonnull (strstr (message, "orders.json:5: node 'a', key 'with.label': expected a "
                                     "string"));
  g_assert_nonnull (strstr (message, "orders.json:6: node 'a', key 'with.colour': unknown key"));
  g_assert_nonnull (strstr (message, "node 'a', key 'with.count': missing required key"));
}

static void
test_missing_with (Fixture *fixture, gconstpointer data)
{
  /* No "with" at all for a component with a required key (found by the
   * workflow fuzzer: the problem pointed at a freed stand-in object). */
  g_autofree char *message = load_error (fixture,
    "{\"trigger\": {\"use\": \"core.manual\"},\n"
    " \"steps\": [{\"id\": \"a\",\n"
    "              \"use\": \"test.emit\"}]}");

  g_assert_nonnull (strstr (message, "orders.json:2: node 'a', key 'with.count': missing required key"));
}

static void
test_unknown_workflow_key (Fixture *fixture, gconstpointer data)
{
  g_autofree char *message = load_error (fixture,
    "{\"trigger\": {\"use\": \"core.manual\"}, \"concurency\": 3,"
    " \"steps\": [{\"id\": \"a\", \"use\": \"test.collect\", \"retries\": 2}]}");

  g_assert_nonnull (strstr (message, "key 'concurency': unknown key"));
  g_assert_nonnull (strstr (message, "node 'a', key 'retries': unknown key"));
}

static void
test_missing_parts (Fixture *fixture, gconstpointer data)
{
  g_autofree char *message = load_error (fixture, "{\"name\": \"x\"}");

  g_assert_nonnull (strstr (message, "key 'trigger': missing required key"));
  g_assert_nonnull (strstr (message, "key 'steps': missing required key"));
}

static void
test_cycle (Fixture *fixture, gconstpointer data)
{
  g_autofree char *message = load_error (fixture,
    "{\"trigger\": {\"use\": \"core.manual\"},"
    " \"steps\": [{\"id\": \"a\", \"use\": \"test.collect\"},"
    "             {\"id\": \"b\", \"use\": \"test.collect\"},"
    "             {\"id\": \"c\", \"use\": \"test.collect\"}],"
    " \"edges\": [{\"from\": \"a\", \"to\": \"b\"}, {\"from\": \"b\", \"to\": \"c\"},"
    "           {\"from\": \"c\", \"to\": \"b\", \"on\": \"failure\"}]}");

  g_assert_nonnull (strstr (message, "the edges form a cycle: b -> c -> b"));
}

static void
test_dangling_edge (Fixture *fixture, gconstpointer data)
{
  g_autofree char *message = load_error (fixture,
    "{\"trigger\": {\"use\": \"core.manual\"},"
    " \"steps\": [{\"id\": \"a\", \"use\": \"test.collect\"}],"
    " \"edges\": [{\"from\": \"a\", \"to\": \"nowhere\"}, {\"from\": \"ghost\", \"to\": \"a\"},"
    "           {\"from\": \"a\", \"to\": \"dead-letter\", \"on\": \"sometimes\"}]}");

  g_assert_nonnull (strstr (message, "key 'edges[0]': edge to unknown node 'nowhere'"));
  g_assert_nonnull (strstr (message, "key 'edges[1]': edge from unknown node 'ghost'"));
  g_assert_nonnull (strstr (message, "key 'edges[2]': 'sometimes' is not an outcome"));
}

static void
test_duplicate_id (Fixture *fixture, gconstpointer data)
{
  g_autofree char *message = load_error (fixture,
    "{\"trigger\": {\"use\": \"core.manual\"},"
    " \"steps\": [{\"id\": \"a\", \"use\": \"test.collect\"}, {\"id\": \"a\", \"use\": "
    "\"test.collect\"}, {\"id\": \"dead-letter\", \"use\": \"test.collect\"}]}");

  g_assert_nonnull (strstr (message, "node 'a', key 'id': another step already has this id"));
  g_assert_nonnull (strstr (message, "'dead-letter' is not a valid node id"));
}

static void
test_bad_retry (Fixture *fixture, gconstpointer data)
{
  g_autofree char *message = load_error (fixture,
    "{\"trigger\": {\"use\": \"core.manual\"},"
    " \"steps\": [{\"id\": \"post\", \"use\": \"test.collect\","
    "              \"retry\": {\"attempts\": 3, \"initial\": \"soon\"}}]}");

  g_assert_nonnull (strstr (message, "node 'post', key 'retry':"));
  g_assert_nonnull (strstr (message, "soon"));
}

static void
test_bad_predicate (Fixture *fixture, gconstpointer data)
{
  g_autofree char *message = load_error (fixture,
    "{\"trigger\": {\"use\": \"core.manual\"},"
    " \"steps\": [{\"id\": \"a\", \"use\": \"test.collect\"}, {\"id\": \"b\", \"use\": "
    "\"test.collect\"}],"
    " \"edges\": [{\"from\": \"a\", \"to\": \"b\", \"when\": {\"field\": \"$.x\", \"resembles\": 1}}]}");

  g_assert_nonnull (strstr (message, "key 'edges[0].when"));
}

static void
test_dead_letter_target (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceWorkflow) workflow = sluice_workflow_load_data (
    fixture->host,
    "{\"trigger\": {\"use\": \"core.manual\"}, \"dead_letter\": \"dlq\","
    " \"steps\": [{\"id\": \"a\", \"use\": \"test.collect\"}, {\"id\": \"b\", \"use\": "
    "\"test.collect\"}, {\"id\": \"dlq\", \"use\": \"test.collect\"}]}",
    -1, "orders.json", &error);
  g_autofree char *message = NULL;

  g_assert_no_error (error);
  /* the dead-letter step is not part of the implicit chain */
  g_assert_cmpuint (sluice_workflow_get_entry_nodes (workflow)->len, ==, 1);
  g_assert_cmpstr (sluice_workflow_get_dead_letter_node (workflow)->id, ==, "dlq");
  g_assert_cmpuint (((SluiceWorkflowNode *) g_ptr_array_index (sluice_workflow_get_nodes (workflow),
                                                               1))->edges->len, ==, 0);

  message = load_error (fixture, "{\"trigger\": {\"use\": \"core.manual\"}, \"dead_letter\": "
                                 "\"nope\", \"steps\": [{\"id\": \"a\", \"use\": \"test.collect\"}]}");
  g_assert_nonnull (strstr (message, "key 'dead_letter': no step has the id 'nope'"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_summary ("Workflow files are checked at load time; every problem names file, line, node "
                  "and key");

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/workflow/load/valid", test_valid);
  ADD ("/workflow/load/default-name", test_default_name);
  ADD ("/workflow/load/broken-json-names-file-and-line", test_broken_json);
  ADD ("/workflow/load/not-an-object", test_not_an_object);
  ADD ("/workflow/load/unknown-component", test_unknown_component);
  ADD ("/workflow/load/wrong-component-kind", test_wrong_kind);
  ADD ("/workflow/load/config-errors-all-reported", test_config_errors);
  ADD ("/workflow/load/missing-with", test_missing_with);
  ADD ("/workflow/load/unknown-workflow-key", test_unknown_workflow_key);
  ADD ("/workflow/load/missing-parts", test_missing_parts);
  ADD ("/workflow/load/cycle", test_cycle);
  ADD ("/workflow/load/dangling-edge", test_dangling_edge);
  ADD ("/workflow/load/duplicate-id", test_duplicate_id);
  ADD ("/workflow/load/bad-retry", test_bad_retry);
  ADD ("/workflow/load/bad-predicate", test_bad_predicate);
  ADD ("/workflow/load/dead-letter-step", test_dead_letter_target);
#undef ADD

  return g_test_run ();
}
