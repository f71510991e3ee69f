# Writes a C++ header holding the files of web/ as byte arrays, so that `hearth serve` carries
# its chat page inside the binary. Run at build time (cmake -P) by the rule in CMakeLists.txt:
#   cmake -DOUT=generated.inc -DFILES="a;b;c" -P embed_web_assets.cmake
# Plain CMake, so the build needs no xxd. Bytes, not a string literal: any file content is safe.
if(NOT OUT OR NOT FILES)
  message(FATAL_ERROR "embed_web_assets.cmake: set OUT and FILES")
endif()
set(body "// Generated from web/ by cmake/embed_web_assets.cmake at build time; do not edit.\n")
string(APPEND body "namespace hearth::server::web_assets {\n")
set(table "")
set(i 0)
foreach(path IN LISTS FILES)
  get_filename_component(name "${path}" NAME)
  file(READ "${path}" hex HEX)
  string(LENGTH "${hex}" n_hex)
  math(EXPR n_bytes "${n_hex} / 2")
  # 0x.. per byte, 16 to a line.
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line)  # CMake regexes have no {16}
  string(REGEX REPLACE "(${line})" "\\1\n" bytes "${bytes}")
  string(APPEND body "static const unsigned char file${i}[] = {\n${bytes}0x00};\n")
  # The size leaves out the terminating 0 added above (which keeps empty files legal C++).
  string(APPEND table "    {\"${name}\", file${i}, ${n_bytes}},\n")
  math(EXPR i "${i} + 1")
endforeach()
string(APPEND body "struct File {\n    const char* name;\n    const unsigned char* data;\n    unsigned long size;\n};\n")
string(APPEND body "inline constexpr File kFiles[] = {\n${table}};\n}  // namespace hearth::server::web_assets\n")
# Rewritten only when it changed, so an unchanged page does not recompile web_ui.cpp.
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
