/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dead-letter-store-tests.h"

#include <string.h>

#define WAIT_TIMEOUT_USEC (60 * G_USEC_PER_SEC)
#define BASE_USEC G_GINT64_CONSTANT (1700000000000000)
#define MS G_GINT64_CONSTANT (1000)

/* Synchronous wrappers */

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  g_assert_null (*slot);
  *slot = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_TIMEOUT_USEC;

  while (*slot == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (*slot);
  return *slot;
}

gboolean
dead_letter_put (SluiceDeadLetterStore  *store,
                 const SluiceDeadLetter *letter,
                 GError                **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  sluice_dead_letter_store_put_async (store, letter, NULL, store_result, &result);
  return sluice_dead_letter_store_put_finish (store, wait_result (&result), error);
}

SluiceDeadLetter *
dead_letter_get (SluiceDeadLetterStore *store,
                 const char            *id,
                 GError               **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  sluice_dead_letter_store_get_async (store, id, NULL, store_result, &result);
  return sluice_dead_letter_store_get_finish (store, wait_result (&result), error);
}

GPtrArray *
dead_letter_list (SluiceDeadLetterStore        *store,
                  const SluiceDeadLetterFilter *filter,
                  guint64                       offset,
                  guint                         limit,
                  GError                      **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  sluice_dead_letter_store_list_async (store, filter, offset, limit, NULL, store_result, &result);
  return sluice_dead_letter_store_list_finish (store, wait_result (&result), error);
}

gboolean
dead_letter_remove (SluiceDeadLetterStore *store,
                    GPtrArray             *ids,
                    guint64               *out_removed,
                    GError               **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  sluice_dead_letter_store_remove_async (store, ids, NULL, store_result, &result);
  return sluice_dead_letter_store_remove_finish (store, wait_result (&result), out_removed,
                                                 error);
}

typedef struct
{
  guint   pending;
  GError *error; /* the first failure */
} PutAll;

static void
put_all_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  PutAll *all = user_data;
  GError *error = NULL;

  if (!sluice_dead_letter_store_put_finish (SLUICE_DEAD_LETTER_STORE (source), result, &error))
    {
      if (all->error == NULL)
        all->error = error;
      else
        g_error_free (error);
    }
  all->pending--;
}

void
dead_letter_put_all (SluiceDeadLetterStore *store,
                     GPtrArray             *letters)
{
  PutAll all = { letters->len, NULL };
  gint64 deadline = g_get_monotonic_time () + WAIT_TIMEOUT_USEC;

  for (guint i = 0; i < letters->len; i++)
    sluice_dead_letter_store_put_async (store, g_ptr_array_index (letters, i), NULL,
                                        put_all_done, &all);
  while (all.pending > 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (all.pending, ==, 0);
  g_assert_no_error (all.error);
}

/* Letters */

void
dead_letter_assert_equal (const SluiceDeadLetter *a,
                          const SluiceDeadLetter *b)
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
  g_assert_true ((a->payload == NULL) == (b->payload == NULL));
  if (a->payload != NULL)
    {
      gsize         a_len, b_len;
      gconstpointer a_data = g_bytes_get_data (a->payload, &a_len);
      gconstpointer b_data = g_bytes_get_data (b->payload, &b_len);

      g_assert_cmpmem (a_data, a_len, b_data, b_len);
    }
  g_assert_true ((a->headers == NULL) == (b->headers == NULL));
  if (a->headers != NULL)
    g_assert_cmpstrv (a->headers, b->headers);
}

SluiceDeadLetter *
dead_letter_numbered (guint i)
{
  g_autofree char  *id = g_strdup_printf ("dl-%05u", i);
  g_autofree char  *workflow = g_strdup_printf ("wf-%u", i % 3);
  SluiceDeadLetter *letter = sluice_dead_letter_new (id, workflow);
  char             *payload;

  if (i % 4 != 0)
    letter->node = g_strdup_printf ("node-%u", i % 4);
  if (i % 5 != 0)
    letter->error = g_strdup_printf ("step failed: kind %u", i % 5);
  letter->source = g_strdup ("test.trigger");
  letter->attempts = 1 + i % 7;
  letter->first_usec = BASE_USEC + ((i * 37) % 50) * MS;
  letter->last_usec = letter->first_usec + (i % 10) * 100;
  payload = g_strdup_printf ("payload %u", i);
  letter->payload = g_bytes_new_take (payload, strlen (payload));
  return letter;
}

static GPtrArray *
numbered_letters (guint n)
{
  GPtrArray *letters = g_ptr_array_new_full (n, (GDestroyNotify) sluice_dead_letter_free);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (letters, dead_letter_numbered (i));
  return letters;
}

