#include "filename.h"

#include <cinttypes>
#include <cstdio>

namespace zworld::engine {

namespace {

std::string NumberedName(const std::string& dbname, uint64_t number, const char* suffix) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "/%06" PRIu64 ".%s", number, suffix);
  return dbname + buf;
}

// Parses a decimal number that fills all of s. False on empty input, a non-digit or
// overflow.
bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

}  // namespace

std::string LogFileName(const std::string& dbname, uint64_t number) {
  return NumberedName(dbname, number, "log");
}

std::string TableFileName(const std::string& dbname, uint64_t number) {
  return NumberedName(dbname, number, "sst");
}

std::string DescriptorFileName(const std::string& dbname, uint64_t number) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "/MANIFEST-%06" PRIu64, number);
  return dbname + buf;
}

std::string CurrentFileName(const std::string& dbname) { return dbname + "/CURRENT"; }

std::string LockFileName(const std::string& dbname) { return dbname + "/LOCK"; }

std::string TempFileName(const std::string& dbname, uint64_t number) {
  return NumberedName(dbname, number, "dbtmp");
}

std::string InfoLogFileName(const std::string& dbname) { return dbname + "/LOG"; }

std::string OldInfoLogFileName(const std::string& dbname) { return dbname + "/LOG.old"; }

bool ParseFileName(const std::string& filename, uint64_t* number, FileType* type) {
  std::string_view name(filename);
  if (name == "CURRENT") {
    *number = 0;
    *type = FileType::kCurrentFile;
    return true;
  }
  if (name == "LOCK") {
    *number = 0;
    *type = FileType::kLockFile;
    return true;
  }
  if (name == "LOG") {
    *number = 0;
    *type = FileType::kInfoLogFile;
    return true;
  }
  if (name == "LOG.old") {
    *number = 0;
    *type = FileType::kOldInfoLogFile;
    return true;
  }
  constexpr std::string_view kManifestPrefix = "MANIFEST-";
  if (name.starts_with(kManifestPrefix)) {
    uint64_t n;
    if (!ParseDecimal(name.substr(kManifestPrefix.size()), &n)) return false;
    *number = n;
    *type = FileType::kDescriptorFile;
    return true;
  }
  size_t dot = name.find('.');
  if (dot == std::string_view::npos) return false;
  uint64_t n;
  if (!ParseDecimal(name.substr(0, dot), &n)) return false;
  std::string_view suffix = name.substr(dot + 1);
  FileType t;
  if (suffix == "log") {
    t = FileType::kLogFile;
  } else if (suffix == "sst") {
    t = FileType::kTableFile;
  } else if (suffix == "dbtmp") {
    t = FileType::kTempFile;
  } else {
    return false;
  }
  *number = n;
  *type = t;
  return true;
}

Status SetCurrentFile(Env* env, const std::string& dbname, uint64_t descriptor_number) {
  std::string manifest = DescriptorFileName(dbname, descriptor_number);
  // CURRENT holds the bare name, not the path, so a data folder can be moved.
  std::string contents = manifest.substr(dbname.size() + 1) + "\n";
  std::string tmp = TempFileName(dbname, descriptor_number);
  Status s = WriteStringToFile(env, contents, tmp, /*sync=*/true);
  if (s.ok()) s = env->RenameFile(tmp, CurrentFileName(dbname));
  if (s.ok()) {
    s = env->SyncDir(dbname);
  } else {
    env->RemoveFile(tmp);
  }
  return s;
}

bool CurrentFileNames(Env* env, const std::string& dbname, uint64_t descriptor_number) {
  std::string contents;
  if (!ReadFileToString(env, CurrentFileName(dbname), &contents).ok()) return false;
  std::string expected = DescriptorFileName(dbname, descriptor_number).substr(dbname.size() + 1);
  return contents == expected + "\n";
}

}  // namespace zworld::engine
