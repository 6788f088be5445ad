/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dead-letter-store-tests.h"
#include "sluice-memory-dead-letter-store.h"

static SluiceDeadLetterStore *
create_memory_store (const DeadLetterBackend *backend,
                     const char              *tag)
{
  return sluice_memory_dead_letter_store_new ();
}

static const DeadLetterBackend backends[] = {
  { "memory", create_memory_store },
};

/* Two stores are two sets of dead letters: nothing is shared in memory. */
static void
test_instances_apart (void)
{
  g_autoptr (SluiceDeadLetterStore) a = sluice_memory_dead_letter_store_new ();
  g_autoptr (SluiceDeadLetterStore) b = sluice_memory_dead_letter_store_new ();
  g_autoptr (SluiceDeadLetter) letter = dead_letter_numbered (7);
  g_autoptr (SluiceDeadLetter) got = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (dead_letter_put (a, letter, &error));
  g_assert_no_error (error);
  got = dead_letter_get (b, letter->id, &error);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_assert_null (got);
}

/* The store keeps its own copy: a caller changing or freeing its letter
 * after put does not change what is kept. */
static void
test_keeps_a_copy (void)
{
  g_autoptr (SluiceDeadLetterStore) store = sluice_memory_dead_letter_store_new ();
  SluiceDeadLetter *letter = dead_letter_numbered (3);
  g_autoptr (SluiceDeadLetter) expected = sluice_dead_letter_copy (letter);
  g_autoptr (SluiceDeadLetter) got = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (dead_letter_put (store, letter, &error));
  g_free (letter->error);
  letter->error = g_strdup ("changed afterwards");
  got = dead_letter_get (store, expected->id, &error);
  g_assert_no_error (error);
  dead_letter_assert_equal (got, expected);
  g_clear_pointer (&got, sluice_dead_letter_free);
  sluice_dead_letter_free (letter);

  got = dead_letter_get (store, expected->id, &error);
  g_assert_no_error (error);
  dead_letter_assert_equal (got, expected);
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_summary ("The in-memory dead-letter store: the shared store behaviour, and that "
                  "each instance keeps its own copies");

  for (guint i = 0; i < G_N_ELEMENTS (backends); i++)
    dead_letter_store_tests_add (&backends[i]);
  g_test_add_func ("/dead-letters/store/memory/instances-apart", test_instances_apart);
  g_test_add_func ("/dead-letters/store/memory/keeps-a-copy", test_keeps_a_copy);

  status = g_test_run ();
  dead_letter_store_tests_clear ();
  return status;
}
