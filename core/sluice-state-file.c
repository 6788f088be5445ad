/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-state-file.h"

#define SAVE_DELAY_MS 200

void
sluice_state_file_init (SluiceStateFile             *self,
                        SluiceStateFileSerializeFunc serialize,
                        gpointer                     owner,
                        const char                  *what)
{
  self->path = NULL;
  self->source = 0;
  self->serialize = serialize;
  self->owner = owner;
  self->what = what;
}

gboolean
sluice_state_file_open (SluiceStateFile *self,
                        const char      *path,
                        char           **out_text,
                        gsize           *out_length,
                        GError         **error)
{
  g_autoptr(GError) local_error = NULL;

  g_free (self->path);
  self->path = g_strdup (path);
  *out_text = NULL;
  *out_length = 0;
  if (g_file_get_contents (path, out_text, out_length, &local_error))
    return TRUE;
  if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    return TRUE;
  g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s %s: ", self->what, path);
  return FALSE;
}

const char *
sluice_state_file_get_path (SluiceStateFile *self)
{
  return self->path;
}

static gboolean
on_save_due (gpointer user_data)
{
  SluiceStateFile *self = user_data;
  g_autofree char *text = self->serialize (self->owner);
  g_autoptr(GError) error = NULL;

  self->source = 0;
  if (!g_file_set_contents_full (self->path, text, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, &error))
    g_warning ("could not write %s %s: %s", self->what, self->path, error->message);
  return G_SOURCE_REMOVE;
}

void
sluice_state_file_changed (SluiceStateFile *self)
{
  if (self->path == NULL || self->source != 0)
    return;
  self->source = g_timeout_add (SAVE_DELAY_MS, on_save_due, self);
}

void
sluice_state_file_flush (SluiceStateFile *self)
{
  if (self->source == 0)
    return;
  g_clear_handle_id (&self->source, g_source_remove);
  on_save_due (self);
}

void
sluice_state_file_clear (SluiceStateFile *self)
{
  g_clear_handle_id (&self->source, g_source_remove);
  g_clear_pointer (&self->path, g_free);
}
