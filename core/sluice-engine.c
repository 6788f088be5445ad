/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-engine.h"

#include <unistd.h>

#include "sluice-batch-record-event.h"
#include "sluice-batch-step.h"
#include "sluice-dead-letters.h"
#include "sluice-fanout-event.h"
#include "sluice-replay-event.h"
#include "sluice-run-observer.h"
#include "sluice-source-iter.h"

/*
 * How a run moves: the trigger's message enters the entry nodes as hops.
 * A hop runs one node on one message; a step's output (or a source's
 * records) becomes a pull that hands messages to the next nodes, at most
 * `concurrency` of them in flight at a time, so a slow downstream slows the
 * producer. Hops and pulls are counted in their parent pull (the root of a
 * run has none); a pull is complete once its iterator is exhausted and all
 * its hops are, and the run once nothing is left. Only then is the event
 * settled: acked, or dead-lettered with the first unhandled error.
 *
 * A batch moves hundreds of thousands of runs a second through here, so a
 * run is one struct from the moment it is queued (nothing is hung on its
 * event), its id is formatted once and by hand, the runs of a flow share
 * one cancellable (only shutdown cancels, and then all of them), steps
 * that watch runs hear only of the runs that reached them, and a node built
 * into core that can take a message at once (the batch node filling its
 * buffer) is handed it directly (SluiceEngineFastPath).
 *
 * Delivery controls sit around that, valid whatever the trigger: an event
 * delivered more often than the workflow's max_deliveries is dead-lettered
 * without running; an ordering key holds an event back while one with the
 * same key is queued, running or waiting to be retried (so those run in
 * arrival order, others in parallel); an idempotency key is checked in the
 * state store when the run gets its slot (a key handled within the TTL is
 * acked without running; one being handled elsewhere is handed back for
 * later); a failed run is run again after the workflow's retry backoff
 * (its slot is free meanwhile, its ordering key is not); and a run that
 * gives up is written to the dead-letter store before its source hears of
 * it. A trigger configured identically in several workflows is started
 * once and its events are fanned out to all of them (a Feed).
 */

typedef struct _Feed Feed;
typedef struct _Flow Flow;
typedef struct _Run Run;
typedef struct _Pull Pull;

struct _SluiceEngine
{
  GObject parent_instance;

  SluiceContext *context;
  GHashTable    *flows;      /* name -> Flow */
  GTask         *shutdown;   /* pending shutdown, or NULL */
  guint          grace_timeout;
  guint64        next_run_id;
  GObject       *batch_manager; /* weak: the manager holds the engine */
  guint          starting;   /* depth of run_start() calls */
  GHashTable    *feeds;      /* trigger key -> Feed */
  SluiceDeadLetterStore *dead_letters; /* or NULL: sources dead-letter alone */
  char          *owner;      /* this engine, in idempotency locks */
  GRand         *rand;       /* retry jitter */
  GPtrArray     *retiring;   /* Flow*, removed but with runs in flight */
  guint          retire_idle;
};

/* One trigger instance and the workflows it feeds: several when their
 * trigger config is the same (fan-out). */
struct _Feed
{
  SluiceEngine *engine;      /* borrowed */
  char         *key;
  GObject      *trigger;
  gulong        event_handler;
  GPtrArray    *flows;       /* Flow*, borrowed, in the order added */
  gboolean      started;
  gboolean      warned_stream;
  guint         credit;      /* last given to the trigger */
  gboolean      credit_known;
};

/* At most this many run observers per workflow are told only of the runs
 * that reached them; past that, all of them hear of every run. */
#define MAX_TRACKED_OBSERVERS 32

struct _Flow
{
  SluiceEngine   *engine;    /* borrowed */
  SluiceWorkflow *workflow;
  SluiceContext  *context;
  Feed           *feed;      /* borrowed: the engine owns feeds */
  GObject        *trigger;   /* the feed's, borrowed */
  GPtrArray      *instances; /* per node: GObject step, or NULL for sources */
  GPtrArray      *contexts;  /* per node: SluiceContext */
  GQueue          runs;      /* Run*, started; linked through Run.link */
  GQueue          waiting;   /* Run*, not started yet; linked through Run.link */
  GCancellable   *cancellable; /* shared by the runs */
  GArray         *observers; /* guint node index of each SluiceRunObserver step */
  gint           *observer_bit; /* per node: its bit in Run.observers_seen, or -1 */
  const SluiceEngineFastPath **fast_paths; /* per node, or NULL */
  guint           concurrency;
  gboolean        stopped;
  gboolean        paused;    /* no credit, no new starts; see sluice_engine_set_paused() */
  GHashTable     *order_keys; /* ordering key -> GQueue of Run* held back; a key is
                               * present while a run with it is queued or running */
  guint           held;      /* runs held back behind their ordering key */
  GQueue          backoff;   /* Run*, waiting to run again; linked through Run.link */
};

struct _Run
{
  GList          link;       /* in its flow's waiting or runs queue */
  Flow          *flow;
  SluiceEvent   *event;
  SluiceWorkflowNode *start_node; /* injected after this node, or NULL */
  guint64        number;
  char          *id;         /* "<workflow>-<number>", made when first needed */
  guint          root_units;
  GError        *failure;    /* first error that went to the dead-letter place */
  GHashTable    *retrying;   /* Hop* -> clock timeout id, hops waiting to retry; lazy */
  gint64         started_usec;
  guint          observers_pending;
  guint32        observers_seen; /* bits of Flow.observer_bit reached by a hop */
  char          *failure_node; /* the node of the first failure */
  char          *order_key;  /* or NULL */
  char          *idempotency_key; /* state-store key once checked, or NULL */
  char          *idempotency_owner; /* who holds its ":running" lock */
  GError        *refused;    /* dead-letter without running (too many deliveries) */
  guint          tries;      /* runs of this event here, the current one included */
  guint          delivered;  /* deliveries by the source when it came (message attempt) */
  guint          backoff_timeout;
  gint64         first_failed_usec;
  SluiceMessage *reply;      /* the last message a final node emitted */
};

struct _Pull
{
  Run                *run;
  SluiceWorkflowNode *node;    /* the producer */
  SluiceMessage      *input;   /* what the producer was given */
  SluiceMessageIter  *iter;
  SluiceMessage      *peeked;  /* taken from iter, not routed yet */
  Pull               *parent;
  guint               in_flight; /* hops and pulls started from it, not done */
  gboolean            exhausted;
  gboolean            pulling;   /* a next_async is pending */
  gboolean            busy;      /* inside pull_pump() */
};

typedef struct
{
  Run                *run;
  SluiceWorkflowNode *node;
  SluiceMessage      *message;
  Pull               *parent;
  guint               attempt;
  gboolean            to_dead_letter; /* this hop carries a failure */
  gboolean            has_token;      /* of its node's rate limit, for this attempt */
} Hop;

