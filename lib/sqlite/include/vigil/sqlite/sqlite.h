// Thin RAII wrappers over the SQLite C API: a connection, a prepared statement
// and a transaction. Errors throw SqliteError; callers (the state store, the
// platform store) turn them into Results.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

// The C API's handles, declared only: <sqlite3.h> stays out of every header
// that includes this one (the state store's clients among them).
struct sqlite3;
struct sqlite3_stmt;

namespace vigil::sqlite {

class SqliteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Database {
 public:
  // kReadOnly opens an existing database and never writes it (vigilctl
  // health reads the agent's store without changing a byte of it).
  enum class Access { kReadWrite, kReadOnly };
  explicit Database(const std::string& path, Access access = Access::kReadWrite);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(const char* sql);
  // Up to `size` bytes at `offset` of the BLOB in `table`.`column` of row
  // `rowid`, read incrementally: a slice of a large value costs its own
  // size, where substr() in SQL would load the whole value.
  std::string read_blob(const char* table, const char* column, int64_t rowid, int64_t offset, int64_t size);
  sqlite3* handle() const { return db_; }
  std::string error_message() const;

 private:
  sqlite3* db_ = nullptr;
};

class Statement {
 public:
  Statement(Database& db, const char* sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::string_view text);
  // Binary data (SQLite's length() counts its bytes; a TEXT value stops at a NUL).
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind(int index, int64_t number);
  Statement& bind_null(int index);
  // Advances; true while a row is available.
  bool step();
  // Runs a statement that returns no rows.
  void run();
  void reset();

  std::string text(int column) const;
  int64_t integer(int column) const;
  bool is_null(int column) const;

 private:
  Database& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE on construction; ROLLBACK unless commit() was called.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace vigil::sqlite
