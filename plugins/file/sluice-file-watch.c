/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-file-watch.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "sluice-file-common.h"
#include "sluice-file-event.h"

#define COMPONENT "file.watch"

#define ENUMERATE_BATCH 100

/*
 * Every file of interest has one entry, which walks through these states:
 *
 *   OBSERVING --stable--> READY --credit--> OPENING --> PENDING --ack/dead-letter--> (gone)
 *       ^                   |                               |
 *       +--changed again----+      RETRY_WAIT <---retry-----+
 *                                       |
 *                                       +--delay over--> READY
 *
 * An entry in OPENING, PENDING or RETRY_WAIT ignores what the monitor says
 * about its file, which is what keeps a file from being emitted twice while
 * its event is pending.
 */
typedef enum {
  FILE_OBSERVING,
  FILE_READY,
  FILE_OPENING,
  FILE_PENDING,
  FILE_RETRY_WAIT,
} FileState;

typedef struct {
  SluiceFileWatch *self;      /* unowned: the table owning the entry is the watch's */
  char            *name;
  guint64          id;        /* tells a recreated entry from the one a callback was for */
  guint64          order;     /* arrival order in the ready queue */
  FileState        state;

  /* stability check */
  gboolean         have_stat;
  goffset          size;
  gint64           mtime_usec;
  gboolean         window_elapsed;
  gboolean         queued;    /* in check_queue */
  gboolean         querying;  /* in the batch being checked */
  gboolean         dirty;     /* an event came while it was being checked */

  guint            timer_id;  /* stability window, or retry delay */
  guint            deliveries;
} WatchedFile;

struct _SluiceFileWatch
{
  GObject parent_instance;

  char         *path;
  GFile        *directory;
  GPatternSpec *pattern;
  gint64        stable_for;
  char         *processed_dir;
  char         *failed_dir;
  gboolean      existing;

  SluiceClock  *clock;
  gboolean      started;
  GCancellable *cancellable;  /* a new one per start */
  GFileMonitor *monitor;

  GHashTable   *files;        /* name -> WatchedFile, owned */
  GQueue        ready;        /* WatchedFile, by order */
  GQueue        check_queue;  /* WatchedFile waiting for the next check batch */
  gboolean      checking;     /* a check batch is out */
  gboolean      opening;      /* one file at a time, so events leave in order */
  guint64       next_id;
};

static void sluice_file_watch_initable_iface_init (GInitableIface *iface);
static void sluice_file_watch_trigger_iface_init (SluiceTriggerInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SluiceFileWatch, sluice_file_watch, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      sluice_file_watch_initable_iface_init)
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_TRIGGER,
                                                      sluice_file_watch_trigger_iface_init))

const char sluice_file_watch_schema[] =
  "{"
  "  \"type\": \"object\","
  "  \"description\": \"Emits an event for every complete file that appears in a directory; "
  "acknowledging it moves the file to processed_dir, dead-lettering it to failed_dir\","
  "  \"properties\": {"
  "    \"path\": {\"type\": \"string\", \"minLength\": 1,"
  "               \"description\": \"The directory to watch\"},"
  "    \"pattern\": {\"type\": \"string\", \"default\": \"*\","
  "                  \"description\": \"Glob the file name must match (* and ?)\"},"
  "    \"stable_for\": {\"type\": \"string\", \"format\": \"duration\", \"default\": \"1s\","
  "                     \"description\": \"How long size and modification time must stay "
  "unchanged before a file counts as complete\"},"
  "    \"processed_dir\": {\"type\": \"string\", \"minLength\": 1,"
  "                        \"description\": \"Where acknowledged files go, relative to path "
  "unless absolute (default: <path>/processed)\"},"
  "    \"failed_dir\": {\"type\": \"string\", \"minLength\": 1,"
  "                     \"description\": \"Where dead-lettered files go, each with a .error file "
  "beside it; relative to path unless absolute (default: <path>/failed)\"},"
  "    \"existing\": {\"type\": \"boolean\", \"default\": true,"
  "                   \"description\": \"Also emit the files already there at start\"}"
  "  },"
  "  \"required\": [\"path\"],"
  "  \"additionalProperties\": false"
  "}";

static void watched_file_check (WatchedFile *wf);
static void sluice_file_watch_pump (SluiceFileWatch *self);

static SluiceContext *
get_context (SluiceFileWatch *self)
{
  return sluice_component_get_context (self);
}

