/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A worker process for the tests, working a batch through the redis batch
 * store like another host would:
 *
 *   redis-test-worker hold  URL PREFIX BATCH WORKER CHUNK LEASE_MS
 *     claims one chunk, prints "claimed ID ID ...", then sleeps until killed;
 *   redis-test-worker drain URL PREFIX BATCH WORKER CHUNK LEASE_MS
 *     claims and settles (as succeeded) until nothing is left, two claims
 *     in flight, then prints the ids it settled, one per line. */
#include <stdio.h>
#include <stdlib.h>

#include <sluice/sluice.h>

#include "redis-test-util.h"

typedef struct
{
  SluiceBatchStore *store;
  const char       *batch;
  const char       *worker;
  guint             chunk;
  gint64            lease_usec;
  GPtrArray        *settled;   /* of ids */
  guint             in_flight; /* claims and settles */
  gboolean          empty;     /* a claim found nothing left */
  GMainLoop        *loop;
} Drain;

static void claim_next (Drain *drain);

static void
settled (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Drain *drain = user_data;
  g_autoptr (GError) error = NULL;

  if (!sluice_batch_store_settle_finish (drain->store, result, &error))
    {
      g_printerr ("settle: %s\n", error->message);
      exit (2);
    }
  if (--drain->in_flight == 0 && drain->empty)
    g_main_loop_quit (drain->loop);
}

static void
claimed (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Drain *drain = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) records = sluice_batch_store_claim_finish (drain->store, result, &error);
  g_autoptr (GPtrArray) outcomes = NULL;

  if (records == NULL)
    {
      g_printerr ("claim: %s\n", error->message);
      exit (2);
    }
  drain->in_flight--;

  if (records->len == 0)
    {
      drain->empty = TRUE;
      if (drain->in_flight == 0)
        g_main_loop_quit (drain->loop);
      return;
    }

  outcomes = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_record_outcome_free);
  for (guint i = 0; i < records->len; i++)
    {
      const char *id = sluice_message_get_id (g_ptr_array_index (records, i));

      g_ptr_array_add (outcomes, sluice_record_outcome_new (id, TRUE, NULL));
      g_ptr_array_add (drain->settled, g_strdup (id));
    }
  drain->in_flight++;
  sluice_batch_store_settle_async (drain->store, drain->batch, drain->worker, outcomes, NULL,
                                   settled, drain);
  claim_next (drain);
}

static void
claim_next (Drain *drain)
{
  if (drain->empty)
    return;
  drain->in_flight++;
  sluice_batch_store_claim_async (drain->store, drain->batch, drain->worker, drain->chunk,
                                  drain->lease_usec, NULL, claimed, drain);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr (SluiceClock) clock = NULL;
  g_autoptr (SluiceContext) context = NULL;
  g_autoptr (SluiceBatchStore) store = NULL;
  const char *mode;
  guint       chunk;
  gint64      lease_usec;

  if (argc != 8)
    {
      g_printerr ("usage: %s hold|drain URL PREFIX BATCH WORKER CHUNK LEASE_MS\n", argv[0]);
      return 1;
    }
  mode = argv[1];
  chunk = (guint) g_ascii_strtoull (argv[6], NULL, 10);
  lease_usec = (gint64) g_ascii_strtoull (argv[7], NULL, 10) * 1000;

  clock = sluice_clock_new_system ();
  context = sluice_context_new ("test/redis-worker", clock, NULL);
  store = redis_test_batch_store_new (context, argv[2], argv[3]);

  if (g_str_equal (mode, "hold"))
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) records = redis_test_batch_claim (store, argv[4], argv[5], chunk,
                                                              lease_usec, &error);
      g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);

      if (records == NULL)
        {
          g_printerr ("claim: %s\n", error->message);
          return 2;
        }
      printf ("claimed");
      for (guint i = 0; i < records->len; i++)
        printf (" %s", sluice_message_get_id (g_ptr_array_index (records, i)));
      printf ("\n");
      fflush (stdout);

      /* Until SIGKILL: the records stay leased to this worker. */
      g_main_loop_run (loop);
      return 0;
    }

  if (g_str_equal (mode, "drain"))
    {
      Drain drain = { store, argv[4], argv[5], chunk, lease_usec,
                      g_ptr_array_new_with_free_func (g_free), 0, FALSE,
                      g_main_loop_new (NULL, FALSE) };

      claim_next (&drain);
      claim_next (&drain);
      g_main_loop_run (drain.loop);

      for (guint i = 0; i < drain.settled->len; i++)
        printf ("%s\n", (const char *) g_ptr_array_index (drain.settled, i));
      fflush (stdout);
      g_ptr_array_unref (drain.settled);
      g_main_loop_unref (drain.loop);
      return 0;
    }

  g_printerr ("%s: unknown mode '%s'\n", argv[0], mode);
  return 1;
}