enum { SIGNAL_RUN_STARTED, SIGNAL_RUN_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (SluiceEngine, sluice_engine, G_TYPE_OBJECT)

static void start_hop (Run *run, SluiceWorkflowNode *node, SluiceMessage *message, Pull *parent,
                       gboolean to_dead_letter);
static void pull_pump (Pull *pull);
static void unit_end (Run *run, Pull *parent);
static void flow_dispatch (Flow *flow);
static void maybe_finish_shutdown (SluiceEngine *self);
static void engine_retire_later (SluiceEngine *self);

/* ---- Units ---- */

static void
unit_begin (Run *run, Pull *parent)
{
  if (parent != NULL)
    parent->in_flight++;
  else
    run->root_units++;
}

static void
pull_free (Pull *pull)
{
  g_clear_object (&pull->peeked);
  g_clear_object (&pull->input);
  g_clear_object (&pull->iter);
  g_free (pull);
}

static void run_complete (Run *run);

/* Frees a pull once nothing more can come of it, ending its unit in its
 * own parent. */
static gboolean
pull_maybe_complete (Pull *pull)
{
  Run *run = pull->run;
  Pull *parent = pull->parent;

  if (pull->busy || pull->pulling || !pull->exhausted || pull->in_flight > 0)
    return FALSE;
  pull_free (pull);
  unit_end (run, parent);
  return TRUE;
}

static void
unit_end (Run *run, Pull *parent)
{
  if (parent == NULL)
    {
      g_assert (run->root_units > 0);
      if (--run->root_units == 0)
        run_complete (run);
      return;
    }

  g_assert (parent->in_flight > 0);
  parent->in_flight--;
  if (!pull_maybe_complete (parent))
    pull_pump (parent);
}

/* ---- Failures ---- */

static SluiceMessage *
failed_message_new (SluiceMessage *input, SluiceWorkflowNode *node, guint attempts,
                    const GError *error)
{
  SluiceMessage *message = sluice_message_new_child (input);
  g_autofree char *attempts_text = g_strdup_printf ("%u", attempts);

  sluice_message_set_id (message, sluice_message_get_id (input));
  if (sluice_message_is_streamed (input))
    sluice_message_set_stream (message, sluice_message_get_stream (input),
                               sluice_message_get_length (input));
  else if (sluice_message_get_bytes (input) != NULL)
    sluice_message_set_bytes (message, sluice_message_get_bytes (input));
  sluice_message_set_content_type (message, sluice_message_get_content_type (input));
  sluice_message_set_header (message, "sluice-error", error->message);
  sluice_message_set_header (message, "sluice-error-node", node->id);
  sluice_message_set_header (message, "sluice-attempts", attempts_text);
  return message;
}

/* Sends a failure to the workflow's dead-letter place: its dead_letter step
 * if it has one, else the event goes to its source's dead-letter place when
 * the run ends. */
static void
dead_letter (Run *run, SluiceWorkflowNode *node, SluiceMessage *failed, const GError *error,
             gboolean failed_in_dead_letter_step, Pull *parent)
{
  SluiceWorkflowNode *dead_letter_node = sluice_workflow_get_dead_letter_node (run->flow->workflow);

  if (dead_letter_node != NULL && !failed_in_dead_letter_step &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      start_hop (run, dead_letter_node, failed, parent, TRUE);
      return;
    }
  if (run->failure == NULL)
    {
      run->failure = g_error_copy (error);
      run->failure_node = g_strdup (node->id);
    }
}

/* Routes a node's failure along its failure/always edges; with none taken,
 * to the dead-letter place. */
static void
route_failure (Hop *hop, const GError *error)
{
  Run *run = hop->run;
  g_autoptr(SluiceMessage) failed = failed_message_new (hop->message, hop->node, hop->attempt, error);
  gboolean taken = FALSE;

  sluice_log (g_ptr_array_index (run->flow->contexts, hop->node->index), hop->message,
              G_LOG_LEVEL_MESSAGE, "run %s failed after %u attempt%s: %s", run->id, hop->attempt,
              hop->attempt == 1 ? "" : "s", error->message);

  if (!hop->to_dead_letter && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      for (guint i = 0; i < hop->node->edges->len; i++)
        {
          SluiceWorkflowEdge *edge = g_ptr_array_index (hop->node->edges, i);

          if (edge->on == SLUICE_EDGE_ON_SUCCESS)
            continue;
          if (edge->when != NULL && !sluice_predicate_evaluate (edge->when, failed))
            continue;
          taken = TRUE;
          if (edge->to == NULL)
            dead_letter (run, hop->node, failed, error, FALSE, hop->parent);
          else
            start_hop (run, edge->to, failed, hop->parent, FALSE);
        }
    }

  if (!taken)
    {
      if (hop->to_dead_letter)
        {
          g_autoptr(GError) wrapped = g_error_new (error->domain, error->code,
                                                   "dead-letter step '%s' failed: %s (original "
                                                   "error: %s)", hop->node->id, error->message,
                                                   sluice_message_get_header (hop->message,
                                                                              "sluice-error"));
          dead_letter (run, hop->node, failed, wrapped, TRUE, hop->parent);
        }
      else
        dead_letter (run, hop->node, failed, error, FALSE, hop->parent);
    }
}

/* ---- Output ---- */

static void
route_output (Pull *pull, SluiceMessage *message)
{
  Run *run = pull->run;

  /* What a final node emits is the run's answer (an HTTP API's response). */
  if (pull->node->edges->len == 0)
    {
      g_set_object (&run->reply, message);
      return;
    }

  for (guint i = 0; i < pull->node->edges->len; i++)
    {
      SluiceWorkflowEdge *edge = g_ptr_array_index (pull->node->edges, i);

      if (edge->on == SLUICE_EDGE_ON_FAILURE)
        continue;
      if (edge->when != NULL && !sluice_predicate_evaluate (edge->when, message))
        continue;
      if (edge->to == NULL)
        {
          g_autoptr(GError) error = g_error_new (SLUICE_ERROR, SLUICE_ERROR_FAILED,
                                                 "node '%s' routed the message to dead-letter",
                                                 pull->node->id);
          g_autoptr(SluiceMessage) failed = failed_message_new (message, pull->node, 1, error);

          dead_letter (run, pull->node, failed, error, FALSE, pull);
        }
      else
        start_hop (run, edge->to, message, pull, FALSE);
    }
}

static void
pull_failed (Pull *pull, GError *error)
{
  Hop failed_hop = { pull->run, pull->node, pull->input, pull->parent, 1, FALSE };

  /* The producer failed midway (a malformed record in a file): what was
   * already emitted goes on; the input takes the failure path. */
  route_failure (&failed_hop, error);
  pull->exhausted = TRUE;
}

static void
on_next (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Pull *pull = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceMessage) message = NULL;

  message = sluice_message_iter_next_finish (SLUICE_MESSAGE_ITER (object), result, &error);
  pull->pulling = FALSE;

  /* Busy while routing, so that hops finishing at once cannot free it. */
  pull->busy = TRUE;
  if (error != NULL)
    pull_failed (pull, error);
  else if (message == NULL)
    pull->exhausted = TRUE;
  else
    route_output (pull, message);
  pull->busy = FALSE;
  pull_pump (pull);
}

/* Hands messages downstream while there is room, then completes the pull
 * if it is done. Re-entrant calls (a hop that ends while we route) return
 * at once: the loop here sees their effect. */
static void
pull_pump (Pull *pull)
{
  guint window = pull->run->flow->concurrency;

  if (pull->busy)
    return;
  pull->busy = TRUE;
  while (!pull->exhausted && !pull->pulling && pull->in_flight < window)
    {
      gboolean ready = TRUE;
      g_autoptr(SluiceMessage) message = g_steal_pointer (&pull->peeked);

      if (message == NULL)
        message = sluice_message_iter_pop_ready (pull->iter, &ready);
      if (!ready)
        {
          pull->pulling = TRUE;
          sluice_message_iter_next_async (pull->iter, pull->run->flow->cancellable, on_next,
                                          pull);
          break;
        }
      if (message == NULL)
        {
          pull->exhausted = TRUE;
          break;
        }
      route_output (pull, message);
    }
  pull->busy = FALSE;
  pull_maybe_complete (pull);
}

static void
hop_succeeded (Hop *hop, SluiceMessageIter *iter)
{
  gboolean ready = FALSE;
  SluiceMessage *first = sluice_message_iter_pop_ready (iter, &ready);
  Pull *pull;

  /* A sink or a filter emits nothing: an output that is over at once
   * needs no pull, and the hop's unit ends here. */
  if (ready && first == NULL)
    {
      g_object_unref (iter);
      unit_end (hop->run, hop->parent);
      return;
    }

  /* The pull takes over the hop's unit in its parent. */
  pull = g_new0 (Pull, 1);
  pull->run = hop->run;
  pull->node = hop->node;
  pull->input = g_object_ref (hop->message);
  pull->iter = iter;
  pull->peeked = first;
  pull->parent = hop->parent;
  pull_pump (pull);
}

/* ---- Hops ---- */

static void
hop_free (Hop *hop)
{
  g_clear_object (&hop->message);
  g_free (hop);
}

static void run_hop (Hop *hop);
static void hop_take_token (Hop *hop);

static void
on_retry_due (gpointer user_data)
{
  Hop *hop = user_data;

  g_hash_table_remove (hop->run->retrying, hop);
  run_hop (hop);
}

static void
hop_finished (Hop *hop, SluiceMessageIter *iter, GError *error)
{
  Run *run = hop->run;
  Pull *parent = hop->parent;
  SluiceRetryPolicy *retry = hop->node->retry;

  if (iter != NULL)
    {
      hop_succeeded (hop, iter);
      hop_free (hop);
      return;
    }

  if (retry != NULL && sluice_error_is_retryable (error) &&
      sluice_retry_policy_allows_retry (retry, hop->attempt) &&
      !g_cancellable_is_cancelled (run->flow->cancellable))
    {
      SluiceContext *context = g_ptr_array_index (run->flow->contexts, hop->node->index);
      gint64 delay = sluice_retry_policy_get_delay (retry, hop->attempt, NULL);
      g_autofree char *delay_text = sluice_format_duration (delay);

      sluice_log (context, hop->message, G_LOG_LEVEL_INFO,
                  "run %s: attempt %u failed (%s); retrying in %s", run->id, hop->attempt,
                  error->message, delay_text);
      hop->attempt++;
      hop->has_token = FALSE;
      if (run->retrying == NULL)
        run->retrying = g_hash_table_new (NULL, NULL);
      g_hash_table_insert (run->retrying, hop,
                           GUINT_TO_POINTER (sluice_clock_add_timeout (
                             sluice_context_get_clock (context), delay, on_retry_due, hop, NULL)));
      return;
    }

  route_failure (hop, error);
  hop_free (hop);
  unit_end (run, parent);
}

/* ---- Rate limits ---- */

static void
on_token (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Hop *hop = user_data;
  Run *run = hop->run;
  g_autoptr(GError) error = NULL;
  gint64 wait = 0;

  if (!sluice_state_store_take_tokens_finish (SLUICE_STATE_STORE (object), result, &wait, &error))
    {
      hop_finished (hop, NULL, error);
      return;
    }
  if (wait == 0)
    {
      hop->has_token = TRUE;
      run_hop (hop);
      return;
    }
  /* Over the rate: ask again once a token is due. Kept with the hops
   * waiting to retry, so that shutdown wakes it. */
  if (run->retrying == NULL)
    run->retrying = g_hash_table_new (NULL, NULL);
  g_hash_table_insert (run->retrying, hop,
                       GUINT_TO_POINTER (sluice_clock_add_timeout (
                         sluice_context_get_clock (run->flow->context), wait, on_retry_due, hop,
                         NULL)));
}

/* One token of the node's bucket, shared through the state store by every
 * run and every host: "rate:<workflow>/<node>". */
static void
hop_take_token (Hop *hop)
{
  Flow *flow = hop->run->flow;
  SluiceStateStore *store = sluice_context_get_state_store (flow->context);
  g_autofree char *bucket = NULL;

  if (store == NULL)
    {
      g_autoptr(GError) error = g_error_new (SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                                             "node '%s' has a rate limit but there is no state "
                                             "store", hop->node->id);
      hop_finished (hop, NULL, error);
      return;
    }
  bucket = g_strdup_printf ("rate:%s/%s", sluice_workflow_get_name (flow->workflow), hop->node->id);
  sluice_state_store_take_tokens_async (store, bucket, hop->node->rate_per_second,
                                        hop->node->rate_burst, 1, NULL, on_token, hop);
}

static void
on_step_processed (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Hop *hop = user_data;
  g_autoptr(GError) error = NULL;
  SluiceMessageIter *iter;

  iter = sluice_step_process_finish (SLUICE_STEP (object), result, &error);
  if (iter == NULL && error == NULL)
    {
      g_critical ("step '%s' (%s) finished with neither output nor error", hop->node->id,
                  sluice_component_factory_get_name (hop->node->factory));
      error = g_error_new (SLUICE_ERROR, SLUICE_ERROR_FAILED,
                           "step '%s' returned no result", hop->node->id);
    }
  hop_finished (hop, iter, error);
}

