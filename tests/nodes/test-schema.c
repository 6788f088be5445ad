/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

#include "sluice-schema.h"

typedef struct {
  GPtrArray *problems;
  JsonNode  *config;   /* problems point into it */
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  fixture->problems = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_schema_problem_free);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_ptr_array_unref (fixture->problems);
  g_clear_pointer (&fixture->config, json_node_unref);
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

/* Validates @config_text against @schema_text (which must pass
 * sluice_schema_check()) into fixture->problems. */
static JsonObject *
validate (Fixture    *fixture,
          const char *schema_text,
          const char *config_text)
{
  g_autoptr(JsonNode) schema = parse (schema_text);
  g_autoptr(GError) error = NULL;

  sluice_schema_check (schema, &error);
  g_assert_no_error (error);

  g_ptr_array_set_size (fixture->problems, 0);
  g_clear_pointer (&fixture->config, json_node_unref);
  fixture->config = config_text != NULL ? parse (config_text) : NULL;
  return sluice_schema_validate (schema, fixture->config, fixture->problems);
}

static void
assert_valid (Fixture    *fixture,
              const char *schema_text,
              const char *config_text)
{
  g_autoptr(JsonObject) result = validate (fixture, schema_text, config_text);

  if (fixture->problems->len > 0)
    {
      SluiceSchemaProblem *problem = g_ptr_array_index (fixture->problems, 0);
      g_test_message ("unexpected problem at '%s': %s", problem->path, problem->message);
    }
  g_assert_cmpuint (fixture->problems->len, ==, 0);
  g_assert_nonnull (result);
}

/* Expects exactly one problem, at @path, with @message. */
static void
assert_one_problem (Fixture    *fixture,
                    const char *schema_text,
                    const char *config_text,
                    const char *path,
                    const char *message)
{
  g_autoptr(JsonObject) result = validate (fixture, schema_text, config_text);
  SluiceSchemaProblem *problem;

  g_assert_null (result);
  g_assert_cmpuint (fixture->problems->len, ==, 1);
  problem = g_ptr_array_index (fixture->problems, 0);
  g_assert_cmpstr (problem->path, ==, path);
  g_assert_cmpstr (problem->message, ==, message);
  /* A problem points into the config; with no config there is nothing to
   * point at (the stand-in object is gone once validation returns). */
  if (config_text != NULL)
    g_assert_nonnull (problem->node);
  else
    g_assert_null (problem->node);
}

/* Checks that @problems has one at @path with @message, and returns it. */
static SluiceSchemaProblem *
assert_problem_at (GPtrArray  *problems,
                   const char *path,
                   const char *message)
{
  for (guint i = 0; i < problems->len; i++)
    {
      SluiceSchemaProblem *problem = g_ptr_array_index (problems, i);

      if (g_str_equal (problem->path, path))
        {
          g_assert_cmpstr (problem->message, ==, message);
          return problem;
        }
    }

  g_test_message ("no problem at '%s'", path);
  g_assert_not_reached ();
}

#define PROPERTY(name, schema) \
  "{\"type\": \"object\", \"properties\": {\"" name "\": " schema "}}"

static void
test_type_integer (Fixture       *fixture,
                   gconstpointer  user_data)
{
  const char *schema = PROPERTY ("n", "{\"type\": \"integer\"}");

  assert_valid (fixture, schema, "{\"n\": 3}");
  assert_valid (fixture, schema, "{\"n\": -9007199254740993}");
  assert_one_problem (fixture, schema, "{\"n\": \"3\"}", "n", "expected an integer, got a string");
  assert_one_problem (fixture, schema, "{\"n\": 3.0}", "n", "expected an integer, got a number");
  assert_one_problem (fixture, schema, "{\"n\": null}", "n", "expected an integer, got null");
}

static void
test_type_number (Fixture       *fixture,
                  gconstpointer  user_data)
{
  const char *schema = PROPERTY ("x", "{\"type\": \"number\"}");

  assert_valid (fixture, schema, "{\"x\": 3}");
  assert_valid (fixture, schema, "{\"x\": 2.5}");
  assert_one_problem (fixture, schema, "{\"x\": true}", "x", "expected a number, got a boolean");
}