/* Listing order, written out again here rather than taken from a store. */
static int
compare_listing_order (gconstpointer a_,
                       gconstpointer b_)
{
  const SluiceDeadLetter *a = *(const SluiceDeadLetter *const *) a_;
  const SluiceDeadLetter *b = *(const SluiceDeadLetter *const *) b_;

  if (a->first_usec != b->first_usec)
    return a->first_usec < b->first_usec ? -1 : 1;
  return strcmp (a->id, b->id);
}

static void
assert_listing_order (GPtrArray *page)
{
  for (guint i = 1; i < page->len; i++)
    g_assert_cmpint (compare_listing_order (&page->pdata[i - 1], &page->pdata[i]), <, 0);
}

static GPtrArray *
ids_of (GPtrArray *letters)
{
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < letters->len; i++)
    g_ptr_array_add (ids, g_strdup (((SluiceDeadLetter *) g_ptr_array_index (letters, i))->id));
  return ids;
}

static void
assert_same_ids (GPtrArray *got,
                 GPtrArray *expected)
{
  g_autoptr (GPtrArray) got_ids = ids_of (got);
  g_autoptr (GPtrArray) expected_ids = ids_of (expected);

  g_ptr_array_add (got_ids, NULL);
  g_ptr_array_add (expected_ids, NULL);
  g_assert_cmpstrv ((char **) got_ids->pdata, (char **) expected_ids->pdata);
}

/* Fixture */

typedef struct
{
  const DeadLetterBackend *backend;
  SluiceDeadLetterStore   *store;
} Fixture;

typedef struct
{
  const DeadLetterBackend *backend;
  gconstpointer            data; /* the test's own, if any */
} TestData;

static GPtrArray *test_data;
static guint      fixture_count;

static void
fixture_setup (Fixture      *f,
               gconstpointer user_data)
{
  const TestData  *data = user_data;
  g_autofree char *tag = g_strdup_printf ("t%u", ++fixture_count);

  f->backend = data->backend;
  f->store = data->backend->create (data->backend, tag);
  g_assert_true (SLUICE_IS_DEAD_LETTER_STORE (f->store));
}

static void
fixture_teardown (Fixture      *f,
                  gconstpointer user_data)
{
  g_clear_object (&f->store);
}

/* Round trips */

static void
test_roundtrip_every_field (Fixture      *f,
                            gconstpointer user_data)
{
  static const guint8 binary[] = { 'a', 0, 'b', 0xff, 0xfe, 0, 0, '\r', '\n', 0x80, 'z' };
  const char *const   headers[] = { "content-encoding", "gzip", "x-retry", "1", "x-retry", "2",
                                    "Accept", "", "ünïcödé", "välue", NULL };
  g_autoptr (SluiceDeadLetter) letter = sluice_dead_letter_new ("order-42", "orders");
  g_autoptr (SluiceDeadLetter) got = NULL;
  g_autoptr (GError) error = NULL;

  letter->node = g_strdup ("post");
  letter->source = g_strdup ("webhook.receive");
  letter->error = g_strdup ("http.request: 503 Service Unavailable\nline two \"quoted\"");
  letter->attempts = 5;
  letter->first_usec = BASE_USEC + 123456;
  letter->last_usec = BASE_USEC + 987654;
  letter->trace_id = g_strdup ("4bf92f3577b34da6a3ce929d0e0e4736");
  letter->content_type = g_strdup ("application/octet-stream");
  letter->payload = g_bytes_new_static (binary, sizeof binary);
  letter->headers = g_strdupv ((char **) headers);

  g_assert_true (dead_letter_put (f->store, letter, &error));
  g_assert_no_error (error);
  got = dead_letter_get (f->store, "order-42", &error);
  g_assert_no_error (error);
  g_assert_nonnull (got);
  dead_letter_assert_equal (got, letter);
  /* A copy, not the caller's letter. */
  g_assert_true (got != letter);
}

static void
test_roundtrip_absent_fields (Fixture      *f,
                              gconstpointer user_data)
{
  g_autoptr (SluiceDeadLetter) letter = sluice_dead_letter_new ("bare", "wf");
  g_autoptr (SluiceDeadLetter) got = NULL;
  g_autoptr (GPtrArray) page = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (dead_letter_put (f->store, letter, &error));
  g_assert_no_error (error);
  got = dead_letter_get (f->store, "bare", &error);
  g_assert_no_error (error);
  g_assert_null (got->node);
  g_assert_null (got->source);
  g_assert_null (got->error);
  g_assert_null (got->trace_id);
  g_assert_null (got->content_type);
  g_assert_null (got->payload);
  g_assert_null (got->headers);
  dead_letter_assert_equal (got, letter);

  page = dead_letter_list (f->store, NULL, 0, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 1);
  dead_letter_assert_equal (g_ptr_array_index (page, 0), letter);
}

