# Install rules and the Debian package (CPack DEB): scripts/package.sh builds it from the release
# build. The package holds the binary (/usr/bin), its man page rendered from --help, the systemd
# unit, the service's config (/etc/webpubsub-server/config.json, a conffile), the maintainer
# scripts (deploy/package/debian/: the environment file with a random key, service start/stop)
# and the docs. Its dependencies are computed from the binary's shared libraries (dpkg-shlibdeps),
# so they are all Debian packages.

set(WPS_PACKAGE_DIR ${PROJECT_SOURCE_DIR}/deploy/package)

install(TARGETS webpubsub-server RUNTIME DESTINATION bin)

# The man page: --help as roff, gzipped as Debian ships man pages.
set(_man ${PROJECT_BINARY_DIR}/webpubsub-server.1.gz)
add_custom_command(
  OUTPUT ${_man}
  COMMAND ${PROJECT_SOURCE_DIR}/scripts/manpage.sh $<TARGET_FILE:webpubsub-server>
          ${PROJECT_VERSION} > ${PROJECT_BINARY_DIR}/webpubsub-server.1
  COMMAND gzip -9nf ${PROJECT_BINARY_DIR}/webpubsub-server.1
  DEPENDS webpubsub-server ${PROJECT_SOURCE_DIR}/scripts/manpage.sh
  COMMENT "Rendering webpubsub-server --help as a man page"
  VERBATIM)
add_custom_target(manpage ALL DEPENDS ${_man})
install(FILES ${_man} DESTINATION share/man/man1)

install(FILES ${WPS_PACKAGE_DIR}/webpubsub-server.service DESTINATION lib/systemd/system)
install(FILES ${WPS_PACKAGE_DIR}/config.json DESTINATION /etc/webpubsub-server)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/CONFIGURATION.md
              ${PROJECT_SOURCE_DIR}/docs/EVENT_HANDLERS.md ${PROJECT_SOURCE_DIR}/docs/SECURITY.md
              ${PROJECT_SOURCE_DIR}/docs/OPERATIONS.md
        DESTINATION share/doc/webpubsub-server)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/example-config.json
        DESTINATION share/doc/webpubsub-server/examples)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME webpubsub-server)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "self-hosted server compatible with Azure Web PubSub")
# Lines of the long description (CPack indents them under the summary).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Speaks the Azure Web PubSub client protocols (simple WebSocket, JSON,\nprotobuf, reliable), its REST API and event handlers, so that apps written\nagainst the official SDKs run against it unchanged. Also reads the settings\nof Microsoft's Web PubSub emulator. Runs as a hardened systemd service.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "webpubsub-server developers <webpubsub-server@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${WPS_PACKAGE_DIR}/debian/conffiles ${WPS_PACKAGE_DIR}/debian/postinst
    ${WPS_PACKAGE_DIR}/debian/prerm ${WPS_PACKAGE_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