static void
run_hop (Hop *hop)
{
  Flow *flow = hop->run->flow;
  SluiceContext *context = g_ptr_array_index (flow->contexts, hop->node->index);
  GObject *instance = g_ptr_array_index (flow->instances, hop->node->index);
  g_autoptr(GError) error = NULL;

  if (g_cancellable_set_error_if_cancelled (flow->cancellable, &error))
    {
      hop_finished (hop, NULL, error);
      return;
    }
  if (hop->node->rate_per_second > 0 && !hop->has_token)
    {
      hop_take_token (hop);
      return;
    }

  sluice_message_set_attempt (hop->message, hop->attempt);

  if (flow->fast_paths[hop->node->index] != NULL)
    {
      SluiceMessageIter *iter = NULL;

      if (flow->fast_paths[hop->node->index]->take (instance, hop->message, &iter))
        {
          hop_finished (hop, iter, NULL);
          return;
        }
    }
  if (instance != NULL)
    {
      sluice_step_process_async (SLUICE_STEP (instance), hop->message, flow->cancellable,
                                 on_step_processed, hop);
      return;
    }

  /* A source gets a fresh instance per run of its node: it keeps its
   * cursor in itself. */
  {
    g_autoptr(GObject) source = sluice_component_factory_create (hop->node->factory, context,
                                                                 hop->node->config, &error);

    if (source != NULL && sluice_source_open (SLUICE_SOURCE (source), hop->message, &error))
      {
        hop_finished (hop, sluice_source_iter_new (SLUICE_SOURCE (source), hop->message), NULL);
        return;
      }
    hop_finished (hop, NULL, error);
  }
}

static void
start_hop (Run *run, SluiceWorkflowNode *node, SluiceMessage *message, Pull *parent,
           gboolean to_dead_letter)
{
  Hop *hop = g_new0 (Hop, 1);
  gint bit = run->flow->observer_bit[node->index];

  if (bit >= 0)
    run->observers_seen |= 1u << bit;
  hop->run = run;
  hop->node = node;
  hop->message = g_object_ref (message);
  hop->parent = parent;
  hop->attempt = 1;
  hop->to_dead_letter = to_dead_letter;

  unit_begin (run, parent);
  run_hop (hop);
}

/* ---- Runs ---- */

static void
run_free (Run *run)
{
  g_clear_object (&run->event);
  g_clear_error (&run->failure);
  g_clear_pointer (&run->retrying, g_hash_table_unref);
  g_clear_error (&run->refused);
  g_clear_object (&run->reply);
  g_free (run->failure_node);
  g_free (run->order_key);
  g_free (run->idempotency_key);
  g_free (run->idempotency_owner);
  g_free (run->id);
  g_free (run);
}

/* ---- Ordering ---- */

/* The run leaves its ordering key: the next event held back with that key
 * (the oldest) goes to the front of the queue, or the key is free. */
static void
order_key_release (Run *run)
{
  Flow *flow = run->flow;
  GQueue *held;

  if (run->order_key == NULL)
    return;
  held = g_hash_table_lookup (flow->order_keys, run->order_key);
  if (held != NULL && held->length > 0)
    {
      Run *next = g_queue_pop_head (held);

      flow->held--;
      g_queue_push_head_link (&flow->waiting, &next->link);
    }
  else
    g_hash_table_remove (flow->order_keys, run->order_key);
  g_clear_pointer (&run->order_key, g_free);
}

static void
run_settled (Run *run, SluiceEventOutcome outcome, const GError *settle_error)
{
  Flow *flow = run->flow;
  SluiceEngine *self = flow->engine;
  SluiceMessage *message = sluice_event_get_message (run->event);
  gint64 elapsed = g_get_monotonic_time () - run->started_usec;

  if (settle_error != NULL)
    sluice_log (flow->context, message, G_LOG_LEVEL_WARNING,
                "run %s: could not settle the event with its source: %s", run->id,
                settle_error->message);
  else if (outcome == SLUICE_EVENT_ACKED)
    {
      if (g_log_get_debug_enabled ())
        sluice_log (flow->context, message, G_LOG_LEVEL_DEBUG, "run %s finished in %.1f ms",
                    run->id, elapsed / 1000.0);
    }
  else
    sluice_log (flow->context, message, G_LOG_LEVEL_MESSAGE, "run %s %s after %.1f ms: %s",
                run->id, outcome == SLUICE_EVENT_RETRY ? "handed back" : "dead-lettered",
                elapsed / 1000.0, run->failure != NULL ? run->failure->message : "");

  g_queue_unlink (&flow->runs, &run->link);
  order_key_release (run);
  g_signal_emit (self, signals[SIGNAL_RUN_FINISHED], 0, sluice_workflow_get_name (flow->workflow),
                 run->id, (guint) outcome,
                 settle_error != NULL ? settle_error->message
                                      : (run->failure != NULL ? run->failure->message : NULL),
                 message);
  run_free (run);

  flow_dispatch (flow);
  engine_retire_later (self);
  maybe_finish_shutdown (self);
}

static void
on_acked (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  sluice_event_ack_finish (SLUICE_EVENT (object), result, &error);
  run_settled (user_data, SLUICE_EVENT_ACKED, error);
}

static void
on_dead_lettered (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  sluice_event_dead_letter_finish (SLUICE_EVENT (object), result, &error);
  run_settled (user_data, SLUICE_EVENT_DEAD_LETTERED, error);
}

static void
on_handed_back (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  sluice_event_retry_finish (SLUICE_EVENT (object), result, &error);
  run_settled (user_data, SLUICE_EVENT_RETRY, error);
}

/* ---- Idempotency ---- */

static void
on_idempotency_written (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autofree char *key = user_data;
  g_autoptr(GError) error = NULL;

  if (!sluice_state_store_set_finish (SLUICE_STATE_STORE (object), result, &error))
    g_warning ("could not record idempotency key '%s': %s (a duplicate may run again)", key,
               error->message);
}

static void
on_idempotency_unlocked (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autofree char *key = user_data;
  g_autoptr(GError) error = NULL;

  if (!sluice_state_store_unlock_finish (SLUICE_STATE_STORE (object), result, &error))
    g_debug ("could not release idempotency lock '%s': %s (its lease ends it)", key,
             error->message);
}

/* The run is over: an acked event's key is remembered for the TTL, and
 * the lock that kept duplicates off while it ran is released. */
static void
idempotency_finish (Run *run, gboolean handled)
{
  SluiceStateStore *store = sluice_context_get_state_store (run->flow->context);
  g_autofree char *lock = NULL;
  gint64 ttl = 0;

  if (run->idempotency_key == NULL || store == NULL)
    return;
  sluice_workflow_get_idempotency_key (run->flow->workflow, &ttl);
  if (handled)
    {
      g_autoptr(GBytes) value = g_bytes_new_static ("done", 4);

      sluice_state_store_set_async (store, run->idempotency_key, value, ttl, NULL,
                                    on_idempotency_written, g_strdup (run->idempotency_key));
    }
  lock = g_strconcat (run->idempotency_key, ":running", NULL);
  sluice_state_store_unlock_async (store, lock, run->idempotency_owner, NULL,
                                   on_idempotency_unlocked, g_strdup (lock));
  g_clear_pointer (&run->idempotency_key, g_free);
  g_clear_pointer (&run->idempotency_owner, g_free);
}

/* ---- Dead letters ---- */

/* The dead letter for @run's event; a replayed dead letter keeps its id
 * and first time and counts on from its attempts. */
static SluiceDeadLetter *
dead_letter_for (Run *run, gint64 now)
{
  Flow *flow = run->flow;
  const SluiceDeadLetter *before = NULL;
  guint earlier = run->delivered > 1 ? run->delivered - 1 : 0;

  if (SLUICE_IS_REPLAY_EVENT (run->event))
    {
      before = sluice_replay_event_get_letter (SLUICE_REPLAY_EVENT (run->event));
      earlier = before->attempts;
    }
  return sluice_dead_letter_new_for_event (
    sluice_workflow_get_name (flow->workflow), sluice_event_get_message (run->event),
    before,
    sluice_component_factory_get_name (sluice_workflow_get_trigger_factory (flow->workflow)),
    run->failure_node, run->failure, earlier + MAX (run->tries, 1), now);
}

static void on_dead_lettered (GObject *object, GAsyncResult *result, gpointer user_data);
static void on_handed_back (GObject *object, GAsyncResult *result, gpointer user_data);

static void
on_dead_letter_stored (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Run *run = user_data;
  g_autoptr(GError) error = NULL;

  if (!sluice_dead_letter_store_put_finish (SLUICE_DEAD_LETTER_STORE (object), result, &error))
    {
      /* Nowhere to keep it: the source keeps it, for a later delivery. */
      sluice_log (run->flow->context, sluice_event_get_message (run->event), G_LOG_LEVEL_WARNING,
                  "run %s: could not store the dead letter (%s); handing the event back",
                  run->id, error->message);
      sluice_event_retry_async (run->event, 30 * G_TIME_SPAN_SECOND, NULL, on_handed_back, run);
      return;
    }
  sluice_event_dead_letter_async (run->event, run->failure, NULL, on_dead_lettered, run);
}

/* Keeps the dead letter, then tells the source. */
static void
run_dead_letter (Run *run)
{
  SluiceEngine *self = run->flow->engine;
  g_autoptr(SluiceDeadLetter) letter = NULL;

  idempotency_finish (run, FALSE);
  if (self->dead_letters == NULL)
    {
      sluice_event_dead_letter_async (run->event, run->failure, NULL, on_dead_lettered, run);
      return;
    }
  letter = dead_letter_for (run, sluice_clock_get_real_time (sluice_context_get_clock (self->context)));
  sluice_dead_letter_store_put_async (self->dead_letters, letter, NULL, on_dead_letter_stored, run);
}

/* ---- Workflow retries ---- */

static void run_start (Run *run);

static void
on_backoff_due (gpointer user_data)
{
  Run *run = user_data;
  Flow *flow = run->flow;

  run->backoff_timeout = 0;
  g_queue_unlink (&flow->backoff, &run->link);
  /* It has waited longest: first in line for a slot. */
  g_queue_push_head_link (&flow->waiting, &run->link);
  flow_dispatch (flow);
}

