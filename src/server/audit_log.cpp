#include "server/audit_log.h"

#include <fcntl.h>
#include <openssl/hmac.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "audit/hash.h"
#include "core/error.h"

namespace hearth::server {

using ojson = nlohmann::ordered_json;

std::string utc_now() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[96];  // room for any int the format could print
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    return buf;
}

namespace {

constexpr int kVersion = 1;
const std::string kZeroHash(64, '0');
constexpr std::string_view kHashKey = ",\"hash\":\"";
constexpr size_t kSuffixLen = 9 + 64 + 2;  // ,"hash":" + hex + "}

std::string errno_text() { return std::strerror(errno); }


bool is_hex64(std::string_view s) {
    if (s.size() != 64) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

// A line split into its canonical bytes and stated hash, and parsed.
struct Parsed {
    std::string canonical;
    std::string hash;
    ojson j;
    uint64_t seq = 0;
    std::string alg, prev_hash, event;
};

// Reads the record's structure; returns a reason on failure ("" when well-formed). Does not
// check the hash.
std::string parse_record(std::string_view line, Parsed& p) {
    if (line.size() < kSuffixLen + 2 || line.substr(line.size() - 2) != "\"}" ||
        line.substr(line.size() - kSuffixLen, kHashKey.size()) != kHashKey)
        return "not a record: it does not end with a \"hash\" member";
    p.hash = std::string(line.substr(line.size() - 66, 64));
    if (!is_hex64(p.hash)) return "not a record: \"hash\" is not 64 lower-case hex digits";
    p.canonical = std::string(line.substr(0, line.size() - kSuffixLen)) + "}";
    try {
        p.j = ojson::parse(p.canonical);
    } catch (const std::exception&) {
        return "not a record: the line is not valid JSON";
    }
    if (!p.j.is_object()) return "not a record: not a JSON object";
    auto str = [&](const char* k, std::string& out) {
        if (!p.j.contains(k) || !p.j[k].is_string()) return false;
        out = p.j[k].get<std::string>();
        return true;
    };
    if (!p.j.contains("v") || p.j["v"] != kVersion) return "unknown record version (\"v\" must be 1)";
    if (!p.j.contains("seq") || !p.j["seq"].is_number_unsigned()) return "\"seq\" is missing or not a positive integer";
    p.seq = p.j["seq"].get<uint64_t>();
    if (!str("alg", p.alg) || (p.alg != "sha256" && p.alg != "hmac-sha256")) return "\"alg\" must be sha256 or hmac-sha256";
    if (!str("event", p.event)) return "\"event\" is missing";
    if (!str("prev_hash", p.prev_hash) || !is_hex64(p.prev_hash)) return "\"prev_hash\" is missing or malformed";
    std::string t;
    if (!str("time", t)) return "\"time\" is missing";
    return "";
}

// Checks the record's own hash under the log's mode; "" when it holds.
std::string check_hash(const Parsed& p, const std::string& key) {
    if (p.alg == "hmac-sha256" && key.empty())
        return "the record is HMAC-signed (alg hmac-sha256): give the key to verify it";
    if (p.alg == "sha256" && !key.empty())
        return "the record is not HMAC-signed but an HMAC key was given (records must not be downgraded)";
    if (audit_record_hash(p.canonical, key) != p.hash)
        return key.empty() ? "hash mismatch: the record's bytes were altered" : "HMAC mismatch: the record was altered or signed with another key";
    return "";
}

}  // namespace

AuditContent parse_audit_content(const std::string& s) {
    if (s == "full") return AuditContent::Full;
    if (s == "hashes") return AuditContent::Hashes;
    throw Error("audit content policy must be 'full' or 'hashes', got '" + s + "'");
}
AuditFsync parse_audit_fsync(const std::string& s) {
    if (s == "every") return AuditFsync::Every;
    if (s == "interval") return AuditFsync::Interval;
    if (s == "none") return AuditFsync::None;
    throw Error("audit fsync policy must be 'every', 'interval' or 'none', got '" + s + "'");
}
const char* to_string(AuditContent c) { return c == AuditContent::Full ? "full" : "hashes"; }
const char* to_string(AuditFsync f) {
    return f == AuditFsync::Every ? "every" : f == AuditFsync::Interval ? "interval" : "none";
}

std::string audit_record_hash(const std::string& canonical, const std::string& hmac_key) {
    if (hmac_key.empty()) return audit::sha256_hex(canonical);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), hmac_key.data(), static_cast<int>(hmac_key.size()),
              reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), md, &n) ||
        n != 32)
        throw Error("HMAC-SHA-256 failed (OpenSSL)");
    static const char* kHex = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < n; ++i) {
        out += kHex[md[i] >> 4];
        out += kHex[md[i] & 15];
    }
    return out;
}

