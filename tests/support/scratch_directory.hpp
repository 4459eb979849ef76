// A private temporary directory per test, removed with everything in it when the test ends, for
// the tests that need real files (config files, credential files, catalogue directories).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

namespace sluice::test {

class scratch_directory {
public:
    scratch_directory() {
        const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
        std::string name = "sluice-" + std::to_string(::getpid()) + "-" + test->test_suite_name() + "-" + test->name();
        for (auto& c : name)
            if (c == '/') c = '_';  // parameterised tests' names
        path_ = std::filesystem::path(::testing::TempDir()) / name;
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~scratch_directory() { std::filesystem::remove_all(path_); }
    scratch_directory(const scratch_directory&) = delete;
    scratch_directory& operator=(const scratch_directory&) = delete;

    const std::filesystem::path& path() const { return path_; }

    // Writes `contents` to the file `name` in this directory and returns its path.
    std::filesystem::path write(std::string_view name, std::string_view contents) const {
        const auto file = path_ / name;
        std::ofstream(file, std::ios::binary) << contents;
        return file;
    }

    static std::string read(const std::filesystem::path& file) {
        std::ifstream in(file, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }

private:
    std::filesystem::path path_;
};

}  // namespace sluice::test
