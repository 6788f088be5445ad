/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <sluice/sluice.h>

static SluiceDeadLetter *
full_letter (void)
{
  static const guint8 binary[] = { 0, 1, 2, 'x', 0xff, 0, 0x7f, 0x80 };
  const char *const   headers[] = { "content-type", "text/csv", "x-tenant", "ünï",
                                    "x-tenant", "second", NULL };
  SluiceDeadLetter   *letter = sluice_dead_letter_new ("order-7", "orders");

  letter->node = g_strdup ("post");
  letter->source = g_strdup ("sftp.arrival");
  letter->error = g_strdup ("503 \"unavailable\"\nsecond line");
  letter->attempts = 4;
  letter->first_usec = G_GINT64_CONSTANT (1700000000123456);
  letter->last_usec = G_GINT64_CONSTANT (1700000099654321);
  letter->trace_id = g_strdup ("0af7651916cd43dd8448eb211c80319c");
  letter->content_type = g_strdup ("application/octet-stream");
  letter->payload = g_bytes_new_static (binary, sizeof binary);
  letter->headers = g_strdupv ((char **) headers);
  return letter;
}

static void
assert_same_headers (char **a,
                     char **b)
{
  /* Same pairs, same order, repeated names kept. */
  g_assert_true ((a == NULL) == (b == NULL));
  if (a != NULL)
    g_assert_true (g_strv_equal ((const char * const *) a, (const char * const *) b));
}

static void
assert_same_letter (const SluiceDeadLetter *a,
                    const SluiceDeadLetter *b,
                    gboolean                with_payload)
{
  g_assert_cmpstr (a->id, ==, b->id);
  g_assert_cmpstr (a->workflow, ==, b->workflow);
  g_assert_cmpstr (a->node, ==, b->node);
  g_assert_cmpstr (a->source, ==, b->source);
  g_assert_cmpstr (a->error, ==, b->error);
  g_assert_cmpuint (a->attempts, ==, b->attempts);
  g_assert_cmpint (a->first_usec, ==, b->first_usec);
  g_assert_cmpint (a->last_usec, ==, b->last_usec);
  g_assert_cmpstr (a->trace_id, ==, b->trace_id);
  g_assert_cmpstr (a->content_type, ==, b->content_type);
  assert_same_headers (a->headers, b->headers);
  if (with_payload && a->payload != NULL)
    {
      g_assert_nonnull (b->payload);
      g_assert_true (g_bytes_equal (a->payload, b->payload));
    }
  else
    g_assert_null (b->payload);
}

/* Through text, as a store or the D-Bus API would carry it. */
static SluiceDeadLetter *
through_text (const SluiceDeadLetter *letter,
              gboolean                with_payload)
{
  g_autoptr (JsonNode) node = sluice_dead_letter_to_json (letter, with_payload);
  g_autofree char *text = json_to_string (node, FALSE);
  g_autoptr (JsonNode) parsed = NULL;
  g_autoptr (GError) error = NULL;
  SluiceDeadLetter *back;

  parsed = json_from_string (text, &error);
  g_assert_no_error (error);
  back = sluice_dead_letter_new_from_json (parsed, &error);
  g_assert_no_error (error);
  g_assert_nonnull (back);
  return back;
}

static void
test_roundtrip_with_payload (void)
{
  g_autoptr (SluiceDeadLetter) letter = full_letter ();
  g_autoptr (SluiceDeadLetter) back = through_text (letter, TRUE);

  assert_same_letter (letter, back, TRUE);
}

static void
test_roundtrip_without_payload (void)
{
  g_autoptr (SluiceDeadLetter) letter = full_letter ();
  g_autoptr (SluiceDeadLetter) back = through_text (letter, FALSE);
  g_autoptr (JsonNode) node = sluice_dead_letter_to_json (letter, FALSE);

  g_assert_false (json_object_has_member (json_node_get_object (node), "payload"));
  assert_same_letter (letter, back, FALSE);
}

