// Names of the files in a data folder (engine/FORMATS.md, Part 3, "Files of a data folder"):
//
//   NNNNNN.log       a write-ahead log (WAL)
//   NNNNNN.sst       an SSTable
//   MANIFEST-NNNNNN  the log of version edits
//   CURRENT          the name of the live MANIFEST, one line
//   LOCK             held (Env::LockFile) while a process has the folder open
//   LOG, LOG.old     the human-readable info log and its previous generation
//   NNNNNN.dbtmp     a temporary file (CURRENT is written there, then renamed)
//
// NNNNNN is a decimal file number, zero-padded to at least six digits. All file numbers
// come from one counter (VersionSet::NewFileNumber), so a number names exactly one file.
#pragma once

#include <cstdint>
#include <string>

#include "zworld/engine/env.h"
#include "zworld/engine/status.h"

namespace zworld::engine {

enum class FileType {
  kLogFile,
  kTableFile,
  kDescriptorFile,
  kCurrentFile,
  kLockFile,
  kInfoLogFile,
  kOldInfoLogFile,
  kTempFile,
};

// Each returns dbname + "/" + the file's name.
std::string LogFileName(const std::string& dbname, uint64_t number);
std::string TableFileName(const std::string& dbname, uint64_t number);
std::string DescriptorFileName(const std::string& dbname, uint64_t number);
std::string CurrentFileName(const std::string& dbname);
std::string LockFileName(const std::string& dbname);
std::string TempFileName(const std::string& dbname, uint64_t number);
std::string InfoLogFileName(const std::string& dbname);
std::string OldInfoLogFileName(const std::string& dbname);

// Parses a bare file name (no folder). Returns true and sets *number (0 for files without
// one) and *type if filename is one of ours; false otherwise.
bool ParseFileName(const std::string& filename, uint64_t* number, FileType* type);

// Points CURRENT at MANIFEST-<descriptor_number> atomically: writes a temp file, syncs it,
// renames it over CURRENT and syncs the folder. On error CURRENT still names the previous
// MANIFEST (the temp file is removed).
Status SetCurrentFile(Env* env, const std::string& dbname, uint64_t descriptor_number);

// True if CURRENT can be read and names MANIFEST-<descriptor_number>. Used after a failed
// SetCurrentFile to tell whether the new MANIFEST must stay (the rename happened) or may go.
bool CurrentFileNames(Env* env, const std::string& dbname, uint64_t descriptor_number);

}  // namespace zworld::engine