static void
test_type_others (Fixture       *fixture,
                  gconstpointer  user_data)
{
  assert_valid (fixture, PROPERTY ("s", "{\"type\": \"string\"}"), "{\"s\": \"\"}");
  assert_one_problem (fixture, PROPERTY ("s", "{\"type\": \"string\"}"), "{\"s\": 1}",
                      "s", "expected a string, got an integer");
  assert_valid (fixture, PROPERTY ("b", "{\"type\": \"boolean\"}"), "{\"b\": false}");
  assert_one_problem (fixture, PROPERTY ("b", "{\"type\": \"boolean\"}"), "{\"b\": \"false\"}",
                      "b", "expected a boolean, got a string");
  assert_valid (fixture, PROPERTY ("o", "{\"type\": \"object\", \"additionalProperties\": true}"),
                "{\"o\": {\"k\": 1}}");
  assert_one_problem (fixture, PROPERTY ("o", "{\"type\": \"object\"}"), "{\"o\": [1]}",
                      "o", "expected an object, got an array");
  assert_valid (fixture, PROPERTY ("a", "{\"type\": \"array\"}"), "{\"a\": []}");
  assert_one_problem (fixture, PROPERTY ("a", "{\"type\": \"array\"}"), "{\"a\": {}}",
                      "a", "expected an array, got an object");
}

static void
test_type_list (Fixture       *fixture,
                gconstpointer  user_data)
{
  const char *two = PROPERTY ("v", "{\"type\": [\"string\", \"integer\"]}");
  const char *three = PROPERTY ("v", "{\"type\": [\"string\", \"integer\", \"array\"]}");

  assert_valid (fixture, two, "{\"v\": \"x\"}");
  assert_valid (fixture, two, "{\"v\": 7}");
  assert_one_problem (fixture, two, "{\"v\": true}", "v", "expected a string or an integer, got a boolean");
  assert_one_problem (fixture, three, "{\"v\": {}}", "v",
                      "expected a string, an integer or an array, got an object");
}

static void
test_required (Fixture       *fixture,
               gconstpointer  user_data)
{
  const char *schema =
    "{\"type\": \"object\", \"required\": [\"retry\"], \"properties\": {"
    "  \"retry\": {\"type\": \"object\", \"required\": [\"attempts\"],"
    "            \"properties\": {\"attempts\": {\"type\": \"integer\"}}}}}";
  g_autoptr(JsonObject) result = NULL;
  SluiceSchemaProblem *problem;

  assert_valid (fixture, schema, "{\"retry\": {\"attempts\": 2}}");
  assert_one_problem (fixture, schema, "{}", "retry", "missing required key");

  result = validate (fixture, schema, "{\"retry\": {}}");
  g_assert_null (result);
  g_assert_cmpuint (fixture->problems->len, ==, 1);
  problem = g_ptr_array_index (fixture->problems, 0);
  g_assert_cmpstr (problem->path, ==, "retry.attempts");
  g_assert_cmpstr (problem->message, ==, "missing required key");
  /* The node is the object that lacks the key. */
  g_assert_true (JSON_NODE_HOLDS_OBJECT (problem->node));
  g_assert_cmpuint (json_object_get_size (json_node_get_object (problem->node)), ==, 0);
}

