# PackagingCheck.cmake: run by cpack before it packages (CPACK_PROJECT_CONFIG_FILE).
# The programs carry the configuration directory of the tree they were built
# in; a package of a /usr/local or sanitizer build would not work as installed,
# and one of a test build could make weak keys.
if(CPACK_GENERATOR STREQUAL "DEB")
  if(NOT CPACK_CANARY_INSTALL_PREFIX STREQUAL "/usr")
    message(FATAL_ERROR "canary: this tree was configured with prefix "
      "${CPACK_CANARY_INSTALL_PREFIX}, so its programs look for /etc/canary in the "
      "wrong place; configure a tree with -DCMAKE_INSTALL_PREFIX=/usr to build the package")
  endif()
  if(CPACK_CANARY_SANITIZE)
    message(FATAL_ERROR "canary: this tree is built with CANARY_SANITIZE=ON; "
      "package a tree built without it")
  endif()
  if(CPACK_CANARY_TEST_KDF)
    message(FATAL_ERROR "canary: this tree is a test build (CANARY_TEST_KDF=ON): its "
      "canary can make keys with a cheap Argon2id and loads them; package a tree "
      "configured without it (and with -DCANARY_TESTS=OFF)")
  endif()
endif()