std::string read_hmac_key_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("HMAC key file " + path + ": cannot open");
    std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!key.empty() && key.back() == '\n') key.pop_back();
    if (!key.empty() && key.back() == '\r') key.pop_back();
    if (key.empty()) throw Error("HMAC key file " + path + ": empty");
    return key;
}

// ---- writer ----

namespace {

// The bytes after the `lines`-th newline from the end (or the whole file), as read from fd.
std::string read_tail(int fd, uint64_t size, int lines, uint64_t& start) {
    std::string buf;
    uint64_t pos = size;
    constexpr uint64_t kChunk = 1 << 16;
    auto newlines = [&] {
        int n = 0;
        for (char c : buf) n += c == '\n';
        return n;
    };
    while (pos > 0 && newlines() <= lines) {
        const uint64_t n = std::min(kChunk, pos);
        pos -= n;
        std::string chunk(n, '\0');
        ssize_t got = pread(fd, chunk.data(), n, static_cast<off_t>(pos));
        if (got != static_cast<ssize_t>(n)) throw Error("cannot read the audit log's tail: " + errno_text());
        buf = chunk + buf;
    }
    // Drop whatever precedes the newline that starts the wanted lines.
    size_t cut = 0;
    if (pos > 0 || newlines() > lines) {
        int seen = 0;
        for (size_t i = buf.size(); i-- > 0;) {
            // A final newline ends the last line; it does not start one.
            if (buf[i] == '\n' && i + 1 != buf.size() && ++seen == lines + 1) {
                cut = i + 1;
                break;
            }
        }
    }
    start = pos + cut;
    return buf.substr(cut);
}

}  // namespace

AuditLog::AuditLog(AuditLogOptions opt) : opt_(std::move(opt)) {
    const std::string& path = opt_.path;
    const bool existed = std::filesystem::exists(path);
    fd_ = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) throw Error("audit log " + path + ": cannot open: " + errno_text());
    auto fail = [&](const std::string& msg) {
        ::close(fd_);
        fd_ = -1;
        throw Error("audit log " + path + ": " + msg);
    };
    if (flock(fd_, LOCK_EX | LOCK_NB) != 0)
        fail("in use by another process (one writer per log: the chain would fork)");
    struct stat st{};
    if (fstat(fd_, &st) != 0) fail("cannot stat: " + errno_text());
    if (!S_ISREG(st.st_mode)) fail("not a regular file");
    if (!existed) {
        // Make the new directory entry durable too.
        const auto dir = std::filesystem::absolute(path).parent_path();
        int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            ::fsync(dfd);
            ::close(dfd);
        }
    }
    prev_hash_ = kZeroHash;
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size > 0) {
        uint64_t start = 0;
        std::string tail;
        try {
            tail = read_tail(fd_, size, 2, start);
        } catch (const Error& e) {
            fail(e.what());
        }
        // Split into complete lines and an unterminated remainder.
        std::vector<std::string> lines;
        std::string partial;
        size_t b = 0;
        for (size_t i = 0; i < tail.size(); ++i)
            if (tail[i] == '\n') {
                lines.push_back(tail.substr(b, i - b));
                b = i + 1;
            }
        partial = tail.substr(b);
        const uint64_t partial_offset = size - partial.size();
        if (lines.empty())
            fail(partial.empty() ? "unreadable tail" : "holds no complete record (only " + std::to_string(partial.size()) +
                                                           " bytes without a newline); move it aside");
        Parsed last;
        std::string why = parse_record(lines.back(), last);
        if (why.empty()) why = check_hash(last, opt_.hmac_key);
        if (why.empty() && lines.size() >= 2) {
            Parsed before;
            if (parse_record(lines[lines.size() - 2], before).empty() &&
                (last.prev_hash != before.hash || last.seq != before.seq + 1))
                why = "it does not chain to the record before it";
        }
        if (!why.empty())
            fail("the last complete record does not verify (" + why +
                 "); the log may have been tampered with. Run `hearth log verify " + path +
                 "`, and move the file aside to start a new log");
        seq_ = last.seq;
        prev_hash_ = last.hash;
        if (!partial.empty()) {
            ojson rec;
            rec["event"] = "recovery";
            rec["recovers"] = {{"offset", partial_offset},
                               {"bytes", partial.size()},
                               {"sha256", audit::sha256_hex(partial)}};
            rec["note"] = "an unterminated line (a write cut short by a crash) precedes this record; it is kept as is";
            open_note_ = "the last line (" + std::to_string(partial.size()) + " bytes at offset " +
                         std::to_string(partial_offset) +
                         ") was cut short by a crash; it is kept, and a recovery record after it describes it";
            std::lock_guard<std::mutex> lock(mu_);
            append_locked_prefix_ = "\n";
            append(std::move(rec));
        }
    }
    if (opt_.fsync == AuditFsync::Interval) syncer_ = std::thread([this] { sync_loop(); });
}