/* Whether a failed run is run again: the workflow's retry policy allows
 * another run and the error is not one that retrying cannot help. */
static gboolean
run_may_retry (Run *run)
{
  SluiceRetryPolicy *retry = sluice_workflow_get_retry (run->flow->workflow);

  return retry != NULL && run->refused == NULL &&
         sluice_error_is_retryable (run->failure) &&
         sluice_retry_policy_allows_retry (retry, run->tries);
}

/* Puts the run aside until its backoff is over. Its slot is free
 * meanwhile; its ordering key is not (same-key events stay behind it). A
 * streamed body cannot be read twice: such an event goes back to its
 * source, which delivers it again after the delay. */
static void
run_backoff (Run *run)
{
  Flow *flow = run->flow;
  SluiceMessage *message = sluice_event_get_message (run->event);
  SluiceRetryPolicy *retry = sluice_workflow_get_retry (flow->workflow);
  gint64 delay = sluice_retry_policy_get_delay (retry, run->tries, flow->engine->rand);
  g_autofree char *delay_text = sluice_format_duration (delay);

  sluice_log (flow->context, message, G_LOG_LEVEL_INFO,
              "run %s failed (run %u of at most %u): %s; running it again in %s", run->id,
              run->tries, sluice_retry_policy_get_max_attempts (retry), run->failure->message,
              delay_text);
  if (sluice_message_is_streamed (message))
    {
      idempotency_finish (run, FALSE);
      sluice_event_retry_async (run->event, delay, NULL, on_handed_back, run);
      return;
    }

  g_clear_error (&run->failure);
  g_clear_pointer (&run->failure_node, g_free);
  run->root_units = 0;
  run->observers_seen = 0;
  g_clear_pointer (&run->retrying, g_hash_table_unref);
  g_clear_pointer (&run->id, g_free);
  run->number = ++flow->engine->next_run_id;

  g_queue_unlink (&flow->runs, &run->link);
  g_queue_push_tail_link (&flow->backoff, &run->link);
  run->backoff_timeout = sluice_clock_add_timeout (sluice_context_get_clock (flow->context), delay,
                                                   on_backoff_due, run, NULL);
  flow_dispatch (flow);
  maybe_finish_shutdown (flow->engine);
}

static void
run_settle (Run *run)
{
  /* A run cut short by shutdown goes back to its source for redelivery:
   * it did not fail. */
  gboolean handed_back = run->failure != NULL &&
                         g_error_matches (run->failure, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* A batch record is settled in memory (its chunk tells the store once),
   * and without a callback its event settles at once: no round trip
   * through the main loop per record. Not inside run_start() though: whoever
   * injected the event must not see its run end before the call returns. */
  if (SLUICE_IS_BATCH_RECORD_EVENT (run->event) && run->flow->engine->starting == 0)
    {
      SluiceEventOutcome outcome;

      if (handed_back)
        {
          sluice_event_retry_async (run->event, 0, NULL, NULL, NULL);
          outcome = SLUICE_EVENT_RETRY;
        }
      else if (run->failure != NULL)
        {
          sluice_event_dead_letter_async (run->event, run->failure, NULL, NULL, NULL);
          outcome = SLUICE_EVENT_DEAD_LETTERED;
        }
      else
        {
          sluice_event_ack_async (run->event, NULL, NULL, NULL);
          outcome = SLUICE_EVENT_ACKED;
        }
      run_settled (run, outcome, NULL);
      return;
    }

  if (handed_back)
    {
      idempotency_finish (run, FALSE);
      sluice_event_retry_async (run->event, 0, NULL, on_handed_back, run);
    }
  else if (run->failure != NULL && run_may_retry (run) && run->flow->stopped)
    {
      /* Shutting down: the source delivers it again, later. */
      idempotency_finish (run, FALSE);
      sluice_event_retry_async (run->event, 0, NULL, on_handed_back, run);
    }
  else if (run->failure != NULL && run_may_retry (run))
    run_backoff (run);
  else if (run->failure != NULL)
    run_dead_letter (run);
  else
    {
      idempotency_finish (run, TRUE);
      if (run->reply != NULL)
        sluice_event_set_reply (run->event, run->reply);
      sluice_event_ack_async (run->event, NULL, on_acked, run);
    }
}

static void
on_observer_done (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Run *run = user_data;
  g_autoptr(GError) error = NULL;

  if (!sluice_run_observer_run_finished_finish (SLUICE_RUN_OBSERVER (object), result, &error) &&
      run->failure == NULL)
    run->failure = g_steal_pointer (&error);
  if (--run->observers_pending == 0)
    run_settle (run);
}

/* Every message of the run is done: let the steps that keep per-run state
 * finish it (a batch is flushed and closed), then settle the event. An
 * observer ignores runs it never saw, so only those the run reached are
 * asked: the runs that process a batch's records start after its batch
 * node and never reach it. */
static void
run_complete (Run *run)
{
  Flow *flow = run->flow;
  gboolean tracked = flow->observers->len <= MAX_TRACKED_OBSERVERS;

  run->observers_pending = 1;
  for (guint i = 0; i < flow->observers->len; i++)
    {
      guint index = g_array_index (flow->observers, guint, i);
      SluiceRunObserver *observer = g_ptr_array_index (flow->instances, index);

      if (tracked && (run->observers_seen & (1u << flow->observer_bit[index])) == 0)
        continue;
      run->observers_pending++;
      sluice_run_observer_run_finished_async (observer, run->id, run->failure != NULL, NULL,
                                              on_observer_done, run);
    }
  if (--run->observers_pending == 0)
    run_settle (run);
}

/* "<workflow>-<number>", without printf: one per run. */
static char *
run_format_id (Flow *flow, guint64 number)
{
  const char *name = sluice_workflow_get_name (flow->workflow);
  gsize name_len = strlen (name);
  char digits[20];
  gsize n_digits = 0;
  char *id;

  do
    {
      digits[n_digits++] = (char) ('0' + number % 10);
      number /= 10;
    }
  while (number > 0);

  id = g_malloc (name_len + 1 + n_digits + 1);
  memcpy (id, name, name_len);
  id[name_len] = '-';
  for (gsize i = 0; i < n_digits; i++)
    id[name_len + 1 + i] = digits[n_digits - 1 - i];
  id[name_len + 1 + n_digits] = '\0';
  return id;
}

/* How long a run holds its idempotency key against duplicates running
 * elsewhere at the same time; past that, its lease ends. */
#define IDEMPOTENCY_LEASE (15 * G_TIME_SPAN_MINUTE)
/* When a duplicate is handed back because the original is still running. */
#define IDEMPOTENCY_RETRY_DELAY (5 * G_TIME_SPAN_SECOND)

static void run_begin (Run *run);

static void
idempotency_hand_back (Run *run, const char *why)
{
  sluice_log (run->flow->context, sluice_event_get_message (run->event), G_LOG_LEVEL_INFO,
              "run %s: %s; handing the event back for later", run->id, why);
  sluice_event_retry_async (run->event, IDEMPOTENCY_RETRY_DELAY, NULL, on_handed_back, run);
}

static void
on_idempotency_locked (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Run *run = user_data;
  g_autoptr(GError) error = NULL;
  gboolean acquired = FALSE;

  if (!sluice_state_store_lock_finish (SLUICE_STATE_STORE (object), result, &acquired, &error))
    {
      g_autofree char *why = g_strdup_printf ("could not check its idempotency key: %s",
                                              error->message);
      g_clear_pointer (&run->idempotency_key, g_free);
      idempotency_hand_back (run, why);
    }
  else if (!acquired)
    {
      g_clear_pointer (&run->idempotency_key, g_free);
      idempotency_hand_back (run, "an event with the same idempotency key is running");
    }
  else
    run_begin (run);
}

static void
on_idempotency_looked_up (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Run *run = user_data;
  SluiceStateStore *store = SLUICE_STATE_STORE (object);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) done = sluice_state_store_get_finish (store, result, &error);
  g_autofree char *lock = NULL;

  if (error != NULL)
    {
      g_autofree char *why = g_strdup_printf ("could not check its idempotency key: %s",
                                              error->message);
      g_clear_pointer (&run->idempotency_key, g_free);
      idempotency_hand_back (run, why);
      return;
    }
  if (done != NULL)
    {
      /* Handled within the TTL: acknowledged, not run again. */
      sluice_log (run->flow->context, sluice_event_get_message (run->event), G_LOG_LEVEL_INFO,
                  "run %s: duplicate of an event already handled (idempotency key '%s'); "
                  "acknowledged without running", run->id, run->idempotency_key);
      g_clear_pointer (&run->idempotency_key, g_free);
      sluice_event_ack_async (run->event, NULL, on_acked, run);
      return;
    }
  lock = g_strconcat (run->idempotency_key, ":running", NULL);
  run->idempotency_owner = g_strdup_printf ("%s/%" G_GUINT64_FORMAT, run->flow->engine->owner,
                                            run->number);
  sluice_state_store_lock_async (store, lock, run->idempotency_owner, IDEMPOTENCY_LEASE, NULL,
                                 on_idempotency_locked, run);
}

/* Whether the run must first check its idempotency key; if so, starts the
 * check, which begins the run, acks a duplicate or hands it back. Replays
 * (an operator's explicit wish) and batch records are not checked, nor a
 * run that is a retry (its key is held already). */
static gboolean
idempotency_check (Run *run)
{
  Flow *flow = run->flow;
  SluiceEventKey *key = sluice_workflow_get_idempotency_key (flow->workflow, NULL);
  SluiceStateStore *store = sluice_context_get_state_store (flow->context);
  g_autofree char *value = NULL;

  if (key == NULL || store == NULL || run->tries > 1 || SLUICE_IS_REPLAY_EVENT (run->event) ||
      SLUICE_IS_BATCH_RECORD_EVENT (run->event))
    return FALSE;
  value = sluice_event_key_evaluate (key, sluice_event_get_message (run->event));
  if (value == NULL)
    {
      sluice_log (flow->context, sluice_event_get_message (run->event), G_LOG_LEVEL_DEBUG,
                  "run %s: no idempotency key (%s absent); running it", run->id,
                  sluice_event_key_describe (key));
      return FALSE;
    }
  run->idempotency_key = g_strdup_printf ("idempotency:%s:%s",
                                          sluice_workflow_get_name (flow->workflow), value);
  sluice_state_store_get_async (store, run->idempotency_key, NULL, on_idempotency_looked_up, run);
  return TRUE;
}

