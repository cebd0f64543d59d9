// RAII wrappers over the SQLite C API.
#include "vigil/sqlite/sqlite.h"

#include <algorithm>
#include <cerrno>

#include <sqlite3.h>

namespace vigil::sqlite {
namespace {

// SQLite says "database or disk is full" both for a full file system (ENOSPC)
// and a full database (max_page_count); a write that failed with ENOSPC under
// another code says less. "disk full" goes first, so the cause survives the
// wrapping of every layer above (the store, a plugin's refused call, a scan).
std::string described(sqlite3* db, const std::string& what) {
  int code = sqlite3_errcode(db) & 0xff;  // the primary code of an extended one
  bool full = code == SQLITE_FULL || (code == SQLITE_IOERR && sqlite3_system_errno(db) == ENOSPC);
  return (full ? "disk full: " : "") + what;
}

}  // namespace

std::string Database::error_message() const {
  return sqlite3_errmsg(db_);
}

Database::Database(const std::string& path, Access access) {
  int mode = access == Access::kReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path.c_str(), &db_, mode | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw SqliteError("cannot open " + path + ": " + message);
  }
  sqlite3_extended_result_codes(db_, 1);
}

Database::~Database() {
  sqlite3_close_v2(db_);
}

void Database::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    throw SqliteError(described(db_, text));
  }
}

std::string Database::read_blob(const char* table, const char* column, int64_t rowid, int64_t offset, int64_t size) {
  sqlite3_blob* blob = nullptr;
  if (sqlite3_blob_open(db_, "main", table, column, rowid, 0, &blob) != SQLITE_OK) {
    sqlite3_blob_close(blob);
    throw SqliteError(error_message());
  }
  int64_t length = sqlite3_blob_bytes(blob);  // an int: a BLOB is at most 2 GiB
  int64_t begin = std::clamp<int64_t>(offset, 0, length);
  std::string bytes(static_cast<size_t>(std::clamp<int64_t>(size, 0, length - begin)), '\0');
  int read = bytes.empty()
                 ? SQLITE_OK
                 : sqlite3_blob_read(blob, bytes.data(), static_cast<int>(bytes.size()), static_cast<int>(begin));
  sqlite3_blob_close(blob);
  if (read != SQLITE_OK) throw SqliteError(error_message());
  return bytes;
}

Statement::Statement(Database& db, const char* sql) : db_(db) {
  if (sqlite3_prepare_v2(db.handle(), sql, -1, &stmt_, nullptr) != SQLITE_OK) {
    throw SqliteError("prepare failed: " + db.error_message());
  }
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, std::string_view text) {
  if (sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT) != SQLITE_OK) {
    throw SqliteError("bind failed: " + db_.error_message());
  }
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  if (sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT) != SQLITE_OK) {
    throw SqliteError("bind failed: " + db_.error_message());
  }
  return *this;
}

Statement& Statement::bind(int index, int64_t number) {
  if (sqlite3_bind_int64(stmt_, index, number) != SQLITE_OK) {
    throw SqliteError("bind failed: " + db_.error_message());
  }
  return *this;
}

Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw SqliteError(described(db_.handle(), "step failed: " + db_.error_message()));
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Statement::text(int column) const {
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  int size = sqlite3_column_bytes(stmt_, column);
  return data == nullptr ? std::string() : std::string(data, static_cast<size_t>(size));
}

int64_t Statement::integer(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Transaction::Transaction(Database& db) : db_(db) {
  db_.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (!done_) {
    try {
      db_.exec("ROLLBACK");
    } catch (const SqliteError&) {  // nothing more to undo
    }
  }
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace vigil::sqlite