static void
test_additional_properties (Fixture       *fixture,
                            gconstpointer  user_data)
{
  const char *closed =
    "{\"type\": \"object\", \"properties\": {"
    "  \"path\": {\"type\": \"string\"}, \"pattern\": {\"type\": \"string\"},"
    "  \"stable_for\": {\"type\": \"string\"}}}";
  const char *open =
    "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\"}},"
    " \"additionalProperties\": true}";
  const char *typed =
    "{\"type\": \"object\", \"additionalProperties\": {\"type\": \"integer\", \"minimum\": 0}}";
  g_autoptr(JsonObject) result = NULL;

  assert_one_problem (fixture, closed, "{\"path\": \"/in\", \"patern\": \"*.csv\"}", "patern",
                      "unknown key (expected one of: path, pattern, stable_for)");
  assert_one_problem (fixture, "{\"type\": \"object\"}", "{\"x\": 1}", "x",
                      "unknown key (no keys are allowed here)");

  result = validate (fixture, open, "{\"a\": \"1\", \"extra\": {\"deep\": [1, 2]}}");
  g_assert_nonnull (result);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (
                     json_object_get_object_member (result, "extra"), "deep")), ==, 2);

  assert_valid (fixture, typed, "{\"x\": 1, \"y\": 2}");
  assert_one_problem (fixture, typed, "{\"x\": 1, \"y\": -2}", "y", "must be at least 0");
  assert_one_problem (fixture, typed, "{\"x\": \"1\"}", "x", "expected an integer, got a string");
}

static void
test_enum (Fixture       *fixture,
           gconstpointer  user_data)
{
  const char *schema = PROPERTY ("format", "{\"type\": \"string\", \"enum\": [\"csv\", \"jsonl\", \"json-array\", \"xml\"]}");
  const char *mixed = PROPERTY ("v", "{\"enum\": [1, \"two\", true, null]}");

  assert_valid (fixture, schema, "{\"format\": \"jsonl\"}");
  assert_one_problem (fixture, schema, "{\"format\": \"tsv\"}", "format",
                      "must be one of: csv, jsonl, json-array, xml");
  assert_valid (fixture, mixed, "{\"v\": null}");
  assert_valid (fixture, mixed, "{\"v\": true}");
  assert_one_problem (fixture, mixed, "{\"v\": \"1\"}", "v", "must be one of: 1, two, true, null");
}

static void
test_minimum_maximum (Fixture       *fixture,
                      gconstpointer  user_data)
{
  const char *schema = PROPERTY ("n", "{\"type\": \"integer\", \"minimum\": 1, \"maximum\": 10}");
  const char *fractional = PROPERTY ("x", "{\"type\": \"number\", \"minimum\": 0.5, \"maximum\": 2.5}");
  const char *big = PROPERTY ("n", "{\"type\": \"integer\", \"maximum\": 9007199254740992}");

  assert_valid (fixture, schema, "{\"n\": 1}");
  assert_valid (fixture, schema, "{\"n\": 10}");
  assert_one_problem (fixture, schema, "{\"n\": 0}", "n", "must be at least 1");
  assert_one_problem (fixture, schema, "{\"n\": 11}", "n", "must be at most 10");
  assert_valid (fixture, fractional, "{\"x\": 1}");
  assert_one_problem (fixture, fractional, "{\"x\": 0.25}", "x", "must be at least 0.5");
  assert_one_problem (fixture, fractional, "{\"x\": 3}", "x", "must be at most 2.5");
  assert_one_problem (fixture, PROPERTY ("x", "{\"minimum\": 0.1}"), "{\"x\": 0.05}", "x", "must be at least 0.1");
  /* Integers compare exactly, beyond what a double can tell apart. */
  assert_one_problem (fixture, big, "{\"n\": 9007199254740993}", "n", "must be at most 9007199254740992");
}

static void
test_length (Fixture       *fixture,
             gconstpointer  user_data)
{
  const char *schema = PROPERTY ("s", "{\"type\": \"string\", \"minLength\": 1, \"maxLength\": 3}");

  assert_valid (fixture, schema, "{\"s\": \"abc\"}");
  /* Three characters, six bytes. */
  assert_valid (fixture, schema, "{\"s\": \"\xc3\xbc\xc3\xbc\xc3\xbc\"}");
  assert_one_problem (fixture, schema, "{\"s\": \"\"}", "s", "must be at least 1 character long");
  assert_one_problem (fixture, schema, "{\"s\": \"abcd\"}", "s", "must be at most 3 characters long");
}