/* Starts a run taken off the waiting queue: it holds a slot from now on. */
static void
run_start (Run *run)
{
  Flow *flow = run->flow;

  if (run->id == NULL)
    run->id = run_format_id (flow, run->number);
  if (run->tries++ == 0)
    run->started_usec = g_get_monotonic_time ();
  g_queue_push_tail_link (&flow->runs, &run->link);

  if (run->refused != NULL)
    {
      run->failure = g_error_copy (run->refused);
      sluice_log (flow->context, sluice_event_get_message (run->event), G_LOG_LEVEL_MESSAGE,
                  "run %s: %s", run->id, run->refused->message);
      run_settle (run);
      return;
    }
  if (SLUICE_IS_FANOUT_EVENT (run->event) &&
      sluice_fanout_event_get_error (SLUICE_FANOUT_EVENT (run->event)) != NULL)
    {
      run->refused = g_error_copy (sluice_fanout_event_get_error (SLUICE_FANOUT_EVENT (run->event)));
      run->failure = g_error_copy (run->refused);
      run_settle (run);
      return;
    }
  if (idempotency_check (run))
    return;
  run_begin (run);
}

static void
run_begin (Run *run)
{
  Flow *flow = run->flow;
  SluiceEngine *self = flow->engine;
  SluiceMessage *message = sluice_event_get_message (run->event);
  GPtrArray *entries = sluice_workflow_get_entry_nodes (flow->workflow);
  SluiceWorkflowNode *start_node = run->start_node;

  sluice_message_ensure_traceparent (message);
  sluice_message_set_header (message, SLUICE_HEADER_RUN, run->id);
  g_signal_emit (self, signals[SIGNAL_RUN_STARTED], 0, sluice_workflow_get_name (flow->workflow),
                 run->id, message);
  /* Formatting a line per run costs more than the run on a fast path:
   * only when debug output is on. */
  if (g_log_get_debug_enabled ())
    sluice_log (flow->context, message, G_LOG_LEVEL_DEBUG, "run %s started", run->id);

  /* Hold the root open until every entry hop is started. */
  self->starting++;
  unit_begin (run, NULL);
  if (start_node != NULL)
    {
      /* Injected after a node (a batch record): it enters where that node's
       * output would go. */
      for (guint i = 0; i < start_node->edges->len; i++)
        {
          SluiceWorkflowEdge *edge = g_ptr_array_index (start_node->edges, i);

          if (edge->on == SLUICE_EDGE_ON_FAILURE || edge->to == NULL ||
              (edge->when != NULL && !sluice_predicate_evaluate (edge->when, message)))
            continue;
          start_hop (run, edge->to, message, NULL, FALSE);
        }
    }
  else
    for (guint i = 0; i < entries->len; i++)
      start_hop (run, g_ptr_array_index (entries, i), message, NULL, FALSE);
  unit_end (run, NULL);
  self->starting--;
}

/* ---- Flows ---- */

/* Events a flow holds that its source has not heard back about: a
 * receiver never holds more than the workflow's concurrency. */
static guint
flow_get_credit (Flow *flow)
{
  guint busy;

  if (flow->paused)
    return 0;
  busy = flow->runs.length + flow->waiting.length + flow->held + flow->backoff.length;
  return busy < flow->concurrency ? flow->concurrency - busy : 0;
}

/* A shared trigger gets the credit of its busiest subscriber. Only the
 * engine sets a trigger's credit, so the feed knows what it last gave. */
static void
flow_update_credit (Flow *flow)
{
  Feed *feed = flow->feed;
  guint credit = G_MAXUINT;

  if (feed == NULL)
    return;
  if (feed->flows->len == 1)
    credit = flow_get_credit (flow);
  else
    for (guint i = 0; i < feed->flows->len; i++)
      {
        Flow *other = g_ptr_array_index (feed->flows, i);

        /* A removed workflow finishing its last runs holds nobody back. */
        if (!other->stopped || other == flow)
          credit = MIN (credit, flow_get_credit (other));
      }
  /* Told only when it changed: this runs for every event. */
  if (feed->credit_known && feed->credit == credit)
    return;
  feed->credit = credit;
  feed->credit_known = TRUE;
  sluice_trigger_set_credit (SLUICE_TRIGGER (feed->trigger), credit);
}

static void
flow_dispatch (Flow *flow)
{
  while (!flow->stopped && !flow->paused && flow->waiting.length > 0 &&
         flow->runs.length < flow->concurrency)
    {
      Run *run = g_queue_peek_head_link (&flow->waiting)->data;

      g_queue_unlink (&flow->waiting, &run->link);
      run_start (run);
    }
  flow_update_credit (flow);
}

/* Queues an event for a run, to start after @start_node (or at the entry
 * nodes). The run's number is fixed now, so that a caller that wants the
 * id can follow its run; the id itself is formatted when first needed. */
static Run *
flow_push (Flow *flow, SluiceEvent *event, SluiceWorkflowNode *start_node)
{
  Run *run = g_new0 (Run, 1);

  run->link.data = run;
  run->flow = flow;
  run->event = g_object_ref (event);
  run->start_node = start_node;
  run->number = ++flow->engine->next_run_id;
  run->delivered = sluice_message_get_attempt (sluice_event_get_message (event));

  /* Batch records are the batch manager's business: neither limited by
   * deliveries nor ordered here. */
  if (!SLUICE_IS_BATCH_RECORD_EVENT (event))
    {
      SluiceMessage *message = sluice_event_get_message (event);
      guint max_deliveries = sluice_workflow_get_max_deliveries (flow->workflow);
      SluiceEventKey *ordering = sluice_workflow_get_ordering_key (flow->workflow);

      if (max_deliveries > 0 && sluice_message_get_attempt (message) > max_deliveries &&
          !SLUICE_IS_REPLAY_EVENT (event))
        run->refused = g_error_new (SLUICE_ERROR, SLUICE_ERROR_PERMANENT,
                                    "delivered %u times, more than max_deliveries (%u); "
                                    "dead-lettered without running",
                                    sluice_message_get_attempt (message), max_deliveries);
      else if (ordering != NULL && (run->order_key = sluice_event_key_evaluate (ordering, message)) != NULL)
        {
          GQueue *held = g_hash_table_lookup (flow->order_keys, run->order_key);

          if (held != NULL)
            {
              /* Same key queued or running: after it, in arrival order. */
              g_queue_push_tail (held, run);
              flow->held++;
              return run;
            }
          g_hash_table_insert (flow->order_keys, g_strdup (run->order_key), g_queue_new ());
        }
    }
  g_queue_push_tail_link (&flow->waiting, &run->link);
  return run;
}

static char *
flow_enqueue (Flow *flow, SluiceEvent *event, SluiceWorkflowNode *start_node)
{
  Run *run = flow_push (flow, event, start_node);
  char *id;

  run->id = run_format_id (flow, run->number);
  id = g_strdup (run->id);
  flow_dispatch (flow);
  return id;
}

static void
on_trigger_event (SluiceTrigger *trigger, SluiceEvent *event, gpointer user_data)
{
  Feed *feed = user_data;
  g_autoptr(GPtrArray) flows = NULL;
  g_autoptr(GPtrArray) children = NULL;

  /* The common case, one workflow per trigger, allocates nothing here. */
  if (feed->flows->len == 1)
    {
      Flow *flow = g_ptr_array_index (feed->flows, 0);

      if (flow->stopped)
        sluice_event_retry_async (event, 0, NULL, NULL, NULL);
      else
        {
          flow_push (flow, event, NULL);
          flow_dispatch (flow);
        }
      return;
    }

  flows = g_ptr_array_new ();
  for (guint i = 0; i < feed->flows->len; i++)
    {
      Flow *flow = g_ptr_array_index (feed->flows, i);

      if (!flow->stopped)
        g_ptr_array_add (flows, flow);
    }
  if (flows->len == 0)
    {
      /* Shutting down: give it straight back rather than start work. */
      sluice_event_retry_async (event, 0, NULL, NULL, NULL);
      return;
    }
  if (flows->len == 1)
    {
      /* Never dropped: past the concurrency limit it waits its turn. */
      flow_push (g_ptr_array_index (flows, 0), event, NULL);
      flow_dispatch (g_ptr_array_index (flows, 0));
      return;
    }

  if (sluice_message_is_streamed (sluice_event_get_message (event)) && !feed->warned_stream)
    {
      feed->warned_stream = TRUE;
      g_warning ("the trigger of workflow '%s' is shared by %u workflows but its events carry "
                 "streamed bodies, which only the first can read: give the others a trigger "
                 "of their own", sluice_workflow_get_name (((Flow *) flows->pdata[0])->workflow),
                 flows->len);
    }
  children = sluice_fanout_event_split (event, flows->len);
  for (guint i = 0; i < flows->len; i++)
    flow_push (g_ptr_array_index (flows, i), g_ptr_array_index (children, i), NULL);
  for (guint i = 0; i < flows->len; i++)
    flow_dispatch (g_ptr_array_index (flows, i));
}

/* ---- Feeds ---- */

static void
feed_free (Feed *feed)
{
  if (feed->trigger != NULL)
    {
      g_clear_signal_handler (&feed->event_handler, feed->trigger);
      g_clear_object (&feed->trigger);
    }
  g_clear_pointer (&feed->flows, g_ptr_array_unref);
  g_free (feed->key);
  g_free (feed);
}

