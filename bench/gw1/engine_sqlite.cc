// engine=sqlite-rtree: SQLite's R*Tree virtual table on disk. Settings of GW-1.md section
// 1.8: journal_mode=WAL, synchronous=NORMAL, cache_size=-131072 (128 MiB), the table
// rtree(id, minX, maxX, minY, maxY, +payload BLOB) and the float_below() query.
#include <sqlite3.h>

#include <memory>

#include "engine.h"

namespace zworld::gw1 {
namespace {

class SqliteRtreeEngine final : public Engine {
 public:
  explicit SqliteRtreeEngine(const EngineConfig& config) : config_(config) {}
  ~SqliteRtreeEngine() override { Close(); }

  std::string Name() const override { return "sqlite-rtree"; }
  bool Persistent() const override { return true; }
  std::string Notes() const override {
    return std::string("sqlite-") + sqlite3_libversion() + ",rtree-f32,wal,synchronous-normal";
  }

  Status Open(const std::string& dir) override {
    path_ = dir + "/gw1.sqlite";
    if (sqlite3_open_v2(path_.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      return Error("open");
    }
    const std::string setup =
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=NORMAL;"
        "PRAGMA cache_size=-" +
        std::to_string(config_.cache_bytes / 1024) +
        ";"
        "CREATE VIRTUAL TABLE rt USING rtree(id, minX, maxX, minY, maxY, +payload BLOB);";
    if (sqlite3_exec(db_, setup.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Error("setup");
    }
    // journal_mode=WAL answers with the mode it got; make sure it is WAL.
    Status s = Prepare("PRAGMA journal_mode;", &journal_mode_);
    if (!s.ok()) return s;
    if (sqlite3_step(journal_mode_) != SQLITE_ROW ||
        std::string(reinterpret_cast<const char*>(sqlite3_column_text(journal_mode_, 0))) !=
            "wal") {
      return Status::NotSupported(path_, "journal_mode=WAL was refused");
    }
    sqlite3_reset(journal_mode_);
    if (!(s = Prepare("BEGIN", &begin_)).ok()) return s;
    if (!(s = Prepare("COMMIT", &commit_)).ok()) return s;
    if (!(s = Prepare("INSERT INTO rt VALUES(?1, ?2, ?2, ?3, ?3, ?4)", &insert_)).ok()) return s;
    if (!(s = Prepare("UPDATE rt SET minX=?1, maxX=?1, minY=?2, maxY=?2 WHERE id=?3", &update_))
             .ok()) {
      return s;
    }
    return Prepare(
        "SELECT id, minX, minY FROM rt WHERE minX>=?1 AND maxX<=?2 AND minY>=?3 AND maxY<=?4",
        &query_);
  }

  Status Load(std::span<const LoadEntity> batch) override {
    Status s = Run(begin_, "BEGIN");
    if (!s.ok()) return s;
    for (const LoadEntity& e : batch) {
      sqlite3_bind_int64(insert_, 1, static_cast<sqlite3_int64>(e.id));
      sqlite3_bind_double(insert_, 2, e.x);
      sqlite3_bind_double(insert_, 3, e.y);
      sqlite3_bind_blob(insert_, 4, e.payload, static_cast<int>(kPayloadBytes), SQLITE_STATIC);
      if (!(s = Run(insert_, "INSERT")).ok()) return s;
    }
    return Run(commit_, "COMMIT");
  }

  Status Query(const AoiBox& box, std::vector<uint64_t>* ids, QueryCounters*) override {
    sqlite3_bind_double(query_, 1, box.minx);
    sqlite3_bind_double(query_, 2, FloatBelow(box.maxx));
    sqlite3_bind_double(query_, 3, box.miny);
    sqlite3_bind_double(query_, 4, FloatBelow(box.maxy));
    int rc;
    while ((rc = sqlite3_step(query_)) == SQLITE_ROW) {
      const auto x = static_cast<float>(sqlite3_column_double(query_, 1));
      const auto y = static_cast<float>(sqlite3_column_double(query_, 2));
      if (box.Contains(x, y))
        ids->push_back(static_cast<uint64_t>(sqlite3_column_int64(query_, 0)));
    }
    sqlite3_reset(query_);
    return rc == SQLITE_DONE ? Status::OK() : Error("SELECT");
  }

  Status ApplyMoves(std::span<const Move> moves) override {
    for (size_t start = 0; start < moves.size(); start += kBatchSize) {
      Status s = Run(begin_, "BEGIN");
      if (!s.ok()) return s;
      const size_t end = std::min(moves.size(), start + kBatchSize);
      for (size_t i = start; i < end; ++i) {
        sqlite3_bind_double(update_, 1, moves[i].new_x);
        sqlite3_bind_double(update_, 2, moves[i].new_y);
        sqlite3_bind_int64(update_, 3, static_cast<sqlite3_int64>(moves[i].id));
        if (!(s = Run(update_, "UPDATE")).ok()) return s;
        if (sqlite3_changes(db_) != 1) {
          return Status::Corruption(
              path_, "UPDATE of entity " + std::to_string(moves[i].id) + " changed no row");
        }
      }
      if (!(s = Run(commit_, "COMMIT")).ok()) return s;
    }
    return Status::OK();
  }

  // Finalizes every statement and closes the connection; the last connection's close
  // checkpoints the WAL into the database file and removes the -wal file.
  Status Close() override {
    if (db_ == nullptr) return Status::OK();
    for (sqlite3_stmt** stmt : {&journal_mode_, &begin_, &commit_, &insert_, &update_, &query_}) {
      sqlite3_finalize(*stmt);
      *stmt = nullptr;
    }
    const int rc = sqlite3_close(db_);
    Status s = rc == SQLITE_OK ? Status::OK() : Error("close");
    db_ = nullptr;
    return s;
  }

 private:
  Status Error(const char* what) const {
    return Status::IOError(path_, std::string("sqlite ") + what + ": " +
                                      (db_ ? sqlite3_errmsg(db_) : "out of memory"));
  }

  Status Prepare(const char* sql, sqlite3_stmt** stmt) {
    if (sqlite3_prepare_v2(db_, sql, -1, stmt, nullptr) != SQLITE_OK) return Error(sql);
    return Status::OK();
  }

  // Steps a statement that returns no rows, then resets it.
  Status Run(sqlite3_stmt* stmt, const char* what) {
    const int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? Status::OK() : Error(what);
  }

  const EngineConfig config_;
  std::string path_;
  sqlite3* db_ = nullptr;  // owned
  sqlite3_stmt* journal_mode_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* update_ = nullptr;
  sqlite3_stmt* query_ = nullptr;
};

}  // namespace

std::unique_ptr<Engine> NewSqliteRtreeEngine(const EngineConfig& config) {
  return std::make_unique<SqliteRtreeEngine>(config);
}

}  // namespace zworld::gw1
