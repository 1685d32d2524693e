// heavy.cc — a small C++ file that keeps cc1plus busy for about a second at -O2
// (templates unrolled into many inlined calls); compiled by gxx.sh under record.
#include <array>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

template <std::size_t N> struct unroll {
    template <class F> static void run(F &f) { unroll<N - 1>::run(f); f(N); }
};
template <> struct unroll<0> { template <class F> static void run(F &) {} };

template <int K> struct work {
    static std::size_t go(std::vector<std::string> &v, std::map<std::string, int> &m)
    {
        std::size_t s = 0;
        auto f = [&](std::size_t i) {
            v.push_back(std::to_string(i * K));
            m[v.back()] += K;
            s += v.back().size();
        };
        unroll<20>::run(f);
        return s + work<K - 1>::go(v, m);
    }
};
template <> struct work<0> {
    static std::size_t go(std::vector<std::string> &, std::map<std::string, int> &) { return 0; }
};

std::size_t heavy()
{
    std::vector<std::string> v;
    std::map<std::string, int> m;
    return work<12>::go(v, m);
}
