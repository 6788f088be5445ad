/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

#include "sluice-event-key.h"
#include "sluice-plugin-host.h"
#include "sluice-predicate.h"

G_BEGIN_DECLS

/* The reserved edge target that dead-letters the event. */
#define SLUICE_WORKFLOW_DEAD_LETTER "dead-letter"

typedef enum {
  SLUICE_EDGE_ON_SUCCESS,
  SLUICE_EDGE_ON_FAILURE,
  SLUICE_EDGE_ON_ALWAYS,
} SluiceEdgeOn;

typedef struct _SluiceWorkflowNode SluiceWorkflowNode;

typedef struct {
  SluiceWorkflowNode *to;       /* NULL for the dead-letter target */
  SluiceEdgeOn        on;
  SluicePredicate    *when;     /* NULL: always taken */
} SluiceWorkflowEdge;

struct _SluiceWorkflowNode {
  char                   *id;
  SluiceComponentFactory *factory;
  JsonObject             *config;     /* validated, defaults filled */
  SluiceRetryPolicy      *retry;      /* NULL: one attempt */
  double                  rate_per_second; /* 0: no rate limit */
  guint                   rate_burst;
  GPtrArray              *edges;      /* SluiceWorkflowEdge, outgoing */
  guint                   n_incoming;
  guint                   index;
};

/* A loaded, validated workflow definition. Immutable once loaded. */
#define SLUICE_TYPE_WORKFLOW (sluice_workflow_get_type ())
G_DECLARE_FINAL_TYPE (SluiceWorkflow, sluice_workflow, SLUICE, WORKFLOW, GObject)

/* Loads and checks a workflow file. On failure the error message holds
 * every problem found, one per line, each naming the file, the line where
 * known, the node and the key. */
SluiceWorkflow *sluice_workflow_load_file (SluicePluginHost *host,
                                           const char       *path,
                                           GError          **error);
SluiceWorkflow *sluice_workflow_load_data (SluicePluginHost *host,
                                           const char       *data,
                                           gssize            length,
                                           const char       *filename,
                                           GError          **error);

const char *sluice_workflow_get_name (SluiceWorkflow *self);
const char *sluice_workflow_get_path (SluiceWorkflow *self);
const char *sluice_workflow_get_description (SluiceWorkflow *self);
gboolean sluice_workflow_get_enabled (SluiceWorkflow *self);
guint sluice_workflow_get_concurrency (SluiceWorkflow *self);
SluiceComponentFactory *sluice_workflow_get_trigger_factory (SluiceWorkflow *self);
JsonObject *sluice_workflow_get_trigger_config (SluiceWorkflow *self);
/* SluiceWorkflowNode, in the order listed */
GPtrArray *sluice_workflow_get_nodes (SluiceWorkflow *self);
/* The node with @id, or NULL. */
SluiceWorkflowNode *sluice_workflow_lookup_node (SluiceWorkflow *self,
                                                 const char     *id);
/* The nodes the trigger's message enters (no incoming edge). */
GPtrArray *sluice_workflow_get_entry_nodes (SluiceWorkflow *self);
/* The node failed messages go to when no failure edge takes them, or NULL. */
SluiceWorkflowNode *sluice_workflow_get_dead_letter_node (SluiceWorkflow *self);

/* Delivery controls. "retry": how often a failed run is run again before
 * the event is dead-lettered (NULL: once). "max_deliveries": an event its
 * source delivered more often than this is dead-lettered without running
 * (0: no limit). "idempotency": the key of an event already handled within
 * the TTL (NULL: none). "ordering": events with the same key run one after
 * another, in arrival order (NULL: none). */
SluiceRetryPolicy *sluice_workflow_get_retry (SluiceWorkflow *self);
guint sluice_workflow_get_max_deliveries (SluiceWorkflow *self);
SluiceEventKey *sluice_workflow_get_idempotency_key (SluiceWorkflow *self,
                                                     gint64         *out_ttl_usec);
SluiceEventKey *sluice_workflow_get_ordering_key (SluiceWorkflow *self);

G_END_DECLS
