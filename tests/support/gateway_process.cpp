// SPDX-License-Identifier: GPL-3.0-or-later
#include "support/gateway_process.hpp"

#include <cstdlib>
#include <regex>
#include <signal.h>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace fleetscope::testing {

std::string GatewayProcess::program(std::string& why)
{
    const char* dir = std::getenv("FLEETSCOPE_BIN_DIR");
    if (!dir || !*dir) {
        why = "FLEETSCOPE_BIN_DIR is not set: run through ctest, or set it to the build's bin/ folder";
        return {};
    }
    const std::string path = std::string(dir) + "/fleetscope-gateway";
    if (access(path.c_str(), X_OK) != 0) {
        why = path + " is missing: build the fleetscope-gateway target first";
        return {};
    }
    return path;
}

void GatewayProcess::start(const std::string& program, const std::vector<std::string>& args,
                           const std::string& log_path, std::chrono::milliseconds timeout)
{
    log_path_ = log_path;
    ChildProcess::Options opt;
    opt.argv = {program};
    opt.argv.insert(opt.argv.end(), args.begin(), args.end());
    opt.log_path = log_path;
    opt.death_signal = SIGKILL;
    process_.start(opt);
    static const std::regex kListening(R"(listening on 127\.0\.0\.1:(\d+))");
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        const std::string out = tail_of(log_path, 1 << 20);
        std::smatch m;
        if (std::regex_search(out, m, kListening)) {
            port_ = static_cast<std::uint16_t>(std::stoul(m[1]));
            return;
        }
        if (!process_.running())
            throw std::runtime_error("the gateway exited before listening: " + tail_of(log_path));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    process_.stop(SIGKILL, std::chrono::seconds(2));
    throw std::runtime_error("the gateway printed no 'listening on' within " +
                             std::to_string(timeout.count()) + " ms: " + tail_of(log_path));
}

} // namespace fleetscope::testing