static void
test_roundtrip_empty_payload_and_headers (Fixture      *f,
                                          gconstpointer user_data)
{
  g_autoptr (SluiceDeadLetter) letter = sluice_dead_letter_new ("empty", "wf");
  g_autoptr (SluiceDeadLetter) got = NULL;
  g_autoptr (GError) error = NULL;

  letter->payload = g_bytes_new (NULL, 0);
  letter->headers = g_new0 (char *, 1);
  g_assert_true (dead_letter_put (f->store, letter, &error));
  g_assert_no_error (error);
  got = dead_letter_get (f->store, "empty", &error);
  g_assert_no_error (error);
  /* Empty, not absent. */
  g_assert_nonnull (got->payload);
  g_assert_cmpuint (g_bytes_get_size (got->payload), ==, 0);
  g_assert_nonnull (got->headers);
  g_assert_cmpuint (g_strv_length (got->headers), ==, 0);
}

static void
test_roundtrip_list_carries_payload (Fixture      *f,
                                     gconstpointer user_data)
{
  g_autoptr (GPtrArray) letters = numbered_letters (30);
  g_autoptr (GPtrArray) page = NULL;
  g_autoptr (GError) error = NULL;

  dead_letter_put_all (f->store, letters);
  page = dead_letter_list (f->store, NULL, 0, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 30);
  for (guint i = 0; i < page->len; i++)
    {
      SluiceDeadLetter *got = g_ptr_array_index (page, i);
      guint             n = (guint) g_ascii_strtoull (got->id + 3, NULL, 10);

      dead_letter_assert_equal (got, g_ptr_array_index (letters, n));
    }
}

/* Replace, get */

static void
test_replace_by_id (Fixture      *f,
                    gconstpointer user_data)
{
  g_autoptr (SluiceDeadLetter) first = sluice_dead_letter_new ("same", "wf-old");
  g_autoptr (SluiceDeadLetter) other = sluice_dead_letter_new ("other", "wf-old");
  g_autoptr (SluiceDeadLetter) second = sluice_dead_letter_new ("same", "wf-new");
  g_autoptr (SluiceDeadLetter) got = NULL;
  g_autoptr (GPtrArray) page = NULL;
  g_autoptr (GError) error = NULL;
  SluiceDeadLetterFilter filter = { 0 };

  first->first_usec = BASE_USEC + 10 * MS;
  first->last_usec = first->first_usec;
  first->node = g_strdup ("a");
  first->payload = g_bytes_new_static ("old", 3);
  other->first_usec = BASE_USEC + 20 * MS;
  other->last_usec = other->first_usec;
  second->first_usec = BASE_USEC + 30 * MS;
  second->last_usec = BASE_USEC + 31 * MS;
  second->attempts = 9;

  g_assert_true (dead_letter_put (f->store, first, &error));
  g_assert_true (dead_letter_put (f->store, other, &error));
  g_assert_true (dead_letter_put (f->store, second, &error));
  g_assert_no_error (error);

  /* The second one, whole: no field of the first is left over. */
  got = dead_letter_get (f->store, "same", &error);
  g_assert_no_error (error);
  dead_letter_assert_equal (got, second);

  /* Once, and at the place of its new time. */
  page = dead_letter_list (f->store, NULL, 0, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 2);
  g_assert_cmpstr (((SluiceDeadLetter *) g_ptr_array_index (page, 0))->id, ==, "other");
  g_assert_cmpstr (((SluiceDeadLetter *) g_ptr_array_index (page, 1))->id, ==, "same");
  g_clear_pointer (&page, g_ptr_array_unref);

  /* Under its new workflow only. */
  filter.workflow = (char *) "wf-old";
  page = dead_letter_list (f->store, &filter, 0, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 1);
  g_assert_cmpstr (((SluiceDeadLetter *) g_ptr_array_index (page, 0))->id, ==, "other");
  g_clear_pointer (&page, g_ptr_array_unref);
  filter.workflow = (char *) "wf-new";
  page = dead_letter_list (f->store, &filter, 0, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 1);
  dead_letter_assert_equal (g_ptr_array_index (page, 0), second);
  g_clear_pointer (&page, g_ptr_array_unref);

  /* Nor does the old node match any more. */
  filter.workflow = NULL;
  filter.node = (char *) "a";
  page = dead_letter_list (f->store, &filter, 0, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 0);
}

