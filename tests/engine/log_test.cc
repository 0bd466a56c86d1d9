#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "coding.h"
#include "crc32c.h"
#include "log_format.h"
#include "log_reader.h"
#include "log_writer.h"
#include "support/test_util.h"
#include "write_batch_internal.h"
#include "zworld/engine/env.h"
#include "zworld/engine/write_batch.h"

namespace zworld::engine::log {
namespace {

using engine::WriteBatch;
using engine::WriteBatchInternal;

// A WritableFile that appends to a string.
class StringDest : public WritableFile {
 public:
  Status Append(const Slice& data) override {
    contents.append(data.data(), data.size());
    appends++;
    return Status::OK();
  }
  Status Close() override { return Status::OK(); }
  Status Flush() override { return Status::OK(); }
  Status Sync() override { return Status::OK(); }
  std::string contents;
  int appends = 0;
};

// A SequentialFile over a string; optionally fails every read at or past fail_at.
class StringSource : public SequentialFile {
 public:
  explicit StringSource(std::string data) : data_(std::move(data)) {}
  Status Read(size_t n, Slice* result, char* scratch) override {
    if (pos_ >= fail_at) return Status::IOError("test.log", "injected read error");
    n = std::min(n, data_.size() - pos_);
    std::memcpy(scratch, data_.data() + pos_, n);
    *result = Slice(scratch, n);
    pos_ += n;
    return Status::OK();
  }
  Status Skip(uint64_t n) override {
    pos_ = std::min<size_t>(data_.size(), pos_ + n);
    return Status::OK();
  }
  size_t fail_at = SIZE_MAX;

