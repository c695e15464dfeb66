/* leak.c -- three blocks still live at exit, of known sizes.

   One block is lost (its only pointer overwritten), one is still
   reachable through a global, one through a local of main; memline's
   "Leaked at exit" counts every block live at exit, like Massif's last
   snapshot.  A 50000-byte temporary is freed in between.

     L:lost      Increment  1000  Occurrences 1
     L:global    Increment  2000  Occurrences 1
     L:temp      Increment 50000  Occurrences 1   Mem usage 53000
     L:temp_free Increment -50000 Occurrences 1
     L:local     Increment  3000  Occurrences 1

   Summary: peak 53000 B (equal to Massif's), 4 allocations, 1 free,
   "Leaked at exit" 6000 B in 3 blocks. */
#include <stdlib.h>
#include <string.h>

static char *still_reachable;

int main(void)
{
    char *lost = malloc(1000);                /* L:lost */
    memset(lost, 1, 1000);
    lost = NULL;
    still_reachable = malloc(2000);           /* L:global */
    char *temp = malloc(50000);               /* L:temp */
    memset(temp, 2, 50000);
    free(temp);                               /* L:temp_free */
    char *local = malloc(3000);               /* L:local */
    local[0] = 3;
    return lost == NULL ? 0 : 1;
}