static void
test_get_unknown_id (Fixture      *f,
                     gconstpointer user_data)
{
  g_autoptr (SluiceDeadLetter) letter = sluice_dead_letter_new ("known", "wf");
  g_autoptr (SluiceDeadLetter) got = NULL;
  g_autoptr (GError) error = NULL;

  got = dead_letter_get (f->store, "nothing-yet", &error);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "nothing-yet"));
  g_assert_null (got);
  g_clear_error (&error);

  g_assert_true (dead_letter_put (f->store, letter, &error));
  got = dead_letter_get (f->store, "know", &error);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_assert_null (got);
}

/* Listing */

static void
test_list_order (Fixture      *f,
                 gconstpointer user_data)
{
  g_autoptr (GPtrArray) letters = numbered_letters (200);
  g_autoptr (GPtrArray) shuffled = g_ptr_array_new ();
  g_autoptr (GPtrArray) page = NULL;
  g_autoptr (GError) error = NULL;

  /* Put in a random order: the store orders, not the caller. */
  for (guint i = 0; i < letters->len; i++)
    g_ptr_array_insert (shuffled, g_test_rand_int_range (0, (gint32) shuffled->len + 1),
                        g_ptr_array_index (letters, i));
  for (guint i = 0; i < shuffled->len; i++)
    {
      g_assert_true (dead_letter_put (f->store, g_ptr_array_index (shuffled, i), &error));
      g_assert_no_error (error);
    }

  page = dead_letter_list (f->store, NULL, 0, 1000, &error);
  g_assert_no_error (error);
  g_ptr_array_sort (letters, compare_listing_order);
  /* 200 letters on 50 distinct times: the id decides between equals. */
  assert_same_ids (page, letters);
  assert_listing_order (page);
}