static void
test_items (Fixture       *fixture,
            gconstpointer  user_data)
{
  const char *schema = PROPERTY ("headers",
    "{\"type\": \"array\", \"minItems\": 1, \"maxItems\": 3, \"items\": {"
    "  \"type\": \"object\", \"required\": [\"name\"],"
    "  \"properties\": {\"name\": {\"type\": \"string\"}, \"value\": {\"type\": \"string\"}}}}");

  assert_valid (fixture, schema, "{\"headers\": [{\"name\": \"a\"}]}");
  assert_one_problem (fixture, schema, "{\"headers\": []}", "headers", "must have at least 1 item");
  assert_one_problem (fixture, schema,
                      "{\"headers\": [{\"name\": \"a\"}, {\"name\": \"b\"}, {\"name\": \"c\"}, {\"name\": \"d\"}]}",
                      "headers", "must have at most 3 items");
  assert_one_problem (fixture, schema,
                      "{\"headers\": [{\"name\": \"a\"}, {\"name\": \"b\"}, {\"name\": 3}]}",
                      "headers[2].name", "expected a string, got an integer");
  assert_one_problem (fixture, schema, "{\"headers\": [{\"name\": \"a\"}, {\"value\": \"b\"}]}",
                      "headers[1].name", "missing required key");
}

static void
test_format_duration (Fixture       *fixture,
                      gconstpointer  user_data)
{
  const char *schema = PROPERTY ("expire", "{\"type\": \"string\", \"format\": \"duration\"}");
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) result = NULL;
  SluiceSchemaProblem *problem;
  gint64 usec;

  assert_valid (fixture, schema, "{\"expire\": \"8h\"}");
  assert_valid (fixture, schema, "{\"expire\": \"1h30m\"}");

  result = validate (fixture, schema, "{\"expire\": \"8x\"}");
  g_assert_null (result);
  g_assert_cmpuint (fixture->problems->len, ==, 1);
  problem = g_ptr_array_index (fixture->problems, 0);
  g_assert_cmpstr (problem->path, ==, "expire");
  /* The parser's own words, which name the text. */
  g_assert_false (sluice_parse_duration ("8x", &usec, &error));
  g_assert_cmpstr (problem->message, ==, error->message);
  g_assert_true (g_str_has_prefix (problem->message, "'8x' is not a duration"));
}

static void
test_format_uri (Fixture       *fixture,
                 gconstpointer  user_data)
{
  const char *schema = PROPERTY ("url", "{\"type\": \"string\", \"format\": \"uri\"}");

  assert_valid (fixture, schema, "{\"url\": \"https://billing.example.com/orders?x=1\"}");
  assert_one_problem (fixture, schema, "{\"url\": \"billing/orders\"}", "url", "not a valid URI");
  assert_one_problem (fixture, schema, "{\"url\": \"http://exa mple.com/\"}", "url", "not a valid URI");
}

static void
test_all_problems_reported (Fixture       *fixture,
                            gconstpointer  user_data)
{
  const char *schema =
    "{\"type\": \"object\", \"required\": [\"format\"], \"properties\": {"
    "  \"format\": {\"type\": \"string\", \"enum\": [\"csv\", \"jsonl\"]},"
    "  \"retry\": {\"type\": \"object\", \"properties\": {"
    "    \"attempts\": {\"type\": \"integer\", \"minimum\": 1},"
    "    \"initial\": {\"type\": \"string\", \"format\": \"duration\"}}},"
    "  \"headers\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}}}}";
  g_autoptr(JsonObject) result = NULL;
  SluiceSchemaProblem *problem;

  result = validate (fixture, schema,
                     "{\"format\": \"tsv\", \"retry\": {\"attempts\": 0, \"initial\": \"1s\"},"
                     " \"headers\": [\"a\", \"b\", false]}");
  g_assert_null (result);
  g_assert_cmpuint (fixture->problems->len, ==, 3);

  assert_problem_at (fixture->problems, "format", "must be one of: csv, jsonl");
  problem = assert_problem_at (fixture->problems, "retry.attempts", "must be at least 1");
  g_assert_cmpint (json_node_get_int (problem->node), ==, 0);
  assert_problem_at (fixture->problems, "headers[2]", "expected a string, got a boolean");
}

