# Asio and Beast are compiled once, here, instead of in every translation unit that includes them
# (BOOST_ASIO_SEPARATE_COMPILATION / BOOST_BEAST_SEPARATE_COMPILATION). The macros are PUBLIC so
# every target that links sluice_asio sees the same configuration; the io_uring switch must be
# identical in every translation unit, which is why it lives on this one target too.
add_library(sluice_asio STATIC ${CMAKE_CURRENT_LIST_DIR}/asio_beast.cpp)
target_compile_definitions(sluice_asio PUBLIC
  BOOST_ASIO_SEPARATE_COMPILATION
  BOOST_BEAST_SEPARATE_COMPILATION
  BOOST_ASIO_NO_DEPRECATED)
target_link_libraries(sluice_asio PUBLIC Boost::headers Threads::Threads)
if(SLUICE_IO_URING)
  target_compile_definitions(sluice_asio PUBLIC BOOST_ASIO_HAS_IO_URING BOOST_ASIO_DISABLE_EPOLL)
  target_link_libraries(sluice_asio PUBLIC PkgConfig::LIBURING)
endif()

# Asio's SSL implementation (OpenSSL through ssl::stream and ssl::context) is compiled once too,
# in its own target: only what terminates TLS (the gateway) links it and OpenSSL's libssl; every
# other target, and every gateway file but the two that speak TLS, stays free of the SSL headers.
add_library(sluice_asio_ssl STATIC ${CMAKE_CURRENT_LIST_DIR}/asio_ssl.cpp)
target_link_libraries(sluice_asio_ssl PUBLIC sluice_asio OpenSSL::SSL OpenSSL::Crypto)