static void
test_roundtrip_absent_fields (void)
{
  g_autoptr (SluiceDeadLetter) letter = sluice_dead_letter_new ("bare", "wf");
  g_autoptr (JsonNode) node = sluice_dead_letter_to_json (letter, TRUE);
  g_autoptr (SluiceDeadLetter) back = through_text (letter, TRUE);
  JsonObject       *object = json_node_get_object (node);
  const char *const absent[] = { "node", "source", "error", "trace_id", "content_type",
                                 "headers", "payload" };

  /* Left out, not null. */
  for (guint i = 0; i < G_N_ELEMENTS (absent); i++)
    g_assert_false (json_object_has_member (object, absent[i]));
  g_assert_cmpint (json_object_get_int_member (object, "attempts"), ==, 1);
  assert_same_letter (letter, back, TRUE);
}

static void
test_roundtrip_empty_payload (void)
{
  g_autoptr (SluiceDeadLetter) letter = sluice_dead_letter_new ("empty", "wf");
  g_autoptr (SluiceDeadLetter) back = NULL;

  letter->payload = g_bytes_new (NULL, 0);
  back = through_text (letter, TRUE);
  g_assert_nonnull (back->payload);
  g_assert_cmpuint (g_bytes_get_size (back->payload), ==, 0);
}

/* Defaults for what a writer may leave out. */
static void
test_minimal_object (void)
{
  g_autoptr (JsonNode) node = json_from_string ("{\"id\": \"x\", \"workflow\": \"w\"}", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SluiceDeadLetter) letter = sluice_dead_letter_new_from_json (node, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (letter->id, ==, "x");
  g_assert_cmpstr (letter->workflow, ==, "w");
  g_assert_cmpuint (letter->attempts, ==, 1);
  g_assert_cmpint (letter->first_usec, ==, 0);
  g_assert_null (letter->headers);
  g_assert_null (letter->payload);
}

typedef struct
{
  const char *name;
  const char *json;
  const char *message; /* part of the error message */
} BadCase;

static const BadCase bad_cases[] = {
  { "array", "[1, 2]", "not a JSON object" },
  { "string", "\"text\"", "not a JSON object" },
  { "no-id", "{\"workflow\": \"w\"}", "'id' is missing" },
  { "null-id", "{\"id\": null, \"workflow\": \"w\"}", "'id' is missing" },
  { "no-workflow", "{\"id\": \"x\"}", "'workflow' is missing" },
  { "id-number", "{\"id\": 5, \"workflow\": \"w\"}", "'id' is not a string" },
  { "workflow-array", "{\"id\": \"x\", \"workflow\": [\"w\"]}", "'workflow' is not a string" },
  { "node-boolean", "{\"id\": \"x\", \"workflow\": \"w\", \"node\": true}",
    "'node' is not a string" },
  { "error-object", "{\"id\": \"x\", \"workflow\": \"w\", \"error\": {}}",
    "'error' is not a string" },
  { "payload-number", "{\"id\": \"x\", \"workflow\": \"w\", \"payload\": 12}",
    "'payload' is not a string" },
  { "attempts-negative", "{\"id\": \"x\", \"workflow\": \"w\", \"attempts\": -1}", "'attempts'" },
  { "attempts-string", "{\"id\": \"x\", \"workflow\": \"w\", \"attempts\": \"3\"}", "'attempts'" },
  { "attempts-fraction", "{\"id\": \"x\", \"workflow\": \"w\", \"attempts\": 1.5}", "'attempts'" },
  { "first-negative", "{\"id\": \"x\", \"workflow\": \"w\", \"first_usec\": -7}", "'first_usec'" },
  { "last-null", "{\"id\": \"x\", \"workflow\": \"w\", \"last_usec\": null}", "'last_usec'" },
  { "headers-object", "{\"id\": \"x\", \"workflow\": \"w\", \"headers\": {\"a\": \"b\"}}",
    "'headers' is not an array" },
  { "header-flat", "{\"id\": \"x\", \"workflow\": \"w\", \"headers\": [\"a\", \"b\"]}",
    "header 0 is not a [name, value] pair" },
  { "header-number", "{\"id\": \"x\", \"workflow\": \"w\", \"headers\": [[\"a\", 1]]}",
    "header 0 is not a [name, value] pair" },
  { "payload-not-base64", "{\"id\": \"x\", \"workflow\": \"w\", \"payload\": \"!!not base64!!\"}",
    "'payload' is not base64" },
};

static void
test_bad_json (gconstpointer data)
{
  const BadCase *c = data;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SluiceDeadLetter) letter = NULL;

  node = json_from_string (c->json, &error);
  g_assert_no_error (error);
  letter = sluice_dead_letter_new_from_json (node, &error);
  g_assert_null (letter);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA);
  if (strstr (error->message, c->message) == NULL)
    g_test_message ("'%s' gave '%s'", c->json, error->message);
  g_assert_nonnull (strstr (error->message, c->message));
}