static void
test_defaults_filled (Fixture       *fixture,
                      gconstpointer  user_data)
{
  const char *schema =
    "{\"type\": \"object\", \"properties\": {"
    "  \"header\": {\"type\": \"boolean\", \"default\": true},"
    "  \"columns\": {\"type\": \"array\", \"default\": [\"a\", \"b\"]},"
    "  \"retry\": {\"type\": \"object\", \"properties\": {"
    "    \"attempts\": {\"type\": \"integer\", \"default\": 3},"
    "    \"backoff\": {\"type\": \"string\", \"default\": \"exponential\"}}},"
    "  \"tls\": {\"type\": \"object\", \"properties\": {"
    "    \"verify\": {\"type\": \"boolean\", \"default\": true}}}}}";
  g_autoptr(JsonObject) result = NULL;
  JsonObject *retry;

  result = validate (fixture, schema, "{\"header\": false, \"retry\": {\"attempts\": 5}}");
  g_assert_nonnull (result);

  /* Given values stay, absent ones get their default. */
  g_assert_false (json_object_get_boolean_member (result, "header"));
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (result, "columns")), ==, 2);
  retry = json_object_get_object_member (result, "retry");
  g_assert_cmpint (json_object_get_int_member (retry, "attempts"), ==, 5);
  g_assert_cmpstr (json_object_get_string_member (retry, "backoff"), ==, "exponential");
  /* An absent object without a default is not made up. */
  g_assert_false (json_object_has_member (result, "tls"));
}

static void
test_defaults_deep_copied (Fixture       *fixture,
                           gconstpointer  user_data)
{
  g_autoptr(JsonNode) schema = parse (
    "{\"type\": \"object\", \"properties\": {"
    "  \"columns\": {\"type\": \"array\", \"default\": [\"a\", \"b\"]},"
    "  \"limits\": {\"type\": \"object\", \"default\": {\"rate\": 5},"
    "    \"properties\": {\"rate\": {\"type\": \"integer\"}, \"burst\": {\"type\": \"integer\", \"default\": 10}}}}}");
  g_autoptr(JsonObject) first = NULL;
  g_autoptr(JsonObject) second = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *limits;

  sluice_schema_check (schema, &error);
  g_assert_no_error (error);

  first = sluice_schema_validate (schema, NULL, fixture->problems);
  g_assert_nonnull (first);

  /* The default object also gets the defaults of its own properties. */
  limits = json_object_get_object_member (first, "limits");
  g_assert_cmpint (json_object_get_int_member (limits, "rate"), ==, 5);
  g_assert_cmpint (json_object_get_int_member (limits, "burst"), ==, 10);

  /* Changing one result changes neither the schema nor the next result. */
  json_array_add_string_element (json_object_get_array_member (first, "columns"), "c");
  json_object_set_int_member (limits, "rate", 99);
  second = sluice_schema_validate (schema, NULL, fixture->problems);
  g_assert_nonnull (second);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (second, "columns")), ==, 2);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (second, "limits"), "rate"), ==, 5);
  g_assert_cmpuint (fixture->problems->len, ==, 0);
}

static void
test_result_is_copy (Fixture       *fixture,
                     gconstpointer  user_data)
{
  g_autoptr(JsonNode) schema = parse (PROPERTY ("tags", "{\"type\": \"array\", \"items\": {\"type\": \"string\"}}"));
  g_autoptr(JsonNode) config = parse ("{\"tags\": [\"a\"]}");
  g_autoptr(JsonObject) result = sluice_schema_validate (schema, config, fixture->problems);

  g_assert_nonnull (result);
  g_assert_true (result != json_node_get_object (config));
  json_array_add_string_element (json_object_get_array_member (result, "tags"), "b");
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (json_node_get_object (config), "tags")), ==, 1);
}

