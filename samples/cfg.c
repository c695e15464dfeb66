/* cfg.c -- control flow whose line entries (Occurrences) depend on how
   the code is cut into superblocks.

   A list built with continue and break in nested for loops, a function
   that leaves through goto, words counted in a for without a test of its
   own, a do-while with continue, and the list freed by a while loop
   whose body ends with a call: its test is reached both by the jump into
   the loop and by the return from free().  The end-to-end test
   occurrences_match_gcov compares every line's Occurrences with gcov's
   count of it, with VEX chasing jumps and without (where every such way
   into a line crosses superblocks), e.g.
     L:while_free   Occurrences 130   (129 nodes freed, and the last test)
     L:push_fail    never executed
     L:label        Occurrences 4     (a label right after a call on its
                    line: the call's return and three gotos back to it)
   Heap: 129 blocks of 16 bytes, all freed; then 4 of 8, freed. */
#include <stdlib.h>

struct node { int v; struct node *next; };

static struct node *push(struct node *h, int v)
{
    struct node *n = malloc(sizeof *n);
    if (!n)
        goto fail;
    n->v = v;
    n->next = h;
    return n;
fail:
    return h;                                  /* L:push_fail */
}

static volatile int ticks;
static void tick(void) { ticks++; }
static void *eight(void) { return malloc(8); }

static int count_words(const char *s)
{
    int n = 0, in = 0;
    for (; *s; s++) {
        if (*s == ' ') { in = 0; continue; }
        if (!in) n++;
        in = 1;
    }
    return n;
}

int main(void)
{
    struct node *h = NULL;
    for (int i = 0; i < 50; i++) {
        if (i % 3 == 0)
            continue;
        for (int j = 0; j < 10; j++) {
            if (j > i % 7)
                break;
            h = push(h, i * j);
        }
    }
    int k = 0, words = 0;
    do {
        k++;
        if (k % 2) continue;
        words += count_words("the quick  brown fox jumps");
    } while (k < 20);
    long s = 0;
    while (h) {                                /* L:while_free */
        struct node *n = h;
        h = h->next;
        s += n->v;
        free(n);
    }
    int g = 0;
    void *b[4];
    tick(); again: b[g] = eight();             /* L:label */
    if (++g < 4)
        goto again;
    for (g = 0; g < 4; g++)
        free(b[g]);
    return s == -1 || words != 50 || ticks != 1;
}
