/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <sluice/sluice.h>

#include "sluice-predicate.h"

typedef struct {
  char      *tmpdir;
  GPtrArray *problems;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;

  fixture->tmpdir = g_dir_make_tmp ("sluice-predicate-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->problems = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_schema_problem_free);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autoptr(GDir) dir = g_dir_open (fixture->tmpdir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (fixture->tmpdir, name, NULL);
      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (fixture->tmpdir), ==, 0);
  g_free (fixture->tmpdir);
  g_ptr_array_unref (fixture->problems);
}

static JsonNode *
parse (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

static SluicePredicate *
predicate_new (Fixture    *fixture,
               const char *spec_text)
{
  g_autoptr(JsonNode) spec = parse (spec_text);
  SluicePredicate *predicate;

  g_ptr_array_set_size (fixture->problems, 0);
  predicate = sluice_predicate_new (spec, fixture->problems);
  for (guint i = 0; i < fixture->problems->len; i++)
    {
      SluiceSchemaProblem *problem = g_ptr_array_index (fixture->problems, i);
      g_test_message ("unexpected problem at '%s': %s", problem->path, problem->message);
    }
  g_assert_cmpuint (fixture->problems->len, ==, 0);
  g_assert_nonnull (predicate);
  return predicate;
}

static SluiceMessage *
json_message (const char *body)
{
  return sluice_message_new_take_string (g_strdup (body), "application/json");
}

/* Whether @spec_text holds for a message with body @body. */
static gboolean
holds (Fixture    *fixture,
       const char *spec_text,
       const char *body)
{
  g_autoptr(SluicePredicate) predicate = predicate_new (fixture, spec_text);
  g_autoptr(SluiceMessage) message = json_message (body);

  return sluice_predicate_evaluate (predicate, message);
}

/* Parses @spec_text, which must fail, and checks one of its problems. */
static void
assert_problem (Fixture    *fixture,
                const char *spec_text,
                guint       n_problems,
                const char *path,
                const char *message)
{
  g_autoptr(JsonNode) spec = parse (spec_text);
  g_autoptr(SluicePredicate) predicate = NULL;
  gboolean found = FALSE;

  g_ptr_array_set_size (fixture->problems, 0);
  predicate = sluice_predicate_new (spec, fixture->problems);
  g_assert_null (predicate);
  g_assert_cmpuint (fixture->problems->len, ==, n_problems);
  for (guint i = 0; i < fixture->problems->len; i++)
    {
      SluiceSchemaProblem *problem = g_ptr_array_index (fixture->problems, i);

      if (g_str_equal (problem->path, path))
        {
          g_assert_cmpstr (problem->message, ==, message);
          found = TRUE;
        }
    }
  g_assert_true (found);
}

static void
test_equals (Fixture       *fixture,
             gconstpointer  user_data)
{
  const char *order = "{\"status\": \"paid\", \"n\": 3, \"x\": 2.5, \"ok\": true, \"none\": null, \"obj\": {}}";

  g_assert_true (holds (fixture, "{\"field\": \"$.status\", \"equals\": \"paid\"}", order));
  g_assert_false (holds (fixture, "{\"field\": \"$.status\", \"equals\": \"open\"}", order));
  g_assert_true (holds (fixture, "{\"field\": \"$.n\", \"equals\": 3}", order));
  g_assert_true (holds (fixture, "{\"field\": \"$.x\", \"equals\": 2.5}", order));
  g_assert_true (holds (fixture, "{\"field\": \"$.ok\", \"equals\": true}", order));
  g_assert_false (holds (fixture, "{\"field\": \"$.ok\", \"equals\": false}", order));
  g_assert_true (holds (fixture, "{\"field\": \"$.none\", \"equals\": null}", order));
  g_assert_false (holds (fixture, "{\"field\": \"$.status\", \"equals\": null}", order));
  /* Types are not coerced: a number never equals its text. */
  g_assert_false (holds (fixture, "{\"field\": \"$.n\", \"equals\": \"3\"}", order));
  g_assert_false (holds (fixture, "{\"field\": \"$.obj\", \"equals\": \"{}\"}", order));
  /* An absent field equals nothing, not even null. */
  g_assert_false (holds (fixture, "{\"field\": \"$.missing\", \"equals\": null}", order));
}

static void
test_numbers_int_vs_double (Fixture       *fixture,
                            gconstpointer  user_data)
{
  g_assert_true (holds (fixture, "{\"field\": \"$.n\", \"equals\": 1}", "{\"n\": 1.0}"));
  g_assert_true (holds (fixture, "{\"field\": \"$.n\", \"equals\": 1.0}", "{\"n\": 1}"));
  g_assert_false (holds (fixture, "{\"field\": \"$.n\", \"equals\": 1}", "{\"n\": 1.5}"));
  g_assert_true (holds (fixture, "{\"field\": \"$.n\", \"gt\": 1}", "{\"n\": 1.5}"));
  g_assert_true (holds (fixture, "{\"field\": \"$.n\", \"lt\": 2.5}", "{\"n\": 2}"));
  g_assert_true (holds (fixture, "{\"field\": \"$.n\", \"in\": [7, 2.0]}", "{\"n\": 2}"));
  /* Two integers compare exactly even where doubles cannot tell them apart. */
  g_assert_true (holds (fixture, "{\"field\": \"$.n\", \"gt\": 9007199254740992}", "{\"n\": 9007199254740993}"));
  g_assert_false (holds (fixture, "{\"field\": \"$.n\", \"equals\": 9007199254740992}", "{\"n\": 9007199254740993}"));
}

static void
test_in (Fixture       *fixture,
         gconstpointer  user_data)
{
  g_assert_true (holds (fixture, "{\"field\": \"$.kind\", \"in\": [\"a\", \"b\"]}", "{\"kind\": \"b\"}"));
  g_assert_false (holds (fixture, "{\"field\": \"$.kind\", \"in\": [\"a\", \"b\"]}", "{\"kind\": \"c\"}"));
  g_assert_true (holds (fixture, "{\"field\": \"$.kind\", \"in\": [1, null, true]}", "{\"kind\": null}"));
  g_assert_false (holds (fixture, "{\"field\": \"$.kind\", \"in\": []}", "{\"kind\": \"a\"}"));
  g_assert_false (holds (fixture, "{\"field\": \"$.kind\", \"in\": [\"a\"]}", "{\"kind\": [\"a\"]}"));
}

static void
test_ordering (Fixture       *fixture,
               gconstpointer  user_data)
{
  const char *body = "{\"total\": 100}";

  g_assert_false (holds (fixture, "{\"field\": \"$.total\", \"gt\": 100}", body));
  g_assert_true (holds (fixture, "{\"field\": \"$.total\", \"ge\": 100}", body));
  g_assert_false (holds (fixture, "{\"field\": \"$.total\", \"lt\": 100}", body));
  g_assert_true (holds (fixture, "{\"field\": \"$.total\", \"le\": 100}", body));
  g_assert_true (holds (fixture, "{\"field\": \"$.total\", \"gt\": 99.5}", body));
  g_assert_true (holds (fixture, "{\"field\": \"$.total\", \"lt\": 100.5}", body));
  g_assert_true (holds (fixture, "{\"field\": \"$.total\", \"ge\": -1}", body));
  /* Only numbers are ordered: text that looks like one is not. */
  g_assert_false (holds (fixture, "{\"field\": \"$.total\", \"gt\": 1}", "{\"total\": \"500\"}"));
  g_assert_false (holds (fixture, "{\"field\": \"$.total\", \"le\": 1}", "{\"total\": null}"));
  g_assert_false (holds (fixture, "{\"field\": \"$.total\", \"lt\": 1}", "{\"total\": [0]}"));
}

static void
test_matches (Fixture       *fixture,
              gconstpointer  user_data)
{
  const char *spec = "{\"field\": \"$.email\", \"matches\": \"@example\\\\.com$\"}";

  g_assert_true (holds (fixture, spec, "{\"email\": \"ann@example.com\"}"));
  g_assert_false (holds (fixture, spec, "{\"email\": \"ann@exampleXcom\"}"));
  g_assert_false (holds (fixture, spec, "{\"email\": \"ann@example.com.evil\"}"));
  /* Strings only. */
  g_assert_false (holds (fixture, "{\"field\": \"$.n\", \"matches\": \"^1\"}", "{\"n\": 12}"));
  g_assert_true (holds (fixture, "{\"field\": \"$.n\", \"matches\": \"^1\"}", "{\"n\": \"12\"}"));
}

static void
test_exists (Fixture       *fixture,
             gconstpointer  user_data)
{
  g_assert_true (holds (fixture, "{\"field\": \"$.id\", \"exists\": true}", "{\"id\": null}"));
  g_assert_false (holds (fixture, "{\"field\": \"$.id\", \"exists\": true}", "{\"other\": 1}"));
  g_assert_true (holds (fixture, "{\"field\": \"$.id\", \"exists\": false}", "{\"other\": 1}"));
  g_assert_false (holds (fixture, "{\"field\": \"$.id\", \"exists\": false}", "{\"id\": 0}"));
  g_assert_true (holds (fixture, "{\"field\": \"$.items[*].sku\", \"exists\": true}",
                        "{\"items\": [{\"qty\": 1}, {\"sku\": \"x\"}]}"));
  g_assert_false (holds (fixture, "{\"field\": \"$.items[*].sku\", \"exists\": true}",
                         "{\"items\": [{\"qty\": 1}, {\"qty\": 2}]}"));
}

static void
test_combinators (Fixture       *fixture,
                  gconstpointer  user_data)
{
  const char *body = "{\"status\": \"paid\", \"total\": 150}";

  g_assert_true (holds (fixture,
                        "{\"all\": [{\"field\": \"$.status\", \"equals\": \"paid\"},"
                        "           {\"field\": \"$.total\", \"gt\": 100}]}", body));
  g_assert_false (holds (fixture,
                         "{\"all\": [{\"field\": \"$.status\", \"equals\": \"paid\"},"
                         "           {\"field\": \"$.total\", \"gt\": 200}]}", body));
  g_assert_true (holds (fixture,
                        "{\"any\": [{\"field\": \"$.status\", \"equals\": \"open\"},"
                        "           {\"field\": \"$.total\", \"gt\": 100}]}", body));
  g_assert_false (holds (fixture,
                         "{\"any\": [{\"field\": \"$.status\", \"equals\": \"open\"},"
                         "           {\"field\": \"$.total\", \"gt\": 200}]}", body));
  g_assert_false (holds (fixture, "{\"not\": {\"field\": \"$.status\", \"equals\": \"paid\"}}", body));
  g_assert_true (holds (fixture, "{\"not\": {\"field\": \"$.status\", \"equals\": \"open\"}}", body));
  g_assert_true (holds (fixture,
                        "{\"all\": [{\"not\": {\"field\": \"$.refund\", \"exists\": true}},"
                        "           {\"any\": [{\"field\": \"$.total\", \"ge\": 150}, {\"field\": \"$.vip\", \"equals\": true}]}]}",
                        body));
}

static void
test_jsonpath_forms (Fixture       *fixture,
                     gconstpointer  user_data)
{
  const char *body =
    "{\"order\": {\"lines\": [{\"sku\": \"a\", \"qty\": 1}, {\"sku\": \"b\", \"qty\": 5}, {\"sku\": \"c\"}],"
    "            \"a.b\": \"dotted\", \"meta\": {\"deep\": {\"sku\": \"z\"}}}}";

  g_assert_true (holds (fixture, "{\"field\": \"$.order.lines[1].sku\", \"equals\": \"b\"}", body));
  g_assert_true (holds (fixture, "{\"field\": \"$['order']['a.b']\", \"equals\": \"dotted\"}", body));
  g_assert_true (holds (fixture, "{\"field\": \"$.order.lines[-1].sku\", \"equals\": \"c\"}", body));
  /* First match, in document order. */
  g_assert_true (holds (fixture, "{\"field\": \"$.order.lines[*].sku\", \"equals\": \"a\"}", body));
  g_assert_true (holds (fixture, "{\"field\": \"$..sku\", \"equals\": \"a\"}", body));
  g_assert_true (holds (fixture, "{\"field\": \"$.order.meta..sku\", \"equals\": \"z\"}", body));
  g_assert_true (holds (fixture, "{\"field\": \"$.order.lines[1:].qty\", \"equals\": 5}", body));
  g_assert_true (holds (fixture, "{\"field\": \"$.order.lines[2,0].sku\", \"equals\": \"c\"}", body));
  g_assert_true (holds (fixture, "{\"field\": \"$\", \"exists\": true}", body));
  /* Indexes past either end match nothing instead of reading out of bounds. */
  g_assert_false (holds (fixture, "{\"field\": \"$.order.lines[3]\", \"exists\": true}", body));
  g_assert_false (holds (fixture, "{\"field\": \"$.order.lines[-4]\", \"exists\": true}", body));
  g_assert_false (holds (fixture, "{\"field\": \"$.order.lines[5,9]\", \"exists\": true}", body));
  g_assert_false (holds (fixture, "{\"field\": \"$.order.lines[3:10]\", \"exists\": true}", body));
  g_assert_false (holds (fixture, "{\"field\": \"$.order.lines[*].none[0]\", \"exists\": true}", body));
  g_assert_false (holds (fixture, "{\"field\": \"$.order.sku[0]\", \"exists\": true}", body));
}

static void
test_jsonpath_errors (Fixture       *fixture,
                      gconstpointer  user_data)
{
  assert_problem (fixture, "{\"field\": \"status\", \"equals\": 1}", 1, "field",
                  "'status' is not a valid JSONPath (a JSONPath starts with '$')");
  assert_problem (fixture, "{\"field\": \"$['status\", \"equals\": 1}", 1, "field",
                  "'$['status' is not a valid JSONPath (unterminated ['name'] subscript)");
  assert_problem (fixture, "{\"field\": \"$.lines[x]\", \"exists\": true}", 1, "field",
                  "'$.lines[x]' is not a valid JSONPath (expected an index, a slice, '*' or a quoted name after '[')");
  assert_problem (fixture, "{\"field\": \"$.a.\", \"exists\": true}", 1, "field",
                  "'$.a.' is not a valid JSONPath (expected a member name or '*' after '.')");
  assert_problem (fixture, "{\"field\": \"$..\", \"exists\": true}", 1, "field",
                  "'$..' is not a valid JSONPath (expected a member name or '*' after '..')");
  assert_problem (fixture, "{\"field\": \"$.a[1]x\", \"exists\": true}", 1, "field",
                  "'$.a[1]x' is not a valid JSONPath (unexpected 'x')");
  assert_problem (fixture, "{\"field\": \"$.a[0:2:0]\", \"exists\": true}", 1, "field",
                  "'$.a[0:2:0]' is not a valid JSONPath (a slice step must be positive)");
  assert_problem (fixture, "{\"field\": 3, \"exists\": true}", 1, "field",
                  "expected a JSONPath string, got an integer");
  assert_problem (fixture, "{\"field\": \"$$\", \"exists\": true}", 1, "field",
                  "'$$' is not a valid JSONPath (unexpected '$')");
}

static void
test_parse_problems (Fixture       *fixture,
                     gconstpointer  user_data)
{
  assert_problem (fixture, "\"paid\"", 1, "", "expected a condition object, got a string");
  assert_problem (fixture, "{\"equals\": 1}", 1, "", "missing 'field' or 'header'");
  assert_problem (fixture, "{\"field\": \"$.a\"}", 1, "",
                  "missing an operator (one of: equals, in, gt, ge, lt, le, matches, exists)");
  assert_problem (fixture, "{\"field\": \"$.a\", \"header\": \"X\", \"exists\": true}", 1, "",
                  "takes either 'field' or 'header', not both");
  assert_problem (fixture, "{\"field\": \"$.a\", \"gt\": 1, \"lt\": 5}", 1, "",
                  "takes exactly one operator, got 'gt', 'lt'");
  assert_problem (fixture, "{\"field\": \"$.a\", \"eq\": 1}", 2, "eq",
                  "unknown key (expected one of: field, header, equals, in, gt, ge, lt, le, matches, exists, all, any, not)");
  assert_problem (fixture, "{\"field\": \"$.a\", \"eq\": 1}", 2, "",
                  "missing an operator (one of: equals, in, gt, ge, lt, le, matches, exists)");
  assert_problem (fixture, "{\"field\": \"$.a\", \"equals\": {\"x\": 1}}", 1, "equals",
                  "expected a string, a number, a boolean or null, got an object");
  assert_problem (fixture, "{\"field\": \"$.a\", \"in\": \"a\"}", 1, "in", "expected an array of values, got a string");
  assert_problem (fixture, "{\"field\": \"$.a\", \"in\": [\"a\", [1]]}", 1, "in[1]",
                  "expected a string, a number, a boolean or null, got an array");
  assert_problem (fixture, "{\"field\": \"$.a\", \"gt\": \"5\"}", 1, "gt", "expected a number, got a string");
  assert_problem (fixture, "{\"field\": \"$.a\", \"exists\": 1}", 1, "exists", "expected a boolean, got an integer");
  assert_problem (fixture, "{\"field\": \"$.a\", \"matches\": 5}", 1, "matches",
                  "expected a regular expression string, got an integer");
  assert_problem (fixture, "{\"all\": []}", 1, "all", "expected a non-empty array of conditions, got an empty array");
  assert_problem (fixture, "{\"any\": {}}", 1, "any", "expected a non-empty array of conditions, got an object");
  assert_problem (fixture, "{\"not\": []}", 1, "not", "expected a condition object, got an array");
  assert_problem (fixture, "{\"all\": [{\"field\": \"$.a\", \"exists\": true}], \"any\": []}", 1, "",
                  "'all' cannot be combined with 'any' in one condition");
  assert_problem (fixture, "{\"not\": {\"field\": \"$.a\", \"exists\": true}, \"field\": \"$.b\"}", 1, "",
                  "'not' cannot be combined with 'field' in one condition");
}

static void
test_bad_regex (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(JsonNode) spec = parse ("{\"field\": \"$.a\", \"matches\": \"(unclosed\"}");
  g_autoptr(SluicePredicate) predicate = sluice_predicate_new (spec, fixture->problems);
  SluiceSchemaProblem *problem;

  g_assert_null (predicate);
  g_assert_cmpuint (fixture->problems->len, ==, 1);
  problem = g_ptr_array_index (fixture->problems, 0);
  g_assert_cmpstr (problem->path, ==, "matches");
  g_assert_true (g_str_has_prefix (problem->message, "not a valid regular expression ("));
}

static void
test_all_problems_reported (Fixture       *fixture,
                            gconstpointer  user_data)
{
  g_autoptr(JsonNode) spec = parse (
    "{\"all\": [{\"field\": \"$.a\", \"gt\": \"x\"},"
    "           {\"any\": [{\"field\": \"$.ok\", \"exists\": true}, {\"header\": \"X-Kind\", \"lt\": 3}]},"
    "           {\"not\": {\"field\": \"nope\", \"equals\": 1}}]}");
  g_autoptr(SluicePredicate) predicate = sluice_predicate_new (spec, fixture->problems);
  const char *expected_paths[] = { "all[0].gt", "all[1].any[1].lt", "all[2].not.field" };

  g_assert_null (predicate);
  g_assert_cmpuint (fixture->problems->len, ==, G_N_ELEMENTS (expected_paths));
  for (guint i = 0; i < G_N_ELEMENTS (expected_paths); i++)
    {
      SluiceSchemaProblem *problem = g_ptr_array_index (fixture->problems, i);

      g_assert_cmpstr (problem->path, ==, expected_paths[i]);
      g_assert_nonnull (problem->node);
    }
}

static void
test_headers (Fixture       *fixture,
              gconstpointer  user_data)
{
  g_autoptr(SluiceMessage) message = sluice_message_new_take_string (g_strdup ("not json"), "text/plain");
  struct {
    const char *spec;
    gboolean    expected;
  } cases[] = {
    { "{\"header\": \"X-Kind\", \"equals\": \"order\"}", TRUE },
    { "{\"header\": \"X-Kind\", \"equals\": \"Order\"}", FALSE },
    { "{\"header\": \"X-Kind\", \"in\": [\"refund\", \"order\"]}", TRUE },
    { "{\"header\": \"X-Kind\", \"in\": [\"refund\"]}", FALSE },
    { "{\"header\": \"X-Count\", \"equals\": \"42\"}", TRUE },
    { "{\"header\": \"X-Count\", \"matches\": \"^[0-9]+$\"}", TRUE },
    { "{\"header\": \"X-Kind\", \"matches\": \"^[0-9]+$\"}", FALSE },
    { "{\"header\": \"X-Kind\", \"exists\": true}", TRUE },
    { "{\"header\": \"X-Absent\", \"exists\": true}", FALSE },
    { "{\"header\": \"X-Absent\", \"exists\": false}", TRUE },
    { "{\"header\": \"X-Absent\", \"equals\": \"\"}", FALSE },
  };

  sluice_message_set_header (message, "X-Kind", "order");
  sluice_message_set_header (message, "X-Count", "42");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(SluicePredicate) predicate = predicate_new (fixture, cases[i].spec);

      g_test_message ("%s", cases[i].spec);
      g_assert_cmpint (sluice_predicate_evaluate (predicate, message), ==, cases[i].expected);
    }
}

