/* The baseline for a MariaDB sink: a plain Connector/C client that writes
 * the same kind of windowed aggregates with multi-row INSERT statements.
 *
 *   mariadb_insert_peer HOST PORT USER PASSWORD DB TABLE ROWS BATCH [upsert]
 *
 * Recreates TABLE, inserts ROWS deterministic rows in statements of BATCH
 * rows each (with `upsert`: INSERT ... ON DUPLICATE KEY UPDATE), autocommit
 * on, and prints `rows=N seconds=S rows_per_s=R`, timing the inserts only.
 * Exit code 1 on a server error (its message on stderr), 2 on bad usage. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Row i belongs to shop i % 1000 and to the window starting i / 1000
 * minutes after this instant (2024-01-01 00:00:00 UTC): each (shop, window)
 * once, so the key never repeats. */
static const time_t first_window = 1704067200;
enum { shops = 1000 };

struct buffer {
  char* data;
  size_t size;
  size_t capacity;
};

static void die_oom(void) {
  fprintf(stderr, "mariadb_insert_peer: out of memory\n");
  exit(1);
}

static void reserve(struct buffer* b, size_t more) {
  if (b->size + more + 1 <= b->capacity)
    return;
  size_t capacity = b->capacity ? b->capacity : 4096;
  while (capacity < b->size + more + 1)
    capacity *= 2;
  char* data = realloc(b->data, capacity);
  if (data == NULL)
    die_oom();
  b->data = data;
  b->capacity = capacity;
}

static void append(struct buffer* b, const char* text, size_t length) {
  reserve(b, length);
  memcpy(b->data + b->size, text, length);
  b->size += length;
  b->data[b->size] = '\0';
}

static void append_str(struct buffer* b, const char* text) {
  append(b, text, strlen(text));
}

/* Appends `text` as a quoted SQL string literal. */
static void append_quoted(struct buffer* b, MYSQL* db, const char* text) {
  size_t length = strlen(text);
  reserve(b, 2 * length + 3);
  b->data[b->size++] = '\'';
  b->size += mysql_real_escape_string(db, b->data + b->size, text, length);
  b->data[b->size++] = '\'';
  b->data[b->size] = '\0';
}

/* A table name as a quoted identifier (backticks doubled). */
static void append_identifier(struct buffer* b, const char* name) {
  append_str(b, "`");
  for (const char* c = name; *c; ++c) {
    append(b, c, 1);
    if (*c == '`')
      append(b, c, 1);
  }
  append_str(b, "`");
}

static void fail(MYSQL* db, const char* what) {
  fprintf(stderr, "mariadb_insert_peer: %s: %s (%u)\n", what, mysql_error(db),
          mysql_errno(db));
  mysql_close(db);
  exit(1);
}

static void run(MYSQL* db, const struct buffer* sql, const char* what) {
  if (mysql_real_query(db, sql->data, sql->size) != 0)
    fail(db, what);
}

/* An integer argument of at least `min`, or exit 2. */
static long long parse_count(const char* text, const char* name,
                             long long min) {
  char* end = NULL;
  errno = 0;
  long long value = strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < min) {
    fprintf(stderr, "mariadb_insert_peer: %s must be an integer >= %lld: %s\n",
            name, min, text);
    exit(2);
  }
  return value;
}

static double seconds_since(const struct timespec* start) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - start->tv_sec) +
         (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Appends row i's values as `(shop_id,'window_start',cnt,total,'name')`. */
static void append_row(struct buffer* b, MYSQL* db, long long i) {
  char text[128];
  long long shop = i % shops;
  time_t window = first_window + (time_t)(i / shops) * 60;
  struct tm utc;
  gmtime_r(&window, &utc);
  char window_text[32];
  strftime(window_text, sizeof window_text, "%Y-%m-%d %H:%M:%S.000", &utc);
  /* total = i * 1.25, written from integers: exact, as DECIMAL stores it. */
  long long cents = i * 125;
  snprintf(text, sizeof text, "(%lld,'%s',%lld,%lld.%02lld,", shop, window_text,
           i, cents / 100, cents % 100);
  append_str(b, text);
  char name[32];
  snprintf(name, sizeof name, "shop-%lld", shop);
  append_quoted(b, db, name);
  append_str(b, ")");
}

int main(int argc, char** argv) {
  if (argc != 9 && !(argc == 10 && strcmp(argv[9], "upsert") == 0)) {
    fprintf(stderr, "usage: mariadb_insert_peer HOST PORT USER PASSWORD DB "
                    "TABLE ROWS BATCH [upsert]\n");
    return 2;
  }
  const char* host = argv[1];
  long long port = parse_count(argv[2], "PORT", 1);
  const char* user = argv[3];
  const char* password = argv[4];
  const char* database = argv[5];
  const char* table = argv[6];
  long long rows = parse_count(argv[7], "ROWS", 0);
  long long batch = parse_count(argv[8], "BATCH", 1);
  int upsert = argc == 10;
  if (port > 65535) {
    fprintf(stderr, "mariadb_insert_peer: PORT out of range: %lld\n", port);
    return 2;
  }

  MYSQL* db = mysql_init(NULL);
  if (db == NULL)
    die_oom();
  if (mysql_real_connect(db, host, user, password, database, (unsigned)port,
                         NULL, 0) == NULL)
    fail(db, "connect");
  if (mysql_set_character_set(db, "utf8mb4") != 0)
    fail(db, "set character set");
  if (mysql_autocommit(db, 1) != 0)
    fail(db, "autocommit");

  struct buffer sql = {0};
  append_str(&sql, "DROP TABLE IF EXISTS ");
  append_identifier(&sql, table);
  run(db, &sql, "drop table");
  sql.size = 0;
  append_str(&sql, "CREATE TABLE ");
  append_identifier(&sql, table);
  append_str(&sql, " (shop_id BIGINT, window_start DATETIME(3), cnt BIGINT, "
                   "total DECIMAL(18,2), name VARCHAR(64), "
                   "PRIMARY KEY (shop_id, window_start))");
  run(db, &sql, "create table");

  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long long first = 0; first < rows; first += batch) {
    long long end = first + batch < rows ? first + batch : rows;
    sql.size = 0;
    append_str(&sql, "INSERT INTO ");
    append_identifier(&sql, table);
    append_str(&sql, " (shop_id, window_start, cnt, total, name) VALUES ");
    for (long long i = first; i < end; ++i) {
      if (i > first)
        append_str(&sql, ",");
      append_row(&sql, db, i);
    }
    if (upsert)
      append_str(&sql, " ON DUPLICATE KEY UPDATE cnt=VALUES(cnt), "
                       "total=VALUES(total), name=VALUES(name)");
    run(db, &sql, "insert");
  }
  double seconds = seconds_since(&start);

  printf("rows=%lld seconds=%.3f rows_per_s=%.0f\n", rows, seconds,
         seconds > 0 ? (double)rows / seconds : 0.0);
  free(sql.data);
  mysql_close(db);
  return 0;
}
