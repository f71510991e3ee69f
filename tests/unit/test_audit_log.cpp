// The server's audit log: chaining, reopening, each kind of tampering, crash recovery, HMAC.
// Logs written by an independent implementation (tools/audit_log_reference.py, Python's
// hashlib/hmac) are held here too, so the format is not only checked against itself.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "audit/hash.h"
#include "core/error.h"
#include "server/audit_log.h"

using namespace hearth::server;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path dir;
    TempDir() {
        dir = fs::temp_directory_path() / ("hearth-audit-" + std::to_string(::getpid()) + "-" +
                                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    ~TempDir() { fs::remove_all(dir); }
    std::string file(const std::string& name) const { return (dir / name).string(); }
};

std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<std::string> out;
    std::string l;
    while (std::getline(in, l)) out.push_back(l);
    return out;
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    for (const auto& l : lines) out << l << '\n';
}

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

AuditEntry entry(int i) {
    AuditEntry e;
    e.request_id = "chatcmpl-" + std::to_string(i);
    e.key_id = "alice";
    e.model = "tiny";
    e.served_by = "tiny";
    e.model_sha256 = std::string(64, 'a');
    e.route = "/v1/chat/completions";
    e.prompt = nlohmann::ordered_json::array({{{"role", "user"}, {"content", "hello " + std::to_string(i)}}});
    e.request_sha256 = hearth::audit::sha256_hex("body" + std::to_string(i));
    e.response = "world \"" + std::to_string(i) + "\"\n\xe2\x98\x83";
    e.prompt_tokens = 10 + i;
    e.completion_tokens = 3;
    e.latency_ms = 12.5;
    e.finish_reason = "stop";
    e.status = 200;
    return e;
}

std::string make_log(const std::string& path, int n, const std::string& key = "",
                     AuditContent content = AuditContent::Full) {
    AuditLogOptions o;
    o.path = path;
    o.hmac_key = key;
    o.content = content;
    AuditLog log(o);
    log.append_start(nlohmann::ordered_json::array());
    for (int i = 1; i < n; ++i) log.append_request(entry(i));
    return path;
}

}  // namespace

TEST(AuditLog, ChainVerifiesAndHashIsSha256OfCanonicalBytes) {
    TempDir t;
    const std::string p = make_log(t.file("a.jsonl"), 5);
    VerifyReport r = verify_audit_log(p);
    EXPECT_TRUE(r.ok) << r.reason;
    EXPECT_EQ(r.records, 5u);
    EXPECT_EQ(r.last_seq, 5u);
    const auto lines = read_lines(p);
    ASSERT_EQ(lines.size(), 5u);
    // Each line: canonical bytes + ,"hash":"<sha256 of them>"}; prev_hash links to the line before.
    std::string prev(64, '0');
    for (size_t i = 0; i < lines.size(); ++i) {
        const std::string& l = lines[i];
        const size_t at = l.rfind(",\"hash\":\"");
        ASSERT_NE(at, std::string::npos);
        const std::string canonical = l.substr(0, at) + "}";
        const std::string hash = l.substr(at + 9, 64);
        EXPECT_EQ(hearth::audit::sha256_hex(canonical), hash);
        auto j = nlohmann::ordered_json::parse(l);
        EXPECT_EQ(j["seq"], i + 1);
        EXPECT_EQ(j["prev_hash"], prev);
        prev = hash;
    }
    auto j = nlohmann::ordered_json::parse(lines[2]);
    EXPECT_EQ(j["event"], "request");
    EXPECT_EQ(j["key_id"], "alice");
    EXPECT_EQ(j["response"], "world \"2\"\n\xe2\x98\x83");
    EXPECT_EQ(j["prompt"][0]["content"], "hello 2");
    EXPECT_EQ(j["status"], 200);
}

TEST(AuditLog, HashesPolicyStoresDigestsNotText) {
    TempDir t;
    const std::string p = make_log(t.file("h.jsonl"), 3, "", AuditContent::Hashes);
    const std::string all = read_all(p);
    EXPECT_EQ(all.find("hello 1"), std::string::npos);
    auto j = nlohmann::ordered_json::parse(read_lines(p)[1]);
    EXPECT_FALSE(j.contains("prompt"));
    EXPECT_EQ(j["response_sha256"], hearth::audit::sha256_hex(entry(1).response));
    EXPECT_EQ(j["prompt_sha256"], hearth::audit::sha256_hex(entry(1).prompt.dump()));
    EXPECT_TRUE(verify_audit_log(p).ok);
}

