// sparsim's completion driver for Ramulator 2 (our code; Ramulator itself is not in this repo).
//
// Why: Ramulator's stock LoadStoreTrace frontend stops when the last request is *accepted* and
// replays its trace in a loop, so its cycle count is not "the time this trace takes". This driver
// issues a trace once and ticks until every request has completed.
//
// Trace (text, one request per line, from `python -m tools.ramulator.goldens`):
//     arrive R|W addr ch ra bg ba ro co
// The address vector is given decoded (Ramulator runs with its PassThrough address and channel
// mappers), so both simulators see the same channel/rank-or-pseudo-channel/bank group/bank/row of
// every request whatever map produced it. Each channel has its own FIFO: its head enters that
// channel's controller once it has arrived and the controller accepts it (a full read or write
// buffer holds that channel's later requests back, not other channels').
//
// Output: "cycles N", "requests N", "wall_s S", then Ramulator's own statistics (YAML).
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ramulator/base/config.h"
#include "ramulator/base/factory.h"
#include "ramulator/base/request.h"
#include "ramulator/frontend/i_frontend.h"
#include "ramulator/memory_system/i_memory_system.h"

using namespace Ramulator;

struct Item {
  long arrive;
  int type;
  long addr;
  AddrVec_t vec;
};

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: driver CONFIG.yaml TRACE.txt BYTES_PER_REQUEST\n";
    return 2;
  }
  ConfigNode cfg = Config::parse_config_file(argv[1]);
  int size_bytes = std::stoi(argv[3]);
  std::unique_ptr<IFrontEnd> fe(Factory::create_frontend(cfg));
  std::unique_ptr<IMemorySystem> mem(Factory::create_memory_system(cfg));
  fe->connect_memory_system(mem.get());
  mem->connect_frontend(fe.get());

  std::ifstream in(argv[2]);
  std::vector<std::deque<Item>> fifo;
  std::string line;
  long total = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    Item it;
    char kind;
    long f[6];
    ss >> it.arrive >> kind >> it.addr >> f[0] >> f[1] >> f[2] >> f[3] >> f[4] >> f[5];
    if (!ss) {
      std::cerr << "bad trace line: " << line << "\n";
      return 2;
    }
    it.type = kind == 'W' ? Request::Type::Write : Request::Type::Read;
    it.vec.assign(f, f + 6);
    if ((long)fifo.size() <= f[0]) fifo.resize(f[0] + 1);
    fifo[f[0]].push_back(it);
    total++;
  }

  long completed = 0;
  long clk = 0;
  long last = 0;
  auto on_done = [&](Request&) {
    completed++;
    last = clk + 1;  // the controller's clock is one ahead of the loop's within tick()
  };
  auto t0 = std::chrono::steady_clock::now();
  while (completed < total) {
    for (auto& q : fifo) {
      while (!q.empty() && q.front().arrive <= clk) {
        Item& it = q.front();
        Request req(it.addr, it.type, 0, on_done);
        req.addr_vec = it.vec;
        req.size_bytes = size_bytes;
        if (!mem->send(req)) break;
        q.pop_front();
      }
    }
    mem->tick();
    clk++;
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  mem->finalize();
  mem->update_stats_recursive();
  std::printf("cycles %ld\nrequests %ld\nwall_s %.6f\n", last, total, wall);
  std::ostringstream st;
  mem->print_stats(st);
  std::cout << st.str();
  return 0;
}