static void
json_write_canonical (JsonNode *node, GString *out)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *object = json_node_get_object (node);
      g_autoptr(GList) names = g_list_sort (json_object_get_members (object),
                                             (GCompareFunc) g_strcmp0);

      g_string_append_c (out, '{');
      for (GList *l = names; l != NULL; l = l->next)
        {
          g_autoptr(JsonNode) name = json_node_init_string (json_node_alloc (), l->data);
          g_autofree char *text = json_to_string (name, FALSE);

          g_string_append_printf (out, "%s%s:", l != names ? "," : "", text);
          json_write_canonical (json_object_get_member (object, l->data), out);
        }
      g_string_append_c (out, '}');
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      g_string_append_c (out, '[');
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          if (i > 0)
            g_string_append_c (out, ',');
          json_write_canonical (json_array_get_element (array, i), out);
        }
      g_string_append_c (out, ']');
    }
  else
    {
      g_autofree char *text = json_to_string (node, FALSE);

      g_string_append (out, text);
    }
}

/* Workflows whose triggers are the same component with the same config
 * (member order aside) share one instance. */
static char *
feed_key_for (SluiceWorkflow *workflow)
{
  GString *key = g_string_new (sluice_component_factory_get_name (
    sluice_workflow_get_trigger_factory (workflow)));
  g_autoptr(JsonNode) config = json_node_init_object (json_node_alloc (),
                                                      sluice_workflow_get_trigger_config (workflow));

  g_string_append_c (key, '\n');
  json_write_canonical (config, key);
  return g_string_free (key, FALSE);
}

/* The feed for @workflow's trigger: an existing one with the same trigger,
 * or a new one whose trigger is named after @workflow. */
static Feed *
feed_acquire (SluiceEngine *self, SluiceWorkflow *workflow, GError **error)
{
  g_autofree char *key = feed_key_for (workflow);
  Feed *feed = g_hash_table_lookup (self->feeds, key);
  g_autofree char *label = NULL;
  g_autoptr(SluiceContext) context = NULL;
  g_autoptr(GError) local_error = NULL;

  if (feed != NULL)
    return feed;

  label = g_strdup_printf ("%s/trigger", sluice_workflow_get_name (workflow));
  context = sluice_context_new_child (self->context, label);
  feed = g_new0 (Feed, 1);
  feed->engine = self;
  feed->flows = g_ptr_array_new ();
  feed->trigger = sluice_component_factory_create (sluice_workflow_get_trigger_factory (workflow),
                                                   context,
                                                   sluice_workflow_get_trigger_config (workflow),
                                                   &local_error);
  if (feed->trigger == NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG, "%s: trigger (%s): %s",
                   sluice_workflow_get_path (workflow),
                   sluice_component_factory_get_name (sluice_workflow_get_trigger_factory (workflow)),
                   local_error->message);
      feed_free (feed);
      return NULL;
    }
  feed->event_handler = g_signal_connect (feed->trigger, "event", G_CALLBACK (on_trigger_event),
                                          feed);
  feed->key = g_steal_pointer (&key);
  g_hash_table_insert (self->feeds, feed->key, feed);
  return feed;
}

/* Takes @flow off its feed; the last one out drops the trigger. */
static void
feed_remove_flow (Feed *feed, Flow *flow)
{
  g_ptr_array_remove (feed->flows, flow);
  if (feed->flows->len == 0)
    g_hash_table_remove (feed->engine->feeds, feed->key);
}

/* Sources hold no shared instance: their slot is NULL. */
static void
unref_if_set (gpointer object)
{
  if (object != NULL)
    g_object_unref (object);
}

static void
held_queue_free (gpointer data)
{
  GQueue *held = data;
  Run *run;

  while ((run = g_queue_pop_head (held)) != NULL)
    run_free (run);
  g_queue_free (held);
}

static void
flow_free (Flow *flow)
{
  if (flow->feed != NULL)
    feed_remove_flow (flow->feed, flow);
  flow->trigger = NULL;
  while (flow->backoff.length > 0)
    {
      Run *run = g_queue_peek_head_link (&flow->backoff)->data;

      g_queue_unlink (&flow->backoff, &run->link);
      sluice_clock_cancel_timeout (sluice_context_get_clock (flow->context), run->backoff_timeout);
      run_free (run);
    }
  g_clear_pointer (&flow->order_keys, g_hash_table_unref);
  /* The queues link their runs through the runs themselves. Runs in
   * flight were reported by dispose: they are not freed under the steps
   * that still work on them. */
  while (flow->waiting.length > 0)
    {
      Run *run = g_queue_peek_head_link (&flow->waiting)->data;

      g_queue_unlink (&flow->waiting, &run->link);
      run_free (run);
    }
  g_clear_pointer (&flow->instances, g_ptr_array_unref);
  g_clear_pointer (&flow->observers, g_array_unref);
  g_clear_pointer (&flow->observer_bit, g_free);
  g_clear_pointer (&flow->fast_paths, g_free);
  g_clear_object (&flow->cancellable);
  g_clear_pointer (&flow->contexts, g_ptr_array_unref);
  g_clear_object (&flow->context);
  g_clear_object (&flow->workflow);
  g_free (flow);
}

static void
hand_back_held (gpointer key, gpointer value, gpointer user_data)
{
  GQueue *held = value;
  Run *run;

  while ((run = g_queue_pop_head (held)) != NULL)
    {
      sluice_event_retry_async (run->event, 0, NULL, NULL, NULL);
      run_free (run);
    }
}

static void
flow_stop (Flow *flow)
{
  Feed *feed = flow->feed;
  gboolean all_stopped = TRUE;

  if (flow->stopped)
    return;
  flow->stopped = TRUE;
  for (guint i = 0; feed != NULL && i < feed->flows->len; i++)
    all_stopped &= ((Flow *) g_ptr_array_index (feed->flows, i))->stopped;
  if (feed != NULL && all_stopped && feed->started)
    {
      feed->started = FALSE;
      sluice_trigger_stop (SLUICE_TRIGGER (feed->trigger));
    }

  /* Events that never started, or wait for a retry or their ordering key,
   * go back to their sources. */
  while (flow->waiting.length > 0)
    {
      Run *run = g_queue_peek_head_link (&flow->waiting)->data;

      g_queue_unlink (&flow->waiting, &run->link);
      sluice_event_retry_async (run->event, 0, NULL, NULL, NULL);
      run_free (run);
    }
  while (flow->backoff.length > 0)
    {
      Run *run = g_queue_peek_head_link (&flow->backoff)->data;

      g_queue_unlink (&flow->backoff, &run->link);
      sluice_clock_cancel_timeout (sluice_context_get_clock (flow->context), run->backoff_timeout);
      idempotency_finish (run, FALSE);
      sluice_event_retry_async (run->event, 0, NULL, NULL, NULL);
      run_free (run);
    }
  g_hash_table_foreach (flow->order_keys, hand_back_held, NULL);
  flow->held = 0;
}

gboolean
sluice_engine_add_workflow (SluiceEngine   *self,
                            SluiceWorkflow *workflow,
                            gboolean        start,
                            GError        **error)
{
  const char *name = sluice_workflow_get_name (workflow);
  GPtrArray *nodes = sluice_workflow_get_nodes (workflow);
  Flow *flow;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (SLUICE_IS_ENGINE (self), FALSE);
  g_return_val_if_fail (SLUICE_IS_WORKFLOW (workflow), FALSE);

  if (g_hash_table_contains (self->flows, name))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                   "%s: a workflow named '%s' is already loaded", sluice_workflow_get_path (workflow),
                   name);
      return FALSE;
    }

  flow = g_new0 (Flow, 1);
  flow->engine = self;
  flow->workflow = g_object_ref (workflow);
  flow->context = sluice_context_new_child (self->context, name);
  flow->instances = g_ptr_array_new_full (nodes->len, unref_if_set);
  flow->contexts = g_ptr_array_new_full (nodes->len, g_object_unref);
  flow->cancellable = g_cancellable_new ();
  flow->observers = g_array_new (FALSE, FALSE, sizeof (guint));
  flow->observer_bit = g_new (gint, MAX (nodes->len, 1));
  flow->fast_paths = g_new0 (const SluiceEngineFastPath *, MAX (nodes->len, 1));
  flow->concurrency = sluice_workflow_get_concurrency (workflow);
  flow->order_keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, held_queue_free);
  g_queue_init (&flow->runs);
  g_queue_init (&flow->waiting);
  g_queue_init (&flow->backoff);

  for (guint i = 0; i < nodes->len; i++)
    {
      SluiceWorkflowNode *node = g_ptr_array_index (nodes, i);
      g_autofree char *label = g_strdup_printf ("%s/%s", name, node->id);
      SluiceContext *context = sluice_context_new_child (self->context, label);
      GObject *instance = NULL;

      g_ptr_array_add (flow->contexts, context);
      if (self->batch_manager != NULL)
        g_object_set_data (G_OBJECT (context), SLUICE_CONTEXT_BATCH_MANAGER, self->batch_manager);
      if (sluice_component_factory_get_kind (node->factory) == SLUICE_COMPONENT_STEP)
        {
          instance = sluice_component_factory_create (node->factory, context, node->config,
                                                      &local_error);
          if (instance == NULL)
            {
              g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                           "%s: node '%s' (%s): %s", sluice_workflow_get_path (workflow), node->id,
                           sluice_component_factory_get_name (node->factory),
                           local_error->message);
              flow_free (flow);
              return FALSE;
            }
        }
      g_ptr_array_add (flow->instances, instance);
      if (instance != NULL)
        flow->fast_paths[i] = g_object_get_data (instance, SLUICE_ENGINE_FAST_PATH);
      flow->observer_bit[i] = -1;
      if (instance != NULL && SLUICE_IS_RUN_OBSERVER (instance))
        {
          flow->observer_bit[i] = (gint) MIN (flow->observers->len, MAX_TRACKED_OBSERVERS - 1);
          g_array_append_val (flow->observers, i);
        }
    }

  flow->feed = feed_acquire (self, workflow, error);
  if (flow->feed == NULL)
    {
      flow_free (flow);
      return FALSE;
    }
  g_ptr_array_add (flow->feed->flows, flow);
  flow->trigger = flow->feed->trigger;
  flow_update_credit (flow);

  if (start && !flow->feed->started)
    {
      if (!sluice_trigger_start (SLUICE_TRIGGER (flow->trigger), &local_error))
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE,
                       "%s: trigger (%s) did not start: %s", sluice_workflow_get_path (workflow),
                       sluice_component_factory_get_name (sluice_workflow_get_trigger_factory (workflow)),
                       local_error->message);
          flow_free (flow);
          return FALSE;
        }
      flow->feed->started = TRUE;
    }

  g_hash_table_insert (self->flows, g_strdup (name), flow);
  return TRUE;
}

