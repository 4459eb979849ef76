// Test support: a child process of ours (see child_process.hpp).
#include "tests/support/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace sluice::test {

child_process::child_process(const child_options& options) : binary_(options.binary), log_file_(options.log_file) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    std::vector<std::string> argv_storage{options.binary};
    argv_storage.insert(argv_storage.end(), options.args.begin(), options.args.end());
    std::vector<char*> argv;
    for (auto& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
        ::dup2(out[1], STDOUT_FILENO);
        const int log_fd = ::open(options.log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(log_fd, STDERR_FILENO);
        ::close(out[0]);
        ::close(out[1]);
        for (const auto& name : options.unset_env) ::unsetenv(name.c_str());
        for (const auto& [name, value] : options.set_env) ::setenv(name.c_str(), value.c_str(), 1);
        ::execv(argv[0], argv.data());
        std::_Exit(127);
    }
    ::close(out[1]);
    if (pid_ < 0) {
        ::close(out[0]);
        throw std::runtime_error("fork failed");
    }
    stdout_fd_ = out[0];
}

child_process::~child_process() {
    kill_and_reap();
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

void child_process::kill_and_reap() noexcept {
    if (!exited_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        exited_ = true;
    }
}

std::uint16_t child_process::wait_for_port(const std::string& marker, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (stdout_fd_ >= 0 && std::chrono::steady_clock::now() < deadline) {
        if (auto at = stdout_.find(marker); at != std::string::npos && stdout_.find('\n', at) != std::string::npos) {
            ::close(stdout_fd_);
            stdout_fd_ = -1;
            return static_cast<std::uint16_t>(std::stoi(stdout_.substr(at + marker.size())));
        }
        pollfd p{stdout_fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        char buf[512];
        const auto n = ::read(stdout_fd_, buf, sizeof buf);
        if (n <= 0) break;
        stdout_.append(buf, static_cast<std::size_t>(n));
    }
    kill_and_reap();
    throw std::runtime_error(binary_ + " did not start; stdout: " + stdout_ + "; log: " + log());
}

void child_process::send_signal(int sig) const {
    if (!exited_ && pid_ > 0) ::kill(pid_, sig);
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
    if (exited_) return std::nullopt;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            exited_ = true;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        }
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

std::string child_process::log() const {
    std::ifstream in(log_file_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace sluice::test