static void
watched_file_cancel_timer (WatchedFile *wf)
{
  if (wf->timer_id != 0)
    {
      sluice_clock_cancel_timeout (wf->self->clock, wf->timer_id);
      wf->timer_id = 0;
    }
}

static void
watched_file_free (WatchedFile *wf)
{
  watched_file_cancel_timer (wf);
  g_free (wf->name);
  g_free (wf);
}

static gint
watched_file_compare_order (gconstpointer a,
                            gconstpointer b,
                            gpointer      user_data)
{
  const WatchedFile *fa = a;
  const WatchedFile *fb = b;

  return fa->order < fb->order ? -1 : fa->order > fb->order ? 1 : 0;
}

/* Forgets a file, whatever state it is in. */
static void
sluice_file_watch_drop (SluiceFileWatch *self,
                        WatchedFile     *wf)
{
  if (wf->state == FILE_READY)
    g_queue_remove (&self->ready, wf);
  if (wf->queued)
    g_queue_remove (&self->check_queue, wf);
  g_hash_table_remove (self->files, wf->name);
}

static gboolean
sluice_file_watch_wants (SluiceFileWatch *self,
                         const char      *name)
{
  return !sluice_file_name_is_hidden (name) &&
         g_pattern_spec_match_string (self->pattern, name);
}

/* Stability */

static void
sluice_file_watch_make_ready (SluiceFileWatch *self,
                              WatchedFile     *wf)
{
  wf->state = FILE_READY;
  g_queue_insert_sorted (&self->ready, wf, watched_file_compare_order, NULL);
  sluice_file_watch_pump (self);
}

static void
on_stable_timer (gpointer user_data)
{
  WatchedFile *wf = user_data;

  wf->timer_id = 0;
  wf->window_elapsed = TRUE;
  watched_file_check (wf);
}

static void
watched_file_start_window (WatchedFile *wf)
{
  watched_file_cancel_timer (wf);
  wf->window_elapsed = FALSE;
  wf->timer_id = sluice_clock_add_timeout (wf->self->clock, wf->self->stable_for,
                                           on_stable_timer, wf, NULL);
}

typedef struct {
  SluiceFileWatch *self;
  char            *name;
  guint64          id;
} EntryRef;

static EntryRef *
entry_ref_new (WatchedFile *wf)
{
  EntryRef *ref = g_new0 (EntryRef, 1);

  ref->self = g_object_ref (wf->self);
  ref->name = g_strdup (wf->name);
  ref->id = wf->id;
  return ref;
}

static void
entry_ref_free (EntryRef *ref)
{
  g_object_unref (ref->self);
  g_free (ref->name);
  g_free (ref);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EntryRef, entry_ref_free)

/* The entry @ref was made for, or NULL when it was dropped meanwhile. */
static WatchedFile *
entry_ref_lookup (EntryRef *ref)
{
  WatchedFile *wf = g_hash_table_lookup (ref->self->files, ref->name);

  return wf != NULL && wf->id == ref->id ? wf : NULL;
}

/* Stability checks run in batches: one task in a worker thread looks at
 * every file that is due, and the results are handled in arrival order,
 * so files that become complete together are emitted in the order they
 * came. Files that change while a batch runs go into the next one. */

typedef struct {
  char    *name;
  guint64  id;

  /* filled in by the thread */
  int      errsv;
  gboolean regular;
  goffset  size;
  gint64   mtime_usec;
} CheckItem;

typedef struct {
  char   *directory;
  GArray *items;  /* CheckItem */
} CheckBatch;

static void
check_item_clear (gpointer data)
{
  CheckItem *item = data;

  g_free (item->name);
}

static void
check_batch_free (CheckBatch *batch)
{
  g_array_unref (batch->items);
  g_free (batch->directory);
  g_free (batch);
}

static void
check_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  CheckBatch *batch = task_data;

  for (guint i = 0; i < batch->items->len; i++)
    {
      CheckItem *item = &g_array_index (batch->items, CheckItem, i);
      g_autofree char *path = g_build_filename (batch->directory, item->name, NULL);
      struct stat st;

      /* lstat: a symlink is not a file of this directory to move away */
      if (lstat (path, &st) < 0)
        {
          item->errsv = errno;
          continue;
        }
      item->regular = S_ISREG (st.st_mode);
      item->size = st.st_size;
      item->mtime_usec = (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000;
    }

  g_task_return_boolean (task, TRUE);
}

