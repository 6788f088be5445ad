/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The file that keeps an in-memory store's contents between runs (a daemon
 * without Redis): read once when opened, rewritten whole and atomically a
 * moment after a change (at most every 200 ms, so a burst of changes is one
 * write), and at once when flushed. Embedded in its owner; @serialize gives
 * the owner's contents as text. */
typedef char *(*SluiceStateFileSerializeFunc) (gpointer owner);

typedef struct {
  /*< private >*/
  char                        *path;
  guint                        source;
  SluiceStateFileSerializeFunc serialize;
  gpointer                     owner;
  const char                  *what;
} SluiceStateFile;

/* @what names the file in errors and warnings ("state file"). */
void sluice_state_file_init (SluiceStateFile             *self,
                             SluiceStateFileSerializeFunc serialize,
                             gpointer                     owner,
                             const char                  *what);

/* Makes @path the file; *out_text gets what it holds now, or NULL when
 * there is none yet. Fails when it exists but cannot be read. */
gboolean sluice_state_file_open (SluiceStateFile *self,
                                 const char      *path,
                                 char           **out_text,
                                 gsize           *out_length,
                                 GError         **error);

const char *sluice_state_file_get_path (SluiceStateFile *self);

/* The contents changed: write them soon. Nothing without a file. */
void sluice_state_file_changed (SluiceStateFile *self);

/* Writes a pending change now (the owner is going away). */
void sluice_state_file_flush (SluiceStateFile *self);

void sluice_state_file_clear (SluiceStateFile *self);

G_END_DECLS
