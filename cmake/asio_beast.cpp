// The one translation unit that compiles Asio's and Beast's implementation
// (see cmake/asio.cmake). Nothing else belongs here.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
