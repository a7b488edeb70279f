/* SPDX-License-Identifier: Apache-2.0 */
/* Found first on the include path of the pure-reader check (core/CMakeLists.txt): a pure reader
 * (core/parse.c, fuzz/) that includes libcurl, directly or through a header, stops the build. */
#error "a pure reader (core/parse.c, fuzz/) includes libcurl: see docs/architecture.md, the core's headers"
