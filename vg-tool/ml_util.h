/* ml_util.h -- small containers for the memline tool: an open-addressing
   hash map from a machine word to two words, used for the stack trie, the
   location cache, live blocks and line slots.  No libc: VG_() only. */
#ifndef ML_UTIL_H
#define ML_UTIL_H

#include "pub_tool_basics.h"

/* Key ML_MAP_EMPTY is reserved (never a valid key). */
#define ML_MAP_EMPTY (~(UWord)0)

typedef struct {
   UWord key;
   UWord v1;
   UWord v2;
} MlMapEnt;

typedef struct {
   MlMapEnt *ents;   /* capacity entries, ML_MAP_EMPTY keys are free */
   UWord     mask;   /* capacity - 1, capacity a power of two */
   UWord     used;   /* invariant: used <= capacity / 2 (short probes) */
   const HChar *cc;  /* cost centre for VG_(malloc) */
} MlMap;

void      ml_map_init(MlMap *m, const HChar *cc, UWord initial_pow2);
/* Returns the entry for key or NULL. */
MlMapEnt *ml_map_find(const MlMap *m, UWord key);
/* Returns the entry for key, inserting it (v1 = v2 = 0) if absent;
   *is_new says which.  The pointer is valid until the next insert. */
MlMapEnt *ml_map_insert(MlMap *m, UWord key, Bool *is_new);
/* Removes key if present; returns True if it was there (its values
   copied to *out when out is not NULL). */
Bool      ml_map_remove(MlMap *m, UWord key, MlMapEnt *out);
/* Removes the entry e that ml_map_find or ml_map_insert returned (no map
   change since), without looking its key up again. */
void      ml_map_remove_at(MlMap *m, MlMapEnt *e);
void      ml_map_clear(MlMap *m);
/* Interning by content: a value is kept under a hash of its content, and
   values whose hashes collide under the next keys (hash + 1, ...).
   Returns the entry whose v1 `same` accepts; else, with create, a new
   entry (v1 = v2 = 0, *is_new True) for the caller to fill, and without
   it NULL.  The pointer is valid until the next insert. */
MlMapEnt *ml_map_intern(MlMap *m, UWord hash,
                        Bool (*same)(UWord v1, const void *arg),
                        const void *arg, Bool create, Bool *is_new);

/* Statistics over all maps, printed with -v -v: inserts, and the extra
   probes they needed. */
extern ULong ml_map_calls, ml_map_probes;

static inline UWord ml_hash_word(UWord x)
{
   x ^= x >> 33;
   x *= 0xff51afd7ed558ccdULL;
   x ^= x >> 33;
   x *= 0xc4ceb9fe1a85ec53ULL;
   x ^= x >> 33;
   return x;
}

/* FNV-1a 64 over a byte range (same function the analyzer uses). */
static inline ULong ml_fnv1a(const UChar *p, SizeT n, ULong h)
{
   for (SizeT i = 0; i < n; i++) {
      h ^= p[i];
      h *= 0x100000001b3ULL;
   }
   return h;
}
#define ML_FNV_BASIS 0xcbf29ce484222325ULL

#endif
