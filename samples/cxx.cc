// cxx.cc -- C++ allocation: new/delete, new[]/delete[], aligned new,
// std::vector growth, a class owning a buffer.
//
// libstdc++ (GCC 12) allocates its 72704-byte exception emergency pool
// before main, so absolute Mem usage values include it; increments do not.
// Tests compare Mem usage with the Mem usage of L:new_int, which is
// base + 4.
//
//   function main
//     L:new_int     Increment        4  Occurrences 1   (new int)
//     L:del_int     Increment       -4  Occurrences 1
//     L:new_arr     Increment     4000  Occurrences 1   (new int[1000])
//     L:del_arr     Increment    -4000  Occurrences 1
//     L:new_al      Increment      128  Occurrences 1   (alignas(64) struct)
//     L:del_al      Increment     -128  Occurrences 1
//     L:call_vec    Increment        0  Occurrences 1   Mem usage base + 6144
//     L:new_buf     Increment  1048592  Occurrences 1   (16-byte Buf + 1 MiB)
//     L:del_buf     Increment -1048592  Occurrences 1
//   function vector_demo
//     L:push        Increment     4096  Occurrences 1000
//                   libstdc++ doubles the capacity: 1, 2, 4, ..., 1024 ints;
//                   each growth allocates the new array before freeing the
//                   old one, so the high-water is 2048 + 4096 bytes:
//                   Mem usage base + 6144
//     L:vec_end     Increment    -4096  Occurrences 1  Mem usage base + 4096
//                   (the vector's destructor runs at the closing brace)
//   function sized (called 3 times from main, L:call_sized)
//     L:tmp         Increment        0  Occurrences 3   (a vector of 64 + i
//                   bytes, freed by its destructor at L:sized_end)
//     L:sized_ret   Occurrences 3
//     L:sized_ret2  Occurrences 3   g++ -O0 splits the return statement
//     L:sized_end   Occurrences 3   around the destructor: code of this
//                   line, the destructor (the closing brace's line), this
//                   line again, a jump to the epilogue (the closing
//                   brace's again); each is one entry per call
//   function Buf::Buf / Buf::~Buf
//     L:buf_new     Increment  1048576  Occurrences 1
//     L:buf_del     Increment -1048576  Occurrences 1
//
// Summary: peak = base + 1048592 (equal to Massif's); nothing of main's
// is leaked.
#include <cstddef>
#include <vector>

struct Buf {
    char *data;
    std::size_t n;
    explicit Buf(std::size_t size)
        : data(new char[size]), n(size) {}     // L:buf_new
    ~Buf() {
        delete[] data;                         // L:buf_del
    }
};

struct alignas(64) Aligned {
    char bytes[128];
};

static void vector_demo(std::size_t *size)
{
    std::vector<int> v;
    for (int i = 0; i < 1000; i++)
        v.push_back(i);                        // L:push
    *size = v.size();
}                                              // L:vec_end

static std::size_t plus(std::size_t a, std::size_t b)
{
    return a + b;
}

static std::size_t sized(int i)
{
    std::vector<char> tmp(64 + i);             // L:tmp
    return plus(tmp.size(),                    // L:sized_ret
                static_cast<std::size_t>(i));  // L:sized_ret2
}                                              // L:sized_end

int main()
{
    int *one = new int(42);                    // L:new_int
    delete one;                                // L:del_int
    int *arr = new int[1000];                  // L:new_arr
    arr[999] = 1;
    delete[] arr;                              // L:del_arr
    Aligned *al = new Aligned;                 // L:new_al
    al->bytes[0] = 1;
    delete al;                                 // L:del_al
    std::size_t n = 0;
    vector_demo(&n);                           // L:call_vec
    std::size_t total = 0;
    for (int i = 0; i < 3; i++)
        total += sized(i);                     // L:call_sized
    Buf *b = new Buf(1 << 20);                 // L:new_buf
    b->data[0] = 1;
    delete b;                                  // L:del_buf
    return n == 1000 && total == 64 * 3 + 6 ? 0 : 1;
}