 private:
  std::string data_;
  size_t pos_ = 0;
};

struct Report {
  uint64_t offset;
  size_t bytes;
  std::string message;
};
class RecordingReporter : public Reader::Reporter {
 public:
  void Corruption(uint64_t offset, size_t bytes, const Status& reason) override {
    reports.push_back({offset, bytes, reason.ToString()});
  }
  uint64_t total() const {
    uint64_t t = 0;
    for (const auto& r : reports) t += r.bytes;
    return t;
  }
  std::vector<Report> reports;
};

// Everything a full read of a log image yields.
struct ReadResult {
  std::vector<std::string> records;
  std::vector<uint64_t> offsets;  // LastRecordOffset after each record
  uint64_t end_of_valid_data = 0;
  uint64_t dropped = 0;
  bool mid_file = false;
  uint64_t first_corruption = 0;
  std::vector<Report> reports;
  Status status;
};

ReadResult ReadAll(const std::string& image, bool checksum = true, size_t fail_at = SIZE_MAX) {
  StringSource src(image);
  src.fail_at = fail_at;
  RecordingReporter reporter;
  Reader reader(&src, "000007.log", &reporter, checksum);
  ReadResult r;
  Slice record;
  std::string scratch;
  while (reader.ReadRecord(&record, &scratch)) {
    r.records.push_back(record.ToString());
    r.offsets.push_back(reader.LastRecordOffset());
  }
  EXPECT_FALSE(reader.ReadRecord(&record, &scratch));  // stays at the end
  r.end_of_valid_data = reader.end_of_valid_data();
  r.dropped = reader.dropped_bytes();
  r.mid_file = reader.corruption_before_valid_record();
  r.first_corruption = reader.first_corruption_offset();
  r.reports = reporter.reports;
  r.status = reader.status();
  EXPECT_EQ(reporter.total(), r.dropped);
  return r;
}

// A record whose bytes depend on n and its length.
std::string MakeRecord(size_t n, size_t len) {
  std::string s(len, '\0');
  uint64_t x = n * 0x9e3779b97f4a7c15ull + len;
  for (size_t i = 0; i < len; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    s[i] = static_cast<char>(x >> 56);
  }
  return s;
}

struct Log {
  std::string image;
  std::vector<std::string> records;
  std::vector<uint64_t> starts;  // file offset of each record's first header
  std::vector<uint64_t> ends;    // file offset just past its last fragment
};

Log WriteLog(const std::vector<size_t>& lengths) {
  StringDest dest;
  Writer writer(&dest);
  Log log;
  for (size_t i = 0; i < lengths.size(); i++) {
    std::string rec = MakeRecord(i, lengths[i]);
    size_t before = dest.contents.size();
    EXPECT_TRUE(writer.AddRecord(rec).ok());
    // The record starts after any block trailer the writer had to pad.
    size_t start = before;
    if (kBlockSize - static_cast<int>(before % kBlockSize) < kHeaderSize) {
      start = before + (kBlockSize - before % kBlockSize);
    }
    log.records.push_back(rec);
    log.starts.push_back(start);
    log.ends.push_back(dest.contents.size());
    EXPECT_EQ(writer.file_size(), dest.contents.size());
  }
  EXPECT_EQ(dest.appends, static_cast<int>(lengths.size()));  // one Append per record
  log.image = dest.contents;
  return log;
}

TEST(LogTest, EmptyFile) {
  ReadResult r = ReadAll("");
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.dropped, 0u);
  EXPECT_FALSE(r.mid_file);
  EXPECT_TRUE(r.reports.empty());
  EXPECT_EQ(r.end_of_valid_data, 0u);
}

// The worked example of the format document (engine/FORMATS.md, Part 1).
TEST(LogTest, ExactBytesOfOneRecord) {
  StringDest dest;
  Writer writer(&dest);
  ASSERT_TRUE(writer.AddRecord("hello").ok());
  ASSERT_EQ(dest.contents.size(), 12u);
  const uint32_t crc = crc32c::Value("\x01hello", 6);
  EXPECT_EQ(DecodeFixed32(dest.contents.data()), crc32c::Mask(crc));
  EXPECT_EQ(dest.contents.substr(4), std::string("\x05\x00\x01hello", 8));
  // The values quoted in the document.
  EXPECT_EQ(crc, 0x6719daeau) << std::hex << crc;
  EXPECT_EQ(crc32c::Mask(crc), 0x5857b90bu) << std::hex << crc32c::Mask(crc);
}

// The second worked example of the format document: a WriteBatch framed as a WAL record.
TEST(LogTest, ExactBytesOfABatchRecord) {
  WriteBatch batch;
  batch.Put("k", "v");
  batch.Delete("x");
  WriteBatchInternal::SetSequence(&batch, 42);
  StringDest dest;
  Writer writer(&dest);
  ASSERT_TRUE(writer.AddRecord(WriteBatchInternal::Contents(&batch)).ok());
  const unsigned char expected[] = {
      0xc3, 0xe2, 0xa2, 0xbb,                          // masked crc32c
      0x14, 0x00,                                      // length 20
      0x01,                                            // kFullType
      0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // sequence 42
      0x02, 0x00, 0x00, 0x00,                          // count 2
      0x01, 0x01, 'k',  0x01, 'v',                     // Put("k", "v")
      0x00, 0x01, 'x',                                 // Delete("x")
  };
  EXPECT_EQ(dest.contents, std::string(reinterpret_cast<const char*>(expected), sizeof(expected)));
}

TEST(LogTest, RoundTripRandomSizes) {
  const uint64_t seed = test::TestSeed();
  SCOPED_TRACE(test::SeedTrace(seed));
  test::Random rnd(seed);
  std::vector<size_t> lengths = {0,     1, 0, kBlockSize - kHeaderSize, kBlockSize, 3 * kBlockSize,
                                 100000};
  for (int i = 0; i < 400; i++) {
    lengths.push_back(rnd.OneIn(20) ? rnd.Range(30000, 150000) : rnd.Skewed(12));
  }
  Log log = WriteLog(lengths);
  ReadResult r = ReadAll(log.image);
  ASSERT_EQ(r.records.size(), log.records.size());
  for (size_t i = 0; i < log.records.size(); i++) {
    ASSERT_EQ(r.records[i], log.records[i]) << "record " << i;
    ASSERT_EQ(r.offsets[i], log.starts[i]) << "record " << i;
  }
  EXPECT_EQ(r.end_of_valid_data, log.image.size());
  EXPECT_EQ(r.dropped, 0u);
  EXPECT_FALSE(r.mid_file);
  EXPECT_TRUE(r.reports.empty());
  EXPECT_TRUE(r.status.ok());
}

// Records that leave 0..8 bytes at the end of a block: fewer than a header's worth become
// the zero trailer, exactly a header's worth holds an empty first fragment.
TEST(LogTest, BlockTrailers) {
  for (int left = 0; left <= kHeaderSize + 1; left++) {
    SCOPED_TRACE("bytes left in block: " + std::to_string(left));
    Log log = WriteLog({static_cast<size_t>(kBlockSize - kHeaderSize - left), 10, 0, 50000});
    if (left < kHeaderSize) {
      EXPECT_EQ(log.starts[1], static_cast<uint64_t>(kBlockSize));
      EXPECT_EQ(log.image.substr(kBlockSize - left, left), std::string(left, '\0'));
    } else {
      EXPECT_EQ(log.starts[1], static_cast<uint64_t>(kBlockSize - left));
    }
    ReadResult r = ReadAll(log.image);
    EXPECT_EQ(r.records, log.records);
    EXPECT_EQ(r.dropped, 0u);
    EXPECT_FALSE(r.mid_file);
  }
}

// Appending to an existing log continues its block layout.
TEST(LogTest, ReopenAndAppend) {
  Log first = WriteLog({1000, kBlockSize - 1000 - 2 * kHeaderSize - 3});  // ends 3 bytes short
  StringDest dest;
  dest.contents = first.image;
  Writer writer(&dest, dest.contents.size());
  ASSERT_TRUE(writer.AddRecord("after reopen").ok());
  ASSERT_TRUE(writer.AddRecord(MakeRecord(9, 70000)).ok());
  EXPECT_EQ(writer.file_size(), dest.contents.size());
  ReadResult r = ReadAll(dest.contents);
  ASSERT_EQ(r.records.size(), 4u);
  EXPECT_EQ(r.records[2], "after reopen");
  EXPECT_EQ(r.offsets[2], static_cast<uint64_t>(kBlockSize));  // after the 3-byte trailer
  EXPECT_EQ(r.records[3], MakeRecord(9, 70000));
  EXPECT_EQ(r.dropped, 0u);
}

// Checks that reading image cut at `cut` yields the records before `victim` whole and
// reports the rest as a torn tail.
void ExpectTornTail(const Log& log, size_t victim, size_t cut) {
  SCOPED_TRACE("cut at " + std::to_string(cut));
  ReadResult r = ReadAll(log.image.substr(0, cut));
  ASSERT_EQ(r.records.size(), victim);
  for (size_t i = 0; i < victim; i++) ASSERT_EQ(r.records[i], log.records[i]);
  const uint64_t valid_end = victim == 0 ? 0 : log.ends[victim - 1];
  ASSERT_EQ(r.end_of_valid_data, valid_end);
  // Bytes between the previous record and the cut are dropped, except a block trailer
  // that is complete (a cut at the block end leaves nothing to tell a torn append by).
  uint64_t expected_drop = cut - valid_end;
  if (cut % kBlockSize == 0 && cut - valid_end < static_cast<uint64_t>(kHeaderSize)) {
    expected_drop = 0;
  } else if (log.starts[victim] > valid_end && cut > log.starts[victim]) {
    expected_drop = cut - log.starts[victim];
  }
  ASSERT_EQ(r.dropped, expected_drop);
  ASSERT_FALSE(r.mid_file);
  if (expected_drop > 0) {
    ASSERT_EQ(r.reports.size(), 1u);
    EXPECT_EQ(r.first_corruption, cut - expected_drop);
    EXPECT_EQ(r.reports[0].offset, cut - expected_drop);
    EXPECT_NE(r.reports[0].message.find("000007.log"), std::string::npos) << r.reports[0].message;
  } else {
    ASSERT_TRUE(r.reports.empty());
  }
}

TEST(LogTest, TornTailAtEveryByteOfTheLastRecord) {
  // The last record (2000 bytes) starts 1000 bytes before a block boundary, so it has a
  // first and a last fragment; the record before leaves a 4-byte trailer ahead of another.
  Log log = WriteLog({5000, kBlockSize - 5000 - 2 * kHeaderSize - 4, 300, 2000});
  ASSERT_EQ(log.starts[2], static_cast<uint64_t>(kBlockSize));
  for (size_t cut = log.ends[1]; cut < log.image.size(); cut++) {
    ExpectTornTail(log, cut < log.ends[2] ? 2 : 3, cut);
    if (HasFatalFailure()) return;
  }
  Log log2 = WriteLog({100, kBlockSize - 1100, 2000});
  for (size_t cut = log2.starts[2]; cut < log2.image.size(); cut++) {
    ExpectTornTail(log2, 2, cut);
    if (HasFatalFailure()) return;
  }
}

TEST(LogTest, TornTailOfAMultiBlockRecord) {
  Log log = WriteLog({700, 20, 3 * kBlockSize + 500});
  const size_t start = log.starts[2];
  std::vector<size_t> cuts;
  for (size_t cut = start; cut < log.image.size(); cut += 97) cuts.push_back(cut);
  for (size_t b = kBlockSize; b < log.image.size(); b += kBlockSize) {
    for (size_t c = b - 8; c <= b + 8; c++) cuts.push_back(c);  // around each fragment header
  }
  for (size_t cut : cuts) {
    ExpectTornTail(log, 2, cut);
    if (HasFatalFailure()) return;
  }
}

std::string Flip(std::string image, size_t at) {
  image[at] = static_cast<char>(image[at] ^ 0x10);
  return image;
}

TEST(LogTest, FlippedByteInTheMiddleIsCorruptionBeforeValidRecords) {
  std::vector<size_t> lengths;
  for (int i = 0; i < 60; i++) lengths.push_back(1000 + 37 * i);
  Log log = WriteLog(lengths);
  ASSERT_GT(log.image.size(), 2u * kBlockSize);
  // Payload byte, length byte, type byte and CRC byte of record 10 (in block 0), and a
  // payload byte of the record that starts block 1.
  size_t in_block1 = 0;
  while (log.starts[in_block1] < static_cast<uint64_t>(kBlockSize)) in_block1++;
  for (size_t at :
       {size_t(log.starts[10] + 100), size_t(log.starts[10] + 4), size_t(log.starts[10] + 6),
        size_t(log.starts[10] + 1), size_t(log.starts[in_block1] + 50)}) {
    SCOPED_TRACE("flip at " + std::to_string(at));
    ReadResult r = ReadAll(Flip(log.image, at));
    EXPECT_TRUE(r.mid_file);
    EXPECT_GT(r.dropped, 0u);
    ASSERT_FALSE(r.reports.empty());
    EXPECT_LE(r.first_corruption, at);
    EXPECT_NE(r.reports[0].message.find("000007.log"), std::string::npos);
    EXPECT_NE(r.reports[0].message.find("offset"), std::string::npos) << r.reports[0].message;
    // The records of later blocks survive.
    EXPECT_EQ(r.records.back(), log.records.back());
    EXPECT_LT(r.records.size(), log.records.size());
  }
}

// Damage to the last block, followed by records in that same block only: the reader cannot
// resynchronise inside the block, but it must still see that whole records were lost.
TEST(LogTest, FlippedByteInTheLastBlockIsStillMidFileCorruption) {
  Log log = WriteLog({100, 200, 300, 400, 500});
  ASSERT_LT(log.image.size(), static_cast<size_t>(kBlockSize));
  for (size_t at : {size_t(log.starts[1] + 20), size_t(log.starts[1] + 4),
                    size_t(log.starts[1] + 5), size_t(log.starts[1])}) {
    SCOPED_TRACE("flip at " + std::to_string(at));
    ReadResult r = ReadAll(Flip(log.image, at));
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_TRUE(r.mid_file);
    EXPECT_EQ(r.end_of_valid_data, log.ends[0]);
    EXPECT_EQ(r.first_corruption, log.starts[1]);
  }
}

TEST(LogTest, ZeroFilledTailIsATornTail) {
  Log log = WriteLog({100, 40000, 5});
  for (size_t zeros : {size_t(1), size_t(6), size_t(7), size_t(5000), size_t(100000)}) {
    SCOPED_TRACE("zeros: " + std::to_string(zeros));
    ReadResult r = ReadAll(log.image + std::string(zeros, '\0'));
    EXPECT_EQ(r.records, log.records);
    EXPECT_EQ(r.end_of_valid_data, log.image.size());
    EXPECT_FALSE(r.mid_file);
    // Zeros that exactly finish a block's trailer are not damage; all others are.
    EXPECT_EQ(r.dropped, zeros);
    if (zeros > 0) {
      ASSERT_EQ(r.reports.size(), 1u);
      EXPECT_EQ(r.reports[0].offset, log.image.size());
      EXPECT_EQ(r.reports[0].bytes, zeros);
    }
  }
  // The last record's data never landed (zeros where it should be): still a torn tail.
  std::string image = log.image;
  std::fill(image.begin() + static_cast<long>(log.starts[2]) + kHeaderSize, image.end(), '\0');
  image += std::string(3 * kBlockSize, '\0');
  ReadResult r = ReadAll(image);
  EXPECT_EQ(r.records.size(), 2u);
  EXPECT_FALSE(r.mid_file);
  EXPECT_EQ(r.first_corruption, log.starts[2]);
}

TEST(LogTest, ZeroedBlockBeforeValidRecordsIsCorruption) {
  std::vector<size_t> lengths(40, 3000);
  Log log = WriteLog(lengths);
  std::string image = log.image;
  std::fill(image.begin() + kBlockSize, image.begin() + 2 * kBlockSize, '\0');
  ReadResult r = ReadAll(image);
  EXPECT_TRUE(r.mid_file);
  EXPECT_EQ(r.records.back(), log.records.back());
  EXPECT_LT(r.records.size(), log.records.size());
}

// A record's first fragment is lost: its later fragments are dropped as orphans.
TEST(LogTest, OrphanFragmentsAreDropped) {
  Log log = WriteLog({10, 2 * kBlockSize, 10});
  std::string image = Flip(log.image, log.starts[1] + 20);  // damage the first fragment
  ReadResult r = ReadAll(image);
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0], log.records[0]);
  EXPECT_EQ(r.records[1], log.records[2]);
  EXPECT_TRUE(r.mid_file);
  EXPECT_EQ(r.dropped, log.ends[1] - log.starts[1]);
  ASSERT_EQ(r.reports.size(), 1u);  // one range, reported once
  EXPECT_EQ(r.reports[0].offset, log.starts[1]);
}

