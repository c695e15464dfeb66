// containers.cc -- C++ container workload for scripts/bench.sh: the
// standard library's own allocation patterns (node containers, hash
// buckets, geometric vector growth, short and long strings) under
// operator new/delete, at -O0 as a debug build of a C++ program runs.
//
// usage: containers [SCALE]   SCALE (default 1.0) multiplies the element
//                              counts of every phase (at least 1 each).
//
// Deterministic (a fixed linear congruential generator), no stdio, so two
// runs make the same allocations in the same order.  At SCALE 1, 4 rounds
// of:
//
//   vector     std::vector<int> grown by push_back to 200,000 elements
//              (capacity doubling: 19 allocations), and a
//              std::vector<std::string> of 20,000 strings of 20..83
//              characters (past the 15-character small-string buffer, so
//              one allocation each) grown without reserve;
//   map        std::map<unsigned, std::string>: 40,000 inserts of random
//              keys (one node each, plus the string's buffer when it is
//              longer than 15 characters), every other key erased, 40,000
//              lookups, then cleared;
//   unordered  std::unordered_map<std::string, unsigned>: 40,000 inserts
//              of random keys "key-N-entry" made by concatenation (16 or
//              more characters: a buffer each, a node each, bucket arrays
//              rehashed as it grows), 13,334 erases of random keys,
//              cleared;
//   strings    10,000 std::string built by 12 appends of 1..16 characters
//              and 6 concatenations a + b (temporaries), kept in a
//              std::vector, then dropped.
//
// 1,288,040 allocations in all (heaptrack's count, libstdc++'s 72704-byte
// emergency pool allocated before main included) and as many frees;
// nothing of main's is leaked.  Natively about 1 s at -O0 on a 2-CPU
// virtual machine.
#include <cstdlib>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

static unsigned long long rng_state = 0x2545f4914f6cdd1dull;

static unsigned rnd()
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<unsigned>(rng_state >> 33);
}

static std::string text(std::size_t len)
{
    std::string s(len, 'a');
    for (std::size_t i = 0; i < len; i += 7)
        s[i] = static_cast<char>('a' + rnd() % 26);
    return s;
}

static unsigned long vectors(long n_ints, long n_strings)
{
    std::vector<int> v;
    for (long i = 0; i < n_ints; i++)
        v.push_back(static_cast<int>(i));
    std::vector<std::string> names;
    for (long i = 0; i < n_strings; i++)
        names.push_back(text(20 + rnd() % 64));
    return v[v.size() / 2] + names.back().size();
}

static unsigned long maps(long n)
{
    std::map<unsigned, std::string> m;
    unsigned long check = 0;
    std::vector<unsigned> keys;
    keys.reserve(n);
    for (long i = 0; i < n; i++) {
        unsigned k = rnd();
        keys.push_back(k);
        m[k] = text(4 + rnd() % 40);
    }
    for (long i = 0; i < n; i += 2)
        m.erase(keys[i]);
    for (long i = 0; i < n; i++) {
        auto it = m.find(keys[rnd() % n]);
        if (it != m.end())
            check += it->second.size();
    }
    m.clear();
    return check;
}

static unsigned long unordered(long n)
{
    std::unordered_map<std::string, unsigned> h;
    unsigned long check = 0;
    for (long i = 0; i < n; i++)
        h["key-" + std::to_string(rnd() % (4 * n)) + "-entry"] =
            static_cast<unsigned>(i);
    for (long i = 0; i < n; i += 3)
        h.erase("key-" + std::to_string(rnd() % (4 * n)) + "-entry");
    check += h.size() + h.bucket_count();
    h.clear();
    return check;
}

static unsigned long strings(long n)
{
    std::vector<std::string> kept;
    unsigned long check = 0;
    for (long i = 0; i < n; i++) {
        std::string s;
        for (int j = 0; j < 12; j++)
            s += text(1 + rnd() % 16);
        std::string t = s;
        for (int j = 0; j < 6; j++)
            t = t + s.substr(j, 8 + j) + text(3);
        kept.push_back(t);
    }
    for (const std::string &s : kept)
        check += static_cast<unsigned char>(s[s.size() / 2]);
    return check;
}

static long scaled(long n, double scale)
{
    long m = static_cast<long>(n * scale);
    return m > 0 ? m : 1;
}

int main(int argc, char **argv)
{
    double scale = argc > 1 ? std::atof(argv[1]) : 1.0;
    unsigned long check = 0;

    if (scale <= 0)
        return 2;
    for (int round = 0; round < 4; round++) {
        check += vectors(scaled(200000, scale), scaled(20000, scale));
        check += maps(scaled(40000, scale));
        check += unordered(scaled(40000, scale));
        check += strings(scaled(10000, scale));
    }
    return check == 0 ? 1 : 0;
}