TEST(AuditLog, ReopenContinuesTheChain) {
    TempDir t;
    const std::string p = make_log(t.file("r.jsonl"), 3);
    {
        AuditLogOptions o;
        o.path = p;
        AuditLog log(o);
        EXPECT_EQ(log.last_seq(), 3u);
        EXPECT_TRUE(log.open_note().empty());
        log.append_request(entry(9));
    }
    VerifyReport r = verify_audit_log(p);
    EXPECT_TRUE(r.ok) << r.reason;
    EXPECT_EQ(r.records, 4u);
}

TEST(AuditLog, IntervalAndNoFsyncPoliciesWriteTheSameChain) {
    TempDir t;
    for (AuditFsync f : {AuditFsync::Interval, AuditFsync::None}) {
        AuditLogOptions o;
        o.path = t.file(std::string("f-") + to_string(f) + ".jsonl");
        o.fsync = f;
        o.fsync_interval_ms = 5;
        {
            AuditLog log(o);
            for (int i = 0; i < 20; ++i) log.append_request(entry(i));
            std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let the syncer run
        }
        VerifyReport r = verify_audit_log(o.path);
        EXPECT_TRUE(r.ok) << to_string(f) << ": " << r.reason;
        EXPECT_EQ(r.records, 20u);
    }
}

TEST(AuditLog, SecondWriterIsRefused) {
    TempDir t;
    AuditLogOptions o;
    o.path = t.file("lock.jsonl");
    AuditLog first(o);
    EXPECT_THROW({ AuditLog second(o); }, hearth::Error);
}

TEST(AuditLog, EditedRecordIsNamed) {
    TempDir t;
    const std::string p = make_log(t.file("e.jsonl"), 5);
    auto lines = read_lines(p);
    const size_t at = lines[2].find("hello 2");
    ASSERT_NE(at, std::string::npos);
    lines[2].replace(at, 7, "HELLO 2");
    write_lines(p, lines);
    VerifyReport r = verify_audit_log(p);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.bad_line, 3u);
    EXPECT_NE(r.reason.find("altered"), std::string::npos) << r.reason;
    // The server refuses to continue a log whose last record was altered.
    lines = read_lines(make_log(t.file("e2.jsonl"), 3));
    lines.back().replace(lines.back().find("hello"), 5, "HELLO");
    write_lines(t.file("e2.jsonl"), lines);
    AuditLogOptions o;
    o.path = t.file("e2.jsonl");
    EXPECT_THROW({ AuditLog log(o); }, hearth::Error);
}

TEST(AuditLog, DeletedRecordIsAGap) {
    TempDir t;
    const std::string p = make_log(t.file("d.jsonl"), 5);
    auto lines = read_lines(p);
    lines.erase(lines.begin() + 2);
    write_lines(p, lines);
    VerifyReport r = verify_audit_log(p);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.bad_line, 3u);
    EXPECT_NE(r.reason.find("records 3 are missing"), std::string::npos) << r.reason;
    // Deleting the first record is caught too.
    lines = read_lines(make_log(t.file("d2.jsonl"), 3));
    lines.erase(lines.begin());
    write_lines(t.file("d2.jsonl"), lines);
    r = verify_audit_log(t.file("d2.jsonl"));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.bad_line, 1u);
}

TEST(AuditLog, ReorderedRecordsAreFound) {
    TempDir t;
    const std::string p = make_log(t.file("o.jsonl"), 5);
    auto lines = read_lines(p);
    std::swap(lines[1], lines[2]);
    write_lines(p, lines);
    VerifyReport r = verify_audit_log(p);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.bad_line, 2u);
}

TEST(AuditLog, ReplacedRecordWithValidHashBreaksTheLink) {
    // A record rewritten with a correct hash of its own still fails its successor's prev_hash.
    TempDir t;
    const std::string p = make_log(t.file("x.jsonl"), 4);
    auto lines = read_lines(p);
    std::string& l = lines[1];
    std::string canonical = l.substr(0, l.rfind(",\"hash\":\"")) + "}";
    canonical.replace(canonical.find("hello 1"), 7, "HELLO 1");
    l = canonical.substr(0, canonical.size() - 1) + ",\"hash\":\"" + hearth::audit::sha256_hex(canonical) + "\"}";
    write_lines(p, lines);
    VerifyReport r = verify_audit_log(p);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.bad_line, 3u);
    EXPECT_NE(r.reason.find("prev_hash"), std::string::npos) << r.reason;
}

