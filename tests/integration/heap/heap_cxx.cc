// heap_cxx.cc — C++ allocations (new/delete, std containers) under the heap
// profiler: proves operator new reaches the interposed malloc, and that the
// program's output is unchanged.
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct Node {
    long a, b, c, d; // 32 bytes
};

__attribute__((noinline)) static Node *make_nodes(int i)
{
    return new Node{i, i * 2L, i * 3L, i * 4L};
}

int main()
{
    std::vector<Node *> nodes;
    nodes.reserve(1000);
    for (int i = 0; i < 1000; i++)
        nodes.push_back(make_nodes(i));
    long sum = 0;
    for (int i = 0; i < 600; i++) {
        sum += nodes[i]->d;
        delete nodes[i];
    }
    std::map<std::string, std::vector<int>> m;
    for (int i = 0; i < 5000; i++) {
        std::string key = "key-" + std::to_string(i % 700) + std::string(i % 50, 'x');
        m[key].push_back(i);
    }
    for (const auto &kv : m)
        sum += (long)kv.first.size() * (long)kv.second.size();
    auto shared = std::make_shared<std::vector<double>>(10000, 1.5);
    for (double d : *shared)
        sum += (long)d;
    std::printf("sum %ld entries %zu kept %d\n", sum, m.size(), 400);
    return 0;
}
