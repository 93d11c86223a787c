//! SQLite (the C amalgamation bundled by `libsqlite3-sys`, through `rusqlite`): an
//! insert/select/update/index mix over one database, either in memory (`sqlite memory`)
//! or in a file in the working directory (`sqlite disk`: the harness preopens it as `.`).
//!
//! The workload: 80,000 rows inserted in transactions of 4,000 through a prepared
//! statement, two indexes created, point selects by primary key and by an indexed text
//! column, range aggregates over the composite index, a join with GROUP BY, ordered
//! selects with LIMIT, updates (by key and by range), deletes, and an integrity check.
//! Every query result is folded into one checksum, printed with the row counts: the same
//! line for both databases, so each checks the other. The file database is deleted before
//! and after the measured region; writes are not synced (`synchronous = OFF`), so the file
//! variant times SQLite's pager and the WASI file calls (open, `pread`, `pwrite`, unlink:
//! the harness builds the WASI SQLite with `HAVE_PREAD`, as on Linux) rather than the
//! device's flush latency. The one connection holds its lock for its
//! lifetime (`locking_mode = EXCLUSIVE`): on WASI, which has no `fcntl` locks, SQLite
//! locks with a directory (`mkdir`/`rmdir` per transaction, 50,000 pairs in this
//! workload) where the native build takes an `fcntl` lock, and the two would not be doing
//! the same work.

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, Statement};

const ROWS: u64 = 80_000;
const BATCH: u64 = 4_000;
const DB_FILE: &str = "kiln-bench-sqlite.db";

/// FNV-1a over every value a query returns, with a tag per type.
struct Checksum(u64);

impl Checksum {
    fn bytes(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn value(&mut self, value: ValueRef<'_>) {
        match value {
            ValueRef::Null => self.bytes(b"n"),
            ValueRef::Integer(int) => {
                self.bytes(b"i");
                self.bytes(&int.to_le_bytes());
            }
            ValueRef::Real(real) => {
                self.bytes(b"r");
                self.bytes(&real.to_bits().to_le_bytes());
            }
            ValueRef::Text(text) => {
                self.bytes(b"t");
                self.bytes(text);
            }
            ValueRef::Blob(blob) => {
                self.bytes(b"b");
                self.bytes(blob);
            }
        }
    }

    /// Runs a prepared query and folds every column of every row.
    fn query(&mut self, statement: &mut Statement<'_>, params: impl rusqlite::Params) -> u64 {
        let columns = statement.column_count();
        let mut rows = statement.query(params).expect("query");
        let mut count = 0;
        while let Some(row) = rows.next().expect("step") {
            for column in 0..columns {
                self.value(row.get_ref(column).expect("column"));
            }
            count += 1;
        }
        count
    }
}

fn note(rng: &mut kiln_bench_programs::Rng) -> String {
    let len = (rng.next_u64() % 40) as usize;
    (0..len)
        .map(|_| char::from(b'a' + (rng.next_u64() % 26) as u8))
        .collect()
}

fn owner(value: u64) -> String {
    format!("user{:05}", value % 20_000)
}

fn workload(conn: &mut Connection, sum: &mut Checksum) -> (u64, u64) {
    let mut rng = kiln_bench_programs::Rng::new(0x5eed_0001);
    conn.execute_batch(
        "PRAGMA temp_store = MEMORY;
         PRAGMA synchronous = OFF;
         PRAGMA locking_mode = EXCLUSIVE;
         CREATE TABLE accounts(
             id INTEGER PRIMARY KEY,
             owner TEXT NOT NULL,
             region INTEGER NOT NULL,
             balance INTEGER NOT NULL,
             score REAL NOT NULL,
             note TEXT);
         CREATE TABLE transfers(
             id INTEGER PRIMARY KEY,
             src INTEGER NOT NULL,
             dst INTEGER NOT NULL,
             amount INTEGER NOT NULL);",
    )
    .expect("schema");

    // Inserts, in transactions.
    for batch in 0..ROWS / BATCH {
        let tx = conn.transaction().expect("begin");
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO accounts(owner, region, balance, score, note)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .expect("prepare insert");
            let mut transfer = tx
                .prepare_cached("INSERT INTO transfers(src, dst, amount) VALUES (?1, ?2, ?3)")
                .expect("prepare transfer");
            for _ in 0..BATCH {
                let (a, b, c, d) = (
                    rng.next_u64(),
                    rng.next_u64(),
                    rng.next_u64(),
                    rng.next_u64(),
                );
                // Scores are multiples of 1/8: exact in binary, so sums round alike.
                insert
                    .execute(params![
                        owner(a),
                        (b % 100) as i64,
                        (c % 1_000_000) as i64,
                        (d % 10_000) as f64 / 8.0,
                        note(&mut rng),
                    ])
                    .expect("insert");
                let filled = (batch + 1) * BATCH;
                transfer
                    .execute(params![
                        (1 + a % filled) as i64,
                        (1 + b % filled) as i64,
                        (c % 5_000) as i64,
                    ])
                    .expect("transfer");
            }
        }
        tx.commit().expect("commit");
    }
    conn.execute_batch(
        "CREATE INDEX accounts_owner ON accounts(owner);
         CREATE INDEX accounts_region_balance ON accounts(region, balance);
         CREATE INDEX transfers_src ON transfers(src);",
    )
    .expect("indexes");

