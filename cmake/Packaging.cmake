# Packaging.cmake: "cpack -G DEB" turns this build tree into
# canary_<version>_<arch>.deb: what "cmake --install" installs, the files under
# /etc/canary as conffiles, and the maintainer scripts in packaging/debian/.
# Build the package from a tree configured with -DCMAKE_INSTALL_PREFIX=/usr:
# the programs look for their configuration where the prefix says (/etc/canary).
set(CANARY_PACKAGE_MAINTAINER "canary maintainers <root@localhost>"
    CACHE STRING "Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME canary)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "confidential intake of reprisals reports over IMAP")
set(CPACK_PACKAGE_DESCRIPTION
    "canaryd polls the confidential mailbox of a human-rights office over IMAP,\n"
    "seals everything that identifies the submitter with public keys only, and\n"
    "files each message as a case in the queue of the section that handles it.\n"
    "Officers work their queue with the canary command.")
string(JOIN "" CPACK_PACKAGE_DESCRIPTION ${CPACK_PACKAGE_DESCRIPTION})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CANARY_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # canary_0.1.0_amd64.deb
# dpkg-shlibdeps adds the libraries; postinst needs one of these for the user.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libytnef0 (winmail.dat) is found by shlibdeps too; named here as the issue asks.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd | adduser, libytnef0")
# openssh-client: only officers who run "canary --host" from this machine
# need it; a server does not.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion, openssh-client")
set(CPACK_STRIP_FILES ON)

# Every file installed under /etc/canary is a conffile: dpkg keeps the admin's
# edits on upgrade and removes the files only on purge.
set(conffiles "")
foreach(file ${CANARY_CONFIG_FILES})
  get_filename_component(name ${file} NAME)
  string(APPEND conffiles "${CMAKE_INSTALL_FULL_SYSCONFDIR}/canary/${name}\n")
endforeach()
file(WRITE ${PROJECT_BINARY_DIR}/packaging/conffiles "${conffiles}")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_BINARY_DIR}/packaging/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)  # scripts 0755, conffiles 0644

# Read by cpack, not cmake: refuses a tree that would make a broken package.
set(CPACK_CANARY_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_CANARY_SANITIZE "${CANARY_SANITIZE}")
set(CPACK_CANARY_TEST_KDF "${CANARY_TEST_KDF}")
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_SOURCE_DIR}/cmake/PackagingCheck.cmake)

include(CPack)