static void
sluice_file_watch_handle_check (SluiceFileWatch *self,
                                WatchedFile     *wf,
                                CheckItem       *item)
{
  if ((item->errsv != 0 || !item->regular) && wf->dirty)
    {
      /* Replaced since the look was taken (deleted and made anew, say):
       * what counts is what is there now. */
      wf->dirty = FALSE;
      wf->have_stat = FALSE;
      watched_file_check (wf);
      return;
    }

  if (item->errsv != 0)
    {
      /* Gone before it was complete, or never readable: nothing to emit. */
      if (item->errsv != ENOENT)
        sluice_log (get_context (self), NULL, G_LOG_LEVEL_WARNING,
                    COMPONENT ": cannot look at '%s' in '%s': %s",
                    wf->name, self->path, g_strerror (item->errsv));
      sluice_file_watch_drop (self, wf);
      return;
    }

  /* Directories (processed/, failed/ among them), sockets, symlinks */
  if (!item->regular)
    {
      sluice_file_watch_drop (self, wf);
      return;
    }

  if (!wf->have_stat || wf->size != item->size || wf->mtime_usec != item->mtime_usec)
    {
      /* New or still being written: the window starts again from here. */
      wf->have_stat = TRUE;
      wf->size = item->size;
      wf->mtime_usec = item->mtime_usec;
      if (self->stable_for > 0)
        watched_file_start_window (wf);
      else
        wf->window_elapsed = TRUE;
    }

  if (wf->dirty)
    {
      /* Something happened after this look was taken: look again. */
      wf->dirty = FALSE;
      watched_file_check (wf);
      return;
    }

  /* Complete only once it held still for the whole window; before that
   * the running timer will look again. */
  if (wf->window_elapsed)
    sluice_file_watch_make_ready (self, wf);
  else if (wf->timer_id == 0)
    watched_file_start_window (wf);
}

static void sluice_file_watch_run_checks (SluiceFileWatch *self);

static void
on_checked (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  SluiceFileWatch *self = SLUICE_FILE_WATCH (source);
  CheckBatch *batch = g_task_get_task_data (G_TASK (result));

  self->checking = FALSE;

  for (guint i = 0; i < batch->items->len; i++)
    {
      CheckItem *item = &g_array_index (batch->items, CheckItem, i);
      WatchedFile *wf = g_hash_table_lookup (self->files, item->name);

      /* Dropped meanwhile (a stop, a delete), maybe made anew since. */
      if (wf == NULL || wf->id != item->id)
        continue;
      wf->querying = FALSE;
      if (wf->state != FILE_OBSERVING)
        continue;

      sluice_file_watch_handle_check (self, wf, item);
    }

  sluice_file_watch_run_checks (self);
}

static void
sluice_file_watch_run_checks (SluiceFileWatch *self)
{
  g_autoptr(GTask) task = NULL;
  CheckBatch *batch;
  WatchedFile *wf;

  if (self->checking || g_queue_is_empty (&self->check_queue))
    return;

  batch = g_new0 (CheckBatch, 1);
  batch->directory = g_strdup (self->path);
  batch->items = g_array_new (FALSE, TRUE, sizeof (CheckItem));
  g_array_set_clear_func (batch->items, check_item_clear);

  g_queue_sort (&self->check_queue, watched_file_compare_order, NULL);
  while ((wf = g_queue_pop_head (&self->check_queue)) != NULL)
    {
      CheckItem item = { g_strdup (wf->name), wf->id, 0, FALSE, 0, 0 };

      wf->queued = FALSE;
      wf->querying = TRUE;
      g_array_append_val (batch->items, item);
    }

  self->checking = TRUE;
  task = g_task_new (self, NULL, on_checked, NULL);
  g_task_set_source_tag (task, sluice_file_watch_run_checks);
  g_task_set_task_data (task, batch, (GDestroyNotify) check_batch_free);
  g_task_run_in_thread (task, check_thread);
}

static void
watched_file_check (WatchedFile *wf)
{
  SluiceFileWatch *self = wf->self;

  if (wf->querying)
    {
      wf->dirty = TRUE;
      return;
    }

  if (!wf->queued)
    {
      wf->queued = TRUE;
      g_queue_push_tail (&self->check_queue, wf);
    }
  sluice_file_watch_run_checks (self);
}