    // Point selects: by primary key and by the text index.
    {
        let mut by_id = conn
            .prepare("SELECT owner, balance, score FROM accounts WHERE id = ?1")
            .expect("prepare by_id");
        let mut by_owner = conn
            .prepare("SELECT count(*), sum(balance) FROM accounts WHERE owner = ?1")
            .expect("prepare by_owner");
        for _ in 0..32_000 {
            let id = 1 + rng.next_u64() % ROWS;
            sum.query(&mut by_id, [id as i64]);
        }
        for _ in 0..16_000 {
            sum.query(&mut by_owner, [owner(rng.next_u64())]);
        }
    }

    // Range aggregates over the composite index, a join, ordered selects.
    {
        let mut range = conn
            .prepare(
                "SELECT count(*), sum(balance), min(owner), max(score) FROM accounts
                 WHERE region = ?1 AND balance BETWEEN ?2 AND ?3",
            )
            .expect("prepare range");
        for _ in 0..3_000 {
            let low = rng.next_u64() % 900_000;
            let width = rng.next_u64() % 100_000;
            sum.query(
                &mut range,
                params![
                    (rng.next_u64() % 100) as i64,
                    low as i64,
                    (low + width) as i64
                ],
            );
        }
        let mut join = conn
            .prepare(
                "SELECT a.region, count(*), sum(t.amount), max(a.balance)
                 FROM transfers t JOIN accounts a ON a.id = t.src
                 WHERE t.amount > ?1 GROUP BY a.region ORDER BY a.region",
            )
            .expect("prepare join");
        sum.query(&mut join, [2_500_i64]);
        let mut top = conn
            .prepare(
                "SELECT id, owner, balance FROM accounts WHERE region = ?1
                 ORDER BY balance DESC, id LIMIT 20",
            )
            .expect("prepare top");
        for region in 0..100_i64 {
            sum.query(&mut top, [region]);
        }
        let mut groups = conn
            .prepare(
                "SELECT region, count(*), sum(balance), avg(score), max(length(note))
                 FROM accounts GROUP BY region ORDER BY region",
            )
            .expect("prepare groups");
        sum.query(&mut groups, []);
    }

    // Updates: by key in one transaction, then by range; deletes.
    {
        let tx = conn.transaction().expect("begin");
        {
            let mut update = tx
                .prepare_cached(
                    "UPDATE accounts SET balance = balance + ?1, score = score + 0.5
                     WHERE id = ?2",
                )
                .expect("prepare update");
            for _ in 0..16_000 {
                let amount = (rng.next_u64() % 1_000) as i64;
                let id = 1 + rng.next_u64() % ROWS;
                update.execute(params![amount, id as i64]).expect("update");
            }
        }
        tx.commit().expect("commit");
    }
    conn.execute_batch(
        "UPDATE accounts SET note = upper(note), balance = balance - 7
             WHERE region BETWEEN 10 AND 29;
         DELETE FROM accounts WHERE balance % 13 = 0;
         DELETE FROM transfers WHERE src NOT IN (SELECT id FROM accounts);",
    )
    .expect("range update and deletes");

    // The final state.
    let mut totals = conn
        .prepare(
            "SELECT count(*), sum(balance), total(score), sum(length(note)),
                    (SELECT count(*) FROM transfers), (SELECT sum(amount) FROM transfers)
             FROM accounts",
        )
        .expect("prepare totals");
    sum.query(&mut totals, []);
    let mut check = conn
        .prepare("PRAGMA integrity_check")
        .expect("prepare check");
    sum.query(&mut check, []);
    let accounts: i64 = conn
        .query_row("SELECT count(*) FROM accounts", [], |row| row.get(0))
        .expect("count accounts");
    let transfers: i64 = conn
        .query_row("SELECT count(*) FROM transfers", [], |row| row.get(0))
        .expect("count transfers");
    (accounts as u64, transfers as u64)
}

fn remove_db() {
    for path in [DB_FILE.to_string(), format!("{DB_FILE}-journal")] {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => panic!("removing {path}: {error}"),
        }
    }
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let disk = match mode.as_str() {
        "memory" => false,
        "disk" => true,
        _ => {
            eprintln!("usage: sqlite memory|disk");
            std::process::exit(2);
        }
    };
    if disk {
        remove_db();
    }
    let mut sum = Checksum(0xcbf2_9ce4_8422_2325);
    kiln_bench_programs::start();
    let mut conn = if disk {
        Connection::open(DB_FILE).expect("open the database file")
    } else {
        Connection::open_in_memory().expect("open an in-memory database")
    };
    let (accounts, transfers) = workload(&mut conn, &mut sum);
    conn.close().expect("close");
    kiln_bench_programs::end();
    if disk {
        remove_db();
    }
    println!(
        "sqlite {} version {} accounts {accounts} transfers {transfers} checksum {:016x}",
        if disk { "disk" } else { "memory" },
        rusqlite::version(),
        sum.0
    );
}
