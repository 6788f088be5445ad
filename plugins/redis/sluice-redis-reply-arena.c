/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-redis-reply-arena.h"

#include <string.h>

/* Memory kept between replies; a larger reply gets more while it lives,
 * given back when the next one starts. */
#define CHUNK_SIZE (64 * 1024)
#define ALIGNMENT 16

typedef struct _Chunk Chunk;
struct _Chunk
{
  Chunk *next;
  gsize  size;
  gsize  used;
  char   data[];
};

struct _SluiceRedisReplyArena
{
  Chunk *first;   /* always there, CHUNK_SIZE */
  Chunk *current; /* where allocations go */
};

static Chunk *
chunk_new (gsize size)
{
  Chunk *chunk = g_malloc (sizeof (Chunk) + size);

  chunk->next = NULL;
  chunk->size = size;
  chunk->used = 0;
  return chunk;
}

static void
arena_reset (SluiceRedisReplyArena *self)
{
  Chunk *extra = self->first->next;

  while (extra != NULL)
    {
      Chunk *next = extra->next;

      g_free (extra);
      extra = next;
    }
  self->first->next = NULL;
  self->first->used = 0;
  self->current = self->first;
}

static gpointer
arena_alloc (SluiceRedisReplyArena *self, gsize size)
{
  Chunk *chunk = self->current;
  gpointer memory;

  size = (size + ALIGNMENT - 1) & ~(gsize) (ALIGNMENT - 1);
  if (chunk->size - chunk->used < size)
    {
      chunk = chunk_new (MAX (size, CHUNK_SIZE));
      self->current->next = chunk;
      self->current = chunk;
    }
  memory = chunk->data + chunk->used;
  chunk->used += size;
  return memory;
}

SluiceRedisReplyArena *
sluice_redis_reply_arena_new (void)
{
  SluiceRedisReplyArena *self = g_new0 (SluiceRedisReplyArena, 1);

  self->first = chunk_new (CHUNK_SIZE);
  self->current = self->first;
  return self;
}

void
sluice_redis_reply_arena_free (SluiceRedisReplyArena *self)
{
  if (self == NULL)
    return;
  arena_reset (self);
  g_free (self->first);
  g_free (self);
}

/* One object of the reply being read; the first of a reply (it has no
 * parent) means the previous reply is gone. */
static redisReply *
reply_new (const redisReadTask *task)
{
  SluiceRedisReplyArena *self = task->privdata;
  redisReply *reply;

  if (task->parent == NULL)
    arena_reset (self);
  reply = arena_alloc (self, sizeof (redisReply));
  memset (reply, 0, sizeof *reply);
  reply->type = task->type;
  if (task->parent != NULL)
    {
      redisReply *parent = task->parent->obj;

      g_assert (parent->type == REDIS_REPLY_ARRAY);
      parent->element[task->idx] = reply;
    }
  return reply;
}

static void *
create_string (const redisReadTask *task, char *text, size_t length)
{
  redisReply *reply = reply_new (task);

  reply->str = arena_alloc (task->privdata, length + 1);
  memcpy (reply->str, text, length);
  reply->str[length] = '\0';
  reply->len = (int) length;
  return reply;
}

static void *
create_array (const redisReadTask *task, int elements)
{
  redisReply *reply = reply_new (task);

  if (elements > 0)
    {
      reply->element = arena_alloc (task->privdata, (gsize) elements * sizeof (redisReply *));
      memset (reply->element, 0, (gsize) elements * sizeof (redisReply *));
    }
  reply->elements = (size_t) MAX (elements, 0);
  return reply;
}

static void *
create_integer (const redisReadTask *task, long long value)
{
  redisReply *reply = reply_new (task);

  reply->integer = value;
  return reply;
}

static void *
create_nil (const redisReadTask *task)
{
  redisReply *reply = reply_new (task);

  /* The task says what was announced ('$' or '*'); a nil is a nil. */
  reply->type = REDIS_REPLY_NIL;
  return reply;
}

static void
free_object (void *reply)
{
  /* The next reply reuses the memory. */
}

static redisReplyObjectFunctions arena_functions = {
  create_string, create_array, create_integer, create_nil, free_object,
};

void
sluice_redis_reply_arena_attach (SluiceRedisReplyArena *self, redisAsyncContext *ac)
{
  ac->c.reader->fn = &arena_functions;
  ac->c.reader->privdata = self;
}
