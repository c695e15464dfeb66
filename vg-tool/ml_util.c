/* ml_util.c -- the open-addressing word map of ml_util.h (linear probing,
   backward-shift deletion, so there are no tombstones and lookups of live
   blocks stay short under heavy malloc/free churn). */
#include "pub_tool_basics.h"
#include "pub_tool_libcbase.h"
#include "pub_tool_libcassert.h"
#include "pub_tool_mallocfree.h"
#include "ml_util.h"

static void alloc_ents(MlMap *m, UWord cap)
{
   m->ents = VG_(malloc)(m->cc, cap * sizeof(MlMapEnt));
   for (UWord i = 0; i < cap; i++)
      m->ents[i].key = ML_MAP_EMPTY;
   m->mask = cap - 1;
   m->used = 0;
}

void ml_map_init(MlMap *m, const HChar *cc, UWord initial_pow2)
{
   m->cc = cc;
   alloc_ents(m, (UWord)1 << initial_pow2);
}

void ml_map_clear(MlMap *m)
{
   for (UWord i = 0; i <= m->mask; i++)
      m->ents[i].key = ML_MAP_EMPTY;
   m->used = 0;
}

MlMapEnt *ml_map_find(const MlMap *m, UWord key)
{
   UWord i = ml_hash_word(key) & m->mask;
   for (;;) {
      MlMapEnt *e = &m->ents[i];
      if (e->key == key)
         return e;
      if (e->key == ML_MAP_EMPTY)
         return NULL;
      i = (i + 1) & m->mask;
   }
}

static void grow(MlMap *m)
{
   MlMapEnt *old = m->ents;
   UWord oldcap = m->mask + 1;
   alloc_ents(m, oldcap * 2);
   for (UWord i = 0; i < oldcap; i++) {
      if (old[i].key == ML_MAP_EMPTY)
         continue;
      UWord j = ml_hash_word(old[i].key) & m->mask;
      while (m->ents[j].key != ML_MAP_EMPTY)
         j = (j + 1) & m->mask;
      m->ents[j] = old[i];
      m->used++;
   }
   VG_(free)(old);
}

ULong ml_map_calls, ml_map_probes;

MlMapEnt *ml_map_insert(MlMap *m, UWord key, Bool *is_new)
{
   ml_map_calls++;
   tl_assert(key != ML_MAP_EMPTY);
   if ((m->used + 1) * 2 > m->mask + 1)
      grow(m);
   UWord i = ml_hash_word(key) & m->mask;
   for (;;) {
      MlMapEnt *e = &m->ents[i];
      if (e->key == key) {
         *is_new = False;
         return e;
      }
      if (e->key == ML_MAP_EMPTY) {
         e->key = key;
         e->v1 = e->v2 = 0;
         m->used++;
         *is_new = True;
         return e;
      }
      ml_map_probes++;
      i = (i + 1) & m->mask;
   }
}

Bool ml_map_remove(MlMap *m, UWord key, MlMapEnt *out)
{
   MlMapEnt *e = ml_map_find(m, key);
   if (!e)
      return False;
   if (out)
      *out = *e;
   ml_map_remove_at(m, e);
   return True;
}

MlMapEnt *ml_map_intern(MlMap *m, UWord hash,
                        Bool (*same)(UWord v1, const void *arg),
                        const void *arg, Bool create, Bool *is_new)
{
   for (UWord key = hash;; key++) {
      if (key == ML_MAP_EMPTY)
         key = 0;
      MlMapEnt *e;
      if (create) {
         e = ml_map_insert(m, key, is_new);
         if (*is_new)
            return e;
      } else {
         *is_new = False;
         if (!(e = ml_map_find(m, key)))
            return NULL;
      }
      if (same(e->v1, arg))
         return e;
   }
}

void ml_map_remove_at(MlMap *m, MlMapEnt *e)
{
   /* Backward-shift: pull later entries of the probe run into the hole. */
   UWord hole = (UWord)(e - m->ents), j = hole;
   for (;;) {
      j = (j + 1) & m->mask;
      MlMapEnt *n = &m->ents[j];
      if (n->key == ML_MAP_EMPTY)
         break;
      UWord home = ml_hash_word(n->key) & m->mask;
      /* n may move to hole iff home is not in (hole, j] cyclically. */
      Bool in_range = hole <= j ? (home > hole && home <= j)
                                : (home > hole || home <= j);
      if (!in_range) {
         m->ents[hole] = *n;
         hole = j;
      }
   }
   m->ents[hole].key = ML_MAP_EMPTY;
   m->used--;
}
