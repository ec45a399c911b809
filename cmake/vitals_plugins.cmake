# Plugin folders under adapters/ declare themselves here; adapters/CMakeLists.txt then links every
# declared target into vitals::adapters and generates the registry that calls each folder's
# vitals::adapters::plugins::register_<name>(core::plugin_registry&).
#
#   vitals_add_plugin(<name> TARGET <library target>)
function(vitals_add_plugin name)
  cmake_parse_arguments(arg "" "TARGET" "" ${ARGN})
  if(NOT arg_TARGET)
    message(FATAL_ERROR "vitals_add_plugin(${name}): TARGET is required")
  endif()
  set_property(GLOBAL APPEND PROPERTY VITALS_PLUGINS ${name})
  set_property(GLOBAL APPEND PROPERTY VITALS_PLUGIN_TARGETS ${arg_TARGET})
endfunction()

# Writes <dir>/registry.cpp calling every declared plugin's registration, in declaration order.
function(vitals_generate_registry out)
  get_property(names GLOBAL PROPERTY VITALS_PLUGINS)
  set(VITALS_PLUGIN_DECLARATIONS "")
  set(VITALS_PLUGIN_CALLS "")
  foreach(name IN LISTS names)
    string(APPEND VITALS_PLUGIN_DECLARATIONS "void register_${name}(core::plugin_registry& r);\n")
    string(APPEND VITALS_PLUGIN_CALLS "    plugins::register_${name}(r);\n")
  endforeach()
  configure_file(${PROJECT_SOURCE_DIR}/adapters/registry.cpp.in ${out} @ONLY)
endfunction()
