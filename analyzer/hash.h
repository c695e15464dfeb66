/* hash.h -- hashing helpers used inside the analyzer: a seeded 64-bit
   mixer, FNV-1a 64 (the hash the trace's FILE records carry), and ml_idx,
   an open-addressing index from a 64-bit hash to small integer values
   whose keys the caller stores itself (string table, line table, ...).

   The seed is random per process so that a hostile trace cannot force
   every key into one probe chain (the analyzer must never hang). Output
   never depends on hash order: every list that is printed is sorted. */
#ifndef ML_HASH_H
#define ML_HASH_H

#include <stddef.h>
#include <stdint.h>

#define ML_FNV1A64_INIT  0xcbf29ce484222325ULL
#define ML_FNV1A64_PRIME 0x100000001b3ULL

/* FNV-1a 64 of n bytes at p, continuing from h (start with
   ML_FNV1A64_INIT).  Returns the new hash. */
uint64_t ml_fnv1a64(const void *p, size_t n, uint64_t h);

/* A per-process random seed, never 0, set before main by a constructor
   in hash.c (ml_hash_seed() returns it). */
extern uint64_t ml_seed;
uint64_t ml_hash_seed(void);

/* Seeded mix of one 64-bit word (a strong finalizer, splitmix64-style). */
static inline uint64_t ml_mix64(uint64_t x)
{
   x ^= ml_seed;
   x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
   x ^= x >> 27; x *= 0x94d049bb133111ebULL;
   x ^= x >> 31;
   return x;
}

/* Seeded hash of n bytes. */
uint64_t ml_hash_bytes(const void *p, size_t n);

/* ---- ml_idx: hash -> value (value >= 1; 0 means "absent") ----------
   The index stores values only; equality is decided by the caller's eq
   callback, which receives the candidate value and the caller's key.
   Load factor stays <= 1/2.  Embedded by value in the owning struct;
   a zeroed ml_idx is a valid empty index. */
typedef struct ml_idx_slot { uint32_t h; uint32_t v; } ml_idx_slot;
typedef struct ml_idx {
   ml_idx_slot *slot;   /* NULL until the first insert; size mask + 1 */
   size_t       mask;
   size_t       count;
} ml_idx;

typedef int (*ml_idx_eq)(const void *ctx, uint32_t value, const void *key);

/* Returns the value stored for key (hash must be the key's hash), or 0. */
uint32_t ml_idx_find(const ml_idx *ix, uint64_t hash, const void *key,
                     ml_idx_eq eq, const void *ctx);

/* Inserts value (>= 1) under hash; the caller has checked that the key is
   absent.  Returns 0, or ML_ENOMEM (the index is unchanged). */
int ml_idx_insert(ml_idx *ix, uint64_t hash, uint32_t value);

/* Frees the slots; the index is empty afterwards. */
void ml_idx_fini(ml_idx *ix);

#endif /* ML_HASH_H */