static void
test_list_offset_and_limit (Fixture      *f,
                            gconstpointer user_data)
{
  g_autoptr (GPtrArray) letters = numbered_letters (25);
  g_autoptr (GError) error = NULL;
  SluiceDeadLetterFilter filter = { 0 };

  dead_letter_put_all (f->store, letters);
  g_ptr_array_sort (letters, compare_listing_order);

  for (guint offset = 0; offset <= 30; offset += 5)
    for (guint limit = 1; limit <= 30; limit += 7)
      {
        g_autoptr (GPtrArray) page = dead_letter_list (f->store, NULL, offset, limit, &error);
        guint expected = offset >= 25 ? 0 : MIN (limit, 25 - offset);

        g_assert_no_error (error);
        g_assert_cmpuint (page->len, ==, expected);
        for (guint i = 0; i < page->len; i++)
          g_assert_cmpstr (((SluiceDeadLetter *) g_ptr_array_index (page, i))->id, ==,
                           ((SluiceDeadLetter *) g_ptr_array_index (letters, offset + i))->id);
      }

  /* An offset beyond anything, with and without a filter. */
  {
    g_autoptr (GPtrArray) page = dead_letter_list (f->store, NULL, G_MAXUINT64, 10, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (page->len, ==, 0);
  }
  filter.node = (char *) "node-1";
  {
    g_autoptr (GPtrArray) page = dead_letter_list (f->store, &filter, G_MAXUINT64, 10, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (page->len, ==, 0);
  }
}

static void
test_list_empty_store (Fixture      *f,
                       gconstpointer user_data)
{
  g_autoptr (GPtrArray) page = NULL;
  g_autoptr (GError) error = NULL;
  SluiceDeadLetterFilter filter = { .workflow = (char *) "wf", .error_contains = (char *) "x" };

  page = dead_letter_list (f->store, NULL, 0, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 0);
  g_clear_pointer (&page, g_ptr_array_unref);
  page = dead_letter_list (f->store, &filter, 0, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 0);
}

/* Filters */

typedef struct
{
  const char *name;
  const char *workflow;
  const char *node;
  const char *error_contains;
  gint64      since_ms; /* after the base time; -1: unset */
  gint64      until_ms;
} FilterCase;

static const FilterCase filter_cases[] = {
  { "workflow", "wf-1", NULL, NULL, -1, -1 },
  { "node", NULL, "node-2", NULL, -1, -1 },
  { "error-contains", NULL, NULL, "kind 3", -1, -1 },
  { "since", NULL, NULL, NULL, 20, -1 },
  { "until", NULL, NULL, NULL, -1, 10 },
  { "since-until", NULL, NULL, NULL, 12, 37 },
  { "workflow-node", "wf-2", "node-1", NULL, -1, -1 },
  { "combined", "wf-2", "node-3", "failed", 5, 45 },
  { "matches-nothing", "no-such-workflow", NULL, NULL, -1, -1 },
  { "node-matches-nothing", NULL, "node-0", NULL, -1, -1 },
};

static void
filter_from_case (const FilterCase       *c,
                  SluiceDeadLetterFilter *filter)
{
  memset (filter, 0, sizeof *filter);
  filter->workflow = (char *) c->workflow;
  filter->node = (char *) c->node;
  filter->error_contains = (char *) c->error_contains;
  filter->since_usec = c->since_ms >= 0 ? BASE_USEC + c->since_ms * MS : 0;
  filter->until_usec = c->until_ms >= 0 ? BASE_USEC + c->until_ms * MS : 0;
}

/* The documented meaning of each filter field, written out here so that
 * the stores are checked against it rather than against the SDK's own
 * function. */
static gboolean
case_matches (const FilterCase       *c,
              const SluiceDeadLetter *letter)
{
  if (c->workflow != NULL && strcmp (c->workflow, letter->workflow) != 0)
    return FALSE;
  if (c->node != NULL && (letter->node == NULL || strcmp (c->node, letter->node) != 0))
    return FALSE;
  if (c->error_contains != NULL &&
      (letter->error == NULL || strstr (letter->error, c->error_contains) == NULL))
    return FALSE;
  if (c->since_ms >= 0 && letter->last_usec < BASE_USEC + c->since_ms * MS)
    return FALSE;
  if (c->until_ms >= 0 && letter->last_usec >= BASE_USEC + c->until_ms * MS)
    return FALSE;
  return TRUE;
}

#define FILTER_LETTERS 600

static void
test_filter (Fixture      *f,
             gconstpointer user_data)
{
  const TestData   *data = user_data;
  const FilterCase *c = data->data;
  g_autoptr (GPtrArray) letters = numbered_letters (FILTER_LETTERS);
  g_autoptr (GPtrArray) expected = g_ptr_array_new ();
  g_autoptr (GPtrArray) all = NULL;
  g_autoptr (GPtrArray) paged = NULL;
  g_autoptr (GError) error = NULL;
  SluiceDeadLetterFilter filter;

  dead_letter_put_all (f->store, letters);
  for (guint i = 0; i < letters->len; i++)
    if (case_matches (c, g_ptr_array_index (letters, i)))
      g_ptr_array_add (expected, g_ptr_array_index (letters, i));
  g_ptr_array_sort (expected, compare_listing_order);
  /* The data set makes every case choose: some but not all, or none when
   * the case says so. */
  if (g_str_has_suffix (c->name, "matches-nothing"))
    g_assert_cmpuint (expected->len, ==, 0);
  else
    {
      g_assert_cmpuint (expected->len, >, 0);
      g_assert_cmpuint (expected->len, <, FILTER_LETTERS);
    }

  paged = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_dead_letter_free);
  filter_from_case (c, &filter);
  all = dead_letter_list (f->store, &filter, 0, 100000, &error);
  g_assert_no_error (error);
  assert_same_ids (all, expected);
  for (guint i = 0; i < all->len; i++)
    {
      SluiceDeadLetter *got = g_ptr_array_index (all, i);

      dead_letter_assert_equal (got, g_ptr_array_index (letters, g_ascii_strtoull (got->id + 3,
                                                                                   NULL, 10)));
    }

  /* Page by page, the same letters in the same order. */
  for (guint64 offset = 0;; offset += 7)
    {
      g_autoptr (GPtrArray) page = dead_letter_list (f->store, &filter, offset, 7, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (page->len, <=, 7);
      for (guint i = 0; i < page->len; i++)
        g_ptr_array_add (paged, sluice_dead_letter_copy (g_ptr_array_index (page, i)));
      if (page->len < 7)
        break;
    }
  assert_same_ids (paged, expected);
}

/* Paging over many */

#define MANY 10000
#define PAGE 500

/* Pages through everything @filter matches, PAGE at a time; asserts the
 * order and that each of @expected (sorted) comes exactly once. */
static void
page_through (SluiceDeadLetterStore        *store,
              const SluiceDeadLetterFilter *filter,
              GPtrArray                    *expected,
              const char                   *what)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GError) error = NULL;
  gint64 slowest = 0, total = 0;
  guint  pages = 0;
  g_autoptr (SluiceDeadLetter) previous = NULL;

  for (guint64 offset = 0;; offset += PAGE)
    {
      g_autoptr (GPtrArray) page = NULL;
      gint64 start = g_get_monotonic_time (), took;

      page = dead_letter_list (store, filter, offset, PAGE, &error);
      took = g_get_monotonic_time () - start;
      g_assert_no_error (error);
      slowest = MAX (slowest, took);
      total += took;
      pages++;

      g_assert_cmpuint (page->len, ==, MIN (PAGE, expected->len - MIN (offset, expected->len)));
      assert_listing_order (page);
      for (guint i = 0; i < page->len; i++)
        {
          SluiceDeadLetter *letter = g_ptr_array_index (page, i);
          SluiceDeadLetter *want = g_ptr_array_index (expected, offset + i);

          g_assert_cmpstr (letter->id, ==, want->id);
          g_assert_false (g_hash_table_contains (seen, letter->id));
          g_hash_table_add (seen, g_strdup (letter->id));
        }
      if (page->len > 0)
        {
          if (previous != NULL)
            g_assert_cmpint (compare_listing_order (&previous, &page->pdata[0]), <, 0);
          g_clear_pointer (&previous, sluice_dead_letter_free);
          previous = sluice_dead_letter_copy (g_ptr_array_index (page, page->len - 1));
        }
      if (page->len < PAGE)
        break;
    }
  g_assert_cmpuint (g_hash_table_size (seen), ==, expected->len);
  g_test_message ("%s: %u letters in %u pages of %u: %.1f ms in all, slowest page %.1f ms", what,
                  expected->len, pages, PAGE, total / 1000.0, slowest / 1000.0);
  /* Far above what either store needs: this catches a store that walks
   * everything for every letter, not a slow machine. */
  g_assert_cmpint (slowest, <, 2 * G_USEC_PER_SEC);
}