/* ---- Removing, pausing ---- */

/* The loaded flow named @workflow, or NULL with NOT_FOUND. */
static Flow *
engine_lookup_flow (SluiceEngine *self, const char *workflow, GError **error)
{
  Flow *flow = g_hash_table_lookup (self->flows, workflow);

  if (flow == NULL)
    g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND, "no workflow named '%s' is loaded",
                 workflow);
  return flow;
}

static gboolean
on_retire_idle (gpointer user_data)
{
  SluiceEngine *self = user_data;

  self->retire_idle = 0;
  /* From the end: removing shifts only what was already looked at. */
  for (guint i = self->retiring->len; i > 0; i--)
    {
      Flow *flow = g_ptr_array_index (self->retiring, i - 1);

      if (flow->runs.length == 0 && flow->backoff.length == 0)
        {
          /* The array's free function frees it. */
          g_ptr_array_remove_index (self->retiring, i - 1);
        }
    }
  return G_SOURCE_REMOVE;
}

/* A removed flow is freed from an idle callback once its last run is
 * over: never under the settle callback of that run, which still holds it. */
static void
engine_retire_later (SluiceEngine *self)
{
  if (self->retiring->len == 0 || self->retire_idle != 0)
    return;
  self->retire_idle = g_idle_add (on_retire_idle, self);
}

gboolean
sluice_engine_remove_workflow (SluiceEngine *self,
                               const char   *workflow,
                               GError      **error)
{
  Flow *flow;
  char *key;

  g_return_val_if_fail (SLUICE_IS_ENGINE (self), FALSE);

  if (engine_lookup_flow (self, workflow, error) == NULL)
    return FALSE;
  g_hash_table_steal_extended (self->flows, workflow, (gpointer *) &key, (gpointer *) &flow);
  g_free (key);
  /* Its trigger stops unless another workflow shares it; what waits goes
   * back to the source; runs in flight finish on the old definition. */
  flow_stop (flow);
  g_ptr_array_add (self->retiring, flow);
  engine_retire_later (self);
  return TRUE;
}

gboolean
sluice_engine_set_paused (SluiceEngine *self,
                          const char   *workflow,
                          gboolean      paused,
                          GError      **error)
{
  Flow *flow;

  g_return_val_if_fail (SLUICE_IS_ENGINE (self), FALSE);

  flow = engine_lookup_flow (self, workflow, error);
  if (flow == NULL)
    return FALSE;
  flow->paused = paused;
  /* Credit drops to 0 (a shared trigger follows its busiest subscriber, so
   * it stops for all of them) or comes back, and the waiting events start. */
  flow_dispatch (flow);
  return TRUE;
}

gboolean
sluice_engine_is_paused (SluiceEngine *self,
                         const char   *workflow)
{
  Flow *flow = g_hash_table_lookup (self->flows, workflow);

  return flow != NULL && flow->paused;
}

GObject *
sluice_engine_get_trigger (SluiceEngine *self, const char *workflow)
{
  Flow *flow = g_hash_table_lookup (self->flows, workflow);

  return flow != NULL ? flow->trigger : NULL;
}

char *
sluice_engine_inject (SluiceEngine *self, const char *workflow, SluiceEvent *event, GError **error)
{
  return sluice_engine_inject_at (self, workflow, NULL, event, error);
}

gboolean
sluice_engine_has_workflow (SluiceEngine *self, const char *workflow)
{
  return g_hash_table_contains (self->flows, workflow);
}

void
sluice_engine_set_batch_manager (SluiceEngine *self, GObject *manager)
{
  g_return_if_fail (SLUICE_IS_ENGINE (self));

  if (self->batch_manager != NULL)
    g_object_remove_weak_pointer (self->batch_manager, (gpointer *) &self->batch_manager);
  self->batch_manager = manager;
  if (manager != NULL)
    g_object_add_weak_pointer (manager, (gpointer *) &self->batch_manager);
}

void
sluice_engine_set_dead_letter_store (SluiceEngine *self, SluiceDeadLetterStore *store)
{
  g_return_if_fail (SLUICE_IS_ENGINE (self));
  g_return_if_fail (store == NULL || SLUICE_IS_DEAD_LETTER_STORE (store));

  g_set_object (&self->dead_letters, store);
}

SluiceDeadLetterStore *
sluice_engine_get_dead_letter_store (SluiceEngine *self)
{
  g_return_val_if_fail (SLUICE_IS_ENGINE (self), NULL);

  return self->dead_letters;
}

SluiceWorkflow *
sluice_engine_get_workflow (SluiceEngine *self, const char *workflow)
{
  Flow *flow = g_hash_table_lookup (self->flows, workflow);

  return flow != NULL ? flow->workflow : NULL;
}

/* The running flow named @workflow, and the node named @after_node in it
 * (NULL without one). */
static Flow *
engine_find_target (SluiceEngine        *self,
                    const char          *workflow,
                    const char          *after_node,
                    SluiceWorkflowNode **out_node,
                    GError             **error)
{
  Flow *flow = engine_lookup_flow (self, workflow, error);

  *out_node = NULL;
  if (flow == NULL)
    return NULL;
  if (flow->stopped)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                   "workflow '%s' is shutting down", workflow);
      return NULL;
    }
  if (after_node == NULL)
    return flow;

  /* The workflow (and so the node) outlives every event queued for it. */
  *out_node = sluice_workflow_lookup_node (flow->workflow, after_node);
  if (*out_node != NULL)
    return flow;
  g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND, "workflow '%s' has no node '%s'",
               workflow, after_node);
  return NULL;
}

char *
sluice_engine_inject_at (SluiceEngine *self,
                         const char   *workflow,
                         const char   *after_node,
                         SluiceEvent  *event,
                         GError      **error)
{
  SluiceWorkflowNode *node;
  Flow *flow;

  g_return_val_if_fail (SLUICE_IS_ENGINE (self), NULL);
  g_return_val_if_fail (SLUICE_IS_EVENT (event), NULL);

  flow = engine_find_target (self, workflow, after_node, &node, error);
  if (flow == NULL)
    return NULL;
  return flow_enqueue (flow, event, node);
}

gboolean
sluice_engine_inject_all_at (SluiceEngine *self,
                             const char   *workflow,
                             const char   *after_node,
                             GPtrArray    *events,
                             GError      **error)
{
  SluiceWorkflowNode *node;
  Flow *flow;

  g_return_val_if_fail (SLUICE_IS_ENGINE (self), FALSE);
  g_return_val_if_fail (events != NULL, FALSE);

  for (guint i = 0; i < events->len; i++)
    g_return_val_if_fail (SLUICE_IS_EVENT (g_ptr_array_index (events, i)), FALSE);

  flow = engine_find_target (self, workflow, after_node, &node, error);
  if (flow == NULL)
    return FALSE;
  for (guint i = 0; i < events->len; i++)
    flow_push (flow, g_ptr_array_index (events, i), node);
  flow_dispatch (flow);
  return TRUE;
}

guint
sluice_engine_get_running (SluiceEngine *self, const char *workflow)
{
  Flow *flow = g_hash_table_lookup (self->flows, workflow);

  return flow != NULL ? flow->runs.length : 0;
}

guint
sluice_engine_get_waiting (SluiceEngine *self, const char *workflow)
{
  Flow *flow = g_hash_table_lookup (self->flows, workflow);

  return flow != NULL ? flow->waiting.length : 0;
}

/* ---- Shutdown ---- */

static guint
count_runs (SluiceEngine *self)
{
  GHashTableIter iter;
  Flow *flow;
  guint total = 0;

  g_hash_table_iter_init (&iter, self->flows);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &flow))
    total += flow->runs.length;
  for (guint i = 0; i < self->retiring->len; i++)
    total += ((Flow *) g_ptr_array_index (self->retiring, i))->runs.length;
  return total;
}

static void
maybe_finish_shutdown (SluiceEngine *self)
{
  g_autoptr(GTask) task = NULL;

  if (self->shutdown == NULL || count_runs (self) > 0)
    return;
  g_clear_handle_id (&self->grace_timeout, g_source_remove);
  task = g_steal_pointer (&self->shutdown);
  g_task_return_boolean (task, TRUE);
}

static gboolean
on_grace_over (gpointer user_data)
{
  g_autoptr(SluiceEngine) self = g_object_ref (user_data);
  g_autoptr(GPtrArray) cancelling = g_ptr_array_new ();
  g_autoptr(GPtrArray) waking = g_ptr_array_new ();
  g_autoptr(GPtrArray) all = g_ptr_array_new ();
  GHashTableIter flows;
  Flow *flow;

  self->grace_timeout = 0;

  /* A hop waiting out its backoff would keep its run alive until the delay
   * ends: it is woken, to find itself cancelled. Everything is collected
   * before anything is cancelled: a cancelled step may end its run at once
   * (and free it), but not a run that has a hop waiting. */
  g_hash_table_iter_init (&flows, self->flows);
  while (g_hash_table_iter_next (&flows, NULL, (gpointer *) &flow))
    g_ptr_array_add (all, flow);
  /* Removed workflows still finishing their runs are cut short too. */
  g_ptr_array_extend (all, self->retiring, NULL, NULL);
  for (guint f = 0; f < all->len; f++)
    {
      flow = g_ptr_array_index (all, f);
      if (flow->runs.length == 0)
        continue;
      g_ptr_array_add (cancelling, flow);
      for (GList *l = flow->runs.head; l != NULL; l = l->next)
        {
          Run *run = l->data;
          GHashTableIter retrying;
          gpointer hop, timeout;

          if (run->retrying == NULL)
            continue;
          g_hash_table_iter_init (&retrying, run->retrying);
          while (g_hash_table_iter_next (&retrying, &hop, &timeout))
            {
              SluiceContext *context = g_ptr_array_index (flow->contexts,
                                                          ((Hop *) hop)->node->index);

              sluice_clock_cancel_timeout (sluice_context_get_clock (context),
                                           GPOINTER_TO_UINT (timeout));
              g_ptr_array_add (waking, hop);
            }
        }
    }
  for (guint i = 0; i < cancelling->len; i++)
    g_cancellable_cancel (((Flow *) g_ptr_array_index (cancelling, i))->cancellable);
  for (guint i = 0; i < waking->len; i++)
    on_retry_due (g_ptr_array_index (waking, i));
  return G_SOURCE_REMOVE;
}

