// The one translation unit that compiles Asio's SSL implementation (see cmake/asio.cmake).
// Nothing else belongs here.
#include <boost/asio/ssl/impl/src.hpp>
