/* compute.c -- instruction-heavy workload for scripts/bench.sh: few
   allocations, many loads and stores (a quicksort of 2 M ints and a
   200 x 200 matrix product), so the benchmark shows what memline's line
   counters and page checks cost when the heap is quiet.  Deterministic;
   about 0.4 s natively at -O0.  Not used by the tests. */
#include <stdio.h>
#include <stdlib.h>

#define N   2000000
#define DIM 200

static int cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static double m[DIM][DIM], r[DIM][DIM];

int main(void)
{
    int *a = malloc(N * sizeof *a);
    unsigned s = 1;
    for (int i = 0; i < N; i++) {
        s = s * 1103515245u + 12345u;
        a[i] = (int)(s >> 8);
    }
    qsort(a, N, sizeof *a, cmp);
    for (int i = 0; i < DIM; i++)
        for (int j = 0; j < DIM; j++)
            m[i][j] = i + j;
    for (int i = 0; i < DIM; i++)
        for (int j = 0; j < DIM; j++)
            for (int k = 0; k < DIM; k++)
                r[i][j] += m[i][k] * m[k][j];
    printf("%d %.1f\n", a[N / 2], r[10][10]);
    free(a);
    return 0;
}
