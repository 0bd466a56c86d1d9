// Env::Default() (POSIX) and NewMemEnv: files, folders, renames, locks, sequential and random
// reads, and the power-loss semantics of MemEnv::DropUnsyncedData. Also checks FaultEnv, the
// test Env the failure tests rely on.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/fault_env.h"
#include "support/test_util.h"
#include "zworld/engine/env.h"

namespace zworld::engine::test {
namespace {

// Runs every test on the POSIX Env (in a temp folder) and on a MemEnv.
class EnvTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      tmp_ = std::make_unique<TempDir>();
      env_ = Env::Default();
      dir_ = tmp_->Sub("d");
    } else {
      mem_ = NewMemEnv(Env::Default());
      env_ = mem_.get();
      dir_ = UniqueMemPath();
    }
    ASSERT_TRUE(env_->CreateDir(dir_).ok());
  }
  std::string F(const std::string& name) const { return dir_ + "/" + name; }

  void Write(const std::string& name, const std::string& data) {
    std::unique_ptr<WritableFile> f;
    ASSERT_TRUE(env_->NewWritableFile(F(name), &f).ok());
    ASSERT_TRUE(f->Append(data).ok());
    ASSERT_TRUE(f->Close().ok());
  }
  std::string Read(const std::string& name) {
    std::string data;
    Status s = ReadFileToString(env_, F(name), &data);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return data;
  }

  std::unique_ptr<MemEnv> mem_;
  std::unique_ptr<TempDir> tmp_;
  Env* env_ = nullptr;
  std::string dir_;
};

TEST_P(EnvTest, WriteReadSizeExists) {
  EXPECT_FALSE(env_->FileExists(F("a")));
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(env_->NewWritableFile(F("a"), &f).ok());
  EXPECT_TRUE(env_->FileExists(F("a")));
  ASSERT_TRUE(f->Append("hello ").ok());
  ASSERT_TRUE(f->Append("").ok());
  ASSERT_TRUE(f->Append("world").ok());
  ASSERT_TRUE(f->Flush().ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Close().ok());
  uint64_t size = 0;
  ASSERT_TRUE(env_->GetFileSize(F("a"), &size).ok());
  EXPECT_EQ(size, 11u);
  EXPECT_EQ(Read("a"), "hello world");
  EXPECT_FALSE(env_->GetFileSize(F("missing"), &size).ok());

  // NewWritableFile truncates.
  Write("a", "xy");
  EXPECT_EQ(Read("a"), "xy");

  // NewAppendableFile appends, and creates when missing.
  std::unique_ptr<WritableFile> g;
  ASSERT_TRUE(env_->NewAppendableFile(F("a"), &g).ok());
  ASSERT_TRUE(g->Append("z").ok());
  ASSERT_TRUE(g->Close().ok());
  EXPECT_EQ(Read("a"), "xyz");
  ASSERT_TRUE(env_->NewAppendableFile(F("b"), &g).ok());
  ASSERT_TRUE(g->Append("new").ok());
  ASSERT_TRUE(g->Close().ok());
  EXPECT_EQ(Read("b"), "new");

  // WriteStringToFile / ReadFileToString round trip with binary data.
  std::string bin;
  for (int i = 0; i < 70000; ++i) bin.push_back(static_cast<char>(i * 7));
  ASSERT_TRUE(WriteStringToFile(env_, bin, F("bin"), true).ok());
  EXPECT_EQ(Read("bin"), bin);
}

TEST_P(EnvTest, MissingFilesAreErrors) {
  std::unique_ptr<SequentialFile> sf;
  std::unique_ptr<RandomAccessFile> rf;
  Status s = env_->NewSequentialFile(F("nope"), &sf);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsNotFound() || s.IsIOError()) << s.ToString();
  EXPECT_NE(s.message().find("nope"), std::string::npos) << "error should name the file";
  EXPECT_FALSE(env_->NewRandomAccessFile(F("nope"), &rf).ok());
  EXPECT_FALSE(env_->RemoveFile(F("nope")).ok());
  EXPECT_FALSE(env_->RenameFile(F("nope"), F("other")).ok());
  std::string data;
  EXPECT_FALSE(ReadFileToString(env_, F("nope"), &data).ok());
}