/* Something happened to @name (or it was there at start). */
static void
sluice_file_watch_observe (SluiceFileWatch *self,
                           const char      *name)
{
  WatchedFile *wf;

  if (!self->started || !sluice_file_watch_wants (self, name))
    return;

  wf = g_hash_table_lookup (self->files, name);
  if (wf == NULL)
    {
      wf = g_new0 (WatchedFile, 1);
      wf->self = self;
      wf->name = g_strdup (name);
      wf->id = ++self->next_id;
      wf->order = wf->id;
      wf->state = FILE_OBSERVING;
      g_hash_table_insert (self->files, wf->name, wf);
    }

  switch (wf->state)
    {
    case FILE_READY:
      /* Written to again before it was emitted: not complete after all. */
      g_queue_remove (&self->ready, wf);
      wf->state = FILE_OBSERVING;
      G_GNUC_FALLTHROUGH;
    case FILE_OBSERVING:
      watched_file_check (wf);
      break;
    case FILE_OPENING:
    case FILE_PENDING:
    case FILE_RETRY_WAIT:
      /* Its event is out (or will be again): changes are its business. */
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
sluice_file_watch_forget (SluiceFileWatch *self,
                          const char      *name)
{
  WatchedFile *wf = g_hash_table_lookup (self->files, name);

  if (wf != NULL && (wf->state == FILE_OBSERVING || wf->state == FILE_READY))
    sluice_file_watch_drop (self, wf);
}

static void
on_monitor_changed (GFileMonitor      *monitor,
                    GFile             *file,
                    GFile             *other_file,
                    GFileMonitorEvent  event_type,
                    gpointer           user_data)
{
  SluiceFileWatch *self = user_data;
  g_autofree char *name = NULL;
  g_autofree char *other_name = NULL;

  if (!g_file_has_parent (file, self->directory))
    {
      if (event_type == G_FILE_MONITOR_EVENT_DELETED ||
          event_type == G_FILE_MONITOR_EVENT_MOVED_OUT)
        sluice_log (get_context (self), NULL, G_LOG_LEVEL_WARNING,
                    COMPONENT ": the watched directory '%s' went away", self->path);
      return;
    }

  name = g_file_get_basename (file);
  if (other_file != NULL && g_file_has_parent (other_file, self->directory))
    other_name = g_file_get_basename (other_file);

  switch (event_type)
    {
    case G_FILE_MONITOR_EVENT_CREATED:
    case G_FILE_MONITOR_EVENT_CHANGED:
    case G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED:
    case G_FILE_MONITOR_EVENT_MOVED_IN:
      sluice_file_watch_observe (self, name);
      break;
    case G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT:
      /* The writer closed the file: the best hint there is, but writers
       * may close and reopen, so the hint only makes the window start
       * from the file's final state; it still has to hold still. */
      sluice_file_watch_observe (self, name);
      break;
    case G_FILE_MONITOR_EVENT_DELETED:
    case G_FILE_MONITOR_EVENT_MOVED_OUT:
      sluice_file_watch_forget (self, name);
      break;
    case G_FILE_MONITOR_EVENT_RENAMED:
      sluice_file_watch_forget (self, name);
      if (other_name != NULL)
        sluice_file_watch_observe (self, other_name);
      break;
    case G_FILE_MONITOR_EVENT_PRE_UNMOUNT:
    case G_FILE_MONITOR_EVENT_UNMOUNTED:
    case G_FILE_MONITOR_EVENT_MOVED:
    default:
      break;
    }
}

/* The files there at start */

typedef struct {
  SluiceFileWatch *self;
  GCancellable    *cancellable;
  GPtrArray       *names;
} ScanData;

static void
scan_data_free (ScanData *scan)
{
  g_object_unref (scan->self);
  g_object_unref (scan->cancellable);
  g_ptr_array_unref (scan->names);
  g_free (scan);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScanData, scan_data_free)

static gint
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static void
scan_failed (ScanData *scan,
             GError   *error)
{
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    sluice_log (get_context (scan->self), NULL, G_LOG_LEVEL_WARNING,
                COMPONENT ": cannot list '%s': %s", scan->self->path, error->message);
}

static void
on_next_files (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(ScanData) scan = user_data;
  GFileEnumerator *enumerator = G_FILE_ENUMERATOR (source);
  GCancellable *cancellable;
  g_autoptr(GError) error = NULL;
  GList *infos;

  infos = g_file_enumerator_next_files_finish (enumerator, result, &error);
  if (error != NULL)
    {
      scan_failed (scan, error);
      return;
    }

  if (infos != NULL)
    {
      for (GList *l = infos; l != NULL; l = l->next)
        {
          GFileInfo *info = l->data;

          if (g_file_info_get_file_type (info) == G_FILE_TYPE_REGULAR)
            g_ptr_array_add (scan->names, g_strdup (g_file_info_get_name (info)));
        }
      g_list_free_full (infos, g_object_unref);

      cancellable = scan->cancellable;
      g_file_enumerator_next_files_async (enumerator, ENUMERATE_BATCH, G_PRIORITY_DEFAULT,
                                          cancellable, on_next_files,
                                          g_steal_pointer (&scan));
      return;
    }

  /* A stop (and maybe a new start) happened meanwhile: this list is stale. */
  if (g_cancellable_is_cancelled (scan->cancellable))
    return;

  /* Sorted, so that files already there are emitted in a predictable order. */
  g_ptr_array_sort (scan->names, compare_names);
  for (guint i = 0; i < scan->names->len; i++)
    sluice_file_watch_observe (scan->self, g_ptr_array_index (scan->names, i));
}

static void
on_enumerate_children (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(ScanData) scan = user_data;
  g_autoptr(GFileEnumerator) enumerator = NULL;
  GCancellable *cancellable;
  g_autoptr(GError) error = NULL;

  enumerator = g_file_enumerate_children_finish (G_FILE (source), result, &error);
  if (enumerator == NULL)
    {
      scan_failed (scan, error);
      return;
    }

  cancellable = scan->cancellable;
  g_file_enumerator_next_files_async (enumerator, ENUMERATE_BATCH, G_PRIORITY_DEFAULT,
                                      cancellable, on_next_files,
                                      g_steal_pointer (&scan));
}

static void
sluice_file_watch_scan (SluiceFileWatch *self)
{
  ScanData *scan = g_new0 (ScanData, 1);

  scan->self = g_object_ref (self);
  scan->cancellable = g_object_ref (self->cancellable);
  scan->names = g_ptr_array_new_with_free_func (g_free);

  g_file_enumerate_children_async (self->directory,
                                   G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                   G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                   G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS,
                                   G_PRIORITY_DEFAULT, self->cancellable,
                                   on_enumerate_children, scan);
}

/* Emitting */

/* The credit is how many more events the host wants now: the host lowers
 * it as each event arrives and raises it as runs finish, calling
 * credit_available() when it leaves zero. Files are opened one at a time,
 * so at most one event is on its way that the credit does not count yet,
 * and the pump waits for it. */
static gboolean
sluice_file_watch_has_credit (SluiceFileWatch *self)
{
  return sluice_trigger_get_credit (SLUICE_TRIGGER (self)) > 0;
}

static void
on_message_opened (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(EntryRef) ref = user_data;
  SluiceFileWatch *self = ref->self;
  g_autoptr(SluiceMessage) message = NULL;
  g_autoptr(SluiceFileEvent) event = NULL;
  g_autoptr(GError) error = NULL;
  WatchedFile *wf;

  message = sluice_file_open_message_finish (result, &error);
  self->opening = FALSE;

  wf = entry_ref_lookup (ref);
  g_return_if_fail (wf != NULL && wf->state == FILE_OPENING);

  if (message == NULL && self->started &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      /* Stopped and started again while it was being opened: it is still
       * wanted. */
      wf->state = FILE_OBSERVING;
      watched_file_check (wf);
      sluice_file_watch_pump (self);
      return;
    }

  if (message == NULL)
    {
      /* Moved or deleted by someone else before its turn came. */
      if (!g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND) &&
          !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        sluice_log (get_context (self), NULL, G_LOG_LEVEL_WARNING,
                    COMPONENT ": %s", error->message);
      sluice_file_watch_drop (self, wf);
      sluice_file_watch_pump (self);
      return;
    }

  wf->state = FILE_PENDING;
  sluice_message_set_attempt (message, wf->deliveries);
  wf->deliveries++;

  event = sluice_file_event_new (self, message, wf->name,
                                 sluice_message_get_header (message, SLUICE_FILE_HEADER_PATH));
  sluice_trigger_emit (SLUICE_TRIGGER (self), SLUICE_EVENT (event));
  sluice_file_watch_pump (self);
}

static void
sluice_file_watch_pump (SluiceFileWatch *self)
{
  while (self->started && !self->opening && !g_queue_is_empty (&self->ready) &&
         sluice_file_watch_has_credit (self))
    {
      WatchedFile *wf = g_queue_pop_head (&self->ready);
      g_autoptr(GFile) file = g_file_get_child (self->directory, wf->name);

      wf->state = FILE_OPENING;
      self->opening = TRUE;
      sluice_file_open_message_async (file, G_PRIORITY_DEFAULT, self->cancellable,
                                      on_message_opened, entry_ref_new (wf));
    }
}

static void
on_retry_timer (gpointer user_data)
{
  WatchedFile *wf = user_data;
  SluiceFileWatch *self = wf->self;

  wf->timer_id = 0;
  /* Behind the files that became complete while it waited. */
  wf->order = ++self->next_id;
  sluice_file_watch_make_ready (self, wf);
}

const char *
sluice_file_watch_get_processed_dir (SluiceFileWatch *self)
{
  g_return_val_if_fail (SLUICE_IS_FILE_WATCH (self), NULL);

  return self->processed_dir;
}

const char *
sluice_file_watch_get_failed_dir (SluiceFileWatch *self)
{
  g_return_val_if_fail (SLUICE_IS_FILE_WATCH (self), NULL);

  return self->failed_dir;
}

void
sluice_file_watch_settled (SluiceFileWatch   *self,
                           const char        *name,
                           SluiceEventOutcome outcome,
                           gint64             retry_delay_usec)
{
  WatchedFile *wf;

  g_return_if_fail (SLUICE_IS_FILE_WATCH (self));
  g_return_if_fail (name != NULL);

  wf = g_hash_table_lookup (self->files, name);
  g_return_if_fail (wf != NULL && wf->state == FILE_PENDING);

  if (outcome == SLUICE_EVENT_RETRY && self->started)
    {
      wf->state = FILE_RETRY_WAIT;
      wf->timer_id = sluice_clock_add_timeout (self->clock, retry_delay_usec,
                                               on_retry_timer, wf, NULL);
    }
  else
    {
      /* Moved away (ack, dead-letter), or stopped: a retried file stays
       * in the directory and is picked up again at the next start. */
      sluice_file_watch_drop (self, wf);
    }

  sluice_file_watch_pump (self);
}

/* SluiceTrigger */

static gboolean
sluice_file_watch_start (SluiceTrigger *trigger,
                         GError       **error)
{
  SluiceFileWatch *self = SLUICE_FILE_WATCH (trigger);
  g_autoptr(GError) local_error = NULL;

  if (self->started)
    return TRUE;

  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  self->monitor = g_file_monitor_directory (self->directory, G_FILE_MONITOR_WATCH_MOVES,
                                            self->cancellable, &local_error);
  if (self->monitor == NULL)
    {
      sluice_file_propagate_error (error, g_steal_pointer (&local_error),
                                   COMPONENT ": cannot watch '%s'", self->path);
      return FALSE;
    }
  g_signal_connect (self->monitor, "changed", G_CALLBACK (on_monitor_changed), self);

  self->started = TRUE;

  /* The monitor is up before the listing starts, so a file that arrives
   * in between is seen by at least one of them. */
  if (self->existing)
    sluice_file_watch_scan (self);

  return TRUE;
}

static void
sluice_file_watch_stop (SluiceTrigger *trigger)
{
  SluiceFileWatch *self = SLUICE_FILE_WATCH (trigger);
  GHashTableIter iter;
  WatchedFile *wf;

  if (!self->started)
    return;
  self->started = FALSE;

  g_cancellable_cancel (self->cancellable);
  if (self->monitor != NULL)
    {
      g_signal_handlers_disconnect_by_func (self->monitor, on_monitor_changed, self);
      g_file_monitor_cancel (self->monitor);
      g_clear_object (&self->monitor);
    }

  /* Events that are out stay known until they are settled; the rest is
   * forgotten and found again by the next start. Files being opened are
   * dropped by their (cancelled) open. */
  g_queue_clear (&self->ready);
  g_queue_clear (&self->check_queue);
  g_hash_table_iter_init (&iter, self->files);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &wf))
    {
      if (wf->state == FILE_OBSERVING || wf->state == FILE_READY || wf->state == FILE_RETRY_WAIT)
        g_hash_table_iter_remove (&iter);
    }
}

