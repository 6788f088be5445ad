/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* redis.dead-letter-store: dead letters in Redis, so that every host on
 * that Redis sees, replays and purges the same ones. Keys, under the
 * configured prefix:
 * - "dl:letter:" + id (hash): meta (the SDK's JSON of the letter without
 *   payload and headers), headers (name NUL value NUL ...), payload (raw
 *   bytes), at (its index member) and workflow;
 * - "dl:index" (sorted set, every score 0): one member per letter,
 *   first_usec as 19 zero-padded digits, ':' and the id, so that the
 *   lexicographic order is the listing order (first_usec, then id) exactly
 *   for every time, and a walk can resume right after any member;
 * - "dl:wf:" + workflow (sorted set, alike): that workflow's letters only;
 * - "dl:last", "dl:node", "dl:error" (hashes, id -> value): what a filter
 *   reads, one HMGET per slice of the index instead of a command per
 *   letter.
 * Put and remove are one Lua script call each, so that the indexes never
 * list a letter that is not there, nor miss one that is. */
#define SLUICE_TYPE_REDIS_DEAD_LETTER_STORE (sluice_redis_dead_letter_store_get_type ())
G_DECLARE_FINAL_TYPE (SluiceRedisDeadLetterStore, sluice_redis_dead_letter_store, SLUICE,
                      REDIS_DEAD_LETTER_STORE, GObject)

G_END_DECLS
