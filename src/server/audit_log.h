#pragma once
// The server's tamper-evident audit log: one JSON object per line, append-only, each record
// chained to the one before it by hash.
//
// Record format (version 1). A record is a compact JSON object whose last member is "hash":
//   {"v":1,"seq":N,"time":"...Z","alg":"sha256",...,"prev_hash":"<hex>","hash":"<hex>"}
// Its canonical bytes are the line with the final `,"hash":"<64 hex>"` removed (so they end
// in "}"); "hash" is SHA-256 of those bytes, or HMAC-SHA-256 under a secret key when
// "alg" is "hmac-sha256". "seq" counts from 1; the first record's "prev_hash" is 64 zeros;
// every other record's "prev_hash" is the hash of the record on the line before it.
//
// What each mode protects against:
//   sha256       edits, deletions, insertions and reordering anywhere but at the very end are
//                found by anyone, with no secret. Someone who can rewrite the whole file can
//                re-chain it, and cutting records off the end leaves a valid (shorter) chain:
//                keep the last seq/hash `hearth log verify` prints somewhere else to catch that.
//   hmac-sha256  as above, and without the key nobody can produce a record that verifies, so
//                rewriting and re-chaining the file is caught too. Cutting off the tail still
//                needs an outside anchor. The key must not live where the log lives.
//
// Crashes: a record is written with one write() on an O_APPEND descriptor, so a crash leaves
// at worst one partial last line (no newline). On open, that line is kept as evidence and a
// "recovery" record naming its line number, length and SHA-256 is appended after it (in the
// same write as the newline that ends it); the chain continues from the last good record.
// `hearth log verify` accepts such a line only when the recovery record right after it
// describes it exactly; a partial line at the end of the file is reported as truncated.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace hearth::server {

enum class AuditContent { Full, Hashes };  // prompt/response text, or only their SHA-256
enum class AuditFsync { Every, Interval, None };

AuditContent parse_audit_content(const std::string& s);  // "full" | "hashes"; throws hearth::Error
AuditFsync parse_audit_fsync(const std::string& s);      // "every" | "interval" | "none"
const char* to_string(AuditContent c);
const char* to_string(AuditFsync f);

struct AuditLogOptions {
    std::string path;
    AuditContent content = AuditContent::Full;
    AuditFsync fsync = AuditFsync::Every;  // every: fdatasync before append() returns
    int fsync_interval_ms = 1000;          // interval: a background thread syncs this often
    std::string hmac_key;                  // non-empty: records are HMAC-SHA-256 under it
};

// One finished request as the server saw it.
struct AuditEntry {
    std::string request_id;
    std::string key_id;        // "" when no key was given or it was wrong
    std::string model;         // the name the request asked for ("" if unreadable)
    std::string served_by;     // the local alias or "upstream:NAME" that answered ("" if none)
    std::string model_sha256;  // of the local model file ("" for upstreams / none)
    std::string route;         // HTTP path
    // Chat messages, completion prompt (text or token ids), or null. Under the "hashes" policy
    // prompt_sha256 is SHA-256 of its compact JSON (Python: json.dumps(v, separators=(",", ":"),
    // ensure_ascii=False)) and response_sha256 that of the UTF-8 text.
    nlohmann::ordered_json prompt;
    std::string request_sha256;     // SHA-256 of the raw request body
    std::string response;           // generated text
    int64_t prompt_tokens = 0;
    int64_t completion_tokens = 0;
    double latency_ms = 0;
    std::string finish_reason;  // stop | length | cancelled | error | ""
    int status = 0;             // HTTP status sent
    std::string error;          // error message, "" on success
};

class AuditLog {
public:
    // Opens (creating with mode 0600 if absent) and locks the file (flock: a second writer
    // is refused), verifies the tail and continues the chain. Throws hearth::Error naming the
    // file if the last complete record does not verify (tampering, or a key that differs).
    explicit AuditLog(AuditLogOptions opt);
    ~AuditLog();
    AuditLog(const AuditLog&) = delete;
    AuditLog& operator=(const AuditLog&) = delete;

    void append_request(const AuditEntry& e);
    // A "start" record: the server came up with these models ([{alias, path, sha256}, ...]).
    void append_start(const nlohmann::ordered_json& models);

    uint64_t last_seq() const;
    // False once a write or sync failed: later records could not be chained, so the server
    // stops serving generation requests rather than serve them unaudited.
    bool healthy() const;
    const AuditLogOptions& options() const { return opt_; }
    // What open() found: "" for a clean tail, else a sentence about the recovered line.
    const std::string& open_note() const { return open_note_; }

private:
    void append(nlohmann::ordered_json body);  // fills v/seq/time/alg/prev_hash, hashes, writes
    void write_line(const std::string& bytes);
    void sync_loop();

    AuditLogOptions opt_;
    int fd_ = -1;
    mutable std::mutex mu_;
    uint64_t seq_ = 0;
    std::string prev_hash_;
    std::string open_note_;
    std::string append_locked_prefix_;  // "\n" to end a cut-short line, written with the next record
    std::string failed_;
    bool dirty_ = false;
    bool stopping_ = false;
    std::condition_variable cv_;
    std::thread syncer_;
};

// ---- verification ----

struct VerifyReport {
    bool ok = false;
    uint64_t records = 0;        // records that verified
    uint64_t recovered = 0;      // crash-truncated lines acknowledged by a recovery record
    uint64_t last_seq = 0;
    std::string last_hash;
    uint64_t bad_line = 0;       // 1-based line of the first problem (0 when ok)
    std::string reason;          // what is wrong there
};

// Reads the whole file. With a non-empty hmac_key every record must be "hmac-sha256" and
// verify under it; without one, "hmac-sha256" records are reported as unverifiable.
VerifyReport verify_audit_log(const std::string& path, const std::string& hmac_key = "");

// The record hash: SHA-256 of `canonical`, or HMAC-SHA-256 under `hmac_key` when non-empty.
std::string audit_record_hash(const std::string& canonical, const std::string& hmac_key);

// Now as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC), the records' "time" (the shadow pairs use it too).
std::string utc_now();

// Reads a key file (its bytes, one trailing newline dropped); throws hearth::Error if empty.
std::string read_hmac_key_file(const std::string& path);

}  // namespace hearth::server
