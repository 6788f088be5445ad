/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <hiredis/async.h>

G_BEGIN_DECLS

/* Reply objects built in one reusable block of memory instead of a malloc
 * per object: a read of 500 stream entries is a tree of thousands of
 * objects, and allocating and freeing them one by one cost about a quarter
 * of the instructions per entry.
 *
 * hiredis hands a connection's callbacks one complete reply at a time and
 * frees it when the callback returns; no caller keeps a reply (or a
 * pointer into it) past its callback. So the arena starts over whenever
 * the reader begins the next reply, and freeing a reply does nothing.
 * The arena must outlive every parse on the contexts it is attached to:
 * its owner frees the context first. */
typedef struct _SluiceRedisReplyArena SluiceRedisReplyArena;

SluiceRedisReplyArena *sluice_redis_reply_arena_new (void);
void sluice_redis_reply_arena_free (SluiceRedisReplyArena *self);

/* Makes @ac build its replies in @self. */
void sluice_redis_reply_arena_attach (SluiceRedisReplyArena *self,
                                      redisAsyncContext     *ac);

G_END_DECLS
