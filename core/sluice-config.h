/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The daemon's settings, from sluice.conf (JSON). */
typedef struct {
  char  *path;                 /* the file read, or NULL when defaults were used */
  char  *workflows_dir;
  char  *connections_dir;
  char  *state_dir;
  GStrv  plugin_dirs;          /* third-party plugin folders */
  gint64 shutdown_grace_usec;  /* how long runs may finish on SIGTERM */
  JsonNode *redis;             /* "managed", "none", a URL, or a store config object */
  guint  run_history_max;      /* finished runs kept for the control API (0: none) */
  gint64 run_history_keep_usec;
  gboolean run_history_signal_all; /* a Finished signal for every run, not only followed ones */
} SluiceConfig;

/* Default config file path: $sysconfdir/sluice/sluice.conf */
const char *sluice_config_get_default_path (void);

/* Reads @path; with @path NULL reads the default file when it exists and
 * otherwise uses built-in defaults. Every problem is reported at once. */
SluiceConfig *sluice_config_load (const char *path,
                                  GError    **error);
void sluice_config_free (SluiceConfig *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SluiceConfig, sluice_config_free)

/* The "*.json" file names in @dir, hidden ones left out, sorted by name.
 * The GFileError of g_dir_open() on failure. */
GPtrArray *sluice_config_list_json_files (const char *dir,
                                          GError    **error);

/* Reads every "NAME.json" in @dir as the connection NAME (a JSON object).
 * A missing folder gives no connections. */
JsonObject *sluice_config_load_connections (const char *dir,
                                            GError    **error);

G_END_DECLS