TEST_P(EnvTest, SequentialReadAndSkip) {
  std::string content;
  for (int i = 0; i < 10000; ++i) content += static_cast<char>('a' + i % 26);
  Write("s", content);
  std::unique_ptr<SequentialFile> f;
  ASSERT_TRUE(env_->NewSequentialFile(F("s"), &f).ok());
  std::vector<char> scratch(4096);
  Slice r;
  ASSERT_TRUE(f->Read(10, &r, scratch.data()).ok());
  EXPECT_EQ(r.ToString(), content.substr(0, 10));
  ASSERT_TRUE(f->Skip(990).ok());
  ASSERT_TRUE(f->Read(100, &r, scratch.data()).ok());
  EXPECT_EQ(r.ToString(), content.substr(1000, 100));
  // Read the rest in chunks; the last read is short, then empty.
  std::string rest;
  while (true) {
    ASSERT_TRUE(f->Read(scratch.size(), &r, scratch.data()).ok());
    if (r.empty()) break;
    rest += r.ToString();
  }
  EXPECT_EQ(rest, content.substr(1100));
  ASSERT_TRUE(f->Read(10, &r, scratch.data()).ok());
  EXPECT_TRUE(r.empty());
}

TEST_P(EnvTest, RandomAccessReads) {
  std::string content;
  Random rnd(7);
  content = rnd.Bytes(100000);
  Write("r", content);
  std::unique_ptr<RandomAccessFile> f;
  ASSERT_TRUE(env_->NewRandomAccessFile(F("r"), &f).ok());
  std::vector<char> scratch(5000);
  for (int i = 0; i < 200; ++i) {
    uint64_t off = rnd.Uniform(content.size());
    size_t n = rnd.Range(0, 4999);
    Slice r;
    ASSERT_TRUE(f->Read(off, n, &r, scratch.data()).ok());
    EXPECT_EQ(r.ToString(), content.substr(off, n)) << "offset " << off << " n " << n;
  }
  // A read that crosses the end is short.
  Slice r;
  ASSERT_TRUE(f->Read(content.size() - 10, 100, &r, scratch.data()).ok());
  EXPECT_EQ(r.ToString(), content.substr(content.size() - 10));
  // Mapped files hand out memory that outlives the scratch buffer.
  if (f->IsMapped()) {
    Slice a, b;
    ASSERT_TRUE(f->Read(0, 100, &a, scratch.data()).ok());
    ASSERT_TRUE(f->Read(500, 100, &b, scratch.data()).ok());
    EXPECT_EQ(a.ToString(), content.substr(0, 100));
  }
  // Concurrent readers of one file.
  std::atomic<int> bad{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      Random tr(100 + static_cast<uint64_t>(t));
      std::vector<char> buf(1000);
      for (int i = 0; i < 500; ++i) {
        uint64_t off = tr.Uniform(content.size());
        Slice s;
        if (!f->Read(off, 1000, &s, buf.data()).ok() || s.ToString() != content.substr(off, 1000)) {
          bad++;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST_P(EnvTest, ChildrenRenameRemoveDirs) {
  Write("one", "1");
  Write("two", "2");
  ASSERT_TRUE(env_->CreateDir(F("sub")).ok());
  ASSERT_TRUE(env_->CreateDir(F("sub")).ok()) << "CreateDir of an existing folder is OK";
  std::vector<std::string> kids;
  ASSERT_TRUE(env_->GetChildren(dir_, &kids).ok());
  std::sort(kids.begin(), kids.end());
  if (GetParam()) {
    EXPECT_EQ(kids, (std::vector<std::string>{"one", "sub", "two"}));
  } else {
    // MemEnv lists files only, not subfolders (the engine never makes any inside a data
    // folder).
    kids.erase(std::remove(kids.begin(), kids.end(), "sub"), kids.end());
    EXPECT_EQ(kids, (std::vector<std::string>{"one", "two"}));
  }

  // Rename replaces the destination.
  ASSERT_TRUE(env_->RenameFile(F("one"), F("two")).ok());
  EXPECT_FALSE(env_->FileExists(F("one")));
  EXPECT_EQ(Read("two"), "1");
  ASSERT_TRUE(env_->RenameFile(F("two"), F("three")).ok());
  EXPECT_EQ(Read("three"), "1");
  ASSERT_TRUE(env_->SyncDir(dir_).ok());

  ASSERT_TRUE(env_->RemoveFile(F("three")).ok());
  EXPECT_FALSE(env_->FileExists(F("three")));
  ASSERT_TRUE(env_->RemoveDir(F("sub")).ok());
  ASSERT_TRUE(env_->GetChildren(dir_, &kids).ok());
  EXPECT_TRUE(kids.empty()) << kids.size() << " entries left, first " << kids[0];
  ASSERT_TRUE(env_->RemoveDir(dir_).ok());
}

TEST_P(EnvTest, LockTwiceIsBusy) {
  std::unique_ptr<FileLock> l1, l2;
  ASSERT_TRUE(env_->LockFile(F("LOCK"), &l1).ok());
  ASSERT_NE(l1, nullptr);
  Status s = env_->LockFile(F("LOCK"), &l2);
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  // Another file is independent.
  std::unique_ptr<FileLock> other;
  ASSERT_TRUE(env_->LockFile(F("LOCK2"), &other).ok());
  ASSERT_TRUE(env_->UnlockFile(std::move(other)).ok());
  ASSERT_TRUE(env_->UnlockFile(std::move(l1)).ok());
  ASSERT_TRUE(env_->LockFile(F("LOCK"), &l2).ok()) << "relocking after unlock";
  ASSERT_TRUE(env_->UnlockFile(std::move(l2)).ok());
}

TEST_P(EnvTest, ThreadsAndClock) {
  std::atomic<int> ran{0};
  std::thread t = env_->StartThread([&] { ran = 1; });
  t.join();
  EXPECT_EQ(ran.load(), 1);
  uint64_t a = env_->NowMicros();
  env_->SleepForMicroseconds(2000);
  uint64_t b = env_->NowMicros();
  EXPECT_GE(b - a, 1500u);
  EXPECT_LT(b - a, 2000000u);
}

INSTANTIATE_TEST_SUITE_P(Envs, EnvTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Posix") : std::string("Mem");
                         });

// The POSIX lock also holds against another process.
TEST(PosixEnvTest, LockHeldByAnotherProcessIsBusy) {
  TempDir tmp;
  Env* env = Env::Default();
  std::string lock = tmp.Sub("LOCK");
  int to_child[2], to_parent[2];
  ASSERT_EQ(pipe(to_child), 0);
  ASSERT_EQ(pipe(to_parent), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::unique_ptr<FileLock> l;
    char c = env->LockFile(lock, &l).ok() ? 'y' : 'n';
    if (write(to_parent[1], &c, 1) != 1) _exit(2);
    if (read(to_child[0], &c, 1) != 1) _exit(3);  // hold until told
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(read(to_parent[0], &c, 1), 1);
  ASSERT_EQ(c, 'y') << "child could not lock";
  std::unique_ptr<FileLock> l;
  Status s = env->LockFile(lock, &l);
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  c = 'x';
  ASSERT_EQ(write(to_child[1], &c, 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // The child's exit released its lock.
  ASSERT_TRUE(env->LockFile(lock, &l).ok());
  ASSERT_TRUE(env->UnlockFile(std::move(l)).ok());
  for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]}) close(fd);
}

TEST(PosixEnvTest, WritesLandOnDisk) {
  TempDir tmp;
  Env* env = Env::Default();
  std::string big(3 << 20, '\0');
  Random rnd(3);
  for (char& ch : big) ch = static_cast<char>(rnd.Next());
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(env->NewWritableFile(tmp.Sub("big"), &f).ok());
  for (size_t off = 0; off < big.size(); off += 100000) {
    ASSERT_TRUE(
        f->Append(Slice(big.data() + off, std::min<size_t>(100000, big.size() - off))).ok());
  }
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Close().ok());
  // Read back through the OS, not the Env.
  FILE* fp = std::fopen(tmp.Sub("big").c_str(), "rb");
  ASSERT_NE(fp, nullptr);
  std::string back(big.size() + 10, '\0');
  size_t n = std::fread(back.data(), 1, back.size(), fp);
  std::fclose(fp);
  back.resize(n);
  EXPECT_TRUE(back == big);
}

// ---------------------------------------------------------------------------------------------
// MemEnv power-loss semantics.

class MemEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mem_ = NewMemEnv(Env::Default());
    ASSERT_TRUE(mem_->CreateDir("/m").ok());
  }
  std::string Read(const std::string& f) {
    std::string d;
    EXPECT_TRUE(ReadFileToString(mem_.get(), f, &d).ok()) << f;
    return d;
  }
  std::unique_ptr<MemEnv> mem_;
};

