// Crash recovery: a child process writes with WriteOptions.sync = true and reports each
// acknowledged batch through a pipe after DB::Write returned; the parent kills it with SIGKILL
// at a random moment (during open/recovery, writes, flushes or compactions), reopens the
// folder and checks that the DB holds exactly the batches 1..P for P = the last acknowledged
// batch or the one after it (the batch in flight may or may not have reached the disk), i.e.
// every acknowledged write is there with its value and no batch is half applied. The folder is
// reused across rounds, so recovery of recovered state is exercised too.
//
// The batches are a pure function of (seed, batch id), so the parent can rebuild any prefix.

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/test_util.h"
#include "zworld/engine/db.h"
#include "zworld/engine/env.h"
#include "zworld/engine/options.h"
#include "zworld/engine/write_batch.h"

namespace zworld::engine::test {
namespace {

using Model = std::map<std::string, std::string>;

constexpr uint64_t kKeySpace = 400;

// Child exit codes (anything else, or a signal other than SIGKILL, is a failure).
constexpr int kChildDone = 0;
constexpr int kChildOpenFailed = 2;
constexpr int kChildWriteFailed = 3;
constexpr int kChildPipeFailed = 4;

Options CrashOptions(uint64_t round) {
  Options o;
  o.env = Env::Default();
  // Tiny buffers so flushes and compactions are in flight when the kill comes; the sizes vary
  // by round so different file layouts are recovered.
  o.write_buffer_size = (4u << 10) << (round % 3);  // 4, 8 or 16 KiB
  o.target_file_size = 8 << 10;
  o.l0_compaction_trigger = 2;
  o.max_bytes_for_level_base = 32 << 10;
  o.level_size_multiplier = 4;
  o.block_size = 512;
  o.info_log = (round % 2) == 0;
  o.compression = (round % 4 == 3) ? Compression::kZstd : Compression::kNone;
  return o;
}

// The operations of batch id: 2-8 puts and deletes that all carry the batch's marker "b<id>".
struct Op {
  bool put;
  std::string key;
  std::string value;
};
std::vector<Op> BatchOps(uint64_t seed, uint64_t id) {
  Random r(seed * 0x9e3779b97f4a7c15ull + id);
  std::vector<Op> ops(r.Range(2, 8));
  for (Op& op : ops) {
    op.key = NumberKey(r.Uniform(kKeySpace), 5, "c");
    op.put = !r.OneIn(5);
    if (op.put)
      op.value =
          std::string("b") + std::to_string(id) + ":" + op.key + ":" + r.Printable(r.Range(8, 400));
  }
  return ops;
}

void ApplyBatch(uint64_t seed, uint64_t id, Model* m) {
  for (const Op& op : BatchOps(seed, id)) {
    if (op.put) {
      (*m)[op.key] = op.value;
    } else {
      m->erase(op.key);
    }
  }
}

// The child: open, write batches first_id, first_id+1, ... with sync, report each id after
// its Write returned OK. Never returns.
[[noreturn]] void ChildMain(const std::string& path, const Options& options, uint64_t seed,
                            uint64_t first_id, uint64_t max_batches, int ack_fd) {
  std::unique_ptr<DB> db;
  Status s = DB::Open(options, path, &db);
  if (!s.ok()) {
    std::fprintf(stderr, "crash child: Open: %s\n", s.ToString().c_str());
    _exit(kChildOpenFailed);
  }
  WriteOptions wo;
  wo.sync = true;
  for (uint64_t id = first_id; id < first_id + max_batches; ++id) {
    WriteBatch b;
    for (const Op& op : BatchOps(seed, id)) {
      if (op.put) {
        b.Put(op.key, op.value);
      } else {
        b.Delete(op.key);
      }
    }
    s = db->Write(wo, b);
    if (!s.ok()) {
      std::fprintf(stderr, "crash child: Write batch %llu: %s\n",
                   static_cast<unsigned long long>(id), s.ToString().c_str());
      _exit(kChildWriteFailed);
    }
    char buf[8];
    std::memcpy(buf, &id, 8);
    if (write(ack_fd, buf, 8) != 8) _exit(kChildPipeFailed);
  }
  db->Close();
  _exit(kChildDone);
}

// Reads whole 8-byte acks from fd into *acks; *partial keeps a trailing fragment. Returns
// false at end of file.
bool ReadAcks(int fd, std::string* partial, std::vector<uint64_t>* acks) {
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof(buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  partial->append(buf, static_cast<size_t>(n));
  size_t whole = partial->size() / 8 * 8;
  for (size_t i = 0; i < whole; i += 8) {
    uint64_t id;
    std::memcpy(&id, partial->data() + i, 8);
    acks->push_back(id);
  }
  partial->erase(0, whole);
  return true;
}

TEST(CrashTest, KillDuringSyncedWrites) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedTrace(seed));
  Random rnd(seed);
  TempDir tmp;
  const std::string path = tmp.Sub("db");

  const int rounds = 100;
  // The kill comes a random time after the child's first acknowledged write (opening costs
  // tens of milliseconds of fsyncs, a synced write a few). Under a sanitizer the child is
  // slower, so it writes fewer batches in the same time, but the number of rounds stays.
  const uint64_t max_delay_ms = UnderSanitizer() ? 80 : 100;
  const uint64_t max_batches = UnderSanitizer() ? 1500 : 4000;