/* What every store applies: each field alone, and unset fields. */
static void
test_filter_matches (void)
{
  g_autoptr (SluiceDeadLetter) letter = full_letter ();
  g_autoptr (SluiceDeadLetter) bare = sluice_dead_letter_new ("bare", "orders");
  SluiceDeadLetterFilter filter = { 0 };

  g_assert_true (sluice_dead_letter_filter_matches (NULL, letter));
  g_assert_true (sluice_dead_letter_filter_matches (&filter, letter));
  g_assert_true (sluice_dead_letter_filter_matches (&filter, bare));

  filter.workflow = (char *) "orders";
  g_assert_true (sluice_dead_letter_filter_matches (&filter, letter));
  filter.workflow = (char *) "order";
  g_assert_false (sluice_dead_letter_filter_matches (&filter, letter));
  filter.workflow = NULL;

  filter.node = (char *) "post";
  g_assert_true (sluice_dead_letter_filter_matches (&filter, letter));
  g_assert_false (sluice_dead_letter_filter_matches (&filter, bare));
  filter.node = NULL;

  filter.error_contains = (char *) "unavailable";
  g_assert_true (sluice_dead_letter_filter_matches (&filter, letter));
  g_assert_false (sluice_dead_letter_filter_matches (&filter, bare));
  filter.error_contains = (char *) "Unavailable";
  g_assert_false (sluice_dead_letter_filter_matches (&filter, letter));
  filter.error_contains = NULL;

  /* since is inclusive, until exclusive, both on the last time. */
  filter.since_usec = letter->last_usec;
  g_assert_true (sluice_dead_letter_filter_matches (&filter, letter));
  filter.since_usec = letter->last_usec + 1;
  g_assert_false (sluice_dead_letter_filter_matches (&filter, letter));
  filter.since_usec = 0;
  filter.until_usec = letter->last_usec;
  g_assert_false (sluice_dead_letter_filter_matches (&filter, letter));
  filter.until_usec = letter->last_usec + 1;
  g_assert_true (sluice_dead_letter_filter_matches (&filter, letter));
  /* The first time does not count. */
  filter.until_usec = letter->first_usec + 1;
  g_assert_false (sluice_dead_letter_filter_matches (&filter, letter));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_summary ("A dead letter's JSON form: every field back as it was, absent fields left "
                  "out, and a clear error for each malformed field; and the shared filter");

  g_test_add_func ("/dead-letters/json/roundtrip/with-payload", test_roundtrip_with_payload);
  g_test_add_func ("/dead-letters/json/roundtrip/without-payload", test_roundtrip_without_payload);
  g_test_add_func ("/dead-letters/json/roundtrip/absent-fields", test_roundtrip_absent_fields);
  g_test_add_func ("/dead-letters/json/roundtrip/empty-payload", test_roundtrip_empty_payload);
  g_test_add_func ("/dead-letters/json/minimal-object", test_minimal_object);
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/dead-letters/json/bad/%s", bad_cases[i].name);

      g_test_add_data_func (path, &bad_cases[i], test_bad_json);
    }
  g_test_add_func ("/dead-letters/filter/fields", test_filter_matches);

  return g_test_run ();
}