static void
test_paging_many (Fixture      *f,
                  gconstpointer user_data)
{
  g_autoptr (GPtrArray) letters = numbered_letters (MANY);
  g_autoptr (GPtrArray) sorted = g_ptr_array_new ();
  g_autoptr (GPtrArray) of_workflow = g_ptr_array_new ();
  g_autoptr (GPtrArray) of_node = g_ptr_array_new ();
  SluiceDeadLetterFilter filter = { 0 };
  gint64                 start;

  start = g_get_monotonic_time ();
  dead_letter_put_all (f->store, letters);
  g_test_message ("%s: put %u dead letters in %.1f ms", f->backend->name, MANY,
                  (g_get_monotonic_time () - start) / 1000.0);

  for (guint i = 0; i < letters->len; i++)
    {
      SluiceDeadLetter *letter = g_ptr_array_index (letters, i);

      g_ptr_array_add (sorted, letter);
      if (g_str_equal (letter->workflow, "wf-1"))
        g_ptr_array_add (of_workflow, letter);
      if (g_strcmp0 (letter->node, "node-1") == 0)
        g_ptr_array_add (of_node, letter);
    }
  g_ptr_array_sort (sorted, compare_listing_order);
  g_ptr_array_sort (of_workflow, compare_listing_order);
  g_ptr_array_sort (of_node, compare_listing_order);

  page_through (f->store, NULL, sorted, "no filter");
  filter.workflow = (char *) "wf-1";
  page_through (f->store, &filter, of_workflow, "workflow filter");
  filter.workflow = NULL;
  filter.node = (char *) "node-1";
  page_through (f->store, &filter, of_node, "node filter");
}

/* Remove */

static GPtrArray *
strings (const char *first,
         ...)
{
  GPtrArray *array = g_ptr_array_new_with_free_func (g_free);
  va_list    args;

  va_start (args, first);
  for (const char *s = first; s != NULL; s = va_arg (args, const char *))
    g_ptr_array_add (array, g_strdup (s));
  va_end (args);
  return array;
}