static void
test_null_config (Fixture       *fixture,
                  gconstpointer  user_data)
{
  const char *schema =
    "{\"type\": \"object\", \"required\": [\"path\"], \"properties\": {"
    "  \"path\": {\"type\": \"string\"}, \"recursive\": {\"type\": \"boolean\", \"default\": false}}}";
  const char *optional = PROPERTY ("recursive", "{\"type\": \"boolean\", \"default\": false}");
  g_autoptr(JsonObject) result = NULL;

  assert_one_problem (fixture, schema, NULL, "path", "missing required key");
  result = validate (fixture, optional, NULL);
  g_assert_nonnull (result);
  g_assert_false (json_object_get_boolean_member (result, "recursive"));
}

static void
test_non_object_config (Fixture       *fixture,
                        gconstpointer  user_data)
{
  assert_one_problem (fixture, "{\"type\": \"object\"}", "[1, 2]", "", "expected an object, got an array");
  /* Without "type", the root still has to be an object. */
  assert_one_problem (fixture, "{\"description\": \"anything\"}", "\"text\"", "",
                      "expected an object, got a string");
}

/* sluice_schema_check */

static void
assert_check_fails (const char *schema_text,
                    const char *expected_message)
{
  g_autoptr(JsonNode) schema = parse (schema_text);
  g_autoptr(GError) error = NULL;

  g_assert_false (sluice_schema_check (schema, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
  g_assert_cmpstr (error->message, ==, expected_message);
}

static void
test_check_accepts_subset (void)
{
  g_autoptr(JsonNode) schema = parse (
    "{\"type\": \"object\", \"title\": \"t\", \"description\": \"d\", \"required\": [\"name\"],"
    " \"properties\": {"
    "  \"name\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 9, \"examples\": [\"x\"]},"
    "  \"kind\": {\"enum\": [\"a\", \"b\"], \"default\": \"a\"},"
    "  \"size\": {\"type\": [\"integer\", \"string\"], \"minimum\": 0, \"maximum\": 5.5},"
    "  \"every\": {\"type\": \"string\", \"format\": \"duration\", \"default\": \"5m\"},"
    "  \"url\": {\"type\": \"string\", \"format\": \"uri\"},"
    "  \"list\": {\"type\": \"array\", \"minItems\": 0, \"maxItems\": 3, \"items\": {\"type\": \"number\"}},"
    "  \"extra\": {\"type\": \"object\", \"additionalProperties\": {\"type\": \"string\"}}},"
    " \"additionalProperties\": false}");
  g_autoptr(GError) error = NULL;

  g_assert_true (sluice_schema_check (schema, &error));
  g_assert_no_error (error);
}

static void
test_check_refuses_keywords (void)
{
  assert_check_fails ("{\"type\": \"object\", \"properties\": {\"x\": {\"$ref\": \"#/defs/x\"}}}",
                      "schema, at 'properties.x': unsupported keyword '$ref'");
  assert_check_fails ("{\"oneOf\": [{\"type\": \"string\"}]}",
                      "schema: unsupported keyword 'oneOf'");
  assert_check_fails ("{\"type\": \"object\", \"properties\": {\"s\": {\"type\": \"string\", \"pattern\": \"^a\"}}}",
                      "schema, at 'properties.s': unsupported keyword 'pattern'");
  assert_check_fails ("{\"type\": \"array\", \"items\": {\"exclusiveMinimum\": 0}}",
                      "schema, at 'items': unsupported keyword 'exclusiveMinimum'");
}

static void
test_check_refuses_malformed (void)
{
  g_autoptr(GError) error = NULL;

  assert_check_fails ("{\"type\": \"text\"}",
                      "schema, at 'type': unsupported type 'text' (expected one of: string, integer, number, boolean, object, array)");
  assert_check_fails ("{\"type\": []}",
                      "schema, at 'type': expected a type name or a non-empty array of them, got an array");
  assert_check_fails ("{\"type\": \"object\", \"required\": [\"a\", 3], \"properties\": {\"a\": {}}}",
                      "schema, at 'required[1]': expected a key name, got an integer");
  assert_check_fails ("{\"type\": \"object\", \"required\": [\"nmae\"], \"properties\": {\"name\": {}}}",
                      "schema, at 'required[0]': required key 'nmae' is not one of the properties");
  assert_check_fails ("{\"type\": \"string\", \"minLength\": -1}",
                      "schema, at 'minLength': expected a non-negative integer, got -1");
  assert_check_fails ("{\"type\": \"string\", \"format\": \"email\"}",
                      "schema, at 'format': unsupported format 'email' (expected duration or uri)");
  assert_check_fails ("{\"enum\": []}", "schema, at 'enum': expected a non-empty array, got an array");
  assert_check_fails ("{\"type\": \"object\", \"properties\": {\"a\": 1}}",
                      "schema, at 'properties.a': expected a schema object, got an integer");
  assert_check_fails ("[]", "schema: expected a schema object, got an array");

  g_assert_false (sluice_schema_check (NULL, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
}

static void
test_check_refuses_bad_default (void)
{
  assert_check_fails ("{\"type\": \"object\", \"properties\": {"
                      "  \"chunk\": {\"type\": \"integer\", \"minimum\": 1, \"default\": 0}}}",
                      "schema, at 'properties.chunk.default': the default is invalid: must be at least 1");
  assert_check_fails ("{\"type\": \"object\", \"properties\": {"
                      "  \"expire\": {\"type\": \"string\", \"format\": \"duration\", \"default\": \"8x\"}}}",
                      "schema, at 'properties.expire.default': the default is invalid: "
                      "'8x' is not a duration (use e.g. 500ms, 30s, 5m, 8h, 1d)");
  assert_check_fails ("{\"type\": \"object\", \"properties\": {"
                      "  \"retry\": {\"type\": \"object\", \"default\": {\"attempts\": \"3\"},"
                      "    \"properties\": {\"attempts\": {\"type\": \"integer\"}}}}}",
                      "schema, at 'properties.retry.default': the default is invalid at 'attempts': "
                      "expected an integer, got a string");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_summary ("The JSON Schema subset: every keyword, every problem reported with its "
                  "path, defaults filled in, and unsupported schemas refused.");

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/schema/type/integer", test_type_integer);
  ADD ("/schema/type/number", test_type_number);
  ADD ("/schema/type/string-boolean-object-array", test_type_others);
  ADD ("/schema/type/list", test_type_list);
  ADD ("/schema/required/nested-path", test_required);
  ADD ("/schema/additional-properties/false-true-schema", test_additional_properties);
  ADD ("/schema/enum/message-lists-choices", test_enum);
  ADD ("/schema/minimum-maximum", test_minimum_maximum);
  ADD ("/schema/min-max-length/characters", test_length);
  ADD ("/schema/items/path-and-counts", test_items);
  ADD ("/schema/format/duration", test_format_duration);
  ADD ("/schema/format/uri", test_format_uri);
  ADD ("/schema/problems/all-reported", test_all_problems_reported);
  ADD ("/schema/defaults/filled-nested", test_defaults_filled);
  ADD ("/schema/defaults/deep-copied", test_defaults_deep_copied);
  ADD ("/schema/validate/result-is-a-copy", test_result_is_copy);
  ADD ("/schema/validate/null-config", test_null_config);
  ADD ("/schema/validate/non-object-config", test_non_object_config);
#undef ADD
  g_test_add_func ("/schema/check/accepts-subset", test_check_accepts_subset);
  g_test_add_func ("/schema/check/refuses-unsupported-keywords", test_check_refuses_keywords);
  g_test_add_func ("/schema/check/refuses-malformed", test_check_refuses_malformed);
  g_test_add_func ("/schema/check/refuses-invalid-default", test_check_refuses_bad_default);

  return g_test_run ();
}