static void
sluice_file_watch_credit_available (SluiceTrigger *trigger)
{
  sluice_file_watch_pump (SLUICE_FILE_WATCH (trigger));
}

static void
sluice_file_watch_trigger_iface_init (SluiceTriggerInterface *iface)
{
  iface->start = sluice_file_watch_start;
  iface->stop = sluice_file_watch_stop;
  iface->credit_available = sluice_file_watch_credit_available;
}

/* GInitable */

static gboolean
sluice_file_watch_initable_init (GInitable    *initable,
                                 GCancellable *cancellable,
                                 GError      **error)
{
  SluiceFileWatch *self = SLUICE_FILE_WATCH (initable);
  JsonObject *config = sluice_component_get_config (self);
  SluiceContext *context = get_context (self);
  g_autofree char *path = NULL;
  g_autofree char *pattern = NULL;
  g_autofree char *processed_dir = NULL;
  g_autofree char *failed_dir = NULL;

  if (!sluice_file_config_get_string (config, COMPONENT, "path", NULL, &path, error) ||
      !sluice_file_config_get_string (config, COMPONENT, "pattern", "*", &pattern, error) ||
      !sluice_file_config_get_duration (config, COMPONENT, "stable_for", "1s",
                                        &self->stable_for, error) ||
      !sluice_file_config_get_string (config, COMPONENT, "processed_dir", "",
                                      &processed_dir, error) ||
      !sluice_file_config_get_string (config, COMPONENT, "failed_dir", "", &failed_dir, error) ||
      !sluice_file_config_get_boolean (config, COMPONENT, "existing", TRUE, &self->existing, error))
    return FALSE;

  if (*path == '\0')
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   COMPONENT ": key 'path' must not be empty");
      return FALSE;
    }

  self->path = sluice_file_canonicalize (path);
  self->directory = g_file_new_for_path (self->path);
  self->pattern = g_pattern_spec_new (pattern);

  /* Relative processed/failed directories are taken from the watched one. */
  if (*processed_dir == '\0')
    self->processed_dir = g_build_filename (self->path, "processed", NULL);
  else
    self->processed_dir = g_canonicalize_filename (processed_dir, self->path);

  if (*failed_dir == '\0')
    self->failed_dir = g_build_filename (self->path, "failed", NULL);
  else
    self->failed_dir = g_canonicalize_filename (failed_dir, self->path);

  if (g_str_equal (self->processed_dir, self->path) || g_str_equal (self->failed_dir, self->path))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   COMPONENT ": processed_dir and failed_dir must differ from the watched "
                   "directory '%s', or settled files would be emitted again", self->path);
      return FALSE;
    }

  if (context != NULL)
    self->clock = g_object_ref (sluice_context_get_clock (context));
  else
    self->clock = sluice_clock_new_system ();

  return TRUE;
}