TEST(AuditLog, TruncatedTailIsReportedThenRecovered) {
    TempDir t;
    const std::string p = make_log(t.file("t.jsonl"), 4);
    std::string all = read_all(p);
    const size_t cut = all.size() - 40;  // mid-way through the last record
    fs::resize_file(p, cut);
    VerifyReport r = verify_audit_log(p);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.bad_line, 4u);
    EXPECT_NE(r.reason.find("truncated"), std::string::npos) << r.reason;
    {
        AuditLogOptions o;
        o.path = p;
        AuditLog log(o);  // a restart after the crash
        EXPECT_FALSE(log.open_note().empty());
        EXPECT_EQ(log.last_seq(), 4u);  // 3 good records + the recovery record
        log.append_request(entry(7));
    }
    r = verify_audit_log(p);
    EXPECT_TRUE(r.ok) << r.reason;
    EXPECT_EQ(r.recovered, 1u);
    EXPECT_EQ(r.records, 5u);
    auto lines = read_lines(p);
    ASSERT_EQ(lines.size(), 6u);
    EXPECT_EQ(nlohmann::ordered_json::parse(lines[4])["event"], "recovery");
    // Altering the kept partial line afterwards no longer matches the recovery record.
    lines[3][5] = lines[3][5] == 'x' ? 'y' : 'x';
    write_lines(p, lines);
    r = verify_audit_log(p);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.bad_line, 4u);
}

TEST(AuditLog, HmacModeNeedsTheKey) {
    TempDir t;
    const std::string p = make_log(t.file("m.jsonl"), 3, "s3cret");
    EXPECT_TRUE(verify_audit_log(p, "s3cret").ok);
    VerifyReport r = verify_audit_log(p);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.reason.find("HMAC"), std::string::npos);
    r = verify_audit_log(p, "other");
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.bad_line, 1u);
    // Someone without the key re-chains the whole file with plain SHA-256: a key holder sees it.
    const std::string q = make_log(t.file("plain.jsonl"), 3);
    EXPECT_FALSE(verify_audit_log(q, "s3cret").ok);
    // Reopening with another key is refused.
    AuditLogOptions o;
    o.path = p;
    o.hmac_key = "wrong";
    EXPECT_THROW({ AuditLog log(o); }, hearth::Error);
}

TEST(AuditLog, GarbageAndEmptyFiles) {
    TempDir t;
    write_lines(t.file("g.jsonl"), {"not json at all"});
    VerifyReport r = verify_audit_log(t.file("g.jsonl"));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.bad_line, 1u);
    write_lines(t.file("empty.jsonl"), {});
    EXPECT_TRUE(verify_audit_log(t.file("empty.jsonl")).ok);
    EXPECT_THROW(verify_audit_log(t.file("missing.jsonl")), hearth::Error);
    AuditLogOptions o;
    o.path = t.file("g.jsonl");
    EXPECT_THROW({ AuditLog log(o); }, hearth::Error);
    EXPECT_THROW(parse_audit_fsync("sometimes"), hearth::Error);
    EXPECT_THROW(parse_audit_content("all"), hearth::Error);
}

// Logs written by tools/audit_log_reference.py (Python hashlib/hmac), and the same logs with
// the edits that script also made, as it reports them.
TEST(AuditLog, IndependentReferenceLogs) {
    const std::string dir = std::string(HEARTH_FIXTURES) + "/audit_log/";
    VerifyReport r = verify_audit_log(dir + "reference_sha256.jsonl");
    EXPECT_TRUE(r.ok) << r.reason;
    EXPECT_EQ(r.records, 4u);
    r = verify_audit_log(dir + "reference_hmac.jsonl", read_hmac_key_file(dir + "reference_hmac.key"));
    EXPECT_TRUE(r.ok) << r.reason;
    EXPECT_EQ(r.records, 4u);
    r = verify_audit_log(dir + "reference_recovered.jsonl");
    EXPECT_TRUE(r.ok) << r.reason;
    EXPECT_EQ(r.recovered, 1u);
    r = verify_audit_log(dir + "reference_tampered.jsonl");
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.bad_line, 3u);
}