AuditLog::~AuditLog() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (syncer_.joinable()) syncer_.join();
    if (fd_ >= 0) {
        if (dirty_) ::fdatasync(fd_);
        ::close(fd_);
    }
}

uint64_t AuditLog::last_seq() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seq_;
}

bool AuditLog::healthy() const {
    std::lock_guard<std::mutex> lock(mu_);
    return failed_.empty();
}

void AuditLog::sync_loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
        cv_.wait_for(lock, std::chrono::milliseconds(std::max(1, opt_.fsync_interval_ms)));
        if (dirty_ && fd_ >= 0) {
            dirty_ = false;
            ::fdatasync(fd_);
        }
    }
}

void AuditLog::write_line(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
        ssize_t n = ::write(fd_, bytes.data() + off, bytes.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            failed_ = "write failed: " + errno_text();
            throw Error("audit log " + opt_.path + ": " + failed_);
        }
        off += static_cast<size_t>(n);
    }
    if (opt_.fsync == AuditFsync::Every) {
        if (::fdatasync(fd_) != 0) {
            failed_ = "fdatasync failed: " + errno_text();
            throw Error("audit log " + opt_.path + ": " + failed_);
        }
    } else {
        dirty_ = true;
    }
}

// Called with mu_ held (or from the constructor).
void AuditLog::append(ojson body) {
    if (!failed_.empty()) throw Error("audit log " + opt_.path + ": unusable after an earlier error (" + failed_ + ")");
    ojson rec;
    rec["v"] = kVersion;
    rec["seq"] = seq_ + 1;
    rec["time"] = utc_now();
    rec["alg"] = opt_.hmac_key.empty() ? "sha256" : "hmac-sha256";
    for (auto& [k, v] : body.items()) rec[k] = std::move(v);
    rec["prev_hash"] = prev_hash_;
    const std::string canonical = rec.dump(-1, ' ', false, ojson::error_handler_t::replace);
    const std::string hash = audit_record_hash(canonical, opt_.hmac_key);
    std::string line = append_locked_prefix_;
    append_locked_prefix_.clear();
    line.append(canonical, 0, canonical.size() - 1);
    line += kHashKey;
    line += hash;
    line += "\"}\n";
    write_line(line);
    ++seq_;
    prev_hash_ = hash;
}

void AuditLog::append_start(const ojson& models) {
    ojson rec;
    rec["event"] = "start";
    rec["content"] = to_string(opt_.content);
    rec["fsync"] = to_string(opt_.fsync);
    rec["models"] = models;
    std::lock_guard<std::mutex> lock(mu_);
    append(std::move(rec));
}

