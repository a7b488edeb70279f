# SPDX-License-Identifier: Apache-2.0
# The Debian packages (cpack -G DEB in a build configured with
# -DCMAKE_INSTALL_PREFIX=/usr; scripts/build-packages.sh does it):
#   intune-scep       libintunescep.so.1 and the intune-scep command-line tool;
#                     Depends computed by dpkg-shlibdeps (libcurl4, libssl3, libcjson1, libc6)
#   intune-scep-dev   the header, libintunescep.a and .so, the CMake package and the
#                     pkg-config file; Depends on intune-scep (same version) and the
#                     -dev packages its CMake and pkg-config files name.
#   intune-scep-server  intune-scep-server, the SCEP server (when it is built); Depends on
#                     intune-scep (same version), libmicrohttpd, SQLite, libpq (listed by hand).
# Each carries the licence as /usr/share/doc/<package>/copyright.
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/intune-scep
  RENAME copyright COMPONENT runtime)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/intune-scep-dev
  RENAME copyright COMPONENT dev)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME intune-scep)
set(CPACK_PACKAGE_VENDOR "The intune-scep authors")
set(CPACK_PACKAGE_CONTACT "The intune-scep authors <intune-scep@users.noreply.github.com>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Intune SCEP validation client for certificate authorities")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_COMPONENTS_ALL runtime dev)
if(TARGET intune-scep-server)
  install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/intune-scep-server
    RENAME copyright COMPONENT server)
  list(APPEND CPACK_COMPONENTS_ALL server)
endif()
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/intunescep/intune-scep")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME intune-scep)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
# libcurl 7.85 or later: the library sets CURLOPT_PROTOCOLS_STR (the shlibs file of
# libcurl4 alone would allow any 7.x).
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "libcurl4 (>= 7.85.0)")
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "libintunescep.so.1 lets a SCEP server or certificate authority use Microsoft
Intune's SCEP validation API (validateRequest, successNotification,
failureNotification); the intune-scep tool checks a configuration step by step.
Licence: Apache-2.0.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME intune-scep-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "intune-scep (= ${PROJECT_VERSION}), libcurl4-openssl-dev | libcurl-dev, libssl-dev (>= 3.0), libcjson-dev, pkg-config | pkgconf")
set(CPACK_COMPONENT_DEV_DESCRIPTION "Development files: the header intune_scep.h, libintunescep.a, the
CMake package IntuneScep (find_package(IntuneScep)) and the pkg-config file
intunescep.pc.
Licence: Apache-2.0.")

set(CPACK_DEBIAN_SERVER_PACKAGE_NAME intune-scep-server)
set(CPACK_DEBIAN_SERVER_PACKAGE_SECTION net)
# dpkg-shlibdeps cannot see libintunescep.so.1 in the sibling package: the list is written out
# (what `readelf -d` of the server names besides libintunescep and glibc).
set(CPACK_DEBIAN_SERVER_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_SERVER_PACKAGE_DEPENDS
  "intune-scep (= ${PROJECT_VERSION}), libc6 (>= 2.34), libssl3 (>= 3.0), libmicrohttpd12, libsqlite3-0, libpq5")
set(CPACK_COMPONENT_SERVER_DESCRIPTION "intune-scep-server: a SCEP server (RFC 8894) that asks Intune to validate
each device's request before it issues a certificate and tells Intune what it
issued; SQLite or PostgreSQL for its database. See docs/scep-server.md.
Licence: Apache-2.0.")

include(CPack)