TEST(LogTest, ChecksumOffReturnsDamagedPayload) {
  Log log = WriteLog({100, 100});
  std::string image = Flip(log.image, log.starts[0] + kHeaderSize + 3);
  ReadResult off = ReadAll(image, /*checksum=*/false);
  ASSERT_EQ(off.records.size(), 2u);
  EXPECT_NE(off.records[0], log.records[0]);
  ReadResult on = ReadAll(image, /*checksum=*/true);
  EXPECT_EQ(on.records.size(), 0u);
}

TEST(LogTest, ReadErrorStopsAndIsNotATornTail) {
  std::vector<size_t> lengths(30, 5000);
  Log log = WriteLog(lengths);
  ReadResult r = ReadAll(log.image, true, /*fail_at=*/2 * kBlockSize);
  EXPECT_TRUE(r.status.IsIOError());
  EXPECT_TRUE(r.mid_file);
  EXPECT_LT(r.records.size(), log.records.size());
  ASSERT_FALSE(r.reports.empty());
  bool error_reported = false;
  for (const Report& rep : r.reports) {
    if (rep.message.find("injected") != std::string::npos) {
      error_reported = true;
      EXPECT_EQ(rep.offset, 2u * kBlockSize);
      EXPECT_EQ(rep.bytes, 0u);
    }
  }
  EXPECT_TRUE(error_reported);
}