static void
test_remove (Fixture      *f,
             gconstpointer user_data)
{
  g_autoptr (GPtrArray) letters = numbered_letters (6);
  g_autoptr (GPtrArray) ids = NULL;
  g_autoptr (GPtrArray) page = NULL;
  g_autoptr (SluiceDeadLetter) got = NULL;
  g_autoptr (GError) error = NULL;
  SluiceDeadLetterFilter filter = { .workflow = (char *) "wf-1" };
  guint64                removed = 99;

  dead_letter_put_all (f->store, letters);

  /* Two that are there (one named twice), two that are not. */
  ids = strings ("dl-00001", "dl-00003", "no-such-id", "dl-00001", "dl-00100", NULL);
  g_assert_true (dead_letter_remove (f->store, ids, &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 2);

  got = dead_letter_get (f->store, "dl-00001", &error);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  page = dead_letter_list (f->store, NULL, 0, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 4);
  for (guint i = 0; i < page->len; i++)
    {
      const char *id = ((SluiceDeadLetter *) g_ptr_array_index (page, i))->id;

      g_assert_cmpstr (id, !=, "dl-00001");
      g_assert_cmpstr (id, !=, "dl-00003");
    }
  g_clear_pointer (&page, g_ptr_array_unref);
  /* Gone from the workflow's listing too (dl-00001 and dl-00004 were wf-1). */
  page = dead_letter_list (f->store, &filter, 0, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 1);
  g_assert_cmpstr (((SluiceDeadLetter *) g_ptr_array_index (page, 0))->id, ==, "dl-00004");

  /* Again: nothing left to remove. */
  g_assert_true (dead_letter_remove (f->store, ids, &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 0);

  /* No ids at all. */
  g_clear_pointer (&ids, g_ptr_array_unref);
  ids = g_ptr_array_new ();
  removed = 99;
  g_assert_true (dead_letter_remove (f->store, ids, &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 0);
}

static void
test_remove_many (Fixture      *f,
                  gconstpointer user_data)
{
  g_autoptr (GPtrArray) letters = numbered_letters (2500);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) page = NULL;
  g_autoptr (GError) error = NULL;
  guint64 removed = 0;

  dead_letter_put_all (f->store, letters);
  /* Every even one, plus as many unknown ids. */
  for (guint i = 0; i < 2500; i += 2)
    {
      g_ptr_array_add (ids, g_strdup_printf ("dl-%05u", i));
      g_ptr_array_add (ids, g_strdup_printf ("gone-%05u", i));
    }
  g_assert_true (dead_letter_remove (f->store, ids, &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 1250);

  page = dead_letter_list (f->store, NULL, 0, 5000, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 1250);
  for (guint i = 0; i < page->len; i++)
    {
      const char *id = ((SluiceDeadLetter *) g_ptr_array_index (page, i))->id;

      g_assert_cmpuint (g_ascii_strtoull (id + 3, NULL, 10) % 2, ==, 1);
    }
}

/* Refusals, asynchrony, cancellation */

static void
assert_put_refused (SluiceDeadLetterStore *store,
                    SluiceDeadLetter      *letter,
                    const char            *what)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SluiceDeadLetter) got = NULL;

  g_assert_false (dead_letter_put (store, letter, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, what));
  g_clear_error (&error);
  got = dead_letter_get (store, letter->id, &error);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
}

static void
test_put_refuses_bad_letters (Fixture      *f,
                              gconstpointer user_data)
{
  const char *const odd_headers[] = { "a", "1", "dangling", NULL };
  g_autoptr (SluiceDeadLetter) negative = sluice_dead_letter_new ("negative", "wf");
  g_autoptr (SluiceDeadLetter) odd = sluice_dead_letter_new ("odd", "wf");
  g_autoptr (SluiceDeadLetter) not_utf8 = sluice_dead_letter_new ("not-utf8", "wf");

  negative->first_usec = -5;
  assert_put_refused (f->store, negative, "first_usec");
  odd->headers = g_strdupv ((char **) odd_headers);
  assert_put_refused (f->store, odd, "dangling");
  not_utf8->error = g_strdup ("bad \xff\xfe byte");
  assert_put_refused (f->store, not_utf8, "'error'");
}

typedef struct
{
  gboolean      called;
  GAsyncResult *result;
} Call;

static void
call_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Call *call = user_data;

  call->called = TRUE;
  call->result = g_object_ref (result);
}

static void
wait_call (Call *call)
{
  wait_result (&call->result);
  g_assert_true (call->called);
}

