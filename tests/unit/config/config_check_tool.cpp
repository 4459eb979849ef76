// A stand-in for a sluice program's main(), for command_line_test: it starts exactly the way the
// gateway and the worker do, then prints the port it would listen on instead of serving.
#include "config/command_line.hpp"

#include <iostream>

int main(int argc, char** argv)
{
    auto start = sluice::config::handle_command_line(argc, argv, "test stand-in for a sluice program");
    if (start.exit_code) return *start.exit_code;
    std::cout << "would listen on port " << start.config.listen.port << '\n';
    return 0;
}
