/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

#include "sluice-test-fs.h"

G_BEGIN_DECLS

/* The file plugin, loaded the way the host loads it: the module, its
 * descriptor, a SluicePlugin with the components registered. */
typedef struct {
  GModule      *module;
  SluicePlugin *plugin;
} FileTestPlugin;

FileTestPlugin *file_test_plugin_load (void);
void file_test_plugin_free (FileTestPlugin *loaded);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FileTestPlugin, file_test_plugin_free)

/* Makes a component from a JSON configuration; NULL with @error set when
 * the component refuses it. */
GObject *file_test_create (FileTestPlugin *loaded,
                           const char     *component,
                           SluiceContext  *context,
                           const char     *config_json,
                           GError        **error);

/* Runs the default main context until @done says so, or fails the test
 * after @timeout_ms. */
typedef gboolean (*FileTestDoneFunc) (gpointer user_data);
void file_test_wait_until (FileTestDoneFunc done,
                           gpointer         user_data,
                           guint            timeout_ms);

/* The same, but returns FALSE after @timeout_ms instead of failing. */
gboolean file_test_wait_for (FileTestDoneFunc done,
                             gpointer         user_data,
                             guint            timeout_ms);

/* Runs the default main context for @ms of real time, so that file
 * monitor events and thread pool results arrive. */
void file_test_spin (guint ms);

/* Waits for one async result on the default main context. */
GAsyncResult *file_test_wait_result (GAsyncResult **slot);
void file_test_store_result (GObject      *source,
                             GAsyncResult *result,
                             gpointer      user_data);

/* Reads a whole stream (a test-sized one). */
char *file_test_read_stream (GInputStream *stream,
                             gsize        *out_len);

/* Writes @contents to @dir/@name, making @dir as needed. */
char *file_test_write (const char *dir,
                       const char *name,
                       const char *contents);

/* The names in @dir, sorted, as one comma-separated string ("" if empty),
 * so a test can compare a whole listing at once. */
char *file_test_list_dir (const char *dir);

char *file_test_make_tmpdir (void);

G_END_DECLS
