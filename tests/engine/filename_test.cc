// File names of a data folder: generation, parsing, and the atomic CURRENT swap.
#include "filename.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "support/fault_env.h"
#include "zworld/engine/env.h"

namespace zworld::engine {
namespace {

TEST(FileNameTest, NamesParseBack) {
  struct Case {
    std::string path;
    uint64_t number;
    FileType type;
  } cases[] = {
      {LogFileName("db", 7), 7, FileType::kLogFile},
      {TableFileName("db", 123456789), 123456789, FileType::kTableFile},
      {DescriptorFileName("db", 2), 2, FileType::kDescriptorFile},
      {CurrentFileName("db"), 0, FileType::kCurrentFile},
      {LockFileName("db"), 0, FileType::kLockFile},
      {InfoLogFileName("db"), 0, FileType::kInfoLogFile},
      {OldInfoLogFileName("db"), 0, FileType::kOldInfoLogFile},
      {TempFileName("db", 9), 9, FileType::kTempFile},
  };
  for (const Case& c : cases) {
    ASSERT_EQ("db/", c.path.substr(0, 3));
    uint64_t number = 999;
    FileType type;
    ASSERT_TRUE(ParseFileName(c.path.substr(3), &number, &type)) << c.path;
    EXPECT_EQ(c.number, number) << c.path;
    EXPECT_EQ(c.type, type) << c.path;
  }
  EXPECT_EQ("db/000007.log", LogFileName("db", 7));
  EXPECT_EQ("db/000012.sst", TableFileName("db", 12));
  EXPECT_EQ("db/MANIFEST-000002", DescriptorFileName("db", 2));
  EXPECT_EQ("db/1234567.sst", TableFileName("db", 1234567));
}

TEST(FileNameTest, ForeignNamesAreRejected) {
  for (const char* name : {"", "foo", "foo.log", "12x.log", ".log", "000001.txt", "MANIFEST",
                           "MANIFEST-", "MANIFEST-12a", "CURRENTX", "LOG.older",
                           "18446744073709551616.sst", "-1.log", "000001.sst.tmp"}) {
    uint64_t number;
    FileType type;
    EXPECT_FALSE(ParseFileName(name, &number, &type)) << name;
  }
  uint64_t number;
  FileType type;
  ASSERT_TRUE(ParseFileName("18446744073709551615.sst", &number, &type));
  EXPECT_EQ(UINT64_MAX, number);
}

TEST(FileNameTest, SetCurrentFileIsAtomic) {
  std::unique_ptr<MemEnv> mem = NewMemEnv(Env::Default());
  test::FaultEnv env(mem.get());
  const std::string db = "/fn";
  ASSERT_TRUE(env.CreateDir(db).ok());
  ASSERT_TRUE(SetCurrentFile(&env, db, 5).ok());
  std::string contents;
  ASSERT_TRUE(ReadFileToString(&env, CurrentFileName(db), &contents).ok());
  EXPECT_EQ("MANIFEST-000005\n", contents);
  EXPECT_TRUE(CurrentFileNames(&env, db, 5));
  EXPECT_FALSE(CurrentFileNames(&env, db, 6));
  EXPECT_FALSE(env.FileExists(TempFileName(db, 5)));
  EXPECT_GE(env.Count(test::FaultOp::kSync), 1u);
  EXPECT_GE(env.Count(test::FaultOp::kSyncDir), 1u);

  // A failed rename leaves the old CURRENT and no temp file behind.
  env.FailNth(test::FaultOp::kRename, 1);
  EXPECT_FALSE(SetCurrentFile(&env, db, 8).ok());
  ASSERT_TRUE(ReadFileToString(&env, CurrentFileName(db), &contents).ok());
  EXPECT_EQ("MANIFEST-000005\n", contents);
  EXPECT_FALSE(env.FileExists(TempFileName(db, 8)));

  // A failed sync of the temp file: CURRENT is not replaced.
  env.FailNth(test::FaultOp::kSync, 1);
  EXPECT_FALSE(SetCurrentFile(&env, db, 9).ok());
  EXPECT_TRUE(CurrentFileNames(&env, db, 5));
}

}  // namespace
}  // namespace zworld::engine