static void
test_header_problems (Fixture       *fixture,
                      gconstpointer  user_data)
{
  assert_problem (fixture, "{\"header\": \"X-Count\", \"gt\": 3}", 1, "gt",
                  "'gt' compares numbers and headers are strings (use equals, in, matches or exists)");
  assert_problem (fixture, "{\"header\": \"X-Count\", \"equals\": 3}", 1, "equals",
                  "expected a string (headers are strings), got an integer");
  assert_problem (fixture, "{\"header\": \"X-Count\", \"in\": [\"1\", 2]}", 1, "in[1]",
                  "expected a string (headers are strings), got an integer");
  assert_problem (fixture, "{\"header\": \"\", \"exists\": true}", 1, "header",
                  "expected a header name, got an empty string");
}

static void
test_non_json_body (Fixture       *fixture,
                    gconstpointer  user_data)
{
  g_autoptr(SluicePredicate) exists = predicate_new (fixture, "{\"field\": \"$.a\", \"exists\": true}");
  g_autoptr(SluicePredicate) absent = predicate_new (fixture, "{\"field\": \"$.a\", \"exists\": false}");
  g_autoptr(SluicePredicate) negated = predicate_new (fixture, "{\"not\": {\"field\": \"$.a\", \"equals\": 1}}");
  g_autoptr(SluiceMessage) text = sluice_message_new_take_string (g_strdup ("a=1"), "text/plain");
  g_autoptr(SluiceMessage) empty = sluice_message_new ();

  /* Field conditions on a body that is not JSON are false, whatever they
   * ask; "not" turns that around like any other false. */
  g_assert_false (sluice_predicate_evaluate (exists, text));
  g_assert_false (sluice_predicate_evaluate (absent, text));
  g_assert_true (sluice_predicate_evaluate (negated, text));
  g_assert_false (sluice_predicate_evaluate (exists, empty));
  g_assert_false (sluice_predicate_evaluate (absent, empty));
}

