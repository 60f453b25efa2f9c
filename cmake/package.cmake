# What `cmake --install` puts where (GNUInstallDirs: CMAKE_INSTALL_PREFIX and DESTDIR apply),
# and the Debian package CPack builds from the same install (`cpack -G DEB` in the build dir).

# The completion scripts are what the program just built prints: written from its command
# table, they never drift from it.
set(SHIPLOG_COMPLETIONS ${PROJECT_BINARY_DIR}/completions)
add_custom_command(
  OUTPUT ${SHIPLOG_COMPLETIONS}/shiplog ${SHIPLOG_COMPLETIONS}/_shiplog
  COMMAND ${CMAKE_COMMAND} -E make_directory ${SHIPLOG_COMPLETIONS}
  COMMAND $<TARGET_FILE:shiplog> completion bash > ${SHIPLOG_COMPLETIONS}/shiplog
  COMMAND $<TARGET_FILE:shiplog> completion zsh > ${SHIPLOG_COMPLETIONS}/_shiplog
  DEPENDS shiplog
  WORKING_DIRECTORY ${SHIPLOG_COMPLETIONS}/..
  COMMENT "Writing the bash and zsh completion scripts"
  VERBATIM)
add_custom_target(completions ALL DEPENDS ${SHIPLOG_COMPLETIONS}/shiplog
                                          ${SHIPLOG_COMPLETIONS}/_shiplog)

install(FILES ${PROJECT_SOURCE_DIR}/docs/shiplog.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${SHIPLOG_COMPLETIONS}/shiplog
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES ${SHIPLOG_COMPLETIONS}/_shiplog
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
# The unit templates of the reference app shape: examples to copy into a checkout's unit_dir.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/units/ DESTINATION ${CMAKE_INSTALL_DATADIR}/shiplog/units
        FILES_MATCHING PATTERN "*.service.in")

# `make install`, `make package` and cpack install what was built (build first, as the README
# says) rather than walking the whole tree, tests included, to build it again.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

# ---- the Debian package -----------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME shiplog)
set(CPACK_PACKAGE_VENDOR shiplog)
set(CPACK_PACKAGE_CONTACT "shiplog maintainers <shiplog@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "deploy a multi-service app from a git checkout, with every step in a ledger")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
       "shiplog deploys a multi-service application from a git checkout through systemd user\n"
       "units or Docker Compose, verifies it with health checks, rolls back what fails, and\n"
       "records every step in an append-only, event-sourced ledger (LMDB).")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# dpkg-shlibdeps (dpkg-dev) declares every library the binary links.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libgit2 and libcurl are opened with dlopen on first use: the packages that ship the sonames the
# build found are declared by hand, at least at the version installed here.
set(_deps)
foreach(_so ${SHIPLOG_DLOPEN_SONAMES})
  execute_process(COMMAND dpkg-query -S "*/${_so}" OUTPUT_VARIABLE _owner ERROR_QUIET
                  RESULT_VARIABLE _rc)
  if(_rc EQUAL 0 AND _owner MATCHES "^([a-z0-9.+-]+)(:[a-z0-9]+)?: ")
    set(_pkg ${CMAKE_MATCH_1})
    execute_process(COMMAND dpkg-query -W -f=\${Version} ${_pkg} OUTPUT_VARIABLE _ver
                    ERROR_QUIET)
    string(REGEX REPLACE "-[^-]*$" "" _upstream "${_ver}") # the Debian revision aside
    if(_upstream)
      list(APPEND _deps "${_pkg} (>= ${_upstream})")
    else()
      list(APPEND _deps ${_pkg})
    endif()
  else()
    message(WARNING "no Debian package found that ships ${_so}: the .deb will not declare it")
  endif()
endforeach()
list(JOIN _deps ", " CPACK_DEBIAN_PACKAGE_DEPENDS)
message(STATUS "the .deb declares, besides what dpkg-shlibdeps finds: ${CPACK_DEBIAN_PACKAGE_DEPENDS}")
# Remote mode runs ssh; the docker runtime drives the compose CLI.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "openssh-client")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "docker.io, docker-compose")
include(CPack)