static void
sluice_file_watch_initable_iface_init (GInitableIface *iface)
{
  iface->init = sluice_file_watch_initable_init;
}

/* GObject */

static void
sluice_file_watch_dispose (GObject *object)
{
  SluiceFileWatch *self = SLUICE_FILE_WATCH (object);

  sluice_file_watch_stop (SLUICE_TRIGGER (self));
  g_queue_clear (&self->ready);
  g_queue_clear (&self->check_queue);
  /* Entries hold clock timeouts: cancel them while the clock is there. */
  g_hash_table_remove_all (self->files);

  G_OBJECT_CLASS (sluice_file_watch_parent_class)->dispose (object);
}

static void
sluice_file_watch_finalize (GObject *object)
{
  SluiceFileWatch *self = SLUICE_FILE_WATCH (object);

  g_hash_table_unref (self->files);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->clock);
  g_clear_object (&self->directory);
  g_clear_pointer (&self->pattern, g_pattern_spec_free);
  g_free (self->path);
  g_free (self->processed_dir);
  g_free (self->failed_dir);

  G_OBJECT_CLASS (sluice_file_watch_parent_class)->finalize (object);
}

static void
sluice_file_watch_class_init (SluiceFileWatchClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sluice_file_watch_dispose;
  object_class->finalize = sluice_file_watch_finalize;
}

static void
sluice_file_watch_init (SluiceFileWatch *self)
{
  self->files = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify) watched_file_free);
  g_queue_init (&self->ready);
  g_queue_init (&self->check_queue);
}
