/* hash.c -- FNV-1a 64, the per-process hash seed and the ml_idx
   open-addressing index (linear probing, insert-only, grows at 1/2 load). */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "err.h"
#include "hash.h"

uint64_t ml_fnv1a64(const void *p, size_t n, uint64_t h)
{
   const unsigned char *b = p;
   for (size_t i = 0; i < n; i++) {
      h ^= b[i];
      h *= ML_FNV1A64_PRIME;
   }
   return h;
}

uint64_t ml_seed = 0x9e3779b97f4a7c15ULL;   /* replaced before main */

__attribute__((constructor)) static void seed_init(void)
{
   uint64_t s = 0;
   if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s)
      s = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&s;
   ml_seed = s | 1;
}

uint64_t ml_hash_seed(void)
{
   return ml_seed;
}

uint64_t ml_hash_bytes(const void *p, size_t n)
{
   /* FNV-1a over the bytes, then the seeded mixer: FNV alone is not
      seeded, the mixer makes the probe positions unpredictable. */
   uint64_t h = ml_fnv1a64(p, n, ML_FNV1A64_INIT ^ ml_seed);
   return ml_mix64(h ^ n);
}

/* Slot position: only the high 32 bits of the hash are stored (for
   rehashing on growth), so every table derives positions from them. */
static size_t pos_of(uint32_t h, size_t mask)
{
   return ((size_t)h * 0x9e3779b1u) & mask;
}

uint32_t ml_idx_find(const ml_idx *ix, uint64_t hash, const void *key,
                     ml_idx_eq eq, const void *ctx)
{
   if (!ix->slot)
      return 0;
   uint32_t h = (uint32_t)(hash >> 32);
   for (size_t i = pos_of(h, ix->mask);; i = (i + 1) & ix->mask) {
      const ml_idx_slot *s = &ix->slot[i];
      if (s->v == 0)
         return 0;
      if (s->h == h && eq(ctx, s->v, key))
         return s->v;
   }
}

static int grow(ml_idx *ix)
{
   size_t ncap = ix->slot ? (ix->mask + 1) * 2 : 64;
   ml_idx_slot *ns = calloc(ncap, sizeof *ns);
   if (!ns)
      return ML_ENOMEM;
   size_t nmask = ncap - 1;
   if (ix->slot) {
      for (size_t i = 0; i <= ix->mask; i++) {
         ml_idx_slot s = ix->slot[i];
         if (s.v == 0)
            continue;
         size_t j = pos_of(s.h, nmask);
         while (ns[j].v)
            j = (j + 1) & nmask;
         ns[j] = s;
      }
      free(ix->slot);
   }
   ix->slot = ns;
   ix->mask = nmask;
   return 0;
}

int ml_idx_insert(ml_idx *ix, uint64_t hash, uint32_t value)
{
   if (!ix->slot || (ix->count + 1) * 2 > ix->mask + 1) {
      int rc = grow(ix);
      if (rc)
         return rc;
   }
   uint32_t h = (uint32_t)(hash >> 32);
   size_t i = pos_of(h, ix->mask);
   while (ix->slot[i].v)
      i = (i + 1) & ix->mask;
   ix->slot[i].h = h;
   ix->slot[i].v = value;
   ix->count++;
   return 0;
}

void ml_idx_fini(ml_idx *ix)
{
   free(ix->slot);
   memset(ix, 0, sizeof *ix);
}
