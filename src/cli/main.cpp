// hearth: run and audit open-weight language models on your own hardware.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/common.h"
#include "core/error.h"

int main(int argc, char** argv) {
    CLI::App app{"hearth " HEARTH_VERSION " - run and audit open-weight language models on your own hardware"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("hearth ") + HEARTH_VERSION);
    hearth::cli::register_run(app);
    hearth::cli::register_chat(app);
    hearth::cli::register_info(app);
    hearth::cli::register_passport(app);
    hearth::cli::register_audit(app);
    hearth::cli::register_bench(app);
    hearth::cli::register_serve(app);
    hearth::cli::register_quantize(app);
    hearth::cli::register_log(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const hearth::Error& e) {
        std::fprintf(stderr, "hearth: error: %s\n", e.what());
        return 1;
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "hearth: error: out of memory\n");
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hearth: internal error: %s\n", e.what());
        return 2;
    }
    return 0;
}
