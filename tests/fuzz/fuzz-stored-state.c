/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: what Sluice reads back from storage that may have been
 * damaged or written by someone else — a dead letter's JSON
 * (sluice_dead_letter_new_from_json) and the state file of a daemon
 * without Redis (sluice_memory_state_store_set_file). Every input loads or
 * fails with an error; a loaded dead letter writes back to JSON that loads
 * again to the same fields. */
#include <glib/gstdio.h>
#include <sluice/sluice.h>
#include <string.h>
#include <unistd.h>

#include "sluice-memory-state-store.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static char *state_path;

static void
check_dead_letter (const char *text, gsize size)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(SluiceDeadLetter) letter = NULL;
  g_autoptr(SluiceDeadLetter) again = NULL;
  g_autoptr(JsonNode) written = NULL;
  g_autoptr(GError) error = NULL;

  if (!json_parser_load_from_data (parser, text, (gssize) size, NULL) ||
      json_parser_get_root (parser) == NULL)
    return;
  letter = sluice_dead_letter_new_from_json (json_parser_get_root (parser), &error);
  if (letter == NULL)
    {
      g_assert_nonnull (error);
      /* "dead letter: ..." for the JSON's shape, "dead letter 'ID': ..." for
       * what stores refuse */
      g_assert_true (g_str_has_prefix (error->message, "dead letter: ") ||
                     g_str_has_prefix (error->message, "dead letter '"));
      return;
    }
  written = sluice_dead_letter_to_json (letter, TRUE);
  again = sluice_dead_letter_new_from_json (written, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again->id, ==, letter->id);
  g_assert_cmpstr (again->workflow, ==, letter->workflow);
  g_assert_cmpstr (again->error, ==, letter->error);
  g_assert_cmpuint (again->attempts, ==, letter->attempts);
  g_assert_true ((again->payload == NULL) == (letter->payload == NULL));
  if (letter->payload != NULL)
    g_assert_true (g_bytes_equal (again->payload, letter->payload));
  g_assert_true ((again->headers == NULL) == (letter->headers == NULL));
  if (letter->headers != NULL)
    g_assert_true (g_strv_equal ((const char * const *) again->headers,
                                 (const char * const *) letter->headers));
}

static void
check_state_file (const guint8 *data, gsize size)
{
  g_autoptr(SluiceClock) clock = sluice_clock_new_manual (G_GINT64_CONSTANT (1700000000000000));
  g_autoptr(GError) error = NULL;
  SluiceStateStore *store;

  g_assert_true (g_file_set_contents (state_path, (const char *) data, (gssize) size, NULL));
  store = sluice_memory_state_store_new (clock);
  if (!sluice_memory_state_store_set_file (store, state_path, &error))
    g_assert_nonnull (strstr (error->message, state_path));
  g_object_unref (store);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);

  if (state_path == NULL)
    {
      g_autofree char *dir = g_dir_make_tmp ("sluice-fuzz-XXXXXX", NULL);

      state_path = g_build_filename (dir, "state.json", NULL);
    }
  check_dead_letter (text, strlen (text));
  check_state_file (data, size);
  return 0;
}
