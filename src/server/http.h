#pragma once
// The one place hearth includes cpp-httplib. Debian's libcpp-httplib-dev ships a compiled
// library (libcpp-httplib.so) built with OpenSSL, zlib and Brotli support, and some of its
// classes (httplib::Request) have members only under those macros: every translation unit
// must see the same definitions as the library or the layouts disagree. pkg-config's
// cpp-httplib.pc carries them as Cflags; they are repeated here so that a target which
// only found the header still agrees with the library.
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#endif
#include <httplib.h>
