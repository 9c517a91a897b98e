# WPS_SANITIZERS="address;undefined" or "thread": applied to every target in the tree.
if(WPS_SANITIZERS)
  list(JOIN WPS_SANITIZERS "," _wps_san)
  add_compile_options(-fsanitize=${_wps_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_wps_san})
endif()