TEST_F(MemEnvTest, DropUnsyncedDataCutsToLastSync) {
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(mem_->NewWritableFile("/m/a", &f).ok());
  ASSERT_TRUE(f->Append("abc").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Append("def").ok());
  ASSERT_TRUE(f->Flush().ok());  // Flush is not Sync
  EXPECT_EQ(Read("/m/a"), "abcdef") << "unsynced data is readable before the power loss";
  mem_->DropUnsyncedData();
  EXPECT_EQ(Read("/m/a"), "abc");

  // A file never synced survives empty; Close does not sync.
  std::unique_ptr<WritableFile> g;
  ASSERT_TRUE(mem_->NewWritableFile("/m/b", &g).ok());
  ASSERT_TRUE(g->Append("lost").ok());
  ASSERT_TRUE(g->Close().ok());
  ASSERT_TRUE(WriteStringToFile(mem_.get(), "kept", "/m/c", /*sync=*/true).ok());
  ASSERT_TRUE(WriteStringToFile(mem_.get(), "gone", "/m/d", /*sync=*/false).ok());
  mem_->DropUnsyncedData();
  EXPECT_EQ(Read("/m/b"), "");
  EXPECT_EQ(Read("/m/c"), "kept");
  EXPECT_EQ(Read("/m/d"), "");
  // Dropping twice changes nothing more.
  mem_->DropUnsyncedData();
  EXPECT_EQ(Read("/m/a"), "abc");
  EXPECT_EQ(Read("/m/c"), "kept");
}