  Model model;           // the state after batches 1..next_id-1
  uint64_t next_id = 1;  // the first batch not yet in the DB
  uint64_t total_acked = 0, in_flight_recovered = 0, killed = 0, finished = 0;
  int64_t dropped_total = 0;
  auto start_time = std::chrono::steady_clock::now();

  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(std::string("round ") + std::to_string(round) + std::string(" first batch ") +
                 std::to_string(next_id));
    const Options options = CrashOptions(static_cast<uint64_t>(round));
    int fds[2];
    ASSERT_EQ(pipe(fds), 0) << std::strerror(errno);
    std::fflush(nullptr);
    pid_t pid = fork();
    ASSERT_GE(pid, 0) << std::strerror(errno);
    if (pid == 0) {
      close(fds[0]);
      ChildMain(path, options, seed, next_id, max_batches, fds[1]);
    }
    close(fds[1]);

    // One round in eight kills early, while the child is still opening and recovering; the
    // others a random delay after the first acknowledged write.
    const bool early = rnd.OneIn(8);
    uint64_t delay_ms = early ? rnd.Uniform(60) : rnd.Range(0, max_delay_ms);
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(early ? delay_ms : 5000);  // 5 s: first ack
    std::vector<uint64_t> acks;
    std::string partial;
    bool eof = false;
    bool timed_from_ack = early;
    while (!eof) {
      auto now = std::chrono::steady_clock::now();
      if (!timed_from_ack && !acks.empty()) {
        timed_from_ack = true;
        deadline = now + std::chrono::milliseconds(delay_ms);
      }
      if (now >= deadline) break;
      int wait_ms = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1);
      pollfd p{fds[0], POLLIN, 0};
      int r = poll(&p, 1, wait_ms);
      if (r > 0) eof = !ReadAcks(fds[0], &partial, &acks);
    }
    kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    while (ReadAcks(fds[0], &partial, &acks)) {
    }
    close(fds[0]);
    if (WIFSIGNALED(status)) {
      ASSERT_EQ(WTERMSIG(status), SIGKILL) << "child died of signal " << WTERMSIG(status);
      ++killed;
    } else {
      ASSERT_TRUE(WIFEXITED(status));
      ASSERT_EQ(WEXITSTATUS(status), kChildDone)
          << "child failed (2: Open, 3: Write, 4: pipe); see its stderr above";
      ++finished;
    }

    // The acks are consecutive ids from next_id.
    for (size_t i = 0; i < acks.size(); ++i) ASSERT_EQ(acks[i], next_id + i);
    const uint64_t last_acked = next_id - 1 + acks.size();
    total_acked += acks.size();

    Model expect = model;
    for (uint64_t id = next_id; id <= last_acked; ++id) ApplyBatch(seed, id, &expect);

    std::unique_ptr<DB> db;
    Status s = DB::Open(options, path, &db);
    ASSERT_TRUE(s.ok()) << "reopen after kill: " << s.ToString();
    Status it_status;
    Model got = DumpDB(db.get(), ReadOptions(), &it_status);
    ASSERT_TRUE(it_status.ok()) << it_status.ToString();
    uint64_t recovered = last_acked;
    if (got != expect) {
      // The batch in flight when the kill came may have become durable, whole.
      Model with_next = expect;
      ApplyBatch(seed, last_acked + 1, &with_next);
      ASSERT_EQ(MapDiff(with_next, got), "")
          << "recovered state is neither batches 1.." << last_acked
          << " (diff: " << MapDiff(expect, got) << ") nor 1.." << last_acked + 1;
      expect = std::move(with_next);
      recovered = last_acked + 1;
      ++in_flight_recovered;
    }
    // Point reads agree with the scan.
    for (uint64_t k = 0; k < kKeySpace; k += 7) {
      std::string key = NumberKey(k, 5, "c"), v;
      s = db->Get(ReadOptions(), key, &v);
      auto it = expect.find(key);
      if (it == expect.end()) {
        ASSERT_TRUE(s.IsNotFound()) << key << ": " << s.ToString();
      } else {
        ASSERT_TRUE(s.ok()) << key << ": " << s.ToString();
        ASSERT_EQ(v, it->second) << key;
      }
    }
    int64_t dropped = RecoveryDroppedBytes(db.get());
    if (dropped > 0) dropped_total += dropped;
    ASSERT_TRUE(db->Close().ok());
    db.reset();
    model = std::move(expect);
    next_id = recovered + 1;
  }
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  std::fprintf(stderr,
               "[crash] %d rounds in %.1f s: %llu batches acknowledged, %llu killed, %llu "
               "finished, in-flight batch recovered %llu times, %lld WAL bytes dropped, "
               "%zu keys live\n",
               rounds, secs, static_cast<unsigned long long>(total_acked),
               static_cast<unsigned long long>(killed), static_cast<unsigned long long>(finished),
               static_cast<unsigned long long>(in_flight_recovered),
               static_cast<long long>(dropped_total), model.size());
  // The rounds must have written something worth recovering.
  EXPECT_GT(total_acked, static_cast<uint64_t>(rounds));
}

}  // namespace
}  // namespace zworld::engine::test
