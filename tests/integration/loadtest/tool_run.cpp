// Running the sluice-loadtest binary from a test (see tool_run.hpp).
#include "tests/integration/loadtest/tool_run.hpp"

#include "tests/support/scratch_directory.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>

namespace sluice::test {

tool_run run_program(const std::string& binary, const std::filesystem::path& dir, const std::vector<std::string>& args,
                     std::chrono::seconds limit) {
    static std::atomic<int> run_number{0};
    const auto base = dir / ("tool-" + std::to_string(++run_number));
    const auto out_file = base.string() + ".out";
    const auto err_file = base.string() + ".err";
    std::vector<std::string> argv_storage{binary};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(out, STDOUT_FILENO);
        ::dup2(err, STDERR_FILENO);
        if (::chdir(dir.c_str()) != 0) std::_Exit(126);
        ::execv(argv[0], argv.data());
        std::_Exit(127);
    }
    tool_run run;
    if (pid < 0) return run;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
            break;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    run.out = scratch_directory::read(out_file);
    run.err = scratch_directory::read(err_file);
    return run;
}

}  // namespace sluice::test