void AuditLog::append_request(const AuditEntry& e) {
    auto opt_str = [](const std::string& s) { return s.empty() ? ojson(nullptr) : ojson(s); };
    ojson rec;
    rec["event"] = "request";
    rec["request_id"] = opt_str(e.request_id);
    rec["key_id"] = opt_str(e.key_id);
    rec["route"] = e.route;
    rec["model"] = opt_str(e.model);
    rec["served_by"] = opt_str(e.served_by);
    rec["model_sha256"] = opt_str(e.model_sha256);
    rec["request_sha256"] = opt_str(e.request_sha256);
    rec["content"] = to_string(opt_.content);
    if (opt_.content == AuditContent::Full) {
        rec["prompt"] = e.prompt;
        rec["response"] = e.response;
    } else {
        rec["prompt_sha256"] =
            e.prompt.is_null() ? ojson(nullptr) : ojson(audit::sha256_hex(e.prompt.dump(-1, ' ', false, ojson::error_handler_t::replace)));
        rec["response_sha256"] = audit::sha256_hex(e.response);
    }
    rec["prompt_tokens"] = e.prompt_tokens;
    rec["completion_tokens"] = e.completion_tokens;
    rec["latency_ms"] = static_cast<int64_t>(e.latency_ms + 0.5);
    rec["finish_reason"] = opt_str(e.finish_reason);
    rec["status"] = e.status;
    rec["error"] = opt_str(e.error);
    std::lock_guard<std::mutex> lock(mu_);
    append(std::move(rec));
}

// ---- verifier ----

VerifyReport verify_audit_log(const std::string& path, const std::string& hmac_key) {
    VerifyReport r;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("audit log " + path + ": cannot open");
    uint64_t expect_seq = 1;
    std::string prev = kZeroHash;
    uint64_t line_no = 0, offset = 0;
    struct Broken {
        uint64_t line = 0, offset = 0, bytes = 0;
        std::string sha, why;
    };
    std::optional<Broken> broken;
    auto bad = [&](uint64_t line, std::string why) {
        r.ok = false;
        r.bad_line = line;
        r.reason = std::move(why);
        return r;
    };
    std::string line;
    while (std::getline(in, line)) {
        ++line_no;
        const uint64_t line_offset = offset;
        const bool terminated = !in.eof();
        offset += line.size() + (terminated ? 1 : 0);
        if (!terminated) {
            if (broken) return bad(broken->line, broken->why);
            return bad(line_no, "truncated: the last line has no newline (" + std::to_string(line.size()) +
                                    " bytes; a write cut short by a crash, or the file was cut). Restarting the "
                                    "server on this log records the recovery");
        }
        Parsed p;
        std::string why = parse_record(line, p);
        if (!why.empty()) {
            if (broken) return bad(broken->line, broken->why);
            broken = Broken{line_no, line_offset, line.size(), audit::sha256_hex(line), why};
            continue;
        }
        if (std::string h = check_hash(p, hmac_key); !h.empty())
            return bad(line_no, "record seq " + std::to_string(p.seq) + ": " + h);
        if (broken) {
            const ojson& rec = p.j.contains("recovers") ? p.j["recovers"] : ojson();
            const bool matches = p.event == "recovery" && rec.is_object() && rec.value("offset", uint64_t{0}) == broken->offset &&
                                 rec.value("bytes", uint64_t{0}) == broken->bytes && rec.value("sha256", "") == broken->sha;
            if (!matches) return bad(broken->line, broken->why);
            ++r.recovered;
            broken.reset();
        } else if (p.event == "recovery") {
            return bad(line_no, "record seq " + std::to_string(p.seq) +
                                    ": a recovery record that does not follow a cut-short line");
        }
        if (p.seq > expect_seq)
            return bad(line_no, "record seq " + std::to_string(p.seq) + ": records " + std::to_string(expect_seq) +
                                    (p.seq - 1 > expect_seq ? ".." + std::to_string(p.seq - 1) : "") +
                                    " are missing (deleted) before this line");
        if (p.seq < expect_seq)
            return bad(line_no, "record seq " + std::to_string(p.seq) + " is out of order (expected seq " +
                                    std::to_string(expect_seq) + "): records were reordered or duplicated");
        if (p.prev_hash != prev)
            return bad(line_no, "record seq " + std::to_string(p.seq) +
                                    ": prev_hash does not match the hash of the record before it (records were "
                                    "removed, inserted or replaced)");
        prev = p.hash;
        ++expect_seq;
        ++r.records;
        r.last_seq = p.seq;
        r.last_hash = p.hash;
    }
    if (in.bad()) throw Error("audit log " + path + ": read error");
    if (broken) return bad(broken->line, broken->why);
    r.ok = true;
    return r;
}

}  // namespace hearth::server