static void
test_never_synchronous (Fixture      *f,
                        gconstpointer user_data)
{
  g_autoptr (SluiceDeadLetter) letter = dead_letter_numbered (1);
  g_autoptr (SluiceDeadLetter) got = NULL;
  g_autoptr (GPtrArray) page = NULL;
  g_autoptr (GPtrArray) ids = strings ("dl-00001", NULL);
  g_autoptr (GError) error = NULL;
  Call    put = { 0 }, get = { 0 }, missing = { 0 }, list = { 0 }, remove = { 0 };
  guint64 removed = 0;

  /* The caller may still be setting up when its callback would run: each
   * must come from the main loop, errors too. */
  sluice_dead_letter_store_put_async (f->store, letter, NULL, call_done, &put);
  g_assert_false (put.called);
  wait_call (&put);
  g_assert_true (sluice_dead_letter_store_put_finish (f->store, put.result, &error));
  g_assert_no_error (error);

  sluice_dead_letter_store_get_async (f->store, "dl-00001", NULL, call_done, &get);
  g_assert_false (get.called);
  sluice_dead_letter_store_get_async (f->store, "missing", NULL, call_done, &missing);
  g_assert_false (missing.called);
  sluice_dead_letter_store_list_async (f->store, NULL, 0, 10, NULL, call_done, &list);
  g_assert_false (list.called);
  wait_call (&get);
  wait_call (&missing);
  wait_call (&list);
  got = sluice_dead_letter_store_get_finish (f->store, get.result, &error);
  g_assert_no_error (error);
  dead_letter_assert_equal (got, letter);
  g_clear_pointer (&got, sluice_dead_letter_free);
  got = sluice_dead_letter_store_get_finish (f->store, missing.result, &error);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  page = sluice_dead_letter_store_list_finish (f->store, list.result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 1);

  sluice_dead_letter_store_remove_async (f->store, ids, NULL, call_done, &remove);
  g_assert_false (remove.called);
  wait_call (&remove);
  g_assert_true (sluice_dead_letter_store_remove_finish (f->store, remove.result, &removed,
                                                         &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 1);

  g_clear_object (&put.result);
  g_clear_object (&get.result);
  g_clear_object (&missing.result);
  g_clear_object (&list.result);
  g_clear_object (&remove.result);
}

static void
test_cancelled (Fixture      *f,
                gconstpointer user_data)
{
  g_autoptr (SluiceDeadLetter) letter = dead_letter_numbered (2);
  g_autoptr (SluiceDeadLetter) got = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  Call put = { 0 }, list = { 0 };
  g_autoptr (GPtrArray) page = NULL;

  g_cancellable_cancel (cancellable);
  sluice_dead_letter_store_put_async (f->store, letter, cancellable, call_done, &put);
  wait_call (&put);
  g_assert_false (sluice_dead_letter_store_put_finish (f->store, put.result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  /* A put cancelled before it started stored nothing. */
  got = dead_letter_get (f->store, letter->id, &error);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  sluice_dead_letter_store_list_async (f->store, NULL, 0, 10, cancellable, call_done, &list);
  wait_call (&list);
  page = sluice_dead_letter_store_list_finish (f->store, list.result, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (page);

  g_clear_object (&put.result);
  g_clear_object (&list.result);
}

/* Registration */

static void
add (const DeadLetterBackend *backend,
     const char              *name,
     gconstpointer            data,
     void (*func) (Fixture *, gconstpointer))
{
  TestData        *test = g_new0 (TestData, 1);
  g_autofree char *path = g_strdup_printf ("/dead-letters/store/%s/%s", backend->name, name);

  test->backend = backend;
  test->data = data;
  if (test_data == NULL)
    test_data = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (test_data, test);
  g_test_add (path, Fixture, test, fixture_setup, func, fixture_teardown);
}

void
dead_letter_store_tests_add (const DeadLetterBackend *backend)
{
  add (backend, "roundtrip/every-field", NULL, test_roundtrip_every_field);
  add (backend, "roundtrip/absent-fields", NULL, test_roundtrip_absent_fields);
  add (backend, "roundtrip/empty-payload-and-headers", NULL,
       test_roundtrip_empty_payload_and_headers);
  add (backend, "roundtrip/list-carries-payload", NULL, test_roundtrip_list_carries_payload);
  add (backend, "put/replaces-by-id", NULL, test_replace_by_id);
  add (backend, "put/refuses-bad-letters", NULL, test_put_refuses_bad_letters);
  add (backend, "get/unknown-id", NULL, test_get_unknown_id);
  add (backend, "list/order", NULL, test_list_order);
  add (backend, "list/offset-and-limit", NULL, test_list_offset_and_limit);
  add (backend, "list/empty-store", NULL, test_list_empty_store);
  for (guint i = 0; i < G_N_ELEMENTS (filter_cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("filter/%s", filter_cases[i].name);

      add (backend, name, &filter_cases[i], test_filter);
    }
  add (backend, "list/paging-10000", NULL, test_paging_many);
  add (backend, "remove/count-and-unknown-ids", NULL, test_remove);
  add (backend, "remove/many", NULL, test_remove_many);
  add (backend, "async/never-synchronous", NULL, test_never_synchronous);
  add (backend, "async/cancelled", NULL, test_cancelled);
}

void
dead_letter_store_tests_clear (void)
{
  g_clear_pointer (&test_data, g_ptr_array_unref);
}