void
sluice_engine_shutdown_async (SluiceEngine       *self,
                              gint64              grace_usec,
                              GCancellable       *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer            user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  GHashTableIter iter;
  Flow *flow;

  g_task_set_source_tag (task, sluice_engine_shutdown_async);
  if (self->shutdown != NULL)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                               "shutdown already in progress");
      return;
    }

  g_hash_table_iter_init (&iter, self->flows);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &flow))
    flow_stop (flow);

  self->shutdown = g_steal_pointer (&task);
  if (count_runs (self) > 0)
    self->grace_timeout = g_timeout_add ((guint) (grace_usec / 1000), on_grace_over, self);
  maybe_finish_shutdown (self);
}

gboolean
sluice_engine_shutdown_finish (SluiceEngine *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- GObject ---- */

/* run-finished is emitted once per run: marshalled here rather than by the
 * generic (libffi) marshaller, and its strings are passed without copies
 * (they live until the emission is over). */
typedef void (*RunFinishedFunc) (gpointer    instance,
                                 const char *workflow,
                                 const char *run_id,
                                 guint       outcome,
                                 const char *error,
                                 SluiceMessage *message,
                                 gpointer    user_data);

static void
run_finished_marshal (GClosure     *closure,
                      GValue       *return_value,
                      guint         n_param_values,
                      const GValue *param_values,
                      gpointer      invocation_hint,
                      gpointer      marshal_data)
{
  GCClosure *cclosure = (GCClosure *) closure;
  gpointer data1, data2;
  RunFinishedFunc callback;

  g_return_if_fail (n_param_values == 6);

  if (G_CCLOSURE_SWAP_DATA (closure))
    {
      data1 = closure->data;
      data2 = g_value_peek_pointer (param_values + 0);
    }
  else
    {
      data1 = g_value_peek_pointer (param_values + 0);
      data2 = closure->data;
    }
  callback = (RunFinishedFunc) (marshal_data != NULL ? marshal_data : cclosure->callback);
  callback (data1, g_value_get_string (param_values + 1), g_value_get_string (param_values + 2),
            g_value_get_uint (param_values + 3), g_value_get_string (param_values + 4),
            g_value_get_object (param_values + 5), data2);
}

static void
run_finished_marshal_va (GClosure *closure,
                         GValue   *return_value,
                         gpointer  instance,
                         va_list   args,
                         gpointer  marshal_data,
                         int       n_params,
                         GType    *param_types)
{
  GCClosure *cclosure = (GCClosure *) closure;
  gpointer data1, data2;
  RunFinishedFunc callback;
  const char *workflow, *run_id, *error;
  SluiceMessage *message;
  guint outcome;
  va_list args_copy;

  va_copy (args_copy, args);
  workflow = va_arg (args_copy, const char *);
  run_id = va_arg (args_copy, const char *);
  outcome = va_arg (args_copy, guint);
  error = va_arg (args_copy, const char *);
  message = va_arg (args_copy, SluiceMessage *);
  va_end (args_copy);

  if (G_CCLOSURE_SWAP_DATA (closure))
    {
      data1 = closure->data;
      data2 = instance;
    }
  else
    {
      data1 = instance;
      data2 = closure->data;
    }
  callback = (RunFinishedFunc) (marshal_data != NULL ? marshal_data : cclosure->callback);
  callback (data1, workflow, run_id, outcome, error, message, data2);
}

/* run-started is emitted for every run: a marshaller of its own, not the
 * generic one (libffi), keeps that cheap. */
typedef void (*RunStartedFunc) (gpointer       instance,
                                const char    *workflow,
                                const char    *run_id,
                                SluiceMessage *message,
                                gpointer       user_data);

static void
run_started_marshal (GClosure     *closure,
                     GValue       *return_value,
                     guint         n_param_values,
                     const GValue *param_values,
                     gpointer      invocation_hint,
                     gpointer      marshal_data)
{
  GCClosure *cclosure = (GCClosure *) closure;
  gboolean swap = G_CCLOSURE_SWAP_DATA (closure);
  gpointer instance = g_value_peek_pointer (param_values + 0);
  RunStartedFunc callback;

  g_return_if_fail (n_param_values == 4);

  callback = (RunStartedFunc) (marshal_data != NULL ? marshal_data : cclosure->callback);
  callback (swap ? closure->data : instance, g_value_get_string (param_values + 1),
            g_value_get_string (param_values + 2), g_value_get_object (param_values + 3),
            swap ? instance : closure->data);
}

static void
run_started_marshal_va (GClosure *closure,
                        GValue   *return_value,
                        gpointer  instance,
                        va_list   args,
                        gpointer  marshal_data,
                        int       n_params,
                        GType    *param_types)
{
  GCClosure *cclosure = (GCClosure *) closure;
  gboolean swap = G_CCLOSURE_SWAP_DATA (closure);
  RunStartedFunc callback;
  const char *workflow, *run_id;
  SluiceMessage *message;
  va_list args_copy;

  va_copy (args_copy, args);
  workflow = va_arg (args_copy, const char *);
  run_id = va_arg (args_copy, const char *);
  message = va_arg (args_copy, SluiceMessage *);
  va_end (args_copy);

  callback = (RunStartedFunc) (marshal_data != NULL ? marshal_data : cclosure->callback);
  callback (swap ? closure->data : instance, workflow, run_id, message,
            swap ? instance : closure->data);
}

static void
sluice_engine_dispose (GObject *object)
{
  SluiceEngine *self = SLUICE_ENGINE (object);
  GHashTableIter iter;
  Flow *flow;

  if (self->flows != NULL)
    {
      g_hash_table_iter_init (&iter, self->flows);
      while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &flow))
        {
          flow_stop (flow);
          /* Runs still in flight keep pointers into their flow. */
          if (flow->runs.length > 0)
            g_critical ("engine disposed with %u run(s) of '%s' in flight; shut it down first",
                        flow->runs.length, sluice_workflow_get_name (flow->workflow));
        }
    }
  g_clear_handle_id (&self->grace_timeout, g_source_remove);
  g_clear_handle_id (&self->retire_idle, g_source_remove);
  if (self->retiring != NULL)
    {
      for (guint i = 0; i < self->retiring->len; i++)
        {
          flow = g_ptr_array_index (self->retiring, i);
          if (flow->runs.length > 0)
            g_critical ("engine disposed with %u run(s) of removed workflow '%s' in flight",
                        flow->runs.length, sluice_workflow_get_name (flow->workflow));
        }
    }

  G_OBJECT_CLASS (sluice_engine_parent_class)->dispose (object);
}

static void
sluice_engine_finalize (GObject *object)
{
  SluiceEngine *self = SLUICE_ENGINE (object);

  g_clear_pointer (&self->flows, g_hash_table_unref);
  g_clear_pointer (&self->retiring, g_ptr_array_unref);
  g_clear_pointer (&self->feeds, g_hash_table_unref);
  g_clear_object (&self->dead_letters);
  g_clear_pointer (&self->owner, g_free);
  g_clear_pointer (&self->rand, g_rand_free);
  g_clear_object (&self->context);
  sluice_engine_set_batch_manager (self, NULL);

  G_OBJECT_CLASS (sluice_engine_parent_class)->finalize (object);
}

static void
sluice_engine_class_init (SluiceEngineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sluice_engine_dispose;
  object_class->finalize = sluice_engine_finalize;

  /**
   * SluiceEngine::run-started:
   * @workflow: the workflow's name
   * @run_id: the run
   * @message: the event's message, its trace context set
   *
   * Each time a run starts, a retried one again.
   */
  signals[SIGNAL_RUN_STARTED] =
    g_signal_new ("run-started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  run_started_marshal, G_TYPE_NONE, 3, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE, SLUICE_TYPE_MESSAGE);
  g_signal_set_va_marshaller (signals[SIGNAL_RUN_STARTED], G_TYPE_FROM_CLASS (klass),
                              run_started_marshal_va);

  /**
   * SluiceEngine::run-finished:
   * @workflow: the workflow's name
   * @run_id: the run
   * @outcome: how the event was settled (SluiceEventOutcome)
   * @error: why it was not acked, or NULL
   * @message: the event's message (its headers tell what it came from)
   */
  signals[SIGNAL_RUN_FINISHED] =
    g_signal_new ("run-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  run_finished_marshal, G_TYPE_NONE, 5,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE, G_TYPE_UINT,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE, SLUICE_TYPE_MESSAGE);
  g_signal_set_va_marshaller (signals[SIGNAL_RUN_FINISHED], G_TYPE_FROM_CLASS (klass),
                              run_finished_marshal_va);
}

static void
sluice_engine_init (SluiceEngine *self)
{
  self->flows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) flow_free);
  self->feeds = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) feed_free);
  self->retiring = g_ptr_array_new_with_free_func ((GDestroyNotify) flow_free);
  self->owner = g_strdup_printf ("%s:%d", g_get_host_name (), (int) getpid ());
  self->rand = g_rand_new ();
}

SluiceEngine *
sluice_engine_new (SluiceContext *context)
{
  SluiceEngine *self;

  g_return_val_if_fail (SLUICE_IS_CONTEXT (context), NULL);

  self = g_object_new (SLUICE_TYPE_ENGINE, NULL);
  self->context = g_object_ref (context);
  return self;
}
