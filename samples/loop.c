/* loop.c -- line entry counts (Occurrences) in loops, exactly.

   An entry is counted each time execution enters a line: from another
   line, from a call, or by jumping back to the start of a loop body.
   Returning from a callee to the line that called it is NOT an entry.
   gcc -O0 puts "i = 0", the test and "i++" of a for statement on the
   for's line, so a for line with its body on other lines is entered
   once, then once per iteration (i++ after the body): N + 1.  A loop
   written on one line is entered once, then once per backward jump into
   the body: also N + 1.

     L:oneline      Occurrences 1001   Increment 0     (1000 iterations)
     L:for          Occurrences 11     Increment 0     (10 iterations)
     L:alloc        Occurrences 10     Increment 1000  (10 x malloc(100))
                    Mem usage 600  (iteration 9: 5 kept + the new block)
     L:zero         Occurrences 10     Increment 0     (a 512-byte struct
                    zeroed: at -O0 one `rep stos`, whose 64 repetitions
                    are one entry of the line, not 64)
     L:odd          Occurrences 10     Increment 0
     L:free         Occurrences 5      Increment -500  (odd iterations)
                    Mem usage 600
     L:keep         Occurrences 5      Increment 0     (even iterations)
     L:free_kept    Occurrences 6      Increment -500  (one-line loop, 5
                    iterations, each calling free)
     L:skip         Occurrences 40     (a one-line while inside for (;;):
                    10 rounds, 4 entries each -- the entry and 3 back
                    jumps of its loop; gcc puts the for (;;)'s jump back
                    to the test on this line, a lone jump that is no
                    iteration of its own, as gcov counts too)

     L:multi        Occurrences 10     (a call whose arguments are on the
     L:multi2       Occurrences 10      next lines: gcc computes the last
     L:multi3       Occurrences 10      arguments first, then comes back to
                    the call's line, in one straight run: each line is
                    entered once per iteration; gcov counts L:multi twice,
                    before and after the arguments' lines)
   Summary: peak 600 B, 10 allocations, 10 frees, nothing leaked. */
#include <stdlib.h>

struct zeroed { long v[64]; };
static long mix(long a, long b, long c) { return a + b * c; }

int main(void)
{
    volatile long sum = 0;
    char *keep[5];
    int i;

    for (i = 0; i < 1000; i++) sum += i;      /* L:oneline */

    for (i = 0; i < 10; i++) {                /* L:for */
        char *p = malloc(100);                /* L:alloc */
        struct zeroed z = {0};                /* L:zero */
        sum += z.v[i];
        sum += mix(i,                         /* L:multi */
                   i * 2,                     /* L:multi2 */
                   i + 3);                    /* L:multi3 */
        if (i % 2 == 1)                       /* L:odd */
            free(p);                          /* L:free */
        else
            keep[i / 2] = p;                  /* L:keep */
    }

    for (i = 0; i < 5; i++) free(keep[i]);    /* L:free_kept */

    int j = 0, rounds = 0;
    long acc = 0;
    for (;;) {
        while (j % 4 != 3) j++;               /* L:skip */
        switch (j % 8) {
        case 3: acc += j; break;
        default: acc -= 1; break;
        }
        if (++rounds == 10)
            break;
        j++;
    }
    return sum == 499500 + 2 * 285 + 7 * 45 && acc != 12345 ? 0 : 1;
}
