/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The Lua scripts of the batch store and the state store. Each batch
 * operation is one script call (add and claim wrap theirs in a MULTI with
 * one plain command, see below), so one operation is one round trip
 * whatever its size.
 *
 * A batch lives in these keys (SLUICE_REDIS_BATCH_KEY_*), the KEYS of
 * every batch script, in this order:
 * - meta (hash): workflow, chunk, max_failed, created, expires, state (the
 *   number of its SluiceBatchState), the counts per record state, next (the
 *   last record id given out), head (the id of the first record in
 *   pending);
 * - pending (list): the payloads of new records in id order: the record at
 *   index i has id head + i, so ids cost nothing to store;
 * - requeue (list): ids of records retry_failed moved back to pending;
 * - records (hash): id -> payload of failed and requeued records, the only
 *   ones whose payload is neither in pending nor in a lease;
 * - deadlines (sorted set): lease name -> lease deadline in ms;
 * - leases (hash): "L:w" -> the worker holding lease L, "L:n" -> how many
 *   of its records it still holds, and its record ids: "L:a" -> the first
 *   of a run of new records, or "L:i" -> the ids, space-separated;
 * - owners (hash): record id -> the lease that holds it, for every record
 *   in processing;
 * - attempts (hash): record id -> claims so far, kept only above one;
 * - failed (list) and errors (hash: id -> error);
 * - and, shared by all batches, a sorted set of batch ids by expiry.
 * Each lease L also has a list, "lease:L" beside them, of its records'
 * payloads in the order of its ids.
 *
 * Payloads never pass through Lua on the common path, where converting
 * them costs more than storing them: add pushes them with RPUSH in a
 * transaction with its script, and a claim copies them into its lease list
 * with SORT ... BY nosort STORE and hands them over with an LRANGE of that
 * list in the same transaction.
 *
 * Hashes with up to 512 short fields are stored by Redis as flat lists,
 * searched from the start for every field; a hash that holds hundreds of
 * records gets a long sentinel field "~" first so that it is a real hash
 * table from the start (Redis never converts back). */
typedef enum
{
  SLUICE_REDIS_SCRIPT_BATCH_CREATE,
  SLUICE_REDIS_SCRIPT_BATCH_ADD_COMMIT,
  SLUICE_REDIS_SCRIPT_BATCH_CLAIM,
  SLUICE_REDIS_SCRIPT_BATCH_SETTLE,
  SLUICE_REDIS_SCRIPT_BATCH_RETRY_FAILED,
  SLUICE_REDIS_SCRIPT_BATCH_LIST,
  SLUICE_REDIS_SCRIPT_BATCH_LIST_FAILED,
  SLUICE_REDIS_SCRIPT_BATCH_SET_STATE,
  SLUICE_REDIS_SCRIPT_BATCH_DELETE,
  SLUICE_REDIS_SCRIPT_STATE_LOCK,
  SLUICE_REDIS_SCRIPT_STATE_UNLOCK,
  SLUICE_REDIS_SCRIPT_STATE_INCREMENT,
  SLUICE_REDIS_SCRIPT_STATE_TAKE_TOKENS,
  SLUICE_REDIS_N_SCRIPTS,
} SluiceRedisScriptId;

typedef enum
{
  SLUICE_REDIS_BATCH_KEY_META,
  SLUICE_REDIS_BATCH_KEY_PENDING,
  SLUICE_REDIS_BATCH_KEY_REQUEUE,
  SLUICE_REDIS_BATCH_KEY_RECORDS,
  SLUICE_REDIS_BATCH_KEY_DEADLINES,
  SLUICE_REDIS_BATCH_KEY_LEASES,
  SLUICE_REDIS_BATCH_KEY_OWNERS,
  SLUICE_REDIS_BATCH_KEY_ATTEMPTS,
  SLUICE_REDIS_BATCH_KEY_FAILED,
  SLUICE_REDIS_BATCH_KEY_ERRORS,
  SLUICE_REDIS_BATCH_KEY_BATCHES,
  SLUICE_REDIS_BATCH_N_KEYS,
} SluiceRedisBatchKey;

typedef struct
{
  const char *name;
  const char *body;
  char        sha1[41]; /* what SCRIPT LOAD answers and EVALSHA takes */
} SluiceRedisScript;

/* Errors the scripts raise, as the first word of the error reply. */
#define SLUICE_REDIS_E_NOT_FOUND "SLUICE_NOT_FOUND"
#define SLUICE_REDIS_E_EXISTS "SLUICE_EXISTS"
#define SLUICE_REDIS_E_EXPIRED "SLUICE_EXPIRED"
#define SLUICE_REDIS_E_STATE "SLUICE_STATE"
#define SLUICE_REDIS_E_BUSY "SLUICE_BUSY"

/* The suffix of a lease's payload list: "lease:" + its name. */
#define SLUICE_REDIS_LEASE_KEY "lease:"

const SluiceRedisScript *sluice_redis_script_get (SluiceRedisScriptId id);

/* The suffix of each batch key: "meta", "records", ... */
const char *sluice_redis_batch_key_suffix (SluiceRedisBatchKey key);

G_END_DECLS
