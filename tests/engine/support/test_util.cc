#include "engine/support/test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace zworld::engine::test {
std::string NumberKey(uint64_t n, int width, const std::string& prefix) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%0*llu", width, static_cast<unsigned long long>(n));
  return prefix + buf;
}

std::string RandomKey(Random* rnd, uint64_t key_space, bool allow_odd) {
  if (allow_odd) {
    uint64_t r = rnd->Uniform(1000);
    if (r == 0) return std::string();
    if (r == 1) return NumberKey(rnd->Uniform(key_space)) + rnd->Printable(1000);
    if (r < 30) return NumberKey(rnd->Uniform(key_space)) + rnd->Bytes(rnd->Range(1, 4));
    if (r < 40) {
      // Keys that sort before and after everything of the NumberKey family.
      return rnd->OneIn(2) ? std::string(1, '\0') + rnd->Bytes(rnd->Uniform(3))
                           : std::string(rnd->Range(1, 3), '\xff');
    }
  }
  return NumberKey(rnd->Uniform(key_space));
}

std::string RandomValue(Random* rnd, const std::string& tag, int max_log, uint64_t big_one_in) {
  size_t len = (big_one_in != 0 && rnd->OneIn(big_one_in)) ? rnd->Range(20 << 10, 70 << 10)
                                                           : rnd->Skewed(max_log);
  std::string v = tag;
  if (v.size() < len) v += rnd->Printable(len - v.size());
  // Shorter than the tag: keep the tag anyway so distinct writes stay distinguishable.
  return v;
}

std::map<std::string, std::string> DumpDB(DB* db, const ReadOptions& ro, Status* s) {
  std::map<std::string, std::string> out;
  std::unique_ptr<Iterator> it = db->NewIterator(ro);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    out.emplace_hint(out.end(), it->key().ToString(), it->value().ToString());
  }
  if (s != nullptr) *s = it->status();
  return out;
}

std::string Escape(const Slice& s, size_t max) {
  std::string out;
  size_t n = std::min(s.size(), max);
  for (size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > max) out += std::string("...(") + std::to_string(s.size()) + " bytes)";
  return out;
}

std::string MapDiff(const std::map<std::string, std::string>& expected,
                    const std::map<std::string, std::string>& actual) {
  auto e = expected.begin();
  auto a = actual.begin();
  while (e != expected.end() || a != actual.end()) {
    if (a == actual.end() || (e != expected.end() && e->first < a->first)) {
      return std::string("missing key '") + Escape(e->first) + std::string("' (expected value '") +
             Escape(e->second) + std::string("'); sizes expected=") +
             std::to_string(expected.size()) + std::string(" actual=") +
             std::to_string(actual.size());
    }
    if (e == expected.end() || a->first < e->first) {
      return std::string("unexpected key '") + Escape(a->first) + std::string("' = '") +
             Escape(a->second) + std::string("'; sizes expected=") +
             std::to_string(expected.size()) + std::string(" actual=") +
             std::to_string(actual.size());
    }
    if (e->second != a->second) {
      return std::string("key '") + Escape(e->first) + std::string("': expected '") +
             Escape(e->second) + "' got '" + Escape(a->second) + "'";
    }
    ++e;
    ++a;
  }
  return "";
}

FileKind ClassifyFile(const std::string& name) {
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (name == "CURRENT") return FileKind::kCurrent;
  if (name == "LOCK") return FileKind::kLock;
  if (name == "LOG" || name.rfind("LOG.", 0) == 0) return FileKind::kInfoLog;
  if (name.rfind("MANIFEST-", 0) == 0) return FileKind::kManifest;
  if (ends_with(".log")) return FileKind::kLog;
  if (ends_with(".sst")) return FileKind::kTable;
  return FileKind::kOther;
}

uint64_t FileNumber(const std::string& name) {
  uint64_t n = 0;
  bool any = false;
  size_t i = name.rfind("MANIFEST-", 0) == 0 ? 9 : 0;
  for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) {
    n = n * 10 + static_cast<uint64_t>(name[i] - '0');
    any = true;
  }
  return any ? n : 0;
}

std::vector<std::string> FilesOfKind(Env* env, const std::string& dir, FileKind kind) {
  std::vector<std::string> names;
  std::vector<std::string> out;
  if (!env->GetChildren(dir, &names).ok()) return out;
  for (const std::string& n : names) {
    if (ClassifyFile(n) == kind) out.push_back(n);
  }
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return FileNumber(a) < FileNumber(b);
  });
  return out;
}

std::string ReadFileOrDie(Env* env, const std::string& fname) {
  std::string data;
  Status s = ReadFileToString(env, fname, &data);
  EXPECT_TRUE(s.ok()) << "reading " << fname << ": " << s.ToString();
  return data;
}

Status OverwriteFile(Env* env, const std::string& fname, const Slice& data) {
  return WriteStringToFile(env, data, fname, /*sync=*/true);
}

namespace {

// Sums the numbers after every occurrence of key in text; -1 if there is none.
int64_t SumAfter(const std::string& text, const std::string& key) {
  int64_t sum = -1;
  for (size_t pos = text.find(key); pos != std::string::npos; pos = text.find(key, pos + 1)) {
    sum = std::max<int64_t>(sum, 0) + std::strtoll(text.c_str() + pos + key.size(), nullptr, 10);
  }
  return sum;
}

}  // namespace

int64_t RecoveryDroppedBytes(DB* db) {
  std::string v;
  if (!db->GetProperty("zworld.recovery", &v)) return -1;
  // "manifest=MANIFEST-000005 manifest_torn_tail_bytes=0 wal_files=1
  //  000007.log:records=24,torn_tail_bytes=0"
  if (v.find("wal_files=") == std::string::npos) return -1;
  int64_t sum = SumAfter(v, ",torn_tail_bytes=");
  return sum < 0 ? 0 : sum;
}

int64_t RecoveryManifestTornBytes(DB* db) {
  std::string v;
  if (!db->GetProperty("zworld.recovery", &v)) return -1;
  return SumAfter(v, "manifest_torn_tail_bytes=");
}

Status StringSink::Append(const Slice& data) {
  if (fail_appends_) return Status::IOError("sink", "injected append failure");
  contents.append(data.data(), data.size());
  return Status::OK();
}

Status StringSource::Read(uint64_t offset, size_t n, Slice* result, char* scratch) const {
  if (offset > data_->size()) {
    *result = Slice();
    return Status::IOError("source", "read past end of file");
  }
  n = std::min<uint64_t>(n, data_->size() - offset);
  if (mapped_) {
    *result = Slice(data_->data() + offset, n);
  } else {
    std::memcpy(scratch, data_->data() + offset, n);
    *result = Slice(scratch, n);
  }
  return Status::OK();
}

}  // namespace zworld::engine::test
