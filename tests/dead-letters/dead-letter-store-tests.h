/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* The behaviour every SluiceDeadLetterStore must have, as one set of
 * tests that each store's test program runs against its own store. */
typedef struct _DeadLetterBackend DeadLetterBackend;

struct _DeadLetterBackend
{
  const char *name; /* in the test paths: "/dead-letters/store/<name>/..." */
  /* A new store that holds nothing yet; @tag is unique to the test, for a
   * store that needs its own namespace (a key prefix). */
  SluiceDeadLetterStore *(*create) (const DeadLetterBackend *backend,
                                    const char              *tag);
};

/* Adds the shared tests for @backend (which must outlive g_test_run()). */
void dead_letter_store_tests_add (const DeadLetterBackend *backend);

/* Frees what dead_letter_store_tests_add() allocated; after g_test_run(). */
void dead_letter_store_tests_clear (void);

/* Synchronous wrappers: they run the thread-default main context until the
 * operation is done, and fail the test after 60 s. */
gboolean          dead_letter_put (SluiceDeadLetterStore  *store,
                                   const SluiceDeadLetter *letter,
                                   GError                **error);
SluiceDeadLetter *dead_letter_get (SluiceDeadLetterStore *store,
                                   const char            *id,
                                   GError               **error);
GPtrArray        *dead_letter_list (SluiceDeadLetterStore        *store,
                                    const SluiceDeadLetterFilter *filter,
                                    guint64                       offset,
                                    guint                         limit,
                                    GError                      **error);
gboolean          dead_letter_remove (SluiceDeadLetterStore *store,
                                      GPtrArray             *ids,
                                      guint64               *out_removed,
                                      GError               **error);

/* Puts all of @letters at once (every call in flight together) and
 * asserts that each succeeded. */
void dead_letter_put_all (SluiceDeadLetterStore *store,
                          GPtrArray             *letters);

/* Asserts that @a and @b hold the same fields, payload and headers
 * included. */
void dead_letter_assert_equal (const SluiceDeadLetter *a,
                               const SluiceDeadLetter *b);

/* A dead letter with its fields set from @i: id "dl-%05u", workflow
 * "wf-<i % 3>", node "node-<i % 4>" (none when 0), error "step failed:
 * kind <i % 5>" (none when 0), source "test.trigger", attempts 1 + i % 7,
 * first time base + ((i * 37) % 50) ms (so many share one), last time
 * first + (i % 10) * 100 µs, payload "payload <i>". */
SluiceDeadLetter *dead_letter_numbered (guint i);

G_END_DECLS