TEST_F(MemEnvTest, SyncedStateFollowsRenamesAndAppends) {
  ASSERT_TRUE(WriteStringToFile(mem_.get(), "12345", "/m/tmp", true).ok());
  ASSERT_TRUE(mem_->RenameFile("/m/tmp", "/m/final").ok());
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(mem_->NewAppendableFile("/m/final", &f).ok());
  ASSERT_TRUE(f->Append("67").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Append("89").ok());
  mem_->DropUnsyncedData();
  EXPECT_EQ(Read("/m/final"), "1234567");
  EXPECT_FALSE(mem_->FileExists("/m/tmp"));
  // Truncation by NewWritableFile then power loss: the new (synced) content, not the old.
  std::unique_ptr<WritableFile> g;
  ASSERT_TRUE(mem_->NewWritableFile("/m/final", &g).ok());
  ASSERT_TRUE(g->Append("x").ok());
  ASSERT_TRUE(g->Sync().ok());
  mem_->DropUnsyncedData();
  EXPECT_EQ(Read("/m/final"), "x");
}

TEST_F(MemEnvTest, IndependentOfTheRealFileSystem) {
  TempDir tmp;
  ASSERT_TRUE(mem_->CreateDir(tmp.path()).ok());
  ASSERT_TRUE(WriteStringToFile(mem_.get(), "mem", tmp.Sub("x"), true).ok());
  EXPECT_TRUE(mem_->FileExists(tmp.Sub("x")));
  EXPECT_FALSE(Env::Default()->FileExists(tmp.Sub("x")));
  // Two MemEnvs do not share files.
  std::unique_ptr<MemEnv> other = NewMemEnv(Env::Default());
  EXPECT_FALSE(other->FileExists(tmp.Sub("x")));
}

// ---------------------------------------------------------------------------------------------
// FaultEnv itself.

