/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* Headers every message made from a file carries. */
#define SLUICE_FILE_HEADER_NAME  "sluice-file-name"
#define SLUICE_FILE_HEADER_PATH  "sluice-file-path"
#define SLUICE_FILE_HEADER_SIZE  "sluice-file-size"
#define SLUICE_FILE_HEADER_MTIME "sluice-file-mtime"

/* Reading configuration. The host validates configurations against the
 * component's schema and fills in defaults, but components can also be
 * made without a host (tests, other embedders), so every getter checks the
 * type itself and falls back to the default. @component names the
 * component in messages ("file.watch"). A %NULL @default_value makes the
 * key required. */
gboolean sluice_file_config_get_string (JsonObject  *config,
                                        const char  *component,
                                        const char  *key,
                                        const char  *default_value,
                                        char       **out_value,
                                        GError     **error);
gboolean sluice_file_config_get_boolean (JsonObject *config,
                                         const char *component,
                                         const char *key,
                                         gboolean    default_value,
                                         gboolean   *out_value,
                                         GError    **error);
gboolean sluice_file_config_get_uint (JsonObject *config,
                                      const char *component,
                                      const char *key,
                                      guint       minimum,
                                      guint       default_value,
                                      guint      *out_value,
                                      GError    **error);
gboolean sluice_file_config_get_duration (JsonObject *config,
                                          const char *component,
                                          const char *key,
                                          const char *default_value,
                                          gint64     *out_usec,
                                          GError    **error);

/* Makes @path absolute (relative paths are taken from the current
 * directory) and canonical, so that headers carry stable paths. */
char *sluice_file_canonicalize (const char *path);

gboolean sluice_file_name_is_hidden (const char *name);

/* Copies @src into @dest in the SLUICE_ERROR domain: the code mapped from
 * a GIO or sluice error (what can be retried stays retryable), the message
 * prefixed with the formatted text. */
void sluice_file_propagate_error (GError    **dest,
                                  GError     *src,
                                  const char *format,
                                  ...) G_GNUC_PRINTF (3, 4);

/* The same for an errno value. */
void sluice_file_set_errno_error (GError    **error,
                                  int         errsv,
                                  const char *format,
                                  ...) G_GNUC_PRINTF (3, 4);

/* Opens @file and makes a streamed message of it, with the content type
 * guessed from the name and the sluice-file-* headers. Size and mtime are
 * taken from the opened file, so they describe what the stream reads. */
void sluice_file_open_message_async (GFile              *file,
                                     int                 io_priority,
                                     GCancellable       *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer            user_data);
SluiceMessage *sluice_file_open_message_finish (GAsyncResult *result,
                                                GError      **error);

/* Blocking, for worker threads: moves @path into @directory (made when
 * missing) under its base name, appending ".1", ".2", ... while that name is
 * taken (or, with a @companion_suffix, while the name plus that suffix is
 * taken: room for a file to go beside it); never replaces a file. Returns
 * the path it was moved to. */
char *sluice_file_move_unique (const char *path,
                               const char *directory,
                               const char *companion_suffix,
                               GError    **error);

G_END_DECLS
