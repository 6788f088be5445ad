/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "sluice-engine.h"
#include "sluice-plugin-host.h"
#include "sluice-workflow.h"

G_BEGIN_DECLS

/* The workflows a daemon runs: the files of its workflows folder, plus any
 * loaded by hand, each running, paused or disabled. Disabling is kept in
 * the state folder, so that it survives a restart; pausing is not.
 * Emits "changed" whenever a workflow comes, goes or changes state. */
#define SLUICE_TYPE_WORKFLOW_SET (sluice_workflow_set_get_type ())
G_DECLARE_FINAL_TYPE (SluiceWorkflowSet, sluice_workflow_set, SLUICE, WORKFLOW_SET, GObject)

typedef enum {
  SLUICE_WORKFLOW_RUNNING,
  SLUICE_WORKFLOW_PAUSED,
  SLUICE_WORKFLOW_DISABLED,
} SluiceWorkflowState;

const char *sluice_workflow_state_to_string (SluiceWorkflowState state);

/* @state_dir (may be NULL: nothing is kept) holds "disabled-workflows.json". */
SluiceWorkflowSet *sluice_workflow_set_new (SluicePluginHost *host,
                                            SluiceEngine     *engine,
                                            const char       *workflows_dir,
                                            const char       *state_dir);

/* Loads every file of the folder and starts the enabled workflows. A file
 * that does not load or start is logged and skipped. Returns how many run. */
guint sluice_workflow_set_load_folder (SluiceWorkflowSet *self);

/* Loads @path and runs it, replacing a workflow of the same name. */
char *sluice_workflow_set_load_file (SluiceWorkflowSet *self,
                                     const char        *path,
                                     GError           **error);

/* Reads the folder again: new and changed files are (re)loaded, workflows
 * whose file is gone are removed, unchanged ones are left alone. @failed:
 * file -> error message. */
void sluice_workflow_set_reload (SluiceWorkflowSet *self,
                                 GPtrArray        **out_loaded,
                                 GPtrArray        **out_removed,
                                 GHashTable       **out_failed);

gboolean sluice_workflow_set_enable (SluiceWorkflowSet *self,
                                     const char        *name,
                                     GError           **error);
gboolean sluice_workflow_set_disable (SluiceWorkflowSet *self,
                                      const char        *name,
                                      GError           **error);
gboolean sluice_workflow_set_pause (SluiceWorkflowSet *self,
                                    const char        *name,
                                    gboolean           paused,
                                    GError           **error);

/* The known workflows (SluiceWorkflow), sorted by name. */
GPtrArray *sluice_workflow_set_list (SluiceWorkflowSet *self);
/* NOT_FOUND for a name the set does not know. */
gboolean sluice_workflow_set_get_state (SluiceWorkflowSet   *self,
                                        const char          *name,
                                        SluiceWorkflowState *out_state,
                                        GError             **error);

G_END_DECLS