TEST(FaultEnvTest, FailsTheNthMatchingCallAndCounts) {
  std::unique_ptr<MemEnv> mem = NewMemEnv(Env::Default());
  FaultEnv env(mem.get());
  ASSERT_TRUE(env.CreateDir("/f").ok());
  std::unique_ptr<WritableFile> log, sst;
  ASSERT_TRUE(env.NewWritableFile("/f/000001.log", &log).ok());
  ASSERT_TRUE(env.NewWritableFile("/f/000002.sst", &sst).ok());
  env.FailNth(FaultOp::kAppend, 2, FaultError::kNoSpace, ".sst");
  EXPECT_TRUE(log->Append("a").ok());
  EXPECT_TRUE(sst->Append("1").ok());
  EXPECT_TRUE(log->Append("b").ok());
  Status s = sst->Append("2");
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_NE(s.message().find("000002.sst"), std::string::npos);
  EXPECT_TRUE(sst->Append("3").ok()) << "FailNth fails once";
  EXPECT_EQ(env.Count(FaultOp::kAppend), 5u);
  EXPECT_EQ(env.InjectedFaults(), 1u);

  env.FailFrom(FaultOp::kSync, 1, FaultError::kIOError);
  EXPECT_TRUE(log->Sync().IsIOError());
  EXPECT_TRUE(sst->Sync().IsIOError());
  env.ClearFaults();
  EXPECT_TRUE(log->Sync().ok());
  ASSERT_TRUE(log->Close().ok());
  ASSERT_TRUE(sst->Close().ok());
  std::string d;
  ASSERT_TRUE(ReadFileToString(&env, "/f/000002.sst", &d).ok());
  EXPECT_EQ(d, "13") << "a failed Append must not reach the file";
  // The failed sync left the log's bytes unsynced; the good sync covered them.
  mem->DropUnsyncedData();
  ASSERT_TRUE(ReadFileToString(&env, "/f/000001.log", &d).ok());
  EXPECT_EQ(d, "ab");
  ASSERT_TRUE(ReadFileToString(&env, "/f/000002.sst", &d).ok());
  EXPECT_EQ(d, "") << "never synced";

  env.ResetCounts();
  EXPECT_EQ(env.Count(FaultOp::kAppend), 0u);
  env.FailNth(FaultOp::kRename, 1, FaultError::kIOError, "CURRENT");
  ASSERT_TRUE(WriteStringToFile(&env, "x", "/f/tmp", true).ok());
  EXPECT_FALSE(env.RenameFile("/f/tmp", "/f/CURRENT").ok());
  EXPECT_TRUE(env.FileExists("/f/tmp"));
  EXPECT_TRUE(env.RenameFile("/f/tmp", "/f/CURRENT").ok());
}

TEST(FaultEnvTest, TornAppendAndFreeze) {
  std::unique_ptr<MemEnv> mem = NewMemEnv(Env::Default());
  FaultEnv env(mem.get());
  ASSERT_TRUE(env.CreateDir("/f").ok());
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(env.NewWritableFile("/f/x.log", &f).ok());
  ASSERT_TRUE(f->Append("head").ok());
  env.TearNthAppend(1, 3);
  EXPECT_FALSE(f->Append("0123456789").ok());
  std::string d;
  ASSERT_TRUE(ReadFileToString(&env, "/f/x.log", &d).ok());
  EXPECT_EQ(d, "head012");

  env.SetFrozen(true);
  EXPECT_FALSE(f->Append("more").ok());
  EXPECT_FALSE(f->Sync().ok());
  std::unique_ptr<WritableFile> g;
  EXPECT_FALSE(env.NewWritableFile("/f/y", &g).ok());
  EXPECT_FALSE(env.RemoveFile("/f/x.log").ok());
  ASSERT_TRUE(ReadFileToString(&env, "/f/x.log", &d).ok()) << "reads work while frozen";
  EXPECT_EQ(d, "head012");
  EXPECT_TRUE(env.DropUnsyncedData());
  env.SetFrozen(false);
  ASSERT_TRUE(ReadFileToString(&env, "/f/x.log", &d).ok());
  EXPECT_EQ(d, "");
  EXPECT_FALSE(env.FileExists("/f/y"));
}

}  // namespace
}  // namespace zworld::engine::test