static void
test_streamed_body_not_read (Fixture       *fixture,
                             gconstpointer  user_data)
{
  g_autofree char *path = g_build_filename (fixture->tmpdir, "body.json", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(SluiceMessage) message = NULL;
  g_autoptr(SluicePredicate) field = predicate_new (fixture, "{\"field\": \"$.a\", \"equals\": 1}");
  g_autoptr(SluicePredicate) header = predicate_new (fixture, "{\"header\": \"X-Kind\", \"equals\": \"order\"}");
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, "{\"a\": 1}", -1, &error);
  g_assert_no_error (error);
  stream = g_file_read (file, NULL, &error);
  g_assert_no_error (error);

  message = sluice_message_new_stream (G_INPUT_STREAM (stream), 8, "application/json");
  sluice_message_set_header (message, "X-Kind", "order");

  g_assert_false (sluice_predicate_evaluate (field, message));
  g_assert_true (sluice_predicate_evaluate (header, message));
  g_assert_cmpint (g_seekable_tell (G_SEEKABLE (stream)), ==, 0);
  g_assert_true (sluice_message_is_streamed (message));
}

static void
test_json_body_set_directly (Fixture       *fixture,
                             gconstpointer  user_data)
{
  g_autoptr(SluicePredicate) predicate = predicate_new (fixture, "{\"field\": \"$.n\", \"ge\": 2}");
  g_autoptr(JsonNode) body = parse ("{\"n\": 2}");
  g_autoptr(SluiceMessage) message = sluice_message_new_json (body);

  g_assert_true (sluice_predicate_evaluate (predicate, message));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_summary ("Predicates: every operator on JSON fields and headers, combinators, "
                  "JSONPath forms and errors, and bodies that are not JSON or are streamed.");

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/predicate/equals/scalars-and-null", test_equals);
  ADD ("/predicate/numbers/int-vs-double", test_numbers_int_vs_double);
  ADD ("/predicate/in/scalars", test_in);
  ADD ("/predicate/ordering/gt-ge-lt-le", test_ordering);
  ADD ("/predicate/matches/strings-only", test_matches);
  ADD ("/predicate/exists/true-and-false", test_exists);
  ADD ("/predicate/combinators/all-any-not", test_combinators);
  ADD ("/predicate/jsonpath/forms-and-bounds", test_jsonpath_forms);
  ADD ("/predicate/jsonpath/invalid-is-a-problem", test_jsonpath_errors);
  ADD ("/predicate/parse/problems", test_parse_problems);
  ADD ("/predicate/parse/bad-regex", test_bad_regex);
  ADD ("/predicate/parse/all-problems-reported", test_all_problems_reported);
  ADD ("/predicate/header/string-operators", test_headers);
  ADD ("/predicate/header/problems", test_header_problems);
  ADD ("/predicate/body/not-json-is-false", test_non_json_body);
  ADD ("/predicate/body/stream-never-read", test_streamed_body_not_read);
  ADD ("/predicate/body/json-tree", test_json_body_set_directly);
#undef ADD

  return g_test_run ();
}