// The writer and reader over real files of the platform Env.
TEST(LogTest, RealFileRoundTrip) {
  test::TempDir dir;
  Env* env = Env::Default();
  const std::string fname = dir.Sub("000007.log");
  std::vector<std::string> records;
  {
    std::unique_ptr<WritableFile> file;
    ASSERT_TRUE(env->NewWritableFile(fname, &file).ok());
    Writer writer(file.get());
    for (int i = 0; i < 50; i++) {
      records.push_back(MakeRecord(i, static_cast<size_t>(i) * 1733));
      ASSERT_TRUE(writer.AddRecord(records.back()).ok());
    }
    ASSERT_TRUE(file->Sync().ok());
    ASSERT_TRUE(file->Close().ok());
  }
  std::unique_ptr<SequentialFile> file;
  ASSERT_TRUE(env->NewSequentialFile(fname, &file).ok());
  RecordingReporter reporter;
  Reader reader(file.get(), fname, &reporter, true);
  Slice record;
  std::string scratch;
  for (const std::string& expected : records) {
    ASSERT_TRUE(reader.ReadRecord(&record, &scratch));
    ASSERT_EQ(record.ToString(), expected);
  }
  EXPECT_FALSE(reader.ReadRecord(&record, &scratch));
  EXPECT_TRUE(reporter.reports.empty());
  uint64_t size = 0;
  ASSERT_TRUE(env->GetFileSize(fname, &size).ok());
  EXPECT_EQ(reader.end_of_valid_data(), size);
}

}  // namespace
}  // namespace zworld::engine::log
