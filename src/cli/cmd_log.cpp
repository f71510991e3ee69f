// hearth log verify: checks a server audit log's hash chain (see src/server/audit_log.h).
#include <cstdio>
#include <cstdlib>

#include "cli/common.h"
#include "core/error.h"
#include "server/audit_log.h"

namespace hearth::cli {
namespace {

struct VerifyOptions {
    std::string path;
    std::string hmac_key_file;
};

int verify(const VerifyOptions& o) {
    const std::string key = o.hmac_key_file.empty() ? "" : server::read_hmac_key_file(o.hmac_key_file);
    const server::VerifyReport r = server::verify_audit_log(o.path, key);
    if (!r.ok) {
        std::printf("FAIL %s: line %llu: %s\n", o.path.c_str(), static_cast<unsigned long long>(r.bad_line),
                    r.reason.c_str());
        std::printf("     (%llu records verified before it)\n", static_cast<unsigned long long>(r.records));
        return 1;
    }
    std::printf("OK %s: %llu records, chain intact%s\n", o.path.c_str(), static_cast<unsigned long long>(r.records),
                key.empty() ? " (sha256)" : " (hmac-sha256)");
    if (r.recovered > 0)
        std::printf("   %llu line(s) cut short by a crash, each acknowledged by the recovery record after it\n",
                    static_cast<unsigned long long>(r.recovered));
    if (r.records > 0)
        std::printf("   last seq %llu hash %s\n   (keep these elsewhere: records cut off the end of a log leave a "
                    "valid shorter chain)\n",
                    static_cast<unsigned long long>(r.last_seq), r.last_hash.c_str());
    return 0;
}

}  // namespace

void register_log(CLI::App& app) {
    CLI::App* sub = app.add_subcommand("log", "work with the server's audit log");
    sub->require_subcommand(1);
    auto o = std::make_shared<VerifyOptions>();
    CLI::App* v = sub->add_subcommand(
        "verify", "check an audit log's hash chain: OK with the record count, or the first bad line (exit 1)");
    v->add_option("FILE", o->path, "audit log (JSON lines)")->required();
    v->add_option("--hmac-key-file", o->hmac_key_file,
                  "the HMAC key the server signed with ([audit] hmac_key_file); every record must verify under it");
    v->callback([o] {
        const int rc = verify(*o);
        if (rc != 0) std::exit(rc);
    });
}

}  // namespace hearth::cli
